//! The workspace's people from the command line: `stoke import users FILE.csv` (many, no
//! passwords) and `stoke admin create-user` (one, with a password read from stdin). Both find or
//! create teams by name, which is why they share this module.
//!
//! Passwords are hashed here with argon2id (a PHC string with a random salt from the OS) and only
//! the hash reaches the store; a `Password` never prints.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use jiff::Timestamp;
use stoke_core::{Email, Role, Team, User, UserDraft};
use stoke_store::{Store, StoreError};

use super::columns::FieldError;
use super::{ImportReport, Row, two_pass};

/// The shortest password accepted. Length is what makes a password hard to guess; no rules on
/// character classes, which only push people towards predictable substitutions.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A password on its way to being hashed. Its `Debug` hides it, so it cannot leak into a log.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
}

impl Password {
    /// Reads one line (`--password-stdin`): everything but the line ending is the password.
    pub fn read_line(mut input: impl BufRead) -> anyhow::Result<Self> {
        let mut line = String::new();
        input
            .read_line(&mut line)
            .context("--password-stdin: cannot read the password from stdin")?;
        let password = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(&line);
        if password.trim().is_empty() {
            anyhow::bail!(
                "--password-stdin: the password read from stdin is empty; nothing was created"
            );
        }
        let length = password.chars().count();
        if length < MIN_PASSWORD_CHARS {
            anyhow::bail!(
                "--password-stdin: the password is {length} characters long; it needs at least {MIN_PASSWORD_CHARS} (a phrase of a few words is easiest); nothing was created"
            );
        }
        Ok(Self(password.to_owned()))
    }

    /// The argon2id hash in PHC form (`$argon2id$v=19$m=...`), with the crate's default costs.
    pub fn hash(&self) -> anyhow::Result<String> {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
    }
}

/// Teams by name, created on first use.
struct Teams {
    known: Vec<Team>,
    created: u64,
}

impl Teams {
    async fn load(store: &dyn Store) -> anyhow::Result<Self> {
        Ok(Self {
            known: store.list_teams().await?,
            created: 0,
        })
    }

    /// An exact name first, then the same name in another case, so that `gulf` joins `Gulf`.
    fn find(&self, name: &str) -> Option<&Team> {
        self.known.iter().find(|t| t.name == name).or_else(|| {
            self.known
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
        })
    }

    /// The team of that name, created when there is none; the flag tells whether it is new.
    async fn ensure(&mut self, store: &dyn Store, name: &str) -> anyhow::Result<(Team, bool)> {
        if let Some(team) = self.find(name) {
            return Ok((team.clone(), false));
        }
        match store.create_team(name).await {
            Ok(team) => {
                self.known.push(team.clone());
                self.created += 1;
                Ok((team, true))
            }
            // Created by someone else since the list was read.
            Err(StoreError::Conflict { .. }) => {
                self.known = store.list_teams().await?;
                self.find(name)
                    .map(|t| (t.clone(), false))
                    .with_context(|| format!("team {name:?} exists but cannot be found"))
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// What `stoke admin create-user` was given.
#[derive(Debug)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub name: Option<String>,
    pub team: Option<String>,
}

/// What `create_user` did, printed as its report.
#[derive(Debug)]
pub struct CreatedUser {
    pub user: User,
    /// The team's name, and whether it was created for this user.
    pub team: Option<(String, bool)>,
    pub has_password: bool,
}

impl fmt::Display for CreatedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.user;
        write!(f, "created {} {} (user {})", u.role, u.email, u.id)?;
        if !u.name.is_empty() {
            write!(f, ", {:?}", u.name)?;
        }
        match &self.team {
            Some((team, true)) => write!(f, ", in the new team {team:?}")?,
            Some((team, false)) => write!(f, ", in team {team:?}")?,
            None => {}
        }
        if self.has_password {
            write!(f, "\npassword set (stored as an argon2id hash)")
        } else {
            write!(
                f,
                "\nno password: this user cannot log in yet (give one with --password-stdin)"
            )
        }
    }
}

/// `stoke admin create-user`. Checks everything before writing anything: a taken e-mail leaves
/// no new team behind.
pub async fn create_user(
    store: &dyn Store,
    new: &NewUser,
    password: Option<&Password>,
    now: Timestamp,
) -> anyhow::Result<CreatedUser> {
    let email = Email::parse(&new.email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let shown = email.to_string();
    let taken = |id: Option<stoke_core::UserId>| {
        let which = id.map(|id| format!(" (user {id})")).unwrap_or_default();
        anyhow::anyhow!(
            "--email {shown}: a user with this e-mail already exists{which}; nothing was changed"
        )
    };
    if let Some(existing) = store.find_user_by_email(email.as_str()).await? {
        return Err(taken(Some(existing.id)));
    }
    let team_name = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if new.team.is_some() && team_name.is_none() {
        anyhow::bail!("--team: the team name is empty");
    }
    let password_hash = password.map(Password::hash).transpose()?;
    let team = match team_name {
        Some(name) => Some(Teams::load(store).await?.ensure(store, name).await?),
        None => None,
    };
    let draft = UserDraft {
        email,
        name: new.name.as_deref().unwrap_or_default().trim().to_owned(),
        role: new.role,
        team: team.as_ref().map(|(t, _)| t.id),
        password_hash,
    };
    let user = match store.create_user(&draft, now).await {
        Ok(user) => user,
        Err(StoreError::Conflict { .. }) => return Err(taken(None)),
        Err(err) => return Err(err.into()),
    };
    Ok(CreatedUser {
        user,
        team: team.map(|(t, created)| (t.name, created)),
        has_password: draft.password_hash.is_some(),
    })
}

/// One valid row of a users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
}

/// What `stoke import users` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserImportOutcome {
    pub created: u64,
    /// Rows whose e-mail already belonged to a user: that user is left as it is.
    pub existing: u64,
    pub teams_created: u64,
}

impl std::ops::AddAssign for UserImportOutcome {
    fn add_assign(&mut self, o: Self) {
        self.created += o.created;
        self.existing += o.existing;
        self.teams_created += o.teams_created;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserColumn {
    Email,
    Name,
    Role,
    Team,
}

fn user_column(header: &str) -> Option<UserColumn> {
    let key = header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['_', '-'], " ");
    match key
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .as_str()
    {
        "email" | "e mail" | "email address" => Some(UserColumn::Email),
        "name" | "full name" => Some(UserColumn::Name),
        "role" => Some(UserColumn::Role),
        "team" | "team name" => Some(UserColumn::Team),
        _ => None,
    }
}

fn problem(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Reads a users file: CSV with a header naming `email` and any of `name`, `role`, `team`. An
/// unknown column is refused rather than ignored: a typo must not create agents without teams.
fn user_rows(path: &Path) -> anyhow::Result<Box<dyn Iterator<Item = Row<UserRow>> + Send>> {
    let mut reader = super::csv_reader(path)?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header line of {}", path.display()))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        match user_column(header) {
            Some(c) if columns.contains(&c) => anyhow::bail!(
                "{}: line 1: the column {header:?} appears twice",
                path.display()
            ),
            Some(c) => columns.push(c),
            None => anyhow::bail!(
                "{}: line 1: unknown column {header:?}; a users file starts with a header line naming email and any of name, role, team",
                path.display()
            ),
        }
    }
    if !columns.contains(&UserColumn::Email) {
        anyhow::bail!(
            "{}: line 1: the header has no email column (found: {})",
            path.display(),
            headers.join(", ")
        );
    }
    // The line each e-mail was first seen on, to name both lines of a duplicate.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let rows = reader.into_records().filter_map(move |record| {
        let record = match record {
            Ok(r) => r,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                let reason = format!("unreadable CSV: {err}");
                return Some((line, Err(vec![problem("row", reason)])));
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        // A row of empty cells is a blank line, not a user without an e-mail.
        if record.iter().all(|c| c.trim().is_empty()) {
            return None;
        }
        if record.len() > columns.len() {
            let reason = format!(
                "has {} cells but the header has {} columns",
                record.len(),
                columns.len()
            );
            return Some((line, Err(vec![problem("row", reason)])));
        }
        let cell = |c: UserColumn| {
            columns
                .iter()
                .position(|x| *x == c)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .unwrap_or_default()
        };
        let mut errors = Vec::new();
        let email = match cell(UserColumn::Email) {
            "" => {
                errors.push(problem("email", "is empty: every user needs an e-mail"));
                None
            }
            raw => match Email::parse(raw) {
                Ok(e) => match seen.get(&e.dedup_key()) {
                    Some(first) => {
                        errors.push(problem("email", format!("{e} is already on line {first}")));
                        None
                    }
                    None => {
                        seen.insert(e.dedup_key(), line);
                        Some(e)
                    }
                },
                Err(e) => {
                    errors.push(problem("email", e.to_string()));
                    None
                }
            },
        };
        let role = match cell(UserColumn::Role) {
            "" => Some(Role::Agent),
            raw => raw
                .parse::<Role>()
                .map_err(|e| errors.push(problem("role", e.to_string())))
                .ok(),
        };
        let team = Some(cell(UserColumn::Team))
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let row = match (email, role) {
            (Some(email), Some(role)) if errors.is_empty() => Ok(UserRow {
                email,
                name: cell(UserColumn::Name).to_owned(),
                role,
                team,
            }),
            _ => Err(errors),
        };
        Some((line, row))
    });
    Ok(Box::new(rows))
}

/// `stoke import users FILE.csv`: users without passwords, and their teams. A row whose e-mail
/// already belongs to a user leaves that user as it is, so importing a file twice changes
/// nothing the second time.
pub async fn import(
    store: &dyn Store,
    path: &Path,
    skip_invalid: bool,
    now: Timestamp,
) -> anyhow::Result<ImportReport<UserImportOutcome>> {
    two_pass(path, skip_invalid, 1_000, user_rows, |batch| async move {
        let mut teams = Teams::load(store).await?;
        let mut outcome = UserImportOutcome::default();
        for (line, row) in batch {
            if store
                .find_user_by_email(row.email.as_str())
                .await?
                .is_some()
            {
                outcome.existing += 1;
                continue;
            }
            let team = match &row.team {
                Some(name) => Some(
                    teams
                        .ensure(store, name)
                        .await
                        .with_context(|| format!("while importing line {line}"))?
                        .0
                        .id,
                ),
                None => None,
            };
            let draft = UserDraft {
                email: row.email,
                name: row.name,
                role: row.role,
                team,
                password_hash: None,
            };
            match store.create_user(&draft, now).await {
                Ok(_) => outcome.created += 1,
                // Created by someone else since it was looked up: it exists, as asked.
                Err(StoreError::Conflict { .. }) => outcome.existing += 1,
                Err(err) => {
                    return Err(
                        anyhow::Error::from(err).context(format!("while importing line {line}"))
                    );
                }
            }
        }
        outcome.teams_created = teams.created;
        Ok((outcome, Vec::new()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_one_line_of_at_least_ten_characters() {
        let p = Password::read_line("correct horse\r\nignored".as_bytes()).expect("valid");
        assert_eq!(p.0, "correct horse");
        assert_eq!(format!("{p:?}"), "Password(hidden)");
        for short in ["", "\n", "   \n", "short\n", "123456789\n"] {
            assert!(Password::read_line(short.as_bytes()).is_err(), "{short:?}");
        }
        // Ten characters, not ten bytes.
        assert!(Password::read_line("пароль-пар\n".as_bytes()).is_ok());
    }

    #[test]
    fn hashes_are_argon2id_and_salted() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let p = Password("correct horse battery".into());
        let (a, b) = (p.hash().expect("hash"), p.hash().expect("hash"));
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a new salt each time");
        let parsed = PasswordHash::new(&a).expect("PHC string");
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn headers_are_matched_loosely() {
        assert_eq!(user_column("\u{feff}E-mail"), Some(UserColumn::Email));
        assert_eq!(user_column(" Team_Name "), Some(UserColumn::Team));
        assert_eq!(user_column("phone"), None);
    }
}

//! The workspace's people from the command line: `stoke import users FILE.csv` (many, no
//! passwords) and `stoke admin create-user` (one, with a password read from stdin). Both find or
//! create teams by name, which is why they share this module.
//!
//! Passwords are hashed here with argon2id (a PHC string with a random salt from the OS) and only
//! the hash reaches the store; a `Password` never prints.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use jiff::Timestamp;
use stoke_core::{Email, Role, Team, UserDraft};
use stoke_store::{Store, StoreError};

use super::{ImportReport, Row, two_pass};
use stoke_server::columns::FieldError;

pub use stoke_server::auth::Password;

/// Reads one line of stdin for `--password-stdin`: everything but the line ending is the
/// password.
pub fn read_password_line(mut input: impl BufRead) -> anyhow::Result<Password> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("--password-stdin: cannot read the password from stdin")?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    Password::new(password.to_owned())
        .map_err(|e| anyhow::anyhow!("--password-stdin: {e}; nothing was created"))
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
        let (team, created) = stoke_server::people::ensure_team(store, name).await?;
        self.known.push(team.clone());
        if created {
            self.created += 1;
        }
        Ok((team, created))
    }
}

pub use stoke_server::people::NewUser;

/// What `stoke admin create-user` did, as its report.
pub fn report(created: &stoke_server::people::CreatedUser) -> String {
    let u = &created.user;
    let mut out = format!("created {} {} (user {})", u.role, u.email, u.id);
    if !u.name.is_empty() {
        out.push_str(&format!(", {:?}", u.name));
    }
    match &created.team {
        Some((team, true)) => out.push_str(&format!(", in the new team {team:?}")),
        Some((team, false)) => out.push_str(&format!(", in team {team:?}")),
        None => {}
    }
    if created.has_password {
        out.push_str("\npassword set (stored as an argon2id hash)");
    } else {
        out.push_str("\nno password: this user cannot log in yet (give one with --password-stdin)");
    }
    out
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
    fn a_password_is_one_line() {
        let p = read_password_line("correct horse\r\nignored".as_bytes()).expect("valid");
        assert!(p.verify(&p.hash().expect("hash")));
        assert!(read_password_line("short\n".as_bytes()).is_err());
    }

    #[test]
    fn headers_are_matched_loosely() {
        assert_eq!(user_column("\u{feff}E-mail"), Some(UserColumn::Email));
        assert_eq!(user_column(" Team_Name "), Some(UserColumn::Team));
        assert_eq!(user_column("phone"), None);
    }
}

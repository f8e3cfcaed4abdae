//! Users, teams and API tokens, created the same way from the CLI (`stoke admin create-user`,
//! `create-token`) and the API (admins): the same checks, the same audit entries. A token's
//! secret is returned once and never stored or logged; a password only ever as its hash.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use stoke_core::{Email, Role, Team, User, UserDraft};
use stoke_store::{Scope, Store, StoreError};
use utoipa::ToSchema;

use crate::audit::record;
use crate::auth::{Password, hash_token, new_token};
use crate::error::{ErrorBody, Refusal, refused};
use crate::{ApiError, AppState, Caller, forbidden};

/// A new user, as asked for.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub name: Option<String>,
    /// The team's name; created when no team has it.
    pub team: Option<String>,
}

/// A created user, and their team's name with whether it was created for them.
#[derive(Debug)]
pub struct CreatedUser {
    pub user: User,
    pub team: Option<(String, bool)>,
    pub has_password: bool,
}

/// The team of that name, created when there is none; the flag tells whether it is new.
pub async fn ensure_team(store: &dyn Store, name: &str) -> Result<(Team, bool), StoreError> {
    // An exact name first, then the same name in another case, so that `gulf` joins `Gulf`.
    let find = |teams: Vec<Team>| {
        let exact = teams.iter().position(|t| t.name == name);
        let loose = || teams.iter().position(|t| t.name.eq_ignore_ascii_case(name));
        exact.or_else(loose).map(|i| teams[i].clone())
    };
    if let Some(team) = find(store.list_teams().await?) {
        return Ok((team, false));
    }
    match store.create_team(name).await {
        Ok(team) => Ok((team, true)),
        // Created by someone else since the list was read.
        Err(StoreError::Conflict { .. }) => find(store.list_teams().await?)
            .map(|t| (t, false))
            .ok_or_else(|| StoreError::not_found("team", name)),
        Err(err) => Err(err),
    }
}

/// Creates a user (and their team when new), recording it in the audit log as `actor`. Checks
/// everything before writing anything: a taken e-mail leaves no new team behind.
pub async fn create_user(
    store: &dyn Store,
    new: &NewUser,
    password: Option<&Password>,
    actor: &str,
    now: Timestamp,
) -> Result<CreatedUser, Refusal> {
    let email = Email::parse(&new.email).map_err(|e| refused("email", e.to_string()))?;
    let shown = email.to_string();
    let taken = |id: Option<stoke_core::UserId>| {
        let which = id.map(|id| format!(" (user {id})")).unwrap_or_default();
        refused(
            "email",
            format!("{shown}: a user with this e-mail already exists{which}; nothing was changed"),
        )
    };
    if let Some(existing) = store.find_user_by_email(email.as_str()).await? {
        return Err(taken(Some(existing.id)));
    }
    let team_name = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if new.team.is_some() && team_name.is_none() {
        return Err(refused("team", "the team name is empty"));
    }
    let name = new.name.as_deref().unwrap_or_default().trim().to_owned();
    if name.chars().count() > 200 {
        return Err(refused("name", "a name holds at most 200 characters"));
    }
    let password_hash = password
        .map(Password::hash)
        .transpose()
        .map_err(|e| refused("password", e.to_string()))?;
    let team = match team_name {
        Some(name) => Some(ensure_team(store, name).await?),
        None => None,
    };
    let draft = UserDraft {
        email,
        name,
        role: new.role,
        team: team.as_ref().map(|(t, _)| t.id),
        password_hash,
    };
    let user = match store.create_user(&draft, now).await {
        Ok(user) => user,
        Err(StoreError::Conflict { .. }) => return Err(taken(None)),
        Err(err) => return Err(err.into()),
    };
    record(
        store,
        actor,
        "user.create",
        format!("user:{}", user.email),
        None,
        Some(serde_json::json!({
            "role": user.role.as_str(),
            "team": team.as_ref().map(|(t, _)| t.name.clone()),
            "password_set": draft.password_hash.is_some(),
        })),
        now,
    )
    .await?;
    Ok(CreatedUser {
        user,
        team: team.map(|(t, created)| (t.name, created)),
        has_password: draft.password_hash.is_some(),
    })
}

/// Creates an API token for `user` (or a workspace-wide admin token without one), recording it
/// in the audit log as `actor`; returns the secret, which exists nowhere else from then on.
pub async fn create_token(
    store: &dyn Store,
    name: &str,
    role: Role,
    user: Option<&User>,
    actor: &str,
    now: Timestamp,
) -> Result<String, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(refused(
            "name",
            "a token needs a name of 1 to 100 characters that says who uses it",
        ));
    }
    match user {
        None if role != Role::Admin => {
            return Err(refused(
                "user",
                format!(
                    "{} {role} token sees its user's contacts only; name the user it acts for",
                    if role == Role::Manager { "a" } else { "an" }
                ),
            ));
        }
        Some(u) if role > u.role => {
            return Err(refused(
                "role",
                format!(
                    "{} is {}, and a token cannot carry more rights than its user",
                    u.email, u.role
                ),
            ));
        }
        _ => {}
    }
    let token = new_token().map_err(|e| {
        Refusal::Store(StoreError::Backend(format!(
            "the system's random source failed: {e}"
        )))
    })?;
    store
        .create_api_token(name, role, user.map(|u| u.id), &hash_token(&token), now)
        .await?;
    // The secret never goes to the log: only what it may do.
    record(
        store,
        actor,
        "token.create",
        format!("token:{name}"),
        None,
        Some(serde_json::json!({
            "role": role.as_str(),
            "user": user.map(|u| u.email.as_str()),
        })),
        now,
    )
    .await?;
    Ok(token)
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserDto {
    id: i64,
    email: String,
    name: String,
    role: &'static str,
    team: Option<i64>,
    created_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.get(),
            email: u.email.to_string(),
            name: u.name.clone(),
            role: u.role.as_str(),
            team: u.team.map(|t| t.get()),
            created_at: u.created_at.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TeamDto {
    id: i64,
    name: String,
}

/// `GET /api/v1/users`: admins see everyone, managers their team; agents need a manager.
#[utoipa::path(get, path = "/users", tag = "people",
    responses((status = 200, body = Vec<UserDto>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_users(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<UserDto>>, ApiError> {
    let users = state.store.list_users().await?;
    let visible: Vec<UserDto> = match caller.scope {
        Scope::Everything => users.iter().map(Into::into).collect(),
        Scope::Team(team) => users
            .iter()
            .filter(|u| u.team == Some(team))
            .map(Into::into)
            .collect(),
        Scope::Agent { .. } => {
            return Err(forbidden(
                "the list of users is for managers and admins".into(),
            ));
        }
    };
    Ok(Json(visible))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserInput {
    email: String,
    /// `admin`, `manager` or `agent`.
    role: String,
    name: Option<String>,
    /// A team's name; created when no team has it.
    team: Option<String>,
    /// At least 10 characters; without it the user cannot log in yet.
    password: Option<String>,
}

impl std::fmt::Debug for UserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInput")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/users` (admins).
#[utoipa::path(post, path = "/users", tag = "people", request_body = UserInput,
    responses((status = 201, body = UserDto), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_user_handler(
    caller: Caller,
    State(state): State<AppState>,
    input: Result<Json<UserInput>, JsonRejection>,
) -> Result<(StatusCode, Json<UserDto>), ApiError> {
    caller.require_admin()?;
    let Json(input) = input?;
    let role = input
        .role
        .parse::<Role>()
        .map_err(|e| ApiError::invalid("role", e.to_string()))?;
    let password = input
        .password
        .map(Password::new)
        .transpose()
        .map_err(|e| ApiError::invalid("password", e.to_string()))?;
    let new = NewUser {
        email: input.email,
        role,
        name: input.name,
        team: input.team,
    };
    let created = create_user(
        state.store.as_ref(),
        &new,
        password.as_ref(),
        &caller.actor(),
        Timestamp::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&created.user).into())))
}

/// `GET /api/v1/teams` (managers and admins).
#[utoipa::path(get, path = "/teams", tag = "people",
    responses((status = 200, body = Vec<TeamDto>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_teams(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<TeamDto>>, ApiError> {
    if matches!(caller.scope, Scope::Agent { .. }) {
        return Err(forbidden(
            "the list of teams is for managers and admins".into(),
        ));
    }
    Ok(Json(
        state
            .store
            .list_teams()
            .await?
            .into_iter()
            .filter(|t| match caller.scope {
                Scope::Team(mine) => t.id == mine,
                _ => true,
            })
            .map(|t| TeamDto {
                id: t.id.get(),
                name: t.name,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenInput {
    /// Who uses the token: `crm-sync`, `zapier`.
    name: String,
    /// `admin`, `manager` or `agent`; the user's role by default, admin without a user.
    role: Option<String>,
    /// The e-mail of the user the token acts for (required below admin).
    user: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// The secret: shown once, stored only as a hash.
    token: String,
    name: String,
    role: &'static str,
    user: Option<String>,
}

/// `POST /api/v1/tokens` (admins): a token for an integration or a person.
#[utoipa::path(post, path = "/tokens", tag = "people", request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_token_handler(
    caller: Caller,
    State(state): State<AppState>,
    input: Result<Json<TokenInput>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require_admin()?;
    let Json(input) = input?;
    let user = match &input.user {
        Some(email) => Some(
            state
                .store
                .find_user_by_email(email.trim())
                .await?
                .ok_or_else(|| {
                    ApiError::invalid("user", format!("no user has the e-mail {email:?}"))
                })?,
        ),
        None => None,
    };
    let role = match &input.role {
        Some(raw) => raw
            .parse::<Role>()
            .map_err(|e| ApiError::invalid("role", e.to_string()))?,
        None => user.as_ref().map_or(Role::Admin, |u| u.role),
    };
    let token = create_token(
        state.store.as_ref(),
        &input.name,
        role,
        user.as_ref(),
        &caller.actor(),
        Timestamp::now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            name: input.name.trim().to_owned(),
            role: role.as_str(),
            user: user.map(|u| u.email.to_string()),
        }),
    ))
}

/// Revokes a token, recording who did; the token stops working at once.
pub async fn revoke_token(
    store: &dyn Store,
    id: i64,
    actor: &str,
    now: Timestamp,
) -> Result<stoke_store::ApiToken, Refusal> {
    let token = store.revoke_api_token(id).await?;
    record(
        store,
        actor,
        "token.revoke",
        format!("token:{}", token.name),
        Some(serde_json::json!({
            "id": token.id,
            "role": token.role.as_str(),
            "user": token.user.map(|u| u.get()),
        })),
        None,
        now,
    )
    .await?;
    Ok(token)
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenDto {
    id: i64,
    name: String,
    role: &'static str,
    user: Option<i64>,
    created_at: String,
}

impl From<stoke_store::ApiToken> for TokenDto {
    fn from(t: stoke_store::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            role: t.role.as_str(),
            user: t.user.map(|u| u.get()),
            created_at: t.created_at.to_string(),
        }
    }
}

/// `GET /api/v1/tokens` (admins): every token, never a secret.
#[utoipa::path(get, path = "/tokens", tag = "people",
    responses((status = 200, body = Vec<TokenDto>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_tokens(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .list_api_tokens()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `DELETE /api/v1/tokens/{id}` (admins): revokes a token at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "people",
    params(("id" = i64, Path, description = "a token's id, from GET /tokens")),
    responses((status = 200, body = TokenDto), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn revoke_token_handler(
    caller: Caller,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<TokenDto>, ApiError> {
    caller.require_admin()?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", format!("{id:?} is not a token id")))?;
    let token = revoke_token(state.store.as_ref(), id, &caller.actor(), Timestamp::now()).await?;
    Ok(Json(token.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordInput {
    current: String,
    /// At least 10 characters.
    new: String,
}

impl std::fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordInput(hidden)")
    }
}

/// `PUT /api/v1/me/password`: a person changes their own password, giving the current one;
/// every session of theirs ends, this one too (log in again with the new password).
#[utoipa::path(put, path = "/me/password", tag = "access", request_body = PasswordInput,
    responses((status = 204, description = "changed; every session of the user ended"), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn change_password_handler(
    caller: Caller,
    State(state): State<AppState>,
    input: Result<Json<PasswordInput>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(input) = input?;
    let Some(user) = caller.user.clone() else {
        return Err(ApiError::invalid(
            "user",
            "this token acts for no user, so it has no password",
        ));
    };
    let new = Password::new(input.new).map_err(|e| ApiError::invalid("new", e.to_string()))?;
    let current = Password::attempt(input.current)
        .ok_or_else(|| ApiError::invalid("current", "the current password is wrong"))?;
    let stored = state
        .store
        .login_lookup(user.email.as_str())
        .await?
        .and_then(|(_, hash)| hash);
    let verified = match stored {
        Some(hash) => tokio::task::spawn_blocking(move || current.verify(&hash))
            .await
            .unwrap_or(false),
        None => false,
    };
    if !verified {
        return Err(ApiError::invalid(
            "current",
            "the current password is wrong",
        ));
    }
    let hash = tokio::task::spawn_blocking(move || new.hash())
        .await
        .map_err(|_| ApiError::unavailable("cannot change the password now; try again"))?
        .map_err(|e| ApiError::invalid("new", e.to_string()))?;
    state.store.set_password_hash(user.id, Some(&hash)).await?;
    // Whoever else holds a session of this user (a stolen laptop) is logged out.
    let ended = state.store.delete_user_sessions(user.id).await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "user.password",
        format!("user:{}", user.email),
        None,
        Some(serde_json::json!({ "sessions_ended": ended })),
        Timestamp::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

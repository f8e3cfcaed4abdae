//! Who is calling and what they may reach: API tokens (`Authorization: Bearer`) for integrations,
//! session cookies for people in a browser, and the login that opens a session.
//!
//! Sessions live in the database (every node sees them) under the hash of the cookie's secret.
//! A request carried by a cookie that changes anything must echo the session's CSRF token in
//! `X-CSRF-Token`: another site can make a browser send the cookie, never read the token. The
//! cookie is `HttpOnly` and `SameSite=Lax`, and `Secure` unless the server is reached on a
//! loopback address (a browser drops Secure cookies on plain `http://` elsewhere).
//!
//! Logins are throttled per e-mail and per client address with keyed token buckets (`governor`),
//! and an unknown e-mail costs as much time as a wrong password, so that neither guessing nor
//! probing for accounts pays.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use stoke_core::{Role, User};
use stoke_store::{Scope, Session};

use crate::auth::{Password, hash_token, new_secret};
use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "stoke_session";

/// The header a cookie-carried request that changes something must send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How a server hands out sessions and throttles logins.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// How long a session lasts from its login (a working day and a bit).
    pub session_lifetime: SignedDuration,
    /// Login attempts one e-mail may make in a burst, then one per `refill`.
    pub attempts_per_email: NonZeroU32,
    /// Login attempts one client address may make in a burst (an office shares an address).
    pub attempts_per_address: NonZeroU32,
    /// How often one more attempt is allowed once a burst is spent.
    pub refill: std::time::Duration,
    /// Reverse proxies in front of the server (`STOKE_TRUSTED_PROXIES`): their
    /// `X-Forwarded-For` names the client; anyone else's is ignored.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            session_lifetime: SignedDuration::from_hours(12),
            attempts_per_email: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            attempts_per_address: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            refill: std::time::Duration::from_secs(60),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The login throttle: token buckets keyed by e-mail and by client address.
#[derive(Debug)]
pub struct LoginThrottle {
    pub(crate) settings: AccessSettings,
    by_email: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginThrottle {
    pub fn new(settings: AccessSettings) -> Self {
        let quota = |burst: NonZeroU32| {
            Quota::with_period(settings.refill)
                .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
                .allow_burst(burst)
        };
        Self {
            by_email: RateLimiter::keyed(quota(settings.attempts_per_email)),
            by_address: RateLimiter::keyed(quota(settings.attempts_per_address)),
            settings,
        }
    }

    /// `Err(seconds to wait)` when this attempt is over either limit.
    fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), u64> {
        // Forget keys whose buckets are full again, so a flood of e-mails cannot grow memory.
        if self.by_email.len() > 10_000 {
            self.by_email.retain_recent();
        }
        if self.by_address.len() > 10_000 {
            self.by_address.retain_recent();
        }
        let wait = |n: governor::NotUntil<governor::clock::QuantaInstant>| {
            n.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
            .as_secs()
            .max(1)
        };
        if let Some(ip) = address {
            self.by_address.check_key(&ip).map_err(wait)?;
        }
        self.by_email
            .check_key(&email.trim().to_lowercase())
            .map_err(wait)
    }
}

/// A caller who proved who they are, and what they may see. Taking this extractor is what makes a
/// handler authenticated: there is no way to reach the store from a handler without one, and the
/// scope goes into the store's queries.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `user:EMAIL` or `token:NAME`: how the audit log and messages name this caller.
    actor: String,
    /// The rights in force: a token never carries more than its user has now.
    pub role: Role,
    pub user: Option<User>,
    pub scope: Scope,
    /// The session's CSRF token, when the caller came with a session cookie.
    pub csrf_token: Option<String>,
}

pub(crate) fn forbidden(message: String) -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message,
        field: None,
    }
}

impl Caller {
    /// Who this caller is in the audit log: the user a token acts for, else the token.
    pub fn actor(&self) -> String {
        self.actor.clone()
    }

    /// Workspace-wide figures and settings: admins only.
    pub(crate) fn require_admin(&self) -> Result<(), ApiError> {
        if self.scope == Scope::Everything {
            Ok(())
        } else {
            Err(forbidden(format!(
                "this needs an admin; {} is {}",
                self.actor, self.role
            )))
        }
    }

    /// The scope a role gives a user (or a token without one).
    fn new(actor: String, role: Role, user: Option<User>) -> Result<Self, ApiError> {
        let scope = match (role, &user) {
            (Role::Admin, _) => Scope::Everything,
            (_, None) => {
                return Err(forbidden(format!(
                    "{actor} is {role} but belongs to no user, so it sees nothing: create it with --user"
                )));
            }
            (Role::Manager, Some(u)) => match u.team {
                Some(team) => Scope::Team(team),
                None => {
                    return Err(forbidden(format!(
                        "{} is a manager of no team, so they see nothing: put them in a team",
                        u.email
                    )));
                }
            },
            (Role::Agent, Some(u)) => Scope::Agent {
                user: u.id,
                team: u.team,
            },
        };
        Ok(Caller {
            actor,
            role,
            user,
            scope,
            csrf_token: None,
        })
    }
}

/// The session cookie's secret in a request's `Cookie` headers, if any.
fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    // Hashing first makes the lengths equal and the comparison's timing meaningless.
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(header) = parts.headers.get(header::AUTHORIZATION) {
            return bearer(header, state).await;
        }
        let Some(session) = session_of(&parts.headers, state).await? else {
            return Err(ApiError::unauthenticated(
                "log in, or send an API token: Authorization: Bearer TOKEN",
            ));
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !session.csrf_matches(sent) {
                return Err(ApiError {
                    status: StatusCode::FORBIDDEN,
                    code: "csrf",
                    message: format!(
                        "a change made with a session cookie must send the session's CSRF token in {CSRF_HEADER}"
                    ),
                    field: None,
                });
            }
        }
        Ok(session)
    }
}

impl Caller {
    /// Whether `sent` is this session's CSRF token (a dashboard form's hidden field, or the
    /// API's header), compared in constant time. A caller without a session has none to match.
    pub(crate) fn csrf_matches(&self, sent: &str) -> bool {
        self.csrf_token
            .as_deref()
            .is_some_and(|token| same_secret(sent, token))
    }
}

/// The caller a request's session cookie names, if it names a live session; the CSRF check is
/// the caller's to make (the API in a header, the dashboard in its forms).
pub(crate) async fn session_of(
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Option<Caller>, ApiError> {
    let Some(secret) = session_secret(headers) else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let Some(session) = state.store.find_session(&hash_token(&secret), now).await? else {
        return Ok(None);
    };
    let user = state.store.get_user(session.user).await?;
    let mut caller = Caller::new(format!("user:{}", user.email), user.role, Some(user))?;
    caller.csrf_token = Some(session.csrf_token);
    Ok(Some(caller))
}

async fn bearer(header: &HeaderValue, state: &AppState) -> Result<Caller, ApiError> {
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header must be: Bearer TOKEN")
        })?;
    let found = state.store.find_api_token(&hash_token(token)).await?;
    let token = found.ok_or_else(|| ApiError::unauthenticated("the API token is not valid"))?;
    let user = match token.user {
        Some(id) => Some(state.store.get_user(id).await?),
        None => None,
    };
    // A token never carries more rights than its user has now (a demoted user's old tokens
    // shrink with them).
    let role = user.as_ref().map_or(token.role, |u| u.role.min(token.role));
    let actor = match &user {
        Some(u) => format!("user:{}", u.email),
        None => format!("token:{}", token.name),
    };
    Caller::new(actor, role, user)
}

/// The client's address, when the server was started with connection info. Behind a reverse
/// proxy listed in `AccessSettings::trusted_proxies`, it is the last address in
/// `X-Forwarded-For` that is not one of those proxies: the one the nearest trusted proxy saw. A
/// client cannot forge it, since addresses it adds itself come before the proxies' own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub(crate) Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddress(client_address(
            peer,
            &parts.headers,
            &state.throttle.settings.trusted_proxies,
        )))
    }
}

fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect();
    Some(
        forwarded
            .iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .copied()
            .unwrap_or(peer),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginInput {
    email: String,
    password: String,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

fn user_json(user: &User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id.get(),
        "email": user.email.to_string(),
        "name": user.name,
        "role": user.role.as_str(),
        "team": user.team.map(|t| t.get()),
    })
}

/// Whether the request reached a loopback address, where browsers accept cookies without TLS.
fn on_loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let mut cookie = cookie::Cookie::build((SESSION_COOKIE, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(secure)
        .build();
    if value.is_empty() {
        cookie.make_removal();
    }
    cookie.to_string()
}

fn wrong_login() -> ApiError {
    ApiError::unauthenticated("the e-mail or the password is wrong")
}

/// `POST /api/v1/login` `{"email", "password"}`: opens a session. The answer sets the session
/// cookie and carries the CSRF token the page must send with every change.
#[utoipa::path(post, path = "/login", tag = "access", request_body = LoginInput, responses((status = 200, description = "the session cookie is set; the body carries the user and the CSRF token", body = Object), (status = 429, description = "too many attempts; see Retry-After", body = crate::error::ErrorBody), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn login_handler(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    input: Result<Json<LoginInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(input) = input?;
    let opened = match open_session(&state, &input.email, input.password, address, &headers).await {
        Ok(opened) => opened,
        Err(LoginRefused::Throttled(wait)) => {
            let mut response = ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_attempts",
                message: format!("too many login attempts; try again in {wait} s"),
                field: None,
            }
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Ok(response);
        }
        Err(LoginRefused::NoEmail) => {
            return Err(ApiError::invalid(
                "email",
                "give the e-mail you log in with",
            ));
        }
        Err(LoginRefused::Wrong) => return Err(wrong_login()),
        Err(LoginRefused::Failed(e)) => return Err(e),
    };
    let body = serde_json::json!({
        "user": user_json(&opened.user),
        "csrf_token": opened.csrf_token,
        "expires_at": opened.expires_at.to_string(),
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, opened.cookie);
    Ok(response)
}

/// Why a login did not open a session.
#[derive(Debug)]
pub(crate) enum LoginRefused {
    /// Too many attempts for this e-mail or address: wait this many seconds.
    Throttled(u64),
    NoEmail,
    /// The e-mail or the password is wrong (which one, the caller is never told).
    Wrong,
    Failed(ApiError),
}

impl From<ApiError> for LoginRefused {
    fn from(e: ApiError) -> Self {
        LoginRefused::Failed(e)
    }
}

impl From<stoke_store::StoreError> for LoginRefused {
    fn from(e: stoke_store::StoreError) -> Self {
        LoginRefused::Failed(e.into())
    }
}

/// A session just opened: the user, the cookie to set and the CSRF token.
#[derive(Debug)]
pub(crate) struct Opened {
    pub user: User,
    pub cookie: HeaderValue,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// Checks an e-mail and password (throttled, in constant cost whether or not the e-mail
/// exists) and opens a session: what the API's login and the dashboard's login form share.
pub(crate) async fn open_session(
    state: &AppState,
    email: &str,
    password: String,
    address: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<Opened, LoginRefused> {
    let email = email.trim();
    if email.is_empty() {
        return Err(LoginRefused::NoEmail);
    }
    if let Err(wait) = state.throttle.check(email, address) {
        tracing::warn!(%email, ?address, "login throttled");
        return Err(LoginRefused::Throttled(wait));
    }
    let attempt = Password::attempt(password).ok_or(LoginRefused::Wrong)?;
    let found = state.store.login_lookup(email).await?;
    let (user, verified) = match found {
        Some((user, Some(hash))) => {
            let ok = tokio::task::spawn_blocking(move || attempt.verify(&hash))
                .await
                .unwrap_or(false);
            (Some(user), ok)
        }
        _ => {
            // Same cost as a real check: an unknown e-mail must not answer faster.
            let _ = tokio::task::spawn_blocking(move || attempt.verify_nothing()).await;
            (None, false)
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        tracing::warn!(%email, ?address, "login refused");
        return Err(LoginRefused::Wrong);
    };
    let secret = new_secret("sks_").map_err(|e| {
        tracing::error!(%e, "no randomness for a session");
        ApiError::unavailable("cannot open a session now; try again")
    })?;
    let csrf_token = new_secret("csrf_").map_err(|e| {
        tracing::error!(%e, "no randomness for a CSRF token");
        ApiError::unavailable("cannot open a session now; try again")
    })?;
    let now = Timestamp::now();
    let lifetime = state.throttle.settings.session_lifetime;
    let expires_at = now.saturating_add(lifetime).unwrap_or(now);
    state
        .store
        .create_session(
            &hash_token(&secret),
            &Session {
                user: user.id,
                csrf_token: csrf_token.clone(),
                created_at: now,
                expires_at,
            },
        )
        .await?;
    // Expired sessions are cleared as new ones open: no separate job to forget.
    state.store.purge_sessions(now).await?;
    crate::audit::record(
        state.store.as_ref(),
        &format!("user:{}", user.email),
        "user.login",
        format!("user:{}", user.id),
        None,
        None,
        now,
    )
    .await?;
    let cookie = session_cookie(&secret, lifetime.as_secs(), !on_loopback(headers));
    let cookie = HeaderValue::from_str(&cookie)
        .map_err(|_| ApiError::unavailable("cannot open a session now; try again"))?;
    Ok(Opened {
        user,
        cookie,
        csrf_token,
        expires_at,
    })
}

/// Ends the session a request's cookie names (if any) and gives the header that clears the
/// cookie in the browser.
pub(crate) async fn close_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<HeaderValue>, ApiError> {
    if let Some(secret) = session_secret(headers) {
        state.store.delete_session(&hash_token(&secret)).await?;
    }
    Ok(HeaderValue::from_str(&session_cookie("", 0, !on_loopback(headers))).ok())
}

/// `POST /api/v1/logout`: ends the session the cookie names and clears the cookie.
#[utoipa::path(post, path = "/logout", tag = "access", responses((status = 204, description = "the session has ended"), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn logout_handler(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(secret) = session_secret(&headers).filter(|_| caller.csrf_token.is_some()) else {
        return Err(ApiError::invalid(
            "cookie",
            "there is no session to end: API tokens do not log out",
        ));
    };
    state.store.delete_session(&hash_token(&secret)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&session_cookie("", 0, !on_loopback(&headers))) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /api/v1/me`: who the caller is, their role and scope, and the session's CSRF token.
#[utoipa::path(get, path = "/me", tag = "access", responses((status = 200, body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn me_handler(caller: Caller) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "actor": caller.actor,
        "role": caller.role.as_str(),
        "user": caller.user.as_ref().map(user_json),
        "csrf_token": caller.csrf_token,
    }))
}

/// The throttle every node builds once.
pub(crate) fn throttle(settings: AccessSettings) -> Arc<LoginThrottle> {
    Arc::new(LoginThrottle::new(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_found_behind_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"),
        );
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        // From a trusted proxy: the last address no proxy of ours added.
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &headers, &proxies),
            Some(ip("203.0.113.9"))
        );
        // From anyone else: the header is theirs to forge, so it is ignored.
        assert_eq!(
            client_address(Some(ip("198.51.100.7")), &headers, &proxies),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &HeaderMap::new(), &proxies),
            Some(ip("10.0.0.1"))
        );
    }
}

//! The dashboard (SPEC 8): server-rendered pages for agents, managers and admins, served by
//! `stoke serve` itself with every asset embedded in the binary.
//!
//! Why server-rendered: a rep on a cheap phone gets a page that is already laid out (a few
//! kilobytes of HTML and one small stylesheet), the pages build with the Rust toolchain alone
//! (no JavaScript build on a fresh clone), and every page reads the store through the same
//! scoped queries as the API, so an agent cannot see in the browser what the API hides. A little
//! JavaScript (`assets/app.js`) only enhances: the segment box counts as you type, a broadcast's
//! progress refreshes itself, the browser's time zone is remembered. Without it every page and
//! form still works.
//!
//! Architecture invariant: pages are handlers like the API's: extract (the `Viewer`: a session
//! cookie, never a token), authorize (the caller's scope goes into the store's queries), call
//! the store or the core, render. Forms that change anything carry the session's CSRF token in a
//! hidden field, checked before anything is written. Templates (`templates/`) escape every
//! value (minijinja's HTML auto-escaping); words come from `i18n`.

mod i18n;
mod manage;
mod pages;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::tz::TimeZone;
use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};
use stoke_core::{Role, User};

use crate::access::{Caller, ClientAddress, LoginRefused};
use crate::{ApiError, AppState};

pub(crate) use i18n::Lang;
use i18n::{Arg, Catalog, catalog};

/// The cookie a page sets from the browser's own time zone (`assets/app.js`), so that times are
/// shown in the reader's zone; UTC until it is known.
const ZONE_COOKIE: &str = "stoke_tz";

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/today") }))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/language", post(language_form))
        .route("/today", get(pages::today))
        .route("/inbox", get(pages::inbox))
        .route("/inbox/{contact}", get(pages::conversation))
        .route("/inbox/{contact}/reply", post(pages::reply))
        .route("/contacts/{contact}", get(pages::contact_card))
        .route("/contacts/{contact}/notes", post(pages::add_note))
        .route("/segments", get(manage::segments))
        .route("/segments/preview", get(manage::segment_preview))
        .route(
            "/broadcasts",
            get(manage::broadcasts).post(manage::create_broadcast),
        )
        .route("/broadcasts/{id}", get(manage::broadcast))
        .route("/broadcasts/{id}/progress", get(manage::broadcast_progress))
        .route("/broadcasts/{id}/{action}", post(manage::broadcast_action))
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/app.js", get(script))
}

/// Every page template, by name.
const TEMPLATE_SOURCES: [(&str, &str); 12] = [
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("error.html", include_str!("templates/error.html")),
    ("today.html", include_str!("templates/today.html")),
    ("inbox.html", include_str!("templates/inbox.html")),
    (
        "conversation.html",
        include_str!("templates/conversation.html"),
    ),
    ("contact.html", include_str!("templates/contact.html")),
    ("segments.html", include_str!("templates/segments.html")),
    (
        "segment_preview.html",
        include_str!("templates/segment_preview.html"),
    ),
    ("broadcasts.html", include_str!("templates/broadcasts.html")),
    ("broadcast.html", include_str!("templates/broadcast.html")),
    (
        "broadcast_progress.html",
        include_str!("templates/broadcast_progress.html"),
    ),
];

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATE_SOURCES {
        // Our own templates, checked by the tests that render every page: one that does not
        // parse is a bug, reported at the first page that needs it.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(%e, name, "a dashboard template does not parse");
        }
    }
    env
});

/// `t('id', count=3)` in a template: a message in the reader's language.
fn words(lang: Lang) -> Value {
    Value::from_function(
        move |id: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            let keys: Vec<String> = kwargs.args().map(str::to_owned).collect();
            if keys.is_empty() {
                return Ok(catalog(lang).text(id));
            }
            let mut strings = Vec::new();
            let mut numbers = Vec::new();
            for key in keys {
                let value: Value = kwargs.get(&key)?;
                match i64::try_from(value.clone()) {
                    Ok(n) => numbers.push((key, n)),
                    Err(_) => strings.push((key, value.to_string())),
                }
            }
            let mut args: Vec<(&str, Arg<'_>)> = Vec::new();
            args.extend(numbers.iter().map(|(k, n)| (k.as_str(), Arg::Num(*n))));
            args.extend(
                strings
                    .iter()
                    .map(|(k, s)| (k.as_str(), Arg::Str(s.as_str()))),
            );
            Ok(catalog(lang).text_with(id, &args))
        },
    )
}

/// Someone signed in to the dashboard: who, what they may see, and how they read.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub caller: Caller,
    pub user: User,
    pub lang: Lang,
    /// The reader's time zone (from the browser), UTC until known.
    pub zone: TimeZone,
    /// The request's path and query, to come back to after a form.
    pub path: String,
}

/// The navigation and chrome every page shares.
#[derive(Debug, Serialize)]
struct Chrome {
    lang: &'static str,
    dir: &'static str,
    user: String,
    role: &'static str,
    admin: bool,
    csrf: String,
    path: String,
    languages: Vec<(&'static str, &'static str)>,
}

impl Viewer {
    pub(crate) fn words(&self) -> &'static Catalog {
        catalog(self.lang)
    }

    pub(crate) fn is_admin(&self) -> bool {
        self.caller.role == Role::Admin
    }

    /// A page in the viewer's language, with the shared chrome.
    pub(crate) fn render(&self, template: &str, page: Value) -> Response {
        let chrome = Chrome {
            lang: self.lang.code(),
            dir: self.lang.dir(),
            user: self.user.name.clone(),
            role: self.user.role.as_str(),
            admin: self.is_admin(),
            csrf: self.caller.csrf_token.clone().unwrap_or_default(),
            path: self.path.clone(),
            languages: Lang::ALL.iter().map(|l| (l.code(), l.name())).collect(),
        };
        render(
            template,
            context! { t => words(self.lang), ui => Value::from(Serde(&chrome)), p => page },
        )
    }

    /// The error page for a failure, in the viewer's language: what the API would answer, as a
    /// page (a contact out of scope is "not found", exactly as one that does not exist).
    pub(crate) fn fail(&self, error: impl Into<ApiError>) -> Response {
        let error = error.into();
        let message = match error.status {
            StatusCode::NOT_FOUND => self.words().text("error-not-found"),
            StatusCode::FORBIDDEN => self.words().text("error-forbidden"),
            _ => error.message.clone(),
        };
        if error.status.is_server_error() {
            tracing::error!(message = %error.message, "a dashboard page failed");
        }
        let mut response = self.render("error.html", context! { message });
        *response.status_mut() = error.status;
        response
    }

    /// The refusal of a form whose CSRF token is not the session's; `None` when it is.
    pub(crate) fn refuse_form(&self, sent: &str) -> Option<Response> {
        if self.caller.csrf_matches(sent) {
            None
        } else {
            Some(self.fail(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "csrf",
                message: "this form is out of date (or came from another site): reload the page and try again".into(),
                field: None,
            }))
        }
    }
}

fn render(template: &str, ctx: Value) -> Response {
    match TEMPLATES.get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => {
            let mut response = Html(html).into_response();
            // Pages hold personal data: never kept by a shared cache, never framed elsewhere.
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
                ),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, template, "a dashboard page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be drawn",
            )
                .into_response()
        }
    }
}

/// The language a request reads in: the user's choice, else the browser's, else English.
async fn language_of(state: &AppState, user: Option<&User>, headers: &HeaderMap) -> Lang {
    if let Some(user) = user
        && let Ok(Some((code, _))) = state.store.get_setting(&language_key(user)).await
        && let Some(lang) = Lang::parse(&code)
    {
        return lang;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::En)
}

/// Where a user's dashboard language is kept: a workspace setting per user, read by every node.
fn language_key(user: &User) -> String {
    format!("dashboard.language.user.{}", user.id)
}

fn zone_of(headers: &HeaderMap) -> TimeZone {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == ZONE_COOKIE)
        .and_then(|c| {
            let name = percent_decode(c.value());
            TimeZone::get(&name).ok()
        })
        .unwrap_or(TimeZone::UTC)
}

/// `Europe%2FMoscow` as the browser's `encodeURIComponent` wrote it.
fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/today", |p| p.as_str())
            .to_owned();
        let caller = match crate::access::session_of(&parts.headers, state).await {
            Ok(Some(caller)) => caller,
            Ok(None) => {
                let back = url_escape(&path);
                return Err(Redirect::to(&format!("/login?next={back}")).into_response());
            }
            Err(e) => {
                let lang = language_of(state, None, &parts.headers).await;
                let message = e.message.clone();
                return Err(render_bare(lang, e.status, &message));
            }
        };
        let Some(user) = caller.user.clone() else {
            return Err(Redirect::to("/login").into_response());
        };
        let lang = language_of(state, Some(&user), &parts.headers).await;
        Ok(Viewer {
            zone: zone_of(&parts.headers),
            caller,
            user,
            lang,
            path,
        })
    }
}

/// A page for someone not signed in (the login form, an error before a session is known).
fn render_bare(lang: Lang, status: StatusCode, message: &str) -> Response {
    let chrome = context! { lang => lang.code(), dir => lang.dir() };
    let mut response = render(
        "error.html",
        context! { t => words(lang), ui => chrome, p => context! { message } },
    );
    *response.status_mut() = status;
    response
}

/// A value for a query string: every byte but letters and digits escaped.
pub(crate) fn url_escape(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Only a path on this site is a place to go back to after logging in: never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        // Browsers drop tabs and newlines inside a URL ("/\t/evil.example" is "//evil..."),
        // so any control character or space refuses the path as well.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n
        }
        _ => "/today",
    }
}

/// Whether a form was posted from this site: a browser sends `Origin` with every POST, and it
/// must name the host the request came to. Without the header (an old browser, a script) the
/// session's CSRF token still guards every change; this also guards the login form, which has
/// no session yet (another site logging a browser into the attacker's account).
fn from_this_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let lang = language_of(&state, None, &headers).await;
    login_view(
        lang,
        safe_next(query.next.as_deref()),
        "",
        None,
        StatusCode::OK,
    )
}

fn login_view(
    lang: Lang,
    next: &str,
    email: &str,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let chrome = context! { lang => lang.code(), dir => lang.dir() };
    let mut response = render(
        "login.html",
        context! { t => words(lang), ui => chrome, p => context! { next, email, problem } },
    );
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

async fn login_form(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = language_of(&state, None, &headers).await;
    if !from_this_site(&headers) {
        return render_bare(
            lang,
            StatusCode::FORBIDDEN,
            "this login form was sent from another site",
        );
    }
    let Ok(axum::Form(form)) = form else {
        return login_view(
            lang,
            "/today",
            "",
            Some(catalog(lang).text("login-missing")),
            StatusCode::BAD_REQUEST,
        );
    };
    let next = safe_next(form.next.as_deref()).to_owned();
    let words = catalog(lang);
    match crate::access::open_session(&state, &form.email, form.password, address, &headers).await {
        Ok(opened) => {
            let mut response = Redirect::to(&next).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, opened.cookie);
            response
        }
        Err(LoginRefused::Throttled(wait)) => {
            let seconds = i64::try_from(wait).unwrap_or(i64::MAX);
            let problem = words.text_with("login-throttled", &[("seconds", Arg::Num(seconds))]);
            let mut response = login_view(
                lang,
                &next,
                &form.email,
                Some(problem),
                StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(LoginRefused::NoEmail) => login_view(
            lang,
            &next,
            "",
            Some(words.text("login-missing")),
            StatusCode::BAD_REQUEST,
        ),
        Err(LoginRefused::Wrong) => login_view(
            lang,
            &next,
            &form.email,
            Some(words.text("login-wrong")),
            StatusCode::UNAUTHORIZED,
        ),
        Err(LoginRefused::Failed(e)) => render_bare(lang, e.status, &e.message),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout_form(
    viewer: Viewer,
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Some(refused) = viewer.refuse_form(&form.csrf) {
        return refused;
    }
    match crate::access::close_session(&state, &headers).await {
        Ok(clear) => {
            let mut response = Redirect::to("/login").into_response();
            if let Some(clear) = clear {
                response.headers_mut().insert(header::SET_COOKIE, clear);
            }
            response
        }
        Err(e) => viewer.fail(e),
    }
}

#[derive(Debug, Deserialize)]
struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    back: Option<String>,
}

/// Sets the signed-in user's dashboard language (kept for them on every device).
async fn language_form(
    viewer: Viewer,
    State(state): State<AppState>,
    axum::Form(form): axum::Form<LanguageForm>,
) -> Response {
    if let Some(refused) = viewer.refuse_form(&form.csrf) {
        return refused;
    }
    let Some(lang) = Lang::parse(&form.lang) else {
        return viewer.fail(ApiError::invalid(
            "lang",
            format!(
                "{:?} is not a language of the dashboard: en, ar or ru",
                form.lang
            ),
        ));
    };
    let now = jiff::Timestamp::now();
    if let Err(e) = state
        .store
        .put_setting(&language_key(&viewer.user), lang.code(), now)
        .await
    {
        return viewer.fail(e);
    }
    Redirect::to(safe_next(form.back.as_deref())).into_response()
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/app.css"))
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // Embedded in the binary: it changes only with a new release, so an hour is safe.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_after_login() {
        assert_eq!(safe_next(Some("/inbox?q=x")), "/inbox?q=x");
        assert_eq!(safe_next(Some("//evil.example/")), "/today");
        assert_eq!(safe_next(Some("https://evil.example/")), "/today");
        assert_eq!(safe_next(Some("/\\evil.example")), "/today");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/today");
        assert_eq!(safe_next(None), "/today");
    }

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATE_SOURCES {
            if let Err(e) = env.add_template(name, source) {
                panic!("{name}: {e:#}");
            }
        }
    }

    #[test]
    fn forms_from_another_site_are_told_apart() {
        let headers = |origin: Option<&str>, host: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("origin"));
            }
            h
        };
        assert!(from_this_site(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(from_this_site(&headers(None, "127.0.0.1:8080")));
        assert!(!from_this_site(&headers(
            Some("https://evil.example"),
            "stoke.example"
        )));
        assert!(!from_this_site(&headers(Some("null"), "stoke.example")));
    }

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(url_escape("/inbox?q=a b&x"), "%2Finbox%3Fq%3Da%20b%26x");
        assert_eq!(percent_decode("Etc%2FGMT%2B3"), "Etc/GMT+3");
    }
}

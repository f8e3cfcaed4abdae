//! The API's errors: a stable code, a message a person can act on, and the field at fault.
//! Every failure a handler can meet is mapped here, once.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stoke_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

/// Every error's body: `{"error": {"code", "message", "field"?}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable: `invalid`, `unauthenticated`, `forbidden`, `csrf`, `not_found`, `conflict`,
    /// `too_large`, `unsupported_media_type`, `too_many_attempts`, `unavailable`,
    /// `storage_unavailable`.
    code: String,
    /// What went wrong and what to do, for a person.
    message: String,
    /// The field at fault (`phones[0]`, `[3].contact`, `body`, `query`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            message: message.into(),
            field: None,
        }
    }

    /// The server cannot do it now, through no fault of the caller's.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
            field: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
        }
    }
}

/// Why a change was not made: the caller's mistake (a field and what to do), or the store's
/// failure. Shared by the changes the CLI and the API both make (broadcasts, users, tokens).
#[derive(Debug)]
pub enum Refusal {
    Refused {
        field: &'static str,
        message: String,
    },
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { field, reason } => Refusal::Refused {
                field,
                message: reason,
            },
            e => Refusal::Store(e),
        }
    }
}

pub(crate) fn refused(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::Refused {
        field,
        message: message.into(),
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Refused { field, message } => ApiError::invalid(field, message),
            Refusal::Store(e) => e.into(),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    /// A body that is not the JSON asked for: 400 for malformed or mistyped JSON, 413 for too
    /// large, 415 for another content type; the field is always `body`.
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        let (status, code) = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            // Malformed JSON and JSON of the wrong shape are the same mistake to a caller.
            _ => (StatusCode::BAD_REQUEST, "invalid"),
        };
        Self {
            status,
            code,
            message: rejection.body_text(),
            field: Some("body".to_owned()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { .. } => ApiError::not_found(err.to_string()),
            StoreError::Conflict { .. } => Self {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: err.to_string(),
                field: None,
            },
            StoreError::Invalid { field, reason } => ApiError::invalid(field, reason),
            StoreError::Backend(detail) => {
                // The detail may name files and queries: log it, do not send it.
                tracing::error!(%detail, "storage failure");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "storage_unavailable",
                    message: "the database could not complete the request; try again".into(),
                    field: None,
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

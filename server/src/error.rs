//! Errors: [`ApiError`] is what a client sees, [`ServerError`] what stops the server.

use std::any::Any;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rapport_core::sync::ProtocolError;
use serde_json::json;

use crate::db::DbError;
use crate::db::users::AdminError;

/// When to retry after a storage failure (`Retry-After` of a 503).
pub(crate) const STORAGE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// When to retry after a full disk (`Retry-After` of a 507): freeing space takes a person.
const STORAGE_FULL_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Every error a client can get, as `{"error": {"code", "message"}}`.
/// Messages are plain and never carry customer data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// The device was revoked as lost (`device revoke --wipe`): it must erase
    /// its local data and report it (`POST /v1/device/wiped`).
    #[error(
        "this device was reported lost and its access revoked; it must erase its local data and report that it did"
    )]
    DeviceWiped,
    /// The client is older than the server's minimum (`--min-client-version`).
    #[error(
        "this app is too old for this server; update it to version {minimum} or later; its unsent changes are kept on the device"
    )]
    ClientTooOld { minimum: crate::min_client::ClientVersion },
    #[error("too many requests from this device; retry in {} ms", retry_after.as_millis())]
    RateLimited { retry_after: std::time::Duration },
    #[error("{0}")]
    InvalidRequest(String),
    /// A query parameter is wrong; the message names it.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MalformedMessage(String),
    #[error("{0}")]
    UnsupportedVersion(String),
    #[error("the account id is not a valid UUID")]
    InvalidId,
    #[error("the request body exceeds the {limit}-byte limit")]
    PayloadTooLarge { limit: usize },
    #[error("the request body could not be read")]
    BadBody,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("the server is shutting down; retry shortly")]
    Unavailable,
    /// Storage failed while the request was handled (judged or committed);
    /// nothing of it was stored.
    #[error("the server could not use its database for this request; nothing of it was stored; retry shortly")]
    ServerUnavailable { retry_after: std::time::Duration },
    /// The disk holding the server's database is full; nothing of the request was stored.
    #[error(
        "the server is out of disk space; nothing of this request was stored and the device keeps its changes; \
         an administrator must free space on the server"
    )]
    StorageFull,
    #[error("the request took too long")]
    Timeout,
    /// What the node's database does not serve yet (reports and backups on
    /// PostgreSQL, ADR 0034); the message names the feature.
    #[error(
        "{0} are not available on this server yet: it stores its data in PostgreSQL, and they are served only from SQLite for now"
    )]
    NotOnThisDatabase(&'static str),
    #[error("internal server error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::DeviceWiped => StatusCode::GONE,
            ApiError::ClientTooOld { .. } => StatusCode::UPGRADE_REQUIRED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InvalidRequest(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MalformedMessage(_)
            | ApiError::UnsupportedVersion(_)
            | ApiError::InvalidId
            | ApiError::BadBody => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable | ApiError::ServerUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::NotOnThisDatabase(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::DeviceWiped => "device_wiped",
            ApiError::ClientTooOld { .. } => "client_too_old",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Conflict(_) => "conflict",
            ApiError::MalformedMessage(_) => "malformed_message",
            ApiError::UnsupportedVersion(_) => "unsupported_version",
            ApiError::InvalidId => "invalid_id",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BadBody | ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unavailable => "unavailable",
            ApiError::ServerUnavailable { .. } => "server_unavailable",
            ApiError::StorageFull => "server_storage_full",
            ApiError::Timeout => "timeout",
            ApiError::NotOnThisDatabase(_) => "not_on_this_database",
            ApiError::Internal => "internal",
        }
    }

    /// The JSON body, also sent as a text frame on the live socket.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::ClientTooOld { minimum } => json!({
                "error": { "code": self.code(), "message": self.to_string(), "minimum": minimum.to_string() }
            }),
            _ => json!({ "error": { "code": self.code(), "message": self.to_string() } }),
        }
    }

    /// Maps a body that could not be buffered (too large, or broken off).
    pub fn from_body(rejection: BytesRejection, limit: usize) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadBody
        }
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> ApiError {
        match e {
            ProtocolError::UnsupportedVersion { .. } => ApiError::UnsupportedVersion(e.to_string()),
            other => ApiError::MalformedMessage(other.to_string()),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        if e.is_storage_full() {
            return ApiError::StorageFull;
        }
        match e {
            DbError::Stopped => ApiError::Unavailable,
            DbError::Revoked => ApiError::Unauthorized("the token is unknown or revoked"),
            DbError::Unprocessable => ApiError::MalformedMessage(DbError::Unprocessable.to_string()),
            DbError::ForeignActor => ApiError::Forbidden(
                "the request's actor id is bound to another device; each device syncs with its own".into(),
            ),
            DbError::Access(_) | DbError::BatchFailed => {
                ApiError::ServerUnavailable { retry_after: STORAGE_RETRY_AFTER }
            }
            other => {
                tracing::error!(error = %other, "storage error while serving a request");
                ApiError::Internal
            }
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        match e {
            AdminError::UnknownUser | AdminError::UnknownDevice => ApiError::NotFound(match e {
                AdminError::UnknownUser => "there is no user with this name",
                _ => "there is no device with this id",
            }),
            AdminError::UserExists | AdminError::TeamExists => ApiError::Conflict(e.to_string()),
            AdminError::UnknownTeam | AdminError::InvalidName | AdminError::InvalidRole | AdminError::BuiltInAdmin => {
                ApiError::InvalidRequest(e.to_string())
            }
            AdminError::Backend(_) => match crate::backend::postgres_cause(e) {
                Ok(pg) => ApiError::from(pg),
                Err(other) => ApiError::from(DbError::from(other)),
            },
            AdminError::Token(_) => ApiError::from(DbError::from(e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = match &self {
            ApiError::RateLimited { retry_after } | ApiError::ServerUnavailable { retry_after } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            ApiError::StorageFull => Some(STORAGE_FULL_RETRY_AFTER.as_secs()),
            _ => None,
        };
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(secs) = retry {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The answer to a handler that panicked (`tower_http::catch_panic`).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "a request handler panicked");
    ApiError::Internal.into_response()
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Postgres(#[from] rapport_store_postgres::PgError),
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    #[error("RAPPORT_ADMIN_TOKEN must be 16 to 256 visible ASCII characters")]
    InvalidAdminToken,
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

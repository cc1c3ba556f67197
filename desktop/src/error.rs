//! The app's two error tiers: [`DesktopError`] for starting and running the
//! app, and [`ApiError`], the one mapping of every failure of the local API to
//! a status and `{"error": {"code", "message", "field"}}`. Messages name
//! fields and ids, never customer data (core's errors already keep to that).

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use rapport_client::ClientError;
use rapport_core::Error as CoreError;
use serde_json::json;

/// Why the app could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// The local port could not be bound (in use, or not allowed).
    #[error("cannot listen on 127.0.0.1:{port}: {source}; choose another port with --port or leave it out")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },

    /// A listener on another address than the loopback one was handed in:
    /// the app is never reachable from other machines.
    #[error("the app listens only on 127.0.0.1, not on {0}")]
    NotLoopback(std::net::SocketAddr),

    /// The system gave no randomness for the one-time secret.
    #[error("cannot make the one-time secret: the system's random number source failed ({0})")]
    Random(String),

    /// The async runtime could not start, or serving failed.
    #[error("the app's local web server failed: {0}")]
    Io(#[from] std::io::Error),

    /// Reading the replica for the status failed.
    #[error(transparent)]
    Replica(#[from] CoreError),

    /// Sync stopped for good (the token was refused, the device was revoked).
    #[error(transparent)]
    Sync(#[from] ClientError),
}

/// Every failure of the local API, with the status it answers.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No session cookie, or not this app's.
    #[error(
        "not signed in to this app: open the link `rapport app` printed (it works once), or run `rapport app` again"
    )]
    Unauthorized,

    /// The one-time link was already used or is wrong.
    #[error("this link was already used or is not this app's: run `rapport app` again for a new one")]
    SecretRefused,

    /// A request whose `Host` is not this app's address (a page of another
    /// site reaching the app through a name that resolves to 127.0.0.1).
    #[error("requests must be addressed to this app's own address (127.0.0.1 or localhost with its port)")]
    WrongHost,

    /// The request body or query is not what the endpoint takes.
    #[error("{0}")]
    BadRequest(String),

    /// The request body is larger than the endpoint takes.
    #[error("the request is too large for this endpoint (an import's files: at most 16 MB together); split it")]
    TooLarge,

    /// An import file cannot be read as CSV, or its header names unknown or
    /// repeated columns (`rows` are the header's problems, as the preview
    /// lists row errors); nothing was written.
    #[error("{error}")]
    Csv { error: String, rows: Vec<rapport_csv::RowError> },

    /// An import whose rows have errors; nothing was written.
    #[error("{} row(s) of the import have errors; nothing was imported", rows.len())]
    ImportRefused { rows: Vec<rapport_csv::RowError> },

    /// A value failed validation; nothing was changed.
    #[error("{0}")]
    Invalid(CoreError),

    /// No such account, contact, deal, … on this replica.
    #[error("{0}")]
    NotFound(CoreError),

    /// The rules refuse the edit on this device (the server would too).
    #[error("{0}")]
    NotPermitted(CoreError),

    /// The edit cannot be made in the record's current state (merged away, a
    /// refused edit that no longer applies).
    #[error("{0}")]
    Conflict(CoreError),

    /// The local replica failed (disk full, damaged file).
    #[error("{0}")]
    Replica(CoreError),
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::SecretRefused => StatusCode::UNAUTHORIZED,
            ApiError::WrongHost | ApiError::NotPermitted(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) | ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Csv { .. } | ApiError::ImportRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Replica(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code the page (and tests) match on.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::SecretRefused => "secret_refused",
            ApiError::WrongHost => "wrong_host",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::TooLarge => "too_large",
            ApiError::Csv { .. } => "unreadable_csv",
            ApiError::ImportRefused { .. } => "import_has_errors",
            ApiError::Invalid(CoreError::UnknownField(_)) => "unknown_field",
            ApiError::Invalid(CoreError::AmbiguousId { .. }) => "ambiguous_id",
            ApiError::Invalid(CoreError::UnknownName { .. }) => "unknown_name",
            ApiError::Invalid(CoreError::DirectoryNotFetched { .. }) => "directory_not_fetched",
            ApiError::Invalid(_) => "invalid_value",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotPermitted(_) => "not_permitted",
            ApiError::Conflict(CoreError::AccountMerged { .. }) => "account_merged",
            ApiError::Conflict(_) => "cannot_retry",
            ApiError::Replica(_) => "local_storage",
        }
    }

    /// The field the error is about, when it is about one.
    fn field(&self) -> Option<String> {
        match self {
            ApiError::Invalid(CoreError::InvalidValue { field, .. }) => Some(field.clone()),
            ApiError::Invalid(CoreError::UnknownField(field)) => Some(field.clone()),
            ApiError::Invalid(CoreError::UnknownName { kind, .. } | CoreError::DirectoryNotFetched { kind, .. }) => {
                Some(format!("party.{kind}"))
            }
            ApiError::NotPermitted(CoreError::NotPermitted { field, .. }) => field.clone(),
            _ => None,
        }
    }
}

impl From<rapport_csv::CsvError> for ApiError {
    fn from(e: rapport_csv::CsvError) -> Self {
        use rapport_csv::CsvError as E;
        let error = e.to_string();
        match e {
            E::Header { problems, .. } => ApiError::Csv { error, rows: problems },
            E::Core(e) => e.into(),
            // The app does not export (writing is the CLI's): only bad CSV is left.
            E::Unreadable { .. } | E::Write(_) => ApiError::Csv { error, rows: Vec::new() },
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            // An unknown stage in a request is a bad value, not a missing record.
            CoreError::NotFound { kind: rapport_core::RecordKind::Stage, .. }
            | CoreError::InvalidValue { .. }
            | CoreError::UnknownField(_)
            | CoreError::AmbiguousId { .. }
            | CoreError::InvalidMerge(_)
            | CoreError::UnknownName { .. }
            | CoreError::DirectoryNotFetched { .. } => ApiError::Invalid(e),
            CoreError::NotFound { .. } => ApiError::NotFound(e),
            CoreError::NotPermitted { .. } => ApiError::NotPermitted(e),
            CoreError::AccountMerged { .. } | CoreError::CannotRetry { .. } => ApiError::Conflict(e),
            other => ApiError::Replica(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Replica(_)) {
            tracing::error!(error = %self, "local API request failed");
        }
        let mut body = json!({ "error": { "code": self.code(), "message": self.to_string(), "field": self.field() } });
        if let ApiError::Csv { rows, .. } | ApiError::ImportRefused { rows } = &self {
            body["error"]["rows"] = json!(rows);
        }
        (self.status(), [(CACHE_CONTROL, "no-store")], Json(body)).into_response()
    }
}

//! Errors of the client transport.
//!
//! Each variant is something a caller can act on (fix the URL, fix the
//! token, start the server, retry, upgrade). Messages name the server URL and
//! the server's own error code, never customer data.

use std::time::Duration;

use serde::Deserialize;

/// Every error `rapport-client` returns.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL cannot be used.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The token cannot be sent in an HTTP header.
    #[error("invalid token: {reason}")]
    InvalidToken { reason: String },

    /// The server could not be reached, or did not answer in time.
    #[error("cannot reach {url}: {reason}")]
    Network { url: String, reason: String },

    /// The server refused the token (HTTP 401).
    #[error(
        "the server at {url} refused the token ({message}); check the token, or ask an administrator for a new device token"
    )]
    Unauthorized { url: String, message: String },

    /// The server answered with an error (`{"error": {"code", "message"}}`).
    #[error("the server at {url} refused the request: {message} ({code})")]
    Server { url: String, status: u16, code: String, message: String },

    /// The server sent bytes that are not a valid answer.
    #[error(
        "the server at {url} sent an invalid sync message: {reason}; is this a Rapport server of a compatible version?"
    )]
    Protocol { url: String, reason: String },

    /// The sync loop stopped because exchanges no longer made progress.
    #[error(
        "sync stopped after {rounds} exchanges without finishing ({unsynced} documents still unsynced); run sync again, and report it if this repeats"
    )]
    Stalled { rounds: usize, unsynced: usize },

    /// The local replica failed.
    #[error(transparent)]
    Replica(#[from] rapport_core::Error),

    /// TLS could not be set up on this machine.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

impl ClientError {
    /// Whether retrying later (same URL, same token) may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Network { .. } | ClientError::Stalled { .. } => true,
            ClientError::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Maps a reqwest failure (no HTTP answer) to a network error.
    pub(crate) fn network(url: &str, e: &reqwest::Error, timeout: Duration) -> ClientError {
        let reason = if e.is_timeout() {
            format!("no answer within {} s; check the network connection and try again", timeout.as_secs())
        } else {
            with_hint(&root_cause(e))
        };
        ClientError::Network { url: url.to_owned(), reason }
    }

    /// Maps an HTTP error status and its body to an error.
    pub(crate) fn from_status(url: &str, status: u16, body: &[u8]) -> ClientError {
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok().map(|b| b.error);
        let (code, message) = match parsed {
            Some(e) => (e.code, e.message),
            None => (format!("http_{status}"), plain_body(status, body)),
        };
        if status == 401 {
            return ClientError::Unauthorized { url: url.to_owned(), message };
        }
        ClientError::Server { url: url.to_owned(), status, code, message }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// A short, printable version of a non-JSON error body.
fn plain_body(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().filter(|c| !c.is_control()).take(200).collect();
    if text.is_empty() { format!("HTTP status {status} with no explanation") } else { text }
}

/// The innermost error message, which names the real problem
/// ("Connection refused", "failed to lookup address information").
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = e;
    let mut io_kind = None;
    loop {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        match current.source() {
            Some(next) => current = next,
            None => break,
        }
    }
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset by the server".to_owned(),
        Some(std::io::ErrorKind::TimedOut) => "connection timed out".to_owned(),
        _ => current.to_string(),
    }
}

/// Adds what to do next to a network failure.
pub(crate) fn with_hint(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    let hint = if lower.contains("refused") {
        "is the server running, and is the port right?"
    } else if lower.contains("lookup") || lower.contains("dns") || lower.contains("name or service") {
        "check the host name in the server URL"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        "check that the URL's scheme (http/https) and certificate are right"
    } else {
        "check the network connection and the server URL"
    };
    format!("{reason}; {hint}")
}

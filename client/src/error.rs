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

    /// The administrator revoked this device as lost (HTTP 410
    /// `device_wiped`): its local data must be erased ([`crate::Client::wipe`]).
    #[error(
        "the server at {url} says this device was reported lost: its access was revoked and its local data must be erased"
    )]
    DeviceWiped { url: String },

    /// The server needs a newer app (HTTP 426 `client_too_old`). `unsent`:
    /// this device's changes the server does not have yet, kept on it.
    #[error(
        "this app is too old for the server at {url} (it needs version {minimum} or later); update the app; your {unsent} unsent change(s) are kept on this device and sync once it is updated"
    )]
    ClientTooOld { url: String, minimum: String, unsent: usize },

    /// The server limits how often this device may sync (HTTP 429).
    #[error("the server at {url} is receiving too many requests from this device; {}", wait_hint(*retry_after))]
    RateLimited { url: String, retry_after: Option<Duration> },

    /// The server could not serve the request now (HTTP 503); nothing of it
    /// was stored, and the device keeps its changes.
    #[error("the server at {url} is temporarily unavailable; nothing was lost; {}", wait_hint(*retry_after))]
    ServerUnavailable { url: String, retry_after: Option<Duration> },

    /// The server's disk is full (HTTP 507). `unsent`: documents of this
    /// device with changes the server does not have yet (0 when not known).
    #[error(
        "the server at {url} is out of disk space; your {unsent} unsent change(s) are safe on this device; sync again once the server's administrator has freed space"
    )]
    StorageFull { url: String, unsent: usize, retry_after: Option<Duration> },

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

    /// The server's certificate is not trusted (unknown CA, another host
    /// name, expired). Not transient: syncing again fails the same way.
    #[error(
        "the server's certificate is not trusted: {reason}; if your company runs its own server, ask for its CA certificate and pass --ca-cert (ca_cert_pem in the app)"
    )]
    UntrustedCertificate { url: String, reason: String },

    /// The CA certificate given for a self-hosted server cannot be used.
    #[error("the CA certificate cannot be used: {reason}; give the PEM file of your company's CA certificate")]
    InvalidCaCert { reason: String },
}

impl ClientError {
    /// Whether retrying later (same URL, same token) may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Network { .. }
            | ClientError::Stalled { .. }
            | ClientError::RateLimited { .. }
            | ClientError::ServerUnavailable { .. }
            | ClientError::StorageFull { .. } => true,
            ClientError::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether the [`crate::RetryPolicy`] retries this error by itself: the
    /// request can be sent again as it is (429, 503, 507, no answer).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ClientError::Network { .. }
                | ClientError::RateLimited { .. }
                | ClientError::ServerUnavailable { .. }
                | ClientError::StorageFull { .. }
        )
    }

    /// How long the server asked to wait before retrying (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::RateLimited { retry_after, .. }
            | ClientError::ServerUnavailable { retry_after, .. }
            | ClientError::StorageFull { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// This error with the number of this device's unsent documents, if it
    /// is a full server disk.
    pub(crate) fn with_unsent(self, unsent: impl FnOnce() -> usize) -> ClientError {
        match self {
            ClientError::StorageFull { url, retry_after, .. } => {
                ClientError::StorageFull { url, unsent: unsent(), retry_after }
            }
            ClientError::ClientTooOld { url, minimum, .. } => {
                ClientError::ClientTooOld { url, minimum, unsent: unsent() }
            }
            other => other,
        }
    }

    /// Maps a reqwest failure (no HTTP answer) to a network error.
    pub(crate) fn network(url: &str, e: &reqwest::Error, timeout: Duration) -> ClientError {
        if let Some(reason) = crate::tls::untrusted_reason(e) {
            return ClientError::UntrustedCertificate { url: url.to_owned(), reason };
        }
        let reason = if e.is_timeout() {
            format!("no answer within {} s; check the network connection and try again", timeout.as_secs())
        } else {
            with_hint(&root_cause(e))
        };
        ClientError::Network { url: url.to_owned(), reason }
    }

    /// Maps an HTTP error status, its `Retry-After` header and its body to an error.
    pub(crate) fn from_status(url: &str, status: u16, retry_after: Option<&str>, body: &[u8]) -> ClientError {
        let retry_after = retry_after.and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let url = url.to_owned();
        match status {
            429 => return ClientError::RateLimited { url, retry_after },
            503 => return ClientError::ServerUnavailable { url, retry_after },
            507 => return ClientError::StorageFull { url, unsent: 0, retry_after },
            _ => {}
        }
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok().map(|b| b.error);
        let (code, message, minimum) = match parsed {
            Some(e) => (e.code, e.message, e.minimum),
            None => (format!("http_{status}"), plain_body(status, body), None),
        };
        match (status, code.as_str()) {
            (410, "device_wiped") => return ClientError::DeviceWiped { url },
            (426, _) => {
                let minimum = minimum.unwrap_or_else(|| "a newer version".to_owned());
                return ClientError::ClientTooOld { url, minimum, unsent: 0 };
            }
            _ => {}
        }
        if status == 401 {
            return ClientError::Unauthorized { url, message };
        }
        ClientError::Server { url, status, code, message }
    }
}

/// `Retry-After`: delay seconds, or an HTTP date (a date in the past is no wait).
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What to tell the user about when the server can be tried again.
fn wait_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) if d.as_secs() > 0 => format!("try again in {} s", d.as_secs()),
        _ => "try again shortly".to_owned(),
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
    /// The oldest client version the server accepts (`client_too_old`).
    #[serde(default)]
    minimum: Option<String>,
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn statuses_that_ask_for_a_retry_are_typed() {
        let limited = ClientError::from_status("http://x", 429, Some("3"), b"{}");
        assert!(
            matches!(limited, ClientError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3))
        );
        assert!(limited.is_transient() && limited.is_retryable());
        let full = ClientError::from_status("http://x", 507, None, b"{}").with_unsent(|| 4);
        assert!(
            full.to_string().contains("out of disk space; your 4 unsent change(s) are safe on this device"),
            "{full}"
        );
        assert!(matches!(ClientError::from_status("http://x", 503, None, b""), ClientError::ServerUnavailable { .. }));
    }

    #[test]
    fn a_wipe_and_a_too_old_client_are_typed() {
        let body = br#"{"error":{"code":"device_wiped","message":"m"}}"#;
        let wiped = ClientError::from_status("http://x", 410, None, body);
        assert!(matches!(wiped, ClientError::DeviceWiped { .. }) && !wiped.is_transient());
        let plain =
            ClientError::from_status("http://x", 401, None, br#"{"error":{"code":"unauthorized","message":"m"}}"#);
        assert!(matches!(plain, ClientError::Unauthorized { .. }), "a plain revoke is not a wipe");
        let body = br#"{"error":{"code":"client_too_old","message":"m","minimum":"0.3.0"}}"#;
        let old = ClientError::from_status("http://x", 426, None, body).with_unsent(|| 3);
        assert!(!old.is_transient() && !old.is_retryable());
        assert_eq!(
            old.to_string(),
            "this app is too old for the server at http://x (it needs version 0.3.0 or later); update the app; \
             your 3 unsent change(s) are kept on this device and sync once it is updated"
        );
    }
}

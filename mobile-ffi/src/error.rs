//! The one error the apps see, and the one place core's and the client's
//! errors are mapped to it.
//!
//! `RapportError` is an enum whose variants are what an app acts on. Every
//! variant carries a plain-sentence `message` (Kotlin `e.message`, Swift
//! `.Network(message:)` and `description`, Python `e.message` and
//! `str(e)`); the variants an app schedules a retry from carry their data
//! too (`retry_after_ms`, `unsent`). Messages come from core and the client,
//! which never put customer data in them.
//!
//! The error is not "flat": uniffi lowers its fields. uniffi 0.32's Kotlin
//! generator writes a variant's field called `message` without `override`
//! (uniffi-rs issues 1434, 2065): `scripts/bindings.sh` fixes that in the
//! generated Kotlin, and makes Python's `str(e)` the message (see
//! `scripts/fix-bindings.py` and docs/MOBILE.md).

use rapport_client::ClientError;

/// Every error the library throws.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum RapportError {
    /// The server could not be reached or did not answer in time, or failed
    /// on its side: keep working offline and sync again later.
    #[error("{message}")]
    Network { message: String },

    /// The server refused the device token: sign in again / get a new token.
    #[error("{message}")]
    Unauthorized { message: String },

    /// This user may not make the edit (the rules the server applies say so);
    /// nothing was changed. The message names the field and who may change it.
    #[error("{message}")]
    NotPermitted { message: String },

    /// An argument is not valid (unknown field, bad value, malformed id, bad
    /// server URL): show the message next to the input.
    #[error("{message}")]
    InvalidInput { message: String },

    /// No record with that id (account, contact, deal, task, stage…).
    #[error("{message}")]
    NotFound { message: String },

    /// The account was merged into another one: open and edit the survivor.
    #[error("{message}")]
    Merged { message: String },

    /// The server limits how often this device syncs (HTTP 429), and the
    /// retries of this sync did not get through: sync again after
    /// `retry_after_ms` milliseconds (null: the server did not say; pick a
    /// wait of your own, e.g. a minute).
    #[error("{message}")]
    RateLimited { message: String, retry_after_ms: Option<u64> },

    /// The server is temporarily unavailable (HTTP 503, e.g. its database
    /// failed for a moment): nothing was lost; sync again shortly, after
    /// `retry_after_ms` milliseconds if the server said.
    #[error("{message}")]
    ServerUnavailable { message: String, retry_after_ms: Option<u64> },

    /// The server's disk is full (HTTP 507): `unsent` documents with changes
    /// the server does not have are safe on this device; sync again later
    /// (after `retry_after_ms` milliseconds if the server said).
    #[error("{message}")]
    ServerStorageFull { message: String, unsent: u64, retry_after_ms: Option<u64> },

    /// The server does not speak this app's protocol version, or refused the
    /// request as malformed: the app (or the server) needs an upgrade.
    #[error("{message}")]
    Server { message: String },

    /// The replica is encrypted and the key given does not open it (or no
    /// key was given), or a key was given for a replica that is not
    /// encrypted (call `encryptReplica` first). Nothing was changed.
    #[error("{message}")]
    WrongKey { message: String },

    /// The local replica failed: disk full, file damaged, already open
    /// elsewhere, or written by a newer version.
    #[error("{message}")]
    Storage { message: String },

    /// The server's HTTPS certificate is not trusted (unknown CA, another
    /// host name, expired): syncing again fails the same way. For a
    /// self-hosted server, pass its CA certificate as `ca_cert_pem`.
    #[error("{message}")]
    UntrustedCertificate { message: String },
}

impl From<rapport_core::Error> for RapportError {
    fn from(e: rapport_core::Error) -> Self {
        use rapport_core::Error as E;
        let message = e.to_string();
        match e {
            E::NotFound { .. } => RapportError::NotFound { message },
            E::InvalidValue { .. }
            | E::UnknownField(_)
            | E::InvalidMerge(_)
            | E::CannotRetry { .. }
            | E::AmbiguousId { .. }
            | E::UnknownName { .. }
            | E::DirectoryNotFetched { .. } => RapportError::InvalidInput { message },
            E::NotPermitted { .. } => RapportError::NotPermitted { message },
            E::AccountMerged { .. } => RapportError::Merged { message },
            E::WrongKey { .. } => RapportError::WrongKey { message },
            // Only sync answers produce these: nothing was applied, and syncing again is safe.
            E::Protocol(_) | E::IncompleteSync { .. } | E::SyncPositionMoved => RapportError::Network { message },
            E::InvalidDocument(_)
            | E::UnsupportedSchema { .. }
            | E::ReplicaLocked(_)
            | E::ReplicaRewriting(_)
            | E::ReplicaBusy { .. }
            | E::NotAReplica(_)
            | E::ReplicaTooNew { .. }
            | E::Storage(_)
            | E::Automerge(_)
            | E::Io { .. }
            | E::Erase { .. } => RapportError::Storage { message },
        }
    }
}

impl From<ClientError> for RapportError {
    fn from(e: ClientError) -> Self {
        let message = e.to_string();
        match e {
            ClientError::Replica(core) => core.into(),
            ClientError::InvalidUrl { .. } | ClientError::InvalidCaCert { .. } => {
                RapportError::InvalidInput { message }
            }
            ClientError::UntrustedCertificate { .. } => RapportError::UntrustedCertificate { message },
            ClientError::InvalidToken { .. } | ClientError::Unauthorized { .. } | ClientError::DeviceWiped { .. } => {
                RapportError::Unauthorized { message }
            }
            ClientError::RateLimited { retry_after, .. } => {
                RapportError::RateLimited { message, retry_after_ms: retry_after.map(millis) }
            }
            ClientError::ServerUnavailable { retry_after, .. } => {
                RapportError::ServerUnavailable { message, retry_after_ms: retry_after.map(millis) }
            }
            ClientError::StorageFull { unsent, retry_after, .. } => RapportError::ServerStorageFull {
                message,
                unsent: unsent as u64,
                retry_after_ms: retry_after.map(millis),
            },
            ClientError::Server { status, .. } if status >= 500 => RapportError::Network { message },
            ClientError::Network { .. } | ClientError::Stalled { .. } | ClientError::Tls(_) => {
                RapportError::Network { message }
            }
            ClientError::Server { .. } | ClientError::Protocol { .. } | ClientError::ClientTooOld { .. } => {
                RapportError::Server { message }
            }
        }
    }
}

/// A wait in whole milliseconds, for the apps.
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn retryable_faults_keep_their_data() {
        let url = "http://rapport.example".to_owned();
        let limited = RapportError::from(ClientError::RateLimited {
            url: url.clone(),
            retry_after: Some(Duration::from_millis(2_500)),
        });
        assert!(
            matches!(&limited, RapportError::RateLimited { retry_after_ms: Some(2_500), message } if message.contains("try again in 2 s")),
            "{limited:?}"
        );
        let unavailable = RapportError::from(ClientError::ServerUnavailable { url: url.clone(), retry_after: None });
        assert!(matches!(unavailable, RapportError::ServerUnavailable { retry_after_ms: None, .. }), "{unavailable:?}");
        let full =
            RapportError::from(ClientError::StorageFull { url, unsent: 3, retry_after: Some(Duration::from_secs(60)) });
        assert!(
            matches!(&full, RapportError::ServerStorageFull { unsent: 3, retry_after_ms: Some(60_000), message }
                if message.contains("your 3 unsent change(s) are safe on this device")),
            "{full:?}"
        );
        assert_eq!(
            full.to_string(),
            "the server at http://rapport.example is out of disk space; your 3 unsent change(s) are safe on this device; sync again once the server's administrator has freed space"
        );
    }
}

//! The one error the apps see, and the one place core's and the client's
//! errors are mapped to it.
//!
//! `RapportError` is a flat enum: each variant is something an app acts on,
//! and carries a plain-sentence message (Kotlin `e.message`, Swift
//! `.network(message:)`, Python `str(e)`). Messages come from core and the
//! client, which never put customer data in them.

use rapport_client::ClientError;

/// Every error the library throws.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum RapportError {
    /// The server could not be reached or did not answer in time, or failed
    /// on its side: keep working offline and sync again later.
    #[error("{message}")]
    Network { message: String },

    /// The server refused the device token: sign in again / get a new token.
    #[error("{message}")]
    Unauthorized { message: String },

    /// The server refused some pushed edits: they are kept aside on this
    /// device (`Replica.refusedEdits()`, to discard or retry them; an account
    /// whose creation was refused is in `Replica.rejectedDocuments()`).
    /// Everything else was synced.
    #[error("{message}")]
    RejectedChange { message: String },

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
    /// `retry_after_ms` (0: not said).
    #[error("{message}")]
    RateLimited { message: String, retry_after_ms: u64 },

    /// The server is temporarily unavailable (HTTP 503, e.g. its database
    /// failed for a moment): nothing was lost; sync again shortly.
    #[error("{message}")]
    ServerUnavailable { message: String },

    /// The server's disk is full (HTTP 507): the message says how many
    /// unsent changes are safe on this device; sync again later.
    #[error("{message}")]
    ServerStorageFull { message: String },

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
}

impl From<rapport_core::Error> for RapportError {
    fn from(e: rapport_core::Error) -> Self {
        use rapport_core::Error as E;
        let message = e.to_string();
        match e {
            E::NotFound { .. } => RapportError::NotFound { message },
            E::InvalidValue { .. } | E::UnknownField(_) | E::InvalidMerge(_) | E::CannotRetry { .. } => {
                RapportError::InvalidInput { message }
            }
            E::NotPermitted { .. } => RapportError::NotPermitted { message },
            E::AccountMerged { .. } => RapportError::Merged { message },
            E::WrongKey { .. } => RapportError::WrongKey { message },
            // Only sync answers produce these: nothing was applied, and syncing again is safe.
            E::Protocol(_) | E::IncompleteSync { .. } => RapportError::Network { message },
            E::InvalidDocument(_)
            | E::UnsupportedSchema { .. }
            | E::ReplicaLocked(_)
            | E::NotAReplica(_)
            | E::ReplicaTooNew { .. }
            | E::Storage(_)
            | E::Automerge(_)
            | E::Io { .. } => RapportError::Storage { message },
        }
    }
}

impl From<ClientError> for RapportError {
    fn from(e: ClientError) -> Self {
        let message = e.to_string();
        match e {
            ClientError::Replica(core) => core.into(),
            ClientError::InvalidUrl { .. } => RapportError::InvalidInput { message },
            ClientError::InvalidToken { .. } | ClientError::Unauthorized { .. } => {
                RapportError::Unauthorized { message }
            }
            ClientError::RateLimited { retry_after, .. } => RapportError::RateLimited {
                message,
                retry_after_ms: retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
            ClientError::ServerUnavailable { .. } => RapportError::ServerUnavailable { message },
            ClientError::StorageFull { .. } => RapportError::ServerStorageFull { message },
            ClientError::Server { status, .. } if status >= 500 => RapportError::Network { message },
            ClientError::Network { .. } | ClientError::Stalled { .. } | ClientError::Tls(_) => {
                RapportError::Network { message }
            }
            ClientError::Server { .. } | ClientError::Protocol { .. } => RapportError::Server { message },
        }
    }
}

//! What can go wrong with the PostgreSQL log, in variants a caller can act on.

use rapport_core::sync::AccessError;

/// Why the PostgreSQL log could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection string does not parse.
    #[error("the PostgreSQL connection string is not valid; use postgres://user@host:port/database: {0}")]
    BadUrl(#[source] tokio_postgres::Error),
    /// The connection pool could not be built.
    #[error("cannot set up the PostgreSQL connection pool: {0}")]
    CreatePool(#[from] deadpool_postgres::CreatePoolError),
    /// No connection could be had from the pool (the database is unreachable,
    /// refuses the login, or every connection is busy): nothing was done.
    #[error("cannot connect to PostgreSQL; check that it runs and the connection string: {0}")]
    Connect(#[from] deadpool_postgres::PoolError),
    /// The connection broke before the transaction was committed: nothing of
    /// it was stored. Retry.
    #[error("the connection to PostgreSQL was lost; nothing of the transaction was stored; retry")]
    ConnectionLost(#[source] tokio_postgres::Error),
    /// The transaction was rolled back by PostgreSQL (a serialization failure
    /// or deadlock): nothing of it was stored. Retry.
    #[error("PostgreSQL rolled the transaction back; nothing of it was stored; retry")]
    RolledBack(#[source] tokio_postgres::Error),
    /// The connection broke while COMMIT was under way: the transaction may
    /// or may not be stored. Nothing may be acknowledged; the client retries
    /// (changes already stored are not stored twice).
    #[error("the connection to PostgreSQL was lost during COMMIT: the outcome is unknown; retry")]
    CommitOutcomeUnknown(#[source] tokio_postgres::Error),
    /// PostgreSQL refused a statement (a bug, or a database changed by hand).
    #[error("PostgreSQL refused a statement: {0}")]
    Database(#[source] tokio_postgres::Error),
    /// The database was migrated by a newer server past a breaking
    /// migration this server does not know (ADR 0037).
    #[error(
        "the database has schema version {found}, which only a server that knows at least {required} migrations \
         can serve; this server knows {supported}; upgrade the server"
    )]
    TooNew { found: i64, required: i64, supported: i64 },
    /// A stored document or change does not load.
    #[error("stored document {doc} cannot be loaded: {reason}")]
    Corrupt { doc: String, reason: String },
    /// A stored value is out of its range (a database changed by hand).
    #[error("the database holds an invalid {what}")]
    Invalid { what: &'static str },
    /// The runtime that drives the connections could not start.
    #[error("cannot start the PostgreSQL connection threads: {0}")]
    Runtime(#[source] std::io::Error),
    /// The log was closed while a call was under way.
    #[error("the PostgreSQL log was closed")]
    Closed,
    /// The transaction was already committed, or failed and must be dropped.
    #[error("the transaction is finished; begin a new one")]
    Finished,
    /// A statement of the transaction failed earlier, so PostgreSQL rolled
    /// it back: nothing of it was stored. Retry.
    #[error("an earlier statement of the transaction failed; nothing of it was stored; retry")]
    Aborted,
    /// A savepoint was released or rolled back that was never opened (a bug of the caller).
    #[error("no savepoint is open in this transaction")]
    NoSavepoint,
    /// The device was revoked, or its user deleted, since it authenticated.
    #[error("this device was revoked; ask an administrator for a new token")]
    Revoked,
    /// The request's actor id is bound to another device (a replayed or forged request).
    #[error("the request's actor id is bound to another device")]
    ForeignActor,
    /// An import was asked of a database that already holds a deployment.
    #[error("the PostgreSQL database is not empty (it holds a log, documents or users); import into a new database")]
    NotEmpty,
    /// The access rules could not be evaluated (the request fails as a whole).
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl PgError {
    /// Whether the same request may simply be sent again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PgError::Connect(_)
                | PgError::ConnectionLost(_)
                | PgError::RolledBack(_)
                | PgError::CommitOutcomeUnknown(_)
        )
    }

    /// Classifies an error of a statement run inside a transaction (before COMMIT).
    pub(crate) fn statement(e: tokio_postgres::Error) -> PgError {
        match outcome(&e) {
            Outcome::Lost => PgError::ConnectionLost(e),
            Outcome::RolledBack => PgError::RolledBack(e),
            Outcome::Refused => PgError::Database(e),
        }
    }

    /// Classifies an error of COMMIT: only PostgreSQL's own answer tells
    /// that the transaction was not stored.
    pub(crate) fn commit(e: tokio_postgres::Error) -> PgError {
        match outcome(&e) {
            Outcome::Lost => PgError::CommitOutcomeUnknown(e),
            Outcome::RolledBack => PgError::RolledBack(e),
            Outcome::Refused => PgError::Database(e),
        }
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> PgError {
        PgError::statement(e)
    }
}

enum Outcome {
    /// The connection is gone (closed socket, I/O error, or a FATAL error
    /// such as an administrator terminating the backend).
    Lost,
    /// PostgreSQL answered that it rolled the transaction back.
    RolledBack,
    /// PostgreSQL answered with another error.
    Refused,
}

fn outcome(e: &tokio_postgres::Error) -> Outcome {
    let Some(db) = e.as_db_error() else { return Outcome::Lost };
    let code = db.code().code();
    let fatal = matches!(db.severity(), "FATAL" | "PANIC");
    // Class 08: connection exception; class 57: operator intervention
    // (shutdown, terminated backend); class 40: transaction rollback.
    if fatal || code.starts_with("08") || code.starts_with("57") {
        Outcome::Lost
    } else if code.starts_with("40") {
        Outcome::RolledBack
    } else {
        Outcome::Refused
    }
}

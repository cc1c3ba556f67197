//! Errors of the core crate.
//!
//! One enum, with variants a caller can act on. Messages name the field or the
//! id involved, never a customer's data (names, notes, phone numbers), so they
//! are safe to log and to send over the wire.

use std::path::PathBuf;

/// What kind of record an id was looked up as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Account,
    Contact,
    Deal,
    LineItem,
    Interaction,
    Task,
    Tie,
    Stage,
    /// A reason in a settings catalogue (lost deals, ended relationships).
    Reason,
    RefusedEdit,
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::Account => "account",
            RecordKind::Contact => "contact",
            RecordKind::Deal => "deal",
            RecordKind::LineItem => "line item",
            RecordKind::Interaction => "interaction",
            RecordKind::Task => "task",
            RecordKind::Tie => "tie",
            RecordKind::Stage => "pipeline stage",
            RecordKind::Reason => "reason",
            RecordKind::RefusedEdit => "refused edit",
        })
    }
}

/// Why a replica's key does not open it ([`Error::WrongKey`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// The replica is encrypted and was opened without a key.
    Missing,
    /// The key is not the one the replica was encrypted with.
    Wrong,
    /// A key was given, but the replica is not encrypted.
    NotEncrypted,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyProblem::Missing => "is encrypted (or is not a Rapport replica): open it with its key",
            KeyProblem::Wrong => {
                "cannot be opened with this key: use the key it was encrypted with (without it, the data \
                 cannot be read; sync a new replica from the server instead)"
            }
            KeyProblem::NotEncrypted => "is not encrypted: encrypt it first, or open it without a key",
        })
    }
}

/// Every error core returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No record of that kind with that id.
    #[error("no {kind} with id {id}")]
    NotFound { kind: RecordKind, id: String },

    /// A value failed validation; `field` is the document path, `reason` says why.
    #[error("invalid value for {field}: {reason}")]
    InvalidValue { field: String, reason: String },

    /// The rules this device knows refuse the edit (the server would refuse
    /// it too); nothing was changed. `field` is the dotted path, if the
    /// refusal is about one.
    #[error("not permitted: {reason}; ask a manager or the office to make this change")]
    NotPermitted { field: Option<String>, reason: String },

    /// A refused edit changes something that no longer exists on the account,
    /// so it cannot be applied again.
    #[error(
        "refused edit {id} changes something that is no longer on this account; discard it and make the edit again"
    )]
    CannotRetry { id: i64 },

    /// A shortened id (as `git` accepts short hashes) that starts more than
    /// one record's id; `matches` holds a few of them.
    /// `more`: there are more matches than `matches` lists.
    #[error(
        "the id {prefix} could be any of {}{} {kind}s ({}{}); type more of it",
        if *.more { "more than " } else { "" },
        .matches.len(),
        .matches.join(", "),
        if *.more { ", …" } else { "" }
    )]
    AmbiguousId { kind: RecordKind, prefix: String, matches: Vec<String>, more: bool },

    /// An owner, team or territory that is not in the directory this device
    /// fetched from the server (see `Replica::check_name`); `close` holds
    /// names it may have meant, `known` some others.
    #[error(
        "no {kind} named {name:?} is in the directory this device fetched at its last sync{}; if it is new, \
         sync to fetch the newest directory",
        listing(.kinds, .close, .known)
    )]
    UnknownName { kind: String, kinds: &'static str, name: String, close: Vec<String>, known: Vec<String> },

    /// This device never fetched the directory, so a name cannot be checked.
    #[error(
        "{kind} {name:?} cannot be checked: this device has not fetched the directory of owners, teams and \
         territories yet; sync first"
    )]
    DirectoryNotFetched { kind: String, name: String },

    /// The field path does not name a field that can be set.
    #[error("unknown field {0:?}: not a settable field path such as party.name or deals.<id>.amount")]
    UnknownField(String),

    /// The account was merged into another one; edit the survivor instead.
    #[error("account {id} was merged into {into}; edit {into} instead")]
    AccountMerged { id: String, into: String },

    /// An account cannot be merged with itself or with an account already merged away.
    #[error("cannot merge: {0}")]
    InvalidMerge(String),

    /// Document bytes that are empty, truncated, corrupt or not a Rapport document.
    #[error("invalid document bytes: {0}")]
    InvalidDocument(String),

    /// The document was written by a newer Rapport with a schema this build cannot read.
    #[error("document schema version {found} is newer than the supported version {supported}; upgrade Rapport")]
    UnsupportedSchema { found: u64, supported: u64 },

    /// Encrypting or erasing the replica needs it alone, and another process
    /// (or another handle in this process, such as `rapport watch`) has it open.
    #[error(
        "replica {0} is in use by another process, and encrypting or erasing it needs it alone; \
         stop the other program (such as `rapport watch`) and try again"
    )]
    ReplicaLocked(PathBuf),

    /// Another process is encrypting or erasing the replica; it cannot be opened meanwhile.
    #[error("replica {0} is being encrypted or erased by another process; wait for it to finish and try again")]
    ReplicaRewriting(PathBuf),

    /// A sync response answers an older pull position: another handle (e.g.
    /// `rapport watch` beside `rapport sync`) synced this replica meanwhile.
    /// Nothing was applied; the next exchange continues from the new position.
    #[error("another program on this device synced this replica meanwhile; nothing was applied, sync again")]
    SyncPositionMoved,

    /// Another handle (e.g. `rapport watch` applying a large pull) kept
    /// writing the replica for the whole wait; nothing was changed.
    #[error(
        "replica {path} stayed busy for {waited_secs} s: another program on this device is writing it \
         (such as a large sync); nothing was changed, try again"
    )]
    ReplicaBusy { path: PathBuf, waited_secs: u64 },

    /// The file exists but is not a Rapport replica.
    #[error("{0} is not a Rapport replica (wrong file, or a file from another program)")]
    NotAReplica(PathBuf),

    /// The replica is encrypted and no key, or another key, was given; or a
    /// key was given for a replica that is not encrypted. Nothing was read or changed.
    #[error("{path} {problem}")]
    WrongKey { path: PathBuf, problem: KeyProblem },

    /// The replica was created by a newer Rapport.
    #[error("replica schema version {found} is newer than the supported version {supported}; upgrade Rapport")]
    ReplicaTooNew { found: i64, supported: i64 },

    /// SQLite failed (disk full, I/O error, …).
    #[error("local storage error: {0}")]
    Storage(#[from] rusqlite::Error),

    /// Automerge refused an operation on a document that passed validation.
    /// This means the document is damaged; it is never caused by caller input.
    #[error("document engine error: {0}")]
    Automerge(#[from] automerge::AutomergeError),

    /// The peer sent bytes that are not a valid sync message.
    #[error("invalid sync message: {0}")]
    Protocol(#[from] crate::sync::ProtocolError),

    /// The server sent changes whose dependencies are missing; nothing was applied.
    #[error("the server sent an incomplete history for document {doc}; nothing was applied, sync again")]
    IncompleteSync { doc: String },

    /// File-system error while opening the replica.
    #[error("cannot open replica at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A replica file could not be overwritten or deleted while erasing it.
    #[error("cannot erase {path}: {source}; delete the file by hand")]
    Erase {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidValue { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn not_found(kind: RecordKind, id: impl ToString) -> Self {
        Error::NotFound { kind, id: id.to_string() }
    }
}

/// The names an [`Error::UnknownName`] offers.
fn listing(kinds: &str, close: &[String], known: &[String]) -> String {
    match (close.is_empty(), known.is_empty()) {
        (false, _) => format!(" (did you mean {}?)", close.join(", ")),
        (true, false) => format!(" (known {kinds}: {})", known.join(", ")),
        (true, true) => format!(" (it lists no {kinds})"),
    }
}

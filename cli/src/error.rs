//! Errors of the `rapport` command: each names the problem and the fix.

use std::path::PathBuf;

use rapport_client::ClientError;

/// Every error the CLI reports. `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no replica at {}: run `rapport init --server URL --token TOKEN` first", .0.display())]
    NoReplica(PathBuf),

    #[error("cannot read {}: {reason}; run `rapport init --server URL --token TOKEN` again to rewrite it", path.display())]
    BadConfig { path: PathBuf, reason: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Whoever read the output stopped reading (`| head`): not a failure.
    #[error("the output was closed")]
    OutputClosed,

    /// A command-line value the CLI itself checks (clap checks the rest).
    #[error("{0}")]
    Usage(String),

    #[error("{}", core_message(.0))]
    Core(#[from] rapport_core::Error),

    #[error(transparent)]
    Client(#[from] ClientError),

    #[error(transparent)]
    App(Box<rapport_desktop::DesktopError>),

    /// The server check during `rapport init` failed; nothing was written.
    #[error(
        "{source}\nnothing was set up: the user and device are taken from the token, which needs the server; fix \
         the problem above and retry when the server can be reached (or pass --offline --user NAME to set up \
         without it)"
    )]
    InitCheck {
        #[source]
        source: ClientError,
    },

    /// `rapport init --user` names someone other than the token's user.
    #[error(
        "this token belongs to user {token_user}; leave out --user (the user comes from the token), or ask the \
         administrator for a token of user {given}"
    )]
    NotTheTokensUser { token_user: String, given: String },

    /// `rapport init --device` names another device than the token's.
    #[error(
        "this token belongs to device {token_device:?} of user {user}; leave out --device (the device name comes \
         from the token), or ask the administrator to name the device {given:?}"
    )]
    NotTheTokensDevice { token_device: String, user: String, given: String },

    /// A server older than `/v1/whoami` cannot say whom the token belongs to.
    #[error(
        "the server at {server} does not say whom this token belongs to (it predates /v1/whoami); pass --user NAME \
         with the user name the administrator created for you, or upgrade the server"
    )]
    ServerWithoutWhoami { server: String },

    /// The server said this device was revoked as lost; its data was erased.
    #[error(
        "this device was reported lost and its access revoked by an administrator: the replica and configuration in \
         {} were erased; {lost_changes} unsynced change(s) in {lost_documents} document(s) were lost{}",
        dir.display(),
        if *reported { " (the server recorded it)" } else { " (the server could not be told)" }
    )]
    Wiped { dir: PathBuf, lost_documents: usize, lost_changes: usize, reported: bool },

    /// The replica's key is in the OS keyring, which cannot be read.
    #[error(
        "cannot read the replica's key from the OS keyring ({reason}); unlock the keyring (log in to the desktop \
         session that created the replica) and try again"
    )]
    Keyring { reason: String },

    /// The replica is encrypted with a passphrase and none could be read.
    #[error(
        "the replica is encrypted with a passphrase and none could be read ({reason}); set RAPPORT_PASSPHRASE or \
         run the command in a terminal"
    )]
    NoPassphrase { reason: String },

    /// Invalid rows in a CSV import; nothing was imported.
    #[error("{} has {} invalid row(s); nothing was imported:\n{}", path.display(), rows.len(), rows.join("\n"))]
    InvalidCsv { path: PathBuf, rows: Vec<String> },
}

impl CliError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> CliError {
        CliError::Io { path: path.into(), source }
    }

    /// Exit status: 2 for usage errors (like clap), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Core's messages, with the CLI's way to fix the problem where it helps.
pub fn core_message(e: &rapport_core::Error) -> String {
    use rapport_core::Error as E;
    match e {
        E::NotFound { kind: rapport_core::RecordKind::Account, id } => {
            format!("no account with id {id} on this replica; find ids with `rapport account list`")
        }
        E::NotFound { kind: rapport_core::RecordKind::RefusedEdit, id } => {
            format!("no refused edit with id {id}; list them with `rapport refused list`")
        }
        E::NotFound { kind: rapport_core::RecordKind::Reason, id } => {
            format!("the catalogue has no reason {id:?}; see the reasons with `rapport settings show`")
        }
        E::NotFound { kind, id } => {
            format!("no {kind} with id {id} in this account; see the account with `rapport account show ID`")
        }
        E::UnknownField(field) => {
            format!("unknown field {field:?}; settable fields are: {}", rapport_core::settable_fields().join(", "))
        }
        E::WrongKey { path, problem: rapport_core::KeyProblem::NotEncrypted } => {
            format!("{} is not encrypted yet: run `rapport encrypt` to finish encrypting it", path.display())
        }
        E::WrongKey { path, problem: rapport_core::KeyProblem::Missing } => format!(
            "{} is encrypted, but config.json does not say with which key: run `rapport encrypt --key keyring` (or \
             `--key passphrase`) to use its key again",
            path.display()
        ),
        E::UnknownName { .. } | E::DirectoryNotFetched { .. } => {
            format!("{e}, or pass --allow-unknown-owner to write it anyway")
        }
        other => other.to_string(),
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

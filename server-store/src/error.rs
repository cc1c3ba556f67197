//! Why a directory operation was refused or failed.

/// Why a directory operation was refused ([`AdminError::Backend`]: failed).
///
/// Every variant but `Backend` and `Token` is a refusal the caller can
/// explain to the operator; each backend gives the same one for the same
/// request (the conformance suite checks it).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("there is no user with this name")]
    UnknownUser,
    #[error("a user with this name already exists")]
    UserExists,
    #[error("there is no team with this name; add it first")]
    UnknownTeam,
    #[error("a team with this name already exists")]
    TeamExists,
    #[error("there is no device with this id")]
    UnknownDevice,
    #[error("names must be 1 to 64 visible characters without control characters")]
    InvalidName,
    #[error("unknown role; expected admin, manager, office or rep")]
    InvalidRole,
    #[error("the built-in admin user cannot be deleted or demoted")]
    BuiltInAdmin,
    /// No token could be generated (the operating system's random source failed).
    #[error("cannot generate a token: {0}")]
    Token(#[from] getrandom::Error),
    /// The backend failed (its own error, boxed so this crate knows no
    /// database; the server downcasts it back to map a full disk or a lost
    /// connection to the right answer).
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl AdminError {
    /// A backend's own error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> AdminError {
        AdminError::Backend(Box::new(e))
    }
}

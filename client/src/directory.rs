//! `GET /v1/directory`: the people, teams and territories an account may be
//! given to, so that a device checks an owner's name before it writes it.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::ClientError;

/// Everyone an account may be given to, every team and every territory, as
/// the server knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub users: Vec<DirectoryUser>,
    pub teams: Vec<String>,
    pub territories: Vec<String>,
}

/// One user as colleagues see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub name: String,
    /// `admin`, `manager`, `office` or `rep`.
    pub role: String,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub territories: Vec<String>,
    /// False once an administrator deleted the user (old records still name them).
    pub active: bool,
}

impl Client {
    /// Asks the server for its directory.
    ///
    /// Fails with `Unauthorized` for an unknown or revoked token, `Network`
    /// when the server cannot be reached, and `Server` with status 404 from a
    /// server older than this endpoint (0.2.0 added it).
    pub async fn directory(&self) -> Result<Directory, ClientError> {
        self.get_json("v1/directory").await
    }
}

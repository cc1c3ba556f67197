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

impl Directory {
    /// The names a replica keeps to check owners, teams and territories.
    pub fn to_replica(&self) -> rapport_core::Directory {
        let (active, former): (Vec<&DirectoryUser>, Vec<&DirectoryUser>) = self.users.iter().partition(|u| u.active);
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names.dedup();
            names
        };
        // In the order the replica lists them, so that an unchanged directory compares equal.
        rapport_core::Directory {
            users: sorted(active.into_iter().map(|u| u.name.clone()).collect()),
            former_users: sorted(former.into_iter().map(|u| u.name.clone()).collect()),
            teams: sorted(self.teams.clone()),
            territories: sorted(self.territories.clone()),
        }
    }
}

impl Client {
    /// Stores the server's directory in the replica, so that owners, teams
    /// and territories are checked on the device (ADR 0021). Best effort
    /// after a finished sync, like the rules: a server too old to have the
    /// directory, or unreachable again, leaves the replica with what it knew.
    pub async fn refresh_directory(&self, replica: &mut rapport_core::Replica) -> Result<(), ClientError> {
        match self.directory().await {
            Ok(directory) => {
                let directory = directory.to_replica();
                if replica.directory()?.as_ref() != Some(&directory) {
                    replica.store_directory(&directory)?;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the directory; owner names are checked against the last one")
            }
        }
        Ok(())
    }
}

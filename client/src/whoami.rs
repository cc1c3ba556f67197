//! `GET /v1/whoami`: whom a device token belongs to.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::ClientError;

/// The user, role and device a token belongs to, as the server knows them.
/// A replica writes as this user and device (its `DeviceIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenOwner {
    pub user: String,
    /// `admin`, `manager`, `office` or `rep`.
    pub role: String,
    /// The device's name, as the administrator gave it.
    pub device: String,
    /// The device's id on the server.
    pub device_id: i64,
    /// The user's teams and territories, as the permission rules see them.
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub territories: Vec<String>,
}

impl Client {
    /// Asks the server whom this client's token belongs to.
    ///
    /// Fails with `Unauthorized` for an unknown or revoked token, `Network`
    /// when the server cannot be reached, and `Server` with status 404 from a
    /// server older than this endpoint.
    pub async fn whoami(&self) -> Result<TokenOwner, ClientError> {
        self.get_json("v1/whoami").await
    }
}

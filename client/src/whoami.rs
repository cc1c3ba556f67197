//! `GET /v1/whoami`: whom a device token belongs to.

use reqwest::header::AUTHORIZATION;
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
        let response = self
            .http
            .get(self.endpoint.http("v1/whoami"))
            .header(AUTHORIZATION, self.auth.clone())
            .send()
            .await
            .map_err(|e| self.network_error(&e))?;
        let status = response.status();
        let retry_after = crate::client::retry_after(&response);
        let body = response.bytes().await.map_err(|e| self.network_error(&e))?;
        if !status.is_success() {
            return Err(ClientError::from_status(self.endpoint.base(), status.as_u16(), retry_after.as_deref(), &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| self.protocol_error(format!("the answer to /v1/whoami is not the expected JSON ({e})")))
    }
}

//! Who the device is: the user and device a token belongs to, asked of the
//! server, so that an app opens its replica as the token's user instead of a
//! name it guessed (`rapport_client::Client::whoami`).

use std::sync::Arc;

use rapport_client::{Client, ClientOptions};

use crate::error::RapportError;
use crate::replica::Replica;

/// The user, role and device a token belongs to, as the server knows them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TokenOwner {
    pub user: String,
    /// `admin`, `manager`, `office` or `rep`.
    pub role: String,
    /// The device's name, as the administrator gave it.
    pub device: String,
    /// The device's id on the server.
    pub device_id: i64,
}

impl From<rapport_client::TokenOwner> for TokenOwner {
    fn from(o: rapport_client::TokenOwner) -> Self {
        TokenOwner { user: o.user, role: o.role, device: o.device, device_id: o.device_id }
    }
}

/// Asks the server at `server_url` whom the device `token` belongs to. Call
/// it at sign-in and open the replica as that user and device (or use
/// [`open_with_token`]).
///
/// `ca_cert_pem`: the CA certificate (PEM) of a self-hosted server, as for
/// `Replica.sync`.
///
/// Throws `Unauthorized` (unknown or revoked token), `Network` (offline:
/// sign in again when online), `InvalidInput` (bad URL or CA certificate),
/// `UntrustedCertificate` or `Server` (a server too old to answer).
#[uniffi::export(async_runtime = "tokio", default(ca_cert_pem = None))]
pub async fn whoami(
    server_url: String,
    token: String,
    ca_cert_pem: Option<String>,
) -> Result<TokenOwner, RapportError> {
    let client = Client::with_ca_cert(&server_url, &token, ClientOptions::default(), ca_cert_pem.as_deref())?;
    Ok(client.whoami().await?.into())
}

/// Opens (creating) the replica file at `path` as the user and device the
/// `token` belongs to, asking the server at `server_url` first. Throws what
/// [`whoami`] throws, and `Storage` if the file cannot be opened.
#[uniffi::export(async_runtime = "tokio", default(ca_cert_pem = None))]
pub async fn open_with_token(
    path: String,
    server_url: String,
    token: String,
    ca_cert_pem: Option<String>,
) -> Result<Arc<Replica>, RapportError> {
    let owner = whoami(server_url, token, ca_cert_pem).await?;
    tokio::task::spawn_blocking(move || Replica::open(path, owner.user, owner.device))
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

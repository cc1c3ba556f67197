//! Encryption at rest: opening an encrypted replica with the key the app
//! keeps in the Android Keystore or the iOS Keychain, and encrypting a plain
//! replica in place (see docs/MOBILE.md, "Encryption at rest").
//!
//! The key is 32 random bytes the app generates once and keeps in the
//! platform's keystore; it never leaves the device and is never logged.

use std::sync::{Arc, Mutex};

use rapport_core as rc;

use crate::error::RapportError;
use crate::identity::whoami;
use crate::replica::Replica;

type Result<T, E = RapportError> = std::result::Result<T, E>;

/// Length of a replica key, in bytes.
#[uniffi::export]
pub fn replica_key_length() -> u32 {
    rc::RAW_KEY_LEN as u32
}

fn raw_key(key: &[u8]) -> Result<rc::ReplicaKey> {
    Ok(rc::ReplicaKey::raw(key)?)
}

#[uniffi::export]
impl Replica {
    /// Opens the encrypted replica file at `path` (created encrypted if
    /// missing) with `key`, 32 bytes. Throws `WrongKey` if the key does not
    /// open it, or if the file is a plain replica (call `encryptReplica` first),
    /// and `InvalidInput` if the key is not 32 bytes long.
    #[uniffi::constructor]
    pub fn open_encrypted(path: String, user: String, device: String, key: Vec<u8>) -> Result<Arc<Replica>> {
        let key = raw_key(&key)?;
        let replica = rc::Replica::open_encrypted(path, &rc::DeviceIdentity::new(user, device), &key)?;
        Ok(Arc::new(Replica { inner: Arc::new(Mutex::new(replica)) }))
    }
}

/// Encrypts the plain replica file at `path` with `key` (32 bytes), in
/// place; the plain copy is overwritten. Returns `true` if it encrypted the
/// file, `false` if the file already was encrypted with this key. Call it
/// before opening the replica: throws `Storage` while the replica is open,
/// `WrongKey` if the file is encrypted with another key.
#[uniffi::export]
pub fn encrypt_replica(path: String, key: Vec<u8>) -> Result<bool> {
    let key = raw_key(&key)?;
    Ok(rc::Replica::encrypt(path, &key)? == rc::Encryption::Encrypted)
}

/// [`crate::open_with_token`] for an encrypted replica: opens (creating) the
/// replica at `path` with `key` as the user and device the `token` belongs to.
/// `ca_cert_pem`: the CA certificate (PEM) of a self-hosted server, as for
/// `Replica.sync`.
#[uniffi::export(async_runtime = "tokio", default(ca_cert_pem = None))]
pub async fn open_encrypted_with_token(
    path: String,
    server_url: String,
    token: String,
    key: Vec<u8>,
    ca_cert_pem: Option<String>,
) -> Result<Arc<Replica>> {
    let owner = whoami(server_url, token, ca_cert_pem).await?;
    tokio::task::spawn_blocking(move || Replica::open_encrypted(path, owner.user, owner.device, key))
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

//! The replica's key on the desktop: a random key kept in the OS keyring
//! (macOS Keychain, Windows Credential Manager, the Secret Service on
//! Linux), or a passphrase when no keyring can be reached (a server, an SSH
//! session): taken from `$RAPPORT_PASSPHRASE`, else asked on the terminal.
//!
//! `config.json` says which (`"key": "keyring"` or `"passphrase"`), never the key.

use std::path::Path;

use clap::ValueEnum;
use rapport_core::{RAW_KEY_LEN, ReplicaKey};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

/// The environment variable a passphrase is read from before asking.
pub const PASSPHRASE_ENV: &str = "RAPPORT_PASSPHRASE";

/// The keyring's service name; the entry's user is the replica directory.
const KEYRING_SERVICE: &str = "rapport-replica";

/// Where an encrypted replica's key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// A random 256-bit key stored in the OS keyring.
    Keyring,
    /// A passphrase: `$RAPPORT_PASSPHRASE`, else asked on the terminal.
    Passphrase,
}

/// A new key for the replica in `dir`, from `wanted`. A keyring that cannot
/// be reached falls back to a passphrase (said on stderr).
pub fn new_key(dir: &Path, wanted: KeySource) -> Result<(KeySource, ReplicaKey)> {
    if wanted == KeySource::Keyring {
        match store_in_keyring(dir) {
            Ok(key) => return Ok((KeySource::Keyring, key)),
            Err(reason) => eprintln!(
                "the OS keyring cannot be used ({reason}); the replica is encrypted with a passphrase instead, \
                 which every command will need (set {PASSPHRASE_ENV} or type it when asked)"
            ),
        }
    }
    Ok((KeySource::Passphrase, passphrase(true)?))
}

/// The key of the replica in `dir`, from `source`.
pub fn key(dir: &Path, source: KeySource) -> Result<ReplicaKey> {
    match source {
        KeySource::Keyring => {
            let secret =
                entry(dir).and_then(|e| e.get_secret()).map_err(|e| CliError::Keyring { reason: e.to_string() })?;
            Ok(ReplicaKey::raw(&secret)?)
        }
        KeySource::Passphrase => passphrase(false),
    }
}

fn entry(dir: &Path) -> keyring::Result<keyring::Entry> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    keyring::Entry::new(KEYRING_SERVICE, &dir.to_string_lossy())
}

/// Generates a random key and stores it in the keyring (read back to be
/// sure). A key the keyring already holds for this replica is used again,
/// never overwritten: it may be the only key of an encrypted replica.
fn store_in_keyring(dir: &Path) -> std::result::Result<ReplicaKey, String> {
    let entry = entry(dir).map_err(|e| e.to_string())?;
    if let Ok(key) = entry.get_secret().map(|held| ReplicaKey::raw(&held)) {
        return key.map_err(|e| e.to_string());
    }
    let mut bytes = [0u8; RAW_KEY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    entry.set_secret(&bytes).map_err(|e| e.to_string())?;
    if entry.get_secret().map_err(|e| e.to_string())? != bytes {
        return Err("the keyring did not give back the key it stored".into());
    }
    ReplicaKey::raw(&bytes).map_err(|e| e.to_string())
}

/// The passphrase from the environment, else from the terminal (twice when `new`).
fn passphrase(new: bool) -> Result<ReplicaKey> {
    if let Some(text) = std::env::var_os(PASSPHRASE_ENV) {
        let text = text.into_string().map_err(|_| CliError::Usage(format!("{PASSPHRASE_ENV} is not valid UTF-8")))?;
        return ReplicaKey::passphrase(text)
            .map_err(|_| CliError::Usage(format!("{PASSPHRASE_ENV} is empty: set it to the replica's passphrase")));
    }
    let ask =
        |prompt: &str| rpassword::prompt_password(prompt).map_err(|e| CliError::NoPassphrase { reason: e.to_string() });
    let text = ask("replica passphrase: ")?;
    if new && ask("the same passphrase again: ")? != text {
        return Err(CliError::Usage("the two passphrases differ; nothing was changed, try again".into()));
    }
    ReplicaKey::passphrase(text).map_err(|_| CliError::Usage("the passphrase is empty; nothing was changed".into()))
}

//! Where the replica lives and the small config file next to it.
//!
//! `DIR/replica.db` is the SQLite replica; `DIR/config.json` holds the server
//! URL, the device token, the user and device names the replica writes as,
//! the CA certificate of a self-hosted server (`--ca-cert`), if given, and,
//! for an encrypted replica, where its key comes from (never the key).
//! `DIR` is `--replica`, else `$RAPPORT_REPLICA`, else the platform data
//! directory (`~/.local/share/rapport` on Linux).

use std::path::{Path, PathBuf};

use rapport_core::{DeviceIdentity, Replica};

use crate::encryption::{self, KeySource};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

pub const REPLICA_FILE: &str = "replica.db";
pub const CONFIG_FILE: &str = "config.json";

/// The contents of `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub server: String,
    pub token: String,
    /// The token's user (from the server's `/v1/whoami`), whom edits are attributed to.
    pub user: String,
    /// The token's device name.
    pub device: String,
    /// The token's device id on the server (absent in configs of 0.1.0 and `--offline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    /// A CA certificate (PEM) trusted for the server's HTTPS certificate
    /// besides the system's (`rapport init --ca-cert FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<String>,
    /// Where the key of an encrypted replica comes from (absent: not encrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySource>,
}

impl Config {
    pub fn identity(&self) -> DeviceIdentity {
        DeviceIdentity::new(&self.user, &self.device)
    }
}

/// The replica directory chosen by flag, environment or platform default.
pub fn replica_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os("RAPPORT_REPLICA").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("rapport"))
        .ok_or_else(|| CliError::Usage("cannot find a data directory for the replica; pass --replica DIR".into()))
}

/// The replica directory with its config, as every command but `init` needs it.
#[derive(Debug)]
pub struct Workspace {
    pub dir: PathBuf,
    pub config: Config,
}

impl Workspace {
    pub fn load(dir: &Path) -> Result<Workspace> {
        let config_path = dir.join(CONFIG_FILE);
        if !dir.join(REPLICA_FILE).exists() || !config_path.exists() {
            return Err(CliError::NoReplica(dir.to_path_buf()));
        }
        let text = std::fs::read_to_string(&config_path).map_err(|e| CliError::io(&config_path, e))?;
        let config = serde_json::from_str(&text)
            .map_err(|e| CliError::BadConfig { path: config_path.clone(), reason: e.to_string() })?;
        Ok(Workspace { dir: dir.to_path_buf(), config })
    }

    pub fn open(&self) -> Result<Replica> {
        open(&self.dir, &self.config)
    }
}

/// Opens the replica in `dir` as `config` says: plain, or with its key.
pub fn open(dir: &Path, config: &Config) -> Result<Replica> {
    let path = dir.join(REPLICA_FILE);
    Ok(match config.key {
        None => Replica::open(path, &config.identity())?,
        Some(source) => Replica::open_encrypted(path, &config.identity(), &encryption::key(dir, source)?)?,
    })
}

/// Writes `config.json` (readable by the owner only: it holds the token).
pub fn save(dir: &Path, config: &Config) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    let path = dir.join(CONFIG_FILE);
    let tmp = dir.join(".config.json.tmp");
    let text = serde_json::to_string_pretty(config)
        .map_err(|e| CliError::BadConfig { path: path.clone(), reason: e.to_string() })?;
    std::fs::write(&tmp, text + "\n").map_err(|e| CliError::io(&tmp, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(|e| CliError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| CliError::io(&path, e))?;
    Ok(())
}

/// A default device name: the host name, else `desktop`.
pub fn default_device() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "desktop".to_owned())
}

/// Overwrites `config.json` (it holds the token) with zeros and deletes it,
/// after a remote wipe. A missing file is done.
pub fn erase(dir: &Path) -> Result<()> {
    for path in [dir.join(CONFIG_FILE), dir.join(".config.json.tmp")] {
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CliError::io(&path, e)),
        };
        std::fs::write(&path, vec![0u8; len as usize]).map_err(|e| CliError::io(&path, e))?;
        std::fs::remove_file(&path).map_err(|e| CliError::io(&path, e))?;
    }
    Ok(())
}

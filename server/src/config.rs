//! What the server is told at start.

use std::path::PathBuf;
use std::time::Duration;

use crate::db::DbOptions;

/// Where `serve` listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Where `serve` keeps its database by default.
pub const DEFAULT_DATA_DIR: &str = "./rapport-data";
/// Largest request body (and WebSocket message) accepted by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;
/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "rapport-server.db";
/// File in the data directory where the running server writes its address
/// (`http://127.0.0.1:8080`), for the management commands to find its admin
/// API; removed when it stops.
pub const URL_FILE: &str = "rapport-server.url";

/// Server configuration; [`Config::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the database file.
    pub data_dir: PathBuf,
    /// Largest accepted request body or WebSocket message, in bytes (larger: 413 / close 1009).
    pub max_body_bytes: usize,
    /// Cap on a client's `max_pull_bytes`, so one response stays bounded.
    pub max_pull_bytes: u64,
    /// How long an HTTP request may take before it is answered 408.
    pub request_timeout: Duration,
    /// An admin device token chosen by the operator (`RAPPORT_ADMIN_TOKEN`), for automation.
    pub admin_token: Option<String>,
    /// Requests per second each non-admin device may make (0: unlimited).
    pub rate_per_sec: f64,
    /// Requests a device may make in a burst.
    pub rate_burst: u32,
    /// Database thread tuning (also the largest document a push may produce).
    pub db: DbOptions,
    /// Backups through the admin API and on a schedule.
    pub backup: BackupOptions,
    /// Serve HTTPS with this certificate and key (`None`: plain HTTP, e.g. behind a proxy).
    pub tls: Option<crate::tls::TlsFiles>,
    /// The oldest client release accepted (`None`: every release whose
    /// protocol version the server speaks); older ones get `426 client_too_old`.
    pub min_client_version: Option<crate::min_client::ClientVersion>,
    /// This node's name, on every metric (`node` label) so a fleet's nodes
    /// tell apart; default: the machine's host name.
    pub node_name: String,
    /// Serve from this PostgreSQL database, shared with other nodes
    /// (`None`: the data directory's SQLite file; ADR 0034).
    pub database_url: Option<String>,
}

/// Where backups go and how often they are taken unasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    /// The directory the admin API and scheduled backups write into (`None`:
    /// no backups through the server; `rapport-server backup` still works).
    pub dir: Option<PathBuf>,
    /// Take a backup this often (needs `dir`).
    pub every: Option<Duration>,
    /// Scheduled backups kept; older ones are deleted.
    pub keep: usize,
}

/// Scheduled backups kept by default.
pub const DEFAULT_BACKUP_KEEP: usize = 48;

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions { dir: None, every: None, keep: DEFAULT_BACKUP_KEEP }
    }
}

/// Parses an interval like `90s`, `15m`, `1h` or `2d` (a whole number and a unit).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not an interval; write e.g. 30s, 15m, 1h or 1d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} has no unit; write e.g. 30s, 15m, 1h or 1d")),
    };
    if n == 0 {
        return Err("the interval must be longer than zero".into());
    }
    n.checked_mul(seconds).map(Duration::from_secs).ok_or_else(|| format!("{text:?} is too long"))
}

/// Default per-device request rate and burst.
pub const DEFAULT_RATE_PER_SEC: f64 = 20.0;
pub const DEFAULT_RATE_BURST: u32 = 40;

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_pull_bytes: 8 << 20,
            request_timeout: Duration::from_secs(60),
            admin_token: None,
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            rate_burst: DEFAULT_RATE_BURST,
            db: DbOptions::default(),
            backup: BackupOptions::default(),
            tls: None,
            min_client_version: None,
            node_name: default_node_name(),
            database_url: None,
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }
}

/// The machine's host name, else `rapport-server`.
pub fn default_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "rapport-server".to_owned())
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_DATA_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_need_a_number_and_a_unit() {
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "h", "10", "0s", "1.5h", "1w", "-1h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}

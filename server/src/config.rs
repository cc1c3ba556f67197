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
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_DATA_DIR)
    }
}

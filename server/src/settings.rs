//! `serve`'s settings from their four sources: a command-line flag, an
//! environment variable, the configuration file (`--config FILE` or
//! `RAPPORT_CONFIG`, TOML) and the default, in that order of precedence.
//!
//! Every setting has one name: the file's key is the flag without its
//! dashes (`--backup-every` is `backup_every`) and the environment variable is
//! `RAPPORT_` and the key in capitals (`RAPPORT_BACKUP_EVERY`). The data
//! directory is `--data`, `data_dir` and `RAPPORT_DATA_DIR`. A key the server
//! does not know, or a value of the wrong kind, stops the start with a
//! [`SettingsError`] naming the file (or variable), the key and what to write.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{
    BackupOptions, Config, DEFAULT_BACKUP_KEEP, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SEC, parse_interval,
};
use crate::min_client::ClientVersion;
use crate::tls::TlsFiles;

/// The environment variable naming the configuration file (like `--config`).
pub const CONFIG_ENV: &str = "RAPPORT_CONFIG";
/// The prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "RAPPORT_";

/// Documents kept loaded in memory by default.
pub const DEFAULT_CACHE_DOCS: usize = 256;
/// Largest document a push may produce by default.
pub const DEFAULT_MAX_DOC_BYTES: u64 = 16 << 20;

/// Every key a configuration file may hold, with what to write for it.
pub const KEYS: &[(&str, &str)] = &[
    ("listen", "an address and port in quotes, e.g. \"0.0.0.0:8080\""),
    ("data_dir", "a directory in quotes, e.g. \"/var/lib/rapport\""),
    ("max_body_bytes", "a whole number of bytes, e.g. 33554432"),
    ("cache_docs", "a whole number of documents, e.g. 256"),
    ("max_doc_bytes", "a whole number of bytes, e.g. 16777216"),
    ("rate", "requests per second as a number, e.g. 20 or 0.5 (0: unlimited)"),
    ("burst", "a whole number of requests, e.g. 40"),
    ("backup_dir", "a directory in quotes, e.g. \"/var/backups/rapport\""),
    ("backup_every", "an interval in quotes, e.g. \"30m\", \"1h\" or \"1d\""),
    ("backup_keep", "a whole number of at least 1, e.g. 48"),
    ("tls_cert", "a PEM file in quotes, e.g. \"/etc/rapport/cert.pem\""),
    ("tls_key", "a PEM file in quotes, e.g. \"/etc/rapport/key.pem\""),
    ("min_client_version", "a release in quotes, e.g. \"0.2.0\""),
    ("node_name", "a name in quotes, e.g. \"sync-1\""),
    ("database_url", "a PostgreSQL connection string in quotes, e.g. \"postgres://rapport@db1:5432/rapport\""),
];

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error(
        "the configuration file {} has an unknown key `{key}`; the keys are {}",
        path.display(), KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error("the configuration file {} has a bad value for `{key}` ({problem}); write {hint}", path.display())]
    FileValue { path: PathBuf, key: &'static str, problem: String, hint: &'static str },
    #[error("the environment variable {var} has a bad value ({problem}); write {hint}")]
    EnvValue { var: String, problem: String, hint: &'static str },
    #[error("{given} (--{}) is set but {missing} (--{}) is not; set both (or neither)", flag(given), flag(missing))]
    Incomplete { given: &'static str, missing: &'static str },
    #[error(
        "backup_every (--backup-every) is set but backup_dir (--backup-dir) is not; set backup_dir to the \
         directory for scheduled backups"
    )]
    BackupEveryWithoutDir,
    #[error(
        "backup_dir (--backup-dir) is set but the server stores its data in PostgreSQL (database_url); back up \
         the PostgreSQL database with its own tools (pg_basebackup, pg_dump) and remove backup_dir"
    )]
    BackupWithPostgres,
}

/// A key's command-line flag (without its dashes).
fn flag(key: &str) -> String {
    key.replace('_', "-")
}

/// Settings from one source; `None`: this source does not set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub max_body_bytes: Option<usize>,
    pub cache_docs: Option<usize>,
    pub max_doc_bytes: Option<u64>,
    pub rate: Option<f64>,
    pub burst: Option<u32>,
    pub backup_dir: Option<PathBuf>,
    pub backup_every: Option<Duration>,
    pub backup_keep: Option<u32>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub min_client_version: Option<ClientVersion>,
    pub node_name: Option<String>,
    pub database_url: Option<String>,
}

/// A value as one source gives it: typed in a file, text in the environment.
enum Raw<'a> {
    File(&'a toml::Value),
    Env(&'a str),
}

impl Raw<'_> {
    fn text(&self) -> Result<&str, String> {
        match self {
            Raw::File(toml::Value::String(s)) => Ok(s),
            Raw::Env(s) => Ok(s),
            Raw::File(v) => Err(format!("found {}, not text in quotes", v.type_str())),
        }
    }

    fn whole<T: TryFrom<i64> + std::str::FromStr>(&self) -> Result<T, String> {
        let n = match self {
            Raw::File(toml::Value::Integer(n)) => *n,
            Raw::File(v) => return Err(format!("found {}, not a whole number", v.type_str())),
            Raw::Env(s) => s.trim().parse::<i64>().map_err(|_| format!("{s:?} is not a whole number"))?,
        };
        T::try_from(n).map_err(|_| format!("{n} is out of range"))
    }

    fn number(&self) -> Result<f64, String> {
        let n = match self {
            Raw::File(toml::Value::Integer(n)) => *n as f64,
            Raw::File(toml::Value::Float(n)) => *n,
            Raw::File(v) => return Err(format!("found {}, not a number", v.type_str())),
            Raw::Env(s) => s.trim().parse::<f64>().map_err(|_| format!("{s:?} is not a number"))?,
        };
        if n.is_finite() && n >= 0.0 { Ok(n) } else { Err(format!("{n} is not a number of at least 0")) }
    }

    fn path(&self) -> Result<PathBuf, String> {
        let text = self.text()?;
        if text.trim().is_empty() { Err("it is empty".into()) } else { Ok(PathBuf::from(text)) }
    }
}

impl Settings {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Settings, SettingsError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| SettingsError::Read { path: path.to_path_buf(), source })?;
        Settings::from_toml(path, &text)
    }

    /// Parses a configuration file's text (`path` only names it in errors).
    pub fn from_toml(path: &Path, text: &str) -> Result<Settings, SettingsError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| SettingsError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let mut settings = Settings::default();
        for (key, value) in &table {
            let Some(&(known, hint)) = KEYS.iter().find(|(k, _)| k == key) else {
                return Err(SettingsError::UnknownKey { path: path.to_path_buf(), key: key.clone() });
            };
            settings.set(known, &Raw::File(value)).map_err(|problem| SettingsError::FileValue {
                path: path.to_path_buf(),
                key: known,
                problem,
                hint,
            })?;
        }
        Ok(settings)
    }

    /// Reads the `RAPPORT_…` variables through `var` (e.g. `std::env::var`).
    /// An empty variable counts as unset.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let mut settings = Settings::default();
        for &(key, hint) in KEYS {
            let name = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
            let Some(value) = var(&name).filter(|v| !v.trim().is_empty()) else { continue };
            settings.set(key, &Raw::Env(&value)).map_err(|problem| SettingsError::EnvValue {
                var: name,
                problem,
                hint,
            })?;
        }
        Ok(settings)
    }

    fn set(&mut self, key: &str, raw: &Raw<'_>) -> Result<(), String> {
        match key {
            "listen" => {
                let text = raw.text()?;
                self.listen = Some(text.trim().parse().map_err(|_| format!("{text:?} is not an address and port"))?);
            }
            "data_dir" => self.data_dir = Some(raw.path()?),
            "max_body_bytes" => self.max_body_bytes = Some(raw.whole()?),
            "cache_docs" => self.cache_docs = Some(raw.whole()?),
            "max_doc_bytes" => self.max_doc_bytes = Some(raw.whole()?),
            "rate" => self.rate = Some(raw.number()?),
            "burst" => self.burst = Some(raw.whole()?),
            "backup_dir" => self.backup_dir = Some(raw.path()?),
            "backup_every" => self.backup_every = Some(parse_interval(raw.text()?)?),
            "backup_keep" => {
                let keep: u32 = raw.whole()?;
                if keep == 0 {
                    return Err("0 would keep no backup".into());
                }
                self.backup_keep = Some(keep);
            }
            "tls_cert" => self.tls_cert = Some(raw.path()?),
            "tls_key" => self.tls_key = Some(raw.path()?),
            "min_client_version" => {
                let text = raw.text()?;
                self.min_client_version = Some(text.parse().map_err(|_| format!("{text:?} is not a release"))?);
            }
            "node_name" => {
                let name = raw.text()?.trim();
                if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                    return Err("it must be 1 to 64 characters without control characters".into());
                }
                self.node_name = Some(name.to_owned());
            }
            "database_url" => {
                let url = raw.text()?.trim();
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err("it must start with postgres:// or postgresql://".into());
                }
                self.database_url = Some(url.to_owned());
            }
            _ => unreachable!("every key of KEYS is handled"),
        }
        Ok(())
    }

    /// These settings, each filled in from `lower` where this one has none.
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            cache_docs: self.cache_docs.or(lower.cache_docs),
            max_doc_bytes: self.max_doc_bytes.or(lower.max_doc_bytes),
            rate: self.rate.or(lower.rate),
            burst: self.burst.or(lower.burst),
            backup_dir: self.backup_dir.or(lower.backup_dir),
            backup_every: self.backup_every.or(lower.backup_every),
            backup_keep: self.backup_keep.or(lower.backup_keep),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            min_client_version: self.min_client_version.or(lower.min_client_version),
            node_name: self.node_name.or(lower.node_name),
            database_url: self.database_url.or(lower.database_url),
        }
    }

    /// The address to listen on (default [`DEFAULT_LISTEN`]).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))))
    }

    /// The server configuration, with defaults where no source set a value.
    /// `admin_token` is not a setting here: it is a secret, read from
    /// `RAPPORT_ADMIN_TOKEN` only.
    pub fn into_config(self) -> Result<Config, SettingsError> {
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (Some(_), None) => return Err(SettingsError::Incomplete { given: "tls_cert", missing: "tls_key" }),
            (None, Some(_)) => return Err(SettingsError::Incomplete { given: "tls_key", missing: "tls_cert" }),
            (None, None) => None,
        };
        if self.backup_every.is_some() && self.backup_dir.is_none() {
            return Err(SettingsError::BackupEveryWithoutDir);
        }
        if self.database_url.is_some() && self.backup_dir.is_some() {
            return Err(SettingsError::BackupWithPostgres);
        }
        let mut config = Config::new(self.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)));
        config.max_body_bytes = self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        config.db.cache_docs = self.cache_docs.unwrap_or(DEFAULT_CACHE_DOCS);
        config.db.max_doc_bytes = self.max_doc_bytes.unwrap_or(DEFAULT_MAX_DOC_BYTES);
        config.rate_per_sec = self.rate.unwrap_or(DEFAULT_RATE_PER_SEC);
        config.rate_burst = self.burst.unwrap_or(DEFAULT_RATE_BURST);
        config.backup = BackupOptions {
            dir: self.backup_dir,
            every: self.backup_every,
            keep: self.backup_keep.map_or(DEFAULT_BACKUP_KEEP, |k| k.max(1) as usize),
        };
        config.tls = tls;
        config.min_client_version = self.min_client_version;
        if let Some(name) = self.node_name {
            config.node_name = name;
        }
        config.database_url = self.database_url;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn file(text: &str) -> Result<Settings, SettingsError> {
        Settings::from_toml(Path::new("/etc/rapport/server.toml"), text)
    }

    #[test]
    fn a_file_sets_each_key() {
        let s = file(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/var/lib/rapport\"\nrate = 5\nburst = 10\n\
             backup_dir = \"/b\"\nbackup_every = \"1h\"\nbackup_keep = 3\nmin_client_version = \"0.2.0\"\n\
             node_name = \"sync-1\"\nmax_body_bytes = 1000\ncache_docs = 8\nmax_doc_bytes = 2000\n",
        )
        .unwrap();
        let config = s.clone().into_config().unwrap();
        assert_eq!(s.listen_addr(), "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/rapport"));
        assert_eq!((config.rate_per_sec, config.rate_burst), (5.0, 10));
        assert_eq!(config.backup.every, Some(Duration::from_secs(3600)));
        assert_eq!(config.backup.keep, 3);
        assert_eq!(config.min_client_version, Some(ClientVersion::new(0, 2, 0)));
        assert_eq!(config.node_name, "sync-1");
        assert_eq!((config.max_body_bytes, config.db.cache_docs, config.db.max_doc_bytes), (1000, 8, 2000));
    }

    #[test]
    fn an_unknown_key_is_named_with_the_file() {
        let e = file("listen = \"127.0.0.1:1\"\nbackup_evry = \"1h\"\n").unwrap_err();
        assert!(matches!(&e, SettingsError::UnknownKey { key, .. } if key == "backup_evry"), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("/etc/rapport/server.toml") && text.contains("backup_every"), "{text}");
    }

    #[test]
    fn a_bad_value_names_the_key_and_what_to_write() {
        for (text, key) in [
            ("rate = \"fast\"", "rate"),
            ("burst = -1", "burst"),
            ("listen = 8080", "listen"),
            ("backup_every = \"1w\"", "backup_every"),
            ("backup_keep = 0", "backup_keep"),
            ("min_client_version = \"two\"", "min_client_version"),
        ] {
            let e = file(text).unwrap_err();
            assert!(matches!(&e, SettingsError::FileValue { key: k, .. } if *k == key), "{text}: {e:?}");
            let message = e.to_string();
            assert!(message.contains(key) && message.contains("write"), "{message}");
        }
        assert!(matches!(file("listen = "), Err(SettingsError::Syntax { .. })));
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let from_file = file("rate = 1\nburst = 1\nlisten = \"127.0.0.1:1\"\n").unwrap();
        let env = Settings::from_env(|name| match name {
            "RAPPORT_RATE" => Some("2".into()),
            "RAPPORT_BURST" => Some("2".into()),
            _ => None,
        })
        .unwrap();
        let flags = Settings { rate: Some(3.0), ..Settings::default() };
        let merged = flags.over(env.over(from_file));
        assert_eq!((merged.rate, merged.burst), (Some(3.0), Some(2)));
        assert_eq!(merged.listen_addr(), "127.0.0.1:1".parse().unwrap());
        let defaults = Settings::default().into_config().unwrap();
        assert_eq!(defaults.rate_burst, DEFAULT_RATE_BURST);
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let e = Settings::from_env(|name| (name == "RAPPORT_CACHE_DOCS").then(|| "many".into())).unwrap_err();
        assert!(e.to_string().contains("RAPPORT_CACHE_DOCS"), "{e}");
    }

    #[test]
    fn half_a_tls_pair_or_a_schedule_without_a_directory_is_refused() {
        assert!(matches!(
            file("tls_cert = \"c.pem\"").unwrap().into_config(),
            Err(SettingsError::Incomplete { missing: "tls_key", .. })
        ));
        assert!(matches!(
            file("backup_every = \"1h\"").unwrap().into_config(),
            Err(SettingsError::BackupEveryWithoutDir)
        ));
    }

    #[test]
    fn a_database_url_comes_from_the_file_or_the_environment_and_excludes_server_backups() {
        let url = "postgres://rapport@db1:5432,db2:5432/rapport?target_session_attrs=read-write";
        let config = file(&format!("database_url = \"{url}\"")).unwrap().into_config().unwrap();
        assert_eq!(config.database_url.as_deref(), Some(url));
        let env = Settings::from_env(|name| (name == "RAPPORT_DATABASE_URL").then(|| url.into())).unwrap();
        assert_eq!(env.into_config().unwrap().database_url.as_deref(), Some(url));
        assert!(Settings::default().into_config().unwrap().database_url.is_none(), "SQLite by default");

        let e = Settings::from_env(|name| (name == "RAPPORT_DATABASE_URL").then(|| "mysql://s3cret@db".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("RAPPORT_DATABASE_URL") && e.contains("postgres://"), "{e}");
        assert!(!e.contains("s3cret"), "the refused value (it may hold a password) is not repeated: {e}");
        assert!(matches!(
            file(&format!("database_url = \"{url}\"\nbackup_dir = \"/b\"")).unwrap().into_config(),
            Err(SettingsError::BackupWithPostgres)
        ));
    }

    #[test]
    fn the_shipped_example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rapport-server.example.toml");
        let settings = Settings::from_file(&path).unwrap();
        let config = settings.into_config().unwrap();
        assert!(config.backup.dir.is_some());
    }
}

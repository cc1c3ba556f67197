//! Backups and restores of the server database.
//!
//! A backup is `VACUUM INTO` a temporary file on its own read connection:
//! SQLite copies one consistent snapshot (a read transaction) while the
//! database thread goes on committing (WAL readers do not block the writer).
//! The copy is then checked with `PRAGMA integrity_check`, switched to a
//! self-contained rollback journal, fsynced and renamed into place, so a
//! backup file either is complete and checked or does not exist. Its log
//! head (the highest change position it holds) is read from the copy itself.
//!
//! A restore checks the file the same way, takes the data directory's lock
//! (refused while a server runs), keeps the old database aside and puts the
//! copy in its place.
//!
//! Scheduled backups ([`spawn_schedule`]) write [`scheduled_name`]s into the
//! backup directory and keep the newest `keep` of them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use time::OffsetDateTime;

use crate::db::{DbError, schema};

mod restore;
mod schedule;

pub use restore::restore;
pub use schedule::{is_scheduled_name, prune, scheduled_name, spawn_schedule};

/// Longest backup file name accepted from the admin API.
const MAX_NAME_LEN: usize = 128;

/// How long a backup's read connection waits for a lock the writer holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// One backup at a time in this process (the admin API and the schedule).
static RUNNING: Mutex<()> = Mutex::new(());

/// Why a backup or restore failed. Nothing was written where it failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no server database at {}; check --data", .0.display())]
    NoDatabase(PathBuf),
    #[error("{} already exists; choose another file name or remove the old file first", .0.display())]
    TargetExists(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the path is not valid UTF-8; choose a plainer path", .0.display())]
    PathNotUtf8(PathBuf),
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the copy failed SQLite's integrity check ({detail}); it was deleted and the database was not changed; \
         check the disk and try again"
    )]
    IntegrityCheck { detail: String },
    #[error("{} is not a Rapport server database", .0.display())]
    NotServerDatabase(PathBuf),
    #[error(
        "{} has schema version {found} but this server supports up to {supported}; use the rapport-server that \
         wrote it", path.display()
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error(
        "the backup was put in place, but a new epoch could not be started ({0}); run `rapport-server new-epoch` \
         on the data directory before starting the server, so that devices re-send what it lacks"
    )]
    NewEpoch(#[source] crate::db::DbError),
    #[error("a server is running on {}; stop it first (a restore replaces its database)", .0.display())]
    ServerRunning(PathBuf),
    #[error(
        "the database {} stayed locked for {} s (a rapport-server 0.1.0 holds its file exclusively); upgrade or \
         stop that server and try again", .0.display(), BUSY_TIMEOUT.as_secs()
    )]
    Busy(PathBuf),
    #[error(
        "backup names are 1 to {MAX_NAME_LEN} letters, digits, '.', '-' or '_', not starting with '.' (a file in \
         the backup directory, never a path)"
    )]
    InvalidName,
    #[error("no backup directory is configured; start the server with --backup-dir DIR")]
    NoBackupDir,
    #[error("the backup task stopped unexpectedly; see the server log and try again")]
    TaskFailed,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    /// The backup file.
    pub path: PathBuf,
    /// The log head the backup holds: every change at or below this position is in it.
    pub head: u64,
    /// Documents (accounts and settings) in it.
    pub documents: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its schema version.
    pub schema_version: i64,
    /// How long the copy took, in milliseconds.
    pub millis: u64,
}

/// What a finished restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreInfo {
    /// The restored backup's contents.
    pub backup: BackupInfo,
    /// Where the database that was replaced was kept, if there was one.
    pub previous: Option<PathBuf>,
}

/// Where the running server keeps backups made through the admin API and the schedule.
#[derive(Debug, Clone)]
pub struct Backups {
    /// The live database file.
    pub database: PathBuf,
    /// The backup directory, if configured.
    pub dir: Option<PathBuf>,
}

impl Backups {
    /// Backs up into the backup directory under `name` (checked to be a
    /// plain file name), or under a new [`scheduled_name`].
    pub async fn backup_named(&self, name: Option<&str>) -> Result<BackupInfo, BackupError> {
        let dir = self.dir.clone().ok_or(BackupError::NoBackupDir)?;
        let name = match name {
            Some(name) => checked_name(name)?.to_owned(),
            None => scheduled_name(OffsetDateTime::now_utc()),
        };
        let database = self.database.clone();
        run_blocking(move || backup(&database, &dir.join(name))).await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| BackupError::TaskFailed)?
}

/// `name` if it is a plain file name fit for the backup directory.
pub fn checked_name(name: &str) -> Result<&str, BackupError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok { Ok(name) } else { Err(BackupError::InvalidName) }
}

/// Takes a consistent backup of the database at `database` into the new file
/// `to`, while a server may be writing it. Reports success only once the
/// copy passed `PRAGMA integrity_check` and is durably in place.
pub fn backup(database: &Path, to: &Path) -> Result<BackupInfo, BackupError> {
    let _one = RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    if !database.is_file() {
        return Err(BackupError::NoDatabase(database.to_path_buf()));
    }
    if to.exists() {
        return Err(BackupError::TargetExists(to.to_path_buf()));
    }
    let dir = parent_dir(to);
    std::fs::create_dir_all(&dir).map_err(|source| BackupError::Io { path: dir.clone(), source })?;
    let partial = Partial::new(&dir, to)?;
    {
        let sql = |source| BackupError::Sqlite { path: database.to_path_buf(), source };
        let source =
            Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(sql)?;
        source.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        check_server_database(&source, database)?;
        let target = partial.path.to_str().ok_or_else(|| BackupError::PathNotUtf8(partial.path.clone()))?;
        source.execute("VACUUM INTO ?1", [target]).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                BackupError::Busy(database.to_path_buf())
            }
            _ => sql(e),
        })?;
    }
    let mut info = check_copy(&partial.path)?;
    sync_file(&partial.path)?;
    if to.exists() {
        return Err(BackupError::TargetExists(to.to_path_buf()));
    }
    std::fs::rename(&partial.path, to).map_err(|source| BackupError::Io { path: to.to_path_buf(), source })?;
    partial.done();
    sync_dir(&dir)?;
    info.path = to.to_path_buf();
    info.millis = started.elapsed().as_millis() as u64;
    Ok(info)
}

/// Refuses a file that is not a Rapport server database of a schema this server knows.
fn check_server_database(conn: &Connection, path: &Path) -> Result<i64, BackupError> {
    let sql = |source| BackupError::Sqlite { path: path.to_path_buf(), source };
    let app_id: i32 =
        conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => BackupError::NotServerDatabase(path.to_path_buf()),
            _ => sql(e),
        })?;
    if app_id != schema::APPLICATION_ID {
        return Err(BackupError::NotServerDatabase(path.to_path_buf()));
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql)?;
    let supported = schema::latest_version();
    if version > supported {
        return Err(BackupError::TooNew { path: path.to_path_buf(), found: version, supported });
    }
    Ok(version)
}

/// Checks a copy (a file of our own, not yet in place): a Rapport server
/// database that passes `integrity_check`, then switched to a rollback
/// journal so that it is one self-contained file. Returns what it holds.
fn check_copy(path: &Path) -> Result<BackupInfo, BackupError> {
    let sql = |source| BackupError::Sqlite { path: path.to_path_buf(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql)?;
    let schema_version = check_server_database(&conn, path)?;
    let rows = integrity_check(&conn).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            BackupError::IntegrityCheck { detail: e.to_string() }
        }
        _ => sql(e),
    })?;
    if rows != ["ok"] {
        let detail = rows.into_iter().take(3).collect::<Vec<_>>().join("; ");
        return Err(BackupError::IntegrityCheck { detail });
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).map_err(sql)?;
    if !mode.eq_ignore_ascii_case("delete") {
        tracing::warn!(mode, "the copy kept its journal mode");
    }
    let (head, documents): (i64, i64) = conn
        .query_row("SELECT coalesce(max(last_seq), 0), count(*) FROM documents", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql)?
        .unwrap_or((0, 0));
    drop(conn);
    let bytes = std::fs::metadata(path).map_err(|source| BackupError::Io { path: path.to_path_buf(), source })?.len();
    Ok(BackupInfo {
        path: path.to_path_buf(),
        head: head.max(0) as u64,
        documents: documents.max(0) as u64,
        bytes,
        schema_version,
        millis: 0,
    })
}

/// The rows of `PRAGMA integrity_check`: `["ok"]` for a sound file.
fn integrity_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("PRAGMA integrity_check")?;
    let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// A temporary file next to its destination, deleted unless [`Partial::done`].
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Partial {
    fn new(dir: &Path, target: &Path) -> Result<Partial, BackupError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.partial-{}-{n}", std::process::id()));
        // Left over from a crash of this same process id: it is ours to replace.
        if path.exists() {
            std::fs::remove_file(&path).map_err(|source| BackupError::Io { path: path.clone(), source })?;
        }
        Ok(Partial { path, kept: false })
    }

    fn done(mut self) {
        self.kept = true;
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let _ = std::fs::remove_file(with_suffix(&self.path, suffix));
            }
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| BackupError::Io { path: path.to_path_buf(), source })
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|source| BackupError::Io { path: dir.to_path_buf(), source })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_plain_file_names_are_accepted() {
        for good in ["nightly.db", "before-upgrade_2.sqlite", "a"] {
            assert!(checked_name(good).is_ok(), "{good}");
        }
        for bad in ["", "..", "../x.db", "a/b.db", "/etc/passwd", ".hidden", "a\\b", "x y", "é.db", &"a".repeat(129)] {
            assert!(matches!(checked_name(bad), Err(BackupError::InvalidName)), "{bad}");
        }
    }
}

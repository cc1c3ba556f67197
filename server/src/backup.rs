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

use crate::config::DATABASE_FILE;
use crate::db::{self, DbError, schema};

/// Prefix and suffix of scheduled backup names; only such files are pruned.
const SCHEDULED_PREFIX: &str = "rapport-backup-";
const SCHEDULED_SUFFIX: &str = ".db";
/// The timestamp of a scheduled name, digit by digit (`d`) and literal.
const SCHEDULED_STAMP: &str = "dddd-dd-ddTdd-dd-dd.dddZ";

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

/// The name of a backup taken at `at`: `rapport-backup-2026-12-04T16-35-00.123Z.db`.
/// Names sort by time.
pub fn scheduled_name(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{SCHEDULED_PREFIX}{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}Z{SCHEDULED_SUFFIX}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Whether `name` is one [`scheduled_name`] makes (and so subject to retention).
pub fn is_scheduled_name(name: &str) -> bool {
    let Some(stamp) = name.strip_prefix(SCHEDULED_PREFIX).and_then(|n| n.strip_suffix(SCHEDULED_SUFFIX)) else {
        return false;
    };
    stamp.len() == SCHEDULED_STAMP.len()
        && stamp.bytes().zip(SCHEDULED_STAMP.bytes()).all(|(c, t)| if t == b'd' { c.is_ascii_digit() } else { c == t })
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

/// Replaces the database in `data_dir` with the backup `from`. Refused while
/// a server runs there. The replaced database is kept next to it as
/// `rapport-server.db.before-restore-<time>`.
pub fn restore(from: &Path, data_dir: &Path) -> Result<RestoreInfo, BackupError> {
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from.to_path_buf()));
    }
    let database = data_dir.join(DATABASE_FILE);
    let _lock = match db::lock_data(&database) {
        Ok(lock) => lock,
        Err(DbError::Locked) => return Err(BackupError::ServerRunning(data_dir.to_path_buf())),
        Err(e) => return Err(e.into()),
    };
    if database.exists() {
        ensure_unused(&database, data_dir)?;
    }
    // The copy is checked before the live database is touched.
    let partial = Partial::new(data_dir, &database)?;
    std::fs::copy(from, &partial.path).map_err(|source| BackupError::Io { path: partial.path.clone(), source })?;
    let backup = check_copy(&partial.path)?;
    sync_file(&partial.path)?;
    let previous = if database.exists() { Some(set_aside(&database)?) } else { None };
    std::fs::rename(&partial.path, &database).map_err(|source| BackupError::Io { path: database.clone(), source })?;
    partial.done();
    sync_dir(data_dir)?;
    Ok(RestoreInfo { backup: BackupInfo { path: from.to_path_buf(), ..backup }, previous })
}

/// Refuses a database that a server of 0.1.0 holds (SQLite's exclusive
/// locking mode, not the lock file); a file SQLite cannot open at all is no
/// one's and may be replaced.
fn ensure_unused(database: &Path, data_dir: &Path) -> Result<(), BackupError> {
    let Ok(conn) = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_WRITE) else { return Ok(()) };
    match conn.busy_timeout(Duration::ZERO).and_then(|()| conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")) {
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) =>
        {
            Err(BackupError::ServerRunning(data_dir.to_path_buf()))
        }
        _ => Ok(()),
    }
}

/// Moves the live database aside, its write-ahead log folded in first (or
/// moved along with it if the file cannot be opened).
fn set_aside(database: &Path) -> Result<PathBuf, BackupError> {
    let stamp = scheduled_name(OffsetDateTime::now_utc());
    let stamp = stamp.trim_start_matches(SCHEDULED_PREFIX).trim_end_matches(SCHEDULED_SUFFIX);
    let aside = with_suffix(database, &format!(".before-restore-{stamp}"));
    let folded = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .and_then(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)).map(|busy| (c, busy)))
        .and_then(|(c, busy)| c.close().map_err(|(_, e)| e).map(|()| busy == 0));
    if !matches!(folded, Ok(true)) {
        tracing::warn!("could not fold the write-ahead log into the replaced database; moving it along");
    }
    for extra in ["-wal", "-shm"] {
        let file = with_suffix(database, extra);
        if file.exists() {
            let to = with_suffix(&aside, extra);
            std::fs::rename(&file, &to).map_err(|source| BackupError::Io { path: file, source })?;
        }
    }
    std::fs::rename(database, &aside).map_err(|source| BackupError::Io { path: aside.clone(), source })?;
    Ok(aside)
}

/// Keeps the newest `keep` scheduled backups in `dir` and deletes the older
/// ones, and temporary files of scheduled backups a crash left behind (older
/// than [`STALE_PARTIAL`]); other files are left alone. Returns the deleted files.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let io = |source| BackupError::Io { path: dir.to_path_buf(), source };
    let mut names = Vec::new();
    let mut deleted = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let Ok(entry) = entry else { continue };
        let Ok(name) = entry.file_name().into_string() else { continue };
        if is_scheduled_name(&name) {
            names.push(name);
        } else if is_stale_partial(&entry, &name) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|source| BackupError::Io { path: path.clone(), source })?;
            deleted.push(path);
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    for name in names.into_iter().skip(keep) {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(|source| BackupError::Io { path: path.clone(), source })?;
        deleted.push(path);
    }
    Ok(deleted)
}

/// A scheduled backup's temporary file is this old only if its writer died.
const STALE_PARTIAL: Duration = Duration::from_secs(24 * 3600);

fn is_stale_partial(entry: &std::fs::DirEntry, name: &str) -> bool {
    let ours = name.strip_prefix('.').is_some_and(|n| n.starts_with(SCHEDULED_PREFIX)) && name.contains(".partial-");
    ours && entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_PARTIAL)
}

/// Scheduled backups: every `every`, a backup into `dir`, then the newest
/// `keep` kept. Ends once `closing` turns true (a running backup finishes first).
pub fn spawn_schedule(
    backups: Backups,
    every: Duration,
    keep: usize,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(dir) = backups.dir.clone() else { return };
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = closing.wait_for(|closing| *closing) => return,
            }
            match backups.backup_named(None).await {
                Ok(info) => tracing::info!(
                    file = %info.path.display(), head = info.head, bytes = info.bytes, millis = info.millis,
                    "scheduled backup written"
                ),
                Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
            }
            let pruned = {
                let dir = dir.clone();
                run_blocking(move || prune(&dir, keep)).await
            };
            match pruned {
                Ok(deleted) => {
                    for file in deleted {
                        tracing::info!(file = %file.display(), "deleted an old scheduled backup");
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot delete old scheduled backups"),
            }
        }
    })
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
    fn scheduled_names_sort_by_time_and_are_recognised() {
        let a = scheduled_name(time::macros::datetime!(2026-12-04 09:05:07.004 UTC));
        let b = scheduled_name(time::macros::datetime!(2026-12-04 10:00:00.000 UTC));
        assert_eq!(a, "rapport-backup-2026-12-04T09-05-07.004Z.db");
        assert!(a < b);
        assert!(is_scheduled_name(&a) && is_scheduled_name(&b));
        for other in ["before-upgrade.db", "rapport-backup-2026-12-04T09-05-07.004Z.db.tmp", "rapport-backup-x.db"] {
            assert!(!is_scheduled_name(other), "{other}");
        }
    }

    #[test]
    fn prune_keeps_the_newest_scheduled_backups_and_nothing_else_goes() {
        let dir = tempfile::tempdir().unwrap();
        let at =
            |h: u8| scheduled_name(time::macros::datetime!(2026-12-04 00:00 UTC) + time::Duration::hours(h.into()));
        let old_partial = format!(".{}.partial-1-0", at(9));
        let fresh_partial = format!(".{}.partial-2-0", at(10));
        for name in [at(1), at(3), at(2), "by-hand.db".into(), old_partial.clone(), fresh_partial.clone()] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let day_ago = std::time::SystemTime::now() - STALE_PARTIAL - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(&old_partial))
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
        let mut deleted: Vec<String> =
            prune(dir.path(), 2).unwrap().iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        deleted.sort();
        assert_eq!(deleted, vec![old_partial, at(1)]);
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, vec![fresh_partial, "by-hand.db".to_owned(), at(2), at(3)]);
    }

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

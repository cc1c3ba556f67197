//! Restoring a backup into a data directory (no server may run there).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use time::OffsetDateTime;

use super::schedule::stamp;
use super::{BackupError, BackupInfo, Partial, RestoreInfo, check_copy, sync_dir, sync_file, with_suffix};
use crate::config::DATABASE_FILE;
use crate::db::{self, DbError};

/// Replaces the database in `data_dir` with the backup `from`. Refused while
/// a server runs there. The replaced database is kept next to it as
/// `rapport-server.db.before-restore-<time>`.
pub fn restore(from: &Path, data_dir: &Path) -> Result<RestoreInfo, BackupError> {
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from.to_path_buf()));
    }
    let database = data_dir.join(DATABASE_FILE);
    let info = swap_in(from, data_dir, &database)?;
    // Devices that saw the log past this backup must re-send what it lacks.
    db::start_new_epoch(&database).map_err(BackupError::NewEpoch)?;
    Ok(info)
}

/// Checks the backup and puts it in place of the database, under the data lock.
fn swap_in(from: &Path, data_dir: &Path, database: &Path) -> Result<RestoreInfo, BackupError> {
    let database = database.to_path_buf();
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
    let aside = with_suffix(database, &format!(".before-restore-{}", stamp(OffsetDateTime::now_utc())));
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

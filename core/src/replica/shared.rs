//! One replica file, several handles: `rapport watch` syncing while other
//! commands (or the app) read and edit the same file (ADR 0021).
//!
//! * SQLite in WAL mode without its exclusive locking mode: readers never
//!   wait, writers take turns (`BEGIN IMMEDIATE`, waiting up to [`BUSY_WAIT`]).
//! * A handle caches what it read (loaded documents, the settings, the
//!   principal, its actor id). Every write begins with [`catch_up`]: holding
//!   the write lock, it asks SQLite whether another connection committed
//!   since this handle last looked (`PRAGMA data_version`) and, if so, drops
//!   the loaded documents and reads the rest again. An edit is therefore
//!   always made on the document as the file holds it, and two handles
//!   writing under the same actor id can never make two different changes
//!   with the same sequence number.
//! * Reads of a loaded document ask the same question first ([`Seen::look`]).
//! * A shared OS lock on `<replica>.lock` is held by every open handle;
//!   encrypting or erasing the file takes it exclusively
//!   ([`Error::ReplicaLocked`] while another handle is open), and a handle
//!   cannot open while that runs ([`Error::ReplicaRewriting`]).

use std::cell::Cell;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use automerge::ActorId;
use rusqlite::{Connection, ErrorCode, OptionalExtension};

use super::loaded::Loaded;
use crate::doc::Author;
use crate::error::{Error, Result};
use crate::rules::Principal;
use crate::settings::Settings;

/// How long a write waits for another handle's write to finish.
pub const BUSY_WAIT: Duration = Duration::from_secs(30);

/// How long erasing waits for the other handles to close the replica.
pub const ERASE_WAIT: Duration = Duration::from_secs(10);

/// What one handle last saw of the file.
#[derive(Debug)]
pub(super) struct Seen {
    /// `PRAGMA data_version` when this handle last looked.
    version: Cell<i64>,
    /// A read saw another connection's commit and dropped the loaded
    /// documents; the next write must still read the rest again.
    stale: Cell<bool>,
}

impl Seen {
    pub(super) fn new(conn: &Connection) -> Result<Seen> {
        Ok(Seen { version: Cell::new(data_version(conn)?), stale: Cell::new(false) })
    }

    /// Before a read of loaded documents: drops them when another connection
    /// committed since this handle last looked.
    pub(super) fn look(&self, conn: &Connection, loaded: &Mutex<Loaded>) -> Result<()> {
        let now = data_version(conn)?;
        if now != self.version.get() {
            self.version.set(now);
            self.stale.set(true);
            super::loaded(loaded).clear();
        }
        Ok(())
    }
}

/// What a handle holds in memory besides its loaded documents.
pub(super) struct Cached<'a> {
    pub(super) author: &'a mut Author,
    pub(super) settings: &'a mut Settings,
    pub(super) principal: &'a mut Option<Principal>,
}

/// Inside a write transaction (the write lock held): when another connection
/// committed since this handle last looked, drops its loaded documents and
/// reads its actor id, settings and principal again from the file.
pub(super) fn catch_up(conn: &Connection, seen: &Seen, loaded: &Mutex<Loaded>, cached: Cached<'_>) -> Result<()> {
    seen.look(conn, loaded)?;
    if !seen.stale.get() {
        return Ok(());
    }
    let actor: Option<Vec<u8>> =
        conn.query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| r.get(0)).optional()?;
    if let Some(actor) = actor {
        cached.author.actor = ActorId::from(actor);
    }
    *cached.settings = super::load_settings(conn)?.read();
    *cached.principal = super::refused::read_principal(conn)?;
    seen.stale.set(false);
    Ok(())
}

/// Begins a write transaction (`BEGIN IMMEDIATE`): [`Error::ReplicaBusy`]
/// when another handle kept writing for [`BUSY_WAIT`].
pub(super) fn begin<'c>(conn: &'c Connection, path: &Path) -> Result<rusqlite::Transaction<'c>> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate).map_err(|e| busy(e, path))
}

/// A busy database, after the wait, as [`Error::ReplicaBusy`].
pub(super) fn busy(e: rusqlite::Error, path: &Path) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::ReplicaBusy { path: path.to_path_buf(), waited_secs: BUSY_WAIT.as_secs() }
        }
        _ => Error::Storage(e),
    }
}

fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// The OS lock on `<replica>.lock`: shared by every open handle, exclusive
/// while the file is encrypted or erased. Released when dropped.
#[derive(Debug)]
pub(super) struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// The shared lock every open handle holds: [`Error::ReplicaRewriting`]
    /// while another process encrypts or erases the replica.
    pub(super) fn shared(replica: &Path) -> Result<FileLock> {
        let lock = FileLock::file(replica)?;
        match lock.file.try_lock_shared() {
            Ok(()) => Ok(lock),
            Err(TryLockError::WouldBlock) => Err(Error::ReplicaRewriting(replica.to_path_buf())),
            Err(TryLockError::Error(source)) => Err(Error::Io { path: lock.path, source }),
        }
    }

    /// The lock alone, for encrypting the replica (no handle may be open):
    /// [`Error::ReplicaLocked`] at once if one is.
    pub(super) fn exclusive(replica: &Path) -> Result<FileLock> {
        let lock = FileLock::file(replica)?;
        match lock.file.try_lock() {
            Ok(()) => Ok(lock),
            Err(TryLockError::WouldBlock) => Err(Error::ReplicaLocked(replica.to_path_buf())),
            Err(TryLockError::Error(source)) => Err(Error::Io { path: lock.path, source }),
        }
    }

    /// Turns this handle's shared lock into the lock alone, waiting up to
    /// `wait` for the other handles to close: [`Error::ReplicaLocked`] if
    /// they do not (this handle keeps its shared lock).
    pub(super) fn upgrade(&self, replica: &Path, wait: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            match self.file.try_lock() {
                Ok(()) => return Ok(()),
                Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(failed) => {
                    // Converting a lock may drop it first (flock(2)): take the shared one back.
                    self.file.lock_shared().map_err(|source| Error::Io { path: self.path.clone(), source })?;
                    return Err(match failed {
                        TryLockError::WouldBlock => Error::ReplicaLocked(replica.to_path_buf()),
                        TryLockError::Error(source) => Error::Io { path: self.path.clone(), source },
                    });
                }
            }
        }
    }

    /// The lock file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn file(replica: &Path) -> Result<FileLock> {
        if let Some(dir) = replica.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: replica.to_path_buf(), source })?;
        }
        let mut name = replica.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Io { path: path.clone(), source })?;
        Ok(FileLock { file, path })
    }
}

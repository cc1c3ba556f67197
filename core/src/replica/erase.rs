//! Erasing the replica from the device: what a device revoked as lost does
//! when the server tells it to (remote wipe, issue 13). Before the files go,
//! the work the server never received is counted, so that it is reported as
//! lost instead of silently dropped.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::params;

use super::sync::decode_heads;
use super::{Replica, loaded};
use crate::error::{Error, Result};

/// Work on this device that the server has not received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsynced {
    /// Documents with changes the server has not acknowledged (refused ones included).
    pub documents: usize,
    /// Those changes, plus the edits set aside after a refusal (ADR 0010).
    pub changes: usize,
}

impl Replica {
    /// Counts the work the server has not received: unacknowledged changes
    /// (refused documents included) and refused edits set aside.
    pub fn unsynced_work(&self) -> Result<Unsynced> {
        let dirty: Vec<(String, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT doc_id, synced_heads FROM doc_sync WHERE local_version > acked_version")?
            .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut unsynced = Unsynced { documents: dirty.len(), changes: self.refused_edits()?.len() };
        for (doc, synced) in dirty {
            let synced = decode_heads(&synced);
            unsynced.changes += self.with_any(&doc, |am| am.get_changes(&synced).len())?;
        }
        Ok(unsynced)
    }

    /// Erases this replica: closes it, overwrites the database file and its
    /// write-ahead log and shared-memory files with zeros, syncs and deletes
    /// them. Returns the work the server had not received, which is gone.
    ///
    /// Overwriting makes the customer data unreadable to anyone who gets the
    /// file system later; flash storage may still keep old blocks, which only
    /// encryption at rest covers.
    pub fn erase(mut self) -> Result<Unsynced> {
        self.erase_in_place()
    }

    /// [`Replica::erase`] for a replica the caller cannot give up (it is
    /// shared, e.g. behind the bindings' mutex): the files are erased and the
    /// documents kept in memory dropped; the replica is left empty and
    /// unusable (every later call fails with a storage error). Drop it.
    ///
    /// Erasing needs the file alone: it waits up to [`super::ERASE_WAIT`] for
    /// other handles (other programs on this device) to close it, and fails
    /// with [`Error::ReplicaLocked`], erasing nothing, if they do not.
    pub fn erase_in_place(&mut self) -> Result<Unsynced> {
        self.lock.upgrade(&self.path, super::ERASE_WAIT)?;
        let unsynced = self.unsynced_work()?;
        loaded(&self.loaded).clear();
        self.principal = None;
        // Closing folds the write-ahead log into the file and releases the lock.
        let closed = std::mem::replace(&mut self.conn, rusqlite::Connection::open_in_memory()?);
        closed.close().map_err(|(_, e)| Error::Storage(e))?;
        for file in replica_files(&self.path) {
            shred(&file)?;
        }
        // Empty (it holds no data); removed last, while still held.
        shred(self.lock.path())?;
        Ok(unsynced)
    }
}

/// The database file and the files SQLite keeps beside it.
fn replica_files(path: &Path) -> [PathBuf; 4] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [with("-wal"), with("-shm"), with("-journal"), path.to_path_buf()]
}

/// Overwrites `file` with zeros, syncs it and deletes it; a missing file is done.
fn shred(file: &Path) -> Result<()> {
    let failed = |source| Error::Erase { path: file.to_path_buf(), source };
    let mut f = match std::fs::OpenOptions::new().write(true).open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(failed(e)),
    };
    let len = f.metadata().map_err(failed)?.len();
    let zeros = vec![0u8; 64 << 10];
    f.seek(SeekFrom::Start(0)).map_err(failed)?;
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n]).map_err(failed)?;
        left -= n as u64;
    }
    f.sync_all().map_err(failed)?;
    drop(f);
    std::fs::remove_file(file).map_err(failed)
}

//! A full disk: recognising it in SQLite's errors and measuring free space.

use std::path::Path;

use rusqlite::ErrorCode;

/// Below this many free bytes, an I/O error of a write is taken for a full disk
/// (SQLite reports some `ENOSPC` failures as `SQLITE_IOERR`, not `SQLITE_FULL`).
const NEARLY_FULL_BYTES: u64 = 64 << 10;

/// Whether SQLite said the disk is full (`SQLITE_FULL`).
pub fn is_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::DiskFull)
}

/// Whether `e` means the disk holding `dir` is full: `SQLITE_FULL`, or an I/O
/// error while next to nothing is free there.
pub fn is_full_at(e: &rusqlite::Error, dir: &Path) -> bool {
    is_full(e)
        || (e.sqlite_error_code() == Some(ErrorCode::SystemIoFailure)
            && available(dir).is_some_and(|free| free < NEARLY_FULL_BYTES))
}

/// Bytes an unprivileged process may still write on the filesystem holding
/// `dir` (`statvfs`), or `None` if that cannot be asked.
pub fn available(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn free_space_of_an_existing_directory_is_known() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available(dir.path()).is_some());
        assert!(available(&dir.path().join("missing")).is_none());
    }
}

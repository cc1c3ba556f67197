//! The log conformance suite (`rapport_core::sync::conformance`) against the
//! server's SQLite backend, on a real database file per test.

use rapport_core::sync::conformance::LogBackend;
use rapport_server::db::{LogFile, LogTransaction};
use tempfile::TempDir;

/// A fresh database file in its own directory.
struct SqliteLog {
    log: LogFile,
    _dir: TempDir,
}

impl SqliteLog {
    fn new() -> SqliteLog {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = LogFile::open(&dir.path().join("rapport.db")).expect("a fresh server database opens");
        SqliteLog { log, _dir: dir }
    }
}

impl LogBackend for SqliteLog {
    type Store<'a> = LogTransaction<'a>;

    fn transaction<R>(&mut self, work: impl FnOnce(&mut LogTransaction<'_>) -> R) -> R {
        let mut tx = self.log.transaction().expect("a transaction begins");
        let out = work(&mut tx);
        tx.commit().expect("the transaction commits");
        out
    }
}

rapport_core::log_conformance_tests!(SqliteLog::new());

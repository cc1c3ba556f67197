//! The directory conformance suite (`rapport_server_store::conformance`)
//! against the server's SQLite backend, on a real database file per test.

use rapport_server::db::{DataLock, SqliteDirectory, open_for_management};
use rapport_server_store::conformance::DirectoryBackend;
use rusqlite::Connection;
use tempfile::TempDir;

/// A fresh database file (every migration applied) in its own directory.
struct SqliteBackend {
    conn: Connection,
    _lock: DataLock,
    _dir: TempDir,
}

impl SqliteBackend {
    fn new() -> SqliteBackend {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (conn, lock) = open_for_management(&dir.path().join("rapport.db")).expect("a fresh server database opens");
        SqliteBackend { conn, _lock: lock, _dir: dir }
    }
}

impl DirectoryBackend for SqliteBackend {
    type Store<'a> = SqliteDirectory<'a>;

    fn store(&mut self) -> SqliteDirectory<'_> {
        SqliteDirectory::new(&self.conn)
    }
}

rapport_server_store::directory_conformance_tests!(SqliteBackend::new());

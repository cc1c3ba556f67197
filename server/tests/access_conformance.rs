//! The access conformance suite (`rapport_server_store::access_conformance`)
//! against the server's SQLite backend, on a real database file per test,
//! through the database thread's own handling of a request (`LogFile::sync`).

use rapport_core::sync::{SyncRequest, SyncResponse};
use rapport_server::db::{LogFile, SqliteDirectory};
use rapport_server_store::Principal;
use rapport_server_store::access_conformance::AccessBackend;
use tempfile::TempDir;

struct SqliteBackend {
    log: LogFile,
    _dir: TempDir,
}

impl SqliteBackend {
    fn new() -> SqliteBackend {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = LogFile::open(&dir.path().join("rapport.db")).expect("a fresh server database opens");
        SqliteBackend { log, _dir: dir }
    }
}

impl AccessBackend for SqliteBackend {
    type Directory<'a> = SqliteDirectory<'a>;

    fn directory(&self) -> SqliteDirectory<'_> {
        self.log.directory()
    }

    fn sync(
        &mut self,
        principal: &Principal,
        request: &SyncRequest,
        max_doc_bytes: u64,
    ) -> Result<SyncResponse, String> {
        self.log.sync(principal, request, max_doc_bytes).map_err(|e| e.to_string())
    }
}

rapport_server_store::access_conformance_tests!(SqliteBackend::new());

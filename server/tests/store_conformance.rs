//! The audit, access and reporting-rows conformance suites
//! (`rapport_server_store`'s `audit_conformance`, `access_conformance` and
//! `report_conformance`) against the server's
//! SQLite backend, on a real database file per test: changes logged
//! through the file's change log, sync requests handled as the database
//! thread handles them (`LogFile::sync`).

mod common;

use automerge::{AutoCommit, Change};
use rapport_core::sync::{ServerStore, SyncRequest, SyncResponse};
use rapport_server::db::{LogFile, SqliteAudit, SqliteDirectory};
use rapport_server_store::access_conformance::AccessBackend;
use rapport_server_store::audit_conformance::AuditBackend;
use rapport_server_store::report_conformance::ReportBackend;
use rapport_server_store::report_rows::Cell;
use rapport_server_store::{Author, Principal};
use tempfile::TempDir;

/// A fresh database file (every migration applied) in its own directory.
struct SqliteBackend {
    log: LogFile,
    dir: TempDir,
}

impl SqliteBackend {
    fn new() -> SqliteBackend {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = LogFile::open(&dir.path().join("rapport.db")).expect("a fresh server database opens");
        SqliteBackend { log, dir }
    }
}

impl AuditBackend for SqliteBackend {
    type Directory<'a> = SqliteDirectory<'a>;
    type Audit<'a> = SqliteAudit<'a>;

    fn directory(&self) -> SqliteDirectory<'_> {
        self.log.directory()
    }

    fn audit(&self) -> SqliteAudit<'_> {
        self.log.audit()
    }

    fn append(
        &mut self,
        author: Option<Author>,
        doc: &str,
        changes: &[Change],
        updated: &AutoCommit,
        commit: bool,
    ) -> u64 {
        let mut tx = self.log.transaction_by(author).expect("a transaction begins");
        tx.append(doc, changes, updated.clone()).expect("the changes are appended");
        if commit {
            tx.commit().expect("the transaction commits");
        } else {
            drop(tx);
        }
        self.log.transaction().and_then(|mut tx| tx.head()).expect("the head is read")
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

impl ReportBackend for SqliteBackend {
    /// Read on a connection of its own, once the deferred reporting rows are written.
    fn cells(&mut self, sql: &str) -> Vec<Vec<Cell>> {
        self.log.refresh_reports().expect("the reporting rows are brought up to date");
        common::sqlite_cells(&self.dir.path().join("rapport.db"), sql)
    }
}

mod audit {
    rapport_server_store::audit_conformance_tests!(super::SqliteBackend::new());
}

mod access {
    rapport_server_store::access_conformance_tests!(super::SqliteBackend::new());
}

mod reports {
    rapport_server_store::report_conformance_tests!(super::SqliteBackend::new());
}

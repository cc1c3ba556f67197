//! The audit, access and reporting-rows conformance suites
//! (`rapport_server_store`'s `audit_conformance`, `access_conformance` and
//! `report_conformance`) against PostgreSQL: a
//! fresh database per test (a throwaway cluster, or one in the cluster of
//! `RAPPORT_TEST_PG_URL`), sync requests handled by `PgLog::sync_request`.
//! Without PostgreSQL these tests fail.

use automerge::{AutoCommit, Change};
use rapport_core::sync::{ServerStore, SyncRequest, SyncResponse};
use rapport_server_store::access_conformance::AccessBackend;
use rapport_server_store::audit_conformance::AuditBackend;
use rapport_server_store::report_conformance::ReportBackend;
use rapport_server_store::report_rows::Cell;
use rapport_server_store::{Author, Principal};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgAudit, PgDirectory, PgLog, PgOptions};

struct PostgresBackend {
    log: PgLog,
    db: TestDatabase,
}

impl PostgresBackend {
    fn new() -> PostgresBackend {
        let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
        let log = PgLog::connect(db.url(), PgOptions::default()).expect("the database connects and migrates");
        PostgresBackend { log, db }
    }
}

impl AuditBackend for PostgresBackend {
    type Directory<'a> = PgDirectory;
    type Audit<'a> = PgAudit;

    fn directory(&self) -> PgDirectory {
        self.log.directory()
    }

    fn audit(&self) -> PgAudit {
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
        let mut tx = self.log.begin().expect("a transaction begins");
        tx.set_author(author);
        tx.append(doc, changes, updated.clone()).expect("the changes are appended");
        if commit {
            tx.commit().expect("the transaction commits");
        } else {
            drop(tx);
        }
        let mut tx = self.log.begin().expect("a transaction begins");
        let head = tx.head().expect("the head is read");
        tx.commit().expect("a read-only transaction commits");
        head
    }
}

impl AccessBackend for PostgresBackend {
    type Directory<'a> = PgDirectory;

    fn directory(&self) -> PgDirectory {
        self.log.directory()
    }

    fn sync(
        &mut self,
        principal: &Principal,
        request: &SyncRequest,
        max_doc_bytes: u64,
    ) -> Result<SyncResponse, String> {
        self.log
            .sync_request(principal, request, max_doc_bytes)
            .map(|(response, _)| response)
            .map_err(|e| e.to_string())
    }
}

impl ReportBackend for PostgresBackend {
    fn cells(&mut self, sql: &str) -> Vec<Vec<Cell>> {
        self.db.query_cells(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

mod audit {
    rapport_server_store::audit_conformance_tests!(super::PostgresBackend::new());
}

mod access {
    rapport_server_store::access_conformance_tests!(super::PostgresBackend::new());
}

mod reports {
    rapport_server_store::report_conformance_tests!(super::PostgresBackend::new());
}

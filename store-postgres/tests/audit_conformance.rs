//! The audit conformance suite (`rapport_server_store::audit_conformance`)
//! against PostgreSQL: a fresh database per test (a throwaway cluster, or
//! one in the cluster of `RAPPORT_TEST_PG_URL`). Without PostgreSQL these
//! tests fail.

use automerge::{AutoCommit, Change};
use rapport_core::sync::ServerStore;
use rapport_server_store::Author;
use rapport_server_store::audit_conformance::AuditBackend;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgAudit, PgDirectory, PgLog, PgOptions};

struct PostgresAudit {
    log: PgLog,
    _db: TestDatabase,
}

impl PostgresAudit {
    fn new() -> PostgresAudit {
        let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
        let log = PgLog::connect(db.url(), PgOptions::default()).expect("the database connects and migrates");
        PostgresAudit { log, _db: db }
    }
}

impl AuditBackend for PostgresAudit {
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

rapport_server_store::audit_conformance_tests!(PostgresAudit::new());

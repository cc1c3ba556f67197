//! The access conformance suite (`rapport_server_store::access_conformance`)
//! against PostgreSQL, through `PgLog::sync_request`: a fresh database per
//! test. Without PostgreSQL these tests fail.

use rapport_core::sync::{SyncRequest, SyncResponse};
use rapport_server_store::Principal;
use rapport_server_store::access_conformance::AccessBackend;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgDirectory, PgLog, PgOptions};

struct PostgresBackend {
    log: PgLog,
    _db: TestDatabase,
}

impl PostgresBackend {
    fn new() -> PostgresBackend {
        let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
        let log = PgLog::connect(db.url(), PgOptions::default()).expect("the database connects and migrates");
        PostgresBackend { log, _db: db }
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

rapport_server_store::access_conformance_tests!(PostgresBackend::new());

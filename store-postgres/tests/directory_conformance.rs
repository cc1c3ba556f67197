//! The directory conformance suite (`rapport_server_store::conformance`)
//! against PostgreSQL: a fresh database per test (a throwaway cluster, or
//! one in the cluster of `RAPPORT_TEST_PG_URL`). Without PostgreSQL these
//! tests fail.

use rapport_server_store::conformance::DirectoryBackend;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgDirectory, PgLog, PgOptions};

struct PostgresDirectory {
    log: PgLog,
    _db: TestDatabase,
}

impl PostgresDirectory {
    fn new() -> PostgresDirectory {
        let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
        let log = PgLog::connect(db.url(), PgOptions::default()).expect("the database connects and migrates");
        PostgresDirectory { log, _db: db }
    }
}

impl DirectoryBackend for PostgresDirectory {
    type Store<'a> = PgDirectory;

    fn store(&mut self) -> PgDirectory {
        self.log.directory()
    }
}

rapport_server_store::directory_conformance_tests!(PostgresDirectory::new());

//! The log conformance suite (`rapport_core::sync::conformance`) against
//! PostgreSQL: a fresh database per test (a throwaway cluster, or one in the
//! cluster of `RAPPORT_TEST_PG_URL`). Without PostgreSQL these tests fail.

use rapport_core::sync::conformance::LogBackend;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgLog, PgOptions, PgTransaction};

struct PostgresLog {
    log: PgLog,
    _db: TestDatabase,
}

impl PostgresLog {
    fn new() -> PostgresLog {
        let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
        let log = PgLog::connect(db.url(), PgOptions::default()).expect("the log connects and migrates");
        PostgresLog { log, _db: db }
    }
}

impl LogBackend for PostgresLog {
    type Store<'a> = PgTransaction;

    fn transaction<R>(&mut self, work: impl FnOnce(&mut PgTransaction) -> R) -> R {
        let mut tx = self.log.begin().expect("a transaction begins");
        let out = work(&mut tx);
        tx.commit().expect("the transaction commits");
        out
    }
}

rapport_core::log_conformance_tests!(PostgresLog::new());

//! What the PostgreSQL log answers when things go wrong: typed errors, and
//! nothing stored. Without PostgreSQL these tests fail.

use std::net::TcpListener;

use rapport_core::sync::ServerStore;
use rapport_core::sync::conformance::edits;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgError, PgLog, PgOptions, schema_version};

fn database() -> TestDatabase {
    TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"))
}

fn options() -> PgOptions {
    PgOptions { max_connections: 1, io_threads: 1, ..PgOptions::default() }
}

#[test]
fn a_malformed_connection_string_is_refused() {
    let err = PgLog::connect("postgres://rapport@127.0.0.1:notaport/db", options()).expect_err("refused");
    assert!(matches!(err, PgError::BadUrl(_)), "got {err:?}");
    assert!(!err.is_retryable());
}

#[test]
fn an_unreachable_database_is_a_retryable_connect_error() {
    // A port nothing listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let err = PgLog::connect(&format!("postgres://rapport@127.0.0.1:{port}/postgres"), options()).expect_err("refused");
    assert!(matches!(err, PgError::Connect(_)), "got {err:?}");
    assert!(err.is_retryable());
}

/// A database a newer server migrated past a breaking migration is refused,
/// naming what to do (ADR 0037).
#[test]
fn a_database_from_a_newer_server_is_refused() {
    let db = database();
    drop(PgLog::connect(db.url(), options()).expect("a fresh database migrates"));
    let newer = schema_version() as i64 + 1;
    db.execute(&format!("UPDATE rapport_schema SET version = {newer}, required = {newer}"))
        .expect("the statement runs");
    let err = PgLog::connect(db.url(), options()).expect_err("a newer schema is refused");
    assert!(
        matches!(err, PgError::TooNew { found, required, supported }
            if found == newer && required == newer && supported == schema_version() as i64),
        "got {err:?}"
    );
    assert!(err.to_string().ends_with("upgrade the server"), "{err}");
}

/// During a rolling upgrade a newer server applies additive migrations this
/// one does not know: it still serves the database, and leaves the schema
/// as the newer server left it (ADR 0037).
#[test]
fn a_database_with_newer_additive_migrations_is_served() {
    let db = database();
    drop(PgLog::connect(db.url(), options()).expect("a fresh database migrates"));
    let ours = schema_version() as i64;
    let required = db.query_i64("SELECT required FROM rapport_schema").expect("reads");
    assert_eq!(required, 8, "migrations 1-8 are breaking, 9 (nodes) is additive");
    let newer = ours + 2;
    db.execute(&format!("UPDATE rapport_schema SET version = {newer}")).expect("the statement runs");
    let log = PgLog::connect(db.url(), options()).expect("additive migrations newer than this server are served");
    let (doc, changes) = edits(None, 1, 2);
    let mut tx = log.begin().expect("a transaction begins");
    tx.append("a", &changes, doc).expect("appended");
    tx.commit().expect("committed");
    assert_eq!(
        db.query_i64("SELECT version FROM rapport_schema").expect("reads"),
        newer,
        "the schema is left as it was"
    );
    assert_eq!(db.query_i64("SELECT required FROM rapport_schema").expect("reads"), required);
}

/// A transaction dropped without COMMIT stores nothing, and its connection
/// serves the next transaction (the pool has only one).
#[test]
fn a_dropped_transaction_stores_nothing() {
    let db = database();
    let log = PgLog::connect(db.url(), options()).expect("the log connects");
    let (doc, changes) = edits(None, 1, 3);
    let mut tx = log.begin().expect("a transaction begins");
    tx.append("a", &changes, doc.clone()).expect("appended");
    assert_eq!(tx.head().expect("the head reads"), 3);
    drop(tx);
    let mut tx = log.begin().expect("the only connection is free again");
    assert_eq!(tx.head().expect("the head reads"), 0, "nothing of the dropped transaction was stored");
    assert!(tx.load("a").expect("a load runs").is_none());
    tx.append("a", &changes, doc).expect("appended");
    tx.commit().expect("committed");
    let mut tx = log.begin().expect("a transaction begins");
    assert_eq!(tx.head().expect("the head reads"), 3);
}

/// When every connection stays busy past `pool_wait`, `begin` fails with a
/// retryable error instead of waiting forever.
#[test]
fn a_busy_pool_is_a_retryable_error_after_the_wait() {
    let db = database();
    let wait = std::time::Duration::from_millis(200);
    let log = PgLog::connect(db.url(), PgOptions { pool_wait: wait, ..options() }).expect("the log connects");
    let busy = log.begin().expect("the only connection");
    let started = std::time::Instant::now();
    let err = log.begin().expect_err("no connection is free");
    assert!(matches!(err, PgError::Connect(_)), "got {err:?}");
    assert!(err.is_retryable());
    assert!(started.elapsed() >= wait);
    busy.commit().expect("the busy transaction commits");
    log.begin().expect("the connection is free again").commit().expect("committed");
}

/// After a statement failed, COMMIT is refused (PostgreSQL would answer it
/// with a silent ROLLBACK): nothing may be acknowledged, nothing is stored.
/// Rolled back to a savepoint, the failure is undone and the rest commits.
#[test]
fn a_failed_statement_makes_the_commit_fail() {
    let db = database();
    let log = PgLog::connect(db.url(), options()).expect("the log connects");
    let (doc, changes) = edits(None, 1, 1);
    let (other, more) = edits(None, 2, 1);
    let mut tx = log.begin().expect("a transaction begins");
    tx.append("a", &changes, doc.clone()).expect("appended");
    // PostgreSQL's text cannot hold a NUL character: the statement fails.
    let err = tx.append("bad\0id", &more, other.clone()).expect_err("refused");
    assert!(matches!(err, PgError::Database(_)), "got {err:?}");
    let err = tx.commit().expect_err("a failed transaction does not commit");
    assert!(matches!(err, PgError::Aborted), "got {err:?}");
    let mut tx = log.begin().expect("a transaction begins");
    assert_eq!(tx.head().expect("the head reads"), 0, "nothing was stored");

    tx.append("a", &changes, doc).expect("appended");
    tx.savepoint().expect("a savepoint");
    tx.append("bad\0id", &more, other).expect_err("refused");
    tx.rollback_to_savepoint().expect("rolled back");
    tx.commit().expect("the rest commits");
    let mut tx = log.begin().expect("a transaction begins");
    assert_eq!(tx.head().expect("the head reads"), 1);
}

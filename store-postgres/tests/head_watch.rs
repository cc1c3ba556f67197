//! [`PgLog::watch_head`]: a change committed on one node reaches another
//! node's watcher through LISTEN/NOTIFY, and a watcher that lost its
//! connection reconnects and reads what it missed. Without PostgreSQL these
//! tests fail.

use std::time::Duration;

use rapport_core::sync::ServerStore;
use rapport_core::sync::conformance::edits;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{HeadWatch, PgLog, PgOptions, WATCH_APPLICATION};

/// Long enough for any loaded machine; a missed notification fails the
/// test only because polling is an hour away.
const PATIENCE: Duration = Duration::from_secs(30);
const NO_POLLING: Duration = Duration::from_secs(3600);

/// Two nodes on a fresh database, node B's watcher connected (with
/// polling an hour away, so only notifications and re-reads deliver).
fn two_nodes() -> (TestDatabase, PgLog, PgLog, HeadWatch) {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let connect = || PgLog::connect(db.url(), PgOptions::default()).expect("the log connects");
    let (a, b) = (connect(), connect());
    let watch = b.watch_head(NO_POLLING);
    assert!(watch.wait_connects(0, PATIENCE), "the watcher connects");
    (db, a, b, watch)
}

/// Terminates the watcher's connection from outside; returns how many were.
fn kill_watcher(db: &TestDatabase) -> i64 {
    db.query_i64(&format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{WATCH_APPLICATION}'"
    ))
    .expect("the watcher's backend is looked up")
}

/// Logs one more change to `doc` through `log`; returns the new head.
fn append(log: &PgLog, doc: &str) -> u64 {
    let mut tx = log.begin().expect("a transaction");
    let existing = tx.load(doc).expect("loads");
    let (updated, changes) = edits(existing.as_ref(), 1, 1);
    tx.append(doc, &changes, updated).expect("appends");
    let head = tx.head().expect("the head reads");
    tx.commit().expect("commits");
    head
}

/// A watcher on node B sees heads committed on node A by notification
/// (polling is an hour away), and a rolled-back append notifies nothing.
#[test]
fn a_change_committed_on_one_node_reaches_another_nodes_watcher() {
    let (_db, a, _b, watch) = two_nodes();
    let first = append(&a, "doc");
    assert_eq!(watch.wait_for(first, PATIENCE), Some(first), "the first head arrives");

    let mut abandoned = a.begin().expect("a transaction");
    let (updated, changes) = edits(None, 2, 1);
    abandoned.append("other", &changes, updated).expect("appends");
    drop(abandoned);
    let second = append(&a, "doc");
    assert_eq!(second, first + 1, "the rolled-back append took no position");
    assert_eq!(watch.wait_for(second, PATIENCE), Some(second), "a later commit arrives by notification");
    assert_eq!(watch.head(), second);
    let mut receiver = watch.receiver();
    assert_eq!(*receiver.borrow_and_update(), second, "async code reads the same head");
}

/// Notifications are lost while the watcher's connection is down: after
/// reconnecting it LISTENs again and reads the head, so a commit made
/// meanwhile still arrives (polling is an hour away).
#[test]
fn a_watcher_that_lost_its_connection_reads_what_it_missed() {
    let (db, a, _b, watch) = two_nodes();
    let first = append(&a, "doc");
    assert_eq!(watch.wait_for(first, PATIENCE), Some(first));

    let killed = kill_watcher(&db);
    assert_eq!(killed, 1, "the watcher's connection is terminated");
    let missed = append(&a, "doc");
    assert!(watch.wait_connects(1, PATIENCE), "the watcher reconnects on its own");
    assert_eq!(watch.wait_for(missed, PATIENCE), Some(missed), "the commit made while it was down arrives");
    let after = append(&a, "doc");
    assert_eq!(watch.wait_for(after, PATIENCE), Some(after), "and notifications arrive again");
}

/// Taking rights away on node A (revoking a device, changing a role,
/// deleting a user) moves node B's directory generation by notification
/// (polling is an hour away), so B drops rules it cached; B reads the
/// device as revoked at once. A reconnect moves the generation too: a
/// notification may have been missed while the watcher was down.
#[test]
fn rights_taken_away_on_one_node_move_every_nodes_directory_generation() {
    use rapport_server_store::{DirectoryStore, UserChange};
    let (db, a, b, watch) = two_nodes();
    let none = UserChange { role: None, teams: None, territories: None };
    let olena = a.directory().add_user("Олена", "rep", &none, "телефон").expect("a user");
    let laptop = a.directory().add_device("Олена", "ноутбук").expect("a second device");
    assert!(b.directory().subject(olena.device_id).expect("reads").is_some());

    let generation = watch.directory_generation();
    a.directory().revoke_device(olena.device_id).expect("revokes");
    assert!(watch.wait_directory(generation, PATIENCE), "a revocation moves the generation");
    assert!(b.directory().subject(olena.device_id).expect("reads").is_none(), "node B refuses the device");

    let generation = watch.directory_generation();
    let promoted = UserChange { role: Some("manager".into()), teams: None, territories: None };
    a.directory().set_user("Олена", &promoted).expect("a new role");
    assert!(watch.wait_directory(generation, PATIENCE), "a changed role moves the generation");

    let generation = watch.directory_generation();
    a.directory().delete_user("Олена").expect("deletes");
    assert!(watch.wait_directory(generation, PATIENCE), "a deleted user moves the generation");
    assert!(b.directory().subject(laptop.device_id).expect("reads").is_none());

    let generation = watch.directory_generation();
    let killed = kill_watcher(&db);
    assert_eq!(killed, 1);
    assert!(watch.wait_directory(generation, PATIENCE), "a reconnect moves the generation");
}

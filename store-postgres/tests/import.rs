//! [`PgLog::import`]: a whole deployment loaded into an empty database, ids
//! and positions kept. Without PostgreSQL these tests fail.

use rapport_core::sync::ServerStore;
use rapport_server_store::{DirectoryStore, TokenHash, UserChange};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::import::{Table, Value};
use rapport_store_postgres::{PgError, PgLog, PgOptions};

fn connect() -> (TestDatabase, PgLog) {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let log = PgLog::connect(db.url(), PgOptions::default()).expect("the database connects and migrates");
    (db, log)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Users and a device at the ids they had; the identity columns go on after them.
fn people() -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    let users = vec![
        vec![Value::Integer(1), text("admin"), text("admin"), Value::Integer(1_000), Value::Null],
        vec![Value::Integer(7), text("Олена"), text("rep"), Value::Integer(2_000), Value::Null],
    ];
    let devices = vec![vec![
        Value::Integer(12),
        Value::Integer(7),
        text("телефон"),
        Value::Blob(TokenHash::of("olena-token").as_bytes().to_vec()),
        Value::Integer(2_000),
        Value::Null,
    ]];
    (users, devices)
}

/// Imported ids and the log's identity are kept, old tokens authenticate,
/// and new users and devices get ids after the imported ones.
#[test]
fn ids_and_the_log_identity_are_kept_and_new_ids_go_on_after_them() {
    let (_db, log) = connect();
    let mut import = log.import().expect("an empty database imports");
    import.log_state([7; 16], 1_700_000_000_000, 0, 5).expect("the log state is set");
    let (users, devices) = people();
    import.rows(Table::Users, users).expect("users");
    import.rows(Table::Devices, devices).expect("devices");
    import.commit().expect("the import commits");

    let mut tx = log.begin().expect("a transaction");
    let identity = tx.identity().expect("the identity reads");
    assert_eq!((identity.server, identity.epoch, tx.head().expect("head")), ([7; 16], 1_700_000_000_000, 0));
    tx.commit().expect("a read commits");

    let dir = log.directory();
    let olena = dir.authenticate(&TokenHash::of("olena-token")).expect("authenticates").expect("an imported token");
    assert_eq!((olena.user_id, olena.device_id, olena.user.as_str()), (7, 12, "Олена"));
    let none = UserChange { role: None, teams: None, territories: None };
    let added = dir.add_user("Борис", "office", &none, "desktop").expect("a new user after the import");
    let borys = dir.authenticate(&TokenHash::of(&added.token)).expect("authenticates").expect("a new token");
    assert_eq!((borys.user_id, borys.device_id), (8, 13), "identities continue after the imported ids");
    // The next position given out is after the imported last position.
    let (doc, changes) = rapport_core::sync::conformance::edits(None, 1, 1);
    let mut tx = log.begin().expect("a transaction");
    tx.append("doc", &changes, doc).expect("appends");
    assert_eq!(tx.head().expect("head"), 6);
    tx.commit().expect("commits");
}

/// A database holding anything is refused, and so is a second import.
#[test]
fn a_database_that_is_not_empty_is_refused() {
    let (_db, log) = connect();
    let import = log.import().expect("an empty database imports");
    import.commit().expect("an empty import commits");
    // Still empty: importing is allowed again.
    let mut import = log.import().expect("still empty");
    let (users, _) = people();
    import.rows(Table::Users, users).expect("users");
    import.commit().expect("commits");
    assert!(matches!(log.import(), Err(PgError::NotEmpty)), "a database with users is refused");
}

/// Tables come referenced first; a row of the wrong width or a value of
/// the wrong kind fails, and then nothing of the import is stored.
#[test]
fn a_failed_import_stores_nothing() {
    let (_db, log) = connect();
    let mut import = log.import().expect("an empty database imports");
    let (users, devices) = people();
    import.rows(Table::Teams, Vec::new()).expect("no teams");
    let late = import.rows(Table::Users, users);
    assert!(matches!(late, Err(PgError::Invalid { .. })), "users after teams are refused: {late:?}");
    let orphans = import.rows(Table::Devices, devices);
    assert!(orphans.is_err(), "devices of users not imported are refused");
    drop(import);

    let mut import = log.import().expect("still empty");
    import.rows(Table::Users, vec![vec![Value::Integer(1)]]).expect_err("a row of the wrong width is refused");
    let wrong = vec![vec![text("not an id"), text("x"), text("rep"), Value::Integer(1), Value::Null]];
    import.rows(Table::Users, wrong).expect_err("text for a bigint is refused");
    assert!(matches!(import.commit(), Err(PgError::Aborted)), "a failed import does not commit");
    assert_eq!(log.count_rows(Table::Users).expect("a count"), 0, "nothing was stored");
    log.import().expect("the database is still empty");
}

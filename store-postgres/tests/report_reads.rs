//! The reports' reads on PostgreSQL ([`PgLog::reader`], ADR 0035): text in
//! the reporting tables sorts byte by byte, as on SQLite and in the code
//! that merges a report's parts, even in a database whose own collation is
//! Ukrainian; and a reader answers as SQLite does (flags as 0 and 1, sums
//! of integers as integers). Without PostgreSQL these tests fail.

#![allow(clippy::unwrap_used)]

use rapport_server_store::report_rows::Cell;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgLog, PgOptions};
use serde_json::{Value, json};

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    match url.rfind('/') {
        Some(slash) if url.starts_with("postgres://") => format!("{}/{name}", &url[..slash]),
        _ => format!("{url} dbname={name}"),
    }
}

fn texts(rows: Vec<Vec<Value>>) -> Vec<String> {
    rows.into_iter().map(|r| r[0].as_str().expect("text").to_owned()).collect()
}

#[test]
fn report_text_sorts_byte_by_byte_in_a_ukrainian_database() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let name = format!("rapport_uk_{}", uuid::Uuid::new_v4().simple());
    db.execute(&format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' \
         LOCALE_PROVIDER icu ICU_LOCALE 'uk-UA'"
    ))
    .expect("a database with a Ukrainian ICU collation");
    let url = with_database(db.url(), &name);
    let log = PgLog::connect(&url, PgOptions::default()).expect("the log connects and migrates");

    let reader = log.reader().expect("a snapshot");
    // The database's own order: Cyrillic first, lower case before upper
    // case, whatever the bytes say.
    let own = reader.rows("SELECT x FROM (VALUES ('Бета'), ('альфа'), ('Zulu'), ('alpha')) v(x) ORDER BY x", vec![]);
    assert_eq!(texts(own.unwrap()), ["альфа", "Бета", "alpha", "Zulu"]);
    drop(reader);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        for (doc, account) in [("d1", "Бета"), ("d2", "альфа"), ("d3", "Zulu"), ("d4", "alpha")] {
            client
                .execute(
                    "INSERT INTO rpt_accounts (doc_id, name, hidden, tier, rung, phase, status, open_deals)
                     VALUES ($1, $2, $3, 'key', 'prospect', 'onboarding', 'active', 2)",
                    &[&doc, &account, &(doc == "d4")],
                )
                .await
                .unwrap();
        }
    });

    let reader = log.reader().expect("a snapshot");
    let sorted = reader.rows("SELECT name FROM rpt_accounts ORDER BY name", vec![]).unwrap();
    assert_eq!(texts(sorted), ["Zulu", "alpha", "Бета", "альфа"], "bytes, as SQLite sorts them");
    // Flags as 0 and 1, sums as integers, counts, parameters, NULL.
    let row = reader
        .rows(
            "SELECT hidden, (SELECT sum(open_deals) FROM rpt_accounts), (SELECT count(*) FROM rpt_accounts),
                    $1::text, NULL
             FROM rpt_accounts WHERE name = $2",
            vec![Cell::Text("Київ".into()), Cell::Text("alpha".into())],
        )
        .unwrap();
    assert_eq!(row, [vec![json!(1), json!(8), json!(4), json!("Київ"), Value::Null]]);
    drop(reader);
    drop(log);
    db.execute(&format!("DROP DATABASE {name} WITH (FORCE)")).expect("the database is dropped");
}

#[test]
fn a_reader_sees_one_state_and_writes_nothing() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let log = PgLog::connect(db.url(), PgOptions::default()).expect("the log connects");
    let reader = log.reader().expect("a snapshot");
    let count = |r: &rapport_store_postgres::PgReader| r.rows("SELECT count(*) FROM teams", vec![]).unwrap();
    assert_eq!(count(&reader), [vec![json!(0)]]);
    db.execute("INSERT INTO teams (name, created_at) VALUES ('north', 0)").unwrap();
    assert_eq!(count(&reader), [vec![json!(0)]], "the snapshot stays as it began");
    assert!(reader.rows("DELETE FROM teams", vec![]).is_err(), "a reader cannot write");
    drop(reader);
    let fresh = log.reader().expect("a snapshot");
    assert_eq!(count(&fresh), [vec![json!(1)]]);
}

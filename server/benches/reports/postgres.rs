//! The reports on PostgreSQL (issue 15, ADR 0035). The seeded reporting
//! rows are copied into a throwaway PostgreSQL database (`COPY`), with the
//! anchor's bare tables made there from them; then every report of the
//! target grid runs as a node serves it (`queries::run` in a read-only
//! snapshot, `PgReader`) against the same plain aggregates in the same
//! database, through the same snapshot.

use std::io::Cursor;
use std::time::Instant;

use futures_util::SinkExt;
use rapport_server::reports::queries;
use rapport_server_store::report_rows::NAMES;
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgLog, PgOptions};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use time::OffsetDateTime;

use super::{Anchor, Res, Shape, anchor, bare_tables_sql, measure};

/// The tables the reports read besides the fact tables
/// (`report_rows::NAMES`): the rollups and the late-edits index.
const OTHER_TABLES: [&str; 3] = ["rpt_activity", "rpt_stage_flow", "rpt_field_changes"];

/// The anchor's bare tables and their flag columns, kept as 0 and 1 as on
/// SQLite, so that the anchor's statements read the same on both.
const BARE_FLAGS: [(&str, &[&str]); 8] = [
    ("bare_accounts", &["hidden"]),
    ("bare_deals", &["hidden"]),
    ("bare_moves", &["hidden"]),
    ("bare_interactions", &["hidden"]),
    ("bare_contacts", &["hidden"]),
    ("bare_ladder", &["hidden", "up"]),
    ("bare_conflicts", &["hidden"]),
    ("bare_field_changes", &["hidden"]),
];

/// One value in `COPY`'s text format.
fn copy_text(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null | ValueRef::Blob(_) => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        ValueRef::Text(t) => {
            for &b in t {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
}

/// Copies SQLite table `table` into PostgreSQL's table of the same name
/// (the digest aside); returns its rows.
async fn copy(conn: &Connection, client: &tokio_postgres::Client, table: &str) -> Res<u64> {
    let columns: Vec<String> = conn
        .prepare(&format!("SELECT * FROM {table} LIMIT 0"))?
        .column_names()
        .filter(|c| *c != "digest")
        .map(|c| format!("\"{c}\""))
        .collect();
    let list = columns.join(", ");
    let sink = client.copy_in::<_, Cursor<Vec<u8>>>(&format!("COPY {table} ({list}) FROM STDIN")).await?;
    futures_util::pin_mut!(sink);
    let mut stmt = conn.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = stmt.query([])?;
    let mut chunk = Vec::with_capacity(1 << 20);
    while let Some(row) = rows.next()? {
        for i in 0..columns.len() {
            if i > 0 {
                chunk.push(b'\t');
            }
            copy_text(&mut chunk, row.get_ref(i)?);
        }
        chunk.push(b'\n');
        if chunk.len() >= 1 << 20 {
            sink.send(Cursor::new(std::mem::take(&mut chunk))).await?;
        }
    }
    if !chunk.is_empty() {
        sink.send(Cursor::new(chunk)).await?;
    }
    Ok(sink.finish().await?)
}

/// Copies the seeded rows into a new PostgreSQL database and times every
/// report of `grid` there against its anchor, printing the table
/// `docs/BENCHMARKS.md` quotes.
pub(crate) fn reports(
    conn: &Connection,
    runs: usize,
    grid: &[Shape],
    (now_t, now, today, today_ms): (OffsetDateTime, i64, &str, i64),
) -> Res<()> {
    let db = TestDatabase::create().map_err(|e| format!("no PostgreSQL for the benchmark: {e}"))?;
    let log = PgLog::connect(db.url(), PgOptions::default())?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let start = Instant::now();
    let copied = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let mut copied = 0;
        for table in NAMES.iter().chain(&OTHER_TABLES) {
            copied += copy(conn, &client, table).await?;
        }
        client.batch_execute(&bare_tables_sql(&|table| table.to_owned())).await?;
        for (table, flags) in BARE_FLAGS {
            for flag in flags {
                client
                    .batch_execute(&format!(
                        "ALTER TABLE {table} ALTER COLUMN {flag} TYPE bigint USING CASE WHEN {flag} THEN 1 ELSE 0 END"
                    ))
                    .await?;
            }
        }
        client.batch_execute("VACUUM ANALYZE").await?;
        Ok::<_, Box<dyn std::error::Error>>(copied)
    })?;
    println!();
    println!(
        "PostgreSQL: {copied} reporting rows copied, bare tables made and analysed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    println!();
    println!("| report (PostgreSQL) | filter | ours | anchor | ratio | rows ours / anchor | target met? |");
    println!("|---|---|---:|---:|---:|---:|---|");
    let reader = log.reader()?;
    let mut misses = 0;
    for report in queries::REPORTS {
        let anchor: Anchor = anchor(report, now, today, today_ms, None);
        for shape in grid {
            let (_, met) = measure(&reader, runs, (report, shape), now_t, None, &anchor)?;
            misses += usize::from(!met);
        }
    }
    println!();
    println!(
        "{misses} of {} measurements miss the target (≤ 2× anchor and < 100 ms)",
        queries::REPORTS.len() * grid.len()
    );
    Ok(())
}

//! Fleet benchmarks (issue 15): nodes serving from one PostgreSQL database,
//! each against an anchor run in the same process, reporting the ratio.
//! Results: docs/BENCHMARKS.md.
//!
//! `cargo bench -p rapport-e2e --bench fleet` (RAPPORT_BENCH_ACCOUNTS=N for
//! a smaller pull; default 10,000). The database is a throwaway cluster
//! (`fsync=off`, like every test cluster: commits are not flushed, for
//! ours and the anchor alike), or the cluster of `RAPPORT_TEST_PG_URL`.
//! The nodes run in this process, so on a small machine three nodes share
//! its cores with the clients and the database.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rapport_store_postgres::cluster::TestDatabase;

/// One INSERT and one COMMIT per change on one connection: what a change
/// costs the database at the least, without documents, rules or a protocol.
async fn insert_commit_per_change(url: &str, n: usize) -> f64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE anchor_changes (seq bigserial PRIMARY KEY, doc text, bytes bytea)")
        .await
        .unwrap();
    let insert = client.prepare("INSERT INTO anchor_changes (doc, bytes) VALUES ($1, $2)").await.unwrap();
    let payload = vec![7u8; 200];
    let t = Instant::now();
    for i in 0..n {
        // Outside a transaction block, each statement is its own COMMIT.
        client.execute(&insert, &[&format!("doc{}", i % 50), &payload]).await.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// A fresh replica's pull of everything from `url`: (median time, runs).
async fn fresh_pulls(url: &str, dir: &std::path::Path, name: &str, n: usize) -> (Duration, Vec<Duration>) {
    let mut runs = Vec::new();
    for k in 0..3 {
        let mut fresh = replica(dir, &format!("{name}{k}"));
        let t = Instant::now();
        rapport_client::sync_once(url, TOKEN, &mut fresh).await.unwrap();
        runs.push(t.elapsed());
        assert_eq!(fresh.account_ids().unwrap().len(), n);
    }
    (median(runs.clone()), runs)
}

fn ms(runs: &[Duration]) -> String {
    runs.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect::<Vec<_>>().join(", ")
}

fn main() {
    let n: usize = std::env::var("RAPPORT_BENCH_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let database = || TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL for the benchmark: {e}"));
    // One database for the pushes, one holding only the pulled accounts.
    let (db, pull_db) = (database(), database());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let work = tempfile::tempdir().unwrap();
    println!("fleet benchmarks, {n} accounts, {} cores", std::thread::available_parallelism().map_or(1, |n| n.get()));

    rt.block_on(async {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(start_node(db.url()).await);
        }
        let urls: Vec<String> = nodes.iter().map(|node| node.url.clone()).collect();

        // (e) 50 concurrent clients pushing single edits, through 1 node and through 3.
        let (clients_n, per_client) = (50, 40);
        let mut rates = Vec::new();
        for (k, through) in [&urls[..1], &urls[..]].into_iter().enumerate() {
            let mut seed = replica(work.path(), &format!("seed{k}"));
            let accounts = seed.create_accounts(&(0..clients_n).map(account).collect::<Vec<_>>()).unwrap();
            rapport_client::sync_once(&through[0], TOKEN, &mut seed).await.unwrap();
            let plans = single_edit_pushes(&seed, &accounts, per_client);
            let (acked, took) = push_concurrently(through, plans).await;
            assert_eq!(acked, clients_n * per_client);
            rates.push((through.len(), acked as f64 / took.as_secs_f64()));
        }
        let anchor = insert_commit_per_change(db.url(), clients_n * per_client).await;
        println!(
            "\n(e) {clients_n} concurrent clients pushing single edits ({} edits per run), PostgreSQL",
            clients_n * per_client
        );
        for (count, rate) in &rates {
            println!("  ours, {count} node(s): {rate:>7.0} acknowledged changes/s (HTTP; pushes grouped, one COMMIT per group)");
        }
        println!(
            "  anchor:      {anchor:>7.0} changes/s (one INSERT + COMMIT per change, one connection, same database)"
        );
        for (count, rate) in &rates {
            println!("  ratio, {count} node(s): {:.2}x", rate / anchor);
        }

        for node in nodes {
            node.stop().await;
        }

        // (f) A fresh pull of N accounts from a PostgreSQL node, against the same from a SQLite server.
        let (node, sqlite) = (start_node(pull_db.url()).await, start_server().await);
        let mut office = replica(work.path(), "office");
        populate(&mut office, n);
        rapport_client::sync_once(&node.url, TOKEN, &mut office).await.unwrap();
        rapport_client::sync_once(&sqlite.url, TOKEN, &mut office).await.unwrap();
        sqlite.settle().await;
        node.settle().await;
        let (pg, pg_runs) = fresh_pulls(&node.url, work.path(), "pg", n).await;
        let (lite, lite_runs) = fresh_pulls(&sqlite.url, work.path(), "lite", n).await;
        println!("\n(f) a fresh replica pulls {n} accounts");
        println!("  ours, from a PostgreSQL node: {:>9.1} ms", pg.as_secs_f64() * 1e3);
        println!("  anchor, from a SQLite server: {:>9.1} ms", lite.as_secs_f64() * 1e3);
        println!(
            "  ratio:  {:.2}x (medians of 3; runs: PostgreSQL {} ms; SQLite {} ms)",
            pg.as_secs_f64() / lite.as_secs_f64(),
            ms(&pg_runs),
            ms(&lite_runs)
        );
        sqlite.stop().await;
        node.stop().await;
    });
}

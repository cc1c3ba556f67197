//! Fleet benchmarks (issue 15): nodes serving from one PostgreSQL database,
//! each against an anchor run in the same process, reporting the ratio.
//! Results: docs/BENCHMARKS.md.
//!
//! `cargo bench -p rapport-e2e --bench fleet` (RAPPORT_BENCH_ACCOUNTS=N for
//! a smaller pull, default 10,000; RAPPORT_BENCH_SOCKETS=N idle live
//! sockets, default 2,000). The database is a throwaway cluster
//! (`fsync=off`, like every test cluster: commits are not flushed, for
//! ours and the anchor alike), or the cluster of `RAPPORT_TEST_PG_URL`.
//! The nodes run in this process, so on a small machine three nodes share
//! its cores with the clients and the database.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use rapport_core::sync::Message;
use rapport_store_postgres::cluster::TestDatabase;
use rustix::time::{ClockId, clock_gettime};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The clients' read chunk, the same for ours and the anchor, so that what
/// differs between them is the server's side.
const CLIENT_READ_BUFFER: usize = 8 * 1024;

/// How long the idle sockets are watched.
const IDLE_WINDOW: Duration = Duration::from_secs(30);

/// CPU time of this process, all threads.
fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Resident memory of this process (`VmRSS`), bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// `n` live sockets to the node at `url`, each having made one sync request
/// (`request`, an encoded protocol message) and read its answer, as an app
/// does before it waits for pushes.
async fn live_sockets(url: &str, request: &[u8], n: usize) -> Vec<Socket> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let mut ask = format!("{}/v1/live", url.replace("http://", "ws://")).into_client_request().unwrap();
        ask.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
        let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
        let mut ws = tokio_tungstenite::connect_async_with_config(ask, Some(config), false).await.unwrap().0;
        ws.send(Frame::Binary(request.to_vec().into())).await.unwrap();
        loop {
            match ws.next().await.expect("the socket stays open").unwrap() {
                Frame::Binary(_) => break,
                _ => continue,
            }
        }
        sockets.push(ws);
    }
    sockets
}

/// The anchor's server: bare WebSockets (tokio-tungstenite) in this
/// process, each answering one binary frame with an empty one, then idle.
async fn bare_websocket_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(frame)) = ws.next().await {
                    if let Frame::Binary(_) = frame
                        && ws.send(Frame::Binary(Vec::new().into())).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// CPU this process spends in `IDLE_WINDOW` while nothing is asked of it.
async fn idle_cpu() -> Duration {
    let cpu0 = process_cpu();
    tokio::time::sleep(IDLE_WINDOW).await;
    process_cpu() - cpu0
}

/// Opens `n` sockets with `open`, then watches them idle: memory per
/// socket in bytes, and CPU per socket per minute above `baseline` (the
/// process's CPU in the same window without them); both ends are in this
/// process.
async fn idle_cost<F: Future<Output = Vec<Socket>>>(
    n: usize,
    baseline: Duration,
    open: F,
) -> (f64, Duration, Vec<Socket>) {
    let before = rss();
    let sockets = open.await;
    let memory = rss().saturating_sub(before) as f64 / n as f64;
    let above = idle_cpu().await.saturating_sub(baseline);
    let per_minute = above.mul_f64(60.0 / IDLE_WINDOW.as_secs_f64()) / n as u32;
    (memory, per_minute, sockets)
}

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

        // (g) Idle live sockets on a PostgreSQL node, against bare WebSockets.
        let sockets: usize = std::env::var("RAPPORT_BENCH_SOCKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
        let idle_db = database();
        let node = start_node(idle_db.url()).await;
        let (request, _) = replica(work.path(), "socket").sync_request(Default::default()).unwrap();
        let request = Message::Request(request).encode();
        let bare = bare_websocket_server().await;
        let baseline = idle_cpu().await;
        let (bare_memory, bare_cpu, bare_sockets) =
            idle_cost(sockets, baseline, live_sockets(&bare, &request, sockets)).await;
        let (memory, cpu, live) = idle_cost(sockets, baseline, live_sockets(&node.url, &request, sockets)).await;
        println!(
            "\n(g) {sockets} idle live sockets, watched for {} s (both ends in this process; the node alone \
             spent {} ms of CPU in such a window)",
            IDLE_WINDOW.as_secs(),
            baseline.as_millis()
        );
        println!(
            "  ours, on a PostgreSQL node: {:>6.1} KiB and {:>5} µs CPU per socket per minute",
            memory / 1024.0,
            cpu.as_micros()
        );
        println!(
            "  anchor, bare WebSockets:    {:>6.1} KiB and {:>5} µs CPU per socket per minute (tungstenite's defaults)",
            bare_memory / 1024.0,
            bare_cpu.as_micros()
        );
        println!("  memory ratio: {:.2}x", memory / bare_memory);
        drop((live, bare_sockets));
        node.stop().await;
    });
}

//! Sync benchmarks (issue 3), each against an anchor run in the same process
//! on the same data, reporting the ratio. Results: docs/BENCHMARKS.md.
//!
//! `cargo bench -p rapport-e2e --bench sync` (RAPPORT_BENCH_ACCOUNTS=N for a
//! smaller run; default 10,000).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use automerge::sync::SyncDoc;
use automerge::{Automerge, Change};
use common::*;
use rapport_core::Replica;

/// Automerge's per-document protocol between two peers holding `doc`, with the
/// sync states they persisted after their last sync: (messages, bytes, rounds).
fn automerge_noop(docs: &[Vec<u8>]) -> (usize, usize, usize) {
    let (mut messages, mut bytes, mut rounds) = (0, 0, 0);
    for saved in docs {
        let mut a = Automerge::load(saved).unwrap();
        let mut b = Automerge::load(saved).unwrap();
        let (mut sa, mut sb) = (automerge::sync::State::new(), automerge::sync::State::new());
        converge(&mut a, &mut b, &mut sa, &mut sb);
        // Persist and reload the states, as a device does between syncs.
        let mut sa = automerge::sync::State::decode(&sa.encode()).unwrap();
        let mut sb = automerge::sync::State::decode(&sb.encode()).unwrap();
        let (m, by, r) = converge(&mut a, &mut b, &mut sa, &mut sb);
        messages += m;
        bytes += by;
        rounds = rounds.max(r);
    }
    (messages, bytes, rounds)
}

fn converge(
    a: &mut Automerge,
    b: &mut Automerge,
    sa: &mut automerge::sync::State,
    sb: &mut automerge::sync::State,
) -> (usize, usize, usize) {
    let (mut messages, mut bytes, mut rounds) = (0, 0, 0);
    loop {
        let mut quiet = true;
        if let Some(m) = a.generate_sync_message(sa) {
            let enc = m.encode();
            bytes += enc.len();
            messages += 1;
            b.receive_sync_message(sb, automerge::sync::Message::decode(&enc).unwrap()).unwrap();
            quiet = false;
        }
        if let Some(m) = b.generate_sync_message(sb) {
            let enc = m.encode();
            bytes += enc.len();
            messages += 1;
            a.receive_sync_message(sa, automerge::sync::Message::decode(&enc).unwrap()).unwrap();
            quiet = false;
        }
        if quiet {
            return (messages, bytes, rounds);
        }
        rounds += 1;
    }
}

fn main() {
    let n: usize = std::env::var("RAPPORT_BENCH_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let work = tempfile::tempdir().unwrap();
    println!("sync benchmarks, {n} accounts, {} cores", std::thread::available_parallelism().map_or(1, |n| n.get()));

    rt.block_on(async {
        // Seed: one office replica creates N accounts and pushes them.
        let server = start_server().await;
        let mut office = replica(work.path(), "office");
        let ids = populate(&mut office, n);
        rapport_client::sync_once(&server.url, TOKEN, &mut office).await.unwrap();
        server.settle().await;

        // (b) A fresh replica pulls everything, against loading the saved documents in process.
        let saved: Vec<Vec<u8>> = ids.iter().map(|id| office.export_document(*id).unwrap()).collect();
        let saved_bytes: usize = saved.iter().map(Vec::len).sum();
        let mut pull_times = Vec::new();
        let mut pull_bytes = 0;
        let mut pulled_payload = 0;
        for k in 0..3 {
            let mut fresh = replica(work.path(), &format!("fresh{k}"));
            let t = Instant::now();
            let s = rapport_client::sync_once(&server.url, TOKEN, &mut fresh).await.unwrap();
            pull_times.push(t.elapsed());
            pull_bytes = s.bytes_down;
            pulled_payload = s.pulled_bytes;
            assert_eq!(fresh.account_ids().unwrap().len(), n);
        }
        let mut load_times = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            for bytes in &saved {
                std::hint::black_box(automerge::AutoCommit::load(bytes).unwrap());
            }
            load_times.push(t.elapsed());
        }
        let spread = |v: &[Duration]| {
            let ms: Vec<String> = v.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect();
            ms.join(", ")
        };
        let runs = format!("runs: ours {} ms; anchor {} ms", spread(&pull_times), spread(&load_times));
        let (pull, load) = (median(pull_times), median(load_times));
        println!("\n(b) fresh replica pulls {n} accounts");
        println!("  ours:   {:>9.1} ms, {:>11} bytes on the wire ({} bytes of documents)", pull.as_secs_f64() * 1e3, pull_bytes, pulled_payload);
        println!("  anchor: {:>9.1} ms, {:>11} bytes of saved documents (AutoCommit::load of each, in process)", load.as_secs_f64() * 1e3, saved_bytes);
        println!("  ratio:  time {:.2}x, bytes {:.3}x (medians of 3; {runs})", pull.as_secs_f64() / load.as_secs_f64(), pull_bytes as f64 / saved_bytes as f64);

        // (a) No-op sync of a replica holding everything, against Automerge's per-document protocol.
        let s = rapport_client::sync_once(&server.url, TOKEN, &mut office).await.unwrap();
        let ours_bytes = s.bytes_up + s.bytes_down;
        let (messages, am_bytes, am_rounds) = automerge_noop(&saved);
        println!("\n(a) no-op sync of a replica holding {n} accounts");
        println!("  ours:   {} round trip(s), {} bytes ({} up, {} down)", s.rounds, ours_bytes, s.bytes_up, s.bytes_down);
        println!("  anchor: Automerge per-document sync with persisted sync states: {messages} messages, {am_bytes} bytes, {am_rounds} round trip(s) per document");
        println!("  ratio:  bytes {:.5}x ({:.3}%)", ours_bytes as f64 / am_bytes as f64, 100.0 * ours_bytes as f64 / am_bytes as f64);
        server.stop().await;

        // The no-op payload does not grow with the number of documents.
        let small = start_server().await;
        let mut few = replica(work.path(), "few");
        populate(&mut few, (n / 10).max(10));
        rapport_client::sync_once(&small.url, TOKEN, &mut few).await.unwrap();
        let s_small = rapport_client::sync_once(&small.url, TOKEN, &mut few).await.unwrap();
        println!("  payload at {} accounts: {} bytes; at {n}: {ours_bytes} bytes", (n / 10).max(10), s_small.bytes_up + s_small.bytes_down);
        small.stop().await;

        // (c) Three replicas × 500 offline edits converge through the server.
        let server = start_server().await;
        let shared = 200;
        let mut reps: Vec<Replica> = (0..3).map(|i| replica(work.path(), &format!("rep{i}"))).collect();
        let shared_ids = populate(&mut reps[0], shared);
        for r in reps.iter_mut() {
            rapport_client::sync_once(&server.url, TOKEN, r).await.unwrap();
        }
        let base_heads: Vec<_> = shared_ids.iter().map(|id| reps[0].document(*id).unwrap().heads()).collect();
        let base_docs: Vec<Vec<u8>> = shared_ids.iter().map(|id| reps[0].export_document(*id).unwrap()).collect();
        for (ri, r) in reps.iter_mut().enumerate() {
            for e in 0..500 {
                let id = shared_ids[(e * 7 + ri * 13) % shared];
                let field = ["party.industry", "party.source", "address.street", "party.website"][(e + ri) % 4];
                r.edit(id, |ed| ed.set_field(field, &format!("r{ri} e{e}"))).unwrap();
            }
        }
        // The same changes, for the anchor.
        let edits: Vec<Vec<Vec<Change>>> = reps
            .iter()
            .map(|r| {
                shared_ids
                    .iter()
                    .zip(&base_heads)
                    .map(|(id, heads)| r.document(*id).unwrap().automerge_mut().get_changes(heads))
                    .collect()
            })
            .collect();
        let t = Instant::now();
        for i in [0, 1, 2, 0, 1] {
            rapport_client::sync_once(&server.url, TOKEN, &mut reps[i]).await.unwrap();
        }
        let ours = t.elapsed();
        let reference: Vec<_> = shared_ids.iter().map(|id| reps[0].account(*id).unwrap()).collect();
        for r in &reps[1..] {
            assert_eq!(shared_ids.iter().map(|id| r.account(*id).unwrap()).collect::<Vec<_>>(), reference);
        }
        server.stop().await;
        // Anchor: a hub document per account and three client copies with the same
        // changes, converged with Automerge's sync protocol in process, same order.
        let mut hubs: Vec<Automerge> = base_docs.iter().map(|b| Automerge::load(b).unwrap()).collect();
        let mut clients: Vec<Vec<Automerge>> = (0..3)
            .map(|ri| {
                base_docs
                    .iter()
                    .zip(&edits[ri])
                    .map(|(b, ch)| {
                        let mut d = Automerge::load(b).unwrap();
                        d.apply_changes(ch.iter().cloned()).unwrap();
                        d
                    })
                    .collect()
            })
            .collect();
        let mut states: Vec<Vec<(automerge::sync::State, automerge::sync::State)>> =
            (0..3).map(|_| (0..shared).map(|_| Default::default()).collect()).collect();
        let t = Instant::now();
        for i in [0, 1, 2, 0, 1] {
            for d in 0..shared {
                let (sc, sh) = &mut states[i][d];
                converge(&mut clients[i][d], &mut hubs[d], sc, sh);
            }
        }
        let anchor = t.elapsed();
        println!("\n(c) 3 replicas x 500 offline edits on {shared} shared accounts converge through the server");
        println!("  ours:   {:>9.1} ms (5 syncs over HTTP, durable on both ends, indexes updated)", ours.as_secs_f64() * 1e3);
        println!("  anchor: {:>9.1} ms (Automerge sync protocol per document, in memory, same order)", anchor.as_secs_f64() * 1e3);
        println!("  ratio:  {:.2}x", ours.as_secs_f64() / anchor.as_secs_f64());

        // (d) 50 concurrent clients pushing single edits.
        let server = start_server().await;
        let clients_n = 50;
        let per_client = 40;
        let mut seed = replica(work.path(), "seed50");
        let accounts = seed.create_accounts(&(0..clients_n).map(account).collect::<Vec<_>>()).unwrap();
        rapport_client::sync_once(&server.url, TOKEN, &mut seed).await.unwrap();
        let plans = single_edit_pushes(&seed, &accounts, per_client);
        let (acked, ours) = push_concurrently(std::slice::from_ref(&server.url), plans).await;
        assert_eq!(acked, clients_n * per_client);
        server.stop().await;
        let anchor_rate = fsync_per_change(work.path(), acked);
        let ours_rate = acked as f64 / ours.as_secs_f64();
        println!("\n(d) {clients_n} concurrent clients pushing single edits ({acked} edits)");
        println!("  ours:   {ours_rate:>9.0} acknowledged durable changes/s (HTTP, group commit)");
        println!("  anchor: {anchor_rate:>9.0} changes/s (one SQLite insert + fsync'd commit per change, no network)");
        println!("  ratio:  {:.1}x", ours_rate / anchor_rate);
    });
}

/// One durable commit per change: the cost group commit avoids.
fn fsync_per_change(dir: &std::path::Path, n: usize) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("anchor-fsync.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE changes (seq INTEGER PRIMARY KEY, doc TEXT, bytes BLOB)").unwrap();
    let payload = vec![7u8; 200];
    let t = Instant::now();
    for i in 0..n {
        conn.execute(
            "INSERT INTO changes (doc, bytes) VALUES (?1, ?2)",
            rusqlite::params![format!("doc{}", i % 50), payload],
        )
        .unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

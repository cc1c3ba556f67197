//! Reconnect storm: many reps, each with a day of offline edits, reconnect
//! within a few seconds to a server that holds a large customer base.
//!
//! ```sh
//! cargo run --release -p rapport-e2e --example reconnect_storm -- [REPS] [ACCOUNTS] [EDITS] [WINDOW_SECS]
//! ```
//! (defaults 500, 100000, 20, 3; `scripts/long-run/reconnect-storm.sh` runs it
//! and docs/RELIABILITY.md has its figures). A real `rapport-server` process
//! (the release build) serves on loopback; the reps are real replicas (SQLite
//! files) syncing over HTTP with `rapport-client`, all in this process.
//!
//! 1. An office desktop creates ACCOUNTS accounts, spread over one territory
//!    per rep, and pushes them.
//! 2. Every rep's device pulls its territory, then logs EDITS changes
//!    offline (calls on its accounts, a city, a tag).
//! 3. The storm: every rep syncs once, starting at a random moment within
//!    WINDOW_SECS. Reported: errors, p50/p99/max sync time, the server's RSS
//!    before and after.
//! 4. The office desktop syncs and checks that every call logged in the
//!    storm reached the server. The program fails if anything was lost or
//!    any sync failed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rapport_client::Client;
use rapport_core::*;
use rapport_e2e::{Server, TOKEN};
use rapport_server::db::users::UserChange;
use rapport_server::manage::Manager;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args().nth(n).map(|v| v.parse().expect("numeric argument")).unwrap_or(default)
}

/// The server process's resident set size in MiB.
fn rss_mib(server: &Server) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Rep {
    token: String,
    replica: Replica,
    logged: BTreeSet<String>,
}

fn main() {
    let reps = arg(1, 500) as usize;
    let accounts = arg(2, 100_000) as usize;
    let edits = arg(3, 20) as usize;
    let window = Duration::from_secs(arg(4, 3));
    let mut rng = SmallRng::seed_from_u64(500);
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // The server's directory: one rep per territory, created before it starts.
    let tokens: Vec<String> = {
        drop(Server::start(&data));
        let mut manager = Manager::open(&data).unwrap();
        (0..reps)
            .map(|i| {
                let change = UserChange {
                    role: None,
                    teams: Some(BTreeSet::new()),
                    territories: Some([format!("T{i}")].into()),
                };
                manager.add_user(&format!("rep{i}"), "rep", &change, &format!("phone{i}")).unwrap().token
            })
            .collect()
    };
    let server = Server::start(&data);
    let url = server.url.clone();

    let started = Instant::now();
    let mut office = Replica::open(root.path().join("office.db"), &DeviceIdentity::new("admin", "office")).unwrap();
    for chunk in (0..accounts).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<NewAccount> = chunk
            .iter()
            .map(|n| {
                let mut new = NewAccount::new(format!("Customer {n}"));
                new.territory = Some(format!("T{}", n % reps));
                new.owner = Some("admin".into());
                new
            })
            .collect();
        office.create_accounts(&batch).unwrap();
    }
    let admin = Client::new(&url, TOKEN).unwrap();
    rt.block_on(admin.sync(&mut office, SyncLimits::default(), |_| {})).unwrap();
    println!("seeded {accounts} accounts in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut devices: Vec<Rep> = Vec::with_capacity(reps);
    for (i, token) in tokens.into_iter().enumerate() {
        let identity = DeviceIdentity::new(format!("rep{i}"), format!("phone{i}"));
        let mut replica = Replica::open(root.path().join(format!("rep{i}.db")), &identity).unwrap();
        let client = Client::new(&url, &token).unwrap();
        rt.block_on(client.sync(&mut replica, SyncLimits::default(), |_| {})).unwrap();
        devices.push(Rep { token, replica, logged: BTreeSet::new() });
    }
    println!("{reps} devices pulled their territories in {:.1} s", started.elapsed().as_secs_f64());

    // A day in the field, offline.
    for (i, rep) in devices.iter_mut().enumerate() {
        let held = rep.replica.account_ids().unwrap();
        assert!(!held.is_empty(), "rep{i} holds its territory's accounts");
        for e in 0..edits {
            let id = held[rng.random_range(0..held.len())];
            match e % 4 {
                0 | 1 => {
                    let subject = format!("rep{i} call {e}");
                    rep.replica
                        .edit(id, |ed| ed.log_interaction(&NewInteraction::new(InteractionKind::Call, &subject)))
                        .unwrap();
                    rep.logged.insert(subject);
                }
                2 => rep.replica.edit(id, |ed| ed.set_field("party.address.city", "Kyiv")).unwrap(),
                _ => rep.replica.edit(id, |ed| ed.add_tag(&format!("visited-{e}"))).unwrap(),
            }
        }
    }

    let rss_before = rss_mib(&server);
    let storm_started = Instant::now();
    let results = rt.block_on(async {
        let mut tasks = Vec::with_capacity(reps);
        for mut rep in devices {
            let delay = Duration::from_millis(rng.random_range(0..=window.as_millis() as u64));
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let began = Instant::now();
                let client = Client::new(&url, &rep.token).unwrap();
                let outcome = client.sync(&mut rep.replica, SyncLimits::default(), |_| {}).await;
                (began.elapsed(), outcome.map(|_| ()).map_err(|e| e.to_string()), rep.logged)
            }));
        }
        let mut out = Vec::with_capacity(reps);
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    });
    let storm = storm_started.elapsed();
    let rss_after = rss_mib(&server);

    let mut times: Vec<Duration> = results.iter().map(|r| r.0).collect();
    times.sort();
    let errors: Vec<String> = results.iter().filter_map(|r| r.1.as_ref().err().cloned()).collect();
    let logged: BTreeSet<String> = results.into_iter().flat_map(|r| r.2).collect();

    // Nothing lost: the office pulls and finds every call.
    rt.block_on(admin.sync(&mut office, SyncLimits::default(), |_| {})).unwrap();
    let mut found = BTreeSet::new();
    for id in office.account_ids().unwrap() {
        for interaction in office.account(id).unwrap().interactions {
            found.insert(interaction.subject);
        }
    }
    let lost = logged.difference(&found).count();

    let growth = (rss_after - rss_before) / rss_before * 100.0;
    println!("reconnect storm: {reps} reps x {edits} offline edits, {accounts} accounts, start window {window:?}");
    println!("  storm took {:.2} s; errors: {}", storm.as_secs_f64(), errors.len());
    println!(
        "  sync time p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
    println!("  server RSS before {rss_before:.1} MiB, after {rss_after:.1} MiB ({growth:+.1} %)");
    println!(
        "  calls logged offline: {}, on the server afterwards: {}, lost: {lost}",
        logged.len(),
        logged.len() - lost
    );
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    drop(server);
    assert!(errors.is_empty(), "{} syncs failed", errors.len());
    assert_eq!(lost, 0, "calls were lost");
}

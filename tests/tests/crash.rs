//! The server is killed with SIGKILL at random points while clients sync.
//! After each restart nothing it acknowledged is missing, and at the end
//! every client converges.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rapport_core::{DeviceIdentity, NewAccount, Replica};
use rapport_e2e::*;

fn kills() -> usize {
    std::env::var("RAPPORT_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
}

#[test]
fn nothing_acknowledged_is_lost_when_the_server_is_killed() {
    let mut rng = SmallRng::seed_from_u64(seed("RAPPORT_CRASH_SEED"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let mut replicas: Vec<Replica> = (0..3)
        .map(|i| {
            Replica::open(
                root.path().join(format!("r{i}.db")),
                &DeviceIdentity::new(format!("rep{i}"), format!("dev{i}")),
            )
            .unwrap()
        })
        .collect();
    // Per replica, per document: the heads the server acknowledged last.
    let mut acked: Vec<Acknowledged> = vec![Acknowledged::new(); replicas.len()];
    let mut acknowledged_syncs = 0;
    let mut interrupted_syncs = 0;
    // Non-transient answers that arrived after the kill (another process on
    // the freed port): not this server's, so neither acknowledged nor failed.
    let mut foreign_answers = 0;

    for round in 0..kills() {
        let server = Server::start(&data);
        let url = server.url.clone();
        let pid = server.child.id();
        let delay = Duration::from_millis(30 + rng.random_range(0..400));
        let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let killer = std::thread::spawn({
            let killed = killed.clone();
            move || {
                std::thread::sleep(delay);
                let _ = std::process::Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
                killed.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        'work: loop {
            for (i, r) in replicas.iter_mut().enumerate() {
                for _ in 0..1 + rng.random_range(0..4) {
                    let ids = r.account_ids().unwrap();
                    if ids.is_empty() || rng.random_range(0..4) == 0 {
                        r.create_account(&NewAccount::new(format!(
                            "r{i} round {round} #{}",
                            rng.random_range(0..1000)
                        )))
                        .unwrap();
                    } else {
                        let id = ids[rng.random_range(0..ids.len())];
                        let value = format!("r{i}-{round}-{}", rng.random::<u64>());
                        r.edit(id, |e| e.set_field("party.source", &value)).unwrap();
                    }
                }
                let outcome = rt.block_on(rapport_client::sync_once(&url, TOKEN, r));
                // Once the server is dead its port is free, and another process
                // on this machine (another test's server) may take it: an answer
                // that arrives after the kill may not come from this server, so
                // it neither counts as an acknowledgement nor as a failure.
                if killed.load(std::sync::atomic::Ordering::SeqCst) {
                    if outcome.as_ref().is_err_and(|e| !e.is_transient()) {
                        foreign_answers += 1;
                    }
                    interrupted_syncs += 1;
                    break 'work;
                }
                match outcome {
                    Ok(_) => {
                        acknowledged_syncs += 1;
                        acked[i] = all_heads(r);
                    }
                    Err(e) => {
                        assert!(e.is_transient(), "sync failed for a reason other than the crash: {e}");
                        interrupted_syncs += 1;
                        break 'work;
                    }
                }
            }
        }
        killer.join().unwrap();
        server.kill9();
    }
    println!(
        "{acknowledged_syncs} acknowledged syncs, {interrupted_syncs} interrupted by SIGKILL, \
         {foreign_answers} answered after the kill by another process"
    );
    assert!(acknowledged_syncs > 0 && interrupted_syncs == kills());

    // After a restart, a fresh device receives every acknowledged change.
    let server = Server::start(&data);
    let mut fresh = Replica::open(root.path().join("fresh.db"), &DeviceIdentity::new("auditor", "fresh")).unwrap();
    rt.block_on(rapport_client::sync_once(&server.url, TOKEN, &mut fresh)).unwrap();
    assert_holds_acknowledged(&fresh, &acked);
    // And everyone converges.
    for _ in 0..2 {
        for r in replicas.iter_mut() {
            rt.block_on(rapport_client::sync_once(&server.url, TOKEN, r)).unwrap();
        }
    }
    rt.block_on(rapport_client::sync_once(&server.url, TOKEN, &mut fresh)).unwrap();
    let expected: Vec<_> = {
        let mut ids = fresh.account_ids().unwrap();
        ids.sort();
        ids.into_iter().map(|id| fresh.account(id).unwrap()).collect()
    };
    for r in &replicas {
        let mut ids = r.account_ids().unwrap();
        ids.sort();
        let got: Vec<_> = ids.into_iter().map(|id| r.account(id).unwrap()).collect();
        assert_eq!(got, expected);
    }
}

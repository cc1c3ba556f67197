//! Three `rapport-server` processes on one PostgreSQL database (issue 15,
//! ADR 0034): clients pick a node at random for every sync and converge,
//! with the same conflicts everywhere; a change pushed through one node
//! reaches a live socket on another; a device revoked through one node is
//! refused by the others from the moment the admin call returned, and its
//! open sockets on them are closed; nothing acknowledged is lost when nodes
//! are killed, or when the database's primary is and its standby promoted.
#![allow(clippy::unwrap_used)]

mod fleet;

use std::path::Path;
use std::time::Duration;

use fleet::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rapport_client::ClientError;
use rapport_core::{AccountId, NewAccount, PushPlan};
use rapport_e2e::{Acknowledged, Server, assert_holds_acknowledged, bin, seed};
use rapport_store_postgres::cluster::{ReplicatedPair, TestDatabase};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Three nodes on a fresh database, started together (their migrations
/// and the admin's creation run once, whichever node comes first).
fn fleet(root: &Path, db: &TestDatabase) -> Vec<Server> {
    std::thread::scope(|s| {
        let started: Vec<_> = (0..3).map(|i| s.spawn(move || start_node(root, db, i))).collect();
        started.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Node `i` on `db`, of this build.
fn start_node(root: &Path, db: &TestDatabase, i: usize) -> Server {
    fleet::start_node(&bin("rapport-server"), root, db.url(), &format!("node-{i}"))
}

#[test]
fn three_reps_and_the_office_converge_through_random_nodes() {
    let mut rng = SmallRng::seed_from_u64(seed("RAPPORT_NODES_SEED"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().unwrap();
    let nodes = fleet(root.path(), &db);

    let mut devices: Vec<Device> = [("office", "office"), ("olena", "rep"), ("taras", "rep"), ("iryna", "rep")]
        .into_iter()
        .map(|(user, role)| {
            let (token, _) = add_user(random_node(&nodes, &mut rng), user, role, &["UA-30"]);
            Device::new(root.path(), user, token)
        })
        .collect();

    // The office sets up the accounts in the reps' territory; everyone pulls them.
    let office = &mut devices[0].replica;
    let mut new = |name: &str| {
        let mut account = NewAccount::new(name);
        account.territory = Some("UA-30".into());
        office.create_account(&account).unwrap()
    };
    let (zavod, mlyn) = (new("Київський завод"), new("Млин «Борошно»"));
    for device in &mut devices {
        device.sync(&rt, random_node(&nodes, &mut rng)).unwrap();
    }
    for device in &devices {
        assert_eq!(device.replica.account_ids().unwrap().len(), 2, "every device holds both accounts");
    }

    // Offline edits: different fields, the same field (a conflict), notes.
    let edit = |d: &mut Device, id: AccountId, field: &str, value: &str| {
        d.replica.edit(id, |e| e.set_field(field, value)).unwrap();
    };
    edit(&mut devices[1], zavod, "party.industry", "Металургія");
    edit(&mut devices[2], zavod, "address.city", "Київ");
    edit(&mut devices[2], mlyn, "party.industry", "Харчова");
    edit(&mut devices[3], mlyn, "party.industry", "Борошномельна");
    edit(&mut devices[0], mlyn, "address.city", "Біла Церква");
    devices[3].replica.edit(zavod, |e| e.set_notes("Зустріч у вівторок.")).unwrap();

    // Each device syncs through a node picked at random, twice round, so
    // every push is pulled by every other device through other nodes.
    for _ in 0..2 {
        for device in &mut devices {
            device.sync(&rt, random_node(&nodes, &mut rng)).unwrap();
        }
    }
    let first = devices[0].heads();
    for device in &devices {
        assert_eq!(device.replica.unsynced_count().unwrap(), 0, "every edit was acknowledged");
        assert_eq!(device.heads(), first, "every device holds the same documents");
        for id in [zavod, mlyn] {
            assert_eq!(device.conflicts(id), devices[0].conflicts(id), "the same conflicts everywhere");
        }
    }
    let contested: Vec<String> = devices[0].conflicts(mlyn).into_iter().map(|c| c.field).collect();
    assert_eq!(contested, ["party.industry"], "the concurrent industries are one conflict");
    let zavod_now = devices[0].replica.account(zavod).unwrap();
    assert_eq!(zavod_now.party.industry.as_deref(), Some("Металургія"));
    assert_eq!(zavod_now.party.address.city.as_deref(), Some("Київ"));
    assert_eq!(zavod_now.party.notes, "Зустріч у вівторок.");

    // A fresh pull through each node gets every change.
    for (i, node) in nodes.iter().enumerate() {
        let auditor = format!("auditor-{i}");
        let (token, _) = add_user(node, &auditor, "office", &[]);
        let mut reader = Device::new(root.path(), &auditor, token);
        reader.sync(&rt, node).unwrap();
        assert_eq!(reader.heads(), first, "a fresh pull through {} gets every change", node.url);
    }

    // Every node reports from the shared rows: the same open conflicts and
    // the same figures, whichever node is asked.
    same_reports_everywhere(&nodes, &["open-conflicts", "lifecycle", "contact-depth"]);
    let (_, conflicts) = nodes[2].admin_get("/v1/reports/open-conflicts");
    let listed: Vec<(&str, &str)> = conflicts["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["account_id"].as_str().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(mlyn.to_string().as_str(), "party.industry")], "{conflicts:#}");
    // What PostgreSQL's own tools do (backups) is refused plainly, not done wrongly.
    let (status, answer) = nodes[0].admin_post("/v1/admin/backup", &serde_json::Value::Null);
    assert_eq!(status, 501, "{answer}");
    assert_eq!(answer["error"]["code"], "not_on_this_database");
    let (status, answer) = nodes[1].admin_get("/v1/admin/users");
    assert_eq!(status, 200, "the directory is served: {answer}");
    assert_eq!(answer["users"].as_array().unwrap().len(), 8, "admin, office, three reps, three auditors");
}

#[test]
fn a_push_through_one_node_reaches_a_live_socket_on_another() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().unwrap();
    let nodes = fleet(root.path(), &db);
    let (office_token, _) = add_user(&nodes[0], "office", "office", &[]);
    let (watcher_token, _) = add_user(&nodes[1], "manager-desk", "office", &[]);
    let mut office = Device::new(root.path(), "office", office_token);
    let mut watcher = Device::new(root.path(), "manager-desk", watcher_token.clone());

    rt.block_on(async {
        let mut ws = connect(&nodes[2], &watcher_token).await;
        ws_sync(&mut ws, &mut watcher.replica).await;

        let id = office.replica.create_account(&NewAccount::new("Одеський порт")).unwrap();
        rapport_client::sync_once(&nodes[0].url, &office.token, &mut office.replica).await.unwrap();
        let pushed = tokio::time::timeout(LIVE_WAIT, next_response(&mut ws)).await.expect("a push through node 2");
        watcher.replica.sync_apply(&PushPlan::default(), &pushed).unwrap();
        assert_eq!(watcher.replica.account(id).unwrap().party.name, "Одеський порт");

        // And the next one, from the position the first push left.
        office.replica.edit(id, |e| e.set_field("party.industry", "Логістика")).unwrap();
        rapport_client::sync_once(&nodes[1].url, &office.token, &mut office.replica).await.unwrap();
        let pushed = tokio::time::timeout(LIVE_WAIT, next_response(&mut ws)).await.expect("a second push");
        watcher.replica.sync_apply(&PushPlan::default(), &pushed).unwrap();
        assert_eq!(watcher.replica.account(id).unwrap().party.industry.as_deref(), Some("Логістика"));
    });
}

#[test]
fn a_device_revoked_through_one_node_is_refused_by_every_node_at_once() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().unwrap();
    let nodes = fleet(root.path(), &db);
    let (token, device_id) = add_user(&nodes[0], "olena", "rep", &["UA-30"]);
    let mut olena = Device::new(root.path(), "olena", token.clone());
    for node in &nodes {
        olena.sync(&rt, node).unwrap();
    }

    rt.block_on(async {
        // Sockets open on the two nodes the revocation does not go through.
        let mut sockets = Vec::new();
        for node in &nodes[1..] {
            let mut ws = connect(node, &token).await;
            ws_sync(&mut ws, &mut olena.replica).await;
            sockets.push(ws);
        }
        let (status, answer) =
            nodes[0].admin_post(&format!("/v1/admin/devices/{device_id}/revoke"), &serde_json::Value::Null);
        assert_eq!(status, 200, "revoke: {answer}");

        // At once: the next request to any node is refused.
        for node in &nodes {
            let refused = rapport_client::sync_once(&node.url, &token, &mut olena.replica).await;
            assert!(matches!(refused, Err(ClientError::Unauthorized { .. })), "{} answered {refused:?}", node.url);
        }
        // And the open sockets on the other nodes are closed as revoked.
        for ws in &mut sockets {
            let code = tokio::time::timeout(LIVE_WAIT, closed_with(ws)).await.expect("the socket is closed");
            assert_eq!(code, Some(CloseCode::Policy), "closed because the token was revoked");
        }
    });
}

#[test]
fn nothing_acknowledged_is_lost_when_random_nodes_are_killed_mid_sync() {
    let kills: usize = std::env::var("RAPPORT_NODE_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let mut rng = SmallRng::seed_from_u64(seed("RAPPORT_NODES_SEED"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().unwrap();
    let mut nodes = fleet(root.path(), &db);
    let mut devices = clerks(&nodes[0], root.path(), 3);
    // Per device, per document: the heads a node acknowledged last.
    let mut acked: Vec<Acknowledged> = vec![Acknowledged::new(); devices.len()];
    let (mut acknowledged, mut interrupted) = (0, 0);

    for round in 0..kills {
        let victim = rng.random_range(0..nodes.len());
        let pid = nodes[victim].child.id();
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
        // Clients edit and sync through random nodes until the victim is
        // dead and every client has synced once more after that.
        let mut after_kill = 0;
        while after_kill < devices.len() {
            for (i, device) in devices.iter_mut().enumerate() {
                let ids = device.replica.account_ids().unwrap();
                if ids.is_empty() || rng.random_range(0..4) == 0 {
                    let name = format!("Клієнт {i}-{round}-{}", rng.random_range(0..1000));
                    device.replica.create_account(&NewAccount::new(name)).unwrap();
                } else {
                    let id = ids[rng.random_range(0..ids.len())];
                    let value = format!("джерело {i}-{round}-{}", rng.random::<u32>());
                    device.replica.edit(id, |e| e.set_field("party.source", &value)).unwrap();
                }
                let target = rng.random_range(0..nodes.len());
                let outcome = device.sync(&rt, &nodes[target]);
                let dead = killed.load(std::sync::atomic::Ordering::SeqCst);
                if dead {
                    after_kill += 1;
                }
                // Once the victim is dead its port is free and another
                // process may take it: nothing it answers after the kill counts.
                if target == victim && (dead || outcome.is_err()) {
                    assert!(
                        dead || outcome.as_ref().is_err_and(ClientError::is_transient),
                        "sync through the dying node failed for another reason: {outcome:?}"
                    );
                    interrupted += 1;
                    continue;
                }
                match outcome {
                    Ok(()) => {
                        acknowledged += 1;
                        acked[i] = device.heads();
                    }
                    Err(e) => panic!("sync through a live node failed: {e}"),
                }
            }
        }
        killer.join().unwrap();
        let old = std::mem::replace(&mut nodes[victim], start_node(root.path(), &db, victim));
        old.kill9();
    }
    println!("{kills} nodes killed; {acknowledged} syncs acknowledged, {interrupted} through a dying node");
    assert!(acknowledged > 0 && interrupted > 0);

    // A fresh device, through any node, receives every acknowledged change.
    let (token, _) = add_user(&nodes[1], "auditor", "office", &[]);
    let mut fresh = Device::new(root.path(), "auditor", token);
    fresh.sync(&rt, &nodes[2]).unwrap();
    assert_holds_acknowledged(&fresh.replica, &acked);
    // And everyone converges.
    for _ in 0..2 {
        for device in devices.iter_mut().chain(std::iter::once(&mut fresh)) {
            device.sync(&rt, random_node(&nodes, &mut rng)).unwrap();
        }
    }
    for device in &devices {
        assert_eq!(device.heads(), fresh.heads(), "every device converged");
    }
}

#[test]
fn nodes_follow_a_failover_and_nothing_acknowledged_is_lost() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut pair = ReplicatedPair::start().unwrap();
    let url = pair.url();
    let nodes: Vec<Server> = (0..2)
        .map(|i| {
            let name = format!("node-{i}");
            let args = ["--database", url.as_str(), "--node-name", &name, "--rate", "0"];
            Server::start_with(&root.path().join(&name), "127.0.0.1:0", &args)
        })
        .collect();
    let mut devices = clerks(&nodes[0], root.path(), 2);
    let mut acked: Vec<Acknowledged> = vec![Acknowledged::new(); devices.len()];
    let mut rng = SmallRng::seed_from_u64(7);
    // One edit and one sync of each device through a random node; the
    // number acknowledged, and the transient failures (a node's database gone).
    let mut round = |devices: &mut Vec<Device>, acked: &mut Vec<Acknowledged>, n: usize| -> (usize, usize) {
        let (mut ok, mut failed) = (0, 0);
        for (i, device) in devices.iter_mut().enumerate() {
            let ids = device.replica.account_ids().unwrap();
            if ids.is_empty() {
                device.replica.create_account(&NewAccount::new(format!("Клієнт {i}"))).unwrap();
            } else {
                let value = format!("джерело {i}-{n}");
                device.replica.edit(ids[0], |e| e.set_field("party.source", &value)).unwrap();
            }
            match device.sync(&rt, random_node(&nodes, &mut rng)) {
                Ok(()) => {
                    ok += 1;
                    acked[i] = device.heads();
                }
                Err(e) => {
                    assert!(e.is_transient(), "a failover is answered with a retryable error, not: {e}");
                    failed += 1;
                }
            }
        }
        (ok, failed)
    };
    for n in 0..5 {
        assert_eq!(round(&mut devices, &mut acked, n), (2, 0), "before the failover every sync is acknowledged");
    }

    // The primary crashes while devices go on syncing; the standby is
    // promoted a moment later. The nodes are not restarted.
    pair.kill_primary().unwrap();
    // The nodes' health checks say so, for a load balancer.
    for node in &nodes {
        let (status, answer) = node.admin_get("/healthz");
        assert_eq!(status, 503, "{answer}");
        assert_eq!(
            (answer["status"].as_str(), answer["error"]["code"].as_str()),
            (Some("degraded"), Some("server_unavailable"))
        );
    }
    let (mut after, mut failed, mut n) = (0, 0, 5);
    let mut promoted = false;
    while after < 10 {
        let (ok, bad) = round(&mut devices, &mut acked, n);
        failed += bad;
        if promoted {
            after += ok;
        } else {
            assert_eq!(ok, 0, "nothing is acknowledged while there is no primary");
            pair.promote_standby().unwrap();
            promoted = true;
        }
        n += 1;
        assert!(n < 200, "the nodes did not resume on the promoted standby");
    }
    println!("failover: {failed} syncs refused as retryable while the primary was gone");
    for node in &nodes {
        assert_eq!(node.admin_get("/healthz").0, 200, "healthy again on the promoted standby");
    }
    assert!(failed > 0, "syncs were attempted while no primary was up");

    // Every acknowledged change is on the new primary, through either node.
    let (token, _) = add_user(&nodes[1], "auditor", "office", &[]);
    let mut fresh = Device::new(root.path(), "auditor", token);
    fresh.sync(&rt, &nodes[0]).unwrap();
    assert_holds_acknowledged(&fresh.replica, &acked);
    for device in devices.iter_mut() {
        device.sync(&rt, &nodes[1]).unwrap();
    }
    fresh.sync(&rt, &nodes[1]).unwrap();
    for device in &devices {
        assert_eq!(device.heads(), fresh.heads(), "every device converged after the failover");
    }
}

//! A rolling upgrade on PostgreSQL (issue 15, ADR 0037): nodes of release
//! 0.2.0 (built from this repository's history by
//! `scripts/build-release.sh 0.2.0`) are replaced one by one with nodes of
//! this build while clients keep syncing through any node. The new node
//! migrates the shared database on its way up; the old ones keep serving
//! it, and an old node that restarts meanwhile serves it too. Live pushes,
//! revocations and reports work across the two versions, and nothing
//! acknowledged is lost. The new release's store migration (9, the nodes'
//! reports) is additive, so 0.2.0 serves and restarts on the migrated
//! database; the nodes listed by `GET /v1/admin/nodes` show the upgrade. A database past a breaking migration is refused
//! by the old release with "upgrade the server".
#![allow(clippy::unwrap_used)]

mod fleet;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rapport_client::ClientError;
use rapport_core::{AccountId, NewAccount, PushPlan};
use rapport_e2e::{Acknowledged, Server, TOKEN, assert_holds_acknowledged, bin, release_bin, seed};
use rapport_store_postgres::cluster::TestDatabase;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The previous release's server.
fn old_server() -> PathBuf {
    release_bin("0.2.0", "rapport-server")
}

/// This build's server.
fn new_server() -> PathBuf {
    bin("rapport-server")
}

/// What `program --version` prints.
fn version_of(program: &Path) -> String {
    let out = Command::new(program).arg("--version").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The schema version and the newest breaking migration the database records.
fn schema(db: &TestDatabase) -> (i64, i64) {
    (
        db.query_i64("SELECT version FROM rapport_schema").unwrap(),
        db.query_i64("SELECT required FROM rapport_schema").unwrap(),
    )
}

/// Waits (at most `LIVE_WAIT`; nodes report themselves every 10 s) until
/// `node` lists exactly `expected` as its live nodes: (name, release).
fn wait_for_live_nodes(node: &Server, expected: &[(&str, &str)]) {
    let deadline = Instant::now() + LIVE_WAIT;
    loop {
        let (status, answer) = node.admin_get("/v1/admin/nodes");
        assert_eq!(status, 200, "{answer}");
        let live: Vec<(String, String)> = answer["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["live"] == true)
            .map(|n| (n["name"].as_str().unwrap().to_owned(), n["release"].as_str().unwrap().to_owned()))
            .collect();
        if live.iter().map(|(n, r)| (n.as_str(), r.as_str())).eq(expected.iter().copied()) {
            return;
        }
        assert!(Instant::now() < deadline, "{} lists {live:?}, not {expected:?}", node.url);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One round: every device makes an edit (a new account now and then, else
/// a field of one it holds) and syncs through a node picked at random,
/// which must acknowledge it; `acked` keeps what each device had acknowledged.
fn round(
    rt: &tokio::runtime::Runtime,
    nodes: &[Server],
    devices: &mut [Device],
    acked: &mut [Acknowledged],
    rng: &mut SmallRng,
    label: &str,
) {
    for (i, device) in devices.iter_mut().enumerate() {
        let ids = device.replica.account_ids().unwrap();
        if ids.is_empty() || rng.random_range(0..3) == 0 {
            let mut account = NewAccount::new(format!("Клієнт {label} {i}"));
            account.territory = Some("UA-30".into());
            device.replica.create_account(&account).unwrap();
        } else {
            let id = ids[rng.random_range(0..ids.len())];
            device.replica.edit(id, |e| e.set_field("party.source", &format!("джерело {label} {i}"))).unwrap();
        }
        let node = random_node(nodes, rng);
        device.sync(rt, node).unwrap_or_else(|e| panic!("sync through {} ({label}) failed: {e}", node.url));
        acked[i] = device.heads();
    }
}

#[test]
fn old_and_new_nodes_serve_one_database_side_by_side_through_an_upgrade() {
    let (old, new) = (old_server(), new_server());
    assert_eq!(version_of(&old), "rapport-server 0.2.0", "the previous release, built from history");
    assert_eq!(version_of(&new), concat!("rapport-server ", env!("CARGO_PKG_VERSION")));
    let mut rng = SmallRng::seed_from_u64(seed("RAPPORT_UPGRADE_SEED"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().unwrap();

    // Before: two nodes of 0.2.0, which migrate the fresh database to its schema.
    let mut nodes =
        vec![start_node(&old, root.path(), db.url(), "node-0"), start_node(&old, root.path(), db.url(), "node-1")];
    assert_eq!(schema(&db), (8, 8), "0.2.0 knows store migrations 1-8, all breaking");
    let mut devices: Vec<Device> = [("office", "office"), ("olena", "rep"), ("taras", "rep")]
        .into_iter()
        .map(|(user, role)| {
            let (token, _) = add_user(random_node(&nodes, &mut rng), user, role, &["UA-30"]);
            Device::new(root.path(), user, token)
        })
        .collect();
    let mut acked = vec![Acknowledged::new(); devices.len()];
    for r in 0..3 {
        round(&rt, &nodes, &mut devices, &mut acked, &mut rng, &format!("0.2.0/{r}"));
    }

    // Step 1: node-0 is replaced by this build, which migrates the database
    // while node-1 (0.2.0) goes on serving from it.
    assert!(std::mem::replace(&mut nodes[0], start_node(&new, root.path(), db.url(), "node-0")).stop().success());
    let (version, required) = schema(&db);
    assert_eq!(version, rapport_store_postgres::schema_version() as i64, "the new node migrated the database");
    assert!(version > 8, "this build has store migrations 0.2.0 does not know");
    assert_eq!(required, 8, "every migration since 0.2.0 is additive");
    for r in 0..3 {
        round(&rt, &nodes, &mut devices, &mut acked, &mut rng, &format!("mixed/{r}"));
    }
    // The new node reports itself (store migration 9); 0.2.0 does not.
    let this = env!("CARGO_PKG_VERSION");
    wait_for_live_nodes(&nodes[0], &[("node-0", this)]);

    // Across the two versions: a push through the new node reaches a live
    // socket on the old one, and the other way round.
    let (watcher_token, _) = add_user(&nodes[1], "manager-desk", "office", &[]);
    let mut watcher = Device::new(root.path(), "manager-desk", watcher_token.clone());
    rt.block_on(async {
        for (pushed_through, watched_on) in [(0, 1), (1, 0)] {
            let mut ws = connect(&nodes[watched_on], &watcher_token).await;
            ws_sync(&mut ws, &mut watcher.replica).await;
            let office = &mut devices[0];
            let name = format!("Порт {pushed_through}→{watched_on}");
            let mut account = NewAccount::new(&name);
            account.territory = Some("UA-30".into());
            let id = office.replica.create_account(&account).unwrap();
            rapport_client::sync_once(&nodes[pushed_through].url, &office.token, &mut office.replica).await.unwrap();
            acked[0] = office.heads();
            let pushed = tokio::time::timeout(LIVE_WAIT, next_response(&mut ws)).await.expect("a live push");
            watcher.replica.sync_apply(&PushPlan::default(), &pushed).unwrap();
            assert_eq!(watcher.replica.account(id).unwrap().party.name, name);
        }
    });

    // A device revoked through the new node is refused by the old one at
    // once, and its socket there is closed.
    let (token, device_id) = add_user(&nodes[1], "ivan", "rep", &["UA-30"]);
    let mut ivan = Device::new(root.path(), "ivan", token.clone());
    ivan.sync(&rt, &nodes[1]).unwrap();
    rt.block_on(async {
        let mut ws = connect(&nodes[1], &token).await;
        ws_sync(&mut ws, &mut ivan.replica).await;
        let (status, answer) =
            nodes[0].admin_post(&format!("/v1/admin/devices/{device_id}/revoke"), &serde_json::Value::Null);
        assert_eq!(status, 200, "revoke: {answer}");
        let refused = rapport_client::sync_once(&nodes[1].url, &token, &mut ivan.replica).await;
        assert!(matches!(refused, Err(ClientError::Unauthorized { .. })), "the 0.2.0 node answered {refused:?}");
        let code = tokio::time::timeout(LIVE_WAIT, closed_with(&mut ws)).await.expect("the socket is closed");
        assert_eq!(code, Some(CloseCode::Policy));
    });

    // The old node dies and comes back as 0.2.0 on the migrated database.
    std::mem::replace(&mut nodes[1], start_node(&old, root.path(), db.url(), "node-1")).kill9();
    for r in 0..3 {
        round(&rt, &nodes, &mut devices, &mut acked, &mut rng, &format!("restarted/{r}"));
    }

    // A conflict made offline is listed the same by both versions.
    let contested: AccountId = devices[1].replica.account_ids().unwrap()[0];
    devices[2].sync(&rt, &nodes[0]).unwrap();
    for (i, industry) in [(1, "Металургія"), (2, "Харчова")] {
        devices[i].replica.edit(contested, |e| e.set_field("party.industry", industry)).unwrap();
    }
    for i in [1, 2, 1] {
        devices[i].sync(&rt, &nodes[i % 2]).unwrap();
        acked[i] = devices[i].heads();
    }
    // Both versions report the same figures from the shared rows.
    same_reports_everywhere(&nodes, &["open-conflicts", "lifecycle", "contact-depth"]);
    let (_, conflicts) = nodes[1].admin_get("/v1/reports/open-conflicts");
    assert!(
        conflicts["rows"].as_array().unwrap().iter().any(|r| r["account_id"] == contested.to_string().as_str()),
        "{conflicts:#}"
    );

    // Step 2: node-1 is replaced too; everyone converges on this build alone.
    assert!(std::mem::replace(&mut nodes[1], start_node(&new, root.path(), db.url(), "node-1")).stop().success());
    round(&rt, &nodes, &mut devices, &mut acked, &mut rng, "upgraded");
    for node in &nodes {
        wait_for_live_nodes(node, &[("node-0", this), ("node-1", this)]);
    }
    let (token, _) = add_user(&nodes[1], "auditor", "office", &[]);
    let mut fresh = Device::new(root.path(), "auditor", token);
    fresh.sync(&rt, &nodes[0]).unwrap();
    assert_holds_acknowledged(&fresh.replica, &acked);
    for _ in 0..2 {
        for device in &mut devices {
            device.sync(&rt, random_node(&nodes, &mut rng)).unwrap();
        }
    }
    for device in &devices {
        assert_eq!(device.replica.unsynced_count().unwrap(), 0);
        assert_eq!(device.heads(), devices[0].heads(), "every device converged");
        assert_eq!(device.conflicts(contested), devices[0].conflicts(contested));
    }
}

#[test]
fn the_old_release_refuses_a_database_past_a_breaking_migration_and_says_to_upgrade() {
    let root = tempfile::tempdir().unwrap();
    let db = TestDatabase::create().unwrap();
    let status = start_node(&new_server(), root.path(), db.url(), "node-0").stop();
    assert!(status.success(), "{status:?}");
    let newer = rapport_store_postgres::schema_version() as i64 + 1;
    db.execute(&format!("UPDATE rapport_schema SET version = {newer}, required = {newer}")).unwrap();

    let mut child = Command::new(old_server())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db.url(), "--data"])
        .arg(root.path().join("old"))
        .env("RAPPORT_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "0.2.0 kept running on a database it cannot serve");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("upgrade the server"), "{stderr}");
    assert_eq!(schema(&db), (newer, newer), "the refused server changed nothing");
}

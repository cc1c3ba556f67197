//! Backups while clients push, through the command line and the admin API,
//! on a schedule with retention, and restores.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use rusqlite::{Connection, OpenFlags};

fn server_cli(args: &[&str], paths: &[(&str, &Path)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport-server"));
    command.args(args);
    for (flag, path) in paths {
        command.arg(flag).arg(path);
    }
    let out = command.output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// `(document id, last_seq)` of every document in a server database file.
fn documents(path: &Path) -> Vec<(String, u64)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut statement = conn.prepare("SELECT id, last_seq FROM documents ORDER BY id").unwrap();
    statement.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))).unwrap().map(Result::unwrap).collect()
}

fn integrity_ok(path: &Path) -> bool {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap() == "ok"
}

/// The log position printed by `rapport-server backup`.
fn printed_head(out: &str) -> u64 {
    let tail = out.split("log up to position ").nth(1).unwrap_or_else(|| panic!("no position in {out}"));
    tail.trim_end().trim_end_matches('.').parse().unwrap_or_else(|_| panic!("no position in {out}"))
}

/// Accounts a fresh device pulls from a server.
async fn accounts_on(server: &TestServer) -> BTreeSet<String> {
    let mut device = Device::new("probe");
    sync(server, &mut device.replica).await;
    device.replica.account_ids().unwrap().into_iter().map(|id| id.to_string()).collect()
}

/// Devices that each create an account and sync, over and over, until stopped.
struct Pushers {
    stop: Arc<AtomicBool>,
    pushes: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Pushers {
    fn start(server: &TestServer, n: usize) -> Pushers {
        let stop = Arc::new(AtomicBool::new(false));
        let pushes = Arc::new(AtomicUsize::new(0));
        let tasks = (0..n)
            .map(|i| {
                let (stop, pushes) = (stop.clone(), pushes.clone());
                let url = server.url.clone();
                tokio::spawn(async move {
                    let mut device = Device::new(&format!("pusher{i}"));
                    let mut k = 0;
                    while !stop.load(Ordering::Relaxed) {
                        device.account(&format!("Pusher {i} account {k}"));
                        push(&url, &mut device.replica).await;
                        pushes.fetch_add(1, Ordering::Relaxed);
                        k += 1;
                    }
                })
            })
            .collect();
        Pushers { stop, pushes, tasks }
    }

    async fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.pushes.load(Ordering::Relaxed) < n {
            assert!(Instant::now() < deadline, "pushers made no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
    }
}

/// Pushes the replica's unsynced documents (pulling only what comes along).
async fn push(url: &str, replica: &mut rapport_core::Replica) {
    use rapport_core::sync::Message;
    let (request, plan) = replica.sync_request(rapport_core::SyncLimits::default()).unwrap();
    let response = client()
        .post(format!("{url}/v1/sync"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body(Message::Request(request).encode())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let Message::Response(response) = Message::decode(&response.bytes().await.unwrap()).unwrap() else {
        panic!("not a response")
    };
    let report = replica.sync_apply(&plan, &response).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_clients_push_is_complete_up_to_its_log_position() {
    let (dir, server) = TestServer::start().await;
    let pushers = Pushers::start(&server, 4);
    pushers.wait_for(20).await;

    // The command line, in its own process, on the running server's data directory.
    let backup = dir.path().join("backups/while-pushing.db");
    let (ok, out, err) = server_cli(&["backup"], &[("--data", dir.path()), ("--to", &backup)]);
    assert!(ok, "backup failed: {err}");
    let head = printed_head(&out);
    assert!(head > 0, "{out}");
    assert!(out.contains("integrity check ok"), "{out}");

    // Pushes go on after the backup.
    let after_backup = pushers.pushes.load(Ordering::Relaxed);
    pushers.wait_for(after_backup + 8).await;
    pushers.finish().await;
    let live_accounts = accounts_on(&server).await;
    server.stop().await;

    assert!(integrity_ok(&backup));
    let live = documents(&dir.path().join("rapport-server.db"));
    let in_backup = documents(&backup);
    let live_head = live.iter().map(|(_, seq)| *seq).max().unwrap();
    assert!(live_head > head, "pushes continued past the backup ({live_head} > {head})");
    assert_eq!(in_backup.iter().map(|(_, seq)| *seq).max().unwrap(), head, "the reported head is the backup's");
    // Each pushed account has one change: its position says when it was stored.
    let expected: Vec<(String, u64)> = live.iter().filter(|(_, seq)| *seq <= head).cloned().collect();
    assert_eq!(in_backup, expected, "every change at or below the reported position, and nothing else");

    // Restored and served, the backup gives a fresh device exactly those accounts.
    let restored = tempfile::tempdir().unwrap();
    let (ok, out, err) = server_cli(&["restore"], &[("--from", &backup), ("--data", restored.path())]);
    assert!(ok, "restore failed: {err}");
    assert!(out.contains(&format!("log up to position {head}")), "{out}");
    let server = TestServer::start_in(restored.path(), |_| {}).await;
    let accounts = accounts_on(&server).await;
    server.stop().await;
    let expected_accounts: BTreeSet<String> =
        expected.iter().map(|(id, _)| id.clone()).filter(|id| live_accounts.contains(id)).collect();
    assert!(!expected_accounts.is_empty());
    assert_eq!(accounts, expected_accounts);
}

#[tokio::test]
async fn the_backup_command_refuses_to_overwrite_and_needs_a_database() {
    let (dir, server) = TestServer::start().await;
    let mut ana = Device::new("ana");
    ana.account("Acme");
    sync(&server, &mut ana.replica).await;
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"keep me").unwrap();
    let (ok, _, err) = server_cli(&["backup"], &[("--data", dir.path()), ("--to", &existing)]);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, err) = server_cli(&["backup"], &[("--data", empty.path()), ("--to", &dir.path().join("x.db"))]);
    assert!(!ok && err.contains("there is no server database"), "{err}");
    assert!(!dir.path().join("x.db").exists());
    server.stop().await;
}

#[tokio::test]
async fn the_admin_api_backs_up_into_the_backup_directory_only() {
    let backups = tempfile::tempdir().unwrap();
    let backup_dir = backups.path().join("inside");
    let target = backup_dir.clone();
    let (dir, server) = TestServer::start_with(move |c| c.backup.dir = Some(target)).await;
    let mut ana = Device::new("ana");
    ana.account("Acme");
    sync(&server, &mut ana.replica).await;

    let post = |body: serde_json::Value| admin(&server, TOKEN, reqwest::Method::POST, "/backup", Some(body));
    for name in ["../outside.db", "../../etc/x", "/tmp/absolute.db", "a/b.db", "..", ".hidden", ""] {
        let (status, body) = post(serde_json::json!({ "name": name })).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request");
    }
    let (status, body) = post(serde_json::json!({ "file": "x.db" })).await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");
    assert!(!backups.path().join("outside.db").exists());
    assert!(!dir.path().join("absolute.db").exists());

    let (status, body) = post(serde_json::json!({ "name": "nightly.db" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["file"], "nightly.db");
    let file = backup_dir.join("nightly.db");
    assert!(integrity_ok(&file));
    let head = body["head"].as_u64().unwrap();
    assert_eq!(documents(&file).iter().map(|(_, s)| *s).max().unwrap(), head);
    let (status, body) = post(serde_json::json!({ "name": "nightly.db" })).await;
    assert_eq!(status, 409, "an existing backup is not overwritten: {body}");

    // Without a name: a time-stamped one.
    let (status, body) = admin(&server, TOKEN, reqwest::Method::POST, "/backup", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(rapport_server::backup::is_scheduled_name(body["file"].as_str().unwrap()), "{body}");
    let listed: BTreeSet<String> =
        std::fs::read_dir(&backup_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(listed.len(), 2, "only the two backups, no temporary files: {listed:?}");

    // Not for reps.
    let rep = add_user(&server, "ray", "rep", &[], &[]).await;
    let (status, _) = admin(&server, &rep, reqwest::Method::POST, "/backup", None).await;
    assert_eq!(status, 403);
    server.stop().await;

    // A server without a backup directory says how to configure one.
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (status, body) = admin(&server, TOKEN, reqwest::Method::POST, "/backup", None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("--backup-dir"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_the_newest() {
    let backups = tempfile::tempdir().unwrap();
    let backup_dir = backups.path().to_path_buf();
    std::fs::write(backup_dir.join("by-hand.db"), b"not touched by retention").unwrap();
    let target = backup_dir.clone();
    let (_dir, server) = TestServer::start_with(move |c| {
        c.backup.dir = Some(target);
        c.backup.every = Some(Duration::from_secs(1));
        c.backup.keep = 2;
    })
    .await;
    let mut ana = Device::new("ana");
    let scheduled = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| rapport_server::backup::is_scheduled_name(n))
            .collect()
    };
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < 5 {
        assert!(Instant::now() < deadline, "scheduled backups do not come every second: {seen:?}");
        ana.account("Acme");
        sync(&server, &mut ana.replica).await;
        let now = scheduled(&backup_dir);
        assert!(now.len() <= 2, "retention keeps 2: {now:?}");
        seen.extend(now);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
    let left = scheduled(&backup_dir);
    let newest: BTreeSet<String> = seen.iter().rev().take(2).cloned().collect();
    assert!(left.len() == 2 && left.iter().all(|n| seen.contains(n)), "{left:?}");
    // Possibly one more ran after the last look; the kept ones are never older than what was seen last.
    assert!(left.iter().min() >= newest.iter().min(), "kept {left:?}, newest seen {newest:?}");
    for name in &left {
        assert!(integrity_ok(&backup_dir.join(name)));
    }
    assert_eq!(std::fs::read(backup_dir.join("by-hand.db")).unwrap(), b"not touched by retention");
}

#[tokio::test]
async fn restore_replaces_the_database_and_is_refused_while_a_server_runs() {
    let (dir, server) = TestServer::start().await;
    let mut ana = Device::new("ana");
    let before = ana.account("Before the backup");
    sync(&server, &mut ana.replica).await;
    let backup: PathBuf = dir.path().join("snapshot.db");
    let (ok, _, err) = server_cli(&["backup"], &[("--data", dir.path()), ("--to", &backup)]);
    assert!(ok, "{err}");
    let after = ana.account("After the backup");
    sync(&server, &mut ana.replica).await;

    let (ok, _, err) = server_cli(&["restore"], &[("--from", &backup), ("--data", dir.path())]);
    assert!(!ok && err.contains("a server is running"), "{err}");
    assert_eq!(accounts_on(&server).await.len(), 2, "nothing changed");
    server.stop().await;

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let (ok, _, err) = server_cli(&["restore"], &[("--from", &junk), ("--data", dir.path())]);
    assert!(!ok && err.contains("not a Rapport server database"), "{err}");

    let (ok, out, err) = server_cli(&["restore"], &[("--from", &backup), ("--data", dir.path())]);
    assert!(ok, "{err}");
    assert!(out.contains("kept as") && out.contains("next sync"), "{out}");
    let kept: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("rapport-server.db.before-restore-") && n.ends_with('Z'))
        .collect();
    assert_eq!(kept.len(), 1, "the replaced database is kept aside");
    assert!(documents(&dir.path().join(&kept[0])).iter().any(|(id, _)| *id == after.to_string()));

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let accounts = accounts_on(&server).await;
    assert_eq!(accounts, BTreeSet::from([before.to_string()]), "the server holds what the backup held");
    server.stop().await;
}

#[test]
fn scheduled_backup_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = server_cli(&["serve", "--backup-every", "1h"], &[("--data", dir.path())]);
    assert!(!ok && err.contains("--backup-dir"), "an interval needs a directory: {err}");
    for bad in ["0s", "1w", "soon"] {
        let (ok, _, err) =
            server_cli(&["serve", "--backup-every", bad], &[("--data", dir.path()), ("--backup-dir", dir.path())]);
        assert!(!ok && (err.contains("30s, 15m, 1h") || err.contains("longer than zero")), "{bad}: {err}");
    }
    let (ok, _, err) = server_cli(&["serve", "--backup-keep", "0"], &[("--data", dir.path())]);
    assert!(!ok && err.contains("--backup-keep"), "{err}");
    assert!(!dir.path().join("rapport-server.db").exists(), "no server started");
}

#[test]
fn restore_is_refused_while_a_server_of_0_1_0_holds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("rapport-server.db");
    rapport_server::db::create_at_version(&database, rapport_server::db::schema_version()).unwrap();
    let backup = dir.path().join("backup.db");
    let (ok, _, err) = server_cli(&["backup"], &[("--data", dir.path()), ("--to", &backup)]);
    assert!(ok, "{err}");
    // How 0.1.0 held its file: SQLite's exclusive locking mode, no lock file.
    let old_server = Connection::open(&database).unwrap();
    old_server.pragma_update(None, "locking_mode", "EXCLUSIVE").unwrap();
    old_server.pragma_update(None, "journal_mode", "WAL").unwrap();
    old_server.execute_batch("BEGIN EXCLUSIVE; COMMIT;").unwrap();
    let (ok, _, err) = server_cli(&["restore"], &[("--from", &backup), ("--data", dir.path())]);
    assert!(!ok && err.contains("a server is running"), "{err}");
    assert!(database.exists(), "the held database stays where it is");
    drop(old_server);
    let (ok, _, err) = server_cli(&["restore"], &[("--from", &backup), ("--data", dir.path())]);
    assert!(ok, "{err}");
}

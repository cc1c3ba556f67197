//! A device restored from an old backup of its own data re-pulls and loses
//! nothing (issue 12, ADR 0013): a real `rapport-server` process, real
//! replicas through the `rapport` CLI. The device syncs, its data directory
//! is copied (the backup), it makes and syncs more edits, the copy is put
//! back, it edits offline, then syncs: every change is on the server and on
//! the device, the offline edits too, nothing is applied twice, and another
//! device converges.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use rapport_e2e::*;
use serde_json::Value;

fn device(root: &Path, server: &Server, name: &str, token: &str) -> Desktop {
    let desktop = Desktop::new(root, name);
    desktop.ok(&["init", "--server", &server.url, "--token", token]);
    desktop
}

/// Syncs; the server refuses nothing. Returns the summary.
fn sync(d: &Desktop) -> Value {
    let summary = d.json(&["sync", "--json"]);
    assert_eq!(summary["rejected"], Value::Array(Vec::new()), "{} had pushes refused", d.name);
    summary
}

fn account(d: &Desktop, id: &str) -> Value {
    d.json(&["account", "show", id, "--json"])["account"].clone()
}

fn ids(d: &Desktop) -> Vec<String> {
    let rows = d.json(&["account", "list", "--include-deleted", "--json"]);
    let mut ids: Vec<String> = rows.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// Copies every file of a device's data directory (no CLI runs meanwhile:
/// the replica is closed, its WAL folded in).
fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file(), "a device directory holds only files");
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn subjects(account: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        account["interactions"].as_array().unwrap().iter().map(|i| i["subject"].as_str().unwrap().to_owned()).collect();
    out.sort();
    out
}

#[test]
fn a_device_restored_from_an_old_backup_gets_everything_back_and_keeps_its_offline_edits() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    std::fs::create_dir_all(&data).unwrap();
    let ana_token = add_user(&data, "ana", "admin");
    let office_token = add_user(&data, "office", "office");
    let server = Server::start(&data);
    let ana = device(root.path(), &server, "ana", &ana_token);
    let office = device(root.path(), &server, "office", &office_token);

    let acme = ana.last_line(&["account", "add", "--name", "Acme Oy"]);
    sync(&ana);
    sync(&office);
    // Unsent when the backup is taken, sent after it: never applied twice.
    ana.ok(&["interaction", "log", &acme, "--kind", "call", "--subject", "Call before the backup"]);
    let backup = root.path().join("ana-backup");
    copy_dir(&ana.dir, &backup);

    // After the backup: edits, a new account, all acknowledged.
    sync(&ana);
    ana.ok(&["interaction", "log", &acme, "--kind", "visit", "--subject", "Visit after the backup"]);
    ana.ok(&["account", "set", &acme, "party.industry", "Paper"]);
    let later = ana.last_line(&["account", "add", "--name", "Later Oy"]);
    sync(&ana);
    sync(&office);

    // The phone is restored from the backup, and used offline before it syncs.
    copy_dir(&backup, &ana.dir);
    assert!(!ids(&ana).contains(&later), "the backup predates the later account");
    ana.ok(&["interaction", "log", &acme, "--kind", "call", "--subject", "Call on the restored phone"]);
    ana.ok(&["account", "set", &acme, "party.website", "https://acme.example"]);
    let offline = ana.last_line(&["account", "add", "--name", "Offline AB"]);

    let summary = sync(&ana);
    assert_eq!(summary["replica_restored"], Value::Bool(true), "{summary}");
    assert!(summary["rebuilt_after_restore"].as_u64().unwrap() >= 3, "{summary}");
    // Healed: the next sync is plain.
    assert_eq!(sync(&ana)["replica_restored"], Value::Bool(false));

    sync(&office);
    let reader = device(root.path(), &server, "reader", &ana_token);
    sync(&reader);
    let mut all = vec![acme.clone(), later.clone(), offline.clone()];
    all.sort();
    for d in [&reader, &ana, &office] {
        assert_eq!(ids(d), all, "{} holds every account", d.name);
    }
    let on_server = account(&reader, &acme);
    assert_eq!(
        subjects(&on_server),
        ["Call before the backup", "Call on the restored phone", "Visit after the backup"],
        "every call and visit once"
    );
    assert_eq!(on_server["party"]["industry"], "Paper");
    assert_eq!(on_server["party"]["website"], "https://acme.example");
    assert_eq!(account(&reader, &later)["party"]["name"], "Later Oy");
    assert_eq!(account(&reader, &offline)["party"]["name"], "Offline AB");
    for id in &all {
        let expected = account(&reader, id);
        for d in [&ana, &office] {
            assert_eq!(account(d, id), expected, "{} has account {id} as the server has it", d.name);
        }
    }
    assert_eq!(ana.json(&["refused", "list", "--json"]), Value::Array(Vec::new()));
}

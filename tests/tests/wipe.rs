//! Remote wipe through a real server process and the real `rapport` CLI: an
//! administrator revokes a lost laptop with `device revoke --wipe`; at its
//! next sync (or, while it watches, at its next reconnect) it erases its
//! replica and configuration and reports it, and the server's device list
//! says how many unsynced changes were lost with it. A plainly revoked
//! device keeps its data, and its sync fails with the revoked message.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rapport_e2e::*;

/// Runs `rapport-server ARGS --data DATA` (the server must be stopped); returns stdout.
fn manage(data: &Path, args: &[&str]) -> String {
    let out = Command::new(bin("rapport-server")).args(args).arg("--data").arg(data).output().unwrap();
    assert!(out.status.success(), "`rapport-server {}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn device_id(d: &Desktop) -> i64 {
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.dir.join("config.json")).unwrap()).unwrap();
    config["device_id"].as_i64().unwrap()
}

/// The files a desktop's replica directory holds.
fn files(d: &Desktop) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&d.dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn devices_line(data: &Path, id: i64) -> String {
    let list = manage(data, &["device", "list"]);
    list.lines().find(|l| l.starts_with(&format!("{id}\t"))).unwrap().to_owned()
}

#[test]
fn a_device_revoked_as_lost_erases_its_data_and_a_plainly_revoked_one_keeps_it() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = Server::start(&data);
    let lost = Desktop::new(root.path(), "lost");
    let kept = Desktop::new(root.path(), "kept");
    lost.init(&server);
    kept.init(&server);
    let acme = lost.last_line(&["account", "add", "--name", "Acme Oy"]);
    lost.ok(&["sync"]);
    kept.ok(&["sync"]);
    // Offline work the server never gets: a new account and an edit on each device.
    lost.ok(&["account", "set", &acme, "party.industry", "Paper"]);
    lost.ok(&["account", "add", "--name", "Globex"]);
    kept.ok(&["account", "set", &acme, "address.city", "Tampere"]);
    assert!(files(&lost).contains(&"replica.db".to_owned()), "{:?}", files(&lost));
    let (lost_id, kept_id) = (device_id(&lost), device_id(&kept));

    // The administrator revokes one laptop as lost, the other plainly (server stopped: the CLI).
    let addr = server.addr();
    assert!(server.stop().success());
    let said = manage(&data, &["device", "revoke", &lost_id.to_string(), "--wipe"]);
    assert!(said.contains("as lost"), "{said}");
    manage(&data, &["device", "revoke", &kept_id.to_string()]);
    assert!(devices_line(&data, lost_id).contains("revoked, wipe pending"));
    let server = Server::start_on(&data, &addr);

    let out = lost.run(&["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("this device was reported lost"), "{stderr}");
    assert!(stderr.contains("2 unsynced change(s) in 2 document(s) were lost (the server recorded it)"), "{stderr}");
    assert!(files(&lost).is_empty(), "replica, its -wal/-shm and the config are gone: {:?}", files(&lost));
    let out = lost.run(&["account", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no replica at"), "nothing is left to read");

    // The plainly revoked device keeps everything, and is told its token was revoked.
    let out = kept.run(&["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the token (the token is unknown or revoked)"), "{stderr}");
    assert!(!stderr.contains("lost"), "{stderr}");
    assert!(files(&kept).contains(&"replica.db".to_owned()) && files(&kept).contains(&"config.json".to_owned()));
    let status = kept.json(&["status", "--json"]);
    assert_eq!(status["unsynced_docs"], 1, "{status}");
    assert_eq!(kept.json(&["account", "show", &acme, "--json"])["account"]["party"]["address"]["city"], "Tampere");

    assert!(server.stop().success());
    let line = devices_line(&data, lost_id);
    assert!(line.contains("wiped (lost 2 unsynced change(s) in 2 document(s))"), "{line}");
    assert!(devices_line(&data, kept_id).contains("\trevoked\t"));
}

/// A device that watches (the live socket) is told at its next reconnect,
/// after the revoke closed its socket.
#[test]
fn a_watching_device_revoked_as_lost_erases_its_data() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = Server::start(&data);
    let field = Desktop::new(root.path(), "field");
    field.init(&server);
    field.ok(&["account", "add", "--name", "Acme Oy"]);
    field.ok(&["sync"]);
    let mut watch = field.command().args(["watch"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(1));

    let id = device_id(&field);
    let (status, body) =
        server.admin_post(&format!("/v1/admin/devices/{id}/revoke"), &serde_json::json!({"wipe": true}));
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = watch.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "watch did not stop after the wipe");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(exit.code(), Some(1), "{stderr}");
    assert!(stderr.contains("this device was reported lost"), "{stderr}");
    assert!(files(&field).is_empty(), "{:?}", files(&field));
    assert!(server.stop().success());
    // Everything had been pushed while it watched: nothing was lost.
    let line = devices_line(&data, id);
    assert!(line.contains("wiped (lost 0 unsynced change(s) in 0 document(s))"), "{line}");
}

/// The mobile bindings: a sync of a device revoked as lost does not throw;
/// its report says the data was wiped and what was lost, the files are gone
/// and the `Replica` holds nothing. A plainly revoked device is refused
/// (`Unauthorized`) and keeps its data.
#[tokio::test(flavor = "multi_thread")]
async fn the_bindings_report_a_wipe_and_erase_the_replica() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let mut phones = Vec::new();
    for name in ["lost", "kept"] {
        let token = server.device_token(name, "office", &format!("{name}-phone"));
        let path = root.path().join(name).join("replica.db");
        {
            // Two accounts made offline: never sent.
            let identity = rapport_core::DeviceIdentity::new(name, format!("{name}-phone"));
            let mut replica = rapport_core::Replica::open(&path, &identity).unwrap();
            replica.create_account(&rapport_core::NewAccount::new("Acme Oy")).unwrap();
            replica.create_account(&rapport_core::NewAccount::new("Globex")).unwrap();
        }
        let owner = rapport_ffi::whoami(server.url.clone(), token.clone(), None).await.unwrap();
        let replica =
            rapport_ffi::open_with_token(path.to_string_lossy().into_owned(), server.url.clone(), token.clone(), None)
                .await
                .unwrap();
        phones.push((token, path, owner.device_id, replica));
    }
    let [(lost_token, lost_path, lost_id, lost), (kept_token, kept_path, kept_id, kept)] =
        <[_; 2]>::try_from(phones).unwrap();
    let (status, body) =
        server.admin_post(&format!("/v1/admin/devices/{lost_id}/revoke"), &serde_json::json!({"wipe": true}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.admin_post(&format!("/v1/admin/devices/{kept_id}/revoke"), &serde_json::json!({}));
    assert_eq!(status, 200, "{body}");

    let report = lost.clone().sync(server.url.clone(), lost_token, None, None).await.unwrap();
    let wiped = report.wiped.expect("the report says the data was wiped");
    assert_eq!((wiped.lost_documents, wiped.lost_changes, wiped.reported), (2, 2, true));
    assert_eq!((report.pushed_docs, report.pulled_docs), (0, 0));
    let left: Vec<_> = std::fs::read_dir(lost_path.parent().unwrap()).unwrap().collect();
    assert!(left.is_empty(), "no replica file is left: {left:?}");
    assert!(lost.list(filter()).is_err(), "the erased replica holds nothing");

    match kept.clone().sync(server.url.clone(), kept_token, None, None).await {
        Err(rapport_ffi::RapportError::Unauthorized { message }) => assert!(message.contains("revoked"), "{message}"),
        other => panic!("a plain revoke is Unauthorized, got {other:?}"),
    }
    assert_eq!(kept.list(filter()).unwrap().len(), 2, "a plain revoke keeps the data");
    assert!(kept_path.exists());
    assert!(server.stop().success());
}

fn filter() -> rapport_ffi::AccountFilter {
    rapport_ffi::AccountFilter::default()
}

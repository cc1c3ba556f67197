//! The management commands on the data directory, the audit log, and the
//! clear refusal while a server holds the database.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn manage(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rapport-server")).args(args).arg("--data").arg(data).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test]
async fn users_made_on_the_data_dir_sync_and_every_accepted_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = manage(dir.path(), &["team", "add", "north"]);
    assert!(ok, "{err}");
    let (ok, out, err) =
        manage(dir.path(), &["user", "add", "ray", "--role", "rep", "--team", "north", "--territory", "helsinki"]);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    assert_eq!(token.len(), 64, "the token alone on the last line: {out}");
    let (ok, _, err) = manage(dir.path(), &["user", "add", "x", "--role", "root"]);
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (_, users, _) = manage(dir.path(), &["user", "list"]);
    assert!(users.lines().any(|l| l.starts_with("ray\trep\tnorth\thelsinki")), "{users}");

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let health = client().get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200, "the server is up and holds the database");
    let (ok, _, err) = manage(dir.path(), &["user", "list"]);
    assert!(!ok && err.contains("use the admin API"), "a clear refusal while the server runs: {err}");
    let mut ray = Device::new("ray");
    let mut new = rapport_core::NewAccount::new("Acme");
    new.owner = Some("ray".into());
    let id = ray.replica.create_account(&new).unwrap();
    ray.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    sync_as(&server, &token, &mut ray.replica).await;
    let (status, body) = admin(&server, TOKEN, reqwest::Method::GET, &format!("/audit?account={id}"), None).await;
    assert_eq!(status, 200);
    let entries = body["audit"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    assert!(entries.iter().all(|e| e["user"] == "ray" && e["document"] == id.to_string().as_str()));
    assert_eq!(entries[1]["op"], "account.set_field");
    server.stop().await;

    let (ok, audit, err) = manage(dir.path(), &["audit", "--account", &id.to_string()]);
    assert!(ok, "{err}");
    assert_eq!(audit.lines().filter(|l| l.contains("\tray\t")).count(), 2, "{audit}");
    let (_, devices, _) = manage(dir.path(), &["device", "list"]);
    let ray_device = devices.lines().find(|l| l.contains("\tray\t")).unwrap();
    assert!(ray_device.ends_with(&ray.replica.author().actor.to_hex_string()), "the actor is bound: {ray_device}");
    let id_col = ray_device.split('\t').next().unwrap();
    let (ok, _, _) = manage(dir.path(), &["device", "revoke", id_col]);
    assert!(ok);

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (status, _) = post_sync_as(
        &server,
        &token,
        rapport_core::sync::Message::Request(ray.replica.sync_request(Default::default()).unwrap().0).encode(),
    )
    .await;
    assert_eq!(status, 401, "a token revoked on the data dir is refused");
    server.stop().await;
}

//! Administrators' actions in the audit log: who added, changed, deleted or
//! revoked what, and who took a backup, through the admin API and the
//! management commands on the data directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn actions(server: &TestServer) -> Vec<Value> {
    let (status, body) = admin(server, TOKEN, Method::GET, "/actions", None).await;
    assert_eq!(status, 200, "{body}");
    body["actions"].as_array().unwrap().clone()
}

async fn whoami(server: &TestServer, token: &str) -> i64 {
    let response =
        client().get(format!("{}/v1/whoami", server.url)).bearer_auth(token).send().await.unwrap().bytes().await;
    serde_json::from_slice::<Value>(&response.unwrap()).unwrap()["device_id"].as_i64().unwrap()
}

#[tokio::test]
async fn every_admin_action_through_the_api_is_recorded_with_who_did_it() {
    let (dir, server) = TestServer::start_with(|c| c.backup.dir = Some(c.data_dir.join("backups"))).await;
    let admin_device = whoami(&server, TOKEN).await;
    let before = client().get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(before.status().as_u16(), 200);
    let started = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 1000;

    add_team(&server, "north").await;
    let ray = add_user(&server, "ray", "rep", &["north"], &["helsinki"]).await;
    let (second, _) = add_device(&server, "ray").await;
    let (third, _) = add_device(&server, "ray").await;
    let (status, body) =
        admin(&server, TOKEN, Method::PATCH, "/users/ray", Some(json!({ "role": "manager", "territories": [] }))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = admin(&server, TOKEN, Method::POST, &format!("/devices/{second}/revoke"), None).await;
    assert_eq!(status, 200);
    let (status, _) =
        admin(&server, TOKEN, Method::POST, &format!("/devices/{third}/revoke"), Some(json!({ "wipe": true }))).await;
    assert_eq!(status, 200);
    let (status, body) = admin(&server, TOKEN, Method::POST, "/backup", Some(json!({ "name": "b1.db" }))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = admin(&server, TOKEN, Method::DELETE, "/users/ray", None).await;
    assert_eq!(status, 200);

    // Refused actions change nothing and record nothing.
    let (status, _) = admin(&server, TOKEN, Method::POST, "/users", Some(json!({ "name": "x", "role": "root" }))).await;
    assert_eq!(status, 400);
    let (status, _) = admin(&server, TOKEN, Method::DELETE, "/users/admin", None).await;
    assert_eq!(status, 403);
    let (status, _) = admin(&server, TOKEN, Method::POST, "/devices/999/revoke", None).await;
    assert_eq!(status, 404);

    let list = actions(&server).await;
    let summary: Vec<(String, String)> = list
        .iter()
        .map(|a| (a["action"].as_str().unwrap().to_owned(), a["subject"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("team.add", "north".to_owned()),
        ("user.add", "ray".to_owned()),
        ("device.add", second.to_string()),
        ("device.add", third.to_string()),
        ("user.set", "ray".to_owned()),
        ("device.revoke", second.to_string()),
        ("device.revoke_wipe", third.to_string()),
        ("backup", "b1.db".to_owned()),
        ("user.delete", "ray".to_owned()),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, s)| ((*a).to_owned(), s.clone())).collect();
    assert_eq!(summary, expected);
    for a in &list {
        assert_eq!(a["user"], "admin", "{a}");
        assert_eq!(a["device_id"], admin_device, "{a}");
        assert!(a["console_user"].is_null(), "{a}");
        assert!(a["at"].as_i64().unwrap() >= started, "{a}");
    }
    assert_eq!(
        list[1]["detail"],
        json!({ "role": "rep", "teams": ["north"], "territories": ["helsinki"], "device": "first device", "device_id": list[1]["detail"]["device_id"] })
    );
    assert_eq!(list[4]["detail"], json!({ "role": "manager", "territories": [] }));
    assert_eq!(list[6]["detail"], json!({ "wipe": true }));
    assert!(list[7]["detail"]["head"].is_u64());

    // Only admins read it; a bad parameter is refused.
    let (status, _) = admin(&server, &ray, Method::GET, "/actions", None).await;
    assert_eq!(status, 401, "ray's devices were revoked with the user");
    let (status, _) = admin(&server, TOKEN, Method::GET, "/actions?limit=x", None).await;
    assert_eq!(status, 400);
    let (status, body) = admin(&server, TOKEN, Method::GET, "/actions?limit=2", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["actions"].as_array().unwrap().len(), 2);
    assert_eq!(body["actions"][1]["action"], "user.delete", "the newest, oldest first");
    let rep = add_user(&server, "rita", "rep", &[], &[]).await;
    let (status, _) = admin(&server, &rep, Method::GET, "/actions", None).await;
    assert_eq!(status, 403);
    server.stop().await;

    // A management command on the stopped server's data directory records the console user.
    let out = Command::new(env!("CARGO_BIN_EXE_rapport-server"))
        .args(["team", "add", "south", "--data"])
        .arg(dir.path())
        .env("USER", "ops-person")
        .env_remove("RAPPORT_ADMIN_TOKEN")
        .env_remove("RAPPORT_SERVER")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let list = actions(&server).await;
    let last = list.last().unwrap();
    assert_eq!((last["action"].as_str(), last["subject"].as_str()), (Some("team.add"), Some("south")));
    assert_eq!(last["console_user"], "ops-person");
    assert!(last["user"].is_null() && last["device_id"].is_null(), "{last}");
    server.stop().await;
}

#[tokio::test]
async fn a_scheduled_backup_is_recorded_as_the_schedules_action() {
    let (_dir, server) = TestServer::start_with(|c| {
        c.backup.dir = Some(c.data_dir.join("backups"));
        c.backup.every = Some(std::time::Duration::from_secs(1));
    })
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let backup = loop {
        assert!(std::time::Instant::now() < deadline, "no scheduled backup was recorded");
        if let Some(a) = actions(&server).await.into_iter().find(|a| a["action"] == "backup") {
            break a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(backup["user"].is_null() && backup["device_id"].is_null() && backup["console_user"].is_null(), "{backup}");
    assert_eq!(backup["detail"]["scheduled"], true);
    assert!(rapport_server::backup::is_scheduled_name(backup["subject"].as_str().unwrap()), "{backup}");
    server.stop().await;
}

//! `GET /v1/directory`: every user, team and territory, for any device.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::NewAccount;

async fn directory(server: &TestServer, token: &str) -> (u16, serde_json::Value) {
    let response = client().get(format!("{}/v1/directory", server.url)).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

#[tokio::test]
async fn every_device_reads_the_users_teams_and_territories_and_nothing_secret() {
    let (_dir, server) = TestServer::start().await;
    add_team(&server, "kyiv").await;
    let ana = add_user(&server, "Ана", "rep", &["kyiv"], &["UA-30"]).await;
    add_user(&server, "olga", "office", &[], &[]).await;
    add_user(&server, "gone", "rep", &[], &[]).await;
    let (status, _) = admin(&server, TOKEN, reqwest::Method::DELETE, "/users/gone", None).await;
    assert_eq!(status, 200);
    // A territory placed on an account but given to nobody is still a choice.
    let mut olga = Device::new("olga");
    let mut new = NewAccount::new("Ромашка");
    new.territory = Some("UA-46".into());
    olga.replica.create_account(&new).unwrap();
    sync(&server, &mut olga.replica).await;

    let (status, body) = directory(&server, &ana).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["teams"], serde_json::json!(["kyiv"]));
    assert_eq!(body["territories"], serde_json::json!(["UA-30", "UA-46"]));
    let users = body["users"].as_array().unwrap();
    let names: Vec<&str> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "gone", "olga", "Ана"]);
    let ana_entry = &users[3];
    assert_eq!(ana_entry["role"], "rep");
    assert_eq!(ana_entry["teams"], serde_json::json!(["kyiv"]));
    assert_eq!(ana_entry["territories"], serde_json::json!(["UA-30"]));
    assert_eq!(ana_entry["active"], true);
    assert_eq!(users[1]["active"], false, "a deleted user is listed as inactive");
    let text = body.to_string();
    assert!(!text.contains("token") && !text.contains("device"), "{text}");

    let (status, body) = directory(&server, "an-unknown-token-0123456789").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    server.stop().await;
}

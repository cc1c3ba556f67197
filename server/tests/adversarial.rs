//! Attacks on access control. Refusals of a whole request are HTTP 401/403
//! with a JSON error; refusals of one pushed document are `Rejected` acks
//! (the protocol answers per document), and nothing refused is stored.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use rapport_core::sync::{AckStatus, Message};
use rapport_core::{NewAccount, SyncLimits};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Office users may write every account, so only the actor rules can refuse them.
async fn two_office_devices(server: &TestServer) -> (String, String) {
    (add_user(server, "olga", "office", &[], &[]).await, add_user(server, "otto", "office", &[], &[]).await)
}

#[tokio::test]
async fn a_change_made_with_another_devices_actor_is_rejected() {
    let (_dir, server) = TestServer::start().await;
    let (olga_token, otto_token) = two_office_devices(&server).await;
    let mut olga = Device::new("olga");
    let id = olga.account("Acme");
    sync_as(&server, &olga_token, &mut olga.replica).await;

    // Otto captures a change olga made (bound to her device) and pushes it as his own request.
    olga.replica.edit(id, |e| e.set_field("party.industry", "Forged")).unwrap();
    let (mut request, _) = olga.replica.sync_request(SyncLimits::default()).unwrap();
    let otto = Device::new("otto");
    request.actor = otto.replica.author().actor.to_bytes().to_vec();
    let (status, body) = post_sync_as(&server, &otto_token, Message::Request(request).encode()).await;
    assert_eq!(status, 200);
    let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("not a response") };
    match &response.acks[0].status {
        AckStatus::Rejected(reason) => {
            assert!(reason.contains(&id.to_string()) && reason.contains("another device"), "{reason}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let mut admin = Device::new("admin");
    sync(&server, &mut admin.replica).await;
    assert_eq!(admin.replica.account(id).unwrap().party.industry, None, "nothing of it was stored");
    server.stop().await;
}

#[tokio::test]
async fn replaying_another_devices_message_with_your_token_is_403() {
    let (_dir, server) = TestServer::start().await;
    let (olga_token, otto_token) = two_office_devices(&server).await;
    let mut olga = Device::new("olga");
    let id = olga.account("Acme");
    let (request, _) = olga.replica.sync_request(SyncLimits::default()).unwrap();
    let captured = Message::Request(request).encode();
    let (status, _) = post_sync_as(&server, &olga_token, captured.clone()).await;
    assert_eq!(status, 200);

    let (status, body) = post_sync_as(&server, &otto_token, captured).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "forbidden");
    let mut otto = Device::new("otto");
    sync_as(&server, &otto_token, &mut otto.replica).await;
    assert!(otto.replica.account(id).is_ok(), "otto's own device still syncs");
    server.stop().await;
}

#[tokio::test]
async fn revoked_tokens_and_deleted_users_are_refused_at_once() {
    let (_dir, server) = TestServer::start().await;
    let rep_token = add_user(&server, "ray", "rep", &[], &[]).await;
    let (device_id, second_token) = add_device(&server, "ray").await;
    let mut ray = Device::new("ray");
    sync_as(&server, &second_token, &mut ray.replica).await;

    // An open socket is closed with a reason when its device is revoked.
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {second_token}").parse().unwrap());
    let mut ws = tokio_tungstenite::connect_async(request).await.unwrap().0;
    let (sync_request, _) = ray.replica.sync_request(SyncLimits::default()).unwrap();
    ws.send(Frame::Binary(Message::Request(sync_request).encode().into())).await.unwrap();
    assert!(matches!(ws.next().await.unwrap().unwrap(), Frame::Binary(_)));
    let (status, body) =
        admin(&server, TOKEN, reqwest::Method::POST, &format!("/devices/{device_id}/revoke"), None).await;
    assert_eq!(status, 200, "{body}");
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("closed in time");
    match closed {
        Some(Ok(Frame::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Policy);
            assert!(frame.reason.contains("revoked"), "{}", frame.reason);
        }
        other => panic!("expected a Close frame, got {other:?}"),
    }

    // The revoked token is refused on HTTP; the user's other device still works.
    let empty = Message::Request(ray.replica.sync_request(SyncLimits::default()).unwrap().0).encode();
    let (status, body) = post_sync_as(&server, &second_token, empty).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    let mut first = Device::new("ray");
    let first_request = Message::Request(first.replica.sync_request(SyncLimits::default()).unwrap().0).encode();
    let (status, _) = post_sync_as(&server, &rep_token, first_request.clone()).await;
    assert_eq!(status, 200);

    // A deleted user's tokens are refused.
    let (status, _) = admin(&server, TOKEN, reqwest::Method::DELETE, "/users/ray", None).await;
    assert_eq!(status, 200);
    let (status, body) = post_sync_as(&server, &rep_token, first_request).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    server.stop().await;
}

/// The server remembers who a token belongs to, but never past a change of
/// its user: a demoted admin is refused the admin API on the next request,
/// and admitted again once promoted.
#[tokio::test]
async fn a_role_change_applies_to_the_next_request() {
    let (_dir, server) = TestServer::start().await;
    let token = add_user(&server, "ada", "admin", &[], &[]).await;
    for _ in 0..2 {
        let (status, body) = admin(&server, &token, reqwest::Method::GET, "/users", None).await;
        assert_eq!(status, 200, "{body}");
    }
    for (role, expected) in [("rep", 403), ("admin", 200), ("office", 403)] {
        let change = serde_json::json!({ "role": role });
        let (status, body) = admin(&server, TOKEN, reqwest::Method::PATCH, "/users/ada", Some(change)).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = admin(&server, &token, reqwest::Method::GET, "/users", None).await;
        assert_eq!(status, expected, "as {role}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_admin_api_needs_an_admin_and_answers_json() {
    let (_dir, server) = TestServer::start().await;
    let rep_token = add_user(&server, "ray", "rep", &[], &[]).await;
    let (status, body) = admin(&server, &rep_token, reqwest::Method::GET, "/users", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    for header in [None, Some("Bearer"), Some("Basic dXNlcjpwYXNz"), Some("Bearer not-a-known-token-at-all")] {
        let mut request = client().get(format!("{}/v1/admin/users", server.url));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{header:?}");
        assert_eq!(error_code(&response.bytes().await.unwrap()), "unauthorized");
    }
    let (status, body) = admin(&server, TOKEN, reqwest::Method::GET, "/users", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "ray"]);
    let bad = serde_json::json!({ "name": "x", "role": "root" });
    let (status, body) = admin(&server, TOKEN, reqwest::Method::POST, "/users", Some(bad)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")));
    let dup = serde_json::json!({ "name": "ray", "role": "rep" });
    let (status, _) = admin(&server, TOKEN, reqwest::Method::POST, "/users", Some(dup)).await;
    assert_eq!(status, 409);
    let unknown_team = serde_json::json!({ "teams": ["nowhere"] });
    let (status, _) = admin(&server, TOKEN, reqwest::Method::PATCH, "/users/ray", Some(unknown_team)).await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn a_device_over_its_rate_gets_429_and_others_are_unaffected() {
    let (_dir, server) = TestServer::start_with(|c| {
        c.rate_per_sec = 1.0;
        c.rate_burst = 3;
    })
    .await;
    let noisy = add_user(&server, "noisy", "rep", &[], &[]).await;
    let quiet = add_user(&server, "quiet", "rep", &[], &[]).await;
    let mut device = Device::new("noisy");
    let request = Message::Request(device.replica.sync_request(SyncLimits::default()).unwrap().0).encode();
    let body = || request.clone();
    for _ in 0..3 {
        assert_eq!(post_sync_as(&server, &noisy, body()).await.0, 200);
    }
    let response =
        client().post(format!("{}/v1/sync", server.url)).bearer_auth(&noisy).body(body()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(error_code(&response.bytes().await.unwrap()), "rate_limited");
    let mut other = Device::new("quiet");
    let (status, _) = post_sync_as(
        &server,
        &quiet,
        Message::Request(other.replica.sync_request(SyncLimits::default()).unwrap().0).encode(),
    )
    .await;
    assert_eq!(status, 200, "another device is not affected");
    server.stop().await;
}

#[tokio::test]
async fn a_document_over_the_size_limit_is_rejected() {
    let (_dir, server) = TestServer::start_with(|c| c.db.max_doc_bytes = 4096).await;
    let mut device = Device::new("ana");
    let small = device.account("Small");
    let mut new = NewAccount::new("Large");
    new.notes = "x".repeat(8192);
    let large = device.replica.create_account(&new).unwrap();
    let synced = sync_as(&server, TOKEN, &mut device.replica).await;
    assert_eq!(synced.rejected.len(), 1);
    assert_eq!(synced.rejected[0].0, large.to_string());
    assert!(synced.rejected[0].1.contains("document limit"), "{}", synced.rejected[0].1);
    let mut other = Device::new("bob");
    sync(&server, &mut other.replica).await;
    assert_eq!(other.replica.account_ids().unwrap(), vec![small]);
    server.stop().await;
}

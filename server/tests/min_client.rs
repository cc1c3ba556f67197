//! `--min-client-version`: a client below it gets `426 client_too_old` with
//! the minimum, judged by its `User-Agent` on every token route and by the
//! protocol version of its sync requests (HTTP and the live socket).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use rapport_core::SyncLimits;
use rapport_core::sync::Message;
use rapport_server::min_client::ClientVersion;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn post(server: &TestServer, agent: Option<&str>, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut request = client().post(format!("{}/v1/sync", server.url)).bearer_auth(TOKEN).body(body);
    if let Some(agent) = agent {
        request = request.header("user-agent", agent);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn clients_below_the_minimum_are_told_to_update() {
    let (_dir, server) = TestServer::start_with(|c| c.min_client_version = Some(ClientVersion::new(0, 2, 0))).await;
    let mut device = Device::new("admin");
    let (request, _) = device.replica.sync_request(SyncLimits::default()).unwrap();
    let v2 = Message::Request(request.clone()).encode();
    let v1 = Message::Request(rapport_core::sync::SyncRequest { v2: None, ..request }).encode();

    // 0.1.0 over HTTP: its User-Agent and its protocol version are both too old.
    let (status, body) = post(&server, Some("rapport-client/0.1.0"), v1.clone()).await;
    assert_eq!(status, 426, "{body}");
    assert_eq!(body["error"]["code"], "client_too_old");
    assert_eq!(body["error"]["minimum"], "0.2.0");
    assert!(body["error"]["message"].as_str().unwrap().contains("update it to version 0.2.0"), "{body}");
    // A version-1 request without a User-Agent (0.1.0's live socket, a tool) is refused by its version.
    assert_eq!(post(&server, None, v1.clone()).await.0, 426);
    // Today's client, and tools speaking version 2, sync.
    assert_eq!(post(&server, Some("rapport-client/0.2.0"), v2.clone()).await.0, 200);
    assert_eq!(post(&server, Some("curl/8.5.0"), v2.clone()).await.0, 200);
    // Every token route judges the User-Agent.
    let whoami = client()
        .get(format!("{}/v1/whoami", server.url))
        .bearer_auth(TOKEN)
        .header("user-agent", "rapport-client/0.1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status().as_u16(), 426);

    // The live socket: a version-1 frame is answered with the same error.
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let mut ws = tokio_tungstenite::connect_async(request).await.unwrap().0;
    ws.send(Frame::Binary(v1.into())).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        Frame::Text(text) => {
            let body: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (&body["error"]["code"], &body["error"]["minimum"]),
                (&"client_too_old".into(), &"0.2.0".into())
            );
        }
        other => panic!("expected the error as a text frame, got {other:?}"),
    }
    // A WebSocket upgrade naming an old release is refused before the upgrade.
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    request.headers_mut().insert("user-agent", "rapport-client/0.1.0".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 426),
        other => panic!("expected 426, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn without_a_minimum_every_supported_release_syncs() {
    let (_dir, server) = TestServer::start().await;
    let mut device = Device::new("admin");
    let (request, _) = device.replica.sync_request(SyncLimits::default()).unwrap();
    let v1 = Message::Request(rapport_core::sync::SyncRequest { v2: None, ..request }).encode();
    assert_eq!(post(&server, Some("rapport-client/0.1.0"), v1).await.0, 200);
    server.stop().await;
}

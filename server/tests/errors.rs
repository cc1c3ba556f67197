//! Bad input gets a plain JSON error (or a Rejected ack), stores nothing, and
//! the server keeps serving.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::sync::{AckStatus, DocData, Message, PROTOCOL_VERSION, SyncRequest, SyncResponse};

fn request(push: Vec<DocData>) -> Message {
    Message::Request(SyncRequest { base: 0, after: 0, actor: vec![7; 16], push, max_pull_bytes: 1 << 20, v2: None })
}

#[tokio::test]
async fn malformed_truncated_and_foreign_messages_are_400() {
    let (_dir, server) = TestServer::start().await;
    let mut device = Device::new("ana");
    device.account("Acme");
    let (valid, _) = device.replica.sync_request(Default::default()).unwrap();
    let valid = Message::Request(valid).encode();

    let mut wrong_version = valid.clone();
    wrong_version[4..6].copy_from_slice(&(PROTOCOL_VERSION + 1).to_le_bytes());
    let mut trailing = valid.clone();
    trailing.push(0);
    let response = Message::Response(SyncResponse {
        acks: Vec::new(),
        pull: Vec::new(),
        base: 0,
        after: 0,
        more: false,
        removed: Vec::new(),
        v2: None,
    })
    .encode();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty body", Vec::new(), "malformed_message"),
        ("garbage", b"hello, server".to_vec(), "malformed_message"),
        ("header only", valid[..6].to_vec(), "malformed_message"),
        ("truncated", valid[..valid.len() / 2].to_vec(), "malformed_message"),
        ("trailing bytes", trailing, "malformed_message"),
        ("a response", response, "malformed_message"),
        ("wrong version", wrong_version, "unsupported_version"),
    ];
    for (what, body, code) in cases {
        let (status, reply) = post_sync(&server, body).await;
        assert_eq!(status, 400, "{what}");
        assert_eq!(error_code(&reply), code, "{what}");
        assert_serving(&server).await;
    }
    // Nothing of the refused messages was stored.
    let mut reader = Device::new("reader");
    assert_eq!(sync(&server, &mut reader.replica).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let (_dir, server) = TestServer::start_with(|c| c.max_body_bytes = 64 * 1024).await;
    let (status, reply) = post_sync(&server, vec![0u8; 200 * 1024]).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&reply), "payload_too_large");
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn garbage_automerge_bytes_are_rejected_and_nothing_is_stored() {
    let (_dir, server) = TestServer::start().await;
    let doc = "6f1c2d3e-1111-4222-8333-444455556666".to_owned();
    let pushes = [
        DocData { doc: doc.clone(), snapshot: None, changes: vec![b"not an automerge change".to_vec()] },
        DocData { doc: doc.clone(), snapshot: Some(b"not an automerge document".to_vec()), changes: Vec::new() },
        DocData {
            doc: "settings".into(),
            snapshot: Some(vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0]),
            changes: Vec::new(),
        },
    ];
    for push in pushes {
        let response = exchange(&server, &request(vec![push])).await;
        assert_eq!(response.acks.len(), 1);
        assert!(matches!(response.acks[0].status, AckStatus::Rejected(_)), "got {:?}", response.acks[0].status);
        assert!(response.pull.is_empty());
        assert_eq!(response.after, 0, "the log did not move");
    }
    // A valid Automerge document that is not a Rapport account is refused too.
    let mut foreign = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut foreign, automerge::ROOT, "hello", "world").unwrap();
    let response = exchange(
        &server,
        &request(vec![DocData { doc: doc.clone(), snapshot: Some(foreign.save()), changes: Vec::new() }]),
    )
    .await;
    assert!(matches!(response.acks[0].status, AckStatus::Rejected(_)));

    let mut reader = Device::new("reader");
    assert_eq!(sync(&server, &mut reader.replica).await, 0, "nothing arrives");
    let missing =
        client().get(format!("{}/v1/accounts/{doc}/automerge", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_a_json_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, server) = TestServer::start_with(|c| c.request_timeout = std::time::Duration::from_millis(300)).await;
    // Headers promise a body that never comes: the handler waits past the deadline.
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the server answers within its timeout")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"timeout""#), "{answer}");
    // And it keeps serving.
    let health = reqwest_get(&format!("{}/healthz", server.url)).await;
    assert_eq!(health, 200);
}

async fn reqwest_get(url: &str) -> u16 {
    client().get(url).send().await.unwrap().status().as_u16()
}

//! A 0.2.0 client and a 0.1.0 server: the server refuses protocol version 2
//! with `400 unsupported_version`; the client sends the request again in
//! version 1 and keeps speaking version 1 to it. The fake server below
//! answers exactly as 0.1.0 does: version-1 requests through the protocol's
//! server half, anything else refused.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use rapport_client::{Client, sync_once};
use rapport_core::sync::{MemoryStore, Message, OpenAccess, ServerStore, handle};
use rapport_core::{DeviceIdentity, NewAccount, Replica, SyncLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct OldServer {
    url: String,
    store: Arc<Mutex<MemoryStore>>,
    /// The protocol version of every request received, in order.
    versions: Arc<Mutex<Vec<u16>>>,
}

async fn old_server() -> OldServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(Mutex::new(MemoryStore::new()));
    let versions = Arc::new(Mutex::new(Vec::new()));
    let (s, v) = (store.clone(), versions.clone());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (path, body) = read_request(&mut socket).await;
            let version = if path == "/v1/sync" { u16::from_le_bytes([body[4], body[5]]) } else { 0 };
            if version > 0 {
                v.lock().unwrap().push(version);
            }
            let (status, content_type, answer) = if version == 0 {
                // 0.1.0 has no other endpoint a sync calls (e.g. `/v1/whoami`).
                let json = r#"{"error":{"code":"not_found","message":"no such endpoint"}}"#;
                ("404 Not Found", "application/json", json.as_bytes().to_vec())
            } else if version == 1 {
                let Message::Request(request) = Message::decode(&body).unwrap() else { panic!("a request") };
                let (response, _) = handle(&mut *s.lock().unwrap(), &OpenAccess, &request).unwrap();
                ("200 OK", "application/octet-stream", Message::Response(response).encode())
            } else {
                let json = format!(
                    r#"{{"error":{{"code":"unsupported_version","message":"protocol version {version} is not supported; this side speaks 1 to 1"}}}}"#
                );
                ("400 Bad Request", "application/json", json.into_bytes())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(&answer).await.unwrap();
            socket.shutdown().await.ok();
        }
    });
    OldServer { url, store, versions }
}

/// Reads one HTTP request and returns its path and body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        request.extend_from_slice(&buf[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                return (path, request[end + 4..end + 4 + length].to_vec());
            }
        }
        assert!(n > 0, "the client closed the connection mid-request");
    }
}

#[tokio::test]
async fn a_client_falls_back_to_version_1_for_a_server_that_speaks_only_that() {
    let server = old_server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("ana", "laptop")).unwrap();
    let acme = r.create_account(&NewAccount::new("Acme")).unwrap();

    let client = Client::new(&server.url, "token").unwrap();
    let summary = client.sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap();
    assert_eq!(summary.pushed_docs, 1);
    assert_eq!(r.unsynced_count().unwrap(), 0);
    assert!(server.store.lock().unwrap().load(&acme.to_string()).unwrap().is_some());
    assert_eq!(server.versions.lock().unwrap()[..2], [2, 1], "refused in version 2, sent again in version 1");

    // The same client keeps speaking version 1 to it.
    let seen = server.versions.lock().unwrap().len();
    let borealis = r.create_account(&NewAccount::new("Borealis")).unwrap();
    client.sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap();
    assert!(server.versions.lock().unwrap()[seen..].iter().all(|v| *v == 1));
    assert_eq!(r.unsynced_count().unwrap(), 0);
    // A new client (a new process) finds out again, and syncs.
    let cobalt = r.create_account(&NewAccount::new("Cobalt")).unwrap();
    sync_once(&server.url, "token", &mut r).await.unwrap();
    assert_eq!(r.unsynced_count().unwrap(), 0);
    let mut stored = server.store.lock().unwrap().doc_ids();
    stored.sort();
    let mut expected = vec![acme.to_string(), borealis.to_string(), cobalt.to_string()];
    expected.sort();
    assert_eq!(stored, expected);
}

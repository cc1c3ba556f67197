//! Error mapping of the transport, against addresses where nothing listens
//! and a minimal fake HTTP server that answers with chosen bytes.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use rapport_client::{Client, ClientError, WatchOptions, sync_once};
use rapport_core::{DeviceIdentity, NewAccount, Replica, SyncLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn replica(dir: &tempfile::TempDir) -> Replica {
    Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("ana", "laptop")).unwrap()
}

/// A port on which nothing listens (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn invalid_urls_are_refused_before_any_connection() {
    for url in ["", "localhost:8080", "ftp://example.com", "http://", "http://example.com/?x=1", "not a url"] {
        match Client::new(url, "token") {
            Err(ClientError::InvalidUrl { url: u, reason }) => {
                assert_eq!(u, url);
                assert!(!reason.is_empty());
            }
            other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
        }
    }
    let err = Client::new("127.0.0.1:8080", "t").unwrap_err().to_string();
    assert!(err.contains("missing scheme") && err.contains("http://"), "{err}");
}

#[test]
fn unusable_tokens_are_refused() {
    assert!(matches!(Client::new("http://127.0.0.1:1", "  "), Err(ClientError::InvalidToken { .. })));
    assert!(matches!(Client::new("http://127.0.0.1:1", "a\nb"), Err(ClientError::InvalidToken { .. })));
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error_that_says_what_to_check() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    let id = r.create_account(&NewAccount::new("Acme")).unwrap();

    let err = sync_once(&url, "token", &mut r).await.unwrap_err();
    match &err {
        ClientError::Network { url: u, reason } => {
            assert_eq!(u, &url);
            assert!(reason.contains("connection refused"), "{reason}");
        }
        other => panic!("expected Network, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.starts_with(&format!("cannot reach {url}: connection refused")), "{message}");
    assert!(message.contains("is the server running"), "{message}");
    assert!(err.is_transient());
    // Nothing was lost: the edit still waits to be pushed.
    assert_eq!(r.unsynced_count().unwrap(), 1);
    assert!(r.account(id).is_ok());

    let client = Client::new(&url, "token").unwrap();
    assert!(matches!(client.health().await, Err(ClientError::Network { .. })));
    let shared = Arc::new(Mutex::new(r));
    let err = client.watch(shared, &WatchOptions::default(), |_| {}).await.unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
}

/// Serves one HTTP request with `status` and `body`, returns the request bytes.
async fn serve_once(
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        socket.shutdown().await.ok();
        request
    });
    (url, task)
}

#[tokio::test]
async fn a_refused_token_is_unauthorized_with_the_servers_message() {
    let body = br#"{"error":{"code":"unauthorized","message":"unknown or revoked device token"}}"#.to_vec();
    let (url, server) = serve_once("401 Unauthorized", "application/json", body).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    let err = sync_once(&url, "secret-token", &mut r).await.unwrap_err();
    let request = String::from_utf8_lossy(&server.await.unwrap()).to_string();
    assert!(request.starts_with("POST /v1/sync "), "{request}");
    assert!(request.to_ascii_lowercase().contains("authorization: bearer secret-token"), "{request}");
    match &err {
        ClientError::Unauthorized { message, .. } => assert_eq!(message, "unknown or revoked device token"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(err.to_string().contains("check the token"), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_json_error_becomes_a_server_error_with_its_code() {
    let body = br#"{"error":{"code":"payload_too_large","message":"the request body is over 64 MiB"}}"#.to_vec();
    let (url, _server) = serve_once("413 Payload Too Large", "application/json", body).await;
    let dir = tempfile::tempdir().unwrap();
    let err = sync_once(&url, "t", &mut replica(&dir)).await.unwrap_err();
    match err {
        ClientError::Server { status, code, message, .. } => {
            assert_eq!((status, code.as_str()), (413, "payload_too_large"));
            assert_eq!(message, "the request body is over 64 MiB");
        }
        other => panic!("expected Server, got {other:?}"),
    }
}

#[tokio::test]
async fn a_non_json_error_keeps_the_status_and_a_short_body() {
    let (url, _server) = serve_once("502 Bad Gateway", "text/html", b"<h1>bad gateway</h1>".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let err = sync_once(&url, "t", &mut replica(&dir)).await.unwrap_err();
    assert!(err.is_transient());
    match err {
        ClientError::Server { status, code, message, .. } => {
            assert_eq!((status, code.as_str()), (502, "http_502"));
            assert!(message.contains("bad gateway"));
        }
        other => panic!("expected Server, got {other:?}"),
    }
}

#[tokio::test]
async fn bytes_that_are_not_a_sync_message_are_a_protocol_error_and_change_nothing() {
    let (url, _server) = serve_once("200 OK", "application/octet-stream", b"hello, world".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    r.create_account(&NewAccount::new("Acme")).unwrap();
    let before = r.sync_position().unwrap();
    let client = Client::new(&url, "t").unwrap();
    let err = client.sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("bad magic"), "{err}");
    assert_eq!(r.sync_position().unwrap(), before);
    assert_eq!(r.unsynced_count().unwrap(), 1);
}

#[tokio::test]
async fn health_accepts_a_success_status() {
    let (url, server) = serve_once("200 OK", "text/plain", b"ok".to_vec()).await;
    Client::new(&url, "t").unwrap().health().await.unwrap();
    let request = String::from_utf8_lossy(&server.await.unwrap()).to_string();
    assert!(request.starts_with("GET /healthz "), "{request}");
}

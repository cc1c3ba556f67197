//! The client's retry policy against a tiny axum server on port 0 that
//! answers chosen statuses first and then a real sync answer.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rapport_client::{Client, ClientError, ClientOptions, LiveEvent, RetryPolicy, WatchOptions};
use rapport_core::sync::{Ack, AckStatus, Message, SyncResponse};
use rapport_core::{DeviceIdentity, NewAccount, Replica, SyncLimits};

/// A failure the server answers with before it starts answering.
#[derive(Clone, Copy)]
struct Failure {
    status: u16,
    code: &'static str,
    retry_after: Option<&'static str>,
}

struct Script {
    failures: Vec<Failure>,
    requests: AtomicUsize,
}

/// Answers the scripted failures in turn, then acknowledges every pushed
/// document and sends nothing back.
async fn sync(State(script): State<Arc<Script>>, body: Bytes) -> Response {
    let n = script.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(f) = script.failures.get(n) {
        let body = format!(r#"{{"error":{{"code":"{}","message":"scripted failure"}}}}"#, f.code);
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Some(r) = f.retry_after {
            headers.insert("retry-after", HeaderValue::from_static(r));
        }
        return (StatusCode::from_u16(f.status).unwrap(), headers, body).into_response();
    }
    match answer(&body) {
        Some(bytes) => bytes.into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// Acknowledges every pushed document and sends nothing back.
fn answer(body: &[u8]) -> Option<Vec<u8>> {
    let Ok(Message::Request(request)) = Message::decode(body) else { return None };
    let acks = request.push.iter().map(|d| Ack { doc: d.doc.clone(), status: AckStatus::Stored }).collect();
    let response = SyncResponse {
        acks,
        pull: Vec::new(),
        base: request.base,
        after: request.after,
        more: false,
        removed: Vec::new(),
        v2: None,
    };
    Some(Message::Response(response).encode())
}

/// `GET /v1/live`: the scripted failures refuse the upgrade in turn, then the
/// socket answers every request.
async fn live(State(script): State<Arc<Script>>, ws: WebSocketUpgrade) -> Response {
    let n = script.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(f) = script.failures.get(n) {
        let mut headers = HeaderMap::new();
        if let Some(r) = f.retry_after {
            headers.insert("retry-after", HeaderValue::from_static(r));
        }
        return (StatusCode::from_u16(f.status).unwrap(), headers, f.code).into_response();
    }
    ws.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(frame)) = socket.recv().await {
            if let WsMessage::Binary(bytes) = frame
                && let Some(reply) = answer(&bytes)
                && socket.send(WsMessage::Binary(reply.into())).await.is_err()
            {
                break;
            }
        }
    })
}

async fn serve(failures: Vec<Failure>) -> (String, Arc<Script>) {
    let script = Arc::new(Script { failures, requests: AtomicUsize::new(0) });
    let app = axum::Router::new().route("/v1/sync", post(sync)).route("/v1/live", get(live)).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, script)
}

fn replica(dir: &tempfile::TempDir) -> Replica {
    let mut r = Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("ana", "laptop")).unwrap();
    r.create_account(&NewAccount::new("Acme")).unwrap();
    r
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_as_the_server_asks_and_the_sync_succeeds() {
    let limited = Failure { status: 429, code: "rate_limited", retry_after: Some("1") };
    let (url, script) = serve(vec![limited]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    let started = Instant::now();
    let summary = Client::new(&url, "t").unwrap().sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(script.requests.load(Ordering::SeqCst), 2);
    assert!(summary.pushed_docs >= 1);
    assert_eq!(r.unsynced_count().unwrap(), 0);
}

#[tokio::test]
async fn an_unavailable_server_is_retried_with_backoff() {
    let unavailable = Failure { status: 503, code: "server_unavailable", retry_after: None };
    let (url, script) = serve(vec![unavailable, unavailable]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    Client::new(&url, "t").unwrap().sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap();
    assert_eq!(script.requests.load(Ordering::SeqCst), 3);
    assert_eq!(r.unsynced_count().unwrap(), 0);
}

#[tokio::test]
async fn retries_end_with_a_typed_error_that_keeps_every_edit() {
    let unavailable = Failure { status: 503, code: "server_unavailable", retry_after: Some("0") };
    let (url, script) = serve(vec![unavailable; 10]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    let policy = RetryPolicy {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retries: Some(2),
    };
    let client = Client::with_options(&url, "t", ClientOptions { retry: policy, ..ClientOptions::default() }).unwrap();
    let err = client.sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap_err();
    assert!(matches!(err, ClientError::ServerUnavailable { .. }), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(script.requests.load(Ordering::SeqCst), 3, "the first attempt and two retries");
    assert!(r.rejected_documents().unwrap().is_empty());
    assert!(r.unsynced_count().unwrap() >= 1);
}

#[tokio::test]
async fn a_full_server_disk_says_how_many_changes_are_safe_on_the_device() {
    let full = Failure { status: 507, code: "server_storage_full", retry_after: Some("60") };
    let (url, script) = serve(vec![full; 10]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    let unsent = r.unsynced_count().unwrap();
    let err = Client::new(&url, "t").unwrap().sync(&mut r, SyncLimits::default(), |_| {}).await.unwrap_err();
    match &err {
        ClientError::StorageFull { unsent: n, retry_after, .. } => {
            assert_eq!(*n, unsent);
            assert_eq!(*retry_after, Some(Duration::from_secs(60)));
        }
        other => panic!("expected StorageFull, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("is out of disk space; your {unsent} unsent change(s) are safe on this device")),
        "{message}"
    );
    // A wait longer than the policy's cap is not waited out: the user is told at once.
    assert_eq!(script.requests.load(Ordering::SeqCst), 1);
    assert_eq!(r.unsynced_count().unwrap(), unsent);
}

#[tokio::test]
async fn watch_reconnects_after_an_unavailable_server_and_syncs() {
    let unavailable = Failure { status: 503, code: "server_unavailable", retry_after: Some("1") };
    let limited = Failure { status: 429, code: "rate_limited", retry_after: None };
    let (url, script) = serve(vec![unavailable, limited]).await;
    let dir = tempfile::tempdir().unwrap();
    let replica = Arc::new(std::sync::Mutex::new(replica(&dir)));
    let options = WatchOptions::default();
    let policy =
        RetryPolicy { min_delay: Duration::from_millis(20), max_delay: Duration::from_secs(2), max_retries: None };
    let mut retries = Vec::new();
    let control = options.control.clone();
    let started = Instant::now();
    Client::new(&url, "t")
        .unwrap()
        .watch_reconnecting(
            replica.clone(),
            &options,
            &policy,
            |event| {
                if matches!(event, LiveEvent::Synced(_)) {
                    control.stop();
                }
            },
            |e, wait| retries.push((e.to_string(), wait)),
        )
        .await
        .unwrap();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0].0.contains("temporarily unavailable") && retries[0].1 >= Duration::from_secs(1), "{retries:?}");
    assert!(retries[1].0.contains("too many requests"), "{retries:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(script.requests.load(Ordering::SeqCst), 3);
    assert_eq!(replica.lock().unwrap().unsynced_count().unwrap(), 0);
}

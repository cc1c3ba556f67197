//! The live WebSocket: requests and answers, unsolicited pushes, limits, shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use rapport_core::PushPlan;
use rapport_core::sync::{Message, SyncResponse};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &TestServer) -> Socket {
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next protocol response on the socket.
async fn next_response(ws: &mut Socket) -> SyncResponse {
    loop {
        match ws.next().await.expect("socket open").unwrap() {
            Frame::Binary(bytes) => match Message::decode(&bytes).unwrap() {
                Message::Response(r) => return r,
                Message::Request(_) => panic!("server sent a request"),
            },
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("expected a response, got {other:?}"),
        }
    }
}

/// One request/response exchange of `device` over the socket.
async fn ws_sync(ws: &mut Socket, device: &mut Device) {
    let (request, plan) = device.replica.sync_request(Default::default()).unwrap();
    ws.send(Frame::Binary(Message::Request(request).encode().into())).await.unwrap();
    let response = next_response(ws).await;
    device.replica.sync_apply(&plan, &response).unwrap();
}

#[tokio::test]
async fn a_live_client_receives_other_clients_changes_within_a_second() {
    let (_dir, server) = TestServer::start().await;
    let mut ana = Device::new("ana");
    let mut bob = Device::new("bob");
    let mut ws = connect(&server).await;
    ws_sync(&mut ws, &mut bob).await;

    // Ana pushes over HTTP; bob's socket gets it unasked.
    let acme = ana.account("Acme Oy");
    sync(&server, &mut ana.replica).await;
    let pushed = tokio::time::timeout(Duration::from_secs(1), next_response(&mut ws))
        .await
        .expect("an unsolicited response within a second");
    assert!(pushed.acks.is_empty());
    bob.replica.sync_apply(&PushPlan::default(), &pushed).unwrap();
    assert_eq!(bob.replica.account(acme).unwrap(), ana.replica.account(acme).unwrap());

    // The next push is computed from bob's new position, so it applies too.
    ana.replica.edit(acme, |e| e.set_field("party.industry", "Paper")).unwrap();
    sync(&server, &mut ana.replica).await;
    let pushed = tokio::time::timeout(Duration::from_secs(1), next_response(&mut ws))
        .await
        .expect("a second unsolicited response");
    bob.replica.sync_apply(&PushPlan::default(), &pushed).unwrap();
    assert_eq!(bob.replica.account(acme).unwrap().party.industry.as_deref(), Some("Paper"));

    // Bob's own pushes are answered, not echoed back.
    bob.replica.edit(acme, |e| e.set_notes("Visited")).unwrap();
    ws_sync(&mut ws, &mut bob).await;
    assert_eq!(bob.replica.unsynced_count().unwrap(), 0);
    let echo = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
    assert!(echo.is_err(), "no unsolicited echo of bob's own change: {echo:?}");
    sync(&server, &mut ana.replica).await;
    assert_eq!(ana.replica.account(acme).unwrap(), bob.replica.account(acme).unwrap());

    // Shutdown closes the socket with "going away".
    let stopping = tokio::spawn(server.stop());
    let close = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("close in time");
    match close {
        Some(Ok(Frame::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a Close frame, got {other:?}"),
    }
    drop(ws);
    stopping.await.unwrap();
}

#[tokio::test]
async fn bad_frames_get_json_errors_and_the_socket_keeps_working() {
    let (_dir, server) = TestServer::start().await;
    let mut ws = connect(&server).await;
    for frame in [Frame::Binary(b"garbage".to_vec().into()), Frame::Text("hello".into())] {
        ws.send(frame).await.unwrap();
        match ws.next().await.unwrap().unwrap() {
            Frame::Text(text) => assert_eq!(error_code(text.as_bytes()), "malformed_message"),
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }
    let mut device = Device::new("ana");
    device.account("Acme");
    ws_sync(&mut ws, &mut device).await;
    assert_eq!(device.replica.unsynced_count().unwrap(), 0);
    ws.close(None).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_oversize_frame_closes_the_socket_with_a_reason() {
    let (_dir, server) = TestServer::start_with(|c| c.max_body_bytes = 64 * 1024).await;
    let mut ws = connect(&server).await;
    ws.send(Frame::Binary(vec![0u8; 200 * 1024].into())).await.unwrap();
    let close = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("close in time");
    match close {
        Some(Ok(Frame::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Size);
            assert!(frame.reason.contains("too large"), "reason: {}", frame.reason);
        }
        other => panic!("expected a Close frame, got {other:?}"),
    }
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn the_live_socket_needs_a_token() {
    let (_dir, server) = TestServer::start().await;
    let error = tokio_tungstenite::connect_async(server.ws_url()).await.unwrap_err();
    match error {
        tungstenite::Error::Http(response) => assert_eq!(response.status().as_u16(), 401),
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
    server.stop().await;
}

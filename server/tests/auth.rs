//! Every endpoint but `/healthz` needs a valid bearer token.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::sync::{Message, SyncRequest};

fn empty_request() -> Vec<u8> {
    Message::Request(SyncRequest {
        base: 0,
        after: 0,
        actor: vec![1; 16],
        push: Vec::new(),
        max_pull_bytes: 1 << 20,
        v2: None,
    })
    .encode()
}

#[tokio::test]
async fn missing_malformed_and_wrong_tokens_get_401_json() {
    let (_dir, server) = TestServer::start().await;
    let endpoints = [
        ("POST", "/v1/sync"),
        ("GET", "/v1/live"),
        ("GET", "/v1/accounts/6f1c2d3e-1111-4222-8333-444455556666/automerge"),
        ("GET", "/metrics"),
    ];
    let headers: [Option<&str>; 5] = [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer short"),
        Some("Bearer this-token-is-well-formed-but-unknown"),
    ];
    for (method, path) in endpoints {
        for header in headers {
            let mut request = match method {
                "POST" => client().post(format!("{}{path}", server.url)).body(empty_request()),
                _ => client().get(format!("{}{path}", server.url)),
            };
            if let Some(h) = header {
                request = request.header("authorization", h);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 401, "{method} {path} with {header:?}");
            let body = response.bytes().await.unwrap();
            assert_eq!(error_code(&body), "unauthorized", "{method} {path} with {header:?}");
        }
    }
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn healthz_needs_no_token_and_unknown_routes_are_404_json() {
    let (_dir, server) = TestServer::start().await;
    let health = client().get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let missing = client().get(format!("{}/v2/nothing", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(error_code(&missing.bytes().await.unwrap()), "not_found");
    server.stop().await;
}

#[tokio::test]
async fn the_admin_token_from_the_environment_works_and_a_generated_one_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    // First start without an operator-chosen token: one is generated.
    let server = TestServer::start_in(dir.path(), |c| c.admin_token = None).await;
    let unauthorized = client().get(format!("{}/metrics", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401, "an unknown token is refused");
    server.stop().await;

    // A later start with RAPPORT_ADMIN_TOKEN adds it as an admin device.
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let metrics = client().get(format!("{}/metrics", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    server.stop().await;
}

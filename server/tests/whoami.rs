//! `GET /v1/whoami`: the token's user, role and device.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

async fn whoami(server: &TestServer, token: &str) -> (u16, serde_json::Value) {
    let response = client().get(format!("{}/v1/whoami", server.url)).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

#[tokio::test]
async fn whoami_names_the_tokens_user_and_device() {
    let (_dir, server) = TestServer::start().await;
    let (status, body) = whoami(&server, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["user"].as_str(), body["role"].as_str()), (Some("admin"), Some("admin")));

    let ray = add_user(&server, "ray", "rep", &[], &[]).await;
    let (device_id, second) = add_device(&server, "ray").await;
    let (status, body) = whoami(&server, &ray).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], "ray");
    assert_eq!(body["role"], "rep");
    assert_eq!(body["device"], "first device");
    let (_, body) = whoami(&server, &second).await;
    assert_eq!(body["device"], "another");
    assert_eq!(body["device_id"].as_i64(), Some(device_id));

    let (status, body) = whoami(&server, "an-unknown-token-0123456789").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = admin(&server, TOKEN, reqwest::Method::POST, &format!("/devices/{device_id}/revoke"), None).await;
    assert_eq!(status, 200);
    let (status, _) = whoami(&server, &second).await;
    assert_eq!(status, 401, "a revoked token is nobody");
    server.stop().await;
}

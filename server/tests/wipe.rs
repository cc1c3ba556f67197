//! Remote wipe through the admin API: a device revoked as lost is answered
//! `410 device_wiped` on every route (sync, whoami, the live socket) until
//! and after it reports its data erased; the report is accepted only from
//! such a device and is recorded with the unsynced work that was lost.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::SyncLimits;
use rapport_core::sync::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn report(server: &TestServer, token: &str, body: &str) -> (u16, serde_json::Value) {
    let response = client()
        .post(format!("{}/v1/device/wiped", server.url))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

async fn device(server: &TestServer, id: i64) -> serde_json::Value {
    let (status, body) = admin(server, TOKEN, reqwest::Method::GET, "/devices", None).await;
    assert_eq!(status, 200);
    body["devices"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap().clone()
}

#[tokio::test]
async fn a_device_revoked_as_lost_is_told_to_wipe_and_its_report_is_recorded() {
    let (_dir, server) = TestServer::start().await;
    add_user(&server, "ray", "rep", &[], &[]).await;
    let (lost_id, lost_token) = add_device(&server, "ray").await;
    let (kept_id, kept_token) = add_device(&server, "ray").await;
    let mut ray = Device::new("ray");
    let request = Message::Request(ray.replica.sync_request(SyncLimits::default()).unwrap().0).encode();
    let empty = || request.clone();

    // Before: an active device has nothing to report.
    let (status, body) = report(&server, &lost_token, r#"{"lost_documents": 0, "lost_changes": 0}"#).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");
    // Another method is 405, whoever asks (schemathesis found a 409 here).
    for method in [reqwest::Method::GET, reqwest::Method::TRACE, reqwest::Method::PUT] {
        let response = client()
            .request(method.clone(), format!("{}/v1/device/wiped", server.url))
            .bearer_auth(&lost_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
    }

    // The admin JSON refuses unknown fields and changes nothing.
    let typo = serde_json::json!({ "wpie": true });
    let (status, body) =
        admin(&server, TOKEN, reqwest::Method::POST, &format!("/devices/{lost_id}/revoke"), Some(typo)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("wpie"), "{body}");
    assert_eq!(device(&server, lost_id).await["revoked"], false);

    let wipe = serde_json::json!({ "wipe": true });
    let (status, body) =
        admin(&server, TOKEN, reqwest::Method::POST, &format!("/devices/{lost_id}/revoke"), Some(wipe)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        admin(&server, TOKEN, reqwest::Method::POST, &format!("/devices/{kept_id}/revoke"), None).await;
    assert_eq!(status, 200, "{body}");
    let lost = device(&server, lost_id).await;
    assert_eq!(lost["revoked"], true);
    assert!(lost["wipe"]["requested_at"].as_i64().unwrap() > 0, "{lost}");
    assert!(lost["wipe"]["done_at"].is_null(), "{lost}");
    assert!(device(&server, kept_id).await["wipe"].is_null(), "a plain revoke asks for no wipe");

    // Every route tells the lost device to wipe; the plainly revoked one is just refused.
    let (status, body) = post_sync_as(&server, &lost_token, empty()).await;
    assert_eq!((status, error_code(&body).as_str()), (410, "device_wiped"));
    let (status, body) = post_sync_as(&server, &kept_token, empty()).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    let whoami = client().get(format!("{}/v1/whoami", server.url)).bearer_auth(&lost_token).send().await.unwrap();
    assert_eq!(whoami.status().as_u16(), 410);
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {lost_token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 410),
        other => panic!("the live socket is refused with 410, got {other:?}"),
    }

    // Only a device revoked as lost may report; bad bodies change nothing.
    let (status, _) = report(&server, &kept_token, r#"{"lost_documents": 0, "lost_changes": 0}"#).await;
    assert_eq!(status, 401);
    let (status, body) = report(&server, &lost_token, r#"{"lost_documents": 1, "lost_changes": 2, "x": 1}"#).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = report(&server, &lost_token, r#"{"lost_documents": -1, "lost_changes": 2}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(device(&server, lost_id).await["wipe"]["done_at"].is_null());

    let (status, body) = report(&server, &lost_token, r#"{"lost_documents": 2, "lost_changes": 5}"#).await;
    assert_eq!((status, &body["recorded"]), (200, &serde_json::json!(true)), "{body}");
    let lost = device(&server, lost_id).await;
    assert!(lost["wipe"]["done_at"].as_i64().unwrap() >= lost["wipe"]["requested_at"].as_i64().unwrap());
    assert_eq!((&lost["wipe"]["lost_documents"], &lost["wipe"]["lost_changes"]), (&2.into(), &5.into()), "{lost}");

    // A second report does not overwrite the first; the token stays refused.
    let (status, body) = report(&server, &lost_token, r#"{"lost_documents": 0, "lost_changes": 0}"#).await;
    assert_eq!((status, &body["recorded"]), (200, &serde_json::json!(false)), "{body}");
    assert_eq!(device(&server, lost_id).await["wipe"]["lost_changes"], 5);
    let (status, body) = post_sync_as(&server, &lost_token, empty()).await;
    assert_eq!((status, error_code(&body).as_str()), (410, "device_wiped"));

    // Revoking with wipe an unknown device is a 404.
    let wipe = serde_json::json!({ "wipe": true });
    let (status, _) = admin(&server, TOKEN, reqwest::Method::POST, "/devices/9999/revoke", Some(wipe)).await;
    assert_eq!(status, 404);
    server.stop().await;
}

//! Who gets in: the one-time link, the session cookie, the Host check, the
//! loopback-only listener, and the security headers of every answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_client::Client;
use rapport_desktop::{AppOptions, DesktopError};
use serde_json::json;

#[tokio::test]
async fn the_app_listens_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(tempfile::tempdir().unwrap(), replica_in(&dir)).await;
    assert!(app.app.addr().ip().is_loopback());
    assert!(app.link.starts_with(&format!("http://127.0.0.1:{}/open?secret=", app.app.addr().port())));

    // A listener other machines can reach is refused before anything is served.
    let open = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let client = Client::new(&nowhere(), "desktop-test-token-0123456789").unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let refused = rapport_desktop::start(open, replica_in(&dir2), client, &AppOptions::default()).await;
    assert!(matches!(refused, Err(DesktopError::NotLoopback(_))), "{refused:?}");
}

#[tokio::test]
async fn every_api_call_without_the_cookie_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::start(tempfile::tempdir().unwrap(), replica_in(&dir)).await;
    for path in ["/status", "/events", "/settings", "/accounts", "/conflicts", "/refused"] {
        assert_error(&app.get(path).await, 401, "unauthorized");
    }
    assert_error(&app.post("/accounts", json!({ "name": "Sneaky" })).await, 401, "unauthorized");
    // A made-up cookie is no better.
    let port = app.base.rsplit(':').next().unwrap().trim_end_matches('/').to_owned();
    app.cookie = Some(format!("rapport_session_{port}=0000"));
    assert_error(&app.get("/accounts").await, 401, "unauthorized");
    // Nor is another app's cookie (an app on another port, or the old unnumbered name).
    app.cookie = Some("rapport_session=0000".into());
    assert_error(&app.get("/accounts").await, 401, "unauthorized");
    app.cookie = None;

    app.sign_in().await;
    assert_eq!(app.get("/accounts").await, (200, json!([])), "nothing was created by the refused call");
}

#[tokio::test]
async fn the_secret_works_once_and_a_wrong_one_never() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::start(tempfile::tempdir().unwrap(), replica_in(&dir)).await;
    let wrong = format!("{}/open?secret={}", app.base, "0".repeat(64));
    let res = app.http.get(&wrong).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("set-cookie").is_none());
    let res = app.http.get(format!("{}/open", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 401);

    // The right one, after wrong tries: a cookie the page's script cannot read
    // and other sites' pages cannot send.
    let res = app.http.get(&app.link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    // Named with the port: two apps open in one browser keep their own sessions.
    let port = app.base.rsplit(':').next().unwrap().trim_end_matches('/');
    assert!(cookie.starts_with(&format!("rapport_session_{port}=")), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(app.app.open_url().is_none(), "the link is spent");

    // The same link again (from the browser's history, or another program): refused.
    let res = app.http.get(&app.link).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("set-cookie").is_none());
    let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "secret_refused");

    app.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    assert_eq!(app.get("/status").await.0, 200);
}

#[tokio::test]
async fn a_request_for_another_host_is_refused() {
    let app = TestApp::signed_in().await;
    let res = app
        .http
        .get(format!("{}/api/accounts", app.base))
        .header("host", format!("attacker.example:{}", app.app.addr().port()))
        .header("cookie", app.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app.http.get(format!("{}/", app.base)).header("host", "127.0.0.1:1").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let localhost = format!("localhost:{}", app.app.addr().port());
    let res = app.http.get(format!("{}/", app.base)).header("host", localhost).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_page_and_the_api_carry_the_security_headers() {
    let app = TestApp::signed_in().await;
    for path in ["/", "/assets/app.js", "/assets/i18n.js", "/assets/words.js", "/assets/app.css", "/api/accounts"] {
        let res =
            app.http.get(format!("{}{path}", app.base)).header("cookie", app.cookie.clone().unwrap()).send().await;
        let res = res.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    // The page runs no inline script: every script is a file of this origin.
    let html = app.http.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert_eq!(html.matches("<script").count(), html.matches("<script src=\"/assets/").count());
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing from another origin");
}

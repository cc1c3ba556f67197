//! A running app on a real replica file, and an HTTP client that signs in
//! with its one-time link like the browser does.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rapport_client::Client;
use rapport_core::{DeviceIdentity, Replica};
use rapport_desktop::{AppOptions, RunningApp};
use serde_json::Value;

pub struct TestApp {
    pub app: RunningApp,
    pub base: String,
    pub link: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub dir: tempfile::TempDir,
}

/// A server address nobody listens on: the app works offline.
pub fn nowhere() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

pub fn replica_in(dir: &tempfile::TempDir) -> Replica {
    Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("ana", "ana-laptop")).unwrap()
}

impl TestApp {
    /// The app on `replica` with no server reachable, not signed in yet.
    pub async fn start(dir: tempfile::TempDir, replica: Replica) -> TestApp {
        TestApp::start_with_server(dir, replica, &nowhere()).await
    }

    /// The app on `replica` syncing with the server at `server`, not signed in yet.
    pub async fn start_with_server(dir: tempfile::TempDir, replica: Replica, server: &str) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = Client::new(server, "desktop-test-token-0123456789").unwrap();
        let options = AppOptions {
            open_browser: false,
            push_interval: Duration::from_millis(200),
            max_reconnect_wait: Duration::from_millis(500),
            ..AppOptions::default()
        };
        let app = rapport_desktop::start(listener, replica, client, &options).await.unwrap();
        let base = format!("http://{}", app.addr());
        let link = app.open_url().expect("a fresh app has its link");
        // reqwest is built without a default TLS provider (the app's requests here are plain HTTP).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { app, base, link, http, cookie: None, dir }
    }

    /// A fresh app on an empty replica, signed in.
    pub async fn signed_in() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let replica = replica_in(&dir);
        let mut app = TestApp::start(dir, replica).await;
        app.sign_in().await;
        app
    }

    pub async fn sign_in(&mut self) {
        let res = self.http.get(&self.link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let set = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
    }

    fn with_cookie(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.with_cookie(self.http.get(format!("{}/api{path}", self.base))).send().await.unwrap();
        let status = res.status().as_u16();
        (status, serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .with_cookie(self.http.post(format!("{}/api{path}", self.base)))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null))
    }

    /// Creates an account through the API; returns its id.
    pub async fn account(&self, name: &str) -> String {
        let (status, card) = self.post("/accounts", serde_json::json!({ "name": name })).await;
        assert_eq!(status, 200, "{card}");
        card["account"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn card(&self, id: &str) -> Value {
        let (status, card) = self.get(&format!("/accounts/{id}")).await;
        assert_eq!(status, 200, "{card}");
        card
    }
}

/// Asserts a typed error: status, code, and that it is JSON.
pub fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.1);
}

//! A real server on port 0 over a temporary data directory, and a tiny HTTP
//! client that syncs a `rapport_core::Replica` against it.
//!
//! With `RAPPORT_TEST_BACKEND=postgres` every server serves from a fresh
//! PostgreSQL database instead of its SQLite file (`scripts/test-all.sh`
//! runs the backend-neutral suites a second time so; ADR 0034).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rapport_core::sync::{Message, SyncResponse};
use rapport_core::{DeviceIdentity, NewAccount, Replica, SyncLimits};
use rapport_server::{Config, ServerError};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The admin token every test server is started with.
pub const TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct TestServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub data: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
    /// The PostgreSQL database it serves from, if the suite runs on PostgreSQL.
    pub postgres: Option<Postgres>,
}

/// Whether the suites run on PostgreSQL (`RAPPORT_TEST_BACKEND=postgres`).
/// Any other value than `sqlite` or `postgres` is a mistake, and fails.
pub fn on_postgres() -> bool {
    match std::env::var("RAPPORT_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("RAPPORT_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    }
}

/// A fresh PostgreSQL database, held by a thread of its own: a throwaway
/// cluster must not outlive the thread that made it, and test runtimes
/// come and go. Dropped (and deleted) with the server.
pub struct Postgres {
    pub url: String,
    release: Option<std::sync::mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl Postgres {
    pub fn create() -> Postgres {
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let db = rapport_store_postgres::cluster::TestDatabase::create().expect("a PostgreSQL test database");
            url_tx.send(db.url().to_owned()).unwrap();
            let _ = released.recv();
            drop(db);
        });
        let url = url_rx.recv().expect("the test database's thread failed; see its panic above");
        Postgres { url, release: Some(release), holder: Some(holder) }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}

impl TestServer {
    /// A server over a new temporary directory (kept alive by the returned `TempDir`).
    pub async fn start() -> (TempDir, TestServer) {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start_in(dir.path(), |_| {}).await;
        (dir, server)
    }

    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> (TempDir, TestServer) {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start_in(dir.path(), tune).await;
        (dir, server)
    }

    pub async fn start_in(data: &Path, tune: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_on(data, tune, on_postgres().then(Postgres::create)).await
    }

    /// A server on its SQLite file in `data`, whatever `RAPPORT_TEST_BACKEND`
    /// says: for the tests of what only that file does (its deferred
    /// rewrites, its planner statistics, what a crash leaves in it).
    pub async fn start_sqlite_in(data: &Path, tune: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_on(data, tune, None).await
    }

    async fn start_on(data: &Path, tune: impl FnOnce(&mut Config), postgres: Option<Postgres>) -> TestServer {
        let mut config = Config::new(data);
        config.admin_token = Some(TOKEN.to_owned());
        config.database_url = postgres.as_ref().map(|p| p.url.clone());
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(rapport_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        TestServer { url: format!("http://{addr}"), addr, data: data.to_path_buf(), stop: Some(stop), task, postgres }
    }

    /// Shuts the server down gracefully; it must exit cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("server stops in time")
            .expect("server task does not panic");
        result.expect("server exits without error");
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/live", self.addr)
    }
}

pub fn client() -> reqwest::Client {
    // The workspace builds reqwest with rustls but no crypto provider; tests
    // speak plain HTTP, yet building a client needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Posts raw bytes to `/v1/sync`; returns status and body.
pub async fn post_sync(server: &TestServer, body: Vec<u8>) -> (u16, Vec<u8>) {
    post_sync_as(server, TOKEN, body).await
}

/// Posts raw bytes to `/v1/sync` with `token`; returns status and body.
pub async fn post_sync_as(server: &TestServer, token: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let response = client()
        .post(format!("{}/v1/sync", server.url))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// Posts an encoded message and decodes the response, which must be a 200.
pub async fn exchange(server: &TestServer, message: &Message) -> SyncResponse {
    let (status, body) = post_sync(server, message.encode()).await;
    assert_eq!(status, 200, "sync failed: {}", String::from_utf8_lossy(&body));
    match Message::decode(&body).unwrap() {
        Message::Response(r) => r,
        Message::Request(_) => panic!("server answered with a request"),
    }
}

/// Syncs `replica` with the server over HTTP until nothing is left; returns
/// how many documents were pulled.
pub async fn sync(server: &TestServer, replica: &mut Replica) -> usize {
    let mut pulled = 0;
    for _ in 0..100 {
        let (request, plan) = replica.sync_request(SyncLimits::default()).unwrap();
        let response = exchange(server, &Message::Request(request)).await;
        let report = replica.sync_apply(&plan, &response).unwrap();
        assert!(report.rejected.is_empty(), "server rejected {:?}", report.rejected);
        pulled += report.pulled_docs;
        if !report.more && replica.unsynced_count().unwrap() == 0 {
            return pulled;
        }
    }
    panic!("sync did not finish");
}

/// A replica in its own temporary directory.
pub struct Device {
    pub dir: TempDir,
    pub replica: Replica,
}

impl Device {
    pub fn new(user: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let replica =
            Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new(user, format!("{user}-device"))).unwrap();
        Device { dir, replica }
    }

    pub fn account(&mut self, name: &str) -> rapport_core::AccountId {
        self.replica.create_account(&NewAccount::new(name)).unwrap()
    }
}

/// Parses `{"error": {"code", "message"}}` and returns the code.
pub fn error_code(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("error body is JSON: {}", String::from_utf8_lossy(body)));
    let message = value["error"]["message"].as_str().expect("error has a message");
    assert!(!message.is_empty());
    value["error"]["code"].as_str().expect("error has a code").to_owned()
}

/// The server still answers a valid, empty sync.
pub async fn assert_serving(server: &TestServer) {
    let mut device = Device::new("probe");
    sync(server, &mut device.replica).await;
    let health = client().get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

/// What syncing a replica to completion did, refusals included.
#[derive(Debug, Default)]
pub struct Synced {
    pub pulled: usize,
    pub rejected: Vec<(String, String)>,
    pub removed: Vec<String>,
    pub kept_unsynced: Vec<String>,
}

/// Syncs `replica` with `token` until nothing is left, collecting refusals.
pub async fn sync_as(server: &TestServer, token: &str, replica: &mut Replica) -> Synced {
    let mut out = Synced::default();
    for _ in 0..100 {
        let (request, plan) = replica.sync_request(SyncLimits::default()).unwrap();
        let (status, body) = post_sync_as(server, token, Message::Request(request).encode()).await;
        assert_eq!(status, 200, "sync failed: {}", String::from_utf8_lossy(&body));
        let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("not a response") };
        let report = replica.sync_apply(&plan, &response).unwrap();
        out.pulled += report.pulled_docs;
        out.rejected.extend(report.rejected);
        out.removed.extend(report.removed);
        out.kept_unsynced.extend(report.kept_unsynced);
        if !report.more && replica.unsynced_count().unwrap() == 0 {
            return out;
        }
    }
    panic!("sync did not finish");
}

/// Calls the admin API with `token`; returns status and JSON body.
pub async fn admin(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = client().request(method, format!("{}/v1/admin{path}", server.url)).bearer_auth(token);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("admin API answers JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// Adds a team through the admin API.
pub async fn add_team(server: &TestServer, name: &str) {
    let (status, body) =
        admin(server, TOKEN, reqwest::Method::POST, "/teams", Some(serde_json::json!({ "name": name }))).await;
    assert_eq!(status, 200, "{body}");
}

/// Adds a user through the admin API; returns its first device's token.
pub async fn add_user(server: &TestServer, name: &str, role: &str, teams: &[&str], territories: &[&str]) -> String {
    let body = serde_json::json!({ "name": name, "role": role, "teams": teams, "territories": territories });
    let (status, body) = admin(server, TOKEN, reqwest::Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Adds another device to a user; returns `(device id, token)`.
pub async fn add_device(server: &TestServer, user: &str) -> (i64, String) {
    let body = serde_json::json!({ "name": "another" });
    let (status, body) =
        admin(server, TOKEN, reqwest::Method::POST, &format!("/users/{user}/devices"), Some(body)).await;
    assert_eq!(status, 200, "{body}");
    (body["device_id"].as_i64().unwrap(), body["token"].as_str().unwrap().to_owned())
}

/// A counter or gauge from `/metrics`, whatever the node's name.
pub async fn metric(server: &TestServer, name: &str) -> u64 {
    let text =
        client().get(format!("{}/metrics", server.url)).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    sample(&text, name, &[]).unwrap_or_else(|| panic!("metric {name} in {text}")) as u64
}

/// The value of the sample `name` whose labels include `labels`, in an
/// OpenMetrics text (the `node` label and any other are ignored).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(inner) => inner.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        let has = |(k, v): &(&str, &str)| label_text.split(',').any(|pair| pair == format!("{k}=\"{v}\""));
        labels.iter().all(has).then(|| value.parse().ok()).flatten()
    })
}

/// Every row `sql` answers on the SQLite file at `path` (a connection of
/// its own), as the reporting index's cells, in one order.
pub fn sqlite_cells(path: &Path, sql: &str) -> Vec<Vec<rapport_server_store::report_rows::Cell>> {
    use rapport_server_store::report_rows::Cell;
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(path).expect("the database opens for reading");
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let width = stmt.column_count();
    let rows = stmt
        .query_map([], |row| {
            (0..width)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(n) => Cell::Int(n),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        other => panic!("not a reporting value: {other:?}"),
                    })
                })
                .collect::<rusqlite::Result<Vec<Cell>>>()
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
    rapport_server_store::report_conformance::sorted(rows.unwrap_or_else(|e| panic!("{sql}: {e}")))
}

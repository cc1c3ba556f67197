//! The nginx configuration shipped in `docs/nginx/rapport.conf`, run as it
//! is (only its addresses changed) by a real nginx in front of a real
//! `rapport-server`: the CLI syncs through it, a device on the live
//! WebSocket hears another device's edit through it, and the dashboard's
//! event stream and a push larger than nginx's default body limit pass.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rapport_client::{Client, LiveEvent, WatchOptions};
use rapport_core::{DeviceIdentity, NewAccount, Replica, SyncLimits};
use rapport_e2e::*;

const NGINX: &str = "/usr/sbin/nginx";

/// nginx running the shipped configuration on a free port in front of `upstream` (host:port).
struct Nginx {
    child: Child,
    url: String,
}

impl Nginx {
    fn start(dir: &Path, upstream: &str) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: install Debian's nginx (apt-get install nginx-light); scripts/install-test-deps.sh does"
        );
        let shipped = std::fs::read_to_string(repo().join("docs/nginx/rapport.conf")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let site = shipped
            .replace("server 127.0.0.1:8080;", &format!("server {upstream};"))
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
        assert_ne!(site, shipped, "the shipped file has the lines this test changes");
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        // As root, nginx's workers run as nobody: they write their temporary files here.
        Command::new("chmod").args(["-R", "a+rwx"]).arg(dir).status().unwrap();
        std::fs::write(dir.join("rapport.conf"), site).unwrap();
        let main = format!(
            "pid {dir}/nginx.pid;\nerror_log stderr warn;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
               fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
               include {dir}/rapport.conf;\n}}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off; master_process off;"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "nginx did not start listening on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, url }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_the_live_socket_and_the_event_stream_pass_through_the_shipped_nginx_configuration() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let (ana_token, bob_token) = (add_user(&data, "ana", "admin"), add_user(&data, "bob", "admin"));
    let carl_token = add_user(&data, "carl", "admin");
    let server = Server::start(&data);
    let nginx = Nginx::start(&root.path().join("nginx"), &server.addr());

    // bob watches through nginx: the live WebSocket is upgraded and kept open.
    let bob = Client::new(&nginx.url, &bob_token).unwrap();
    let bob_replica =
        Arc::new(Mutex::new(Replica::open(root.path().join("bob.db"), &DeviceIdentity::new("bob", "bob")).unwrap()));
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let options = WatchOptions::default();
    let watching = tokio::spawn(async move { bob.watch(bob_replica, &options, |e| drop(tx.send(e))).await });
    let first = tokio::time::timeout(Duration::from_secs(20), events.recv()).await.unwrap().unwrap();
    assert!(matches!(&first, LiveEvent::Connected { url } if url.starts_with("ws://127.0.0.1:")), "{first:?}");

    // ana syncs through nginx with the CLI.
    let ana = Desktop::new(root.path(), "ana");
    let url = nginx.url.clone();
    let acme = tokio::task::spawn_blocking(move || {
        ana.ok(&["init", "--server", &url, "--token", &ana_token]);
        let acme = ana.last_line(&["account", "add", "--name", "Ромашка"]);
        ana.ok(&["sync"]);
        acme
    })
    .await
    .unwrap();
    // carl pushes notes larger than nginx's default body size (1 MiB).
    let carl = Client::new(&nginx.url, &carl_token).unwrap();
    let mut carl_replica = Replica::open(root.path().join("carl.db"), &DeviceIdentity::new("carl", "carl")).unwrap();
    let big = carl_replica.create_account(&NewAccount::new("Склад")).unwrap();
    let notes = "Склад у Львові, рампа з двору. ".repeat(40_000);
    carl_replica.edit(big, |e| e.set_notes(&notes)).unwrap();
    let pushed = carl.sync(&mut carl_replica, SyncLimits::default(), |_| {}).await.unwrap();
    assert_eq!(pushed.pushed_docs, 1);
    assert_eq!(carl_replica.unsynced_count().unwrap(), 0);

    let mut ids = std::collections::HashSet::new();
    let heard = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.recv().await {
            if let LiveEvent::Update(s) | LiveEvent::Synced(s) = &event {
                ids.extend(s.pulled_ids.iter().cloned());
            }
            if ids.contains(&acme) && ids.contains(&big.to_string()) {
                return;
            }
        }
        panic!("the watch ended before the edit arrived");
    })
    .await;
    assert!(heard.is_ok(), "bob did not hear ana's and carl's edits through nginx");

    // The dashboard's event stream is not buffered: its first event arrives at once.
    let response = reqwest_get(&format!("{}/v1/reports/events", nginx.url), &bob_token).await;
    assert!(response.starts_with("event: head\ndata: "), "{response:?}");
    watching.abort();
    drop(nginx);
    server.stop();
}

/// The first bytes of a streaming GET (the stream itself never ends).
async fn reqwest_get(url: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let without_scheme = url.strip_prefix("http://").unwrap();
    let (host, path) = without_scheme.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream closed: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some((_, body)) = text.split_once("\r\n\r\n")
                && body.contains("data: ")
                && body.contains('\n')
            {
                return;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no event within 10 s through nginx: {}", String::from_utf8_lossy(&got));
    let text = String::from_utf8_lossy(&got).into_owned();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    // A chunked body: skip the chunk size line.
    body.split_once("\r\n").map_or(body, |(_, rest)| rest).to_owned()
}

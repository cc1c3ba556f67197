//! The `rapport-server` binary: prints its token and address, serves, and
//! exits 0 on SIGTERM.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn serve_prints_the_token_and_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rapport-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env_remove("RAPPORT_ADMIN_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut token = None;
    let url = loop {
        let line = lines_rx.recv_timeout(Duration::from_secs(30)).expect("the server prints its address");
        if let Some(rest) = line.trim().strip_prefix("rapport init --server ") {
            token = rest.split(" --token ").nth(1).map(str::to_owned);
        }
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    let token = token.expect("first start prints a token");
    assert_eq!(token.len(), 64);
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{url}");

    let client = common::client();
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let metrics = client.get(format!("{url}/metrics")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

//! A real `rapport-server` process for the CLI's tests that need one.
//!
//! Needs `target/<profile>/rapport-server`: run `cargo build --bins` first
//! (`scripts/test-all.sh` does).

#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The admin token the server is started with.
pub const ADMIN_TOKEN: &str = "cli-test-admin-token-0123456789abcdef";

pub fn server_bin() -> PathBuf {
    let rapport = PathBuf::from(env!("CARGO_BIN_EXE_rapport"));
    let path = rapport.with_file_name(format!("rapport-server{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is not built; run `cargo build --bins` first", path.display());
    path
}

/// Creates a user with a named first device on a data directory (before the
/// server starts); returns the device token.
pub fn add_user(data: &Path, user: &str, role: &str, device: &str) -> String {
    let out = Command::new(server_bin())
        .args(["user", "add", user, "--role", role, "--device", device, "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_owned()
}

/// A real server process on a free port.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        let mut child = Command::new(server_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RAPPORT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(60)).expect("the server prints its address");
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a management command (`rapport-server user set …`) through the
/// running server's admin API; returns its standard output.
pub fn manage(server: &Server, args: &[&str]) -> String {
    let out = Command::new(server_bin())
        .args(args)
        .args(["--server", &server.url])
        .env("RAPPORT_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

//! Harness for end-to-end tests: starts real `rapport-server` processes on
//! free ports and runs the real `rapport` CLI against them.
//!
//! The binaries are the ones cargo built for this workspace
//! (`target/<profile>/rapport-server`, `target/<profile>/rapport`);
//! `scripts/test-all.sh` builds them before running the tests.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The admin token every test server is started with.
pub const TOKEN: &str = "e2e-admin-token-0123456789abcdef0123456789abcdef";

/// Directory holding the workspace's built binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test-binary>
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` first (scripts/test-all.sh does)",
        path.display()
    );
    path
}

/// A binary of an earlier release, built from this repository's history by
/// `scripts/build-release.sh` (scripts/test-all.sh runs it first):
/// `release_bin("0.1.0", "rapport")`, `release_bin("0.2.0", "rapport-server")`.
pub fn release_bin(release: &str, name: &str) -> PathBuf {
    let path = bin_dir().parent().unwrap().join("compat").join(release).join(name);
    assert!(
        path.exists(),
        "{} is not built; run scripts/build-release.sh {release} first (scripts/test-all.sh does)",
        path.display()
    );
    path
}

/// Creates a user with a device on a stopped server's data directory; returns its token.
pub fn add_user(data: &Path, name: &str, role: &str) -> String {
    let out = Command::new(bin("rapport-server"))
        .args(["user", "add", name, "--role", role, "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "user add {name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_owned()
}

/// A running server process with its data directory.
#[derive(Debug)]
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data: PathBuf,
}

impl Server {
    /// Starts a server on a free port with data in `data`.
    pub fn start(data: &Path) -> Server {
        Self::start_on(data, "127.0.0.1:0")
    }

    pub fn start_on(data: &Path, listen: &str) -> Server {
        Self::start_with::<&str>(data, listen, &[])
    }

    /// Starts a server with more `serve` arguments (e.g. `--tls-cert FILE --tls-key FILE`,
    /// `--min-client-version 0.2.0`).
    pub fn start_with<S: AsRef<std::ffi::OsStr>>(data: &Path, listen: &str, extra: &[S]) -> Server {
        Self::start_program(&bin("rapport-server"), data, listen, extra)
    }

    /// Starts `program`, a `rapport-server` of this or an earlier release
    /// (`release_bin`), like `start_with`.
    pub fn start_program<S: AsRef<std::ffi::OsStr>>(program: &Path, data: &Path, listen: &str, extra: &[S]) -> Server {
        let mut child = Command::new(program)
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", listen])
            .args(extra)
            .env("RAPPORT_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(i) = line.find("listening on ") {
                    let url = line[i + "listening on ".len()..].trim().to_owned();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(60)).expect("server did not print its address");
        Server { child, url, data: data.to_path_buf() }
    }

    /// A new device token of `user` (created with `role` if it does not
    /// exist yet), through the admin API with the admin token.
    pub fn device_token(&self, user: &str, role: &str, device: &str) -> String {
        let body = serde_json::json!({ "name": user, "role": role, "device": device });
        let (status, answer) = self.admin_post("/v1/admin/users", &body);
        let (status, answer) = if status == 409 {
            self.admin_post(&format!("/v1/admin/users/{user}/devices"), &serde_json::json!({ "name": device }))
        } else {
            (status, answer)
        };
        assert_eq!(status, 200, "admin API: {answer}");
        answer["token"].as_str().unwrap().to_owned()
    }

    /// A JSON `POST` with the admin token (plain HTTP/1.1, one connection).
    pub fn admin_post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.admin_request("POST", path, body)
    }

    /// A `GET` with the admin token; the status and the JSON answer (`Null` if it is not JSON).
    pub fn admin_get(&self, path: &str) -> (u16, serde_json::Value) {
        self.admin_request("GET", path, &serde_json::Value::Null)
    }

    fn admin_request(&self, method: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        use std::io::{Read, Write};
        let body = body.to_string();
        let mut stream = std::net::TcpStream::connect(self.addr()).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr(),
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, json) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
        (status, serde_json::from_str(json).unwrap_or(serde_json::Value::Null))
    }

    /// `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").trim_start_matches("https://").to_owned()
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A desktop client: the `rapport` CLI with its own replica directory.
#[derive(Debug)]
pub struct Desktop {
    pub dir: PathBuf,
    pub name: String,
}

impl Desktop {
    pub fn new(root: &Path, name: &str) -> Desktop {
        Desktop { dir: root.join(name), name: name.to_owned() }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin("rapport"));
        cmd.arg("--replica").arg(&self.dir);
        cmd
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`rapport {}` failed on {}:\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// `init` against a server as an admin user named like this desktop,
    /// with a device of the same name (created through the admin API; the
    /// CLI takes both from the token).
    pub fn init(&self, server: &Server) {
        let token = server.device_token(&self.name, "admin", &self.name);
        self.ok(&["init", "--server", &server.url, "--token", &token, "--user", &self.name, "--device", &self.name]);
    }

    /// Runs a command and returns its last stdout line (ids printed by `add`).
    pub fn last_line(&self, args: &[&str]) -> String {
        self.ok(args).lines().last().unwrap_or_default().trim().to_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

/// Per account, the heads a replica holds now: after a sync a server
/// acknowledged, what that server must never lose.
pub type Acknowledged = std::collections::HashMap<rapport_core::AccountId, Vec<rapport_core::ChangeHash>>;

/// Every account's heads in `replica` now.
pub fn all_heads(replica: &rapport_core::Replica) -> Acknowledged {
    replica.account_ids().unwrap().into_iter().map(|id| (id, replica.document(id).unwrap().heads())).collect()
}

/// Asserts that `replica` holds every change acknowledged to each device
/// (`acked[i]`: what device `i` was last acknowledged).
pub fn assert_holds_acknowledged(replica: &rapport_core::Replica, acked: &[Acknowledged]) {
    for (i, per_doc) in acked.iter().enumerate() {
        for (id, heads) in per_doc {
            let mut doc = replica
                .document(*id)
                .unwrap_or_else(|e| panic!("acknowledged account {id} of device {i} is missing: {e}"));
            for h in heads {
                assert!(
                    doc.automerge_mut().get_change_by_hash(h).is_some(),
                    "change {h} of account {id}, acknowledged to device {i}, is missing"
                );
            }
        }
    }
}

/// A random test's seed: `var` from the environment to replay a run, else
/// a new one; printed either way, so that a failing run can be replayed.
pub fn seed(var: &str) -> u64 {
    let seed = std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("seed: {seed} (set {var} to replay)");
    seed
}

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
        let mut child = Command::new(bin("rapport-server"))
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", listen])
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

    /// `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
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

    /// `init` against a server with a user and device name.
    pub fn init(&self, server: &Server) {
        self.ok(&["init", "--server", &server.url, "--token", TOKEN, "--user", &self.name, "--device", &self.name]);
    }

    /// Runs a command and returns its last stdout line (ids printed by `add`).
    pub fn last_line(&self, args: &[&str]) -> String {
        self.ok(args).lines().last().unwrap_or_default().trim().to_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

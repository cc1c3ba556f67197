//! The `rapport` binary on a temporary replica directory, offline (no server).

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn ok(self) -> Run {
        assert!(self.out.status.success(), "failed: {}\nstdout: {}", self.stderr(), self.stdout());
        self
    }
    /// Fails with a usage error or another error; returns the run to read stderr from.
    pub fn fails(self) -> Run {
        assert!(!self.out.status.success(), "unexpected success: {}", self.stdout());
        assert!(self.stderr().starts_with("error: "), "not a plain error: {}", self.stderr());
        assert!(!self.stderr().contains("panicked"), "{}", self.stderr());
        self
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// The error message without the `error: ` label.
    pub fn error(&self) -> String {
        self.stderr().trim().trim_start_matches("error: ").to_owned()
    }
    pub fn last_line(&self) -> String {
        self.stdout().lines().last().unwrap_or_default().to_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout()))
    }
}

pub fn rapport(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--replica")
        .arg(dir)
        .args(args)
        .env_remove("RAPPORT_REPLICA")
        .output()
        .unwrap();
    Run { out }
}

/// A replica set up with `rapport init --offline` as user `ana`.
pub struct Replica {
    pub dir: tempfile::TempDir,
}

impl Replica {
    pub fn new() -> Replica {
        let r = Replica { dir: tempfile::tempdir().unwrap() };
        r.run(&[
            "init",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--user",
            "ana",
            "--device",
            "pc",
            "--offline",
        ])
        .ok();
        r
    }
    pub fn run(&self, args: &[&str]) -> Run {
        rapport(self.dir.path(), args)
    }
    /// Runs a command that prints a new id alone on its last line; returns the id.
    pub fn new_id(&self, args: &[&str]) -> String {
        let id = self.run(args).ok().last_line();
        assert!(is_uuid(&id), "{args:?} printed {id:?} last");
        id
    }
    pub fn add(&self, name: &str) -> String {
        self.new_id(&["account", "add", "--name", name])
    }
    /// `account show --json`.
    pub fn show(&self, id: &str) -> serde_json::Value {
        self.run(&["account", "show", id, "--json"]).ok().json()
    }
    /// Everything `account show --json` and `account history --json` print, to
    /// compare before and after a command that must change nothing.
    pub fn snapshot(&self, id: &str) -> String {
        let history = self.run(&["account", "history", id, "--json"]).ok().stdout();
        format!("{}\n{history}", self.run(&["account", "show", id, "--json"]).ok().stdout())
    }
}

pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<usize> = s.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12] && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

/// The first `n` characters of an id (a shortened id, as git accepts).
pub fn short(id: &str, n: usize) -> &str {
    &id[..n]
}

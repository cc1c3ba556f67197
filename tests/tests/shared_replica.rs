//! `rapport watch` runs while other `rapport` commands use the same replica
//! (ADR 0021): they neither fail nor lose an edit, and the running watch
//! pushes their edits to the server, where another device gets them.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use rapport_e2e::*;
use serde_json::Value;

/// A running `rapport watch`, killed when dropped; its stdout lines arrive on `lines`.
struct Watch {
    child: Child,
    lines: Receiver<String>,
}

impl Watch {
    fn start(d: &Desktop) -> Watch {
        let mut child = d
            .command()
            .args(["watch", "--push-every", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// Waits for a stdout line containing `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("rapport watch printed no line with {text:?}");
    }

    fn assert_running(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "rapport watch stopped");
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn account(d: &Desktop, id: &str) -> Value {
    d.json(&["account", "show", id, "--json"])["account"].clone()
}

/// Polls `check` on `d` (syncing it first when `sync`) until it holds, for up to 30 s.
fn eventually(d: &Desktop, sync: bool, what: &str, check: impl Fn(&Desktop) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if sync {
            d.ok(&["sync"]);
        }
        if check(d) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not arrive on {} within 30 s", d.name);
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn commands_run_beside_rapport_watch_and_their_edits_reach_another_device_through_it() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let office = Desktop::new(root.path(), "office");
    let rep = Desktop::new(root.path(), "rep");
    office.init(&server);
    rep.init(&server);
    let acme = office.last_line(&["account", "add", "--name", "Acme Oy"]);
    office.ok(&["sync"]);
    rep.ok(&["sync"]);

    let mut watch = Watch::start(&office);
    watch.wait_for("connected");

    // While watch runs: reads, edits and new accounts in other processes.
    let status = office.ok(&["status"]);
    assert!(!status.trim().is_empty());
    office.ok(&["account", "list"]);
    office.ok(&["account", "set", &acme, "address.city", "Odesa"]);
    let added = office.last_line(&["account", "add", "--name", "Added Beside Watch", "--owner", "rep"]);
    // Several commands at once, all on the same account: none fails, none is lost.
    let tagging: Vec<_> = (0..4)
        .map(|i| {
            let mut cmd = office.command();
            cmd.args(["tag", "add", &acme, &format!("parallel-{i}")]);
            std::thread::spawn(move || cmd.output().unwrap())
        })
        .collect();
    for t in tagging {
        let out = t.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let json = office.json(&["status", "--json"]);
    assert!(json.is_object(), "{json}");
    // `rapport sync` beside the watch, which syncs the same replica: it succeeds.
    for _ in 0..3 {
        office.ok(&["sync"]);
    }

    // The running watch pushes them (every second): the rep's device gets
    // them from the server without anyone restarting watch.
    eventually(&rep, true, "the office's edits", |d| {
        let a = account(d, &acme);
        let tags = a["party"]["tags"].as_array().map_or(0, Vec::len);
        a["party"]["address"]["city"] == "Odesa" && tags == 4
    });
    assert_eq!(account(&rep, &added)["party"]["name"], "Added Beside Watch");

    // And the rep's edit arrives live in the office's replica, read by
    // another command while watch still runs.
    rep.ok(&["account", "set", &acme, "party.industry", "Shipping"]);
    rep.ok(&["sync"]);
    eventually(&office, false, "the rep's edit", |d| account(d, &acme)["party"]["industry"] == "Shipping");
    watch.assert_running();

    // Nothing is left unsent, and both devices hold the same account.
    eventually(&office, false, "the last push", |d| d.json(&["status", "--json"])["unsynced_docs"] == 0);
    rep.ok(&["sync"]);
    assert_eq!(account(&office, &acme), account(&rep, &acme));
}

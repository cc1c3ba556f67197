//! Too-old clients (issue 13): an operator raises the minimum client version
//! (`serve --min-client-version`); a client below it is answered `426
//! client_too_old` with the minimum, says so plainly, and keeps its unsent
//! edits on the device; once the minimum is lowered again they sync.
//! Through real server processes, today's `rapport` and release 0.1.0's
//! (built from history by scripts/build-release.sh 0.1.0).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rapport_e2e::{Desktop, Server, release_bin};
use serde_json::Value;

/// The minor release after today's client (this crate shares its version).
fn next_release() -> String {
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap();
    format!("{}.{}.0", env!("CARGO_PKG_VERSION_MAJOR"), minor + 1)
}

/// Runs release 0.1.0's `rapport` on a replica directory.
fn old(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(release_bin("0.1.0", "rapport")).arg("--replica").arg(dir).args(args).output().unwrap()
}

fn old_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = old(dir, args);
    assert!(out.status.success(), "0.1.0 `rapport {}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn industry(account: &Value) -> &Value {
    &account["account"]["party"]["industry"]
}

#[test]
fn today_s_client_below_the_minimum_is_told_to_update_and_keeps_its_edits() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = Server::start(&data);
    let (ana, office) = (Desktop::new(root.path(), "ana"), Desktop::new(root.path(), "office"));
    ana.init(&server);
    office.init(&server);
    let acme = ana.last_line(&["account", "add", "--name", "Acme Oy"]);
    ana.ok(&["sync"]);
    ana.ok(&["account", "set", &acme, "party.industry", "Paper"]);
    ana.ok(&["account", "add", "--name", "Globex"]);

    // A server that needs a release newer than today's client (the next one).
    let addr = server.addr();
    assert!(server.stop().success());
    let next = next_release();
    let server = Server::start_with(&data, &addr, &["--min-client-version", &next]);
    let out = ana.run(&["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("this app is too old for the server at")
            && stderr.contains(&format!(
                "(it needs version {next} or later); update the app; your 2 unsent change(s) are kept on this device"
            )),
        "{stderr}"
    );
    assert_eq!(ana.json(&["status", "--json"])["unsynced_docs"], 2, "the edits stay on the device");
    assert_eq!(industry(&ana.json(&["account", "show", &acme, "--json"])), "Paper");
    // The live socket is refused the same way, and `watch` stops (no reconnecting).
    let mut watch = ana.command().arg("watch").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while watch.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "watch keeps retrying a server that needs a newer app");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains(&format!("(it needs version {next} or later)")), "{stderr}");

    // The operator lowers the minimum again: the kept edits sync.
    assert!(server.stop().success());
    let server = Server::start_on(&data, &addr);
    ana.ok(&["sync"]);
    assert_eq!(ana.json(&["status", "--json"])["unsynced_docs"], 0);
    office.ok(&["sync"]);
    assert_eq!(industry(&office.json(&["account", "show", &acme, "--json"])), "Paper");
    assert_eq!(office.json(&["account", "list", "--json"]).as_array().unwrap().len(), 2);
    assert!(server.stop().success());
}

#[test]
fn a_0_1_0_client_below_the_minimum_gets_426_and_its_edits_sync_once_it_is_lowered() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = Server::start(&data);
    let field = root.path().join("field");
    let token = server.device_token("field", "office", "field");
    old_ok(&field, &["init", "--server", &server.url, "--token", &token, "--user", "field", "--device", "field"]);
    let office = Desktop::new(root.path(), "office");
    office.init(&server);
    let acme = old_ok(&field, &["account", "add", "--name", "Acme Oy"]).lines().last().unwrap().trim().to_owned();
    old_ok(&field, &["sync"]);
    old_ok(&field, &["account", "set", &acme, "party.industry", "Paper"]);

    let addr = server.addr();
    assert!(server.stop().success());
    let server = Server::start_with(&data, &addr, &["--min-client-version", "0.2.0"]);
    let out = old(&field, &["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("this app is too old for this server; update it to version 0.2.0 or later"), "{stderr}");
    assert!(stderr.contains("client_too_old"), "{stderr}");
    let status: Value = serde_json::from_str(&old_ok(&field, &["status", "--json"])).unwrap();
    assert_eq!(status["unsynced_docs"], 1, "the 0.1.0 device keeps its edit: {status}");
    let kept: Value = serde_json::from_str(&old_ok(&field, &["account", "show", &acme, "--json"])).unwrap();
    assert_eq!(industry(&kept), "Paper");
    // Today's client is at the minimum and syncs; it does not see the kept edit yet.
    office.ok(&["sync"]);
    assert!(industry(&office.json(&["account", "show", &acme, "--json"])).is_null());

    assert!(server.stop().success());
    let server = Server::start_on(&data, &addr);
    old_ok(&field, &["sync"]);
    office.ok(&["sync"]);
    assert_eq!(industry(&office.json(&["account", "show", &acme, "--json"])), "Paper");
    assert!(server.stop().success());
}

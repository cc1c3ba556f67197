//! `rapport init --encrypt` and `rapport encrypt`: the replica on disk holds
//! no customer name in clear, the passphrase comes from `RAPPORT_PASSPHRASE`
//! (or the terminal), and a wrong or missing one is a clear error. The OS
//! keyring cannot be reached on a headless machine: the test that asks for
//! it checks the fallback to a passphrase (Linux, where the test can make
//! sure no Secret Service answers).
//!
//! The sync test needs `target/<profile>/rapport-server`: run `cargo build --bins` first.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ADMIN_TOKEN, Server};

const NAME: &str = "Quackenbush Zebulon Haberdashery";
const PASSPHRASE: &str = "correct horse battery staple";

/// Runs `rapport` on `dir` with `passphrase` in the environment (or none), no terminal, no keyring.
fn rapport(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    let no_bus = dir.parent().unwrap().join("no-session-bus");
    std::fs::create_dir_all(&no_bus).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rapport"));
    cmd.arg("--replica")
        .arg(dir)
        .args(args)
        .env_remove("RAPPORT_REPLICA")
        .env_remove("RAPPORT_PASSPHRASE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", &no_bus)
        .stdin(Stdio::null());
    if let Some(p) = passphrase {
        cmd.env("RAPPORT_PASSPHRASE", p);
    }
    cmd.output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(out: Output) -> String {
    assert!(!out.status.success(), "unexpected success: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

fn init_offline(dir: &Path, passphrase: Option<&str>, extra: &[&str]) -> Output {
    let mut args =
        vec!["init", "--server", "http://127.0.0.1:9", "--token", "t", "--user", "ana", "--device", "pc", "--offline"];
    args.extend_from_slice(extra);
    rapport(dir, passphrase, &args)
}

fn names(dir: &Path, passphrase: Option<&str>) -> Vec<String> {
    let out = ok(rapport(dir, passphrase, &["account", "list", "--json"]));
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    list.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect()
}

/// Files under `dir` whose bytes hold the customer's name.
fn leaks(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(leaks(&path));
        } else if std::fs::read(&path).unwrap().windows(NAME.len()).any(|w| w == NAME.as_bytes()) {
            found.push(path);
        }
    }
    found
}

fn key_source(dir: &Path) -> Option<String> {
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    config["key"].as_str().map(str::to_owned)
}

#[test]
fn a_passphrase_encrypted_replica_works_and_holds_no_name_in_clear() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("replica");
    let out = ok(init_offline(&dir, Some(PASSPHRASE), &["--encrypt", "passphrase"]));
    assert!(out.contains("encrypted with a passphrase"), "{out}");
    assert_eq!(key_source(&dir).as_deref(), Some("passphrase"));
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(!config.contains(PASSPHRASE), "the config never holds the passphrase");

    ok(rapport(&dir, Some(PASSPHRASE), &["account", "add", "--name", NAME]));
    assert_eq!(names(&dir, Some(PASSPHRASE)), [NAME]);
    assert_eq!(leaks(root.path()), Vec::<PathBuf>::new());

    let wrong = fails(rapport(&dir, Some("not the passphrase"), &["account", "list"]));
    assert!(wrong.contains("cannot be opened with this key"), "{wrong}");
    assert!(!wrong.contains("not a database"), "{wrong}");
    let missing = fails(rapport(&dir, None, &["account", "list"]));
    assert!(missing.contains("set RAPPORT_PASSPHRASE"), "{missing}");
    assert_eq!(names(&dir, Some(PASSPHRASE)), [NAME], "failed opens changed nothing");
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_reachable_keyring_init_encrypts_with_a_passphrase_and_says_so() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("replica");
    let out = init_offline(&dir, Some(PASSPHRASE), &["--encrypt"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(stderr.contains("the OS keyring cannot be used"), "{stderr}");
    assert_eq!(key_source(&dir).as_deref(), Some("passphrase"));
    ok(rapport(&dir, Some(PASSPHRASE), &["account", "add", "--name", NAME]));
    assert_eq!(leaks(root.path()), Vec::<PathBuf>::new());
    fails(rapport(&dir, Some("guess"), &["account", "list"]));

    // Without a passphrase either, nothing is set up.
    let other = root.path().join("other");
    let err = fails(init_offline(&other, None, &["--encrypt"]));
    assert!(err.contains("set RAPPORT_PASSPHRASE"), "{err}");
    assert!(!other.join("replica.db").exists());
}

#[test]
fn rapport_encrypt_converts_a_plain_replica_in_place() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("replica");
    ok(init_offline(&dir, None, &[]));
    ok(rapport(&dir, None, &["account", "add", "--name", NAME]));
    ok(rapport(&dir, None, &["account", "add", "--name", "Second Customer"]));
    assert!(!leaks(root.path()).is_empty(), "the plain replica holds the name");

    // No passphrase: refused, nothing changed.
    let err = fails(rapport(&dir, None, &["encrypt", "--key", "passphrase"]));
    assert!(err.contains("set RAPPORT_PASSPHRASE"), "{err}");
    assert_eq!(key_source(&dir), None);
    assert_eq!(names(&dir, None).len(), 2);

    let out = ok(rapport(&dir, Some(PASSPHRASE), &["encrypt", "--key", "passphrase"]));
    assert!(out.contains("encrypted"), "{out}");
    assert_eq!(key_source(&dir).as_deref(), Some("passphrase"));
    assert_eq!(leaks(root.path()), Vec::<PathBuf>::new(), "no plaintext left behind");
    let mut listed = names(&dir, Some(PASSPHRASE));
    listed.sort();
    assert_eq!(listed, ["Quackenbush Zebulon Haberdashery", "Second Customer"]);

    let again = ok(rapport(&dir, Some(PASSPHRASE), &["encrypt"]));
    assert!(again.contains("already encrypted"), "{again}");
    let wrong = fails(rapport(&dir, Some("guess"), &["encrypt"]));
    assert!(wrong.contains("cannot be opened with this key"), "{wrong}");
}

#[test]
fn rapport_encrypt_of_a_replica_in_use_is_refused_and_puts_the_config_back() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("replica");
    ok(init_offline(&dir, None, &[]));
    ok(rapport(&dir, None, &["account", "add", "--name", NAME]));
    // `rapport watch` holds the replica open while it retries an unreachable server.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--replica")
        .arg(&dir)
        .arg("watch")
        .env_remove("RAPPORT_REPLICA")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its first "reconnecting" line comes once it has the replica open.
    let stderr = watch.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut line);
        let _ = tx.send(line);
    });
    let first = rx.recv_timeout(Duration::from_secs(30));
    // Other commands share the replica with it (ADR 0021); encrypting needs it alone.
    let listed = first.is_ok().then(|| rapport(&dir, None, &["account", "list", "--json"]));
    let added = first.is_ok().then(|| rapport(&dir, None, &["account", "add", "--name", "Added During Watch"]));
    let err = first.is_ok().then(|| fails(rapport(&dir, Some(PASSPHRASE), &["encrypt", "--key", "passphrase"])));
    let _ = watch.kill();
    let _ = watch.wait();
    let first = first.expect("rapport watch did not start retrying");
    assert!(first.contains("reconnecting"), "{first}");
    let listed = ok(listed.unwrap());
    assert!(listed.contains(NAME), "{listed}");
    ok(added.unwrap());
    let err = err.unwrap();
    assert!(err.contains("in use by another process") && err.contains("needs it alone"), "{err}");
    assert_eq!(key_source(&dir), None, "the config says plain, as the file is");
    let mut listed = names(&dir, None);
    listed.sort();
    assert_eq!(listed, ["Added During Watch", NAME]);
}

// ---- sync through a real server ----

#[test]
fn an_encrypted_replica_syncs_and_init_leaves_nothing_in_clear() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server-data"));
    let office = root.path().join("office");
    let init = |dir: &Path| {
        rapport(
            dir,
            Some(PASSPHRASE),
            &["init", "--server", &server.url, "--token", ADMIN_TOKEN, "--encrypt", "passphrase"],
        )
    };
    ok(init(&office));
    ok(rapport(&office, Some(PASSPHRASE), &["account", "add", "--name", NAME]));
    ok(rapport(&office, Some(PASSPHRASE), &["sync"]));

    // A second device: init's token check pulls the accounts into a scratch
    // replica, encrypted too; then its sync pulls them into its own.
    let laptop = root.path().join("laptop");
    ok(init(&laptop));
    ok(rapport(&laptop, Some(PASSPHRASE), &["sync"]));
    assert_eq!(names(&laptop, Some(PASSPHRASE)), [NAME]);
    assert_eq!(leaks(&office), Vec::<PathBuf>::new());
    assert_eq!(leaks(&laptop), Vec::<PathBuf>::new());
}

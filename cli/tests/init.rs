//! `rapport init` against a real `rapport-server` process: the user and
//! device come from the token.
//!
//! Needs `target/<profile>/rapport-server`: run `cargo build --bins` first
//! (`scripts/test-all.sh` does).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Server, add_user};

fn rapport(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--replica")
        .arg(dir)
        .args(args)
        .env_remove("RAPPORT_REPLICA")
        .env("USER", "os-login")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn init_records_the_tokens_user_and_device() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let token = add_user(&data, "ana", "rep", "ana-laptop");
    let server = Server::start(&data);
    let replica = root.path().join("replica");

    let out = rapport(&replica, &["init", "--server", &server.url, "--token", &token]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("as ana@ana-laptop"), "{}", text(&out.stdout));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(replica.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["user"], "ana", "not the OS login: {config}");
    assert_eq!(config["device"], "ana-laptop");
    assert!(config["device_id"].as_i64().is_some(), "{config}");

    // Edits are attributed to the token's user and device.
    let out = rapport(&replica, &["account", "add", "--name", "Acme Oy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).lines().last().unwrap().trim().to_owned();
    let history: serde_json::Value =
        serde_json::from_slice(&rapport(&replica, &["account", "history", &id, "--json"]).stdout).unwrap();
    assert_eq!(history[0]["user"], "ana");
    assert_eq!(history[0]["device"], "ana-laptop");
    let shown: serde_json::Value =
        serde_json::from_slice(&rapport(&replica, &["account", "show", &id, "--json"]).stdout).unwrap();
    assert_eq!(shown["account"]["party"]["owner"], "ana", "new accounts are owned by the token's user");
    let out = rapport(&replica, &["sync"]);
    assert!(out.status.success(), "a rep's own account syncs: {}", text(&out.stderr));

    // Naming the token's own user and device is fine.
    let again = root.path().join("again");
    let out = rapport(
        &again,
        &["init", "--server", &server.url, "--token", &token, "--user", "ana", "--device", "ana-laptop"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn init_refuses_a_user_or_device_that_is_not_the_tokens() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let token = add_user(&data, "ana", "rep", "ana-laptop");
    let server = Server::start(&data);
    let replica = root.path().join("replica");

    let out = rapport(&replica, &["init", "--server", &server.url, "--token", &token, "--user", "bob"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr).trim(),
        "error: this token belongs to user ana; leave out --user (the user comes from the token), or ask the \
         administrator for a token of user bob"
    );
    assert!(!replica.join("config.json").exists() && !replica.join("replica.db").exists(), "nothing written");

    let out = rapport(&replica, &["init", "--server", &server.url, "--token", &token, "--device", "desk"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("this token belongs to device \"ana-laptop\" of user ana"), "{}", {
        text(&out.stderr)
    });
    assert!(!replica.join("config.json").exists());

    // An unknown token: refused by the server, nothing written.
    let out = rapport(&replica, &["init", "--server", &server.url, "--token", "not-a-token-of-this-server"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("refused the token"), "{}", text(&out.stderr));
    assert!(!replica.join("config.json").exists());
}

#[test]
fn init_without_the_server_refuses_instead_of_guessing_the_user() {
    let root = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let replica = root.path().join("replica");
    let out = rapport(&replica, &["init", "--server", &url, "--token", "some-device-token-0123"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot reach") && err.contains("retry when the server can be reached"), "{err}");
    assert!(!err.contains("os-login"));
    assert!(!replica.join("config.json").exists());

    let out = rapport(&replica, &["init", "--server", &url, "--token", "some-device-token-0123", "--offline"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--offline needs --user NAME"), "{}", text(&out.stderr));
    assert!(!replica.join("config.json").exists());
}

//! `rapport sync` tells the user plainly when the server cannot take changes.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;

/// Answers every HTTP request on a local port with `507` and the server's
/// JSON error; returns the URL.
fn full_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"error":{"code":"server_storage_full","message":"the server is out of disk space"}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 507 Insufficient Storage\r\ncontent-type: application/json\r\nretry-after: 60\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

fn rapport(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--replica")
        .arg(dir)
        .args(args)
        .env_remove("RAPPORT_REPLICA")
        .output()
        .unwrap()
}

#[test]
fn sync_against_a_full_server_disk_says_the_unsent_changes_are_safe() {
    let url = full_server();
    let dir = tempfile::tempdir().unwrap();
    let init = rapport(dir.path(), &["init", "--server", &url, "--token", "t", "--user", "ana", "--offline"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    for name in ["Acme", "Globex"] {
        assert!(rapport(dir.path(), &["account", "add", "--name", name]).status.success());
    }
    let status = rapport(dir.path(), &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let unsent = status["unsynced_docs"].as_u64().unwrap();
    assert!(unsent >= 2);

    let sync = rapport(dir.path(), &["sync"]);
    assert!(!sync.status.success());
    let stderr = String::from_utf8_lossy(&sync.stderr);
    assert!(
        stderr.contains(&format!("is out of disk space; your {unsent} unsent change(s) are safe on this device")),
        "{stderr}"
    );
    assert!(stderr.contains("once the server's administrator has freed space"), "{stderr}");
    assert!(!stderr.contains("internal"), "{stderr}");
    // Nothing was lost or marked refused.
    let after = rapport(dir.path(), &["status", "--json"]);
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(after["unsynced_docs"].as_u64().unwrap(), unsent);
    assert_eq!(after["rejected"].as_array().unwrap().len(), 0);
}

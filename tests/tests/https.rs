//! HTTPS end to end: a real `rapport-server` serving TLS itself
//! (`--tls-cert/--tls-key`) with a certificate of a test CA made here, the
//! `rapport` CLI syncing with `init --ca-cert`, the live WebSocket over
//! `wss://`, and certificates that are not trusted refused with the fix.
#![allow(clippy::unwrap_used)]

mod support;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rapport_client::{Client, ClientError, ClientOptions, LiveEvent, RetryPolicy, WatchOptions};
use rapport_core::{DeviceIdentity, Replica};
use rapport_e2e::*;
use support::test_ca::{self, TestCa};

const UNTRUSTED: &str = "the server's certificate is not trusted: ";
const FIX: &str = "if your company runs its own server, ask for its CA certificate and pass --ca-cert";

/// A device token for a new admin user, made on the data directory before the server starts.
fn user_token(data: &Path, user: &str) -> String {
    let out = Command::new(bin("rapport-server"))
        .args(["user", "add", user, "--role", "admin", "--device", user, "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_owned()
}

/// A TLS server over `data` with the test CA's certificate for 127.0.0.1.
fn https_server(data: &Path, ca: &TestCa) -> Server {
    let args =
        [OsStr::new("--tls-cert"), ca.server_cert.as_os_str(), OsStr::new("--tls-key"), ca.server_key.as_os_str()];
    let server = Server::start_with(data, "127.0.0.1:0", &args);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    server
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_cli_syncs_over_https_with_the_company_ca() {
    let root = tempfile::tempdir().unwrap();
    let ca = test_ca::write(&root.path().join("ca")).unwrap();
    let data = root.path().join("server");
    let (ana_token, bob_token) = (user_token(&data, "ana"), user_token(&data, "bob"));
    let server = https_server(&data, &ca);
    let ca_file = ca.ca_cert.to_str().unwrap();

    let ana = Desktop::new(root.path(), "ana");
    ana.ok(&["init", "--server", &server.url, "--token", &ana_token, "--ca-cert", ca_file]);
    let acme = ana.last_line(&["account", "add", "--name", "Acme Oy"]);
    ana.ok(&["sync"]);

    // The CA is kept in the config: later commands need no flag, and the file may go.
    let bob = Desktop::new(root.path(), "bob");
    bob.ok(&["init", "--server", &server.url, "--token", &bob_token, "--ca-cert", ca_file]);
    std::fs::remove_file(&ca.ca_cert).unwrap();
    bob.ok(&["sync"]);
    assert_eq!(bob.json(&["account", "show", &acme, "--json"])["account"]["party"]["name"], "Acme Oy");
    bob.ok(&["notes", "set", &acme, "Visit in May."]);
    bob.ok(&["sync"]);
    ana.ok(&["sync"]);
    assert!(ana.ok(&["account", "show", &acme]).contains("Visit in May."));
}

#[test]
fn the_cli_refuses_an_untrusted_certificate_and_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let ca = test_ca::write(&root.path().join("ca")).unwrap();
    let other_ca = test_ca::write(&root.path().join("other-ca")).unwrap();
    let data = root.path().join("server");
    let token = user_token(&data, "ana");
    let server = https_server(&data, &ca);
    let ana = Desktop::new(root.path(), "ana");

    // No CA given: the platform's store does not know the test CA.
    let out = ana.run(&["init", "--server", &server.url, "--token", &token]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(UNTRUSTED) && err.contains("not issued by a certificate authority this device trusts"),
        "{err}"
    );
    assert!(err.contains(FIX), "{err}");
    assert!(!ana.dir.join("config.json").exists(), "nothing is written when init fails");

    // Another CA than the server's.
    let out =
        ana.run(&["init", "--server", &server.url, "--token", &token, "--ca-cert", other_ca.ca_cert.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(UNTRUSTED), "{}", stderr(&out));

    // The right CA, but a host name the certificate was not issued for.
    let localhost = server.url.replace("127.0.0.1", "localhost");
    let ca_file = ca.ca_cert.to_str().unwrap();
    let out = ana.run(&["init", "--server", &localhost, "--token", &token, "--ca-cert", ca_file]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(UNTRUSTED) && err.contains("another host name"), "{err}");

    // A CA file that is not a certificate.
    let out =
        ana.run(&["init", "--server", &server.url, "--token", &token, "--ca-cert", ca.server_key.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("the CA certificate cannot be used"), "{}", stderr(&out));

    // A replica set up for the server syncs; the same replica without the CA is refused, not retried.
    ana.ok(&["init", "--server", &server.url, "--token", &token, "--ca-cert", ca_file]);
    ana.ok(&["sync"]);
    let config_path = ana.dir.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    assert!(config["ca_cert_pem"].as_str().unwrap().contains("BEGIN CERTIFICATE"));
    config.as_object_mut().unwrap().remove("ca_cert_pem");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let started = std::time::Instant::now();
    let out = ana.run(&["sync"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(UNTRUSTED) && stderr(&out).contains(FIX), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(20), "an untrusted certificate is not retried");
}

fn replica(dir: &Path, user: &str) -> Arc<Mutex<Replica>> {
    Arc::new(Mutex::new(Replica::open(dir.join(format!("{user}.db")), &DeviceIdentity::new(user, user)).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_socket_works_over_wss_and_refuses_an_untrusted_certificate() {
    let root = tempfile::tempdir().unwrap();
    let ca = test_ca::write(&root.path().join("ca")).unwrap();
    let data = root.path().join("server");
    let (ana_token, bob_token) = (user_token(&data, "ana"), user_token(&data, "bob"));
    let server = https_server(&data, &ca);
    let pem = std::fs::read_to_string(&ca.ca_cert).unwrap();

    // Without the CA the socket is refused with the fix, and it is not transient.
    let untrusted = Client::new(&server.url, &bob_token).unwrap();
    let e = untrusted.watch(replica(root.path(), "bob"), &WatchOptions::default(), |_| {}).await.unwrap_err();
    assert!(matches!(e, ClientError::UntrustedCertificate { .. }), "{e}");
    assert!(!e.is_transient() && !e.is_retryable());
    assert!(e.to_string().starts_with(UNTRUSTED) && e.to_string().contains(FIX), "{e}");
    let (mut retries, options, policy) = (0, WatchOptions::default(), RetryPolicy::default());
    let reconnecting =
        untrusted.watch_reconnecting(replica(root.path(), "bob-again"), &options, &policy, |_| {}, |_, _| retries += 1);
    let e = tokio::time::timeout(Duration::from_secs(20), reconnecting).await.unwrap().unwrap_err();
    assert!(matches!(e, ClientError::UntrustedCertificate { .. }), "{e}");
    assert_eq!(retries, 0, "an untrusted certificate is not retried");

    // With it, a watching device hears another device's edit.
    let bob = Client::with_ca_cert(&server.url, &bob_token, ClientOptions::default(), Some(&pem)).unwrap();
    let options = WatchOptions::default();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let bob_replica = replica(root.path(), "bob");
    let watching = tokio::spawn({
        let bob_replica = bob_replica.clone();
        async move { bob.watch(bob_replica, &options, |e| drop(tx.send(e))).await }
    });
    let first = tokio::time::timeout(Duration::from_secs(20), events.recv()).await.unwrap().unwrap();
    assert!(matches!(&first, LiveEvent::Connected { url } if url.starts_with("wss://")), "{first:?}");

    let ana = Desktop::new(root.path(), "ana");
    let ca_file = ca.ca_cert.to_str().unwrap().to_owned();
    let url = server.url.clone();
    let acme = tokio::task::spawn_blocking(move || {
        ana.ok(&["init", "--server", &url, "--token", &ana_token, "--ca-cert", &ca_file]);
        let acme = ana.last_line(&["account", "add", "--name", "Acme Oy"]);
        ana.ok(&["sync"]);
        acme
    })
    .await
    .unwrap();

    let heard = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.recv().await {
            if let LiveEvent::Update(s) | LiveEvent::Synced(s) = &event
                && s.pulled_ids.contains(&acme)
            {
                return;
            }
        }
        panic!("the watch ended before the edit arrived");
    })
    .await;
    assert!(heard.is_ok(), "bob did not hear ana's edit over wss");

    // Graceful shutdown over TLS: the server closes the live socket and exits cleanly.
    let status = tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    assert!(status.success(), "{status:?}");
    let closed = tokio::time::timeout(Duration::from_secs(20), watching).await.unwrap().unwrap();
    let e = closed.unwrap_err();
    assert!(e.is_transient(), "a stopped server is worth reconnecting to: {e}");
}

#[test]
fn the_server_does_not_start_with_unusable_certificate_files() {
    let root = tempfile::tempdir().unwrap();
    let ca = test_ca::write(&root.path().join("ca")).unwrap();
    let other = test_ca::write(&root.path().join("other")).unwrap();
    let missing = root.path().join("missing.pem");
    let cases = [
        (&missing, &ca.server_key, "cannot read the TLS certificate file", &missing),
        (&ca.server_key, &ca.server_key, "holds no PEM certificate", &ca.server_key),
        (&ca.server_cert, &ca.server_cert, "holds no PEM private key", &ca.server_cert),
        (&ca.server_cert, &other.server_key, "does not fit the certificate", &other.server_key),
    ];
    for (cert, key, says, names) in cases {
        let out = Command::new(bin("rapport-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(root.path().join("server"))
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!out.status.success(), "started with {cert:?} {key:?}");
        assert!(err.contains(says) && err.contains(names.to_str().unwrap()), "{err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"));
    }
}

//! Several devices edit the same accounts offline and sync through a real
//! server process in various orders: everyone ends identical, nothing is
//! lost, same-field edits are conflicts everywhere, resolving clears them.
#![allow(clippy::unwrap_used)]

use rapport_e2e::*;
use serde_json::Value;

/// The account as JSON, without the fields that only describe this replica's
/// view of time (none today) — whole-document equality.
fn account(d: &Desktop, id: &str) -> Value {
    d.json(&["account", "show", id, "--json"])
}

fn conflicts(d: &Desktop) -> Vec<(String, String, Vec<String>)> {
    let rows = d.json(&["conflicts", "--json"]);
    let mut out: Vec<(String, String, Vec<String>)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut values: Vec<String> =
                r["values"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap().to_owned()).collect();
            values.sort();
            (r["account"].as_str().unwrap().to_owned(), r["field"].as_str().unwrap().to_owned(), values)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn two_reps_and_the_office_converge_in_any_order() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let ana = Desktop::new(root.path(), "ana");
    let bob = Desktop::new(root.path(), "bob");
    let office = Desktop::new(root.path(), "office");
    for d in [&ana, &bob, &office] {
        d.init(&server);
    }

    // The office sets up two accounts; everyone gets them.
    let acme =
        office.last_line(&["account", "add", "--name", "Acme Oy", "--territory", "FI-11", "--allow-unknown-owner"]);
    let borealis = office.last_line(&["account", "add", "--name", "Borealis", "--owner", "bob"]);
    let deal = office.last_line(&["deal", "add", &acme, "--title", "Boiler", "--amount", "12500", "--currency", "EUR"]);
    office.ok(&["notes", "set", &acme, "Customer wants delivery."]);
    for d in [&office, &ana, &bob] {
        d.ok(&["sync"]);
    }

    // Everyone goes offline and edits.
    ana.ok(&["account", "set", &acme, "party.industry", "Paper"]); // different fields
    bob.ok(&["account", "set", &acme, "address.city", "Tampere"]);
    ana.ok(&["account", "set", &acme, "party.owner", "ana"]); // the same field
    bob.ok(&["account", "set", &acme, "party.owner", "bob"]);
    ana.ok(&["interaction", "log", &acme, "--kind", "visit", "--subject", "Mill tour"]); // new interactions
    bob.ok(&["interaction", "log", &acme, "--kind", "call", "--subject", "Follow-up"]);
    let bobs_deal =
        bob.last_line(&["deal", "add", &acme, "--title", "Spare parts", "--amount", "900", "--currency", "EUR"]);
    ana.ok(&["deal", "stage", &acme, &deal, "proposal"]);
    office.ok(&["account", "set", &borealis, "party.value_tier", "key"]);
    office.ok(&["tag", "add", &acme, "paper"]);
    bob.ok(&["tag", "add", &acme, "export"]);
    let carbon = bob.last_line(&["account", "add", "--name", "Carbon AB"]);
    // Notes typed on two devices at once: both typists' words are kept.
    let a_notes = account(&ana, &acme)["account"]["party"]["notes"].as_str().unwrap().to_owned();
    assert_eq!(a_notes, "Customer wants delivery.");
    ana.ok(&["notes", "set", &acme, "Customer really wants delivery."]);
    bob.ok(&["notes", "set", &acme, "Customer wants delivery in May."]);

    // Sync in a scrambled order, twice round.
    for d in [&bob, &office, &ana, &office, &bob, &ana] {
        d.ok(&["sync"]);
    }

    let reference = account(&office, &acme);
    for d in [&ana, &bob] {
        assert_eq!(account(d, &acme)["account"], reference["account"], "{} differs", d.name);
        assert_eq!(account(d, &borealis)["account"], account(&office, &borealis)["account"]);
        assert_eq!(account(d, &carbon)["account"], account(&office, &carbon)["account"]);
    }
    let party = &reference["account"]["party"];
    assert_eq!(party["industry"], "Paper");
    assert_eq!(party["address"]["city"], "Tampere");
    assert_eq!(party["notes"], "Customer really wants delivery in May.");
    assert_eq!(party["tags"].as_array().unwrap().len(), 2);
    let interactions = reference["account"]["interactions"].as_array().unwrap();
    assert_eq!(interactions.len(), 2);
    let deals = reference["account"]["deals"].as_array().unwrap();
    assert_eq!(deals.len(), 2);
    assert!(deals.iter().any(|d| d["id"] == bobs_deal.as_str()));
    assert!(deals.iter().any(|d| d["id"] == deal.as_str() && d["stage"] == "proposal"));
    assert_eq!(account(&ana, &borealis)["account"]["party"]["value_tier"], "key");

    // The same-field edit is a conflict on every replica, with both values.
    let expected = vec![(acme.clone(), "party.owner".to_owned(), vec!["ana".to_owned(), "bob".to_owned()])];
    for d in [&ana, &bob, &office] {
        assert_eq!(conflicts(d), expected, "conflicts on {}", d.name);
    }

    // Resolving on one clears it on all.
    office.ok(&["resolve", &acme, "party.owner", "bob"]);
    for d in [&office, &ana, &bob] {
        d.ok(&["sync"]);
    }
    for d in [&ana, &bob, &office] {
        assert!(conflicts(d).is_empty(), "conflict left on {}", d.name);
        assert_eq!(account(d, &acme)["account"]["party"]["owner"], "bob");
    }
}

#[test]
fn an_edit_reaches_a_watching_replica_without_it_asking() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let ana = Desktop::new(root.path(), "ana");
    let office = Desktop::new(root.path(), "office");
    ana.init(&server);
    office.init(&server);

    let mut watch = office
        .command()
        .arg("watch")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the watcher is connected and caught up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let line = rx.recv_timeout(deadline - std::time::Instant::now()).expect("watch never connected");
        if line.contains("connected") || line.contains("watching") {
            break;
        }
    }

    let id = ana.last_line(&["account", "add", "--name", "Live Push Oy"]);
    let synced_at = std::time::Instant::now();
    ana.ok(&["sync"]);
    let mut seen = false;
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        if line.contains("Live Push Oy") || line.contains(&id) {
            seen = true;
            break;
        }
    }
    assert!(seen, "the watching replica never received the edit");
    println!("live push arrived {:?} after the sync returned", synced_at.elapsed());

    let _ = std::process::Command::new("kill").arg("-INT").arg(watch.id().to_string()).status();
    let status = watch.wait().unwrap();
    assert!(status.success(), "watch should exit cleanly on Ctrl-C, got {status}");
    assert_eq!(office.json(&["account", "show", &id, "--json"])["account"]["party"]["name"], "Live Push Oy");
}

#[test]
fn clear_errors_for_a_wrong_token_and_a_stopped_server() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let ana = Desktop::new(root.path(), "ana");
    let out = ana.run(&["init", "--server", &server.url, "--token", "not-the-token"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("token"), "{err}");

    ana.init(&server);
    let id = ana.last_line(&["account", "add", "--name", "Offline Oy"]);
    drop(server);
    let out = ana.run(&["sync"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("cannot reach"), "{err}");
    // Work goes on offline; nothing was lost.
    ana.ok(&["account", "set", &id, "party.industry", "Paper"]);
    assert_eq!(ana.json(&["account", "show", &id, "--json"])["account"]["party"]["industry"], "Paper");
}

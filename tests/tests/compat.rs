//! Release 0.1.0 (commit e1756d2) devices are in the field: they keep syncing
//! with today's server beside today's clients, and today's client opens
//! their replica files, losing nothing.
//!
//! The 0.1.0 desktop client is built from this repository's history by
//! `scripts/build-0.1.0.sh` (scripts/test-all.sh runs it first).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use rapport_e2e::{Desktop, Server, bin_dir};
use serde_json::Value;

/// The 0.1.0 `rapport` binary.
fn old_rapport() -> PathBuf {
    let path = bin_dir().parent().unwrap().join("compat/0.1.0/rapport");
    assert!(
        path.exists(),
        "{} is not built; run scripts/build-0.1.0.sh first (scripts/test-all.sh does)",
        path.display()
    );
    path
}

/// A desktop running release 0.1.0.
struct OldDesktop {
    dir: PathBuf,
    name: String,
}

impl OldDesktop {
    fn ok(&self, args: &[&str]) -> String {
        let out = Command::new(old_rapport()).arg("--replica").arg(&self.dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "0.1.0 `rapport {}` failed on {}:\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn last_line(&self, args: &[&str]) -> String {
        self.ok(args).lines().last().unwrap_or_default().trim().to_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

/// Init as an office user named like the desktop, with a device of that name.
fn init_old(d: &OldDesktop, server: &Server) {
    let token = server.device_token(&d.name, "office", &d.name);
    d.ok(&["init", "--server", &server.url, "--token", &token, "--user", &d.name, "--device", &d.name]);
}

/// `(field, sorted values)` of every conflict on an account.
fn conflicts(rows: &Value, account: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["account"] == account)
        .map(|r| {
            let mut values: Vec<String> =
                r["values"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap().to_owned()).collect();
            values.sort();
            (r["field"].as_str().unwrap().to_owned(), values)
        })
        .collect();
    out.sort();
    out
}

fn subjects(account: &Value) -> Vec<String> {
    let mut out: Vec<String> = account["account"]["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subject"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_mixed_fleet_of_0_1_0_and_today_keeps_every_edit() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let old = OldDesktop { dir: root.path().join("old"), name: "old-desktop".into() };
    let new = Desktop::new(root.path(), "new-desktop");
    init_old(&old, &server);
    new.init(&server);

    // Today's client creates the accounts; 0.1.0 receives them.
    let acme = new.last_line(&["account", "add", "--name", "Acme Oy", "--territory", "FI-11"]);
    let deal = new.last_line(&["deal", "add", &acme, "--title", "Boiler", "--amount", "1250000", "--currency", "EUR"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);
    // And 0.1.0 creates one that today's client receives.
    let borealis = old.last_line(&["account", "add", "--name", "Borealis"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    assert_eq!(new.json(&["account", "show", &borealis, "--json"])["account"]["party"]["name"], "Borealis");

    // Both offline: different fields, the same field, logs, a stage move.
    old.ok(&["account", "set", &acme, "party.industry", "Paper"]);
    new.ok(&["account", "set", &acme, "address.city", "Tampere"]);
    old.ok(&["account", "set", &acme, "party.value_tier", "key"]);
    new.ok(&["account", "set", &acme, "party.value_tier", "low"]);
    old.ok(&["interaction", "log", &acme, "--kind", "visit", "--subject", "Mill tour"]);
    new.ok(&["interaction", "log", &acme, "--kind", "call", "--subject", "Follow-up"]);
    old.ok(&["deal", "stage", &acme, &deal, "proposal"]);
    new.ok(&["notes", "set", &acme, "Wants delivery in May."]);

    // 0.1.0 syncs first, then today's client; then the other way round.
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);

    let on_old = old.json(&["account", "show", &acme, "--json"]);
    let on_new = new.json(&["account", "show", &acme, "--json"]);
    for (who, account) in [("0.1.0", &on_old), ("today", &on_new)] {
        let party = &account["account"]["party"];
        assert_eq!(party["industry"], "Paper", "{who}: 0.1.0's field");
        assert_eq!(party["address"]["city"], "Tampere", "{who}: today's field");
        assert_eq!(party["notes"], "Wants delivery in May.", "{who}: notes");
        assert_eq!(subjects(account), vec!["Follow-up".to_owned(), "Mill tour".to_owned()], "{who}: both logs");
        let deals = account["account"]["deals"].as_array().unwrap();
        assert_eq!(deals.len(), 1, "{who}");
        assert_eq!(deals[0]["stage"], "proposal", "{who}: 0.1.0's stage move");
    }
    assert_eq!(on_old["account"]["party"]["value_tier"], on_new["account"]["party"]["value_tier"], "one winner");
    let expected = vec![("party.value_tier".to_owned(), vec!["key".to_owned(), "low".to_owned()])];
    assert_eq!(conflicts(&old.json(&["conflicts", "--json"]), &acme), expected, "0.1.0 lists the conflict");
    assert_eq!(conflicts(&new.json(&["conflicts", "--json"]), &acme), expected, "today lists the conflict");

    // Resolving on 0.1.0 clears it on today's client too.
    old.ok(&["resolve", &acme, "party.value_tier", "key"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    assert!(conflicts(&new.json(&["conflicts", "--json"]), &acme).is_empty());
    assert_eq!(new.json(&["account", "show", &acme, "--json"])["account"]["party"]["value_tier"], "key");
}

#[test]
fn a_0_1_0_replica_with_unsynced_edits_opens_in_today_s_client_and_syncs_them() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let old = OldDesktop { dir: root.path().join("phone"), name: "phone".into() };
    init_old(&old, &server);
    let acme = old.last_line(&["account", "add", "--name", "Acme Oy"]);
    old.ok(&["sync"]);
    // Offline edits the server has not seen, then the app is upgraded.
    old.ok(&["interaction", "log", &acme, "--kind", "call", "--subject", "Before the upgrade"]);
    let carbon = old.last_line(&["account", "add", "--name", "Carbon AB"]);

    let upgraded = Desktop { dir: old.dir.clone(), name: "phone".into() };
    let shown = upgraded.json(&["account", "show", &acme, "--json"]);
    assert_eq!(subjects(&shown), vec!["Before the upgrade".to_owned()], "the 0.1.0 file opens with its edits");
    upgraded.ok(&["sync"]);

    let office = Desktop::new(root.path(), "office");
    office.init(&server);
    office.ok(&["sync"]);
    assert_eq!(subjects(&office.json(&["account", "show", &acme, "--json"])), vec!["Before the upgrade".to_owned()]);
    assert_eq!(office.json(&["account", "show", &carbon, "--json"])["account"]["party"]["name"], "Carbon AB");
}

//! A refused edit never holds other edits back (ADR 0010), through real
//! server processes and the real `rapport` CLI: a rep's device makes an edit
//! the server refuses (her role changed while she was offline, so her device
//! did not refuse it), then permitted edits to the same account; the
//! permitted edits reach the server and the office, the refused one is
//! listed with its reason, refused again at once on retry while she is a rep,
//! and goes through once an admin changed her role; or is discarded.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use rapport_e2e::*;
use serde_json::Value;

/// Runs `rapport-server ARGS --data DATA` (the server must be stopped); returns stdout.
fn manage(data: &Path, args: &[&str]) -> String {
    let out = Command::new(bin("rapport-server")).args(args).arg("--data").arg(data).output().unwrap();
    assert!(
        out.status.success(),
        "`rapport-server {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Adds a user with a first device; returns its token.
fn add_user(data: &Path, name: &str, role: &str, territories: &[&str]) -> String {
    let mut args = vec!["user", "add", name, "--role", role];
    for t in territories {
        args.extend(["--territory", t]);
    }
    manage(data, &args).lines().last().unwrap().trim().to_owned()
}

/// Stops the server, changes a user's role while it is down, starts it again on the same address.
fn set_role(server: Server, user: &str, role: &str, territories: &[&str]) -> Server {
    let (data, addr) = (server.data.clone(), server.addr());
    assert!(server.stop().success());
    let mut args = vec!["user", "set", user, "--role", role];
    for t in territories {
        args.extend(["--territory", t]);
    }
    manage(&data, &args);
    Server::start_on(&data, &addr)
}

fn init(d: &Desktop, server: &Server, token: &str) {
    d.ok(&["init", "--server", &server.url, "--token", token, "--user", &d.name]);
}

fn account(d: &Desktop, id: &str) -> Value {
    d.json(&["account", "show", id, "--json"])["account"].clone()
}

fn refused(d: &Desktop) -> Vec<Value> {
    d.json(&["refused", "list", "--json"]).as_array().unwrap().clone()
}

struct Setup {
    _root: tempfile::TempDir,
    server: Server,
    ana: Desktop,
    olga: Desktop,
    acme: String,
    deal: String,
}

/// Ana (office for now) and Olga (office) share Acme, owned by ana in territory north.
fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let ana_token = add_user(&data, "ana", "office", &["north"]);
    let olga_token = add_user(&data, "olga", "office", &[]);
    // Owners accounts are given to below: devices check owners against the directory.
    add_user(&data, "ben", "rep", &["south"]);
    add_user(&data, "carl", "rep", &[]);
    let server = Server::start(&data);
    let ana = Desktop::new(root.path(), "ana");
    let olga = Desktop::new(root.path(), "olga");
    init(&ana, &server, &ana_token);
    init(&olga, &server, &olga_token);
    let acme = olga.last_line(&["account", "add", "--name", "Acme Oy", "--owner", "ana", "--territory", "north"]);
    let deal = olga.last_line(&["deal", "add", &acme, "--title", "Boiler", "--amount", "12500", "--currency", "EUR"]);
    olga.ok(&["sync"]);
    ana.ok(&["sync"]);
    Setup { _root: root, server, ana, olga, acme, deal }
}

/// Ana's offline edits: one her new role forbids, then three it allows.
fn offline_edits(s: &Setup) {
    s.ana.ok(&["account", "set", &s.acme, "party.owner", "ben"]);
    s.ana.ok(&["interaction", "log", &s.acme, "--kind", "visit", "--subject", "Mill tour"]);
    s.ana.ok(&["notes", "set", &s.acme, "Wants delivery in May."]);
    s.ana.ok(&["deal", "stage", &s.acme, &s.deal, "proposal"]);
}

fn assert_permitted_edits_arrived(d: &Desktop, acme: &str, deal: &str, owner: &str) {
    let a = account(d, acme);
    assert_eq!(a["party"]["owner"], owner, "on {}", d.name);
    assert_eq!(a["party"]["notes"], "Wants delivery in May.", "on {}", d.name);
    assert_eq!(a["interactions"].as_array().unwrap().len(), 1, "on {}", d.name);
    let deals = a["deals"].as_array().unwrap();
    assert!(deals.iter().any(|d| d["id"] == deal && d["stage"] == "proposal"), "on {}: {deals:?}", d.name);
}

#[test]
fn a_refused_edit_does_not_hold_back_later_edits_and_can_be_retried() {
    let s = setup();
    // Ana is made a rep while her device is offline: it still believes she is office.
    let mut s = Setup { server: set_role(s.server, "ana", "rep", &["north"]), ..s };
    offline_edits(&s);

    let out = s.ana.ok(&["sync"]);
    assert!(out.contains("see `rapport refused list`"), "{out}");
    let list = refused(&s.ana);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["account"], s.acme.as_str());
    assert_eq!(list[0]["fields"], serde_json::json!(["party.owner"]));
    assert_eq!(list[0]["reason"], "role rep may not change party.owner");
    let text = s.ana.ok(&["refused", "list"]);
    assert!(text.contains("party.owner: role rep may not change party.owner"), "{text}");
    // Nothing is left to push, and a second sync refuses nothing.
    let status = s.ana.json(&["status", "--json"]);
    assert_eq!(status["unsynced_docs"], 0, "{status}");
    assert_eq!(status["refused_edits"], 1, "{status}");
    assert!(s.ana.ok(&["status"]).contains("refused:   1 edits kept aside (see `rapport refused list`)"));
    assert!(s.ana.ok(&["sync"]).contains("rejected: none"));

    // Every permitted edit reached the server and the office; the refused one did not.
    s.olga.ok(&["sync"]);
    assert_permitted_edits_arrived(&s.olga, &s.acme, &s.deal, "ana");
    assert_eq!(account(&s.ana, &s.acme), account(&s.olga, &s.acme));

    // Her device now knows she is a rep: forbidden edits are refused at once.
    let out = s.ana.run(&["account", "set", &s.acme, "party.owner", "ben"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: not permitted: role rep may not change party.owner; ask a manager or the office to make this change\n"
    );
    let id = list[0]["id"].to_string();
    let out = s.ana.run(&["refused", "retry", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not permitted: role rep may not change party.owner"));
    assert_eq!(refused(&s.ana).len(), 1, "a refused retry stays listed");

    // An admin makes her office again: the retry goes through and reaches everyone.
    s.server = set_role(s.server, "ana", "office", &["north"]);
    s.ana.ok(&["sync"]);
    assert!(s.ana.ok(&["refused", "retry", &id]).contains("made again"));
    assert!(refused(&s.ana).is_empty());
    s.ana.ok(&["sync"]);
    s.olga.ok(&["sync"]);
    assert_permitted_edits_arrived(&s.olga, &s.acme, &s.deal, "ben");
    assert_eq!(account(&s.ana, &s.acme), account(&s.olga, &s.acme));
    let err = s.ana.run(&["refused", "discard", &id]);
    assert_eq!(
        String::from_utf8_lossy(&err.stderr),
        format!("error: no refused edit with id {id}; list them with `rapport refused list`\n")
    );
}

#[test]
fn an_account_reassigned_away_while_offline_keeps_the_permitted_edits_and_the_refused_one_can_be_discarded() {
    let s = setup();
    // While ana is offline: the office gives Acme to ben (south), and ana becomes a rep.
    s.olga.ok(&["account", "set", &s.acme, "party.owner", "ben"]);
    s.olga.ok(&["account", "set", &s.acme, "party.territory", "south"]);
    s.olga.ok(&["sync"]);
    let s = Setup { server: set_role(s.server, "ana", "rep", &["north"]), ..s };
    // Her edits were made while the account was hers: all but the owner change are accepted.
    s.ana.ok(&["account", "set", &s.acme, "party.owner", "carl"]);
    s.ana.ok(&["interaction", "log", &s.acme, "--kind", "visit", "--subject", "Mill tour"]);
    s.ana.ok(&["notes", "set", &s.acme, "Wants delivery in May."]);
    s.ana.ok(&["deal", "stage", &s.acme, &s.deal, "proposal"]);
    s.ana.ok(&["sync"]);

    let list = refused(&s.ana);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["fields"], serde_json::json!(["party.owner"]));
    assert_eq!(list[0]["reason"], "role rep may not change party.owner");
    s.olga.ok(&["sync"]);
    assert_permitted_edits_arrived(&s.olga, &s.acme, &s.deal, "ben");
    assert_eq!(account(&s.olga, &s.acme)["party"]["territory"], "south");

    // Discarding it leaves nothing behind; the account, no longer hers, leaves her
    // device at the next change the server tells her about.
    let id = list[0]["id"].to_string();
    assert_eq!(s.ana.ok(&["refused", "discard", &id]).trim(), format!("discarded refused edit {id}"));
    assert!(refused(&s.ana).is_empty());
    assert_eq!(s.ana.ok(&["refused", "list"]).trim(), "no refused edits");
    s.olga.ok(&["account", "set", &s.acme, "party.industry", "Paper"]);
    s.olga.ok(&["sync"]);
    s.ana.ok(&["sync"]);
    let out = s.ana.run(&["account", "show", &s.acme]);
    assert!(!out.status.success(), "the account left ana's device");
    assert_permitted_edits_arrived(&s.olga, &s.acme, &s.deal, "ben");
}

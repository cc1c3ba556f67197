//! Release 0.1.0 (commit e1756d2) devices are in the field: they keep syncing
//! with today's server beside today's clients, and today's client opens
//! their replica files, losing nothing.
//!
//! The 0.1.0 desktop client is built from this repository's history by
//! `scripts/build-release.sh 0.1.0` (scripts/test-all.sh runs it first).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use rapport_e2e::{Desktop, Server, release_bin};
use serde_json::Value;

/// The 0.1.0 `rapport` binary.
fn old_rapport() -> PathBuf {
    release_bin("0.1.0", "rapport")
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
    let acme = new.last_line(&["account", "add", "--name", "Acme Oy", "--territory", "FI-11", "--allow-unknown-owner"]);
    let deal = new.last_line(&["deal", "add", &acme, "--title", "Boiler", "--amount", "12500", "--currency", "EUR"]);
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

/// The deal `deal` of an account as `account show --json` prints it.
fn deal_json(account: &Value, deal: &str) -> Value {
    account["account"]["deals"].as_array().unwrap().iter().find(|d| d["id"] == deal).cloned().unwrap()
}

/// `(name, quantity, unit price)` of a deal's line items as today's client shows them.
fn line_items(account: &Value, deal: &str) -> Vec<(String, u64, i64)> {
    let mut out: Vec<(String, u64, i64)> = deal_json(account, deal)["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["quantity"].as_u64().unwrap(),
                i["unit_price_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn amount(account: &Value, deal: &str) -> i64 {
    deal_json(account, deal)["amount"]["minor"].as_i64().unwrap()
}

#[test]
fn line_items_from_today_and_deal_edits_from_0_1_0_keep_each_other_in_every_sync_order() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let old = OldDesktop { dir: root.path().join("old"), name: "old-desktop".into() };
    let new = Desktop::new(root.path(), "new-desktop");
    init_old(&old, &server);
    new.init(&server);

    // Deals of both releases: one added by today's client, two by 0.1.0 (lens-1 documents).
    let acme = new.last_line(&["account", "add", "--name", "Acme Oy"]);
    let boilers =
        new.last_line(&["deal", "add", &acme, "--title", "Boilers", "--amount", "10000", "--currency", "EUR"]);
    let service = new.last_line(&["deal", "add", &acme, "--title", "Service", "--amount", "500", "--currency", "EUR"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);
    let borealis = old.last_line(&["account", "add", "--name", "Borealis"]);
    let pumps =
        old.last_line(&["deal", "add", &borealis, "--title", "Pumps", "--amount", "400000", "--currency", "EUR"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    assert_eq!(amount(&new.json(&["account", "show", &borealis, "--json"]), &pumps), 400_000, "0.1.0's deal reads");

    // Offline on both. Today: line items (on today's deal and on 0.1.0's).
    // 0.1.0: other fields of the same deals, the notes, a stage move; both: one same field each.
    new.ok(&[
        "deal",
        "line-item",
        "add",
        &acme,
        &boilers,
        "--name",
        "Boiler B-200",
        "--quantity",
        "2",
        "--unit-price",
        "1200.50",
        "--discount",
        "10",
    ]);
    new.ok(&[
        "deal",
        "line-item",
        "add",
        &borealis,
        &pumps,
        "--name",
        "Pump P-7",
        "--quantity",
        "3",
        "--unit-price",
        "1500",
    ]);
    new.ok(&["account", "set", &acme, &format!("deals.{service}.next_step"), "Send the offer"]);
    old.ok(&["account", "set", &acme, &format!("deals.{boilers}.next_step"), "Site visit"]);
    old.ok(&["deal", "stage", &acme, &boilers, "proposal"]);
    old.ok(&["notes", "set", &acme, "Wants delivery in May."]);
    old.ok(&["account", "set", &acme, &format!("deals.{service}.next_step"), "Call the buyer"]);
    old.ok(&["account", "set", &borealis, &format!("deals.{pumps}.amount"), "480000"]);

    // 0.1.0 syncs first, then today's client; then the other way round.
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);

    for who in ["0.1.0", "today"] {
        let (a, rows) = if who == "0.1.0" {
            (old.json(&["account", "show", &acme, "--json"]), old.json(&["conflicts", "--json"]))
        } else {
            (new.json(&["account", "show", &acme, "--json"]), new.json(&["conflicts", "--json"]))
        };
        let b = deal_json(&a, &boilers);
        assert_eq!(b["next_step"], "Site visit", "{who}: 0.1.0's field of the deal");
        assert_eq!(b["stage"], "proposal", "{who}: 0.1.0's stage move");
        assert_eq!(a["account"]["party"]["notes"], "Wants delivery in May.", "{who}: 0.1.0's notes");
        assert_eq!(b["amount"]["minor"], 216_090, "{who}: the amount the line items give, 2 × 1,200.50 − 10 %");
        let same_field = vec![(
            format!("deals.{service}.next_step"),
            vec!["Call the buyer".to_owned(), "Send the offer".to_owned()],
        )];
        assert_eq!(conflicts(&rows, &acme), same_field, "{who}: the same field on both");
        let by_hand = vec![(format!("deals.{pumps}.amount"), vec!["450000".to_owned(), "480000".to_owned()])];
        assert_eq!(conflicts(&rows, &borealis), by_hand, "{who}: a hand-set amount against the line items");
    }
    let today = new.json(&["account", "show", &acme, "--json"]);
    assert_eq!(line_items(&today, &boilers), vec![("Boiler B-200".to_owned(), 2, 120_050)], "line items intact");
    let today = new.json(&["account", "show", &borealis, "--json"]);
    assert_eq!(line_items(&today, &pumps), vec![("Pump P-7".to_owned(), 3, 150_000)], "line items intact");

    // 0.1.0 resolves the amount by hand; today's client keeps that amount and the line items.
    old.ok(&["resolve", &borealis, &format!("deals.{pumps}.amount"), "480000"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    assert!(conflicts(&new.json(&["conflicts", "--json"]), &borealis).is_empty(), "resolved everywhere");
    let today = new.json(&["account", "show", &borealis, "--json"]);
    assert_eq!(amount(&today, &pumps), 480_000, "0.1.0's hand-set amount wins");
    assert_eq!(deal_json(&today, &pumps)["amount_from_line_items"], false);
    assert_eq!(line_items(&today, &pumps).len(), 1, "line items intact");

    // Today's client syncs first this time. 0.1.0 sets the amount of today's
    // deal by hand; a later line item does not override it.
    old.ok(&["account", "set", &acme, &format!("deals.{boilers}.amount"), "300000"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    new.ok(&["deal", "line-item", "add", &acme, &boilers, "--name", "Valve", "--unit-price", "99.90"]);
    old.ok(&["account", "set", &acme, "party.industry", "Paper"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    for (who, a) in [
        ("0.1.0", old.json(&["account", "show", &acme, "--json"])),
        ("today", new.json(&["account", "show", &acme, "--json"])),
    ] {
        assert_eq!(amount(&a, &boilers), 300_000, "{who}: the hand-set amount stays");
        assert_eq!(a["account"]["party"]["industry"], "Paper", "{who}");
    }
    let listed = new.json(&["deal", "line-item", "list", &acme, &boilers, "--json"]);
    assert_eq!(listed["amount_from_line_items"], false);
    assert_eq!(listed["line_items"].as_array().unwrap().len(), 2, "line items intact: {listed}");

    // Following the line items again reaches 0.1.0 as a plain amount.
    new.ok(&["deal", "follow-line-items", &acme, &boilers]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);
    assert_eq!(amount(&old.json(&["account", "show", &acme, "--json"]), &boilers), 216_090 + 9_990);
    assert!(conflicts(&old.json(&["conflicts", "--json"]), &acme).len() == 1, "only the next-step conflict is left");
}

#[test]
fn a_stage_and_a_lost_reason_0_1_0_does_not_know_do_not_break_it() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let old = OldDesktop { dir: root.path().join("old"), name: "old-desktop".into() };
    let new = Desktop::new(root.path(), "new-desktop");
    init_old(&old, &server);
    new.init(&server);
    let acme = old.last_line(&["account", "add", "--name", "Acme Oy"]);
    let boilers = old.last_line(&["deal", "add", &acme, "--title", "Boilers", "--amount", "1000", "--currency", "EUR"]);
    let pumps = old.last_line(&["deal", "add", &acme, "--title", "Pumps", "--amount", "2000", "--currency", "EUR"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);

    // An administrator on today's release adds a stage and a lost reason (the
    // CLI has no settings command: edit the settings document of its replica).
    {
        let mut replica = rapport_core::Replica::open(
            new.dir.join("replica.db"),
            &rapport_core::DeviceIdentity::new("new-desktop", "new-desktop"),
        )
        .unwrap();
        let stage = rapport_core::Stage {
            id: "contracting".into(),
            name: "Contracting".into(),
            probability: 90,
            kind: rapport_core::StageKind::Open,
            order: 45,
            stale_after_days: 10,
        };
        replica.edit_settings(|s, author| s.put_stage(author, &stage)).unwrap();
        replica
            .edit_settings(|s, author| s.add_reason(author, rapport_core::ReasonCatalogue::LostReasons, "relocation"))
            .unwrap();
    }
    new.ok(&["deal", "stage", &acme, &boilers, "contracting"]);
    new.ok(&["deal", "stage", &acme, &pumps, "lost"]);
    new.ok(&["account", "set", &acme, &format!("deals.{pumps}.lost_reason"), "relocation"]);
    new.ok(&["sync"]);

    // 0.1.0 syncs the new settings and the deals in them, reads and edits them.
    old.ok(&["sync"]);
    let shown = old.json(&["account", "show", &acme, "--json"]);
    assert_eq!(deal_json(&shown, &boilers)["stage"], "contracting");
    assert_eq!(deal_json(&shown, &pumps)["lost_reason"], "relocation");
    assert!(old.ok(&["account", "show", &acme]).contains("Boilers"), "the text view shows the deal");
    old.ok(&["account", "list"]);
    old.ok(&["account", "set", &acme, &format!("deals.{boilers}.next_step"), "Sign"]);
    old.ok(&["deal", "stage", &acme, &pumps, "contracting"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    let shown = new.json(&["account", "show", &acme, "--json"]);
    assert_eq!(deal_json(&shown, &boilers)["next_step"], "Sign");
    assert_eq!(deal_json(&shown, &pumps)["stage"], "contracting", "0.1.0 moved a deal into the new stage");
    assert_eq!(deal_json(&shown, &pumps)["probability"], 90, "with the new stage's probability");
}

#[test]
fn a_registration_code_from_today_survives_0_1_0_edits_and_0_1_0_syncs_its_documents() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let old = OldDesktop { dir: root.path().join("old"), name: "old-desktop".into() };
    let new = Desktop::new(root.path(), "new-desktop");
    init_old(&old, &server);
    new.init(&server);

    // Today's client writes a registration code (document lens 3) and reassigns in bulk.
    let acme = new.last_line(&["account", "add", "--name", "ТОВ «Ромашка»"]);
    let other = new.last_line(&["account", "add", "--name", "Ромашка, ООО"]);
    new.ok(&["account", "set", &acme, "party.registration_code", "3214 5678"]);
    new.ok(&["account", "reassign", "--search", "Ромашка", "--territory", "UA-46", "--allow-unknown-owner"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);

    // 0.1.0 reads and edits the party of that document, and merges the duplicates.
    let seen = old.json(&["account", "show", &acme, "--json"]);
    assert_eq!(seen["account"]["party"]["territory"], "UA-46");
    old.ok(&["account", "set", &acme, "party.industry", "Agro"]);
    old.ok(&["account", "set", &acme, "party.territory", "UA-32"]);
    old.ok(&["account", "merge", &acme, &other]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);

    let today = new.json(&["account", "show", &acme, "--json"]);
    let party = &today["account"]["party"];
    assert_eq!(party["registration_code"], "3214 5678", "kept through 0.1.0's edits");
    assert_eq!((party["industry"].as_str(), party["territory"].as_str()), (Some("Agro"), Some("UA-32")));
    assert_eq!(today["account"]["lens_version"], 3);
    assert_eq!(new.json(&["account", "show", &other, "--json"])["account"]["merged_into"], acme.as_str());
    assert!(new.json(&["account", "duplicates", "--json"]).as_array().unwrap().is_empty(), "merged: no group left");

    // And today's edits after 0.1.0's still reach 0.1.0.
    new.ok(&["account", "set", &acme, "party.registration_code", "32145678"]);
    new.ok(&["account", "set", &acme, "party.website", "romashka.ua"]);
    new.ok(&["sync"]);
    old.ok(&["sync"]);
    assert_eq!(old.json(&["account", "show", &acme, "--json"])["account"]["party"]["website"], "romashka.ua");
}

//! The record commands against a real `rapport-server` process: what one
//! device edits (contacts, consents, tasks, ties, planned interactions, an
//! ended relationship, a lost deal) reaches another whole, and the settings
//! are changed by the office and refused to a rep.
//!
//! Needs `target/<profile>/rapport-server`: run `cargo build --bins` first
//! (`scripts/test-all.sh` does).

#![allow(clippy::unwrap_used)]

mod common;
mod offline;

use std::path::PathBuf;

use common::{Server, add_user, manage};
use offline::{Run, rapport};
use serde_json::json;

struct Device {
    dir: PathBuf,
}

impl Device {
    fn init(dir: PathBuf, server: &Server, token: &str) -> Device {
        rapport(&dir, &["init", "--server", &server.url, "--token", token]).ok();
        Device { dir }
    }
    fn run(&self, args: &[&str]) -> Run {
        rapport(&self.dir, args)
    }
    fn new_id(&self, args: &[&str]) -> String {
        let id = self.run(args).ok().last_line();
        assert!(offline::is_uuid(&id), "{args:?} printed {id:?} last");
        id
    }
    fn sync(&self) {
        self.run(&["sync"]).ok();
    }
}

#[test]
fn a_whole_record_and_the_settings_travel_between_devices() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let ana_token = add_user(&data, "ana", "rep", "ana-laptop");
    let olga_token = add_user(&data, "olga", "office", "office-pc");
    let server = Server::start(&data);
    let ana = Device::init(root.path().join("ana"), &server, &ana_token);
    let olga = Device::init(root.path().join("olga"), &server, &olga_token);

    // The office adds a lost reason and changes a stage; the rep receives both.
    olga.run(&["settings", "reason", "add", "lost", "too_slow"]).ok();
    olga.run(&["settings", "stage", "proposal", "--probability", "60"]).ok();
    olga.sync();
    ana.sync();
    let s = ana.run(&["settings", "show", "--json"]).ok().json();
    assert!(s["lost_reasons"].as_array().unwrap().contains(&json!("too_slow")), "{s}");
    let proposal = s["stages"].as_array().unwrap().iter().find(|st| st["id"] == "proposal").unwrap().clone();
    assert_eq!(proposal["probability"], 60);

    // The rep knows her role since the sync: a settings change is refused on the device.
    let before = ana.run(&["settings", "show", "--json"]).ok().stdout();
    let run = ana.run(&["settings", "reason", "add", "end", "bored"]).fails();
    assert!(
        run.error().starts_with(
            "not permitted: role rep may not change the settings: the pipeline stages and reason catalogues are \
             changed by administrators, managers and the office; ask a manager or the office"
        ),
        "{}",
        run.stderr()
    );
    ana.run(&["settings", "stage", "proposal", "--probability", "5"]).fails();
    assert_eq!(ana.run(&["settings", "show", "--json"]).ok().stdout(), before, "nothing changed");

    // The rep fills in a whole record; the office sees all of it.
    let acme = ana.new_id(&["account", "add", "--name", "Acme"]);
    let olena = ana.new_id(&[
        "contact",
        "add",
        &acme,
        "--name",
        "Olena",
        "--email",
        "olena@acme.ua",
        "--phone",
        "work:+380 44 123 4567",
    ]);
    ana.run(&["consent", "record", &acme, &olena, "--channel", "email", "--topic", "news", "--status", "refused"]).ok();
    let deal = ana.new_id(&["deal", "add", &acme, "--title", "Boilers", "--amount", "360000.00", "--currency", "UAH"]);
    ana.run(&["deal", "stage", &acme, &deal, "proposal"]).ok();
    ana.run(&["deal", "lost", &acme, &deal, "--reason", "too_slow", "--note", "Six weeks to deliver"]).ok();
    ana.new_id(&["task", "add", &acme, "--title", "Call back", "--due", "2027-01-10"]);
    let visit = ana.new_id(&[
        "interaction",
        "plan",
        &acme,
        "--kind",
        "visit",
        "--subject",
        "Survey",
        "--at",
        "2027-01-15 10:00",
        "--contact",
        &olena,
    ]);
    ana.run(&["ladder", "move", &acme, "--to", "customer", "--reason", "First order"]).ok();
    ana.run(&["account", "end", &acme, "--reason", "dissatisfied", "--date", "2027-02-01"]).ok();
    ana.sync();
    olga.sync();

    let a = olga.run(&["account", "show", &acme, "--json"]).ok().json();
    let here = ana.run(&["account", "show", &acme, "--json"]).ok().json();
    assert_eq!(a["account"], here["account"], "the office sees the record as the rep wrote it");
    let d = &a["account"]["deals"][0];
    assert_eq!(
        (&d["stage"], &d["lost_reason"], &d["lost_note"]),
        (&json!("lost"), &json!("too_slow"), &json!("Six weeks to deliver"))
    );
    assert_eq!(d["stage_history"].as_array().unwrap().len(), 3);
    assert_eq!(a["account"]["contacts"][0]["consents"][0]["status"], "refused");
    assert_eq!(
        a["account"]["party"]["ending"],
        json!({"reason": "dissatisfied", "on": "2027-02-01", "phase": "pre_relationship"})
    );
    assert_eq!(a["account"]["interactions"][0]["status"], "planned");
    assert_eq!(a["account"]["ladder_history"][0]["reason"], "First order");

    // The office reopens it; the rep sees it active again.
    olga.run(&["account", "reopen", &acme]).ok();
    olga.sync();
    ana.sync();
    let p = ana.run(&["account", "show", &acme, "--json"]).ok().json()["account"]["party"].clone();
    assert_eq!((&p["status"], &p["ending"]), (&json!("active"), &serde_json::Value::Null));

    // Both change the deal's amount at once, and the rep marks the planned visit held.
    ana.run(&["account", "set", &acme, &format!("deals.{deal}.amount"), "1000.00"]).ok();
    olga.run(&["account", "set", &acme, &format!("deals.{deal}.amount"), "2000.50"]).ok();
    ana.run(&["interaction", "held", &acme, &visit, "--outcome", "Measured the boiler room"]).ok();
    ana.sync();
    olga.sync();
    // The conflict shows each stored value (what `resolve` takes) with its major units.
    let text = olga.run(&["conflicts"]).ok().stdout();
    assert!(text.contains("\"100000\" (= 1000.00 UAH)  by ana@ana-laptop"), "{text}");
    assert!(text.contains("\"200050\" (= 2000.50 UAH)  by olga@office-pc"), "{text}");
    let a = olga.run(&["account", "show", &acme, "--json"]).ok().json();
    let held = &a["account"]["interactions"][0];
    assert_eq!((&held["status"], &held["outcome"]), (&json!("held"), &json!("Measured the boiler room")));
    assert_eq!(a["account"]["visit_count"], 1);
}

#[test]
fn a_settings_change_the_server_refused_is_listed_then_discarded_or_sent_again() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let olga_token = add_user(&data, "olga", "office", "office-pc");
    let boss_token = add_user(&data, "boss", "admin", "boss-pc");
    let server = Server::start(&data);
    let olga = Device::init(root.path().join("olga"), &server, &olga_token);
    olga.sync();
    let server_settings = olga.run(&["settings", "show", "--json"]).ok().stdout();

    // Olga adds a reason while offline; meanwhile an administrator makes her a rep.
    olga.run(&["settings", "reason", "add", "lost", "too_slow"]).ok();
    manage(&server, &["user", "set", "olga", "--role", "rep"]);
    olga.sync();
    let listed = olga.run(&["refused", "list", "--json"]).ok().json();
    assert_eq!(
        listed,
        json!([{
            "id": "settings", "account": null, "fields": ["settings"], "refused_at": null,
            "reason": "document settings: role rep may not change the settings",
        }])
    );
    let text = olga.run(&["refused", "list"]).ok().stdout();
    assert!(text.contains("settings  this device's settings changes: document settings: role rep"), "{text}");
    // Still kept on the device, unsent.
    let s = olga.run(&["settings", "show", "--json"]).ok().json();
    assert!(s["lost_reasons"].as_array().unwrap().contains(&json!("too_slow")), "{s}");

    // Sending it again as a rep is refused on the device, with the reason.
    let run = olga.run(&["refused", "retry", "settings"]).fails();
    assert!(run.error().contains("role rep may not change the settings"), "{}", run.stderr());

    // Discarded: the settings are the server's again and nothing is left to send.
    olga.run(&["refused", "discard", "settings"]).ok();
    assert_eq!(olga.run(&["settings", "show", "--json"]).ok().stdout(), server_settings);
    assert_eq!(olga.run(&["refused", "list", "--json"]).ok().json(), json!([]));
    let run = olga.run(&["refused", "discard", "settings"]).fails();
    assert!(run.error().contains("no refused edit with id settings"), "{}", run.stderr());
    olga.sync();
    assert_eq!(olga.run(&["status", "--json"]).ok().json()["unsynced_docs"], 0);

    // Refused again, then made office staff once more: sent again and accepted.
    manage(&server, &["user", "set", "olga", "--role", "office"]);
    olga.sync();
    olga.run(&["settings", "reason", "add", "end", "closed_down"]).ok();
    manage(&server, &["user", "set", "olga", "--role", "rep"]);
    olga.sync();
    assert_eq!(olga.run(&["refused", "list", "--json"]).ok().json()[0]["id"], "settings");
    manage(&server, &["user", "set", "olga", "--role", "office"]);
    olga.sync();
    olga.run(&["refused", "retry", "settings"]).ok();
    olga.sync();
    assert_eq!(olga.run(&["refused", "list", "--json"]).ok().json(), json!([]));
    let boss = Device::init(root.path().join("boss"), &server, &boss_token);
    boss.sync();
    let s = boss.run(&["settings", "show", "--json"]).ok().json();
    assert!(s["end_reasons"].as_array().unwrap().contains(&json!("closed_down")), "{s}");
}

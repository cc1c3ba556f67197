//! A server restored from a backup heals from the devices (issue 12, ADR
//! 0011): real `rapport-server` processes, real replicas through the
//! `rapport` CLI, each user with a device of its own. Every change the server
//! acknowledged before the restore is back on the server and on every device
//! that may read it, and devices that were ahead of the restored server see
//! the changes made on it afterwards.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use rapport_e2e::*;
use serde_json::Value;

/// A desktop of one user, with the user's own device token.
struct Device {
    desktop: Desktop,
}

impl Device {
    fn new(root: &Path, server: &Server, name: &str, token: &str) -> Device {
        let desktop = Desktop::new(root, name);
        desktop.ok(&["init", "--server", &server.url, "--token", token]);
        Device { desktop }
    }

    fn ok(&self, args: &[&str]) -> String {
        self.desktop.ok(args)
    }

    fn last_line(&self, args: &[&str]) -> String {
        self.desktop.last_line(args)
    }

    /// Syncs; the server refuses nothing. Returns the summary.
    fn sync(&self) -> Value {
        let summary = self.desktop.json(&["sync", "--json"]);
        assert_eq!(summary["rejected"], Value::Array(Vec::new()), "{} had pushes refused", self.desktop.name);
        summary
    }

    fn account(&self, id: &str) -> Value {
        self.desktop.json(&["account", "show", id, "--json"])["account"].clone()
    }

    fn ids(&self) -> Vec<String> {
        let rows = self.desktop.json(&["account", "list", "--include-deleted", "--json"]);
        let mut ids: Vec<String> =
            rows.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    }
}

/// Copies every file of a (stopped) server's data directory.
fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// `rapport-server new-epoch` on a stopped server's data directory.
fn new_epoch(data: &Path) {
    let out = Command::new(bin("rapport-server")).args(["new-epoch", "--data"]).arg(data).output().unwrap();
    assert!(out.status.success(), "new-epoch: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("started epoch"));
}

/// Stops the server, puts the backup back, optionally declares the restore,
/// and starts it again on the same address (the devices know it by its URL).
fn restore(server: Server, backup: &Path, declare: bool) -> Server {
    let (data, addr) = (server.data.clone(), server.addr());
    assert!(server.stop().success());
    copy_dir(backup, &data);
    if declare {
        new_epoch(&data);
    }
    Server::start_on(&data, &addr)
}

/// Stops the server, copies its data directory to `backup`, starts it again.
fn back_up(server: Server, backup: &Path) -> Server {
    let (data, addr) = (server.data.clone(), server.addr());
    assert!(server.stop().success());
    copy_dir(&data, backup);
    Server::start_on(&data, &addr)
}

struct World {
    root: tempfile::TempDir,
    server: Option<Server>,
    admin: String,
    office: Device,
    ana: Device,
    bob: Device,
}

/// A server with three users, each with a device: the office (sees every
/// account), Ana (admin) and Bob (a rep, who sees the accounts he owns).
fn world() -> World {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    std::fs::create_dir_all(&data).unwrap();
    let tokens: Vec<String> =
        [("office", "office"), ("ana", "admin"), ("bob", "rep")].iter().map(|(n, r)| add_user(&data, n, r)).collect();
    let server = Server::start(&data);
    let office = Device::new(root.path(), &server, "office", &tokens[0]);
    let ana = Device::new(root.path(), &server, "ana", &tokens[1]);
    let bob = Device::new(root.path(), &server, "bob", &tokens[2]);
    World { admin: tokens[1].clone(), root, server: Some(server), office, ana, bob }
}

impl World {
    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// A device that never synced before, to read what the server holds.
    fn fresh_reader(&self, name: &str) -> Device {
        Device::new(self.root.path(), self.server(), name, &self.admin)
    }
}

/// What the story writes before the backup.
struct Before {
    acme: String,
    borealis: String,
}

fn before_backup(w: &World) -> Before {
    let acme = w.office.last_line(&["account", "add", "--name", "Acme Oy", "--owner", "bob"]);
    let borealis = w.office.last_line(&["account", "add", "--name", "Borealis"]);
    for d in [&w.office, &w.ana, &w.bob] {
        d.sync();
    }
    Before { acme, borealis }
}

/// Changes acknowledged after the backup: new accounts, edits, a soft
/// delete, by every device; then everyone syncs, so that every device holds
/// what it may read.
struct After {
    cobalt: String,
    delta: String,
    echo: String,
}

fn after_backup(w: &World, b: &Before) -> After {
    let cobalt = w.office.last_line(&["account", "add", "--name", "Cobalt AB"]);
    w.office.ok(&["account", "set", &b.acme, "party.industry", "Paper"]);
    // A field reps may not change: Bob relays it to the restored server
    // under the office's rules.
    w.office.ok(&["account", "set", &b.acme, "party.territory", "FI-11", "--allow-unknown-owner"]);
    w.office.sync();
    w.bob.ok(&["interaction", "log", &b.acme, "--kind", "call", "--subject", "Call after the backup"]);
    let delta = w.bob.last_line(&["account", "add", "--name", "Delta Ltd", "--owner", "bob"]);
    w.bob.sync();
    w.ana.ok(&["account", "delete", &b.borealis]);
    let echo = w.ana.last_line(&["account", "add", "--name", "Echo GmbH"]);
    w.ana.sync();
    for d in [&w.office, &w.bob, &w.ana] {
        d.sync();
    }
    After { cobalt, delta, echo }
}

/// Every acknowledged change is on the server (read by a device that never
/// synced before) and on every device that may read it, identical everywhere.
/// `bobs_new` are accounts Bob made on the restored server.
fn assert_everything_back(w: &World, b: &Before, a: &After, bobs_new: &[&str]) {
    let reader = w.fresh_reader("reader");
    reader.sync();
    let mut all = vec![b.acme.clone(), b.borealis.clone(), a.cobalt.clone(), a.delta.clone(), a.echo.clone()];
    all.extend(bobs_new.iter().map(|id| id.to_string()));
    all.sort();
    for d in [&reader, &w.office, &w.ana] {
        assert_eq!(d.ids(), all, "{} holds every account", d.desktop.name);
    }
    let mut bobs = vec![b.acme.clone(), a.delta.clone()];
    bobs.extend(bobs_new.iter().map(|id| id.to_string()));
    bobs.sort();
    assert_eq!(w.bob.ids(), bobs, "bob holds his accounts");

    let acme = reader.account(&b.acme);
    assert_eq!(acme["party"]["industry"], "Paper");
    assert_eq!(acme["party"]["territory"], "FI-11");
    assert!(acme.to_string().contains("Call after the backup"), "bob's call is back");
    assert!(!reader.account(&b.borealis)["deleted"].is_null(), "the delete is back");
    assert_eq!(reader.account(&a.cobalt)["party"]["name"], "Cobalt AB");
    assert_eq!(reader.account(&a.delta)["party"]["name"], "Delta Ltd");
    assert_eq!(reader.account(&a.echo)["party"]["name"], "Echo GmbH");
    for id in &all {
        let expected = reader.account(id);
        for d in [&w.office, &w.ana] {
            assert_eq!(d.account(id), expected, "{} has account {id} as the server has it", d.desktop.name);
        }
        if bobs.contains(id) {
            assert_eq!(w.bob.account(id), expected, "bob has account {id} as the server has it");
        }
    }
}

#[test]
fn a_restored_server_gets_every_acknowledged_change_back_from_the_devices() {
    let mut w = world();
    let backup = w.root.path().join("backup");
    let b = before_backup(&w);
    w.server = Some(back_up(w.server.take().unwrap(), &backup));
    let a = after_backup(&w, &b);

    w.server = Some(restore(w.server.take().unwrap(), &backup, true));
    // Bob and Ana first; the office, which made most of the lost changes, last.
    // Each learns that the server was restored; Bob sends back his account
    // the server lacked (and the one the office edited).
    let bobs = w.bob.sync();
    assert_eq!(bobs["server_restored"], true);
    assert_eq!(bobs["resent_docs"], 2, "{bobs}");
    for d in [&w.ana, &w.office] {
        assert_eq!(d.sync()["server_restored"], true);
    }
    assert_eq!(w.office.sync()["server_restored"], false, "healed once");
    // A change made on the restored server reaches the devices that were ahead of it.
    let fresh = w.bob.last_line(&["account", "add", "--name", "Foxtrot", "--owner", "bob"]);
    w.bob.sync();
    for d in [&w.office, &w.ana] {
        d.sync();
        assert_eq!(d.account(&fresh)["party"]["name"], "Foxtrot");
    }
    for d in [&w.bob, &w.ana, &w.office] {
        d.sync();
    }
    assert_everything_back(&w, &b, &a, &[&fresh]);
}

#[test]
fn two_restores_in_a_row_lose_nothing() {
    let mut w = world();
    let backup = w.root.path().join("backup");
    let b = before_backup(&w);
    w.server = Some(back_up(w.server.take().unwrap(), &backup));
    let a = after_backup(&w, &b);

    // Restored, and only Bob heals it before it is restored again from the same backup.
    w.server = Some(restore(w.server.take().unwrap(), &backup, true));
    w.bob.sync();
    let golf = w.bob.last_line(&["account", "add", "--name", "Golf", "--owner", "bob"]);
    w.bob.sync();
    w.server = Some(restore(w.server.take().unwrap(), &backup, true));
    for d in [&w.ana, &w.office, &w.bob] {
        d.sync();
    }
    for d in [&w.bob, &w.ana, &w.office] {
        d.sync();
    }
    assert_everything_back(&w, &b, &a, &[&golf]);
}

#[test]
fn a_copy_put_back_without_a_new_epoch_is_caught_when_another_device_wrote_first() {
    let mut w = world();
    let backup = w.root.path().join("backup");
    let b = before_backup(&w);
    w.server = Some(back_up(w.server.take().unwrap(), &backup));
    // Only the office writes after the backup; nobody else pulls it.
    let cobalt = w.office.last_line(&["account", "add", "--name", "Cobalt AB"]);
    w.office.ok(&["account", "set", &b.acme, "party.industry", "Paper"]);
    w.office.sync();

    // Put back by copying files, no new-epoch: the server cannot know.
    w.server = Some(restore(w.server.take().unwrap(), &backup, false));
    // Ana writes first, more changes than the office lost: hers take the
    // log positions the office saw, and pass them.
    let hotel = w.ana.last_line(&["account", "add", "--name", "Hotel"]);
    w.ana.ok(&["account", "set", &b.acme, "party.website", "https://acme.example"]);
    for tag in ["one", "two", "three", "four"] {
        w.ana.ok(&["tag", "add", &hotel, tag]);
    }
    w.ana.sync();
    // The office's position exists on the server, but holds another change:
    // the fingerprint tells, and the office heals the server.
    w.office.sync();
    for d in [&w.ana, &w.bob, &w.office] {
        d.sync();
    }
    let reader = w.fresh_reader("reader");
    reader.sync();
    for d in [&reader, &w.ana, &w.office] {
        assert_eq!(d.account(&cobalt)["party"]["name"], "Cobalt AB", "{}", d.desktop.name);
        assert_eq!(d.account(&hotel)["party"]["name"], "Hotel", "{}", d.desktop.name);
        let acme = d.account(&b.acme);
        assert_eq!(acme["party"]["industry"], "Paper", "{}", d.desktop.name);
        assert_eq!(acme["party"]["website"], "https://acme.example", "{}", d.desktop.name);
    }
    assert_eq!(w.bob.account(&b.acme), reader.account(&b.acme));
}

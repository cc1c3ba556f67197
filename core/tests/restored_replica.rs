//! A replica restored from an old device backup re-pulls and loses nothing
//! (ADR 0013), in memory: real replica files copied and put back, the
//! server half over a `MemoryStore`, every message through the wire format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::sync::*;
use rapport_core::*;

/// One exchange through the wire format.
fn exchange(r: &mut Replica, store: &mut MemoryStore) -> SyncReport {
    let (req, plan) = r.sync_request(SyncLimits::default()).unwrap();
    let Message::Request(req) = Message::decode(&Message::Request(req).encode()).unwrap() else { panic!() };
    let (resp, _) = handle(store, &OpenAccess, &req).unwrap();
    let Message::Response(resp) = Message::decode(&Message::Response(resp).encode()).unwrap() else { panic!() };
    r.sync_apply(&plan, &resp).unwrap()
}

/// Syncs until nothing is left; returns the exchanges' reports.
fn sync(r: &mut Replica, store: &mut MemoryStore) -> Vec<SyncReport> {
    let mut reports = Vec::new();
    for _ in 0..100 {
        let report = exchange(r, store);
        let done = !report.more && r.unsynced_count().unwrap() == 0;
        reports.push(report);
        if done {
            return reports;
        }
    }
    panic!("sync did not finish");
}

fn restored(reports: &[SyncReport]) -> bool {
    reports.iter().any(|r| r.replica_restored)
}

/// Closes the replica, runs `f` on its file (the WAL is folded in on close), reopens it.
fn with_file(fx: Fixture, f: impl FnOnce(&std::path::Path)) -> Fixture {
    let Fixture { dir, replica } = fx;
    let user = replica.author().user.clone();
    drop(replica);
    let path = dir.path().join("replica.db");
    f(&path);
    let replica = Replica::open(&path, &identity(&user)).unwrap();
    Fixture { dir, replica }
}

fn backup(fx: Fixture, to: &std::path::Path) -> Fixture {
    with_file(fx, |path| {
        std::fs::copy(path, to).unwrap();
    })
}

fn put_back(fx: Fixture, from: &std::path::Path) -> Fixture {
    with_file(fx, |path| {
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{side}", path.display()));
        }
        std::fs::copy(from, path).unwrap();
    })
}

fn server_account(store: &mut MemoryStore, id: AccountId) -> Account {
    AccountDoc::from_automerge(store.load(&id.to_string()).unwrap().unwrap()).unwrap().read()
}

fn call(subject: &str) -> NewInteraction {
    NewInteraction::new(InteractionKind::Call, subject)
}

#[test]
fn a_replica_put_back_from_an_old_copy_gets_everything_back_and_keeps_its_offline_edits() {
    let mut store = MemoryStore::with_identity(LogIdentity { server: [9; 16], epoch: 1 });
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let early = ana.account("Early");
    sync(&mut ana.replica, &mut store);
    // An edit still unsent when the copy is taken: it reaches the server
    // after the copy, and must not be applied twice later.
    ana.replica.edit(early, |e| e.splice_notes(0, 0, "unsent at backup. ")).unwrap();
    let copy = ana.dir.path().join("backup.db");
    let mut ana = backup(ana, &copy);
    let old_actor = ana.replica.author().actor.clone();

    // After the copy: more edits, a new account, all acknowledged.
    ana.replica.edit(early, |e| e.log_interaction(&call("after backup")).map(|_| ())).unwrap();
    ana.replica.edit(early, |e| e.set_field("party.industry", "Paper")).unwrap();
    let later = ana.account("Later");
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);

    // The copy is put back; an edit is made before the next sync.
    let mut ana = put_back(ana, &copy);
    assert!(ana.replica.account(later).is_err(), "the copy predates it");
    ana.replica.edit(early, |e| e.log_interaction(&call("offline after restore")).map(|_| ())).unwrap();
    ana.replica.edit(early, |e| e.set_field("party.website", "https://early.example")).unwrap();
    let offline = ana.account("Offline");

    let reports = sync(&mut ana.replica, &mut store);
    assert!(restored(&reports), "the server tells the restored replica");
    assert_eq!(reports.iter().map(|r| r.rebuilt_after_restore).sum::<usize>(), 3);
    assert_ne!(ana.replica.author().actor, old_actor, "a fresh actor id after the restore");
    // Healed: the next sync is plain.
    assert!(!restored(&sync(&mut ana.replica, &mut store)));

    sync(&mut bob.replica, &mut store);
    for id in [early, later, offline] {
        let on_server = server_account(&mut store, id);
        assert_eq!(ana.replica.account(id).unwrap(), on_server);
        assert_eq!(bob.replica.account(id).unwrap(), on_server);
    }
    let early_now = server_account(&mut store, early);
    assert_eq!(early_now.party.notes, "unsent at backup. ", "the edit sent after the copy is not applied twice");
    assert_eq!(early_now.party.industry.as_deref(), Some("Paper"));
    assert_eq!(early_now.party.website.as_deref(), Some("https://early.example"));
    let mut subjects: Vec<&str> = early_now.interactions.iter().map(|i| i.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(subjects, ["after backup", "offline after restore"]);
    assert_eq!(server_account(&mut store, later).party.name, "Later");
    assert!(ana.replica.refused_edits().unwrap().is_empty());
}

#[test]
fn a_copy_taken_after_the_last_push_is_not_a_restore() {
    let mut store = MemoryStore::with_identity(LogIdentity { server: [9; 16], epoch: 1 });
    let mut ana = Fixture::new("ana");
    let id = ana.account("Kept");
    sync(&mut ana.replica, &mut store);
    let copy = ana.dir.path().join("backup.db");
    let ana = backup(ana, &copy);
    let mut ana = put_back(ana, &copy);
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    assert!(!restored(&sync(&mut ana.replica, &mut store)), "nothing of this device is missing from it");
    assert_eq!(server_account(&mut store, id).party.industry.as_deref(), Some("Paper"));
}

#[test]
fn a_lost_response_is_not_a_restore() {
    let mut store = MemoryStore::with_identity(LogIdentity { server: [9; 16], epoch: 1 });
    let mut ana = Fixture::new("ana");
    let id = ana.account("Kept");
    sync(&mut ana.replica, &mut store);
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    // The server stores the push; its answer never arrives.
    let (req, _) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    let (resp, stats) = handle(&mut store, &OpenAccess, &req).unwrap();
    assert_eq!(stats.changes_stored, 1);
    drop(resp);
    // The retry pushes the same change again: the device still holds it.
    let reports = sync(&mut ana.replica, &mut store);
    assert!(!restored(&reports));
    assert_eq!(server_account(&mut store, id).party.industry.as_deref(), Some("Paper"));
}

#[test]
fn a_version_1_request_is_never_judged_restored() {
    let mut store = MemoryStore::with_identity(LogIdentity { server: [9; 16], epoch: 1 });
    let mut ana = Fixture::new("ana");
    ana.account("Early");
    sync(&mut ana.replica, &mut store);
    let (req, _) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    ana.account("Later");
    sync(&mut ana.replica, &mut store);
    // The earlier position, as a 0.1.0 device would send it.
    let v1 = SyncRequest { v2: None, ..req.clone() };
    let (resp, stats) = handle(&mut store, &OpenAccess, &v1).unwrap();
    assert!(resp.v2.is_none());
    assert_eq!(stats.replica_behind, None);
    // The same request in version 2 is told.
    let (resp, stats) = handle(&mut store, &OpenAccess, &req).unwrap();
    assert!(resp.v2.unwrap().restored);
    assert!(stats.replica_behind.is_some());
}

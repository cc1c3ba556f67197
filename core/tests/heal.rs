//! A server restored from a copy heals from the devices (protocol version 2),
//! in memory: replicas, the server half over a `MemoryStore` that is copied
//! and put back as a restore does, every message through the wire format.

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

/// Syncs until nothing is left; returns whether a heal started.
fn sync(r: &mut Replica, store: &mut MemoryStore) -> bool {
    let mut healed = false;
    for _ in 0..100 {
        let report = exchange(r, store);
        healed |= report.heal_started;
        if !report.more && r.unsynced_count().unwrap() == 0 {
            return healed;
        }
    }
    panic!("sync did not finish");
}

fn server_has(store: &mut MemoryStore, id: AccountId) -> bool {
    store.load(&id.to_string()).unwrap().is_some()
}

fn server_name(store: &mut MemoryStore, id: AccountId) -> String {
    let doc = store.load(&id.to_string()).unwrap().unwrap();
    AccountDoc::from_automerge(doc).unwrap().read().party.name
}

fn identity_store() -> MemoryStore {
    MemoryStore::with_identity(LogIdentity { server: [9; 16], epoch: 1 })
}

#[test]
fn a_restored_server_gets_back_what_devices_hold_and_devices_see_its_new_changes() {
    let mut store = identity_store();
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let early = ana.account("Early");
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    let backup = store.clone();

    let lost = ana.account("Lost");
    ana.replica.edit(early, |e| e.set_field("party.industry", "Paper")).unwrap();
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    assert!(bob.replica.account(lost).is_ok());

    // Restored from the copy, with a new epoch.
    let mut store = backup.restored();
    assert!(!server_has(&mut store, lost));
    // Bob syncs first: he relays what Ana made, as he holds it.
    assert!(sync(&mut bob.replica, &mut store));
    assert!(server_has(&mut store, lost));
    assert_eq!(
        AccountDoc::from_automerge(store.load(&early.to_string()).unwrap().unwrap()).unwrap().read().party.industry,
        Some("Paper".into())
    );
    // A new change on the restored server reaches Ana, who was ahead of it.
    let fresh = bob.account("Fresh");
    sync(&mut bob.replica, &mut store);
    assert!(sync(&mut ana.replica, &mut store));
    assert_eq!(ana.replica.account(fresh).unwrap().party.name, "Fresh");
    // Healed: the next syncs are plain.
    assert!(!sync(&mut ana.replica, &mut store));
    assert!(!sync(&mut bob.replica, &mut store));
    assert_eq!(ana.replica.heal_pending().unwrap(), 0);
}

#[test]
fn a_restore_without_a_new_epoch_is_caught_by_the_fingerprint() {
    let mut store = identity_store();
    let mut ana = Fixture::new("ana");
    let mut carl = Fixture::new("carl");
    ana.account("Before");
    sync(&mut ana.replica, &mut store);
    sync(&mut carl.replica, &mut store);
    let backup = store.clone();
    let lost = ana.account("Lost");
    sync(&mut ana.replica, &mut store);
    let seen = ana.replica.log_mark().unwrap().unwrap();

    // Copied back as it was (same epoch); Carl writes first and takes the
    // position Ana saw for her lost account.
    let mut store = backup;
    let carls = carl.account("Carl's");
    assert!(!sync(&mut carl.replica, &mut store));
    assert_eq!(carl.replica.log_mark().unwrap().unwrap().head, seen.head);
    assert_eq!(carl.replica.log_mark().unwrap().unwrap().epoch, seen.epoch);

    assert!(sync(&mut ana.replica, &mut store), "the fingerprint differs: Ana heals");
    assert!(server_has(&mut store, lost));
    assert_ne!(ana.replica.log_mark().unwrap().unwrap().epoch, seen.epoch, "a new epoch started");
    assert_eq!(ana.replica.account(carls).unwrap().party.name, "Carl's");
    // Carl saw the old epoch: he heals too, and gets Ana's account.
    assert!(sync(&mut carl.replica, &mut store));
    assert_eq!(carl.replica.account(lost).unwrap().party.name, "Lost");
    assert_eq!(server_name(&mut store, carls), "Carl's");
}

#[test]
fn a_restore_to_a_lower_head_without_a_new_epoch_moves_new_positions_past_what_devices_saw() {
    let mut store = identity_store();
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    ana.account("Before");
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    let backup = store.clone();
    let lost = ana.account("Lost");
    sync(&mut ana.replica, &mut store);
    let seen = ana.replica.log_mark().unwrap().unwrap();

    let mut store = backup;
    assert!(sync(&mut ana.replica, &mut store), "its head is below what Ana saw");
    assert!(server_has(&mut store, lost));
    // Positions Ana saw are never given to new changes.
    let fresh = bob.account("Fresh");
    assert!(sync(&mut bob.replica, &mut store), "the epoch changed when Ana proved the restore");
    assert!(bob.replica.log_mark().unwrap().unwrap().head > seen.head);
    sync(&mut ana.replica, &mut store);
    assert_eq!(ana.replica.account(fresh).unwrap().party.name, "Fresh");
}

#[test]
fn a_version_1_device_ahead_of_a_restored_server_receives_everything() {
    let mut store = identity_store();
    let mut ana = Fixture::new("ana");
    let mut old = Fixture::new("old");
    ana.account("Before");
    sync(&mut ana.replica, &mut store);
    let backup = store.clone();
    ana.account("Lost");
    sync(&mut ana.replica, &mut store);

    // A 0.1.0 device: version-1 requests, and it keeps the highest base it saw.
    let v1_sync = |r: &mut Replica, store: &mut MemoryStore| {
        let (mut req, plan) = r.sync_request(SyncLimits::default()).unwrap();
        req.v2 = None;
        let Message::Request(req) = Message::decode(&Message::Request(req).encode()).unwrap() else { panic!() };
        let (resp, stats) = handle(store, &OpenAccess, &req).unwrap();
        assert!(resp.v2.is_none(), "a version-1 request gets a version-1 response");
        r.sync_apply(&plan, &resp).unwrap();
        stats
    };
    v1_sync(&mut old.replica, &mut store);
    assert_eq!(old.replica.account_ids().unwrap().len(), 2);
    let mut store = backup.restored();
    // Its base is above the restored head: it is sent everything, in one response.
    let stats = v1_sync(&mut old.replica, &mut store);
    assert!(stats.diverged_at.is_some());
    assert_eq!(stats.docs_sent, store.doc_ids().len());
    let fresh = ana.account("Fresh on the restored server");
    // Ana's own heal puts her accounts back; her new one is stored.
    sync(&mut ana.replica, &mut store);
    let stats = v1_sync(&mut old.replica, &mut store);
    assert_eq!(stats.diverged_at, None, "the head passed the old device's base: nothing to tell");
    assert_eq!(old.replica.account(fresh).unwrap().party.name, "Fresh on the restored server");
}

#[test]
fn a_replica_file_of_0_1_0_heals_a_server_restored_after_it_synced_in_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The replica schema 0.1.0 wrote (three migrations).
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        rapport_core::replica::schema::create_at_version(&mut conn, 3).unwrap();
    }
    let mut old = Replica::open(&path, &identity("old")).unwrap();
    let mut store = identity_store();
    let v1_sync = |r: &mut Replica, store: &mut MemoryStore| {
        let (mut req, plan) = r.sync_request(SyncLimits::default()).unwrap();
        req.v2 = None;
        let (resp, _) = handle(store, &OpenAccess, &req).unwrap();
        r.sync_apply(&plan, &resp).unwrap();
    };
    old.create_account(&NewAccount::new("Before")).unwrap();
    v1_sync(&mut old, &mut store);
    let backup = store.clone();
    let lost = old.create_account(&NewAccount::new("Lost")).unwrap();
    v1_sync(&mut old, &mut store);
    assert_eq!(old.unsynced_count().unwrap(), 0);
    assert_eq!(old.log_mark().unwrap(), None, "version-1 answers carry no mark");

    // Upgraded, it meets the restored server: no mark, but a base above the head.
    let mut store = backup.restored();
    assert!(sync(&mut old, &mut store));
    assert_eq!(server_name(&mut store, lost), "Lost");
    assert!(old.log_mark().unwrap().is_some());
}

#[test]
fn an_edit_made_offline_on_a_lost_account_is_asked_for_whole_and_arrives() {
    let mut store = identity_store();
    let mut ana = Fixture::new("ana");
    ana.account("Before");
    sync(&mut ana.replica, &mut store);
    let backup = store.clone();
    let lost = ana.account("Lost");
    sync(&mut ana.replica, &mut store);
    // Edited offline: the push carries only the new change, which depends
    // on the account's creation, which the restored server lacks.
    ana.replica.edit(lost, |e| e.set_field("party.industry", "Paper")).unwrap();
    let mut store = backup.restored();
    let (req, plan) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    assert!(req.push[0].snapshot.is_none() && req.push[0].changes.len() == 1);
    let (resp, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    assert_eq!(resp.acks[0].status, AckStatus::NeedSnapshot, "asked for the whole document, not refused");
    ana.replica.sync_apply(&plan, &resp).unwrap();
    sync(&mut ana.replica, &mut store);
    let doc = store.load(&lost.to_string()).unwrap().unwrap();
    assert_eq!(AccountDoc::from_automerge(doc).unwrap().read().party.industry.as_deref(), Some("Paper"));
}

//! The batched sync protocol end to end in memory: replicas, the protocol's
//! server half over a `MemoryStore`, and every message through the wire format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::sync::*;
use rapport_core::*;

#[derive(Default)]
struct Traffic {
    round_trips: usize,
    bytes_up: usize,
    bytes_down: usize,
}

fn wire(msg: Message) -> Message {
    Message::decode(&msg.encode()).expect("valid message")
}

/// One request/response exchange through the wire format.
fn exchange(r: &mut Replica, store: &mut MemoryStore, limits: SyncLimits, t: &mut Traffic) -> SyncReport {
    let (req, plan) = r.sync_request(limits).unwrap();
    let up = Message::Request(req).encode();
    t.bytes_up += up.len();
    let Message::Request(req) = Message::decode(&up).unwrap() else { panic!("request") };
    let (resp, _) = handle(store, &OpenAccess, &req).unwrap();
    let down = Message::Response(resp).encode();
    t.bytes_down += down.len();
    t.round_trips += 1;
    let Message::Response(resp) = Message::decode(&down).unwrap() else { panic!("response") };
    r.sync_apply(&plan, &resp).unwrap()
}

/// Syncs until nothing is left to push or pull.
fn sync(r: &mut Replica, store: &mut MemoryStore) -> Traffic {
    sync_with(r, store, SyncLimits::default())
}

fn sync_with(r: &mut Replica, store: &mut MemoryStore, limits: SyncLimits) -> Traffic {
    let mut t = Traffic::default();
    for _ in 0..1000 {
        let report = exchange(r, store, limits, &mut t);
        if !report.more && r.unsynced_count().unwrap() == 0 {
            return t;
        }
    }
    panic!("sync did not finish");
}

fn snapshot(r: &Replica) -> Vec<(Account, Vec<Conflict>)> {
    let mut ids = r.account_ids().unwrap();
    ids.sort();
    ids.into_iter().map(|id| (r.account(id).unwrap(), r.conflicts(id).unwrap())).collect()
}

#[test]
fn three_devices_converge_through_the_server() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let mut office = Fixture::new("office");
    let shared = ana.account("Acme");
    let d = ana.replica.edit(shared, |e| e.add_deal(&NewDeal::new("Deal", eur(100)))).unwrap();
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    sync(&mut office.replica, &mut store);
    assert_eq!(bob.replica.account(shared).unwrap(), ana.replica.account(shared).unwrap());

    // Everyone edits offline.
    ana.replica.edit(shared, |e| e.set_field("party.industry", "Paper")).unwrap();
    ana.replica.edit(shared, |e| e.set_field("party.owner", "ana")).unwrap();
    bob.replica.edit(shared, |e| e.set_field("party.owner", "bob")).unwrap();
    bob.replica.edit(shared, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Visit"))).unwrap();
    bob.replica.edit(shared, |e| e.move_deal_stage(d, "proposal", None)).unwrap();
    office.replica.edit(shared, |e| e.set_notes("Office notes")).unwrap();
    let bobs = bob.account("Borealis");
    let offices = office.account("Cobalt");

    sync(&mut bob.replica, &mut store);
    sync(&mut office.replica, &mut store);
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    sync(&mut office.replica, &mut store);
    let reference = snapshot(&ana.replica);
    assert_eq!(reference.len(), 3);
    assert_eq!(snapshot(&bob.replica), reference);
    assert_eq!(snapshot(&office.replica), reference);
    let (acme, conflicts) = &reference.iter().find(|(a, _)| a.id == shared).unwrap();
    assert_eq!(acme.party.industry.as_deref(), Some("Paper"));
    assert_eq!(acme.party.notes, "Office notes");
    assert_eq!(acme.visit_count, 1);
    assert_eq!(acme.deal(d).unwrap().stage, "proposal");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, "party.owner");
    assert!(ana.replica.account(bobs).is_ok() && bob.replica.account(offices).is_ok());

    // Resolving on one device clears the conflict on every device.
    office.replica.edit(shared, |e| e.set_field("party.owner", "bob")).unwrap();
    for r in [&mut office.replica, &mut ana.replica, &mut bob.replica] {
        sync(r, &mut store);
    }
    for r in [&ana.replica, &bob.replica, &office.replica] {
        assert!(r.all_conflicts().unwrap().is_empty());
        assert_eq!(r.account(shared).unwrap().party.owner.as_deref(), Some("bob"));
    }
}

#[test]
fn a_device_that_holds_everything_learns_it_in_one_small_round_trip() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let batch: Vec<NewAccount> = (0..300).map(|i| NewAccount::new(format!("Account {i}"))).collect();
    ana.replica.create_accounts(&batch).unwrap();
    sync(&mut ana.replica, &mut store);
    let mut bob = Fixture::new("bob");
    sync(&mut bob.replica, &mut store);
    assert_eq!(bob.replica.account_ids().unwrap().len(), 300);

    for r in [&mut ana.replica, &mut bob.replica] {
        let t = sync(r, &mut store);
        assert_eq!(t.round_trips, 1);
        assert!(t.bytes_up < 64 && t.bytes_down < 64, "no-op sync used {} + {} bytes", t.bytes_up, t.bytes_down);
    }
}

#[test]
fn interrupted_pulls_resume_without_resending_and_replays_are_harmless() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let batch: Vec<NewAccount> = (0..60).map(|i| NewAccount::new(format!("Account {i}"))).collect();
    ana.replica.create_accounts(&batch).unwrap();
    sync(&mut ana.replica, &mut store);

    let mut bob = Fixture::new("bob");
    let small = SyncLimits { max_push_bytes: 1 << 20, max_pull_bytes: 4096 };
    let mut t = Traffic::default();
    // Two pages arrive, then the connection drops before the third is applied.
    exchange(&mut bob.replica, &mut store, small, &mut t);
    exchange(&mut bob.replica, &mut store, small, &mut t);
    let got = bob.replica.account_ids().unwrap().len();
    assert!(got > 0 && got < 60);
    let (req, plan) = bob.replica.sync_request(small).unwrap();
    let (lost, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    // Resume: the next request starts after what was applied.
    let (resumed, _) = bob.replica.sync_request(small).unwrap();
    assert!(resumed.after > resumed.base, "resuming from the last applied page");
    let mut t2 = Traffic::default();
    loop {
        let r = exchange(&mut bob.replica, &mut store, small, &mut t2);
        if !r.more {
            break;
        }
    }
    assert_eq!(bob.replica.account_ids().unwrap().len(), 60);
    let full = {
        let mut carol = Fixture::new("carol");
        sync_with(&mut carol.replica, &mut store, small).bytes_down
    };
    assert!(t.bytes_down + t2.bytes_down < full + full / 2, "resume re-sent too much");

    // The lost response arrives late: it is refused and changes nothing.
    let before = snapshot(&bob.replica);
    assert!(bob.replica.sync_apply(&plan, &lost).is_err());
    assert_eq!(snapshot(&bob.replica), before);

    // A replayed request stores nothing new.
    let id = bob.replica.account_ids().unwrap()[0];
    bob.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    let (req, _) = bob.replica.sync_request(SyncLimits::default()).unwrap();
    handle(&mut store, &OpenAccess, &req).unwrap();
    let head = store.head().unwrap();
    let (again, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    assert_eq!(store.head().unwrap(), head);
    assert!(again.acks.iter().all(|a| a.status == AckStatus::Stored));
}

#[test]
fn compacted_documents_reach_fresh_and_stale_devices() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let id = ana.account("Acme");
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    for i in 0..10 {
        ana.replica.edit(id, |e| e.set_field("party.source", &format!("s{i}"))).unwrap();
    }
    sync(&mut ana.replica, &mut store);
    store.compact(&id.to_string(), true);
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    let mut carol = Fixture::new("carol");
    sync(&mut carol.replica, &mut store);
    assert_eq!(bob.replica.account(id).unwrap(), ana.replica.account(id).unwrap());
    assert_eq!(carol.replica.account(id).unwrap(), ana.replica.account(id).unwrap());
}

/// A first pull of many accounts (decoded on worker threads) stores exactly
/// what the server holds; one damaged document fails the whole response and
/// leaves the replica as it was.
#[test]
fn a_large_first_pull_is_all_or_nothing() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let batch: Vec<NewAccount> = (0..150).map(|i| NewAccount::new(format!("Customer {i:03}"))).collect();
    let ids = ana.replica.create_accounts(&batch).unwrap();
    ana.replica.edit(ids[7], |e| e.set_field("party.industry", "Paper")).unwrap();
    sync(&mut ana.replica, &mut store);
    for id in &ids {
        store.compact(&id.to_string(), true);
    }

    let mut bob = Fixture::new("bob");
    let (req, plan) = bob.replica.sync_request(SyncLimits::default()).unwrap();
    let (mut resp, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    assert!(resp.pull.len() > 100, "one response carries every account");
    let damaged = resp.pull.iter_mut().rev().find(|d| d.doc != "settings").unwrap();
    let snapshot = damaged.snapshot.as_mut().expect("a first pull sends snapshots");
    let len = snapshot.len();
    snapshot.truncate(len / 2);
    let Message::Response(resp) = wire(Message::Response(resp)) else { panic!("response") };
    assert!(bob.replica.sync_apply(&plan, &resp).is_err());
    assert!(bob.replica.account_ids().unwrap().is_empty());
    assert_eq!(bob.replica.sync_position().unwrap(), (0, 0));

    sync(&mut bob.replica, &mut store);
    assert_eq!(bob.replica.account_ids().unwrap().len(), ids.len());
    for id in &ids {
        assert_eq!(bob.replica.account(*id).unwrap(), ana.replica.account(*id).unwrap());
    }
    assert_eq!(
        bob.replica.list(&AccountFilter::default()).unwrap(),
        ana.replica.list(&AccountFilter::default()).unwrap()
    );
}

/// Changes to many held accounts (applied and encoded on worker threads, in
/// batches) are stored and indexed as the server holds them, conflicts
/// included; one damaged change fails the whole response and leaves every
/// account, loaded or not, as it was.
#[test]
fn a_large_pull_into_held_accounts_is_all_or_nothing() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let batch: Vec<NewAccount> = (0..300).map(|i| NewAccount::new(format!("Customer {i:03}"))).collect();
    let ids = ana.replica.create_accounts(&batch).unwrap();
    sync(&mut ana.replica, &mut store);
    let mut bob = Fixture::new("bob");
    sync(&mut bob.replica, &mut store);
    bob.replica.edit(ids[3], |e| e.set_field("party.industry", "Glass")).unwrap();
    let before = snapshot(&bob.replica);
    let listed = bob.replica.list(&AccountFilter::default()).unwrap();

    for (i, id) in ids.iter().enumerate() {
        ana.replica.edit(*id, |e| e.set_field("party.industry", &format!("Industry {i}"))).unwrap();
    }
    sync(&mut ana.replica, &mut store);
    let (req, plan) = bob.replica.sync_request(SyncLimits::default()).unwrap();
    let (mut resp, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    assert!(resp.pull.len() >= 300, "one response carries every changed account (in more than one batch)");
    let damaged = resp.pull.iter_mut().rev().find(|d| d.doc != "settings" && !d.changes.is_empty()).unwrap();
    damaged.changes[0].truncate(10);
    let Message::Response(resp) = wire(Message::Response(resp)) else { panic!("response") };
    assert!(bob.replica.sync_apply(&plan, &resp).is_err());
    assert_eq!(snapshot(&bob.replica), before);
    assert_eq!(bob.replica.list(&AccountFilter::default()).unwrap(), listed);

    sync(&mut bob.replica, &mut store);
    sync(&mut ana.replica, &mut store);
    assert_eq!(snapshot(&bob.replica), snapshot(&ana.replica));
    assert_eq!(
        bob.replica.list(&AccountFilter::default()).unwrap(),
        ana.replica.list(&AccountFilter::default()).unwrap()
    );
    let conflicted = bob.replica.list(&AccountFilter { with_conflicts: true, ..AccountFilter::default() }).unwrap();
    assert_eq!(conflicted.iter().map(|a| a.id).collect::<Vec<_>>(), [ids[3]]);
    assert_eq!(bob.replica.account(ids[10]).unwrap().party.industry.as_deref(), Some("Industry 10"));
}

/// A response may name one document twice (its changes split in two): the
/// parts are applied in order, the first storing the new account, the second
/// adding to it.
#[test]
fn a_document_named_twice_in_a_response_is_applied_in_order() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let id = ana.account("Acme");
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    sync(&mut ana.replica, &mut store);

    let mut bob = Fixture::new("bob");
    let (req, plan) = bob.replica.sync_request(SyncLimits::default()).unwrap();
    let (mut resp, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    let at = resp.pull.iter().position(|d| d.doc == id.to_string()).unwrap();
    let mut second = resp.pull[at].clone();
    assert!(second.snapshot.is_none() && second.changes.len() >= 2, "{second:?}");
    let first_part = second.changes.len() / 2;
    second.changes.drain(..first_part);
    resp.pull[at].changes.truncate(first_part);
    resp.pull.insert(at + 1, second);
    let Message::Response(resp) = wire(Message::Response(resp)) else { panic!("response") };
    bob.replica.sync_apply(&plan, &resp).unwrap();
    assert_eq!(bob.replica.account(id).unwrap(), ana.replica.account(id).unwrap());
    assert_eq!(
        bob.replica.list(&AccountFilter::default()).unwrap(),
        ana.replica.list(&AccountFilter::default()).unwrap()
    );
}

/// A replica keeps recently used documents loaded: a response that fails
/// halfway, or an edit whose closure fails, must not leave a loaded document
/// ahead of the file.
#[test]
fn a_failed_response_or_edit_leaves_loaded_documents_as_stored() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let ids = ana.replica.create_accounts(&[NewAccount::new("Alpha Oy"), NewAccount::new("Beta Oy")]).unwrap();
    sync(&mut ana.replica, &mut store);
    let mut bob = Fixture::new("bob");
    sync(&mut bob.replica, &mut store);
    let before = bob.replica.account(ids[0]).unwrap();

    ana.replica.edit(ids[0], |e| e.set_field("party.industry", "Paper")).unwrap();
    ana.replica.edit(ids[1], |e| e.set_field("party.industry", "Steel")).unwrap();
    sync(&mut ana.replica, &mut store);
    let (req, plan) = bob.replica.sync_request(SyncLimits::default()).unwrap();
    let (mut resp, _) = handle(&mut store, &OpenAccess, &req).unwrap();
    let order: Vec<&str> = resp.pull.iter().map(|d| d.doc.as_str()).collect();
    assert_eq!(order, [ids[0].to_string(), ids[1].to_string()], "Alpha is applied before Beta fails");
    resp.pull[1].changes = vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]];
    assert!(bob.replica.sync_apply(&plan, &resp).is_err());
    assert_eq!(bob.replica.account(ids[0]).unwrap(), before);

    let failed = bob.replica.edit(ids[0], |e| {
        e.set_field("party.industry", "Glass")?;
        Err::<(), _>(Error::UnknownField("party.colour".into()))
    });
    assert!(failed.is_err());
    assert_eq!(bob.replica.account(ids[0]).unwrap(), before);

    sync(&mut bob.replica, &mut store);
    assert_eq!(bob.replica.account(ids[0]).unwrap().party.industry.as_deref(), Some("Paper"));
    assert_eq!(bob.replica.account(ids[1]).unwrap(), ana.replica.account(ids[1]).unwrap());
}

#[test]
fn settings_sync_like_any_document() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    ana.replica.edit_settings(|s, a| s.add_reason(a, ReasonCatalogue::LostReasons, "relocation")).unwrap();
    sync(&mut ana.replica, &mut store);
    sync(&mut bob.replica, &mut store);
    assert!(bob.replica.settings().lost_reasons.contains(&"relocation".to_string()));
}

#[test]
fn bad_pushes_are_rejected_and_store_nothing() {
    let mut store = MemoryStore::new();
    let id = AccountId::new().to_string();
    let garbage = |doc: &str, snapshot: Option<Vec<u8>>, changes: Vec<Vec<u8>>| SyncRequest {
        base: 0,
        after: 0,
        actor: vec![1; 16],
        push: vec![DocData { doc: doc.into(), snapshot, changes }],
        max_pull_bytes: 1 << 20,
        v2: None,
    };
    let foreign = {
        use automerge::transaction::Transactable;
        let mut d = automerge::AutoCommit::new();
        d.put(automerge::ROOT, "x", 1).unwrap();
        d.save()
    };
    let mut ana = Fixture::new("ana");
    let other = ana.account("Acme");
    let mislabelled = ana.replica.export_document(other).unwrap();
    for req in [
        garbage(&id, Some(b"not automerge".to_vec()), vec![]),
        garbage(&id, None, vec![b"not a change".to_vec()]),
        garbage(&id, Some(foreign), vec![]),
        garbage(&id, Some(mislabelled), vec![]),
    ] {
        let (resp, stats) = handle(&mut store, &OpenAccess, &req).unwrap();
        assert!(matches!(resp.acks[0].status, AckStatus::Rejected(_)), "{:?}", resp.acks[0]);
        assert_eq!(stats.changes_stored, 0);
    }
    assert_eq!(store.head().unwrap(), 0);
    assert!(store.doc_ids().is_empty());

    // Malformed messages never decode.
    let good = Message::Request(garbage(&id, None, vec![vec![0]])).encode();
    assert!(matches!(Message::decode(&good[..3]), Err(ProtocolError::Truncated)));
    assert!(matches!(Message::decode(b"HTTP/1.1 200"), Err(ProtocolError::BadMagic)));
    let mut future = good.clone();
    future[4] = 99;
    assert!(matches!(Message::decode(&future), Err(ProtocolError::UnsupportedVersion { found: 99, .. })));
    assert!(matches!(Message::decode(&good[..good.len() - 1]), Err(ProtocolError::Malformed(_))));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(Message::decode(&trailing), Err(ProtocolError::Malformed(_))));
    let bad_id = Message::Request(garbage("../etc/passwd", None, vec![vec![0]])).encode();
    assert!(matches!(Message::decode(&bad_id), Err(ProtocolError::BadDocId(_))));
    let _ = wire(Message::Request(garbage(&id, None, vec![vec![0]])));
}

/// A push of many documents (applied on worker threads, in batches) is judged document
/// by document: acknowledgements in the request's order, garbage and
/// refused documents rejected alone, a document named twice handled in turn.
#[test]
fn a_large_push_is_judged_document_by_document() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let batch: Vec<NewAccount> = (0..300).map(|i| NewAccount::new(format!("Customer {i:03}"))).collect();
    ana.replica.create_accounts(&batch).unwrap();
    let (mut req, _) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    assert!(req.push.len() >= 300, "more than one batch");
    req.push[10].changes = vec![b"not a change".to_vec()];
    let twice = req.push[20].clone();
    req.push.push(twice);
    let refused = req.push[30].doc.clone();
    let req = match wire(Message::Request(req)) {
        Message::Request(req) => req,
        other => panic!("{other:?}"),
    };

    let access = Scoped { hidden: [refused.clone()].into(), held: Default::default() };
    let (resp, stats) = handle(&mut store, &access, &req).unwrap();
    assert_eq!(
        resp.acks.iter().map(|a| a.doc.as_str()).collect::<Vec<_>>(),
        req.push.iter().map(|d| d.doc.as_str()).collect::<Vec<_>>()
    );
    for (i, ack) in resp.acks.iter().enumerate() {
        match i {
            10 => assert!(matches!(&ack.status, AckStatus::Rejected(r) if r.contains("change")), "{ack:?}"),
            30 => assert_eq!(ack.status, AckStatus::Rejected(format!("document {refused} is outside your scope"))),
            _ => assert_eq!(ack.status, AckStatus::Stored, "{i}"),
        }
    }
    assert_eq!(stats.docs_rejected, 2);
    assert_eq!(stats.docs_stored, req.push.len() - 3, "the second copy of a document adds nothing");
    let mut expected: Vec<String> = req.push.iter().map(|d| d.doc.clone()).filter(|d| *d != refused).collect();
    expected.retain(|d| *d != req.push[10].doc);
    expected.sort();
    expected.dedup();
    let mut stored = store.doc_ids();
    stored.sort();
    assert_eq!(stored, expected);
}

/// Access that hides some documents from the requester, and remembers what it
/// holds, as the server does per device.
struct Scoped {
    hidden: std::collections::HashSet<String>,
    held: std::collections::HashSet<String>,
}

impl Access for Scoped {
    fn may_read(&self, doc: &str) -> Result<bool, AccessError> {
        Ok(!self.hidden.contains(doc))
    }
    fn holds(&self, doc: &str) -> Result<bool, AccessError> {
        Ok(self.held.contains(doc))
    }
    fn check_write(
        &self,
        doc: &str,
        _: Option<&[ChangeHash]>,
        _: &automerge::AutoCommit,
        _: &[automerge::Change],
    ) -> Result<Verdict, AccessError> {
        Ok(if self.hidden.contains(doc) { Err(format!("document {doc} is outside your scope")) } else { Ok(()) })
    }
}

fn scoped_sync(r: &mut Replica, store: &mut MemoryStore, access: &mut Scoped) -> SyncReport {
    let mut total = SyncReport::default();
    for _ in 0..50 {
        let (req, plan) = r.sync_request(SyncLimits::default()).unwrap();
        let (resp, _) = handle(store, &*access, &req).unwrap();
        for d in &req.push {
            access.held.insert(d.doc.clone());
        }
        for d in &resp.pull {
            access.held.insert(d.doc.clone());
        }
        for d in &resp.removed {
            access.held.remove(d);
        }
        let report = r.sync_apply(&plan, &resp).unwrap();
        total.removed.extend(report.removed.clone());
        total.kept_unsynced.extend(report.kept_unsynced.clone());
        total.rejected.extend(report.rejected.clone());
        if !report.more && r.unsynced_count().unwrap() == 0 {
            break;
        }
    }
    total
}

#[test]
fn documents_leave_and_join_a_scope_without_losing_edits() {
    let mut store = MemoryStore::new();
    let mut office = Fixture::new("office");
    let mut rep = Fixture::new("rep");
    let everything = || Scoped { hidden: Default::default(), held: Default::default() };
    let mut office_access = everything();
    let mut rep_access = everything();
    let kept = office.account("Stays");
    let moving = office.account("Moves");
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    scoped_sync(&mut rep.replica, &mut store, &mut rep_access);
    assert_eq!(rep.replica.account_ids().unwrap().len(), 2);

    // The account leaves the rep's scope while the rep has an unsynced edit to it.
    rep.replica.edit(moving, |e| e.set_field("party.industry", "Paper")).unwrap();
    office.replica.edit(moving, |e| e.set_field("party.owner", "someone-else")).unwrap();
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    // First the edit reaches the server while the rep may still write it...
    let report = scoped_sync(&mut rep.replica, &mut store, &mut rep_access);
    assert!(report.removed.is_empty());
    // ...then the scope changes and the next sync removes the copy.
    rep_access.hidden.insert(moving.to_string());
    office.replica.edit(moving, |e| e.set_field("party.source", "reassigned")).unwrap();
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    let report = scoped_sync(&mut rep.replica, &mut store, &mut rep_access);
    assert_eq!(report.removed, vec![moving.to_string()]);
    assert_eq!(rep.replica.account_ids().unwrap(), vec![kept]);
    assert!(rep.replica.search("moves", 5).unwrap().is_empty(), "index rows are gone too");
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    assert_eq!(
        office.replica.account(moving).unwrap().party.industry.as_deref(),
        Some("Paper"),
        "the rep's edit arrived"
    );

    // A copy with a refused edit is kept, never dropped.
    let other = office.account("Other");
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    scoped_sync(&mut rep.replica, &mut store, &mut rep_access);
    rep_access.hidden.insert(other.to_string());
    rep.replica.edit(other, |e| e.set_field("party.industry", "Steel")).unwrap();
    office.replica.edit(other, |e| e.set_field("party.source", "touch")).unwrap();
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    let report = scoped_sync(&mut rep.replica, &mut store, &mut rep_access);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.kept_unsynced, vec![other.to_string()]);
    // The refused edit is set aside (ADR 0010): the copy shows what the server
    // holds, and the edit waits in the list to be discarded or retried.
    assert_eq!(rep.replica.account(other).unwrap().party.industry, None);
    let refused = rep.replica.refused_edits().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].fields, vec!["party.industry".to_owned()]);
    assert!(rep.replica.rejected_documents().unwrap().is_empty());

    // A document that enters the scope arrives whole on a device that never held it.
    let mut late = Fixture::new("late");
    let mut late_access = Scoped { hidden: [kept.to_string()].into(), held: Default::default() };
    scoped_sync(&mut late.replica, &mut store, &mut late_access);
    assert!(late.replica.account(kept).is_err());
    late_access.hidden.clear();
    office.replica.edit(kept, |e| e.set_field("party.source", "now visible")).unwrap();
    scoped_sync(&mut office.replica, &mut store, &mut office_access);
    scoped_sync(&mut late.replica, &mut store, &mut late_access);
    assert_eq!(late.replica.account(kept).unwrap(), office.replica.account(kept).unwrap());
}

/// Remote wipe: the work the server never received is counted before the
/// replica's files are overwritten and deleted; acknowledged work is not.
#[test]
fn erasing_a_replica_counts_the_unsynced_work_and_removes_its_files() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let synced = ana.account("Acme Paper");
    sync(&mut ana.replica, &mut store);
    assert_eq!(ana.replica.unsynced_work().unwrap(), Unsynced::default());

    ana.replica.edit(synced, |e| e.set_field("party.industry", "Paper")).unwrap();
    ana.replica.edit(synced, |e| e.set_field("party.website", "https://acme.example")).unwrap();
    ana.account("Globex");
    assert_eq!(ana.replica.unsynced_work().unwrap(), Unsynced { documents: 2, changes: 3 });

    let path = ana.path();
    assert!(path.exists());
    let Fixture { dir, replica } = ana;
    assert_eq!(replica.erase().unwrap(), Unsynced { documents: 2, changes: 3 });
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing of the replica is left: {left:?}");

    // The same path opens as a new, empty replica: nothing came back.
    let fresh = Replica::open(&path, &identity("ana")).unwrap();
    assert!(fresh.account_ids().unwrap().is_empty());
}

/// A shared replica (the bindings') is erased in place: files gone, nothing
/// readable through the old handle any more, from disk or from memory.
#[test]
fn a_replica_erased_in_place_keeps_nothing_readable() {
    let mut ana = Fixture::new("ana");
    let id = ana.account("Acme Paper");
    assert_eq!(ana.replica.account(id).unwrap().party.name, "Acme Paper", "the document is now kept loaded");
    assert_eq!(ana.replica.erase_in_place().unwrap(), Unsynced { documents: 1, changes: 1 });
    assert!(std::fs::read_dir(ana.dir.path()).unwrap().next().is_none(), "no file is left");
    assert!(ana.replica.account(id).is_err());
    assert!(ana.replica.account_ids().is_err());
}

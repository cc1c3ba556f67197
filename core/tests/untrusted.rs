//! Remote bytes on which the document engine panics are refused through the
//! one boundary (`rapport_core::untrusted`), on the server's half of the
//! protocol and on a device, and leave nothing half-applied.
//!
//! The input is the fuzz crasher checked into the server's corpus: a request
//! pushing one account twice, whose second entry makes Automerge 0.12 panic in
//! `import_ops` when its changes are applied.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Fixture;
use rapport_core::sync::*;
use rapport_core::*;

fn crasher() -> SyncRequest {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/fuzz/corpus/ingest/crash-automerge-import-ops-panic");
    match Message::decode(&std::fs::read(path).expect("the crasher is checked in")).expect("it decodes") {
        Message::Request(request) => request,
        Message::Response(_) => panic!("the crasher is a request"),
    }
}

fn is_engine_refusal(message: &str) -> bool {
    message.contains("cannot be processed by the document engine")
}

#[test]
fn the_server_half_refuses_the_panicking_push_and_keeps_the_rest() {
    let request = crasher();
    assert_eq!(request.push.len(), 2);
    let mut store = MemoryStore::new();
    let (response, stats) = handle(&mut store, &OpenAccess, &request).expect("handled, not panicked");
    assert_eq!(response.acks[0].status, AckStatus::Stored);
    match &response.acks[1].status {
        AckStatus::Rejected(reason) => assert!(is_engine_refusal(reason), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(stats.docs_stored, 1);
    // What is stored is the first entry alone, complete and loadable.
    let doc = request.push[0].doc.clone();
    let mut stored = store.load(&doc).unwrap().expect("stored");
    assert!(stored.get_missing_deps(&[]).is_empty());
    let mut first = automerge::AutoCommit::load(request.push[0].snapshot.as_ref().unwrap()).unwrap();
    assert_eq!(stored.get_heads(), first.get_heads());
}

/// The crasher's two entries, as a server would send them to a device.
fn pulled(entries: Vec<DocData>, base: u64) -> SyncResponse {
    SyncResponse { acks: Vec::new(), pull: entries, base, after: base + 2, more: false, removed: Vec::new(), v2: None }
}

#[test]
fn a_device_refuses_the_panicking_pull_and_applies_nothing() {
    let request = crasher();
    let id: AccountId = request.push[0].doc.parse().unwrap();

    // A device that holds nothing gets both entries in one response.
    let mut fresh = Fixture::new("ana");
    let (_, plan) = fresh.replica.sync_request(SyncLimits::default()).unwrap();
    let err = fresh.replica.sync_apply(&plan, &pulled(request.push.clone(), 0)).expect_err("refused");
    assert!(matches!(&err, Error::InvalidDocument(m) if is_engine_refusal(m)), "{err}");
    assert!(fresh.replica.document(id).is_err(), "nothing of the response was stored");
    assert_eq!(fresh.replica.sync_position().unwrap(), (0, 0));

    // A device that holds the account gets the panicking entry alone.
    let mut held = Fixture::new("bob");
    let (_, plan) = held.replica.sync_request(SyncLimits::default()).unwrap();
    held.replica.sync_apply(&plan, &pulled(vec![request.push[0].clone()], 0)).expect("the first entry is valid");
    let before = held.heads(id);
    let account = held.replica.account(id).unwrap();
    let (_, plan) = held.replica.sync_request(SyncLimits::default()).unwrap();
    let err = held.replica.sync_apply(&plan, &pulled(vec![request.push[1].clone()], 2)).expect_err("refused");
    assert!(matches!(&err, Error::InvalidDocument(m) if is_engine_refusal(m)), "{err}");
    assert_eq!(held.heads(id), before, "the loaded document is not half-applied");
    assert_eq!(held.replica.account(id).unwrap(), account);
    let held = held.reopen();
    assert_eq!(held.heads(id), before, "nor is the stored one");
    assert_eq!(held.replica.sync_position().unwrap(), (2, 2));
}

/// A document lent to code that panics (contained at the boundary) comes
/// back whole: the server keeps indexing and storing it afterwards.
#[test]
fn a_lent_document_comes_back_whole_when_the_borrower_panics() {
    let author = Author::new("ana", "laptop", automerge::ActorId::random());
    let account = AccountDoc::create(&author, &NewAccount::new("Ромашка")).unwrap();
    let mut doc = account.into_automerge();
    let heads = doc.get_heads();
    let refused = untrusted::contain("a test borrower", || {
        AccountDoc::with_borrowed(&mut doc, |_| -> () { panic!("the engine fails while the document is lent") })
    });
    assert!(matches!(refused, Err(Error::InvalidDocument(_))), "{refused:?}");
    assert_eq!(doc.get_heads(), heads, "the document is back with every change");
    assert_eq!(AccountDoc::from_automerge(doc).unwrap().read().party.name, "Ромашка");
}

//! A replica stores a compacted snapshot only once it loads back with the
//! same heads: Automerge 0.12 can save a document it cannot load (found by
//! fuzzing the server: `server/fuzz/corpus/ingest/crash-compacted-snapshot-mismatching-heads`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::sync::*;
use rapport_core::*;

const CRASHER: &[u8] = include_bytes!("../../server/fuzz/corpus/ingest/crash-compacted-snapshot-mismatching-heads");

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// The crasher's documents, as a server would send them back: the same
/// account twice, a snapshot and then one change to it.
fn crasher_pull() -> Vec<DocData> {
    let Message::Request(req) = Message::decode(CRASHER).expect("the crasher is a sync request") else {
        panic!("the crasher is a request")
    };
    req.push
}

/// The document the pulled data describes, built in memory, and whether
/// Automerge's own save of it loads back (the bug this guards against).
fn expected(pull: &[DocData]) -> (AccountId, Vec<ChangeHash>, bool) {
    let mut am = automerge::AutoCommit::new();
    for data in pull {
        if let Some(s) = &data.snapshot {
            am.merge(&mut automerge::AutoCommit::load(s).unwrap()).unwrap();
        }
        am.apply_changes(data.parse_changes().unwrap()).unwrap();
    }
    let heads = sorted(am.get_heads());
    let loads_back = automerge::AutoCommit::load(&am.save()).is_ok_and(|mut d| sorted(d.get_heads()) == heads);
    (pull[0].doc.parse().unwrap(), heads, loads_back)
}

#[test]
fn a_pulled_document_that_would_not_load_back_is_refused_and_the_replica_stays_readable() {
    let pull = crasher_pull();
    let (id, _, loads_back) = expected(&pull);
    // The input still triggers the Automerge bug (else this test proves nothing).
    assert!(!loads_back, "Automerge now loads its own save back: the guard is no longer exercised here");

    let mut fx = Fixture::new("ana");
    let (_, plan) = fx.replica.sync_request(SyncLimits::default()).unwrap();
    let response = |pull: Vec<DocData>| SyncResponse {
        acks: vec![],
        pull,
        base: 0,
        after: 2,
        more: false,
        removed: vec![],
        v2: None,
    };
    // Before the guard, this stored a snapshot that no longer loaded: the
    // account could not be read, edited or synced on this device again.
    let refused = fx.replica.sync_apply(&plan, &response(pull.clone()));
    assert!(matches!(refused, Err(Error::InvalidDocument(_))), "{refused:?}");
    assert_eq!(fx.replica.sync_position().unwrap(), (0, 0), "nothing of the response is applied");
    assert_not_found(fx.replica.account(id), RecordKind::Account);

    // The replica is intact: the account's first state (the snapshot alone) is
    // stored, reads back from the file, and takes edits that compact it again.
    fx.replica.sync_apply(&plan, &response(pull[..1].to_vec())).unwrap();
    let mut fx = fx.reopen();
    let before = fx.heads(id);
    fx.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    let edited = sorted(fx.heads(id));
    assert_ne!(edited, sorted(before));
    let fx = fx.reopen();
    assert_eq!(sorted(fx.heads(id)), edited);
    assert_eq!(fx.replica.account(id).unwrap().party.industry.as_deref(), Some("Paper"));
}

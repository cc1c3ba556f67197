//! One conformance suite for the change-log part of [`ServerStore`], run
//! against every backend: [`super::MemoryStore`] (core's own tests), the
//! server's SQLite file and PostgreSQL (their crates' tests).
//!
//! A backend implements [`LogBackend`] (how to run work in one committed
//! transaction) and instantiates every test with [`log_conformance_tests!`]:
//!
//! ```text
//! rapport_core::log_conformance_tests!(my_backend_for_a_test());
//! ```
//!
//! Each test starts from an empty log. Enabled by the `conformance` feature.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ROOT};

use super::protocol::{AckStatus, DocData, SyncRequest, fingerprint_of};
use super::server::{LogIdentity, LoggedChange, OpenAccess, ServerStore, handle};
use crate::settings::SETTINGS_DOC_ID;

/// A log under test.
pub trait LogBackend {
    /// The store one transaction works through.
    type Store<'a>: ServerStore
    where
        Self: 'a;

    /// Runs `work` in one transaction and commits it; panics (failing the
    /// test) if the backend cannot begin or commit.
    fn transaction<R>(&mut self, work: impl FnOnce(&mut Self::Store<'_>) -> R) -> R;
}

/// Instantiates every conformance test as a `#[test]` in the calling module.
/// `$backend` is an expression giving a fresh, empty [`LogBackend`]; it is
/// evaluated once per test.
#[macro_export]
macro_rules! log_conformance_tests {
    ($backend:expr) => {
        $crate::log_conformance_tests!(@tests $backend;
            empty_log,
            positions_are_consecutive_from_one,
            reading_since_a_position,
            changed_lists_documents_by_last_position,
            load_returns_every_logged_change,
            positions_increase_across_transactions,
            fingerprints_and_newest_by_actor,
            skip_past_moves_later_positions,
            identity_is_stable_and_epochs_grow,
            push_and_pull_through_handle,
            repushed_changes_are_logged_once,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut backend = $backend;
                $crate::sync::conformance::$name(&mut backend);
            }
        )*
    };
}

/// `n` edits of one document by one actor, each its own change, after `base`
/// (a fresh document when `None`). Returns the document and the new changes.
pub fn edits(base: Option<&AutoCommit>, actor: u8, n: usize) -> (AutoCommit, Vec<Change>) {
    let mut doc = base.cloned().unwrap_or_default().with_actor(ActorId::from(vec![actor; 16]));
    let before = doc.get_heads();
    let logged = doc.get_changes(&[]).len();
    for i in 0..n {
        // A put of the value a key holds makes no change: every value is new.
        doc.put(ROOT, "n", (logged + i) as i64).expect("a put on a fresh map succeeds");
        doc.commit();
    }
    let changes = doc.get_changes(&before);
    assert_eq!(changes.len(), n, "every edit is a change");
    (doc, changes)
}

fn expect_ok<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

fn append<S: ServerStore>(store: &mut S, doc: &str, changes: &[Change], updated: &AutoCommit) {
    expect_ok("append", store.append(doc, changes, updated.clone()));
}

fn seqs(logged: &[LoggedChange]) -> Vec<u64> {
    logged.iter().map(|c| c.seq).collect()
}

fn head<B: LogBackend>(backend: &mut B) -> u64 {
    backend.transaction(|s| expect_ok("head", s.head()))
}

/// An empty log has head 0 and knows no document, change or actor.
pub fn empty_log<B: LogBackend>(backend: &mut B) {
    backend.transaction(|s| {
        assert_eq!(expect_ok("head", s.head()), 0);
        assert!(expect_ok("load", s.load("a")).is_none());
        assert!(expect_ok("changed", s.changed(0, u64::MAX, 100)).is_empty());
        assert!(expect_ok("changes_after", s.changes_after("a", 0)).is_empty());
        assert!(expect_ok("snapshot", s.snapshot("a")).is_none());
        assert!(expect_ok("fingerprint", s.fingerprint(1)).is_none());
        assert!(expect_ok("newest_by_actor", s.newest_by_actor(&[1; 16])).is_none());
    });
}

/// Every appended change gets the next position, starting at 1, and is
/// stored with its actor and exact bytes.
pub fn positions_are_consecutive_from_one<B: LogBackend>(backend: &mut B) {
    let (a, a_changes) = edits(None, 1, 3);
    let (b, b_changes) = edits(None, 2, 2);
    backend.transaction(|s| {
        append(s, "a", &a_changes, &a);
        append(s, "b", &b_changes, &b);
        assert_eq!(expect_ok("head", s.head()), 5, "the head is the newest position, read in the same transaction");
    });
    assert_eq!(head(backend), 5);
    backend.transaction(|s| {
        let logged_a = expect_ok("changes_after", s.changes_after("a", 0));
        let logged_b = expect_ok("changes_after", s.changes_after("b", 0));
        assert_eq!(seqs(&logged_a), [1, 2, 3]);
        assert_eq!(seqs(&logged_b), [4, 5]);
        for (logged, change) in logged_a.iter().zip(&a_changes).chain(logged_b.iter().zip(&b_changes)) {
            assert_eq!(logged.bytes, change.raw_bytes(), "a change is stored byte for byte");
            assert_eq!(logged.actor, change.actor_id().to_bytes(), "a change is stored with its actor");
        }
    });
}

/// `changes_after` returns exactly the document's changes past a position, oldest first.
pub fn reading_since_a_position<B: LogBackend>(backend: &mut B) {
    let (a, first) = edits(None, 1, 2);
    let (b, other) = edits(None, 2, 1);
    let (a2, second) = edits(Some(&a), 1, 2);
    backend.transaction(|s| append(s, "a", &first, &a));
    backend.transaction(|s| append(s, "b", &other, &b));
    backend.transaction(|s| append(s, "a", &second, &a2));
    backend.transaction(|s| {
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("a", 0))), [1, 2, 4, 5]);
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("a", 2))), [4, 5]);
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("a", 3))), [4, 5]);
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("a", 4))), [5]);
        assert!(expect_ok("changes_after", s.changes_after("a", 5)).is_empty());
        assert!(expect_ok("changes_after", s.changes_after("a", u64::MAX)).is_empty());
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("b", 0))), [3]);
    });
}

/// `changed` lists documents whose newest change is in `(after, upto]`, by
/// that position, at most `limit`.
pub fn changed_lists_documents_by_last_position<B: LogBackend>(backend: &mut B) {
    let (a, a1) = edits(None, 1, 1);
    let (b, b1) = edits(None, 2, 1);
    let (c, c1) = edits(None, 3, 1);
    let (a2, a2c) = edits(Some(&a), 1, 1);
    backend.transaction(|s| {
        append(s, "a", &a1, &a);
        append(s, "b", &b1, &b);
        append(s, "c", &c1, &c);
    });
    backend.transaction(|s| append(s, "a", &a2c, &a2));
    backend.transaction(|s| {
        let listed = |s: &mut B::Store<'_>, after, upto, limit| -> Vec<(String, u64)> {
            expect_ok("changed", s.changed(after, upto, limit)).into_iter().map(|(d, m)| (d, m.last_seq)).collect()
        };
        let all = [("b".to_owned(), 2), ("c".to_owned(), 3), ("a".to_owned(), 4)];
        assert_eq!(listed(s, 0, 4, 10), all);
        assert_eq!(listed(s, 0, u64::MAX, 10), all);
        assert_eq!(listed(s, 2, 4, 10), all[1..]);
        assert_eq!(listed(s, 1, 3, 10), all[..2], "a document changed only outside `(after, upto]` is not listed");
        assert_eq!(listed(s, 0, 4, 2), all[..2]);
        assert!(listed(s, 4, 4, 10).is_empty());
        let meta = expect_ok("changed", s.changed(0, 4, 10));
        for (doc, meta) in meta {
            assert_eq!((meta.snapshot_seq, meta.pruned_seq), (0, 0), "{doc} has no snapshot");
        }
    });
}

/// `load` returns the document with every logged change, in every later transaction.
pub fn load_returns_every_logged_change<B: LogBackend>(backend: &mut B) {
    let (a, first) = edits(None, 1, 2);
    let (mut a2, second) = edits(Some(&a), 2, 3);
    backend.transaction(|s| append(s, "a", &first, &a));
    backend.transaction(|s| append(s, "a", &second, &a2));
    let expected: Vec<ChangeHash> = sorted(a2.get_heads());
    backend.transaction(|s| {
        let mut loaded = expect_ok("load", s.load("a")).expect("a logged document loads");
        assert_eq!(sorted(loaded.get_heads()), expected);
        assert_eq!(loaded.get_changes(&[]).len(), 5);
        s.release("a", loaded);
    });
    backend.transaction(|s| {
        let mut again = expect_ok("load", s.load("a")).expect("a released document loads again");
        assert_eq!(sorted(again.get_heads()), expected);
        s.release("a", again);
        assert!(expect_ok("snapshot", s.snapshot("a")).is_none(), "appending makes no snapshot");
    });
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// Positions keep increasing by one across transactions and documents: the
/// newest position is the head, and no position is used twice.
pub fn positions_increase_across_transactions<B: LogBackend>(backend: &mut B) {
    let docs = ["a", "b", "c", "d"];
    let mut current: Vec<Option<AutoCommit>> = vec![None; docs.len()];
    let mut expected_head = 0;
    for round in 0..3 {
        for (i, doc) in docs.iter().enumerate() {
            let (updated, changes) = edits(current[i].as_ref(), i as u8 + 1, round + 1);
            backend.transaction(|s| append(s, doc, &changes, &updated));
            expected_head += changes.len() as u64;
            current[i] = Some(updated);
            assert_eq!(head(backend), expected_head);
        }
    }
    backend.transaction(|s| {
        let mut all: Vec<u64> =
            docs.iter().flat_map(|d| seqs(&expect_ok("changes_after", s.changes_after(d, 0)))).collect();
        all.sort_unstable();
        assert_eq!(all, (1..=expected_head).collect::<Vec<_>>(), "positions are gap-free and unique");
    });
}

/// The fingerprint of a position is that of the change logged there; the
/// newest change of an actor is remembered with its document and hash.
pub fn fingerprints_and_newest_by_actor<B: LogBackend>(backend: &mut B) {
    let (a, by_one) = edits(None, 1, 2);
    let (b, by_two) = edits(None, 2, 1);
    let (a2, by_one_again) = edits(Some(&a), 1, 1);
    backend.transaction(|s| append(s, "a", &by_one, &a));
    backend.transaction(|s| append(s, "b", &by_two, &b));
    backend.transaction(|s| append(s, "a", &by_one_again, &a2));
    backend.transaction(|s| {
        let order = [&by_one[0], &by_one[1], &by_two[0], &by_one_again[0]];
        for (i, change) in order.iter().enumerate() {
            let seq = i as u64 + 1;
            assert_eq!(expect_ok("fingerprint", s.fingerprint(seq)), Some(fingerprint_of(&change.hash().0)));
        }
        assert!(expect_ok("fingerprint", s.fingerprint(5)).is_none());
        let one = expect_ok("newest_by_actor", s.newest_by_actor(&[1; 16])).expect("actor 1 logged changes");
        assert_eq!((one.seq, one.doc.as_str(), one.hash), (4, "a", by_one_again[0].hash().0));
        let two = expect_ok("newest_by_actor", s.newest_by_actor(&[2; 16])).expect("actor 2 logged a change");
        assert_eq!((two.seq, two.doc.as_str(), two.hash), (3, "b", by_two[0].hash().0));
        assert!(expect_ok("newest_by_actor", s.newest_by_actor(&[3; 16])).is_none());
    });
}

/// After `skip_past(seen)` the next change is logged above `seen`;
/// skipping to a position already passed moves nothing.
pub fn skip_past_moves_later_positions<B: LogBackend>(backend: &mut B) {
    let (a, first) = edits(None, 1, 2);
    let (a2, second) = edits(Some(&a), 1, 2);
    backend.transaction(|s| append(s, "a", &first, &a));
    backend.transaction(|s| {
        assert!(expect_ok("skip_past", s.skip_past(10)), "positions move past 10");
        assert!(!expect_ok("skip_past", s.skip_past(7)), "positions are past 7 already");
    });
    backend.transaction(|s| {
        assert!(!expect_ok("skip_past", s.skip_past(10)), "positions are past 10 already");
        append(s, "a", &second, &a2);
    });
    assert_eq!(head(backend), 12);
    backend.transaction(|s| {
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("a", 0))), [1, 2, 11, 12]);
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after("a", 2))), [11, 12]);
        let listed = expect_ok("changed", s.changed(2, 12, 10));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1.last_seq, 12);
        assert!(!expect_ok("skip_past", s.skip_past(12)));
    });
}

/// The log's identity stays the same; every new epoch is greater than the last.
pub fn identity_is_stable_and_epochs_grow<B: LogBackend>(backend: &mut B) {
    let first: LogIdentity = backend.transaction(|s| expect_ok("identity", s.identity()));
    assert_eq!(backend.transaction(|s| expect_ok("identity", s.identity())), first);
    let started = backend.transaction(|s| expect_ok("start_epoch", s.start_epoch()));
    assert_eq!(started.server, first.server, "a new epoch keeps the log's identity");
    assert!(started.epoch > first.epoch, "a new epoch is greater than the last");
    assert_eq!(backend.transaction(|s| expect_ok("identity", s.identity())), started);
    let again = backend.transaction(|s| expect_ok("start_epoch", s.start_epoch()));
    assert!(again.epoch > started.epoch);
}

fn settings_doc(actor: u8) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(vec![actor; 16]));
    doc.put(ROOT, "type", "settings").expect("a put on a fresh map succeeds");
    doc.commit();
    doc
}

fn request(actor: u8, base: u64, push: Vec<DocData>) -> SyncRequest {
    SyncRequest { base, after: base, actor: vec![actor; 16], push, max_pull_bytes: u64::MAX, v2: None }
}

fn push_of(doc: &mut AutoCommit, since: &[ChangeHash]) -> DocData {
    let changes = doc.get_changes(since).iter().map(|c| c.raw_bytes().to_vec()).collect();
    DocData { doc: SETTINGS_DOC_ID.to_owned(), snapshot: None, changes }
}

/// The protocol runs on the backend: a push is stored, and another device
/// pulls it from the log.
pub fn push_and_pull_through_handle<B: LogBackend>(backend: &mut B) {
    let mut doc = settings_doc(1);
    let push = push_of(&mut doc, &[]);
    let (response, stats) =
        backend.transaction(|s| expect_ok("handle", handle(s, &OpenAccess, &request(1, 0, vec![push]))));
    assert_eq!(response.acks.len(), 1);
    assert_eq!(response.acks[0].status, AckStatus::Stored);
    assert_eq!(stats.changes_stored, 1);
    assert_eq!(response.after, 1);
    let (pulled, _) = backend.transaction(|s| expect_ok("handle", handle(s, &OpenAccess, &request(2, 0, Vec::new()))));
    assert_eq!(pulled.after, 1);
    assert_eq!(pulled.pull.len(), 1);
    assert_eq!(pulled.pull[0].doc, SETTINGS_DOC_ID);
    assert_eq!(pulled.pull[0].changes, push_of(&mut doc, &[]).changes);
    let (own, _) = backend.transaction(|s| expect_ok("handle", handle(s, &OpenAccess, &request(1, 0, Vec::new()))));
    assert!(own.pull.is_empty(), "a device is not sent its own changes");
}

/// A push retried after a lost response is acknowledged again and logged once.
pub fn repushed_changes_are_logged_once<B: LogBackend>(backend: &mut B) {
    let mut doc = settings_doc(1);
    let first = push_of(&mut doc, &[]);
    let before = doc.get_heads();
    doc.put(ROOT, "currency", "EUR").expect("a put on a map succeeds");
    doc.commit();
    let second = push_of(&mut doc, &before);
    for _ in 0..2 {
        let (response, _) =
            backend.transaction(|s| expect_ok("handle", handle(s, &OpenAccess, &request(1, 0, vec![first.clone()]))));
        assert_eq!(response.acks[0].status, AckStatus::Stored);
        assert_eq!(head(backend), 1, "a change already logged is not logged again");
    }
    let both = DocData { changes: [first.changes.clone(), second.changes].concat(), ..first };
    let (response, stats) =
        backend.transaction(|s| expect_ok("handle", handle(s, &OpenAccess, &request(1, 1, vec![both]))));
    assert_eq!(response.acks[0].status, AckStatus::Stored);
    assert_eq!(stats.changes_stored, 1, "only the new change is stored");
    assert_eq!(head(backend), 2);
    backend.transaction(|s| {
        assert_eq!(seqs(&expect_ok("changes_after", s.changes_after(SETTINGS_DOC_ID, 0))), [1, 2]);
    });
}

#[cfg(test)]
mod memory {
    use super::LogBackend;
    use crate::sync::MemoryStore;

    impl LogBackend for MemoryStore {
        type Store<'a> = MemoryStore;

        fn transaction<R>(&mut self, work: impl FnOnce(&mut MemoryStore) -> R) -> R {
            work(self)
        }
    }

    crate::log_conformance_tests!(MemoryStore::new());
}

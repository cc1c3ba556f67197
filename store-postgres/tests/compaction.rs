//! [`PgLog::compact`] run by two nodes at once: every document is
//! compacted once, loads as before, and devices (fresh, or holding
//! everything) go on syncing. Without PostgreSQL these tests fail.

use std::sync::{Arc, Barrier};
use std::thread;

use automerge::{AutoCommit, ChangeHash};
use rapport_core::sync::conformance::edits;
use rapport_core::sync::{OpenAccess, ServerStore, SyncRequest, SyncResponse, handle};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{Compacted, PgLog, PgOptions};

const DOCS: usize = 12;
const CHANGES: usize = 4;

fn connect(db: &TestDatabase) -> PgLog {
    PgLog::connect(db.url(), PgOptions { max_connections: 4, ..PgOptions::default() }).expect("the log connects")
}

fn heads(log: &PgLog, doc: &str) -> Vec<ChangeHash> {
    let mut tx = log.begin().expect("a transaction");
    let mut loaded: AutoCommit = tx.load(doc).expect("loads").expect("exists");
    tx.commit().expect("a read commits");
    let mut heads = loaded.get_heads();
    heads.sort();
    heads
}

/// Pulls everything after `after` (0: a fresh device), page by page;
/// returns the last response's position and the documents received.
fn pull(log: &PgLog, after: u64) -> (u64, Vec<String>) {
    let (mut base, mut after, mut docs) = (after, after, Vec::new());
    loop {
        let request =
            SyncRequest { base, after, actor: vec![42; 16], push: Vec::new(), max_pull_bytes: 1 << 20, v2: None };
        let mut tx = log.begin().expect("a transaction");
        let (response, _): (SyncResponse, _) = handle(&mut tx, &OpenAccess, &request).expect("a pull is answered");
        tx.commit().expect("a read commits");
        docs.extend(response.pull.iter().map(|d| d.doc.clone()));
        after = response.after;
        if !response.more {
            base = response.after;
            return (base, docs);
        }
    }
}

#[test]
fn two_nodes_compact_each_document_once_and_devices_go_on_syncing() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let (a, b) = (connect(&db), connect(&db));
    let ids: Vec<String> = (0..DOCS).map(|i| format!("doc-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let mut tx = a.begin().expect("a transaction");
        let (doc, changes) = edits(None, i as u8 + 1, CHANGES);
        tx.append(id, &changes, doc).expect("appends");
        tx.commit().expect("commits");
    }
    let before: Vec<Vec<ChangeHash>> = ids.iter().map(|id| heads(&a, id)).collect();
    let (held_to, first) = pull(&a, 0);
    assert_eq!(first.len(), DOCS);

    // Both nodes compact at once, each a document at a time.
    let start = Arc::new(Barrier::new(2));
    let runs: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .map(|log| {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let mut total = Compacted::default();
                loop {
                    let done = log.compact(1, 2).expect("compaction runs");
                    if done == Compacted::default() {
                        return total;
                    }
                    total.snapshots += done.snapshots;
                    total.pruned += done.pruned;
                    total.skipped += done.skipped;
                }
            })
        })
        .collect();
    let totals: Vec<Compacted> = runs.into_iter().map(|r| r.join().expect("a node finishes")).collect();
    assert_eq!(totals.iter().map(|t| t.snapshots).sum::<usize>(), DOCS, "each document compacted once: {totals:?}");
    assert_eq!(totals.iter().map(|t| t.pruned).sum::<usize>(), DOCS, "more than 2 change rows each: pruned");
    assert_eq!(a.compact(100, 2).expect("compaction runs"), Compacted::default(), "nothing is left to do");

    let mut tx = a.begin().expect("a transaction");
    for id in &ids {
        assert!(tx.changes_after(id, 0).expect("changes read").is_empty(), "{id}: its change rows are pruned");
        assert!(tx.snapshot(id).expect("a snapshot reads").is_some(), "{id}: it has a snapshot");
    }
    tx.commit().expect("a read commits");
    for (id, heads_before) in ids.iter().zip(&before) {
        assert_eq!(&heads(&b, id), heads_before, "{id} loads as before");
    }

    // A fresh device receives every document; one holding everything, nothing.
    let (_, fresh) = pull(&b, 0);
    assert_eq!(fresh.len(), DOCS);
    let (_, none) = pull(&b, held_to);
    assert!(none.is_empty(), "a device holding everything pulls nothing: {none:?}");

    // A change after compaction reaches the device that holds the rest.
    let mut tx = b.begin().expect("a transaction");
    let existing = tx.load(&ids[0]).expect("loads");
    let (doc, changes) = edits(existing.as_ref(), 99, 1);
    tx.append(&ids[0], &changes, doc).expect("appends");
    tx.commit().expect("commits");
    let (_, next) = pull(&a, held_to);
    assert_eq!(next, vec![ids[0].clone()]);
}

//! The PostgreSQL log under concurrent writers, as on a fleet of nodes: each
//! writer has its own [`PgLog`] (its own pool and connections). Without
//! PostgreSQL these tests fail.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use automerge::{AutoCommit, Change};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rapport_core::sync::conformance::edits;
use rapport_core::sync::{OpenAccess, ServerStore, SyncRequest, handle};
use rapport_server_store::{AuditStore, Author, DirectoryStore, TokenHash, UserChange};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgError, PgLog, PgOptions, schema_version};

fn database() -> TestDatabase {
    TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"))
}

fn connect(db: &TestDatabase) -> PgLog {
    PgLog::connect(db.url(), PgOptions { max_connections: 4, io_threads: 1, ..PgOptions::default() })
        .expect("the log connects")
}

/// A user with one device in the log's directory, as the author of pushes.
fn author(log: &PgLog, name: &str) -> Author {
    let dir = log.directory();
    let none = UserChange { role: None, teams: None, territories: None };
    let device = dir.add_user(name, "rep", &none, "phone").expect("a user is added");
    let principal = dir.authenticate(&TokenHash::of(&device.token)).expect("authenticates").expect("a known token");
    Author { user_id: principal.user_id, device_id: principal.device_id }
}

const WRITERS: usize = 4;
const ROUNDS: usize = 20;
const DOCS: u64 = 5;

/// Appends `ROUNDS` transactions of 1 to 3 changes to random documents,
/// each slowed (holding the log's lock) before its COMMIT; returns the
/// hashes of every change it committed. Its pushes are audited as `by`.
fn writer(log: PgLog, index: usize, by: Author, start: Arc<Barrier>) -> Vec<[u8; 32]> {
    let mut rng = SmallRng::seed_from_u64(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1));
    let mut committed = Vec::new();
    start.wait();
    for _ in 0..ROUNDS {
        let doc = format!("doc-{}", rng.random_range(0..DOCS));
        let mut tx = log.begin().expect("a transaction begins");
        tx.set_author(Some(by));
        let existing = tx.load(&doc).expect("the document loads");
        let (updated, changes): (AutoCommit, Vec<Change>) =
            edits(existing.as_ref(), index as u8 + 1, 1 + rng.random_range(0..3) as usize);
        thread::sleep(Duration::from_millis(rng.random_range(0..3)));
        tx.append(&doc, &changes, updated).expect("the changes are appended");
        thread::sleep(Duration::from_millis(rng.random_range(0..4)));
        tx.commit().expect("the transaction commits");
        committed.extend(changes.iter().map(|c| c.hash().0));
    }
    committed
}

/// While writers on separate connections append at once, a reader probing
/// positions never sees one before all those below it, and a device that
/// syncs all the while ends up with every committed change. The audit log
/// lists every change once, in position order, attributed to its writer.
#[test]
fn concurrent_writers_never_let_a_reader_skip_a_position() {
    let db = database();
    let readers = connect(&db);
    let authors: Vec<Author> = (0..WRITERS).map(|i| author(&readers, &format!("writer {i}"))).collect();
    // The writers, the prober, the device and this thread.
    let start = Arc::new(Barrier::new(WRITERS + 3));
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (log, by, start) = (connect(&db), authors[i], start.clone());
            thread::spawn(move || writer(log, i, by, start))
        })
        .collect();

    let prober = {
        let (log, start, done) = (readers.clone(), start.clone(), done.clone());
        thread::spawn(move || {
            start.wait();
            let mut seen = 0u64;
            let mut polls = 0;
            loop {
                let finished = done.load(Ordering::Acquire);
                let mut tx = log.begin().expect("a transaction begins");
                // Highest first: a position seen present means every lower
                // one must be present in every later statement.
                let mut highest_present = None;
                for seq in (seen + 1..=seen + 8).rev() {
                    let present = tx.fingerprint(seq).expect("a fingerprint reads").is_some();
                    match (present, highest_present) {
                        (true, None) => highest_present = Some(seq),
                        (false, Some(above)) => panic!("position {above} was visible before position {seq}"),
                        _ => {}
                    }
                }
                let head = tx.head().expect("the head reads");
                tx.commit().expect("a read commits");
                if let Some(highest) = highest_present {
                    seen = highest;
                }
                polls += 1;
                if finished && seen == head {
                    return (seen, polls);
                }
            }
        })
    };

    let device = {
        let (log, start, done) = (readers.clone(), start.clone(), done.clone());
        thread::spawn(move || {
            start.wait();
            let (mut base, mut after) = (0, 0);
            let mut received: HashSet<[u8; 32]> = HashSet::new();
            loop {
                let finished = done.load(Ordering::Acquire);
                let request =
                    SyncRequest { base, after, actor: vec![99; 16], push: Vec::new(), max_pull_bytes: 4096, v2: None };
                let mut tx = log.begin().expect("a transaction begins");
                let (response, _) = handle(&mut tx, &OpenAccess, &request).expect("a pull is answered");
                let head = tx.head().expect("the head reads");
                tx.commit().expect("a read commits");
                for data in &response.pull {
                    for raw in &data.changes {
                        let change = Change::from_bytes(raw.clone()).expect("a pulled change parses");
                        received.insert(change.hash().0);
                    }
                }
                // A paged response resumes where it stopped; once complete,
                // the device holds everything up to `after`.
                after = response.after;
                if !response.more {
                    base = response.after;
                }
                if finished && !response.more && base >= head {
                    return received;
                }
            }
        })
    };

    let mut committed: Vec<[u8; 32]> = Vec::new();
    start.wait();
    for w in writers {
        committed.extend(w.join().expect("a writer finishes"));
    }
    done.store(true, Ordering::Release);
    let (probed_to, polls) = prober.join().expect("the prober finishes");
    let received = device.join().expect("the device finishes");

    assert_eq!(probed_to, committed.len() as u64, "every committed change has a position");
    assert!(polls > 1, "the prober polled while the writers wrote");
    let missing = committed.iter().filter(|h| !received.contains(*h)).count();
    assert_eq!(missing, 0, "the syncing device missed {missing} committed changes");

    let mut tx = readers.begin().expect("a transaction begins");
    let mut positions: Vec<u64> = (0..DOCS)
        .flat_map(|d| tx.changes_after(&format!("doc-{d}"), 0).expect("changes read"))
        .map(|c| c.seq)
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=committed.len() as u64).collect::<Vec<_>>(), "positions are gap-free and unique");

    // Every logged change is audited once, listed by position, with its writer.
    let audited = readers.audit().list_changes(None, u32::MAX).expect("the audit log lists");
    let seqs: Vec<i64> = audited.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=committed.len() as i64).collect::<Vec<_>>(), "one audit row per change, in log order");
    for entry in &audited {
        let change = tx
            .changes_after(&entry.document, u64::try_from(entry.seq - 1).expect("a position"))
            .expect("changes read")
            .into_iter()
            .next()
            .expect("the audited change is logged");
        let writer = change.actor[0] as usize - 1;
        assert_eq!(
            (change.seq as i64, entry.device_id),
            (entry.seq, authors[writer].device_id),
            "attributed to its writer"
        );
    }
}

/// Two transactions (two nodes) appending the same change at once: it is
/// logged once, and both commit.
#[test]
fn the_same_change_appended_by_two_nodes_at_once_is_logged_once() {
    let db = database();
    let (first, second) = (connect(&db), connect(&db));
    let (by_first, by_second) = (author(&first, "first"), author(&first, "second"));
    let (doc, changes) = edits(None, 1, 2);
    let mut tx = first.begin().expect("a transaction begins");
    tx.set_author(Some(by_first));
    tx.append("a", &changes, doc.clone()).expect("the changes are appended");
    let other = {
        let (changes, doc) = (changes.clone(), doc.clone());
        thread::spawn(move || {
            let mut tx = second.begin().expect("a transaction begins");
            tx.set_author(Some(by_second));
            // Waits for the first transaction's lock, then finds its changes.
            tx.append("a", &changes, doc).expect("the changes are appended");
            tx.commit().expect("the second transaction commits");
        })
    };
    thread::sleep(Duration::from_millis(200));
    tx.commit().expect("the first transaction commits");
    other.join().expect("the second node finishes");
    let mut tx = first.begin().expect("a transaction begins");
    assert_eq!(tx.head().expect("the head reads"), 2);
    let logged: Vec<u64> = tx.changes_after("a", 0).expect("changes read").iter().map(|c| c.seq).collect();
    assert_eq!(logged, [1, 2]);
    let audited = first.audit().list_changes(None, 10).expect("the audit log lists");
    let rows: Vec<(i64, i64)> = audited.iter().map(|e| (e.seq, e.device_id)).collect();
    assert_eq!(rows, [(1, by_first.device_id), (2, by_first.device_id)], "audited once, by the node that logged it");
}

/// A reader that read the head, then saw a document move past it (another
/// node committed to it), still lists the document as of that head.
#[test]
fn a_document_moved_past_the_head_is_listed_as_of_it() {
    let db = database();
    let log = connect(&db);
    let (a, first) = edits(None, 1, 1);
    let (b, other) = edits(None, 2, 1);
    let (a2, later) = edits(Some(&a), 1, 1);
    let mut tx = log.begin().expect("a transaction begins");
    tx.append("a", &first, a).expect("appended");
    tx.append("b", &other, b).expect("appended");
    tx.commit().expect("committed");

    let mut reader = log.begin().expect("a transaction begins");
    let head = reader.head().expect("the head reads");
    let mut writer = log.begin().expect("a transaction begins");
    writer.append("a", &later, a2).expect("appended");
    writer.commit().expect("committed");
    let listed: Vec<(String, u64)> =
        reader.changed(0, head, 10).expect("listed").into_iter().map(|(d, m)| (d, m.last_seq)).collect();
    assert_eq!(listed, [("a".to_owned(), 1), ("b".to_owned(), 2)]);
    reader.commit().expect("a read commits");
}

/// Migrations run once when several nodes start on an empty database at once.
#[test]
fn nodes_starting_together_migrate_once() {
    let db = database();
    let start = Arc::new(Barrier::new(4));
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let (url, start) = (db.url().to_owned(), start.clone());
            thread::spawn(move || {
                start.wait();
                PgLog::connect(&url, PgOptions { max_connections: 2, io_threads: 1, ..PgOptions::default() })
            })
        })
        .collect();
    let logs: Vec<PgLog> =
        nodes.into_iter().map(|n| n.join().expect("a node starts").expect("a node connects and migrates")).collect();
    let version = db.query_i64("SELECT version FROM rapport_schema").expect("the version reads");
    assert_eq!(version, schema_version() as i64);
    assert_eq!(db.query_i64("SELECT count(*) FROM log_state").expect("a count"), 1, "the log's state was made once");
    let mut tx = logs[3].begin().expect("a transaction begins");
    assert_eq!(tx.head().expect("the head reads"), 0);
}

/// A connection lost before COMMIT returns is an unknown outcome (to be
/// retried, never acknowledged); the pool recovers from it.
#[test]
fn a_connection_lost_at_commit_is_an_unknown_outcome() {
    let db = database();
    let log = connect(&db);
    let (doc, changes) = edits(None, 1, 1);
    let mut tx = log.begin().expect("a transaction begins");
    tx.append("a", &changes, doc.clone()).expect("appended");
    let killed = db
        .query_i64(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()",
        )
        .expect("the backend is looked up");
    assert_eq!(killed, 1, "the transaction's backend was terminated");
    let err = tx.commit().expect_err("a commit on a lost connection fails");
    assert!(matches!(err, PgError::CommitOutcomeUnknown(_)), "got {err:?}");
    assert!(err.is_retryable());
    // The retried transaction goes through on a fresh connection.
    let mut retry = log.begin().expect("the pool hands out a working connection");
    retry.append("a", &changes, doc).expect("appended");
    retry.commit().expect("the retry commits");
    let mut tx = log.begin().expect("a transaction begins");
    assert_eq!(tx.head().expect("the head reads"), 1);
}

/// Group commit: requests in savepoints of one transaction. A request
/// rolled back to its savepoint leaves no position behind; the next one
/// takes the lock again, and positions stay gap-free for other nodes.
#[test]
fn requests_in_savepoints_of_one_transaction_keep_positions_gap_free() {
    let db = database();
    let (node, other) = (connect(&db), connect(&db));
    let (a, first) = edits(None, 1, 2);
    let (b, failed) = edits(None, 2, 3);
    let (c, kept) = edits(None, 3, 1);
    let mut tx = node.begin().expect("a transaction begins");
    tx.savepoint().expect("a savepoint");
    tx.append("a", &first, a).expect("appended");
    tx.release_savepoint().expect("released");
    tx.savepoint().expect("a savepoint");
    tx.append("b", &failed, b).expect("appended");
    tx.rollback_to_savepoint().expect("rolled back");
    tx.savepoint().expect("a savepoint");
    tx.append("c", &kept, c).expect("appended");
    tx.release_savepoint().expect("released");
    // Another node appends meanwhile: it waits for this transaction's lock.
    let (d, theirs) = edits(None, 4, 1);
    let waiting = thread::spawn(move || {
        let mut tx = other.begin().expect("a transaction begins");
        tx.append("d", &theirs, d).expect("appended");
        tx.commit().expect("committed");
    });
    thread::sleep(Duration::from_millis(200));
    assert!(!waiting.is_finished(), "the other node waits for the log's lock");
    tx.commit().expect("the group commits");
    waiting.join().expect("the other node finishes");
    let mut tx = node.begin().expect("a transaction begins");
    let position = |tx: &mut rapport_store_postgres::PgTransaction, doc: &str| -> Vec<u64> {
        tx.changes_after(doc, 0).expect("changes read").iter().map(|c| c.seq).collect()
    };
    assert_eq!(position(&mut tx, "a"), [1, 2]);
    assert!(position(&mut tx, "b").is_empty(), "the rolled-back request stored nothing");
    assert_eq!(position(&mut tx, "c"), [3]);
    assert_eq!(position(&mut tx, "d"), [4]);
    assert_eq!(tx.head().expect("the head reads"), 4);
    assert!(matches!(tx.release_savepoint(), Err(PgError::NoSavepoint)));
}

/// An account document with a territory, as one actor's changes.
fn account_with_territory(territory: &str) -> AutoCommit {
    use automerge::transaction::Transactable;
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(vec![1; 16]));
    let party = doc.put_object(automerge::ROOT, "party", automerge::ObjType::Map).expect("a party map");
    doc.put(&party, "territory", territory).expect("a territory");
    doc.commit();
    doc
}

fn set_party(doc: &mut AutoCommit, key: &str, value: &str) -> Vec<Change> {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    let before = doc.get_heads();
    let party = match doc.get(automerge::ROOT, "party").expect("a read") {
        Some((_, id)) => id,
        None => panic!("the document has a party map"),
    };
    doc.put(&party, key, value).expect("a put");
    doc.commit();
    doc.get_changes(&before)
}

/// The scope index is written from the document as the log's lock leaves
/// it: node A appends an edit to a document it loaded before node B moved
/// the account to another territory; the index follows B's move, not A's
/// stale copy.
#[test]
fn the_scope_index_follows_changes_another_node_made_since_this_one_loaded() {
    use rapport_server_store::access::AccessStore;
    let db = database();
    let (a, b) = (connect(&db), connect(&db));
    let created = account_with_territory("Київ");
    let mut tx = a.begin().expect("a transaction");
    tx.append("acct", &created.clone().get_changes(&[]), created.clone()).expect("the account is logged");
    tx.commit().expect("commits");

    let mut on_a = a.begin().expect("node A begins");
    let mut stale = on_a.load("acct").expect("loads").expect("exists");

    let mut on_b = b.begin().expect("node B begins");
    let mut moved = on_b.load("acct").expect("loads").expect("exists");
    moved.set_actor(automerge::ActorId::from(vec![2; 16]));
    let moved_changes = set_party(&mut moved, "territory", "Одеса");
    on_b.append("acct", &moved_changes, moved).expect("B logs the move");
    on_b.commit().expect("B commits");

    let edit = set_party(&mut stale, "industry", "Енергетика");
    on_a.append("acct", &edit, stale).expect("A logs its edit");
    on_a.commit().expect("A commits");

    let tx = a.begin().expect("a transaction");
    let scope = tx.access_store().expect("a handle").account_scope("acct").expect("the index reads");
    assert_eq!(scope.and_then(|s| s.territory).as_deref(), Some("Одеса"), "the index has B's move");
    tx.commit().expect("a read commits");
}

//! Failover (issue 15, item 5): a PostgreSQL primary with a synchronous
//! standby on loopback, a log given both hosts with
//! `target_session_attrs=read-write`, a writer pushing all the while, the
//! primary killed (`pg_ctl stop -m immediate`) and the standby promoted.
//! Without PostgreSQL (Debian's `postgresql`, with `pg_basebackup`) this
//! test fails; it never skips.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use automerge::{AutoCommit, Change};
use rapport_core::sync::ServerStore;
use rapport_core::sync::conformance::edits;
use rapport_store_postgres::cluster::ReplicatedPair;
use rapport_store_postgres::{PgError, PgLog, PgOptions};

/// A change as the log keys it: its document and its hash (the same edit
/// made in two documents has the same hash).
type Key = (&'static str, [u8; 32]);

const DOCS: [&str; 3] = ["a", "b", "c"];
/// Pushes the writer must have acknowledged after the failover.
const AFTER_FAILOVER: usize = 10;
/// The longest any step may take before the test gives up.
const STEP: Duration = Duration::from_secs(20);

fn options() -> PgOptions {
    PgOptions {
        max_connections: 4,
        io_threads: 1,
        connect_timeout: Duration::from_secs(2),
        pool_wait: Duration::from_secs(5),
    }
}

/// What the writer did.
#[derive(Default)]
struct Pushed {
    /// Hashes of every change whose COMMIT returned `Ok`.
    acknowledged: Vec<Key>,
    /// Hashes of the changes whose COMMIT outcome was unknown (then re-sent until acknowledged).
    unknown: Vec<Key>,
    /// Retryable errors seen.
    retried: usize,
}

/// A push that failed, kept to be sent again as it is (as a client re-sends its push).
struct Pending {
    doc: &'static str,
    updated: AutoCommit,
    changes: Vec<Change>,
}

/// One push: the pending changes again, or two new edits of `doc`.
fn push(log: &PgLog, doc: &'static str, pending: &mut Option<Pending>) -> Result<Vec<Key>, PgError> {
    let mut tx = log.begin()?;
    let this = match pending.take() {
        Some(again) => again,
        None => {
            let existing = tx.load(doc)?;
            let (updated, changes) = edits(existing.as_ref(), 1, 2);
            Pending { doc, updated, changes }
        }
    };
    let Pending { doc, updated, changes } = pending.insert(this);
    tx.append(doc, changes, updated.clone())?;
    let hashes = changes.iter().map(|c| (*doc, c.hash().0)).collect();
    tx.commit()?;
    Ok(hashes)
}

/// Pushes until `stop`, re-sending a failed push until it is acknowledged.
/// Every error must be retryable.
fn writer(log: PgLog, stop: Arc<AtomicBool>, acks: Arc<AtomicUsize>) -> Pushed {
    let mut pushed = Pushed::default();
    let mut pending: Option<Pending> = None;
    let mut round = 0;
    while pending.is_some() || !stop.load(Ordering::SeqCst) {
        let doc = pending.as_ref().map_or(DOCS[round % DOCS.len()], |p| p.doc);
        match push(&log, doc, &mut pending) {
            Ok(hashes) => {
                pushed.acknowledged.extend(hashes);
                pending = None;
                round += 1;
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => {
                eprintln!("push {round} failed (retrying): {e:?}");
                assert!(e.is_retryable(), "an error during failover must be retryable, got {e:?}");
                if let (PgError::CommitOutcomeUnknown(_), Some(p)) = (&e, pending.as_ref()) {
                    pushed.unknown.extend(p.changes.iter().map(|c| (p.doc, c.hash().0)));
                }
                pushed.retried += 1;
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    pushed
}

/// Runs statements one by one on the cluster at `port` (ALTER SYSTEM cannot share a batch).
fn admin(port: u16, statements: &[&str]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&ReplicatedPair::url_of(port), tokio_postgres::NoTls)
            .await
            .expect("an administration connection");
        tokio::spawn(connection);
        for sql in statements {
            client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    });
}

/// The changes logged in the cluster at `port`, read directly.
fn logged_on(port: u16) -> HashSet<Key> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&ReplicatedPair::url_of(port), tokio_postgres::NoTls)
            .await
            .expect("an administration connection");
        tokio::spawn(connection);
        let rows = client.query("SELECT doc_id, hash FROM log_hashes", &[]).await.expect("the log's hashes read");
        rows.iter()
            .map(|r| {
                let doc: String = r.get(0);
                let doc = DOCS.into_iter().find(|d| *d == doc).expect("one of the writer's documents");
                let hash: Vec<u8> = r.get(1);
                (doc, hash.try_into().expect("a 32-byte hash"))
            })
            .collect()
    })
}

/// Whether `sql` (one boolean) is true on the cluster at `port`.
fn holds(port: u16, sql: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&ReplicatedPair::url_of(port), tokio_postgres::NoTls)
            .await
            .expect("an administration connection");
        tokio::spawn(connection);
        let row = client.query_opt(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.is_some_and(|r| r.get::<_, Option<bool>>(0) == Some(true))
    })
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The primary dies while a writer pushes and while one COMMIT waits for
/// the standby; the standby is promoted; the same log carries on.
#[test]
fn a_log_on_a_multi_host_url_survives_failover_to_the_synchronous_standby() {
    let mut pair =
        ReplicatedPair::start().unwrap_or_else(|e| panic!("no PostgreSQL primary with a synchronous standby: {e}"));
    let log = PgLog::connect(&pair.url(), options()).expect("the log connects through the multi-host URL");

    // The standby alone is never taken for writes.
    let standby_only =
        format!("postgres://rapport@127.0.0.1:{}/postgres?target_session_attrs=read-write", pair.standby_port());
    let err = PgLog::connect(&standby_only, options()).expect_err("a read-only standby is refused");
    assert!(matches!(err, PgError::Connect(_)) && err.is_retryable(), "got {err:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let pushing = {
        let (log, stop, acks) = (log.clone(), stop.clone(), acks.clone());
        thread::spawn(move || writer(log, stop, acks))
    };
    wait_until("the writer has pushed through the primary", || acks.load(Ordering::SeqCst) >= 15);

    // Make the next COMMIT's outcome unknown, deterministically: the primary
    // waits for a synchronous standby that does not exist, while the real
    // standby still receives the commit (asynchronously). The writer's
    // COMMIT hangs, unacknowledged, with its changes on the standby.
    let primary = pair.primary_port();
    admin(primary, &["ALTER SYSTEM SET synchronous_standby_names = 'no_such_standby'", "SELECT pg_reload_conf()"]);
    // (The reload takes effect a little later: until then commits are
    // acknowledged as before. A COMMIT waiting a whole second is held.)
    wait_until("a COMMIT is held waiting for the standby", || {
        holds(
            primary,
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'SyncRep' \
             AND clock_timestamp() - state_change > interval '1 second'",
        )
    });
    wait_until("the standby has flushed everything the primary has", || {
        holds(primary, "SELECT bool_and(flush_lsn >= pg_current_wal_flush_lsn()) FROM pg_stat_replication")
    });
    let acknowledged_before = acks.load(Ordering::SeqCst);

    pair.kill_primary().expect("the primary stops");
    // No primary: nothing is acknowledged, every answer is a retryable error.
    for _ in 0..3 {
        match log.begin() {
            Ok(_) => panic!("a transaction began with no primary (on the read-only standby?)"),
            Err(e) => assert!(e.is_retryable(), "got {e:?}"),
        }
    }
    thread::sleep(Duration::from_millis(200));
    assert_eq!(acks.load(Ordering::SeqCst), acknowledged_before, "nothing is acknowledged without a primary");
    // What the standby holds before it is promoted (it serves reads while in recovery).
    let standby = pair.standby_port();
    wait_until("the standby has replayed all it received", || {
        holds(standby, "SELECT pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn()")
    });
    let replicated = logged_on(standby);

    pair.promote_standby().expect("the standby is promoted");
    wait_until("the writer has pushed through the promoted standby", || {
        acks.load(Ordering::SeqCst) >= acknowledged_before + AFTER_FAILOVER
    });
    stop.store(true, Ordering::SeqCst);
    let pushed = pushing.join().expect("the writer finishes");
    assert!(!pushed.unknown.is_empty(), "the held COMMIT ended with an unknown outcome");
    assert!(pushed.retried > 1, "the writer retried while there was no primary");

    // Read the whole log back through the same log (now on the promoted standby).
    let mut tx = log.begin().expect("a transaction on the new primary");
    let head = tx.head().expect("the head reads");
    let mut positions = Vec::new();
    let mut stored: HashMap<Key, usize> = HashMap::new();
    for doc in DOCS {
        let logged = tx.changes_after(doc, 0).expect("the changes read");
        assert!(logged.windows(2).all(|w| w[0].seq < w[1].seq), "positions of {doc} strictly increase");
        for change in logged {
            positions.push(change.seq);
            let hash = Change::from_bytes(change.bytes).expect("a stored change loads").hash().0;
            *stored.entry((doc, hash)).or_default() += 1;
        }
    }
    drop(tx);
    positions.sort_unstable();
    assert_eq!(positions, (1..=head).collect::<Vec<u64>>(), "positions are gap-free up to the head");
    assert!(stored.values().all(|&n| n == 1), "no change is stored twice");
    let acknowledged: HashSet<Key> = pushed.acknowledged.iter().copied().collect();
    assert_eq!(acknowledged.len(), pushed.acknowledged.len(), "no change was acknowledged twice");
    let missing = acknowledged.iter().filter(|h| !stored.contains_key(*h)).count();
    assert_eq!(missing, 0, "every acknowledged change is on the promoted standby");
    assert!(pushed.unknown.iter().all(|h| acknowledged.contains(h)), "the re-sent push was acknowledged");
    assert_eq!(stored.len(), acknowledged.len(), "nothing is stored that was not acknowledged in the end");
    // Synchronous replication: what was acknowledged before the crash was on
    // the standby before it was promoted; so was the COMMIT whose outcome was
    // unknown, and sending it again stored it no second time.
    let before: Vec<&Key> = pushed.acknowledged.iter().filter(|k| !pushed.unknown.contains(k)).collect();
    assert!(before.len() >= 2 * acknowledged_before, "the pushes acknowledged before the crash");
    let before_crash = &before[..2 * acknowledged_before];
    assert!(before_crash.iter().all(|k| replicated.contains(*k)), "acknowledged changes were on the standby");
    assert!(pushed.unknown.iter().all(|k| replicated.contains(k)), "the held COMMIT had reached the standby");

    // An acknowledged push sent again (a client that missed the answer)
    // stores nothing new on the new primary.
    let mut tx = log.begin().expect("a transaction");
    let again = tx.load("a").expect("loads").expect("document a exists");
    let first: Vec<Change> = tx.changes_after("a", 0).expect("the changes read")[..2]
        .iter()
        .map(|c| Change::from_bytes(c.bytes.clone()).expect("a stored change loads"))
        .collect();
    assert!(
        first.iter().all(|c| acknowledged.contains(&("a", c.hash().0))),
        "the writer's first push was acknowledged"
    );
    tx.append("a", &first, again).expect("the same changes again");
    assert_eq!(tx.head().expect("the head reads"), head, "a re-sent push takes no position");
    tx.commit().expect("committed");
}

/// Resumes a stopped process when dropped (even if the test panics), so the
/// cluster can shut down.
struct Stopped(rustix::process::Pid);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(self.0, rustix::process::Signal::CONT);
    }
}

/// A pooled connection whose server no longer answers (as one to a
/// primary whose machine died, whose socket never closes) is not handed
/// out again: the pool's check times out, the connection is dropped, and a
/// new one serves the transaction.
#[test]
fn a_pooled_connection_to_a_silent_server_is_not_reused() {
    let db = rapport_store_postgres::cluster::TestDatabase::create()
        .unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let timeout = Duration::from_millis(500);
    let log = PgLog::connect(db.url(), PgOptions { max_connections: 2, connect_timeout: timeout, ..options() })
        .expect("the log connects");
    let (updated, changes) = edits(None, 1, 1);
    let mut tx = log.begin().expect("a transaction");
    tx.append("a", &changes, updated).expect("appended");
    tx.commit().expect("committed");
    assert_eq!(log.pool_status(), (1, 1), "one idle connection in the pool");

    // Stop the server process behind that idle connection: its socket stays open, nothing answers.
    let backend = query_pid(db.url());
    let pid = rustix::process::Pid::from_raw(backend).expect("a process id");
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).expect("the backend stops");
    let stopped = Stopped(pid);

    // On a thread: were the silent connection handed out, its BEGIN would never return.
    let (done, answer) = std::sync::mpsc::channel();
    let transacting = log.clone();
    thread::spawn(move || {
        let head = transacting.begin().and_then(|mut tx| {
            let head = tx.head()?;
            tx.commit()?;
            Ok(head)
        });
        let _ = done.send(head);
    });
    let head = answer
        .recv_timeout(timeout + Duration::from_secs(5))
        .expect("the pool handed out the connection to the silent server");
    assert_eq!(head.expect("a transaction on a new connection"), 1);
    assert_eq!(log.pool_status(), (1, 1), "the silent connection left the pool");
    drop(stopped);
}

/// The process id of the one other client backend of the database at `url`.
fn query_pid(url: &str) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("a connection");
        tokio::spawn(connection);
        let rows = client
            .query(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                 AND datname = current_database()",
                &[],
            )
            .await
            .expect("the backends list");
        assert_eq!(rows.len(), 1, "one backend of the log");
        rows[0].get(0)
    })
}

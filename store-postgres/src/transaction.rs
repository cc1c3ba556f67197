//! [`PgTransaction`]: one READ COMMITTED transaction of the PostgreSQL log,
//! the [`ServerStore`] the protocol works through.
//!
//! Positions are gap-free across nodes. The first statement that assigns
//! positions (an append, or moving positions) takes the log's
//! transaction-level advisory lock, which is held until COMMIT or ROLLBACK;
//! only then is the current position read (a fresh statement, so it sees
//! every transaction committed before the lock was granted), the changes
//! inserted at the next positions and the head moved. Transactions that
//! assign positions therefore commit in position order, and a reader that
//! sees position N+1 has N visible too. The document work (loading,
//! applying, the write checks) happens before the lock is taken.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::{AutoCommit, Change, ChangeHash};
use deadpool_postgres::Object;
use rapport_core::AccountDoc;
use rapport_core::rules::AccountScope;
use rapport_core::settings::SETTINGS_DOC_ID;
use rapport_core::sync::{
    AckStatus, ActorNewest, DocMeta, Fingerprint, LogIdentity, LoggedChange, ServerStore, SyncResponse, fingerprint_of,
};

use rapport_server_store::Author;
use rapport_server_store::audit::operation;
use rapport_server_store::field_changes::{self, Appended};

use crate::PgError;
use crate::access::PgAccessStore;
use crate::clock::now_millis;
use crate::log::PgLog;
use crate::reports;
use crate::watch::HEAD_CHANNEL;

/// The advisory lock key that orders position assignment ("rapport" and 2).
const LOG_LOCK: i64 = 0x7261_7070_6f72_7402;

/// One transaction. Dropped without [`PgTransaction::commit`], it is rolled back.
pub struct PgTransaction {
    log: PgLog,
    /// `None` once committed.
    client: Option<Arc<Object>>,
    /// Whether this transaction holds the log's advisory lock.
    locked: bool,
    /// `locked` as it was at each open savepoint, innermost last.
    savepoints: Vec<bool>,
    /// A statement failed (here or through the access rules' handle):
    /// PostgreSQL aborted the transaction, and would answer COMMIT with a
    /// silent ROLLBACK.
    failed: Arc<AtomicBool>,
    /// The log position each loaded document's state reaches, to tell
    /// whether another node appended to it since (see `append`).
    loaded: HashMap<String, i64>,
    /// Who pushes the changes appended now, for the audit log.
    author: Option<Author>,
}

impl std::fmt::Debug for PgTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTransaction")
            .field("open", &self.client.is_some())
            .field("locked", &self.locked)
            .field("failed", &self.failed())
            .finish()
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.log.roll_back(client);
        }
    }
}

/// A log position as stored (PostgreSQL's bigint); positions from clients
/// beyond it are clamped, as no stored position can exceed it.
fn stored(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

fn position(value: i64) -> Result<u64, PgError> {
    u64::try_from(value).map_err(|_| PgError::Invalid { what: "log position" })
}

impl PgTransaction {
    pub(crate) fn new(log: PgLog, client: Object) -> PgTransaction {
        PgTransaction {
            log,
            client: Some(Arc::new(client)),
            locked: false,
            savepoints: Vec::new(),
            failed: Arc::new(AtomicBool::new(false)),
            loaded: HashMap::new(),
            author: None,
        }
    }

    /// Audits the changes appended from now on as pushed by `author`
    /// (`None`: by the server itself, not audited). A group commit sets
    /// each request's author in turn.
    pub fn set_author(&mut self, author: Option<Author>) {
        self.author = author;
    }

    /// Commits. `Ok` means stored durably (as PostgreSQL's `synchronous_commit`
    /// defines it); only then may anything of the transaction be acknowledged.
    /// A connection lost during COMMIT is [`PgError::CommitOutcomeUnknown`].
    /// After a failed statement (not undone by
    /// [`PgTransaction::rollback_to_savepoint`]) nothing was stored:
    /// [`PgError::Aborted`], and the transaction is rolled back.
    pub fn commit(mut self) -> Result<(), PgError> {
        if self.failed() {
            return Err(PgError::Aborted);
        }
        let client = self.client.take().ok_or(PgError::Finished)?;
        self.log.run(async move { client.batch_execute("COMMIT").await.map_err(PgError::commit) })?
    }

    /// Opens a savepoint: one request of a group commit (many requests, one
    /// COMMIT) runs inside it, so that a failed request is undone alone.
    pub fn savepoint(&mut self) -> Result<(), PgError> {
        self.call(|c| async move { Ok(c.batch_execute("SAVEPOINT request").await?) })?;
        self.savepoints.push(self.locked);
        Ok(())
    }

    /// Keeps what was done since the innermost savepoint (part of the COMMIT to come).
    pub fn release_savepoint(&mut self) -> Result<(), PgError> {
        self.savepoints.pop().ok_or(PgError::NoSavepoint)?;
        self.call(|c| async move { Ok(c.batch_execute("RELEASE SAVEPOINT request").await?) })
    }

    /// Undoes what was done since the innermost savepoint. A lock taken
    /// since is treated as released (PostgreSQL releases a subtransaction's
    /// locks when it is rolled back), so the next append takes it again.
    pub fn rollback_to_savepoint(&mut self) -> Result<(), PgError> {
        let locked = self.savepoints.pop().ok_or(PgError::NoSavepoint)?;
        self.call(|c| async move {
            Ok(c.batch_execute("ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request").await?)
        })?;
        self.locked = locked;
        // A statement failed after the savepoint is undone with it.
        self.failed.store(false, Ordering::Release);
        Ok(())
    }

    /// Rewrites the scope index row and the reporting rows of account `doc`
    /// after an append, and indexes the fields each of the `appended`
    /// changes set, from the document as the log's lock leaves it.
    /// `before` is the position the document reached before this append:
    /// if another node appended to it after this transaction loaded it (or
    /// it was never loaded here), `updated` lacks those changes and the
    /// document is read again (under the lock, with this append's changes).
    fn write_indexes(
        &mut self,
        doc: &str,
        before: i64,
        updated: AutoCommit,
        appended: &[Appended],
    ) -> Result<(), PgError> {
        let seen = self.loaded.get(doc).copied().unwrap_or(0);
        let mut state = if before > seen {
            self.load(doc)?.ok_or(PgError::Invalid { what: "document (gone while appending)" })?
        } else {
            updated
        };
        let scope = AccountScope::of(&state, None);
        let changes = field_changes::project(doc, &mut state, appended);
        let account = match AccountDoc::with_borrowed(&mut state, |a| (a.read(), a.conflicts())) {
            Ok(read) => Some(read),
            Err(e) => {
                tracing::warn!(doc, error = %e, "not indexing a document that is not a readable account");
                None
            }
        };
        let id = doc.to_owned();
        self.call(|c| async move {
            let upsert = c
                .prepare_cached(
                    "INSERT INTO accounts (doc_id, owner, team, territory) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (doc_id) DO UPDATE SET owner = excluded.owner, team = excluded.team,
                         territory = excluded.territory
                     WHERE (accounts.owner, accounts.team, accounts.territory)
                         IS DISTINCT FROM (excluded.owner, excluded.team, excluded.territory)",
                )
                .await?;
            c.execute(&upsert, &[&id, &scope.owner, &scope.team, &scope.territory]).await?;
            reports::rewrite(&c, &id, account, changes).await
        })
    }

    /// A handle on this transaction for the access rules
    /// (`rapport_server_store::access::RulesAccess`) to read and write
    /// through while the protocol holds the transaction itself. A failed
    /// statement through it fails the transaction too.
    pub fn access_store(&self) -> Result<PgAccessStore, PgError> {
        let client = self.client.clone().ok_or(PgError::Finished)?;
        Ok(PgAccessStore::new(self.log.clone(), client, self.failed.clone()))
    }

    /// Records what the device holds after a response: documents it was
    /// sent (held once it asks from past this response), documents it
    /// pushed (held), documents that left its scope (gone once it asks
    /// from past this response). The same rules as the SQLite server's.
    pub fn record_held(&mut self, device_id: i64, response: &SyncResponse) -> Result<(), PgError> {
        let after = stored(response.after);
        // One row per document and statement: an upsert may not touch a row twice.
        let unique = |docs: Vec<String>| {
            docs.into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect::<Vec<_>>()
        };
        let sent = unique(response.pull.iter().map(|d| d.doc.clone()).collect());
        let pushed =
            unique(response.acks.iter().filter(|a| a.status == AckStatus::Stored).map(|a| a.doc.clone()).collect());
        let removed = response.removed.clone();
        self.call(|c| async move {
            let upsert = c
                .prepare_cached(
                    "INSERT INTO device_docs (device_id, doc_id, since, gone)
                     SELECT $1, d, $3, NULL FROM unnest($2::text[]) AS t(d)
                     ON CONFLICT (device_id, doc_id) DO UPDATE SET since = excluded.since, gone = NULL",
                )
                .await?;
            // Most responses send, take or remove nothing: no round trip then.
            for (docs, since) in [(&sent, after), (&pushed, 0)] {
                if !docs.is_empty() {
                    c.execute(&upsert, &[&device_id, docs, &since]).await?;
                }
            }
            if !removed.is_empty() {
                let gone = c
                    .prepare_cached(
                        "UPDATE device_docs SET gone = $3 WHERE device_id = $1 AND doc_id = ANY($2::text[])",
                    )
                    .await?;
                c.execute(&gone, &[&device_id, &removed, &after]).await?;
            }
            Ok(())
        })
    }

    /// Takes the log's advisory lock now unless this transaction holds it
    /// (an import, which assigns positions wholesale).
    pub(crate) fn lock_log(&mut self) -> Result<(), PgError> {
        let lock = self.lock_first();
        self.call(|c| async move { take_lock(&c, lock).await })
    }

    /// Whether a statement failed, so PostgreSQL aborted the transaction.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Runs one piece of async work with this transaction's connection.
    /// Any failure marks the transaction failed.
    pub(crate) fn call<T, F>(&mut self, work: impl FnOnce(Arc<Object>) -> F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let client = self.client.clone().ok_or(PgError::Finished)?;
        let outcome = self.log.run(work(client)).and_then(|done| done);
        if outcome.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        outcome
    }

    /// Takes the log's advisory lock unless this transaction holds it: the
    /// statement to run before one that assigns positions.
    fn lock_first(&mut self) -> bool {
        !std::mem::replace(&mut self.locked, true)
    }
}

async fn take_lock(client: &Object, needed: bool) -> Result<(), PgError> {
    if needed {
        let lock = client.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
        client.execute(&lock, &[&LOG_LOCK]).await?;
    }
    Ok(())
}

/// One change to log, in owned parts.
struct Row {
    hash: ChangeHash,
    actor: Vec<u8>,
    bytes: Vec<u8>,
    /// The operation its message names, for the audit log.
    op: String,
    /// Its own timestamp (the device's clock when it was made).
    made_at: i64,
}

impl ServerStore for PgTransaction {
    type Error = PgError;

    fn head(&mut self) -> Result<u64, PgError> {
        self.call(|c| async move {
            let row = c.query_one("SELECT head FROM log_state WHERE id = 1", &[]).await?;
            position(row.get(0))
        })
    }

    fn load(&mut self, doc: &str) -> Result<Option<AutoCommit>, PgError> {
        let id = doc.to_owned();
        let stored = self.call(|c| async move {
            let get = c.prepare_cached("SELECT snapshot, snapshot_seq FROM documents WHERE id = $1").await?;
            let Some(row) = c.query_opt(&get, &[&id]).await? else { return Ok(None) };
            let (snapshot, snapshot_seq): (Option<Vec<u8>>, i64) = (row.get(0), row.get(1));
            let rows =
                c.prepare_cached("SELECT seq, bytes FROM changes WHERE doc_id = $1 AND seq > $2 ORDER BY seq").await?;
            let rows = c.query(&rows, &[&id, &snapshot_seq]).await?;
            let upto = rows.last().map_or(snapshot_seq, |r| r.get(0));
            let changes: Vec<Vec<u8>> = rows.iter().map(|r| r.get(1)).collect();
            Ok(Some((snapshot, changes, upto)))
        })?;
        let Some((snapshot, raw, upto)) = stored else { return Ok(None) };
        self.loaded.insert(doc.to_owned(), upto);
        assemble(doc, snapshot, raw).map(Some)
    }

    /// Logs the changes of `doc` not logged yet (by hash: a retried push, or
    /// one another node stored after this transaction loaded the document,
    /// is skipped) at the next positions, under the log's advisory lock;
    /// each with its two times (`change_times`: its own timestamp, and this
    /// node's clock now); with an author set, each gets its audit row too
    /// (a skipped change was audited when it was logged).
    fn append(&mut self, doc: &str, changes: &[Change], updated: AutoCommit) -> Result<(), PgError> {
        if changes.is_empty() {
            return Ok(());
        }
        let id = doc.to_owned();
        let mut seen = HashSet::new();
        let rows: Vec<Row> = changes
            .iter()
            .filter(|c| seen.insert(c.hash()))
            .map(|c| Row {
                hash: c.hash(),
                actor: c.actor_id().to_bytes().to_vec(),
                bytes: c.raw_bytes().to_vec(),
                // Read only when audited: the message is JSON to parse.
                op: if self.author.is_some() { operation(c.message()) } else { String::new() },
                made_at: c.timestamp(),
            })
            .collect();
        let (lock, author) = (self.lock_first(), self.author);
        let logged = self.call(|c| async move {
            take_lock(&c, lock).await?;
            let hashes: Vec<&[u8]> = rows.iter().map(|r| r.hash.0.as_slice()).collect();
            let known = c.prepare_cached("SELECT hash FROM log_hashes WHERE doc_id = $1 AND hash = ANY($2)").await?;
            let known: HashSet<Vec<u8>> = c.query(&known, &[&id, &hashes]).await?.iter().map(|r| r.get(0)).collect();
            let fresh: Vec<&Row> = rows.iter().filter(|r| !known.contains(r.hash.0.as_slice())).collect();
            if fresh.is_empty() {
                return Ok(None);
            }
            let create = c.prepare_cached("INSERT INTO documents (id) VALUES ($1) ON CONFLICT (id) DO NOTHING").await?;
            c.execute(&create, &[&id]).await?;
            let before = c.prepare_cached("SELECT last_seq FROM documents WHERE id = $1").await?;
            let before: i64 = c.query_one(&before, &[&id]).await?.get(0);
            let last: i64 = c.query_one("SELECT last_position FROM log_state WHERE id = 1", &[]).await?.get(0);
            let seqs: Vec<i64> = (1..=fresh.len() as i64).map(|i| last + i).collect();
            let head = last + fresh.len() as i64;
            let actors: Vec<&[u8]> = fresh.iter().map(|r| r.actor.as_slice()).collect();
            let bytes: Vec<&[u8]> = fresh.iter().map(|r| r.bytes.as_slice()).collect();
            let hashes: Vec<&[u8]> = fresh.iter().map(|r| r.hash.0.as_slice()).collect();
            let insert = c
                .prepare_cached(
                    "INSERT INTO changes (seq, doc_id, actor, bytes)
                     SELECT s, $2, a, b FROM unnest($1::bigint[], $3::bytea[], $4::bytea[]) AS t(s, a, b)",
                )
                .await?;
            c.execute(&insert, &[&seqs, &id, &actors, &bytes]).await?;
            let hash = c
                .prepare_cached(
                    "INSERT INTO log_hashes (seq, doc_id, hash)
                     SELECT s, $2, h FROM unnest($1::bigint[], $3::bytea[]) AS t(s, h)",
                )
                .await?;
            c.execute(&hash, &[&seqs, &id, &hashes]).await?;
            // One row per actor (its newest change here): an upsert may not touch a row twice.
            let newest: HashMap<&[u8], i64> = actors.iter().copied().zip(seqs.iter().copied()).collect();
            let (newest_actors, newest_seqs): (Vec<&[u8]>, Vec<i64>) = newest.into_iter().unzip();
            let upsert = c
                .prepare_cached(
                    "INSERT INTO actor_newest (actor, seq, doc_id)
                     SELECT a, s, $3 FROM unnest($1::bytea[], $2::bigint[]) AS t(a, s)
                     ON CONFLICT (actor) DO UPDATE SET seq = excluded.seq, doc_id = excluded.doc_id
                     WHERE excluded.seq > actor_newest.seq",
                )
                .await?;
            c.execute(&upsert, &[&newest_actors, &newest_seqs, &id]).await?;
            let total: i64 = bytes.iter().map(|b| b.len() as i64).sum();
            let update = c
                .prepare_cached(
                    "UPDATE documents SET last_seq = $2, change_count = change_count + $3, bytes = bytes + $4
                     WHERE id = $1",
                )
                .await?;
            c.execute(&update, &[&id, &head, &(fresh.len() as i64), &total]).await?;
            let moved = c.prepare_cached("UPDATE log_state SET head = $1, last_position = $1 WHERE id = 1").await?;
            c.execute(&moved, &[&head]).await?;
            // Delivered to every node's head watcher at COMMIT, not before (`watch.rs`).
            let notify = c.prepare_cached("SELECT pg_notify($1, $2::bigint::text)").await?;
            c.execute(&notify, &[&HEAD_CHANNEL, &head]).await?;
            let made: Vec<i64> = fresh.iter().map(|r| r.made_at).collect();
            let times = c
                .prepare_cached(
                    "INSERT INTO change_times (seq, made_at, received_at)
                     SELECT s, m, $3 FROM unnest($1::bigint[], $2::bigint[]) AS t(s, m)",
                )
                .await?;
            let received_at = now_millis();
            c.execute(&times, &[&seqs, &made, &received_at]).await?;
            if let Some(author) = author {
                let ops: Vec<&str> = fresh.iter().map(|r| r.op.as_str()).collect();
                let audit = c
                    .prepare_cached(
                        "INSERT INTO audit (at, user_id, device_id, doc_id, seq, change, op)
                         SELECT $1, $2, $3, $4, s, h, o FROM unnest($5::bigint[], $6::bytea[], $7::text[]) AS t(s, h, o)",
                    )
                    .await?;
                c.execute(&audit, &[&received_at, &author.user_id, &author.device_id, &id, &seqs, &hashes, &ops])
                    .await?;
            }
            let appended: Vec<Appended> = fresh
                .iter()
                .zip(&seqs)
                .map(|(r, seq)| Appended { seq: *seq, hash: r.hash, made_at: r.made_at, received_at })
                .collect();
            Ok(Some((before, appended)))
        })?;
        match logged {
            Some((before, appended)) if doc != SETTINGS_DOC_ID => self.write_indexes(doc, before, updated, &appended),
            _ => Ok(()),
        }
    }

    /// As of position `upto`: a document logged in `(after, upto]` that
    /// moved past `upto` since (another node committed to it after the
    /// caller read the head, which a READ COMMITTED transaction sees) is
    /// listed with its newest position at or below `upto`, so that a reader
    /// paging up to the head it read never skips its earlier changes.
    fn changed(&mut self, after: u64, upto: u64, limit: usize) -> Result<Vec<(String, DocMeta)>, PgError> {
        let (after, upto, limit) = (stored(after), stored(upto), i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self.call(|c| async move {
            let list = c
                .prepare_cached(
                    "(SELECT id, last_seq, snapshot_seq, pruned_seq FROM documents
                      WHERE last_seq > $1 AND last_seq <= $2 ORDER BY last_seq LIMIT $3)
                     UNION ALL
                     (SELECT id, as_of, snapshot_seq, pruned_seq FROM (
                        SELECT d.id, d.snapshot_seq, d.pruned_seq,
                               (SELECT max(c.seq) FROM changes c WHERE c.doc_id = d.id AND c.seq <= $2) AS as_of
                        FROM documents d WHERE d.last_seq > $2) moved
                      WHERE as_of > $1)
                     ORDER BY 2 LIMIT $3",
                )
                .await?;
            Ok(c.query(&list, &[&after, &upto, &limit]).await?)
        })?;
        rows.iter()
            .map(|r| {
                let meta = DocMeta {
                    last_seq: position(r.get(1))?,
                    snapshot_seq: position(r.get(2))?,
                    pruned_seq: position(r.get(3))?,
                };
                Ok((r.get(0), meta))
            })
            .collect()
    }

    fn snapshot(&mut self, doc: &str) -> Result<Option<Vec<u8>>, PgError> {
        let id = doc.to_owned();
        self.call(|c| async move {
            let get = c.prepare_cached("SELECT snapshot FROM documents WHERE id = $1").await?;
            Ok(c.query_opt(&get, &[&id]).await?.and_then(|r| r.get(0)))
        })
    }

    fn changes_after(&mut self, doc: &str, after: u64) -> Result<Vec<LoggedChange>, PgError> {
        let (id, after) = (doc.to_owned(), stored(after));
        let rows = self.call(|c| async move {
            let get = c
                .prepare_cached("SELECT seq, actor, bytes FROM changes WHERE doc_id = $1 AND seq > $2 ORDER BY seq")
                .await?;
            Ok(c.query(&get, &[&id, &after]).await?)
        })?;
        rows.iter().map(|r| Ok(LoggedChange { seq: position(r.get(0))?, actor: r.get(1), bytes: r.get(2) })).collect()
    }

    fn identity(&mut self) -> Result<LogIdentity, PgError> {
        let (server, epoch): (Vec<u8>, i64) = self.call(|c| async move {
            let row = c.query_one("SELECT server, epoch FROM log_state WHERE id = 1", &[]).await?;
            Ok((row.get(0), row.get(1)))
        })?;
        identity(server, epoch)
    }

    fn fingerprint(&mut self, seq: u64) -> Result<Option<Fingerprint>, PgError> {
        let seq = stored(seq);
        let hash: Option<Vec<u8>> = self.call(|c| async move {
            let get = c.prepare_cached("SELECT hash FROM log_hashes WHERE seq = $1").await?;
            Ok(c.query_opt(&get, &[&seq]).await?.map(|r| r.get(0)))
        })?;
        hash.map(|h| <[u8; 32]>::try_from(h.as_slice()).map(|h| fingerprint_of(&h)))
            .transpose()
            .map_err(|_| PgError::Invalid { what: "change hash" })
    }

    /// Moves the last given position up to `seen`, under the log's lock.
    fn skip_past(&mut self, seen: u64) -> Result<bool, PgError> {
        let (seen, lock) = (stored(seen), self.lock_first());
        self.call(|c| async move {
            take_lock(&c, lock).await?;
            let moved = c
                .execute("UPDATE log_state SET last_position = $1 WHERE id = 1 AND last_position < $1", &[&seen])
                .await?;
            Ok(moved > 0)
        })
    }

    /// The new epoch is the time now in milliseconds since the Unix epoch, or
    /// one past the current one if that is later (as the SQLite backend does).
    /// Under the log's lock, which every writer of `log_state` takes first.
    fn start_epoch(&mut self) -> Result<LogIdentity, PgError> {
        let lock = self.lock_first();
        let (server, epoch): (Vec<u8>, i64) = self.call(|c| async move {
            take_lock(&c, lock).await?;
            let row = c
                .query_one(
                    "UPDATE log_state
                     SET epoch = greatest(epoch + 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                     WHERE id = 1 RETURNING server, epoch",
                    &[],
                )
                .await?;
            Ok((row.get(0), row.get(1)))
        })?;
        identity(server, epoch)
    }

    fn newest_by_actor(&mut self, actor: &[u8]) -> Result<Option<ActorNewest>, PgError> {
        let actor = actor.to_vec();
        let row: Option<(i64, String, Vec<u8>)> = self.call(|c| async move {
            let get = c
                .prepare_cached(
                    "SELECT a.seq, a.doc_id, h.hash FROM actor_newest a JOIN log_hashes h ON h.seq = a.seq
                     WHERE a.actor = $1",
                )
                .await?;
            Ok(c.query_opt(&get, &[&actor]).await?.map(|r| (r.get(0), r.get(1), r.get(2))))
        })?;
        let Some((seq, doc, hash)) = row else { return Ok(None) };
        let hash = <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| PgError::Invalid { what: "change hash" })?;
        Ok(Some(ActorNewest { seq: position(seq)?, doc, hash }))
    }
}

/// A stored document: its snapshot (if any) with the change rows after it
/// applied. Bytes that do not load are [`PgError::Corrupt`].
pub(crate) fn assemble(doc: &str, snapshot: Option<Vec<u8>>, changes: Vec<Vec<u8>>) -> Result<AutoCommit, PgError> {
    let corrupt = |reason: String| PgError::Corrupt { doc: doc.to_owned(), reason };
    let mut loaded = match snapshot {
        Some(bytes) => AutoCommit::load(&bytes).map_err(|e| corrupt(e.to_string()))?,
        None => AutoCommit::new(),
    };
    let changes = changes
        .into_iter()
        .map(Change::from_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.to_string()))?;
    loaded.apply_changes(changes).map_err(|e| corrupt(e.to_string()))?;
    Ok(loaded)
}

fn identity(server: Vec<u8>, epoch: i64) -> Result<LogIdentity, PgError> {
    let server = <[u8; 16]>::try_from(server.as_slice()).map_err(|_| PgError::Invalid { what: "server id" })?;
    Ok(LogIdentity { server, epoch: u64::try_from(epoch).map_err(|_| PgError::Invalid { what: "epoch" })? })
}

//! The server side of the protocol, independent of HTTP and of storage.
//!
//! [`handle`] turns one [`SyncRequest`] into one [`SyncResponse`] against a
//! [`ServerStore`]. The store decides durability: the caller commits the
//! store's transaction before sending the response, so an acknowledgement
//! always means "on disk". Everything pushed is validated before anything of
//! that document is stored.

use std::collections::{HashMap, HashSet};

use automerge::{AutoCommit, Change, ChangeHash, ReadDoc};

use super::protocol::{
    Ack, AckStatus, Announced, DocData, Fingerprint, HealResponse, LogMark, SyncRequest, SyncResponse,
};
use crate::doc::{AccountDoc, load_verified};
use crate::rules::{Principal, changed_fields};
use crate::settings::SETTINGS_DOC_ID;

/// Where a document stands in the server's change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocMeta {
    /// Log position of the newest change (or snapshot) of the document.
    pub last_seq: u64,
    /// Log position up to which changes are folded into the snapshot (0: no snapshot).
    pub snapshot_seq: u64,
    /// Change rows at or below this position were deleted (they live on only in
    /// the snapshot); rows above it are all kept. Never above `snapshot_seq`.
    pub pruned_seq: u64,
}

/// One logged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub seq: u64,
    pub actor: Vec<u8>,
    pub bytes: Vec<u8>,
}

/// Which log a store holds: its database's identity and epoch (protocol version 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogIdentity {
    /// A random UUID created with the database.
    pub server: [u8; 16],
    /// A new value after every restore (and whenever a device proves the
    /// log it saw is gone).
    pub epoch: u64,
}

/// The newest change a store logged from one actor id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorNewest {
    /// Its log position.
    pub seq: u64,
    /// The document it belongs to.
    pub doc: String,
    /// Its hash.
    pub hash: [u8; 32],
}

/// Storage the protocol needs from a server. Implementations: the server's
/// SQLite store, and [`super::MemoryStore`] for tests.
pub trait ServerStore {
    /// Also carries an [`AccessError`]: the request then fails as a whole.
    type Error: std::error::Error + Send + Sync + 'static + From<AccessError>;

    /// The newest log position.
    fn head(&mut self) -> Result<u64, Self::Error>;
    /// The document with every stored change, or `None` if unknown. The store
    /// may hand over its only cached copy (no clone): give it back with
    /// [`ServerStore::append`] or [`ServerStore::release`].
    fn load(&mut self, doc: &str) -> Result<Option<AutoCommit>, Self::Error>;
    /// Appends new changes of `doc` to the log (creating the document if
    /// needed). `updated` is the document with the changes applied, for caching.
    fn append(&mut self, doc: &str, changes: &[Change], updated: AutoCommit) -> Result<(), Self::Error>;
    /// Returns a document obtained from `load`, unchanged.
    fn release(&mut self, _doc: &str, _unchanged: AutoCommit) {}
    /// Documents whose `last_seq` is in `(after, upto]`, by `last_seq`, at most `limit`.
    /// `upto` is at most a head the caller read: a store whose reads do not
    /// share one snapshot (PostgreSQL, READ COMMITTED) may see a document
    /// move past it since, and then lists it with its `last_seq` as of `upto`.
    fn changed(&mut self, after: u64, upto: u64, limit: usize) -> Result<Vec<(String, DocMeta)>, Self::Error>;
    /// The document's snapshot bytes, if it has one.
    fn snapshot(&mut self, doc: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Logged changes of `doc` with `seq > after`, oldest first.
    fn changes_after(&mut self, doc: &str, after: u64) -> Result<Vec<LoggedChange>, Self::Error>;
    /// The database's identity and current epoch (all zero for a store without one).
    fn identity(&mut self) -> Result<LogIdentity, Self::Error> {
        Ok(LogIdentity::default())
    }
    /// The fingerprint of the change logged at `seq` ([`super::protocol::fingerprint_of`]
    /// its hash), if the store knows it.
    fn fingerprint(&mut self, _seq: u64) -> Result<Option<Fingerprint>, Self::Error> {
        Ok(None)
    }
    /// A device saw this log up to position `seen`, beyond the head: changes
    /// stored from now on get positions above `seen`, so that no device takes
    /// a new change for one it already has. Returns whether positions moved.
    fn skip_past(&mut self, _seen: u64) -> Result<bool, Self::Error> {
        Ok(false)
    }
    /// Starts a new epoch (the log is not the one devices saw); returns it.
    fn start_epoch(&mut self) -> Result<LogIdentity, Self::Error> {
        self.identity()
    }
    /// The newest change logged from `actor` (`None`: none, or the store
    /// does not keep track; then a replica restored from a device backup is
    /// not detected).
    fn newest_by_actor(&mut self, _actor: &[u8]) -> Result<Option<ActorNewest>, Self::Error> {
        Ok(None)
    }
}

/// The access rules could not be evaluated: what they read failed (the
/// server's database). Not a refusal: [`handle`] fails the whole request
/// with it, nothing of the request is acknowledged, and the client retries.
#[derive(Debug, thiserror::Error)]
#[error("the access rules could not be evaluated: {0}")]
pub struct AccessError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl AccessError {
    pub fn new(source: impl std::error::Error + Send + Sync + 'static) -> AccessError {
        AccessError(Box::new(source))
    }
}

/// A write judgement: `Err(reason)` refuses the push.
pub type Verdict = Result<(), String>;

/// Decides what a requester may read and write. Access rules live in the
/// server. `Err(AccessError)` from any method fails the request (it is never
/// taken as "no").
pub trait Access {
    fn may_read(&self, doc: &str) -> Result<bool, AccessError>;
    /// Whether the requester's device already holds `doc` (was sent it, or
    /// pushed it). A readable document it does not hold is sent whole; an
    /// unreadable one it holds is listed in `removed`.
    fn holds(&self, _doc: &str) -> Result<bool, AccessError> {
        Ok(true)
    }
    /// The [`Verdict`] on a push. `before` is the heads of the stored
    /// document (`None`: a new document; `after.fork_at(before)` or
    /// `after.diff(before, …)` shows the old state), `after` the document with
    /// the pushed changes applied.
    fn check_write(
        &self,
        doc: &str,
        before: Option<&[ChangeHash]>,
        after: &AutoCommit,
        changes: &[Change],
    ) -> Result<Verdict, AccessError>;
}

/// Everyone may read and write everything (single-user setups, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAccess;

impl Access for OpenAccess {
    fn may_read(&self, _doc: &str) -> Result<bool, AccessError> {
        Ok(true)
    }
    fn check_write(
        &self,
        _: &str,
        _: Option<&[ChangeHash]>,
        _: &AutoCommit,
        _: &[Change],
    ) -> Result<Verdict, AccessError> {
        Ok(Ok(()))
    }
}

/// One principal's rules judged as the server judges them (ADR 0010): a
/// settings change by its role, each account change on the state it was
/// based on. Without a scope index every document may be read: for a
/// [`MemoryStore`](super::MemoryStore) in single-user tools and tests.
#[derive(Debug, Clone)]
pub struct PrincipalAccess(pub Principal);

impl Access for PrincipalAccess {
    fn may_read(&self, _doc: &str) -> Result<bool, AccessError> {
        Ok(true)
    }
    fn check_write(
        &self,
        doc: &str,
        _: Option<&[ChangeHash]>,
        after: &AutoCommit,
        changes: &[Change],
    ) -> Result<Verdict, AccessError> {
        let refused = |r: &dyn std::fmt::Display| format!("document {doc}: {r}");
        if doc == SETTINGS_DOC_ID {
            return Ok(self.0.check_settings_change().map_err(|r| refused(&r)));
        }
        // Diffing needs a mutable document: copied only if a rule asks for it.
        let mut copy: Option<AutoCommit> = None;
        for change in changes {
            let judged = self.0.check_account_change(after, change, &mut |b, a| {
                changed_fields(copy.get_or_insert_with(|| after.clone()), b, a)
            });
            if let Err(r) = judged {
                return Ok(Err(refused(&r)));
            }
        }
        Ok(Ok(()))
    }
}

/// What the server did, for metrics and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandleStats {
    pub docs_stored: usize,
    pub changes_stored: usize,
    pub docs_rejected: usize,
    pub docs_sent: usize,
    pub bytes_sent: usize,
    /// The requester saw a log this store no longer has, up to this position
    /// (the store was restored): it was told to heal, or (version 1) sent everything.
    pub diverged_at: Option<u64>,
    /// The epoch this request started, if it did.
    pub new_epoch: Option<u64>,
    /// The requester's replica lacks this device's own change logged at this
    /// position (it was restored from a device backup): it was told so, and
    /// nothing of its request was stored.
    pub replica_behind: Option<u64>,
}

/// How the log a requester saw compares with the store's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// The same log (or nothing to compare).
    Same,
    /// A log this store no longer has, up to this position.
    Gone(u64),
}

/// How many `changed` rows to fetch at a time while filling a response.
const LIST_BATCH: usize = 512;

/// Answers one request: stores the pushed documents, then lists what the
/// requester lacks, up to its byte budget.
pub fn handle<S: ServerStore>(
    store: &mut S,
    access: &dyn Access,
    req: &SyncRequest,
) -> Result<(SyncResponse, HandleStats), S::Error> {
    let mut stats = HandleStats::default();
    // Before anything is stored: a restored log must first move its
    // positions past those the requester saw.
    let head = store.head()?;
    let seen = compare_logs(store, req, head, &mut stats)?;
    if seen == Seen::Same
        && let Some(lost) = replica_behind(store, req)?
    {
        // Its pushes were made at sequence numbers the server already holds
        // from its later changes: none is stored; it rebuilds them.
        stats.replica_behind = Some(lost);
        let v2 = HealResponse { log: mark(store, head)?, heal: false, lacking: Vec::new(), restored: true };
        let response = SyncResponse {
            acks: Vec::new(),
            pull: Vec::new(),
            base: req.base,
            after: req.after,
            more: false,
            removed: Vec::new(),
            v2: Some(v2),
        };
        return Ok((response, stats));
    }
    let acks = push_all(store, access, &req.push, &mut stats)?;
    let head = store.head()?;
    if let (Seen::Gone(at), Some(_)) = (seen, &req.v2) {
        // The device re-pulls from 0 and announces what it holds next.
        stats.diverged_at = Some(at);
        let v2 = HealResponse { log: mark(store, head)?, heal: true, lacking: Vec::new(), restored: false };
        let response = SyncResponse {
            acks,
            pull: Vec::new(),
            base: req.base,
            after: req.after,
            more: false,
            removed: Vec::new(),
            v2: Some(v2),
        };
        return Ok((response, stats));
    }
    // A version-1 device that saw more than this log holds is answered as
    // if it held nothing, in one response: it keeps its own (higher) base
    // whatever the response says, so it could not page through the log.
    let (base, budget) = match seen {
        Seen::Gone(at) => {
            stats.diverged_at = Some(at);
            (0, u64::MAX)
        }
        Seen::Same => (req.base, req.max_pull_bytes),
    };
    let lacking = match &req.v2 {
        Some(ext) => lacking(store, &ext.announce)?,
        None => Vec::new(),
    };
    let mut pull = Vec::new();
    let mut removed = Vec::new();
    let mut bytes = 0usize;
    let mut after = if seen == Seen::Same { req.after } else { 0 };
    let mut more = false;
    'fill: loop {
        let batch = store.changed(after, head, LIST_BATCH)?;
        if batch.is_empty() {
            break;
        }
        for (doc, meta) in batch {
            if bytes as u64 >= budget && !pull.is_empty() {
                more = true;
                break 'fill;
            }
            after = meta.last_seq;
            let held = access.holds(&doc)?;
            if !access.may_read(&doc)? {
                if held {
                    removed.push(doc);
                }
                continue;
            }
            let base = if held { base } else { 0 };
            if let Some(data) = payload(store, &doc, meta, base, &req.actor)? {
                bytes += data.snapshot.as_ref().map_or(0, Vec::len) + data.changes.iter().map(Vec::len).sum::<usize>();
                pull.push(data);
            }
        }
    }
    if !more {
        after = head.max(req.after);
    }
    stats.docs_sent = pull.len();
    stats.bytes_sent = bytes;
    let v2 = match &req.v2 {
        Some(_) => Some(HealResponse { log: mark(store, head)?, heal: false, lacking, restored: false }),
        None => None,
    };
    Ok((SyncResponse { acks, pull, base: req.base, after, more, removed, v2 }, stats))
}

/// Whether the requester saw a log this store no longer has: another
/// database or epoch, a position past the head, or another change at the
/// position it saw last (a restore from a copy, then new changes). When the
/// requester proves that this epoch's log lost changes, a new epoch starts;
/// positions it saw are never given to new changes.
fn compare_logs<S: ServerStore>(
    store: &mut S,
    req: &SyncRequest,
    head: u64,
    stats: &mut HandleStats,
) -> Result<Seen, S::Error> {
    // Positions the requester saw are never given to new changes. A new
    // epoch starts when the requester proves that this epoch's log lost
    // changes: its mark is of this epoch, or (no mark) positions had to move.
    let mut restart = |store: &mut S, seen: u64, this_epoch: Option<bool>| -> Result<Seen, S::Error> {
        let moved = store.skip_past(seen)?;
        if this_epoch.unwrap_or(moved) {
            stats.new_epoch = Some(store.start_epoch()?.epoch);
        }
        Ok(Seen::Gone(seen))
    };
    let Some(seen) = req.v2.as_ref().and_then(|ext| ext.seen) else {
        // A version-1 device, or one that never had a version-2 answer: only
        // its position tells.
        let position = req.after.max(req.base);
        return if req.base > head { restart(store, position, None) } else { Ok(Seen::Same) };
    };
    let id = store.identity()?;
    if seen.server != id.server {
        return Ok(Seen::Gone(seen.head));
    }
    let this_epoch = seen.epoch == id.epoch;
    if seen.head > head || req.base > head {
        return restart(store, seen.head.max(req.after), Some(this_epoch));
    }
    let ours = if seen.head == 0 { Some([0; 8]) } else { store.fingerprint(seen.head)? };
    if ours.is_some_and(|f| f != seen.fingerprint) {
        return restart(store, seen.head, Some(this_epoch));
    }
    Ok(if this_epoch { Seen::Same } else { Seen::Gone(seen.head) })
}

/// Whether a version-2 requester's replica is older than what this store
/// holds from it (restored from a device backup): the newest change logged
/// from its actor id is past the log it says it saw, and it does not push
/// that change either (it would, still holding it unacknowledged, after a
/// lost response). Returns that change's position. Version-1 requests are
/// never judged (0.1.0 devices keep their behaviour).
fn replica_behind<S: ServerStore>(store: &mut S, req: &SyncRequest) -> Result<Option<u64>, S::Error> {
    let Some(ext) = &req.v2 else { return Ok(None) };
    let Some(newest) = store.newest_by_actor(&req.actor)? else { return Ok(None) };
    // The mark is taken at a response's head, which covers everything the
    // device pushed before it; without one, its position is all there is.
    let seen = ext.seen.map_or(req.after.max(req.base), |m| m.head);
    if newest.seq <= seen {
        return Ok(None);
    }
    let hash = ChangeHash(newest.hash);
    let pushed = req.push.iter().filter(|d| d.doc == newest.doc).any(|data| {
        let in_changes = data.parse_changes().is_ok_and(|cs| cs.iter().any(|c| c.hash() == hash));
        in_changes
            || data.snapshot.as_ref().is_some_and(|s| {
                crate::untrusted::contain("a pushed snapshot", || {
                    Ok(load_verified(s).ok().is_some_and(|d| d.get_change_by_hash(&hash).is_some()))
                })
                .unwrap_or(false)
            })
    });
    Ok((!pushed).then_some(newest.seq))
}

/// The store's log as of `head`, for a version-2 response.
fn mark<S: ServerStore>(store: &mut S, head: u64) -> Result<LogMark, S::Error> {
    let id = store.identity()?;
    let fingerprint = if head == 0 { [0; 8] } else { store.fingerprint(head)?.unwrap_or([0; 8]) };
    Ok(LogMark { server: id.server, epoch: id.epoch, head, fingerprint })
}

/// Announced documents of which the store lacks a head: the device pushes them whole.
fn lacking<S: ServerStore>(store: &mut S, announced: &[Announced]) -> Result<Vec<String>, S::Error> {
    let mut out = Vec::new();
    for a in announced {
        let has_all = match store.load(&a.doc)? {
            Some(doc) => {
                let all = a.heads.iter().all(|h| doc.get_change_by_hash(&ChangeHash(*h)).is_some());
                store.release(&a.doc, doc);
                all
            }
            None => false,
        };
        if !has_all {
            out.push(a.doc.clone());
        }
    }
    Ok(out)
}

/// What the requester lacks of one document: the change rows after its base
/// (without its own), or the snapshot and the rows after it when the rows
/// are not valid (some after the base were pruned) or are more than twice
/// the snapshot's size.
fn payload<S: ServerStore>(
    store: &mut S,
    doc: &str,
    meta: DocMeta,
    base: u64,
    actor: &[u8],
) -> Result<Option<DocData>, S::Error> {
    let rows_valid = meta.pruned_seq <= base;
    let has_snapshot = meta.snapshot_seq > 0;
    if base == 0 && has_snapshot {
        // A device that holds nothing gets the compacted snapshot, without
        // reading every logged change only to find it larger.
        return Ok(Some(snapshot_payload(store, doc, meta)?));
    }
    if rows_valid {
        let changes: Vec<Vec<u8>> =
            store.changes_after(doc, base)?.into_iter().filter(|c| c.actor != actor).map(|c| c.bytes).collect();
        if !has_snapshot || base >= meta.snapshot_seq {
            return Ok((!changes.is_empty()).then(|| DocData { doc: doc.to_owned(), snapshot: None, changes }));
        }
        if changes.is_empty() {
            return Ok(None);
        }
        let rows_bytes: usize = changes.iter().map(Vec::len).sum();
        let snapshot = snapshot_payload(store, doc, meta)?;
        let snapshot_bytes =
            snapshot.snapshot.as_ref().map_or(0, Vec::len) + snapshot.changes.iter().map(Vec::len).sum::<usize>();
        // Applying change rows costs the device far less than loading and
        // merging a snapshot: the snapshot is sent only when it saves half
        // the bytes or more.
        return Ok(Some(if snapshot_bytes.saturating_mul(2) <= rows_bytes {
            snapshot
        } else {
            DocData { doc: doc.to_owned(), snapshot: None, changes }
        }));
    }
    Ok(Some(snapshot_payload(store, doc, meta)?))
}

/// The snapshot and every change row after it.
fn snapshot_payload<S: ServerStore>(store: &mut S, doc: &str, meta: DocMeta) -> Result<DocData, S::Error> {
    let snapshot = store.snapshot(doc)?;
    // Nothing was logged after the snapshot folded the document: no rows to read.
    let changes =
        if meta.last_seq > meta.snapshot_seq { store.changes_after(doc, meta.snapshot_seq)? } else { Vec::new() };
    Ok(DocData { doc: doc.to_owned(), snapshot, changes: changes.into_iter().map(|c| c.bytes).collect() })
}

/// Stores the pushed documents, acknowledging each in the request's order.
/// Loading, the write checks and storing run in order on the calling thread
/// (they use the store); decoding, applying and validating the changes (most
/// of the work of a large push) run on one worker per core. A document named
/// more than once is handled in rounds, each seeing what the one before stored.
fn push_all<S: ServerStore>(
    store: &mut S,
    access: &dyn Access,
    push: &[DocData],
    stats: &mut HandleStats,
) -> Result<Vec<Ack>, S::Error> {
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut named: HashMap<&str, usize> = HashMap::new();
    for (i, data) in push.iter().enumerate() {
        let round = named.entry(data.doc.as_str()).or_default();
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(i);
        *round += 1;
    }
    // Every document is in exactly one round, and every round finishes or
    // fails the request: the placeholder never reaches a client.
    let mut statuses = vec![AckStatus::Rejected("not handled".into()); push.len()];
    for round in rounds {
        for batch in round.chunks(crate::parallel::BATCH_DOCS) {
            let mut loaded = Vec::with_capacity(batch.len());
            for &i in batch {
                loaded.push((i, store.load(&push[i].doc)?));
            }
            crate::parallel::in_order(
                loaded,
                |(i, existing)| Ok::<_, S::Error>((i, absorb_push(&push[i], existing))),
                |(i, absorbed)| {
                    let status = finish_push(store, access, &push[i].doc, absorbed, stats)?;
                    if matches!(status, AckStatus::Rejected(_)) {
                        stats.docs_rejected += 1;
                    }
                    statuses[i] = status;
                    Ok(())
                },
            )?;
        }
    }
    Ok(push.iter().zip(statuses).map(|(data, status)| Ack { doc: data.doc.clone(), status }).collect())
}

/// One pushed document after its changes were applied to the stored copy.
enum Absorbed {
    /// Refused before anything was applied: the stored copy, unchanged, goes back to the store.
    Untouched { stored: Option<AutoCommit>, status: AckStatus },
    /// Refused after applying: the working copy is dropped, never handed back.
    Dropped(AckStatus),
    /// New changes applied and validated, for the write checks and the store.
    Applied { before: Option<Vec<ChangeHash>>, fresh: Vec<Change>, after: AutoCommit },
}

/// Decodes what was pushed of one document and applies it to `existing`
/// (the stored copy, `None` for a new document). No storage access.
fn absorb_push(data: &DocData, mut existing: Option<AutoCommit>) -> Absorbed {
    let mut incoming: Vec<Change> = match data.parse_changes() {
        Ok(c) => c,
        Err(e) => return Absorbed::Untouched { stored: existing, status: AckStatus::Rejected(e.to_string()) },
    };
    if let Some(snapshot) = &data.snapshot {
        match load_verified(snapshot) {
            Ok(mut doc) => incoming.extend(doc.get_changes(&[])),
            Err(e) => {
                let status = AckStatus::Rejected(format!("document {}: {e}", data.doc));
                return Absorbed::Untouched { stored: existing, status };
            }
        }
    }
    let before: Option<Vec<ChangeHash>> = existing.as_mut().map(|d| d.get_heads());
    let mut working = existing.unwrap_or_default();
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let fresh: Vec<Change> = incoming
        .into_iter()
        .filter(|c| seen.insert(c.hash()) && working.get_change_by_hash(&c.hash()).is_none())
        .collect();
    if fresh.is_empty() {
        let stored = before.is_some().then_some(working);
        return Absorbed::Untouched { stored, status: AckStatus::Stored };
    }
    // From here on `working` may hold refused changes: on any refusal it is
    // dropped, never handed back to the store. It is moved into the boundary,
    // so a panic in the document engine drops it too.
    let applied = crate::untrusted::contain("pushed changes", || {
        if working.apply_changes(fresh.iter().cloned()).is_err() {
            return Ok(Err(AckStatus::Rejected(format!("document {}: changes cannot be applied", data.doc))));
        }
        if !working.get_missing_deps(&[]).is_empty() {
            return Ok(Err(AckStatus::NeedSnapshot));
        }
        Ok(validate_doc(&data.doc, working).map_err(AckStatus::Rejected))
    });
    match applied {
        Ok(Ok(after)) => Absorbed::Applied { before, fresh, after },
        Ok(Err(status)) => Absorbed::Dropped(status),
        Err(e) => Absorbed::Dropped(AckStatus::Rejected(format!("document {}: {e}", data.doc))),
    }
}

/// Checks the requester may make the applied changes and stores them.
fn finish_push<S: ServerStore>(
    store: &mut S,
    access: &dyn Access,
    doc: &str,
    absorbed: Absorbed,
    stats: &mut HandleStats,
) -> Result<AckStatus, S::Error> {
    match absorbed {
        Absorbed::Untouched { stored, status } => {
            if let Some(stored) = stored {
                store.release(doc, stored);
            }
            Ok(status)
        }
        Absorbed::Dropped(status) => Ok(status),
        Absorbed::Applied { before, fresh, after } => {
            if let Err(reason) = access.check_write(doc, before.as_deref(), &after, &fresh)? {
                return Ok(AckStatus::Rejected(reason));
            }
            store.append(doc, &fresh, after)?;
            stats.docs_stored += 1;
            stats.changes_stored += fresh.len();
            Ok(AckStatus::Stored)
        }
    }
}

/// The document must be a Rapport document with the id it is pushed under.
fn validate_doc(id: &str, doc: AutoCommit) -> Result<AutoCommit, String> {
    if id == SETTINGS_DOC_ID {
        let kind = crate::doc::access::string(&doc, &automerge::ROOT, "type");
        return if kind.as_deref() == Some("settings") {
            Ok(doc)
        } else {
            Err("document settings is not a Rapport settings document".into())
        };
    }
    let account = AccountDoc::from_automerge(doc).map_err(|e| format!("document {id}: {e}"))?;
    if account.id().to_string() != id {
        return Err(format!("document {id}: its content belongs to account {}", account.id()));
    }
    Ok(account.into_automerge())
}

/// Whether an Automerge document has every dependency of every change.
pub fn is_complete(doc: &AutoCommit) -> bool {
    doc.get_missing_deps(&[]).is_empty()
}

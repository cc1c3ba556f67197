//! The client side of the sync protocol, over the replica's storage.
//!
//! Sans-IO: [`Replica::sync_request`] builds the next request and a
//! [`PushPlan`]; whoever carries bytes (HTTP, WebSocket, an in-process test
//! pipe) delivers it and hands the response to [`Replica::sync_apply`], which
//! applies everything in one transaction. A response that fails validation
//! changes nothing, so an interrupted or refused exchange is simply retried.

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{OptionalExtension, Transaction, params};
use time::OffsetDateTime;

use super::refused::{self, SetAside};
use super::{
    Replica, encode_changes, holds, index, keep_loaded, load_settings, loaded, stored_pending, take_loaded,
    write_encoded, write_tx,
};
use crate::doc::{AccountDoc, access, load_verified};
use crate::error::{Error, Result};
use crate::parallel::{BATCH_DOCS, in_order};
use crate::settings::SETTINGS_DOC_ID;
use crate::sync::{AckStatus, Announced, DocData, HealRequest, HealResponse, LogMark, SyncRequest, SyncResponse};

/// Most documents announced in one request while healing a restored server.
const ANNOUNCE_PAGE: usize = 1000;

/// Byte budgets for one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// Stop adding documents to a request past this many bytes.
    pub max_push_bytes: usize,
    /// Ask the server to stop adding documents to its response past this many bytes.
    pub max_pull_bytes: u64,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits { max_push_bytes: 4 << 20, max_pull_bytes: 4 << 20 }
    }
}

/// What a request pushed, to be matched with the server's acknowledgements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushPlan {
    entries: Vec<Planned>,
    /// Documents announced in the request (healing a restored server).
    announced: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    doc: String,
    heads: Vec<ChangeHash>,
    version: i64,
    changes: usize,
    bytes: usize,
}

impl PushPlan {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What one exchange did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents the server acknowledged as stored, with their changes and bytes
    /// (a whole-document push counts its bytes and no separate changes).
    pub pushed_docs: usize,
    pub pushed_changes: usize,
    pub pushed_bytes: usize,
    pub pulled_docs: usize,
    pub pulled_bytes: usize,
    /// Documents the server refused, with its reason. Local edits are kept.
    pub rejected: Vec<(String, String)>,
    /// Whether the server has more to send (call again).
    pub more: bool,
    /// Documents that left this device's scope and were removed from the replica.
    pub removed: Vec<String>,
    /// Documents that left this device's scope but are kept because they hold
    /// edits the server has not acknowledged (they are never dropped).
    pub kept_unsynced: Vec<String>,
    /// The server was restored and lacks what this device saw: the device
    /// pulls everything again and announces what it holds (see `announced`).
    pub heal_started: bool,
    /// Documents announced to a restored server in this exchange, and how
    /// many of them it lacked (they are pushed whole next).
    pub announced: usize,
    pub lacking: usize,
    /// This replica was restored from a device backup and lacked changes the
    /// server holds from it: its unacknowledged edits were set aside, it
    /// writes under a fresh actor id and pulls everything again (ADR 0013).
    pub replica_restored: bool,
    /// Edits made on the restored replica (or kept unsent in its backup)
    /// that the server lacked, rebuilt under the fresh actor id once the
    /// pull was complete; they are pushed next.
    pub rebuilt_after_restore: usize,
}

pub(super) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub(super) fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes.chunks_exact(32).filter_map(|c| ChangeHash::try_from(c).ok()).collect()
}

impl Replica {
    /// The next request: everything the server has not acknowledged (up to
    /// `limits.max_push_bytes`), and where to pull from.
    pub fn sync_request(&mut self, limits: SyncLimits) -> Result<(SyncRequest, PushPlan)> {
        // One consistent view of the file, as of the last write of any handle.
        let tx = write_tx!(self);
        let (base, after) = self.sync_position()?;
        let dirty: Vec<(String, Vec<u8>, i64, bool)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT doc_id, synced_heads, local_version, need_snapshot FROM doc_sync
                 WHERE local_version > acked_version AND rejected IS NULL ORDER BY doc_id",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut push = Vec::new();
        let mut plan = PushPlan::default();
        let mut bytes = 0usize;
        for (doc, synced, version, need_snapshot) in dirty {
            if bytes >= limits.max_push_bytes && !push.is_empty() {
                break;
            }
            let synced = decode_heads(&synced);
            let (heads, data) = self.with_any(&doc, |am| {
                let heads = am.get_heads();
                let data = if need_snapshot || synced.is_empty() {
                    DocData { doc: doc.clone(), snapshot: Some(super::stored::whole(am)?), changes: Vec::new() }
                } else {
                    DocData {
                        doc: doc.clone(),
                        snapshot: None,
                        changes: am.get_changes(&synced).into_iter().map(|c| c.raw_bytes().to_vec()).collect(),
                    }
                };
                Ok::<_, Error>((heads, data))
            })??;
            if data.snapshot.is_none() && data.changes.is_empty() {
                // Nothing new after all (e.g. the edit was pulled back): acknowledge locally.
                self.conn
                    .prepare_cached("UPDATE doc_sync SET acked_version = ?2 WHERE doc_id = ?1")?
                    .execute(params![doc, version])?;
                continue;
            }
            let size = data.snapshot.as_ref().map_or(0, Vec::len) + data.changes.iter().map(Vec::len).sum::<usize>();
            bytes += size;
            plan.entries.push(Planned { doc, heads, version, changes: data.changes.len(), bytes: size });
            push.push(data);
        }
        let v2 = self.heal_request(&mut plan)?;
        let request = SyncRequest {
            base,
            after,
            actor: self.author.actor.to_bytes().to_vec(),
            push,
            max_pull_bytes: limits.max_pull_bytes,
            v2: Some(v2),
        };
        tx.commit()?;
        Ok((request, plan))
    }

    /// The version-2 part of the next request: the server log last seen, and
    /// while healing a restored server, the next page of documents to announce.
    fn heal_request(&self, plan: &mut PushPlan) -> Result<HealRequest> {
        let pending: Vec<String> = self
            .conn
            .prepare_cached("SELECT doc_id FROM heal_announce ORDER BY doc_id LIMIT ?1")?
            .query_map([ANNOUNCE_PAGE as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut announce = Vec::with_capacity(pending.len());
        for doc in pending {
            match self.with_any(&doc, |am| am.get_heads()) {
                Ok(heads) => announce.push(Announced { doc: doc.clone(), heads: heads.iter().map(|h| h.0).collect() }),
                // Gone meanwhile (left this device's scope): nothing to announce.
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
            plan.announced.push(doc);
        }
        let healing = !plan.announced.is_empty()
            || self
                .conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM doc_sync WHERE need_snapshot != 0
                         AND local_version > acked_version AND rejected IS NULL)",
                )?
                .query_row([], |r| r.get(0))?;
        Ok(HealRequest { seen: self.log_mark()?, healing, announce })
    }

    /// The server log as of the last version-2 response applied, if any.
    pub fn log_mark(&self) -> Result<Option<LogMark>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT value FROM sync_log WHERE key = 'mark'")?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(bytes.and_then(|b| postcard::from_bytes(&b).ok()))
    }

    /// Documents still to announce to a restored server.
    pub fn heal_pending(&self) -> Result<usize> {
        Ok(self.conn.prepare_cached("SELECT count(*) FROM heal_announce")?.query_row([], |r| r.get::<_, i64>(0))?
            as usize)
    }

    /// The pull-only request that continues past `response` (when the server
    /// said it has more), built before `response` is applied: a transport can
    /// fetch the next page while this one is applied. Pushes wait for the next
    /// [`Replica::sync_request`]; apply responses in the order they were asked for.
    pub fn next_pull(&self, response: &SyncResponse, limits: SyncLimits) -> Option<SyncRequest> {
        response.more.then(|| SyncRequest {
            base: response.base,
            after: response.after.max(response.base),
            actor: self.author.actor.to_bytes().to_vec(),
            push: Vec::new(),
            max_pull_bytes: limits.max_pull_bytes,
            // A version-1 server gets a version-1 request.
            v2: response.v2.as_ref().map(|ext| HealRequest { seen: Some(ext.log), ..HealRequest::default() }),
        })
    }

    /// Applies the server's response in one transaction: acknowledgements,
    /// pulled documents, and the new pull position.
    pub fn sync_apply(&mut self, plan: &PushPlan, response: &SyncResponse) -> Result<SyncReport> {
        let mut report = SyncReport { more: response.more, ..SyncReport::default() };
        // Pulled changes are merged into the documents as the file holds them,
        // with whatever other handles committed since the request was built.
        let tx = write_tx!(self);
        let (base, _) = self.sync_position()?;
        if response.base != base {
            return Err(Error::SyncPositionMoved);
        }
        // Documents changed by this response, kept loaded once it committed.
        let mut changed = Vec::new();
        // A fresh actor id, taken when refused edits were set aside.
        let mut new_actor: Option<ActorId> = None;
        let mut rebuilt = false;
        for ack in &response.acks {
            let Some(p) = plan.entries.iter().find(|p| p.doc == ack.doc) else { continue };
            match &ack.status {
                AckStatus::Stored => {
                    tx.prepare_cached(
                        "UPDATE doc_sync SET synced_heads = ?2, acked_version = max(acked_version, ?3), need_snapshot = 0
                         WHERE doc_id = ?1",
                    )?
                    .execute(params![p.doc, encode_heads(&p.heads), p.version])?;
                    report.pushed_docs += 1;
                    report.pushed_changes += p.changes;
                    report.pushed_bytes += p.bytes;
                }
                AckStatus::NeedSnapshot => {
                    tx.prepare_cached("UPDATE doc_sync SET need_snapshot = 1 WHERE doc_id = ?1")?.execute([&p.doc])?;
                }
                AckStatus::Rejected(reason) => {
                    // Refused edits are set aside and the others rebuilt (ADR 0010).
                    let fresh = new_actor.get_or_insert_with(ActorId::random);
                    let set_aside = if p.doc == SETTINGS_DOC_ID {
                        SetAside::NotRebuilt
                    } else {
                        let principal = self.principal.as_ref();
                        refused::set_aside(&tx, &self.loaded, &self.author.actor, fresh, principal, &p.doc, reason)?
                    };
                    match set_aside {
                        SetAside::Rebuilt => rebuilt = true,
                        SetAside::NotRebuilt => {
                            tx.prepare_cached("UPDATE doc_sync SET rejected = ?2 WHERE doc_id = ?1")?
                                .execute(params![p.doc, reason])?;
                        }
                    }
                    report.rejected.push((p.doc.clone(), reason.clone()));
                }
            }
        }
        let mut settings_changed = false;
        let mut fresh = Vec::new();
        let mut named: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for data in &response.pull {
            *named.entry(data.doc.as_str()).or_default() += 1;
        }
        let mut held = Vec::new();
        for data in &response.pull {
            report.pulled_docs += 1;
            report.pulled_bytes +=
                data.snapshot.as_ref().map_or(0, Vec::len) + data.changes.iter().map(Vec::len).sum::<usize>();
            if data.doc == SETTINGS_DOC_ID {
                apply_settings(&tx, data)?;
                settings_changed = true;
            } else if named[data.doc.as_str()] > 1 {
                // Named more than once: applied in order, one after the other.
                changed.extend(apply_held(&tx, &self.loaded, &[data], &self.author.actor)?);
            } else if holds(&tx, &data.doc)? {
                held.push(data);
            } else {
                fresh.push(data);
            }
        }
        changed.extend(apply_held(&tx, &self.loaded, &held, &self.author.actor)?);
        store_new_accounts(&tx, &fresh, &self.author.actor)?;
        if let Some(ext) = &response.v2 {
            note_announced(&tx, plan, ext, &mut report)?;
        }
        for doc in &response.removed {
            if let Ok(id) = doc.parse() {
                // Forgotten whether or not it is removed: the transaction may still fail.
                loaded(&self.loaded).forget(id);
            }
            if remove_if_clean(&tx, doc)? {
                report.removed.push(doc.clone());
            } else {
                report.kept_unsynced.push(doc.clone());
            }
        }
        let after = response.after.max(base);
        let mut new_base = if response.more { base } else { after };
        let mut after = after;
        let heal = response.v2.as_ref().is_some_and(|ext| ext.heal);
        if heal {
            start_heal(&tx, &mut report)?;
            (new_base, after) = (0, 0);
        }
        let restored = response.v2.as_ref().is_some_and(|ext| ext.restored);
        if restored {
            // Restored from a device backup (ADR 0013): local edits aside,
            // a fresh actor id, and everything pulled again.
            super::restored::set_aside(&tx, &self.author.actor)?;
            new_actor.get_or_insert_with(ActorId::random);
            rebuilt = true;
            report.replica_restored = true;
            report.more = true;
            (new_base, after) = (0, 0);
        } else if !response.more && !heal && super::restored::pending(&tx)? {
            // The pull is complete: what the server lacks is rebuilt and pushed next.
            report.rebuilt_after_restore = super::restored::rebuild(&tx, &self.author.actor)?;
            loaded(&self.loaded).clear();
            changed.clear();
            report.more = true;
        }
        for (key, value) in [("base", new_base), ("after", after)] {
            tx.prepare_cached(
                "INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            )?
            .execute(params![key, value as i64])?;
        }
        let rotated = match new_actor.filter(|_| rebuilt) {
            Some(actor) => {
                refused::rotate_actor(&tx, &self.author.actor, &actor)?;
                Some(actor)
            }
            None => None,
        };
        if let Some(ext) = &response.v2 {
            put_mark(&tx, &ext.log)?;
        }
        tx.commit()?;
        if let Some(actor) = rotated {
            // Every loaded document writes with the old actor id: load them again.
            self.author.actor = actor;
            loaded(&self.loaded).clear();
            changed.clear();
        }
        for doc in changed {
            keep_loaded(&self.loaded, doc);
        }
        if settings_changed {
            self.settings = load_settings(&self.conn)?.read();
        }
        Ok(report)
    }

    /// `(base, after)`: the server log position this replica has everything up
    /// to, and how far an interrupted pull got.
    pub fn sync_position(&self) -> Result<(u64, u64)> {
        let get = |key: &str| -> Result<u64> {
            Ok(self
                .conn
                .prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
                .query_row([key], |r| r.get::<_, i64>(0))
                .optional()?
                .unwrap_or(0)
                .max(0) as u64)
        };
        let base = get("base")?;
        Ok((base, get("after")?.max(base)))
    }

    /// How many documents have changes the server has not acknowledged.
    pub fn unsynced_count(&self) -> Result<usize> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM doc_sync WHERE local_version > acked_version AND rejected IS NULL")?
            .query_row([], |r| r.get::<_, i64>(0))? as usize)
    }

    /// Documents whose latest local edits the server refused, with the reason.
    /// The edits are kept; editing the document again retries the push.
    pub fn rejected_documents(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc_id, rejected FROM doc_sync WHERE rejected IS NOT NULL ORDER BY doc_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs `f` on the settings document or an account's loaded document, which it must only read.
    pub(super) fn with_any<T>(&self, doc: &str, f: impl FnOnce(&mut AutoCommit) -> T) -> Result<T> {
        if doc == SETTINGS_DOC_ID {
            return Ok(f(load_settings(&self.conn)?.automerge_mut()));
        }
        self.with_document(doc.parse()?, |account| Ok(f(account.automerge_mut())))
    }
}

/// Announced documents are done; those the server lacks are pushed whole
/// next (as if edited: their acknowledged version is set below the local one).
fn note_announced(tx: &Transaction<'_>, plan: &PushPlan, ext: &HealResponse, report: &mut SyncReport) -> Result<()> {
    let mut done = tx.prepare_cached("DELETE FROM heal_announce WHERE doc_id = ?1")?;
    for doc in &plan.announced {
        done.execute([doc])?;
    }
    report.announced = plan.announced.len();
    let mut lacking = tx.prepare_cached(
        "UPDATE doc_sync SET need_snapshot = 1, acked_version = min(acked_version, local_version - 1) WHERE doc_id = ?1",
    )?;
    let announced: std::collections::HashSet<&str> = plan.announced.iter().map(String::as_str).collect();
    for doc in ext.lacking.iter().filter(|d| announced.contains(d.as_str())) {
        report.lacking += lacking.execute([doc])?;
    }
    let pending: bool =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM heal_announce)")?.query_row([], |r| r.get(0))?;
    report.more |= pending;
    Ok(())
}

/// The server does not have the log this device saw (it was restored): the
/// acknowledgements stand (they are on the restored server); everything is
/// pulled again from position 0 and every document held is announced.
fn start_heal(tx: &Transaction<'_>, report: &mut SyncReport) -> Result<()> {
    tx.execute("DELETE FROM heal_announce", [])?;
    tx.execute("INSERT INTO heal_announce (doc_id) SELECT id FROM documents", [])?;
    report.heal_started = true;
    report.more = true;
    Ok(())
}

/// Remembers the server's log as of a version-2 response.
fn put_mark(tx: &Transaction<'_>, mark: &LogMark) -> Result<()> {
    let bytes = postcard::to_allocvec(mark)
        .map_err(|e| Error::Protocol(crate::sync::ProtocolError::Malformed(e.to_string())))?;
    tx.prepare_cached("INSERT OR REPLACE INTO sync_log (key, value) VALUES ('mark', ?1)")?.execute([bytes])?;
    Ok(())
}

/// Builds what the server sent into `target` (validated), refusing incomplete histories.
/// Runs inside the engine's panic boundary: on `Err` the caller drops `target`.
fn absorb(target: &mut AutoCommit, data: &DocData) -> Result<()> {
    crate::untrusted::contain("pulled changes", || {
        if let Some(snapshot) = &data.snapshot {
            let mut snap = load_verified(snapshot)?;
            target.merge(&mut snap)?;
        }
        let changes = data.parse_changes()?;
        target.apply_changes(changes)?;
        if !target.get_missing_deps(&[]).is_empty() {
            return Err(Error::IncompleteSync { doc: data.doc.clone() });
        }
        Ok(())
    })
}

/// A held account with what the server sent of it, and how many change
/// chunks its stored copy has.
struct HeldJob<'a> {
    data: &'a DocData,
    doc: AccountDoc,
    pending: i64,
}

/// An account with the server's changes applied, and what storing them writes.
struct Absorbed {
    doc: AccountDoc,
    encoded: Option<super::Encoded>,
    heads: Vec<ChangeHash>,
}

/// Applies what the server sent of accounts this replica holds (one not yet
/// stored, named a second time in the response, is stored whole). Taking each
/// document (from the loaded set or the file) and writing runs on this thread;
/// applying the changes, encoding the document and its index row (the bulk of
/// the work) runs on the workers.
/// Returns the newest changed documents (as many as stay loaded), to keep
/// loaded once the transaction committed.
fn apply_held(
    tx: &Transaction<'_>,
    loaded_docs: &std::sync::Mutex<super::loaded::Loaded>,
    held: &[&DocData],
    actor: &automerge::ActorId,
) -> Result<Vec<AccountDoc>> {
    let mut changed = std::collections::VecDeque::new();
    for batch in held.chunks(BATCH_DOCS) {
        let mut jobs = Vec::with_capacity(batch.len());
        for data in batch {
            match take_loaded(loaded_docs, tx, data.doc.parse()?, actor) {
                Ok(doc) => jobs.push(HeldJob { data, doc, pending: stored_pending(tx, &data.doc)? }),
                Err(Error::NotFound { .. }) => store_new(tx, prepare_new(data, actor)?)?,
                Err(e) => return Err(e),
            }
        }
        in_order(
            jobs,
            |HeldJob { data, mut doc, pending }| {
                // The document is moved into the boundary: on a panic it is dropped.
                crate::untrusted::contain("pulled changes", move || {
                    let before = doc.heads();
                    absorb(doc.automerge_mut(), data)?;
                    let heads = doc.heads();
                    let encoded =
                        if heads != before { Some(encode_changes(&mut doc, &before, pending)?) } else { None };
                    Ok(Absorbed { doc, encoded, heads })
                })
            },
            |Absorbed { doc, encoded, heads }| {
                let id = doc.id().to_string();
                if let Some(encoded) = encoded {
                    write_encoded(tx, encoded, false)?;
                }
                settle_if_clean(tx, &id, &heads)?;
                // Only the newest ones would stay loaded anyway.
                if changed.len() == super::loaded::LOADED_DOCS {
                    changed.pop_front();
                }
                changed.push_back(doc);
                Ok(())
            },
        )?;
    }
    Ok(changed.into())
}

/// An account received whole, decoded, validated and indexed, ready to store.
struct NewAccountDoc {
    doc: String,
    bytes: Vec<u8>,
    row: index::Row,
    heads: Vec<ChangeHash>,
}

/// Decodes and indexes an account this replica does not hold. Pure CPU, no
/// storage: runs on worker threads for large pulls.
fn prepare_new(data: &DocData, actor: &automerge::ActorId) -> Result<NewAccountDoc> {
    crate::untrusted::contain("a pulled account", || prepare_new_inside(data, actor))
}

fn prepare_new_inside(data: &DocData, actor: &automerge::ActorId) -> Result<NewAccountDoc> {
    let id: crate::model::AccountId = data.doc.parse()?;
    // Load the snapshot directly (no merge into an empty document) and, when
    // nothing follows it, store its bytes as they came.
    let (am, stored) = match &data.snapshot {
        Some(snapshot) => {
            let mut am = load_verified(snapshot)?;
            am.apply_changes(data.parse_changes()?)?;
            if !am.get_missing_deps(&[]).is_empty() {
                return Err(Error::IncompleteSync { doc: data.doc.clone() });
            }
            let stored = data.changes.is_empty().then(|| snapshot.clone());
            (am, stored)
        }
        None => {
            let mut am = AutoCommit::new();
            absorb(&mut am, data)?;
            (am, None)
        }
    };
    let mut doc = AccountDoc::from_automerge(am.with_actor(actor.clone()))?;
    if doc.id() != id {
        return Err(Error::InvalidDocument(format!("server sent account {} under id {id}", doc.id())));
    }
    let bytes = match stored {
        Some(bytes) => bytes,
        None => super::stored::whole(doc.automerge_mut())?,
    };
    Ok(NewAccountDoc { doc: data.doc.clone(), bytes, row: index::row(&mut doc), heads: doc.heads() })
}

fn store_new(tx: &Transaction<'_>, new: NewAccountDoc) -> Result<()> {
    tx.prepare_cached("INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, ?3)")?
        .execute(params![new.doc, new.bytes, access::millis(OffsetDateTime::now_utc())])?;
    index::write(tx, &new.row)?;
    tx.prepare_cached("INSERT OR REPLACE INTO doc_sync (doc_id, synced_heads) VALUES (?1, ?2)")?
        .execute(params![new.doc, encode_heads(&new.heads)])?;
    Ok(())
}

/// Stores accounts received whole. Decoding and indexing (the bulk of a
/// first pull) run on the workers while this thread writes SQLite.
fn store_new_accounts(tx: &Transaction<'_>, fresh: &[&DocData], actor: &automerge::ActorId) -> Result<()> {
    in_order(fresh.to_vec(), |data| prepare_new(data, actor), |prepared| store_new(tx, prepared))
}

fn apply_settings(tx: &Transaction<'_>, data: &DocData) -> Result<()> {
    let mut settings = load_settings(tx)?;
    let am = settings.automerge_mut();
    absorb(am, data)?;
    if access::string(am, &automerge::ROOT, "type").as_deref() != Some("settings") {
        return Err(Error::InvalidDocument("server sent a settings document of another type".into()));
    }
    let heads = am.get_heads();
    tx.execute(
        "UPDATE documents SET snapshot = ?2, pending = 0 WHERE id = ?1",
        params![SETTINGS_DOC_ID, super::stored::whole(am)?],
    )?;
    tx.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [SETTINGS_DOC_ID])?;
    settle_if_clean(tx, SETTINGS_DOC_ID, &heads)
}

/// Removes a document that left this device's scope, unless it holds edits the
/// server has not acknowledged (pending, rejected, or refused and set aside):
/// those are never dropped.
fn remove_if_clean(tx: &Transaction<'_>, doc: &str) -> Result<bool> {
    let dirty: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM doc_sync WHERE doc_id = ?1
                 AND (local_version > acked_version OR rejected IS NOT NULL))
             OR EXISTS (SELECT 1 FROM refused_edits WHERE doc_id = ?1)",
        )?
        .query_row([doc], |r| r.get(0))?;
    if dirty {
        return Ok(false);
    }
    if doc != SETTINGS_DOC_ID {
        index::remove(tx, doc)?;
        tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?.execute([doc])?;
        tx.prepare_cached("DELETE FROM documents WHERE id = ?1")?.execute([doc])?;
        tx.prepare_cached("DELETE FROM doc_sync WHERE doc_id = ?1")?.execute([doc])?;
    }
    Ok(true)
}

/// A document with no unacknowledged local edits is now known to the server at `heads`.
fn settle_if_clean(tx: &Transaction<'_>, doc: &str, heads: &[ChangeHash]) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO doc_sync (doc_id, synced_heads) VALUES (?1, ?2)
         ON CONFLICT (doc_id) DO UPDATE SET synced_heads = ?2 WHERE local_version <= acked_version",
    )?
    .execute(params![doc, encode_heads(heads)])?;
    Ok(())
}

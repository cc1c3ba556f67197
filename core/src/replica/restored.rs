//! A replica restored from an old device backup (ADR 0013).
//!
//! The server said it holds changes of this device's actor id that the
//! replica no longer has (`HealResponse::restored`). The replica's own later
//! changes are on the server but filtered out of pulls by actor id, and any
//! edit made since the restore took a sequence number the server already
//! holds for another change. So, in the transaction that applies that
//! response:
//!
//! 1. every document's unacknowledged local changes are set aside
//!    (`restore_rebuild`: the document as it was and their hashes), and the
//!    document goes back to the state the server is known to hold (removed,
//!    if the server may hold none of it);
//! 2. the replica retires its actor id for a fresh one, and pulls again from
//!    position 0: the old actor's changes now come back like anyone's.
//!
//! When that pull is complete, [`rebuild`] replays each set-aside change the
//! server does not hold (not in the document as pulled) as a new change under
//! the fresh actor id, as refused-edit rebuilding does (ADR 0010): nothing
//! the server already has is applied twice, and nothing made on the restored
//! replica is lost. A change whose effect cannot be replayed is kept as a
//! refused edit with [`CANNOT_REPLAY`] as its reason (listed; retry or discard).

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ReadDoc};
use rusqlite::{Transaction, params};
use time::OffsetDateTime;

use super::refused::{local_actors, replay_by_path};
use super::sync::{decode_heads, encode_heads};
use super::{Body, Encoded, index, load_account, load_settings, mark_dirty, stored, write_encoded};
use crate::doc::{AccountDoc, access, load_verified};
use crate::error::{Error, Result};
use crate::model::AccountId;
use crate::rules::changed_fields;
use crate::settings::{SETTINGS_DOC_ID, SettingsDoc};

/// Why a set-aside change that could not be replayed is listed as refused.
pub(super) const CANNOT_REPLAY: &str = "this edit was made on a copy of this device's data restored from a backup, \
     and it changes something that is no longer as it was; retry it or discard it";

/// Step 1: sets aside every document's unacknowledged local changes and
/// rolls the documents back to what the server holds. `actor` is the
/// replica's current (old) actor id. Returns how many documents had changes set aside.
pub(super) fn set_aside(tx: &Transaction<'_>, actor: &ActorId) -> Result<usize> {
    let dirty: Vec<(String, Vec<u8>)> = tx
        .prepare(
            "SELECT doc_id, synced_heads FROM doc_sync
             WHERE local_version > acked_version OR rejected IS NOT NULL ORDER BY doc_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mine = local_actors(tx, actor)?;
    let mut count = 0;
    for (doc, synced) in dirty {
        let mut am = load_any(tx, &doc, actor)?;
        let synced = decode_heads(&synced);
        // What the server holds: the acknowledged heads, every change from
        // elsewhere, and whatever those depend on (as in refused.rs).
        let candidates = am.get_changes(&synced);
        let mut held: std::collections::HashSet<ChangeHash> = std::collections::HashSet::new();
        for change in candidates.iter().rev() {
            if held.contains(&change.hash()) || !mine.contains(change.actor_id()) {
                held.insert(change.hash());
                held.extend(change.deps().iter().copied());
            }
        }
        let local: Vec<ChangeHash> = candidates.iter().map(Change::hash).filter(|h| !held.contains(h)).collect();
        if local.is_empty() {
            continue;
        }
        let server: Vec<ChangeHash> = synced.iter().copied().chain(held.iter().copied()).collect();
        let mut known = am.fork_at(&server)?;
        tx.prepare_cached("INSERT OR REPLACE INTO restore_rebuild (doc_id, source, changes) VALUES (?1, ?2, ?3)")?
            .execute(params![doc, stored::whole(&mut am)?, encode_heads(&local)])?;
        let heads = known.get_heads();
        if doc == SETTINGS_DOC_ID {
            // Every replica starts from the same genesis, which the server holds.
            let mut settings = if heads.is_empty() { SettingsDoc::genesis().automerge_mut().clone() } else { known };
            tx.prepare_cached("UPDATE documents SET snapshot = ?2, pending = 0 WHERE id = ?1")?
                .execute(params![doc, stored::whole(&mut settings)?])?;
            tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?.execute([&doc])?;
        } else {
            let id: AccountId = doc.parse()?;
            match AccountDoc::from_automerge(known) {
                Ok(mut account) if account.id() == id => {
                    let encoded = Encoded {
                        id: doc.clone(),
                        body: Body::Snapshot(stored::whole(account.automerge_mut())?),
                        row: index::row(&mut account),
                    };
                    write_encoded(tx, encoded, false)?;
                }
                // The server may hold none of it: it comes back with the pull if it does.
                _ => {
                    index::remove(tx, &doc)?;
                    tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?.execute([&doc])?;
                    tx.prepare_cached("DELETE FROM documents WHERE id = ?1")?.execute([&doc])?;
                }
            }
        }
        tx.prepare_cached(
            "UPDATE doc_sync SET synced_heads = ?2, acked_version = local_version, rejected = NULL, need_snapshot = 0
             WHERE doc_id = ?1",
        )?
        .execute(params![doc, encode_heads(&heads)])?;
        count += 1;
    }
    Ok(count)
}

/// Step 2, once everything was pulled again: replays each set-aside change
/// the document does not hold as a new change under `actor` (the fresh id),
/// and marks those documents for push. Returns how many changes were replayed.
pub(super) fn rebuild(tx: &Transaction<'_>, actor: &ActorId) -> Result<usize> {
    let rows: Vec<(String, Vec<u8>, Vec<u8>)> = tx
        .prepare("SELECT doc_id, source, changes FROM restore_rebuild ORDER BY doc_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut replayed = 0;
    for (doc, source, changes) in rows {
        let mut source = load_verified(&source)?;
        let mut target = match load_any(tx, &doc, actor) {
            Ok(am) => am,
            Err(Error::NotFound { .. }) => AutoCommit::new().with_actor(actor.clone()),
            Err(e) => return Err(e),
        };
        let before = target.get_heads();
        let now = access::millis(OffsetDateTime::now_utc());
        for hash in decode_heads(&changes) {
            if target.get_change_by_hash(&hash).is_some() {
                // The server has it (pushed before the replica was restored).
                continue;
            }
            let Some(change) = source.get_change_by_hash(&hash) else { continue };
            let mut options = CommitOptions::default().with_time(change.timestamp());
            if let Some(m) = change.message() {
                options = options.with_message(m.to_owned());
            }
            if replay_by_path(&mut source, &change, &mut target, options)? {
                replayed += 1;
            } else {
                let fields = changed_fields(&mut source.clone(), change.deps(), &[hash]);
                tx.prepare_cached(
                    "INSERT INTO refused_edits (doc_id, change, source, fields, reason, refused_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    doc,
                    change.raw_bytes(),
                    stored::whole(&mut source)?,
                    serde_json::to_string(&fields).unwrap_or_default(),
                    CANNOT_REPLAY,
                    now,
                ])?;
            }
        }
        if target.get_heads() != before {
            store_rebuilt(tx, &doc, target, before.is_empty())?;
        }
        tx.prepare_cached("DELETE FROM restore_rebuild WHERE doc_id = ?1")?.execute([&doc])?;
    }
    Ok(replayed)
}

/// Whether changes wait to be rebuilt once the pull is complete.
pub(super) fn pending(tx: &Transaction<'_>) -> Result<bool> {
    Ok(tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM restore_rebuild)")?.query_row([], |r| r.get(0))?)
}

/// A stored document (account or settings) as an Automerge document writing as `actor`.
fn load_any(tx: &Transaction<'_>, doc: &str, actor: &ActorId) -> Result<AutoCommit> {
    if doc == SETTINGS_DOC_ID {
        let mut settings = load_settings(tx)?;
        let mut am = settings.automerge_mut().clone();
        am.set_actor(actor.clone());
        return Ok(am);
    }
    Ok(load_account(tx, doc.parse()?, actor)?.into_automerge())
}

/// Stores a rebuilt document and marks it for push. `new`: the replica held
/// none of it (the server did not send it back), so it is inserted.
fn store_rebuilt(tx: &Transaction<'_>, doc: &str, mut am: AutoCommit, new: bool) -> Result<()> {
    if doc == SETTINGS_DOC_ID {
        tx.prepare_cached("UPDATE documents SET snapshot = ?2, pending = 0 WHERE id = ?1")?
            .execute(params![doc, stored::whole(&mut am)?])?;
        tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?.execute([doc])?;
        return mark_dirty(tx, doc);
    }
    let mut account = AccountDoc::from_automerge(am)?;
    if account.id().to_string() != doc {
        return Err(Error::InvalidDocument(format!("a rebuilt account {doc} holds account {}", account.id())));
    }
    let bytes = stored::whole(account.automerge_mut())?;
    if new {
        tx.prepare_cached("INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, ?3)")?
            .execute(params![doc, bytes, access::millis(OffsetDateTime::now_utc())])?;
        index::write(tx, &index::row(&mut account))?;
        // Sent whole: the server holds none of it.
        tx.prepare_cached(
            "INSERT INTO doc_sync (doc_id, synced_heads) VALUES (?1, x'') ON CONFLICT (doc_id) DO UPDATE SET synced_heads = x''",
        )?
        .execute([doc])?;
        return mark_dirty(tx, doc);
    }
    write_encoded(tx, Encoded { id: doc.to_owned(), body: Body::Snapshot(bytes), row: index::row(&mut account) }, true)
}

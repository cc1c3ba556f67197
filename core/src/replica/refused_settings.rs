//! A settings change the server refused (ADR 0010, settings part).
//!
//! The settings document is one document for the whole workspace, and only
//! administrators, managers and the office may change it. When the server
//! refuses a push of it, the document is marked refused: its local changes
//! stay on the device, unsent, and shown as this device's settings. The user
//! then either discards them (the settings go back to what the server holds)
//! or, once given a role that may change the settings, sends them again.

use std::collections::HashSet;

use automerge::{AutoCommit, Change, ChangeHash};
use rusqlite::{OptionalExtension, Transaction, params};

use super::refused::local_actors;
use super::sync::{decode_heads, encode_heads};
use super::{Replica, load_settings, stored};
use crate::error::{Error, RecordKind, Result};
use crate::settings::{SETTINGS_DOC_ID, SettingsDoc};

impl Replica {
    /// Why the server refused this device's settings change, if it did (the
    /// change is kept, unsent, until discarded or sent again).
    pub fn refused_settings(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT rejected FROM doc_sync WHERE doc_id = ?1 AND rejected IS NOT NULL")?
            .query_row([SETTINGS_DOC_ID], |r| r.get(0))
            .optional()?)
    }

    /// Throws away this device's settings changes the server has not taken:
    /// the settings become what the server holds (with everything pulled
    /// since). [`Error::NotFound`] when no settings change was refused.
    pub fn discard_refused_settings(&mut self) -> Result<()> {
        let tx = super::write_tx!(self);
        let synced = refused_row(&tx)?;
        let mut doc = load_settings(&tx)?;
        let locals = local_actors(&tx, &self.author.actor)?;
        let kept = without_unsent(doc.automerge_mut(), &decode_heads(&synced), &locals);
        let mut rebuilt = AutoCommit::new();
        rebuilt.apply_changes(kept)?;
        rebuilt.set_actor(self.author.actor.clone());
        let mut rebuilt = SettingsDoc::from_automerge(rebuilt);
        let heads = rebuilt.automerge_mut().get_heads();
        tx.execute(
            "UPDATE documents SET snapshot = ?2, pending = 0 WHERE id = ?1",
            params![SETTINGS_DOC_ID, stored::whole(rebuilt.automerge_mut())?],
        )?;
        tx.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [SETTINGS_DOC_ID])?;
        // Everything left came from the server: nothing to send.
        tx.execute(
            "UPDATE doc_sync SET rejected = NULL, acked_version = local_version, synced_heads = ?2 WHERE doc_id = ?1",
            params![SETTINGS_DOC_ID, encode_heads(&heads)],
        )?;
        tx.commit()?;
        self.settings = rebuilt.read();
        Ok(())
    }

    /// Sends the refused settings change again at the next sync, after the
    /// user was given a role that may change the settings. Refused at once
    /// ([`Error::NotPermitted`], nothing changed) when this device knows its
    /// user still may not; [`Error::NotFound`] when nothing was refused.
    pub fn retry_refused_settings(&mut self) -> Result<()> {
        let tx = super::write_tx!(self);
        refused_row(&tx)?;
        self.may_change_settings()?;
        tx.execute("UPDATE doc_sync SET rejected = NULL WHERE doc_id = ?1", [SETTINGS_DOC_ID])?;
        tx.commit()?;
        Ok(())
    }
}

/// The heads the server is known to hold of a refused settings document.
fn refused_row(tx: &Transaction<'_>) -> Result<Vec<u8>> {
    tx.prepare_cached("SELECT synced_heads FROM doc_sync WHERE doc_id = ?1 AND rejected IS NOT NULL")?
        .query_row([SETTINGS_DOC_ID], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found(RecordKind::RefusedEdit, SETTINGS_DOC_ID))
}

/// Every change of `doc` except those made on this device (by one of
/// `locals`) that the server does not hold (not behind `synced`), and those
/// built on them; in causal order.
fn without_unsent(doc: &mut AutoCommit, synced: &[ChangeHash], locals: &HashSet<automerge::ActorId>) -> Vec<Change> {
    let mut held: HashSet<ChangeHash> = HashSet::new();
    let mut stack: Vec<ChangeHash> = synced.to_vec();
    while let Some(hash) = stack.pop() {
        if held.insert(hash)
            && let Some(change) = doc.get_change_by_hash(&hash)
        {
            stack.extend(change.deps().iter().copied());
        }
    }
    let mut dropped: HashSet<ChangeHash> = HashSet::new();
    let mut kept = Vec::new();
    for change in doc.get_changes(&[]) {
        let unsent = !held.contains(&change.hash()) && locals.contains(change.actor_id());
        if unsent || change.deps().iter().any(|d| dropped.contains(d)) {
            dropped.insert(change.hash());
        } else {
            kept.push(change.clone());
        }
    }
    kept
}

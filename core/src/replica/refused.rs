//! Refused edits never hold other edits back (ADR 0010).
//!
//! * The device runs the server's rules ([`crate::rules`]) on every edit
//!   before committing it, when it knows its [`Principal`]: most refusals
//!   happen at the moment of the edit, as [`Error::NotPermitted`].
//! * When the server refuses a push anyway (the device did not know its role,
//!   or the rules changed while it was offline), the refused changes are set
//!   aside (`refused_edits`, with the document they were made on) and every
//!   other unacknowledged local change is *rebuilt* on the state the server
//!   holds: its effect (an Automerge diff) is applied again as a new change,
//!   under a fresh actor id, because the old actor's sequence numbers are
//!   taken by the refused change. The rebuilt changes are pushed at the next
//!   sync.
//! * The user lists, discards or retries the refused edits.

use std::collections::HashSet;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, Patch, PatchAction, ReadDoc, Value};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Body, Encoded, Replica, index, load_account, loaded, take_loaded, write_encoded};
use crate::doc::{AccountDoc, access, load_verified};
use crate::error::{Error, RecordKind, Result};
use crate::model::AccountId;
use crate::rules::{Principal, Role, changed_fields};

/// The id of a refused edit on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefusedEditId(pub i64);

impl std::fmt::Display for RefusedEditId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for RefusedEditId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        s.trim()
            .parse()
            .map(RefusedEditId)
            .map_err(|_| Error::invalid("id", "a refused edit's id is a number, as `rapport refused list` shows it"))
    }
}

/// An edit the server refused, kept aside on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedEdit {
    pub id: RefusedEditId,
    pub account: AccountId,
    /// The fields the edit changes (dotted paths such as `party.owner`).
    pub fields: Vec<String>,
    /// Why it was refused (safe to show: names roles and fields, no customer data).
    pub reason: String,
    /// When it was set aside.
    pub refused_at: OffsetDateTime,
}

/// Why a change that builds on a refused one is refused with it.
const DEPENDS: &str = "it changes something a refused edit made";

/// The principal as stored in `meta` (JSON).
#[derive(Serialize, Deserialize)]
struct StoredPrincipal {
    user: String,
    role: String,
    teams: Vec<String>,
    territories: Vec<String>,
}

pub(super) fn read_principal(conn: &rusqlite::Connection) -> Result<Option<Principal>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'principal'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    // A value this build cannot read counts as unknown: the server judges anyway.
    Ok(bytes.and_then(|b| serde_json::from_slice::<StoredPrincipal>(&b).ok()).and_then(|s| {
        Some(Principal {
            user: s.user,
            role: Role::parse(&s.role)?,
            teams: s.teams.into_iter().collect(),
            territories: s.territories.into_iter().collect(),
        })
    }))
}

impl Replica {
    /// Who this device's user is to the rules (role, teams, territories), if
    /// known. When unknown, edits are not pre-checked; the server judges them.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// Records who this device's user is (from the server's directory), or
    /// forgets it (`None`): edits are then no longer pre-checked.
    pub fn set_principal(&mut self, principal: Option<&Principal>) -> Result<()> {
        match principal {
            Some(p) => {
                let stored = StoredPrincipal {
                    user: p.user.clone(),
                    role: p.role.as_str().to_owned(),
                    teams: p.teams.iter().cloned().collect(),
                    territories: p.territories.iter().cloned().collect(),
                };
                let json = serde_json::to_vec(&stored).unwrap_or_default();
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('principal', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = ?1",
                    [json],
                )?;
            }
            None => {
                self.conn.execute("DELETE FROM meta WHERE key = 'principal'", [])?;
            }
        }
        self.principal = principal.cloned();
        Ok(())
    }

    /// Edits the server refused, kept aside on this device, oldest first.
    pub fn refused_edits(&self) -> Result<Vec<RefusedEdit>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT id, doc_id, fields, reason, refused_at FROM refused_edits ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get::<_, i64>(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc, fields, reason, at) = row?;
            out.push(RefusedEdit {
                id: RefusedEditId(id),
                account: doc.parse()?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                reason,
                refused_at: access::from_millis(at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            });
        }
        Ok(out)
    }

    /// Throws a refused edit away for good.
    pub fn discard_refused(&mut self, id: RefusedEditId) -> Result<()> {
        let n = self.conn.execute("DELETE FROM refused_edits WHERE id = ?1", [id.0])?;
        if n == 0 {
            return Err(Error::not_found(RecordKind::RefusedEdit, id));
        }
        Ok(())
    }

    /// Makes a refused edit again, as a new change on the account's current
    /// state (after the office set the owner, or the permission changed). It
    /// is checked like any edit ([`Error::NotPermitted`] keeps it in the
    /// list), stored, and pushed at the next sync; it then leaves the list.
    pub fn retry_refused(&mut self, id: RefusedEditId) -> Result<()> {
        let tx = super::write_tx!(self);
        let row: Option<(String, Vec<u8>, Vec<u8>)> = tx
            .prepare_cached("SELECT doc_id, change, source FROM refused_edits WHERE id = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let (doc_id, change, source) = row.ok_or_else(|| Error::not_found(RecordKind::RefusedEdit, id))?;
        let account: AccountId = doc_id.parse()?;
        let change = Change::from_bytes(change)
            .map_err(|e| Error::InvalidDocument(format!("refused edit {id} is damaged ({e})")))?;
        let mut source = load_verified(&source)?;
        let mut doc = take_loaded(&self.loaded, &tx, account, &self.author.actor)?;
        let before = doc.heads();
        let now = access::millis(OffsetDateTime::now_utc());
        let options = CommitOptions::default().with_time(now);
        let options = match change.message() {
            Some(m) => options.with_message(m.to_owned()),
            None => options,
        };
        if !reapply(&mut source, &change, doc.automerge_mut(), options)? {
            return Err(Error::CannotRetry { id: id.0 });
        }
        self.precheck(&mut doc, &before)?;
        super::store_changes(&tx, &mut doc, &before, true)?;
        tx.execute("DELETE FROM refused_edits WHERE id = ?1", [id.0])?;
        tx.commit()?;
        super::keep_loaded(&self.loaded, doc);
        Ok(())
    }

    /// Runs the rules on the changes made to `doc` since `before`, when this
    /// device knows its principal.
    pub(super) fn precheck(&self, doc: &mut AccountDoc, before: &[ChangeHash]) -> Result<()> {
        let Some(principal) = &self.principal else { return Ok(()) };
        if principal.sees_everything() {
            return Ok(());
        }
        let am = doc.automerge_mut();
        for change in am.get_changes(before) {
            // The fields this change touched, found before judging it (no copy of the document).
            let fields =
                if principal.has_field_rules() { changed_fields(am, change.deps(), &[change.hash()]) } else { vec![] };
            principal
                .check_account_change(am, &change, &mut |_, _| fields.clone())
                .map_err(|r| Error::NotPermitted { field: r.field().map(str::to_owned), reason: r.to_string() })?;
        }
        Ok(())
    }
}

/// What setting refused edits aside did to one document.
pub(super) enum SetAside {
    /// The document was rebuilt without the refused changes (stored, marked
    /// for push if anything is left to send); the caller retires the
    /// replica's actor id for the new one once the transaction commits.
    Rebuilt,
    /// No local change to set aside, or nothing left to build on (the
    /// account's creation is refused): the caller marks the document
    /// rejected, its edits kept, as before ADR 0010.
    NotRebuilt,
}

/// The actor ids this device wrote with: the current one and those before it.
pub(super) fn local_actors(tx: &Transaction<'_>, current: &ActorId) -> Result<HashSet<ActorId>> {
    let mut out: HashSet<ActorId> = HashSet::from([current.clone()]);
    let mut stmt = tx.prepare_cached("SELECT actor FROM past_actors")?;
    for row in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
        out.insert(ActorId::from(row?));
    }
    Ok(out)
}

/// Retires the replica's actor id `old` for `new` (stored in the transaction).
pub(super) fn rotate_actor(tx: &Transaction<'_>, old: &ActorId, new: &ActorId) -> Result<()> {
    tx.execute(
        "INSERT INTO past_actors (actor, retired_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![old.to_bytes(), access::millis(OffsetDateTime::now_utc())],
    )?;
    tx.execute("UPDATE meta SET value = ?1 WHERE key = 'actor'", [new.to_bytes()])?;
    Ok(())
}

/// The server refused the push of account `doc` with `reason`: finds which of
/// this device's unacknowledged changes are refused, keeps them aside, and
/// rebuilds the others on the state the server holds, under `new_actor`.
pub(super) fn set_aside(
    tx: &Transaction<'_>,
    replica_loaded: &std::sync::Mutex<super::loaded::Loaded>,
    actor: &ActorId,
    new_actor: &ActorId,
    principal: Option<&Principal>,
    doc: &str,
    reason: &str,
) -> Result<SetAside> {
    let id: AccountId = doc.parse()?;
    // Read from the file; the loaded copy is dropped (the rebuilt one replaces it).
    loaded(replica_loaded).forget(id);
    let mut original = load_account(tx, id, actor)?;
    let synced: Vec<u8> = tx
        .prepare_cached("SELECT synced_heads FROM doc_sync WHERE doc_id = ?1")?
        .query_row([doc], |r| r.get(0))
        .optional()?
        .unwrap_or_default();
    let synced = super::sync::decode_heads(&synced);
    let mine = local_actors(tx, actor)?;
    let am = original.automerge_mut();

    // What the server holds: the acknowledged heads, every change from
    // elsewhere, and whatever those depend on.
    let candidates = am.get_changes(&synced);
    let mut held: HashSet<ChangeHash> = HashSet::new();
    for change in candidates.iter().rev() {
        if held.contains(&change.hash()) || !mine.contains(change.actor_id()) {
            held.insert(change.hash());
            held.extend(change.deps().iter().copied());
        }
    }
    let local: Vec<&Change> = candidates.iter().filter(|c| !held.contains(&c.hash())).collect();
    if local.is_empty() {
        return Ok(SetAside::NotRebuilt);
    }

    // Which of them the rules refuse: the device's own rules first; if they
    // refuse none (the device does not know its role, or the role changed),
    // the field the server named; if that names none, all of them.
    let server_reason = reason.split_once(": ").map_or(reason, |(_, r)| r).to_owned();
    let mut copy = am.clone();
    let fields: Vec<Vec<String>> = local.iter().map(|c| changed_fields(&mut copy, c.deps(), &[c.hash()])).collect();
    let mut refused: Vec<Option<String>> = vec![None; local.len()];
    if let Some(p) = principal {
        for (i, change) in local.iter().enumerate() {
            if let Err(r) = p.check_account_change(am, change, &mut |b, a| changed_fields(&mut copy, b, a)) {
                refused[i] = Some(r.to_string());
            }
        }
    }
    if refused.iter().all(Option::is_none) {
        let named = server_reason.rsplit_once(" may not change ").map(|(_, f)| f.to_owned());
        // Field rules never judge the change that creates the account (its scope is judged).
        for (i, touched) in fields.iter().enumerate() {
            if !local[i].deps().is_empty() && named.as_ref().is_some_and(|f| touched.contains(f)) {
                refused[i] = Some(server_reason.clone());
            }
        }
    }
    if refused.iter().all(Option::is_none) {
        refused = vec![Some(server_reason.clone()); local.len()];
    }

    // Local changes before the first refused one do not depend on it: they
    // stay as they are (if the server holds some already, say after a lost
    // acknowledgement, it takes them again as duplicates, without effect).
    // Every later local change depends on the refused one, so the server can
    // hold none of them: the permitted ones are rebuilt on the state without
    // it, and nothing is ever applied twice.
    let first = refused.iter().position(Option::is_some).unwrap_or(local.len());
    let server: Vec<ChangeHash> = synced.iter().copied().chain(held.iter().copied()).collect();
    let server_heads = am.fork_at(&server)?.get_heads();
    let base: Vec<ChangeHash> = server.iter().copied().chain(local[..first].iter().map(|c| c.hash())).collect();
    let mut rebuilt = am.fork_at(&base)?.with_actor(new_actor.clone());
    for (i, change) in local.iter().enumerate().skip(first) {
        if refused[i].is_some() {
            continue;
        }
        let mut options = CommitOptions::default().with_time(change.timestamp());
        if let Some(m) = change.message() {
            options = options.with_message(m.to_owned());
        }
        if !reapply(am, change, &mut rebuilt, options)? {
            refused[i] = Some(DEPENDS.to_owned());
        }
    }
    let mut rebuilt = match AccountDoc::from_automerge(rebuilt) {
        Ok(doc) if doc.id() == id => doc,
        // The change that created the account is refused: there is nothing
        // to rebuild on. The document stays as it is, marked rejected.
        _ => return Ok(SetAside::NotRebuilt),
    };
    let source = super::stored::whole(am)?;
    let now = access::millis(OffsetDateTime::now_utc());
    for (i, change) in local.iter().enumerate() {
        let Some(reason) = &refused[i] else { continue };
        tx.prepare_cached(
            "INSERT INTO refused_edits (doc_id, change, source, fields, reason, refused_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            doc,
            change.raw_bytes(),
            &source,
            serde_json::to_string(&fields[i]).unwrap_or_default(),
            reason,
            now,
        ])?;
    }
    let heads = rebuilt.heads();
    write_encoded(
        tx,
        Encoded {
            id: doc.to_owned(),
            body: Body::Snapshot(super::stored::whole(rebuilt.automerge_mut())?),
            row: index::row(&mut rebuilt),
        },
        true,
    )?;
    let clean = heads == server_heads;
    tx.prepare_cached(
        "UPDATE doc_sync SET synced_heads = ?2, rejected = NULL,
             acked_version = CASE WHEN ?3 THEN local_version ELSE acked_version END
         WHERE doc_id = ?1",
    )?
    .execute(params![doc, super::sync::encode_heads(&server_heads), clean])?;
    Ok(SetAside::Rebuilt)
}

/// Applies the effect of `change` (held in `source`) to `target` as one new
/// change. Returns `false`, with `target` unchanged, when the effect cannot
/// be applied there (it changes an object `target` lacks, or a text or list
/// that reads differently from where the change was made, so that its
/// positions would mean something else).
fn reapply(source: &mut AutoCommit, change: &Change, target: &mut AutoCommit, options: CommitOptions) -> Result<bool> {
    replay(source, change, target, options, false)
}

/// [`reapply`] for a replica restored from a device backup (ADR 0013): its
/// old actor id made other objects after the backup, on the server, under
/// the same object ids as the ones `change` made, so objects are always
/// found by their path of keys, and a map or list that `change` put at a key
/// where `target` already has one of the same kind is reused, not replaced
/// (it holds what the server has under it).
pub(super) fn replay_by_path(
    source: &mut AutoCommit,
    change: &Change,
    target: &mut AutoCommit,
    options: CommitOptions,
) -> Result<bool> {
    replay(source, change, target, options, true)
}

fn replay(
    source: &mut AutoCommit,
    change: &Change,
    target: &mut AutoCommit,
    options: CommitOptions,
    by_path: bool,
) -> Result<bool> {
    let deps = change.deps().to_vec();
    let patches = source.diff(&deps, &[change.hash()]);
    let mut checked: HashSet<ObjId> = HashSet::new();
    for patch in &patches {
        let Some(obj) = resolve(patch, target, by_path) else {
            target.rollback();
            return Ok(false);
        };
        let positional = matches!(
            patch.action,
            PatchAction::Insert { .. } | PatchAction::SpliceText { .. } | PatchAction::DeleteSeq { .. }
        );
        // Checked before the change's first patch to the sequence: later ones
        // build on it alike on both sides.
        if positional && checked.insert(patch.obj.clone()) && !same_sequence(source, &deps, &patch.obj, target, &obj) {
            target.rollback();
            return Ok(false);
        }
        if by_path && reuses_object(patch, &obj, target) {
            continue;
        }
        apply_patch(patch, &obj, target)?;
    }
    target.commit_with(options);
    Ok(true)
}

/// The object a patch applies to, in `target`: the same object if `target`
/// has it, else the one found by following the patch's path of keys (map
/// keys are stable: records are keyed by UUIDs).
fn resolve(patch: &Patch, target: &AutoCommit, by_path: bool) -> Option<ObjId> {
    if !by_path && target.object_type(&patch.obj).is_ok() {
        return Some(patch.obj.clone());
    }
    let mut obj = automerge::ROOT;
    for (_, prop) in &patch.path {
        match target.get(&obj, prop.clone()) {
            Ok(Some((Value::Object(_), id))) => obj = id,
            _ => return None,
        }
    }
    Some(obj)
}

/// Whether `patch` puts a map or list at a key where `target` already has
/// an object of the same kind.
fn reuses_object(patch: &Patch, obj: &ObjId, target: &AutoCommit) -> bool {
    let PatchAction::PutMap { key, value: (Value::Object(kind), _), .. } = &patch.action else { return false };
    matches!(target.get(obj, key.as_str()), Ok(Some((Value::Object(found), _))) if found == *kind)
}

fn apply_patch(patch: &Patch, obj: &ObjId, target: &mut AutoCommit) -> Result<()> {
    match &patch.action {
        PatchAction::PutMap { key, value: (value, _), .. } => match value {
            Value::Object(kind) => {
                target.put_object(obj, key.as_str(), *kind)?;
            }
            Value::Scalar(s) => target.put(obj, key.as_str(), s.clone().into_owned())?,
        },
        PatchAction::PutSeq { index, value: (value, _), .. } => match value {
            Value::Object(kind) => {
                target.put_object(obj, *index, *kind)?;
            }
            Value::Scalar(s) => target.put(obj, *index, s.clone().into_owned())?,
        },
        PatchAction::Insert { index, values } => {
            for (i, (value, _, _)) in values.iter().enumerate() {
                match value {
                    Value::Object(kind) => {
                        target.insert_object(obj, index + i, *kind)?;
                    }
                    Value::Scalar(s) => target.insert(obj, index + i, s.clone().into_owned())?,
                }
            }
        }
        PatchAction::SpliceText { index, value, .. } => target.splice_text(obj, *index, 0, &value.make_string())?,
        PatchAction::DeleteSeq { index, length } => {
            if target.object_type(obj) == Ok(ObjType::Text) {
                target.splice_text(obj, *index, *length as isize, "")?;
            } else {
                for _ in 0..*length {
                    target.delete(obj, *index)?;
                }
            }
        }
        PatchAction::Increment { prop, value } => target.increment(obj, prop.clone(), *value)?,
        PatchAction::DeleteMap { key } => target.delete(obj, key.as_str())?,
        // Conflicts are a reading of the state, not an effect; Rapport writes no marks.
        PatchAction::Conflict { .. } | PatchAction::Mark { .. } => {}
    }
    Ok(())
}

/// Whether a text or list reads in `target` as it did in `source` at `deps`
/// (where the change was made). An object the change created itself is new
/// on both sides.
fn same_sequence(source: &AutoCommit, deps: &[ChangeHash], src_obj: &ObjId, target: &AutoCommit, obj: &ObjId) -> bool {
    let Ok(kind) = source.object_type(src_obj) else { return false };
    if kind == ObjType::Text {
        return match source.text_at(src_obj, deps) {
            Ok(before) => target.text(obj).is_ok_and(|now| now == before),
            // Not there at `deps`: created by the change itself.
            Err(_) => true,
        };
    }
    let len = source.length_at(src_obj, deps);
    if len != target.length(obj) {
        return false;
    }
    (0..len).all(|i| {
        let was = source.get_at(src_obj, i, deps).ok().flatten().map(|(v, _)| v);
        let now = target.get(obj, i).ok().flatten().map(|(v, _)| v);
        match (was, now) {
            (Some(Value::Scalar(a)), Some(Value::Scalar(b))) => a == b,
            (Some(Value::Object(a)), Some(Value::Object(b))) => a == b,
            (None, None) => true,
            _ => false,
        }
    })
}

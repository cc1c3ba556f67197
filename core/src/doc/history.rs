//! Who changed what: the account's change history, from the CRDT itself.

use std::collections::BTreeSet;

use automerge::{AutoCommit, ChangeHash, ObjType, PatchAction, Prop, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::access;

/// One change to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The change hash; pass it to `account_at` to see the account right after it.
    pub hash: String,
    pub user: String,
    pub device: String,
    /// Hex Automerge actor id of the device.
    pub actor: String,
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    /// The operation, e.g. `account.set_field`, `deal.stage`.
    pub op: String,
    /// Field paths the change touched (record level for new records).
    pub fields: Vec<String>,
    /// Each field the change touched, with its value before and after.
    pub changes: Vec<FieldChange>,
}

/// One field a change touched, with its value right before the change (at
/// the change's dependencies) and right after it, as text in the form
/// `set_field` accepts. `None` where there was no value (a new field or
/// record) or is none any more (removed). A record (a new deal, contact, …)
/// shows its title, name or subject; a set (tags, roles) its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl HistoryEntry {
    pub fn change_hash(&self) -> Option<ChangeHash> {
        self.hash.parse().ok()
    }
}

pub(super) fn list(doc: &mut AutoCommit) -> Vec<HistoryEntry> {
    let metas: Vec<_> = doc.get_changes_meta(&[]).into_iter().map(|m| m.into_owned()).collect();
    let mut out = Vec::with_capacity(metas.len());
    for meta in metas {
        out.push(entry(doc, meta.hash, &meta.deps, &meta.actor, meta.timestamp, meta.message.as_deref()));
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.hash.cmp(&b.hash)));
    out
}

/// The entries of some changes already in `doc`, in the order given, exactly
/// as [`list`] computes them, without computing the rest of the history
/// (what a server appending a few changes needs). A hash the document does
/// not hold is skipped.
pub(super) fn entries_of(doc: &mut AutoCommit, hashes: &[ChangeHash]) -> Vec<HistoryEntry> {
    let mut out = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let Some(change) = doc.get_change_by_hash(hash) else { continue };
        let (deps, actor, timestamp) = (change.deps().to_vec(), change.actor_id().clone(), change.timestamp());
        let message = change.message().map(str::to_owned);
        out.push(entry(doc, *hash, &deps, &actor, timestamp, message.as_deref()));
    }
    out
}

/// One change's entry: who, when, and each touched field before and after.
fn entry(
    doc: &mut AutoCommit,
    hash: ChangeHash,
    deps: &[ChangeHash],
    actor: &automerge::ActorId,
    timestamp: i64,
    message: Option<&str>,
) -> HistoryEntry {
    let note = super::parse_note(message);
    let fields = touched(doc, deps, hash);
    let mut after = deps.to_vec();
    after.push(hash);
    let changes = fields
        .iter()
        .map(|field| FieldChange {
            field: field.clone(),
            old: value_at(doc, field, deps),
            new: value_at(doc, field, &after),
        })
        .collect();
    HistoryEntry {
        hash: hash.to_string(),
        user: note.user,
        device: note.device,
        actor: actor.to_hex_string(),
        at: access::from_millis(timestamp).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        op: note.op,
        fields,
        changes,
    }
}

/// What a deal adds to the figures managers read, as the document was at
/// some heads: its outcome (`open`, `won`, `lost`), amount, currency and
/// probability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealFigures {
    pub outcome: String,
    pub amount_minor: i64,
    pub currency: String,
    pub probability: i64,
}

impl DealFigures {
    /// The amount if the deal is won, else 0 (minor units).
    pub fn won_minor(&self) -> i64 {
        if self.outcome == "won" { self.amount_minor } else { 0 }
    }

    /// amount × probability / 100 if the deal is open, else 0 (minor units).
    pub fn weighted_minor(&self) -> i64 {
        if self.outcome == "open" { self.amount_minor.saturating_mul(self.probability) / 100 } else { 0 }
    }
}

/// Deal `deal` (its id as in `deals.<id>`) as it was at `heads`; `None` if
/// the deal did not exist then.
pub(super) fn deal_figures_at(doc: &AutoCommit, deal: &str, heads: &[ChangeHash]) -> Option<DealFigures> {
    let object = |parent: &automerge::ObjId, key: &str| match doc.get_at(parent, key, heads).ok().flatten() {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    };
    let deals = object(&automerge::ROOT, "deals")?;
    let o = object(&deals, deal)?;
    let scalar = |key: &str| match doc.get_at(&o, key, heads).ok().flatten() {
        Some((Value::Scalar(v), _)) => Some(v.into_owned()),
        _ => None,
    };
    let int = |key: &str| match scalar(key) {
        Some(automerge::ScalarValue::Int(i)) => i,
        Some(automerge::ScalarValue::Uint(u)) => i64::try_from(u).unwrap_or(i64::MAX),
        _ => 0,
    };
    let text = |key: &str| match scalar(key) {
        Some(automerge::ScalarValue::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    let outcome = match text("outcome") {
        o if o.is_empty() => "open".to_owned(),
        o => o,
    };
    Some(DealFigures {
        outcome,
        amount_minor: int("amount"),
        currency: text("currency"),
        probability: int("probability").clamp(0, 100),
    })
}

/// Field paths changed between a change's dependencies and the change.
fn touched(doc: &mut AutoCommit, deps: &[ChangeHash], hash: ChangeHash) -> Vec<String> {
    let mut after: Vec<ChangeHash> = deps.to_vec();
    after.push(hash);
    let patches = doc.diff(deps, &after);
    let mut fields = BTreeSet::new();
    for p in patches {
        let mut parts: Vec<String> = p
            .path
            .iter()
            .map(|(_, prop)| match prop {
                Prop::Map(k) => k.clone(),
                Prop::Seq(i) => i.to_string(),
            })
            .collect();
        match &p.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => parts.push(key.clone()),
            PatchAction::Increment { prop: Prop::Map(k), .. } | PatchAction::Conflict { prop: Prop::Map(k) } => {
                parts.push(k.clone())
            }
            _ => {}
        }
        // Keep paths at field level: a new record shows as its record path,
        // a set member as the set, a history entry as the history.
        let depth = match parts.first().map(String::as_str) {
            Some("party") => match parts.get(1).map(String::as_str) {
                Some("address" | "demographics" | "buying_habits") => 3,
                _ => 2,
            },
            Some(c) if RECORDS.contains(&c) => 3,
            Some("ladder" | "lifecycle" | "counters" | "merged_from") => 1,
            _ => 1,
        };
        parts.truncate(depth);
        if !parts.is_empty() {
            fields.insert(parts.join("."));
        }
    }
    // A record created by this change is reported once, not field by field.
    let all: Vec<String> = fields.into_iter().collect();
    all.iter()
        .filter(|f| {
            !all.iter().any(|p| f.len() > p.len() && f.starts_with(p.as_str()) && f.as_bytes()[p.len()] == b'.')
        })
        .cloned()
        .collect()
}

/// The collections whose entries are records with an id.
const RECORDS: [&str; 5] = ["contacts", "deals", "interactions", "tasks", "ties"];

/// The value at a dotted field path as the document was at `heads`, as text.
fn value_at(doc: &AutoCommit, path: &str, heads: &[ChangeHash]) -> Option<String> {
    let mut obj = automerge::ROOT;
    let parts: Vec<&str> = path.split('.').collect();
    let (last, parents) = parts.split_last()?;
    for part in parents {
        match doc.get_at(&obj, *part, heads).ok().flatten()? {
            (Value::Object(_), id) => obj = id,
            (Value::Scalar(_), _) => return None,
        }
    }
    let (value, id) = doc.get_at(&obj, *last, heads).ok().flatten()?;
    if let Some(text) = leaf_text(doc, &value, &id, heads) {
        return Some(text);
    }
    match value {
        Value::Object(ObjType::Map)
            if (parents.len() == 1 && RECORDS.contains(&parents[0])) || last.starts_with("line_item:") =>
        {
            // A record (`deals.<id>`, a deal's line item) by its title, name or subject.
            let named = ["title", "name", "subject"].iter().find_map(|k| {
                let (value, field) = doc.get_at(&id, *k, heads).ok().flatten()?;
                leaf_text(doc, &value, &field, heads)
            });
            named.or(Some(String::new()))
        }
        // A set (tags, roles): its members.
        Value::Object(ObjType::Map) => Some(doc.keys_at(&id, heads).collect::<Vec<_>>().join(", ")),
        _ => Some(format!("{} entries", doc.length_at(&id, heads))),
    }
}

/// A scalar or a text as text; `None` for other objects.
fn leaf_text(doc: &AutoCommit, value: &Value<'_>, id: &automerge::ObjId, heads: &[ChangeHash]) -> Option<String> {
    match value {
        Value::Scalar(v) => Some(access::display_scalar(v)),
        Value::Object(ObjType::Text) => doc.text_at(id, heads).ok(),
        Value::Object(_) => None,
    }
}

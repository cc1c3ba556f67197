//! Fields holding concurrent values.
//!
//! Automerge keeps every concurrent write to a map key and picks a
//! deterministic winner; Rapport shows the winner and lists the field as a
//! conflict with every value, who wrote it, on which device and when. Writing
//! the field again (any replica) supersedes all the values it saw, which
//! clears the conflict wherever that change arrives.

use automerge::{AutoCommit, ObjId, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::access::{self, Fields};
use super::lens;

/// One of the concurrent values of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The value as text (the form `set_field` accepts); empty means cleared.
    pub value: String,
    pub user: String,
    pub device: String,
    /// Hex Automerge actor id of the device that wrote it.
    pub actor: String,
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    /// Whether this is the value shown while the conflict stands.
    pub winner: bool,
}

/// A field with concurrent values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The field path, as accepted by `set_field`.
    pub field: String,
    pub values: Vec<ConflictValue>,
}

/// Maps (under the root) whose scalar keys are fields.
const RECORD_COLLECTIONS: &[&str] = &["contacts", "deals", "interactions", "tasks", "ties"];

pub(super) fn list(doc: &mut AutoCommit) -> Vec<Conflict> {
    let found = flagged(doc);
    found.into_iter().filter_map(|(path, o, key)| describe(doc, path, &o, &key)).collect()
}

/// The objects a conflict scan reads that other readers want too, kept as read.
#[derive(Default)]
pub(crate) struct Walked<'a> {
    pub(crate) root: Option<Fields<'a>>,
    pub(crate) party: Option<Fields<'a>>,
    pub(crate) deals: Vec<Fields<'a>>,
    pub(crate) contacts: Vec<Fields<'a>>,
    /// How many fields hold concurrent values.
    pub(crate) conflicts: usize,
}

/// Counts the fields holding concurrent values and keeps the root, party,
/// deal and contact objects it read, so a caller that also needs them (the
/// replica's index row) walks the document once.
pub(crate) fn walk(d: &AutoCommit) -> Walked<'_> {
    let mut found = Vec::new();
    let mut walked = Walked::default();
    visit(d, &mut found, |place, fields| match place {
        Place::Root => walked.root = Some(fields),
        Place::Party => walked.party = Some(fields),
        Place::Record("deals") => walked.deals.push(fields),
        Place::Record("contacts") => walked.contacts.push(fields),
        Place::Record(_) => {}
    });
    walked.conflicts = found.len();
    walked
}

/// Fields with more than one distinct concurrent value: (path, object, key).
fn flagged(d: &AutoCommit) -> Vec<(String, ObjId, String)> {
    let mut found = Vec::new();
    visit(d, &mut found, |_, _| {});
    found
}

/// Where an object sits in an account document.
enum Place<'p> {
    Root,
    Party,
    /// An entry of a record collection (`deals`, `contacts`, …).
    Record(&'p str),
}

/// Reads every object that can hold field conflicts once, collecting the
/// conflicted fields into `found` and handing root, party and record objects to `keep`.
fn visit<'a>(d: &'a AutoCommit, found: &mut Vec<(String, ObjId, String)>, mut keep: impl FnMut(Place<'_>, Fields<'a>)) {
    let root = Fields::of(d, &automerge::ROOT);
    scan(d, &automerge::ROOT, &root, "", found, &["deleted_at", "merged_into"]);
    if let Some(p) = root.obj("party") {
        let party = Fields::of(d, &p);
        scan(d, &p, &party, "party.", found, &[]);
        for sub in ["address", "demographics", "buying_habits"] {
            if let Some(o) = party.obj(sub) {
                scan(d, &o, &Fields::of(d, &o), &format!("party.{sub}."), found, &[]);
            }
        }
        keep(Place::Party, party);
    }
    for coll in RECORD_COLLECTIONS {
        for (id, r) in Fields::child(d, &root, coll).objects() {
            let fields = Fields::of(d, &r);
            if fields.conflicted().next().is_some() {
                let before = found.len();
                scan(d, &r, &fields, &format!("{coll}.{id}."), found, &[]);
                if *coll == "deals" {
                    // Concurrent line-item totals are not a conflict: the
                    // reader sums the merged line items (lens 2).
                    let mut i = before;
                    while i < found.len() {
                        if found[i].2 == "amount" && lens::amount_conflict_is_only_totals(d, &r) {
                            found.remove(i);
                        } else {
                            i += 1;
                        }
                    }
                }
            }
            if *coll == "deals" {
                for (key, item) in fields.objects().filter(|(k, _)| k.starts_with(lens::LINE_ITEM_PREFIX)) {
                    let item_fields = Fields::of(d, &item);
                    if item_fields.conflicted().next().is_some() {
                        scan(d, &item, &item_fields, &format!("{coll}.{id}.{key}."), found, &[]);
                    }
                }
            }
            keep(Place::Record(coll), fields);
        }
    }
    keep(Place::Root, root);
}

/// Collects keys of `o` with more than one distinct concurrent scalar value.
/// `only`, when non-empty, limits the scan to those keys.
fn scan(
    d: &AutoCommit,
    o: &ObjId,
    fields: &Fields<'_>,
    prefix: &str,
    out: &mut Vec<(String, ObjId, String)>,
    only: &[&str],
) {
    // Only keys Automerge flags as conflicted can hold several values; the
    // others cost no `get_all` (an edit rescans its account's conflicts).
    for key in fields.conflicted() {
        if !only.is_empty() && !only.contains(&key) {
            continue;
        }
        let Ok(values) = d.get_all(o, key) else { continue };
        if values.len() < 2 {
            continue;
        }
        let scalars: Vec<ScalarValue> = values
            .iter()
            .filter_map(|(v, _)| match v {
                Value::Scalar(s) => Some(s.clone().into_owned()),
                Value::Object(_) => None,
            })
            .collect();
        if scalars.len() == values.len() && scalars.iter().any(|s| s != &scalars[0]) {
            out.push((format!("{prefix}{key}"), o.clone(), key.to_owned()));
        }
    }
}

fn describe(doc: &mut AutoCommit, field: String, o: &ObjId, key: &str) -> Option<Conflict> {
    let winner = doc.get(o, key).ok()??.1;
    let values: Vec<(Value<'static>, automerge::ObjId)> =
        doc.get_all(o, key).ok()?.into_iter().map(|(v, id)| (v.into_owned(), id)).collect();
    let mut out = Vec::with_capacity(values.len());
    for (value, id) in values {
        let Value::Scalar(s) = value else { continue };
        let (user, device, at) = match doc.hash_for_opid(&id).and_then(|h| doc.get_change_meta_by_hash(&h)) {
            Some(meta) => {
                let note = super::parse_note(meta.message.as_deref());
                (note.user, note.device, access::from_millis(meta.timestamp))
            }
            None => ("unknown".into(), "unknown".into(), None),
        };
        let actor = match &id {
            automerge::ObjId::Id(_, actor, _) => actor.to_hex_string(),
            automerge::ObjId::Root => String::new(),
        };
        out.push(ConflictValue {
            value: access::display_scalar(&s),
            user,
            device,
            actor,
            at: at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            winner: id == winner,
        });
    }
    Some(Conflict { field, values: out })
}

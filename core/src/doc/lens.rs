//! Versioned, additive lenses: how this build reads every shape a document
//! may hold, without rewriting its history.
//!
//! A document carries two version numbers at its root:
//!
//! * `schema` is the **breaking** version. A build refuses a document whose
//!   schema is newer than it reads ([`crate::Error::UnsupportedSchema`]);
//!   release 0.1.0 refuses anything above 1. It stays 1 for as long as every
//!   change of shape can be made additively, so that no device in the field
//!   starts refusing its customers' accounts.
//! * `lens` (absent = 1) is the **additive** version: the newest lens whose
//!   keys a writer put into the document. Older builds ignore it (0.1.0 never
//!   reads it). A lens only *adds* keys and keeps every older key meaningful,
//!   so a build that knows fewer lenses reads and edits the document as the
//!   older shape and loses nothing: Automerge keeps the keys it does not know.
//!   A build reads the lenses it knows, up to [`LENS_VERSION`], and ignores
//!   newer ones for the same reason.
//!
//! | lens | release | adds |
//! | --- | --- | --- |
//! | 1 | 0.1.0 | the layout in [`super`] |
//! | 2 | 0.2.0 | deal line items; a deal's amount follows them unless set by hand |
//! | 3 | 0.2.0 | the party's `registration_code` (ЄДРПОУ, ИНН): one optional text key |
//!
//! ## Lens 3: registration code
//!
//! `party.registration_code` is an optional text, set like any party field
//! (`set_field("party.registration_code", …)`); the change that writes a
//! non-empty one raises the lens. Nothing is read differently below lens 3: a
//! document without the key has no registration code.
//!
//! ## Lens 2: line items
//!
//! A deal map may hold, besides its lens-1 keys:
//!
//! ```text
//! "line_item:<uuid>": { name, quantity (uint), unit_price (int minor units), discount (uint percent) }
//! "amount_by_items":  { op: "<id of the `amount` operation written as the items' total>" }
//! ```
//!
//! Each line item is its own key of the deal map, created by the change that
//! adds it, so concurrent additions on two devices never race to create a
//! shared container (a deal written by 0.1.0 has no line-item map to put
//! them in). Removing a line item deletes its key.
//!
//! The amount stays in `amount`, where 0.1.0 reads and writes it. A lens-2
//! writer that changes line items of a deal whose amount follows them writes
//! the new total into `amount` and records that operation's id in a fresh
//! `amount_by_items` map. On read, the amount follows the line items exactly
//! when the winning `amount` operation is one of those recorded: any other
//! write to `amount` (a hand-set amount from 0.2.0, the amount a deal was
//! added with, or any edit from a 0.1.0 device, which knows nothing of
//! markers) is a new operation and wins, "set by hand". A deal's amount
//! starts following its line items when the first one is added, and again
//! when a user asks for it ([`super::Editor::follow_line_items`]).
//!
//! When the amount follows, the reader computes the total from the merged
//! line items (so two devices adding items concurrently both count), and two
//! concurrent totals written by lens-2 writers are not listed as a conflict
//! (0.1.0 lists them, as it lists any concurrent `amount`). A hand-set
//! amount concurrent with a written total is a real conflict, listed on both.

use std::collections::BTreeSet;

use automerge::{AutoCommit, ObjId, ReadDoc, ScalarValue, Value};

use super::access::Fields;
use crate::model::{LineItem, LineItemId, line_items_total};

/// The newest lens this build reads and writes. A writer raises a
/// document's lens to it in the change that first writes a key of lens 2 or
/// later (a line item, a registration code).
pub const LENS_VERSION: u64 = 3;

/// The party key a registration code is kept in (lens 3). Absent means none;
/// 0.1.0 ignores it and keeps it when it edits the party.
pub(crate) const REGISTRATION_CODE: &str = "registration_code";

/// Key prefix of a line item in a deal map (lens 2).
pub(crate) const LINE_ITEM_PREFIX: &str = "line_item:";
/// Key of the marker naming the `amount` operation written as the items' total (lens 2).
pub(crate) const AMOUNT_MARKER: &str = "amount_by_items";

/// The document's lens: the highest of its concurrent `lens` values, 1 when absent.
pub(crate) fn version(d: &AutoCommit) -> u64 {
    d.get_all(&automerge::ROOT, "lens")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, _)| match v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Uint(u) => Some(*u),
                ScalarValue::Int(i) => u64::try_from(*i).ok(),
                _ => None,
            },
            Value::Object(_) => None,
        })
        .max()
        .unwrap_or(1)
        .max(1)
}

/// The line items of a deal, oldest first (ids are time-ordered).
pub(crate) fn line_items(d: &AutoCommit, deal: &Fields<'_>) -> Vec<LineItem> {
    let mut items: Vec<LineItem> = deal
        .objects()
        .filter_map(|(key, o)| {
            let id: LineItemId = key.strip_prefix(LINE_ITEM_PREFIX)?.parse().ok()?;
            let f = Fields::of(d, &o);
            Some(LineItem {
                id,
                name: f.string("name").unwrap_or_default(),
                quantity: f.int("quantity").and_then(|q| u32::try_from(q).ok()).unwrap_or(0),
                unit_price_minor: f.int("unit_price").unwrap_or(0).max(0),
                discount_percent: f.int("discount").unwrap_or(0).clamp(0, 100) as u8,
            })
        })
        .collect();
    items.sort_by_key(|i| i.id);
    items
}

/// Ids of the `amount` operations lens-2 writers recorded as line-item totals.
fn written_totals(d: &AutoCommit, deal: &ObjId) -> BTreeSet<String> {
    d.get_all(deal, AMOUNT_MARKER)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, id)| match v {
            Value::Object(_) => super::access::string(d, &id, "op"),
            Value::Scalar(_) => None,
        })
        .collect()
}

/// Whether the deal's amount follows its line items (the winning `amount`
/// operation was written as their total).
pub(crate) fn amount_follows_items(d: &AutoCommit, deal: &ObjId) -> bool {
    match d.get(deal, "amount") {
        Ok(Some((_, op))) => written_totals(d, deal).contains(&op.to_string()),
        _ => false,
    }
}

/// Whether every concurrent value of the deal's `amount` is a written line-item total
/// (not a conflict for a user to resolve: the reader sums the merged line items).
pub(crate) fn amount_conflict_is_only_totals(d: &AutoCommit, deal: &ObjId) -> bool {
    let totals = written_totals(d, deal);
    let values = d.get_all(deal, "amount").unwrap_or_default();
    !totals.is_empty() && values.iter().all(|(_, op)| totals.contains(&op.to_string()))
}

/// Applies lens 2 to a deal read through lens 1: its line items, and its
/// amount when that follows them.
pub(crate) fn read_deal(d: &AutoCommit, deal_obj: &ObjId, fields: &Fields<'_>, deal: &mut crate::model::Deal) {
    deal.line_items = line_items(d, fields);
    deal.amount_from_line_items = amount_follows_items(d, deal_obj);
    if deal.amount_from_line_items
        && let Some(total) = line_items_total(&deal.line_items)
    {
        deal.amount.minor = total;
    }
}

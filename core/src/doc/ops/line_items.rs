//! Deal line items (document lens 2, see [`crate::doc::lens`]): add, change,
//! remove, and the deal amount that follows them.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue};

use super::super::access::{self as a, Fields};
use super::super::fields::{Collection, FieldPath, LineItemField};
use super::super::lens::{self, AMOUNT_MARKER, LENS_VERSION, LINE_ITEM_PREFIX};
use super::*;
use crate::error::{Error, RecordKind, Result};
use crate::model::*;

/// A new line item of a deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLineItem {
    /// The product or service.
    pub name: String,
    /// Whole units, at least 1.
    pub quantity: u32,
    /// Price of one unit in minor units of the deal's currency, not negative.
    pub unit_price_minor: i64,
    /// Whole percent, 0–100.
    pub discount_percent: u8,
}

/// What to change on a line item; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineItemChange {
    pub name: Option<String>,
    pub quantity: Option<u32>,
    pub unit_price_minor: Option<i64>,
    pub discount_percent: Option<u8>,
}

/// The largest quantity of one line item.
const MAX_QUANTITY: u32 = 1_000_000_000;
/// The longest product or service name, in characters.
const MAX_NAME: usize = 200;

fn validate_item(item: &LineItem) -> Result<()> {
    if item.name.trim().is_empty() {
        return Err(Error::invalid("line_item.name", "must not be empty"));
    }
    if item.name.chars().count() > MAX_NAME {
        return Err(Error::invalid("line_item.name", format!("must be at most {MAX_NAME} characters")));
    }
    if item.quantity == 0 || item.quantity > MAX_QUANTITY {
        return Err(Error::invalid("line_item.quantity", format!("must be a whole number from 1 to {MAX_QUANTITY}")));
    }
    if item.unit_price_minor < 0 {
        return Err(Error::invalid("line_item.unit_price", "must not be negative"));
    }
    if item.discount_percent > 100 {
        return Err(Error::invalid("line_item.discount", "must be between 0 and 100 percent"));
    }
    Ok(())
}

fn item_key(id: LineItemId) -> String {
    format!("{LINE_ITEM_PREFIX}{id}")
}

impl Editor<'_> {
    /// Adds a line item to a deal. Adding a deal's first line item makes its
    /// amount follow the line items; otherwise the amount follows them only if
    /// it did before (a hand-set amount stays).
    pub fn add_line_item(&mut self, deal: DealId, new: &NewLineItem) -> Result<LineItemId> {
        let item = LineItem {
            id: LineItemId::new(),
            name: new.name.trim().to_owned(),
            quantity: new.quantity,
            unit_price_minor: new.unit_price_minor,
            discount_percent: new.discount_percent,
        };
        validate_item(&item)?;
        self.change("deal.line_item.add", |c| {
            c.change_line_items(deal, |items| {
                let first = items.is_empty();
                items.push(item.clone());
                Ok(first)
            })?;
            c.write_line_item(deal, &item)
        })?;
        Ok(item.id)
    }

    /// Changes the given fields of a line item; the deal's amount follows if it did.
    pub fn update_line_item(&mut self, deal: DealId, item: LineItemId, change: &LineItemChange) -> Result<()> {
        self.change("deal.line_item.set", |c| {
            let mut updated = None;
            c.change_line_items(deal, |items| {
                let current = items.iter_mut().find(|i| i.id == item).ok_or_else(|| not_found(deal, item))?;
                if let Some(name) = &change.name {
                    current.name = name.trim().to_owned();
                }
                if let Some(q) = change.quantity {
                    current.quantity = q;
                }
                if let Some(p) = change.unit_price_minor {
                    current.unit_price_minor = p;
                }
                if let Some(d) = change.discount_percent {
                    current.discount_percent = d;
                }
                validate_item(current)?;
                updated = Some(current.clone());
                Ok(false)
            })?;
            let o = c.line_item(deal, item)?;
            if let Some(name) = &change.name {
                a::put_fresh(c.doc, &o, "name", name.trim())?;
            }
            if let Some(q) = change.quantity {
                a::put_fresh(c.doc, &o, "quantity", ScalarValue::Uint(u64::from(q)))?;
            }
            if let Some(p) = change.unit_price_minor {
                a::put_fresh(c.doc, &o, "unit_price", ScalarValue::Int(p))?;
            }
            if let Some(d) = change.discount_percent {
                a::put_fresh(c.doc, &o, "discount", ScalarValue::Uint(u64::from(d)))?;
            }
            Ok(())
        })
    }

    /// Removes a line item; the deal's amount follows if it did.
    pub fn remove_line_item(&mut self, deal: DealId, item: LineItemId) -> Result<()> {
        self.change("deal.line_item.remove", |c| {
            c.change_line_items(deal, |items| {
                let before = items.len();
                items.retain(|i| i.id != item);
                if items.len() == before {
                    return Err(not_found(deal, item));
                }
                Ok(false)
            })?;
            let o = c.record(Collection::Deals, deal.0)?;
            c.doc.delete(&o, item_key(item))?;
            Ok(())
        })
    }

    /// `set_field` on `deals.<id>.line_item:<id>.<field>` (also how a line-item conflict is resolved).
    pub(super) fn set_line_item_field(
        &mut self,
        field: &FieldPath,
        which: LineItemField,
        value: ScalarValue,
    ) -> Result<()> {
        let deal = DealId(field.record.unwrap_or_default());
        let item = field
            .field
            .strip_prefix(LINE_ITEM_PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(id, _)| id.parse::<LineItemId>().ok())
            .ok_or_else(|| Error::UnknownField(field.to_string()))?;
        let mut change = LineItemChange::default();
        match (which, value) {
            (LineItemField::Name, ScalarValue::Str(s)) => change.name = Some(s.to_string()),
            (LineItemField::Quantity, ScalarValue::Uint(n)) => change.quantity = u32::try_from(n).ok(),
            (LineItemField::UnitPrice, ScalarValue::Int(n)) => change.unit_price_minor = Some(n),
            (LineItemField::Discount, ScalarValue::Uint(n)) => change.discount_percent = u8::try_from(n).ok(),
            _ => return Err(Error::invalid(field.to_string(), "not a value this field holds")),
        }
        self.update_line_item(deal, item, &change)
    }

    /// Makes the deal's amount follow its line items again after it was set by hand.
    pub fn follow_line_items(&mut self, deal: DealId) -> Result<()> {
        self.change("deal.amount_from_line_items", |c| {
            c.change_line_items(deal, |items| {
                if items.is_empty() {
                    return Err(Error::invalid(
                        format!("deals.{deal}.amount"),
                        "the deal has no line items to follow; add one first",
                    ));
                }
                Ok(true)
            })
        })
    }
}

fn not_found(deal: DealId, item: LineItemId) -> Error {
    Error::not_found(RecordKind::LineItem, format!("{item} (deal {deal})"))
}

impl Ctx<'_> {
    /// Applies `edit` to the deal's line items as read, checks the new total,
    /// raises the document's lens, and writes the total as the amount when
    /// the amount follows the line items or `edit` returns `true` (it asks to follow).
    fn change_line_items(&mut self, deal: DealId, edit: impl FnOnce(&mut Vec<LineItem>) -> Result<bool>) -> Result<()> {
        let o = self.record(Collection::Deals, deal.0)?;
        let mut items = lens::line_items(self.doc, &Fields::of(self.doc, &o));
        let follows = lens::amount_follows_items(self.doc, &o);
        let follow = edit(&mut items)?;
        let total = line_items_total(&items)
            .ok_or_else(|| Error::invalid("line_item.unit_price", "the deal's total would be too large"))?;
        self.raise_lens()?;
        if follows || follow {
            self.write_items_amount(&o, total)?;
        }
        Ok(())
    }

    /// Marks the document as holding lens-2 keys (in the change that writes the first).
    pub(super) fn raise_lens(&mut self) -> Result<()> {
        if lens::version(self.doc) < LENS_VERSION {
            self.doc.put(&automerge::ROOT, "lens", ScalarValue::Uint(LENS_VERSION))?;
        }
        Ok(())
    }

    /// Writes `total` into the deal's `amount` (where 0.1.0 reads it) and
    /// records that operation as a line-item total.
    pub(super) fn write_items_amount(&mut self, deal: &ObjId, total: i64) -> Result<()> {
        a::put_fresh(self.doc, deal, "amount", ScalarValue::Int(total))?;
        let (_, op) =
            self.doc.get(deal, "amount")?.ok_or_else(|| damaged("deal amount missing after it was written"))?;
        let marker = self.doc.put_object(deal, AMOUNT_MARKER, ObjType::Map)?;
        self.doc.put(&marker, "op", op.to_string())?;
        Ok(())
    }

    pub(super) fn write_line_item(&mut self, deal: DealId, item: &LineItem) -> Result<()> {
        let o = self.record(Collection::Deals, deal.0)?;
        let m = self.doc.put_object(&o, item_key(item.id), ObjType::Map)?;
        self.doc.put(&m, "name", item.name.as_str())?;
        self.doc.put(&m, "quantity", ScalarValue::Uint(u64::from(item.quantity)))?;
        self.doc.put(&m, "unit_price", ScalarValue::Int(item.unit_price_minor))?;
        self.doc.put(&m, "discount", ScalarValue::Uint(u64::from(item.discount_percent)))?;
        Ok(())
    }

    fn line_item(&self, deal: DealId, item: LineItemId) -> Result<ObjId> {
        let o = self.record(Collection::Deals, deal.0)?;
        a::obj(self.doc, &o, &item_key(item)).ok_or_else(|| not_found(deal, item))
    }
}

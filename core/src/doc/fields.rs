//! The settable fields of an account, addressed by path.
//!
//! A path names one scalar in the document: `party.name`,
//! `party.address.city`, `party.demographics.<key>`, `deals.<id>.amount`,
//! `contacts.<id>.job_title`, … Conflicts are reported with the same paths,
//! so resolving one is `set_field(path, chosen value)`. For party fields the
//! `party.` prefix may be left out (`name`, `address.city`).

use std::fmt;
use std::str::FromStr;

use automerge::ScalarValue;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::access;
use crate::error::{Error, Result};
use crate::model::*;

/// What a field holds, which decides how a string value is parsed and stored.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Free text that must not be empty.
    Required,
    /// Free text; empty clears it.
    Text,
    Enum(fn(&str) -> Result<&'static str>),
    Date,
    Timestamp,
    Uuid,
    Geo,
    /// Integer minor units, not negative.
    Amount,
    Currency,
    /// Integer 0–100.
    Probability,
    Bool,
    /// Deal stage: moves the deal (records history, applies default probability).
    Stage,
    /// Loyalty rung: moves on the ladder (records history).
    Rung,
    /// Lifecycle phase: moves the lifecycle (records history).
    Phase,
    /// A field of a deal's line item (lens 2): changes it and the amount that follows it.
    LineItem(LineItemField),
}

/// The settable fields of a line item (`deals.<id>.line_item:<id>.<field>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineItemField {
    Name,
    Quantity,
    UnitPrice,
    Discount,
}

const LINE_ITEM: &[(&str, Kind)] = &[
    ("name", Kind::LineItem(LineItemField::Name)),
    ("quantity", Kind::LineItem(LineItemField::Quantity)),
    ("unit_price", Kind::LineItem(LineItemField::UnitPrice)),
    ("discount", Kind::LineItem(LineItemField::Discount)),
];

fn e<T: FromStr<Err = Error> + Into<&'static str>>(s: &str) -> Result<&'static str> {
    Ok(s.parse::<T>()?.into())
}

macro_rules! into_static {
    ($($t:ty),+) => {$(
        impl From<$t> for &'static str {
            fn from(v: $t) -> &'static str { v.as_str() }
        }
    )+};
}
into_static!(
    PartyKind,
    ValueTier,
    AccountStatus,
    Channel,
    ForecastCategory,
    DealOutcome,
    InteractionKind,
    Direction,
    InteractionStatus,
    TaskStatus,
    TieKind
);

const PARTY: &[(&str, Kind)] = &[
    ("kind", Kind::Enum(e::<PartyKind>)),
    ("name", Kind::Required),
    ("industry", Kind::Text),
    ("website", Kind::Text),
    ("registration_code", Kind::Text),
    ("geo", Kind::Geo),
    ("owner", Kind::Text),
    ("team", Kind::Text),
    ("territory", Kind::Text),
    ("parent", Kind::Uuid),
    ("value_tier", Kind::Enum(e::<ValueTier>)),
    ("loyalty_rung", Kind::Rung),
    ("lifecycle_phase", Kind::Phase),
    ("status", Kind::Enum(e::<AccountStatus>)),
    ("source", Kind::Text),
    ("address.street", Kind::Text),
    ("address.city", Kind::Text),
    ("address.region", Kind::Text),
    ("address.postcode", Kind::Text),
    ("address.country", Kind::Text),
];

const CONTACT: &[(&str, Kind)] = &[
    ("name", Kind::Required),
    ("job_title", Kind::Text),
    ("preferred_channel", Kind::Enum(e::<Channel>)),
    ("language", Kind::Text),
    ("active", Kind::Bool),
];

const DEAL: &[(&str, Kind)] = &[
    ("title", Kind::Required),
    ("amount", Kind::Amount),
    ("currency", Kind::Currency),
    ("stage", Kind::Stage),
    ("probability", Kind::Probability),
    ("forecast", Kind::Enum(e::<ForecastCategory>)),
    ("expected_close", Kind::Date),
    ("next_step", Kind::Text),
    ("next_step_due", Kind::Date),
    ("outcome", Kind::Enum(e::<DealOutcome>)),
    ("lost_reason", Kind::Text),
    ("lost_note", Kind::Text),
    ("primary_contact", Kind::Uuid),
];

const INTERACTION: &[(&str, Kind)] = &[
    ("kind", Kind::Enum(e::<InteractionKind>)),
    ("direction", Kind::Enum(e::<Direction>)),
    ("status", Kind::Enum(e::<InteractionStatus>)),
    ("planned_start", Kind::Timestamp),
    ("planned_end", Kind::Timestamp),
    ("actual_start", Kind::Timestamp),
    ("actual_end", Kind::Timestamp),
    ("deal", Kind::Uuid),
    ("department", Kind::Text),
    ("subject", Kind::Required),
    ("notes", Kind::Text),
    ("outcome", Kind::Text),
    ("check_in", Kind::Geo),
];

const TASK: &[(&str, Kind)] = &[
    ("title", Kind::Required),
    ("due", Kind::Date),
    ("assignee", Kind::Text),
    ("status", Kind::Enum(e::<TaskStatus>)),
];

const TIE: &[(&str, Kind)] = &[("kind", Kind::Enum(e::<TieKind>)), ("role", Kind::Text)];

/// Which part of the account a path points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Collection {
    Party,
    Contacts,
    Deals,
    Interactions,
    Tasks,
    Ties,
}

impl Collection {
    /// The key of this collection under the document root.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Collection::Party => "party",
            Collection::Contacts => "contacts",
            Collection::Deals => "deals",
            Collection::Interactions => "interactions",
            Collection::Tasks => "tasks",
            Collection::Ties => "ties",
        }
    }

    fn specs(self) -> &'static [(&'static str, Kind)] {
        match self {
            Collection::Party => PARTY,
            Collection::Contacts => CONTACT,
            Collection::Deals => DEAL,
            Collection::Interactions => INTERACTION,
            Collection::Tasks => TASK,
            Collection::Ties => TIE,
        }
    }

    pub(crate) fn record_kind(self) -> crate::error::RecordKind {
        use crate::error::RecordKind as R;
        match self {
            Collection::Party => R::Account,
            Collection::Contacts => R::Contact,
            Collection::Deals => R::Deal,
            Collection::Interactions => R::Interaction,
            Collection::Tasks => R::Task,
            Collection::Ties => R::Tie,
        }
    }
}

/// A parsed, valid field path.
#[derive(Debug, Clone)]
pub struct FieldPath {
    pub collection: Collection,
    /// The record inside a keyed collection; `None` for party fields.
    pub record: Option<Uuid>,
    /// The field inside the party or record, e.g. `address.city`, `amount`
    /// or `line_item:<id>.quantity`.
    pub field: String,
    pub(crate) kind: Kind,
}

impl FieldPath {
    /// The object path (keys from the root) and the final key.
    pub(crate) fn location(&self) -> (Vec<String>, String) {
        let mut path = vec![self.collection.key().to_owned()];
        if let Some(r) = self.record {
            path.push(r.hyphenated().to_string());
        }
        let mut parts: Vec<&str> = self.field.split('.').collect();
        let last = parts.pop().unwrap_or_default().to_owned();
        path.extend(parts.into_iter().map(str::to_owned));
        (path, last)
    }

    /// Parses and validates a value given as text, returning what to store.
    pub(crate) fn parse_value(&self, value: &str) -> Result<ScalarValue> {
        let field = self.to_string();
        let v = value.trim();
        let bad = |reason: &str| Error::invalid(field.clone(), reason);
        Ok(match self.kind {
            Kind::Required if v.is_empty() => return Err(bad("must not be empty")),
            Kind::Required => ScalarValue::Str(v.into()),
            Kind::Text | Kind::Uuid | Kind::Geo | Kind::Date | Kind::Timestamp | Kind::Enum(_) if v.is_empty() => {
                ScalarValue::Null
            }
            Kind::Text => ScalarValue::Str(v.into()),
            Kind::Enum(parse) => ScalarValue::Str(parse(v).map_err(|e| retarget(e, &field))?.into()),
            Kind::Date => {
                let d = access::parse_date(v).map_err(|_| bad("expected a date as YYYY-MM-DD"))?;
                ScalarValue::Str(access::format_date(d).into())
            }
            Kind::Timestamp => {
                let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| bad("expected an RFC 3339 instant, e.g. 2026-03-01T09:30:00Z"))?;
                ScalarValue::Timestamp(access::millis(t))
            }
            Kind::Uuid => ScalarValue::Str(
                Uuid::parse_str(v).map_err(|_| bad("expected a UUID"))?.hyphenated().to_string().into(),
            ),
            Kind::Geo => ScalarValue::Str(v.parse::<Geo>().map_err(|e| retarget(e, &field))?.to_string().into()),
            Kind::Amount => {
                let n: i64 =
                    v.parse().map_err(|_| bad("expected a whole number of minor units (e.g. cents), no decimals"))?;
                if n < 0 {
                    return Err(bad("must not be negative"));
                }
                ScalarValue::Int(n)
            }
            Kind::Currency => ScalarValue::Str(parse_currency(v).map_err(|e| retarget(e, &field))?.into()),
            Kind::Probability => {
                let n: u64 = v.parse().map_err(|_| bad("expected a whole number between 0 and 100"))?;
                if n > 100 {
                    return Err(bad("must be between 0 and 100"));
                }
                ScalarValue::Uint(n)
            }
            Kind::Bool => ScalarValue::Boolean(match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => return Err(bad("expected true or false")),
            }),
            Kind::Stage | Kind::Rung | Kind::Phase => ScalarValue::Str(v.into()),
            Kind::LineItem(LineItemField::Name) if v.is_empty() => return Err(bad("must not be empty")),
            Kind::LineItem(LineItemField::Name) => ScalarValue::Str(v.into()),
            Kind::LineItem(LineItemField::Quantity) => match v.parse::<u32>() {
                Ok(n) if n >= 1 => ScalarValue::Uint(u64::from(n)),
                _ => return Err(bad("expected a whole number of at least 1")),
            },
            Kind::LineItem(LineItemField::UnitPrice) => {
                let n: i64 =
                    v.parse().map_err(|_| bad("expected a whole number of minor units (e.g. cents), no decimals"))?;
                if n < 0 {
                    return Err(bad("must not be negative"));
                }
                ScalarValue::Int(n)
            }
            Kind::LineItem(LineItemField::Discount) => match v.parse::<u8>() {
                Ok(n) if n <= 100 => ScalarValue::Uint(u64::from(n)),
                _ => return Err(bad("expected a whole percent between 0 and 100")),
            },
        })
    }
}

/// Names the field path in a value error raised by a type's parser.
pub(crate) fn retarget(e: Error, field: &str) -> Error {
    match e {
        Error::InvalidValue { reason, .. } => Error::invalid(field, reason),
        other => other,
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        (self.collection, self.record, &self.field) == (other.collection, other.record, &other.field)
    }
}

impl Eq for FieldPath {}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.collection.key())?;
        if let Some(r) = self.record {
            write!(f, ".{}", r.hyphenated())?;
        }
        write!(f, ".{}", self.field)
    }
}

impl FromStr for FieldPath {
    type Err = Error;

    fn from_str(path: &str) -> Result<Self> {
        let unknown = || Error::UnknownField(path.to_owned());
        let path_t = path.trim();
        let (first, rest) = path_t.split_once('.').unwrap_or((path_t, ""));
        let collection = match first {
            "party" => Collection::Party,
            "contacts" => Collection::Contacts,
            "deals" => Collection::Deals,
            "interactions" => Collection::Interactions,
            "tasks" => Collection::Tasks,
            "ties" => Collection::Ties,
            _ => return party_field(path_t).ok_or_else(unknown),
        };
        if collection == Collection::Party {
            return party_field(rest).ok_or_else(unknown);
        }
        let (id, field) = rest.split_once('.').ok_or_else(unknown)?;
        let record = Uuid::parse_str(id).map_err(|_| unknown())?;
        let kind = match field.strip_prefix(super::lens::LINE_ITEM_PREFIX) {
            Some(rest) if collection == Collection::Deals => {
                let (item, sub) = rest.split_once('.').ok_or_else(unknown)?;
                Uuid::parse_str(item).map_err(|_| unknown())?;
                lookup(LINE_ITEM, sub).ok_or_else(unknown)?
            }
            _ => lookup(collection.specs(), field).ok_or_else(unknown)?,
        };
        Ok(FieldPath { collection, record: Some(record), field: field.to_owned(), kind })
    }
}

fn lookup(specs: &[(&str, Kind)], field: &str) -> Option<Kind> {
    specs.iter().find(|(n, _)| *n == field).map(|(_, k)| *k)
}

fn party_field(field: &str) -> Option<FieldPath> {
    let kind = match field.split_once('.') {
        Some(("demographics" | "buying_habits", key)) if valid_free_key(key) => Kind::Text,
        _ => lookup(PARTY, field)?,
    };
    Some(FieldPath { collection: Collection::Party, record: None, field: field.to_owned(), kind })
}

pub(crate) fn valid_free_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 64 && !key.contains('.')
}

/// Every settable field path pattern, for help texts: `<id>` stands for a record id
/// and `<key>` for a free key.
pub fn settable_fields() -> Vec<String> {
    let mut out = Vec::new();
    for c in [
        Collection::Party,
        Collection::Contacts,
        Collection::Deals,
        Collection::Interactions,
        Collection::Tasks,
        Collection::Ties,
    ] {
        for (name, _) in c.specs() {
            if c == Collection::Party {
                out.push(format!("party.{name}"));
            } else {
                out.push(format!("{}.<id>.{name}", c.key()));
            }
        }
        if c == Collection::Deals {
            for (name, _) in LINE_ITEM {
                out.push(format!("deals.<id>.line_item:<id>.{name}"));
            }
        }
        if c == Collection::Party {
            out.push("party.demographics.<key>".into());
            out.push("party.buying_habits.<key>".into());
        }
    }
    out
}

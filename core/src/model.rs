//! Typed view of an account document, for callers.
//!
//! These types are what [`crate::AccountDoc::read`] returns. They are plain
//! data: reading never writes, and writing goes through the operations on
//! [`crate::AccountDoc`] so that every edit is validated and attributed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $label:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| Error::invalid($label, "not a valid id (expected a UUID)"))
            }
        }
    };
}

id_type!(
    /// Identifies an account document (a party and everything that belongs to it).
    AccountId,
    "account id"
);
id_type!(
    /// Identifies a contact inside an account.
    ContactId,
    "contact id"
);
id_type!(
    /// Identifies a deal inside an account.
    DealId,
    "deal id"
);
id_type!(
    /// Identifies a line item inside a deal.
    LineItemId,
    "line item id"
);
id_type!(
    /// Identifies an interaction inside an account.
    InteractionId,
    "interaction id"
);
id_type!(
    /// Identifies a task inside an account.
    TaskId,
    "task id"
);
id_type!(
    /// Identifies a tie inside an account.
    TieId,
    "tie id"
);

/// Declares a closed set of values stored in documents as lower-case strings.
macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident, $label:literal { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        // Serialized as the stored form (`"long_term"`), the same string the
        // documents, CSV files and field paths use.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and displayed) form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                match norm.as_str() {
                    $($s => Ok($name::$variant),)+
                    _ => Err(Error::invalid(
                        $label,
                        format!("expected one of: {}", [$($s),+].join(", ")),
                    )),
                }
            }
        }
    };
}

str_enum!(
    /// Organization or person.
    PartyKind, "party kind" { Organization => "organization", Person => "person" }
);
str_enum!(
    /// The broad notion of client: a party can hold several roles.
    Role, "role" {
        Customer => "customer", Supplier => "supplier", Partner => "partner",
        Reseller => "reseller", Government => "government", Internal => "internal",
    }
);
str_enum!(
    /// Value tier: drives contact cadence and manager attention.
    ValueTier, "value tier" { Key => "key", Standard => "standard", Low => "low" }
);
str_enum!(
    /// Loyalty ladder (Payne et al.), lowest rung first.
    LoyaltyRung, "loyalty rung" {
        Prospect => "prospect", Customer => "customer", Client => "client",
        Supporter => "supporter", Advocate => "advocate", Partner => "partner",
    }
);
str_enum!(
    /// Relationship lifecycle phase (Ford; Dwyer et al.).
    LifecyclePhase, "lifecycle phase" {
        PreRelationship => "pre_relationship", Early => "early", Development => "development",
        LongTerm => "long_term", Final => "final",
    }
);
str_enum!(
    /// Whether the relationship is going on or has ended.
    AccountStatus, "status" { Active => "active", Former => "former", Lost => "lost" }
);
str_enum!(
    /// Broadcast channel.
    Channel, "channel" {
        Phone => "phone", Email => "email", Sms => "sms", Messenger => "messenger",
        Visit => "visit", Post => "post",
    }
);
str_enum!(
    /// Kind of phone number.
    PhoneKind, "phone kind" { Mobile => "mobile", Work => "work", Home => "home", Fax => "fax", Other => "other" }
);
str_enum!(
    /// A contact's consent or refusal for a channel and topic.
    ConsentStatus, "consent status" { OptIn => "opt_in", OptOut => "opt_out", Refused => "refused" }
);
str_enum!(
    /// Forecast category of a deal.
    ForecastCategory, "forecast category" {
        Pipeline => "pipeline", BestCase => "best_case", Commit => "commit",
        Omitted => "omitted", Closed => "closed",
    }
);
str_enum!(
    /// Outcome of a deal.
    DealOutcome, "deal outcome" { Open => "open", Won => "won", Lost => "lost" }
);
str_enum!(
    /// What a pipeline stage means for a deal's outcome.
    StageKind, "stage kind" { Open => "open", Won => "won", Lost => "lost" }
);
str_enum!(
    /// Kind of interaction (transaction model).
    InteractionKind, "interaction kind" { Call => "call", Meeting => "meeting", Visit => "visit", Email => "email", Note => "note" }
);
str_enum!(
    /// Direction of an interaction.
    Direction, "direction" { Inbound => "inbound", Outbound => "outbound" }
);
str_enum!(
    /// Status of an interaction.
    InteractionStatus, "interaction status" { Planned => "planned", Held => "held", NotHeld => "not_held", Cancelled => "cancelled" }
);
str_enum!(
    /// Status of a task.
    TaskStatus, "task status" { Todo => "todo", Doing => "doing", Done => "done" }
);
str_enum!(
    /// Kind of tie between contacts and parties.
    TieKind, "tie kind" {
        Professional => "professional", Social => "social", Personal => "personal",
        Parent => "parent", Group => "group",
    }
);

/// An amount of money: integer minor units (cents) and an ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl Money {
    /// Validates and builds an amount. Negative amounts are refused.
    pub fn new(minor: i64, currency: &str) -> Result<Self, Error> {
        if minor < 0 {
            return Err(Error::invalid("amount", "must not be negative"));
        }
        Ok(Money { minor, currency: parse_currency(currency)? })
    }
}

/// Decimal places of a currency's minor unit (ISO 4217): 0 for JPY, KRW, …,
/// 3 for BHD, KWD, …, else 2.
pub fn currency_exponent(currency: &str) -> u32 {
    match currency.trim().to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Parses an amount typed in major units (`1200.50`, `1200`) into minor units
/// of `currency`. As people type it in Ukrainian and Russian too: a comma may
/// be the decimal separator (`1200,50`) when there is no dot, and spaces group
/// the thousands (`360 000,00`). More decimals than the currency has, a sign,
/// both a comma and a dot, or anything else is refused.
pub fn parse_major_units(field: &str, text: &str, currency: &str) -> Result<i64, Error> {
    let exp = currency_exponent(currency);
    let grouped: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let normalized = if grouped.contains('.') { grouped } else { grouped.replacen(',', ".", 1) };
    let t = normalized.as_str();
    let bad = || {
        Error::invalid(
            field,
            format!("expected an amount in major units with at most {exp} decimals, e.g. {}", example(exp)),
        )
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > exp as usize || t.ends_with('.') {
        return Err(bad());
    }
    let scale = 10i64.pow(exp);
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = exp as usize).parse().map_err(|_| bad())?
    };
    whole.checked_mul(scale).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

fn example(exp: u32) -> &'static str {
    match exp {
        0 => "1200",
        3 => "1200.500",
        _ => "1200.50",
    }
}

/// Formats minor units of `currency` in major units (`120050` EUR → `1200.50`).
pub fn format_major_units(minor: i64, currency: &str) -> String {
    let exp = currency_exponent(currency);
    if exp == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", m / scale as u64, m % scale as u64, width = exp as usize)
}

pub(crate) fn parse_currency(code: &str) -> Result<String, Error> {
    let code = code.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(Error::invalid("currency", "expected a three-letter ISO 4217 code"))
    }
}

/// A geographic fix, in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    pub lat: f64,
    pub lon: f64,
}

impl Geo {
    /// Validates latitude in [-90, 90] and longitude in [-180, 180].
    pub fn new(lat: f64, lon: f64) -> Result<Self, Error> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(Error::invalid("geo", "latitude must be within ±90 and longitude within ±180"));
        }
        Ok(Geo { lat, lon })
    }
}

impl fmt::Display for Geo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.lat, self.lon)
    }
}

impl FromStr for Geo {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("geo", "expected \"lat,lon\" in decimal degrees");
        let (lat, lon) = s.split_once(',').ok_or_else(bad)?;
        let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
        let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
        Geo::new(lat, lon)
    }
}

/// Postal address; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
}

/// How and why a relationship ended (corporate memory: kept forever).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    pub reason: String,
    #[serde(with = "crate::serde_time::date")]
    pub on: Date,
    /// The lifecycle phase the relationship was in when it ended.
    pub phase: LifecyclePhase,
}

/// A soft deletion: the account is hidden from lists but kept and restorable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    pub by: String,
}

/// The party an account is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub kind: PartyKind,
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub industry: Option<String>,
    pub website: Option<String>,
    /// A state registry or tax number (ЄДРПОУ, ИНН) as typed; compared with
    /// spaces removed ([`crate::matching::code_key`]) to find duplicates (lens 3).
    #[serde(default)]
    pub registration_code: Option<String>,
    pub address: Address,
    pub geo: Option<Geo>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub parent: Option<AccountId>,
    pub value_tier: ValueTier,
    pub loyalty_rung: LoyaltyRung,
    pub lifecycle_phase: LifecyclePhase,
    pub status: AccountStatus,
    pub ending: Option<Ending>,
    pub source: Option<String>,
    pub tags: BTreeSet<String>,
    pub demographics: BTreeMap<String, String>,
    pub buying_habits: BTreeMap<String, String>,
    pub notes: String,
    pub created_by: String,
    #[serde(with = "crate::serde_time::instant")]
    pub created_at: OffsetDateTime,
    pub updated_by: String,
    #[serde(with = "crate::serde_time::instant")]
    pub updated_at: OffsetDateTime,
}

/// A phone number with its kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Phone {
    pub kind: PhoneKind,
    pub number: String,
}

/// A recorded consent or refusal, per channel and topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub id: Uuid,
    pub channel: Channel,
    pub topic: String,
    pub status: ConsentStatus,
    pub reason: Option<String>,
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    pub by: String,
}

/// A person at the party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub job_title: Option<String>,
    pub emails: BTreeSet<String>,
    pub phones: Vec<Phone>,
    pub preferred_channel: Option<Channel>,
    pub language: Option<String>,
    /// Every consent and refusal ever recorded, oldest first.
    pub consents: Vec<Consent>,
    /// False for a person who left: kept, but inactive.
    pub active: bool,
}

impl Contact {
    /// The latest consent recorded for a channel and topic, if any.
    pub fn consent_for(&self, channel: Channel, topic: &str) -> Option<&Consent> {
        self.consents.iter().rev().find(|c| c.channel == channel && c.topic == topic)
    }
}

/// One move of a deal between stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMove {
    pub from: Option<String>,
    pub to: String,
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    pub by: String,
}

/// One product or service sold in a deal (document lens 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub id: LineItemId,
    /// The product or service.
    pub name: String,
    /// Whole units, at least 1.
    pub quantity: u32,
    /// Price of one unit in minor units of the deal's currency.
    pub unit_price_minor: i64,
    /// Whole percent, 0–100.
    pub discount_percent: u8,
}

impl LineItem {
    /// quantity × unit price × (100 − discount) / 100, rounded half up to a
    /// minor unit; `None` if it does not fit in an `i64`.
    pub fn total_minor(&self) -> Option<i64> {
        let gross = i128::from(self.quantity) * i128::from(self.unit_price_minor);
        let net = (gross * i128::from(100 - self.discount_percent.min(100)) + 50) / 100;
        i64::try_from(net).ok()
    }
}

/// The sum of the line items' totals; `None` if it overflows.
pub fn line_items_total(items: &[LineItem]) -> Option<i64> {
    items.iter().try_fold(0i64, |sum, i| sum.checked_add(i.total_minor()?))
}

/// A deal (opportunity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    pub id: DealId,
    pub title: String,
    pub amount: Money,
    pub stage: String,
    pub probability: u8,
    pub forecast: ForecastCategory,
    #[serde(with = "crate::serde_time::date::option")]
    pub expected_close: Option<Date>,
    pub next_step: Option<String>,
    #[serde(with = "crate::serde_time::date::option")]
    pub next_step_due: Option<Date>,
    pub outcome: DealOutcome,
    pub lost_reason: Option<String>,
    pub lost_note: Option<String>,
    pub primary_contact: Option<ContactId>,
    /// Every stage move, oldest first.
    pub stage_history: Vec<StageMove>,
    /// Products and services sold, oldest first (document lens 2; empty in older documents).
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// Whether `amount` is the line items' total (`true`) or was set by hand
    /// (`false`: set when the deal was added, with `set_field`, or by a 0.1.0 device).
    #[serde(default)]
    pub amount_from_line_items: bool,
}

/// A logged interaction (transaction model). Append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub id: InteractionId,
    pub kind: InteractionKind,
    pub direction: Option<Direction>,
    pub status: InteractionStatus,
    #[serde(with = "crate::serde_time::instant::option")]
    pub planned_start: Option<OffsetDateTime>,
    #[serde(with = "crate::serde_time::instant::option")]
    pub planned_end: Option<OffsetDateTime>,
    #[serde(with = "crate::serde_time::instant::option")]
    pub actual_start: Option<OffsetDateTime>,
    #[serde(with = "crate::serde_time::instant::option")]
    pub actual_end: Option<OffsetDateTime>,
    pub contacts: BTreeSet<ContactId>,
    pub deal: Option<DealId>,
    pub staff: BTreeSet<String>,
    pub department: Option<String>,
    pub subject: String,
    pub notes: Option<String>,
    pub outcome: Option<String>,
    pub check_in: Option<Geo>,
    pub logged_by: String,
    #[serde(with = "crate::serde_time::instant")]
    pub logged_at: OffsetDateTime,
}

impl Interaction {
    /// The instant used to order the log: actual start, else planned start, else when logged.
    pub fn when(&self) -> OffsetDateTime {
        self.actual_start.or(self.planned_start).unwrap_or(self.logged_at)
    }
}

/// A to-do item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    #[serde(with = "crate::serde_time::date::option")]
    pub due: Option<Date>,
    pub assignee: Option<String>,
    pub status: TaskStatus,
}

/// A tie between two contacts or parties (ids may point into other documents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tie {
    pub id: TieId,
    pub from: Uuid,
    pub to: Uuid,
    pub kind: TieKind,
    pub role: Option<String>,
}

/// A move on the loyalty ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderMove {
    pub id: Uuid,
    pub from: LoyaltyRung,
    pub to: LoyaltyRung,
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    pub by: String,
    pub reason: Option<String>,
}

/// A move between lifecycle phases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleMove {
    pub id: Uuid,
    pub from: LifecyclePhase,
    pub to: LifecyclePhase,
    #[serde(with = "crate::serde_time::instant")]
    pub at: OffsetDateTime,
    pub by: String,
    pub reason: Option<String>,
}

/// A whole account as merged on this replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub schema_version: u64,
    /// The newest additive lens written into the document (1 for documents
    /// written by 0.1.0); see `docs/COMPATIBILITY.md`.
    #[serde(default = "first_lens")]
    pub lens_version: u64,
    pub party: Party,
    pub contacts: Vec<Contact>,
    pub deals: Vec<Deal>,
    /// Ordered by time, ties broken by id.
    pub interactions: Vec<Interaction>,
    pub tasks: Vec<Task>,
    pub ties: Vec<Tie>,
    pub ladder_history: Vec<LadderMove>,
    pub lifecycle_history: Vec<LifecycleMove>,
    /// Sum of every replica's visit increments.
    pub visit_count: i64,
    pub deleted: Option<Deletion>,
    /// Set when this account was merged into another (it is then a redirect).
    pub merged_into: Option<AccountId>,
    /// Accounts that were merged into this one.
    pub merged_from: BTreeSet<AccountId>,
}

fn first_lens() -> u64 {
    1
}

impl Account {
    pub fn contact(&self, id: ContactId) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }
    pub fn deal(&self, id: DealId) -> Option<&Deal> {
        self.deals.iter().find(|d| d.id == id)
    }
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }
    pub fn interaction(&self, id: InteractionId) -> Option<&Interaction> {
        self.interactions.iter().find(|i| i.id == id)
    }
}

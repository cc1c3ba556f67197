//! What the operations take as input, and how each input is validated.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::*;

/// What a new account starts with. Only `name` is required.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    /// Leave `None` for a fresh id.
    pub id: Option<AccountId>,
    pub kind: PartyKind,
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub industry: Option<String>,
    pub website: Option<String>,
    pub address: Address,
    pub geo: Option<Geo>,
    /// The owning user; `None` makes the creating user the owner.
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub parent: Option<AccountId>,
    pub value_tier: ValueTier,
    pub loyalty_rung: LoyaltyRung,
    pub lifecycle_phase: LifecyclePhase,
    pub source: Option<String>,
    pub tags: BTreeSet<String>,
    pub demographics: BTreeMap<String, String>,
    pub buying_habits: BTreeMap<String, String>,
    pub notes: String,
}

impl NewAccount {
    /// An organization with this name and every other field at its default.
    pub fn new(name: impl Into<String>) -> Self {
        NewAccount {
            id: None,
            kind: PartyKind::Organization,
            name: name.into(),
            roles: BTreeSet::from([Role::Customer]),
            industry: None,
            website: None,
            address: Address::default(),
            geo: None,
            owner: None,
            team: None,
            territory: None,
            parent: None,
            value_tier: ValueTier::Standard,
            loyalty_rung: LoyaltyRung::Prospect,
            lifecycle_phase: LifecyclePhase::PreRelationship,
            source: None,
            tags: BTreeSet::new(),
            demographics: BTreeMap::new(),
            buying_habits: BTreeMap::new(),
            notes: String::new(),
        }
    }
}

/// A new contact. Only `name` is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContact {
    pub name: String,
    pub job_title: Option<String>,
    pub emails: BTreeSet<String>,
    pub phones: Vec<Phone>,
    pub preferred_channel: Option<Channel>,
    pub language: Option<String>,
}

/// A new deal. `stage` defaults to the first open stage and `probability` to the stage's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeal {
    pub title: String,
    pub amount: Money,
    pub stage: Option<String>,
    pub probability: Option<u8>,
    pub forecast: Option<ForecastCategory>,
    pub expected_close: Option<Date>,
    pub next_step: Option<String>,
    pub next_step_due: Option<Date>,
    pub primary_contact: Option<ContactId>,
}

impl NewDeal {
    pub fn new(title: impl Into<String>, amount: Money) -> Self {
        NewDeal {
            title: title.into(),
            amount,
            stage: None,
            probability: None,
            forecast: None,
            expected_close: None,
            next_step: None,
            next_step_due: None,
            primary_contact: None,
        }
    }
}

/// A new interaction. Only `kind` and `subject` are required.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInteraction {
    pub kind: InteractionKind,
    pub subject: String,
    pub direction: Option<Direction>,
    pub status: InteractionStatus,
    pub planned_start: Option<OffsetDateTime>,
    pub planned_end: Option<OffsetDateTime>,
    pub actual_start: Option<OffsetDateTime>,
    pub actual_end: Option<OffsetDateTime>,
    pub contacts: BTreeSet<ContactId>,
    pub deal: Option<DealId>,
    pub staff: BTreeSet<String>,
    pub department: Option<String>,
    pub notes: Option<String>,
    pub outcome: Option<String>,
    pub check_in: Option<Geo>,
}

impl NewInteraction {
    /// A held interaction of this kind, happening now.
    pub fn new(kind: InteractionKind, subject: impl Into<String>) -> Self {
        NewInteraction {
            kind,
            subject: subject.into(),
            direction: None,
            status: InteractionStatus::Held,
            planned_start: None,
            planned_end: None,
            actual_start: None,
            actual_end: None,
            contacts: BTreeSet::new(),
            deal: None,
            staff: BTreeSet::new(),
            department: None,
            notes: None,
            outcome: None,
            check_in: None,
        }
    }
}

/// What [`Editor::hold_interaction`](super::Editor::hold_interaction) records
/// when a planned interaction took place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldInteraction {
    /// When it started (default: now).
    pub at: Option<OffsetDateTime>,
    /// When it ended.
    pub until: Option<OffsetDateTime>,
    /// What came of it.
    pub outcome: Option<String>,
    /// Notes on it (replace the notes made when it was planned, if given).
    pub notes: Option<String>,
}

/// A new task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTask {
    pub title: String,
    pub due: Option<Date>,
    pub assignee: Option<String>,
}

/// A new tie between contacts or parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTie {
    pub from: Uuid,
    pub to: Uuid,
    pub kind: TieKind,
    pub role: Option<String>,
}

/// A consent or refusal to record for a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    pub channel: Channel,
    pub topic: String,
    pub status: ConsentStatus,
    pub reason: Option<String>,
}

pub(super) fn required(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(v.to_owned()) }
}

pub(super) fn clean(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

pub(super) fn validate_money(field: &str, m: &Money) -> Result<()> {
    if m.minor < 0 {
        return Err(Error::invalid(format!("{field}.amount"), "must not be negative"));
    }
    crate::model::parse_currency(&m.currency)
        .map_err(|_| Error::invalid(format!("{field}.currency"), "expected a three-letter ISO 4217 code"))?;
    Ok(())
}

pub(super) fn validate_probability(field: &str, p: Option<u8>) -> Result<()> {
    match p {
        Some(p) if p > 100 => Err(Error::invalid(field, "must be between 0 and 100")),
        _ => Ok(()),
    }
}

pub(super) fn validate_tag(tag: &str) -> Result<String> {
    let t = tag.trim();
    if t.is_empty() || t.len() > 64 {
        return Err(Error::invalid("party.tags", "a tag must be 1 to 64 characters"));
    }
    Ok(t.to_owned())
}

pub(super) fn validate_email(email: &str) -> Result<String> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && !e.contains(char::is_whitespace);
    if ok { Ok(e.to_owned()) } else { Err(Error::invalid("contact.emails", "not an email address")) }
}

pub(super) fn validate_phone(number: &str) -> Result<String> {
    let n = number.trim();
    let digits = n.chars().filter(char::is_ascii_digit).count();
    let allowed = n.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if allowed && (3..=20).contains(&digits) {
        Ok(n.to_owned())
    } else {
        Err(Error::invalid("contact.phones", "expected a phone number of 3 to 20 digits"))
    }
}

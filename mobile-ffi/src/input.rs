//! What the apps write: input records for new records, converted to core's
//! `New…` types. Only the name/title/subject is required; every `None` means
//! "core's default" (e.g. a new account is an organization and a customer on
//! the prospect rung). Validation is core's; this file only parses ids and
//! dates out of strings.

use std::collections::HashMap;
use std::time::SystemTime;

use rapport_core::{
    self as rc, Address, Channel, ConsentStatus, Direction, ForecastCategory, Geo, InteractionKind, InteractionStatus,
    LifecyclePhase, LoyaltyRung, Money, PartyKind, Phone, Role, TieKind, ValueTier,
};
use time::{Date, OffsetDateTime};

use crate::error::RapportError;

/// Parses an id given as a string (`AccountId`, `ContactId`, …).
pub(crate) fn id<T: std::str::FromStr<Err = rc::Error>>(value: &str) -> Result<T, RapportError> {
    Ok(value.parse()?)
}

/// Parses a `YYYY-MM-DD` date for `field`.
pub(crate) fn date(field: &str, value: &str) -> Result<Date, RapportError> {
    Date::parse(value.trim(), time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| {
        RapportError::InvalidInput { message: format!("invalid value for {field}: expected a date as YYYY-MM-DD") }
    })
}

fn opt_date(field: &str, value: Option<String>) -> Result<Option<Date>, RapportError> {
    value.map(|v| date(field, &v)).transpose()
}

fn opt_instant(value: Option<SystemTime>) -> Option<OffsetDateTime> {
    value.map(OffsetDateTime::from)
}

/// A new account. Only `name` is required.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewAccount {
    pub name: String,
    /// Leave empty for a fresh id; set it to import an account with a known id.
    #[uniffi(default)]
    pub id: Option<String>,
    #[uniffi(default)]
    pub kind: Option<PartyKind>,
    #[uniffi(default)]
    pub roles: Option<Vec<Role>>,
    #[uniffi(default)]
    pub industry: Option<String>,
    #[uniffi(default)]
    pub website: Option<String>,
    #[uniffi(default)]
    pub address: Option<Address>,
    #[uniffi(default)]
    pub geo: Option<Geo>,
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub team: Option<String>,
    #[uniffi(default)]
    pub territory: Option<String>,
    #[uniffi(default)]
    pub parent: Option<String>,
    #[uniffi(default)]
    pub value_tier: Option<ValueTier>,
    #[uniffi(default)]
    pub loyalty_rung: Option<LoyaltyRung>,
    #[uniffi(default)]
    pub lifecycle_phase: Option<LifecyclePhase>,
    #[uniffi(default)]
    pub source: Option<String>,
    #[uniffi(default)]
    pub tags: Vec<String>,
    #[uniffi(default)]
    pub demographics: HashMap<String, String>,
    #[uniffi(default)]
    pub buying_habits: HashMap<String, String>,
    #[uniffi(default)]
    pub notes: Option<String>,
}

impl TryFrom<NewAccount> for rc::NewAccount {
    type Error = RapportError;

    fn try_from(n: NewAccount) -> Result<Self, RapportError> {
        let mut new = rc::NewAccount::new(n.name);
        new.id = n.id.as_deref().map(id).transpose()?;
        new.parent = n.parent.as_deref().map(id).transpose()?;
        if let Some(kind) = n.kind {
            new.kind = kind;
        }
        if let Some(roles) = n.roles {
            new.roles = roles.into_iter().collect();
        }
        if let Some(tier) = n.value_tier {
            new.value_tier = tier;
        }
        if let Some(rung) = n.loyalty_rung {
            new.loyalty_rung = rung;
        }
        if let Some(phase) = n.lifecycle_phase {
            new.lifecycle_phase = phase;
        }
        new.industry = n.industry;
        new.website = n.website;
        new.address = n.address.unwrap_or_default();
        new.geo = n.geo;
        new.owner = n.owner;
        new.team = n.team;
        new.territory = n.territory;
        new.source = n.source;
        new.tags = n.tags.into_iter().collect();
        new.demographics = n.demographics.into_iter().collect();
        new.buying_habits = n.buying_habits.into_iter().collect();
        new.notes = n.notes.unwrap_or_default();
        Ok(new)
    }
}

/// A new contact. Only `name` is required.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewContact {
    pub name: String,
    #[uniffi(default)]
    pub job_title: Option<String>,
    #[uniffi(default)]
    pub emails: Vec<String>,
    #[uniffi(default)]
    pub phones: Vec<Phone>,
    #[uniffi(default)]
    pub preferred_channel: Option<Channel>,
    #[uniffi(default)]
    pub language: Option<String>,
}

impl From<NewContact> for rc::NewContact {
    fn from(n: NewContact) -> Self {
        rc::NewContact {
            name: n.name,
            job_title: n.job_title,
            emails: n.emails.into_iter().collect(),
            phones: n.phones,
            preferred_channel: n.preferred_channel,
            language: n.language,
        }
    }
}

/// A new deal. `stage` defaults to the first open stage, `probability` to the stage's default.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewDeal {
    pub title: String,
    pub amount: Money,
    #[uniffi(default)]
    pub stage: Option<String>,
    #[uniffi(default)]
    pub probability: Option<u8>,
    #[uniffi(default)]
    pub forecast: Option<ForecastCategory>,
    /// `YYYY-MM-DD`.
    #[uniffi(default)]
    pub expected_close: Option<String>,
    #[uniffi(default)]
    pub next_step: Option<String>,
    /// `YYYY-MM-DD`.
    #[uniffi(default)]
    pub next_step_due: Option<String>,
    #[uniffi(default)]
    pub primary_contact: Option<String>,
}

impl TryFrom<NewDeal> for rc::NewDeal {
    type Error = RapportError;

    fn try_from(n: NewDeal) -> Result<Self, RapportError> {
        Ok(rc::NewDeal {
            title: n.title,
            amount: n.amount,
            stage: n.stage,
            probability: n.probability,
            forecast: n.forecast,
            expected_close: opt_date("deal.expected_close", n.expected_close)?,
            next_step: n.next_step,
            next_step_due: opt_date("deal.next_step_due", n.next_step_due)?,
            primary_contact: n.primary_contact.as_deref().map(id).transpose()?,
        })
    }
}

/// A new line item of a deal; the unit price in minor units of the deal's currency.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewLineItem {
    pub name: String,
    #[uniffi(default = 1)]
    pub quantity: u32,
    pub unit_price_minor: i64,
    /// Whole percent, 0–100.
    #[uniffi(default = 0)]
    pub discount_percent: u8,
}

impl From<NewLineItem> for rc::NewLineItem {
    fn from(n: NewLineItem) -> Self {
        rc::NewLineItem {
            name: n.name,
            quantity: n.quantity,
            unit_price_minor: n.unit_price_minor,
            discount_percent: n.discount_percent,
        }
    }
}

/// Fields of a line item to change; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct LineItemChange {
    #[uniffi(default)]
    pub name: Option<String>,
    #[uniffi(default)]
    pub quantity: Option<u32>,
    #[uniffi(default)]
    pub unit_price_minor: Option<i64>,
    #[uniffi(default)]
    pub discount_percent: Option<u8>,
}

impl From<LineItemChange> for rc::LineItemChange {
    fn from(c: LineItemChange) -> Self {
        rc::LineItemChange {
            name: c.name,
            quantity: c.quantity,
            unit_price_minor: c.unit_price_minor,
            discount_percent: c.discount_percent,
        }
    }
}

/// What `holdInteraction` records when a planned interaction took place.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct HeldInteraction {
    /// When it started (default: now).
    #[uniffi(default)]
    pub at: Option<SystemTime>,
    /// When it ended.
    #[uniffi(default)]
    pub until: Option<SystemTime>,
    /// What came of it.
    #[uniffi(default)]
    pub outcome: Option<String>,
    /// Notes on it (replace the notes made when it was planned).
    #[uniffi(default)]
    pub notes: Option<String>,
}

impl From<HeldInteraction> for rc::HeldInteraction {
    fn from(h: HeldInteraction) -> Self {
        rc::HeldInteraction { at: opt_instant(h.at), until: opt_instant(h.until), outcome: h.outcome, notes: h.notes }
    }
}

/// A new interaction. Only `kind` and `subject` are required; it is held, now, by default.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewInteraction {
    pub kind: InteractionKind,
    pub subject: String,
    #[uniffi(default)]
    pub direction: Option<Direction>,
    #[uniffi(default)]
    pub status: Option<InteractionStatus>,
    #[uniffi(default)]
    pub planned_start: Option<SystemTime>,
    #[uniffi(default)]
    pub planned_end: Option<SystemTime>,
    #[uniffi(default)]
    pub actual_start: Option<SystemTime>,
    #[uniffi(default)]
    pub actual_end: Option<SystemTime>,
    /// Contact ids.
    #[uniffi(default)]
    pub contacts: Vec<String>,
    /// Deal id.
    #[uniffi(default)]
    pub deal: Option<String>,
    #[uniffi(default)]
    pub staff: Vec<String>,
    #[uniffi(default)]
    pub department: Option<String>,
    #[uniffi(default)]
    pub notes: Option<String>,
    #[uniffi(default)]
    pub outcome: Option<String>,
    #[uniffi(default)]
    pub check_in: Option<Geo>,
}

impl TryFrom<NewInteraction> for rc::NewInteraction {
    type Error = RapportError;

    fn try_from(n: NewInteraction) -> Result<Self, RapportError> {
        let mut new = rc::NewInteraction::new(n.kind, n.subject);
        if let Some(status) = n.status {
            new.status = status;
        }
        new.direction = n.direction;
        new.planned_start = opt_instant(n.planned_start);
        new.planned_end = opt_instant(n.planned_end);
        new.actual_start = opt_instant(n.actual_start);
        new.actual_end = opt_instant(n.actual_end);
        new.contacts = n.contacts.iter().map(|c| id(c)).collect::<Result<_, _>>()?;
        new.deal = n.deal.as_deref().map(id).transpose()?;
        new.staff = n.staff.into_iter().collect();
        new.department = n.department;
        new.notes = n.notes;
        new.outcome = n.outcome;
        new.check_in = n.check_in;
        Ok(new)
    }
}

/// A new task.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewTask {
    pub title: String,
    /// `YYYY-MM-DD`.
    #[uniffi(default)]
    pub due: Option<String>,
    #[uniffi(default)]
    pub assignee: Option<String>,
}

impl TryFrom<NewTask> for rc::NewTask {
    type Error = RapportError;

    fn try_from(n: NewTask) -> Result<Self, RapportError> {
        Ok(rc::NewTask { title: n.title, due: opt_date("task.due", n.due)?, assignee: n.assignee })
    }
}

/// A new tie between two contacts or parties (ids may point into other accounts).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewTie {
    pub from: String,
    pub to: String,
    pub kind: TieKind,
    #[uniffi(default)]
    pub role: Option<String>,
}

impl TryFrom<NewTie> for rc::NewTie {
    type Error = RapportError;

    fn try_from(n: NewTie) -> Result<Self, RapportError> {
        let uuid = |field: &str, v: &str| {
            v.trim().parse().map_err(|_| RapportError::InvalidInput {
                message: format!("invalid value for tie.{field}: expected a UUID"),
            })
        };
        Ok(rc::NewTie { from: uuid("from", &n.from)?, to: uuid("to", &n.to)?, kind: n.kind, role: n.role })
    }
}

/// A consent or refusal to record for a contact, per channel and topic.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewConsent {
    pub channel: Channel,
    pub topic: String,
    pub status: ConsentStatus,
    #[uniffi(default)]
    pub reason: Option<String>,
}

impl From<NewConsent> for rc::NewConsent {
    fn from(n: NewConsent) -> Self {
        rc::NewConsent { channel: n.channel, topic: n.topic, status: n.status, reason: n.reason }
    }
}

/// Filters for `Replica.list`. Every set field must match; the default lists everything not deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct AccountFilter {
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub team: Option<String>,
    #[uniffi(default)]
    pub territory: Option<String>,
    #[uniffi(default)]
    pub loyalty_rung: Option<LoyaltyRung>,
    #[uniffi(default)]
    pub lifecycle_phase: Option<LifecyclePhase>,
    #[uniffi(default)]
    pub value_tier: Option<ValueTier>,
    #[uniffi(default)]
    pub status: Option<rc::AccountStatus>,
    /// Accounts with at least one deal in this stage.
    #[uniffi(default)]
    pub deal_stage: Option<String>,
    #[uniffi(default)]
    pub tag: Option<String>,
    /// Full-text query over names, contacts and notes.
    #[uniffi(default)]
    pub text: Option<String>,
    /// Only accounts with open conflicts.
    #[uniffi(default)]
    pub with_conflicts: bool,
    /// Include soft-deleted accounts.
    #[uniffi(default)]
    pub include_deleted: bool,
    #[uniffi(default)]
    pub limit: Option<u32>,
}

impl From<AccountFilter> for rc::AccountFilter {
    fn from(f: AccountFilter) -> Self {
        rc::AccountFilter {
            owner: f.owner,
            team: f.team,
            territory: f.territory,
            loyalty_rung: f.loyalty_rung,
            lifecycle_phase: f.lifecycle_phase,
            value_tier: f.value_tier,
            status: f.status,
            deal_stage: f.deal_stage,
            tag: f.tag,
            text: f.text,
            with_conflicts: f.with_conflicts,
            include_deleted: f.include_deleted,
            limit: f.limit,
        }
    }
}

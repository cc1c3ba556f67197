//! What the apps read: core's records as uniffi Records and Enums.
//!
//! Core's closed value sets (rungs, channels, statuses…) are exported as they
//! are, with `#[uniffi::remote(Enum)]`: the variant lists below restate core's
//! and the compiler checks that they match. Records are mirrored field by
//! field, with the few type changes the other side needs: ids are strings,
//! instants are `SystemTime` (Kotlin `Instant`, Swift `Date`, Python
//! `datetime`), dates are `"YYYY-MM-DD"` strings, sets are lists.

use std::collections::HashMap;
use std::time::SystemTime;

use rapport_core as rc;
use rapport_core::{
    AccountStatus, Address, Channel, ConsentStatus, DealOutcome, Direction, ForecastCategory, Geo, InteractionKind,
    InteractionStatus, LifecyclePhase, LoyaltyRung, Money, NameKind, PartyKind, Phone, PhoneKind, ReasonCatalogue,
    Role, StageKind, TaskStatus, TieKind, ValueTier,
};
use time::{Date, OffsetDateTime};

#[uniffi::remote(Enum)]
pub enum PartyKind {
    Organization,
    Person,
}

#[uniffi::remote(Enum)]
pub enum Role {
    Customer,
    Supplier,
    Partner,
    Reseller,
    Government,
    Internal,
}

#[uniffi::remote(Enum)]
pub enum ValueTier {
    Key,
    Standard,
    Low,
}

#[uniffi::remote(Enum)]
pub enum LoyaltyRung {
    Prospect,
    Customer,
    Client,
    Supporter,
    Advocate,
    Partner,
}

#[uniffi::remote(Enum)]
pub enum LifecyclePhase {
    PreRelationship,
    Early,
    Development,
    LongTerm,
    Final,
}

#[uniffi::remote(Enum)]
pub enum AccountStatus {
    Active,
    Former,
    Lost,
}

#[uniffi::remote(Enum)]
pub enum Channel {
    Phone,
    Email,
    Sms,
    Messenger,
    Visit,
    Post,
}

#[uniffi::remote(Enum)]
pub enum PhoneKind {
    Mobile,
    Work,
    Home,
    Fax,
    Other,
}

#[uniffi::remote(Enum)]
pub enum ConsentStatus {
    OptIn,
    OptOut,
    Refused,
}

#[uniffi::remote(Enum)]
pub enum ForecastCategory {
    Pipeline,
    BestCase,
    Commit,
    Omitted,
    Closed,
}

#[uniffi::remote(Enum)]
pub enum DealOutcome {
    Open,
    Won,
    Lost,
}

/// What a directory name names.
#[uniffi::remote(Enum)]
pub enum NameKind {
    Owner,
    Team,
    Territory,
}

/// The users, teams and territories the server knows, as this device last
/// fetched them (at each finished sync): owners are chosen from it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Directory {
    /// Users accounts may be given to.
    pub users: Vec<String>,
    /// Users an administrator deleted (old records still name them).
    pub former_users: Vec<String>,
    pub teams: Vec<String>,
    pub territories: Vec<String>,
}

impl From<rc::Directory> for Directory {
    fn from(d: rc::Directory) -> Self {
        Directory { users: d.users, former_users: d.former_users, teams: d.teams, territories: d.territories }
    }
}

/// Which reason catalogue of the settings.
#[uniffi::remote(Enum)]
pub enum ReasonCatalogue {
    /// Why deals are lost.
    LostReasons,
    /// Why relationships end.
    EndReasons,
}

#[uniffi::remote(Enum)]
pub enum StageKind {
    Open,
    Won,
    Lost,
}

#[uniffi::remote(Enum)]
pub enum InteractionKind {
    Call,
    Meeting,
    Visit,
    Email,
    Note,
}

#[uniffi::remote(Enum)]
pub enum Direction {
    Inbound,
    Outbound,
}

#[uniffi::remote(Enum)]
pub enum InteractionStatus {
    Planned,
    Held,
    NotHeld,
    Cancelled,
}

#[uniffi::remote(Enum)]
pub enum TaskStatus {
    Todo,
    Doing,
    Done,
}

#[uniffi::remote(Enum)]
pub enum TieKind {
    Professional,
    Social,
    Personal,
    Parent,
    Group,
}

/// An amount in integer minor units (cents) and an ISO 4217 currency code.
#[uniffi::remote(Record)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

/// A geographic fix in decimal degrees.
#[uniffi::remote(Record)]
pub struct Geo {
    pub lat: f64,
    pub lon: f64,
}

/// A postal address; every part optional.
#[uniffi::remote(Record)]
pub struct Address {
    #[uniffi(default)]
    pub street: Option<String>,
    #[uniffi(default)]
    pub city: Option<String>,
    #[uniffi(default)]
    pub region: Option<String>,
    #[uniffi(default)]
    pub postcode: Option<String>,
    #[uniffi(default)]
    pub country: Option<String>,
}

/// A phone number with its kind.
#[uniffi::remote(Record)]
pub struct Phone {
    pub kind: PhoneKind,
    pub number: String,
}

pub(crate) fn instant(t: OffsetDateTime) -> SystemTime {
    t.into()
}

pub(crate) fn date(d: Date) -> String {
    d.to_string()
}

fn ids<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|i| i.to_string()).collect()
}

/// A whole account as merged on this replica.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Account {
    pub id: String,
    pub schema_version: u64,
    pub party: Party,
    pub contacts: Vec<Contact>,
    pub deals: Vec<Deal>,
    /// Ordered by time, ties broken by id.
    pub interactions: Vec<Interaction>,
    pub tasks: Vec<Task>,
    pub ties: Vec<Tie>,
    pub ladder_history: Vec<LadderMove>,
    pub lifecycle_history: Vec<LifecycleMove>,
    /// Sum of every device's visit increments.
    pub visit_count: i64,
    pub deleted: Option<Deletion>,
    /// Set when this account was merged into another: edit that one instead.
    pub merged_into: Option<String>,
    pub merged_from: Vec<String>,
}

impl From<rc::Account> for Account {
    fn from(a: rc::Account) -> Self {
        Account {
            id: a.id.to_string(),
            schema_version: a.schema_version,
            party: a.party.into(),
            contacts: a.contacts.into_iter().map(Into::into).collect(),
            deals: a.deals.into_iter().map(Into::into).collect(),
            interactions: a.interactions.into_iter().map(Into::into).collect(),
            tasks: a.tasks.into_iter().map(Into::into).collect(),
            ties: a.ties.into_iter().map(Into::into).collect(),
            ladder_history: a.ladder_history.into_iter().map(Into::into).collect(),
            lifecycle_history: a.lifecycle_history.into_iter().map(Into::into).collect(),
            visit_count: a.visit_count,
            deleted: a.deleted.map(|d| Deletion { at: instant(d.at), by: d.by }),
            merged_into: a.merged_into.map(|id| id.to_string()),
            merged_from: ids(a.merged_from),
        }
    }
}

/// The party an account is about.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Party {
    pub kind: PartyKind,
    pub name: String,
    pub roles: Vec<Role>,
    pub industry: Option<String>,
    pub website: Option<String>,
    /// A state registry or tax number (ЄДРПОУ, ИНН), as typed.
    pub registration_code: Option<String>,
    pub address: Address,
    pub geo: Option<Geo>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub parent: Option<String>,
    pub value_tier: ValueTier,
    pub loyalty_rung: LoyaltyRung,
    pub lifecycle_phase: LifecyclePhase,
    pub status: AccountStatus,
    pub ending: Option<Ending>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub demographics: HashMap<String, String>,
    pub buying_habits: HashMap<String, String>,
    pub notes: String,
    pub created_by: String,
    pub created_at: SystemTime,
    pub updated_by: String,
    pub updated_at: SystemTime,
}

impl From<rc::Party> for Party {
    fn from(p: rc::Party) -> Self {
        Party {
            kind: p.kind,
            name: p.name,
            roles: p.roles.into_iter().collect(),
            industry: p.industry,
            website: p.website,
            registration_code: p.registration_code,
            address: p.address,
            geo: p.geo,
            owner: p.owner,
            team: p.team,
            territory: p.territory,
            parent: p.parent.map(|id| id.to_string()),
            value_tier: p.value_tier,
            loyalty_rung: p.loyalty_rung,
            lifecycle_phase: p.lifecycle_phase,
            status: p.status,
            ending: p.ending.map(|e| Ending { reason: e.reason, on: date(e.on), phase: e.phase }),
            source: p.source,
            tags: p.tags.into_iter().collect(),
            demographics: p.demographics.into_iter().collect(),
            buying_habits: p.buying_habits.into_iter().collect(),
            notes: p.notes,
            created_by: p.created_by,
            created_at: instant(p.created_at),
            updated_by: p.updated_by,
            updated_at: instant(p.updated_at),
        }
    }
}

/// How and why a relationship ended.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Ending {
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub on: String,
    pub phase: LifecyclePhase,
}

/// A soft deletion: hidden from lists, kept, restorable.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Deletion {
    pub at: SystemTime,
    pub by: String,
}

/// A person at the party.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub job_title: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<Phone>,
    pub preferred_channel: Option<Channel>,
    pub language: Option<String>,
    /// Every consent and refusal ever recorded, oldest first.
    pub consents: Vec<Consent>,
    /// False for a person who left: kept, but inactive.
    pub active: bool,
}

impl From<rc::Contact> for Contact {
    fn from(c: rc::Contact) -> Self {
        Contact {
            id: c.id.to_string(),
            name: c.name,
            job_title: c.job_title,
            emails: c.emails.into_iter().collect(),
            phones: c.phones,
            preferred_channel: c.preferred_channel,
            language: c.language,
            consents: c.consents.into_iter().map(Into::into).collect(),
            active: c.active,
        }
    }
}

/// A recorded consent or refusal for a channel and topic.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Consent {
    pub id: String,
    pub channel: Channel,
    pub topic: String,
    pub status: ConsentStatus,
    pub reason: Option<String>,
    pub at: SystemTime,
    pub by: String,
}

impl From<rc::Consent> for Consent {
    fn from(c: rc::Consent) -> Self {
        Consent {
            id: c.id.to_string(),
            channel: c.channel,
            topic: c.topic,
            status: c.status,
            reason: c.reason,
            at: instant(c.at),
            by: c.by,
        }
    }
}

/// A deal (opportunity).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Deal {
    pub id: String,
    pub title: String,
    pub amount: Money,
    /// Pipeline stage id (see `Replica.settings().stages`).
    pub stage: String,
    pub probability: u8,
    pub forecast: ForecastCategory,
    pub expected_close: Option<String>,
    pub next_step: Option<String>,
    pub next_step_due: Option<String>,
    pub outcome: DealOutcome,
    pub lost_reason: Option<String>,
    pub lost_note: Option<String>,
    pub primary_contact: Option<String>,
    /// Every stage move, oldest first.
    pub stage_history: Vec<StageMove>,
    /// Products and services sold, oldest first.
    pub line_items: Vec<LineItem>,
    /// Whether `amount` is the line items' total (`false`: set by hand).
    pub amount_from_line_items: bool,
}

/// One product or service sold in a deal; prices in minor units of the deal's currency.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LineItem {
    pub id: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    /// Whole percent, 0–100.
    pub discount_percent: u8,
    /// quantity × unit price − discount, rounded to a minor unit.
    pub total_minor: i64,
}

impl From<rc::LineItem> for LineItem {
    fn from(i: rc::LineItem) -> Self {
        LineItem {
            id: i.id.to_string(),
            total_minor: i.total_minor().unwrap_or(i64::MAX),
            name: i.name,
            quantity: i.quantity,
            unit_price_minor: i.unit_price_minor,
            discount_percent: i.discount_percent,
        }
    }
}

impl From<rc::Deal> for Deal {
    fn from(d: rc::Deal) -> Self {
        Deal {
            id: d.id.to_string(),
            title: d.title,
            amount: d.amount,
            stage: d.stage,
            probability: d.probability,
            forecast: d.forecast,
            expected_close: d.expected_close.map(date),
            next_step: d.next_step,
            next_step_due: d.next_step_due.map(date),
            outcome: d.outcome,
            lost_reason: d.lost_reason,
            lost_note: d.lost_note,
            primary_contact: d.primary_contact.map(|c| c.to_string()),
            stage_history: d
                .stage_history
                .into_iter()
                .map(|m| StageMove { from: m.from, to: m.to, at: instant(m.at), by: m.by })
                .collect(),
            line_items: d.line_items.into_iter().map(LineItem::from).collect(),
            amount_from_line_items: d.amount_from_line_items,
        }
    }
}

/// One move of a deal between stages.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StageMove {
    pub from: Option<String>,
    pub to: String,
    pub at: SystemTime,
    pub by: String,
}

/// A logged interaction (call, meeting, visit…).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Interaction {
    pub id: String,
    pub kind: InteractionKind,
    pub direction: Option<Direction>,
    pub status: InteractionStatus,
    pub planned_start: Option<SystemTime>,
    pub planned_end: Option<SystemTime>,
    pub actual_start: Option<SystemTime>,
    pub actual_end: Option<SystemTime>,
    pub contacts: Vec<String>,
    pub deal: Option<String>,
    pub staff: Vec<String>,
    pub department: Option<String>,
    pub subject: String,
    pub notes: Option<String>,
    pub outcome: Option<String>,
    pub check_in: Option<Geo>,
    pub logged_by: String,
    pub logged_at: SystemTime,
}

impl From<rc::Interaction> for Interaction {
    fn from(i: rc::Interaction) -> Self {
        Interaction {
            id: i.id.to_string(),
            kind: i.kind,
            direction: i.direction,
            status: i.status,
            planned_start: i.planned_start.map(instant),
            planned_end: i.planned_end.map(instant),
            actual_start: i.actual_start.map(instant),
            actual_end: i.actual_end.map(instant),
            contacts: ids(i.contacts),
            deal: i.deal.map(|d| d.to_string()),
            staff: i.staff.into_iter().collect(),
            department: i.department,
            subject: i.subject,
            notes: i.notes,
            outcome: i.outcome,
            check_in: i.check_in,
            logged_by: i.logged_by,
            logged_at: instant(i.logged_at),
        }
    }
}

/// A to-do item.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub due: Option<String>,
    pub assignee: Option<String>,
    pub status: TaskStatus,
}

impl From<rc::Task> for Task {
    fn from(t: rc::Task) -> Self {
        Task { id: t.id.to_string(), title: t.title, due: t.due.map(date), assignee: t.assignee, status: t.status }
    }
}

/// A tie between two contacts or parties (ids may point into other accounts).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Tie {
    pub id: String,
    pub from: String,
    pub to: String,
    pub kind: TieKind,
    pub role: Option<String>,
}

impl From<rc::Tie> for Tie {
    fn from(t: rc::Tie) -> Self {
        Tie { id: t.id.to_string(), from: t.from.to_string(), to: t.to.to_string(), kind: t.kind, role: t.role }
    }
}

/// A move on the loyalty ladder.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LadderMove {
    pub id: String,
    pub from: LoyaltyRung,
    pub to: LoyaltyRung,
    pub at: SystemTime,
    pub by: String,
    pub reason: Option<String>,
}

impl From<rc::LadderMove> for LadderMove {
    fn from(m: rc::LadderMove) -> Self {
        LadderMove { id: m.id.to_string(), from: m.from, to: m.to, at: instant(m.at), by: m.by, reason: m.reason }
    }
}

/// A move between relationship lifecycle phases.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LifecycleMove {
    pub id: String,
    pub from: LifecyclePhase,
    pub to: LifecyclePhase,
    pub at: SystemTime,
    pub by: String,
    pub reason: Option<String>,
}

impl From<rc::LifecycleMove> for LifecycleMove {
    fn from(m: rc::LifecycleMove) -> Self {
        LifecycleMove { id: m.id.to_string(), from: m.from, to: m.to, at: instant(m.at), by: m.by, reason: m.reason }
    }
}

/// One row of an account list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountSummary {
    pub id: String,
    pub name: String,
    pub kind: PartyKind,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub loyalty_rung: LoyaltyRung,
    pub lifecycle_phase: LifecyclePhase,
    pub value_tier: ValueTier,
    pub status: AccountStatus,
    pub deleted: bool,
    pub open_deals: u32,
    /// Number of fields with concurrent values.
    pub conflicts: u32,
    pub updated_at: SystemTime,
}

impl From<rc::AccountSummary> for AccountSummary {
    fn from(s: rc::AccountSummary) -> Self {
        AccountSummary {
            id: s.id.to_string(),
            name: s.name,
            kind: s.kind,
            owner: s.owner,
            team: s.team,
            territory: s.territory,
            loyalty_rung: s.loyalty_rung,
            lifecycle_phase: s.lifecycle_phase,
            value_tier: s.value_tier,
            status: s.status,
            deleted: s.deleted,
            open_deals: s.open_deals,
            conflicts: s.conflicts,
            updated_at: instant(s.updated_at),
        }
    }
}

/// A field with concurrent values (edited on two devices while apart).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conflict {
    /// The field path, as `Replica.resolveConflict` / `setField` accept it.
    pub field: String,
    pub values: Vec<ConflictValue>,
}

/// One of a conflict's values.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConflictValue {
    /// The value as text (the form `setField` accepts); empty means cleared.
    pub value: String,
    pub user: String,
    pub device: String,
    pub actor: String,
    pub at: SystemTime,
    /// Whether this is the value shown while the conflict stands.
    pub winner: bool,
}

impl From<rc::Conflict> for Conflict {
    fn from(c: rc::Conflict) -> Self {
        Conflict {
            field: c.field,
            values: c
                .values
                .into_iter()
                .map(|v| ConflictValue {
                    value: v.value,
                    user: v.user,
                    device: v.device,
                    actor: v.actor,
                    at: instant(v.at),
                    winner: v.winner,
                })
                .collect(),
        }
    }
}

/// A conflict and the account it is in.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountConflict {
    pub account_id: String,
    pub conflict: Conflict,
}

/// One change to an account: who, on which device, when, what.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryEntry {
    /// Pass to `Replica.accountAt` to see the account right after this change.
    pub hash: String,
    pub user: String,
    pub device: String,
    pub actor: String,
    pub at: SystemTime,
    /// The operation, e.g. `account.set_field`, `deal.stage`.
    pub op: String,
    /// Field paths the change touched.
    pub fields: Vec<String>,
}

impl From<rc::HistoryEntry> for HistoryEntry {
    fn from(h: rc::HistoryEntry) -> Self {
        HistoryEntry {
            hash: h.hash,
            user: h.user,
            device: h.device,
            actor: h.actor,
            at: instant(h.at),
            op: h.op,
            fields: h.fields,
        }
    }
}

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Stage {
    pub id: String,
    pub name: String,
    /// Default probability (0–100) applied when a deal enters the stage.
    pub probability: u8,
    pub kind: StageKind,
    pub order: u32,
    pub stale_after_days: u32,
}

impl From<Stage> for rc::Stage {
    fn from(s: Stage) -> Self {
        rc::Stage {
            id: s.id,
            name: s.name,
            probability: s.probability,
            kind: s.kind,
            order: s.order,
            stale_after_days: s.stale_after_days,
        }
    }
}

/// Workspace-wide settings, as merged on this replica.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Settings {
    pub stages: Vec<Stage>,
    pub lost_reasons: Vec<String>,
    pub end_reasons: Vec<String>,
    pub tags: Vec<String>,
}

impl From<&rc::Settings> for Settings {
    fn from(s: &rc::Settings) -> Self {
        Settings {
            stages: s
                .stages
                .iter()
                .map(|st| Stage {
                    id: st.id.clone(),
                    name: st.name.clone(),
                    probability: st.probability,
                    kind: st.kind,
                    order: st.order,
                    stale_after_days: st.stale_after_days,
                })
                .collect(),
            lost_reasons: s.lost_reasons.clone(),
            end_reasons: s.end_reasons.clone(),
            tags: s.tags.clone(),
        }
    }
}

/// A document whose latest local edits the server refused. The edits are kept.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Rejection {
    /// An account id, or `settings`.
    pub document: String,
    pub reason: String,
}

/// An edit the server refused, kept aside on this device (discard or retry it).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedEdit {
    pub id: i64,
    pub account_id: String,
    /// The fields the edit changes, e.g. `party.owner`.
    pub fields: Vec<String>,
    /// Why it was refused (names roles and fields, no customer data).
    pub reason: String,
    pub refused_at: SystemTime,
}

impl From<rapport_core::RefusedEdit> for RefusedEdit {
    fn from(e: rapport_core::RefusedEdit) -> Self {
        RefusedEdit {
            id: e.id.0,
            account_id: e.account.to_string(),
            fields: e.fields,
            reason: e.reason,
            refused_at: instant(e.refused_at),
        }
    }
}

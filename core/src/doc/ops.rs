//! Validated write operations on an account document.
//!
//! Every public operation validates all of its input before writing, then
//! writes and commits exactly one change attributed to the [`Author`]. On any
//! error the pending operations are rolled back: the document is unchanged.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::access::{self as a, obj, obj_path};
use super::fields::{Collection, FieldPath, Kind, retarget, valid_free_key};
use super::{AccountDoc, Author, SCHEMA_VERSION, commit_options};
use crate::error::{Error, Result};
use crate::model::*;
use crate::settings::Settings;

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

fn required(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(v.to_owned()) }
}

fn clean(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn validate_money(field: &str, m: &Money) -> Result<()> {
    if m.minor < 0 {
        return Err(Error::invalid(format!("{field}.amount"), "must not be negative"));
    }
    crate::model::parse_currency(&m.currency)
        .map_err(|_| Error::invalid(format!("{field}.currency"), "expected a three-letter ISO 4217 code"))?;
    Ok(())
}

fn validate_probability(field: &str, p: Option<u8>) -> Result<()> {
    match p {
        Some(p) if p > 100 => Err(Error::invalid(field, "must be between 0 and 100")),
        _ => Ok(()),
    }
}

fn validate_tag(tag: &str) -> Result<String> {
    let t = tag.trim();
    if t.is_empty() || t.len() > 64 {
        return Err(Error::invalid("party.tags", "a tag must be 1 to 64 characters"));
    }
    Ok(t.to_owned())
}

fn validate_email(email: &str) -> Result<String> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && !e.contains(char::is_whitespace);
    if ok { Ok(e.to_owned()) } else { Err(Error::invalid("contact.emails", "not an email address")) }
}

fn validate_phone(number: &str) -> Result<String> {
    let n = number.trim();
    let digits = n.chars().filter(char::is_ascii_digit).count();
    let allowed = n.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if allowed && (3..=20).contains(&digits) {
        Ok(n.to_owned())
    } else {
        Err(Error::invalid("contact.phones", "expected a phone number of 3 to 20 digits"))
    }
}

impl AccountDoc {
    /// Creates a new account document, written by `author` in one change.
    pub fn create(author: &Author, new: &NewAccount) -> Result<AccountDoc> {
        let name = required("party.name", &new.name)?;
        let tags = new.tags.iter().map(|t| validate_tag(t)).collect::<Result<Vec<_>>>()?;
        for key in new.demographics.keys().chain(new.buying_habits.keys()) {
            if !valid_free_key(key) {
                return Err(Error::invalid("party.demographics", "keys must be 1 to 64 characters without dots"));
            }
        }
        let id = new.id.unwrap_or_default();
        let now = OffsetDateTime::now_utc();
        let mut doc = AutoCommit::new().with_actor(author.actor.clone());
        write_genesis(&mut doc, author, id, &name, &tags, new, now)?;
        doc.commit_with(commit_options(author, "account.create", now));
        Ok(AccountDoc { doc, id })
    }
}

#[allow(clippy::too_many_arguments)]
fn write_genesis(
    doc: &mut AutoCommit,
    author: &Author,
    id: AccountId,
    name: &str,
    tags: &[String],
    new: &NewAccount,
    now: OffsetDateTime,
) -> Result<()> {
    let root = automerge::ROOT;
    doc.put(&root, "type", "account")?;
    doc.put(&root, "schema", ScalarValue::Uint(SCHEMA_VERSION))?;
    doc.put(&root, "id", id.to_string())?;
    doc.put(&root, "created_by", author.user.as_str())?;
    a::put_ts(doc, &root, "created_at", now)?;
    a::put_map(doc, &root, "merged_from")?;
    for key in ["contacts", "deals", "interactions", "tasks", "ties", "ladder", "lifecycle"] {
        a::put_map(doc, &root, key)?;
    }
    let counters = a::put_map(doc, &root, "counters")?;
    doc.put(&counters, "visits", ScalarValue::counter(0))?;

    let p = a::put_map(doc, &root, "party")?;
    doc.put(&p, "kind", new.kind.as_str())?;
    doc.put(&p, "name", name)?;
    // The creator owns a new account unless told otherwise, as in any CRM (a
    // rep's server only accepts accounts in the rep's scope).
    let owner = Some(clean(&new.owner).unwrap_or_else(|| author.user.clone()));
    for (key, value) in [
        ("industry", &new.industry),
        ("website", &new.website),
        ("owner", &owner),
        ("team", &new.team),
        ("territory", &new.territory),
        ("source", &new.source),
    ] {
        if let Some(v) = clean(value) {
            doc.put(&p, key, v)?;
        }
    }
    if let Some(geo) = new.geo {
        Geo::new(geo.lat, geo.lon)?;
        doc.put(&p, "geo", geo.to_string())?;
    }
    if let Some(parent) = new.parent {
        doc.put(&p, "parent", parent.to_string())?;
    }
    doc.put(&p, "value_tier", new.value_tier.as_str())?;
    doc.put(&p, "loyalty_rung", new.loyalty_rung.as_str())?;
    doc.put(&p, "lifecycle_phase", new.lifecycle_phase.as_str())?;
    doc.put(&p, "status", AccountStatus::Active.as_str())?;
    let addr = a::put_map(doc, &p, "address")?;
    for (key, value) in [
        ("street", &new.address.street),
        ("city", &new.address.city),
        ("region", &new.address.region),
        ("postcode", &new.address.postcode),
        ("country", &new.address.country),
    ] {
        if let Some(v) = clean(value) {
            doc.put(&addr, key, v)?;
        }
    }
    let roles = a::put_map(doc, &p, "roles")?;
    for r in &new.roles {
        doc.put(&roles, r.as_str(), true)?;
    }
    let tag_map = a::put_map(doc, &p, "tags")?;
    for t in tags {
        doc.put(&tag_map, t.as_str(), true)?;
    }
    for (key, values) in [("demographics", &new.demographics), ("buying_habits", &new.buying_habits)] {
        let m = a::put_map(doc, &p, key)?;
        for (k, v) in values {
            doc.put(&m, k.as_str(), v.as_str())?;
        }
    }
    let notes = doc.put_object(&p, "notes", ObjType::Text)?;
    if !new.notes.is_empty() {
        doc.splice_text(&notes, 0, 0, &new.notes)?;
    }
    Ok(())
}

/// Edits one account as one author. Obtained from [`AccountDoc::edit`].
#[derive(Debug)]
pub struct Editor<'a> {
    doc: &'a mut AccountDoc,
    author: &'a Author,
    settings: &'a Settings,
}

impl<'a> Editor<'a> {
    pub(super) fn new(doc: &'a mut AccountDoc, author: &'a Author, settings: &'a Settings) -> Self {
        Editor { doc, author, settings }
    }

    /// Runs `f` as one change: commit on success, roll back on error.
    fn change<T>(&mut self, op: &str, f: impl FnOnce(&mut Ctx<'_>) -> Result<T>) -> Result<T> {
        self.change_inner(op, false, f)
    }

    fn change_inner<T>(
        &mut self,
        op: &str,
        allow_merged: bool,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        if !allow_merged && let Some(into) = a::string(&self.doc.doc, &automerge::ROOT, "merged_into") {
            return Err(Error::AccountMerged { id: self.doc.id.to_string(), into });
        }
        let now = OffsetDateTime::now_utc();
        let mut ctx = Ctx { doc: &mut self.doc.doc, author: self.author, now };
        match f(&mut ctx) {
            Ok(v) => {
                self.doc.doc.commit_with(commit_options(self.author, op, now));
                Ok(v)
            }
            Err(e) => {
                self.doc.doc.rollback();
                Err(e)
            }
        }
    }

    /// Sets one field given as a path (see [`FieldPath`]) to a value given as text.
    /// An empty value clears an optional field. This is also how a conflict is resolved.
    pub fn set_field(&mut self, path: &str, value: &str) -> Result<()> {
        let field: FieldPath = path.parse()?;
        let stored = field.parse_value(value)?;
        match field.kind {
            Kind::Stage => {
                let deal = DealId(field.record.unwrap_or_default());
                return self.move_deal_stage(deal, value.trim(), None);
            }
            Kind::Rung => {
                return self.move_ladder(value.parse().map_err(|e| retarget(e, &field.to_string()))?, None);
            }
            Kind::Phase => {
                return self.move_lifecycle(value.parse().map_err(|e| retarget(e, &field.to_string()))?, None);
            }
            _ => {}
        }
        self.change("account.set_field", |c| {
            let (path, key) = field.location();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let target = obj_path(c.doc, &path)
                .ok_or_else(|| Error::not_found(field.collection.record_kind(), field.record.unwrap_or_default()))?;
            a::put_fresh(c.doc, &target, &key, stored)
        })
    }

    pub fn add_tag(&mut self, tag: &str) -> Result<()> {
        let tag = validate_tag(tag)?;
        self.change("account.add_tag", |c| c.set_member(&["party", "tags"], &tag, true))
    }

    /// Removes a tag; only this replica's view of it is removed, so a concurrent re-add wins.
    pub fn remove_tag(&mut self, tag: &str) -> Result<()> {
        self.change("account.remove_tag", |c| c.set_member(&["party", "tags"], tag.trim(), false))
    }

    pub fn add_role(&mut self, role: Role) -> Result<()> {
        self.change("account.add_role", |c| c.set_member(&["party", "roles"], role.as_str(), true))
    }

    pub fn remove_role(&mut self, role: Role) -> Result<()> {
        self.change("account.remove_role", |c| c.set_member(&["party", "roles"], role.as_str(), false))
    }

    /// Replaces the notes text; the edit is stored as character-level splices, so
    /// concurrent typing on another device is kept.
    pub fn set_notes(&mut self, text: &str) -> Result<()> {
        self.change("account.notes", |c| {
            let notes = c.notes()?;
            c.doc.update_text(&notes, text)?;
            Ok(())
        })
    }

    /// Inserts `insert` at character `pos` after deleting `delete` characters.
    pub fn splice_notes(&mut self, pos: usize, delete: usize, insert: &str) -> Result<()> {
        self.change("account.notes", |c| {
            let notes = c.notes()?;
            let len = c.doc.length(&notes);
            if pos > len || delete > len - pos {
                return Err(Error::invalid("party.notes", "position is outside the text"));
            }
            c.doc.splice_text(&notes, pos, delete as isize, insert)?;
            Ok(())
        })
    }

    pub fn add_contact(&mut self, new: &NewContact) -> Result<ContactId> {
        let contact = Contact {
            id: ContactId::new(),
            name: required("contact.name", &new.name)?,
            job_title: clean(&new.job_title),
            emails: new.emails.iter().map(|e| validate_email(e)).collect::<Result<_>>()?,
            phones: new
                .phones
                .iter()
                .map(|p| Ok(Phone { kind: p.kind, number: validate_phone(&p.number)? }))
                .collect::<Result<_>>()?,
            preferred_channel: new.preferred_channel,
            language: clean(&new.language),
            consents: Vec::new(),
            active: true,
        };
        self.change("contact.add", |c| c.write_contact(&contact))?;
        Ok(contact.id)
    }

    pub fn add_email(&mut self, contact: ContactId, email: &str) -> Result<()> {
        let email = validate_email(email)?;
        self.change("contact.add_email", |c| {
            c.record(Collection::Contacts, contact.0)?;
            c.set_member(&["contacts", &contact.to_string(), "emails"], &email, true)
        })
    }

    pub fn remove_email(&mut self, contact: ContactId, email: &str) -> Result<()> {
        self.change("contact.remove_email", |c| {
            c.record(Collection::Contacts, contact.0)?;
            c.set_member(&["contacts", &contact.to_string(), "emails"], email.trim(), false)
        })
    }

    pub fn add_phone(&mut self, contact: ContactId, phone: &Phone) -> Result<()> {
        let number = validate_phone(&phone.number)?;
        self.change("contact.add_phone", |c| {
            let o = c.record(Collection::Contacts, contact.0)?;
            let phones = obj(c.doc, &o, "phones").ok_or_else(|| damaged("contact has no phones map"))?;
            c.doc.put(&phones, number.as_str(), phone.kind.as_str())?;
            Ok(())
        })
    }

    pub fn remove_phone(&mut self, contact: ContactId, number: &str) -> Result<()> {
        self.change("contact.remove_phone", |c| {
            c.record(Collection::Contacts, contact.0)?;
            c.set_member(&["contacts", &contact.to_string(), "phones"], number.trim(), false)
        })
    }

    /// Marks a contact who left as inactive (kept, never deleted).
    pub fn deactivate_contact(&mut self, contact: ContactId) -> Result<()> {
        self.set_field(&format!("contacts.{contact}.active"), "false")
    }

    pub fn reactivate_contact(&mut self, contact: ContactId) -> Result<()> {
        self.set_field(&format!("contacts.{contact}.active"), "true")
    }

    /// Records a consent or refusal for a channel and topic; earlier records are kept.
    pub fn record_consent(&mut self, contact: ContactId, consent: &NewConsent) -> Result<Uuid> {
        let topic = required("consent.topic", &consent.topic)?;
        let id = Uuid::now_v7();
        self.change("contact.consent", |c| {
            let o = c.record(Collection::Contacts, contact.0)?;
            let map = obj(c.doc, &o, "consents").ok_or_else(|| damaged("contact has no consents map"))?;
            let entry = a::put_map(c.doc, &map, &id.to_string())?;
            c.doc.put(&entry, "channel", consent.channel.as_str())?;
            c.doc.put(&entry, "topic", topic.as_str())?;
            c.doc.put(&entry, "status", consent.status.as_str())?;
            if let Some(reason) = clean(&consent.reason) {
                c.doc.put(&entry, "reason", reason)?;
            }
            a::put_ts(c.doc, &entry, "at", c.now)?;
            c.doc.put(&entry, "by", c.author.user.as_str())?;
            Ok(())
        })?;
        Ok(id)
    }

    pub fn add_deal(&mut self, new: &NewDeal) -> Result<DealId> {
        let title = required("deal.title", &new.title)?;
        validate_money("deal", &new.amount)?;
        validate_probability("deal.probability", new.probability)?;
        let stage = match &new.stage {
            Some(s) => self.settings.stage(s.trim())?.clone(),
            None => self
                .settings
                .first_open_stage()
                .cloned()
                .ok_or_else(|| Error::invalid("deal.stage", "the pipeline has no open stage"))?,
        };
        if new.next_step_due.is_some() && clean(&new.next_step).is_none() {
            return Err(Error::invalid("deal.next_step", "a due date needs a next step"));
        }
        let id = DealId::new();
        self.change("deal.add", |c| {
            if let Some(pc) = new.primary_contact {
                c.record(Collection::Contacts, pc.0)?;
            }
            let outcome = outcome_for(stage.kind);
            let deal = Deal {
                id,
                title: title.clone(),
                amount: Money { minor: new.amount.minor, currency: new.amount.currency.trim().to_ascii_uppercase() },
                stage: stage.id.clone(),
                probability: new.probability.unwrap_or(stage.probability),
                forecast: new.forecast.unwrap_or(if outcome == DealOutcome::Open {
                    ForecastCategory::Pipeline
                } else {
                    ForecastCategory::Closed
                }),
                expected_close: new.expected_close,
                next_step: clean(&new.next_step),
                next_step_due: new.next_step_due,
                outcome,
                lost_reason: None,
                lost_note: None,
                primary_contact: new.primary_contact,
                stage_history: vec![StageMove {
                    from: None,
                    to: stage.id.clone(),
                    at: c.now,
                    by: c.author.user.clone(),
                }],
            };
            c.write_deal(&deal, |_| Uuid::now_v7())
        })?;
        Ok(id)
    }

    /// Moves a deal to a stage: records the move in the deal's stage history,
    /// sets the outcome from the stage's kind, and sets the probability to
    /// `probability` or, when `None`, the stage's default.
    pub fn move_deal_stage(&mut self, deal: DealId, stage: &str, probability: Option<u8>) -> Result<()> {
        validate_probability(&format!("deals.{deal}.probability"), probability)?;
        let stage = self.settings.stage(stage.trim())?.clone();
        self.change("deal.stage", |c| {
            let o = c.record(Collection::Deals, deal.0)?;
            let from = a::string(c.doc, &o, "stage");
            let history = obj(c.doc, &o, "stage_history").ok_or_else(|| damaged("deal has no stage history"))?;
            c.stage_move(&history, from.as_deref(), &stage.id)?;
            // Every field the stage implies is written fresh, so a concurrent
            // move elsewhere conflicts on all of them rather than merging into
            // a stage and an outcome that disagree.
            let outcome = outcome_for(stage.kind);
            let forecast = match (outcome, a::parsed::<ForecastCategory>(c.doc, &o, "forecast")) {
                (DealOutcome::Open, Some(ForecastCategory::Closed) | None) => ForecastCategory::Pipeline,
                (DealOutcome::Open, Some(current)) => current,
                _ => ForecastCategory::Closed,
            };
            a::put_fresh(c.doc, &o, "stage", stage.id.as_str())?;
            a::put_fresh(
                c.doc,
                &o,
                "probability",
                ScalarValue::Uint(u64::from(probability.unwrap_or(stage.probability))),
            )?;
            a::put_fresh(c.doc, &o, "outcome", outcome.as_str())?;
            a::put_fresh(c.doc, &o, "forecast", forecast.as_str())?;
            Ok(())
        })
    }

    /// Closes a deal as lost with a reason from the catalogue, moving it to the lost stage.
    pub fn mark_deal_lost(&mut self, deal: DealId, reason: &str, note: Option<&str>) -> Result<()> {
        let reason = reason.trim();
        if !self.settings.lost_reasons.iter().any(|r| r == reason) {
            return Err(Error::invalid(
                format!("deals.{deal}.lost_reason"),
                format!("not in the lost-reason catalogue ({})", self.settings.lost_reasons.join(", ")),
            ));
        }
        let stage = self
            .settings
            .stages
            .iter()
            .find(|s| s.kind == StageKind::Lost)
            .cloned()
            .ok_or_else(|| Error::invalid("deal.stage", "the pipeline has no lost stage"))?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        self.change("deal.lost", |c| {
            let o = c.record(Collection::Deals, deal.0)?;
            let from = a::string(c.doc, &o, "stage");
            let history = obj(c.doc, &o, "stage_history").ok_or_else(|| damaged("deal has no stage history"))?;
            c.stage_move(&history, from.as_deref(), &stage.id)?;
            a::put_fresh(c.doc, &o, "stage", stage.id.as_str())?;
            a::put_fresh(c.doc, &o, "probability", ScalarValue::Uint(u64::from(stage.probability)))?;
            a::put_fresh(c.doc, &o, "outcome", DealOutcome::Lost.as_str())?;
            a::put_fresh(c.doc, &o, "forecast", ForecastCategory::Closed.as_str())?;
            a::put_fresh(c.doc, &o, "lost_reason", reason)?;
            a::put_opt_str(c.doc, &o, "lost_note", note)?;
            Ok(())
        })
    }

    /// Logs an interaction (append-only). A held visit adds one to the visit counter.
    pub fn log_interaction(&mut self, new: &NewInteraction) -> Result<InteractionId> {
        let subject = required("interaction.subject", &new.subject)?;
        for (start, end) in [(new.planned_start, new.planned_end), (new.actual_start, new.actual_end)] {
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                return Err(Error::invalid("interaction.end", "ends before it starts"));
            }
        }
        let id = InteractionId::new();
        self.change("interaction.log", |c| {
            for contact in &new.contacts {
                c.record(Collection::Contacts, contact.0)?;
            }
            if let Some(deal) = new.deal {
                c.record(Collection::Deals, deal.0)?;
            }
            if let Some(geo) = new.check_in {
                Geo::new(geo.lat, geo.lon)?;
            }
            let mut staff = new.staff.clone();
            staff.insert(c.author.user.clone());
            c.write_interaction(&Interaction {
                id,
                kind: new.kind,
                direction: new.direction,
                status: new.status,
                planned_start: new.planned_start,
                planned_end: new.planned_end,
                actual_start: match (new.actual_start, new.status) {
                    (None, InteractionStatus::Held) => Some(c.now),
                    (start, _) => start,
                },
                actual_end: new.actual_end,
                contacts: new.contacts.clone(),
                deal: new.deal,
                staff,
                department: clean(&new.department),
                subject: subject.clone(),
                notes: clean(&new.notes),
                outcome: clean(&new.outcome),
                check_in: new.check_in,
                logged_by: c.author.user.clone(),
                logged_at: c.now,
            })?;
            if new.kind == InteractionKind::Visit && new.status == InteractionStatus::Held {
                let counters = obj(c.doc, &automerge::ROOT, "counters").ok_or_else(|| damaged("no counters"))?;
                c.doc.increment(&counters, "visits", 1)?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    pub fn add_task(&mut self, new: &NewTask) -> Result<TaskId> {
        let title = required("task.title", &new.title)?;
        let id = TaskId::new();
        let task = Task { id, title, due: new.due, assignee: clean(&new.assignee), status: TaskStatus::Todo };
        self.change("task.add", |c| c.write_task(&task))?;
        Ok(id)
    }

    pub fn complete_task(&mut self, task: TaskId) -> Result<()> {
        self.set_field(&format!("tasks.{task}.status"), TaskStatus::Done.as_str())
    }

    pub fn add_tie(&mut self, new: &NewTie) -> Result<TieId> {
        if new.from == new.to {
            return Err(Error::invalid("tie.to", "a tie needs two different ends"));
        }
        let id = TieId::new();
        let tie = Tie { id, from: new.from, to: new.to, kind: new.kind, role: clean(&new.role) };
        self.change("tie.add", |c| c.write_tie(&tie))?;
        Ok(id)
    }

    /// Moves the party on the loyalty ladder and records the transition.
    pub fn move_ladder(&mut self, to: LoyaltyRung, reason: Option<&str>) -> Result<()> {
        self.change("party.ladder", |c| {
            let p = c.party()?;
            let from = a::parsed::<LoyaltyRung>(c.doc, &p, "loyalty_rung").unwrap_or(LoyaltyRung::Prospect);
            a::put_fresh(c.doc, &p, "loyalty_rung", to.as_str())?;
            c.transition("ladder", from.as_str(), to.as_str(), reason)
        })
    }

    /// Moves the relationship to a lifecycle phase and records the transition.
    pub fn move_lifecycle(&mut self, to: LifecyclePhase, reason: Option<&str>) -> Result<()> {
        self.change("party.lifecycle", |c| {
            let p = c.party()?;
            let from =
                a::parsed::<LifecyclePhase>(c.doc, &p, "lifecycle_phase").unwrap_or(LifecyclePhase::PreRelationship);
            a::put_fresh(c.doc, &p, "lifecycle_phase", to.as_str())?;
            c.transition("lifecycle", from.as_str(), to.as_str(), reason)
        })
    }

    /// Ends the relationship (status former or lost) with a catalogued reason,
    /// keeping the lifecycle phase in which it ended.
    pub fn end_relationship(&mut self, status: AccountStatus, reason: &str, on: Date) -> Result<()> {
        if status == AccountStatus::Active {
            return Err(Error::invalid("party.status", "an ended relationship is former or lost"));
        }
        let reason = reason.trim();
        if !self.settings.end_reasons.iter().any(|r| r == reason) {
            return Err(Error::invalid(
                "party.end_reason",
                format!("not in the end-reason catalogue ({})", self.settings.end_reasons.join(", ")),
            ));
        }
        self.change("party.end", |c| {
            let p = c.party()?;
            let phase = a::string(c.doc, &p, "lifecycle_phase").unwrap_or_else(|| "pre_relationship".into());
            a::put_fresh(c.doc, &p, "status", status.as_str())?;
            a::put_fresh(c.doc, &p, "end_reason", reason)?;
            a::put_fresh(c.doc, &p, "ended_on", a::format_date(on))?;
            a::put_fresh(c.doc, &p, "ended_in_phase", phase)?;
            Ok(())
        })
    }

    /// Soft-deletes the account: hidden from lists, kept, restorable.
    pub fn soft_delete(&mut self) -> Result<()> {
        self.change("account.delete", |c| {
            let root = automerge::ROOT;
            a::put_fresh(c.doc, &root, "deleted_at", ScalarValue::Timestamp(a::millis(c.now)))?;
            a::put_fresh(c.doc, &root, "deleted_by", c.author.user.as_str())?;
            Ok(())
        })
    }

    pub fn restore(&mut self) -> Result<()> {
        self.change("account.restore", |c| {
            let root = automerge::ROOT;
            a::put_fresh(c.doc, &root, "deleted_at", ScalarValue::Null)?;
            a::put_fresh(c.doc, &root, "deleted_by", ScalarValue::Null)?;
            Ok(())
        })
    }

    /// Copies everything of `duplicate` that this account lacks: records by id
    /// (contacts, deals, interactions, tasks, ties, histories), tags and roles,
    /// empty scalar fields, notes, visits. Idempotent: absorbing twice adds nothing.
    pub(crate) fn absorb(&mut self, duplicate: &Account) -> Result<()> {
        self.change("account.absorb", |c| c.absorb(duplicate))
    }

    /// Turns this account into a redirect to `survivor`.
    pub(crate) fn redirect_to(&mut self, survivor: AccountId) -> Result<()> {
        self.change_inner("account.merged", true, |c| {
            c.doc.put(&automerge::ROOT, "merged_into", survivor.to_string())?;
            Ok(())
        })
    }
}

fn outcome_for(kind: StageKind) -> DealOutcome {
    match kind {
        StageKind::Open => DealOutcome::Open,
        StageKind::Won => DealOutcome::Won,
        StageKind::Lost => DealOutcome::Lost,
    }
}

fn damaged(what: &str) -> Error {
    Error::InvalidDocument(format!("document is damaged: {what}"))
}

/// The state one change works with.
struct Ctx<'d> {
    doc: &'d mut AutoCommit,
    author: &'d Author,
    now: OffsetDateTime,
}

impl Ctx<'_> {
    fn party(&self) -> Result<ObjId> {
        obj_path(self.doc, &["party"]).ok_or_else(|| damaged("no party"))
    }

    fn notes(&self) -> Result<ObjId> {
        obj_path(self.doc, &["party", "notes"]).ok_or_else(|| damaged("no notes text"))
    }

    fn collection(&self, c: Collection) -> Result<ObjId> {
        obj_path(self.doc, &[c.key()]).ok_or_else(|| damaged("missing collection"))
    }

    /// The record's map, or NotFound.
    fn record(&self, c: Collection, id: Uuid) -> Result<ObjId> {
        let map = self.collection(c)?;
        obj(self.doc, &map, &id.hyphenated().to_string()).ok_or_else(|| Error::not_found(c.record_kind(), id))
    }

    fn set_member(&mut self, path: &[&str], member: &str, present: bool) -> Result<()> {
        let set = obj_path(self.doc, path).ok_or_else(|| damaged("missing set"))?;
        if present {
            // A fresh operation each time: re-adding a member this replica
            // already sees still wins over a concurrent removal (observed-remove set).
            a::put_fresh(self.doc, &set, member, true)?;
        } else if self.doc.get(&set, member)?.is_some() {
            self.doc.delete(&set, member)?;
        }
        Ok(())
    }

    fn stage_move(&mut self, history: &ObjId, from: Option<&str>, to: &str) -> Result<()> {
        let m = a::put_map(self.doc, history, &Uuid::now_v7().to_string())?;
        if let Some(from) = from {
            self.doc.put(&m, "from", from)?;
        }
        self.doc.put(&m, "to", to)?;
        a::put_ts(self.doc, &m, "at", self.now)?;
        self.doc.put(&m, "by", self.author.user.as_str())?;
        Ok(())
    }

    fn transition(&mut self, log: &str, from: &str, to: &str, reason: Option<&str>) -> Result<()> {
        let map = obj_path(self.doc, &[log]).ok_or_else(|| damaged("missing history"))?;
        let m = a::put_map(self.doc, &map, &Uuid::now_v7().to_string())?;
        self.doc.put(&m, "from", from)?;
        self.doc.put(&m, "to", to)?;
        a::put_ts(self.doc, &m, "at", self.now)?;
        self.doc.put(&m, "by", self.author.user.as_str())?;
        if let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) {
            self.doc.put(&m, "reason", r)?;
        }
        Ok(())
    }

    fn write_contact(&mut self, contact: &Contact) -> Result<()> {
        let map = self.collection(Collection::Contacts)?;
        let o = a::put_map(self.doc, &map, &contact.id.to_string())?;
        self.doc.put(&o, "name", contact.name.as_str())?;
        if let Some(v) = &contact.job_title {
            self.doc.put(&o, "job_title", v.as_str())?;
        }
        if let Some(v) = contact.preferred_channel {
            self.doc.put(&o, "preferred_channel", v.as_str())?;
        }
        if let Some(v) = &contact.language {
            self.doc.put(&o, "language", v.as_str())?;
        }
        self.doc.put(&o, "active", contact.active)?;
        let emails = a::put_map(self.doc, &o, "emails")?;
        for e in &contact.emails {
            self.doc.put(&emails, e.as_str(), true)?;
        }
        let phones = a::put_map(self.doc, &o, "phones")?;
        for p in &contact.phones {
            self.doc.put(&phones, p.number.as_str(), p.kind.as_str())?;
        }
        let consents = a::put_map(self.doc, &o, "consents")?;
        for c in &contact.consents {
            let m = a::put_map(self.doc, &consents, &c.id.to_string())?;
            self.doc.put(&m, "channel", c.channel.as_str())?;
            self.doc.put(&m, "topic", c.topic.as_str())?;
            self.doc.put(&m, "status", c.status.as_str())?;
            if let Some(r) = &c.reason {
                self.doc.put(&m, "reason", r.as_str())?;
            }
            a::put_ts(self.doc, &m, "at", c.at)?;
            self.doc.put(&m, "by", c.by.as_str())?;
        }
        Ok(())
    }

    /// Writes a new deal record; `move_key(i)` names the i-th stage move.
    fn write_deal(&mut self, deal: &Deal, move_key: impl Fn(usize) -> Uuid) -> Result<()> {
        let deals = self.collection(Collection::Deals)?;
        let o = a::put_map(self.doc, &deals, &deal.id.to_string())?;
        self.doc.put(&o, "title", deal.title.as_str())?;
        self.doc.put(&o, "amount", ScalarValue::Int(deal.amount.minor))?;
        self.doc.put(&o, "currency", deal.amount.currency.as_str())?;
        self.doc.put(&o, "stage", deal.stage.as_str())?;
        self.doc.put(&o, "probability", ScalarValue::Uint(u64::from(deal.probability)))?;
        self.doc.put(&o, "forecast", deal.forecast.as_str())?;
        self.doc.put(&o, "outcome", deal.outcome.as_str())?;
        for (key, value) in [
            ("expected_close", deal.expected_close.map(a::format_date)),
            ("next_step", deal.next_step.clone()),
            ("next_step_due", deal.next_step_due.map(a::format_date)),
            ("lost_reason", deal.lost_reason.clone()),
            ("lost_note", deal.lost_note.clone()),
            ("primary_contact", deal.primary_contact.map(|c| c.to_string())),
        ] {
            if let Some(v) = value {
                self.doc.put(&o, key, v)?;
            }
        }
        let history = a::put_map(self.doc, &o, "stage_history")?;
        for (i, m) in deal.stage_history.iter().enumerate() {
            let e = a::put_map(self.doc, &history, &move_key(i).to_string())?;
            if let Some(f) = &m.from {
                self.doc.put(&e, "from", f.as_str())?;
            }
            self.doc.put(&e, "to", m.to.as_str())?;
            a::put_ts(self.doc, &e, "at", m.at)?;
            self.doc.put(&e, "by", m.by.as_str())?;
        }
        Ok(())
    }

    fn write_interaction(&mut self, i: &Interaction) -> Result<()> {
        let interactions = self.collection(Collection::Interactions)?;
        let o = a::put_map(self.doc, &interactions, &i.id.to_string())?;
        self.doc.put(&o, "kind", i.kind.as_str())?;
        self.doc.put(&o, "subject", i.subject.as_str())?;
        self.doc.put(&o, "status", i.status.as_str())?;
        if let Some(d) = i.direction {
            self.doc.put(&o, "direction", d.as_str())?;
        }
        a::put_opt_ts(self.doc, &o, "planned_start", i.planned_start)?;
        a::put_opt_ts(self.doc, &o, "planned_end", i.planned_end)?;
        a::put_opt_ts(self.doc, &o, "actual_start", i.actual_start)?;
        a::put_opt_ts(self.doc, &o, "actual_end", i.actual_end)?;
        let cs = a::put_map(self.doc, &o, "contacts")?;
        for c in &i.contacts {
            self.doc.put(&cs, c.to_string(), true)?;
        }
        let staff = a::put_map(self.doc, &o, "staff")?;
        for s in &i.staff {
            self.doc.put(&staff, s.as_str(), true)?;
        }
        for (key, value) in [
            ("deal", i.deal.map(|d| d.to_string())),
            ("department", i.department.clone()),
            ("notes", i.notes.clone()),
            ("outcome", i.outcome.clone()),
            ("check_in", i.check_in.map(|g| g.to_string())),
        ] {
            if let Some(v) = value {
                self.doc.put(&o, key, v)?;
            }
        }
        self.doc.put(&o, "logged_by", i.logged_by.as_str())?;
        a::put_ts(self.doc, &o, "logged_at", i.logged_at)?;
        Ok(())
    }

    fn write_task(&mut self, t: &Task) -> Result<()> {
        let tasks = self.collection(Collection::Tasks)?;
        let o = a::put_map(self.doc, &tasks, &t.id.to_string())?;
        self.doc.put(&o, "title", t.title.as_str())?;
        self.doc.put(&o, "status", t.status.as_str())?;
        if let Some(d) = t.due {
            self.doc.put(&o, "due", a::format_date(d))?;
        }
        if let Some(w) = &t.assignee {
            self.doc.put(&o, "assignee", w.as_str())?;
        }
        Ok(())
    }

    fn write_tie(&mut self, t: &Tie) -> Result<()> {
        let ties = self.collection(Collection::Ties)?;
        let o = a::put_map(self.doc, &ties, &t.id.to_string())?;
        self.doc.put(&o, "from", t.from.to_string())?;
        self.doc.put(&o, "to", t.to.to_string())?;
        self.doc.put(&o, "kind", t.kind.as_str())?;
        if let Some(r) = &t.role {
            self.doc.put(&o, "role", r.as_str())?;
        }
        Ok(())
    }

    fn absorb(&mut self, dup: &Account) -> Result<()> {
        let root = automerge::ROOT;
        let p = self.party()?;
        // Scalars this account does not have yet.
        let fills: [(&str, Option<String>); 8] = [
            ("industry", dup.party.industry.clone()),
            ("website", dup.party.website.clone()),
            ("owner", dup.party.owner.clone()),
            ("team", dup.party.team.clone()),
            ("territory", dup.party.territory.clone()),
            ("source", dup.party.source.clone()),
            ("geo", dup.party.geo.map(|g| g.to_string())),
            ("parent", dup.party.parent.map(|g| g.to_string())),
        ];
        for (key, value) in fills {
            if let Some(v) = value
                && a::string(self.doc, &p, key).is_none()
            {
                self.doc.put(&p, key, v)?;
            }
        }
        if let Some(addr) = obj(self.doc, &p, "address") {
            let a_ = &dup.party.address;
            for (key, value) in [
                ("street", &a_.street),
                ("city", &a_.city),
                ("region", &a_.region),
                ("postcode", &a_.postcode),
                ("country", &a_.country),
            ] {
                if let Some(v) = value
                    && a::string(self.doc, &addr, key).is_none()
                {
                    self.doc.put(&addr, key, v.as_str())?;
                }
            }
        }
        for r in &dup.party.roles {
            self.set_member(&["party", "roles"], r.as_str(), true)?;
        }
        for t in &dup.party.tags {
            self.set_member(&["party", "tags"], t, true)?;
        }
        for (key, values) in [("demographics", &dup.party.demographics), ("buying_habits", &dup.party.buying_habits)] {
            if let Some(m) = obj(self.doc, &p, key) {
                for (k, v) in values {
                    if a::string(self.doc, &m, k).is_none() {
                        self.doc.put(&m, k.as_str(), v.as_str())?;
                    }
                }
            }
        }
        let marker = format!("[merged from {}]", dup.id);
        let notes = self.notes()?;
        let current = self.doc.text(&notes)?;
        if !dup.party.notes.trim().is_empty() && !current.contains(&marker) {
            let addition = format!("{}{marker}\n{}", if current.is_empty() { "" } else { "\n\n" }, dup.party.notes);
            let len = self.doc.length(&notes);
            self.doc.splice_text(&notes, len, 0, &addition)?;
        }

        let contacts = self.collection(Collection::Contacts)?;
        for contact in &dup.contacts {
            if obj(self.doc, &contacts, &contact.id.to_string()).is_none() {
                self.write_contact(contact)?;
            }
        }
        let deals = self.collection(Collection::Deals)?;
        for deal in &dup.deals {
            if obj(self.doc, &deals, &deal.id.to_string()).is_none() {
                // Deterministic ids, so absorbing on two replicas yields the same keys.
                self.write_deal(deal, |i| Uuid::new_v5(&deal.id.0, format!("stage-move-{i}").as_bytes()))?;
            }
        }
        let interactions = self.collection(Collection::Interactions)?;
        for i in &dup.interactions {
            if obj(self.doc, &interactions, &i.id.to_string()).is_none() {
                self.write_interaction(i)?;
            }
        }
        let tasks = self.collection(Collection::Tasks)?;
        for t in &dup.tasks {
            if obj(self.doc, &tasks, &t.id.to_string()).is_none() {
                self.write_task(t)?;
            }
        }
        let ties = self.collection(Collection::Ties)?;
        for t in &dup.ties {
            if obj(self.doc, &ties, &t.id.to_string()).is_none() {
                self.write_tie(t)?;
            }
        }
        for (log, moves) in [
            (
                "ladder",
                dup.ladder_history
                    .iter()
                    .map(|m| (m.id, m.from.as_str(), m.to.as_str(), m.at, &m.by, &m.reason))
                    .collect::<Vec<_>>(),
            ),
            (
                "lifecycle",
                dup.lifecycle_history
                    .iter()
                    .map(|m| (m.id, m.from.as_str(), m.to.as_str(), m.at, &m.by, &m.reason))
                    .collect(),
            ),
        ] {
            let map = obj_path(self.doc, &[log]).ok_or_else(|| damaged("missing history"))?;
            for (id, from, to, at, by, reason) in moves {
                if obj(self.doc, &map, &id.to_string()).is_some() {
                    continue;
                }
                let m = a::put_map(self.doc, &map, &id.to_string())?;
                self.doc.put(&m, "from", from)?;
                self.doc.put(&m, "to", to)?;
                a::put_ts(self.doc, &m, "at", at)?;
                self.doc.put(&m, "by", by.as_str())?;
                if let Some(r) = reason {
                    self.doc.put(&m, "reason", r.as_str())?;
                }
            }
        }
        let merged_from = obj(self.doc, &root, "merged_from").ok_or_else(|| damaged("no merged_from"))?;
        if obj(self.doc, &merged_from, &dup.id.to_string()).is_none()
            && self.doc.get(&merged_from, dup.id.to_string())?.is_none()
        {
            self.doc.put(&merged_from, dup.id.to_string(), true)?;
            // Visits are a counter: carry the duplicate's total over once.
            if dup.visit_count != 0 {
                let counters = obj(self.doc, &root, "counters").ok_or_else(|| damaged("no counters"))?;
                self.doc.increment(&counters, "visits", dup.visit_count)?;
            }
        }
        Ok(())
    }
}

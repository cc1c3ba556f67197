//! Document → typed [`Account`].

use std::collections::{BTreeMap, BTreeSet};

use automerge::AutoCommit;
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::{self as a, Fields};
use crate::model::*;

pub(crate) fn account(doc: &mut AutoCommit, id: AccountId) -> Account {
    let (updated_by, updated_at) = last_change(doc);
    let d: &AutoCommit = doc;
    let root = Fields::of(d, &automerge::ROOT);
    let p = Fields::child(d, &root, "party");
    let created_at = root.timestamp("created_at").unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let created_by = root.string("created_by").unwrap_or_default();
    let party = party(d, &p, created_by, created_at, updated_by, updated_at);

    let mut interactions = records(d, &root, "interactions", |f, key| interaction(d, f, key));
    interactions.sort_by(|x, y| x.when().cmp(&y.when()).then(x.id.cmp(&y.id)));
    let mut ladder_history = records(d, &root, "ladder", |f, key| {
        Some(LadderMove {
            id: key.parse().ok()?,
            from: f.parsed("from")?,
            to: f.parsed("to")?,
            at: f.timestamp("at")?,
            by: f.string("by").unwrap_or_default(),
            reason: f.string("reason"),
        })
    });
    ladder_history.sort_by(|x, y| x.at.cmp(&y.at).then(x.id.cmp(&y.id)));
    let mut lifecycle_history = records(d, &root, "lifecycle", |f, key| {
        Some(LifecycleMove {
            id: key.parse().ok()?,
            from: f.parsed("from")?,
            to: f.parsed("to")?,
            at: f.timestamp("at")?,
            by: f.string("by").unwrap_or_default(),
            reason: f.string("reason"),
        })
    });
    lifecycle_history.sort_by(|x, y| x.at.cmp(&y.at).then(x.id.cmp(&y.id)));

    let deleted =
        root.timestamp("deleted_at").map(|at| Deletion { at, by: root.string("deleted_by").unwrap_or_default() });
    // A counter's value is the sum of its increments: read it with `get`.
    let visit_count = root.obj("counters").and_then(|c| a::int(d, &c, "visits")).unwrap_or(0);

    let lens_version = super::lens::version(d);
    let deals = Fields::child(d, &root, "deals")
        .objects()
        .filter_map(|(k, o)| {
            let f = Fields::of(d, &o);
            let mut deal = deal(d, &f, k)?;
            if lens_version >= 2 {
                super::lens::read_deal(d, &o, &f, &mut deal);
            }
            Some(deal)
        })
        .collect();

    Account {
        id,
        schema_version: root.int("schema").unwrap_or(0).max(0) as u64,
        lens_version,
        party,
        contacts: records(d, &root, "contacts", |f, key| contact(d, f, key)),
        deals,
        interactions,
        tasks: records(d, &root, "tasks", |f, key| {
            Some(Task {
                id: key.parse().ok()?,
                title: f.string("title").unwrap_or_default(),
                due: f.date("due"),
                assignee: f.string("assignee"),
                status: f.parsed("status").unwrap_or(TaskStatus::Todo),
            })
        }),
        ties: records(d, &root, "ties", |f, key| {
            Some(Tie {
                id: key.parse().ok()?,
                from: f.parsed("from")?,
                to: f.parsed("to")?,
                kind: f.parsed("kind")?,
                role: f.string("role"),
            })
        }),
        ladder_history,
        lifecycle_history,
        visit_count,
        deleted,
        merged_into: root.parsed("merged_into"),
        merged_from: root.set(d, "merged_from").iter().filter_map(|k| k.parse().ok()).collect(),
    }
}

/// Who wrote the latest change, and when (the newest head by time).
pub(crate) fn last_change(doc: &mut AutoCommit) -> (String, OffsetDateTime) {
    let heads = doc.get_heads();
    let mut best: Option<(i64, String)> = None;
    for h in heads {
        if let Some(meta) = doc.get_change_meta_by_hash(&h) {
            let note = super::parse_note(meta.message.as_deref());
            if best.as_ref().is_none_or(|(t, _)| meta.timestamp > *t) {
                best = Some((meta.timestamp, note.user));
            }
        }
    }
    match best {
        Some((t, user)) => (user, a::from_millis(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        None => (String::new(), OffsetDateTime::UNIX_EPOCH),
    }
}

/// Reads every entry of a keyed collection, skipping entries that do not parse.
fn records<T>(
    d: &AutoCommit,
    root: &Fields<'_>,
    key: &str,
    mut f: impl FnMut(&Fields<'_>, &str) -> Option<T>,
) -> Vec<T> {
    let map = Fields::child(d, root, key);
    map.objects().filter_map(|(k, o)| f(&Fields::of(d, &o), k)).collect()
}

fn party(
    d: &AutoCommit,
    p: &Fields<'_>,
    created_by: String,
    created_at: OffsetDateTime,
    updated_by: String,
    updated_at: OffsetDateTime,
) -> Party {
    let address = p
        .obj("address")
        .map(|o| {
            let f = Fields::of(d, &o);
            Address {
                street: f.string("street"),
                city: f.string("city"),
                region: f.string("region"),
                postcode: f.string("postcode"),
                country: f.string("country"),
            }
        })
        .unwrap_or_default();
    let lifecycle_phase = p.parsed("lifecycle_phase").unwrap_or(LifecyclePhase::PreRelationship);
    let ending = p.string("end_reason").and_then(|reason| {
        Some(Ending { reason, on: p.date("ended_on")?, phase: p.parsed("ended_in_phase").unwrap_or(lifecycle_phase) })
    });
    Party {
        kind: p.parsed("kind").unwrap_or(PartyKind::Organization),
        name: p.string("name").unwrap_or_default(),
        roles: set_of(d, p, "roles"),
        industry: p.string("industry"),
        website: p.string("website"),
        registration_code: p.string("registration_code"),
        address,
        geo: p.parsed("geo"),
        owner: p.string("owner"),
        team: p.string("team"),
        territory: p.string("territory"),
        parent: p.parsed("parent"),
        value_tier: p.parsed("value_tier").unwrap_or(ValueTier::Standard),
        loyalty_rung: p.parsed("loyalty_rung").unwrap_or(LoyaltyRung::Prospect),
        lifecycle_phase,
        status: p.parsed("status").unwrap_or(AccountStatus::Active),
        ending,
        source: p.string("source"),
        tags: p.set(d, "tags").into_iter().collect(),
        demographics: string_map(d, p, "demographics"),
        buying_habits: string_map(d, p, "buying_habits"),
        notes: p.text(d, "notes"),
        created_by,
        created_at,
        updated_by,
        updated_at,
    }
}

fn set_of<T: std::str::FromStr + Ord>(d: &AutoCommit, parent: &Fields<'_>, key: &str) -> BTreeSet<T> {
    parent.set(d, key).iter().filter_map(|k| k.parse().ok()).collect()
}

fn string_map(d: &AutoCommit, parent: &Fields<'_>, key: &str) -> BTreeMap<String, String> {
    let m = Fields::child(d, parent, key);
    m.keys().filter_map(|k| m.string(k).map(|v| (k.to_owned(), v))).collect()
}

fn contact(d: &AutoCommit, f: &Fields<'_>, key: &str) -> Option<Contact> {
    let phone_kinds = Fields::child(d, f, "phones");
    let mut phones: Vec<Phone> = phone_kinds
        .keys()
        .map(|number| Phone { kind: phone_kinds.parsed(number).unwrap_or(PhoneKind::Other), number: number.to_owned() })
        .collect();
    phones.sort();
    let mut consents: Vec<Consent> = Fields::child(d, f, "consents")
        .objects()
        .filter_map(|(k, o)| {
            let c = Fields::of(d, &o);
            Some(Consent {
                id: k.parse::<Uuid>().ok()?,
                channel: c.parsed("channel")?,
                topic: c.string("topic").unwrap_or_default(),
                status: c.parsed("status")?,
                reason: c.string("reason"),
                at: c.timestamp("at")?,
                by: c.string("by").unwrap_or_default(),
            })
        })
        .collect();
    consents.sort_by(|x, y| x.at.cmp(&y.at).then(x.id.cmp(&y.id)));
    Some(Contact {
        id: key.parse().ok()?,
        name: f.string("name").unwrap_or_default(),
        job_title: f.string("job_title"),
        emails: f.set(d, "emails").into_iter().collect(),
        phones,
        preferred_channel: f.parsed("preferred_channel"),
        language: f.string("language"),
        consents,
        active: f.boolean("active").unwrap_or(true),
    })
}

fn deal(d: &AutoCommit, f: &Fields<'_>, key: &str) -> Option<Deal> {
    let mut stage_history: Vec<(Uuid, StageMove)> = Fields::child(d, f, "stage_history")
        .objects()
        .filter_map(|(k, o)| {
            let m = Fields::of(d, &o);
            let (Ok(id), Some(to), Some(at)) = (k.parse::<Uuid>(), m.string("to"), m.timestamp("at")) else {
                return None;
            };
            Some((id, StageMove { from: m.string("from"), to, at, by: m.string("by").unwrap_or_default() }))
        })
        .collect();
    stage_history.sort_by(|x, y| x.1.at.cmp(&y.1.at).then(x.0.cmp(&y.0)));
    Some(Deal {
        id: key.parse().ok()?,
        title: f.string("title").unwrap_or_default(),
        amount: Money { minor: f.int("amount").unwrap_or(0), currency: f.string("currency").unwrap_or_default() },
        stage: f.string("stage").unwrap_or_default(),
        probability: f.int("probability").unwrap_or(0).clamp(0, 100) as u8,
        forecast: f.parsed("forecast").unwrap_or(ForecastCategory::Pipeline),
        expected_close: f.date("expected_close"),
        next_step: f.string("next_step"),
        next_step_due: f.date("next_step_due"),
        outcome: f.parsed("outcome").unwrap_or(DealOutcome::Open),
        lost_reason: f.string("lost_reason"),
        lost_note: f.string("lost_note"),
        primary_contact: f.parsed("primary_contact"),
        stage_history: stage_history.into_iter().map(|(_, m)| m).collect(),
        // Lens 1: no line items, the amount is as set. Lens 2 is applied by the caller.
        line_items: Vec::new(),
        amount_from_line_items: false,
    })
}

fn interaction(d: &AutoCommit, f: &Fields<'_>, key: &str) -> Option<Interaction> {
    Some(Interaction {
        id: key.parse().ok()?,
        kind: f.parsed("kind")?,
        direction: f.parsed("direction"),
        status: f.parsed("status").unwrap_or(InteractionStatus::Held),
        planned_start: f.timestamp("planned_start"),
        planned_end: f.timestamp("planned_end"),
        actual_start: f.timestamp("actual_start"),
        actual_end: f.timestamp("actual_end"),
        contacts: set_of(d, f, "contacts"),
        deal: f.parsed("deal"),
        staff: f.set(d, "staff").into_iter().collect(),
        department: f.string("department"),
        subject: f.string("subject").unwrap_or_default(),
        notes: f.string("notes"),
        outcome: f.string("outcome"),
        check_in: f.parsed("check_in"),
        logged_by: f.string("logged_by").unwrap_or_default(),
        logged_at: f.timestamp("logged_at").unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}

//! Document → typed [`Account`].

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, ObjId, ReadDoc};
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::{self as a, obj, obj_path};
use crate::model::*;

pub(crate) fn account(doc: &mut AutoCommit, id: AccountId) -> Account {
    let (updated_by, updated_at) = last_change(doc);
    let d: &AutoCommit = doc;
    let root = automerge::ROOT;
    let party_obj = obj(d, &root, "party").unwrap_or(automerge::ROOT);
    let created_at = a::timestamp(d, &root, "created_at").unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let created_by = a::string(d, &root, "created_by").unwrap_or_default();
    let party = party(d, &party_obj, created_by, created_at, updated_by, updated_at);

    let mut interactions = records(d, "interactions", |o, key| interaction(d, o, key));
    interactions.sort_by(|x, y| x.when().cmp(&y.when()).then(x.id.cmp(&y.id)));
    let mut ladder_history = records(d, "ladder", |o, key| {
        Some(LadderMove {
            id: key.parse().ok()?,
            from: a::parsed(d, o, "from")?,
            to: a::parsed(d, o, "to")?,
            at: a::timestamp(d, o, "at")?,
            by: a::string(d, o, "by").unwrap_or_default(),
            reason: a::string(d, o, "reason"),
        })
    });
    ladder_history.sort_by(|x, y| x.at.cmp(&y.at).then(x.id.cmp(&y.id)));
    let mut lifecycle_history = records(d, "lifecycle", |o, key| {
        Some(LifecycleMove {
            id: key.parse().ok()?,
            from: a::parsed(d, o, "from")?,
            to: a::parsed(d, o, "to")?,
            at: a::timestamp(d, o, "at")?,
            by: a::string(d, o, "by").unwrap_or_default(),
            reason: a::string(d, o, "reason"),
        })
    });
    lifecycle_history.sort_by(|x, y| x.at.cmp(&y.at).then(x.id.cmp(&y.id)));

    let deleted = a::timestamp(d, &root, "deleted_at")
        .map(|at| Deletion { at, by: a::string(d, &root, "deleted_by").unwrap_or_default() });
    let visit_count = obj(d, &root, "counters").and_then(|c| a::int(d, &c, "visits")).unwrap_or(0);

    Account {
        id,
        schema_version: a::int(d, &root, "schema").unwrap_or(0).max(0) as u64,
        party,
        contacts: records(d, "contacts", |o, key| contact(d, o, key)),
        deals: records(d, "deals", |o, key| deal(d, o, key)),
        interactions,
        tasks: records(d, "tasks", |o, key| {
            Some(Task {
                id: key.parse().ok()?,
                title: a::string(d, o, "title").unwrap_or_default(),
                due: a::date(d, o, "due"),
                assignee: a::string(d, o, "assignee"),
                status: a::parsed(d, o, "status").unwrap_or(TaskStatus::Todo),
            })
        }),
        ties: records(d, "ties", |o, key| {
            Some(Tie {
                id: key.parse().ok()?,
                from: a::parsed(d, o, "from")?,
                to: a::parsed(d, o, "to")?,
                kind: a::parsed(d, o, "kind")?,
                role: a::string(d, o, "role"),
            })
        }),
        ladder_history,
        lifecycle_history,
        visit_count,
        deleted,
        merged_into: a::parsed(d, &root, "merged_into"),
        merged_from: a::keys(d, obj(d, &root, "merged_from").as_ref()).iter().filter_map(|k| k.parse().ok()).collect(),
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
fn records<T>(d: &AutoCommit, key: &str, mut f: impl FnMut(&ObjId, &str) -> Option<T>) -> Vec<T> {
    let Some(map) = obj_path(d, &[key]) else { return Vec::new() };
    let keys: Vec<String> = d.keys(&map).collect();
    keys.iter().filter_map(|k| obj(d, &map, k).and_then(|o| f(&o, k))).collect()
}

fn party(
    d: &AutoCommit,
    p: &ObjId,
    created_by: String,
    created_at: OffsetDateTime,
    updated_by: String,
    updated_at: OffsetDateTime,
) -> Party {
    let address = obj(d, p, "address")
        .map(|o| Address {
            street: a::string(d, &o, "street"),
            city: a::string(d, &o, "city"),
            region: a::string(d, &o, "region"),
            postcode: a::string(d, &o, "postcode"),
            country: a::string(d, &o, "country"),
        })
        .unwrap_or_default();
    let lifecycle_phase = a::parsed(d, p, "lifecycle_phase").unwrap_or(LifecyclePhase::PreRelationship);
    let ending = a::string(d, p, "end_reason").and_then(|reason| {
        Some(Ending {
            reason,
            on: a::date(d, p, "ended_on")?,
            phase: a::parsed(d, p, "ended_in_phase").unwrap_or(lifecycle_phase),
        })
    });
    Party {
        kind: a::parsed(d, p, "kind").unwrap_or(PartyKind::Organization),
        name: a::string(d, p, "name").unwrap_or_default(),
        roles: set_of(d, p, "roles"),
        industry: a::string(d, p, "industry"),
        website: a::string(d, p, "website"),
        address,
        geo: a::parsed(d, p, "geo"),
        owner: a::string(d, p, "owner"),
        team: a::string(d, p, "team"),
        territory: a::string(d, p, "territory"),
        parent: a::parsed(d, p, "parent"),
        value_tier: a::parsed(d, p, "value_tier").unwrap_or(ValueTier::Standard),
        loyalty_rung: a::parsed(d, p, "loyalty_rung").unwrap_or(LoyaltyRung::Prospect),
        lifecycle_phase,
        status: a::parsed(d, p, "status").unwrap_or(AccountStatus::Active),
        ending,
        source: a::string(d, p, "source"),
        tags: a::keys(d, obj(d, p, "tags").as_ref()).into_iter().collect(),
        demographics: string_map(d, p, "demographics"),
        buying_habits: string_map(d, p, "buying_habits"),
        notes: a::text(d, p, "notes"),
        created_by,
        created_at,
        updated_by,
        updated_at,
    }
}

fn set_of<T: std::str::FromStr + Ord>(d: &AutoCommit, parent: &ObjId, key: &str) -> BTreeSet<T> {
    a::keys(d, obj(d, parent, key).as_ref()).iter().filter_map(|k| k.parse().ok()).collect()
}

fn string_map(d: &AutoCommit, parent: &ObjId, key: &str) -> BTreeMap<String, String> {
    let Some(m) = obj(d, parent, key) else { return BTreeMap::new() };
    let keys: Vec<String> = d.keys(&m).collect();
    keys.into_iter().filter_map(|k| a::string(d, &m, &k).map(|v| (k, v))).collect()
}

fn contact(d: &AutoCommit, o: &ObjId, key: &str) -> Option<Contact> {
    let phones_obj = obj(d, o, "phones");
    let mut phones: Vec<Phone> = a::keys(d, phones_obj.as_ref())
        .into_iter()
        .map(|number| {
            let kind = phones_obj.as_ref().and_then(|p| a::parsed(d, p, &number)).unwrap_or(PhoneKind::Other);
            Phone { kind, number }
        })
        .collect();
    phones.sort();
    let mut consents: Vec<Consent> = Vec::new();
    if let Some(cm) = obj(d, o, "consents") {
        let keys: Vec<String> = d.keys(&cm).collect();
        for k in keys {
            let Some(c) = obj(d, &cm, &k) else { continue };
            let parsed = (|| {
                Some(Consent {
                    id: k.parse::<Uuid>().ok()?,
                    channel: a::parsed(d, &c, "channel")?,
                    topic: a::string(d, &c, "topic").unwrap_or_default(),
                    status: a::parsed(d, &c, "status")?,
                    reason: a::string(d, &c, "reason"),
                    at: a::timestamp(d, &c, "at")?,
                    by: a::string(d, &c, "by").unwrap_or_default(),
                })
            })();
            consents.extend(parsed);
        }
    }
    consents.sort_by(|x, y| x.at.cmp(&y.at).then(x.id.cmp(&y.id)));
    Some(Contact {
        id: key.parse().ok()?,
        name: a::string(d, o, "name").unwrap_or_default(),
        job_title: a::string(d, o, "job_title"),
        emails: a::keys(d, obj(d, o, "emails").as_ref()).into_iter().collect(),
        phones,
        preferred_channel: a::parsed(d, o, "preferred_channel"),
        language: a::string(d, o, "language"),
        consents,
        active: a::boolean(d, o, "active").unwrap_or(true),
    })
}

fn deal(d: &AutoCommit, o: &ObjId, key: &str) -> Option<Deal> {
    let mut stage_history: Vec<(Uuid, StageMove)> = Vec::new();
    if let Some(h) = obj(d, o, "stage_history") {
        let keys: Vec<String> = d.keys(&h).collect();
        for k in keys {
            let Some(m) = obj(d, &h, &k) else { continue };
            let (Ok(id), Some(to), Some(at)) = (k.parse::<Uuid>(), a::string(d, &m, "to"), a::timestamp(d, &m, "at"))
            else {
                continue;
            };
            stage_history.push((
                id,
                StageMove { from: a::string(d, &m, "from"), to, at, by: a::string(d, &m, "by").unwrap_or_default() },
            ));
        }
    }
    stage_history.sort_by(|x, y| x.1.at.cmp(&y.1.at).then(x.0.cmp(&y.0)));
    Some(Deal {
        id: key.parse().ok()?,
        title: a::string(d, o, "title").unwrap_or_default(),
        amount: Money {
            minor: a::int(d, o, "amount").unwrap_or(0),
            currency: a::string(d, o, "currency").unwrap_or_default(),
        },
        stage: a::string(d, o, "stage").unwrap_or_default(),
        probability: a::int(d, o, "probability").unwrap_or(0).clamp(0, 100) as u8,
        forecast: a::parsed(d, o, "forecast").unwrap_or(ForecastCategory::Pipeline),
        expected_close: a::date(d, o, "expected_close"),
        next_step: a::string(d, o, "next_step"),
        next_step_due: a::date(d, o, "next_step_due"),
        outcome: a::parsed(d, o, "outcome").unwrap_or(DealOutcome::Open),
        lost_reason: a::string(d, o, "lost_reason"),
        lost_note: a::string(d, o, "lost_note"),
        primary_contact: a::parsed(d, o, "primary_contact"),
        stage_history: stage_history.into_iter().map(|(_, m)| m).collect(),
    })
}

fn interaction(d: &AutoCommit, o: &ObjId, key: &str) -> Option<Interaction> {
    Some(Interaction {
        id: key.parse().ok()?,
        kind: a::parsed(d, o, "kind")?,
        direction: a::parsed(d, o, "direction"),
        status: a::parsed(d, o, "status").unwrap_or(InteractionStatus::Held),
        planned_start: a::timestamp(d, o, "planned_start"),
        planned_end: a::timestamp(d, o, "planned_end"),
        actual_start: a::timestamp(d, o, "actual_start"),
        actual_end: a::timestamp(d, o, "actual_end"),
        contacts: set_of(d, o, "contacts"),
        deal: a::parsed(d, o, "deal"),
        staff: a::keys(d, obj(d, o, "staff").as_ref()).into_iter().collect(),
        department: a::string(d, o, "department"),
        subject: a::string(d, o, "subject").unwrap_or_default(),
        notes: a::string(d, o, "notes"),
        outcome: a::string(d, o, "outcome"),
        check_in: a::parsed(d, o, "check_in"),
        logged_by: a::string(d, o, "logged_by").unwrap_or_default(),
        logged_at: a::timestamp(d, o, "logged_at").unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}

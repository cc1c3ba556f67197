//! Local replica benchmark (issue 2).
//!
//! Measures the replica on realistic accounts and, in the same process on the
//! same data, an *anchor*: raw Automerge plus a bare SQLite table, so every row
//! reports ours / anchor. See docs/BENCHMARKS.md for what each anchor is.
//!
//! * `cargo bench -p rapport-core --bench replica`: 10,000 accounts, 3 runs.
//! * `RAPPORT_BENCH_ACCOUNTS=500`: a cheap smoke run. Also `RAPPORT_BENCH_RUNS`,
//!   `RAPPORT_BENCH_MERGE` (accounts merged, default min(1000, accounts)),
//!   `RAPPORT_BENCH_ONLY` (`ours` or `anchor`, for profiling one side;
//!   `encryption` for the encrypted-against-plain rows alone) and
//!   `RAPPORT_BENCH_KEEP` (keep the first run's SQLite files).
//! * The `encrypted:` rows run the same operations on an encrypted
//!   (SQLCipher, raw key) and a plain replica in the same run: there "ours"
//!   is encrypted and "anchor" is plain.
//! * Without `--bench` (`cargo test --all-targets`) it runs 40 accounts once.
//!
//! A plain timed binary rather than criterion sampling: one run builds 10,000
//! accounts from scratch, so criterion's sampling would take far too long.
//! Every write phase runs once per run (fresh files each run), every indexed
//! read 5 times per run; the tables report medians and paired ratios.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::error::Error as StdError;
use std::path::Path;
use std::time::{Duration, Instant};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ValueRef};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rapport_core::{
    AccountFilter, AccountId, Address, Channel, ContactId, DeviceIdentity, Direction, InteractionKind,
    InteractionStatus, LifecyclePhase, LoyaltyRung, Money, NewAccount, NewContact, NewDeal, NewInteraction, PartyKind,
    Phone, PhoneKind, RAW_KEY_LEN, Replica, ReplicaKey, Role, Settings, Stage, StageKind, ValueTier,
};
use rusqlite::{Connection, params};
use time::OffsetDateTime;

type Res<T> = Result<T, Box<dyn StdError>>;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

struct Config {
    accounts: usize,
    merge: usize,
    runs: usize,
    /// Repetitions of the cheap indexed reads within one run.
    read_reps: usize,
    ours: bool,
    anchor: bool,
    /// The encrypted-against-plain rows.
    encryption: bool,
}

impl Config {
    fn from_env() -> Res<Config> {
        let bench = std::env::args().any(|a| a == "--bench");
        let var = |name: &str| -> Res<Option<usize>> {
            match std::env::var(name) {
                Ok(v) => Ok(Some(v.trim().parse()?)),
                Err(_) => Ok(None),
            }
        };
        let accounts = var("RAPPORT_BENCH_ACCOUNTS")?.unwrap_or(if bench { 10_000 } else { 40 });
        let runs = var("RAPPORT_BENCH_RUNS")?.unwrap_or(if bench { 3 } else { 1 }).max(1);
        let merge = var("RAPPORT_BENCH_MERGE")?.unwrap_or(1000).min(accounts);
        let only = std::env::var("RAPPORT_BENCH_ONLY").unwrap_or_default();
        Ok(Config {
            accounts,
            merge,
            runs,
            read_reps: if bench { 5 } else { 1 },
            ours: only.is_empty() || only == "ours",
            anchor: only.is_empty() || only == "anchor",
            encryption: only.is_empty() || only == "encryption",
        })
    }
}

// ---------------------------------------------------------------------------
// Deterministic data
// ---------------------------------------------------------------------------

/// Word lists the generator draws from.
#[rustfmt::skip]
mod data {
    pub const REPS: [&str; 20] = [
        "aino.korhonen", "mikko.virtanen", "sanna.makinen", "juha.nieminen", "laura.hamalainen", "ville.laine",
        "emma.heikkinen", "antti.koskinen", "kaisa.jarvinen", "timo.lehtonen", "erik.lindqvist", "sofia.berg",
        "lars.nilsson", "maria.andersson", "kristjan.tamm", "liis.kask", "ola.hansen", "ida.jensen", "jonas.weber",
        "hannah.schmidt",
    ];
    pub const TEAMS: [&str; 4] = [
        "finland-south", "finland-north", "nordics", "baltics-dach",
    ];
    pub const TERRITORIES: [&str; 12] = [
        "FI-Uusimaa", "FI-Pirkanmaa", "FI-Varsinais-Suomi", "FI-Pohjois-Pohjanmaa", "SE-Stockholm",
        "SE-Vastra-Gotaland", "NO-Oslo", "DK-Hovedstaden", "EE-Harju", "LV-Riga", "DE-Berlin", "DE-Bayern",
    ];
    pub const TAGS: [&str; 16] = [
        "vip", "renewal-2026", "newsletter", "partner-program", "at-risk", "upsell", "public-sector", "trade-fair",
        "referral", "pilot", "multi-site", "eu-funded", "strategic", "dormant", "inbound", "outbound",
    ];
    pub const NAME_A: [&str; 24] = [
        "Nordic", "Baltic", "Arctic", "Boreal", "Lakeside", "Northern", "Polar", "Aurora", "Harbor", "Granite", "Birch",
        "Pine", "Saimaa", "Kalevala", "Westcoast", "Eastgate", "Riverside", "Highland", "Fjord", "Skyline", "Bright",
        "Silver", "Iron", "Meadow",
    ];
    pub const NAME_B: [&str; 20] = [
        "Logistics", "Foods", "Engineering", "Timber", "Software", "Machinery", "Clinics", "Packaging", "Energy",
        "Textiles", "Construction", "Pharma", "Retail", "Dairy", "Metals", "Media", "Consulting", "Marine", "Analytics",
        "Robotics",
    ];
    pub const NAME_C: [&str; 6] = [
        "Oy", "Ab", "AS", "GmbH", "Ltd", "Group",
    ];
    pub const INDUSTRIES: [&str; 12] = [
        "logistics", "food", "engineering", "forestry", "software", "manufacturing", "healthcare", "retail", "energy",
        "construction", "public", "services",
    ];
    pub const CITIES: [(&str, &str, &str); 12] = [
        ("Helsinki", "Uusimaa", "FI"), ("Espoo", "Uusimaa", "FI"), ("Tampere", "Pirkanmaa", "FI"),
        ("Turku", "Varsinais-Suomi", "FI"), ("Oulu", "Pohjois-Pohjanmaa", "FI"), ("Stockholm", "Stockholm", "SE"),
        ("Goteborg", "Vastra Gotaland", "SE"), ("Oslo", "Oslo", "NO"), ("Copenhagen", "Hovedstaden", "DK"),
        ("Tallinn", "Harju", "EE"), ("Riga", "Riga", "LV"), ("Berlin", "Berlin", "DE"),
    ];
    pub const STREETS: [&str; 12] = [
        "Mannerheimintie", "Hameenkatu", "Aleksanterinkatu", "Satamakatu", "Teollisuustie", "Kauppakatu", "Storgatan",
        "Karl Johans gate", "Vesterbrogade", "Narva mnt", "Brivibas iela", "Friedrichstrasse",
    ];
    pub const FIRST: [&str; 24] = [
        "Anna", "Matti", "Liisa", "Pekka", "Johanna", "Jari", "Sari", "Markku", "Tiina", "Kari", "Elina", "Heikki",
        "Karin", "Anders", "Ingrid", "Magnus", "Kadri", "Andres", "Ilze", "Janis", "Sabine", "Thomas", "Mette",
        "Rasmus",
    ];
    pub const LAST: [&str; 24] = [
        "Korhonen", "Virtanen", "Makinen", "Nieminen", "Hamalainen", "Laine", "Heikkinen", "Koskinen", "Jarvinen",
        "Lehtonen", "Saarinen", "Salminen", "Lindqvist", "Johansson", "Eriksson", "Larsen", "Pedersen", "Tamm", "Saar",
        "Berzins", "Ozols", "Muller", "Fischer", "Becker",
    ];
    pub const TITLES: [&str; 12] = [
        "CEO", "CFO", "Purchasing Manager", "Head of Operations", "IT Director", "Procurement Specialist",
        "Plant Manager", "Office Manager", "Logistics Coordinator", "Marketing Director", "Owner", "Project Manager",
    ];
    pub const PRODUCTS: [&str; 10] = [
        "Annual service contract", "Fleet tracking rollout", "Warehouse scanners", "Support renewal", "Pilot project",
        "Training package", "Spare parts framework", "Cloud migration", "Site expansion", "Maintenance agreement",
    ];
    pub const SUBJECTS: [&str; 12] = [
        "Intro call", "Quarterly review", "Site visit", "Demo of new features", "Pricing discussion",
        "Contract negotiation", "Support escalation", "Renewal check-in", "Follow-up on proposal", "Trade fair meeting",
        "Reference call", "Onboarding workshop",
    ];
    pub const SENTENCES: [&str; 24] = [
        "Long-standing customer with a strong relationship at management level.",
        "They are evaluating a second supplier for the northern sites.",
        "Budget decisions are made in the autumn, plan the renewal proposal before September.",
        "Key contact prefers short emails and a call before any formal offer.",
        "The warehouse team reported issues with the scanners after the last update.",
        "Payment terms are 30 days net; invoices go to the central finance team.",
        "Interested in expanding the pilot to three more locations next year.",
        "Competitor offered a lower price but weaker support, keep highlighting service quality.",
        "Visited the plant in spring; production volumes are growing steadily.",
        "Procurement runs a formal tender every three years.",
        "Sustainability reporting matters to them, bring the emissions figures.",
        "They asked for references from other customers in the same industry.",
        "New CFO started this quarter and is reviewing all supplier contracts.",
        "Renewal of the maintenance agreement is due at the end of the year.",
        "The owner is hands-on and wants to meet in person at least twice a year.",
        "Delivery delays last winter hurt the relationship; follow up carefully.",
        "Strong advocate, happy to act as a reference for prospects.",
        "Uses our software at the head office only; regional offices still run spreadsheets.",
        "Asked about integration with their ERP system, send the technical brief.",
        "Seasonal business with peak demand in June and December.",
        "Decision committee includes operations, IT and finance.",
        "Considering a multi-year framework agreement with volume discounts.",
        "Prefers Swedish in written communication.",
        "Met them at the trade fair in Tampere and agreed on a follow-up demo.",
    ];
    /// Final stage of a deal, weighted: every deal starts in prospecting and moves here.
    pub const STAGE_MIX: [&str; 20] = [
        "prospecting", "prospecting", "prospecting", "prospecting", "prospecting", "qualification", "qualification",
        "qualification", "qualification", "proposal", "proposal", "proposal", "proposal", "negotiation", "negotiation",
        "won", "won", "won", "lost", "lost",
    ];
}
use data::*;

/// One account: what `create_accounts` takes, then what one `edit()` adds.
struct Spec {
    account: NewAccount,
    contacts: Vec<NewContact>,
    deals: Vec<DealSpec>,
    interactions: Vec<InteractionSpec>,
}

struct DealSpec {
    /// Created in the first open stage ("prospecting").
    new: NewDeal,
    /// Index into `contacts`.
    primary: Option<usize>,
    /// Moved here right after, unless the deal stays in prospecting.
    moved_to: Option<&'static str>,
}

struct InteractionSpec {
    new: NewInteraction,
    contact: Option<usize>,
    deal: Option<usize>,
}

fn sentences(rng: &mut SmallRng, lo: usize, hi: usize) -> String {
    let n = rng.random_range(lo..=hi);
    (0..n).map(|_| *SENTENCES.choose(rng).unwrap()).collect::<Vec<_>>().join(" ")
}

fn phone(rng: &mut SmallRng, country: &str) -> String {
    let cc = match country {
        "FI" => "+358 40",
        "SE" => "+46 70",
        "NO" => "+47 41",
        "DK" => "+45 20",
        "EE" => "+372 5",
        "LV" => "+371 2",
        _ => "+49 151",
    };
    format!("{cc} {:03} {:04}", rng.random_range(0..1000), rng.random_range(0..10_000))
}

fn generate(n: usize, seed: u64) -> Res<Vec<Spec>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let base = OffsetDateTime::from_unix_timestamp(1_767_225_600)?; // 2026-01-01
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b, c) =
            (*NAME_A.choose(&mut rng).unwrap(), *NAME_B.choose(&mut rng).unwrap(), *NAME_C.choose(&mut rng).unwrap());
        let name = if rng.random_ratio(30, 100) { format!("{a} {b} {c} {}", i % 97) } else { format!("{a} {b} {c}") };
        let domain = format!("{}{}.example", a.to_lowercase(), b.to_lowercase());
        let owner = rng.random_range(0..REPS.len());
        let (city, region, country) = *CITIES.choose(&mut rng).unwrap();
        let mut account = NewAccount::new(name);
        account.kind = if rng.random_ratio(90, 100) { PartyKind::Organization } else { PartyKind::Person };
        account.roles = BTreeSet::from([if rng.random_ratio(85, 100) { Role::Customer } else { Role::Partner }]);
        account.industry = Some(INDUSTRIES.choose(&mut rng).unwrap().to_string());
        account.website = Some(format!("https://www.{domain}"));
        account.address = Address {
            street: Some(format!("{} {}", STREETS.choose(&mut rng).unwrap(), rng.random_range(1..=120))),
            city: Some(city.into()),
            region: Some(region.into()),
            postcode: Some(format!("{:05}", rng.random_range(0..100_000))),
            country: Some(country.into()),
        };
        account.owner = Some(REPS[owner].into());
        account.team = Some(TEAMS[owner / 5].into());
        account.territory = Some(TERRITORIES[(owner * 3 + rng.random_range(0..3)) % TERRITORIES.len()].into());
        account.value_tier =
            *[ValueTier::Key, ValueTier::Standard, ValueTier::Standard, ValueTier::Low].choose(&mut rng).unwrap();
        account.loyalty_rung = *LoyaltyRung::ALL.choose(&mut rng).unwrap();
        account.lifecycle_phase = *LifecyclePhase::ALL.choose(&mut rng).unwrap();
        account.source =
            Some(["referral", "trade fair", "website", "cold call", "partner"].choose(&mut rng).unwrap().to_string());
        account.tags = (0..rng.random_range(0..=4)).map(|_| TAGS.choose(&mut rng).unwrap().to_string()).collect();
        account.notes = sentences(&mut rng, 2, 5);

        let contacts: Vec<NewContact> = (0..rng.random_range(1..=3))
            .map(|_| {
                let (f, l) = (*FIRST.choose(&mut rng).unwrap(), *LAST.choose(&mut rng).unwrap());
                let mut emails = BTreeSet::from([format!("{}.{}@{domain}", f.to_lowercase(), l.to_lowercase())]);
                if rng.random_ratio(25, 100) {
                    emails.insert(format!("{}@{domain}", f.to_lowercase()));
                }
                let mut phones = vec![Phone { kind: PhoneKind::Mobile, number: phone(&mut rng, country) }];
                if rng.random_ratio(40, 100) {
                    phones.push(Phone { kind: PhoneKind::Work, number: phone(&mut rng, country) });
                }
                NewContact {
                    name: format!("{f} {l}"),
                    job_title: Some(TITLES.choose(&mut rng).unwrap().to_string()),
                    emails,
                    phones,
                    preferred_channel: Some(
                        *[Channel::Email, Channel::Phone, Channel::Visit].choose(&mut rng).unwrap(),
                    ),
                    language: Some(["fi", "sv", "en", "et", "de"].choose(&mut rng).unwrap().to_string()),
                }
            })
            .collect();

        let deals: Vec<DealSpec> = (0..rng.random_range(1..=3))
            .map(|_| -> Res<DealSpec> {
                let stage = *STAGE_MIX.choose(&mut rng).unwrap();
                let mut new = NewDeal::new(
                    *PRODUCTS.choose(&mut rng).unwrap(),
                    Money::new(rng.random_range(1_000..=250_000) as i64 * 100, "EUR")?,
                );
                new.stage = Some("prospecting".into());
                new.expected_close = Some((base + time::Duration::days(rng.random_range(10..=300) as i64)).date());
                if rng.random_ratio(60, 100) {
                    new.next_step = Some("Send revised offer".into());
                    new.next_step_due = Some((base + time::Duration::days(rng.random_range(1..=30) as i64)).date());
                }
                Ok(DealSpec {
                    new,
                    primary: Some(rng.random_range(0..contacts.len())),
                    moved_to: (stage != "prospecting").then_some(stage),
                })
            })
            .collect::<Res<_>>()?;

        let interactions: Vec<InteractionSpec> = (0..rng.random_range(2..=5))
            .map(|_| {
                let kind = *[
                    InteractionKind::Call,
                    InteractionKind::Call,
                    InteractionKind::Meeting,
                    InteractionKind::Email,
                    InteractionKind::Visit,
                    InteractionKind::Note,
                ]
                .choose(&mut rng)
                .unwrap();
                let mut new = NewInteraction::new(kind, *SUBJECTS.choose(&mut rng).unwrap());
                let start = base - time::Duration::minutes(rng.random_range(60..=400 * 24 * 60) as i64);
                new.actual_start = Some(start);
                new.actual_end = Some(start + time::Duration::minutes(rng.random_range(10..=120) as i64));
                new.direction = Some(if rng.random_ratio(70, 100) { Direction::Outbound } else { Direction::Inbound });
                new.status = InteractionStatus::Held;
                new.notes = Some(sentences(&mut rng, 1, 2));
                if rng.random_ratio(50, 100) {
                    new.outcome = Some("Agreed on next steps".into());
                }
                InteractionSpec {
                    new,
                    contact: Some(rng.random_range(0..contacts.len())),
                    deal: rng.random_ratio(50, 100).then(|| rng.random_range(0..deals.len())),
                }
            })
            .collect();

        out.push(Spec { account, contacts, deals, interactions });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Anchor: the same documents written with raw Automerge, stored in bare tables
// ---------------------------------------------------------------------------

mod raw {
    use super::*;

    pub struct Author {
        pub user: String,
        pub device: String,
        pub actor: ActorId,
    }

    fn ts(at: OffsetDateTime) -> ScalarValue {
        ScalarValue::Timestamp((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    fn date(d: time::Date) -> String {
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    fn map(doc: &mut AutoCommit, parent: &ObjId, key: &str) -> Res<ObjId> {
        Ok(doc.put_object(parent, key, ObjType::Map)?)
    }

    fn child(doc: &AutoCommit, parent: &ObjId, key: &str) -> Res<ObjId> {
        match doc.get(parent, key)? {
            Some((Value::Object(_), id)) => Ok(id),
            _ => Err(format!("no object at {key}").into()),
        }
    }

    /// The same change message (who, device, op) and time the replica commits with.
    fn commit(doc: &mut AutoCommit, author: &Author, op: &str, now: OffsetDateTime) {
        let message = serde_json::json!({ "user": author.user, "device": author.device, "op": op }).to_string();
        doc.commit_with(
            CommitOptions::default().with_message(message).with_time((now.unix_timestamp_nanos() / 1_000_000) as i64),
        );
    }

    /// Mirrors `AccountDoc::create`: the same layout, one change.
    pub fn create(author: &Author, new: &NewAccount) -> Res<(AccountId, AutoCommit)> {
        let id = AccountId::new();
        let now = OffsetDateTime::now_utc();
        let mut doc = AutoCommit::new().with_actor(author.actor.clone());
        let root = automerge::ROOT;
        doc.put(&root, "type", "account")?;
        doc.put(&root, "schema", ScalarValue::Uint(1))?;
        doc.put(&root, "id", id.to_string())?;
        doc.put(&root, "created_by", author.user.as_str())?;
        doc.put(&root, "created_at", ts(now))?;
        map(&mut doc, &root, "merged_from")?;
        for key in ["contacts", "deals", "interactions", "tasks", "ties", "ladder", "lifecycle"] {
            map(&mut doc, &root, key)?;
        }
        let counters = map(&mut doc, &root, "counters")?;
        doc.put(&counters, "visits", ScalarValue::counter(0))?;
        let p = map(&mut doc, &root, "party")?;
        doc.put(&p, "kind", new.kind.as_str())?;
        doc.put(&p, "name", new.name.as_str())?;
        for (key, value) in [
            ("industry", &new.industry),
            ("website", &new.website),
            ("owner", &new.owner),
            ("team", &new.team),
            ("territory", &new.territory),
            ("source", &new.source),
        ] {
            if let Some(v) = value {
                doc.put(&p, key, v.as_str())?;
            }
        }
        doc.put(&p, "value_tier", new.value_tier.as_str())?;
        doc.put(&p, "loyalty_rung", new.loyalty_rung.as_str())?;
        doc.put(&p, "lifecycle_phase", new.lifecycle_phase.as_str())?;
        doc.put(&p, "status", "active")?;
        let addr = map(&mut doc, &p, "address")?;
        for (key, value) in [
            ("street", &new.address.street),
            ("city", &new.address.city),
            ("region", &new.address.region),
            ("postcode", &new.address.postcode),
            ("country", &new.address.country),
        ] {
            if let Some(v) = value {
                doc.put(&addr, key, v.as_str())?;
            }
        }
        let roles = map(&mut doc, &p, "roles")?;
        for r in &new.roles {
            doc.put(&roles, r.as_str(), true)?;
        }
        let tags = map(&mut doc, &p, "tags")?;
        for t in &new.tags {
            doc.put(&tags, t.as_str(), true)?;
        }
        for key in ["demographics", "buying_habits"] {
            map(&mut doc, &p, key)?;
        }
        let notes = doc.put_object(&p, "notes", ObjType::Text)?;
        doc.splice_text(&notes, 0, 0, &new.notes)?;
        commit(&mut doc, author, "account.create", now);
        Ok((id, doc))
    }

    /// Mirrors `Editor::add_contact`.
    pub fn add_contact(doc: &mut AutoCommit, author: &Author, c: &NewContact) -> Res<String> {
        let id = ContactId::new().to_string();
        let now = OffsetDateTime::now_utc();
        let contacts = child(doc, &automerge::ROOT, "contacts")?;
        let o = map(doc, &contacts, &id)?;
        doc.put(&o, "name", c.name.as_str())?;
        if let Some(v) = &c.job_title {
            doc.put(&o, "job_title", v.as_str())?;
        }
        if let Some(v) = c.preferred_channel {
            doc.put(&o, "preferred_channel", v.as_str())?;
        }
        if let Some(v) = &c.language {
            doc.put(&o, "language", v.as_str())?;
        }
        doc.put(&o, "active", true)?;
        let emails = map(doc, &o, "emails")?;
        for e in &c.emails {
            doc.put(&emails, e.as_str(), true)?;
        }
        let phones = map(doc, &o, "phones")?;
        for p in &c.phones {
            doc.put(&phones, p.number.as_str(), p.kind.as_str())?;
        }
        map(doc, &o, "consents")?;
        commit(doc, author, "contact.add", now);
        Ok(id)
    }

    fn stage_move(
        doc: &mut AutoCommit,
        author: &Author,
        history: &ObjId,
        from: Option<&str>,
        to: &str,
        now: OffsetDateTime,
    ) -> Res<()> {
        let m = map(doc, history, &uuid::Uuid::now_v7().to_string())?;
        if let Some(from) = from {
            doc.put(&m, "from", from)?;
        }
        doc.put(&m, "to", to)?;
        doc.put(&m, "at", ts(now))?;
        doc.put(&m, "by", author.user.as_str())?;
        Ok(())
    }

    fn outcome(kind: StageKind) -> &'static str {
        match kind {
            StageKind::Open => "open",
            StageKind::Won => "won",
            StageKind::Lost => "lost",
        }
    }

    /// Mirrors `Editor::add_deal`.
    pub fn add_deal(
        doc: &mut AutoCommit,
        author: &Author,
        d: &NewDeal,
        stage: &Stage,
        primary: Option<&str>,
    ) -> Res<String> {
        let id = rapport_core::DealId::new().to_string();
        let now = OffsetDateTime::now_utc();
        let deals = child(doc, &automerge::ROOT, "deals")?;
        let o = map(doc, &deals, &id)?;
        doc.put(&o, "title", d.title.as_str())?;
        doc.put(&o, "amount", ScalarValue::Int(d.amount.minor))?;
        doc.put(&o, "currency", d.amount.currency.as_str())?;
        doc.put(&o, "stage", stage.id.as_str())?;
        doc.put(&o, "probability", ScalarValue::Uint(u64::from(stage.probability)))?;
        doc.put(&o, "forecast", if stage.kind == StageKind::Open { "pipeline" } else { "closed" })?;
        doc.put(&o, "outcome", outcome(stage.kind))?;
        if let Some(v) = d.expected_close {
            doc.put(&o, "expected_close", date(v))?;
        }
        if let Some(v) = &d.next_step {
            doc.put(&o, "next_step", v.as_str())?;
        }
        if let Some(v) = d.next_step_due {
            doc.put(&o, "next_step_due", date(v))?;
        }
        if let Some(pc) = primary {
            doc.put(&o, "primary_contact", pc)?;
        }
        let history = map(doc, &o, "stage_history")?;
        stage_move(doc, author, &history, None, &stage.id, now)?;
        commit(doc, author, "deal.add", now);
        Ok(id)
    }

    /// Mirrors `Editor::move_deal_stage` (without its validation). The replica's
    /// operations change as it evolves: the "Automerge bytes per account" note of
    /// the output shows whether both sides still build documents of the same size.
    pub fn move_deal(doc: &mut AutoCommit, author: &Author, deal: &str, stage: &Stage) -> Res<()> {
        let now = OffsetDateTime::now_utc();
        let deals = child(doc, &automerge::ROOT, "deals")?;
        let o = child(doc, &deals, deal)?;
        let from = match doc.get(&o, "stage")? {
            Some((Value::Scalar(s), _)) => s.as_str().map(str::to_owned),
            _ => None,
        };
        let history = child(doc, &o, "stage_history")?;
        stage_move(doc, author, &history, from.as_deref(), &stage.id, now)?;
        // Deals here start in "pipeline", so an open stage keeps it and any other closes it.
        let forecast = if stage.kind == StageKind::Open { "pipeline" } else { "closed" };
        // Like the replica, every field the stage implies is written fresh (delete, then put).
        let fields: [(&str, ScalarValue); 4] = [
            ("stage", stage.id.as_str().into()),
            ("probability", ScalarValue::Uint(u64::from(stage.probability))),
            ("outcome", outcome(stage.kind).into()),
            ("forecast", forecast.into()),
        ];
        for (key, value) in fields {
            if doc.get(&o, key)?.is_some() {
                doc.delete(&o, key)?;
            }
            doc.put(&o, key, value)?;
        }
        commit(doc, author, "deal.stage", now);
        Ok(())
    }

    /// Mirrors `Editor::log_interaction`.
    pub fn log_interaction(
        doc: &mut AutoCommit,
        author: &Author,
        i: &NewInteraction,
        contact: Option<&str>,
        deal: Option<&str>,
    ) -> Res<()> {
        let id = rapport_core::InteractionId::new().to_string();
        let now = OffsetDateTime::now_utc();
        let interactions = child(doc, &automerge::ROOT, "interactions")?;
        let o = map(doc, &interactions, &id)?;
        doc.put(&o, "kind", i.kind.as_str())?;
        doc.put(&o, "subject", i.subject.as_str())?;
        doc.put(&o, "status", i.status.as_str())?;
        if let Some(d) = i.direction {
            doc.put(&o, "direction", d.as_str())?;
        }
        for (key, at) in [
            ("planned_start", i.planned_start),
            ("planned_end", i.planned_end),
            ("actual_start", i.actual_start),
            ("actual_end", i.actual_end),
        ] {
            if let Some(at) = at {
                doc.put(&o, key, ts(at))?;
            }
        }
        let contacts = map(doc, &o, "contacts")?;
        if let Some(c) = contact {
            doc.put(&contacts, c, true)?;
        }
        let staff = map(doc, &o, "staff")?;
        doc.put(&staff, author.user.as_str(), true)?;
        if let Some(d) = deal {
            doc.put(&o, "deal", d)?;
        }
        for (key, value) in [("department", &i.department), ("notes", &i.notes), ("outcome", &i.outcome)] {
            if let Some(v) = value {
                doc.put(&o, key, v.as_str())?;
            }
        }
        doc.put(&o, "logged_by", author.user.as_str())?;
        doc.put(&o, "logged_at", ts(now))?;
        if i.kind == InteractionKind::Visit {
            let counters = child(doc, &automerge::ROOT, "counters")?;
            doc.increment(&counters, "visits", 1)?;
        }
        commit(doc, author, "interaction.log", now);
        Ok(())
    }

    fn string(doc: &AutoCommit, o: &ObjId, key: &str) -> Option<String> {
        match doc.get(o, key).ok()?? {
            (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        }
    }

    fn keys(doc: &AutoCommit, parent: &ObjId, key: &str) -> Vec<String> {
        child(doc, parent, key).map(|m| doc.keys(&m).collect()).unwrap_or_default()
    }

    /// What a list shows, read straight from a document (what listing costs without an index).
    #[allow(dead_code)]
    #[derive(Debug)]
    pub struct Summary {
        pub id: String,
        pub name: String,
        pub kind: Option<String>,
        pub owner: Option<String>,
        pub team: Option<String>,
        pub territory: Option<String>,
        pub loyalty_rung: Option<String>,
        pub lifecycle_phase: Option<String>,
        pub value_tier: Option<String>,
        pub status: Option<String>,
        pub deleted: bool,
        pub merged: bool,
        pub open_deals: u32,
        pub tags: Vec<String>,
        pub stages: Vec<String>,
        /// Lower-cased name, contacts (names, emails, phones) and notes: only when asked.
        pub text: String,
    }

    pub fn summary(id: String, doc: &AutoCommit, with_text: bool) -> Res<Summary> {
        let root = automerge::ROOT;
        let p = child(doc, &root, "party")?;
        let mut stages = Vec::new();
        let mut open_deals = 0;
        let deals = child(doc, &root, "deals")?;
        for key in doc.keys(&deals).collect::<Vec<_>>() {
            let o = child(doc, &deals, &key)?;
            if let Some(s) = string(doc, &o, "stage") {
                stages.push(s);
            }
            if string(doc, &o, "outcome").as_deref() == Some("open") {
                open_deals += 1;
            }
        }
        stages.sort();
        stages.dedup();
        let name = string(doc, &p, "name").unwrap_or_default();
        let mut text = String::new();
        if with_text {
            text.push_str(&name);
            let contacts = child(doc, &root, "contacts")?;
            for key in doc.keys(&contacts).collect::<Vec<_>>() {
                let o = child(doc, &contacts, &key)?;
                text.push(' ');
                text.push_str(&string(doc, &o, "name").unwrap_or_default());
                for k in keys(doc, &o, "emails").into_iter().chain(keys(doc, &o, "phones")) {
                    text.push(' ');
                    text.push_str(&k);
                }
            }
            text.push(' ');
            text.push_str(&doc.text(&child(doc, &p, "notes")?)?);
            text = text.to_lowercase();
        }
        Ok(Summary {
            id,
            name,
            kind: string(doc, &p, "kind"),
            owner: string(doc, &p, "owner"),
            team: string(doc, &p, "team"),
            territory: string(doc, &p, "territory"),
            loyalty_rung: string(doc, &p, "loyalty_rung"),
            lifecycle_phase: string(doc, &p, "lifecycle_phase"),
            value_tier: string(doc, &p, "value_tier"),
            status: string(doc, &p, "status"),
            deleted: doc.get(&root, "deleted_at")?.is_some(),
            merged: string(doc, &root, "merged_into").is_some(),
            open_deals,
            tags: keys(doc, &p, "tags"),
            stages,
            text,
        })
    }
}

/// A bare SQLite file with the replica's durability settings (WAL, synchronous
/// FULL, exclusive lock) and two plain tables: snapshots and appended chunks.
fn bare_db(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, bytes BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS changes (doc_id TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
                                             PRIMARY KEY (doc_id, seq));",
    )?;
    Ok(conn)
}

/// Anchor for "create": raw Automerge documents, saved, inserted in one transaction.
fn anchor_create(conn: &mut Connection, author: &raw::Author, specs: &[Spec]) -> Res<Vec<String>> {
    let mut docs = Vec::with_capacity(specs.len());
    for s in specs {
        docs.push(raw::create(author, &s.account)?);
    }
    let tx = conn.transaction()?;
    let mut ids = Vec::with_capacity(docs.len());
    {
        let mut insert = tx.prepare_cached("INSERT INTO docs (id, bytes) VALUES (?1, ?2)")?;
        for (id, mut doc) in docs {
            let id = id.to_string();
            insert.execute(params![id, doc.save()])?;
            ids.push(id);
        }
    }
    tx.commit()?;
    Ok(ids)
}

/// Anchor for "enrich": per account, one transaction: read the bytes, load,
/// apply the same operations, append the new changes as one chunk.
fn anchor_enrich(
    conn: &mut Connection,
    author: &raw::Author,
    ids: &[String],
    specs: &[Spec],
    settings: &Settings,
) -> Res<()> {
    for (id, spec) in ids.iter().zip(specs) {
        let tx = conn.transaction()?;
        let bytes: Vec<u8> =
            tx.prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
        let mut doc = AutoCommit::load(&bytes)?.with_actor(author.actor.clone());
        let before = doc.get_heads();
        let contacts: Vec<String> =
            spec.contacts.iter().map(|c| raw::add_contact(&mut doc, author, c)).collect::<Res<_>>()?;
        let mut deals = Vec::new();
        for d in &spec.deals {
            let primary = d.primary.map(|i| contacts[i].as_str());
            let deal = raw::add_deal(&mut doc, author, &d.new, settings.stage("prospecting")?, primary)?;
            if let Some(to) = d.moved_to {
                raw::move_deal(&mut doc, author, &deal, settings.stage(to)?)?;
            }
            deals.push(deal);
        }
        for i in &spec.interactions {
            let contact = i.contact.map(|c| contacts[c].as_str());
            let deal = i.deal.map(|d| deals[d].as_str());
            raw::log_interaction(&mut doc, author, &i.new, contact, deal)?;
        }
        let chunk = doc.save_after(&before);
        tx.prepare_cached("INSERT INTO changes (doc_id, seq, bytes) VALUES (?1, 1, ?2)")?
            .execute(params![id, chunk])?;
        tx.commit()?;
    }
    Ok(())
}

/// Anchor for reads without an index: every document's bytes from the bare
/// tables, loaded with Automerge, the listed fields read out.
fn anchor_scan(
    conn: &Connection,
    with_text: bool,
    mut keep: impl FnMut(&raw::Summary) -> bool,
) -> Res<Vec<raw::Summary>> {
    let mut chunks: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached("SELECT doc_id, bytes FROM changes ORDER BY doc_id, seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            chunks.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
    }
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT id, bytes FROM docs")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let bytes: Vec<u8> = r.get(1)?;
        let mut doc = AutoCommit::load(&bytes)?;
        for chunk in chunks.get(&id).into_iter().flatten() {
            doc.load_incremental(chunk)?;
        }
        let s = raw::summary(id, &doc, with_text)?;
        if !s.deleted && !s.merged && keep(&s) {
            out.push(s);
        }
    }
    out.sort_by_cached_key(|s| (s.name.to_lowercase(), s.id.clone()));
    Ok(out)
}

/// What `index::fts_query` makes of free text: every word a quoted prefix term.
/// The query the replica's search runs (prefixes and stems).
fn fts_query(text: &str) -> String {
    rapport_core::replica::search_query(text).unwrap_or_default()
}

use rapport_core::replica::SUMMARY_SELECT as SUMMARY_SQL;

type RawRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    bool,
    i64,
    i64,
    i64,
);

/// Anchor for indexed reads: the same SQL the replica runs, on a copy of the
/// replica file, through bare rusqlite (no query building, no typed decoding).
fn sql_floor(conn: &Connection, sql: &str, args: &[&str]) -> Res<Vec<RawRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

// ---------------------------------------------------------------------------
// Replica side
// ---------------------------------------------------------------------------

fn ours_enrich(replica: &mut Replica, ids: &[AccountId], specs: &[Spec]) -> Res<()> {
    for (&id, spec) in ids.iter().zip(specs) {
        replica.edit(id, |e| {
            let contacts = spec.contacts.iter().map(|c| e.add_contact(c)).collect::<Result<Vec<ContactId>, _>>()?;
            let mut deals = Vec::with_capacity(spec.deals.len());
            for d in &spec.deals {
                let mut new = d.new.clone();
                new.primary_contact = d.primary.map(|i| contacts[i]);
                let deal = e.add_deal(&new)?;
                if let Some(to) = d.moved_to {
                    e.move_deal_stage(deal, to, None)?;
                }
                deals.push(deal);
            }
            for i in &spec.interactions {
                let mut new = i.new.clone();
                new.contacts.extend(i.contact.map(|c| contacts[c]));
                new.deal = i.deal.map(|d| deals[d]);
                e.log_interaction(&new)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Measurement bookkeeping
// ---------------------------------------------------------------------------

/// One timed measurement: wall time, and where Linux tells us, this process's
/// CPU time and the bytes it caused to be written to the disk.
#[derive(Debug, Clone, Copy)]
struct Probe {
    wall: Duration,
    cpu: Option<Duration>,
    written: Option<u64>,
}

impl Probe {
    fn wall(wall: Duration) -> Probe {
        Probe { wall, cpu: None, written: None }
    }
}

/// User + system CPU time of this process, from /proc (10 ms resolution).
fn cpu_now() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Bytes this process caused to be sent to the storage layer, from /proc.
fn written_now() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok())
}

#[derive(Default)]
struct Row {
    ours: Vec<Probe>,
    anchor: Vec<Probe>,
    anchor_is: &'static str,
    /// Writes: also report CPU time and bytes written.
    write: bool,
}

#[derive(Default)]
struct Table {
    order: Vec<String>,
    rows: BTreeMap<String, Row>,
    notes: Vec<String>,
}

impl Table {
    fn row(&mut self, name: &str, anchor_is: &'static str) -> &mut Row {
        if !self.rows.contains_key(name) {
            self.order.push(name.to_owned());
        }
        let row = self.rows.entry(name.to_owned()).or_default();
        row.anchor_is = anchor_is;
        row
    }
}

fn median<T: Ord + Copy>(xs: impl IntoIterator<Item = T>) -> Option<T> {
    let mut v: Vec<T> = xs.into_iter().collect();
    v.sort();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

fn timed<T>(f: impl FnOnce() -> Res<T>) -> Res<(Probe, T)> {
    let (cpu, written) = (cpu_now(), written_now());
    let start = Instant::now();
    let out = f()?;
    let wall = start.elapsed();
    let probe = Probe {
        wall,
        cpu: cpu_now().zip(cpu).map(|(b, a)| b.saturating_sub(a)),
        written: written_now().zip(written).map(|(b, a)| b.saturating_sub(a)),
    };
    Ok((probe, out))
}

/// ours / anchor: the median of the ratios of paired samples (one run or
/// repetition each, measured back to back), or of the medians when unpaired.
fn ratio(ours: &[Option<Duration>], anchor: &[Option<Duration>]) -> Option<f64> {
    let secs = |d: &Option<Duration>| d.map(|d| d.as_secs_f64()).filter(|s| *s > 0.0);
    let mut ratios: Vec<f64> = if ours.len() == anchor.len() {
        ours.iter().zip(anchor).filter_map(|(o, a)| Some(secs(o)? / secs(a)?)).collect()
    } else {
        let med = |xs: &[Option<Duration>]| median(xs.iter().flatten().copied());
        med(ours).zip(med(anchor)).and_then(|(o, a)| Some(secs(&Some(o))? / secs(&Some(a))?)).into_iter().collect()
    };
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied()
}

fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        None => "—".into(),
        Some(r) if r < 0.01 => format!("{r:.1e}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

fn fmt(d: Option<Duration>) -> String {
    match d {
        None => "—".into(),
        Some(d) if d.as_secs_f64() >= 1.0 => format!("{:.2} s", d.as_secs_f64()),
        Some(d) if d.as_secs_f64() >= 0.001 => format!("{:.1} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.0} µs", d.as_secs_f64() * 1e6),
    }
}

/// A pause between the two sides of a write measurement, so that one side's
/// disk writeback does not land in the other's time.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

fn file_size(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

// ---------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------

const LIST_ALL: &str = "reopen + list all";
const ANCHOR_GUARD: &str = "the same documents read through the replica and saved, without the load-back check";
const ANCHOR_CREATE: &str = "raw Automerge create + save, INSERT into bare table, 1 tx";
const ANCHOR_ENRICH: &str = "per account 1 tx: SELECT bytes, raw load, same ops, save_after, INSERT chunk";
const ANCHOR_SCAN: &str = "no index: SELECT all bytes, raw load every doc, read fields, filter, sort";
const ANCHOR_SQL: &str = "same SQL via bare rusqlite on a copy of the replica file";
const ANCHOR_MERGE: &str = "per doc 1 tx: SELECT bytes, raw load A + B, merge, save, UPDATE";

struct Filter {
    label: &'static str,
    filter: AccountFilter,
    sql: String,
    args: Vec<String>,
    keep: fn(&raw::Summary) -> bool,
}

fn filters() -> Vec<Filter> {
    let base = format!("{SUMMARY_SQL} WHERE a.merged_into IS NULL");
    let tail = "AND a.deleted = 0 ORDER BY a.name COLLATE NOCASE, a.id";
    vec![
        Filter {
            label: "filter owner + tag",
            filter: AccountFilter { owner: Some(REPS[3].into()), tag: Some("vip".into()), ..AccountFilter::default() },
            sql: format!(
                "{base} AND a.owner = ? AND EXISTS (SELECT 1 FROM account_tags t WHERE t.account_id = a.id AND t.tag = ?) {tail}"
            ),
            args: vec![REPS[3].into(), "vip".into()],
            keep: |s| s.owner.as_deref() == Some(REPS[3]) && s.tags.iter().any(|t| t == "vip"),
        },
        Filter {
            label: "filter deal stage",
            filter: AccountFilter { deal_stage: Some("negotiation".into()), ..AccountFilter::default() },
            sql: format!(
                "{base} AND EXISTS (SELECT 1 FROM account_deal_stages s WHERE s.account_id = a.id AND s.stage = ?) {tail}"
            ),
            args: vec!["negotiation".into()],
            keep: |s| s.stages.iter().any(|t| t == "negotiation"),
        },
        Filter {
            label: "filter territory + tier",
            filter: AccountFilter {
                territory: Some(TERRITORIES[2].into()),
                value_tier: Some(ValueTier::Key),
                ..AccountFilter::default()
            },
            sql: format!("{base} AND a.territory = ? AND a.value_tier = ? {tail}"),
            args: vec![TERRITORIES[2].into(), "key".into()],
            keep: |s| s.territory.as_deref() == Some(TERRITORIES[2]) && s.value_tier.as_deref() == Some("key"),
        },
    ]
}

const SEARCHES: [&str; 4] = ["korhonen", "renewal", "nordic logistics", "warehouse scanners"];
const SEARCH_LIMIT: u32 = 50;

fn run(cfg: &Config, run_no: usize, specs: &[Spec], table: &mut Table) -> Res<()> {
    if cfg.encryption {
        encryption(cfg, run_no, specs, table)?;
    }
    if !cfg.ours && !cfg.anchor {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let replica_path = dir.path().join("replica.db");
    let bare_path = dir.path().join("bare.db");
    let floor_path = dir.path().join("floor.db");
    let identity = DeviceIdentity::new("ana", "ana-laptop");
    let settings = Settings::default();
    let author = raw::Author {
        user: "ana".into(),
        device: "ana-laptop".into(),
        actor: ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice()),
    };
    let n = specs.len();
    let create_name = format!("bulk create {n} (create_accounts, 1 tx)");
    let enrich_name = format!("add contacts/deals/interactions ({n} × edit())");

    // (1) Bulk create, then (1b) fill each account through edit(). Which side
    // goes first alternates between runs.
    let sides = if run_no.is_multiple_of(2) { [true, false] } else { [false, true] };
    let mut replica = if cfg.ours { Some(Replica::open(&replica_path, &identity)?) } else { None };
    let mut bare = bare_db(&bare_path)?;
    let batch: Vec<NewAccount> = specs.iter().map(|s| s.account.clone()).collect();
    let (mut ids, mut bare_ids) = (Vec::new(), Vec::new());
    for ours in sides {
        settle();
        if ours && let Some(replica) = replica.as_mut() {
            let (t, created) = timed(|| Ok(replica.create_accounts(&batch)?))?;
            table.row(&create_name, ANCHOR_CREATE).ours.push(t);
            ids = created;
        } else if !ours && cfg.anchor {
            let (t, created) = timed(|| anchor_create(&mut bare, &author, specs))?;
            table.row(&create_name, ANCHOR_CREATE).anchor.push(t);
            bare_ids = created;
        }
    }
    for ours in sides {
        settle();
        if ours && let Some(replica) = replica.as_mut() {
            let (t, ()) = timed(|| ours_enrich(replica, &ids, specs))?;
            table.row(&enrich_name, ANCHOR_ENRICH).ours.push(t);
        } else if !ours && cfg.anchor {
            let (t, ()) = timed(|| anchor_enrich(&mut bare, &author, &bare_ids, specs, &settings))?;
            table.row(&enrich_name, ANCHOR_ENRICH).anchor.push(t);
        }
    }
    // (1c) The compaction guard (every write stores a new snapshot, checked
    // to load back with the same heads): `export_document` is that guarded
    // save; the anchor is the same document's plain `save()`. Both read the
    // document through the replica first, so the difference is the check.
    if let Some(replica) = replica.as_mut() {
        let guard_name = format!("guarded snapshot of {n} edited accounts (export_document)");
        for guarded in sides {
            settle();
            let (t, ()) = timed(|| {
                for &id in &ids {
                    let bytes = if guarded { replica.export_document(id)? } else { replica.document(id)?.save() };
                    std::hint::black_box(bytes);
                }
                Ok(())
            })?;
            let row = table.row(&guard_name, ANCHOR_GUARD);
            if guarded { row.ours.push(t) } else { row.anchor.push(t) }
        }
    }
    drop(replica);
    table.row(&create_name, ANCHOR_CREATE).write = true;
    table.row(&enrich_name, ANCHOR_ENRICH).write = true;
    if run_no == 0 && cfg.ours && cfg.anchor {
        bare.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let sum = |conn: &Connection, sql: &str| -> Res<f64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        let ours_doc_bytes = {
            let conn = Connection::open(&replica_path)?;
            sum(
                &conn,
                "SELECT (SELECT total(length(snapshot)) FROM documents WHERE id != 'settings')
                      + (SELECT total(length(bytes)) FROM doc_changes WHERE doc_id != 'settings')",
            )?
        };
        let anchor_doc_bytes =
            sum(&bare, "SELECT (SELECT total(length(bytes)) FROM docs) + (SELECT total(length(bytes)) FROM changes)")?;
        table.notes.push(format!(
            "storage after create + fill: replica file {:.1} MB, bare anchor file {:.1} MB; \
             Automerge bytes per account: ours {:.0}, anchor {:.0}",
            file_size(&replica_path) as f64 / 1e6,
            file_size(&bare_path) as f64 / 1e6,
            ours_doc_bytes / n as f64,
            anchor_doc_bytes / n as f64,
        ));
    }

    // (2) Reopen and list everything.
    if cfg.ours {
        std::fs::copy(&replica_path, &floor_path)?;
        assert!(!Path::new(&format!("{}-wal", replica_path.display())).exists(), "replica WAL not checkpointed");
        for _ in 0..cfg.read_reps {
            let (t, (t_open, replica, listed)) = timed(|| {
                let start = Instant::now();
                let replica = Replica::open(&replica_path, &identity)?;
                let t_open = start.elapsed();
                let listed = replica.list(&AccountFilter::default())?;
                Ok((t_open, replica, listed))
            })?;
            // Closing (a WAL checkpoint of what open wrote) is not part of the row.
            drop(replica);
            assert_eq!(listed.len(), n, "list must show every account");
            table.row(LIST_ALL, ANCHOR_SCAN).ours.push(t);
            table.row("  of which Replica::open", "").ours.push(Probe::wall(t_open));
            table.row(&format!("{LIST_ALL} (vs bare SQL)"), ANCHOR_SQL).ours.push(t);
        }
    }
    if cfg.anchor {
        drop(bare);
        let (t, listed) = timed(|| anchor_scan(&bare_db(&bare_path)?, false, |_| true))?;
        assert_eq!(listed.len(), n);
        table.row(LIST_ALL, ANCHOR_SCAN).anchor.push(t);
        bare = bare_db(&bare_path)?;
    }
    let floor = if cfg.ours { Some(Connection::open(&floor_path)?) } else { None };
    if floor.is_some() {
        let sql =
            format!("{SUMMARY_SQL} WHERE a.merged_into IS NULL AND a.deleted = 0 ORDER BY a.name COLLATE NOCASE, a.id");
        for _ in 0..cfg.read_reps {
            let (t, rows) = timed(|| {
                let conn = Connection::open(&floor_path)?;
                sql_floor(&conn, &sql, &[])
            })?;
            assert_eq!(rows.len(), n);
            table.row(&format!("{LIST_ALL} (vs bare SQL)"), ANCHOR_SQL).anchor.push(t);
        }
    }

    // (3) Filtered lists and (4) full-text search.
    let replica = if cfg.ours { Some(Replica::open(&replica_path, &identity)?) } else { None };
    for f in filters() {
        let mut ours_count = None;
        if let (Some(replica), Some(floor)) = (&replica, &floor) {
            let args: Vec<&str> = f.args.iter().map(String::as_str).collect();
            for _ in 0..cfg.read_reps {
                let (t, rows) = timed(|| Ok(replica.list(&f.filter)?))?;
                table.row(f.label, ANCHOR_SCAN).ours.push(t);
                table.row(&format!("{} (vs bare SQL)", f.label), ANCHOR_SQL).ours.push(t);
                let (t, raw_rows) = timed(|| sql_floor(floor, &f.sql, &args))?;
                table.row(&format!("{} (vs bare SQL)", f.label), ANCHOR_SQL).anchor.push(t);
                assert_eq!(rows.len(), raw_rows.len());
                ours_count = Some(rows.len());
            }
        }
        if cfg.anchor {
            let (t, found) = timed(|| anchor_scan(&bare, false, f.keep))?;
            table.row(f.label, ANCHOR_SCAN).anchor.push(t);
            if let Some(c) = ours_count {
                assert_eq!(c, found.len(), "{}: index and documents disagree", f.label);
            }
            if run_no == 0 {
                table.notes.push(format!("{}: {} accounts match", f.label, found.len()));
            }
        }
    }
    let search_name = format!("search ({} queries, limit {SEARCH_LIMIT})", SEARCHES.len());
    if let (Some(replica), Some(floor)) = (&replica, &floor) {
        let sql = format!(
            "{SUMMARY_SQL} JOIN accounts_fts ON accounts_fts.rowid = a.rowid WHERE a.merged_into IS NULL \
             AND accounts_fts MATCH ? AND a.deleted = 0 ORDER BY accounts_fts.rank, a.name COLLATE NOCASE \
             LIMIT {SEARCH_LIMIT}"
        );
        for _ in 0..cfg.read_reps {
            let (t, hits) = timed(|| {
                SEARCHES.iter().map(|q| Ok(replica.search(q, SEARCH_LIMIT)?.len())).collect::<Res<Vec<usize>>>()
            })?;
            table.row(&search_name, ANCHOR_SCAN).ours.push(t);
            table.row(&format!("{search_name} (vs bare SQL)"), ANCHOR_SQL).ours.push(t);
            let (t, raw_hits) = timed(|| {
                SEARCHES
                    .iter()
                    .map(|q| Ok(sql_floor(floor, &sql, &[&fts_query(q)])?.len()))
                    .collect::<Res<Vec<usize>>>()
            })?;
            table.row(&format!("{search_name} (vs bare SQL)"), ANCHOR_SQL).anchor.push(t);
            assert_eq!(hits, raw_hits);
            if run_no == 0 && table.notes.iter().all(|n| !n.starts_with("search hits")) {
                table.notes.push(format!("search hits (FTS, capped at {SEARCH_LIMIT}): {hits:?} for {SEARCHES:?}"));
            }
        }
    }
    if cfg.anchor {
        let (t, hits) = timed(|| {
            let found = anchor_scan(&bare, true, |s| {
                SEARCHES.iter().any(|q| q.split_whitespace().all(|w| s.text.contains(w)))
            })?;
            Ok(SEARCHES
                .iter()
                .map(|q| {
                    found
                        .iter()
                        .filter(|s| q.split_whitespace().all(|w| s.text.contains(w)))
                        .take(SEARCH_LIMIT as usize)
                        .count()
                })
                .collect::<Vec<_>>())
        })?;
        table.row(&search_name, ANCHOR_SCAN).anchor.push(t);
        if run_no == 0 {
            table.notes.push(format!("search hits (substring scan, capped): {hits:?}"));
        }
    }
    drop(replica);
    drop(floor);

    // (5) Merge of concurrently edited accounts.
    if cfg.ours && cfg.merge > 0 {
        merge(cfg, run_no, dir.path(), &replica_path, &identity, &ids[..cfg.merge], table)?;
    }
    if run_no == 0 && cfg.ours {
        breakdown(&replica_path, &ids, cfg.merge, table)?;
    }
    if run_no == 0 && std::env::var_os("RAPPORT_BENCH_KEEP").is_some() {
        eprintln!("files of run 1 kept in {}", dir.keep().display());
    }
    Ok(())
}

fn merge(
    cfg: &Config,
    run_no: usize,
    dir: &Path,
    replica_path: &Path,
    identity: &DeviceIdentity,
    ids: &[AccountId],
    table: &mut Table,
) -> Res<()> {
    let m = ids.len();
    let name = format!("merge {m} edited accounts (import_document)");
    let mut a = Replica::open(replica_path, identity)?;
    let mut b = Replica::open(dir.join("replica-b.db"), &DeviceIdentity::new("bo", "bo-phone"))?;
    // B gets A's copies, then both edit: the same field (city: conflict),
    // different fields (A tags, B owner and a new call), and both type into the notes.
    for &id in ids {
        b.import_document(&a.export_document(id)?)?;
    }
    let mut rng = SmallRng::seed_from_u64(0xB0B);
    for &id in ids {
        let (city_a, city_b) = (CITIES.choose(&mut rng).unwrap().0, CITIES.choose(&mut rng).unwrap().0);
        a.edit(id, |e| {
            e.set_field("party.address.city", &format!("{city_a} (A)"))?;
            e.add_tag("merge-test")?;
            e.splice_notes(0, 0, "Checked by A. ")
        })?;
        let owner = *REPS.choose(&mut rng).unwrap();
        b.edit(id, |e| {
            e.set_field("party.address.city", &format!("{city_b} (B)"))?;
            e.set_field("party.owner", owner)?;
            e.log_interaction(&NewInteraction::new(InteractionKind::Call, "Called about the merge"))?;
            e.splice_notes(0, 0, "Checked by B. ")
        })?;
    }
    let (t_export, from_b) = timed(|| ids.iter().map(|&id| Ok(b.export_document(id)?)).collect::<Res<Vec<_>>>())?;
    drop(b);

    // The anchor starts from A's edited copies, in a bare table.
    let anchor_path = dir.join(format!("merge-anchor-{run_no}.db"));
    let mut bare = bare_db(&anchor_path)?;
    {
        let tx = bare.transaction()?;
        for &id in ids {
            tx.execute(
                "INSERT INTO docs (id, bytes) VALUES (?1, ?2)",
                params![id.to_string(), a.export_document(id)?],
            )?;
        }
        tx.commit()?;
    }
    let run_ours = |a: &mut Replica| -> Res<()> {
        for bytes in &from_b {
            a.import_document(bytes)?;
        }
        Ok(())
    };
    let run_anchor = |bare: &mut Connection| -> Res<()> {
        for (id, bytes) in ids.iter().zip(&from_b) {
            let id = id.to_string();
            let tx = bare.transaction()?;
            let mine: Vec<u8> =
                tx.prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?.query_row([&id], |r| r.get(0))?;
            let mut mine = AutoCommit::load(&mine)?;
            let mut theirs = AutoCommit::load(bytes)?;
            mine.merge(&mut theirs)?;
            tx.prepare_cached("UPDATE docs SET bytes = ?2 WHERE id = ?1")?.execute(params![id, mine.save()])?;
            tx.commit()?;
        }
        Ok(())
    };
    // Alternate which side goes first between runs.
    let (mut t_ours, mut t_anchor) = (None, None);
    for side in [run_no % 2, 1 - run_no % 2] {
        settle();
        if side == 0 {
            t_ours = Some(timed(|| run_ours(&mut a))?.0);
        } else if cfg.anchor {
            t_anchor = Some(timed(|| run_anchor(&mut bare))?.0);
        }
    }
    let row = table.row(&name, ANCHOR_MERGE);
    row.write = true;
    row.ours.extend(t_ours);
    row.anchor.extend(t_anchor);
    let conflicted = a.list(&AccountFilter { with_conflicts: true, ..AccountFilter::default() })?.len();
    assert_eq!(conflicted, m, "every merged account has the city conflict");
    if run_no == 0 {
        table.notes.push(format!(
            "merge: {conflicted} of {m} accounts show the city conflict after import; \
             exporting B's {m} documents (not in the row) took {}",
            fmt(Some(t_export.wall)),
        ));
    }
    Ok(())
}

/// A document as the replica stores it: snapshot and appended change chunks.
type Stored = (Vec<u8>, Vec<Vec<u8>>);

/// Where a write's time goes, per account, measured on the stored documents
/// of this run (accounts `..merged` went through the merge, the rest did not).
fn breakdown(replica_path: &Path, ids: &[AccountId], merged: usize, table: &mut Table) -> Res<()> {
    let conn = Connection::open(replica_path)?;
    let actor = ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice());
    let sample = |range: &[AccountId]| -> Res<Vec<Stored>> {
        range
            .iter()
            .map(|id| {
                let id = id.to_string();
                let snapshot: Vec<u8> =
                    conn.query_row("SELECT snapshot FROM documents WHERE id = ?1", [&id], |r| r.get(0))?;
                let mut stmt = conn.prepare_cached("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?;
                let chunks = stmt.query_map([&id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<Vec<u8>>>>()?;
                Ok((snapshot, chunks))
            })
            .collect()
    };
    let others = &ids[merged..ids.len().min(merged + 1000)];
    for (label, stored) in [("merged", sample(&ids[..merged])?), ("edited-once", sample(others)?)] {
        if stored.is_empty() {
            continue;
        }
        let k = stored.len() as f64;
        let chunks = stored.iter().map(|(_, c)| c.len()).sum::<usize>() as f64 / k;
        let mut load_stored = Duration::ZERO;
        let mut load_compact = Duration::ZERO;
        let mut conflicts = Duration::ZERO;
        let mut save = Duration::ZERO;
        let mut flagged = Duration::ZERO;
        let mut found = (0, 0);
        for (snapshot, chunk_bytes) in &stored {
            let start = Instant::now();
            let mut doc = AutoCommit::load(snapshot)?;
            for c in chunk_bytes {
                doc.load_incremental(c)?;
            }
            load_stored += start.elapsed();
            let start = Instant::now();
            let compact = doc.save();
            save += start.elapsed();
            let start = Instant::now();
            let doc = AutoCommit::load(&compact)?;
            load_compact += start.elapsed();
            let mut account = rapport_core::AccountDoc::load(&compact, actor.clone())?;
            let start = Instant::now();
            found.0 += account.conflicts().len();
            conflicts += start.elapsed();
            let start = Instant::now();
            found.1 += flagged_conflicts(&doc);
            flagged += start.elapsed();
        }
        assert_eq!(found.0, found.1, "map_range scan must find the same conflicts");
        let us = |d: Duration| d.as_secs_f64() * 1e6 / k;
        table.notes.push(format!(
            "breakdown, {} {label} accounts (snapshot + {chunks:.1} chunks), per account: \
             load as stored {:.0} µs, save compacted {:.0} µs, load compacted {:.0} µs; \
             AccountDoc::conflicts() {:.0} µs, \
             the same via map_range conflict flags {:.0} µs ({} conflicts)",
            stored.len(),
            us(load_stored),
            us(save),
            us(load_compact),
            us(conflicts),
            us(flagged),
            found.0,
        ));
    }
    Ok(())
}

/// The conflicts `AccountDoc::conflicts` counts (keys with several distinct
/// scalar values), found through `map_range`'s conflict flag instead of a
/// `get_all` per key.
fn flagged_conflicts(d: &AutoCommit) -> usize {
    let root = automerge::ROOT;
    let child = |o: &ObjId, key: &str| match d.get(o, key) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let mut objects: Vec<(ObjId, bool)> = vec![(root.clone(), true)];
    if let Some(p) = child(&root, "party") {
        for sub in ["address", "demographics", "buying_habits"] {
            objects.extend(child(&p, sub).map(|o| (o, false)));
        }
        objects.push((p, false));
    }
    for coll in ["contacts", "deals", "interactions", "tasks", "ties"] {
        if let Some(c) = child(&root, coll) {
            for item in d.map_range(&c, ..) {
                if let ValueRef::Object(_) = item.value {
                    objects.push((item.id(), false));
                }
            }
        }
    }
    let mut n = 0;
    for (o, only_root_keys) in objects {
        for item in d.map_range(&o, ..) {
            let key: &str = item.key.as_ref();
            if !item.conflict || (only_root_keys && !["deleted_at", "merged_into"].contains(&key)) {
                continue;
            }
            let Ok(values) = d.get_all(&o, key) else { continue };
            let scalars: Vec<ScalarValue> = values
                .iter()
                .filter_map(|(v, _)| match v {
                    Value::Scalar(s) => Some(s.clone().into_owned()),
                    Value::Object(_) => None,
                })
                .collect();
            if scalars.len() == values.len() && scalars.iter().any(|s| s != &scalars[0]) {
                n += 1;
            }
        }
    }
    n
}

// ---------------------------------------------------------------------------
// Encryption at rest: the same operations, encrypted against plain
// ---------------------------------------------------------------------------

const ANCHOR_PLAIN: &str = "the same on a plain replica (ours = encrypted, anchor = plain)";

/// The replica's operations on a plain and on an encrypted replica (SQLCipher
/// with a raw key, as the apps use), back to back, alternating which goes first.
fn encryption(cfg: &Config, run_no: usize, specs: &[Spec], table: &mut Table) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let identity = DeviceIdentity::new("ana", "ana-laptop");
    let key = ReplicaKey::raw(&[0x42; RAW_KEY_LEN])?;
    let paths = [dir.path().join("plain.db"), dir.path().join("encrypted.db")];
    let open = |encrypted: bool| -> Res<Replica> {
        Ok(if encrypted {
            Replica::open_encrypted(&paths[1], &identity, &key)?
        } else {
            Replica::open(&paths[0], &identity)?
        })
    };
    let record = |table: &mut Table, name: &str, encrypted: bool, t: Probe| {
        let row = table.row(name, ANCHOR_PLAIN);
        if encrypted { row.ours.push(t) } else { row.anchor.push(t) }
    };
    let n = specs.len();
    let sides = if run_no.is_multiple_of(2) { [true, false] } else { [false, true] };
    let create_name = format!("encrypted: bulk create {n}");
    let enrich_name = format!("encrypted: add contacts/deals/interactions ({n} × edit())");
    let batch: Vec<NewAccount> = specs.iter().map(|s| s.account.clone()).collect();
    let mut replicas = [open(false)?, open(true)?];
    let mut ids = [Vec::new(), Vec::new()];
    for encrypted in sides {
        settle();
        let replica = &mut replicas[usize::from(encrypted)];
        let (t, created) = timed(|| Ok(replica.create_accounts(&batch)?))?;
        record(table, &create_name, encrypted, t);
        ids[usize::from(encrypted)] = created;
    }
    for encrypted in sides {
        settle();
        let (replica, ids) = (&mut replicas[usize::from(encrypted)], &ids[usize::from(encrypted)]);
        let (t, ()) = timed(|| ours_enrich(replica, ids, specs))?;
        record(table, &enrich_name, encrypted, t);
    }
    drop(replicas);
    table.row(&create_name, ANCHOR_PLAIN).write = true;
    table.row(&enrich_name, ANCHOR_PLAIN).write = true;
    if run_no == 0 {
        table.notes.push(format!(
            "encrypted rows: plain replica file {:.1} MB, encrypted {:.1} MB",
            file_size(&paths[0]) as f64 / 1e6,
            file_size(&paths[1]) as f64 / 1e6
        ));
    }

    let list_name = format!("encrypted: {LIST_ALL}");
    for _ in 0..cfg.read_reps {
        for encrypted in sides {
            let (t, listed) = timed(|| Ok(open(encrypted)?.list(&AccountFilter::default())?.len()))?;
            assert_eq!(listed, n);
            record(table, &list_name, encrypted, t);
        }
    }
    let replicas = [open(false)?, open(true)?];
    for f in filters() {
        let name = format!("encrypted: {}", f.label);
        let mut counts = [0, 0];
        for _ in 0..cfg.read_reps {
            for encrypted in sides {
                let (t, rows) = timed(|| Ok(replicas[usize::from(encrypted)].list(&f.filter)?))?;
                record(table, &name, encrypted, t);
                counts[usize::from(encrypted)] = rows.len();
            }
        }
        assert_eq!(counts[0], counts[1], "{name}: both replicas hold the same accounts");
    }
    let search_name = format!("encrypted: search ({} queries, limit {SEARCH_LIMIT})", SEARCHES.len());
    for _ in 0..cfg.read_reps {
        for encrypted in sides {
            let replica = &replicas[usize::from(encrypted)];
            let (t, _) = timed(|| {
                SEARCHES.iter().map(|q| Ok(replica.search(q, SEARCH_LIMIT)?.len())).collect::<Res<Vec<usize>>>()
            })?;
            record(table, &search_name, encrypted, t);
        }
    }
    drop(replicas);

    // Encrypting the plain replica of this run in place (no plain counterpart).
    settle();
    let (t, _) = timed(|| Ok(Replica::encrypt(&paths[0], &key)?))?;
    let row = table.row("encrypted: encrypt the plain replica in place (Replica::encrypt)", "— (one-off conversion)");
    row.ours.push(t);
    row.write = true;
    Ok(())
}

fn main() -> Res<()> {
    let cfg = Config::from_env()?;
    eprintln!(
        "replica bench: {} accounts, merge {}, {} runs{}",
        cfg.accounts,
        cfg.merge,
        cfg.runs,
        match (cfg.ours, cfg.anchor, cfg.encryption) {
            (true, false, _) => " (ours only)",
            (false, true, _) => " (anchor only)",
            (false, false, true) => " (encrypted against plain only)",
            _ => "",
        }
    );
    let specs = generate(cfg.accounts, 0x5EED_0002)?;
    let stats = (
        specs.iter().map(|s| s.contacts.len()).sum::<usize>(),
        specs.iter().map(|s| s.deals.len()).sum::<usize>(),
        specs.iter().map(|s| s.interactions.len()).sum::<usize>(),
    );
    let mut table = Table::default();
    table.notes.push(format!(
        "data: {} accounts, {} contacts, {} deals, {} interactions (seeded, deterministic)",
        specs.len(),
        stats.0,
        stats.1,
        stats.2
    ));
    for run_no in 0..cfg.runs {
        let start = Instant::now();
        run(&cfg, run_no, &specs, &mut table)?;
        eprintln!("run {}/{} done in {:.1} s", run_no + 1, cfg.runs, start.elapsed().as_secs_f64());
    }

    println!();
    println!("| operation | ours | anchor | ours / anchor | anchor |");
    println!("|---|---:|---:|---:|---|");
    for name in &table.order {
        let row = &table.rows[name];
        let wall = |ps: &[Probe]| ps.iter().map(|p| Some(p.wall)).collect::<Vec<_>>();
        let (ours, anchor) = (median(row.ours.iter().map(|p| p.wall)), median(row.anchor.iter().map(|p| p.wall)));
        let ratio = ratio(&wall(&row.ours), &wall(&row.anchor));
        println!("| {name} | {} | {} | {} | {} |", fmt(ours), fmt(anchor), fmt_ratio(ratio), row.anchor_is);
    }
    println!();
    println!("Writes: wall time of each run, CPU time (user + system) and bytes written to disk (from /proc):");
    println!();
    println!(
        "| operation | each run: ours / anchor | ours CPU | anchor CPU | CPU ours / anchor | ours written | anchor written |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for name in &table.order {
        let row = &table.rows[name];
        if !row.write {
            continue;
        }
        let runs = if row.anchor.is_empty() {
            row.ours.iter().map(|o| fmt(Some(o.wall))).collect::<Vec<_>>().join(", ")
        } else {
            row.ours
                .iter()
                .zip(&row.anchor)
                .map(|(o, a)| format!("{} / {}", fmt(Some(o.wall)), fmt(Some(a.wall))))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cpu = |ps: &[Probe]| ps.iter().map(|p| p.cpu).collect::<Vec<_>>();
        let mb = |ps: &[Probe]| {
            median(ps.iter().filter_map(|p| p.written)).map_or("—".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
        };
        println!(
            "| {name} | {runs} | {} | {} | {} | {} | {} |",
            fmt(median(row.ours.iter().filter_map(|p| p.cpu))),
            fmt(median(row.anchor.iter().filter_map(|p| p.cpu))),
            fmt_ratio(ratio(&cpu(&row.ours), &cpu(&row.anchor))),
            mb(&row.ours),
            mb(&row.anchor)
        );
    }
    println!();
    println!(
        "Times are medians of {} run(s); indexed reads repeat {} times per run. A ratio is the median of the \
         per-run (per-repetition) ratios, ours and anchor being measured back to back.",
        cfg.runs, cfg.read_reps
    );
    for note in &table.notes {
        println!("* {note}");
    }
    Ok(())
}

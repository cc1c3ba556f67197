//! Convergence of account documents under random concurrent editing.
//!
//! In the spirit of y-crdt's seeded multi-replica tests: three in-memory
//! replicas of an account, each with its own user, device and Automerge actor,
//! start from the same created document, apply random operations through the
//! [`Editor`], and exchange changes in random orders and groupings: pairwise
//! merges, whole documents (`save` / `apply_bytes`), incremental chunks
//! (`save_incremental` / `load_incremental`, delivered in order, possibly long
//! after they were written), and disconnections of a replica for many steps.
//!
//! A model records every write and, per replica, every write that replica has
//! observed (its own, and those carried by what it merged). A write to a field
//! is superseded by a later write to the same field that had observed it, so
//! the model knows for every field exactly which writes are concurrent. On any
//! replica at any time, and on all replicas after everyone synced, it checks
//! the promises of DOMAIN.md "How fields merge":
//!
//! * a field whose surviving writes agree shows that value, with no conflict;
//!   in particular a field written by one replica only shows its last value;
//! * a field with concurrent, different values shows one of them and is listed
//!   by `conflicts()` with exactly those values, who wrote them, on which
//!   device, with one winner, the value shown;
//! * tags are add-wins (a removal removes only the additions it saw);
//! * contacts, deals, tasks, interactions are merged by id, nothing lost;
//!   stage and ladder histories are unions; the visit counter is the number of
//!   held visits logged on every replica;
//! * every word typed into the notes (unique markers, inserted only) is there,
//!   whole, exactly once;
//! * after a full sync every replica has the same heads, the same typed
//!   account and the same conflicts; resolving every conflict on one replica
//!   and syncing clears them everywhere.
//!
//! Proptest prints the failing (shrunk) case and stores its seed in
//! `proptest-regressions/convergence.txt`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rapport_core::*;
use time::{Date, Duration, OffsetDateTime};

const REPLICAS: usize = 3;

// ---------------------------------------------------------------------------
// What the random operations write: fields and the values they take. Values
// are few so that concurrent writes often collide (and sometimes agree).
// ---------------------------------------------------------------------------

type Choices = &'static [&'static str];

const PARTY_FIELDS: &[(&str, Choices)] = &[
    ("name", &["Acme", "Acme Oy", "Acme Group"]),
    ("kind", &["organization", "person"]),
    ("industry", &["", "retail", "energy"]),
    ("website", &["", "acme.example", "acme.test"]),
    ("owner", &["", "ana", "bob", "eve"]),
    ("territory", &["", "north", "south"]),
    ("value_tier", &["key", "standard", "low"]),
    ("status", &["active", "former"]),
    ("address.city", &["", "Tampere", "Oulu", "Turku"]),
    ("address.country", &["", "FI", "SE"]),
    ("demographics.size", &["", "small", "large"]),
];

const CONTACT_FIELDS: &[(&str, Choices)] = &[
    ("name", &["Liisa", "Matti", "Aino"]),
    ("job_title", &["", "CEO", "CTO"]),
    ("preferred_channel", &["", "email", "phone", "visit"]),
    ("language", &["", "fi", "en"]),
    ("active", &["true", "false"]),
];

const DEAL_FIELDS: &[(&str, Choices)] = &[
    ("title", &["Renewal", "Expansion", "Pilot"]),
    ("amount", &["0", "1500", "99900"]),
    ("currency", &["EUR", "SEK"]),
    ("probability", &["0", "35", "70", "100"]),
    ("forecast", &["pipeline", "best_case", "commit", "omitted"]),
    ("next_step", &["", "call back", "send offer"]),
    ("expected_close", &["", "2026-06-30", "2026-09-30"]),
];

const TASK_FIELDS: &[(&str, Choices)] = &[
    ("title", &["Call", "Send brochure"]),
    ("assignee", &["", "ana", "bob"]),
    ("status", &["todo", "doing", "done"]),
    ("due", &["", "2026-05-01", "2026-05-15"]),
];

const STAGES: Choices = &[
    "prospecting",
    "qualification",
    "proposal",
    "negotiation",
    "won",
    "lost",
];
const RUNGS: Choices = &[
    "prospect",
    "customer",
    "client",
    "supporter",
    "advocate",
    "partner",
];
const TAGS: Choices = &["vip", "new", "churn-risk", "partner"];
const NAMES: Choices = &["Liisa", "Matti", "Aino"];
const DEAL_TITLES: Choices = &["Renewal", "Expansion", "Pilot"];
const AMOUNTS: &[i64] = &[0, 1500, 99900];
const TASK_TITLES: Choices = &["Call", "Send brochure"];
const KINDS: &[InteractionKind] = &[
    InteractionKind::Visit,
    InteractionKind::Call,
    InteractionKind::Meeting,
    InteractionKind::Email,
    InteractionKind::Note,
];

fn choose<T: Copy>(xs: &[T], i: u8) -> T {
    xs[usize::from(i) % xs.len()]
}

// ---------------------------------------------------------------------------
// Random scenarios.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    SetParty {
        field: u8,
        value: u8,
        short_path: bool,
    },
    SetContact {
        pick: u8,
        field: u8,
        value: u8,
    },
    SetDeal {
        pick: u8,
        field: u8,
        value: u8,
    },
    SetTask {
        pick: u8,
        field: u8,
        value: u8,
    },
    CompleteTask {
        pick: u8,
    },
    AddTag {
        tag: u8,
    },
    RemoveTag {
        tag: u8,
    },
    AddContact {
        name: u8,
        title: Option<u8>,
    },
    AddDeal {
        title: u8,
        amount: u8,
        stage: Option<u8>,
    },
    MoveStage {
        pick: u8,
        stage: u8,
        probability: Option<u8>,
        via_set_field: bool,
    },
    LogInteraction {
        kind: u8,
        held: bool,
        contact: Option<u8>,
        deal: Option<u8>,
    },
    AddTask {
        title: u8,
        assignee: Option<u8>,
    },
    SpliceNotes {
        at: u8,
    },
    SetNotes {
        at: u8,
    },
    MoveLadder {
        rung: u8,
        via_set_field: bool,
    },
}

#[derive(Debug, Clone)]
enum Step {
    Edit {
        replica: usize,
        op: Op,
    },
    /// `into.merge(&mut from)`.
    Merge {
        into: usize,
        from: usize,
    },
    /// `into.apply_bytes(&from.save())`.
    SendDocument {
        into: usize,
        from: usize,
    },
    /// `from.save_incremental()`, appended to `from`'s outbox.
    Publish {
        from: usize,
    },
    /// Loads the next 1..=n chunks of `from`'s outbox into `into`, in order.
    Deliver {
        into: usize,
        from: usize,
        n: u8,
    },
    /// Cuts `replica` off from every exchange for the next `steps` steps.
    Disconnect {
        replica: usize,
        steps: u32,
    },
    /// Checks one replica's current state against the model.
    Check {
        replica: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let b = any::<u8>;
    prop_oneof![
        6 => (b(), b(), any::<bool>()).prop_map(|(field, value, short_path)| Op::SetParty { field, value, short_path }),
        3 => (b(), b(), b()).prop_map(|(pick, field, value)| Op::SetContact { pick, field, value }),
        3 => (b(), b(), b()).prop_map(|(pick, field, value)| Op::SetDeal { pick, field, value }),
        2 => (b(), b(), b()).prop_map(|(pick, field, value)| Op::SetTask { pick, field, value }),
        1 => b().prop_map(|pick| Op::CompleteTask { pick }),
        2 => b().prop_map(|tag| Op::AddTag { tag }),
        2 => b().prop_map(|tag| Op::RemoveTag { tag }),
        1 => (b(), option::of(b())).prop_map(|(name, title)| Op::AddContact { name, title }),
        1 => (b(), b(), option::of(b())).prop_map(|(title, amount, stage)| Op::AddDeal { title, amount, stage }),
        2 => (b(), b(), option::of(0u8..=100), any::<bool>()).prop_map(|(pick, stage, probability, via_set_field)| {
            Op::MoveStage { pick, stage, probability, via_set_field }
        }),
        2 => (b(), any::<bool>(), option::of(b()), option::of(b()))
            .prop_map(|(kind, held, contact, deal)| Op::LogInteraction { kind, held, contact, deal }),
        1 => (b(), option::of(b())).prop_map(|(title, assignee)| Op::AddTask { title, assignee }),
        2 => b().prop_map(|at| Op::SpliceNotes { at }),
        1 => b().prop_map(|at| Op::SetNotes { at }),
        1 => (b(), any::<bool>()).prop_map(|(rung, via_set_field)| Op::MoveLadder { rung, via_set_field }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let r = || 0..REPLICAS;
    prop_oneof![
        12 => (r(), op()).prop_map(|(replica, op)| Step::Edit { replica, op }),
        2 => (r(), r()).prop_map(|(into, from)| Step::Merge { into, from }),
        1 => (r(), r()).prop_map(|(into, from)| Step::SendDocument { into, from }),
        2 => r().prop_map(|from| Step::Publish { from }),
        2 => (r(), r(), any::<u8>()).prop_map(|(into, from, n)| Step::Deliver { into, from, n }),
        1 => (r(), 1u32..40).prop_map(|(replica, steps)| Step::Disconnect { replica, steps }),
        1 => r().prop_map(|replica| Step::Check { replica }),
    ]
}

// ---------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------

/// The record a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rec {
    Party,
    Contact(ContactId),
    Deal(DealId),
    Task(TaskId),
}

/// A scalar field, as the model tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    rec: Rec,
    field: &'static str,
}

impl Key {
    fn new(rec: Rec, field: &'static str) -> Self {
        Key { rec, field }
    }

    /// The path `set_field` accepts and `conflicts()` reports.
    fn path(&self) -> String {
        match self.rec {
            Rec::Party => format!("party.{}", self.field),
            Rec::Contact(id) => format!("contacts.{id}.{}", self.field),
            Rec::Deal(id) => format!("deals.{id}.{}", self.field),
            Rec::Task(id) => format!("tasks.{id}.{}", self.field),
        }
    }
}

/// One committed change the model cares about.
#[derive(Debug, Clone)]
enum Event {
    Genesis,
    Contact(ContactId),
    Deal(DealId),
    Task(TaskId),
    Interaction { id: InteractionId, held_visit: bool },
    Ladder,
    StageMove(DealId),
    Marker(String),
    Edit,
}

/// One write of a field (or of a tag's membership).
#[derive(Debug, Clone)]
struct Write {
    event: usize,
    replica: usize,
    /// The value as `set_field` takes it and `conflicts()` shows it; `None` removes (tags).
    value: Option<String>,
    /// The earlier writes of the same field the writer had observed.
    supersedes: BTreeSet<usize>,
}

#[derive(Debug)]
struct Model {
    events: Vec<(usize, Event)>,
    /// Per replica, the events it has observed (its own and merged ones).
    seen: Vec<BTreeSet<usize>>,
    fields: BTreeMap<Key, Vec<Write>>,
    tags: BTreeMap<String, Vec<Write>>,
}

impl Model {
    fn new(creator: usize) -> Self {
        let mut m = Model {
            events: Vec::new(),
            seen: vec![BTreeSet::new(); REPLICAS],
            fields: BTreeMap::new(),
            tags: BTreeMap::new(),
        };
        let genesis = m.event(creator, Event::Genesis);
        for seen in &mut m.seen {
            seen.insert(genesis);
        }
        m
    }

    fn event(&mut self, replica: usize, event: Event) -> usize {
        let id = self.events.len();
        self.events.push((replica, event));
        self.seen[replica].insert(id);
        id
    }

    fn write_to(
        seen: &BTreeSet<usize>,
        writes: &mut Vec<Write>,
        event: usize,
        replica: usize,
        value: Option<String>,
    ) {
        let supersedes = writes
            .iter()
            .filter(|w| w.event != event && seen.contains(&w.event))
            .map(|w| w.event)
            .collect();
        writes.push(Write {
            event,
            replica,
            value,
            supersedes,
        });
    }

    fn write(&mut self, replica: usize, event: usize, key: Key, value: &str) {
        let writes = self.fields.entry(key).or_default();
        Self::write_to(
            &self.seen[replica],
            writes,
            event,
            replica,
            Some(value.to_owned()),
        );
    }

    fn tag(&mut self, replica: usize, event: usize, tag: &str, present: bool) {
        let writes = self.tags.entry(tag.to_owned()).or_default();
        Self::write_to(
            &self.seen[replica],
            writes,
            event,
            replica,
            present.then(|| "true".to_owned()),
        );
    }

    fn learn(&mut self, into: usize, observed: &BTreeSet<usize>) {
        self.seen[into].extend(observed.iter().copied());
    }

    /// Events of some kind `replica` has observed, oldest first.
    fn known<T>(&self, replica: usize, f: impl Fn(&Event) -> Option<T>) -> Vec<T> {
        self.seen[replica]
            .iter()
            .filter_map(|&e| f(&self.events[e].1))
            .collect()
    }

    fn count(&self, replica: usize, f: impl Fn(&Event) -> bool) -> usize {
        self.seen[replica]
            .iter()
            .filter(|&&e| f(&self.events[e].1))
            .count()
    }

    fn key_of(&self, path: &str) -> Option<Key> {
        self.fields.keys().find(|k| k.path() == path).copied()
    }
}

/// The writes observed in `seen` that no other observed write superseded:
/// the values the field holds on a replica that has observed exactly `seen`.
fn frontier<'a>(writes: &'a [Write], seen: &BTreeSet<usize>) -> Vec<&'a Write> {
    let visible: Vec<&Write> = writes.iter().filter(|w| seen.contains(&w.event)).collect();
    let superseded: BTreeSet<usize> = visible
        .iter()
        .flat_map(|w| w.supersedes.iter().copied())
        .collect();
    visible
        .into_iter()
        .filter(|w| !superseded.contains(&w.event))
        .collect()
}

fn date(d: Option<Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The typed value of a tracked field, in `set_field` form; `None` when the record is absent.
fn typed(acc: &Account, key: &Key) -> Option<String> {
    let p = &acc.party;
    Some(match key.rec {
        Rec::Party => match key.field {
            "name" => p.name.clone(),
            "kind" => p.kind.as_str().to_owned(),
            "industry" => text(&p.industry),
            "website" => text(&p.website),
            "owner" => text(&p.owner),
            "territory" => text(&p.territory),
            "value_tier" => p.value_tier.as_str().to_owned(),
            "status" => p.status.as_str().to_owned(),
            "loyalty_rung" => p.loyalty_rung.as_str().to_owned(),
            "address.city" => text(&p.address.city),
            "address.country" => text(&p.address.country),
            "demographics.size" => p.demographics.get("size").cloned().unwrap_or_default(),
            other => panic!("untracked party field {other}"),
        },
        Rec::Contact(id) => {
            let c = acc.contact(id)?;
            match key.field {
                "name" => c.name.clone(),
                "job_title" => text(&c.job_title),
                "preferred_channel" => c
                    .preferred_channel
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                "language" => text(&c.language),
                "active" => c.active.to_string(),
                other => panic!("untracked contact field {other}"),
            }
        }
        Rec::Deal(id) => {
            let d = acc.deal(id)?;
            match key.field {
                "title" => d.title.clone(),
                "amount" => d.amount.minor.to_string(),
                "currency" => d.amount.currency.clone(),
                "stage" => d.stage.clone(),
                "probability" => d.probability.to_string(),
                "forecast" => d.forecast.as_str().to_owned(),
                "outcome" => d.outcome.as_str().to_owned(),
                "next_step" => text(&d.next_step),
                "expected_close" => date(d.expected_close),
                other => panic!("untracked deal field {other}"),
            }
        }
        Rec::Task(id) => {
            let t = acc.task(id)?;
            match key.field {
                "title" => t.title.clone(),
                "assignee" => text(&t.assignee),
                "status" => t.status.as_str().to_owned(),
                "due" => date(t.due),
                other => panic!("untracked task field {other}"),
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Replicas of one account, driven by steps and checked against the model.
// ---------------------------------------------------------------------------

fn fail(msg: impl Display) -> TestCaseError {
    TestCaseError::fail(msg.to_string())
}

trait OrFail<T> {
    fn or_fail(self, what: impl Display) -> Result<T, TestCaseError>;
}

impl<T, E: Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, what: impl Display) -> Result<T, TestCaseError> {
        self.map_err(|e| fail(format!("{what}: {e}")))
    }
}

fn authors() -> Vec<Author> {
    (0..REPLICAS)
        .map(|r| {
            let actor = ActorId::from(vec![0xa0 + r as u8; 16]);
            Author::new(format!("user{r}"), format!("device{r}"), actor)
        })
        .collect()
}

/// Which replicas are cut off, shared by every account of a scenario.
#[derive(Debug)]
struct Network {
    offline: Vec<u32>,
}

impl Network {
    fn new() -> Self {
        Network {
            offline: vec![0; REPLICAS],
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        a != b && self.offline[a] == 0 && self.offline[b] == 0
    }

    fn tick(&mut self) {
        for o in &mut self.offline {
            *o = o.saturating_sub(1);
        }
    }
}

/// A chunk of changes a replica published, and the events it carries.
#[derive(Debug)]
struct Chunk {
    bytes: Vec<u8>,
    observed: BTreeSet<usize>,
}

#[derive(Debug)]
struct World {
    docs: Vec<AccountDoc>,
    authors: Vec<Author>,
    settings: Settings,
    model: Model,
    /// Per replica, everything it published, in order.
    outbox: Vec<Vec<Chunk>>,
    /// `delivered[into][from]`: how many of `from`'s chunks `into` has loaded.
    delivered: Vec<Vec<usize>>,
    markers: usize,
}

fn pair(docs: &mut [AccountDoc], a: usize, b: usize) -> (&mut AccountDoc, &mut AccountDoc) {
    assert_ne!(a, b);
    if a < b {
        let (x, y) = docs.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = docs.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

fn genesis_account() -> NewAccount {
    let mut new = NewAccount::new("Acme");
    new.industry = Some("retail".into());
    new.owner = Some("ana".into());
    new.address.city = Some("Tampere".into());
    new.tags = BTreeSet::from(["new".to_owned()]);
    new.demographics = BTreeMap::from([("size".to_owned(), "small".to_owned())]);
    new
}

impl World {
    /// An account created on `creator`, saved, and loaded by the other replicas.
    fn new(creator: usize) -> Result<World, TestCaseError> {
        let authors = authors();
        let mut created =
            AccountDoc::create(&authors[creator], &genesis_account()).or_fail("create")?;
        let bytes = created.save();
        let mut docs = Vec::new();
        for (r, author) in authors.iter().enumerate() {
            if r == creator {
                docs.push(created.clone());
            } else {
                docs.push(AccountDoc::load(&bytes, author.actor.clone()).or_fail("load")?);
            }
        }
        let mut model = Model::new(creator);
        let party = [
            ("name", "Acme"),
            ("kind", "organization"),
            ("industry", "retail"),
            ("owner", "ana"),
            ("value_tier", "standard"),
            ("status", "active"),
            ("loyalty_rung", "prospect"),
            ("address.city", "Tampere"),
            ("demographics.size", "small"),
        ];
        for (field, value) in party {
            model.write(creator, 0, Key::new(Rec::Party, field), value);
        }
        model.tag(creator, 0, "new", true);
        Ok(World {
            docs,
            authors,
            settings: Settings::default(),
            model,
            outbox: (0..REPLICAS).map(|_| Vec::new()).collect(),
            delivered: vec![vec![0; REPLICAS]; REPLICAS],
            markers: 0,
        })
    }

    fn apply(&mut self, step: &Step, net: &mut Network) -> Result<(), TestCaseError> {
        match *step {
            Step::Edit { replica, ref op } => self.edit(replica, op)?,
            Step::Merge { into, from } if net.connected(into, from) => {
                let (a, b) = pair(&mut self.docs, into, from);
                a.merge(b).or_fail("merge")?;
                let observed = self.model.seen[from].clone();
                self.model.learn(into, &observed);
            }
            Step::SendDocument { into, from } if net.connected(into, from) => {
                let bytes = self.docs[from].save();
                // `save` moves the incremental cursor: publish the whole document
                // too, so readers of the outbox miss nothing.
                let observed = self.model.seen[from].clone();
                self.outbox[from].push(Chunk {
                    bytes: bytes.clone(),
                    observed: observed.clone(),
                });
                self.docs[into].apply_bytes(&bytes).or_fail("apply_bytes")?;
                self.model.learn(into, &observed);
            }
            Step::Publish { from } => {
                let bytes = self.docs[from].save_incremental();
                if !bytes.is_empty() {
                    let observed = self.model.seen[from].clone();
                    self.outbox[from].push(Chunk { bytes, observed });
                }
            }
            Step::Deliver { into, from, n } if net.connected(into, from) => {
                let start = self.delivered[into][from];
                let available = self.outbox[from].len() - start;
                if available > 0 {
                    let end = start + 1 + usize::from(n) % available;
                    for chunk in &self.outbox[from][start..end] {
                        self.docs[into]
                            .automerge_mut()
                            .load_incremental(&chunk.bytes)
                            .or_fail("load_incremental")?;
                        self.model.learn(into, &chunk.observed);
                    }
                    self.delivered[into][from] = end;
                }
            }
            Step::Disconnect { replica, steps } => net.offline[replica] = steps,
            Step::Check { replica } => self.check_replica(replica)?,
            Step::Merge { .. } | Step::SendDocument { .. } | Step::Deliver { .. } => {}
        }
        Ok(())
    }

    fn known_contacts(&self, r: usize) -> Vec<ContactId> {
        self.model.known(r, |e| match e {
            Event::Contact(id) => Some(*id),
            _ => None,
        })
    }

    fn known_deals(&self, r: usize) -> Vec<DealId> {
        self.model.known(r, |e| match e {
            Event::Deal(id) => Some(*id),
            _ => None,
        })
    }

    fn known_tasks(&self, r: usize) -> Vec<TaskId> {
        self.model.known(r, |e| match e {
            Event::Task(id) => Some(*id),
            _ => None,
        })
    }

    fn edit(&mut self, r: usize, op: &Op) -> Result<(), TestCaseError> {
        let what = format!("replica {r}: {op:?}");
        match *op {
            Op::SetParty {
                field,
                value,
                short_path,
            } => {
                let (f, values) = choose(PARTY_FIELDS, field);
                self.set(
                    r,
                    Key::new(Rec::Party, f),
                    choose(values, value),
                    short_path,
                )?;
            }
            Op::SetContact { pick, field, value } => {
                let ids = self.known_contacts(r);
                if !ids.is_empty() {
                    let (f, values) = choose(CONTACT_FIELDS, field);
                    self.set(
                        r,
                        Key::new(Rec::Contact(choose(&ids, pick)), f),
                        choose(values, value),
                        false,
                    )?;
                }
            }
            Op::SetDeal { pick, field, value } => {
                let ids = self.known_deals(r);
                if !ids.is_empty() {
                    let (f, values) = choose(DEAL_FIELDS, field);
                    self.set(
                        r,
                        Key::new(Rec::Deal(choose(&ids, pick)), f),
                        choose(values, value),
                        false,
                    )?;
                }
            }
            Op::SetTask { pick, field, value } => {
                let ids = self.known_tasks(r);
                if !ids.is_empty() {
                    let (f, values) = choose(TASK_FIELDS, field);
                    self.set(
                        r,
                        Key::new(Rec::Task(choose(&ids, pick)), f),
                        choose(values, value),
                        false,
                    )?;
                }
            }
            Op::CompleteTask { pick } => {
                let ids = self.known_tasks(r);
                if !ids.is_empty() {
                    let id = choose(&ids, pick);
                    self.docs[r]
                        .edit(&self.authors[r], &self.settings)
                        .complete_task(id)
                        .or_fail(&what)?;
                    let ev = self.model.event(r, Event::Edit);
                    self.model
                        .write(r, ev, Key::new(Rec::Task(id), "status"), "done");
                }
            }
            Op::AddTag { tag } => {
                let tag = choose(TAGS, tag);
                self.docs[r]
                    .edit(&self.authors[r], &self.settings)
                    .add_tag(tag)
                    .or_fail(&what)?;
                let ev = self.model.event(r, Event::Edit);
                self.model.tag(r, ev, tag, true);
            }
            Op::RemoveTag { tag } => {
                let tag = choose(TAGS, tag);
                // A removal writes (and supersedes what it saw) only when the tag is shown.
                let shown = self.docs[r].read().party.tags.contains(tag);
                self.docs[r]
                    .edit(&self.authors[r], &self.settings)
                    .remove_tag(tag)
                    .or_fail(&what)?;
                if shown {
                    let ev = self.model.event(r, Event::Edit);
                    self.model.tag(r, ev, tag, false);
                }
            }
            Op::AddContact { name, title } => {
                let new = NewContact {
                    name: choose(NAMES, name).to_owned(),
                    job_title: title.map(|t| ["CEO", "CTO"][usize::from(t) % 2].to_owned()),
                    ..NewContact::default()
                };
                let id = self.docs[r]
                    .edit(&self.authors[r], &self.settings)
                    .add_contact(&new)
                    .or_fail(&what)?;
                let ev = self.model.event(r, Event::Contact(id));
                let rec = Rec::Contact(id);
                self.model.write(r, ev, Key::new(rec, "name"), &new.name);
                self.model.write(r, ev, Key::new(rec, "active"), "true");
                if let Some(t) = &new.job_title {
                    self.model.write(r, ev, Key::new(rec, "job_title"), t);
                }
            }
            Op::AddDeal {
                title,
                amount,
                stage,
            } => {
                let mut new = NewDeal::new(
                    choose(DEAL_TITLES, title),
                    Money::new(choose(AMOUNTS, amount), "eur").or_fail("money")?,
                );
                new.stage = stage.map(|s| choose(STAGES, s).to_owned());
                let id = self.docs[r]
                    .edit(&self.authors[r], &self.settings)
                    .add_deal(&new)
                    .or_fail(&what)?;
                let stage = match &new.stage {
                    Some(s) => self.settings.stage(s).or_fail("stage")?.clone(),
                    None => self
                        .settings
                        .first_open_stage()
                        .cloned()
                        .ok_or_else(|| fail("no open stage"))?,
                };
                let ev = self.model.event(r, Event::Deal(id));
                let rec = Rec::Deal(id);
                let forecast = if stage.kind == StageKind::Open {
                    "pipeline"
                } else {
                    "closed"
                };
                for (field, value) in [
                    ("title", new.title.clone()),
                    ("amount", new.amount.minor.to_string()),
                    ("currency", "EUR".to_owned()),
                    ("stage", stage.id.clone()),
                    ("probability", stage.probability.to_string()),
                    ("forecast", forecast.to_owned()),
                    ("outcome", stage.kind.as_str().to_owned()),
                ] {
                    self.model.write(r, ev, Key::new(rec, field), &value);
                }
            }
            Op::MoveStage {
                pick,
                stage,
                probability,
                via_set_field,
            } => {
                let ids = self.known_deals(r);
                if !ids.is_empty() {
                    let probability = if via_set_field { None } else { probability };
                    self.move_stage(
                        r,
                        choose(&ids, pick),
                        choose(STAGES, stage),
                        probability,
                        via_set_field,
                    )?;
                }
            }
            Op::LogInteraction {
                kind,
                held,
                contact,
                deal,
            } => {
                let kind = choose(KINDS, kind);
                let mut new =
                    NewInteraction::new(kind, format!("{} by replica {r}", kind.as_str()));
                if !held {
                    new.status = InteractionStatus::Planned;
                    new.planned_start = Some(OffsetDateTime::now_utc() + Duration::days(1));
                }
                let contacts = self.known_contacts(r);
                if let Some(c) = contact.filter(|_| !contacts.is_empty()) {
                    new.contacts.insert(choose(&contacts, c));
                }
                let deals = self.known_deals(r);
                new.deal = deal
                    .filter(|_| !deals.is_empty())
                    .map(|d| choose(&deals, d));
                let id = self.docs[r]
                    .edit(&self.authors[r], &self.settings)
                    .log_interaction(&new)
                    .or_fail(&what)?;
                let held_visit = held && kind == InteractionKind::Visit;
                self.model.event(r, Event::Interaction { id, held_visit });
            }
            Op::AddTask { title, assignee } => {
                let new = NewTask {
                    title: choose(TASK_TITLES, title).to_owned(),
                    due: None,
                    assignee: assignee.map(|a| ["ana", "bob"][usize::from(a) % 2].to_owned()),
                };
                let id = self.docs[r]
                    .edit(&self.authors[r], &self.settings)
                    .add_task(&new)
                    .or_fail(&what)?;
                let ev = self.model.event(r, Event::Task(id));
                let rec = Rec::Task(id);
                self.model.write(r, ev, Key::new(rec, "title"), &new.title);
                self.model.write(r, ev, Key::new(rec, "status"), "todo");
                if let Some(a) = &new.assignee {
                    self.model.write(r, ev, Key::new(rec, "assignee"), a);
                }
            }
            Op::SpliceNotes { at } | Op::SetNotes { at } => {
                // Notes are whole words "marker " only; a new marker goes in at a
                // word boundary of this replica's text.
                let notes = self.docs[r].read().party.notes;
                let mut boundaries = vec![0];
                boundaries.extend(
                    notes
                        .char_indices()
                        .filter(|(_, c)| *c == ' ')
                        .map(|(i, _)| i + 1),
                );
                let pos = choose(&boundaries, at);
                let marker = format!("r{r}w{}", self.markers);
                self.markers += 1;
                let word = format!("{marker} ");
                let mut e = self.docs[r].edit(&self.authors[r], &self.settings);
                if matches!(op, Op::SpliceNotes { .. }) {
                    e.splice_notes(pos, 0, &word).or_fail(&what)?;
                } else {
                    e.set_notes(&format!("{}{word}{}", &notes[..pos], &notes[pos..]))
                        .or_fail(&what)?;
                }
                self.model.event(r, Event::Marker(marker));
            }
            Op::MoveLadder {
                rung,
                via_set_field,
            } => {
                self.move_ladder(r, choose(RUNGS, rung), via_set_field)?;
            }
        }
        Ok(())
    }

    /// `set_field`, as the random edits and conflict resolution use it.
    fn set(
        &mut self,
        r: usize,
        key: Key,
        value: &str,
        short_path: bool,
    ) -> Result<(), TestCaseError> {
        match (key.rec, key.field) {
            (Rec::Deal(deal), "stage") => return self.move_stage(r, deal, value, None, true),
            (Rec::Party, "loyalty_rung") => return self.move_ladder(r, value, true),
            _ => {}
        }
        let path = if short_path && key.rec == Rec::Party {
            key.field.to_owned()
        } else {
            key.path()
        };
        self.docs[r]
            .edit(&self.authors[r], &self.settings)
            .set_field(&path, value)
            .or_fail(format!("replica {r}: set_field({path}, {value:?})"))?;
        let ev = self.model.event(r, Event::Edit);
        self.model.write(r, ev, key, value);
        Ok(())
    }

    fn move_stage(
        &mut self,
        r: usize,
        deal: DealId,
        stage: &str,
        probability: Option<u8>,
        via_set_field: bool,
    ) -> Result<(), TestCaseError> {
        let was_open = self.docs[r]
            .read()
            .deal(deal)
            .map(|d| d.outcome == DealOutcome::Open)
            .ok_or_else(|| fail(format!("replica {r}: deal {deal} missing")))?;
        let to = self.settings.stage(stage).or_fail("stage")?.clone();
        let mut e = self.docs[r].edit(&self.authors[r], &self.settings);
        if via_set_field {
            e.set_field(&format!("deals.{deal}.stage"), stage)
        } else {
            e.move_deal_stage(deal, stage, probability)
        }
        .or_fail(format!("replica {r}: move deal {deal} to {stage}"))?;
        let ev = self.model.event(r, Event::StageMove(deal));
        let rec = Rec::Deal(deal);
        self.model.write(r, ev, Key::new(rec, "stage"), stage);
        let p = probability.unwrap_or(to.probability).to_string();
        self.model.write(r, ev, Key::new(rec, "probability"), &p);
        self.model
            .write(r, ev, Key::new(rec, "outcome"), to.kind.as_str());
        if to.kind != StageKind::Open {
            self.model.write(r, ev, Key::new(rec, "forecast"), "closed");
        } else if !was_open {
            self.model
                .write(r, ev, Key::new(rec, "forecast"), "pipeline");
        }
        Ok(())
    }

    fn move_ladder(
        &mut self,
        r: usize,
        rung: &str,
        via_set_field: bool,
    ) -> Result<(), TestCaseError> {
        let mut e = self.docs[r].edit(&self.authors[r], &self.settings);
        if via_set_field {
            e.set_field("party.loyalty_rung", rung)
        } else {
            e.move_ladder(rung.parse().or_fail("rung")?, Some("test"))
        }
        .or_fail(format!("replica {r}: move ladder to {rung}"))?;
        let ev = self.model.event(r, Event::Ladder);
        self.model
            .write(r, ev, Key::new(Rec::Party, "loyalty_rung"), rung);
        Ok(())
    }

    /// Pairwise merges until every replica has the same heads.
    fn sync_all(&mut self) -> Result<(), TestCaseError> {
        for _round in 0..5 {
            for into in 0..REPLICAS {
                for from in 0..REPLICAS {
                    if into != from {
                        let (a, b) = pair(&mut self.docs, into, from);
                        a.merge(b).or_fail("merge")?;
                        let observed = self.model.seen[from].clone();
                        self.model.learn(into, &observed);
                    }
                }
            }
            let heads: Vec<_> = self.docs.iter_mut().map(AccountDoc::heads).collect();
            if heads.iter().all(|h| *h == heads[0]) {
                return Ok(());
            }
        }
        Err(fail(
            "replicas did not reach the same heads after 5 rounds of merges",
        ))
    }

    /// Checks one replica's typed account and conflicts against what it has observed.
    fn check_replica(&mut self, r: usize) -> Result<(), TestCaseError> {
        let acc = self.docs[r].read();
        let conflicts = self.docs[r].conflicts();
        let m = &self.model;
        let seen = &m.seen[r];

        // Keyed collections and logs: merged by id, nothing lost, nothing invented.
        let contacts: BTreeSet<ContactId> = self.known_contacts(r).into_iter().collect();
        prop_assert_eq!(
            acc.contacts.iter().map(|c| c.id).collect::<BTreeSet<_>>(),
            contacts,
            "replica {}: contacts",
            r
        );
        let deals: BTreeSet<DealId> = self.known_deals(r).into_iter().collect();
        prop_assert_eq!(
            acc.deals.iter().map(|d| d.id).collect::<BTreeSet<_>>(),
            deals,
            "replica {}: deals",
            r
        );
        let tasks: BTreeSet<TaskId> = self.known_tasks(r).into_iter().collect();
        prop_assert_eq!(
            acc.tasks.iter().map(|t| t.id).collect::<BTreeSet<_>>(),
            tasks,
            "replica {}: tasks",
            r
        );
        let interactions: BTreeSet<InteractionId> = m
            .known(r, |e| match e {
                Event::Interaction { id, .. } => Some(*id),
                _ => None,
            })
            .into_iter()
            .collect();
        prop_assert_eq!(
            acc.interactions
                .iter()
                .map(|i| i.id)
                .collect::<BTreeSet<_>>(),
            interactions,
            "replica {}: interactions",
            r
        );
        prop_assert!(
            acc.interactions
                .windows(2)
                .all(|w| (w[0].when(), w[0].id) <= (w[1].when(), w[1].id)),
            "replica {}: interactions not ordered by time, then id",
            r
        );
        let visits = m.count(r, |e| {
            matches!(
                e,
                Event::Interaction {
                    held_visit: true,
                    ..
                }
            )
        });
        prop_assert_eq!(acc.visit_count, visits as i64, "replica {}: visit count", r);
        let ladder = m.count(r, |e| matches!(e, Event::Ladder));
        prop_assert_eq!(
            acc.ladder_history.len(),
            ladder,
            "replica {}: ladder history",
            r
        );
        for d in &acc.deals {
            let moves = m.count(r, |e| matches!(e, Event::StageMove(id) if *id == d.id));
            prop_assert_eq!(
                d.stage_history.len(),
                1 + moves,
                "replica {}: stage history of deal {}",
                r,
                d.id
            );
        }

        // Tags: add-wins.
        let tags: BTreeSet<String> = m
            .tags
            .iter()
            .filter(|(_, writes)| frontier(writes, seen).iter().any(|w| w.value.is_some()))
            .map(|(t, _)| t.clone())
            .collect();
        prop_assert_eq!(&acc.party.tags, &tags, "replica {}: tags", r);

        // Notes: every observed marker, whole, exactly once, and nothing else.
        let mut words: Vec<&str> = acc.party.notes.split_whitespace().collect();
        words.sort_unstable();
        let mut markers: Vec<&str> = m.seen[r]
            .iter()
            .filter_map(|&e| match &m.events[e].1 {
                Event::Marker(w) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        markers.sort_unstable();
        prop_assert_eq!(words, markers, "replica {}: notes {:?}", r, acc.party.notes);

        // Scalar fields: the surviving writes decide the value and the conflict.
        type Described = Vec<(String, String, String, String)>;
        let mut expected: BTreeMap<String, Described> = BTreeMap::new();
        for (key, writes) in &m.fields {
            let front = frontier(writes, seen);
            let Some(shown) = typed(&acc, key) else {
                prop_assert!(
                    front.is_empty(),
                    "replica {}: {} written but its record is missing",
                    r,
                    key.path()
                );
                continue;
            };
            let values: BTreeSet<&str> = front
                .iter()
                .map(|w| w.value.as_deref().unwrap_or(""))
                .collect();
            if front.is_empty() {
                prop_assert_eq!(
                    shown.as_str(),
                    "",
                    "replica {}: {} was never written",
                    r,
                    key.path()
                );
                continue;
            }
            prop_assert!(
                values.contains(shown.as_str()),
                "replica {}: {} shows {:?}, expected one of {:?}",
                r,
                key.path(),
                shown,
                values
            );
            if values.len() > 1 {
                let mut described: Described = front
                    .iter()
                    .map(|w| {
                        let a = &self.authors[w.replica];
                        (
                            w.value.clone().unwrap_or_default(),
                            a.user.clone(),
                            a.device.clone(),
                            a.actor.to_hex_string(),
                        )
                    })
                    .collect();
                described.sort();
                expected.insert(key.path(), described);
            }
        }
        let mut actual: BTreeMap<String, Described> = BTreeMap::new();
        for c in &conflicts {
            let winners: Vec<&ConflictValue> = c.values.iter().filter(|v| v.winner).collect();
            prop_assert_eq!(
                winners.len(),
                1,
                "replica {}: conflict {:?} needs one winner",
                r,
                c
            );
            if let Some(key) = m.key_of(&c.field) {
                prop_assert_eq!(
                    typed(&acc, &key),
                    Some(winners[0].value.clone()),
                    "replica {}: {} does not show the conflict's winner",
                    r,
                    c.field
                );
            }
            let mut described: Described = c
                .values
                .iter()
                .map(|v| {
                    (
                        v.value.clone(),
                        v.user.clone(),
                        v.device.clone(),
                        v.actor.clone(),
                    )
                })
                .collect();
            described.sort();
            prop_assert!(
                actual.insert(c.field.clone(), described).is_none(),
                "replica {}: {} listed twice",
                r,
                c.field
            );
        }
        prop_assert_eq!(actual, expected, "replica {}: conflicts", r);
        Ok(())
    }

    /// Everyone synced: same heads, same account, same conflicts, and each as the model says.
    fn check_converged(&mut self) -> Result<(), TestCaseError> {
        let heads = self.docs[0].heads();
        let account = self.docs[0].read();
        let conflicts = self.docs[0].conflicts();
        for r in 1..REPLICAS {
            prop_assert_eq!(self.docs[r].heads(), heads.clone(), "replica {}: heads", r);
            prop_assert_eq!(
                self.docs[r].read(),
                account.clone(),
                "replica {}: typed account",
                r
            );
            prop_assert_eq!(
                self.docs[r].conflicts(),
                conflicts.clone(),
                "replica {}: conflicts",
                r
            );
        }
        for r in 0..REPLICAS {
            self.check_replica(r)?;
        }
        Ok(())
    }

    /// Resolves every conflict `r` lists by writing one of its values.
    fn resolve_all(&mut self, r: usize, pick: u8) -> Result<(), TestCaseError> {
        let conflicts = self.docs[r].conflicts();
        for (i, c) in conflicts.iter().enumerate() {
            let key = self
                .model
                .key_of(&c.field)
                .ok_or_else(|| fail(format!("conflict on untracked field {}", c.field)))?;
            let chosen = c.values[(usize::from(pick) + i) % c.values.len()]
                .value
                .clone();
            self.set(r, key, &chosen, false)?;
        }
        let left = self.docs[r].conflicts();
        prop_assert!(
            left.is_empty(),
            "replica {}: conflicts left after resolving: {:?}",
            r,
            left
        );
        Ok(())
    }
}

/// Runs a scenario over several accounts sharing the replicas (and their network).
fn run(
    accounts: usize,
    steps: &[(usize, Step)],
    resolver: usize,
    pick: u8,
) -> Result<Vec<World>, TestCaseError> {
    let mut worlds = (0..accounts)
        .map(|a| World::new(a % REPLICAS))
        .collect::<Result<Vec<_>, _>>()?;
    let mut net = Network::new();
    for (a, step) in steps {
        worlds[a % accounts].apply(step, &mut net)?;
        net.tick();
    }
    for w in &mut worlds {
        w.sync_all()?;
        w.check_converged()?;
        w.resolve_all(resolver, pick)?;
        w.sync_all()?;
        w.check_converged()?;
        for r in 0..REPLICAS {
            let left = w.docs[r].conflicts();
            prop_assert!(
                left.is_empty(),
                "replica {}: conflicts after resolution synced: {:?}",
                r,
                left
            );
        }
    }
    Ok(worlds)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn three_replicas_of_one_account_converge(
        steps in vec(step(), 1..120),
        resolver in 0..REPLICAS,
        pick in any::<u8>(),
    ) {
        let steps: Vec<(usize, Step)> = steps.into_iter().map(|s| (0, s)).collect();
        run(1, &steps, resolver, pick)?;
    }

    #[test]
    fn three_replicas_of_several_accounts_converge(
        steps in vec((0..3usize, step()), 1..150),
        resolver in 0..REPLICAS,
        pick in any::<u8>(),
    ) {
        let mut worlds = run(3, &steps, resolver, pick)?;
        // Documents of different accounts refuse to merge, and stay as they were.
        let (first, rest) = worlds.split_at_mut(1);
        let before = first[0].docs[0].heads();
        prop_assert!(first[0].docs[0].merge(&mut rest[0].docs[0]).is_err());
        let other = rest[1].docs[2].save();
        prop_assert!(first[0].docs[0].apply_bytes(&other).is_err());
        prop_assert_eq!(first[0].docs[0].heads(), before);
    }
}

// ---------------------------------------------------------------------------
// Fixed scenarios.
// ---------------------------------------------------------------------------

fn city_conflict_world() -> Result<World, TestCaseError> {
    let mut w = World::new(0)?;
    let key = Key::new(Rec::Party, "address.city");
    // Replicas 1 and 2 edit the city while apart; replica 0 hears of both.
    w.set(1, key, "Oulu", false)?;
    w.set(2, key, "Turku", true)?;
    let mut net = Network::new();
    w.apply(&Step::Merge { into: 0, from: 1 }, &mut net)?;
    w.apply(&Step::Merge { into: 0, from: 2 }, &mut net)?;
    w.apply(&Step::Merge { into: 1, from: 0 }, &mut net)?;
    w.apply(&Step::Merge { into: 2, from: 0 }, &mut net)?;
    Ok(w)
}

#[test]
fn a_concurrent_edit_is_listed_with_every_value_and_who_wrote_it() -> Result<(), TestCaseError> {
    let mut w = city_conflict_world()?;
    for r in 0..REPLICAS {
        let conflicts = w.docs[r].conflicts();
        prop_assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        prop_assert_eq!(&c.field, "party.address.city");
        let mut values: Vec<(&str, &str, &str)> = c
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.user.as_str(), v.device.as_str()))
            .collect();
        values.sort_unstable();
        prop_assert_eq!(
            values,
            vec![("Oulu", "user1", "device1"), ("Turku", "user2", "device2")]
        );
        w.check_replica(r)?;
    }
    Ok(())
}

#[test]
fn resolving_a_conflict_on_one_replica_clears_it_on_all() -> Result<(), TestCaseError> {
    let mut w = city_conflict_world()?;
    // Replica 1 resolves; replica 0 hears of it only through replica 2.
    w.set(1, Key::new(Rec::Party, "address.city"), "Turku", false)?;
    let mut net = Network::new();
    w.apply(&Step::Publish { from: 1 }, &mut net)?;
    w.apply(
        &Step::Deliver {
            into: 2,
            from: 1,
            n: 255,
        },
        &mut net,
    )?;
    w.apply(&Step::SendDocument { into: 0, from: 2 }, &mut net)?;
    for r in 0..REPLICAS {
        prop_assert!(
            w.docs[r].conflicts().is_empty(),
            "replica {} still lists a conflict",
            r
        );
        let city = w.docs[r].read().party.address.city;
        prop_assert_eq!(city.as_deref(), Some("Turku"));
        w.check_replica(r)?;
    }
    Ok(())
}

#[test]
fn resolving_without_having_seen_every_value_keeps_the_conflict() -> Result<(), TestCaseError> {
    let mut w = World::new(0)?;
    let key = Key::new(Rec::Party, "owner");
    let mut net = Network::new();
    w.set(1, key, "bob", false)?;
    w.set(2, key, "eve", false)?;
    // Replica 0 sees only bob's value and "resolves" to it; eve's stays concurrent.
    w.apply(&Step::Merge { into: 0, from: 1 }, &mut net)?;
    w.set(0, key, "bob", false)?;
    w.sync_all()?;
    w.check_converged()?;
    let conflicts = w.docs[0].conflicts();
    prop_assert_eq!(conflicts.len(), 1);
    prop_assert_eq!(&conflicts[0].field, "party.owner");
    Ok(())
}

#[test]
fn removing_a_tag_removes_only_what_the_remover_saw() -> Result<(), TestCaseError> {
    let mut w = World::new(0)?;
    let mut net = Network::new();
    w.edit(1, &Op::AddTag { tag: 0 })?; // vip
    w.apply(&Step::Merge { into: 2, from: 1 }, &mut net)?;
    w.edit(2, &Op::RemoveTag { tag: 0 })?;
    w.edit(0, &Op::AddTag { tag: 0 })?; // concurrently re-added
    w.edit(2, &Op::RemoveTag { tag: 1 })?; // "new", from the genesis
    w.sync_all()?;
    w.check_converged()?;
    let tags = w.docs[0].read().party.tags;
    prop_assert_eq!(tags, BTreeSet::from(["vip".to_owned()]));
    Ok(())
}

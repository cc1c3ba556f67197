//! Interactions, tasks and ties.

use automerge::transaction::Transactable;

use super::super::access::{self as a, obj};
use super::super::fields::Collection;
use super::*;
use crate::error::{Error, Result};
use crate::model::*;

impl Editor<'_> {
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

    /// Marks a planned (or not-held) interaction as held: status `held`, held
    /// `at` (default now), with what came of it. A visit then counts in the
    /// account's visits, as a visit logged held does. An interaction already
    /// held, or cancelled, is refused (`InvalidValue` on `interaction.status`).
    pub fn hold_interaction(&mut self, id: InteractionId, held: &HeldInteraction) -> Result<()> {
        let outcome = clean(&held.outcome);
        let notes = clean(&held.notes);
        self.change("interaction.held", |c| {
            let o = c.record(Collection::Interactions, id.0)?;
            let status: Option<InteractionStatus> = a::parsed(c.doc, &o, "status");
            match status {
                Some(InteractionStatus::Held) => {
                    return Err(Error::invalid("interaction.status", "this interaction is already marked held"));
                }
                Some(InteractionStatus::Cancelled) => {
                    return Err(Error::invalid(
                        "interaction.status",
                        "this interaction was cancelled; log the one that was held as a new interaction",
                    ));
                }
                _ => {}
            }
            let start = held.at.unwrap_or(c.now);
            if let Some(end) = held.until
                && end < start
            {
                return Err(Error::invalid("interaction.end", "ends before it starts"));
            }
            a::put_fresh(c.doc, &o, "status", InteractionStatus::Held.as_str())?;
            a::put_ts(c.doc, &o, "actual_start", start)?;
            a::put_opt_ts(c.doc, &o, "actual_end", held.until)?;
            if let Some(outcome) = outcome {
                a::put_fresh(c.doc, &o, "outcome", outcome)?;
            }
            if let Some(notes) = notes {
                a::put_fresh(c.doc, &o, "notes", notes)?;
            }
            if a::parsed::<InteractionKind>(c.doc, &o, "kind") == Some(InteractionKind::Visit) {
                let counters = obj(c.doc, &automerge::ROOT, "counters").ok_or_else(|| damaged("no counters"))?;
                c.doc.increment(&counters, "visits", 1)?;
            }
            Ok(())
        })
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
}

impl Ctx<'_> {
    pub(super) fn write_interaction(&mut self, i: &Interaction) -> Result<()> {
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

    pub(super) fn write_task(&mut self, t: &Task) -> Result<()> {
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

    pub(super) fn write_tie(&mut self, t: &Tie) -> Result<()> {
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
}

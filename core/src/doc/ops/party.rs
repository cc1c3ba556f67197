//! The party's ladder, lifecycle, end of relationship, deletion and restore.

use automerge::ScalarValue;
use automerge::transaction::Transactable;
use time::Date;
use uuid::Uuid;

use super::super::access::{self as a, obj_path};
use super::*;
use crate::error::{Error, Result};
use crate::model::*;

impl Editor<'_> {
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

    /// Reopens an ended relationship: status active again and the ending
    /// (reason, date, phase) cleared; the document's history keeps the ending.
    pub fn reopen_relationship(&mut self) -> Result<()> {
        self.change("party.reopen", |c| {
            let p = c.party()?;
            a::put_fresh(c.doc, &p, "status", AccountStatus::Active.as_str())?;
            for key in ["end_reason", "ended_on", "ended_in_phase"] {
                a::put_fresh(c.doc, &p, key, ScalarValue::Null)?;
            }
            Ok(())
        })
    }

    /// Gives the account to other people in one change: each `(field, name)`
    /// is `owner`, `team` or `territory` and a name that must not be empty
    /// (bulk reassignment, [`crate::Replica::reassign`]).
    pub fn assign(&mut self, names: &[(&str, &str)]) -> Result<()> {
        let mut puts = Vec::with_capacity(names.len());
        for (field, name) in names {
            if !matches!(*field, "owner" | "team" | "territory") {
                return Err(Error::invalid(format!("party.{field}"), "only owner, team and territory are assigned"));
            }
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::invalid(format!("party.{field}"), "give a name to assign"));
            }
            puts.push((*field, name));
        }
        self.change("party.assign", |c| {
            let p = c.party()?;
            for (field, name) in puts {
                a::put_fresh(c.doc, &p, field, name)?;
            }
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
}

impl Ctx<'_> {
    pub(super) fn transition(&mut self, log: &str, from: &str, to: &str, reason: Option<&str>) -> Result<()> {
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
}

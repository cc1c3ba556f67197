//! Deals: add, stage moves, lost.

use automerge::transaction::Transactable;
use automerge::{ObjId, ScalarValue};
use uuid::Uuid;

use super::super::access::{self as a, obj};
use super::super::fields::Collection;
use super::*;
use crate::error::{Error, Result};
use crate::model::*;

impl Editor<'_> {
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
                line_items: Vec::new(),
                amount_from_line_items: false,
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
}

fn outcome_for(kind: StageKind) -> DealOutcome {
    match kind {
        StageKind::Open => DealOutcome::Open,
        StageKind::Won => DealOutcome::Won,
        StageKind::Lost => DealOutcome::Lost,
    }
}

impl Ctx<'_> {
    pub(super) fn stage_move(&mut self, history: &ObjId, from: Option<&str>, to: &str) -> Result<()> {
        let m = a::put_map(self.doc, history, &Uuid::now_v7().to_string())?;
        if let Some(from) = from {
            self.doc.put(&m, "from", from)?;
        }
        self.doc.put(&m, "to", to)?;
        a::put_ts(self.doc, &m, "at", self.now)?;
        self.doc.put(&m, "by", self.author.user.as_str())?;
        Ok(())
    }
}

impl Ctx<'_> {
    pub(super) fn write_deal(&mut self, deal: &Deal, move_key: impl Fn(usize) -> Uuid) -> Result<()> {
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
        if !deal.line_items.is_empty() {
            for item in &deal.line_items {
                self.write_line_item(deal.id, item)?;
            }
            self.raise_lens()?;
            if deal.amount_from_line_items {
                self.write_items_amount(&o, deal.amount.minor)?;
            }
        }
        Ok(())
    }
}

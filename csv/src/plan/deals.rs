//! Planning a group's deals: matched by id, else by title; amounts in
//! major units of the row's currency (or the deal's), stages by id or name,
//! close dates as ISO or `31.12.2026`. A stage change is a stage move (kept
//! in the deal's history), never a plain field write.

use std::collections::HashMap;

use rapport_core::{Account, DealId, DealOutcome, Money, NewDeal, StageKind};

use super::{AccountPlan, Entry, Op, Planner, invalid};
use crate::cells::{self, name_key};
use crate::headers::{Column, DEAL_COLUMNS};
use crate::problem::Problem;

/// The cells that say what a deal is: its columns, its id and title aside.
const DEAL_CELLS: &[Column] = DEAL_COLUMNS.split_at(2).1;

impl Planner<'_> {
    pub(super) fn plan_deals(&mut self, account: &Account, entries: &[Entry], plan: &mut AccountPlan) {
        let settings = self.replica.settings();
        let mut seen: HashMap<String, (u64, Vec<Option<&str>>)> = HashMap::new();
        for entry in entries {
            let id = match entry.get(Column::DealId) {
                Some(v) => match v.parse::<DealId>().ok().filter(|id| account.deal(*id).is_some()) {
                    Some(id) => Some(id),
                    None => {
                        self.error(entry.src(Column::DealId), Problem::NoSuchDeal);
                        continue;
                    }
                },
                None => None,
            };
            let Some(title) = entry.get(Column::DealTitle) else {
                self.error(entry.src(Column::DealTitle), Problem::DealTitleEmpty);
                continue;
            };
            let existing = account
                .deals
                .iter()
                .find(|d| id.map_or_else(|| name_key(&d.title) == name_key(title), |id| d.id == id));
            let key = existing.map_or_else(|| format!("title:{}", name_key(title)), |d| format!("id:{}", d.id));
            // A flat sheet repeats the deal on each of the account's contact
            // rows: the same cells again are the same deal, once.
            let cells: Vec<Option<&str>> = DEAL_CELLS.iter().map(|c| entry.get(*c)).collect();
            match seen.get(&key) {
                Some((_, first)) if *first == cells => continue,
                Some((row, _)) => {
                    self.error(entry.src(Column::DealTitle), Problem::SameDealAs { row: *row });
                    continue;
                }
                None => {
                    seen.insert(key, (entry.row, cells));
                }
            }
            let src = |c: Column| entry.src(c);
            let mut bad = false;
            let currency = match entry.get(Column::DealCurrency) {
                Some(c) => match Money::new(0, c) {
                    Ok(m) => Some(m.currency),
                    Err(e) => {
                        self.error(src(Column::DealCurrency), invalid(&e));
                        bad = true;
                        None
                    }
                },
                None => existing.map(|d| d.amount.currency.clone()),
            };
            let amount = match (entry.get(Column::DealAmount), &currency) {
                (Some(text), Some(cur)) => match rapport_core::parse_major_units("deal.amount", text, cur) {
                    Ok(minor) => Some(minor),
                    Err(e) => {
                        self.error(src(Column::DealAmount), invalid(&e));
                        bad = true;
                        None
                    }
                },
                (Some(_), None) if !bad => {
                    self.error(src(Column::DealCurrency), Problem::AmountNeedsCurrency);
                    bad = true;
                    None
                }
                _ => None,
            };
            let stage = match entry.get(Column::DealStage) {
                Some(v) => {
                    let found = settings
                        .stages
                        .iter()
                        .find(|s| s.id.eq_ignore_ascii_case(v.trim()) || name_key(&s.name) == name_key(v));
                    match found {
                        Some(s) => Some(s),
                        None => {
                            let stages = settings.stages.iter().map(|s| s.id.clone()).collect();
                            self.error(src(Column::DealStage), Problem::UnknownStage { stages });
                            bad = true;
                            None
                        }
                    }
                }
                None => None,
            };
            let probability = match entry.get(Column::DealProbability) {
                Some(v) => match v.trim_end_matches('%').trim().parse::<u8>() {
                    Ok(p) if p <= 100 => Some(p),
                    _ => {
                        self.error(src(Column::DealProbability), Problem::ExpectedPercent);
                        bad = true;
                        None
                    }
                },
                None => None,
            };
            let close = match entry.get(Column::DealClose) {
                Some(v) => match cells::date(v) {
                    Some(d) => Some(d),
                    None => {
                        self.error(src(Column::DealClose), Problem::ExpectedDate);
                        bad = true;
                        None
                    }
                },
                None => None,
            };
            let next_step = entry.get(Column::DealNextStep).map(str::to_owned);
            let lost_reason = entry.get(Column::DealLostReason).map(str::to_owned);
            let catalogue = || settings.lost_reasons.clone();
            if lost_reason.as_ref().is_some_and(|r| !settings.lost_reasons.contains(r)) {
                self.error(src(Column::DealLostReason), Problem::NotLostReason { reasons: catalogue() });
                bad = true;
            }
            // Where the deal ends up: a lost deal needs its reason, so that
            // it counts in the lost-reasons report.
            let lost_after = match stage {
                Some(s) => s.kind == StageKind::Lost,
                None => existing.is_some_and(|d| d.outcome == DealOutcome::Lost),
            };
            let reason_after = lost_reason.clone().or_else(|| existing.and_then(|d| d.lost_reason.clone()));
            let becomes_lost = stage.is_some_and(|s| s.kind == StageKind::Lost)
                && existing.is_none_or(|d| d.outcome != DealOutcome::Lost);
            if !bad && becomes_lost && reason_after.is_none() {
                self.error(src(Column::DealStage), Problem::LostNeedsReason { reasons: catalogue() });
                bad = true;
            }
            if !bad && !lost_after && lost_reason.is_some() {
                self.error(src(Column::DealLostReason), Problem::LostReasonNotLost);
                bad = true;
            }
            if bad {
                continue;
            }
            match existing {
                None => {
                    let (Some(minor), Some(cur)) = (amount, currency) else {
                        self.error(src(Column::DealAmount), Problem::NewDealNeedsAmount);
                        continue;
                    };
                    let mut new = NewDeal::new(title, Money { minor, currency: cur });
                    new.stage = stage.map(|s| s.id.clone());
                    new.probability = probability;
                    new.expected_close = close;
                    new.next_step = next_step;
                    plan.ops.push((src(Column::DealTitle), Op::AddDeal { new: Box::new(new), lost_reason }));
                    plan.deals.created += 1;
                }
                Some(deal) => {
                    let before = plan.ops.len();
                    let path = |field: &str| format!("deals.{}.{field}", deal.id);
                    // Matched by id: the row's title is the deal's title.
                    if name_key(title) != name_key(&deal.title) {
                        plan.ops
                            .push((src(Column::DealTitle), Op::Set { path: path("title"), value: title.to_owned() }));
                    }
                    if let Some(cur) = currency.filter(|c| *c != deal.amount.currency) {
                        plan.ops.push((src(Column::DealCurrency), Op::Set { path: path("currency"), value: cur }));
                    }
                    if let Some(minor) = amount.filter(|m| *m != deal.amount.minor) {
                        plan.ops.push((
                            src(Column::DealAmount),
                            Op::Set { path: path("amount"), value: minor.to_string() },
                        ));
                    }
                    let mut expected_probability = deal.probability;
                    match stage.filter(|s| s.id != deal.stage) {
                        Some(s) if s.kind == StageKind::Lost => {
                            let reason = reason_after.unwrap_or_default();
                            plan.ops.push((src(Column::DealStage), Op::MarkLost { deal: deal.id, reason }));
                            expected_probability = s.probability;
                        }
                        Some(s) => {
                            let op = Op::MoveStage { deal: deal.id, stage: s.id.clone() };
                            plan.ops.push((src(Column::DealStage), op));
                            expected_probability = s.probability;
                        }
                        None => {
                            if let Some(r) = lost_reason.filter(|r| Some(r) != deal.lost_reason.as_ref()) {
                                let op = Op::Set { path: path("lost_reason"), value: r };
                                plan.ops.push((src(Column::DealLostReason), op));
                            }
                        }
                    }
                    if let Some(p) = probability.filter(|p| *p != expected_probability) {
                        plan.ops.push((
                            src(Column::DealProbability),
                            Op::Set { path: path("probability"), value: p.to_string() },
                        ));
                    }
                    if let Some(d) = close.filter(|d| Some(*d) != deal.expected_close) {
                        plan.ops.push((
                            src(Column::DealClose),
                            Op::Set { path: path("expected_close"), value: cells::iso_date(d) },
                        ));
                    }
                    if let Some(step) = next_step.filter(|s| Some(s.as_str()) != deal.next_step.as_deref()) {
                        plan.ops.push((src(Column::DealNextStep), Op::Set { path: path("next_step"), value: step }));
                    }
                    if plan.ops.len() > before {
                        plan.deals.updated += 1;
                    } else {
                        plan.deals.unchanged += 1;
                    }
                }
            }
        }
    }
}

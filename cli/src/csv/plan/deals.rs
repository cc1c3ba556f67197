//! Planning a group's deals: matched by id, else by title; amounts in
//! major units of the row's currency (or the deal's), stages by id or name,
//! close dates as ISO or `31.12.2026`. A stage change is a stage move (kept
//! in the deal's history), never a plain field write.

use std::collections::HashMap;

use rapport_core::{Account, DealId, Money, NewDeal};

use super::super::cells::{self, name_key};
use super::{AccountPlan, Entry, Op, Planner, reason};
use crate::csv::headers::Column;

impl Planner<'_> {
    pub(super) fn plan_deals(&mut self, account: &Account, entries: &[Entry], plan: &mut AccountPlan) {
        let settings = self.replica.settings();
        let mut seen: HashMap<String, u64> = HashMap::new();
        for entry in entries {
            let id = match entry.get(Column::DealId) {
                Some(v) => match v.parse::<DealId>().ok().filter(|id| account.deal(*id).is_some()) {
                    Some(id) => Some(id),
                    None => {
                        self.error(
                            entry.src(Column::DealId),
                            "no deal with this id in the account; leave the cell empty to add the deal",
                        );
                        continue;
                    }
                },
                None => None,
            };
            let Some(title) = entry.get(Column::DealTitle) else {
                self.error(
                    entry.src(Column::DealTitle),
                    "must not be empty: the row has deal data, give the deal's title",
                );
                continue;
            };
            let existing = account
                .deals
                .iter()
                .find(|d| id.map_or_else(|| name_key(&d.title) == name_key(title), |id| d.id == id));
            let key = existing.map_or_else(|| format!("title:{}", name_key(title)), |d| format!("id:{}", d.id));
            if let Some(first) = seen.insert(key, entry.row) {
                self.error(
                    entry.src(Column::DealTitle),
                    format!("the same deal as row {first}; give each deal on one row"),
                );
                continue;
            }
            let src = |c: Column| entry.src(c);
            let mut bad = false;
            let currency = match entry.get(Column::DealCurrency) {
                Some(c) => match Money::new(0, c) {
                    Ok(m) => Some(m.currency),
                    Err(e) => {
                        self.error(src(Column::DealCurrency), reason(&e));
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
                        self.error(src(Column::DealAmount), reason(&e));
                        bad = true;
                        None
                    }
                },
                (Some(_), None) if !bad => {
                    self.error(
                        src(Column::DealCurrency),
                        "an amount needs its currency: give the three-letter code, e.g. UAH",
                    );
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
                            let ids: Vec<&str> = settings.stages.iter().map(|s| s.id.as_str()).collect();
                            self.error(
                                src(Column::DealStage),
                                format!("unknown stage; the stages are {}", ids.join(", ")),
                            );
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
                        self.error(src(Column::DealProbability), "expected a whole percent between 0 and 100");
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
                        self.error(src(Column::DealClose), "expected a date as 2026-12-31 or 31.12.2026");
                        bad = true;
                        None
                    }
                },
                None => None,
            };
            let next_step = entry.get(Column::DealNextStep).map(str::to_owned);
            if bad {
                continue;
            }
            match existing {
                None => {
                    let (Some(minor), Some(cur)) = (amount, currency) else {
                        self.error(
                            src(Column::DealAmount),
                            "a new deal needs its amount and currency, e.g. 360000.00 and UAH",
                        );
                        continue;
                    };
                    let mut new = NewDeal::new(title, Money { minor, currency: cur });
                    new.stage = stage.map(|s| s.id.clone());
                    new.probability = probability;
                    new.expected_close = close;
                    new.next_step = next_step;
                    plan.ops.push((src(Column::DealTitle), Op::AddDeal(Box::new(new))));
                    plan.deals.created += 1;
                }
                Some(deal) => {
                    let before = plan.ops.len();
                    let path = |field: &str| format!("deals.{}.{field}", deal.id);
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
                    if let Some(s) = stage.filter(|s| s.id != deal.stage) {
                        plan.ops.push((src(Column::DealStage), Op::MoveStage { deal: deal.id, stage: s.id.clone() }));
                        expected_probability = s.probability;
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

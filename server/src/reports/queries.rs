//! Every report as SQL over the reporting index (`rpt_*`), restricted to the
//! caller's scope and filters. Each returns a [`Table`]: named columns and
//! rows, which the routes send as JSON or CSV.
//!
//! Deal snapshots (pipeline, stages, forecast, stale, overdue) take the
//! period on the expected close date; events take it on when they happened
//! (closing = last stage change, stage moves, interactions, ladder moves,
//! ended relationships). Open conflicts take it on when the newest of the
//! field's concurrent values was written (the time of the change that wrote
//! it, from the writer's clock): "conflicts that arose in the period".
//! Instants are milliseconds since the Unix epoch.
//!
//! Every query reads one table, through the covering index made for it
//! (named with `INDEXED BY`): the account's scope is on each row (see
//! [`super::index`]). `rep-activity` and `stage-conversion` read whole weeks
//! of the period from their rollups and only the days before the first and
//! after the last whole week from the fact rows; the rollups are kept per
//! team and owner, so rows picked by territory come from the fact rows,
//! through an index that starts with the territory.
//!
//! The same SQL runs on PostgreSQL ([`ReportDb`], ADR 0035): it is written
//! in forms both databases read alike, the index hints are SQLite's only
//! (PostgreSQL's reader drops them), and a flag's literal and "no limit"
//! come from the [`Dialect`].

use rapport_core::{LifecyclePhase, LoyaltyRung, Settings, StageKind};
use rusqlite::types::Value;
use serde_json::Value as Json;

use super::filter::{Cond, DAY_MS, Filter, today_ms};
use super::known::{self, Known, Rows};
use super::sql::{Dialect, ReportDb, SqlError};

mod late;
use super::index::{FIRST_ENTRY, week_start};
use crate::access::Subject;
pub(crate) use late::check as check_late_edits;

/// A report's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Json>>,
    /// For a per-row report: every row the report has, of which `rows` is
    /// the page asked for.
    pub total: Option<u64>,
}

/// The per-row reports: they return one page of rows (`limit`, `offset`)
/// with the total, in a stable order.
pub const PAGINATED: [&str; 6] =
    ["stale-deals", "overdue-deals", "contact-depth", "key-accounts-at-risk", "open-conflicts", "late-edits"];

/// Rows of a per-row report returned as JSON when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;

/// Days without an interaction after which a key account is at risk, if `days` is not given.
const DEFAULT_RISK_DAYS: u32 = 30;

/// Every report name served under `/v1/reports/{name}`.
pub const REPORTS: [&str; 16] = [
    "pipeline",
    "stages",
    "forecast",
    "win-rate",
    "stage-conversion",
    "stale-deals",
    "overdue-deals",
    "lost-reasons",
    "rep-activity",
    "rep-summary",
    "contact-depth",
    "ladder",
    "lifecycle",
    "key-accounts-at-risk",
    "open-conflicts",
    "late-edits",
];

/// Runs report `name`; `None` if there is no such report.
/// With `known`, the figures are those the server knew then (ADR 0023):
/// every query reads the reporting rows as known at that position ([`Then`])
/// and "today" is that instant's day.
pub fn run<D: ReportDb + ?Sized>(
    conn: &D,
    name: &str,
    subject: &Subject,
    filter: &Filter,
    known: Option<Known>,
) -> Option<Result<Table, SqlError>> {
    Query { conn, subject, filter, now: filter.now(), rollups: true, then: known.map(Then::Split) }.run(name)
}

/// Runs report `name` as known at `known` the plain way: every `_hist` row
/// valid then, scanned, and no rollups (the tests' reference for [`run`]).
#[cfg(test)]
pub(crate) fn run_scanned<D: ReportDb + ?Sized>(
    conn: &D,
    name: &str,
    subject: &Subject,
    filter: &Filter,
    known: Known,
) -> Option<Result<Table, SqlError>> {
    Query { conn, subject, filter, now: filter.now(), rollups: false, then: Some(Then::Scan(known)) }.run(name)
}

/// Runs report `name` as of `now`, reading the weekly rollups only if `rollups`
/// (the tests compare both ways).
#[cfg(test)]
pub(crate) fn run_at<D: ReportDb + ?Sized>(
    conn: &D,
    name: &str,
    subject: &Subject,
    filter: &Filter,
    now: time::OffsetDateTime,
    rollups: bool,
) -> Option<Result<Table, SqlError>> {
    Query { conn, subject, filter, now, rollups, then: None }.run(name)
}

struct Query<'a, D: ?Sized> {
    conn: &'a D,
    subject: &'a Subject,
    filter: &'a Filter,
    now: time::OffsetDateTime,
    /// Whether the weekly rollups may be read (always, but in the tests that
    /// compare them with the fact rows).
    rollups: bool,
    /// The state of the log whose rows are read (`None`: the current rows).
    then: Option<Then>,
}

/// How a query reads the rows as known at an earlier log position (ADR 0023,
/// "Reading as known then").
#[derive(Clone, Copy)]
enum Then {
    /// Today's figures, corrected: what the rows replaced since counted then
    /// is added and what the rows added since count now is taken away. Each
    /// query runs as it does today (its covering index, the rollups) and
    /// twice over the few rows changed since (their validity index).
    Split(Known),
    /// Every `_hist` row valid then, in one scan.
    #[cfg_attr(not(test), allow(dead_code))]
    Scan(Known),
}

impl Then {
    fn known(self) -> Known {
        match self {
            Then::Split(k) | Then::Scan(k) => k,
        }
    }
}

/// How the results of a query's parts combine when it is split ([`Then::Split`]).
#[derive(Clone, Copy)]
enum Combine {
    /// Grouped figures: the first `keys` columns name the group, the others
    /// are counts or sums (added up); groups in key order.
    Sum(usize),
    /// The query already reads as known then (its parts are in its SQL).
    AsIs,
}

/// SQLite's order of values (NULL, numbers, text), `desc` reversed.
fn sql_order(a: &Json, b: &Json, desc: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let rank = |v: &Json| match v {
        Json::Null => 0,
        Json::Number(_) | Json::Bool(_) => 1,
        _ => 2,
    };
    let o = match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        },
        (Json::String(x), Json::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => rank(a).cmp(&rank(b)),
    };
    if desc { o.reverse() } else { o }
}

/// The rows of `order` (column, descending?) compared as SQLite orders them.
fn by_columns(order: &[(usize, bool)]) -> impl Fn(&Vec<Json>, &Vec<Json>) -> std::cmp::Ordering + '_ {
    move |a, b| {
        order
            .iter()
            .map(|&(c, desc)| sql_order(&a[c], &b[c], desc))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// `a` + `sign` × `b` (NULL adds nothing).
fn add(a: &Json, b: &Json, sign: i64) -> Json {
    match (a, b) {
        (v, Json::Null) => v.clone(),
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Json::from(x + sign * y),
            _ => Json::from(x.as_f64().unwrap_or(0.0) + sign as f64 * y.as_f64().unwrap_or(0.0)),
        },
        (Json::Null, Json::Number(y)) => add(&Json::from(0), &Json::Number(y.clone()), sign),
        (v, _) => v.clone(),
    }
}

/// Grouped figures (the first `keys` columns name the group, the others are
/// counts or sums) as known then: `now` plus `replaced` less `added`, in key
/// order. A group left with nothing to count had no rows then.
fn as_known_then(keys: usize, now: Vec<Vec<Json>>, replaced: Vec<Vec<Json>>, added: Vec<Vec<Json>>) -> Vec<Vec<Json>> {
    let mut groups: Vec<Vec<Json>> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let parts = [(1, now), (1, replaced), (-1, added)];
    for (sign, rows) in parts {
        for row in rows {
            let key = Json::from(row[..keys].to_vec()).to_string();
            let i = *at.entry(key).or_insert_with(|| {
                let empty = row[..keys].iter().cloned().chain(row[keys..].iter().map(|_| Json::Null)).collect();
                groups.push(empty);
                groups.len() - 1
            });
            for c in keys..row.len() {
                groups[i][c] = add(&groups[i][c], &row[c], sign);
            }
        }
    }
    let nothing = |v: &Json| v.is_null() || v.as_f64() == Some(0.0);
    groups.retain(|g| keys == 0 || !g[keys..].iter().all(nothing));
    let order: Vec<(usize, bool)> = (0..keys).map(|c| (c, false)).collect();
    groups.sort_by(by_columns(&order));
    groups
}

/// How a per-row report's page is read as known then: the fact table whose
/// rows it lists and the output columns it is ordered by (column,
/// descending?).
struct Paged<'a> {
    table: &'static str,
    order: &'a [(usize, bool)],
}

fn ratio(num: &Json, den: &Json) -> Json {
    match (num.as_i64(), den.as_i64()) {
        (Some(n), Some(d)) if d > 0 => Json::from(n as f64 / d as f64),
        _ => Json::Null,
    }
}

/// How a period `[from, to)` splits for a weekly rollup: whole weeks
/// (`week_start` in `[first, last)`) from the rollup, the days outside them
/// from the fact rows.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    weeks: Option<(i64, i64)>,
    days: Vec<(i64, i64)>,
}

fn split_weeks(from: i64, to: i64) -> Split {
    let first = match from {
        i64::MIN => i64::MIN,
        _ if week_start(from) == from => from,
        _ => week_start(from) + 7 * DAY_MS,
    };
    let last = if to == i64::MAX { i64::MAX } else { week_start(to) };
    if first < last {
        let days = [(from, first), (last, to)].into_iter().filter(|(a, b)| a < b).collect();
        Split { weeks: Some((first, last)), days }
    } else {
        Split { weeks: None, days: vec![(from, to)] }
    }
}

/// Parts of a `UNION ALL` with their parameters, in order.
#[derive(Default)]
struct Union {
    parts: Vec<String>,
    params: Vec<Value>,
}

impl Union {
    fn push(&mut self, sql: String, params: impl IntoIterator<Item = Value>) {
        self.parts.push(sql);
        self.params.extend(params);
    }

    fn sql(&self) -> String {
        self.parts.join(" UNION ALL ")
    }
}

impl<D: ReportDb + ?Sized> Query<'_, D> {
    fn run(&self, name: &str) -> Option<Result<Table, SqlError>> {
        Some(match name {
            "pipeline" => self.pipeline(),
            "stages" => self.stages(),
            "forecast" => self.forecast(),
            "win-rate" => self.win_rate(),
            "stage-conversion" => self.stage_conversion(),
            "stale-deals" => self.stale_deals(),
            "overdue-deals" => self.overdue_deals(),
            "lost-reasons" => self.lost_reasons(),
            "rep-activity" => self.rep_activity(),
            "rep-summary" => self.rep_summary(),
            "contact-depth" => self.contact_depth(),
            "ladder" => self.ladder(),
            "lifecycle" => self.lifecycle(),
            "key-accounts-at-risk" => self.key_accounts_at_risk(),
            "open-conflicts" => self.open_conflicts(),
            "late-edits" => self.late_edits(),
            _ => return None,
        })
    }

    fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    /// Visible rows of table `alias` in the caller's scope that pass the filter.
    fn on(&self, alias: &str) -> Cond {
        Cond::on(self.dialect(), alias, self.subject, self.filter)
    }

    /// `{alias}.expected_close` within the period (deals without one only when no period is given).
    fn close_in_period(&self, cond: Cond, alias: &str) -> Cond {
        if self.filter.from.is_none() && self.filter.to.is_none() {
            return cond;
        }
        let (from, to) = self.filter.period_dates();
        cond.and(&format!("{alias}.expected_close BETWEEN ? AND ?"), [Value::Text(from), Value::Text(to)])
    }

    fn at_in_period(&self, cond: Cond, column: &str) -> Cond {
        let (from, to) = self.filter.period_ms();
        between(cond, column, from, to)
    }

    /// The rows `sql` returns, as it is.
    fn rows(&self, n: usize, sql: &str, params: &[Value]) -> Result<Vec<Vec<Json>>, SqlError> {
        self.conn.rows(n, sql, params)
    }

    /// A count `sql` returns, as it is.
    fn count(&self, sql: &str, params: &[Value]) -> Result<u64, SqlError> {
        let rows = self.rows(1, sql, params)?;
        let n = rows.first().and_then(|r| r.first()).and_then(Json::as_i64).unwrap_or(0);
        Ok(n.max(0) as u64)
    }

    /// The rows of `sql` over the rows asked for: today's, or as known then,
    /// its parts combined as `combine` says.
    fn table(
        &self,
        columns: Vec<&'static str>,
        combine: Combine,
        sql: &str,
        params: &[Value],
    ) -> Result<Table, SqlError> {
        let n = columns.len();
        let rows = match (self.then, combine) {
            (None, _) | (Some(Then::Split(_)), Combine::AsIs) => self.rows(n, sql, params)?,
            (Some(Then::Scan(k)), _) => self.rows(n, &known::rewrite(sql, k, Rows::Valid), params)?,
            (Some(Then::Split(k)), Combine::Sum(keys)) => as_known_then(
                keys,
                self.rows(n, sql, params)?,
                self.rows(n, &known::rewrite(sql, k, Rows::Replaced), params)?,
                self.rows(n, &known::rewrite(sql, k, Rows::Added), params)?,
            ),
        };
        Ok(Table { columns, rows, total: None })
    }

    /// A page of a per-row report: `select` (ordered as `paged` says, ending
    /// in `LIMIT ? OFFSET ?`, where the page's window goes after
    /// `select_params`), and the number of rows of the whole report, which
    /// `count` gives. As known then: the first rows of today's that did not
    /// change since, merged with the rows replaced since; the count is
    /// today's plus the replaced rows less the added ones.
    fn page(
        &self,
        columns: Vec<&'static str>,
        paged: Paged<'_>,
        (select, select_params): (&str, Vec<Value>),
        (count, count_params): (&str, &[Value]),
    ) -> Result<Table, SqlError> {
        let n = columns.len();
        let whole = self.filter.limit.is_none() && self.filter.offset.unwrap_or(0) == 0;
        let with = |first: Value, offset: Value| -> Vec<Value> {
            select_params.iter().cloned().chain([first, offset]).collect()
        };
        let (rows, total) = match self.then {
            Some(Then::Split(k)) if known::rewrite(select, k, Rows::Valid) != select => {
                // The page's rows and those before it, from today's rows that did not change since
                // and from the rows replaced since.
                let offset = self.filter.offset.unwrap_or(0);
                let first = self
                    .filter
                    .limit
                    .and_then(|l| i64::try_from(offset + u64::from(l)).ok())
                    .map_or_else(|| self.conn.no_limit(), Value::Integer);
                let mut rows = Vec::new();
                for part in [Rows::Unchanged, Rows::Replaced] {
                    rows.extend(self.rows(
                        n,
                        &known::rewrite_for(select, k, paged.table, part),
                        &with(first.clone(), Value::Integer(0)),
                    )?);
                }
                rows.sort_by(by_columns(paged.order));
                let rows: Vec<_> = rows
                    .into_iter()
                    .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                    .take(self.filter.limit.map_or(usize::MAX, |l| l as usize))
                    .collect();
                let total = if whole {
                    0
                } else {
                    let count_of = |rows| known::rewrite_for(count, k, paged.table, rows);
                    (self.count(count, count_params)? + self.count(&count_of(Rows::Replaced), count_params)?)
                        .saturating_sub(self.count(&count_of(Rows::Added), count_params)?)
                };
                (rows, total)
            }
            then => {
                let read = |sql: &str| match then {
                    Some(Then::Scan(k)) => known::rewrite(sql, k, Rows::Valid),
                    _ => sql.to_owned(),
                };
                let (limit, offset) = self.window();
                let rows = self.rows(n, &read(select), &with(limit, offset))?;
                let total = if whole { 0 } else { self.count(&read(count), count_params)? };
                (rows, total)
            }
        };
        let total = if whole { rows.len() as u64 } else { total };
        Ok(Table { columns, rows, total: Some(total) })
    }

    /// The `LIMIT ? OFFSET ?` parameters of the page asked for (no limit: every row).
    fn window(&self) -> (Value, Value) {
        let offset = i64::try_from(self.filter.offset.unwrap_or(0)).unwrap_or(i64::MAX);
        let limit = self.filter.limit.map_or_else(|| self.conn.no_limit(), |l| Value::Integer(i64::from(l)));
        (limit, Value::Integer(offset))
    }

    fn pipeline(&self) -> Result<Table, SqlError> {
        let c = self.close_in_period(self.on("d").and("d.outcome = 'open'", []), "d");
        let sql = format!(
            "SELECT d.currency, count(*), sum(d.amount_minor), sum(d.amount_minor * d.probability)
             FROM rpt_deals d INDEXED BY rpt_deals_pipeline WHERE {} GROUP BY d.currency ORDER BY 1",
            c.sql
        );
        let mut t = self.table(
            vec!["currency", "open_deals", "amount_minor", "weighted_minor"],
            Combine::Sum(1),
            &sql,
            &c.params,
        )?;
        // Summed in per-cent units and divided once, so that parts add up exactly.
        for row in &mut t.rows {
            row[3] = row[3].as_i64().map_or(Json::Null, |w| Json::from(w / 100));
        }
        Ok(t)
    }

    fn stages(&self) -> Result<Table, SqlError> {
        let c = self.close_in_period(self.on("d"), "d");
        let sql = format!(
            "SELECT d.stage, d.currency, count(*), sum(d.amount_minor)
             FROM rpt_deals d INDEXED BY rpt_deals_stage WHERE {} GROUP BY 1, 2 ORDER BY 1, 2",
            c.sql
        );
        self.table(vec!["stage", "currency", "deals", "amount_minor"], Combine::Sum(2), &sql, &c.params)
    }

    fn forecast(&self) -> Result<Table, SqlError> {
        let c = self.close_in_period(self.on("d").and("d.forecast != 'omitted'", []), "d");
        let sql = format!(
            "SELECT d.forecast, d.currency, count(*), sum(d.amount_minor)
             FROM rpt_deals d INDEXED BY rpt_deals_forecast WHERE {} GROUP BY 1, 2 ORDER BY 1, 2",
            c.sql
        );
        self.table(vec!["forecast", "currency", "deals", "amount_minor"], Combine::Sum(2), &sql, &c.params)
    }

    fn win_rate(&self) -> Result<Table, SqlError> {
        let c = self.at_in_period(self.on("d").and("d.outcome IN ('won', 'lost')", []), "d.stage_changed_at");
        let sql = format!(
            "SELECT coalesce(sum(CASE WHEN d.outcome = 'won' THEN 1 ELSE 0 END), 0),
                    coalesce(sum(CASE WHEN d.outcome = 'lost' THEN 1 ELSE 0 END), 0)
             FROM rpt_deals d INDEXED BY rpt_deals_changed WHERE {}",
            c.sql
        );
        let mut t = self.table(vec!["won", "lost"], Combine::Sum(0), &sql, &c.params)?;
        t.columns.push("win_rate");
        for row in &mut t.rows {
            let total = Json::from(row[0].as_i64().unwrap_or(0) + row[1].as_i64().unwrap_or(0));
            let rate = ratio(&row[0], &total);
            row.push(rate);
        }
        Ok(t)
    }

    /// Moves from → to in the period, and the distinct deals that entered the
    /// from-stage in the period: a move counts as an entry if the deal's
    /// previous entry into that stage (`prev_day`) lies before the period.
    fn stage_conversion(&self) -> Result<Table, SqlError> {
        let (from, _) = self.filter.period_ms();
        let mut parts = Union::default();
        let facts = |parts: &mut Union, c: Cond, index: &str, lo: i64, hi: i64| {
            let c = between(c, "s.at", lo, hi);
            parts.push(
                format!(
                    "SELECT coalesce(s.from_stage, '') AS f, s.to_stage AS t, count(*) AS n,
                            sum(CASE WHEN s.prev_day = {FIRST_ENTRY} OR s.prev_day < ? THEN 1 ELSE 0 END) AS entries
                     FROM rpt_stage_moves s INDEXED BY {index} WHERE {} GROUP BY 1, 2",
                    c.sql
                ),
                [Value::Integer(from)].into_iter().chain(c.params),
            );
        };
        let source = ("s", "rpt_stage_moves_at", "rpt_stage_moves_territory");
        self.split(source, &mut parts, "f, t, -n, -entries", facts, |parts, c, first, last| {
            let c = between(c, "v.week_start", first, last);
            parts.push(
                format!(
                    "SELECT v.from_stage AS f, v.to_stage AS t, sum(v.n) AS n,
                            sum(CASE WHEN v.prev_day = {FIRST_ENTRY} OR v.prev_day < ? THEN v.n ELSE 0 END) AS entries
                     FROM rpt_stage_flow v WHERE {} GROUP BY 1, 2",
                    c.sql
                ),
                [Value::Integer(from)].into_iter().chain(c.params),
            );
        });
        let sql = format!(
            "WITH g AS (SELECT f, t, sum(n) AS n, sum(entries) AS entries FROM ({}) AS parts GROUP BY f, t),
                  entered AS (SELECT t AS stage, sum(entries) AS n FROM g GROUP BY t)
             SELECT g.f, g.t, g.n, coalesce(e.n, 0) FROM g LEFT JOIN entered e ON e.stage = g.f
             WHERE g.f != '' AND g.n > 0 ORDER BY 1, 2",
            parts.sql()
        );
        let mut t = self.table(
            vec!["from_stage", "to_stage", "moves", "deals_entered_from"],
            Combine::AsIs,
            &sql,
            &parts.params,
        )?;
        t.columns.push("rate");
        for row in &mut t.rows {
            let rate = ratio(&row[2], &row[3]);
            row.push(rate);
        }
        Ok(t)
    }

    /// Adds the parts of a weekly-rollup report for the period: `rollup`
    /// (over `rpt_… v`) for whole weeks `[first, last)`, `facts` (over the
    /// fact table aliased `alias`, through index `all` or, when the rows are
    /// picked by territory, `by_territory`) for the rest. The rollups are kept
    /// per team and owner: with a territory in the filter the period comes
    /// from the fact rows alone; a rep's scope (own ∪ territories) is read as
    /// the rep's own rows (rollup and days) plus the others' rows in the
    /// territories (fact rows).
    ///
    /// As known then ([`Then::Split`]), today's parts are followed by two
    /// more over the fact rows of the whole period: the rows valid then that
    /// were changed or removed since are added, and the rows added or changed
    /// since are taken away (`negated`: the select list of `facts`' columns
    /// with its figures negated).
    fn split(
        &self,
        (alias, all, by_territory): (&str, &'static str, &'static str),
        parts: &mut Union,
        negated: &str,
        facts: impl Fn(&mut Union, Cond, &str, i64, i64),
        rollup: impl Fn(&mut Union, Cond, i64, i64),
    ) {
        let (from, to) = self.filter.period_ms();
        if let Some(Then::Split(known)) = self.then {
            for (rows, select) in [(Rows::Replaced, "*"), (Rows::Added, negated)] {
                let mut delta = Union::default();
                facts(&mut delta, self.on(alias), all, from, to);
                parts.push(
                    format!("SELECT {select} FROM ({}) AS delta", known::rewrite(&delta.sql(), known, rows)),
                    delta.params,
                );
            }
        }
        if !self.rollups {
            facts(parts, self.on(alias), all, from, to);
            return;
        }
        if self.filter.territory.is_some() {
            facts(parts, self.on(alias), by_territory, from, to);
            return;
        }
        let own;
        let subject = match Cond::others_in_territories(self.dialect(), alias, self.subject, self.filter) {
            Some(others) => {
                facts(parts, others, by_territory, from, to);
                own = Subject { territories: Default::default(), ..self.subject.clone() };
                &own
            }
            None => self.subject,
        };
        let split = split_weeks(from, to);
        if let Some((first, last)) = split.weeks {
            rollup(parts, Cond::on(self.dialect(), "v", subject, self.filter), first, last);
        }
        for (lo, hi) in split.days {
            facts(parts, Cond::on(self.dialect(), alias, subject, self.filter), all, lo, hi);
        }
    }

    /// Open deals past their stage's threshold (default settings), or, with
    /// `days`, on accounts with no held interaction for that many days; the
    /// longest unmoved first. The page's keys come from one index
    /// (`rpt_deals_changed`), the other columns only for the page's rows.
    fn stale_deals(&self) -> Result<Table, SqlError> {
        let settings = Settings::default();
        let thresholds: String = settings
            .stages
            .iter()
            .filter(|s| s.kind == StageKind::Open && s.stale_after_days > 0)
            .map(|s| format!(" WHEN '{}' THEN {}", s.id.replace('\'', "''"), s.stale_after_days))
            .collect();
        let limit_days = format!("CASE d.stage{thresholds} ELSE NULL END");
        let (now, _, _) = today_ms(self.now);
        let idle_since = self.filter.days.map_or(Value::Null, |d| Value::Integer(now - i64::from(d) * DAY_MS));
        let c = self.close_in_period(self.on("d").and("d.outcome = 'open'", []), "d").and(
            &format!(
                "(({limit_days}) IS NOT NULL AND d.stage_changed_at < ? - ({limit_days}) * CAST({DAY_MS} AS BIGINT)
                  OR CAST(? AS BIGINT) IS NOT NULL AND (d.last_touch IS NULL OR d.last_touch < ?))"
            ),
            [Value::Integer(now), idle_since.clone(), idle_since],
        );
        let select = format!(
            "SELECT d.doc_id, d.name, d.deal_id, d.stage, d.stage_changed_at, {limit_days}, d.last_touch
             FROM (SELECT d.doc_id, d.deal_id FROM rpt_deals d INDEXED BY rpt_deals_changed WHERE {}
                   ORDER BY d.stage_changed_at, d.doc_id, d.deal_id LIMIT ? OFFSET ?) p
             JOIN rpt_deals d ON d.doc_id = p.doc_id AND d.deal_id = p.deal_id
             ORDER BY d.stage_changed_at, d.doc_id, d.deal_id",
            c.sql
        );
        let count = format!("SELECT count(*) FROM rpt_deals d INDEXED BY rpt_deals_changed WHERE {}", c.sql);
        let params = c.params.clone();
        let columns =
            vec!["account_id", "account", "deal_id", "stage", "stage_changed_ms", "stage_limit_days", "last_touch_ms"];
        let paged = Paged { table: "rpt_deals", order: &[(4, false), (0, false), (2, false)] };
        self.page(columns, paged, (&select, params), (&count, &c.params))
    }

    /// Open deals whose expected close has passed, the oldest first.
    fn overdue_deals(&self) -> Result<Table, SqlError> {
        let today = self.now.date().to_string();
        let c = self.close_in_period(
            self.on("d").and("d.outcome = 'open' AND d.expected_close < ?", [Value::Text(today)]),
            "d",
        );
        let select = format!(
            "SELECT d.doc_id, d.name, d.deal_id, d.stage, d.expected_close, d.amount_minor, d.currency
             FROM (SELECT d.doc_id, d.deal_id FROM rpt_deals d INDEXED BY rpt_deals_close WHERE {}
                   ORDER BY d.expected_close, d.doc_id, d.deal_id LIMIT ? OFFSET ?) p
             JOIN rpt_deals d ON d.doc_id = p.doc_id AND d.deal_id = p.deal_id
             ORDER BY d.expected_close, d.doc_id, d.deal_id",
            c.sql
        );
        let count = format!("SELECT count(*) FROM rpt_deals d INDEXED BY rpt_deals_close WHERE {}", c.sql);
        let params = c.params.clone();
        let columns = vec!["account_id", "account", "deal_id", "stage", "expected_close", "amount_minor", "currency"];
        let paged = Paged { table: "rpt_deals", order: &[(4, false), (0, false), (2, false)] };
        self.page(columns, paged, (&select, params), (&count, &c.params))
    }

    fn lost_reasons(&self) -> Result<Table, SqlError> {
        let deals = self.at_in_period(self.on("d").and("d.outcome = 'lost'", []), "d.stage_changed_at");
        let (from, to) = self.filter.period_dates();
        let ended = self
            .on("a")
            .and("a.end_reason IS NOT NULL AND a.ended_on BETWEEN ? AND ?", [Value::Text(from), Value::Text(to)]);
        let sql = format!(
            "SELECT 'deal', coalesce(d.lost_reason, ''), count(*) FROM rpt_deals d INDEXED BY rpt_deals_changed WHERE {} GROUP BY 2
             UNION ALL
             SELECT 'relationship', a.end_reason, count(*) FROM rpt_accounts a INDEXED BY rpt_accounts_ended WHERE {} GROUP BY 2
             ORDER BY 1, 2",
            deals.sql, ended.sql
        );
        let params: Vec<Value> = deals.params.into_iter().chain(ended.params).collect();
        self.table(vec!["record", "reason", "count"], Combine::Sum(2), &sql, &params)
    }

    /// Held interactions per rep (staff, else who logged it) × kind × ISO week.
    fn rep_activity(&self) -> Result<Table, SqlError> {
        let mut parts = Union::default();
        let facts = |parts: &mut Union, c: Cond, index: &str, lo: i64, hi: i64| {
            let c = between(c.and("i.status = 'held'", []), "i.at", lo, hi);
            parts.push(
                format!(
                    "SELECT i.rep AS rep, i.kind AS kind, i.week AS week, count(*) AS n
                     FROM rpt_interactions i INDEXED BY {index} WHERE {} GROUP BY 1, 2, 3",
                    c.sql
                ),
                c.params,
            );
        };
        let source = ("i", "rpt_interactions_at", "rpt_interactions_territory");
        self.split(source, &mut parts, "rep, kind, week, -n", facts, |parts, c, first, last| {
            let c = between(c, "v.week_start", first, last);
            parts.push(
                format!(
                    "SELECT v.rep AS rep, v.kind AS kind, min(v.week) AS week, sum(v.n) AS n
                     FROM rpt_activity v WHERE {} GROUP BY v.rep, v.kind, v.week_start",
                    c.sql
                ),
                c.params,
            );
        });
        let sql = if parts.parts.len() == 1 {
            format!("SELECT rep, kind, week, n FROM ({}) AS parts WHERE n > 0 ORDER BY 1, 2, 3", parts.sql())
        } else {
            format!(
                "SELECT rep, kind, week, sum(n) FROM ({}) AS parts GROUP BY rep, kind, week HAVING sum(n) > 0 ORDER BY 1, 2, 3",
                parts.sql()
            )
        };
        self.table(vec!["rep", "kind", "week", "interactions"], Combine::AsIs, &sql, &parts.params)
    }

    /// Per user: accounts owned, open deals on them, planned interactions
    /// (theirs, by planned start) overdue / today / later, as of now.
    fn rep_summary(&self) -> Result<Table, SqlError> {
        let accounts = self.on("a").and("a.owner IS NOT NULL", []);
        let planned = self.on("i").and("i.status = 'planned'", []);
        let (_, today, tomorrow) = today_ms(self.now);
        let sql = format!(
            "WITH owned AS (SELECT a.owner AS rep, count(*) AS n, sum(a.open_deals) AS deals
                            FROM rpt_accounts a INDEXED BY rpt_accounts_owner WHERE {} GROUP BY a.owner),
             planned AS (SELECT i.rep, sum(CASE WHEN i.at < ? THEN 1 ELSE 0 END) AS overdue,
                                sum(CASE WHEN i.at >= ? AND i.at < ? THEN 1 ELSE 0 END) AS today,
                                sum(CASE WHEN i.at >= ? THEN 1 ELSE 0 END) AS later
                         FROM rpt_interactions i INDEXED BY rpt_interactions_rep WHERE {} GROUP BY i.rep),
             reps AS (SELECT rep FROM owned UNION SELECT rep FROM planned)
             SELECT reps.rep, coalesce(owned.n, 0), coalesce(owned.deals, 0), coalesce(planned.overdue, 0),
                    coalesce(planned.today, 0), coalesce(planned.later, 0)
             FROM reps LEFT JOIN owned ON owned.rep = reps.rep LEFT JOIN planned ON planned.rep = reps.rep
             ORDER BY 1",
            accounts.sql, planned.sql
        );
        let params: Vec<Value> = accounts
            .params
            .into_iter()
            .chain([today, today, tomorrow, tomorrow].map(Value::Integer))
            .chain(planned.params)
            .collect();
        let columns = vec!["rep", "accounts_owned", "open_deals", "planned_overdue", "planned_today", "planned_later"];
        self.table(columns, Combine::Sum(1), &sql, &params)
    }

    /// Per account, by name: distinct contacts in held interactions, held
    /// interactions (in the period), last held and next planned touch. The
    /// per-account figures are computed for the page's accounts only.
    fn contact_depth(&self) -> Result<Table, SqlError> {
        let (from, to) = self.filter.period_ms();
        let (now, _, _) = today_ms(self.now);
        let c = self.on("a");
        let sql = format!(
            "SELECT a.doc_id, a.name,
                (SELECT count(DISTINCT ic.contact_id) FROM rpt_interaction_contacts ic
                   JOIN rpt_interactions i ON i.doc_id = ic.doc_id AND i.interaction_id = ic.interaction_id
                   WHERE ic.doc_id = a.doc_id AND i.status = 'held' AND i.at >= ?1 AND i.at < ?2),
                (SELECT count(DISTINCT i.interaction_id) FROM rpt_interactions i
                   WHERE i.doc_id = a.doc_id AND i.status = 'held' AND i.at >= ?1 AND i.at < ?2),
                a.last_touch,
                (SELECT min(i.at) FROM rpt_interactions i
                   WHERE i.doc_id = a.doc_id AND i.status = 'planned' AND i.at >= ?3)
             FROM (SELECT a.doc_id FROM rpt_accounts a INDEXED BY rpt_accounts_name WHERE {} ORDER BY a.name, a.doc_id LIMIT ? OFFSET ?) p
             JOIN rpt_accounts a ON a.doc_id = p.doc_id
             ORDER BY a.name, a.doc_id",
            numbered(&c.sql, 4)
        );
        let count = format!("SELECT count(*) FROM rpt_accounts a INDEXED BY rpt_accounts_name WHERE {}", c.sql);
        let params: Vec<Value> =
            [from, to, now].map(Value::Integer).into_iter().chain(c.params.iter().cloned()).collect();
        let columns =
            vec!["account_id", "account", "contacts_engaged", "interactions_held", "last_touch_ms", "next_touch_ms"];
        let paged = Paged { table: "rpt_accounts", order: &[(1, false), (0, false)] };
        self.page(columns, paged, (&sql, params), (&count, &c.params))
    }

    /// Accounts per rung now, and moves up and down from each rung in the period.
    fn ladder(&self) -> Result<Table, SqlError> {
        let c = self.on("a");
        let now = self.table(
            vec!["rung", "n"],
            Combine::Sum(1),
            &format!(
                "SELECT a.rung, count(*) FROM rpt_accounts a INDEXED BY rpt_accounts_rung WHERE {} GROUP BY 1",
                c.sql
            ),
            &c.params,
        )?;
        let m = self.at_in_period(self.on("l"), "l.at");
        let moves = self.table(
            vec!["rung", "up", "down"],
            Combine::Sum(1),
            &format!("SELECT l.from_rung, sum(CASE WHEN l.up THEN 1 ELSE 0 END), sum(CASE WHEN l.up THEN 0 ELSE 1 END) FROM rpt_ladder_moves l INDEXED BY rpt_ladder_moves_rung WHERE {} GROUP BY 1", m.sql),
            &m.params,
        )?;
        let rows = LoyaltyRung::ALL
            .iter()
            .map(|r| {
                let find = |t: &Table, col: usize| {
                    t.rows.iter().find(|row| row[0] == r.as_str()).map_or(Json::from(0), |row| row[col].clone())
                };
                vec![Json::from(r.as_str()), find(&now, 1), find(&moves, 1), find(&moves, 2)]
            })
            .collect();
        Ok(Table { columns: vec!["rung", "accounts", "moved_up_from", "moved_down_from"], rows, total: None })
    }

    /// Accounts per phase now, and relationships ended in each phase in the period.
    fn lifecycle(&self) -> Result<Table, SqlError> {
        let c = self.on("a");
        let now = self.table(
            vec!["phase", "n"],
            Combine::Sum(1),
            &format!(
                "SELECT a.phase, count(*) FROM rpt_accounts a INDEXED BY rpt_accounts_phase WHERE {} GROUP BY 1",
                c.sql
            ),
            &c.params,
        )?;
        let (from, to) = self.filter.period_dates();
        let e = self
            .on("a")
            .and("a.ended_phase IS NOT NULL AND a.ended_on BETWEEN ? AND ?", [Value::Text(from), Value::Text(to)]);
        let ended = self.table(
            vec!["phase", "n"],
            Combine::Sum(1),
            &format!(
                "SELECT a.ended_phase, count(*) FROM rpt_accounts a INDEXED BY rpt_accounts_ended WHERE {} GROUP BY 1",
                e.sql
            ),
            &e.params,
        )?;
        let rows = LifecyclePhase::ALL
            .iter()
            .map(|p| {
                let find = |t: &Table| {
                    t.rows.iter().find(|row| row[0] == p.as_str()).map_or(Json::from(0), |row| row[1].clone())
                };
                vec![Json::from(p.as_str()), find(&now), find(&ended)]
            })
            .collect();
        Ok(Table { columns: vec!["phase", "accounts", "ended"], rows, total: None })
    }

    /// Active key accounts with no held interaction in `days` (default 30),
    /// the longest untouched first.
    fn key_accounts_at_risk(&self) -> Result<Table, SqlError> {
        let (now, _, _) = today_ms(self.now);
        let since = now - i64::from(self.filter.days.unwrap_or(DEFAULT_RISK_DAYS)) * DAY_MS;
        let c = self.on("a").and(
            "a.tier = 'key' AND a.status = 'active' AND (a.last_touch IS NULL OR a.last_touch < ?)",
            [Value::Integer(since)],
        );
        let select = format!(
            "SELECT a.doc_id, a.name, a.owner, a.last_touch FROM rpt_accounts a INDEXED BY rpt_accounts_risk WHERE {}
             ORDER BY a.last_touch NULLS FIRST, a.name, a.doc_id LIMIT ? OFFSET ?",
            c.sql
        );
        let count = format!("SELECT count(*) FROM rpt_accounts a INDEXED BY rpt_accounts_risk WHERE {}", c.sql);
        let params = c.params.clone();
        let columns = vec!["account_id", "account", "owner", "last_touch_ms"];
        let paged = Paged { table: "rpt_accounts", order: &[(3, false), (1, false), (0, false)] };
        self.page(columns, paged, (&select, params), (&count, &c.params))
    }

    /// Fields of visible accounts holding concurrent values, newest first: how
    /// many values, the one shown while the conflict stands, and every value
    /// with who wrote it, on which device and when.
    fn open_conflicts(&self) -> Result<Table, SqlError> {
        let c = self.at_in_period(self.on("c"), "c.newest_at");
        let select = format!(
            "SELECT c.doc_id, c.name, c.owner, c.field, c.n_values, c.shown, c.value_list, c.newest_at
             FROM (SELECT c.doc_id, c.field FROM rpt_conflicts c INDEXED BY rpt_conflicts_newest WHERE {}
                   ORDER BY c.newest_at DESC, c.doc_id, c.field LIMIT ? OFFSET ?) p
             JOIN rpt_conflicts c ON c.doc_id = p.doc_id AND c.field = p.field
             ORDER BY c.newest_at DESC, c.doc_id, c.field",
            c.sql
        );
        let count = format!("SELECT count(*) FROM rpt_conflicts c INDEXED BY rpt_conflicts_newest WHERE {}", c.sql);
        let params = c.params.clone();
        let columns =
            vec!["account_id", "account", "owner", "field", "value_count", "shown_value", "values", "newest_ms"];
        let paged = Paged { table: "rpt_conflicts", order: &[(7, true), (0, false), (3, false)] };
        let mut t = self.page(columns, paged, (&select, params), (&count, &c.params))?;
        for row in &mut t.rows {
            if let Some(text) = row[6].as_str() {
                row[6] = serde_json::from_str(text).unwrap_or_else(|_| Json::from(text));
            }
        }
        Ok(t)
    }
}

/// Adds `column` in `[from, to)`; unbounded sides (`i64::MIN`, `i64::MAX`) add nothing.
fn between(mut cond: Cond, column: &str, from: i64, to: i64) -> Cond {
    if from != i64::MIN {
        cond = cond.and(&format!("{column} >= ?"), [Value::Integer(from)]);
    }
    if to != i64::MAX {
        cond = cond.and(&format!("{column} < ?"), [Value::Integer(to)]);
    }
    cond
}

/// Turns positional `?` into `?N`, `?N+1`, … (to mix with numbered parameters).
fn numbered(sql: &str, first: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = first;
    for ch in sql.chars() {
        if ch == '?' {
            out.push_str(&format!("?{n}"));
            n += 1;
        } else {
            out.push(ch);
        }
    }
    out
}

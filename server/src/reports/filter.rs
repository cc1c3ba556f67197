//! What a report is asked for: the caller's scope and the filters of the
//! query string, validated before any figure is computed, and turned into a
//! SQL condition over any reporting table (each carries its account's scope).

use std::collections::HashMap;

use rusqlite::types::Value;
use time::{Date, OffsetDateTime, Time};

use super::known::Known;
use super::sql::{Dialect, ReportDb, SqlError};
use crate::access::{Role, Subject};

/// A filter the caller got wrong; the message names the parameter, never data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{param}`: {reason}")]
pub struct BadFilter {
    pub param: &'static str,
    pub reason: &'static str,
}

/// Longest day count accepted for `days` (about 27 years).
const MAX_DAYS: u32 = 10_000;
/// Most rows one page of a per-row report may ask for.
pub const MAX_LIMIT: u32 = 10_000;
/// Largest `offset` accepted.
const MAX_OFFSET: u64 = 1_000_000_000;
const PARAMS: [&str; 10] = ["team", "rep", "territory", "from", "to", "days", "format", "limit", "offset", "known_at"];
pub(crate) use super::index::DAY_MS;

/// The filters of one report request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub team: Option<String>,
    /// The account owner.
    pub rep: Option<String>,
    pub territory: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// `days` for the reports that take a number of days.
    pub days: Option<u32>,
    /// Rows of a per-row report to return (`None`: all of them).
    pub limit: Option<u32>,
    /// Rows of a per-row report to skip first.
    pub offset: Option<u64>,
    /// The instant whose knowledge the figures show (`None`: now).
    pub known_at: Option<OffsetDateTime>,
}

impl Filter {
    /// Parses the query string. Unknown parameters are refused, so a typo
    /// never silently widens a report.
    pub fn parse(query: &HashMap<String, String>) -> Result<Filter, BadFilter> {
        if query.keys().any(|k| !PARAMS.contains(&k.as_str())) {
            return Err(BadFilter {
                param: "query",
                reason: "unknown parameter (accepted: team, rep, territory, from, to, days, format, limit, offset, known_at)",
            });
        }
        let text = |k: &'static str| -> Result<Option<String>, BadFilter> {
            match query.get(k).map(|v| v.trim()) {
                None => Ok(None),
                Some("") => Err(BadFilter { param: k, reason: "must not be empty" }),
                Some(v) => Ok(Some(v.to_owned())),
            }
        };
        let date = |k: &'static str| -> Result<Option<Date>, BadFilter> {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            query
                .get(k)
                .map(|v| Date::parse(v.trim(), format))
                .transpose()
                .map_err(|_| BadFilter { param: k, reason: "expected a date as YYYY-MM-DD" })
        };
        let days = match query.get("days") {
            None => None,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_DAYS).contains(&n) => Some(n),
                _ => {
                    return Err(BadFilter { param: "days", reason: "expected a whole number of days from 1 to 10000" });
                }
            },
        };
        let limit = match query.get("limit") {
            None => None,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => {
                    return Err(BadFilter {
                        param: "limit",
                        reason: "expected a whole number of rows from 1 to 10000",
                    });
                }
            },
        };
        let offset = match query.get("offset") {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= MAX_OFFSET => Some(n),
                _ => {
                    return Err(BadFilter {
                        param: "offset",
                        reason: "expected a whole number of rows to skip from 0 to 1000000000",
                    });
                }
            },
        };
        let known_at = match query.get("known_at") {
            None => None,
            Some(v) => {
                Some(OffsetDateTime::parse(v.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
                    BadFilter {
                        param: "known_at",
                        reason: "expected an instant as RFC 3339, such as 2026-10-05T09:00:00Z",
                    }
                })?)
            }
        };
        let filter = Filter {
            team: text("team")?,
            rep: text("rep")?,
            territory: text("territory")?,
            from: date("from")?,
            to: date("to")?,
            days,
            limit,
            offset,
            known_at,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(BadFilter { param: "from", reason: "the period starts after it ends (`from` > `to`)" });
        }
        Ok(filter)
    }

    /// Refuses a team or rep the server does not know, or a `known_at`
    /// before the server kept figures as known; otherwise the state of the
    /// log `known_at` names (`None`: now).
    pub(crate) fn check<D: ReportDb + ?Sized>(&self, conn: &D) -> Result<Result<Option<Known>, BadFilter>, SqlError> {
        if let Err(bad) = self.check_known(conn)? {
            return Ok(Err(bad));
        }
        match self.known_at {
            None => Ok(Ok(None)),
            Some(at) => Ok(super::known::resolve(conn, at)?.map(Some)),
        }
    }

    /// The instant the figures are as of: `known_at`, or now.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.known_at.unwrap_or_else(OffsetDateTime::now_utc)
    }

    /// Refuses a team or rep the server does not know.
    fn check_known<D: ReportDb + ?Sized>(&self, conn: &D) -> Result<Result<(), BadFilter>, SqlError> {
        let exists = |sql: &str, v: &str| -> Result<bool, SqlError> {
            Ok(!conn.rows(1, sql, &[Value::Text(v.to_owned())])?.is_empty())
        };
        if let Some(team) = &self.team
            && !exists("SELECT 1 FROM teams WHERE name = ?1", team)?
        {
            return Ok(Err(BadFilter { param: "team", reason: "no such team" }));
        }
        if let Some(rep) = &self.rep
            && !exists("SELECT 1 FROM users WHERE name = ?1", rep)?
        {
            return Ok(Err(BadFilter { param: "rep", reason: "no such user" }));
        }
        Ok(Ok(()))
    }

    /// The period as `[start, end)` in milliseconds (unbounded sides as extremes).
    pub(crate) fn period_ms(&self) -> (i64, i64) {
        let ms = |d: Date| crate::reports::index::millis(d.with_time(Time::MIDNIGHT).assume_utc());
        (self.from.map_or(i64::MIN, ms), self.to.map_or(i64::MAX, |d| ms(d) + DAY_MS))
    }

    /// The period as inclusive `YYYY-MM-DD` bounds (for date columns).
    pub(crate) fn period_dates(&self) -> (String, String) {
        (
            self.from.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()),
            self.to.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string()),
        )
    }
}

/// A SQL condition over a reporting table with its positional (`?`) parameters.
#[derive(Debug, Clone)]
pub(crate) struct Cond {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Cond {
    /// Rows of visible accounts in the subject's scope that pass the filter,
    /// over any table aliased `alias` that carries the account's `hidden`,
    /// `owner`, `team` and `territory` columns.
    pub(crate) fn on(dialect: Dialect, alias: &str, subject: &Subject, filter: &Filter) -> Cond {
        let mut sql = format!("{alias}.hidden = {}", dialect.flag(false));
        let mut params = Vec::new();
        if !subject.sees_everything() {
            let (column, set) = match subject.role {
                Role::Manager => ("team", &subject.teams),
                _ => ("territory", &subject.territories),
            };
            sql.push_str(&format!(" AND ({alias}.owner = ?"));
            params.push(Value::Text(subject.user.clone()));
            if !set.is_empty() {
                sql.push_str(&format!(" OR {alias}.{column} IN ({})", vec!["?"; set.len()].join(", ")));
                params.extend(set.iter().map(|s| Value::Text(s.clone())));
            }
            sql.push(')');
        }
        Cond { sql, params }.filtered(alias, filter)
    }

    /// For a caller whose scope is own ∪ territories (a rep with
    /// territories): the rows of those territories that are not the caller's
    /// own, passing the filter. With the caller's own rows (`on` with the
    /// same user and no territories) it makes the whole scope, every row
    /// once; unlike the whole scope, each part can be read through an index
    /// or a rollup. `None` for every other caller.
    pub(crate) fn others_in_territories(
        dialect: Dialect,
        alias: &str,
        subject: &Subject,
        filter: &Filter,
    ) -> Option<Cond> {
        if subject.sees_everything() || subject.role == Role::Manager || subject.territories.is_empty() {
            return None;
        }
        let set = vec!["?"; subject.territories.len()].join(", ");
        let sql = format!(
            "{alias}.hidden = {} AND {alias}.territory IN ({set}) AND ({alias}.owner IS NULL OR {alias}.owner != ?)",
            dialect.flag(false)
        );
        let mut params: Vec<Value> = subject.territories.iter().map(|t| Value::Text(t.clone())).collect();
        params.push(Value::Text(subject.user.clone()));
        Some(Cond { sql, params }.filtered(alias, filter))
    }

    /// Adds the filter's team, rep (owner) and territory.
    fn filtered(mut self, alias: &str, filter: &Filter) -> Cond {
        for (column, value) in [("team", &filter.team), ("owner", &filter.rep), ("territory", &filter.territory)] {
            if let Some(v) = value {
                self.sql.push_str(&format!(" AND {alias}.{column} = ?"));
                self.params.push(Value::Text(v.clone()));
            }
        }
        self
    }

    /// Adds `AND <sql>` with its parameters.
    pub(crate) fn and(mut self, sql: &str, params: impl IntoIterator<Item = Value>) -> Cond {
        self.sql.push_str(" AND ");
        self.sql.push_str(sql);
        self.params.extend(params);
        self
    }
}

/// Now, and today's `[start, end)` in milliseconds (UTC).
pub(crate) fn today_ms(now: OffsetDateTime) -> (i64, i64, i64) {
    let start = crate::reports::index::millis(now.date().with_time(Time::MIDNIGHT).assume_utc());
    (crate::reports::index::millis(now), start, start + DAY_MS)
}

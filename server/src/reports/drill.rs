//! The rows behind a report's figure (issue 16): the deals, accounts or
//! interactions a figure counts, for the dashboard's drill-downs and its
//! per-rep page. Each takes the report filters and `by` (which figure) with
//! its `key`, applies the same scope, filters and period as the report it
//! drills into, and answers `{"report", "columns", "rows"}` with at most
//! [`MAX_ROWS`] rows.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use rusqlite::types::Value;
use serde::Serialize;
use serde_json::{Value as JsonValue, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::filter::{BadFilter, Cond, Filter};
use super::queries::Table;
use super::routes::{Filters, Format, Output, format_of, parse_query, spreadsheet};
use super::sql::Dialect;
use crate::AppState;
use crate::access::Subject;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;

/// Most rows one drill-down lists.
pub(crate) const MAX_ROWS: i64 = 1000;
/// Longest `key` accepted.
const MAX_KEY_LEN: usize = 64;

/// The columns of a deal drill-down.
const DEAL_COLUMNS: [&str; 13] = [
    "account_id",
    "account",
    "deal_id",
    "title",
    "amount_minor",
    "currency",
    "stage",
    "probability",
    "expected_close",
    "next_step",
    "owner",
    "last_touch_ms",
    "lost_reason",
];
const DEAL_SELECT: &str = "d.doc_id, d.name, d.deal_id, coalesce(d.title, ''), d.amount_minor, d.currency, d.stage,
     d.probability, d.expected_close, d.next_step, d.owner, d.last_touch, d.lost_reason";

const ACCOUNT_COLUMNS: [&str; 9] =
    ["account_id", "account", "owner", "phase", "rung", "tier", "last_touch_ms", "ended_on", "end_reason"];
const ACCOUNT_SELECT: &str =
    "a.doc_id, a.name, a.owner, a.phase, a.rung, a.tier, a.last_touch, a.ended_on, a.end_reason";

const INTERACTION_COLUMNS: [&str; 7] = ["account_id", "account", "interaction_id", "rep", "kind", "status", "at_ms"];

/// Which deals a deal drill-down lists.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DealsBy {
    /// Deals in stage `key` (the `stages` report; period: expected close).
    Stage,
    /// Deals in forecast category `key` (the `forecast` report; period: expected close).
    Forecast,
    /// Open deals (the `pipeline` report; period: expected close).
    Open,
    /// Deals won in the period (the `win-rate` report; period: last stage change).
    Won,
    /// Deals lost in the period, with reason `key` if given (`""`: none)
    /// (`win-rate`, `lost-reasons`; period: last stage change).
    Lost,
    /// Open deals whose expected close has passed (`overdue-deals`; period: expected close).
    Overdue,
    /// Deals moved from stage `key` to stage `to_stage` in the period (`stage-conversion`).
    Moved,
}

impl DealsBy {
    fn parse(s: &str) -> Option<DealsBy> {
        Some(match s {
            "stage" => DealsBy::Stage,
            "forecast" => DealsBy::Forecast,
            "open" => DealsBy::Open,
            "won" => DealsBy::Won,
            "lost" => DealsBy::Lost,
            "overdue" => DealsBy::Overdue,
            "moved" => DealsBy::Moved,
            _ => return None,
        })
    }
}

/// Which accounts an account drill-down lists.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AccountsBy {
    /// Accounts in lifecycle phase `key` (the `lifecycle` report).
    Phase,
    /// Accounts on loyalty rung `key` (the `ladder` report).
    Rung,
    /// Relationships ended in the period in phase `key` (the `lifecycle` report).
    EndedPhase,
    /// Relationships ended in the period for reason `key` (the `lost-reasons` report).
    EndReason,
}

impl AccountsBy {
    fn parse(s: &str) -> Option<AccountsBy> {
        Some(match s {
            "phase" => AccountsBy::Phase,
            "rung" => AccountsBy::Rung,
            "ended-phase" => AccountsBy::EndedPhase,
            "end-reason" => AccountsBy::EndReason,
            _ => return None,
        })
    }
}

/// Which interactions an interaction drill-down lists.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum InteractionsBy {
    /// Planned interactions of rep `key`, whatever the period (the `rep-summary` report).
    Planned,
    /// Interactions of rep `key` held in the period (the `rep-activity` report).
    Held,
}

impl InteractionsBy {
    fn parse(s: &str) -> Option<InteractionsBy> {
        Some(match s {
            "planned" => InteractionsBy::Planned,
            "held" => InteractionsBy::Held,
            _ => return None,
        })
    }
}

/// The figure a deal drill-down lists the deals of.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `deals` reads it.
struct DealsQuery {
    /// Which figure (see the values).
    #[param(inline)]
    by: DealsBy,
    /// The stage, forecast category or lost reason (`by=stage`, `forecast`,
    /// `lost`, `moved`): 0 to 64 characters; required but for `open`, `won`,
    /// `overdue` and `lost`.
    #[param(max_length = 64)]
    key: Option<String>,
    /// The stage moved to (`by=moved`, required there).
    #[param(min_length = 1, max_length = 64, pattern = r"\S")]
    to_stage: Option<String>,
}

/// The figure an account drill-down lists the accounts of.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `accounts` reads it.
struct AccountsQuery {
    /// Which figure (see the values).
    #[param(inline)]
    by: AccountsBy,
    /// The phase, rung or end reason: 1 to 64 characters.
    #[param(min_length = 1, max_length = 64, pattern = r"\S")]
    key: String,
}

/// The rep an interaction drill-down lists the interactions of.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `interactions` reads it.
struct InteractionsQuery {
    /// Planned (whatever the period) or held (in the period).
    #[param(inline)]
    by: InteractionsBy,
    /// The rep (who holds the interaction): 1 to 64 characters.
    #[param(min_length = 1, max_length = 64, pattern = r"\S")]
    key: String,
}

/// The drill-down routes (behind the bearer-token middleware).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deals)).routes(routes!(accounts)).routes(routes!(interactions))
}

/// Takes the drill-down's own parameters out of the query; what is left are the filters.
struct Own {
    by: String,
    key: Option<String>,
    to_stage: Option<String>,
}

fn own(query: &mut HashMap<String, String>, with_to_stage: bool) -> Result<Own, BadFilter> {
    let by = query.remove("by").ok_or(BadFilter { param: "by", reason: "required" })?;
    let key = query.remove("key").map(|k| k.trim().to_owned());
    if key.as_ref().is_some_and(|k| k.chars().count() > MAX_KEY_LEN) {
        return Err(BadFilter { param: "key", reason: "longer than 64 characters" });
    }
    let to_stage = if with_to_stage { query.remove("to_stage").map(|k| k.trim().to_owned()) } else { None };
    if to_stage.as_ref().is_some_and(|k| k.is_empty() || k.chars().count() > MAX_KEY_LEN) {
        return Err(BadFilter { param: "to_stage", reason: "expected a stage id of 1 to 64 characters" });
    }
    if ["days", "limit", "offset"].iter().any(|k| query.contains_key(*k)) {
        return Err(BadFilter {
            param: "query",
            reason: "unknown parameter (accepted: by, key, to_stage, team, rep, territory, from, to, known_at, format)",
        });
    }
    Ok(Own { by: by.trim().to_owned(), key, to_stage })
}

fn required(key: Option<String>) -> Result<String, BadFilter> {
    match key {
        Some(k) if !k.is_empty() => Ok(k),
        _ => Err(BadFilter { param: "key", reason: "required for this `by`" }),
    }
}

/// `GET /v1/reports/deals?by=…&key=…`: the deals behind one figure.
///
/// The deals a report's figure counts, with the same scope, filters and
/// period: title, amount, stage, probability, expected close, next step,
/// owner, last touch (held interaction on the account) and lost reason. At
/// most 1000, ordered by account name, account and deal id.
#[utoipa::path(
    get,
    path = "/v1/reports/deals",
    tag = "reports",
    operation_id = "drillDeals",
    params(DealsQuery, Filters, Output),
    responses(
        (status = 200, description = "The deals, as `{\"report\", \"columns\", \"rows\"}`; with `format=csv` or `xlsx` a spreadsheet (amounts in major units beside their currency).",
            content((Object = "application/json"), (String = "text/csv; charset=utf-8"),
                    (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "A bad parameter, named in the message (`bad_request`).", body = ErrorBody),
    )
)]
async fn deals(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let mut query = parse_query(query)?;
    let format = format_of(&query)?;
    let own = own(&mut query, true)?;
    let by = DealsBy::parse(&own.by)
        .ok_or(BadFilter { param: "by", reason: "expected stage, forecast, open, won, lost, overdue or moved" })?;
    let key = match by {
        DealsBy::Stage | DealsBy::Forecast | DealsBy::Moved => Some(required(own.key)?),
        DealsBy::Lost => own.key,
        DealsBy::Open | DealsBy::Won | DealsBy::Overdue => None,
    };
    let to_stage = match (by, own.to_stage) {
        (DealsBy::Moved, Some(t)) => Some(t),
        (DealsBy::Moved, None) => return Err(BadFilter { param: "to_stage", reason: "required for by=moved" }.into()),
        (_, Some(_)) => return Err(BadFilter { param: "to_stage", reason: "only for by=moved" }.into()),
        (_, None) => None,
    };
    let filter = Filter::parse(&query)?;
    let rows = run(&state, principal, filter, move |dialect, subject, filter| {
        let c = deals_where(dialect, subject, filter, by, key.as_deref(), to_stage.as_deref());
        let sql = format!("SELECT {DEAL_SELECT} FROM rpt_deals d WHERE {} ORDER BY d.name, d.doc_id, d.deal_id", c.sql);
        Cond { sql, ..c }
    })
    .await?;
    respond("deals", &DEAL_COLUMNS, rows, format)
}

/// The condition over `rpt_deals d` of a deal drill-down.
fn deals_where(
    dialect: Dialect,
    subject: &Subject,
    filter: &Filter,
    by: DealsBy,
    key: Option<&str>,
    to: Option<&str>,
) -> Cond {
    let text = |s: &str| Value::Text(s.to_owned());
    let on = Cond::on(dialect, "d", subject, filter);
    let close = |c: Cond| -> Cond {
        if filter.from.is_none() && filter.to.is_none() {
            return c;
        }
        let (from, to) = filter.period_dates();
        c.and("d.expected_close BETWEEN ? AND ?", [Value::Text(from), Value::Text(to)])
    };
    let changed = |c: Cond| -> Cond {
        let (from, to) = filter.period_ms();
        between(c, "d.stage_changed_at", from, to)
    };
    match by {
        DealsBy::Stage => close(on.and("d.stage = ?", [text(key.unwrap_or_default())])),
        DealsBy::Forecast => {
            close(on.and("d.forecast = ? AND d.forecast != 'omitted'", [text(key.unwrap_or_default())]))
        }
        DealsBy::Open => close(on.and("d.outcome = 'open'", [])),
        DealsBy::Won => changed(on.and("d.outcome = 'won'", [])),
        DealsBy::Lost => {
            let c = changed(on.and("d.outcome = 'lost'", []));
            match key {
                Some(reason) => c.and("coalesce(d.lost_reason, '') = ?", [text(reason)]),
                None => c,
            }
        }
        DealsBy::Overdue => {
            let today = filter.now().date().to_string();
            close(on.and("d.outcome = 'open' AND d.expected_close < ?", [Value::Text(today)]))
        }
        DealsBy::Moved => {
            let (from, until) = filter.period_ms();
            let mut moves = Cond {
                sql: "s.doc_id = d.doc_id AND s.deal_id = d.deal_id AND coalesce(s.from_stage, '') = ? AND s.to_stage = ?"
                    .to_owned(),
                params: vec![text(key.unwrap_or_default()), text(to.unwrap_or_default())],
            };
            moves = between(moves, "s.at", from, until);
            let exists = format!("EXISTS (SELECT 1 FROM rpt_stage_moves s WHERE {})", moves.sql);
            on.and(&exists, moves.params)
        }
    }
}

/// `GET /v1/reports/accounts?by=…&key=…`: the accounts behind one figure.
///
/// The accounts a figure of `lifecycle`, `ladder` or `lost-reasons` counts,
/// with the same scope, filters and period: owner, phase, rung, tier, last
/// touch, and when and why the relationship ended. At most 1000, by name.
#[utoipa::path(
    get,
    path = "/v1/reports/accounts",
    tag = "reports",
    operation_id = "drillAccounts",
    params(AccountsQuery, Filters, Output),
    responses(
        (status = 200, description = "The accounts, as `{\"report\", \"columns\", \"rows\"}`; with `format=csv` or `xlsx` a spreadsheet (amounts in major units beside their currency).",
            content((Object = "application/json"), (String = "text/csv; charset=utf-8"),
                    (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "A bad parameter, named in the message (`bad_request`).", body = ErrorBody),
    )
)]
async fn accounts(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let mut query = parse_query(query)?;
    let format = format_of(&query)?;
    let own = own(&mut query, false)?;
    let by = AccountsBy::parse(&own.by)
        .ok_or(BadFilter { param: "by", reason: "expected phase, rung, ended-phase or end-reason" })?;
    let key = required(own.key)?;
    let filter = Filter::parse(&query)?;
    let rows = run(&state, principal, filter, move |dialect, subject, filter| {
        let on = Cond::on(dialect, "a", subject, filter);
        let (from, to) = filter.period_dates();
        let ended = [Value::Text(from), Value::Text(to), Value::Text(key.clone())];
        let c = match by {
            AccountsBy::Phase => on.and("a.phase = ?", [Value::Text(key.clone())]),
            AccountsBy::Rung => on.and("a.rung = ?", [Value::Text(key.clone())]),
            AccountsBy::EndedPhase => on.and("a.ended_on BETWEEN ? AND ? AND a.ended_phase = ?", ended),
            AccountsBy::EndReason => on.and("a.ended_on BETWEEN ? AND ? AND a.end_reason = ?", ended),
        };
        Cond {
            sql: format!("SELECT {ACCOUNT_SELECT} FROM rpt_accounts a WHERE {} ORDER BY a.name, a.doc_id", c.sql),
            ..c
        }
    })
    .await?;
    respond("accounts", &ACCOUNT_COLUMNS, rows, format)
}

/// `GET /v1/reports/interactions?by=planned|held&key=REP`: one rep's interactions.
///
/// A rep's planned interactions (every one, oldest first: the overdue, today's
/// and later ones `rep-summary` counts) or the interactions they held in the
/// period (`rep-activity`), on accounts in the caller's scope that pass the
/// filters. At most 1000.
#[utoipa::path(
    get,
    path = "/v1/reports/interactions",
    tag = "reports",
    operation_id = "drillInteractions",
    params(InteractionsQuery, Filters, Output),
    responses(
        (status = 200, description = "The interactions, as `{\"report\", \"columns\", \"rows\"}`; with `format=csv` or `xlsx` a spreadsheet (amounts in major units beside their currency).",
            content((Object = "application/json"), (String = "text/csv; charset=utf-8"),
                    (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "A bad parameter, named in the message (`bad_request`).", body = ErrorBody),
    )
)]
async fn interactions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let mut query = parse_query(query)?;
    let format = format_of(&query)?;
    let own = own(&mut query, false)?;
    let by = InteractionsBy::parse(&own.by).ok_or(BadFilter { param: "by", reason: "expected planned or held" })?;
    let rep = required(own.key)?;
    let filter = Filter::parse(&query)?;
    let rows = run(&state, principal, filter, move |dialect, subject, filter| {
        let on = Cond::on(dialect, "i", subject, filter).and("i.rep = ?", [Value::Text(rep.clone())]);
        let (c, order) = match by {
            InteractionsBy::Planned => (on.and("i.status = 'planned'", []), "i.at, i.doc_id, i.interaction_id"),
            InteractionsBy::Held => {
                let (from, to) = filter.period_ms();
                (between(on.and("i.status = 'held'", []), "i.at", from, to), "i.at DESC, i.doc_id, i.interaction_id")
            }
        };
        Cond {
            sql: format!(
                "SELECT i.doc_id, coalesce((SELECT a.name FROM rpt_accounts a WHERE a.doc_id = i.doc_id), ''),
                        i.interaction_id, i.rep, i.kind, i.status, i.at
                 FROM rpt_interactions i WHERE {} ORDER BY {order}",
                c.sql
            ),
            ..c
        }
    })
    .await?;
    respond("interactions", &INTERACTION_COLUMNS, rows, format)
}

/// Checks the filter, then runs the `SELECT` that `sql` builds (at most
/// [`MAX_ROWS`] rows), as known at `known_at` if the filter names one.
async fn run(
    state: &AppState,
    principal: Principal,
    filter: Filter,
    sql: impl FnOnce(Dialect, &Subject, &Filter) -> Cond + Send + 'static,
) -> Result<Vec<Vec<JsonValue>>, ApiError> {
    let rows = state
        .backend()
        .reports(principal, move |db, subject| {
            let known = match filter.check(db)? {
                Ok(known) => known,
                Err(bad) => return Ok(Err(bad)),
            };
            let c = sql(db.dialect(), subject, &filter);
            let select = format!("{} LIMIT {MAX_ROWS}", c.sql);
            let select = known.map_or(select.clone(), |k| super::known::rewrite(&select, k, super::known::Rows::Valid));
            Ok(Ok(db.rows(usize::MAX, &select, &c.params)?))
        })
        .await??;
    Ok(rows)
}

/// The rows as JSON, or as a CSV or XLSX download (amounts in major units).
fn respond(
    name: &'static str,
    columns: &[&'static str],
    rows: Vec<Vec<JsonValue>>,
    format: Format,
) -> Result<Response, ApiError> {
    if matches!(format, Format::Json) {
        return Ok(Json(answer(name, columns, rows)).into_response());
    }
    spreadsheet(name, &Table { columns: columns.to_vec(), rows, total: None }, format)
}

fn answer(name: &str, columns: &[&str], rows: Vec<Vec<JsonValue>>) -> JsonValue {
    let rows: Vec<JsonValue> = rows
        .into_iter()
        .map(|row| JsonValue::Object(columns.iter().map(|c| c.to_string()).zip(row).collect()))
        .collect();
    json!({ "report": name, "columns": columns, "rows": rows })
}

/// Adds `column` in `[from, to)`; unbounded sides add nothing.
fn between(mut c: Cond, column: &str, from: i64, to: i64) -> Cond {
    if from != i64::MIN {
        c = c.and(&format!("{column} >= ?"), [Value::Integer(from)]);
    }
    if to != i64::MAX {
        c = c.and(&format!("{column} < ?"), [Value::Integer(to)]);
    }
    c
}

//! `/v1/reports/…`: every report as JSON (`{"report", "columns", "rows"}`),
//! CSV (`?format=csv`) or an Excel workbook (`?format=xlsx`), an account's history, the log head and a
//! Server-Sent Events stream that fires when it moves. Each report has its
//! own route and description (`reports!` below), with the query parameters
//! it takes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::filter::{BadFilter, Filter};
use super::queries::{self, Table};
use super::sheet::sheet;
use super::sql::{Dialect, ReportDb, SqlError};
use crate::AppState;
use crate::auth::Principal;
use crate::db::audit::AuditEntry;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use time::format_description::well_known::Rfc3339;

/// The number of rows a per-row report has, on its CSV or XLSX export.
const TOTAL_HEADER: &str = "x-total-count";
const NOT_PAGINATED: &str = "only the per-row reports are paginated \
                             (stale-deals, overdue-deals, contact-depth, key-accounts-at-risk, open-conflicts, late-edits)";
/// The media type of an Excel workbook.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Most audit rows listed with an account's history.
const HISTORY_AUDIT_ROWS: u32 = 1000;

/// The filters every report and the dashboard's drill-down take
/// (`Filter::parse` reads them from the query string).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `Filter::parse` reads it.
pub(crate) struct Filters {
    /// Only accounts of this team (it must exist).
    #[param(min_length = 1, pattern = r"\S")]
    team: Option<String>,
    /// Only accounts owned by this user (it must exist).
    #[param(min_length = 1, pattern = r"\S")]
    rep: Option<String>,
    /// Only accounts in this territory.
    #[param(min_length = 1, pattern = r"\S")]
    territory: Option<String>,
    /// Start of the period (YYYY-MM-DD, inclusive; not after `to`).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// End of the period (YYYY-MM-DD, inclusive).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// The figures as the server knew them at this instant (RFC 3339, such
    /// as `2026-10-05T09:00:00Z`; default: now): from the changes it had
    /// received by then. "Today" (overdue deals, key accounts at risk) is
    /// that instant's day. Refused for an instant before the server began
    /// keeping figures as they were known (its upgrade to release 0.2).
    #[param(value_type = Option<String>, format = DateTime)]
    known_at: Option<String>,
}

/// The filters of the late-edits report: the period's end is required.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `Filter::parse` reads it.
pub(crate) struct LateFilters {
    /// Only accounts of this team (it must exist).
    #[param(min_length = 1, pattern = r"\S")]
    team: Option<String>,
    /// Only accounts owned by this user (it must exist).
    #[param(min_length = 1, pattern = r"\S")]
    rep: Option<String>,
    /// Only accounts in this territory.
    #[param(min_length = 1, pattern = r"\S")]
    territory: Option<String>,
    /// Start of the period (YYYY-MM-DD, inclusive; not after `to`): changes made from then on.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// End of the period (YYYY-MM-DD, inclusive): changes made until its end and received after it.
    #[param(value_type = String, format = Date)]
    to: String,
    /// Only the changes the server had received by this instant (RFC 3339; default: now).
    #[param(value_type = Option<String>, format = DateTime)]
    known_at: Option<String>,
}

/// How a report is asked to be answered.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; the report handlers read it.
pub(crate) struct Output {
    /// `json` (the default; amounts in minor units, instants in milliseconds),
    /// or for a spreadsheet `csv` (UTF-8 with a byte-order mark) or `xlsx`:
    /// amounts in major units beside their currency, instants as UTC times.
    #[param(inline)]
    format: Option<Format>,
}

/// How a report is answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Json,
    Csv,
    Xlsx,
}

/// The page of a per-row report.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `Filter::parse` reads it.
struct Page {
    /// Rows to return (default 100 as JSON; every row as CSV unless given).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
    /// Rows to skip first.
    #[param(minimum = 0, maximum = 1000000000)]
    offset: Option<u64>,
}

/// The reports that take a number of days.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string; `Filter::parse` reads it.
struct Days {
    /// A number of days (see the report).
    #[param(minimum = 1, maximum = 10000)]
    days: Option<u32>,
}

/// A report as JSON.
#[derive(Debug, Serialize, ToSchema)]
struct Report {
    /// The report's name.
    report: String,
    /// The column names, in order.
    columns: Vec<String>,
    /// One object per row, keyed by column.
    rows: Vec<std::collections::BTreeMap<String, Value>>,
    /// Per-row reports only: rows of the whole report.
    total: Option<u64>,
    /// Per-row reports only: the page size asked for (null: every row).
    limit: Option<u32>,
    /// Per-row reports only: rows skipped before the page.
    offset: Option<u64>,
}

/// Declares one handler per report, each with its route and description.
macro_rules! reports {
    ($( $handler:ident $name:tt $path:tt ( $($params:ty),* ) $description:tt; )*) => {
        $(
            #[utoipa::path(
                get,
                path = $path,
                tag = "reports",
                description = $description,
                params($($params),*),
                responses(
                    (status = 200, description = "The report, as JSON, CSV (`format=csv`) or XLSX (`format=xlsx`, a download).",
                        content((Report = "application/json"), (String = "text/csv; charset=utf-8"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
                        headers(("X-Total-Count" = u64, description = "CSV or XLSX of a per-row report: rows of the whole report."))),
                    (status = 400, description = "A bad parameter, named in the message (`bad_request`): an unknown parameter, an empty or unknown team or rep, a bad date or number, `from` after `to`.", body = ErrorBody),
                )
            )]
            async fn $handler(
                state: State<AppState>,
                principal: Extension<Principal>,
                query: Result<Query<HashMap<String, String>>, QueryRejection>,
            ) -> Result<Response, ApiError> {
                report(state, principal, $name, query).await
            }
        )*

        /// The report routes (behind the bearer-token middleware).
        pub(crate) fn routes() -> OpenApiRouter<AppState> {
            OpenApiRouter::new()
                $(.routes(routes!($handler)))*
                .routes(routes!(version))
                .routes(routes!(events))
                .routes(routes!(history))
        }
    };
}

reports! {
    pipeline "pipeline" "/v1/reports/pipeline" (Filters, Output)
        "Weighted pipeline per currency: open deals, Σ amount, Σ amount × probability / 100 (minor units). Period: expected close.";
    stages "stages" "/v1/reports/stages" (Filters, Output)
        "Deals per stage and currency: count and Σ amount. Period: expected close.";
    forecast "forecast" "/v1/reports/forecast" (Filters, Output)
        "Deals per forecast category and currency (omitted excluded): count and Σ amount. Period: expected close.";
    win_rate "win-rate" "/v1/reports/win-rate" (Filters, Output)
        "Won, lost and won / (won + lost) of deals closed in the period (closing = last stage change).";
    stage_conversion "stage-conversion" "/v1/reports/stage-conversion" (Filters, Output)
        "Stage moves from → to in the period, deals that entered the from-stage, and the rate.";
    stale_deals "stale-deals" "/v1/reports/stale-deals" (Filters, Output, Days, Page)
        "Open deals with no stage change for longer than their stage's threshold (prospecting 30, qualification 30, proposal 21, negotiation 14 days), or with `days`, on accounts with no held interaction for that many days. Ordered by the last stage change (oldest first), then account and deal id. Paginated: see `limit` and `offset`; the JSON body adds `total`, `limit` and `offset`, the CSV answer the header `X-Total-Count`.";
    overdue_deals "overdue-deals" "/v1/reports/overdue-deals" (Filters, Output, Page)
        "Open deals whose expected close has passed. Ordered by expected close (oldest first), then account and deal id. Paginated: see `limit` and `offset`; the JSON body adds `total`, `limit` and `offset`, the CSV answer the header `X-Total-Count`.";
    lost_reasons "lost-reasons" "/v1/reports/lost-reasons" (Filters, Output)
        "Lost deals per reason (closed in the period) and ended relationships per reason (ended in the period).";
    rep_activity "rep-activity" "/v1/reports/rep-activity" (Filters, Output)
        "Held interactions per rep (staff, else who logged it) × kind × ISO week, in the period.";
    rep_summary "rep-summary" "/v1/reports/rep-summary" (Filters, Output)
        "Per user: accounts owned, open deals on them, planned interactions overdue / today / later (UTC).";
    contact_depth "contact-depth" "/v1/reports/contact-depth" (Filters, Output, Page)
        "Per account: distinct contacts in held interactions and held interactions (in the period), last held and next planned touch. Ordered by account name, then account id. Paginated: see `limit` and `offset`; the JSON body adds `total`, `limit` and `offset`, the CSV answer the header `X-Total-Count`.";
    ladder "ladder" "/v1/reports/ladder" (Filters, Output)
        "Accounts per loyalty rung, and moves up and down from each rung in the period.";
    lifecycle "lifecycle" "/v1/reports/lifecycle" (Filters, Output)
        "Accounts per lifecycle phase, and relationships ended in each phase in the period.";
    key_accounts_at_risk "key-accounts-at-risk" "/v1/reports/key-accounts-at-risk" (Filters, Output, Days, Page)
        "Active key-tier accounts with no held interaction in `days` (default 30). Ordered by last touch (never touched first), then account name and id. Paginated: see `limit` and `offset`; the JSON body adds `total`, `limit` and `offset`, the CSV answer the header `X-Total-Count`.";
    open_conflicts "open-conflicts" "/v1/reports/open-conflicts" (Filters, Output, Page)
        "Fields of readable accounts that hold concurrent values (open conflicts), newest first: account, owner, field path (as `set_field` accepts it), how many values, the value shown while the conflict stands, and `values`: every concurrent value with the user and device that wrote it, `at_ms` and `winner` (a JSON array; a JSON text in CSV). Period: when the newest of the field's values was written. A conflict leaves the report once any device writes the field again and that change reaches the server. Ordered by when the newest value was written (newest first), then account id and field. Paginated: see `limit` and `offset`; the JSON body adds `total`, `limit` and `offset`, the CSV answer the header `X-Total-Count`.";
    late_edits "late-edits" "/v1/reports/late-edits" (LateFilters, Output, Page)
        "Late edits: changes made in the period (by the clock of the device that made them) that the server received only after the period's end (`to` + 1 day, 00:00 UTC; `to` is required). One row per field a change set: account, owner, deal, field, old and new value (as text), the change's user and device, when it was made and received (`made_ms`, `received_ms`), `late_hours` (received − the period's end), and how the change moved its deal's figures, after − before in minor units of `currency`: `won_delta_minor` (the won amount) and `weighted_delta_minor` (the weighted pipeline: amount × probability / 100 of open deals); empty on rows that moved no figure. Changes the server stored before it recorded receipt times count as known when made and are never listed. Ordered by when made, then log position (`seq`). Paginated: see `limit` and `offset`; the JSON body adds `total`, `limit` and `offset`, the CSV answer the header `X-Total-Count`.";
}

impl From<BadFilter> for ApiError {
    fn from(e: BadFilter) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

/// The query string as name → value, or the one 400 every report route gives
/// for a query string that cannot be parsed.
pub(crate) fn parse_query(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|_| ApiError::BadRequest("query parameter `query`: the query string cannot be parsed".into()))
}

async fn report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    name: &'static str,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = parse_query(query)?;
    let format = format_of(&query)?;
    let mut filter = Filter::parse(&query)?;
    if name == "late-edits" {
        queries::check_late_edits(&filter)?;
    }
    if queries::PAGINATED.contains(&name) {
        // JSON comes a page at a time; an export has every row unless a page is asked for.
        if matches!(format, Format::Json) && filter.limit.is_none() {
            filter.limit = Some(queries::DEFAULT_LIMIT);
        }
    } else if filter.limit.is_some() || filter.offset.is_some() {
        let param = if filter.limit.is_some() { "limit" } else { "offset" };
        return Err(BadFilter { param, reason: NOT_PAGINATED }.into());
    }
    let page = (filter.limit, filter.offset.unwrap_or(0));
    let report = name;
    let table = state
        .backend()
        .reports(principal, move |db, subject| {
            let known = match filter.check(db)? {
                Ok(known) => known,
                Err(bad) => return Ok(Err(bad)),
            };
            match queries::run(db, report, subject, &filter, known) {
                Some(result) => Ok(Ok(result?)),
                None => Ok(Err(BadFilter { param: "report", reason: "no such report" })),
            }
        })
        .await??;
    if matches!(format, Format::Json) {
        return Ok(Json(as_json(name, &table, page)).into_response());
    }
    spreadsheet(name, &table, format)
}

/// The `format` a report or drill-down is asked for (default JSON).
pub(crate) fn format_of(query: &HashMap<String, String>) -> Result<Format, BadFilter> {
    match query.get("format").map(String::as_str) {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("xlsx") => Ok(Format::Xlsx),
        Some(_) => Err(BadFilter { param: "format", reason: "expected json, csv or xlsx" }),
    }
}

/// Table `name` as a CSV or XLSX download (major units, UTC times; for a
/// per-row report its total in `X-Total-Count`).
pub(crate) fn spreadsheet(name: &'static str, table: &Table, format: Format) -> Result<Response, ApiError> {
    let (bytes, content_type, extension) = match format {
        Format::Json | Format::Csv => {
            (super::csv::to_csv(&sheet(name, table)).map_err(export_failed)?, "text/csv; charset=utf-8", "csv")
        }
        Format::Xlsx => (super::xlsx::to_xlsx(&sheet(name, table)).map_err(export_failed)?, XLSX, "xlsx"),
    };
    let disposition = format!("attachment; filename=\"{name}.{extension}\"");
    let mut response = ([(CONTENT_TYPE, content_type)], bytes).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    if let Some(total) = table.total {
        response.headers_mut().insert(TOTAL_HEADER, HeaderValue::from(total));
    }
    Ok(response)
}

fn export_failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "cannot write a report as a spreadsheet");
    ApiError::Internal
}

/// `{"report", "columns", "rows": [{column: value}]}`, and for a per-row
/// report `"total"`, `"limit"` (null: every row) and `"offset"`.
fn as_json(name: &str, table: &Table, (limit, offset): (Option<u32>, u64)) -> Value {
    let rows: Vec<Value> = table
        .rows
        .iter()
        .map(|row| Value::Object(table.columns.iter().map(|c| c.to_string()).zip(row.iter().cloned()).collect()))
        .collect();
    let mut out = json!({ "report": name, "columns": table.columns, "rows": rows });
    if let Some(total) = table.total {
        out["total"] = json!(total);
        out["limit"] = json!(limit);
        out["offset"] = json!(offset);
    }
    out
}

/// One change to an account (`rapport_core::HistoryEntry`, as served).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes `HistoryEntry`'s JSON; core carries no OpenAPI derives.
struct HistoryChange {
    /// The Automerge change hash, hex.
    hash: String,
    user: String,
    device: String,
    /// Hex Automerge actor id of the device.
    actor: String,
    /// When the device made the change (RFC 3339; the device's clock).
    #[schema(format = DateTime)]
    at: String,
    /// When the server received the change (RFC 3339; the server's clock);
    /// null for changes stored before the server recorded receipt times.
    #[schema(format = DateTime)]
    received: Option<String>,
    /// The operation, e.g. `account.set_field`, `deal.stage`.
    op: String,
    /// Field paths the change touched (record level for new records).
    fields: Vec<String>,
    /// Each field the change set, with its value before and after.
    changes: Vec<FieldChange>,
}

/// One field a change set (`rapport_core::FieldChange`, as served).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes `FieldChange`'s JSON.
struct FieldChange {
    /// The field path, e.g. `party.address.city` or `deals.<id>.stage`.
    field: String,
    /// The value before the change, as text; null where there was none.
    old: Option<String>,
    /// The value after the change, as text; null where it was removed.
    new: Option<String>,
}

/// An account's history.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes the JSON `history` answers.
struct History {
    account_id: uuid::Uuid,
    /// Every change of the account's document, oldest first.
    changes: Vec<HistoryChange>,
    /// The server's audit rows of the account, newest first (at most 1000).
    audit: Vec<AuditEntry>,
}

/// Who changed what on an account: its CRDT change history (user, device,
/// time, operation, fields) and the server's audit rows.
#[utoipa::path(
    get,
    path = "/v1/reports/accounts/{id}/history",
    tag = "reports",
    operation_id = "account_history",
    params(("id" = uuid::Uuid, Path, description = "The account id (a UUID).")),
    responses(
        (status = 200, body = History),
        (status = 400, description = "The id is not a UUID (`invalid_id`).", body = ErrorBody),
        (status = 404, description = "No account with this id that the caller may read.", body = ErrorBody),
    )
)]
async fn history(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::InvalidId)?.to_string();
    let bytes = state
        .backend()
        .document(id.clone(), principal.clone())
        .await?
        .ok_or(ApiError::NotFound("the server has no account with this id"))?;
    let mut doc = rapport_core::AccountDoc::load(&bytes, automerge::ActorId::random()).map_err(|e| {
        tracing::error!(error = %e, "a stored account cannot be read for its history");
        ApiError::Internal
    })?;
    let history = doc.history();
    let doc_id = id.clone();
    let audit =
        state.backend().directory(move |_, audit| Ok(audit.list_changes(Some(&doc_id), HISTORY_AUDIT_ROWS)?)).await?;
    let doc_id = id.clone();
    let received = state.backend().reports(principal, move |db, _| received_times(db, &doc_id)).await?;
    let changes: Vec<Value> = history
        .into_iter()
        .map(|entry| {
            let at = received.get(&entry.hash).and_then(|ms| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(*ms) * 1_000_000).ok()?.format(&Rfc3339).ok()
            });
            let mut change = json!(entry);
            change["received"] = json!(at);
            change
        })
        .collect();
    Ok(Json(json!({ "account_id": id, "changes": changes, "audit": audit })))
}

/// When the server received each change of account `doc` it recorded a
/// receipt time for (ADR 0022), by change hash (hex): the changes still in
/// the log, and those compaction pruned that set a field (their field-change
/// rows keep the position).
fn received_times(db: &dyn ReportDb, doc: &str) -> Result<HashMap<String, i64>, SqlError> {
    let hex = match db.dialect() {
        Dialect::Sqlite => "lower(hex(h.hash))",
        Dialect::Postgres => "encode(h.hash, 'hex')",
    };
    let rows = db.rows(
        2,
        &format!(
            "SELECT {hex}, t.received_at
             FROM (SELECT seq FROM changes WHERE doc_id = ?1
                   UNION SELECT seq FROM rpt_field_changes INDEXED BY rpt_field_changes_doc WHERE doc_id = ?1) s
             JOIN log_hashes h ON h.seq = s.seq JOIN change_times t ON t.seq = s.seq"
        ),
        &[rusqlite::types::Value::Text(doc.to_owned())],
    )?;
    Ok(rows.into_iter().filter_map(|row| Some((row.first()?.as_str()?.to_owned(), row.get(1)?.as_i64()?))).collect())
}

/// Where the server's log stands.
#[derive(Debug, Serialize, ToSchema)]
struct Head {
    /// The log head; it moves whenever a sync stores changes.
    head: u64,
}

/// The server's log head: it moves whenever a sync stores changes.
#[utoipa::path(get, path = "/v1/reports/version", tag = "reports", responses((status = 200, body = Head)))]
async fn version(State(state): State<AppState>) -> Json<Head> {
    let head = *state.backend().subscribe().borrow();
    Json(Head { head })
}

/// One Server-Sent Event of `/v1/reports/events`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes the events `events` sends.
struct HeadEvent {
    #[schema(pattern = "^head$")]
    event: String,
    /// The log head, in decimal.
    #[schema(pattern = "^[0-9]+$")]
    data: String,
}

/// Server-Sent Events: a `head` event at once and whenever the log head moves
/// (and a comment every 15 s to keep the connection open).
#[utoipa::path(
    get,
    path = "/v1/reports/events",
    tag = "reports",
    responses((status = 200, description = "An endless event stream; each event as described.", content_type = "text/event-stream", body = HeadEvent))
)]
async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = state.backend().subscribe();
    rx.mark_changed();
    // Held until the stream ends, so shutdown waits for it to close.
    let closing = state.closing().watch();
    let stream = futures_util::stream::unfold((rx, closing), |(mut rx, mut closing)| async move {
        if *closing.borrow() {
            return None;
        }
        let moved = tokio::select! {
            changed = rx.changed() => changed.is_ok(),
            _ = closing.wait_for(|c| *c) => false,
        };
        if !moved {
            return None;
        }
        let head = *rx.borrow_and_update();
        Some((Ok(Event::default().event("head").data(head.to_string())), (rx, closing)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

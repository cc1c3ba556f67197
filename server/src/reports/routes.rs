//! `/v1/reports/…`: every report as JSON (`{"report", "columns", "rows"}`) or
//! CSV (`?format=csv`), an account's history, the log head and a
//! Server-Sent Events stream that fires when it moves, and the OpenAPI
//! description at `/v1/openapi.json`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures_util::Stream;
use serde_json::{Value, json};

use super::filter::{BadFilter, Filter};
use super::queries::{self, Table};
use crate::AppState;
use crate::auth::Principal;
use crate::db::{DbError, audit, users};
use crate::error::ApiError;

const OPENAPI: &str = include_str!("openapi.json");
/// The number of rows a per-row report has, on its CSV export.
const TOTAL_HEADER: &str = "x-total-count";
const NOT_PAGINATED: &str = "only the per-row reports are paginated \
                             (stale-deals, overdue-deals, contact-depth, key-accounts-at-risk, open-conflicts)";
/// Most audit rows listed with an account's history.
const HISTORY_AUDIT_ROWS: u32 = 1000;

/// The report routes (behind the bearer-token middleware).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reports/version", get(version))
        .route("/v1/reports/events", get(events))
        .route("/v1/reports/accounts/{id}/history", get(history))
        .route("/v1/reports/{name}", get(report))
}

/// `/v1/openapi.json` (public: it describes the API, no data).
pub(crate) async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

impl From<BadFilter> for ApiError {
    fn from(e: BadFilter) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

async fn report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::BadRequest("query parameter `query`: the query string cannot be parsed".into()))?;
    if !queries::REPORTS.contains(&name.as_str()) {
        return Err(ApiError::NotFound("no such report"));
    }
    let csv = match query.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(BadFilter { param: "format", reason: "expected json or csv" }.into()),
    };
    let mut filter = Filter::parse(&query)?;
    if queries::PAGINATED.contains(&name.as_str()) {
        // JSON comes a page at a time; a CSV export has every row unless a page is asked for.
        if !csv && filter.limit.is_none() {
            filter.limit = Some(queries::DEFAULT_LIMIT);
        }
    } else if filter.limit.is_some() || filter.offset.is_some() {
        let param = if filter.limit.is_some() { "limit" } else { "offset" };
        return Err(BadFilter { param, reason: NOT_PAGINATED }.into());
    }
    let page = (filter.limit, filter.offset.unwrap_or(0));
    let report = name.clone();
    let table = state
        .db()
        .call(move |conn| {
            let subject = users::subject(conn, principal.device_id)?.ok_or(DbError::Revoked)?;
            if let Err(bad) = filter.check_known(conn)? {
                return Ok(Err(bad));
            }
            match queries::run(conn, &report, &subject, &filter) {
                Some(result) => Ok(Ok(result?)),
                None => Ok(Err(BadFilter { param: "report", reason: "no such report" })),
            }
        })
        .await??;
    if csv {
        let bytes = super::csv::to_csv(&table).map_err(|e| {
            tracing::error!(error = %e, "cannot write a report as CSV");
            ApiError::Internal
        })?;
        let mut response = ([(CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response();
        if let Some(total) = table.total {
            response.headers_mut().insert(TOTAL_HEADER, HeaderValue::from(total));
        }
        return Ok(response);
    }
    Ok(Json(as_json(&name, &table, page)).into_response())
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

/// Who changed what on an account: its CRDT history and the server's audit rows.
async fn history(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::InvalidId)?.to_string();
    let bytes = state
        .db()
        .document(id.clone(), principal)
        .await?
        .ok_or(ApiError::NotFound("the server has no account with this id"))?;
    let mut doc = rapport_core::AccountDoc::load(&bytes, automerge::ActorId::random()).map_err(|e| {
        tracing::error!(error = %e, "a stored account cannot be read for its history");
        ApiError::Internal
    })?;
    let changes = doc.history();
    let doc_id = id.clone();
    let audit = state.db().call(move |conn| audit::list(conn, Some(&doc_id), HISTORY_AUDIT_ROWS)).await?;
    Ok(Json(json!({ "account_id": id, "changes": changes, "audit": audit })))
}

/// The server's log head: it moves whenever a sync stores changes.
async fn version(State(state): State<AppState>) -> Json<Value> {
    let head = *state.db().subscribe().borrow();
    Json(json!({ "head": head }))
}

/// Server-Sent Events: a `head` event now and whenever the log head moves.
async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = state.db().subscribe();
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

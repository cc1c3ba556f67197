//! The managers' dashboard: one HTML page, a script and a stylesheet embedded
//! in the binary (`include_str!`, no build step, nothing fetched from the
//! network), served at `/` and `/assets/…` without a token. The page asks for
//! a device token, keeps it in `sessionStorage` and calls the report API with
//! `Authorization: Bearer`; every figure it shows comes from that API.
//!
//! Beside the page, [`api_routes`] adds the one drill-down the report API does
//! not answer as rows: the deals (and their accounts) behind one stage of the
//! `stages` report, with the same scope and filters.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rusqlite::types::Value;
use serde_json::{Value as JsonValue, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::reports::filter::{BadFilter, Cond, Filter};
use crate::reports::routes::Filters;

pub(crate) mod headers;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const I18N_JS: &str = include_str!("assets/i18n.js");
const APP_CSS: &str = include_str!("assets/app.css");
/// Longest stage id accepted by the drill-down.
const MAX_STAGE_LEN: usize = 64;
/// Most deals listed by one drill-down.
const MAX_DRILL_ROWS: i64 = 1000;

/// The page and its assets (public: they hold no data).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(index_html))
        .routes(routes!(app_js))
        .routes(routes!(i18n_js))
        .routes(routes!(app_css))
}

/// The dashboard's drill-down (behind the bearer-token middleware).
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stage_deals))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")], body).into_response()
}

/// The managers' dashboard (an HTML page; it asks for a device token).
#[utoipa::path(get, path = "/", tag = "dashboard",
    responses((status = 200, description = "The page.", content_type = "text/html; charset=utf-8", body = String)))]
async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The managers' dashboard, by its file name.
#[utoipa::path(get, path = "/index.html", tag = "dashboard",
    responses((status = 200, description = "The page.", content_type = "text/html; charset=utf-8", body = String)))]
async fn index_html() -> Response {
    index().await
}

/// The dashboard's script.
#[utoipa::path(get, path = "/assets/app.js", tag = "dashboard",
    responses((status = 200, description = "The script.", content_type = "text/javascript; charset=utf-8", body = String)))]
async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The dashboard's words in English, Ukrainian and Russian, and the locale's formats.
#[utoipa::path(get, path = "/assets/i18n.js", tag = "dashboard",
    responses((status = 200, description = "The script.", content_type = "text/javascript; charset=utf-8", body = String)))]
async fn i18n_js() -> Response {
    asset("text/javascript; charset=utf-8", I18N_JS)
}

/// The dashboard's stylesheet.
#[utoipa::path(get, path = "/assets/app.css", tag = "dashboard",
    responses((status = 200, description = "The stylesheet.", content_type = "text/css; charset=utf-8", body = String)))]
async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// The query of the drill-down (`stage_deals` reads it; `Filter::parse` the filters).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query string.
struct StageQuery {
    /// The stage id (e.g. `proposal`): once trimmed, 1 to 64 characters.
    #[param(min_length = 1, pattern = r"^\s*\S(?:[\s\S]{0,62}\S)?\s*$")]
    stage: String,
}

/// `GET /v1/dashboard/stage-deals?stage=S[&team&rep&territory&from&to]`: the
/// deals in stage `S` that the `stages` report counts for the same filters,
/// as `{"report", "columns", "rows"}`.
///
/// The open and closed deals behind one stage of the funnel (the dashboard's
/// drill-down): account, deal, amount, owner. Same scope, filters and period
/// as `stages`; at most 1000 rows.
#[utoipa::path(
    get,
    path = "/v1/dashboard/stage-deals",
    tag = "dashboard",
    operation_id = "stageDeals",
    params(StageQuery, Filters),
    responses(
        (status = 200, description = "The deals, as `{\"report\", \"columns\", \"rows\"}`.", body = Object),
        (status = 400, description = "A bad parameter, named in the message (`bad_request`).", body = ErrorBody),
    )
)]
async fn stage_deals(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<JsonValue>, ApiError> {
    let mut query = crate::reports::routes::parse_query(query)?;
    let stage = query.remove("stage").map(|s| s.trim().to_owned()).unwrap_or_default();
    if stage.is_empty() || stage.chars().count() > MAX_STAGE_LEN {
        return Err(BadFilter { param: "stage", reason: "expected a stage id" }.into());
    }
    if ["format", "days", "limit", "offset"].iter().any(|k| query.contains_key(*k)) {
        return Err(BadFilter {
            param: "query",
            reason: "unknown parameter (accepted: stage, team, rep, territory, from, to)",
        }
        .into());
    }
    let filter = Filter::parse(&query)?;
    let columns = ["account_id", "account", "owner", "deal_id", "amount_minor", "currency", "expected_close"];
    let rows = state
        .backend()
        .reports(principal, move |db, subject| {
            let known = match filter.check(db)? {
                Ok(known) => known,
                Err(bad) => return Ok(Err(bad)),
            };
            let mut c = Cond::on(db.dialect(), "d", subject, &filter).and("d.stage = ?", [Value::Text(stage)]);
            if filter.from.is_some() || filter.to.is_some() {
                let (from, to) = filter.period_dates();
                c = c.and("d.expected_close BETWEEN ? AND ?", [Value::Text(from), Value::Text(to)]);
            }
            let sql = format!(
                "SELECT d.doc_id, d.name, d.owner, d.deal_id, d.amount_minor, d.currency, d.expected_close
                 FROM rpt_deals d WHERE {} ORDER BY d.name, d.doc_id, d.deal_id LIMIT {MAX_DRILL_ROWS}",
                c.sql
            );
            let sql = known
                .map_or(sql.clone(), |k| crate::reports::known::rewrite(&sql, k, crate::reports::known::Rows::Valid));
            Ok(Ok(db.rows(columns.len(), &sql, &c.params)?))
        })
        .await??;
    let rows: Vec<JsonValue> = rows
        .into_iter()
        .map(|row| JsonValue::Object(columns.iter().map(|c| c.to_string()).zip(row).collect()))
        .collect();
    Ok(Json(json!({ "report": "stage-deals", "columns": columns, "rows": rows })))
}

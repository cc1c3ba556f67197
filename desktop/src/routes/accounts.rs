//! The account list (filters, full-text search), a new account, the card,
//! its fields and tags, and the settings the page names stages and reasons from.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use rapport_core::{AccountFilter, NewAccount};
use serde::Deserialize;
use serde_json::json;

use super::{Input, card_of, edit, reply, required};
use crate::AppState;
use crate::error::ApiError;

/// Most accounts one list answers unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 200;
const MAX_LIMIT: u32 = 5000;

fn parsed<T: std::str::FromStr<Err = rapport_core::Error>>(value: Option<&String>) -> Result<Option<T>, ApiError> {
    value.filter(|v| !v.trim().is_empty()).map(|v| v.parse::<T>()).transpose().map_err(ApiError::from)
}

fn flag(name: &str, value: Option<&String>) -> Result<bool, ApiError> {
    match value.map(String::as_str) {
        None | Some("" | "false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(ApiError::BadRequest(format!("query parameter {name}: expected true or false"))),
    }
}

/// `GET /api/accounts?q&owner&team&territory&status&rung&phase&tier&tag&stage&conflicts&deleted&limit`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let accounts = state.replica().list(&filter(&query)?)?;
    Ok(reply(&accounts))
}

/// The list's filter from its query parameters (also what office work
/// applies a bulk reassignment to).
pub(crate) fn filter(query: &HashMap<String, String>) -> Result<AccountFilter, ApiError> {
    const KNOWN: &[&str] = &[
        "q",
        "owner",
        "team",
        "territory",
        "status",
        "rung",
        "phase",
        "tier",
        "tag",
        "stage",
        "conflicts",
        "deleted",
        "limit",
    ];
    if let Some(unknown) = query.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "unknown query parameter {unknown:?} (accepted: {})",
            KNOWN.join(", ")
        )));
    }
    let text = |k: &str| query.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::BadRequest(format!("query parameter limit: expected 1 to {MAX_LIMIT}")))?,
    };
    let filter = AccountFilter {
        owner: text("owner"),
        team: text("team"),
        territory: text("territory"),
        loyalty_rung: parsed(query.get("rung"))?,
        lifecycle_phase: parsed(query.get("phase"))?,
        value_tier: parsed(query.get("tier"))?,
        status: parsed(query.get("status"))?,
        deal_stage: text("stage"),
        tag: text("tag"),
        text: text("q"),
        with_conflicts: flag("conflicts", query.get("conflicts"))?,
        include_deleted: flag("deleted", query.get("deleted"))?,
        limit: Some(limit),
    };
    Ok(filter)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccountBody {
    name: String,
}

/// `POST /api/accounts {name}`: a new organization owned by this user.
pub(crate) async fn create(
    State(state): State<AppState>,
    Input(body): Input<NewAccountBody>,
) -> Result<Response, ApiError> {
    let name = required("party.name", &body.name)?;
    let id = state.replica().create_account(&NewAccount::new(name))?;
    state.live.edited(&state.replica);
    card_of(&state, id)
}

/// `GET /api/accounts/{id}`: the whole account and its open conflicts.
pub(crate) async fn card(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = state.replica().find_account(&id)?;
    card_of(&state, id)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldBody {
    field: String,
    value: String,
}

/// `POST /api/accounts/{id}/field {field, value}`: one field by its path
/// (`party.name`, `party.address.city`, `contacts.<id>.job_title`,
/// `deals.<id>.next_step`, …); an empty value clears an optional field.
pub(crate) async fn set_field(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<FieldBody>,
) -> Result<Response, ApiError> {
    edit(&state, &id, |e| e.set_field(&body.field, &body.value))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagBody {
    tag: String,
}

pub(crate) async fn add_tag(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<TagBody>,
) -> Result<Response, ApiError> {
    edit(&state, &id, |e| e.add_tag(&body.tag))
}

pub(crate) async fn remove_tag(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<TagBody>,
) -> Result<Response, ApiError> {
    let tag = required("party.tags", &body.tag)?.to_owned();
    let id = state.replica().find_account(&id)?;
    if !state.replica().account(id)?.party.tags.contains(&tag) {
        return Err(ApiError::from(rapport_core::Error::InvalidValue {
            field: "party.tags".into(),
            reason: "the account has no such tag".into(),
        }));
    }
    edit(&state, &id.to_string(), |e| e.remove_tag(&tag))
}

/// `GET /api/settings`: stages (in funnel order), reason catalogues, tags,
/// who this device is, and whether its user may change the settings.
pub(crate) async fn settings(State(state): State<AppState>) -> Result<Response, ApiError> {
    let r = state.replica();
    let author = r.author();
    Ok(reply(&json!({
        "settings": r.settings(),
        "user": author.user,
        "device": author.device,
        // The role this device learned at sync (none yet: the server judges).
        "role": r.principal().map(|p| p.role.as_str()),
        "may_change_settings": super::settings::may_change(&r).is_ok(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotesBody {
    text: String,
    /// The card's `heads` the text was edited from. With them, only what the
    /// person changed is applied, placed among what other devices typed since;
    /// without them the text replaces today's notes (still as character edits).
    base: Option<Vec<String>>,
}

/// `POST /api/accounts/{id}/notes {text, base?}`: the notes, stored as
/// character edits so that typing on another device at the same time is kept.
pub(crate) async fn notes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<NotesBody>,
) -> Result<Response, ApiError> {
    match &body.base {
        None => edit(&state, &id, |e| e.set_notes(&body.text)),
        Some(base) => {
            let heads = base
                .iter()
                .map(|h| h.trim().parse::<rapport_core::ChangeHash>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ApiError::BadRequest("base must be the card's heads (change hashes)".into()))?;
            edit(&state, &id, |e| e.edit_notes(&heads, &body.text))
        }
    }
}

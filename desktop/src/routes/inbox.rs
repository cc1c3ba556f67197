//! The office's inboxes: open conflicts (one click picks a value), edits the
//! server refused (discard or retry), and an account's history in words.

use axum::extract::{Path, State};
use axum::response::Response;
use rapport_core::settings::SETTINGS_DOC_ID;
use rapport_core::{ConflictValue, RefusedEditId};
use serde::{Deserialize, Serialize};

use super::{Input, edit, reply};
use crate::AppState;
use crate::error::ApiError;

#[derive(Serialize)]
struct ConflictRow {
    account: String,
    name: String,
    field: String,
    values: Vec<ConflictValue>,
}

/// `GET /api/conflicts`: every field with concurrent values, with each value's author, device and time.
pub(crate) async fn conflicts(State(state): State<AppState>) -> Result<Response, ApiError> {
    let r = state.replica();
    let mut rows = Vec::new();
    for (id, conflict) in r.all_conflicts()? {
        let name = r.summary(id).map(|s| s.name).unwrap_or_default();
        rows.push(ConflictRow { account: id.to_string(), name, field: conflict.field, values: conflict.values });
    }
    Ok(reply(&rows))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    field: String,
    value: String,
}

/// `POST /api/accounts/{id}/resolve {field, value}`: keeps one of the
/// conflicting values (a value that is not one of them is refused).
pub(crate) async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<ResolveBody>,
) -> Result<Response, ApiError> {
    let account = state.replica().find_account(&id)?;
    let conflicts = state.replica().conflicts(account)?;
    let Some(conflict) = conflicts.iter().find(|c| c.field == body.field) else {
        return Err(ApiError::BadRequest(format!("{} has no open conflict on this account", body.field)));
    };
    if !conflict.values.iter().any(|v| v.value == body.value) {
        return Err(ApiError::BadRequest(format!("the value is not one of the conflicting values of {}", body.field)));
    }
    edit(&state, &account.to_string(), |e| e.set_field(&body.field, &body.value))
}

#[derive(Serialize)]
struct RefusedRow {
    /// `edit` (an account edit, set aside) or `settings` (this device's
    /// settings changes, kept unsent); both can be discarded or sent again.
    kind: &'static str,
    id: String,
    account: String,
    name: String,
    fields: Vec<String>,
    reason: String,
    #[serde(with = "rapport_core::serde_time::instant::option")]
    refused_at: Option<time::OffsetDateTime>,
}

/// `GET /api/refused`: edits the server refused, set aside on this device,
/// and a settings change it refused.
pub(crate) async fn refused(State(state): State<AppState>) -> Result<Response, ApiError> {
    let r = state.replica();
    let rows: Vec<RefusedRow> = r
        .refused_edits()?
        .into_iter()
        .map(|e| RefusedRow {
            kind: "edit",
            id: e.id.to_string(),
            account: e.account.to_string(),
            name: r.summary(e.account).map(|s| s.name).unwrap_or_default(),
            fields: e.fields,
            reason: e.reason,
            refused_at: Some(e.refused_at),
        })
        .chain(r.refused_settings()?.map(|reason| RefusedRow {
            kind: "settings",
            id: SETTINGS_DOC_ID.into(),
            account: String::new(),
            name: String::new(),
            fields: vec![SETTINGS_DOC_ID.into()],
            reason,
            refused_at: None,
        }))
        .collect();
    Ok(reply(&rows))
}

fn edit_id(text: &str) -> Result<RefusedEditId, ApiError> {
    text.parse::<RefusedEditId>().map_err(ApiError::from)
}

/// `POST /api/refused/{edit}/discard`: drops the refused edit for good
/// (`settings`: the settings become the server's again).
pub(crate) async fn discard(State(state): State<AppState>, Path(edit): Path<String>) -> Result<Response, ApiError> {
    if edit == SETTINGS_DOC_ID {
        state.replica().discard_refused_settings()?;
    } else {
        let id = edit_id(&edit)?;
        state.replica().discard_refused(id)?;
    }
    state.live.edited(&state.replica);
    refused(State(state)).await
}

/// `POST /api/refused/{edit}/retry`: applies the edit again (pushed with the
/// next sync; `settings`: the settings changes are sent again).
pub(crate) async fn retry(State(state): State<AppState>, Path(edit): Path<String>) -> Result<Response, ApiError> {
    if edit == SETTINGS_DOC_ID {
        state.replica().retry_refused_settings()?;
    } else {
        let id = edit_id(&edit)?;
        state.replica().retry_refused(id)?;
    }
    state.live.edited(&state.replica);
    refused(State(state)).await
}

/// `GET /api/accounts/{id}/history`: every change, newest first, each field with its old and new value.
pub(crate) async fn history(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = state.replica();
    let id = r.find_account(&id)?;
    let mut entries = r.history(id)?;
    entries.reverse();
    Ok(reply(&entries))
}

//! The settings editor: pipeline stages (name, probability, kind, order,
//! stale threshold) and the reason catalogues. Administrators, managers and
//! the office change them; a rep is refused here when the device knows its
//! role, and by the server otherwise (then the refusal is listed with the
//! refused edits).

use axum::extract::State;
use axum::response::Response;
use rapport_core::{Author, ReasonCatalogue, Replica, SettingsDoc, Stage, StageKind};
use serde::Deserialize;
use serde_json::json;

use super::{Input, reply, required};
use crate::AppState;
use crate::error::ApiError;

/// Refuses what the server would refuse, when this device knows its user's role.
pub(crate) fn may_change(r: &Replica) -> Result<(), ApiError> {
    Ok(r.may_change_settings()?)
}

fn answer(state: &AppState) -> Response {
    reply(&json!({ "settings": state.replica().settings() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageBody {
    id: String,
    name: String,
    probability: u8,
    /// open (default for a new stage), won or lost.
    kind: Option<String>,
    /// Position in the funnel (default: the stage's own, or after the last).
    order: Option<u32>,
    /// Days without a stage move after which a deal is stale (default 30 for a new stage).
    stale_after_days: Option<u32>,
}

/// `POST /api/settings/stages {id, name, probability, kind?, order?, stale_after_days?}`:
/// adds a stage or changes one; answers `{settings}`.
pub(crate) async fn put_stage(
    State(state): State<AppState>,
    Input(body): Input<StageBody>,
) -> Result<Response, ApiError> {
    {
        let mut r = state.replica();
        may_change(&r)?;
        let id = required("stage.id", &body.id)?.to_owned();
        let current = r.settings().stages.iter().find(|s| s.id == id).cloned();
        let kind = body.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(str::parse::<StageKind>);
        let kind = kind.transpose()?;
        let last = r.settings().stages.iter().map(|s| s.order).max().unwrap_or(0);
        let stage = Stage {
            name: required("stage.name", &body.name)?.to_owned(),
            probability: body.probability,
            kind: kind.or(current.as_ref().map(|c| c.kind)).unwrap_or(StageKind::Open),
            order: body.order.or(current.as_ref().map(|c| c.order)).unwrap_or(last + 1),
            stale_after_days: body.stale_after_days.or(current.as_ref().map(|c| c.stale_after_days)).unwrap_or(30),
            id,
        };
        r.edit_settings(|doc, author| doc.put_stage(author, &stage))?;
    }
    state.live.edited(&state.replica);
    Ok(answer(&state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    /// `lost` (why deals are lost) or `end` (why relationships end).
    catalogue: String,
    reason: String,
}

fn catalogue(body: &ReasonBody) -> Result<ReasonCatalogue, ApiError> {
    match body.catalogue.trim() {
        "lost" => Ok(ReasonCatalogue::LostReasons),
        "end" => Ok(ReasonCatalogue::EndReasons),
        _ => Err(ApiError::BadRequest("catalogue must be lost or end".into())),
    }
}

/// `POST /api/settings/reasons/remove {catalogue, reason}`: takes a reason
/// out of its catalogue (records that name it keep it); answers `{settings}`.
pub(crate) async fn remove_reason(
    State(state): State<AppState>,
    Input(body): Input<ReasonBody>,
) -> Result<Response, ApiError> {
    edit_catalogue(&state, &body, SettingsDoc::remove_reason)
}

/// `POST /api/settings/reasons {catalogue, reason}`: adds a reason; answers `{settings}`.
pub(crate) async fn add_reason(
    State(state): State<AppState>,
    Input(body): Input<ReasonBody>,
) -> Result<Response, ApiError> {
    edit_catalogue(&state, &body, SettingsDoc::add_reason)
}

/// Adds a reason to or takes it out of the catalogue `body` names, if this
/// user may change the settings.
fn edit_catalogue(
    state: &AppState,
    body: &ReasonBody,
    edit: fn(&mut SettingsDoc, &Author, ReasonCatalogue, &str) -> rapport_core::Result<()>,
) -> Result<Response, ApiError> {
    let which = catalogue(body)?;
    {
        let mut r = state.replica();
        may_change(&r)?;
        let reason = required("reason", &body.reason)?.to_owned();
        r.edit_settings(|doc, author| edit(doc, author, which, &reason))?;
    }
    state.live.edited(&state.replica);
    Ok(answer(state))
}

//! The relationship: loyalty-ladder and lifecycle moves with a reason (kept
//! in their histories), ending it with a catalogue reason and a date, and
//! reopening it.

use axum::extract::{Path, State};
use axum::response::Response;
use rapport_core::{AccountStatus, LifecyclePhase, LoyaltyRung};
use serde::Deserialize;
use time::Date;

use super::{Input, edit};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveBody {
    to: String,
    reason: Option<String>,
}

fn reason(body: &MoveBody) -> Option<&str> {
    body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty())
}

/// `POST /api/accounts/{id}/ladder {to, reason?}`.
pub(crate) async fn ladder(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<MoveBody>,
) -> Result<Response, ApiError> {
    let to: LoyaltyRung = body.to.parse()?;
    edit(&state, &id, |e| e.move_ladder(to, reason(&body)))
}

/// `POST /api/accounts/{id}/lifecycle {to, reason?}`.
pub(crate) async fn lifecycle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<MoveBody>,
) -> Result<Response, ApiError> {
    let to: LifecyclePhase = body.to.parse()?;
    edit(&state, &id, |e| e.move_lifecycle(to, reason(&body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndBody {
    /// `former` or `lost`.
    status: String,
    /// From the end-reason catalogue.
    reason: String,
    /// An ISO date (`2026-12-04`).
    on: String,
}

/// `POST /api/accounts/{id}/end {status, reason, on}`.
pub(crate) async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<EndBody>,
) -> Result<Response, ApiError> {
    let status: AccountStatus = body.status.parse()?;
    let on = Date::parse(body.on.trim(), time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| {
        ApiError::Invalid(rapport_core::Error::InvalidValue {
            field: "party.ended_on".into(),
            reason: "expected a date such as 2026-12-04".into(),
        })
    })?;
    edit(&state, &id, |e| e.end_relationship(status, &body.reason, on))
}

/// `POST /api/accounts/{id}/reopen`: the relationship is active again.
pub(crate) async fn reopen(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    edit(&state, &id, |e| e.reopen_relationship())
}

//! `POST /v1/device/wiped`: a device revoked as lost (`device revoke --wipe`)
//! reports that it erased its local data, and what unsynced work went with
//! it. Its token is refused everywhere else (`410 device_wiped`); this is the
//! one request it is still accepted for (`auth::require_wiped_token`).

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::WipedDevice;
use crate::db::users::WipeReport;
use crate::error::ApiError;
use crate::openapi::ErrorBody;

/// What the device erased that the server never received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WipeDone {
    /// Documents with edits the server never received.
    #[schema(minimum = 0)]
    lost_documents: u32,
    /// Changes the server never received (edits and edits set aside after a refusal).
    #[schema(minimum = 0)]
    lost_changes: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct WipeRecorded {
    /// False if an earlier report was recorded already (the first one counts).
    recorded: bool,
}

#[utoipa::path(
    post,
    path = "/v1/device/wiped",
    tag = "sync",
    request_body = WipeDone,
    responses(
        (status = 200, description = "The wipe is recorded on the device's entry (`device list`).", body = WipeRecorded),
        (status = 400, description = "Not valid JSON or an unknown field (`invalid_request`).", body = ErrorBody),
        (status = 409, description = "The token's device was not revoked as lost (`conflict`).", body = ErrorBody),
    )
)]
pub(super) async fn wiped(
    State(state): State<AppState>,
    Extension(device): Extension<WipedDevice>,
    json: Result<Json<WipeDone>, JsonRejection>,
) -> Result<Json<WipeRecorded>, ApiError> {
    let Json(done) = json.map_err(|e| ApiError::InvalidRequest(format!("invalid JSON body: {}", e.body_text())))?;
    let report =
        WipeReport { lost_documents: i64::from(done.lost_documents), lost_changes: i64::from(done.lost_changes) };
    let device_id = device.device_id;
    let recorded = state.backend().directory(move |d, _| Ok(d.record_wipe_done(device_id, report)?)).await?;
    if recorded {
        tracing::warn!(
            device = device_id,
            lost_documents = report.lost_documents,
            lost_changes = report.lost_changes,
            "a device revoked as lost erased its data; its unsynced changes are lost"
        );
    }
    Ok(Json(WipeRecorded { recorded }))
}

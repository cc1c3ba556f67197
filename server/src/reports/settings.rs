//! `GET /v1/settings`: the workspace settings as merged on the server (stage
//! names, probabilities and order, the reason catalogues), so the dashboard
//! shows a stage's name instead of its id. Read from the settings document
//! (the genesis defaults while no device has synced an edit of it).

use automerge::AutoCommit;
use axum::extract::State;
use axum::{Extension, Json};
use rapport_core::settings::SETTINGS_DOC_ID;
use rapport_core::{Settings, SettingsDoc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

/// One pipeline stage.
#[derive(Debug, Serialize, ToSchema)]
struct StageBody {
    /// The stage id the reports use (e.g. `proposal`).
    id: String,
    /// The stage's name as the workspace set it.
    name: String,
    /// Default probability (0–100) of a deal entering the stage.
    probability: u8,
    /// `open`, `won` or `lost`.
    kind: String,
    /// Position in the funnel, lowest first.
    order: u32,
    /// Days without a stage change after which a deal is stale (0: never).
    stale_after_days: u32,
}

/// The workspace settings.
#[derive(Debug, Serialize, ToSchema)]
struct SettingsBody {
    /// In funnel order.
    stages: Vec<StageBody>,
    /// Reason ids a deal can be lost for.
    lost_reasons: Vec<String>,
    /// Reason ids a relationship can end for.
    end_reasons: Vec<String>,
}

impl From<Settings> for SettingsBody {
    fn from(s: Settings) -> SettingsBody {
        let stages = s
            .stages
            .into_iter()
            .map(|st| StageBody {
                kind: st.kind.as_str().to_owned(),
                id: st.id,
                name: st.name,
                probability: st.probability,
                order: st.order,
                stale_after_days: st.stale_after_days,
            })
            .collect();
        SettingsBody { stages, lost_reasons: s.lost_reasons, end_reasons: s.end_reasons }
    }
}

/// The settings route (behind the bearer-token middleware).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(settings))
}

/// The workspace settings: stages (id, name, probability, kind, order, stale
/// threshold) in funnel order and the lost and end reason catalogues.
#[utoipa::path(get, path = "/v1/settings", tag = "reports", responses((status = 200, body = SettingsBody)))]
async fn settings(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<SettingsBody>, ApiError> {
    let settings = match state.backend().document(SETTINGS_DOC_ID.to_owned(), principal).await? {
        None => Settings::default(),
        Some(bytes) => match AutoCommit::load(&bytes) {
            Ok(doc) => SettingsDoc::from_automerge(doc).read(),
            Err(e) => {
                tracing::error!(error = %e, "the stored settings document cannot be read");
                return Err(ApiError::Internal);
            }
        },
    };
    Ok(Json(settings.into()))
}

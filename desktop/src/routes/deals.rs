//! Deals: add (amount in major units of its currency), stage moves (won is
//! the won stage), lost with a reason from the catalogue.

use axum::extract::{Path, State};
use axum::response::Response;
use rapport_core::{DealId, Money, NewDeal, parse_major_units};
use serde::Deserialize;

use super::{Input, edit};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDealBody {
    title: String,
    /// In major units as people type it (`1200.50`, `1 200,50`).
    amount: String,
    currency: String,
    stage: Option<String>,
}

/// `POST /api/accounts/{id}/deals {title, amount, currency, stage?}`.
pub(crate) async fn add(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<NewDealBody>,
) -> Result<Response, ApiError> {
    let currency = body.currency.trim().to_ascii_uppercase();
    let minor = parse_major_units("deal.amount", &body.amount, &currency)?;
    let mut new = NewDeal::new(body.title, Money { minor, currency });
    new.stage = body.stage.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    edit(&state, &id, |e| e.add_deal(&new))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageBody {
    stage: String,
    probability: Option<u8>,
}

/// `POST /api/accounts/{id}/deals/{deal}/stage {stage, probability?}`: a move
/// to any stage of the pipeline, recorded in the deal's stage history.
pub(crate) async fn stage(
    State(state): State<AppState>,
    Path((id, deal)): Path<(String, String)>,
    Input(body): Input<StageBody>,
) -> Result<Response, ApiError> {
    let deal: DealId = deal.parse()?;
    edit(&state, &id, |e| e.move_deal_stage(deal, &body.stage, body.probability))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LostBody {
    reason: String,
    note: Option<String>,
}

/// `POST /api/accounts/{id}/deals/{deal}/lost {reason, note?}`: the reason must be in the catalogue.
pub(crate) async fn lost(
    State(state): State<AppState>,
    Path((id, deal)): Path<(String, String)>,
    Input(body): Input<LostBody>,
) -> Result<Response, ApiError> {
    let deal: DealId = deal.parse()?;
    edit(&state, &id, |e| e.mark_deal_lost(deal, &body.reason, body.note.as_deref()))
}

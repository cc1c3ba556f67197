//! The local API under `/api` (behind the session cookie). Reads answer
//! JSON; every edit takes a JSON body, makes one validated change through
//! core's `Editor` (or nothing, with a typed 4xx error), asks sync to push it,
//! and answers the account's card as it is now.

mod accounts;
mod contacts;
mod deals;
mod events;
mod import;
mod inbox;
mod office;
mod records;
mod relationship;

// The rest of the account card, its earlier states, and the settings editor.
mod party;
mod settings;

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rapport_core::{AccountId, Conflict, Editor};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/status", get(events::status))
        .route("/events", get(events::events))
        // Office work: duplicates, merge, bulk reassignment (office.rs).
        .route("/office/duplicates", get(office::duplicates))
        .route("/office/directory", get(office::directory))
        .route("/office/merge", post(office::merge))
        .route("/office/reassign", post(office::reassign))
        // CSV import: preview, then import (import.rs).
        .route("/import/preview", post(import::preview).layer(import::body_limit()))
        .route("/import", post(import::import).layer(import::body_limit()))
        .route("/settings", get(accounts::settings))
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route("/accounts/{id}", get(accounts::card))
        .route("/accounts/{id}/field", post(accounts::set_field))
        .route("/accounts/{id}/notes", post(accounts::notes))
        .route("/accounts/{id}/ladder", post(relationship::ladder))
        .route("/accounts/{id}/lifecycle", post(relationship::lifecycle))
        .route("/accounts/{id}/end", post(relationship::end))
        .route("/accounts/{id}/reopen", post(relationship::reopen))
        .route("/accounts/{id}/tags", post(accounts::add_tag))
        .route("/accounts/{id}/tags/remove", post(accounts::remove_tag))
        .route("/accounts/{id}/history", get(inbox::history))
        .route("/accounts/{id}/contacts", post(contacts::add))
        .route("/accounts/{id}/contacts/{contact}/emails", post(contacts::add_email))
        .route("/accounts/{id}/contacts/{contact}/emails/remove", post(contacts::remove_email))
        .route("/accounts/{id}/contacts/{contact}/phones", post(contacts::add_phone))
        .route("/accounts/{id}/contacts/{contact}/phones/remove", post(contacts::remove_phone))
        .route("/accounts/{id}/contacts/{contact}/active", post(contacts::set_active))
        .route("/accounts/{id}/contacts/{contact}/consents", post(contacts::consent))
        .route("/accounts/{id}/deals", post(deals::add))
        .route("/accounts/{id}/deals/{deal}/stage", post(deals::stage))
        .route("/accounts/{id}/deals/{deal}/lost", post(deals::lost))
        .route("/accounts/{id}/interactions", post(records::log_interaction))
        .route("/accounts/{id}/tasks", post(records::add_task))
        .route("/accounts/{id}/tasks/{task}/done", post(records::complete_task))
        .route("/conflicts", get(inbox::conflicts))
        .route("/accounts/{id}/resolve", post(inbox::resolve))
        .route("/refused", get(inbox::refused))
        .route("/refused/{edit}/discard", post(inbox::discard))
        .route("/refused/{edit}/retry", post(inbox::retry))
        // The rest of the account card, its earlier states, and the settings editor.
        .route("/accounts/{id}/roles", post(party::role))
        .route("/accounts/{id}/ties", post(party::add_tie))
        .route("/accounts/{id}/at/{change}", get(party::at))
        .route("/settings/stages", post(settings::put_stage))
        .route("/settings/reasons", post(settings::add_reason))
        .route("/settings/reasons/remove", post(settings::remove_reason))
}

/// A JSON body; a missing, malformed or mistyped one is a typed 400.
pub(crate) struct Input<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(v)) => Ok(Input(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::BadRequest("the body must be JSON (Content-Type: application/json)".into()))
            }
            Err(JsonRejection::BytesRejection(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge)
            }
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest(format!(
                "the body does not have the expected fields: {}",
                e.body_text().rsplit(": ").next().unwrap_or("unexpected shape")
            ))),
            Err(_) => Err(ApiError::BadRequest("the body is not valid JSON".into())),
        }
    }
}

/// A JSON answer that no cache keeps.
pub(crate) fn reply<T: Serialize>(value: &T) -> Response {
    ([(CACHE_CONTROL, "no-store")], Json(value)).into_response()
}

/// What the page shows of one account.
#[derive(Serialize)]
pub(crate) struct Card {
    account: rapport_core::Account,
    conflicts: Vec<Conflict>,
    /// The document's heads this card shows: an edit of the notes names them
    /// as its base, so typing that arrived since is kept.
    heads: Vec<String>,
    /// The names of the ties' other ends (accounts on this replica, contacts).
    names: BTreeMap<String, String>,
}

pub(crate) fn card_of(state: &AppState, id: AccountId) -> Result<Response, ApiError> {
    let r = state.replica();
    let account = r.account(id)?;
    let card = Card {
        names: party::tie_names(&r, &account),
        conflicts: r.conflicts(id)?,
        heads: r.heads(id)?.iter().map(ToString::to_string).collect(),
        account,
    };
    Ok(reply(&card))
}

/// Makes one edit on the account `id` names (a whole id or a unique prefix),
/// tells sync, and answers the card. On error nothing was changed.
pub(crate) fn edit<T>(
    state: &AppState,
    id: &str,
    f: impl FnOnce(&mut Editor<'_>) -> rapport_core::Result<T>,
) -> Result<Response, ApiError> {
    let id = {
        let mut r = state.replica();
        let id = r.find_account(id)?;
        r.edit(id, f)?;
        id
    };
    state.live.edited(&state.replica);
    card_of(state, id)
}

/// Text that must not be empty once trimmed.
pub(crate) fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::Invalid(rapport_core::Error::InvalidValue {
            field: field.into(),
            reason: "must not be empty".into(),
        }));
    }
    Ok(v)
}

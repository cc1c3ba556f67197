//! Contacts: add, e-mails, phones, deactivate and reactivate, consents and refusals.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::Response;
use rapport_core::{Channel, ConsentStatus, ContactId, NewConsent, NewContact, Phone, PhoneKind};
use serde::Deserialize;

use super::{Input, edit};
use crate::AppState;
use crate::error::ApiError;

fn opt<T: std::str::FromStr<Err = rapport_core::Error>>(value: Option<&str>) -> Result<Option<T>, ApiError> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::parse).transpose().map_err(ApiError::from)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewContactBody {
    name: String,
    job_title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    phone_kind: Option<String>,
    preferred_channel: Option<String>,
}

/// `POST /api/accounts/{id}/contacts {name, job_title?, email?, phone?, phone_kind?, preferred_channel?}`.
pub(crate) async fn add(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<NewContactBody>,
) -> Result<Response, ApiError> {
    let phones = match body.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(number) => vec![Phone {
            kind: opt::<PhoneKind>(body.phone_kind.as_deref())?.unwrap_or(PhoneKind::Work),
            number: number.to_owned(),
        }],
        None => Vec::new(),
    };
    let new = NewContact {
        name: body.name,
        job_title: body.job_title,
        emails: body.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).into_iter().collect::<BTreeSet<_>>(),
        phones,
        preferred_channel: opt::<Channel>(body.preferred_channel.as_deref())?,
        language: None,
    };
    edit(&state, &id, |e| e.add_contact(&new))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    email: String,
}

pub(crate) async fn add_email(
    State(state): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Input(body): Input<EmailBody>,
) -> Result<Response, ApiError> {
    let contact: ContactId = contact.parse()?;
    edit(&state, &id, |e| e.add_email(contact, &body.email))
}

pub(crate) async fn remove_email(
    State(state): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Input(body): Input<EmailBody>,
) -> Result<Response, ApiError> {
    let contact: ContactId = contact.parse()?;
    edit(&state, &id, |e| e.remove_email(contact, &body.email))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhoneBody {
    number: String,
    kind: Option<String>,
}

pub(crate) async fn add_phone(
    State(state): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Input(body): Input<PhoneBody>,
) -> Result<Response, ApiError> {
    let contact: ContactId = contact.parse()?;
    let phone = Phone { kind: opt::<PhoneKind>(body.kind.as_deref())?.unwrap_or(PhoneKind::Work), number: body.number };
    edit(&state, &id, |e| e.add_phone(contact, &phone))
}

pub(crate) async fn remove_phone(
    State(state): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Input(body): Input<PhoneBody>,
) -> Result<Response, ApiError> {
    let contact: ContactId = contact.parse()?;
    edit(&state, &id, |e| e.remove_phone(contact, &body.number))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActiveBody {
    active: bool,
}

/// `POST /api/accounts/{id}/contacts/{contact}/active {active}`: a contact who left, or came back.
pub(crate) async fn set_active(
    State(state): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Input(body): Input<ActiveBody>,
) -> Result<Response, ApiError> {
    let contact: ContactId = contact.parse()?;
    edit(&state, &id, |e| if body.active { e.reactivate_contact(contact) } else { e.deactivate_contact(contact) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentBody {
    channel: String,
    topic: String,
    status: String,
    reason: Option<String>,
}

/// `POST /api/accounts/{id}/contacts/{contact}/consents {channel, topic, status, reason?}`.
pub(crate) async fn consent(
    State(state): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Input(body): Input<ConsentBody>,
) -> Result<Response, ApiError> {
    let contact: ContactId = contact.parse()?;
    let consent = NewConsent {
        channel: body.channel.parse::<Channel>()?,
        topic: super::required("consent.topic", &body.topic)?.to_owned(),
        status: body.status.parse::<ConsentStatus>()?,
        reason: body.reason,
    };
    edit(&state, &id, |e| e.record_consent(contact, &consent))
}

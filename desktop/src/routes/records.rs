//! The interaction log (held ones, planned ones) and tasks.

use axum::extract::{Path, State};
use axum::response::Response;
use rapport_core::{ContactId, DealId, Direction, InteractionKind, InteractionStatus, NewInteraction, NewTask, TaskId};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::{Input, edit};
use crate::AppState;
use crate::error::ApiError;

fn bad_time(field: &str, expected: &str) -> ApiError {
    ApiError::Invalid(rapport_core::Error::InvalidValue { field: field.into(), reason: format!("expected {expected}") })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InteractionBody {
    kind: String,
    subject: String,
    /// `held` (default) or `planned`.
    status: Option<String>,
    /// When it happened or is planned, RFC 3339 (`2026-12-04T10:00:00Z`); default now for a held one.
    when: Option<String>,
    direction: Option<String>,
    notes: Option<String>,
    contact: Option<String>,
    deal: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `POST /api/accounts/{id}/interactions {kind, subject, status?, when?, direction?, notes?, contact?, deal?}`.
pub(crate) async fn log_interaction(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<InteractionBody>,
) -> Result<Response, ApiError> {
    let mut new = NewInteraction::new(body.kind.parse::<InteractionKind>()?, body.subject);
    new.status = match non_empty(&body.status) {
        Some(s) => s.parse::<InteractionStatus>()?,
        None => InteractionStatus::Held,
    };
    let when = non_empty(&body.when)
        .map(|w| {
            OffsetDateTime::parse(w, &time::format_description::well_known::Rfc3339)
                .map_err(|_| bad_time("interaction.when", "a time such as 2026-12-04T10:00:00Z"))
        })
        .transpose()?;
    match new.status {
        InteractionStatus::Planned => {
            new.planned_start =
                Some(when.ok_or_else(|| bad_time("interaction.when", "the planned time of a planned interaction"))?)
        }
        _ => new.actual_start = when,
    }
    new.direction = non_empty(&body.direction).map(str::parse::<Direction>).transpose()?;
    new.notes = body.notes;
    if let Some(c) = non_empty(&body.contact) {
        new.contacts.insert(c.parse::<ContactId>()?);
    }
    new.deal = non_empty(&body.deal).map(str::parse::<DealId>).transpose()?;
    edit(&state, &id, |e| e.log_interaction(&new))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskBody {
    title: String,
    /// An ISO date (`2026-12-31`).
    due: Option<String>,
    assignee: Option<String>,
}

/// `POST /api/accounts/{id}/tasks {title, due?, assignee?}`.
pub(crate) async fn add_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<TaskBody>,
) -> Result<Response, ApiError> {
    let due = non_empty(&body.due)
        .map(|d| {
            Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| bad_time("task.due", "a date such as 2026-12-31"))
        })
        .transpose()?;
    let new = NewTask {
        title: super::required("task.title", &body.title)?.to_owned(),
        due,
        assignee: non_empty(&body.assignee).map(str::to_owned),
    };
    edit(&state, &id, |e| e.add_task(&new))
}

/// `POST /api/accounts/{id}/tasks/{task}/done`.
pub(crate) async fn complete_task(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let task: TaskId = task.parse()?;
    edit(&state, &id, |e| e.complete_task(task))
}

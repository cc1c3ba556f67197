//! Office work on the customer base (ADR 0024): likely duplicates with their
//! reasons and the merge of two accounts, and the bulk reassignment of the
//! list as it is filtered (preview first, names checked against the
//! directory, all accounts changed in one transaction and pushed by sync).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use rapport_core::{FieldChange, Reassignment};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Input, card_of, reply};
use crate::AppState;
use crate::error::ApiError;

/// `GET /api/office/duplicates`: groups of likely duplicate accounts, each
/// with what its accounts share (registration code, e-mail, phone, name).
pub(crate) async fn duplicates(State(state): State<AppState>) -> Result<Response, ApiError> {
    let groups = state.replica().duplicates()?;
    Ok(reply(&groups))
}

/// `GET /api/office/directory`: the owners, teams and territories this
/// device last fetched (`fetched: false` before the first sync).
pub(crate) async fn directory(State(state): State<AppState>) -> Result<Response, ApiError> {
    let directory = state.replica().directory()?;
    Ok(reply(&match directory {
        Some(d) => json!({ "fetched": true, "users": d.users, "teams": d.teams, "territories": d.territories }),
        None => json!({ "fetched": false, "users": [], "teams": [], "territories": [] }),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeBody {
    survivor: String,
    duplicate: String,
}

/// `POST /api/office/merge {survivor, duplicate}`: the duplicate merged into
/// the survivor (ids whole or unique prefixes); answers the survivor's card.
pub(crate) async fn merge(State(state): State<AppState>, Input(body): Input<MergeBody>) -> Result<Response, ApiError> {
    let survivor = {
        let mut r = state.replica();
        let survivor = r.find_account(&body.survivor)?;
        let duplicate = r.find_account(&body.duplicate)?;
        r.merge_accounts(survivor, duplicate)?;
        survivor
    };
    state.live.edited(&state.replica);
    card_of(&state, survivor)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReassignBody {
    /// The list's query parameters as the page filters it (`q`, `owner`, `tag`, …; `limit` is ignored).
    #[serde(default)]
    filter: HashMap<String, String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    territory: Option<String>,
    /// Only say what would change.
    #[serde(default)]
    dry_run: bool,
}

/// One account the reassignment changes.
#[derive(Serialize)]
struct Planned {
    id: String,
    name: String,
    changes: Vec<FieldChange>,
}

/// `POST /api/office/reassign {filter, owner?, team?, territory?, dry_run}`:
/// every account the filter matches (without the list's limit) given to the
/// names, which must be in the directory. Answers `{matched, changes,
/// changed}`: the accounts that change (all of them when `dry_run`, with
/// nothing written), and how many were written.
pub(crate) async fn reassign(
    State(state): State<AppState>,
    Input(body): Input<ReassignBody>,
) -> Result<Response, ApiError> {
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let to = Reassignment { owner: blank(body.owner), team: blank(body.team), territory: blank(body.territory) };
    let mut query = body.filter;
    query.remove("limit");
    let mut filter = super::accounts::filter(&query)?;
    filter.limit = None;
    let (matched, planned, changed) = {
        let mut r = state.replica();
        r.check_reassignment(&to)?;
        let matched = r.list(&filter)?;
        let mut planned = Vec::new();
        for s in &matched {
            let changes = to.changes(s)?;
            if !changes.is_empty() {
                planned.push(Planned { id: s.id.to_string(), name: s.name.clone(), changes });
            }
        }
        let changed = if body.dry_run || planned.is_empty() {
            0
        } else {
            r.reassign(&matched.iter().map(|s| s.id).collect::<Vec<_>>(), &to)?.len()
        };
        (matched.len(), planned, changed)
    };
    if changed > 0 {
        state.live.edited(&state.replica);
    }
    Ok(reply(&json!({ "matched": matched, "changes": planned, "changed": changed, "dry_run": body.dry_run })))
}

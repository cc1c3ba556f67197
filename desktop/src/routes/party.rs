//! The rest of the account card: roles, ties (to other parties, to groups,
//! from a contact), and the account as it was right after any change.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use rapport_core::{Account, AccountId, ChangeHash, ContactId, NewTie, Replica, Role, TieKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Input, edit, reply, required};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleBody {
    role: String,
    /// `true` gives the party the role, `false` takes it away.
    present: bool,
}

/// `POST /api/accounts/{id}/roles {role, present}`: customer, supplier,
/// partner, reseller, government or internal, added or removed.
pub(crate) async fn role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<RoleBody>,
) -> Result<Response, ApiError> {
    let role: Role = body.role.parse()?;
    edit(&state, &id, |e| if body.present { e.add_role(role) } else { e.remove_role(role) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TieBody {
    /// The other end: an account (whole id or unique prefix) or a contact of this account.
    to: String,
    /// professional, social, personal, parent or group.
    kind: String,
    /// Optional: a contact of this account the tie starts from (default: the account itself).
    from: Option<String>,
    /// Optional: the role in the tie ("distributor", "board member", …).
    role: Option<String>,
}

fn bad_end(field: &str, reason: &str) -> ApiError {
    ApiError::Invalid(rapport_core::Error::InvalidValue { field: field.into(), reason: reason.into() })
}

/// A contact of `account` by its id, or `None` when `text` is no such contact.
fn contact_of(account: &Account, text: &str) -> Option<ContactId> {
    text.trim().parse::<ContactId>().ok().filter(|c| account.contact(*c).is_some())
}

/// `POST /api/accounts/{id}/ties {to, kind, from?, role?}`: a tie from this
/// account (or one of its contacts) to another account or a contact. A group
/// is an account too: a `group` tie to it makes this party a member.
pub(crate) async fn add_tie(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Input(body): Input<TieBody>,
) -> Result<Response, ApiError> {
    let kind: TieKind = body.kind.parse()?;
    let (account, from, to) = {
        let r = state.replica();
        let account_id = r.find_account(&id)?;
        let account = r.account(account_id)?;
        let from = match body.from.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => account_id.0,
            Some(f) => contact_of(&account, f).ok_or_else(|| bad_end("tie.from", "not a contact of this account"))?.0,
        };
        let to_text = required("tie.to", &body.to)?;
        let to = match contact_of(&account, to_text) {
            Some(c) => c.0,
            None => match r.find_account(to_text) {
                Ok(other) => other.0,
                Err(rapport_core::Error::NotFound { .. }) => {
                    return Err(bad_end("tie.to", "no account or contact of this account has this id"));
                }
                Err(e) => return Err(e.into()),
            },
        };
        (account_id, from, to)
    };
    let new = NewTie { from, to, kind, role: body.role.clone() };
    edit(&state, &account.to_string(), |e| e.add_tie(&new))
}

/// The names of the ends of the account's ties: its contacts, and accounts
/// this replica holds; ends it does not know are left out (the page shows the id).
pub(crate) fn tie_names(r: &Replica, account: &Account) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let mut name = |id: Uuid| {
        if names.contains_key(&id.to_string()) {
            return;
        }
        let found = match account.contact(ContactId(id)) {
            Some(c) => Some(c.name.clone()),
            None if id == account.id.0 => Some(account.party.name.clone()),
            None => r.summary(AccountId(id)).ok().map(|s| s.name),
        };
        if let Some(n) = found {
            names.insert(id.to_string(), n);
        }
    };
    for tie in &account.ties {
        name(tie.from);
        name(tie.to);
    }
    names
}

/// The card of an earlier state: read-only, no conflicts, the change it follows.
#[derive(Serialize)]
struct PastCard {
    account: Account,
    /// The change right after which the account is shown.
    at_change: String,
    names: BTreeMap<String, String>,
}

/// `GET /api/accounts/{id}/at/{change}`: the account as it was right after
/// the change (a `hash` from its history).
pub(crate) async fn at(
    State(state): State<AppState>,
    Path((id, change)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let hash: ChangeHash = change.trim().parse().map_err(|_| {
        ApiError::BadRequest("the change must be a change hash from the account's history (64 hex digits)".into())
    })?;
    let r = state.replica();
    let id = r.find_account(&id)?;
    let account = r.account_at(id, &[hash])?;
    let card = PastCard { names: tie_names(&r, &account), at_change: hash.to_string(), account };
    Ok(reply(&card))
}

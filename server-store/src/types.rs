//! The values the directory speaks, the same for every backend.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Role;

/// The current rules of a device's user: name, role, teams and territories,
/// as the permission rules see them (`rapport_core::rules`).
pub use rapport_core::rules::Principal as Subject;

/// An authenticated caller: the device a token belongs to and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub device_id: i64,
    pub user: String,
    pub role: Role,
}

/// What opening the database set up for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The admin user was created by this start.
    pub created_admin: bool,
    /// A freshly generated admin device token, to be shown once.
    pub new_token: Option<String>,
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub name: String,
    pub role: String,
    pub teams: BTreeSet<String>,
    pub territories: BTreeSet<String>,
    pub deleted: bool,
}

/// A device as listed (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    pub id: i64,
    pub user: String,
    pub name: String,
    pub created_at: i64,
    pub revoked: bool,
    /// Automerge actor ids bound to the device, hex.
    pub actors: Vec<String>,
    /// Set when the device was revoked as lost (`device revoke --wipe`).
    pub wipe: Option<WipeInfo>,
}

/// A remote wipe: when it was asked for and, once the device erased its
/// data, when it said so and what unsynced work was lost with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WipeInfo {
    /// Server time of `device revoke --wipe`, milliseconds since the Unix epoch (UTC).
    pub requested_at: i64,
    /// Server time the device reported its data erased; `None` until it does.
    pub done_at: Option<i64>,
    /// Documents with edits the server never received, erased with the device.
    pub lost_documents: Option<i64>,
    /// Changes the server never received (edits and edits set aside after a refusal), erased with the device.
    pub lost_changes: Option<i64>,
}

/// What a wiped device reports it erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WipeReport {
    pub lost_documents: i64,
    pub lost_changes: i64,
}

/// A new device and its token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewDevice {
    pub user: String,
    pub device_id: i64,
    pub token: String,
}

/// What to change about a user; `None` leaves it as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserChange {
    pub role: Option<String>,
    pub teams: Option<BTreeSet<String>>,
    pub territories: Option<BTreeSet<String>>,
}

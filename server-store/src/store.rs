//! [`DirectoryStore`]: the directory's operations, whatever holds them.

use crate::{
    AdminError, Bootstrap, DeviceInfo, NewDevice, Principal, Subject, TokenHash, UserChange, UserInfo, WipeReport,
};

/// Users, teams, territories, devices and their tokens.
///
/// Synchronous, like core's `ServerStore`: the server calls the directory on
/// its database thread, and the PostgreSQL backend blocks on a runtime of
/// its own (ADR 0017). Every method takes `&self`: a backend is a handle on
/// storage (a borrowed SQLite connection, a pool), and each write is one
/// transaction of its own, committed before the method returns; a refused
/// write leaves nothing behind.
///
/// Backends apply the rules of [`crate::rules`] (names, roles, the built-in
/// admin) rather than their own, in the order given below, so the same
/// request gets the same refusal everywhere; `conformance` checks it.
pub trait DirectoryStore {
    /// Creates the admin user on first start. `admin_token` (from the
    /// environment, for automation) is registered as an admin device
    /// ("automation") if it is not yet; otherwise a fresh token is generated
    /// for a "first device" when the admin is created, and returned once.
    fn bootstrap(&self, admin_token: Option<&str>) -> Result<Bootstrap, AdminError>;

    /// The user and device a token belongs to, unless unknown, revoked or
    /// deleted (or the user's stored role is one this server does not know).
    fn authenticate(&self, hash: &TokenHash) -> Result<Option<Principal>, AdminError>;

    /// The current rules for a device's user, or `None` if the device was
    /// revoked or its user deleted since it authenticated.
    fn subject(&self, device_id: i64) -> Result<Option<Subject>, AdminError>;

    /// Creates a user with a first device; returns the device's token (shown
    /// once). Checks the name, then the role, then that no user (deleted
    /// ones included) has the name, then teams and territories, then the
    /// device name.
    fn add_user(&self, name: &str, role: &str, change: &UserChange, device: &str) -> Result<NewDevice, AdminError>;

    /// Adds another device (and token) to an undeleted user.
    fn add_device(&self, user: &str, device: &str) -> Result<NewDevice, AdminError>;

    /// Changes a user's role, teams or territories (a set given replaces the
    /// old one); takes effect at each device's next request. Teams must
    /// exist; territory names are trimmed (names equal once trimmed are one).
    fn set_user(&self, name: &str, change: &UserChange) -> Result<(), AdminError>;

    /// Deletes a user (kept, marked deleted, for the audit log) and revokes
    /// every device of theirs. The built-in admin cannot be deleted.
    fn delete_user(&self, name: &str) -> Result<(), AdminError>;

    /// Every user, deleted ones included, by name (in code point order).
    fn list_users(&self) -> Result<Vec<UserInfo>, AdminError>;

    /// Adds a team.
    fn add_team(&self, name: &str) -> Result<(), AdminError>;

    /// Every team, by name (in code point order).
    fn list_teams(&self) -> Result<Vec<String>, AdminError>;

    /// Every territory a user works in, and, where the backend also holds
    /// the accounts' scope index, every territory an account is placed in;
    /// each once, in code point order.
    fn list_territories(&self) -> Result<Vec<String>, AdminError>;

    /// A device's name, unless it is unknown or revoked.
    fn device_name(&self, id: i64) -> Result<Option<String>, AdminError>;

    /// Every device (never its token), by id.
    fn list_devices(&self) -> Result<Vec<DeviceInfo>, AdminError>;

    /// Revokes a device's token: refused from the next request on. Revoking
    /// again changes nothing.
    fn revoke_device(&self, id: i64) -> Result<(), AdminError>;

    /// Revokes a device as lost: its token is refused from the next request
    /// on, and answered `410 device_wiped`, which tells the device to erase
    /// its data. Asking again (or after a plain revoke) is allowed; the
    /// first request's time is kept.
    fn revoke_device_for_wipe(&self, id: i64) -> Result<(), AdminError>;

    /// The device a token belongs to if it was revoked as lost, whether or
    /// not it has reported its data erased yet.
    fn wiped_device(&self, hash: &TokenHash) -> Result<Option<i64>, AdminError>;

    /// Records that a device revoked as lost erased its data, and what
    /// unsynced work went with it. Only the first report counts (the device
    /// has nothing left to count after it): `false` when one was recorded
    /// before, or the device was not revoked as lost.
    fn record_wipe_done(&self, device_id: i64, report: WipeReport) -> Result<bool, AdminError>;

    /// Whether a device may still connect.
    fn device_active(&self, id: i64) -> Result<bool, AdminError> {
        Ok(self.subject(id)?.is_some())
    }
}

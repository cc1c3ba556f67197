//! One conformance suite for the access rules on a backend's storage
//! ([`crate::access::RulesAccess`] over its `AccessStore`, with its scope
//! index and what each device holds), run against the server's SQLite file
//! (`server/tests/store_conformance.rs`) and PostgreSQL
//! (`store-postgres/tests/store_conformance.rs`). Real replicas sync
//! through the backend as a server node handles a request.
//!
//! ```text
//! rapport_server_store::access_conformance_tests!(my_backend_for_a_test());
//! ```
//!
//! Enabled by the `conformance` feature.

use std::collections::BTreeSet;

use rapport_core::sync::{SyncRequest, SyncResponse};
use rapport_core::{AccountId, DeviceIdentity, NewAccount, Replica, SyncLimits};
use tempfile::TempDir;

use crate::{DirectoryStore, Principal, TokenHash, UserChange};

/// A database under test, handling sync requests as a server node does.
pub trait AccessBackend {
    /// The directory's handle.
    type Directory<'a>: DirectoryStore
    where
        Self: 'a;

    /// A handle on the backend's directory.
    fn directory(&self) -> Self::Directory<'_>;

    /// Handles one sync request of `principal` as a server node does: the
    /// device's current rules applied by `RulesAccess` over the backend's
    /// storage, its actor id bound, the audit and what the device holds
    /// written, committed if it succeeds. `Err`: the request was refused
    /// or failed as a whole (the backend's error, as text).
    fn sync(
        &mut self,
        principal: &Principal,
        request: &SyncRequest,
        max_doc_bytes: u64,
    ) -> Result<SyncResponse, String>;
}

/// Instantiates every conformance test as a `#[test]` in the calling module.
#[macro_export]
macro_rules! access_conformance_tests {
    ($backend:expr) => {
        $crate::access_conformance_tests!(@tests $backend;
            the_scope_decides_who_receives_an_account,
            an_account_outside_the_users_scope_is_refused,
            an_actor_id_is_bound_to_one_device,
            a_reassigned_account_leaves_one_device_and_reaches_another,
            a_document_over_the_size_limit_is_refused,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut backend = $backend;
                $crate::access_conformance::$name(&mut backend);
            }
        )*
    };
}

/// The document size limit the tests run with.
pub(crate) const LIMIT: u64 = 1 << 20;

/// A user's device: its principal and its replica.
pub(crate) struct Device {
    pub(crate) principal: Principal,
    pub(crate) replica: Replica,
    _dir: TempDir,
}

/// What syncing to completion did.
#[derive(Debug, Default)]
pub(crate) struct Synced {
    pulled: usize,
    pub(crate) rejected: Vec<(String, String)>,
    removed: BTreeSet<String>,
}

fn names(list: &[&str]) -> Option<BTreeSet<String>> {
    Some(list.iter().map(|s| (*s).to_owned()).collect())
}

/// Adds a user with a device; the replica works as that user.
pub(crate) fn device<B: AccessBackend>(
    backend: &B,
    name: &str,
    role: &str,
    teams: &[&str],
    territories: &[&str],
) -> Device {
    let dir = backend.directory();
    for team in teams {
        if !dir.list_teams().expect("teams list").iter().any(|t| t == team) {
            dir.add_team(team).expect("a team is added");
        }
    }
    let change = UserChange { role: None, teams: names(teams), territories: names(territories) };
    let created = dir.add_user(name, role, &change, "phone").expect("a user is added");
    let principal =
        dir.authenticate(&TokenHash::of(&created.token)).expect("authenticates").expect("a new token is known");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let replica = Replica::open(tmp.path().join("replica.db"), &DeviceIdentity::new(name, format!("{name}'s phone")))
        .expect("a replica opens");
    Device { principal, replica, _dir: tmp }
}

pub(crate) fn sync<B: AccessBackend>(backend: &mut B, device: &mut Device, limit: u64) -> Synced {
    let mut out = Synced::default();
    for _ in 0..50 {
        let (request, plan) = device.replica.sync_request(SyncLimits::default()).expect("a sync request");
        let response = backend.sync(&device.principal, &request, limit).unwrap_or_else(|e| panic!("sync failed: {e}"));
        let report = device.replica.sync_apply(&plan, &response).expect("the response applies");
        out.pulled += report.pulled_docs;
        out.rejected.extend(report.rejected);
        out.removed.extend(report.removed);
        if !report.more && device.replica.unsynced_count().expect("unsynced") == 0 {
            return out;
        }
    }
    panic!("the sync did not finish");
}

fn holds(device: &Device, id: AccountId) -> bool {
    device.replica.account_ids().expect("the replica lists its accounts").contains(&id)
}

/// A new account, owned by `owner` (`None`: `device`'s user), in a team and a territory.
fn account(device: &mut Device, name: &str, owner: Option<&str>, team: &str, territory: &str) -> AccountId {
    let mut new = NewAccount::new(name);
    new.owner = owner.map(str::to_owned);
    new.team = Some(team.to_owned());
    new.territory = Some(territory.to_owned());
    device.replica.create_account(&new).expect("an account is created")
}

/// A rep's account reaches who may see it (a rep of its territory, a
/// manager of its team, office staff) and no one else.
pub fn the_scope_decides_who_receives_an_account<B: AccessBackend>(backend: &mut B) {
    let mut olena = device(backend, "Олена", "rep", &["північ"], &["Київ"]);
    let mut taras = device(backend, "Тарас", "rep", &[], &["Київ"]);
    let mut petro = device(backend, "Петро", "rep", &["південь"], &["Одеса"]);
    let mut maria = device(backend, "Марія", "manager", &["північ"], &[]);
    let mut oksana = device(backend, "Оксана", "manager", &["південь"], &[]);
    let mut ivan = device(backend, "Іван", "office", &[], &[]);
    let id = account(&mut olena, "Зоря", None, "північ", "Київ");
    let pushed = sync(backend, &mut olena, LIMIT);
    assert!(pushed.rejected.is_empty(), "{pushed:?}");
    let observers =
        [(&mut taras, true), (&mut petro, false), (&mut maria, true), (&mut oksana, false), (&mut ivan, true)];
    for (who, sees) in observers {
        sync(backend, who, LIMIT);
        assert_eq!(holds(who, id), sees, "{} receives the account: {sees}", who.principal.user);
    }
    // The directory lists the territories accounts are placed in, too.
    account(&mut ivan, "Схід", Some("Тарас"), "північ", "Харків");
    let pushed = sync(backend, &mut ivan, LIMIT);
    assert!(pushed.rejected.is_empty(), "{pushed:?}");
    let territories = backend.directory().list_territories().expect("territories list");
    assert_eq!(territories, ["Київ", "Одеса", "Харків"], "users' and accounts' territories, once, in order");
}

/// A rep may not create an account for someone else (outside their
/// scope): the push is refused with a reason, and no one receives it.
pub fn an_account_outside_the_users_scope_is_refused<B: AccessBackend>(backend: &mut B) {
    let mut olena = device(backend, "Олена", "rep", &[], &["Київ"]);
    let mut maria = device(backend, "Марія", "office", &[], &[]);
    let id = account(&mut olena, "Світанок", Some("Петро"), "південь", "Одеса");
    let pushed = sync(backend, &mut olena, LIMIT);
    assert_eq!(pushed.rejected.len(), 1, "{pushed:?}");
    assert!(pushed.rejected[0].1.contains("scope"), "the reason names the scope: {:?}", pushed.rejected);
    sync(backend, &mut maria, LIMIT);
    assert!(!holds(&maria, id), "a refused account is stored nowhere");
}

/// A request replayed with another device's token is refused whole: the
/// actor id is bound to the device that used it first.
pub fn an_actor_id_is_bound_to_one_device<B: AccessBackend>(backend: &mut B) {
    let mut olena = device(backend, "Олена", "rep", &[], &["Київ"]);
    let other = device(backend, "Тарас", "rep", &[], &["Київ"]);
    let id = account(&mut olena, "Зоря", None, "північ", "Київ");
    sync(backend, &mut olena, LIMIT);
    olena.replica.edit(id, |e| e.set_field("party.industry", "Енергетика")).expect("an edit");
    let (request, _) = olena.replica.sync_request(SyncLimits::default()).expect("a sync request");
    let replayed = backend.sync(&other.principal, &request, LIMIT);
    assert!(replayed.is_err(), "a request with another device's actor id is refused");
    let actor: String = request.actor.iter().map(|b| format!("{b:02x}")).collect();
    let devices = backend.directory().list_devices().expect("devices list");
    let bound = |device: i64| devices.iter().find(|d| d.id == device).map(|d| d.actors.clone()).unwrap_or_default();
    assert_eq!(bound(olena.principal.device_id), vec![actor], "the directory lists the actor id bound to its device");
    assert!(bound(other.principal.device_id).is_empty(), "and none for the device whose request was refused");
    let pushed = sync(backend, &mut olena, LIMIT);
    assert!(pushed.rejected.is_empty(), "the owner's device still syncs: {pushed:?}");
}

/// An administrator reassigns an account to another rep and territory: it
/// leaves the old rep's device (listed as removed) and reaches the new
/// rep's, as the scope index rewritten with the change says.
pub fn a_reassigned_account_leaves_one_device_and_reaches_another<B: AccessBackend>(backend: &mut B) {
    let mut olena = device(backend, "Олена", "rep", &[], &["Київ"]);
    let mut petro = device(backend, "Петро", "rep", &[], &["Одеса"]);
    let mut maria = device(backend, "Марія", "admin", &[], &[]);
    let id = account(&mut olena, "Зоря", None, "північ", "Київ");
    sync(backend, &mut olena, LIMIT);
    sync(backend, &mut petro, LIMIT);
    assert!(!holds(&petro, id));
    sync(backend, &mut maria, LIMIT);
    maria.replica.edit(id, |e| e.set_field("party.owner", "Петро")).expect("a new owner");
    maria.replica.edit(id, |e| e.set_field("party.territory", "Одеса")).expect("a new territory");
    let pushed = sync(backend, &mut maria, LIMIT);
    assert!(pushed.rejected.is_empty(), "an administrator may reassign: {pushed:?}");
    let olena_after = sync(backend, &mut olena, LIMIT);
    assert!(olena_after.removed.contains(&id.to_string()), "the account leaves the old rep: {olena_after:?}");
    let petro_after = sync(backend, &mut petro, LIMIT);
    assert!(petro_after.pulled >= 1 && holds(&petro, id), "the account reaches the new rep: {petro_after:?}");
}

/// A push that would take a document past the size limit is refused with
/// a reason; the document is not stored.
pub fn a_document_over_the_size_limit_is_refused<B: AccessBackend>(backend: &mut B) {
    let mut ivan = device(backend, "Іван", "office", &[], &[]);
    let mut maria = device(backend, "Марія", "admin", &[], &[]);
    let id = account(&mut ivan, "Велика", None, "північ", "Київ");
    ivan.replica.edit(id, |e| e.set_field("party.industry", &"я".repeat(10_000))).expect("a long value");
    let pushed = sync(backend, &mut ivan, 6_000);
    assert_eq!(pushed.rejected.len(), 1, "{pushed:?}");
    assert!(pushed.rejected[0].1.contains("limit"), "the reason names the limit: {:?}", pushed.rejected);
    sync(backend, &mut maria, LIMIT);
    assert!(!holds(&maria, id), "the refused document is stored nowhere");
}

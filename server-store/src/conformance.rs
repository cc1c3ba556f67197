//! One conformance suite for [`DirectoryStore`], run against every backend:
//! the server's SQLite file (`server/tests/directory_conformance.rs`) and
//! PostgreSQL (`store-postgres/tests/directory_conformance.rs`).
//!
//! A backend implements [`DirectoryBackend`] (how to get a directory handle
//! on a fresh, empty database whose schema is in place) and instantiates
//! every test with [`directory_conformance_tests!`]:
//!
//! ```text
//! rapport_server_store::directory_conformance_tests!(my_backend_for_a_test());
//! ```
//!
//! Enabled by the `conformance` feature.

use std::collections::BTreeSet;

use crate::rules::{ADMIN_USER, MAX_NAME_LEN};
use crate::{AdminError, DirectoryStore, NewDevice, Role, TokenHash, UserChange, WipeReport};

/// A directory under test.
pub trait DirectoryBackend {
    /// The handle the operations run through.
    type Store<'a>: DirectoryStore
    where
        Self: 'a;

    /// A handle on the backend's directory.
    fn store(&mut self) -> Self::Store<'_>;
}

/// Instantiates every conformance test as a `#[test]` in the calling module.
/// `$backend` is an expression giving a fresh, empty [`DirectoryBackend`];
/// it is evaluated once per test.
#[macro_export]
macro_rules! directory_conformance_tests {
    ($backend:expr) => {
        $crate::directory_conformance_tests!(@tests $backend;
            bootstrap_creates_the_admin_once,
            bootstrap_registers_an_automation_token_once,
            added_users_authenticate_with_their_rules,
            user_names_are_unique_and_validated,
            a_refused_user_leaves_nothing_behind,
            set_user_changes_what_the_subject_says,
            set_user_refusals_change_nothing,
            the_built_in_admin_stays_an_admin,
            deleted_users_lose_their_devices,
            devices_are_added_listed_and_revoked,
            teams_are_unique_and_validated,
            territories_are_listed_once_in_order,
            the_wipe_flow,
            unknown_tokens_and_devices,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut backend = $backend;
                $crate::conformance::$name(&mut backend);
            }
        )*
    };
}

fn ok<T>(what: &str, result: Result<T, AdminError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn memberships(teams: &[&str], territories: &[&str]) -> UserChange {
    UserChange { role: None, teams: Some(names(teams)), territories: Some(names(territories)) }
}

fn hash(device: &NewDevice) -> TokenHash {
    TokenHash::of(&device.token)
}

macro_rules! assert_refused {
    ($result:expr, $pattern:pat, $what:expr) => {
        match $result {
            Err($pattern) => {}
            Err(other) => panic!("{}: refused with the wrong error: {other}", $what),
            Ok(_) => panic!("{}: was not refused", $what),
        }
    };
}

/// The first start creates the admin with a first device whose token is
/// shown once; later starts create nothing.
pub fn bootstrap_creates_the_admin_once<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    let first = ok("bootstrap", dir.bootstrap(None));
    assert!(first.created_admin);
    let token = first.new_token.expect("a fresh admin gets a token");
    let admin = ok("authenticate", dir.authenticate(&TokenHash::of(&token))).expect("the admin token authenticates");
    assert_eq!((admin.user.as_str(), admin.role), (ADMIN_USER, Role::Admin));
    let devices = ok("list_devices", dir.list_devices());
    assert_eq!(devices.len(), 1);
    assert_eq!(
        (devices[0].id, devices[0].name.as_str(), devices[0].user.as_str()),
        (admin.device_id, "first device", ADMIN_USER)
    );

    let again = ok("bootstrap again", dir.bootstrap(None));
    assert_eq!((again.created_admin, again.new_token), (false, None));
    assert_eq!(ok("list_devices", dir.list_devices()).len(), 1, "a second start adds no device");
    let users = ok("list_users", dir.list_users());
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].name.as_str(), users[0].role.as_str(), users[0].deleted), (ADMIN_USER, "admin", false));
}

/// A token given for automation becomes an admin device once, however
/// often the server starts with it; no other token is generated.
pub fn bootstrap_registers_an_automation_token_once<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    let token = "automation-token-0123456789";
    let first = ok("bootstrap", dir.bootstrap(Some(token)));
    assert_eq!((first.created_admin, first.new_token), (true, None));
    ok("bootstrap again", dir.bootstrap(Some(token)));
    let devices = ok("list_devices", dir.list_devices());
    assert_eq!(devices.len(), 1, "the token is registered once");
    assert_eq!(devices[0].name, "automation");
    let admin =
        ok("authenticate", dir.authenticate(&TokenHash::of(token))).expect("the automation token authenticates");
    assert_eq!((admin.user.as_str(), admin.role, admin.device_id), (ADMIN_USER, Role::Admin, devices[0].id));

    let other = "another-automation-token-42";
    ok("bootstrap with another token", dir.bootstrap(Some(other)));
    assert_eq!(ok("list_devices", dir.list_devices()).len(), 2, "a new token is one more admin device");
    assert!(ok("authenticate", dir.authenticate(&TokenHash::of(other))).is_some());
}

/// A user is created with a first device; its token authenticates as that
/// user, and the subject carries the role, teams and territories. Names are
/// trimmed; Cyrillic names are names.
pub fn added_users_authenticate_with_their_rules<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    ok("add_team", dir.add_team("Північ"));
    let olena = ok(
        "add_user",
        dir.add_user(" Олена Петренко ", "rep", &memberships(&["Північ"], &["Київ", " Київ "]), " телефон "),
    );
    assert_eq!(olena.user, "Олена Петренко", "the name is stored trimmed");
    assert_eq!(olena.token.len(), 64, "tokens are 32 bytes as hex");

    let principal = ok("authenticate", dir.authenticate(&hash(&olena))).expect("the new token authenticates");
    assert_eq!(principal.user, "Олена Петренко");
    assert_eq!((principal.role, principal.device_id), (Role::Rep, olena.device_id));
    let subject = ok("subject", dir.subject(olena.device_id)).expect("the device has a subject");
    assert_eq!(subject.user, "Олена Петренко");
    assert_eq!(subject.role, Role::Rep);
    assert_eq!(subject.teams, names(&["Північ"]));
    assert_eq!(subject.territories, names(&["Київ"]), "names equal once trimmed are one territory");
    assert!(ok("device_active", dir.device_active(olena.device_id)));

    let users = ok("list_users", dir.list_users());
    let listed = users.iter().find(|u| u.name == "Олена Петренко").expect("the user is listed");
    assert_eq!((listed.role.as_str(), listed.deleted), ("rep", false));
    assert_eq!((&listed.teams, &listed.territories), (&names(&["Північ"]), &names(&["Київ"])));
    let device = ok("list_devices", dir.list_devices()).into_iter().find(|d| d.id == olena.device_id);
    let device = device.expect("the device is listed");
    assert_eq!((device.user.as_str(), device.name.as_str(), device.revoked), ("Олена Петренко", "телефон", false));
    assert!(device.actors.is_empty() && device.wipe.is_none());
    assert!(device.created_at > 1_600_000_000_000, "created_at is milliseconds since the Unix epoch");

    let bare = ok("add_user without memberships", dir.add_user("bob", "manager", &UserChange::default(), "laptop"));
    let subject = ok("subject", dir.subject(bare.device_id)).expect("the device has a subject");
    assert!(subject.teams.is_empty() && subject.territories.is_empty());
    assert_eq!(subject.role, Role::Manager);
    assert_ne!(bare.token, olena.token, "every device gets its own token");
}

/// User names are unique (a deleted user's name included, as the audit log
/// keeps naming them) and must be names; roles must be known ones.
pub fn user_names_are_unique_and_validated<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    let none = UserChange::default();
    ok("add_user", dir.add_user("olena", "rep", &none, "phone"));
    assert_refused!(dir.add_user("olena", "rep", &none, "phone"), AdminError::UserExists, "a second olena");
    assert_refused!(dir.add_user("  olena\n", "office", &none, "phone"), AdminError::UserExists, "olena untrimmed");
    assert_refused!(dir.add_user(ADMIN_USER, "admin", &none, "phone"), AdminError::UserExists, "a second admin");
    ok("add_user", dir.add_user("gone", "rep", &none, "phone"));
    ok("delete_user", dir.delete_user("gone"));
    assert_refused!(dir.add_user("gone", "rep", &none, "phone"), AdminError::UserExists, "a deleted user's name");

    let too_long = "ж".repeat(MAX_NAME_LEN + 1);
    for bad in ["", "   ", "bell\u{7}", "new\nline", "del\u{7f}", too_long.as_str()] {
        assert_refused!(dir.add_user(bad, "rep", &none, "phone"), AdminError::InvalidName, format!("user {bad:?}"));
    }
    let longest = "ж".repeat(MAX_NAME_LEN);
    ok("a 64-letter Cyrillic name", dir.add_user(&longest, "rep", &none, "phone"));
    ok("a Cyrillic name with an apostrophe", dir.add_user("Мар'яна", "office", &none, "планшет"));
    for bad in ["", "Rep", "superuser"] {
        assert_refused!(
            dir.add_user("newcomer", bad, &none, "phone"),
            AdminError::InvalidRole,
            format!("role {bad:?}")
        );
    }
    assert_refused!(
        dir.add_user("newcomer", "boss", &none, ""),
        AdminError::InvalidRole,
        "the role is checked before the device name"
    );
    assert_refused!(
        dir.add_user("olena", "rep", &none, ""),
        AdminError::UserExists,
        "the name's uniqueness is checked before the device name"
    );
    let listed: Vec<String> = ok("list_users", dir.list_users()).into_iter().map(|u| u.name).collect();
    assert!(!listed.iter().any(|n| n == "newcomer"));
}

/// A user refused for an unknown team, an invalid territory or an invalid
/// device name is not created at all, nor is any device.
pub fn a_refused_user_leaves_nothing_behind<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    ok("add_team", dir.add_team("north"));
    let devices = ok("list_devices", dir.list_devices()).len();
    assert_refused!(
        dir.add_user("olena", "rep", &memberships(&["north", "south"], &[]), "phone"),
        AdminError::UnknownTeam,
        "an unknown team"
    );
    assert_refused!(
        dir.add_user("olena", "rep", &memberships(&["north"], &["Київ", "\u{1b}[31m"]), "phone"),
        AdminError::InvalidName,
        "an invalid territory"
    );
    assert_refused!(
        dir.add_user("olena", "rep", &memberships(&["north"], &["Київ"]), " \t "),
        AdminError::InvalidName,
        "an invalid device name"
    );
    assert_eq!(ok("list_users", dir.list_users()).len(), 1, "only the admin exists");
    assert_eq!(ok("list_devices", dir.list_devices()).len(), devices, "no device was added");
    assert!(ok("list_territories", dir.list_territories()).is_empty(), "no territory was kept");
    ok("the same user, now valid", dir.add_user("olena", "rep", &memberships(&["north"], &["Київ"]), "phone"));
}

/// A role, teams or territories given replace the old ones, and the next
/// subject says so; what is not given stays.
pub fn set_user_changes_what_the_subject_says<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    for team in ["north", "south"] {
        ok("add_team", dir.add_team(team));
    }
    let olena = ok("add_user", dir.add_user("olena", "rep", &memberships(&["north"], &["Kyiv", "Lviv"]), "phone"));

    ok("set role", dir.set_user("olena", &UserChange { role: Some("manager".into()), ..UserChange::default() }));
    let subject = ok("subject", dir.subject(olena.device_id)).expect("a subject");
    assert_eq!(subject.role, Role::Manager);
    assert_eq!(subject.teams, names(&["north"]), "teams not given stay");
    assert_eq!(subject.territories, names(&["Kyiv", "Lviv"]), "territories not given stay");
    let principal = ok("authenticate", dir.authenticate(&hash(&olena))).expect("still authenticates");
    assert_eq!(principal.role, Role::Manager, "authentication reads the new role");

    ok("set teams", dir.set_user("olena", &UserChange { teams: Some(names(&["south"])), ..UserChange::default() }));
    let subject = ok("subject", dir.subject(olena.device_id)).expect("a subject");
    assert_eq!(subject.teams, names(&["south"]), "the teams given replace the old ones");
    assert_eq!(subject.territories, names(&["Kyiv", "Lviv"]));

    let territories = Some(names(&["  Одеса", "Одеса  ", "Харків"]));
    ok("set territories", dir.set_user("olena", &UserChange { territories, ..UserChange::default() }));
    let subject = ok("subject", dir.subject(olena.device_id)).expect("a subject");
    assert_eq!(subject.territories, names(&["Одеса", "Харків"]));
    assert_eq!(subject.teams, names(&["south"]));

    ok("clear", dir.set_user("olena", &memberships(&[], &[])));
    let subject = ok("subject", dir.subject(olena.device_id)).expect("a subject");
    assert!(subject.teams.is_empty() && subject.territories.is_empty(), "empty sets clear");
    ok("nothing to change", dir.set_user("olena", &UserChange::default()));
    let listed = ok("list_users", dir.list_users()).into_iter().find(|u| u.name == "olena").expect("listed");
    assert_eq!(listed.role, "manager");
}

/// A refused change (unknown user, role or team, invalid territory) leaves
/// the user exactly as before, the parts that were valid included.
pub fn set_user_refusals_change_nothing<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    ok("add_team", dir.add_team("north"));
    let olena = ok("add_user", dir.add_user("olena", "rep", &memberships(&["north"], &["Kyiv"]), "phone"));
    let before = ok("subject", dir.subject(olena.device_id));

    let change = UserChange { role: Some("office".into()), ..UserChange::default() };
    assert_refused!(dir.set_user("nobody", &change), AdminError::UnknownUser, "an unknown user");
    assert_refused!(
        dir.set_user("nobody", &UserChange { role: Some("boss".into()), ..UserChange::default() }),
        AdminError::UnknownUser,
        "the user is looked up before the role is parsed"
    );
    assert_refused!(
        dir.set_user("olena", &UserChange { role: Some("boss".into()), ..UserChange::default() }),
        AdminError::InvalidRole,
        "an unknown role"
    );
    let change = UserChange { role: Some("office".into()), teams: Some(names(&["ghosts"])), territories: None };
    assert_refused!(dir.set_user("olena", &change), AdminError::UnknownTeam, "an unknown team");
    let change = UserChange { role: Some("office".into()), teams: None, territories: Some(names(&["Lviv", ""])) };
    assert_refused!(dir.set_user("olena", &change), AdminError::InvalidName, "an empty territory");
    assert_eq!(ok("subject", dir.subject(olena.device_id)), before, "nothing changed");
}

/// The built-in admin can be neither deleted nor demoted, whoever asks.
pub fn the_built_in_admin_stays_an_admin<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    let token = ok("bootstrap", dir.bootstrap(None)).new_token.expect("a token");
    assert_refused!(dir.delete_user(ADMIN_USER), AdminError::BuiltInAdmin, "deleting the admin");
    for role in ["manager", "office", "rep"] {
        let change = UserChange { role: Some(role.into()), ..UserChange::default() };
        assert_refused!(dir.set_user(ADMIN_USER, &change), AdminError::BuiltInAdmin, format!("demoting to {role}"));
    }
    ok("admin stays admin", dir.set_user(ADMIN_USER, &UserChange { role: Some("admin".into()), ..Default::default() }));
    let admin = ok("authenticate", dir.authenticate(&TokenHash::of(&token))).expect("the admin still authenticates");
    assert_eq!(admin.role, Role::Admin);
    ok("add_team", dir.add_team("north"));
    ok("the admin may join teams", dir.set_user(ADMIN_USER, &memberships(&["north"], &["Kyiv"])));
    let subject = ok("subject", dir.subject(admin.device_id)).expect("a subject");
    assert_eq!((subject.role, subject.teams), (Role::Admin, names(&["north"])));
}

/// A deleted user is kept (listed as deleted), every device of theirs is
/// revoked, and none authenticates; the user can no longer be changed.
pub fn deleted_users_lose_their_devices<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    let phone = ok("add_user", dir.add_user("olena", "rep", &memberships(&[], &["Kyiv"]), "phone"));
    let laptop = ok("add_device", dir.add_device("olena", "laptop"));
    let bob = ok("add_user", dir.add_user("bob", "rep", &UserChange::default(), "phone"));
    assert_refused!(dir.delete_user("nobody"), AdminError::UnknownUser, "an unknown user");

    ok("delete_user", dir.delete_user("olena"));
    for device in [&phone, &laptop] {
        assert!(ok("authenticate", dir.authenticate(&hash(device))).is_none(), "a deleted user's token is refused");
        assert!(ok("subject", dir.subject(device.device_id)).is_none());
        assert!(!ok("device_active", dir.device_active(device.device_id)));
    }
    assert!(ok("authenticate", dir.authenticate(&hash(&bob))).is_some(), "other users are untouched");
    let users = ok("list_users", dir.list_users());
    let olena = users.iter().find(|u| u.name == "olena").expect("a deleted user is still listed");
    assert!(olena.deleted);
    assert_eq!(olena.territories, names(&["Kyiv"]));
    let devices = ok("list_devices", dir.list_devices());
    assert!(devices.iter().filter(|d| d.user == "olena").all(|d| d.revoked), "every device of theirs is revoked");
    assert_eq!(devices.iter().filter(|d| d.user == "olena").count(), 2);

    assert_refused!(dir.delete_user("olena"), AdminError::UnknownUser, "deleting twice");
    assert_refused!(dir.set_user("olena", &UserChange::default()), AdminError::UnknownUser, "changing a deleted user");
    assert_refused!(dir.add_device("olena", "tablet"), AdminError::UnknownUser, "a device for a deleted user");
}

/// Devices are added to users, listed by id, and revoked one at a time.
pub fn devices_are_added_listed_and_revoked<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    let phone = ok("add_user", dir.add_user("olena", "rep", &UserChange::default(), "phone"));
    let laptop = ok("add_device", dir.add_device("olena", "  ноутбук "));
    assert_eq!(laptop.user, "olena");
    assert_ne!(laptop.device_id, phone.device_id);
    let principal = ok("authenticate", dir.authenticate(&hash(&laptop))).expect("the second device authenticates");
    assert_eq!((principal.user.as_str(), principal.device_id), ("olena", laptop.device_id));
    assert_refused!(dir.add_device("nobody", "phone"), AdminError::UnknownUser, "a device for an unknown user");
    assert_refused!(dir.add_device("olena", ""), AdminError::InvalidName, "an empty device name");
    assert_refused!(dir.add_device("olena", &"x".repeat(MAX_NAME_LEN + 1)), AdminError::InvalidName, "a long name");

    let devices = ok("list_devices", dir.list_devices());
    let ids: Vec<i64> = devices.iter().map(|d| d.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "devices are listed by id");
    assert_eq!(devices.len(), 3, "the admin's, the phone and the laptop; refused devices were not added");
    let listed = devices.iter().find(|d| d.id == laptop.device_id).expect("the laptop is listed");
    assert_eq!(listed.name, "ноутбук");
    assert_eq!(ok("device_name", dir.device_name(laptop.device_id)).as_deref(), Some("ноутбук"));
    assert_eq!(ok("device_name", dir.device_name(i64::MAX)), None, "an unknown device has no name");

    ok("revoke_device", dir.revoke_device(phone.device_id));
    assert!(ok("authenticate", dir.authenticate(&hash(&phone))).is_none(), "a revoked token is refused");
    assert!(ok("subject", dir.subject(phone.device_id)).is_none());
    assert!(!ok("device_active", dir.device_active(phone.device_id)));
    assert_eq!(ok("device_name", dir.device_name(phone.device_id)), None, "a revoked device has no name");
    assert!(ok("authenticate", dir.authenticate(&hash(&laptop))).is_some(), "the user's other device still works");
    assert!(ok("device_active", dir.device_active(laptop.device_id)));
    ok("revoking again", dir.revoke_device(phone.device_id));
    assert_refused!(dir.revoke_device(i64::MAX), AdminError::UnknownDevice, "an unknown device");
    let devices = ok("list_devices", dir.list_devices());
    let revoked: Vec<i64> = devices.iter().filter(|d| d.revoked).map(|d| d.id).collect();
    assert_eq!(revoked, vec![phone.device_id]);
    assert!(devices.iter().all(|d| d.wipe.is_none()), "a plain revoke asks for no wipe");
    assert!(ok("wiped_device", dir.wiped_device(&hash(&phone))).is_none(), "a plain revoke is no wipe");
}

/// Team names are unique once trimmed, valid names, listed in code point order.
pub fn teams_are_unique_and_validated<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    assert!(ok("list_teams", dir.list_teams()).is_empty());
    for team in ["south", "North", "  Південь ", "north"] {
        ok("add_team", dir.add_team(team));
    }
    assert_refused!(dir.add_team("south"), AdminError::TeamExists, "a second south");
    assert_refused!(dir.add_team(" Південь"), AdminError::TeamExists, "a team equal once trimmed");
    for bad in ["", "  ", "a\u{0}b", &"ж".repeat(MAX_NAME_LEN + 1)] {
        assert_refused!(dir.add_team(bad), AdminError::InvalidName, format!("team {bad:?}"));
    }
    assert_eq!(ok("list_teams", dir.list_teams()), vec!["North", "north", "south", "Південь"]);
}

/// Territories are the users' (deleted users' included), each once, in code
/// point order.
pub fn territories_are_listed_once_in_order<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    assert!(ok("list_territories", dir.list_territories()).is_empty());
    ok("add_user", dir.add_user("olena", "rep", &memberships(&[], &["Київ", "Lviv"]), "phone"));
    ok("add_user", dir.add_user("bob", "rep", &memberships(&[], &["Lviv", "Odesa", "kyiv"]), "phone"));
    ok("add_user", dir.add_user("gone", "rep", &memberships(&[], &["Zhytomyr"]), "phone"));
    ok("delete_user", dir.delete_user("gone"));
    assert_eq!(ok("list_territories", dir.list_territories()), vec!["Lviv", "Odesa", "Zhytomyr", "kyiv", "Київ"]);
    let users: Vec<String> = ok("list_users", dir.list_users()).into_iter().map(|u| u.name).collect();
    assert_eq!(users, vec!["admin", "bob", "gone", "olena"], "users are listed by name");
}

/// A device revoked as lost: refused, then recognised as wiped, its report
/// recorded once, and the first request's time kept.
pub fn the_wipe_flow<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    let phone = ok("add_user", dir.add_user("olena", "rep", &UserChange::default(), "phone"));
    let laptop = ok("add_device", dir.add_device("olena", "laptop"));
    assert!(ok("wiped_device", dir.wiped_device(&hash(&phone))).is_none(), "an active device is not wiped");
    let report = WipeReport { lost_documents: 2, lost_changes: 7 };
    assert!(!ok("record_wipe_done", dir.record_wipe_done(phone.device_id, report)), "no wipe was asked for");

    ok("revoke_device_for_wipe", dir.revoke_device_for_wipe(phone.device_id));
    assert!(ok("authenticate", dir.authenticate(&hash(&phone))).is_none(), "a lost device's token is refused");
    assert!(!ok("device_active", dir.device_active(phone.device_id)));
    assert_eq!(ok("wiped_device", dir.wiped_device(&hash(&phone))), Some(phone.device_id));
    assert!(ok("authenticate", dir.authenticate(&hash(&laptop))).is_some(), "the user's other device still works");
    let requested = |dir: &B::Store<'_>| {
        let devices = ok("list_devices", dir.list_devices());
        let phone = devices.into_iter().find(|d| d.id == phone.device_id).expect("the phone is listed");
        assert!(phone.revoked);
        phone.wipe.expect("the wipe is listed")
    };
    let wipe = requested(&dir);
    assert!(wipe.requested_at > 1_600_000_000_000, "requested_at is milliseconds since the Unix epoch");
    assert_eq!((wipe.done_at, wipe.lost_documents, wipe.lost_changes), (None, None, None));

    std::thread::sleep(std::time::Duration::from_millis(5));
    ok("asking again", dir.revoke_device_for_wipe(phone.device_id));
    assert_eq!(requested(&dir).requested_at, wipe.requested_at, "the first request's time is kept");

    assert!(ok("record_wipe_done", dir.record_wipe_done(phone.device_id, report)));
    let done = requested(&dir);
    assert!(done.done_at.is_some_and(|at| at >= wipe.requested_at));
    assert_eq!((done.lost_documents, done.lost_changes), (Some(2), Some(7)));
    let later = WipeReport { lost_documents: 0, lost_changes: 0 };
    assert!(!ok("a second report", dir.record_wipe_done(phone.device_id, later)), "only the first report counts");
    assert_eq!(requested(&dir), done, "the second report changed nothing");
    assert_eq!(ok("wiped_device", dir.wiped_device(&hash(&phone))), Some(phone.device_id), "still told to wipe");

    ok("a plain revoke first", dir.revoke_device(laptop.device_id));
    ok("then as lost", dir.revoke_device_for_wipe(laptop.device_id));
    assert_eq!(ok("wiped_device", dir.wiped_device(&hash(&laptop))), Some(laptop.device_id));
    assert_refused!(dir.revoke_device_for_wipe(i64::MAX), AdminError::UnknownDevice, "an unknown device");
    assert!(ok("list_devices", dir.list_devices()).iter().filter(|d| d.wipe.is_some()).count() == 2);
}

/// Tokens and devices the directory never issued are simply unknown.
pub fn unknown_tokens_and_devices<B: DirectoryBackend>(backend: &mut B) {
    let dir = backend.store();
    ok("bootstrap", dir.bootstrap(None));
    let unknown = TokenHash::of("never-issued-token-0000");
    assert!(ok("authenticate", dir.authenticate(&unknown)).is_none());
    assert!(ok("wiped_device", dir.wiped_device(&unknown)).is_none());
    assert!(ok("subject", dir.subject(i64::MAX)).is_none());
    assert!(ok("subject", dir.subject(-1)).is_none());
    assert!(!ok("device_active", dir.device_active(i64::MAX)));
    let report = WipeReport { lost_documents: 0, lost_changes: 0 };
    assert!(!ok("record_wipe_done", dir.record_wipe_done(i64::MAX, report)));
}

//! Group commit on PostgreSQL ([`PgLog::sync_group`]): the pushes of
//! several devices in one transaction, each in a savepoint of its own, one
//! COMMIT. A request refused on its own (its device revoked meanwhile) is
//! answered with its error and leaves the others' changes in place; the
//! stored changes sit at gap-free positions and reach another device.
//! Without PostgreSQL these tests fail.

use rapport_core::SyncLimits;
use rapport_core::sync::ServerStore;
use rapport_core::{DeviceIdentity, NewAccount, Replica};
use rapport_server_store::{DirectoryStore, Principal, TokenHash, UserChange};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgError, PgLog, PgOptions};

struct Device {
    principal: Principal,
    replica: Replica,
    _dir: tempfile::TempDir,
}

fn device(log: &PgLog, name: &str) -> Device {
    let dir = log.directory();
    let created = dir.add_user(name, "office", &UserChange::default(), "desk").expect("a user is added");
    let principal =
        dir.authenticate(&TokenHash::of(&created.token)).expect("authenticates").expect("a new token is known");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let replica = Replica::open(tmp.path().join("replica.db"), &DeviceIdentity::new(name, format!("{name}'s desk")))
        .expect("a replica opens");
    Device { principal, replica, _dir: tmp }
}

#[test]
fn a_group_commits_every_request_but_the_one_refused_on_its_own() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let log = PgLog::connect(db.url(), PgOptions::default()).expect("the database connects and migrates");
    let mut devices: Vec<Device> = ["Оксана", "Богдан", "Ярина"].iter().map(|n| device(&log, n)).collect();
    let mut ids = Vec::new();
    for (i, d) in devices.iter_mut().enumerate() {
        for k in 0..2 {
            ids.push(d.replica.create_account(&NewAccount::new(format!("Клієнт {i}.{k}"))).expect("created"));
        }
    }
    // Богдан's device is revoked after its request was queued.
    log.directory().revoke_device(devices[1].principal.device_id).expect("revoked");
    let plans: Vec<_> =
        devices.iter_mut().map(|d| d.replica.sync_request(SyncLimits::default()).expect("a request")).collect();
    let requests: Vec<_> = devices.iter().zip(&plans).map(|(d, (request, _))| (&d.principal, request)).collect();
    let answers = log.sync_group(&requests, 1 << 20).expect("the group commits");

    assert_eq!(answers.len(), 3);
    assert!(matches!(answers[1], Err(PgError::Revoked)), "{:?}", answers[1].as_ref().map(|(_, s)| s));
    for i in [0, 2] {
        let (response, stats) = answers[i].as_ref().expect("answered");
        assert_eq!(stats.changes_stored, 2, "both accounts of device {i} stored");
        devices[i].replica.sync_apply(&plans[i].1, response).expect("the answer applies");
        assert_eq!(devices[i].replica.unsynced_count().expect("unsynced"), 0, "acknowledged");
    }
    let mut tx = log.begin().expect("a transaction");
    let mut positions: Vec<u64> =
        ids.iter().flat_map(|id| tx.changes_after(&id.to_string(), 0).expect("changes read")).map(|c| c.seq).collect();
    tx.commit().expect("a read commits");
    positions.sort_unstable();
    assert_eq!(positions, [1, 2, 3, 4], "the refused request left no position behind");

    // Another device pulls what the group stored, and nothing of the refused request.
    let mut reader = device(&log, "Аудитор");
    let (request, plan) = reader.replica.sync_request(SyncLimits::default()).expect("a request");
    let (response, _) = log.sync_request(&reader.principal, &request, 1 << 20).expect("a pull");
    reader.replica.sync_apply(&plan, &response).expect("the pull applies");
    let held = reader.replica.account_ids().expect("accounts");
    assert_eq!(held.len(), 4);
    assert!(!held.contains(&ids[2]) && !held.contains(&ids[3]), "the revoked device's accounts were not stored");
}

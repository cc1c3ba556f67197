//! The replica file: durability across restarts, index consistency, sharing,
//! foreign files and schema upgrades.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;

/// Every account's index row agrees with its document.
fn assert_index_matches_documents(replica: &Replica) {
    for id in replica.account_ids().unwrap() {
        let a = replica.account(id).unwrap();
        let s = replica.summary(id).unwrap();
        assert_eq!(s.name, a.party.name);
        assert_eq!(s.owner, a.party.owner);
        assert_eq!(s.team, a.party.team);
        assert_eq!(s.territory, a.party.territory);
        assert_eq!(s.loyalty_rung, a.party.loyalty_rung);
        assert_eq!(s.lifecycle_phase, a.party.lifecycle_phase);
        assert_eq!(s.value_tier, a.party.value_tier);
        assert_eq!(s.status, a.party.status);
        assert_eq!(s.deleted, a.deleted.is_some());
        assert_eq!(s.open_deals as usize, a.deals.iter().filter(|d| d.outcome == DealOutcome::Open).count());
        assert_eq!(s.conflicts as usize, replica.conflicts(id).unwrap().len());
        for tag in &a.party.tags {
            let tagged = replica
                .list(&AccountFilter { tag: Some(tag.clone()), include_deleted: true, ..Default::default() })
                .unwrap();
            assert!(tagged.iter().any(|t| t.id == id));
        }
    }
}

#[test]
fn everything_survives_a_restart_and_the_index_matches() {
    let mut fx = Fixture::new("ana");
    let actor = fx.replica.author().actor.clone();
    let mut ids = Vec::new();
    for i in 0..40 {
        let mut new = NewAccount::new(format!("Account {i:02}"));
        new.owner = Some(["ana", "bob"][i % 2].into());
        new.tags.insert(format!("t{}", i % 3));
        ids.push(fx.replica.create_account(&new).unwrap());
    }
    // Enough edits on one account to pass the compaction threshold.
    let busy = ids[0];
    let deal = fx.replica.edit(busy, |e| e.add_deal(&NewDeal::new("Deal", eur(100)))).unwrap();
    for i in 0..(rapport_core::replica::COMPACT_AFTER + 5) {
        fx.replica.edit(busy, |e| e.set_field(&format!("deals.{deal}.amount"), &(100 + i).to_string())).unwrap();
    }
    fx.replica.edit(ids[1], |e| e.set_notes("Remember the reindeer")).unwrap();
    fx.replica.edit(ids[2], |e| e.soft_delete()).unwrap();
    fx.replica.edit(ids[3], |e| e.move_ladder(LoyaltyRung::Partner, None)).unwrap();
    let before: Vec<Account> = ids.iter().map(|id| fx.replica.account(*id).unwrap()).collect();
    let listed = fx.replica.list(&AccountFilter::default()).unwrap();
    let history = fx.replica.history(busy).unwrap();

    let fx = fx.reopen();
    let after: Vec<Account> = ids.iter().map(|id| fx.replica.account(*id).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(fx.replica.list(&AccountFilter::default()).unwrap(), listed);
    assert_eq!(fx.replica.history(busy).unwrap(), history);
    assert_eq!(fx.replica.author().actor, actor, "the device keeps its actor id");
    assert_eq!(fx.replica.search("reindeer", 5).unwrap().len(), 1);
    assert_index_matches_documents(&fx.replica);

    // A full rebuild of the index gives the same rows.
    let mut fx = fx;
    fx.replica.reindex().unwrap();
    assert_eq!(fx.replica.list(&AccountFilter::default()).unwrap(), listed);
}

#[test]
fn a_second_open_of_the_same_replica_shares_it() {
    // `rapport watch` holds the replica open while other commands use it (ADR 0021).
    let mut fx = Fixture::new("ana");
    let mut second = Replica::open(fx.path(), &identity("ana")).unwrap();
    let id = fx.account("Opened twice");
    second.edit(id, |e| e.add_tag("second")).unwrap();
    assert!(fx.replica.account(id).unwrap().party.tags.contains("second"));
    drop(second);
    // Once the second is closed, the first goes on as before.
    fx.replica.edit(id, |e| e.add_tag("first")).unwrap();
    assert_eq!(fx.reopen().replica.account(id).unwrap().party.tags.len(), 2);
}

#[test]
fn files_that_are_not_replicas_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a database, just some text that is long enough to be checked").unwrap();
    assert!(matches!(Replica::open(&text, &identity("ana")), Err(Error::NotAReplica(_))));
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "this is not a database, just some text that is long enough to be checked"
    );

    let other_db = dir.path().join("other.sqlite");
    let conn = rusqlite::Connection::open(&other_db).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);").unwrap();
    drop(conn);
    let err = Replica::open(&other_db, &identity("ana")).unwrap_err();
    assert!(matches!(err, Error::NotAReplica(_)), "got {err:?}");
    assert!(err.to_string().contains("is not a Rapport replica"));
    let conn = rusqlite::Connection::open(&other_db).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "the foreign database was not modified");
}

#[test]
fn a_replica_from_a_newer_version_is_refused() {
    let fx = Fixture::new("ana");
    let path = fx.path();
    drop(fx.replica);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    assert!(matches!(Replica::open(&path, &identity("ana")), Err(Error::ReplicaTooNew { found: 999, .. })));
}

fn schema_of(path: &std::path::Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn every_old_schema_upgrades_to_the_fresh_schema_and_keeps_its_documents() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(Replica::open(&fresh, &identity("ana")).unwrap());
    let fresh_schema = schema_of(&fresh);
    let author = Author::new("ana", "ana-device", ActorId::from(&[7u8; 16][..]));

    let migrations = rapport_core::replica::schema::migration_count();
    for version in 1..migrations {
        let path = dir.path().join(format!("v{version}.db"));
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        rapport_core::replica::schema::create_at_version(&mut conn, version).unwrap();
        // A document stored by that version.
        let mut doc = AccountDoc::create(&author, &NewAccount::new("Old Timer")).unwrap();
        conn.execute(
            "INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, 0)",
            rusqlite::params![doc.id().to_string(), doc.save()],
        )
        .unwrap();
        drop(conn);

        let replica = Replica::open(&path, &identity("ana")).unwrap();
        assert_eq!(replica.account(doc.id()).unwrap().party.name, "Old Timer");
        let listed = replica.list(&AccountFilter::default()).unwrap();
        assert_eq!(listed.len(), 1, "upgrade from v{version} rebuilt the index");
        assert_eq!(replica.search("timer", 5).unwrap().len(), 1);
        drop(replica);
        assert_eq!(schema_of(&path), fresh_schema, "upgrade from v{version} gives the fresh schema");
    }
}

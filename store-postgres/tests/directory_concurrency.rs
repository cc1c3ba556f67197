//! The directory on PostgreSQL when several nodes act at once (ADR 0026):
//! the database settles conflicts, so nodes that start together create the
//! admin and register an automation token once, and of the nodes adding the
//! same user one succeeds and the others are told the user exists. Each node
//! has its own pool, as separate processes would.

use std::sync::Barrier;

use rapport_server_store::{AdminError, DirectoryStore, UserChange};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgLog, PgOptions};

const NODES: usize = 4;

fn nodes(db: &TestDatabase) -> Vec<PgLog> {
    (0..NODES).map(|_| PgLog::connect(db.url(), PgOptions::default()).expect("a node connects")).collect()
}

/// Runs `work` on every node at the same moment, one thread each.
fn at_once<T: Send>(nodes: &[PgLog], work: impl Fn(&PgLog) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(nodes.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (start, work) = (&start, &work);
                s.spawn(move || {
                    start.wait();
                    work(node)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a node's thread does not panic")).collect()
    })
}

#[test]
fn nodes_starting_together_bootstrap_once() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let nodes = nodes(&db);
    let token = "automation-token-shared-by-every-node";
    let outcomes = at_once(&nodes, |node| node.directory().bootstrap(Some(token)).expect("bootstrap succeeds"));
    assert_eq!(outcomes.iter().filter(|b| b.created_admin).count(), 1, "one node created the admin");
    assert!(outcomes.iter().all(|b| b.new_token.is_none()));
    let dir = nodes[0].directory();
    assert_eq!(dir.list_users().expect("users").len(), 1, "one admin");
    let devices = dir.list_devices().expect("devices");
    assert_eq!(devices.len(), 1, "the automation token is registered once");
    assert_eq!(devices[0].name, "automation");
}

#[test]
fn one_of_the_nodes_adding_the_same_user_wins() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let nodes = nodes(&db);
    nodes[0].directory().bootstrap(None).expect("bootstrap succeeds");
    let outcomes = at_once(&nodes, |node| node.directory().add_user("Олена", "rep", &UserChange::default(), "телефон"));
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "one node added the user");
    for outcome in &outcomes {
        match outcome {
            Ok(_) | Err(AdminError::UserExists) => {}
            Err(other) => panic!("the other nodes are told the user exists, not: {other}"),
        }
    }
    let dir = nodes[0].directory();
    assert_eq!(dir.list_users().expect("users").iter().filter(|u| u.name == "Олена").count(), 1);
    assert_eq!(dir.list_devices().expect("devices").iter().filter(|d| d.user == "Олена").count(), 1);
}

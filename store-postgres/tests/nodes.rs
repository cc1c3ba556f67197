//! The nodes serving from a database, as each reports itself (ADR 0037).

use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgLog, PgOptions, schema_version};

#[test]
fn nodes_report_their_release_and_silent_ones_are_forgotten() {
    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let log = PgLog::connect(db.url(), PgOptions::default()).expect("the log connects");
    assert!(log.nodes().expect("the nodes read").is_empty());

    log.report_node("вузол-b", "0.3.0", 1_000).expect("reported");
    log.report_node("node-a", "0.3.0", 2_000).expect("reported");
    let nodes = log.nodes().expect("the nodes read");
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["node-a", "вузол-b"], "by name, byte order");
    assert!(nodes.iter().all(|n| n.schema_version == schema_version() as i64 && n.seen_at > 0));

    // A node that restarts on another release replaces its row.
    let before = nodes[0].seen_at;
    log.report_node("node-a", "0.4.0", 3_000).expect("reported");
    let a = log.nodes().expect("the nodes read").into_iter().find(|n| n.name == "node-a").expect("listed");
    assert_eq!((a.release.as_str(), a.started_at), ("0.4.0", 3_000));
    assert!(a.seen_at >= before);

    // A node silent for over a week is forgotten at the next report.
    db.execute("UPDATE nodes SET seen_at = seen_at - 8 * 86400000 WHERE name = 'вузол-b'").expect("runs");
    log.report_node("node-a", "0.4.0", 3_000).expect("reported");
    let names: Vec<String> = log.nodes().expect("the nodes read").into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["node-a"]);
}

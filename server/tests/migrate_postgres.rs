//! `rapport-server migrate --from-data DIR --to postgres://…` on a populated
//! SQLite deployment (a real server with users, devices, synced accounts,
//! compaction, a revoked device and administrators' actions), run as the
//! real binary against a throwaway PostgreSQL database. Without PostgreSQL
//! this test fails.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Device, TOKEN, TestServer, add_device, add_team, add_user, admin, sync_as};
use rapport_core::sync::ServerStore;
use rapport_core::{Money, NewDeal};
use rapport_server::db::LogFile;
use rapport_server_store::{AuditStore, DirectoryStore, TokenHash};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::import::Table;
use rapport_store_postgres::{PgLog, PgOptions};
use reqwest::Method;

fn migrate(data: &std::path::Path, url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rapport-server"))
        .args(["migrate", "--from-data"])
        .arg(data)
        .env("RAPPORT_DATABASE_URL", url)
        .output()
        .expect("the server binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_populated_sqlite_deployment_moves_to_postgres_and_devices_keep_their_place() {
    let pg = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL test database: {e}"));
    let (dir, server) = TestServer::start_with(|c| {
        c.db.compact_after = 2;
        c.db.compact_interval = Duration::from_millis(100);
    })
    .await;

    // A deployment in use: a team, two users, devices, one revoked.
    add_team(&server, "північ").await;
    let olena_token = add_user(&server, "Олена Коваль", "rep", &["північ"], &["Київ"]).await;
    let borys_token = add_user(&server, "Борис", "office", &[], &[]).await;
    let (lost, _) = add_device(&server, "Борис").await;
    let (status, _) = admin(&server, TOKEN, Method::POST, &format!("/devices/{lost}/revoke"), None).await;
    assert_eq!(status, 200);

    // Accounts edited on two devices, enough changes for compaction to prune.
    let mut olena = Device::new("Олена Коваль");
    let mut borys = Device::new("Борис");
    let mut accounts = Vec::new();
    for name in ["Зоря", "Світанок", "Acme"] {
        let id = olena.account(name);
        for i in 0..4 {
            olena.replica.edit(id, |e| e.set_field("party.industry", &format!("галузь {i}"))).expect("an edit");
        }
        accounts.push(id);
    }
    olena
        .replica
        .edit(accounts[0], |e| e.add_deal(&NewDeal::new("Котельня", Money::new(125_000, "UAH").expect("money"))))
        .expect("a deal is added");
    let pushed = sync_as(&server, &olena_token, &mut olena.replica).await;
    assert!(pushed.rejected.is_empty(), "{pushed:?}");
    let pulled = sync_as(&server, &borys_token, &mut borys.replica).await;
    assert_eq!(pulled.pulled, 3, "{pulled:?}");
    borys.replica.edit(accounts[2], |e| e.set_field("party.industry", "Retail")).expect("an edit");
    sync_as(&server, &borys_token, &mut borys.replica).await;
    sync_as(&server, &olena_token, &mut olena.replica).await;

    // Compaction pruned change rows (their positions keep only a hash).
    let db = server.data.join(rapport_server::config::DATABASE_FILE);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let conn = rusqlite::Connection::open(&db).expect("the database opens for reading");
        let pruned: i64 =
            conn.query_row("SELECT count(*) FROM documents WHERE pruned_seq > 0", [], |r| r.get(0)).expect("a count");
        if pruned > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "compaction never pruned a document");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // While the server runs, the migration is refused and copies nothing.
    let data = dir.path().to_path_buf();
    let url = pg.url().to_owned();
    let refused = tokio::task::spawn_blocking({
        let (data, url) = (data.clone(), url.clone());
        move || migrate(&data, &url)
    })
    .await
    .expect("the command finishes");
    assert!(!refused.status.success(), "a migration while the server runs is refused");
    server.stop().await;

    // Stopped: the migration copies and verifies.
    let (done, url) = tokio::task::spawn_blocking(move || (migrate(&data, &url), url)).await.expect("it finishes");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "the migration succeeds: {}{stdout}", String::from_utf8_lossy(&done.stderr));
    assert!(stdout.contains("Verified"), "{stdout}");
    assert!(!stdout.contains(&url) && !stdout.contains("Олена"), "no connection string or customer data: {stdout}");

    let token = olena_token.clone();
    let checks = tokio::task::spawn_blocking(move || {
        let log = PgLog::connect(pg.url(), PgOptions::default()).expect("PostgreSQL connects");
        let mut file = LogFile::open(&db).expect("the SQLite file opens");

        // The same log: identity, epoch and head.
        let (identity, head) = {
            let mut tx = file.transaction().expect("a SQLite transaction");
            (tx.identity().expect("identity"), tx.head().expect("head"))
        };
        let mut tx = log.begin().expect("a transaction");
        assert_eq!((tx.identity().expect("identity"), tx.head().expect("head")), (identity, head));
        tx.commit().expect("a read commits");

        // The same directory: users, devices, tokens, revocations.
        let (old, new) = (file.directory(), log.directory());
        assert_eq!(new.list_users().expect("users"), old.list_users().expect("users"));
        assert_eq!(new.list_teams().expect("teams"), old.list_teams().expect("teams"));
        let devices = old.list_devices().expect("devices");
        assert!(devices.iter().any(|d| !d.actors.is_empty()), "devices have bound actor ids: {devices:?}");
        assert_eq!(new.list_devices().expect("devices"), devices, "the same devices, bound actor ids included");
        assert_eq!(new.list_territories().expect("territories"), old.list_territories().expect("territories"));
        let principal = new.authenticate(&TokenHash::of(&token)).expect("authenticates");
        assert_eq!(principal, old.authenticate(&TokenHash::of(&token)).expect("authenticates"));
        assert!(principal.is_some(), "an old token works on PostgreSQL");

        // The same audit log.
        let (old_audit, new_audit) = (file.audit(), log.audit());
        let changes = old_audit.list_changes(None, 10_000).expect("audit");
        assert!(!changes.is_empty());
        assert_eq!(new_audit.list_changes(None, 10_000).expect("audit"), changes);
        let actions = old_audit.list_actions(10_000).expect("actions");
        assert!(actions.iter().any(|a| a.action == "device.revoke"), "{actions:?}");
        assert_eq!(new_audit.list_actions(10_000).expect("actions"), actions);

        // The same reporting index: every fact row, every row as known, both rollups.
        for table in Table::all().into_iter().filter(|t| t.name().starts_with("rpt_")) {
            let columns: Vec<String> = table.columns().iter().map(|c| format!("\"{c}\"")).collect();
            let sql = format!("SELECT {} FROM {}", columns.join(", "), table.name());
            let old = common::sqlite_cells(&db, &sql);
            assert_eq!(
                rapport_server_store::report_conformance::sorted(pg.query_cells(&sql).expect("rows")),
                old,
                "{}",
                table.name()
            );
        }
        let known = "SELECT count(*) FROM rpt_accounts_hist";
        assert_eq!(pg.query_i64(known).expect("a count"), 3, "each account's row as known");
        assert_eq!(pg.query_i64("SELECT count(*) FROM rpt_stage_flow").expect("a count"), 1, "the deal's entry");
        assert!(pg.query_i64("SELECT count(*) FROM rpt_field_changes").expect("a count") > 0);
        assert_eq!(pg.query_i64("SELECT count(*) FROM rpt_known_from").expect("a count"), 1);

        // A second migration into the same database is refused.
        (log, pg)
    })
    .await
    .expect("the checks run");
    let (_log, pg) = checks;

    // Devices keep their place through a node serving the copy, with their
    // old tokens and under their rules: nothing to pull, then an edit pushed
    // through it reaches the other device.
    let node_dir = tempfile::tempdir().expect("a directory for the node");
    let node_url = pg.url().to_owned();
    let node = TestServer::start_in(node_dir.path(), move |c| c.database_url = Some(node_url)).await;
    assert_eq!(sync_as(&node, &olena_token, &mut olena.replica).await.pulled, 0, "an up-to-date device pulls nothing");
    assert_eq!(sync_as(&node, &borys_token, &mut borys.replica).await.pulled, 0, "an up-to-date device pulls nothing");
    borys.replica.edit(accounts[0], |e| e.set_field("party.industry", "Енергетика")).expect("an edit");
    let pushed = sync_as(&node, &borys_token, &mut borys.replica).await;
    assert!(pushed.rejected.is_empty(), "{pushed:?}");
    let pulled = sync_as(&node, &olena_token, &mut olena.replica).await;
    assert_eq!(pulled.pulled, 1, "the other device pulls the one changed account");
    let account = olena.replica.account(accounts[0]).expect("the account reads");
    assert_eq!(account.party.industry.as_deref(), Some("Енергетика"));
    node.stop().await;
    let pg = tokio::task::spawn_blocking(move || {
        // Its first rewrite on PostgreSQL finds the reporting rows as they were: their ranges stay.
        assert_eq!(pg.query_i64("SELECT count(*) FROM rpt_accounts_hist").expect("a count"), 3);
        let stamped = "SELECT count(*) FROM rpt_accounts WHERE digest IS NOT NULL";
        assert_eq!(pg.query_i64(stamped).expect("a count"), 1, "the edited account's rows were checked");
        pg
    })
    .await
    .expect("the checks run");
    let again = tokio::task::spawn_blocking(move || {
        let out = migrate(dir.path(), pg.url());
        (out, pg, dir)
    })
    .await
    .expect("it finishes");
    assert!(!again.0.status.success(), "a second migration into the same database is refused");
    assert!(
        String::from_utf8_lossy(&again.0.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.0.stderr)
    );
}

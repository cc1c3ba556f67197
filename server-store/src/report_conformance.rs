//! One conformance suite for the reporting index's rows, run against every
//! backend: the server's SQLite file (`server/tests/store_conformance.rs`)
//! and PostgreSQL (`store-postgres/tests/store_conformance.rs`). Real
//! replicas sync through the backend as a server node handles a request;
//! the suite then reads the rows each backend wrote and checks them against
//! the shared projection ([`crate::report_rows::project`]), the rows as
//! known (ADR 0023) and the rollups.
//!
//! ```text
//! rapport_server_store::report_conformance_tests!(my_backend_for_a_test());
//! ```
//!
//! Enabled by the `conformance` feature.

use std::collections::BTreeMap;

use rapport_core::{AccountId, InteractionKind, InteractionStatus, Money, NewAccount, NewDeal, NewInteraction};

use crate::access_conformance::{self, AccessBackend, Device, LIMIT, device};
use crate::report_rows::{Cell, Table, project};
use crate::report_sql::OPEN;

/// A database under test whose reporting rows can be read back.
pub trait ReportBackend: AccessBackend {
    /// Every row `sql` (a plain `SELECT` of the reporting tables, the same
    /// on every backend) answers, once any rewrite the backend defers has
    /// run: a flag as the backend stores it, an integer, text or null.
    fn cells(&mut self, sql: &str) -> Vec<Vec<Cell>>;
}

/// Every row of fact table `table`.
fn rows<B: ReportBackend>(backend: &mut B, table: Table) -> Vec<Vec<Cell>> {
    backend.cells(&format!("SELECT {} FROM {}", table.columns().join(", "), table.name()))
}

/// Every row of `table` as known: its cells, and the log range
/// `[valid_from, valid_to)` over which it was current ([`OPEN`] while it is).
fn known<B: ReportBackend>(backend: &mut B, table: Table) -> Vec<(Vec<Cell>, i64, i64)> {
    let sql = format!("SELECT {}, valid_from, valid_to FROM {}", table.columns().join(", "), table.known_name());
    backend
        .cells(&sql)
        .into_iter()
        .map(|mut row| {
            let range = row.split_off(row.len() - 2);
            match range.as_slice() {
                [Cell::Int(from), Cell::Int(to)] => (row, *from, *to),
                other => panic!("a log range: {other:?}"),
            }
        })
        .collect()
}

/// Every row of rollup `name`, all columns in table order.
fn rollup<B: ReportBackend>(backend: &mut B, name: &str) -> Vec<Vec<Cell>> {
    backend.cells(&format!("SELECT * FROM {name}"))
}

/// Instantiates every conformance test as a `#[test]` in the calling module.
#[macro_export]
macro_rules! report_conformance_tests {
    ($backend:expr) => {
        $crate::report_conformance_tests!(@tests $backend;
            the_rows_are_the_accounts_projection,
            an_edit_closes_only_the_rows_it_changed,
            the_rollups_follow_the_rows,
            the_fields_each_change_set_are_indexed,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut backend = $backend;
                $crate::report_conformance::$name(&mut backend);
            }
        )*
    };
}

/// Cells as every backend can compare them: a flag as 0 or 1.
fn plain(cells: &[Cell]) -> Vec<Cell> {
    cells.iter().map(Cell::flag_as_int).collect()
}

/// Rows in one order, whatever order a backend returned them in, flags as
/// 0 or 1 (to compare what two backends stored).
pub fn sorted(rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
    let mut keyed: Vec<(String, Vec<Cell>)> = rows.iter().map(|r| (format!("{:?}", plain(r)), plain(r))).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// An office user's device (office staff see every account).
fn desk<B: AccessBackend>(backend: &B, name: &str) -> Device {
    device(backend, name, "office", &[], &[])
}

/// Syncs until nothing is left to send; nothing may be refused.
fn sync<B: AccessBackend>(backend: &mut B, desk: &mut Device) {
    let synced = access_conformance::sync(backend, desk, LIMIT);
    assert!(synced.rejected.is_empty(), "refused: {:?}", synced.rejected);
}

/// The rows the shared projection makes of the account as `desk` holds it, by table.
fn projected(desk: &Device, id: AccountId) -> BTreeMap<&'static str, Vec<Vec<Cell>>> {
    let account = desk.replica.account(id).expect("the account reads");
    let conflicts = desk.replica.conflicts(id).expect("the conflicts read");
    let mut by_table: BTreeMap<&'static str, Vec<Vec<Cell>>> =
        Table::ALL.into_iter().map(|t| (t.name(), Vec::new())).collect();
    for row in project(&id.to_string(), &account, &conflicts).rows {
        by_table.entry(row.table.name()).or_default().push(row.cells);
    }
    by_table.into_iter().map(|(t, rows)| (t, sorted(rows))).collect()
}

fn stored<B: ReportBackend>(backend: &mut B) -> BTreeMap<&'static str, Vec<Vec<Cell>>> {
    Table::ALL.into_iter().map(|t| (t.name(), sorted(rows(backend, t)))).collect()
}

/// An account in a team and territory with a deal and a held call.
fn account_with_a_deal(desk: &mut Device, name: &str) -> (AccountId, rapport_core::DealId) {
    let mut new = NewAccount::new(name);
    new.team = Some("північ".into());
    new.territory = Some("Київ".into());
    let id = desk.replica.create_account(&new).expect("an account is created");
    let deal = desk
        .replica
        .edit(id, |e| e.add_deal(&NewDeal::new("Котельня", Money::new(125_000, "UAH").expect("money"))))
        .expect("a deal is added");
    desk.replica
        .edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Call, "Дзвінок щодо котельні")))
        .expect("a call is logged");
    (id, deal)
}

/// What a backend stores for an account is exactly what the shared
/// projection makes of it, table by table, Cyrillic text included.
pub fn the_rows_are_the_accounts_projection<B: ReportBackend>(backend: &mut B) {
    let mut office = desk(backend, "Ірина");
    let (acme, deal) = account_with_a_deal(&mut office, "Київ Агро");
    office.replica.edit(acme, |e| e.move_deal_stage(deal, "proposal", Some(40))).expect("the deal moves");
    sync(backend, &mut office);
    let expected = projected(&office, acme);
    assert_eq!(expected["rpt_deals"].len(), 1);
    assert_eq!(expected["rpt_stage_moves"].len(), 2, "the entry into the first stage, then the move");
    assert_eq!(expected["rpt_interactions"].len(), 1);
    assert_eq!(stored(backend), expected);
}

/// An edit replaces the rows it changes: the earlier row is kept as known
/// up to the account's new position, the new one is current from there,
/// and a row the edit left as it was keeps its one range.
pub fn an_edit_closes_only_the_rows_it_changed<B: ReportBackend>(backend: &mut B) {
    let mut office = desk(backend, "Ірина");
    let (acme, deal) = account_with_a_deal(&mut office, "Київ Агро");
    sync(backend, &mut office);
    let before = projected(&office, acme);
    office.replica.edit(acme, |e| e.move_deal_stage(deal, "proposal", Some(40))).expect("the deal moves");
    sync(backend, &mut office);
    let after = projected(&office, acme);
    assert_eq!(stored(backend), after);

    let deals = known(backend, Table::Deals);
    assert_eq!(deals.len(), 2, "the deal as it was and as it is: {deals:?}");
    let old = deals.iter().find(|(cells, ..)| sorted(vec![cells.clone()]) == before["rpt_deals"]).expect("the old row");
    let new = deals.iter().find(|(cells, ..)| sorted(vec![cells.clone()]) == after["rpt_deals"]).expect("the new row");
    assert!(old.1 < old.2, "a range that holds something: {old:?}");
    assert_eq!(old.2, new.1, "the old row is known up to where the new one starts");
    assert_eq!(new.2, OPEN, "the new row is current");

    // The stage moves: the first entry unchanged (one range), the move added.
    let moves = known(backend, Table::StageMoves);
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert!(moves.iter().all(|(_, _, to)| *to == OPEN), "{moves:?}");
    assert_eq!(moves.iter().filter(|(_, from, _)| *from == new.1).count(), 1, "{moves:?}");
    // The call did not change: one row, current since it was first written.
    let calls = known(backend, Table::Interactions);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].1 < new.1 && calls[0].2 == OPEN, "{calls:?}");
}

/// The rollups count what the fact rows hold, through edits and a
/// deletion that hides the account's rows.
pub fn the_rollups_follow_the_rows<B: ReportBackend>(backend: &mut B) {
    let mut office = desk(backend, "Ірина");
    let (acme, deal) = account_with_a_deal(&mut office, "Київ Агро");
    let mut planned = NewInteraction::new(InteractionKind::Call, "Ще один дзвінок");
    planned.status = InteractionStatus::Planned;
    planned.planned_start = Some(time::OffsetDateTime::now_utc());
    office.replica.edit(acme, |e| e.log_interaction(&planned)).expect("a planned call");
    office
        .replica
        .edit(acme, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Call, "Третій дзвінок")))
        .expect("another call");
    office.replica.edit(acme, |e| e.move_deal_stage(deal, "proposal", Some(40))).expect("the deal moves");
    sync(backend, &mut office);

    // Held calls only, counted for who logged them; columns: hidden, rep, kind, week_start, team, owner, week, n.
    let activity = sorted(rollup(backend, "rpt_activity"));
    assert_eq!(activity.len(), 1, "{activity:?}");
    assert_eq!(activity[0][0], Cell::Int(0));
    assert_eq!(activity[0][1], Cell::Text("Ірина".into()));
    assert_eq!(activity[0][2], Cell::Text("call".into()));
    assert_eq!(activity[0][7], Cell::Int(2));
    // Stage moves per from → to: the entry and the move (hidden, team, owner, from, to, week, prev_day, n).
    let flow = sorted(rollup(backend, "rpt_stage_flow"));
    assert_eq!(flow.len(), 2, "{flow:?}");
    assert!(flow.iter().all(|row| row[0] == Cell::Int(0) && row[7] == Cell::Int(1)), "{flow:?}");
    assert!(flow.iter().any(|row| row[4] == Cell::Text("proposal".into())), "{flow:?}");

    office.replica.edit(acme, |e| e.soft_delete()).expect("the account is deleted");
    sync(backend, &mut office);
    let activity = sorted(rollup(backend, "rpt_activity"));
    assert_eq!(activity.len(), 1, "the visible count is gone, not left at zero: {activity:?}");
    assert_eq!((&activity[0][0], &activity[0][7]), (&Cell::Int(1), &Cell::Int(2)), "{activity:?}");
    let flow = sorted(rollup(backend, "rpt_stage_flow"));
    assert_eq!(flow.len(), 2, "{flow:?}");
    assert!(flow.iter().all(|row| row[0] == Cell::Int(1)), "{flow:?}");
    assert_eq!(stored(backend), projected(&office, acme));
}

/// Each accepted change's fields are indexed once, with who made it, on
/// which device, and what it moved; the account's older rows take its new
/// name when it is renamed.
pub fn the_fields_each_change_set_are_indexed<B: ReportBackend>(backend: &mut B) {
    let mut office = desk(backend, "Ірина");
    let (acme, deal) = account_with_a_deal(&mut office, "Київ Агро");
    sync(backend, &mut office);
    let count = |backend: &mut B| match backend.cells("SELECT count(*) FROM rpt_field_changes").as_slice() {
        [row] => row.first().cloned(),
        other => panic!("one count: {other:?}"),
    };
    let first = count(backend);
    office.replica.edit(acme, |e| e.move_deal_stage(deal, "won", None)).expect("the deal is won");
    sync(backend, &mut office);

    let won =
        backend.cells("SELECT \"user\", device, currency, won_delta, name FROM rpt_field_changes WHERE won_delta <> 0");
    let text = |s: &str| Cell::Text(s.to_owned());
    assert_eq!(
        won,
        [vec![text("Ірина"), text("Ірина's phone"), text("UAH"), Cell::Int(125_000), text("Київ Агро")]],
        "one row carries the win"
    );
    let moved = backend.cells("SELECT count(*) FROM rpt_field_changes WHERE field LIKE 'deals.%.stage'");
    assert_eq!(moved, [vec![Cell::Int(1)]], "the stage set once, by the win");
    let after = count(backend);
    assert!(
        matches!((&first, &after), (Some(Cell::Int(a)), Some(Cell::Int(b))) if a > &0 && b > a),
        "{first:?} then {after:?}"
    );

    office.replica.edit(acme, |e| e.set_field("party.name", "Київ Агро Плюс")).expect("the account is renamed");
    sync(backend, &mut office);
    let names = backend.cells("SELECT DISTINCT name FROM rpt_field_changes");
    assert_eq!(names, [vec![text("Київ Агро Плюс")]], "every row of the account carries its current name");
}

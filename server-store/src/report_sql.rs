//! The statements that replace an account's reporting rows, written once for
//! both databases (ADR 0033): they differ only in how a statement names its
//! parameters. Every statement but the inserts takes the account's id as
//! its first parameter; run in the order given, inside the transaction
//! that moved the account's log position (or, on SQLite, that rewrites the
//! rows of its last position).

use crate::report_rows::Table;

/// `valid_to` of a row as known that is still the account's current row.
pub const OPEN: i64 = i64::MAX;

/// How a database names a statement's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `?1`, `?2`, …
    Sqlite,
    /// `$1`, `$2`, …
    Postgres,
}

impl Dialect {
    /// Parameter `n` (from 1).
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// ` INDEXED BY {index}` after a table's alias on SQLite, which then
    /// reads the table through the index the query was written for;
    /// nothing on PostgreSQL, whose planner picks the index itself.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!(" INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }

    /// A flag's literal: SQLite stores flags as 0 and 1 (and compares
    /// them so through an index), PostgreSQL as booleans.
    pub fn flag(self, on: bool) -> &'static str {
        match (self, on) {
            (Dialect::Sqlite, false) => "0",
            (Dialect::Sqlite, true) => "1",
            (Dialect::Postgres, false) => "FALSE",
            (Dialect::Postgres, true) => "TRUE",
        }
    }

    /// `INSERT INTO {table} ("c1", …) VALUES (p1, …)`, the columns quoted
    /// (the late-edits index has a column named `user`, reserved in
    /// PostgreSQL).
    pub fn insert(self, table: &str, columns: &[&str]) -> String {
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let values: Vec<String> = (1..=columns.len()).map(|n| self.param(n)).collect();
        format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "))
    }
}

/// The columns of the rollup `rpt_activity`, in table order.
pub const ACTIVITY_COLUMNS: [&str; 8] = ["hidden", "rep", "kind", "week_start", "team", "owner", "week", "n"];

/// The columns of the rollup `rpt_stage_flow`, in table order.
pub const STAGE_FLOW_COLUMNS: [&str; 8] =
    ["hidden", "team", "owner", "from_stage", "to_stage", "week_start", "prev_day", "n"];

/// Held interactions of the rows selected by `{rows}`, grouped by the key of `rpt_activity`.
const ACTIVITY_OF: &str = "SELECT hidden, rep, kind, week_start, coalesce(team, '') AS team,
                                  coalesce(owner, '') AS owner, min(week) AS week, count(*) AS n
                           FROM rpt_interactions WHERE {rows} AND status = 'held'
                           GROUP BY hidden, rep, kind, week_start, coalesce(team, ''), coalesce(owner, '')";

/// Stage moves of the rows selected by `{rows}`, grouped by the key of `rpt_stage_flow`.
const FLOW_OF: &str = "SELECT hidden, coalesce(team, '') AS team, coalesce(owner, '') AS owner,
                              coalesce(from_stage, '') AS from_stage, to_stage, week_start, prev_day, count(*) AS n
                       FROM rpt_stage_moves WHERE {rows}
                       GROUP BY hidden, coalesce(team, ''), coalesce(owner, ''), coalesce(from_stage, ''), to_stage,
                                week_start, prev_day";

/// For the fact tables `tables`: takes what the account's current rows
/// contribute out of the rollups (of `rpt_interactions` and
/// `rpt_stage_moves`) and drops rollup rows left at zero, then deletes the
/// account's rows.
pub fn remove(d: Dialect, tables: &[Table]) -> Vec<String> {
    let rows = format!("doc_id = {}", d.param(1));
    let activity = ACTIVITY_OF.replace("{rows}", &rows);
    let flow = FLOW_OF.replace("{rows}", &rows);
    let mut statements = Vec::new();
    if tables.contains(&Table::Interactions) {
        statements.extend([
            format!(
                "UPDATE rpt_activity AS v SET n = v.n - x.n FROM ({activity}) AS x
             WHERE v.hidden = x.hidden AND v.rep = x.rep AND v.kind = x.kind AND v.week_start = x.week_start
               AND v.team = x.team AND v.owner = x.owner"
            ),
            format!(
                "DELETE FROM rpt_activity WHERE n <= 0
               AND (hidden, rep, kind, week_start, team, owner) IN
                   (SELECT hidden, rep, kind, week_start, team, owner FROM ({activity}) AS x)"
            ),
        ]);
    }
    if tables.contains(&Table::StageMoves) {
        statements.extend([
            format!(
                "UPDATE rpt_stage_flow AS v SET n = v.n - x.n FROM ({flow}) AS x
             WHERE v.hidden = x.hidden AND v.team = x.team AND v.owner = x.owner AND v.from_stage = x.from_stage
               AND v.to_stage = x.to_stage AND v.week_start = x.week_start AND v.prev_day = x.prev_day"
            ),
            format!(
                "DELETE FROM rpt_stage_flow WHERE n <= 0
               AND (hidden, team, owner, from_stage, to_stage, week_start, prev_day) IN
                   (SELECT hidden, team, owner, from_stage, to_stage, week_start, prev_day FROM ({flow}) AS x)"
            ),
        ]);
    }
    statements.extend(tables.iter().map(|table| format!("DELETE FROM {} WHERE {rows}", table.name())));
    statements
}

/// Adds what the fact rows of `tables` selected by `{rows}` (the account's,
/// or every row for a rebuild) contribute to the rollups.
pub fn add_rollups(rows: &str, tables: &[Table]) -> Vec<String> {
    let activity = ACTIVITY_OF.replace("{rows}", rows);
    let flow = FLOW_OF.replace("{rows}", rows);
    let mut statements = Vec::new();
    if tables.contains(&Table::Interactions) {
        statements.push(format!(
            "INSERT INTO rpt_activity ({}) SELECT * FROM ({activity}) AS x WHERE true
             ON CONFLICT (hidden, rep, kind, week_start, team, owner) DO UPDATE SET n = rpt_activity.n + excluded.n",
            ACTIVITY_COLUMNS.join(", ")
        ));
    }
    if tables.contains(&Table::StageMoves) {
        statements.push(format!(
            "INSERT INTO rpt_stage_flow ({}) SELECT * FROM ({flow}) AS x WHERE true
             ON CONFLICT (hidden, team, owner, from_stage, to_stage, week_start, prev_day)
             DO UPDATE SET n = rpt_stage_flow.n + excluded.n",
            STAGE_FLOW_COLUMNS.join(", ")
        ));
    }
    statements
}

/// Records the account's rewritten rows in the tables of rows as known
/// (ADR 0023), row by row, at the account's log position `L` (its
/// `documents.last_seq`): each open row the new rows do not repeat value for
/// value is closed at `L` (or dropped, if a rewrite at the same position
/// opened it), and each new row not open already is opened at `L`. A row
/// the change left as it was keeps its range. Only for the fact tables
/// `tables` (the others' rows did not change).
pub fn keep_as_known(d: Dialect, tables: &[Table]) -> Vec<String> {
    let doc = d.param(1);
    let position = format!("(SELECT last_seq FROM documents WHERE id = {doc})");
    let mut statements = Vec::with_capacity(3 * tables.len());
    for &table in tables {
        let (name, known, key) = (table.name(), table.known_name(), table.key());
        let columns = table.columns().join(", ");
        let open = format!("SELECT {columns} FROM {known} WHERE doc_id = {doc} AND valid_to = {OPEN}");
        let new = format!("SELECT {columns} FROM {name} WHERE doc_id = {doc}");
        let gone = format!("SELECT {key} FROM ({open} EXCEPT {new}) AS gone");
        statements.extend([
            format!(
                "DELETE FROM {known} WHERE doc_id = {doc} AND valid_to = {OPEN} AND valid_from >= {position}
                   AND ({key}) IN ({gone})"
            ),
            format!(
                "UPDATE {known} SET valid_to = {position} WHERE doc_id = {doc} AND valid_to = {OPEN} AND ({key}) IN ({gone})"
            ),
            format!(
                "INSERT INTO {known} ({columns}, valid_from, valid_to)
                 SELECT *, {position}, {OPEN} FROM ({new} EXCEPT {open}) AS fresh"
            ),
        ]);
    }
    statements
}

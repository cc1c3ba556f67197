//! The projection of one account into the rows of the reporting index (the
//! `rpt_*` fact tables), as pure code every backend shares: a backend owns
//! only the SQL that writes the rows and answers the reports (issue 15,
//! ADR 0033). What the rows mean is ADR 0017's reporting index.
//!
//! The rows are planned before anything is written, so their [`Projection::digest`]
//! can tell whether an edit changed anything a report reads, and in which
//! tables ([`changed_tables`]): a backend rewrites only those.

use std::collections::HashMap;

use rapport_core::{Account, Conflict, DealOutcome, Interaction, InteractionStatus};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// `prev_day` of a stage move that is the deal's first entry into its stage.
pub const FIRST_ENTRY: i64 = -1;

/// Milliseconds since the Unix epoch (UTC).
pub fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The start (00:00 UTC) of the day holding instant `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The start (Monday 00:00 UTC) of the ISO week holding instant `ms`.
pub fn week_start(ms: i64) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: three days after a Monday.
    (day - (day + 3).rem_euclid(7)) * DAY_MS
}

/// The ISO week of an instant (UTC), as `2026-W07`.
pub fn iso_week(t: OffsetDateTime) -> String {
    let (year, week, _) = t.to_offset(time::UtcOffset::UTC).to_iso_week_date();
    format!("{year}-W{week:02}")
}

/// Who an interaction counts for: each staff member, or whoever logged it.
pub fn interaction_reps(i: &Interaction) -> Vec<String> {
    if i.staff.is_empty() { vec![i.logged_by.clone()] } else { i.staff.iter().cloned().collect() }
}

/// The names of the fact tables, in [`Table::ALL`] order; each has a
/// `{name}_hist` of its rows as they were known (ADR 0023).
pub const NAMES: [&str; 8] = [
    "rpt_accounts",
    "rpt_deals",
    "rpt_stage_moves",
    "rpt_interactions",
    "rpt_interaction_contacts",
    "rpt_ladder_moves",
    "rpt_lifecycle_moves",
    "rpt_conflicts",
];

/// The names of the fact tables' rows as known, in [`Table::ALL`] order.
const KNOWN_NAMES: [&str; 8] = [
    "rpt_accounts_hist",
    "rpt_deals_hist",
    "rpt_stage_moves_hist",
    "rpt_interactions_hist",
    "rpt_interaction_contacts_hist",
    "rpt_ladder_moves_hist",
    "rpt_lifecycle_moves_hist",
    "rpt_conflicts_hist",
];

/// A fact table of the reporting index: one account's rows, keyed by `doc_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Accounts = 0,
    Deals,
    StageMoves,
    Interactions,
    InteractionContacts,
    LadderMoves,
    LifecycleMoves,
    Conflicts,
}

impl Table {
    /// Every fact table, in the order a projection lists its rows.
    pub const ALL: [Table; 8] = [
        Table::Accounts,
        Table::Deals,
        Table::StageMoves,
        Table::Interactions,
        Table::InteractionContacts,
        Table::LadderMoves,
        Table::LifecycleMoves,
        Table::Conflicts,
    ];

    /// The table's name in every backend.
    pub const fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The name of the table of its rows as known (ADR 0023).
    pub const fn known_name(self) -> &'static str {
        KNOWN_NAMES[self as usize]
    }

    /// The fact table called `name`.
    pub fn named(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The columns a projected row fills, in the order of its cells
    /// (`rpt_accounts.digest` is the backend's, written after the rows).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Accounts => &[
                "doc_id",
                "name",
                "owner",
                "team",
                "territory",
                "hidden",
                "tier",
                "rung",
                "phase",
                "status",
                "end_reason",
                "ended_phase",
                "ended_on",
                "last_touch",
                "open_deals",
            ],
            Table::Deals => &[
                "doc_id",
                "deal_id",
                "name",
                "owner",
                "team",
                "territory",
                "hidden",
                "last_touch",
                "stage",
                "amount_minor",
                "currency",
                "probability",
                "forecast",
                "outcome",
                "lost_reason",
                "expected_close",
                "stage_changed_at",
                "created_at",
                "title",
                "next_step",
            ],
            Table::StageMoves => &[
                "doc_id",
                "deal_id",
                "n",
                "owner",
                "team",
                "territory",
                "hidden",
                "from_stage",
                "to_stage",
                "at",
                "week_start",
                "prev_day",
                "by",
            ],
            Table::Interactions => &[
                "doc_id",
                "interaction_id",
                "rep",
                "owner",
                "team",
                "territory",
                "hidden",
                "kind",
                "status",
                "planned_start",
                "actual_start",
                "at",
                "week",
                "week_start",
                "contacts",
            ],
            Table::InteractionContacts => &["doc_id", "interaction_id", "contact_id"],
            Table::LadderMoves => {
                &["doc_id", "move_id", "owner", "team", "territory", "hidden", "from_rung", "to_rung", "up", "at"]
            }
            Table::LifecycleMoves => {
                &["doc_id", "move_id", "owner", "team", "territory", "hidden", "from_phase", "to_phase", "at"]
            }
            Table::Conflicts => &[
                "doc_id",
                "field",
                "name",
                "owner",
                "team",
                "territory",
                "hidden",
                "n_values",
                "shown",
                "value_list",
                "newest_at",
            ],
        }
    }

    /// The columns that name one of an account's rows (the primary key).
    pub fn key(self) -> &'static str {
        match self {
            Table::Accounts => "doc_id",
            Table::Deals => "doc_id, deal_id",
            Table::StageMoves => "doc_id, deal_id, n",
            Table::Interactions => "doc_id, interaction_id, rep",
            Table::InteractionContacts => "doc_id, interaction_id, contact_id",
            Table::LadderMoves | Table::LifecycleMoves => "doc_id, move_id",
            Table::Conflicts => "doc_id, field",
        }
    }
}

/// One value of a projected row. Each backend maps it to its own types
/// (a flag is an integer 0/1 on SQLite, a `boolean` on PostgreSQL).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Flag(bool),
    Int(i64),
    Text(String),
}

impl Cell {
    /// The cell with a flag as the integer 0 or 1 (as SQLite stores it), to
    /// compare what two backends stored.
    pub fn flag_as_int(&self) -> Cell {
        match self {
            Cell::Flag(b) => Cell::Int(i64::from(*b)),
            other => other.clone(),
        }
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Cell {
        Cell::Flag(b)
    }
}

impl From<i64> for Cell {
    fn from(i: i64) -> Cell {
        Cell::Int(i)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Null, Into::into)
    }
}

/// The fact tables whose rows differ between `new`, a
/// [`Projection::digest`], and `stored`, the digest stored with the rows a
/// backend holds: every table when none is stored, or one of another form
/// (a single hash over every row, before 0.2.0's per-table digests).
pub fn changed_tables(new: &[u8], stored: Option<&[u8]>) -> Vec<Table> {
    const PART: usize = 32;
    match stored {
        Some(stored) if stored.len() == new.len() && new.len() == PART * Table::ALL.len() => Table::ALL
            .into_iter()
            .filter(|table| {
                let part = *table as usize * PART..(*table as usize + 1) * PART;
                new[part.clone()] != stored[part]
            })
            .collect(),
        _ => Table::ALL.to_vec(),
    }
}

/// One row of a fact table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub table: Table,
    /// One cell per [`Table::columns`], in order.
    pub cells: Vec<Cell>,
}

/// An account's rows in every fact table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Projection {
    pub rows: Vec<Row>,
}

impl Projection {
    fn push(&mut self, table: Table, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), table.columns().len(), "{}", table.name());
        self.rows.push(Row { table, cells });
    }

    /// One SHA-256 per fact table over its rows, in order, the hashes in
    /// [`Table::ALL`] order: equal digests mean equal rows, and an equal
    /// part means a table whose rows did not change ([`changed_tables`]).
    pub fn digest(&self) -> Vec<u8> {
        let mut hashes: Vec<Sha256> = Table::ALL
            .iter()
            .map(|table| {
                let mut hash = Sha256::new();
                hash.update(table.name().as_bytes());
                hash
            })
            .collect();
        for row in &self.rows {
            let hash = &mut hashes[row.table as usize];
            hash.update((row.cells.len() as u64).to_le_bytes());
            for cell in &row.cells {
                match cell {
                    Cell::Null => hash.update([0]),
                    Cell::Int(i) => {
                        hash.update([1]);
                        hash.update(i.to_le_bytes());
                    }
                    Cell::Flag(b) => hash.update([2, u8::from(*b)]),
                    Cell::Text(t) => {
                        hash.update([3]);
                        hash.update((t.len() as u64).to_le_bytes());
                        hash.update(t.as_bytes());
                    }
                }
            }
        }
        hashes.into_iter().flat_map(|hash| hash.finalize()).collect()
    }
}

/// The account's scope, copied on every fact row so a report reads one
/// table and never joins.
struct Scope<'a> {
    owner: Option<&'a str>,
    team: Option<&'a str>,
    territory: Option<&'a str>,
    hidden: bool,
}

/// The rows of account `doc` in every fact table.
pub fn project(doc: &str, a: &Account, conflicts: &[Conflict]) -> Projection {
    let mut out = Projection::default();
    let p = &a.party;
    let s = Scope {
        owner: p.owner.as_deref(),
        team: p.team.as_deref(),
        territory: p.territory.as_deref(),
        hidden: a.deleted.is_some() || a.merged_into.is_some(),
    };
    let scope = || -> [Cell; 4] { [s.owner.into(), s.team.into(), s.territory.into(), s.hidden.into()] };
    let ending = p.ending.as_ref();
    let held = a.interactions.iter().filter(|i| i.status == InteractionStatus::Held);
    let last_touch = held.map(|i| millis(i.when())).max();
    let open_deals = a.deals.iter().filter(|d| d.outcome == DealOutcome::Open).count() as i64;
    let mut account = vec![doc.into(), p.name.as_str().into()];
    account.extend(scope());
    account.extend([
        p.value_tier.as_str().into(),
        p.loyalty_rung.as_str().into(),
        p.lifecycle_phase.as_str().into(),
        p.status.as_str().into(),
        ending.map(|e| e.reason.as_str()).into(),
        ending.map(|e| e.phase.as_str()).into(),
        ending.map(|e| e.on.to_string()).into(),
        last_touch.into(),
        open_deals.into(),
    ]);
    out.push(Table::Accounts, account);
    for d in &a.deals {
        let id = d.id.to_string();
        let mut deal = vec![doc.into(), id.as_str().into(), p.name.as_str().into()];
        deal.extend(scope());
        deal.extend([
            last_touch.into(),
            d.stage.as_str().into(),
            d.amount.minor.into(),
            d.amount.currency.as_str().into(),
            i64::from(d.probability).into(),
            d.forecast.as_str().into(),
            d.outcome.as_str().into(),
            d.lost_reason.as_deref().into(),
            d.expected_close.map(|c| c.to_string()).into(),
            d.stage_history.iter().map(|m| millis(m.at)).max().into(),
            d.stage_history.iter().map(|m| millis(m.at)).min().into(),
            d.title.as_str().into(),
            d.next_step.as_deref().into(),
        ]);
        out.push(Table::Deals, deal);
        // The day of each move's previous entry into the same stage, in time order.
        let mut order: Vec<usize> = (0..d.stage_history.len()).collect();
        order.sort_by_key(|&n| (millis(d.stage_history[n].at), n));
        let mut entered: HashMap<&str, i64> = HashMap::new();
        let mut prev_day = vec![FIRST_ENTRY; d.stage_history.len()];
        for n in order {
            let m = &d.stage_history[n];
            if let Some(before) = entered.insert(m.to.as_str(), millis(m.at)) {
                prev_day[n] = day_start(before);
            }
        }
        for (n, m) in d.stage_history.iter().enumerate() {
            let at = millis(m.at);
            let mut moved = vec![doc.into(), id.as_str().into(), (n as i64).into()];
            moved.extend(scope());
            moved.extend([
                m.from.as_deref().into(),
                m.to.as_str().into(),
                at.into(),
                week_start(at).into(),
                prev_day[n].into(),
                m.by.as_str().into(),
            ]);
            out.push(Table::StageMoves, moved);
        }
    }
    let mut engaged = Vec::new();
    for i in &a.interactions {
        let id = i.id.to_string();
        let at = millis(i.when());
        for rep in interaction_reps(i) {
            let mut held = vec![doc.into(), id.as_str().into(), rep.into()];
            held.extend(scope());
            held.extend([
                i.kind.as_str().into(),
                i.status.as_str().into(),
                i.planned_start.map(millis).into(),
                i.actual_start.map(millis).into(),
                at.into(),
                iso_week(i.when()).into(),
                week_start(at).into(),
                (i.contacts.len() as i64).into(),
            ]);
            out.push(Table::Interactions, held);
        }
        for c in &i.contacts {
            engaged.push(vec![doc.into(), id.as_str().into(), c.to_string().into()]);
        }
    }
    for cells in engaged {
        out.push(Table::InteractionContacts, cells);
    }
    for m in &a.ladder_history {
        let mut moved = vec![doc.into(), m.id.to_string().into()];
        moved.extend(scope());
        moved.extend([m.from.as_str().into(), m.to.as_str().into(), (m.to > m.from).into(), millis(m.at).into()]);
        out.push(Table::LadderMoves, moved);
    }
    for m in &a.lifecycle_history {
        let mut moved = vec![doc.into(), m.id.to_string().into()];
        moved.extend(scope());
        moved.extend([m.from.as_str().into(), m.to.as_str().into(), millis(m.at).into()]);
        out.push(Table::LifecycleMoves, moved);
    }
    // One row per field holding concurrent values: how many, the one shown,
    // every value with who wrote it, on which device and when (a JSON
    // array), and when the newest was written.
    for c in conflicts {
        let values: Vec<serde_json::Value> = c
            .values
            .iter()
            .map(|v| {
                serde_json::json!({
                    "value": v.value,
                    "user": v.user,
                    "device": v.device,
                    "at_ms": millis(v.at),
                    "winner": v.winner,
                })
            })
            .collect();
        let shown = c.values.iter().find(|v| v.winner).map_or("", |v| v.value.as_str());
        let newest = c.values.iter().map(|v| millis(v.at)).max().unwrap_or(0);
        let mut row = vec![doc.into(), c.field.as_str().into(), p.name.as_str().into()];
        row.extend(scope());
        row.extend([
            (c.values.len() as i64).into(),
            shown.into(),
            serde_json::Value::Array(values).to_string().into(),
            newest.into(),
        ]);
        out.push(Table::Conflicts, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_utc() {
        let at = |s: &str| {
            millis(OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap_or_else(|e| {
                panic!("{s}: {e}");
            }))
        };
        // 2026-11-23 is a Monday.
        let monday = at("2026-11-23T00:00:00Z");
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(at("2026-11-29T23:59:59.999Z")), monday);
        assert_eq!(week_start(at("2026-11-30T00:00:00Z")), monday + 7 * DAY_MS);
        assert_eq!(week_start(at("2026-11-22T23:59:59Z")), monday - 7 * DAY_MS);
        // Before 1970 too: 1969-12-29 was a Monday.
        assert_eq!(week_start(at("1969-12-31T12:00:00Z")), at("1969-12-29T00:00:00Z"));
        assert_eq!(day_start(at("1969-12-31T12:00:00Z")), at("1969-12-31T00:00:00Z"));
        // The label and the start agree.
        let t = OffsetDateTime::from_unix_timestamp(monday / 1000 + 3 * 86_400).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(iso_week(t), "2026-W48");
    }

    fn row(table: Table, first: &str) -> Row {
        let mut cells = vec![Cell::Null; table.columns().len()];
        cells[0] = first.into();
        Row { table, cells }
    }

    #[test]
    fn the_digest_tells_which_tables_changed() {
        let before = Projection { rows: vec![row(Table::Accounts, "a"), row(Table::Deals, "d1")] };
        let digest = before.digest();
        assert_eq!(digest.len(), 32 * Table::ALL.len());
        assert_eq!(changed_tables(&digest, Some(&digest)), []);

        let deal_changed = Projection { rows: vec![row(Table::Accounts, "a"), row(Table::Deals, "d2")] };
        assert_eq!(changed_tables(&deal_changed.digest(), Some(&digest)), [Table::Deals]);
        let deal_added =
            Projection { rows: vec![row(Table::Accounts, "a"), row(Table::Deals, "d1"), row(Table::Deals, "d2")] };
        assert_eq!(changed_tables(&deal_added.digest(), Some(&digest)), [Table::Deals]);
        // A row moving between tables changes both, never neither.
        let moved = Projection { rows: vec![row(Table::Accounts, "a"), row(Table::Conflicts, "d1")] };
        assert_eq!(changed_tables(&moved.digest(), Some(&digest)), [Table::Deals, Table::Conflicts]);

        // Nothing stored, or a digest of the form before per-table parts: every table.
        assert_eq!(changed_tables(&digest, None), Table::ALL);
        assert_eq!(changed_tables(&digest, Some(&digest[..32])), Table::ALL);
    }
}

//! The late-edits report (issue 16, ADR 0022 late edits): changes made
//! within a period (by the device's clock) that the server received only
//! after the period's end, read from the index of field changes
//! (`rpt_field_changes`, written when each change was appended; see
//! [`crate::reports::changes`]), never from the documents.

use rusqlite::types::Value;

use super::{Paged, Query, Table, Then};
use crate::reports::filter::{BadFilter, Filter};
use crate::reports::sql::{ReportDb, SqlError};

/// The report's columns: instants in milliseconds, amounts in minor units of
/// `currency` (empty where the row moved no figure).
const COLUMNS: [&str; 16] = [
    "account_id",
    "account",
    "owner",
    "deal_id",
    "field",
    "old_value",
    "new_value",
    "user",
    "device",
    "made_ms",
    "received_ms",
    "late_hours",
    "currency",
    "won_delta_minor",
    "weighted_delta_minor",
    "seq",
];

/// The partial index `rpt_field_changes_late` (server migration 22) holds
/// the changes received this long or longer after they were made. SQLite
/// uses it only for a query that carries its `WHERE` term as written, so the
/// migration's expression and this constant must stay the same.
const LATE_MS: i64 = 3_600_000;

/// The late-edits report needs the period's end (`to`): without it nothing is late.
pub(crate) fn check(filter: &Filter) -> Result<(), BadFilter> {
    match filter.to {
        Some(_) => Ok(()),
        None => Err(BadFilter { param: "to", reason: "the late-edits report needs the period's end (YYYY-MM-DD)" }),
    }
}

impl<D: ReportDb + ?Sized> Query<'_, D> {
    /// Field changes of readable accounts made in `[from, to + 1 day)` and
    /// received at or after `to + 1 day`, oldest made first (then log
    /// position and field). `late_hours`: received − the period's end.
    /// `won_delta_minor` / `weighted_delta_minor`: how the change moved its
    /// deal's won amount and weighted pipeline (after − before).
    pub(super) fn late_edits(&self) -> Result<Table, SqlError> {
        let (from, end) = self.filter.period_ms();
        let mut late =
            self.on("f").and("f.made_at < ? AND f.received_at >= ?", [Value::Integer(end), Value::Integer(end)]);
        if let Some(known) = self.then.map(Then::known) {
            // As known then: only what had arrived by that instant.
            late = late.and("f.received_at <= ?", [Value::Integer(known.at_ms)]);
        }
        // Two disjoint parts, each a short range of its own index: the changes received
        // within the hour, which were made in the last hour before the end, and the
        // others, which the partial index `rpt_field_changes_late` holds alone.
        let soon = late.clone().and(
            &format!("f.made_at >= ? AND f.received_at - f.made_at < {LATE_MS}"),
            [Value::Integer(from.max(end.saturating_sub(LATE_MS)))],
        );
        let later =
            late.and(&format!("f.made_at >= ? AND f.received_at - f.made_at >= {LATE_MS}"), [Value::Integer(from)]);
        let rows =
            |index: &str, cond: &str| format!("SELECT f.* FROM rpt_field_changes f INDEXED BY {index} WHERE {cond}");
        let count = |index: &str, cond: &str| {
            format!("SELECT count(*) FROM rpt_field_changes f INDEXED BY {index} WHERE {cond}")
        };
        let select = format!(
            "SELECT f.doc_id, f.name, f.owner, f.deal_id, f.field, f.old_value, f.new_value, f.user, f.device,
                    f.made_at, f.received_at, round((f.received_at - ?) / 3600000.0, 2), f.currency,
                    CASE WHEN f.currency IS NULL THEN NULL ELSE f.won_delta END,
                    CASE WHEN f.currency IS NULL THEN NULL ELSE f.weighted_delta END, f.seq
             FROM ({} UNION ALL {}) f
             ORDER BY f.made_at, f.seq, f.n LIMIT ? OFFSET ?",
            rows("rpt_field_changes_made", &soon.sql),
            rows("rpt_field_changes_late", &later.sql),
        );
        let count = format!(
            "SELECT ({}) + ({})",
            count("rpt_field_changes_made", &soon.sql),
            count("rpt_field_changes_late", &later.sql)
        );
        let params: Vec<Value> = soon.params.iter().chain(&later.params).cloned().collect();
        let select_params = std::iter::once(Value::Integer(end)).chain(params.iter().cloned()).collect();
        // Read as it is at any instant: the field changes are facts of one log position each.
        let paged = Paged { table: "rpt_field_changes", order: &[(9, false), (15, false)] };
        self.page(COLUMNS.to_vec(), paged, (&select, select_params), (&count, &params))
    }
}

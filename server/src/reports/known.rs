//! The figures as the server knew them at an instant (`known_at`, issue 16,
//! ADR 0023), from the `rpt_*_hist` tables — the reporting rows with the log
//! range over which each was current — at the last log position the server
//! had received by that instant, through the same SQL that reads the
//! current rows: the reports correct today's figures by the rows changed
//! since ([`Rows::Replaced`], [`Rows::Added`]), the drill-downs read every
//! row valid then ([`Rows::Valid`]).

use rusqlite::types::Value;
use time::OffsetDateTime;

use super::filter::BadFilter;
pub use super::index::TABLES;
use super::index::{OPEN, key, millis};
use super::sql::{ReportDb, SqlError};

/// A past state of the log: the figures as known once position `seq` was
/// received (at instant `at_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub seq: i64,
    pub at_ms: i64,
}

/// The log position the server had received by instant `at`: the last one
/// whose receipt time (`change_times`) is not after it. Refused for an
/// instant before the server kept rows as known (`rpt_known_from`,
/// migration 20) when it already held changes then.
pub fn resolve<D: ReportDb + ?Sized>(conn: &D, at: OffsetDateTime) -> Result<Result<Known, BadFilter>, SqlError> {
    let at_ms = millis(at);
    let int = |rows: &[Vec<serde_json::Value>], i: usize| rows.first().and_then(|r| r.get(i)?.as_i64());
    // A PostgreSQL database not imported from SQLite has no row: complete from the start.
    let known_from = conn.rows(2, "SELECT seq, at FROM rpt_known_from WHERE id = 0", &[])?;
    let (from_seq, from_at) = (int(&known_from, 0).unwrap_or(0), int(&known_from, 1).unwrap_or(0));
    if from_seq > 0 && at_ms < from_at {
        return Ok(Err(BadFilter {
            param: "known_at",
            reason: "is before this server began keeping figures as they were known (its upgrade to release 0.2); \
                     ask for a later instant",
        }));
    }
    // Receipt times grow with log positions (one database thread assigns
    // both); the index on (received_at, seq) finds the last one at once.
    let received = int(
        &conn.rows(
            1,
            "SELECT seq FROM change_times WHERE received_at <= ?1 ORDER BY received_at DESC, seq DESC LIMIT 1",
            &[Value::Integer(at_ms)],
        )?,
        0,
    );
    Ok(Ok(Known { seq: received.unwrap_or(0).max(from_seq), at_ms }))
}

/// Which of the rows as known at a position a query reads ([`rewrite`]).
/// Today's rows, less [`Rows::Added`], plus [`Rows::Replaced`], are the rows
/// valid at the position: a rewrite versions only the rows it changes, so
/// both are few when the position is recent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every row valid at the position: one scan of each `_hist` table.
    Valid,
    /// The rows valid at the position that were changed or removed since
    /// (closed after it), through their validity index.
    Replaced,
    /// The current rows added or changed since the position, through their
    /// validity index.
    Added,
    /// The current rows not added or changed since the position, through
    /// the query's own index (a page of them stops where the page does).
    Unchanged,
}

/// `sql` reading `rows` as known at `known` instead of the current rows:
/// every fact table `rpt_X` named in it becomes a subquery of `rpt_X_hist`
/// that SQLite flattens into the query, and the `INDEXED BY` after its
/// alias, made for the current table, is dropped. Other tables (the
/// rollups, the field changes) are left as they are.
pub fn rewrite(sql: &str, known: Known, rows: Rows) -> String {
    rewrite_each(sql, known, &|_| Some(rows))
}

/// [`rewrite`] with `rows` for the fact table `table` (a page of its rows),
/// and for the other tables, which give figures of each row's account: the
/// current rows beside [`Rows::Unchanged`] (an account whose rows did not
/// change since has today's rows), every row valid then beside the others.
pub fn rewrite_for(sql: &str, known: Known, table: &str, rows: Rows) -> String {
    rewrite_each(sql, known, &|name| match (name == table, rows) {
        (true, _) => Some(rows),
        (false, Rows::Unchanged) => None,
        (false, _) => Some(Rows::Valid),
    })
}

/// One text naming a row of `table` by its key columns (each but the last
/// prefixed with its length, so that no two keys give the same text).
fn key_text(table: &str) -> String {
    let columns: Vec<&str> = key(table).split(", ").collect();
    let (last, rest) = columns.split_last().unwrap_or((&"doc_id", &[]));
    rest.iter().map(|c| format!("length({c}) || ':' || {c} || ")).collect::<String>() + last
}

fn rewrite_each(sql: &str, known: Known, rows_of: &dyn Fn(&str) -> Option<Rows>) -> String {
    let seq = known.seq;
    let mut out = String::with_capacity(sql.len() + 256);
    let mut rest = sql;
    while let Some(at) = rest.find("rpt_") {
        let word_start = at == 0 || !is_word(rest.as_bytes()[at - 1]);
        let end = at + rest[at..].bytes().take_while(|b| is_word(*b)).count();
        let name = &rest[at..end];
        out.push_str(&rest[..at]);
        rest = &rest[end..];
        if !(word_start && TABLES.contains(&name)) {
            out.push_str(name);
            continue;
        }
        let Some(rows) = rows_of(name) else {
            out.push_str(name);
            continue;
        };
        // ` alias INDEXED BY index`: the alias stays, the hint goes (inside the subquery for `Unchanged`).
        let alias_len = rest.len() - rest.trim_start().len();
        let after_space = &rest[alias_len..];
        let alias = after_space.bytes().take_while(|b| is_word(*b)).count();
        let hint = after_space[alias..].trim_start();
        let mut index = None;
        let mut kept = "";
        if alias > 0 && hint.starts_with("INDEXED BY ") {
            let named = hint["INDEXED BY ".len()..].trim_start();
            let index_len = named.bytes().take_while(|b| is_word(*b)).count();
            index = Some(&named[..index_len]);
            kept = &rest[..alias_len + alias];
            rest = &named[index_len..];
        }
        out.push_str(&match rows {
            // `+valid_to`: a scan; the validity index would fetch nearly every row one by one.
            Rows::Valid => format!("(SELECT * FROM {name}_hist WHERE valid_from <= {seq} AND +valid_to > {seq})"),
            Rows::Replaced => format!(
                "(SELECT * FROM {name}_hist INDEXED BY {name}_hist_valid \
                 WHERE valid_to > {seq} AND valid_to < {OPEN} AND valid_from <= {seq})"
            ),
            Rows::Added => format!(
                "(SELECT * FROM {name}_hist INDEXED BY {name}_hist_valid WHERE valid_to = {OPEN} AND valid_from > {seq})"
            ),
            Rows::Unchanged => format!(
                "(SELECT * FROM {name}{hint} WHERE {key} NOT IN \
                 (SELECT {key} FROM {name}_hist INDEXED BY {name}_hist_valid WHERE valid_to = {OPEN} AND valid_from > {seq}))",
                hint = index.map_or(String::new(), |i| format!(" INDEXED BY {i}")),
                key = key_text(name)
            ),
        });
        out.push_str(kept);
    }
    out.push_str(rest);
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const K: Known = Known { seq: 7, at_ms: 0 };

    fn at(ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
    }

    #[test]
    fn an_instant_names_the_last_position_received_by_then() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        // A fresh server: history is complete from the start.
        assert_eq!(resolve(&conn, at(5)).unwrap(), Ok(Known { seq: 0, at_ms: 5 }));
        conn.execute_batch(
            "INSERT INTO change_times (seq, made_at, received_at) VALUES (1, 0, 100), (2, 0, 100), (3, 0, 250);",
        )
        .unwrap();
        assert_eq!(resolve(&conn, at(99)).unwrap().unwrap().seq, 0);
        assert_eq!(resolve(&conn, at(100)).unwrap().unwrap().seq, 2);
        assert_eq!(resolve(&conn, at(249)).unwrap().unwrap().seq, 2);
        assert_eq!(resolve(&conn, at(10_000)).unwrap().unwrap().seq, 3);

        // A server upgraded with 40 positions already stored at instant 1000:
        // before that it cannot tell; after it, at least those 40 were known.
        conn.execute_batch("UPDATE rpt_known_from SET seq = 40, at = 1000;").unwrap();
        assert_eq!(resolve(&conn, at(999)).unwrap().unwrap_err().param, "known_at");
        assert_eq!(resolve(&conn, at(1000)).unwrap().unwrap().seq, 40);
    }

    const MAX: i64 = i64::MAX;

    #[test]
    fn fact_tables_become_their_rows_as_known_and_lose_their_index_hints() {
        assert_eq!(
            rewrite(
                "SELECT count(*) FROM rpt_deals d INDEXED BY rpt_deals_pipeline WHERE d.hidden = 0",
                K,
                Rows::Valid
            ),
            "SELECT count(*) FROM (SELECT * FROM rpt_deals_hist WHERE valid_from <= 7 AND +valid_to > 7) d WHERE d.hidden = 0"
        );
        assert_eq!(
            rewrite("FROM x p JOIN rpt_accounts a ON a.doc_id = p.doc_id", K, Rows::Replaced),
            format!(
                "FROM x p JOIN (SELECT * FROM rpt_accounts_hist INDEXED BY rpt_accounts_hist_valid \
                 WHERE valid_to > 7 AND valid_to < {MAX} AND valid_from <= 7) a ON a.doc_id = p.doc_id"
            )
        );
        assert_eq!(
            rewrite("FROM rpt_deals d INDEXED BY rpt_deals_pipeline WHERE true", K, Rows::Added),
            format!(
                "FROM (SELECT * FROM rpt_deals_hist INDEXED BY rpt_deals_hist_valid \
                 WHERE valid_to = {MAX} AND valid_from > 7) d WHERE true"
            )
        );
    }

    #[test]
    fn a_page_reads_its_own_table_s_changes_and_every_row_valid_then_of_the_others() {
        assert_eq!(
            rewrite_for("FROM rpt_accounts a JOIN rpt_interactions i ON 1", K, "rpt_accounts", Rows::Added),
            format!(
                "FROM (SELECT * FROM rpt_accounts_hist INDEXED BY rpt_accounts_hist_valid \
                 WHERE valid_to = {MAX} AND valid_from > 7) a \
                 JOIN (SELECT * FROM rpt_interactions_hist WHERE valid_from <= 7 AND +valid_to > 7) i ON 1"
            )
        );
    }

    #[test]
    fn today_s_unchanged_rows_keep_their_index_and_name_rows_by_their_whole_key() {
        assert_eq!(
            rewrite_for(
                "FROM rpt_deals d INDEXED BY rpt_deals_close WHERE 1 JOIN rpt_accounts a",
                K,
                "rpt_deals",
                Rows::Unchanged
            ),
            format!(
                "FROM (SELECT * FROM rpt_deals INDEXED BY rpt_deals_close \
                 WHERE length(doc_id) || ':' || doc_id || deal_id NOT IN \
                 (SELECT length(doc_id) || ':' || doc_id || deal_id FROM rpt_deals_hist INDEXED BY rpt_deals_hist_valid \
                 WHERE valid_to = {MAX} AND valid_from > 7)) d WHERE 1 JOIN rpt_accounts a"
            )
        );
    }

    #[test]
    fn other_tables_and_longer_names_are_left_alone() {
        for sql in [
            "SELECT n FROM rpt_stage_flow v WHERE true",
            "SELECT 1 FROM rpt_field_changes f INDEXED BY rpt_field_changes_made",
            "SELECT 1 FROM x WHERE y.rpt_deals_count = 1",
            "SELECT 1 FROM my_rpt_deals d",
        ] {
            assert_eq!(rewrite(sql, K, Rows::Valid), sql);
        }
        assert_eq!(
            rewrite("FROM rpt_interaction_contacts ic JOIN rpt_interactions i ON 1", K, Rows::Valid),
            "FROM (SELECT * FROM rpt_interaction_contacts_hist WHERE valid_from <= 7 AND +valid_to > 7) ic \
             JOIN (SELECT * FROM rpt_interactions_hist WHERE valid_from <= 7 AND +valid_to > 7) i ON 1"
        );
    }
}

//! The figures as the server knew them at an instant (`known_at`, issue 16,
//! ADR 0023): every report and drill-down reads the `rpt_*_hist` tables —
//! each account's reporting rows with the log range over which they were
//! its current rows — at the last log position the server had received by
//! that instant, through the same SQL that reads the current rows. Only
//! the accounts whose rows were rewritten since (`rpt_rewrites`) are read
//! from `_hist`; the others' current rows are read through each report's
//! covering index, as now (see [`rewrite`]).

use rusqlite::{Connection, OptionalExtension};
use time::OffsetDateTime;

use super::filter::BadFilter;
pub use super::index::TABLES;
use super::index::millis;

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
pub fn resolve(conn: &Connection, at: OffsetDateTime) -> rusqlite::Result<Result<Known, BadFilter>> {
    let at_ms = millis(at);
    let (from_seq, from_at): (i64, i64) = conn
        .prepare_cached("SELECT seq, at FROM rpt_known_from WHERE id = 0")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if from_seq > 0 && at_ms < from_at {
        return Ok(Err(BadFilter {
            param: "known_at",
            reason: "is before this server began keeping figures as they were known (its upgrade to release 0.2); \
                     ask for a later instant",
        }));
    }
    // Receipt times grow with log positions (one database thread assigns
    // both); the index on (received_at, seq) finds the last one at once.
    let received: Option<i64> = conn
        .prepare_cached(
            "SELECT seq FROM change_times WHERE received_at <= ?1 ORDER BY received_at DESC, seq DESC LIMIT 1",
        )?
        .query_row([at_ms], |r| r.get(0))
        .optional()?;
    Ok(Ok(Known { seq: received.unwrap_or(0).max(from_seq), at_ms }))
}

/// The accounts whose reporting rows were rewritten after position `seq`
/// (`rpt_rewrites`, migration 21), as a subquery: every other account's
/// rows as known then are its current rows.
pub(crate) fn changed_after(seq: i64) -> String {
    format!("(SELECT doc_id FROM rpt_rewrites WHERE seq > {seq})")
}

/// `sql` reading the reporting rows as known at `known` instead of the
/// current ones. Every fact table `rpt_X` named in it becomes its rows valid
/// at position `known.seq`; other tables (the rollups, the field changes)
/// are left as they are: the field changes are facts of one position each.
///
/// A table read through a covering index (`rpt_X alias INDEXED BY index`,
/// how every report names the table it scans) becomes the current rows of
/// the accounts not rewritten since, through that index, and the `_hist`
/// rows valid then of the accounts rewritten since, through the `_hist`
/// index on `doc_id` (ADR 0023, "Reading as known then fast"): SQLite
/// pushes the report's conditions into both arms, which select the index's
/// columns only (so that it stays covering). A table looked up by `doc_id`
/// (a page's second read, a correlated subquery) becomes the `_hist` rows
/// valid then, which SQLite flattens into the query and reads through the
/// same `doc_id` index.
pub fn rewrite(conn: &Connection, sql: &str, known: Known) -> rusqlite::Result<String> {
    replace(sql, known, Some(conn))
}

/// [`rewrite`] with every fact table read from its `_hist` rows valid at
/// the position (the plain scan the fast reading is checked against).
pub(crate) fn rewrite_scanning(sql: &str, known: Known) -> rusqlite::Result<String> {
    replace(sql, known, None)
}

/// The columns index `index` holds (its key, then the table's primary key).
fn index_columns(conn: &Connection, index: &str) -> rusqlite::Result<String> {
    let mut columns: Vec<String> = Vec::new();
    let mut stmt =
        conn.prepare_cached("SELECT name FROM pragma_index_xinfo(?1) WHERE name IS NOT NULL ORDER BY seqno")?;
    for name in stmt.query_map([index], |r| r.get::<_, String>(0))? {
        let name = name?;
        if !columns.contains(&name) {
            columns.push(name);
        }
    }
    if columns.is_empty() {
        return Err(rusqlite::Error::InvalidParameterName(format!("no index named {index}")));
    }
    Ok(columns.join(", "))
}

/// `fast`: the connection whose indexes name the columns to read.
fn replace(sql: &str, known: Known, fast: Option<&Connection>) -> rusqlite::Result<String> {
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
        // ` alias INDEXED BY index`: the alias is kept, the hint read.
        let space = rest.len() - rest.trim_start().len();
        let after_space = &rest[space..];
        let alias = after_space.bytes().take_while(|b| is_word(*b)).count();
        let hint = after_space[alias..].trim_start();
        let index = (alias > 0 && hint.starts_with("INDEXED BY ")).then(|| {
            let index = hint["INDEXED BY ".len()..].trim_start();
            let len = index.bytes().take_while(|b| is_word(*b)).count();
            (&index[..len], &index[len..])
        });
        match (index, fast) {
            (Some((index, tail)), Some(conn)) => {
                let changed = changed_after(seq);
                let columns = index_columns(conn, index)?;
                out.push_str(&format!(
                    "(SELECT {columns} FROM {name} INDEXED BY {index} WHERE doc_id NOT IN {changed} \
                     UNION ALL SELECT {columns} FROM {name}_hist \
                     WHERE doc_id IN {changed} AND valid_from <= {seq} AND valid_to > {seq})"
                ));
                out.push_str(&rest[..space + alias]);
                rest = tail;
            }
            (index, _) => {
                out.push_str(&format!("(SELECT * FROM {name}_hist WHERE valid_from <= {seq} AND valid_to > {seq})"));
                if let Some((_, tail)) = index {
                    out.push_str(&rest[..space + alias]);
                    rest = tail;
                }
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const K: Known = Known { seq: 7, at_ms: 0 };

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn at(ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
    }

    #[test]
    fn an_instant_names_the_last_position_received_by_then() {
        let mut conn = Connection::open_in_memory().unwrap();
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

    #[test]
    fn a_scanned_table_becomes_its_unchanged_current_rows_and_the_changed_rows_as_known() {
        let conn = database();
        let columns = "hidden, outcome, currency, amount_minor, probability, expected_close, owner, team, territory, \
                       doc_id, deal_id";
        assert_eq!(
            rewrite(&conn, "SELECT count(*) FROM rpt_deals d INDEXED BY rpt_deals_pipeline WHERE d.hidden = 0", K)
                .unwrap(),
            format!(
                "SELECT count(*) FROM (SELECT {columns} FROM rpt_deals INDEXED BY rpt_deals_pipeline \
                 WHERE doc_id NOT IN (SELECT doc_id FROM rpt_rewrites WHERE seq > 7) \
                 UNION ALL SELECT {columns} FROM rpt_deals_hist \
                 WHERE doc_id IN (SELECT doc_id FROM rpt_rewrites WHERE seq > 7) AND valid_from <= 7 AND valid_to > 7) d \
                 WHERE d.hidden = 0"
            )
        );
        assert!(rewrite(&conn, "SELECT 1 FROM rpt_deals d INDEXED BY no_such_index", K).is_err());
    }

    #[test]
    fn fact_tables_become_their_rows_as_known_and_lose_their_index_hints() {
        assert_eq!(
            rewrite_scanning("SELECT count(*) FROM rpt_deals d INDEXED BY rpt_deals_pipeline WHERE d.hidden = 0", K)
                .unwrap(),
            "SELECT count(*) FROM (SELECT * FROM rpt_deals_hist WHERE valid_from <= 7 AND valid_to > 7) d WHERE d.hidden = 0"
        );
        assert_eq!(
            rewrite(&database(), "FROM x p JOIN rpt_accounts a ON a.doc_id = p.doc_id", K).unwrap(),
            "FROM x p JOIN (SELECT * FROM rpt_accounts_hist WHERE valid_from <= 7 AND valid_to > 7) a ON a.doc_id = p.doc_id"
        );
    }

    #[test]
    fn the_fast_reading_keeps_the_covering_index_and_reads_the_rewritten_accounts_by_doc_id() {
        let conn = database();
        let sql = rewrite(
            &conn,
            "SELECT d.currency, count(*), sum(d.amount_minor) FROM rpt_deals d INDEXED BY rpt_deals_pipeline
             WHERE d.hidden = 0 AND d.outcome = 'open' AND d.team = 'north' GROUP BY d.currency",
            K,
        )
        .unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("\n");
        for step in [
            "SEARCH rpt_deals USING COVERING INDEX rpt_deals_pipeline (hidden=? AND outcome=?)",
            "SEARCH rpt_deals_hist USING INDEX rpt_deals_hist_doc (doc_id=? AND valid_to>?)",
            "SEARCH rpt_rewrites USING PRIMARY KEY (seq>?)",
        ] {
            assert!(plan.contains(step), "{step} in\n{plan}");
        }
    }

    #[test]
    fn other_tables_and_longer_names_are_left_alone() {
        for sql in [
            "SELECT n FROM rpt_stage_flow v WHERE true",
            "SELECT 1 FROM rpt_field_changes f INDEXED BY rpt_field_changes_made",
            "SELECT 1 FROM x WHERE y.rpt_deals_count = 1",
            "SELECT 1 FROM my_rpt_deals d",
        ] {
            assert_eq!(rewrite(&database(), sql, K).unwrap(), sql);
        }
        assert_eq!(
            rewrite(&database(), "FROM rpt_interaction_contacts ic JOIN rpt_interactions i ON 1", K).unwrap(),
            "FROM (SELECT * FROM rpt_interaction_contacts_hist WHERE valid_from <= 7 AND valid_to > 7) ic \
             JOIN (SELECT * FROM rpt_interactions_hist WHERE valid_from <= 7 AND valid_to > 7) i ON 1"
        );
    }
}

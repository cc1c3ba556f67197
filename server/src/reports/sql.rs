//! Where the report queries run (ADR 0035): the reports, the drill-downs
//! and the figures as known are written once, as SQL that both databases
//! read alike, and run through [`ReportDb`]: on the SQLite file's
//! connection, or in a read-only snapshot of the PostgreSQL database. What
//! the two dialects write differently (an index hint, a flag's literal, how
//! parameters are named, "no limit") comes from [`Dialect`].

use rapport_server_store::report_rows::Cell;
pub use rapport_server_store::report_sql::Dialect;
use rapport_store_postgres::{PgError, PgReader};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params_from_iter};
use serde_json::Value as Json;

/// Why a report query failed: its database's error.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] PgError),
}

/// A database the report queries run on. They are written in SQLite's
/// notation: parameters `?` or `?N` (a bare `?` after `?N` is `?N+1`), and
/// index hints, which PostgreSQL drops ([`postgres_sql`]).
pub trait ReportDb {
    fn dialect(&self) -> Dialect;

    /// The rows of `sql`, each as its first `n` columns' values (all of
    /// them if it has fewer).
    fn rows(&self, n: usize, sql: &str, params: &[Value]) -> Result<Vec<Vec<Json>>, SqlError>;

    /// The value of `LIMIT` that sets no limit.
    fn no_limit(&self) -> Value {
        match self.dialect() {
            Dialect::Sqlite => Value::Integer(-1),
            Dialect::Postgres => Value::Null,
        }
    }
}

impl ReportDb for Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn rows(&self, n: usize, sql: &str, params: &[Value]) -> Result<Vec<Vec<Json>>, SqlError> {
        let mut stmt = self.prepare_cached(sql)?;
        let n = n.min(stmt.column_count());
        let rows = stmt
            .query_map(params_from_iter(params), |r| (0..n).map(|i| r.get_ref(i).map(json)).collect())?
            .collect::<rusqlite::Result<Vec<Vec<Json>>>>()?;
        Ok(rows)
    }
}

fn json(v: ValueRef<'_>) -> Json {
    match v {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => Json::from(f),
        ValueRef::Text(t) => Json::from(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => Json::Null,
    }
}

impl ReportDb for PgReader {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn rows(&self, n: usize, sql: &str, params: &[Value]) -> Result<Vec<Vec<Json>>, SqlError> {
        let cells = params
            .iter()
            .map(|v| match v {
                Value::Null => Ok(Cell::Null),
                Value::Integer(i) => Ok(Cell::Int(*i)),
                Value::Text(t) => Ok(Cell::Text(t.clone())),
                Value::Real(_) | Value::Blob(_) => Err(PgError::Invalid { what: "report parameter" }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut rows = PgReader::rows(self, &postgres_sql(sql), cells)?;
        for row in &mut rows {
            row.truncate(n);
        }
        Ok(rows)
    }
}

/// A query in SQLite's notation as PostgreSQL reads it: its `?` and `?N`
/// parameters numbered `$N`, and its index hints (` INDEXED BY name`,
/// SQLite's only) dropped. Quoted text and names are left as they are.
pub(crate) fn postgres_sql(sql: &str) -> String {
    const HINT: &str = " INDEXED BY ";
    let mut out = String::with_capacity(sql.len() + 16);
    let mut highest = 0usize;
    let mut quote: Option<char> = None;
    let mut rest = sql;
    while let Some(ch) = rest.chars().next() {
        if quote.is_none() && rest.starts_with(HINT) {
            let name = &rest[HINT.len()..];
            rest = &name[name.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count()..];
            continue;
        }
        rest = &rest[ch.len_utf8()..];
        match (quote, ch) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                out.push(ch);
            }
            (None, '?') => {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let n = rest[..digits].parse().unwrap_or(highest + 1);
                rest = &rest[digits..];
                highest = highest.max(n);
                out.push_str(&format!("${n}"));
            }
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::postgres_sql;

    #[test]
    fn parameters_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(postgres_sql("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(
            postgres_sql("x >= ?1 AND y < ?2 AND ?1 > 0 AND z = ?4 LIMIT ? OFFSET ?"),
            "x >= $1 AND y < $2 AND $1 > 0 AND z = $4 LIMIT $5 OFFSET $6"
        );
        assert_eq!(postgres_sql("a = '?' AND \"b?\" = ? AND n = 'Київ'"), "a = '?' AND \"b?\" = $1 AND n = 'Київ'");
    }

    #[test]
    fn index_hints_are_dropped() {
        assert_eq!(
            postgres_sql("FROM rpt_deals d INDEXED BY rpt_deals_close WHERE d.x = ? JOIN t y INDEXED BY t_1 ON 1"),
            "FROM rpt_deals d WHERE d.x = $1 JOIN t y ON 1"
        );
        assert_eq!(postgres_sql("WHERE a = ' INDEXED BY x'"), "WHERE a = ' INDEXED BY x'");
    }
}

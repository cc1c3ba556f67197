//! [`PgReader`]: a read-only snapshot of the database for the reports
//! (ADR 0035). The server's report queries are written once for both
//! backends; here they run on PostgreSQL, their parameters given as
//! projected cells and their rows returned as JSON values, the way SQLite
//! gives them: integers (flags as 0 and 1, sums of integers as integers),
//! reals, text, and null.

use std::sync::Arc;

use deadpool_postgres::Object;
use rapport_server_store::report_rows::Cell;
use serde_json::Value as Json;
use tokio_postgres::types::{FromSql, ToSql, Type};

use crate::PgError;
use crate::log::PgLog;
use crate::reports::Param;

/// One REPEATABLE READ, READ ONLY transaction: every query of a report
/// (its page and its count, the parts it is split into) sees the same
/// committed state. Dropped, it is rolled back and its connection returned.
pub struct PgReader {
    log: PgLog,
    client: Option<Arc<Object>>,
}

impl std::fmt::Debug for PgReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReader").finish_non_exhaustive()
    }
}

impl Drop for PgReader {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.log.roll_back(client);
        }
    }
}

impl PgLog {
    /// Opens a read-only snapshot of the database (blocks, like every call of the log).
    pub fn reader(&self) -> Result<PgReader, PgError> {
        let client = self.open("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        Ok(PgReader { log: self.clone(), client: Some(Arc::new(client)) })
    }
}

impl PgReader {
    /// The rows of `sql` (parameters `$1`, `$2`, … given by `params`), each
    /// as its columns' values.
    pub fn rows(&self, sql: &str, params: Vec<Cell>) -> Result<Vec<Vec<Json>>, PgError> {
        let client = self.client.clone().ok_or(PgError::Finished)?;
        let sql = sql.to_owned();
        self.log.run(async move {
            let statement = client.prepare_cached(&sql).await.map_err(PgError::statement)?;
            let params: Vec<Param> = params.into_iter().map(Param::Cell).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let rows = client.query(&statement, &refs).await.map_err(PgError::statement)?;
            rows.iter()
                .map(|row| {
                    (0..row.len()).map(|i| row.try_get::<_, Any>(i).map(|v| v.0).map_err(PgError::statement)).collect()
                })
                .collect()
        })?
    }
}

/// A column's value as SQLite would give it.
struct Any(Json);

impl<'a> FromSql<'a> for Any {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Any, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Any(match *ty {
            Type::BOOL => Json::from(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => Json::from(i16::from_sql(ty, raw)?),
            Type::INT4 => Json::from(i32::from_sql(ty, raw)?),
            Type::INT8 => Json::from(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Json::from(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Json::from(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Json::Null,
            _ => Json::from(<&str>::from_sql(ty, raw)?.to_owned()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Any, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Any(Json::Null))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::BOOL
                | Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::NUMERIC
                | Type::BYTEA
        ) || <&str as FromSql>::accepts(ty)
    }
}

/// A NUMERIC in PostgreSQL's binary form (a sign, a weight, a display scale
/// and base-10000 digits): an integer if it has no fraction and fits, else
/// the nearest double (as SQLite's `round` and division give).
fn numeric(raw: &[u8]) -> Result<Json, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> Result<u16, Box<dyn std::error::Error + Sync + Send>> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("a NUMERIC value is cut short")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = word(3)?;
    if sign == 0xC000 {
        return Ok(Json::Null);
    }
    let negative = sign == 0x4000;
    let digits: Vec<u16> = (0..ndigits).map(|i| word(4 + i)).collect::<Result<_, _>>()?;
    if dscale == 0 {
        let mut n: i128 = 0;
        for (i, d) in digits.iter().enumerate() {
            n = n * 10_000 + i128::from(*d);
            // Trailing zero groups are not stored.
            if i + 1 == digits.len() {
                let zeros = weight - i as i64;
                for _ in 0..zeros.max(0) {
                    n = n.checked_mul(10_000).ok_or("a NUMERIC value is too large")?;
                }
            }
            if n > i128::from(i64::MAX) + 1 {
                break;
            }
        }
        let n = if negative { -n } else { n };
        if let Ok(n) = i64::try_from(n) {
            return Ok(Json::from(n));
        }
    }
    // Decimal text, then the nearest double.
    let mut text = String::from(if negative { "-0." } else { "0." });
    for d in &digits {
        text.push_str(&format!("{d:04}"));
    }
    text.push_str(&format!("e{}", (weight + 1) * 4));
    let f: f64 = text.parse().map_err(|_| "a NUMERIC value does not parse")?;
    Ok(Json::from(f))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::numeric;
    use serde_json::json;

    fn raw(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [digits.len() as u16, weight as u16, sign, dscale].into_iter().chain(digits.iter().copied()) {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_read_as_sqlite_gives_them() {
        assert_eq!(numeric(&raw(0, 0, 0, &[])).unwrap(), json!(0));
        assert_eq!(numeric(&raw(0, 0, 0, &[42])).unwrap(), json!(42));
        // 1,2345,0000,0000 with its zero groups not stored.
        assert_eq!(numeric(&raw(3, 0, 0, &[1, 2345])).unwrap(), json!(1_2345_0000_0000_i64));
        assert_eq!(numeric(&raw(1, 0x4000, 0, &[12, 3456])).unwrap(), json!(-12_3456));
        assert_eq!(numeric(&raw(0, 0, 2, &[2, 2500])).unwrap(), json!(2.25));
        assert_eq!(numeric(&raw(-1, 0x4000, 2, &[5000])).unwrap(), json!(-0.5));
        // Beyond i64: the nearest double.
        assert_eq!(numeric(&raw(5, 0, 0, &[1])).unwrap(), json!(1e20));
        assert!(numeric(&[0, 1]).is_err());
    }
}

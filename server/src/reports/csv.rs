//! A report [`Table`] as CSV: a header row of column names, then one line per row.

use serde_json::Value;

use super::queries::Table;

/// Writes the table as CSV (RFC 4180 quoting by the `csv` crate).
pub fn to_csv(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&table.columns)?;
    for row in &table.rows {
        out.write_record(row.iter().map(cell))?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

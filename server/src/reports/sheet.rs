//! A report [`Table`] as people read it in a spreadsheet: amounts in major
//! units beside their currency, instants as dates and times, every other
//! value as it is. The CSV and XLSX exports both write a [`Sheet`], so they
//! always agree; the JSON answer keeps the machine form (minor units,
//! milliseconds).

use rapport_core::{currency_exponent, format_major_units};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::queries::Table;

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    /// Text, written as text whatever it looks like (ids, postcodes, names).
    Text(String),
    /// A count or a rate.
    Number(serde_json::Number),
    /// An amount: minor units of `currency`, shown in major units.
    Money {
        minor: i64,
        currency: String,
    },
    /// An instant (UTC).
    Instant(OffsetDateTime),
}

impl Cell {
    /// The cell as CSV text: major units with a dot (`360000.00`), RFC 3339
    /// instants, numbers as JSON writes them.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Money { minor, currency } => format_major_units(*minor, currency),
            Cell::Instant(t) => t.format(&Rfc3339).unwrap_or_default(),
        }
    }

    /// Decimal places an amount shows (its currency's minor unit).
    pub fn decimals(&self) -> u32 {
        match self {
            Cell::Money { currency, .. } => currency_exponent(currency),
            _ => 0,
        }
    }
}

/// A report as named columns of typed cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The report's name (`stages`).
    pub name: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// How a column of the table becomes a column of the sheet, by its name.
enum Kind {
    /// `amount_minor` → `amount`, in major units of the row's `currency`.
    Money,
    /// `last_touch_ms` → `last_touch`, a UTC date and time.
    Instant,
    Plain,
}

fn kind(column: &str) -> (Kind, &str) {
    if let Some(base) = column.strip_suffix("_minor") {
        (Kind::Money, base)
    } else if let Some(base) = column.strip_suffix("_ms") {
        (Kind::Instant, base)
    } else {
        (Kind::Plain, column)
    }
}

/// The sheet of report `name`'s table.
pub fn sheet(name: &'static str, table: &Table) -> Sheet {
    let kinds: Vec<(Kind, &str)> = table.columns.iter().map(|c| kind(c)).collect();
    let currency_at = table.columns.iter().position(|c| *c == "currency");
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let currency = currency_at.and_then(|i| row.get(i)).and_then(Value::as_str);
            row.iter().zip(&kinds).map(|(value, (kind, _))| cell(value, kind, currency)).collect()
        })
        .collect();
    Sheet { name, columns: kinds.iter().map(|(_, base)| (*base).to_owned()).collect(), rows }
}

fn cell(value: &Value, kind: &Kind, currency: Option<&str>) -> Cell {
    match (kind, value) {
        (_, Value::Null) => Cell::Empty,
        (Kind::Money, Value::Number(n)) => match (n.as_i64(), currency) {
            (Some(minor), Some(currency)) => Cell::Money { minor, currency: currency.to_owned() },
            _ => Cell::Text(n.to_string()),
        },
        (Kind::Instant, Value::Number(n)) => n
            .as_i64()
            .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
            .map_or_else(|| Cell::Text(n.to_string()), Cell::Instant),
        (_, Value::Number(n)) => Cell::Number(n.clone()),
        (_, Value::String(s)) => Cell::Text(s.clone()),
        (_, Value::Bool(b)) => Cell::Text(b.to_string()),
        // Nested values (an open conflict's `values`) as JSON text.
        (_, other) => Cell::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn amounts_become_major_units_of_their_currency_and_instants_times() {
        let table = Table {
            columns: vec!["account_id", "currency", "amount_minor", "last_touch_ms", "rate"],
            rows: vec![
                vec![json!("007"), json!("UAH"), json!(36_000_000), json!(0), json!(0.5)],
                vec![json!("008"), json!("JPY"), json!(1200), Value::Null, json!(1)],
            ],
            total: None,
        };
        let s = sheet("x", &table);
        assert_eq!(s.columns, ["account_id", "currency", "amount", "last_touch", "rate"]);
        let text: Vec<Vec<String>> = s.rows.iter().map(|r| r.iter().map(Cell::text).collect()).collect();
        assert_eq!(text[0], ["007", "UAH", "360000.00", "1970-01-01T00:00:00Z", "0.5"]);
        assert_eq!(text[1], ["008", "JPY", "1200", "", "1"]);
        assert_eq!((s.rows[0][2].decimals(), s.rows[1][2].decimals()), (2, 0));
    }
}

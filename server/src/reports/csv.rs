//! A report [`Sheet`] as CSV for a spreadsheet: UTF-8 with a byte-order mark
//! (so Excel reads Cyrillic names as written), a header row, RFC 4180 quoting
//! (the `csv` crate), amounts in major units beside their currency.

use super::sheet::{Cell, Sheet};

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes the sheet as CSV.
pub fn to_csv(sheet: &Sheet) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(BOM.to_vec());
    out.write_record(&sheet.columns)?;
    for row in &sheet.rows {
        out.write_record(row.iter().map(Cell::text))?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

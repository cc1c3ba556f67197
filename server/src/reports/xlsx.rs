//! A report [`Sheet`] as an Excel workbook (`rust_xlsxwriter`): one
//! worksheet named after the report, a bold frozen header row, amounts as
//! numbers in major units with their currency's decimals, instants as dates
//! and times, text (ids, names, postcodes) as text so nothing loses a leading
//! zero.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::sheet::{Cell, Sheet};

/// Writes the sheet as an `.xlsx` file's bytes.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    // Worksheet names have at most 31 characters; report names are shorter.
    ws.set_name(sheet.name)?;
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let money = [
        Format::new().set_num_format("#,##0"),
        Format::new().set_num_format("#,##0.0"),
        Format::new().set_num_format("#,##0.00"),
        Format::new().set_num_format("#,##0.000"),
    ];
    for (c, name) in sheet.columns.iter().enumerate() {
        ws.write_string_with_format(0, col(c), name, &bold)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, cell) in row.iter().enumerate() {
            let c = col(c);
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                Cell::Number(n) => {
                    match n.as_f64() {
                        Some(x) => ws.write_number(r, c, x)?,
                        None => ws.write_string(r, c, n.to_string())?,
                    };
                }
                Cell::Money { minor, .. } => {
                    let decimals = cell.decimals();
                    let major = *minor as f64 / 10f64.powi(decimals as i32);
                    ws.write_number_with_format(r, c, major, &money[decimals.min(3) as usize])?;
                }
                Cell::Instant(t) => {
                    let at = ExcelDateTime::from_timestamp(t.unix_timestamp())?;
                    ws.write_datetime_with_format(r, c, &at, &when)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofit();
    workbook.save_to_buffer()
}

/// Column index as the writer takes it (report tables have a handful).
fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

//! Reading a CSV file as office software writes it: the encoding (UTF-8
//! with or without a byte-order mark, UTF-16 with a byte-order mark, else
//! Windows-1251) and the delimiter (comma, semicolon or tab, from the header
//! line).

use std::path::Path;

use crate::error::{CliError, Result};

/// A file's header and rows, each row with its row number as a spreadsheet
/// shows it (the header is row 1).
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
    /// Rows that could not be read: (row, message).
    pub unreadable: Vec<(u64, String)>,
}

/// The text of a file in any of the encodings office software writes.
pub fn decode(bytes: &[u8]) -> String {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The delimiter of the header line: the most frequent of comma, semicolon
/// and tab outside quotes (comma if none).
pub fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            _ => {
                if let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
                    c.1 += 1;
                }
            }
        }
    }
    counts.iter().fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best }).0
}

/// A cell as a value: no-break spaces (Excel's thousands separator in
/// Ukrainian and Russian locales) as plain spaces, trimmed, and Excel's
/// text formula `="00123"` (which some tools write to keep leading zeros)
/// read as the text inside.
pub fn cell_text(cell: &str) -> String {
    let spaced = cell.replace(['\u{a0}', '\u{202f}'], " ");
    let t = spaced.trim();
    match t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.trim().to_owned(),
        _ => t.to_owned(),
    }
}

pub fn read(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let text = decode(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(path, e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let mut table = Table { headers, rows: Vec::new(), unreadable: Vec::new() };
    // Row numbers as the spreadsheet shows them: the header is row 1 and
    // every record one row, however many lines its quoted cells span (the
    // reader's own line count is also off by one in CRLF files).
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| unreadable(path, e))?;
        let row = index as u64 + 2;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != table.headers.len() {
            table.unreadable.push((
                row,
                format!(
                    "{} cells where the header has {}; check the row's delimiters and quotes",
                    record.len(),
                    table.headers.len()
                ),
            ));
            continue;
        }
        table.rows.push((row, record.iter().map(cell_text).collect()));
    }
    Ok(table)
}

fn unreadable(path: &Path, e: csv::Error) -> CliError {
    let row = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CliError::io(path, io),
        _ => CliError::InvalidCsv {
            path: path.to_path_buf(),
            rows: vec![format!("  row {row}: the file cannot be read as CSV here; save it again as CSV")],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_encodings_are_detected() {
        assert_eq!(delimiter("a;b;\"c,d\"\n1,2"), b';');
        assert_eq!(delimiter("a\tb\n"), b'\t');
        assert_eq!(delimiter("a\n"), b',');
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Назва;Місто");
        assert_eq!(decode(&cp1251), "Назва;Місто");
        assert_eq!(decode("\u{feff}Київ".as_bytes()), "Київ");
        assert_eq!(cell_text(" =\"00123\" "), "00123");
        assert_eq!(cell_text("=SUM(A1)"), "=SUM(A1)");
        assert_eq!(cell_text("+380\u{a0}44\u{a0}123\u{202f}45\u{a0}67"), "+380 44 123 45 67");
    }
}

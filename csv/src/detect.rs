//! Reading a CSV file as office software writes it: the encoding (UTF-8
//! with or without a byte-order mark, UTF-16 with a byte-order mark, else
//! Windows-1251) and the delimiter (comma, semicolon or tab, from the header
//! line).

use crate::error::{CsvError, Result};
use crate::headers::FileKind;
use crate::problem::Problem;

/// The encoding a file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    /// UTF-8 with a byte-order mark (as Excel's "CSV UTF-8" writes it).
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
    /// Windows-1251 (Cyrillic; what Excel writes as plain "CSV" in Ukrainian and Russian locales).
    #[serde(rename = "windows-1251")]
    Windows1251,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Windows1251 => "windows-1251",
        }
    }
}

/// The delimiter a file was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    Comma,
    Semicolon,
    Tab,
}

impl Delimiter {
    fn of(byte: u8) -> Delimiter {
        match byte {
            b';' => Delimiter::Semicolon,
            b'\t' => Delimiter::Tab,
            _ => Delimiter::Comma,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delimiter::Comma => "comma",
            Delimiter::Semicolon => "semicolon",
            Delimiter::Tab => "tab",
        }
    }
}

/// A file's header and rows, each row with its row number as a spreadsheet
/// shows it (the header is row 1).
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
    /// Rows that could not be read: (row, problem).
    pub unreadable: Vec<(u64, Problem)>,
    pub encoding: Encoding,
    pub delimiter: Delimiter,
}

/// The text of a file in any of the encodings office software writes.
pub fn decode(bytes: &[u8]) -> String {
    decode_as(bytes).0
}

/// The text of a file and the encoding it was in.
pub fn decode_as(bytes: &[u8]) -> (String, Encoding) {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let text = encoding.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
        let which = if encoding == encoding_rs::UTF_16LE {
            Encoding::Utf16Le
        } else if encoding == encoding_rs::UTF_16BE {
            Encoding::Utf16Be
        } else {
            Encoding::Utf8Bom
        };
        return (text, which);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), Encoding::Utf8),
        Err(_) => (encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(), Encoding::Windows1251),
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

/// A file's bytes as a table, with the encoding and delimiter detected.
pub fn read(bytes: &[u8], file: FileKind) -> Result<Table> {
    let (text, encoding) = decode_as(bytes);
    let delimiter = delimiter(&text);
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).has_headers(true).delimiter(delimiter).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(file, e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let mut table =
        Table { headers, rows: Vec::new(), unreadable: Vec::new(), encoding, delimiter: Delimiter::of(delimiter) };
    // Row numbers as the spreadsheet shows them: the header is row 1 and
    // every record one row, however many lines its quoted cells span (the
    // reader's own line count is also off by one in CRLF files).
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| unreadable(file, e))?;
        let row = index as u64 + 2;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != table.headers.len() {
            table.unreadable.push((row, Problem::CellCount { cells: record.len(), header: table.headers.len() }));
            continue;
        }
        table.rows.push((row, record.iter().map(cell_text).collect()));
    }
    Ok(table)
}

/// The text is in memory, so reading it fails only on bad CSV.
fn unreadable(file: FileKind, e: csv::Error) -> CsvError {
    CsvError::Unreadable { file, row: e.position().map_or(0, |p| p.line()) }
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
        assert_eq!(decode_as(&cp1251), ("Назва;Місто".to_owned(), Encoding::Windows1251));
        assert_eq!(decode("\u{feff}Київ".as_bytes()), "Київ");
        assert_eq!(cell_text(" =\"00123\" "), "00123");
        assert_eq!(cell_text("=SUM(A1)"), "=SUM(A1)");
        assert_eq!(cell_text("+380\u{a0}44\u{a0}123\u{202f}45\u{a0}67"), "+380 44 123 45 67");
    }
}

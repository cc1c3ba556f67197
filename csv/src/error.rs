//! Errors that stop a whole import or export. A problem with a row is not
//! one of them: it is a [`RowError`](crate::RowError) in the plan, and the
//! plan says what to fix.

use crate::headers::FileKind;
use crate::plan::RowError;

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file is not CSV from this row on (a quote never closed, …).
    #[error("the {} file cannot be read as CSV at row {row}; save it again as CSV", file.as_str())]
    Unreadable { file: FileKind, row: u64 },

    /// The header line names unknown or repeated columns, or lacks a needed one.
    #[error("the {} file's header has {} problem(s)", file.as_str(), problems.len())]
    Header { file: FileKind, problems: Vec<RowError> },

    /// The replica could not be read or written.
    #[error(transparent)]
    Core(#[from] rapport_core::Error),

    /// An export could not be written.
    #[error("cannot write the export: {0}")]
    Write(#[source] std::io::Error),
}

pub type Result<T, E = CsvError> = std::result::Result<T, E>;

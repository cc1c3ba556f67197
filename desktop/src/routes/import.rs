//! CSV import in the app (docs/CSV.md, "In the desktop app"): the files as
//! JSON with base64 bytes, checked and planned by rapport-csv exactly as
//! `rapport import` does. The preview writes nothing; the import writes all
//! or nothing (refused with the row errors if any row has one), and sync
//! pushes what it wrote like every other edit.

use std::collections::HashMap;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use rapport_core::{AccountId, Replica};
use rapport_csv::{Delimiter, Duplicate, Encoding, FileKind, Other, Plan, RowError, Same, Summary};
use serde::{Deserialize, Serialize};

use super::{Input, reply};
use crate::AppState;
use crate::error::ApiError;

/// The files of one import, at most 16 MB together (as base64, about 22 MB).
const FILES_LIMIT: usize = 16 * 1024 * 1024;

/// The request body limit of the import routes: the files as base64 and a little JSON.
pub(crate) fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(FILES_LIMIT / 3 * 4 + 64 * 1024)
}

/// `{accounts, contacts?, deals?}`: each file's bytes in base64 (standard
/// alphabet, padded), in any encoding and with any delimiter office
/// software writes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportBody {
    accounts: String,
    #[serde(default)]
    contacts: Option<String>,
    #[serde(default)]
    deals: Option<String>,
}

/// The files' bytes.
struct Bytes {
    accounts: Vec<u8>,
    contacts: Option<Vec<u8>>,
    deals: Option<Vec<u8>>,
}

impl ImportBody {
    fn decode(&self) -> Result<Bytes, ApiError> {
        let decode = |what: &str, text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| ApiError::BadRequest(format!("{what} is not base64; send the file's bytes in base64")))
        };
        let bytes = Bytes {
            accounts: decode("accounts", &self.accounts)?,
            contacts: self.contacts.as_deref().filter(|c| !c.is_empty()).map(|c| decode("contacts", c)).transpose()?,
            deals: self.deals.as_deref().filter(|d| !d.is_empty()).map(|d| decode("deals", d)).transpose()?,
        };
        if bytes.accounts.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadRequest("the accounts file is empty; choose a CSV file with a header row".into()));
        }
        let total = bytes.accounts.len()
            + bytes.contacts.as_ref().map_or(0, Vec::len)
            + bytes.deals.as_ref().map_or(0, Vec::len);
        if total > FILES_LIMIT {
            return Err(ApiError::TooLarge);
        }
        Ok(bytes)
    }
}

/// How a file was read.
#[derive(Serialize)]
struct FileAnswer {
    file: FileKind,
    encoding: Encoding,
    delimiter: Delimiter,
    rows: usize,
}

/// The account a duplicate is like, on this device.
#[derive(Serialize)]
struct Existing {
    id: AccountId,
    name: String,
}

/// Another row of the files a duplicate is like.
#[derive(Serialize)]
struct OtherRow {
    file: &'static str,
    row: u64,
}

#[derive(Serialize)]
struct DuplicateAnswer {
    file: &'static str,
    row: u64,
    column: String,
    /// `name`, `phone`, `email` or `registration_code`.
    same: Same,
    account: Option<Existing>,
    other_row: Option<OtherRow>,
}

/// What the preview and the import answer.
#[derive(Serialize)]
struct Answer {
    written: bool,
    files: Vec<FileAnswer>,
    counts: Summary,
    errors: Vec<RowError>,
    duplicates: Vec<DuplicateAnswer>,
}

/// The files planned, and the duplicates the plan would make.
fn check(replica: &Replica, bytes: &Bytes) -> Result<(Plan, Vec<Duplicate>), ApiError> {
    let files = rapport_csv::Files {
        accounts: Some(&bytes.accounts),
        contacts: bytes.contacts.as_deref(),
        deals: bytes.deals.as_deref(),
        allow_unknown_owner: false,
    };
    let plan = rapport_csv::plan(replica, &files, None)?;
    let duplicates = rapport_csv::duplicates(replica, &plan)?;
    Ok((plan, duplicates))
}

fn answer(
    replica: &Replica,
    written: bool,
    plan: &Plan,
    counts: Summary,
    duplicates: Vec<Duplicate>,
) -> Result<Answer, ApiError> {
    // The names of the accounts the duplicates are like: a few index rows,
    // not the whole list again (the duplicates were found in it).
    let mut names: HashMap<AccountId, String> = HashMap::new();
    for d in &duplicates {
        if let Other::Account(id) = d.other
            && !names.contains_key(&id)
        {
            names.insert(id, replica.summary(id)?.name);
        }
    }
    let duplicates = duplicates
        .into_iter()
        .map(|d| {
            let (account, other_row) = match d.other {
                Other::Account(id) => (Some(Existing { id, name: names.get(&id).cloned().unwrap_or_default() }), None),
                Other::Row { file, row } => (None, Some(OtherRow { file, row })),
            };
            DuplicateAnswer { file: d.file, row: d.row, column: d.column, same: d.same, account, other_row }
        })
        .collect();
    Ok(Answer {
        written,
        files: plan
            .files
            .iter()
            .map(|f| FileAnswer { file: f.file, encoding: f.encoding, delimiter: f.delimiter, rows: f.rows })
            .collect(),
        counts,
        errors: plan.errors.clone(),
        duplicates,
    })
}

/// `POST /api/import/preview {accounts, contacts?, deals?}`: what the import
/// would do (encoding and delimiter of each file, counts, row errors,
/// duplicates); nothing is written.
pub(crate) async fn preview(
    State(state): State<AppState>,
    Input(body): Input<ImportBody>,
) -> Result<Response, ApiError> {
    let bytes = body.decode()?;
    let r = state.replica();
    let (plan, duplicates) = check(&r, &bytes)?;
    let counts = Summary::of(&plan);
    Ok(reply(&answer(&r, false, &plan, counts, duplicates)?))
}

/// `POST /api/import {accounts, contacts?, deals?}`: the same check, then
/// every change written (refused with `import_has_errors` and the row errors
/// if any row has one: nothing is written). Importing the same files again
/// changes nothing.
pub(crate) async fn import(
    State(state): State<AppState>,
    Input(body): Input<ImportBody>,
) -> Result<Response, ApiError> {
    let bytes = body.decode()?;
    let (answer, changed) = {
        let mut r = state.replica();
        let (mut plan, duplicates) = check(&r, &bytes)?;
        if !plan.errors.is_empty() {
            return Err(ApiError::ImportRefused { rows: std::mem::take(&mut plan.errors) });
        }
        let files = std::mem::take(&mut plan.files);
        let counts = rapport_csv::apply(&mut r, plan, None)?;
        let shown = Plan { files, ..Plan::default() };
        (answer(&r, true, &shown, counts, duplicates)?, counts.changes_anything())
    };
    if changed {
        state.live.edited(&state.replica);
    }
    Ok(reply(&answer))
}

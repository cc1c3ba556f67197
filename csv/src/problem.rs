//! What is wrong with a row: a stable machine code with its arguments (for
//! an app to say it in the user's language) and the English text (for the
//! CLI). Arguments are row numbers, counts, column names and catalogue
//! entries (stages, reasons): never a cell's value.

use serde::Serialize;
use serde::ser::SerializeMap as _;

/// One problem with a row of a file. `code()` is stable; the English text
/// is its `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    // Reading the file.
    #[error("{cells} cells where the header has {header}; check the row's delimiters and quotes")]
    CellCount { cells: usize, header: usize },
    #[error("a cell under a column without a header; name the column in row 1, or empty the cell")]
    CellWithoutHeader,

    // The header line (row 1).
    #[error("names the same column as an earlier header ({canonical}); keep one of them")]
    SameColumn { canonical: &'static str },
    #[error("unknown column; the {file} file's columns are {known}")]
    UnknownColumn { file: &'static str, known: String },
    #[error("the header has no {canonical:?} column ({})", needs(file))]
    MissingColumn { file: &'static str, canonical: &'static str },
    #[error("the header has neither \"account_id\" nor \"account_name\": say which account each row belongs to")]
    NoAccountColumn,

    // Which account a row is.
    #[error("not a UUID; give the account's id as exported, or leave the cell empty")]
    AccountIdNotUuid,
    #[error("not a UUID; give the account's id as exported")]
    RelatedAccountIdNotUuid,
    #[error("must not be empty; every row needs the account's name")]
    NameEmpty,
    #[error("must not be empty; say which account the row belongs to (account_id, or account_name and city)")]
    RelatedNameEmpty,
    #[error("no account with this id in the accounts file or on this device; check the id")]
    NoSuchAccountId,
    #[error(
        "no account with this name and city in the accounts file or on this device; check the spelling, or add \
         the account to the accounts file"
    )]
    NoSuchAccountName,
    #[error(
        "the same account on this device as row {row} (found by its name and city); give the rows the account's \
         id, or the same name and city"
    )]
    SameAccountAs { row: u64 },
    #[error("{count} accounts on this device have this name and city; add the id column to say which one")]
    AmbiguousAccount { count: usize },
    #[error("this account was merged into another; use the surviving account's id")]
    MergedAccount,
    #[error("differs from row {row} for the same account; give the account's fields once, or the same on every row")]
    DiffersForAccount { row: u64 },

    // The account's status.
    #[error("expected a date as 2026-12-31 or 31.12.2026")]
    ExpectedDate,
    #[error("an end reason and date are only for a former or lost account; empty the cells or set the status")]
    EndOnlyForEnded,
    #[error("an ended relationship needs its reason: add an end_reason column with one of {}", .reasons.join(", "))]
    EndedNeedsReason { reasons: Vec<String> },
    #[error("not in the end-reason catalogue; use one of {}", .reasons.join(", "))]
    NotEndReason { reasons: Vec<String> },

    // Contacts.
    #[error("no contact with this id in the account; leave the cell empty to add the contact")]
    NoSuchContact,
    #[error("must not be empty: the row has contact data, give the contact's name")]
    ContactNameEmpty,
    #[error("differs from row {row} for the same contact; give it once, or the same")]
    DiffersForContact { row: u64 },
    #[error("expected true or false")]
    ExpectedBool,

    // Deals.
    #[error("no deal with this id in the account; leave the cell empty to add the deal")]
    NoSuchDeal,
    #[error("must not be empty: the row has deal data, give the deal's title")]
    DealTitleEmpty,
    #[error("the same deal as row {row} with other values; give each deal once")]
    SameDealAs { row: u64 },
    #[error("an amount needs its currency: give the three-letter code, e.g. UAH")]
    AmountNeedsCurrency,
    #[error("unknown stage; the stages are {}", .stages.join(", "))]
    UnknownStage { stages: Vec<String> },
    #[error("expected a whole percent between 0 and 100")]
    ExpectedPercent,
    #[error("not in the lost-reason catalogue; use one of {}", .reasons.join(", "))]
    NotLostReason { reasons: Vec<String> },
    #[error("a lost deal needs its reason: add a lost_reason column with one of {}", .reasons.join(", "))]
    LostNeedsReason { reasons: Vec<String> },
    #[error("a lost reason is only for a deal in the lost stage; empty the cell or set the stage")]
    LostReasonNotLost,
    #[error("a new deal needs its amount and currency, e.g. 360000.00 and UAH")]
    NewDealNeedsAmount,

    // Checked by core or the directory.
    /// An owner, team or territory the directory does not list (the row
    /// error's suggestions hold the close names).
    #[error("{message}")]
    UnknownName { kind: &'static str, message: String },
    /// A value core refuses (an e-mail, a phone, an amount, a channel, …);
    /// `message` is core's English reason with the way to fix it.
    #[error("{message}")]
    InvalidValue { message: String },
    /// The account on this device could not be read.
    #[error("{message}")]
    AccountUnreadable { message: String },
}

/// Why a file needs the column it lacks.
fn needs(file: &str) -> &'static str {
    match file {
        "accounts" => "every account needs a name",
        "contacts" => "every contact needs a name",
        _ => "every deal needs a title",
    }
}

/// Every code [`Problem::code`] gives, for whoever translates them (the
/// desktop app's words.js has each in English, Ukrainian and Russian).
pub const CODES: &[&str] = &[
    "cell_count",
    "cell_without_header",
    "same_column",
    "unknown_column",
    "missing_column",
    "no_account_column",
    "account_id_not_uuid",
    "related_account_id_not_uuid",
    "name_empty",
    "related_name_empty",
    "no_such_account_id",
    "no_such_account_name",
    "same_account_as",
    "ambiguous_account",
    "merged_account",
    "differs_for_account",
    "expected_date",
    "end_only_for_ended",
    "ended_needs_reason",
    "not_end_reason",
    "no_such_contact",
    "contact_name_empty",
    "differs_for_contact",
    "expected_bool",
    "no_such_deal",
    "deal_title_empty",
    "same_deal_as",
    "amount_needs_currency",
    "unknown_stage",
    "expected_percent",
    "not_lost_reason",
    "lost_needs_reason",
    "lost_reason_not_lost",
    "new_deal_needs_amount",
    "unknown_name",
    "invalid_value",
    "account_unreadable",
];

impl Problem {
    /// The stable code, e.g. `expected_date`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::CellCount { .. } => "cell_count",
            Problem::CellWithoutHeader => "cell_without_header",
            Problem::SameColumn { .. } => "same_column",
            Problem::UnknownColumn { .. } => "unknown_column",
            Problem::MissingColumn { .. } => "missing_column",
            Problem::NoAccountColumn => "no_account_column",
            Problem::AccountIdNotUuid => "account_id_not_uuid",
            Problem::RelatedAccountIdNotUuid => "related_account_id_not_uuid",
            Problem::NameEmpty => "name_empty",
            Problem::RelatedNameEmpty => "related_name_empty",
            Problem::NoSuchAccountId => "no_such_account_id",
            Problem::NoSuchAccountName => "no_such_account_name",
            Problem::SameAccountAs { .. } => "same_account_as",
            Problem::AmbiguousAccount { .. } => "ambiguous_account",
            Problem::MergedAccount => "merged_account",
            Problem::DiffersForAccount { .. } => "differs_for_account",
            Problem::ExpectedDate => "expected_date",
            Problem::EndOnlyForEnded => "end_only_for_ended",
            Problem::EndedNeedsReason { .. } => "ended_needs_reason",
            Problem::NotEndReason { .. } => "not_end_reason",
            Problem::NoSuchContact => "no_such_contact",
            Problem::ContactNameEmpty => "contact_name_empty",
            Problem::DiffersForContact { .. } => "differs_for_contact",
            Problem::ExpectedBool => "expected_bool",
            Problem::NoSuchDeal => "no_such_deal",
            Problem::DealTitleEmpty => "deal_title_empty",
            Problem::SameDealAs { .. } => "same_deal_as",
            Problem::AmountNeedsCurrency => "amount_needs_currency",
            Problem::UnknownStage { .. } => "unknown_stage",
            Problem::ExpectedPercent => "expected_percent",
            Problem::NotLostReason { .. } => "not_lost_reason",
            Problem::LostNeedsReason { .. } => "lost_needs_reason",
            Problem::LostReasonNotLost => "lost_reason_not_lost",
            Problem::NewDealNeedsAmount => "new_deal_needs_amount",
            Problem::UnknownName { .. } => "unknown_name",
            Problem::InvalidValue { .. } => "invalid_value",
            Problem::AccountUnreadable { .. } => "account_unreadable",
        }
    }

    /// The arguments of the code: row numbers, counts, column names,
    /// catalogue entries. Core's English reasons are not among them (the
    /// code says what kind of problem it is).
    pub fn args(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut args = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            args.insert(k.to_owned(), v);
        };
        match self {
            Problem::CellCount { cells, header } => {
                put("cells", (*cells).into());
                put("header", (*header).into());
            }
            Problem::SameColumn { canonical } => put("canonical", (*canonical).into()),
            Problem::MissingColumn { file, canonical } => {
                put("file", (*file).into());
                put("canonical", (*canonical).into());
            }
            Problem::UnknownColumn { file, known } => {
                put("file", (*file).into());
                put("known", known.clone().into());
            }
            Problem::SameAccountAs { row }
            | Problem::DiffersForAccount { row }
            | Problem::DiffersForContact { row }
            | Problem::SameDealAs { row } => put("row", (*row).into()),
            Problem::AmbiguousAccount { count } => put("count", (*count).into()),
            Problem::EndedNeedsReason { reasons }
            | Problem::NotEndReason { reasons }
            | Problem::NotLostReason { reasons }
            | Problem::LostNeedsReason { reasons } => put("choices", reasons.join(", ").into()),
            Problem::UnknownStage { stages } => put("choices", stages.join(", ").into()),
            Problem::UnknownName { kind, .. } => put("kind", (*kind).into()),
            _ => {}
        }
        args
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("code", self.code())?;
        map.serialize_entry("args", &self.args())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        assert!(CODES.iter().all(|c| seen.insert(*c)), "a code is listed twice");
        let some = [
            Problem::CellCount { cells: 3, header: 2 },
            Problem::MissingColumn { file: "accounts", canonical: "name" },
            Problem::UnknownName { kind: "owner", message: String::new() },
            Problem::InvalidValue { message: String::new() },
            Problem::AccountUnreadable { message: String::new() },
        ];
        for p in some {
            assert!(CODES.contains(&p.code()), "{} is not in CODES", p.code());
        }
    }

    #[test]
    fn codes_and_args_carry_no_cell_values() {
        let p = Problem::UnknownStage { stages: vec!["lead".into(), "won".into()] };
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json, serde_json::json!({"code": "unknown_stage", "args": {"choices": "lead, won"}}));
        let p = Problem::InvalidValue { message: "not an e-mail address: \"x@\"".into() };
        assert_eq!(serde_json::to_value(&p).expect("serializes")["args"], serde_json::json!({}));
        assert_eq!(
            Problem::MissingColumn { file: "deals", canonical: "title" }.to_string(),
            "the header has no \"title\" column (every deal needs a title)"
        );
    }
}

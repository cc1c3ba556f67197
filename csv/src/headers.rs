//! Header names: the columns the import knows, and the names office files
//! give them in English, Ukrainian and Russian (the alias table of
//! docs/CSV.md).
//!
//! A header is compared after [`normalize`]: lower case, every run of
//! characters other than letters and digits turned into one `_`, so
//! `E-mail`, `e_mail` and ` E mail ` are one name, and so are «Поштовий
//! індекс» and `поштовий_індекс`.

use std::collections::HashSet;

use crate::problem::Problem;

/// Which file a header line belongs to: the same word means different
/// things in each (`name` is the account's name in the accounts file and the
/// contact's name in the contacts file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Accounts,
    Contacts,
    Deals,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Accounts => "accounts",
            FileKind::Contacts => "contacts",
            FileKind::Deals => "deals",
        }
    }
}

/// A deal's columns, in the order the export writes them. A row of the
/// accounts file with any of these cells filled carries a deal.
pub(crate) const DEAL_COLUMNS: &[Column] = &[
    Column::DealId,
    Column::DealTitle,
    Column::DealAmount,
    Column::DealCurrency,
    Column::DealStage,
    Column::DealProbability,
    Column::DealClose,
    Column::DealNextStep,
    Column::DealLostReason,
];

/// A column the import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    // The account (in the accounts file), or the account a related row belongs to.
    AccountId,
    Name,
    City,
    Kind,
    Owner,
    Team,
    Territory,
    Industry,
    Website,
    Street,
    Region,
    Postcode,
    Country,
    ValueTier,
    LoyaltyRung,
    LifecyclePhase,
    Status,
    EndReason,
    EndDate,
    Tags,
    Source,
    /// The party's registration code (ЄДРПОУ, ИНН).
    RegistrationCode,
    // A contact.
    ContactId,
    ContactName,
    ContactTitle,
    ContactPhone,
    ContactMobile,
    ContactEmail,
    ContactChannel,
    ContactLanguage,
    ContactActive,
    // A deal.
    DealId,
    DealTitle,
    DealAmount,
    DealCurrency,
    DealStage,
    DealProbability,
    DealClose,
    DealNextStep,
    DealLostReason,
}

/// Columns of the accounts file, each with its accepted names (normalized);
/// the first name is the one exports write.
const ACCOUNTS: &[(Column, &[&str])] = &[
    (Column::AccountId, &["id", "account_id"]),
    (
        Column::Name,
        &[
            "name",
            "account_name",
            "company",
            "назва",
            "найменування",
            "назва_компанії",
            "компанія",
            "название",
            "наименование",
            "название_компании",
            "компания",
        ],
    ),
    (Column::Kind, &["kind"]),
    (Column::Owner, &["owner", "відповідальний", "менеджер", "власник", "ответственный", "владелец"]),
    (Column::Team, &["team", "команда"]),
    (Column::Territory, &["territory", "територія", "территория"]),
    (Column::Industry, &["industry", "галузь", "отрасль"]),
    (Column::Website, &["website", "site", "сайт", "вебсайт"]),
    (
        Column::RegistrationCode,
        &["registration_code", "edrpou", "inn", "єдрпоу", "код_єдрпоу", "іпн", "инн", "код_по_єдрпоу", "огрн"],
    ),
    (Column::Street, &["street", "address", "вулиця", "адреса", "улица", "адрес"]),
    (Column::City, &["city", "місто", "населений_пункт", "город", "населенный_пункт"]),
    (Column::Region, &["region", "область", "регіон", "регион"]),
    (Column::Postcode, &["postcode", "postal_code", "zip", "індекс", "поштовий_індекс", "индекс", "почтовый_индекс"]),
    (Column::Country, &["country", "країна", "страна"]),
    (Column::ValueTier, &["value_tier"]),
    (Column::LoyaltyRung, &["loyalty_rung"]),
    (Column::LifecyclePhase, &["lifecycle_phase"]),
    (Column::Status, &["status", "статус"]),
    (Column::EndReason, &["end_reason", "причина_завершення", "причина_завершения"]),
    (Column::EndDate, &["end_date", "дата_завершення", "дата_завершения"]),
    (Column::Tags, &["tags", "теги", "мітки", "метки"]),
    (Column::Source, &["source", "джерело", "источник"]),
    (Column::ContactName, &["contact_name", "contact", "контакт", "контактна_особа", "піб", "контактное_лицо", "фио"]),
    (Column::ContactTitle, &["contact_title", "contact_job_title", "посада", "должность"]),
    (Column::ContactPhone, &["contact_phone", "phone", "телефон", "тел"]),
    (Column::ContactMobile, &["contact_mobile", "mobile", "мобільний", "мобильный"]),
    (
        Column::ContactEmail,
        &["contact_email", "email", "e_mail", "електронна_пошта", "ел_пошта", "электронная_почта", "эл_почта"],
    ),
    (Column::DealTitle, &["deal_title", "deal", "угода", "сделка"]),
    (Column::DealAmount, &["deal_amount", "amount", "сума", "сумма"]),
    (Column::DealCurrency, &["deal_currency", "currency", "валюта"]),
    (Column::DealStage, &["deal_stage", "stage", "етап", "стадія", "этап", "стадия"]),
    (Column::DealClose, &["deal_close", "close_date", "дата_закриття", "дата_закрытия"]),
    (Column::DealLostReason, &["deal_lost_reason", "lost_reason"]),
];

/// The account a row of a contacts or deals file belongs to: by id, or by name and city.
const ACCOUNT_REF: &[(Column, &[&str])] = &[
    (Column::AccountId, &["account_id"]),
    (Column::Name, &["account_name", "account", "company", "компанія", "клієнт", "контрагент", "компания", "клиент"]),
    (Column::City, &["account_city", "city", "місто", "город"]),
];

/// Columns of a contacts file (besides [`ACCOUNT_REF`]).
const CONTACTS: &[(Column, &[&str])] = &[
    (Column::ContactId, &["contact_id", "id"]),
    (Column::ContactName, &["name", "contact_name", "піб", "ім_я", "фио", "имя"]),
    (Column::ContactTitle, &["job_title", "title", "contact_title", "посада", "должность"]),
    (Column::ContactPhone, &["phones", "phone", "contact_phone", "телефон", "телефони", "телефоны", "тел"]),
    (Column::ContactMobile, &["mobile", "contact_mobile", "мобільний", "мобильный"]),
    (
        Column::ContactEmail,
        &[
            "emails",
            "email",
            "e_mail",
            "contact_email",
            "електронна_пошта",
            "ел_пошта",
            "электронная_почта",
            "эл_почта",
        ],
    ),
    (Column::ContactChannel, &["preferred_channel"]),
    (Column::ContactLanguage, &["language", "мова", "язык"]),
    (Column::ContactActive, &["active"]),
];

/// Columns of a deals file (besides [`ACCOUNT_REF`]).
const DEALS: &[(Column, &[&str])] = &[
    (Column::DealId, &["deal_id", "id"]),
    (Column::DealTitle, &["title", "deal_title", "deal", "назва", "угода", "название", "сделка"]),
    (Column::DealAmount, &["amount", "deal_amount", "сума", "сумма"]),
    (Column::DealCurrency, &["currency", "deal_currency", "валюта"]),
    (Column::DealStage, &["stage", "deal_stage", "етап", "стадія", "этап", "стадия"]),
    (Column::DealProbability, &["probability", "ймовірність", "вероятность"]),
    (Column::DealClose, &["close", "deal_close", "close_date", "дата_закриття", "дата_закрытия"]),
    (Column::DealNextStep, &["next_step", "наступний_крок", "следующий_шаг"]),
    (Column::DealLostReason, &["lost_reason", "deal_lost_reason", "причина_втрати", "причина_проигрыша"]),
];

fn tables(kind: FileKind) -> [&'static [(Column, &'static [&'static str])]; 2] {
    match kind {
        FileKind::Accounts => [ACCOUNTS, &[]],
        FileKind::Contacts => [ACCOUNT_REF, CONTACTS],
        FileKind::Deals => [ACCOUNT_REF, DEALS],
    }
}

/// Lower case, every run of other characters than letters and digits as one `_`.
pub fn normalize(header: &str) -> String {
    let mut out = String::new();
    for c in header.trim().trim_start_matches('\u{feff}').chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// The column a header names in a file of this kind.
pub fn resolve(kind: FileKind, header: &str) -> Option<Column> {
    let h = normalize(header);
    tables(kind).into_iter().flatten().find(|(_, names)| names.contains(&h.as_str())).map(|(c, _)| *c)
}

/// The name exports write for a column in a file of this kind.
pub fn canonical(kind: FileKind, column: Column) -> &'static str {
    tables(kind).into_iter().flatten().find(|(c, _)| *c == column).map_or("", |(_, names)| names[0])
}

/// Every name a column accepts in files of this kind, for error messages.
pub fn known_names(kind: FileKind) -> String {
    tables(kind).into_iter().flatten().map(|(_, names)| names[0]).collect::<Vec<_>>().join(", ")
}

/// A header line, resolved: the column of each position.
#[derive(Debug)]
pub struct Header {
    /// `None` for a column without a header (the trailing delimiter some
    /// programs write at the end of every line): its cells must be empty.
    pub columns: Vec<Option<Column>>,
}

/// What is wrong with a header line, as row-1 problems (`(column, problem)`).
pub fn check(kind: FileKind, headers: &[String]) -> std::result::Result<Header, Vec<(String, Problem)>> {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    let mut seen = HashSet::new();
    for h in headers {
        if normalize(h).is_empty() {
            columns.push(None);
            continue;
        }
        match resolve(kind, h) {
            Some(c) if !seen.insert(c) => {
                problems.push((h.trim().to_owned(), Problem::SameColumn { canonical: canonical(kind, c) }))
            }
            Some(c) => columns.push(Some(c)),
            None => problems
                .push((h.trim().to_owned(), Problem::UnknownColumn { file: kind.as_str(), known: known_names(kind) })),
        }
    }
    let needed = match kind {
        FileKind::Accounts => Column::Name,
        FileKind::Contacts => Column::ContactName,
        FileKind::Deals => Column::DealTitle,
    };
    if !seen.contains(&needed) {
        let canonical = canonical(kind, needed);
        problems.push((canonical.to_owned(), Problem::MissingColumn { file: kind.as_str(), canonical }));
    }
    if kind != FileKind::Accounts && !seen.contains(&Column::AccountId) && !seen.contains(&Column::Name) {
        problems.push(("account_id".to_owned(), Problem::NoAccountColumn));
    }
    if problems.is_empty() { Ok(Header { columns }) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name is written normalized (or it could never match) and names
    /// one column only in each kind of file.
    #[test]
    fn the_alias_table_is_normalized_and_unambiguous() {
        for kind in [FileKind::Accounts, FileKind::Contacts, FileKind::Deals] {
            let mut seen = HashSet::new();
            for (column, names) in tables(kind).into_iter().flatten() {
                for name in *names {
                    assert_eq!(normalize(name), *name, "{kind:?} {column:?}");
                    assert!(seen.insert(*name), "{name} names two columns in the {kind:?} file");
                }
            }
        }
    }

    #[test]
    fn office_headers_resolve_in_every_language() {
        assert_eq!(resolve(FileKind::Accounts, " Назва "), Some(Column::Name));
        assert_eq!(resolve(FileKind::Accounts, "Название"), Some(Column::Name));
        assert_eq!(resolve(FileKind::Accounts, "Місто"), Some(Column::City));
        assert_eq!(resolve(FileKind::Accounts, "ГОРОД"), Some(Column::City));
        assert_eq!(resolve(FileKind::Accounts, "Телефон"), Some(Column::ContactPhone));
        assert_eq!(resolve(FileKind::Accounts, "E-mail"), Some(Column::ContactEmail));
        assert_eq!(resolve(FileKind::Accounts, "Поштовий індекс"), Some(Column::Postcode));
        assert_eq!(resolve(FileKind::Accounts, "Власник"), Some(Column::Owner));
        assert_eq!(resolve(FileKind::Accounts, "Владелец"), Some(Column::Owner));
        assert_eq!(resolve(FileKind::Contacts, "name"), Some(Column::ContactName));
        assert_eq!(resolve(FileKind::Deals, "Назва"), Some(Column::DealTitle));
        assert_eq!(resolve(FileKind::Deals, "colour"), None);
        assert_eq!(resolve(FileKind::Accounts, "ЄДРПОУ"), Some(Column::RegistrationCode));
        assert_eq!(resolve(FileKind::Accounts, "Код ЄДРПОУ"), Some(Column::RegistrationCode));
        assert_eq!(resolve(FileKind::Accounts, "ИНН"), Some(Column::RegistrationCode));
        assert_eq!(canonical(FileKind::Contacts, Column::Name), "account_name");
    }
}

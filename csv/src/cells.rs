//! Typed values out of cells: lists, dates, amounts, phone and e-mail keys.

use time::Date;
use time::macros::format_description;

/// The items of a list cell (`a; b`, `a, b`, one per line), trimmed.
pub fn list(cell: &str) -> Vec<String> {
    cell.split([';', ',', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// A calendar date as ISO (`2026-12-31`) or as Ukrainian and Russian
/// spreadsheets show it (`31.12.2026`).
pub fn date(cell: &str) -> Option<Date> {
    let t = cell.trim();
    Date::parse(t, format_description!("[year]-[month]-[day]"))
        .or_else(|_| Date::parse(t, format_description!("[day].[month].[year]")))
        .ok()
}

pub fn iso_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// A phone number's digits: `+380 44 123-45-67` and `+380441234567` are one number.
pub fn phone_key(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A name or city as rows are matched: trimmed, in lower case.
pub fn name_key(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_parse_as_office_files_write_them() {
        assert_eq!(list("a@x.ua; b@x.ua,\nc@x.ua"), ["a@x.ua", "b@x.ua", "c@x.ua"]);
        assert_eq!(date("31.12.2026"), date("2026-12-31"));
        assert!(date("2026-12-31").is_some());
        assert_eq!(date("12/31/2026"), None);
        assert_eq!(phone_key("+380 (44) 123-45-67"), "380441234567");
        assert_eq!(name_key("  ТОВ   «Ромашка» "), "тов «ромашка»");
    }
}

//! Keys that tell two records of one customer apart from two customers:
//! the normalized name, phone, e-mail and registration code that duplicate
//! detection compares (ADR 0024, "Duplicates and reassignment").
//!
//! Each function returns `None` when the value is too empty to compare (a
//! name that is only a legal form, a phone with fewer than
//! [`MIN_PHONE_DIGITS`] digits): such values never make two accounts
//! "likely duplicates".
//!
//! ```
//! use rapport_core::matching::{name_key, phone_key};
//!
//! assert_eq!(name_key("ТОВ «Ромашка»"), name_key("ромашка, ТОВ"));
//! assert_eq!(name_key("ООО \"Ромашка\""), name_key("Ромашка"));
//! assert_eq!(phone_key("+380 44 123-45-67"), phone_key("044 123 45 67"));
//! ```

/// Legal-form words and abbreviations removed from a name before comparing:
/// Ukrainian, Russian and English company forms, in lower case, matched as
/// whole words only ("Тов" in "Товариство" is not removed; "Ромашка ТОВ"
/// and "ТОВ Ромашка" are one name). Short forms that are also common words
/// ("co" in English is a form only, "ао" is not a Ukrainian word) are safe
/// because they must stand alone.
const LEGAL_FORMS: &[&str] = &[
    // Ukrainian
    "тов",
    "пп",
    "фоп",
    "пат",
    "прат",
    "ат",
    "тдв",
    "дп",
    "кп",
    "фг",
    "спд",
    "спдфо",
    // Russian
    "ооо",
    "оао",
    "зао",
    "пао",
    "ао",
    "ип",
    "чп",
    "нко",
    // English and other Latin-script forms
    "llc",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "plc",
    "llp",
    "lp",
    "gmbh",
    "ag",
    "sa",
    "srl",
    "bv",
    "oy",
    "ab",
];

/// Spelled-out legal forms, removed as whole phrases (lower case, single spaces).
const LEGAL_PHRASES: &[&str] = &[
    "товариство з обмеженою відповідальністю",
    "приватне підприємство",
    "фізична особа підприємець",
    "фізична особа-підприємець",
    "публічне акціонерне товариство",
    "приватне акціонерне товариство",
    "акціонерне товариство",
    "общество с ограниченной ответственностью",
    "публичное акционерное общество",
    "открытое акционерное общество",
    "закрытое акционерное общество",
    "акционерное общество",
    "индивидуальный предприниматель",
    "limited liability company",
];

/// A phone with fewer digits than this is not compared (extensions, short codes).
pub const MIN_PHONE_DIGITS: usize = 7;

/// How many trailing digits of a phone are compared: the Ukrainian national
/// number (without the trunk `0` or the country code `380`) has 9, so
/// `+380 44 123 45 67`, `380441234567` and `044 123 45 67` are one number;
/// Russian `+7 …` and `8 …` numbers agree on their last 9 digits too.
pub const PHONE_DIGITS_COMPARED: usize = 9;

/// A name as duplicates are compared: lower case (`ё` as `е`, `ї` as `і`
/// left alone), quotes of every kind («», „“, "", '') and punctuation
/// removed, legal forms ([`LEGAL_FORMS`], [`LEGAL_PHRASES`]) removed, words
/// separated by single spaces. `None` when nothing but legal forms and
/// punctuation is left.
pub fn name_key(name: &str) -> Option<String> {
    let lower: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ё' => 'е',
            // Apostrophes inside Ukrainian words (м'ясо, м’ясо) are dropped, not split on.
            '\'' | '’' | 'ʼ' | '`' => '\u{0}',
            c if c.is_alphanumeric() => c,
            '-' => '-',
            _ => ' ',
        })
        .filter(|c| *c != '\u{0}')
        .collect();
    let mut text = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in LEGAL_PHRASES {
        text = remove_phrase(&text, phrase);
    }
    let words: Vec<&str> = text
        .split(' ')
        .flat_map(|w| if LEGAL_FORMS.contains(&w.trim_matches('-')) { vec![] } else { vec![w] })
        .map(|w| w.trim_matches('-'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() { None } else { Some(words.join(" ")) }
}

/// `text` without `phrase` where it stands as whole words.
fn remove_phrase(text: &str, phrase: &str) -> String {
    let padded = format!(" {text} ");
    let needle = format!(" {phrase} ");
    padded.replace(&needle, " ").trim().to_owned()
}

/// A phone as duplicates are compared: its last [`PHONE_DIGITS_COMPARED`]
/// digits; `None` with fewer than [`MIN_PHONE_DIGITS`] digits.
pub fn phone_key(number: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < MIN_PHONE_DIGITS {
        return None;
    }
    Some(digits[digits.len().saturating_sub(PHONE_DIGITS_COMPARED)..].iter().collect())
}

/// An e-mail address as duplicates are compared: trimmed, in lower case.
pub fn email_key(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    if e.is_empty() { None } else { Some(e) }
}

/// A registration code as duplicates are compared: without spaces (of any
/// kind), in upper case (`ИНН 7707 083893` and `77070 83893` are one code).
pub fn code_key(code: &str) -> Option<String> {
    let c: String = code.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if c.is_empty() { None } else { Some(c) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        name_key(s).unwrap_or_default()
    }

    #[test]
    fn names_compare_without_case_quotes_and_legal_forms() {
        assert_eq!(k("ТОВ «Ромашка»"), "ромашка");
        assert_eq!(k("Ромашка, ТОВ"), "ромашка");
        assert_eq!(k("ООО \"РОМАШКА\""), "ромашка");
        assert_eq!(k("Товариство з обмеженою відповідальністю „Ромашка“"), "ромашка");
        assert_eq!(k("Общество с ограниченной ответственностью «Ромашка»"), "ромашка");
        assert_eq!(k("Acme Ltd."), "acme");
        assert_eq!(k("ACME, LLC"), "acme");
        assert_eq!(k("Acme Co"), "acme");
        assert_eq!(k("Ёлка"), k("Елка"));
        assert_eq!(k("М'ясний двір"), k("М’ясний   двір"));
        assert_eq!(k("ФОП Петренко Іван"), "петренко іван");
    }

    #[test]
    fn legal_forms_are_removed_only_as_whole_words() {
        // "Тов" inside a word, "Co" inside "Coffee", "АО" inside "Агро" stay.
        assert_eq!(k("Товарна біржа"), "товарна біржа");
        assert_eq!(k("Coffee Corner"), "coffee corner");
        assert_eq!(k("Агроінвест АТ"), "агроінвест");
        // Different names stay different.
        assert_ne!(k("Ромашка"), k("Ромашки"));
        assert_ne!(k("Ромашка-Київ"), k("Ромашка"));
        // A name that is only a legal form has no key: it matches nothing.
        assert_eq!(name_key("ТОВ"), None);
        assert_eq!(name_key("  «» "), None);
    }

    #[test]
    fn phones_compare_by_their_national_number() {
        let a = phone_key("+380 (44) 123-45-67");
        assert_eq!(a.as_deref(), Some("441234567"));
        assert_eq!(phone_key("044 123 45 67"), a);
        assert_eq!(phone_key("380441234567"), a);
        assert_eq!(phone_key("00380441234567"), a);
        assert_eq!(phone_key("+7 912 345-67-89"), phone_key("8 (912) 345 67 89"));
        assert_ne!(phone_key("+380 44 123 45 67"), phone_key("+380 44 123 45 68"));
        assert_eq!(phone_key("ext. 123"), None);
    }

    #[test]
    fn emails_and_codes_compare_without_case_and_spaces() {
        assert_eq!(email_key(" Olena@Romashka.UA "), email_key("olena@romashka.ua"));
        assert_eq!(email_key("  "), None);
        assert_eq!(code_key("3214 5678"), code_key("32145678"));
        assert_eq!(code_key("7707\u{a0}083893"), Some("7707083893".into()));
        assert_eq!(code_key("ab 12"), code_key("AB12"));
        assert_eq!(code_key(" "), None);
    }
}

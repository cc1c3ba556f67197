//! Words and their stems, so that search finds another grammatical form of
//! a name: «Ромашки» finds «Ромашка», «Києві» finds «Київ», "companies"
//! finds "Company".
//!
//! Each word is stemmed with the Snowball stemmer of its language: English
//! for Latin letters; for Cyrillic, Ukrainian when the word has a letter only
//! Ukrainian uses (і, ї, є, ґ), Russian when it has one only Russian uses
//! (ы, э, ъ, ё), and both otherwise (most Cyrillic words could be either).
//! The index keeps the stems of every word beside the words themselves; a
//! query word matches a word that starts with it or a stem that starts with
//! one of its stems.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use snowball_stemmers_rs::{Algorithm, Stemmer};

/// A stem shorter than this says too little to search by (`в`, `на`).
const MIN_STEM_CHARS: usize = 3;

struct Stemmers {
    english: Stemmer,
    ukrainian: Stemmer,
    russian: Stemmer,
}

fn stemmers() -> &'static Stemmers {
    static STEMMERS: OnceLock<Stemmers> = OnceLock::new();
    STEMMERS.get_or_init(|| Stemmers {
        english: Stemmer::create(Algorithm::English),
        ukrainian: Stemmer::create(Algorithm::Ukrainian),
        russian: Stemmer::create(Algorithm::Russian),
    })
}

/// Splits text into lowercase words the way the index's tokenizer does
/// (letters and digits; anything else separates).
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// The stems of one lowercase word worth searching by: none for numbers
/// and words of other scripts.
pub(crate) fn stems(word: &str) -> Vec<String> {
    let s = stemmers();
    let cyrillic = word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}'));
    let chosen: Vec<&Stemmer> = if cyrillic {
        let ukrainian = word.chars().any(|c| matches!(c, 'і' | 'ї' | 'є' | 'ґ'));
        let russian = word.chars().any(|c| matches!(c, 'ы' | 'э' | 'ъ' | 'ё'));
        match (ukrainian, russian) {
            (true, false) => vec![&s.ukrainian],
            (false, true) => vec![&s.russian],
            _ => vec![&s.ukrainian, &s.russian],
        }
    } else if word.chars().all(|c| c.is_ascii_alphabetic()) {
        vec![&s.english]
    } else {
        Vec::new()
    };
    let mut out: Vec<String> = Vec::with_capacity(chosen.len());
    for stemmer in chosen {
        let stem = stemmer.stem(word);
        if stem.chars().count() >= MIN_STEM_CHARS && !out.iter().any(|o| o == stem.as_ref()) {
            out.push(stem.into_owned());
        }
    }
    out
}

/// The stems of every word of `texts`, each once, space-separated: the
/// index's `stems` column.
pub(crate) fn stem_text<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut all = BTreeSet::new();
    for text in texts {
        for word in words(text) {
            all.extend(stems(&word));
        }
    }
    all.into_iter().collect::<Vec<_>>().join(" ")
}

/// Turns free text into an FTS5 query that cannot be a syntax error: every
/// term must match, as the prefix of indexed words (a term such as an e-mail
/// address is a phrase of several) or, for a single word, through one of its
/// stems as the prefix of an indexed stem.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && !matches!(c, '@' | '.' | '-' | '_'))
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|term| {
            let term = term.to_lowercase();
            let mut alternatives = vec![format!("\"{term}\"*")];
            if term.chars().all(char::is_alphanumeric) {
                alternatives.extend(stems(&term).into_iter().map(|s| format!("stems:\"{s}\"*")));
            }
            if alternatives.len() == 1 { alternatives.remove(0) } else { format!("({})", alternatives.join(" OR ")) }
        })
        .collect();
    if terms.is_empty() { None } else { Some(terms.join(" AND ")) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn word_forms_share_a_stem() {
        let stem = |w: &str| stems(w);
        // Ukrainian: a company name and its cases.
        assert!(stem("ромашки").iter().any(|s| stem("ромашка").contains(s)));
        assert!(stem("ромашкою").iter().any(|s| stem("ромашка").contains(s)));
        // Russian.
        assert!(stem("компании").iter().any(|s| stem("компания").contains(s)));
        // English.
        assert_eq!(stem("companies"), stem("company"));
        // Numbers and short words give no stem.
        assert!(stem("2024").is_empty());
        assert!(stem("на").is_empty());
    }

    #[test]
    fn queries_cannot_be_fts_syntax() {
        assert_eq!(fts_query("  \" * ( ) : "), None);
        let q = fts_query("NEAR(\"x\" OR y)").unwrap();
        assert!(!q.contains("NEAR("), "{q}");
        assert_eq!(fts_query("42"), Some("\"42\"*".into()));
    }
}

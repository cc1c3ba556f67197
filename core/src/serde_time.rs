//! How instants and dates look in self-describing formats (the JSON of the
//! CLI and the apps): RFC 3339 instants (`2026-12-04T15:30:00Z`) and ISO
//! dates (`2026-12-04`), not the `time` crate's default tuples
//! (`[2026, 338, 15, …]`). Use with `#[serde(with = "…")]`.
//!
//! An instant RFC 3339 cannot express (a year before 0 or after 9999, which
//! only a damaged or hostile document holds) is written as `time` displays
//! it rather than failing the whole output.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn format_instant(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn parse_instant<E: serde::de::Error>(s: &str) -> Result<OffsetDateTime, E> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| E::custom(format!("expected an RFC 3339 time, found {s:?}")))
}

/// `OffsetDateTime` as RFC 3339.
pub mod instant {
    use super::*;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_instant(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        parse_instant(&String::deserialize(d)?)
    }

    /// `Option<OffsetDateTime>` as RFC 3339 or null.
    pub mod option {
        use super::super::*;

        pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&format_instant(t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
            Option::<String>::deserialize(d)?.map(|s| parse_instant(&s)).transpose()
        }
    }
}

time::serde::format_description!(date_format, Date, "[year]-[month]-[day]");

/// `Date` as an ISO date (`2026-12-04`).
pub mod date {
    pub use super::date_format::{deserialize, serialize};

    /// `Option<Date>` as an ISO date or null.
    pub mod option {
        pub use super::super::date_format::option::{deserialize, serialize};
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Serialize;
    use time::Date;
    use time::macros::{date, datetime};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "instant")]
        at: OffsetDateTime,
        #[serde(with = "instant::option")]
        maybe: Option<OffsetDateTime>,
        #[serde(with = "date")]
        on: Date,
        #[serde(with = "date::option")]
        due: Option<Date>,
    }

    #[test]
    fn instants_and_dates_are_iso_text_and_round_trip() {
        let s = Sample {
            at: datetime!(2026-12-04 15:30:00.5 UTC),
            maybe: None,
            on: date!(2026 - 12 - 04),
            due: Some(date!(2027 - 01 - 31)),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"at":"2026-12-04T15:30:00.5Z","maybe":null,"on":"2026-12-04","due":"2027-01-31"}"#);
        assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), s);
        // Out of RFC 3339's range: still written, not an error.
        let far = Sample { at: datetime!(-0100-01-01 0:00 UTC), ..s };
        let text = serde_json::to_string(&far).unwrap();
        assert!(text.starts_with("{\"at\":\"-0100-01-01 "), "{text}");
    }
}

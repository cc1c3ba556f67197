//! Small typed accessors over Automerge maps.
//!
//! Every value Rapport stores is a scalar in a map, a nested map, or a text
//! object. These helpers read them leniently (a value of the wrong type reads
//! as absent, so a document written by a buggy or foreign peer never panics
//! the reader) and write them in one place.

use automerge::iter::MapRangeItem;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef};
use time::{Date, OffsetDateTime};

use crate::error::Result;

pub(crate) fn obj(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    }
}

pub(crate) fn obj_path(doc: &AutoCommit, path: &[&str]) -> Option<ObjId> {
    let mut cur = automerge::ROOT;
    for key in path {
        cur = obj(doc, &cur, key)?;
    }
    Some(cur)
}

pub(crate) fn scalar(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(parent, key) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn string(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<String> {
    match scalar(doc, parent, key)? {
        ScalarValue::Str(s) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    }
}

pub(crate) fn parsed<T: std::str::FromStr>(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<T> {
    string(doc, parent, key)?.parse().ok()
}

pub(crate) fn int(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<i64> {
    match scalar(doc, parent, key)? {
        ScalarValue::Int(i) => Some(i),
        ScalarValue::Uint(u) => i64::try_from(u).ok(),
        ScalarValue::Counter(c) => Some(i64::from(&c)),
        _ => None,
    }
}

/// One map object's visible keys and values, read in a single pass.
///
/// Automerge 0.12 keeps ops in columns: every `get` seeks from the start of
/// the object (~2 µs each), while one `map_range` walks the object once. Readers
/// that take several fields of one object (the typed read, the index row,
/// the conflict scan) read it through `Fields` instead of a `get` per key.
pub(crate) struct Fields<'a> {
    items: Vec<MapRangeItem<'a>>,
}

impl<'a> Fields<'a> {
    pub(crate) fn of(doc: &'a AutoCommit, obj: &ObjId) -> Fields<'a> {
        Fields { items: doc.map_range(obj, ..).collect() }
    }

    /// No fields (an object that is not there).
    pub(crate) fn empty() -> Fields<'a> {
        Fields { items: Vec::new() }
    }

    /// The fields of the map under `key` of `parent`, empty if there is none.
    pub(crate) fn child(doc: &'a AutoCommit, parent: &Fields<'_>, key: &str) -> Fields<'a> {
        match parent.obj(key) {
            Some(o) => Fields::of(doc, &o),
            None => Fields::empty(),
        }
    }

    fn item(&self, key: &str) -> Option<&MapRangeItem<'a>> {
        self.items.iter().find(|i| i.key == key)
    }

    /// Every visible key (the members of a set stored as map keys).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| i.key.as_ref())
    }

    /// Keys whose value is a nested object, with the object's id.
    pub(crate) fn objects(&self) -> impl Iterator<Item = (&str, ObjId)> {
        self.items.iter().filter(|i| matches!(i.value, ValueRef::Object(_))).map(|i| (i.key.as_ref(), i.id()))
    }

    /// Keys Automerge flags as holding concurrent values.
    pub(crate) fn conflicted(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter(|i| i.conflict).map(|i| i.key.as_ref())
    }

    pub(crate) fn obj(&self, key: &str) -> Option<ObjId> {
        self.item(key).filter(|i| matches!(i.value, ValueRef::Object(_))).map(MapRangeItem::id)
    }

    pub(crate) fn string(&self, key: &str) -> Option<String> {
        match &self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) if !s.is_empty() => Some(s.to_string()),
            _ => None,
        }
    }

    pub(crate) fn parsed<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        match &self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) if !s.is_empty() => s.parse().ok(),
            _ => None,
        }
    }

    /// An integer; counters are read with [`int`] (a `get` sums their increments).
    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        match self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Int(i)) => Some(i),
            ValueRef::Scalar(ScalarValueRef::Uint(u)) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Option<bool> {
        match self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Boolean(b)) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn timestamp(&self, key: &str) -> Option<OffsetDateTime> {
        match self.item(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Timestamp(ms)) => from_millis(ms),
            _ => None,
        }
    }

    pub(crate) fn date(&self, key: &str) -> Option<Date> {
        parse_date(&self.string(key)?).ok()
    }

    /// The text object under `key`, as a string (empty if absent).
    pub(crate) fn text(&self, doc: &AutoCommit, key: &str) -> String {
        self.obj(key).and_then(|t| doc.text(&t).ok()).unwrap_or_default()
    }

    /// The keys of the map under `key` (a set), empty if absent.
    pub(crate) fn set(&self, doc: &AutoCommit, key: &str) -> Vec<String> {
        keys(doc, self.obj(key).as_ref())
    }
}

/// Keys of a map (the members of a set stored as map keys).
pub(crate) fn keys(doc: &AutoCommit, map: Option<&ObjId>) -> Vec<String> {
    map.map(|m| doc.keys(m).collect()).unwrap_or_default()
}

/// Writes `Some` as a string; `None` clears the field (writes null, so a
/// concurrent edit shows as a conflict rather than a silent delete-wins).
pub(crate) fn put_opt_str(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => put_fresh(doc, obj, key, v),
        None => put_fresh(doc, obj, key, ScalarValue::Null),
    }
}

/// Writes `value` as a new operation that supersedes every value this replica
/// sees, even when the value is unchanged. Automerge skips a put of the value
/// already shown, which would leave a conflict's other values deleted but the
/// winner's old write in place (a concurrent edit by its author would then
/// silently replace the resolution). Deleting first makes the write fresh.
pub(crate) fn put_fresh(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: impl Into<ScalarValue>) -> Result<()> {
    if doc.get(obj, key)?.is_some() {
        doc.delete(obj, key)?;
    }
    doc.put(obj, key, value.into())?;
    Ok(())
}

pub(crate) fn put_ts(doc: &mut AutoCommit, obj: &ObjId, key: &str, at: OffsetDateTime) -> Result<()> {
    doc.put(obj, key, ScalarValue::Timestamp(millis(at)))?;
    Ok(())
}

pub(crate) fn put_opt_ts(doc: &mut AutoCommit, obj: &ObjId, key: &str, at: Option<OffsetDateTime>) -> Result<()> {
    match at {
        Some(at) => put_ts(doc, obj, key, at),
        None => Ok(()),
    }
}

pub(crate) fn put_map(doc: &mut AutoCommit, parent: &ObjId, key: &str) -> Result<ObjId> {
    Ok(doc.put_object(parent, key, ObjType::Map)?)
}

pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

pub(crate) fn parse_date(s: &str) -> std::result::Result<Date, time::error::Parse> {
    Date::parse(s.trim(), DATE_FORMAT)
}

pub(crate) fn format_date(d: Date) -> String {
    d.format(DATE_FORMAT).unwrap_or_default()
}

/// Renders a stored scalar for people (conflict lists, history).
pub(crate) fn display_scalar(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::Int(i) => i.to_string(),
        ScalarValue::Uint(u) => u.to_string(),
        ScalarValue::F64(f) => f.to_string(),
        ScalarValue::Counter(c) => i64::from(c).to_string(),
        ScalarValue::Timestamp(ms) => from_millis(*ms)
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default(),
        ScalarValue::Boolean(b) => b.to_string(),
        ScalarValue::Null => String::new(),
        ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => "<binary>".to_owned(),
    }
}

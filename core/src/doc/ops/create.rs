//! Creating an account document (its genesis change).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ScalarValue};
use time::OffsetDateTime;

use super::super::access::{self as a};
use super::super::fields::valid_free_key;
use super::super::{AccountDoc, Author, SCHEMA_VERSION, commit_options};
use super::*;
use crate::error::{Error, Result};
use crate::model::*;

impl AccountDoc {
    /// Creates a new account document, written by `author` in one change.
    pub fn create(author: &Author, new: &NewAccount) -> Result<AccountDoc> {
        let name = required("party.name", &new.name)?;
        let tags = new.tags.iter().map(|t| validate_tag(t)).collect::<Result<Vec<_>>>()?;
        for key in new.demographics.keys().chain(new.buying_habits.keys()) {
            if !valid_free_key(key) {
                return Err(Error::invalid("party.demographics", "keys must be 1 to 64 characters without dots"));
            }
        }
        let id = new.id.unwrap_or_default();
        let now = OffsetDateTime::now_utc();
        let mut doc = AutoCommit::new().with_actor(author.actor.clone());
        write_genesis(&mut doc, author, id, &name, &tags, new, now)?;
        doc.commit_with(commit_options(author, "account.create", now));
        Ok(AccountDoc { doc, id })
    }
}

#[allow(clippy::too_many_arguments)]
fn write_genesis(
    doc: &mut AutoCommit,
    author: &Author,
    id: AccountId,
    name: &str,
    tags: &[String],
    new: &NewAccount,
    now: OffsetDateTime,
) -> Result<()> {
    let root = automerge::ROOT;
    doc.put(&root, "type", "account")?;
    doc.put(&root, "schema", ScalarValue::Uint(SCHEMA_VERSION))?;
    doc.put(&root, "id", id.to_string())?;
    doc.put(&root, "created_by", author.user.as_str())?;
    a::put_ts(doc, &root, "created_at", now)?;
    a::put_map(doc, &root, "merged_from")?;
    for key in ["contacts", "deals", "interactions", "tasks", "ties", "ladder", "lifecycle"] {
        a::put_map(doc, &root, key)?;
    }
    let counters = a::put_map(doc, &root, "counters")?;
    doc.put(&counters, "visits", ScalarValue::counter(0))?;

    let p = a::put_map(doc, &root, "party")?;
    doc.put(&p, "kind", new.kind.as_str())?;
    doc.put(&p, "name", name)?;
    // The creator owns a new account unless told otherwise, as in any CRM (a
    // rep's server only accepts accounts in the rep's scope).
    let owner = Some(clean(&new.owner).unwrap_or_else(|| author.user.clone()));
    for (key, value) in [
        ("industry", &new.industry),
        ("website", &new.website),
        ("owner", &owner),
        ("team", &new.team),
        ("territory", &new.territory),
        ("source", &new.source),
    ] {
        if let Some(v) = clean(value) {
            doc.put(&p, key, v)?;
        }
    }
    if let Some(geo) = new.geo {
        Geo::new(geo.lat, geo.lon)?;
        doc.put(&p, "geo", geo.to_string())?;
    }
    if let Some(parent) = new.parent {
        doc.put(&p, "parent", parent.to_string())?;
    }
    doc.put(&p, "value_tier", new.value_tier.as_str())?;
    doc.put(&p, "loyalty_rung", new.loyalty_rung.as_str())?;
    doc.put(&p, "lifecycle_phase", new.lifecycle_phase.as_str())?;
    doc.put(&p, "status", AccountStatus::Active.as_str())?;
    let addr = a::put_map(doc, &p, "address")?;
    for (key, value) in [
        ("street", &new.address.street),
        ("city", &new.address.city),
        ("region", &new.address.region),
        ("postcode", &new.address.postcode),
        ("country", &new.address.country),
    ] {
        if let Some(v) = clean(value) {
            doc.put(&addr, key, v)?;
        }
    }
    let roles = a::put_map(doc, &p, "roles")?;
    for r in &new.roles {
        doc.put(&roles, r.as_str(), true)?;
    }
    let tag_map = a::put_map(doc, &p, "tags")?;
    for t in tags {
        doc.put(&tag_map, t.as_str(), true)?;
    }
    for (key, values) in [("demographics", &new.demographics), ("buying_habits", &new.buying_habits)] {
        let m = a::put_map(doc, &p, key)?;
        for (k, v) in values {
            doc.put(&m, k.as_str(), v.as_str())?;
        }
    }
    let notes = doc.put_object(&p, "notes", ObjType::Text)?;
    if !new.notes.is_empty() {
        doc.splice_text(&notes, 0, 0, &new.notes)?;
    }
    Ok(())
}

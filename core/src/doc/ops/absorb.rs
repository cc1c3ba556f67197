//! Absorbing a duplicate account (the survivor side of a merge).

use automerge::ReadDoc;
use automerge::transaction::Transactable;
use uuid::Uuid;

use super::super::access::{self as a, obj, obj_path};
use super::super::fields::Collection;
use super::*;
use crate::error::Result;
use crate::model::*;

impl Ctx<'_> {
    pub(super) fn absorb(&mut self, dup: &Account) -> Result<()> {
        let root = automerge::ROOT;
        let p = self.party()?;
        // Scalars this account does not have yet.
        let fills: [(&str, Option<String>); 9] = [
            ("industry", dup.party.industry.clone()),
            ("website", dup.party.website.clone()),
            ("owner", dup.party.owner.clone()),
            ("team", dup.party.team.clone()),
            ("territory", dup.party.territory.clone()),
            ("source", dup.party.source.clone()),
            ("geo", dup.party.geo.map(|g| g.to_string())),
            ("parent", dup.party.parent.map(|g| g.to_string())),
            (super::super::lens::REGISTRATION_CODE, dup.party.registration_code.clone()),
        ];
        for (key, value) in fills {
            if let Some(v) = value
                && a::string(self.doc, &p, key).is_none()
            {
                if key == super::super::lens::REGISTRATION_CODE {
                    self.raise_lens()?;
                }
                self.doc.put(&p, key, v)?;
            }
        }
        if let Some(addr) = obj(self.doc, &p, "address") {
            let a_ = &dup.party.address;
            for (key, value) in [
                ("street", &a_.street),
                ("city", &a_.city),
                ("region", &a_.region),
                ("postcode", &a_.postcode),
                ("country", &a_.country),
            ] {
                if let Some(v) = value
                    && a::string(self.doc, &addr, key).is_none()
                {
                    self.doc.put(&addr, key, v.as_str())?;
                }
            }
        }
        for r in &dup.party.roles {
            self.set_member(&["party", "roles"], r.as_str(), true)?;
        }
        for t in &dup.party.tags {
            self.set_member(&["party", "tags"], t, true)?;
        }
        for (key, values) in [("demographics", &dup.party.demographics), ("buying_habits", &dup.party.buying_habits)] {
            if let Some(m) = obj(self.doc, &p, key) {
                for (k, v) in values {
                    if a::string(self.doc, &m, k).is_none() {
                        self.doc.put(&m, k.as_str(), v.as_str())?;
                    }
                }
            }
        }
        let marker = format!("[merged from {}]", dup.id);
        let notes = self.notes()?;
        let current = self.doc.text(&notes)?;
        if !dup.party.notes.trim().is_empty() && !current.contains(&marker) {
            let addition = format!("{}{marker}\n{}", if current.is_empty() { "" } else { "\n\n" }, dup.party.notes);
            let len = self.doc.length(&notes);
            self.doc.splice_text(&notes, len, 0, &addition)?;
        }

        let contacts = self.collection(Collection::Contacts)?;
        for contact in &dup.contacts {
            if obj(self.doc, &contacts, &contact.id.to_string()).is_none() {
                self.write_contact(contact)?;
            }
        }
        let deals = self.collection(Collection::Deals)?;
        for deal in &dup.deals {
            if obj(self.doc, &deals, &deal.id.to_string()).is_none() {
                // Deterministic ids, so absorbing on two replicas yields the same keys.
                self.write_deal(deal, |i| Uuid::new_v5(&deal.id.0, format!("stage-move-{i}").as_bytes()))?;
            }
        }
        let interactions = self.collection(Collection::Interactions)?;
        for i in &dup.interactions {
            if obj(self.doc, &interactions, &i.id.to_string()).is_none() {
                self.write_interaction(i)?;
            }
        }
        let tasks = self.collection(Collection::Tasks)?;
        for t in &dup.tasks {
            if obj(self.doc, &tasks, &t.id.to_string()).is_none() {
                self.write_task(t)?;
            }
        }
        let ties = self.collection(Collection::Ties)?;
        for t in &dup.ties {
            if obj(self.doc, &ties, &t.id.to_string()).is_none() {
                self.write_tie(t)?;
            }
        }
        for (log, moves) in [
            (
                "ladder",
                dup.ladder_history
                    .iter()
                    .map(|m| (m.id, m.from.as_str(), m.to.as_str(), m.at, &m.by, &m.reason))
                    .collect::<Vec<_>>(),
            ),
            (
                "lifecycle",
                dup.lifecycle_history
                    .iter()
                    .map(|m| (m.id, m.from.as_str(), m.to.as_str(), m.at, &m.by, &m.reason))
                    .collect(),
            ),
        ] {
            let map = obj_path(self.doc, &[log]).ok_or_else(|| damaged("missing history"))?;
            for (id, from, to, at, by, reason) in moves {
                if obj(self.doc, &map, &id.to_string()).is_some() {
                    continue;
                }
                let m = a::put_map(self.doc, &map, &id.to_string())?;
                self.doc.put(&m, "from", from)?;
                self.doc.put(&m, "to", to)?;
                a::put_ts(self.doc, &m, "at", at)?;
                self.doc.put(&m, "by", by.as_str())?;
                if let Some(r) = reason {
                    self.doc.put(&m, "reason", r.as_str())?;
                }
            }
        }
        let merged_from = obj(self.doc, &root, "merged_from").ok_or_else(|| damaged("no merged_from"))?;
        if obj(self.doc, &merged_from, &dup.id.to_string()).is_none()
            && self.doc.get(&merged_from, dup.id.to_string())?.is_none()
        {
            self.doc.put(&merged_from, dup.id.to_string(), true)?;
            // Visits are a counter: carry the duplicate's total over once.
            if dup.visit_count != 0 {
                let counters = obj(self.doc, &root, "counters").ok_or_else(|| damaged("no counters"))?;
                self.doc.increment(&counters, "visits", dup.visit_count)?;
            }
        }
        Ok(())
    }
}

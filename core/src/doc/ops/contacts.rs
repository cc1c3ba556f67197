//! Contacts: add, emails, phones, consents.

use automerge::transaction::Transactable;
use uuid::Uuid;

use super::super::access::{self as a, obj};
use super::super::fields::Collection;
use super::*;
use crate::error::Result;
use crate::model::*;

impl Editor<'_> {
    pub fn add_contact(&mut self, new: &NewContact) -> Result<ContactId> {
        let contact = Contact {
            id: ContactId::new(),
            name: required("contact.name", &new.name)?,
            job_title: clean(&new.job_title),
            emails: new.emails.iter().map(|e| validate_email(e)).collect::<Result<_>>()?,
            phones: new
                .phones
                .iter()
                .map(|p| Ok(Phone { kind: p.kind, number: validate_phone(&p.number)? }))
                .collect::<Result<_>>()?,
            preferred_channel: new.preferred_channel,
            language: clean(&new.language),
            consents: Vec::new(),
            active: true,
        };
        self.change("contact.add", |c| c.write_contact(&contact))?;
        Ok(contact.id)
    }

    pub fn add_email(&mut self, contact: ContactId, email: &str) -> Result<()> {
        let email = validate_email(email)?;
        self.change("contact.add_email", |c| {
            c.record(Collection::Contacts, contact.0)?;
            c.set_member(&["contacts", &contact.to_string(), "emails"], &email, true)
        })
    }

    pub fn remove_email(&mut self, contact: ContactId, email: &str) -> Result<()> {
        self.change("contact.remove_email", |c| {
            c.record(Collection::Contacts, contact.0)?;
            c.set_member(&["contacts", &contact.to_string(), "emails"], email.trim(), false)
        })
    }

    pub fn add_phone(&mut self, contact: ContactId, phone: &Phone) -> Result<()> {
        let number = validate_phone(&phone.number)?;
        self.change("contact.add_phone", |c| {
            let o = c.record(Collection::Contacts, contact.0)?;
            let phones = obj(c.doc, &o, "phones").ok_or_else(|| damaged("contact has no phones map"))?;
            c.doc.put(&phones, number.as_str(), phone.kind.as_str())?;
            Ok(())
        })
    }

    pub fn remove_phone(&mut self, contact: ContactId, number: &str) -> Result<()> {
        self.change("contact.remove_phone", |c| {
            c.record(Collection::Contacts, contact.0)?;
            c.set_member(&["contacts", &contact.to_string(), "phones"], number.trim(), false)
        })
    }

    /// Marks a contact who left as inactive (kept, never deleted).
    pub fn deactivate_contact(&mut self, contact: ContactId) -> Result<()> {
        self.set_field(&format!("contacts.{contact}.active"), "false")
    }

    pub fn reactivate_contact(&mut self, contact: ContactId) -> Result<()> {
        self.set_field(&format!("contacts.{contact}.active"), "true")
    }

    /// Records a consent or refusal for a channel and topic; earlier records are kept.
    pub fn record_consent(&mut self, contact: ContactId, consent: &NewConsent) -> Result<Uuid> {
        let topic = required("consent.topic", &consent.topic)?;
        let id = Uuid::now_v7();
        self.change("contact.consent", |c| {
            let o = c.record(Collection::Contacts, contact.0)?;
            let map = obj(c.doc, &o, "consents").ok_or_else(|| damaged("contact has no consents map"))?;
            let entry = a::put_map(c.doc, &map, &id.to_string())?;
            c.doc.put(&entry, "channel", consent.channel.as_str())?;
            c.doc.put(&entry, "topic", topic.as_str())?;
            c.doc.put(&entry, "status", consent.status.as_str())?;
            if let Some(reason) = clean(&consent.reason) {
                c.doc.put(&entry, "reason", reason)?;
            }
            a::put_ts(c.doc, &entry, "at", c.now)?;
            c.doc.put(&entry, "by", c.author.user.as_str())?;
            Ok(())
        })?;
        Ok(id)
    }
}

impl Ctx<'_> {
    pub(super) fn write_contact(&mut self, contact: &Contact) -> Result<()> {
        let map = self.collection(Collection::Contacts)?;
        let o = a::put_map(self.doc, &map, &contact.id.to_string())?;
        self.doc.put(&o, "name", contact.name.as_str())?;
        if let Some(v) = &contact.job_title {
            self.doc.put(&o, "job_title", v.as_str())?;
        }
        if let Some(v) = contact.preferred_channel {
            self.doc.put(&o, "preferred_channel", v.as_str())?;
        }
        if let Some(v) = &contact.language {
            self.doc.put(&o, "language", v.as_str())?;
        }
        self.doc.put(&o, "active", contact.active)?;
        let emails = a::put_map(self.doc, &o, "emails")?;
        for e in &contact.emails {
            self.doc.put(&emails, e.as_str(), true)?;
        }
        let phones = a::put_map(self.doc, &o, "phones")?;
        for p in &contact.phones {
            self.doc.put(&phones, p.number.as_str(), p.kind.as_str())?;
        }
        let consents = a::put_map(self.doc, &o, "consents")?;
        for c in &contact.consents {
            let m = a::put_map(self.doc, &consents, &c.id.to_string())?;
            self.doc.put(&m, "channel", c.channel.as_str())?;
            self.doc.put(&m, "topic", c.topic.as_str())?;
            self.doc.put(&m, "status", c.status.as_str())?;
            if let Some(r) = &c.reason {
                self.doc.put(&m, "reason", r.as_str())?;
            }
            a::put_ts(self.doc, &m, "at", c.at)?;
            self.doc.put(&m, "by", c.by.as_str())?;
        }
        Ok(())
    }
}

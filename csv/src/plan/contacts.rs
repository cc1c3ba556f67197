//! Planning a group's contacts: rows of one contact merged (by id, else by
//! name), then compared with the contact on the account, if any; phones and
//! e-mails are only added (compared by digits and in lower case).

use std::collections::HashMap;

use rapport_core::{Account, Channel, ContactId, NewContact, Phone, PhoneKind};

use super::{AccountPlan, Entry, Op, Planner, Source, invalid, same_cell};
use crate::cells::{self, name_key};
use crate::headers::Column;
use crate::problem::Problem;

impl Planner<'_> {
    pub(super) fn plan_contacts(&mut self, account: &Account, entries: &[Entry], plan: &mut AccountPlan) {
        // Rows of one contact, merged: by id, else by name.
        let mut drafts: Vec<ContactDraft> = Vec::new();
        for entry in entries {
            let id = match entry.get(Column::ContactId) {
                Some(v) => match v.parse::<ContactId>().ok().filter(|id| account.contact(*id).is_some()) {
                    Some(id) => Some(id),
                    None => {
                        self.error(entry.src(Column::ContactId), Problem::NoSuchContact);
                        continue;
                    }
                },
                None => None,
            };
            let Some(name) = entry.get(Column::ContactName) else {
                self.error(entry.src(Column::ContactName), Problem::ContactNameEmpty);
                continue;
            };
            let found = account
                .contacts
                .iter()
                .find(|c| id.map_or_else(|| name_key(&c.name) == name_key(name), |id| c.id == id))
                .map(|c| c.id);
            let key = found.map_or_else(|| format!("name:{}", name_key(name)), |id| format!("id:{id}"));
            let index = match drafts.iter().position(|d| d.key == key) {
                Some(i) => i,
                None => {
                    drafts.push(ContactDraft {
                        key,
                        first: entry.src(Column::ContactName),
                        existing: found,
                        name: name.to_owned(),
                        scalars: HashMap::new(),
                        phones: Vec::new(),
                        emails: Vec::new(),
                    });
                    drafts.len() - 1
                }
            };
            let draft = &mut drafts[index];
            for column in [Column::ContactTitle, Column::ContactChannel, Column::ContactLanguage, Column::ContactActive]
            {
                let Some(value) = entry.get(column) else { continue };
                match draft.scalars.get(&column) {
                    Some((row, v)) if !same_cell(column, v, value) => {
                        let row = *row;
                        self.error(entry.src(column), Problem::DiffersForContact { row });
                    }
                    Some(_) => {}
                    None => {
                        draft.scalars.insert(column, (entry.row, value.to_owned()));
                    }
                }
            }
            for (column, kind) in [(Column::ContactPhone, PhoneKind::Work), (Column::ContactMobile, PhoneKind::Mobile)]
            {
                for number in entry.get(column).map(cells::list).unwrap_or_default() {
                    draft.phones.push((entry.src(column), Phone { kind, number }));
                }
            }
            for email in entry.get(Column::ContactEmail).map(cells::list).unwrap_or_default() {
                draft.emails.push((entry.src(Column::ContactEmail), email));
            }
        }
        for draft in drafts {
            plan.phones.extend(draft.phones.iter().map(|(s, p)| (*s, cells::phone_key(&p.number))));
            plan.emails.extend(draft.emails.iter().map(|(s, e)| (*s, cells::email_key(e))));
            let scalar = |c: Column| draft.scalars.get(&c).map(|(_, v)| v.clone());
            let src = |c: Column| Source { column: Some(c), ..draft.first };
            let mut channel = None;
            if let Some(v) = scalar(Column::ContactChannel) {
                match v.parse::<Channel>() {
                    Ok(c) => channel = Some(c),
                    Err(e) => self.error(src(Column::ContactChannel), invalid(&e)),
                }
            }
            let mut active = None;
            if let Some(v) = scalar(Column::ContactActive) {
                match v.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => active = Some(true),
                    "false" | "no" | "0" => active = Some(false),
                    _ => self.error(src(Column::ContactActive), Problem::ExpectedBool),
                }
            }
            match draft.existing.and_then(|id| account.contact(id)) {
                None => {
                    let mut phones: Vec<Phone> = Vec::new();
                    for (_, p) in &draft.phones {
                        if !phones.iter().any(|q| cells::phone_key(&q.number) == cells::phone_key(&p.number)) {
                            phones.push(p.clone());
                        }
                    }
                    let new = NewContact {
                        name: draft.name.clone(),
                        job_title: scalar(Column::ContactTitle),
                        emails: draft.emails.iter().map(|(_, e)| e.trim().to_owned()).collect(),
                        phones,
                        preferred_channel: channel,
                        language: scalar(Column::ContactLanguage),
                    };
                    plan.ops.push((draft.first, Op::AddContact { new, inactive: active == Some(false) }));
                    plan.contacts.created += 1;
                }
                Some(contact) => {
                    let before = plan.ops.len();
                    let path = |field: &str| format!("contacts.{}.{field}", contact.id);
                    // Matched by id: the row's name is the contact's name.
                    if name_key(&draft.name) != name_key(&contact.name) {
                        let op = Op::Set { path: path("name"), value: draft.name.clone() };
                        plan.ops.push((src(Column::ContactName), op));
                    }
                    let set = |column: Column, field: &str, now: Option<&str>, ops: &mut Vec<(Source, Op)>| {
                        if let Some(v) = scalar(column).filter(|v| Some(v.as_str()) != now) {
                            ops.push((src(column), Op::Set { path: path(field), value: v }));
                        }
                    };
                    set(Column::ContactTitle, "job_title", contact.job_title.as_deref(), &mut plan.ops);
                    set(Column::ContactLanguage, "language", contact.language.as_deref(), &mut plan.ops);
                    if let Some(c) = channel.filter(|c| Some(*c) != contact.preferred_channel) {
                        plan.ops.push((
                            src(Column::ContactChannel),
                            Op::Set { path: path("preferred_channel"), value: c.as_str().to_owned() },
                        ));
                    }
                    if let Some(a) = active.filter(|a| *a != contact.active) {
                        plan.ops
                            .push((src(Column::ContactActive), Op::Set { path: path("active"), value: a.to_string() }));
                    }
                    let mut known: Vec<String> = contact.phones.iter().map(|p| cells::phone_key(&p.number)).collect();
                    for (s, phone) in &draft.phones {
                        let key = cells::phone_key(&phone.number);
                        if !known.contains(&key) {
                            known.push(key);
                            plan.ops.push((*s, Op::AddPhone { contact: contact.id, phone: phone.clone() }));
                        }
                    }
                    let mut known: Vec<String> = contact.emails.iter().map(|e| cells::email_key(e)).collect();
                    for (s, email) in &draft.emails {
                        let key = cells::email_key(email);
                        if !known.contains(&key) {
                            known.push(key);
                            plan.ops.push((*s, Op::AddEmail { contact: contact.id, email: email.clone() }));
                        }
                    }
                    if plan.ops.len() > before {
                        plan.contacts.updated += 1;
                    } else {
                        plan.contacts.unchanged += 1;
                    }
                }
            }
        }
    }
}

/// A contact's rows, merged.
struct ContactDraft {
    key: String,
    first: Source,
    existing: Option<ContactId>,
    name: String,
    scalars: HashMap<Column, (u64, String)>,
    phones: Vec<(Source, Phone)>,
    emails: Vec<(Source, String)>,
}

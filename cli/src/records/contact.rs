//! `rapport contact …` and `rapport consent …`: a customer's people, how to
//! reach them, and what they agreed to or refused.

use rapport_core::{Channel, ConsentStatus, NewConsent, NewContact, Phone, PhoneKind, Replica};

use super::{account_id, contact_id, parse_flag};
use crate::args::{ConsentCommand, ContactCommand, EmailCommand, PhoneCommand};
use crate::error::{CliError, Result};

/// `[KIND:]NUMBER`, e.g. `work:+358 40 123 4567`; mobile by default.
fn phone(value: &str) -> Result<Phone> {
    match value.split_once(':') {
        Some((kind, number)) => {
            Ok(Phone { kind: parse_flag::<PhoneKind>("phone", kind)?, number: number.trim().into() })
        }
        None => Ok(Phone { kind: PhoneKind::Mobile, number: value.trim().into() }),
    }
}

pub fn contact(replica: &mut Replica, command: ContactCommand) -> Result<()> {
    match command {
        ContactCommand::Add { id, name, job_title, emails, phones, preferred_channel, language } => {
            let account = account_id(replica, &id)?;
            let new = NewContact {
                name,
                job_title,
                emails: emails.into_iter().collect(),
                phones: phones.iter().map(|p| phone(p)).collect::<Result<_>>()?,
                preferred_channel: preferred_channel
                    .as_deref()
                    .map(|c| parse_flag::<Channel>("preferred-channel", c))
                    .transpose()?,
                language,
            };
            let contact = replica.edit(account, |e| e.add_contact(&new))?;
            outln!("added contact {:?} to {account}", new.name.trim());
            outln!("{contact}");
        }
        ContactCommand::Edit { id, contact, name, job_title, preferred_channel, language } => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            if let Some(c) = preferred_channel.as_deref().filter(|c| !c.trim().is_empty()) {
                parse_flag::<Channel>("preferred-channel", c)?;
            }
            let fields: Vec<(&str, String)> = [
                ("name", name),
                ("job_title", job_title),
                ("preferred_channel", preferred_channel),
                ("language", language),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            if fields.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: give --name, --job-title, --preferred-channel or --language".into(),
                ));
            }
            replica.edit(account, |e| {
                fields.iter().try_for_each(|(k, v)| e.set_field(&format!("contacts.{contact}.{k}"), v))
            })?;
            let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
            outln!("changed {} of contact {contact}", names.join(", "));
        }
        ContactCommand::Deactivate { id, contact } => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            replica.edit(account, |e| e.deactivate_contact(contact))?;
            outln!("contact {contact} is inactive (undo with `rapport contact reactivate {account} {contact}`)");
        }
        ContactCommand::Reactivate { id, contact } => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            replica.edit(account, |e| e.reactivate_contact(contact))?;
            outln!("contact {contact} is active again");
        }
        ContactCommand::Phone(PhoneCommand::Add { id, contact, number, kind }) => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            let phone = Phone { kind: parse_flag::<PhoneKind>("kind", &kind)?, number };
            replica.edit(account, |e| e.add_phone(contact, &phone))?;
            outln!("added {} phone {} to contact {contact}", phone.kind.as_str(), phone.number.trim());
        }
        ContactCommand::Phone(PhoneCommand::Remove { id, contact, number }) => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            has(replica, account, contact, |c| c.phones.iter().any(|p| p.number == number.trim()), "phone", &number)?;
            replica.edit(account, |e| e.remove_phone(contact, &number))?;
            outln!("removed phone {} from contact {contact}", number.trim());
        }
        ContactCommand::Email(EmailCommand::Add { id, contact, email }) => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            replica.edit(account, |e| e.add_email(contact, &email))?;
            outln!("added e-mail {} to contact {contact}", email.trim());
        }
        ContactCommand::Email(EmailCommand::Remove { id, contact, email }) => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            has(replica, account, contact, |c| c.emails.contains(email.trim()), "e-mail", &email)?;
            replica.edit(account, |e| e.remove_email(contact, &email))?;
            outln!("removed e-mail {} from contact {contact}", email.trim());
        }
    }
    Ok(())
}

/// Refuses to remove a phone or e-mail the contact does not have (a typo
/// would otherwise succeed and change nothing).
fn has(
    replica: &Replica,
    account: rapport_core::AccountId,
    contact: rapport_core::ContactId,
    holds: impl Fn(&rapport_core::Contact) -> bool,
    what: &str,
    value: &str,
) -> Result<()> {
    let a = replica.account(account)?;
    let c = a.contact(contact).ok_or_else(|| {
        CliError::Core(rapport_core::Error::NotFound {
            kind: rapport_core::RecordKind::Contact,
            id: contact.to_string(),
        })
    })?;
    if holds(c) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "contact {contact} has no {what} {:?}; see the contact's with `rapport account show {account}`",
            value.trim()
        )))
    }
}

pub fn consent(replica: &mut Replica, command: ConsentCommand) -> Result<()> {
    match command {
        ConsentCommand::Record { id, contact, channel, topic, status, reason } => {
            let account = account_id(replica, &id)?;
            let contact = contact_id(replica, account, &contact)?;
            let new = NewConsent {
                channel: parse_flag::<Channel>("channel", &channel)?,
                topic,
                status: parse_flag::<ConsentStatus>("status", &status)?,
                reason,
            };
            let consent = replica.edit(account, |e| e.record_consent(contact, &new))?;
            outln!(
                "recorded {} for {} about {:?} for contact {contact}",
                new.status.as_str(),
                new.channel.as_str(),
                new.topic.trim()
            );
            outln!("{consent}");
        }
    }
    Ok(())
}

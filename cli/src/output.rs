//! Text and JSON output. JSON is the serde form of core's types (stable
//! field names); text is for people and may change.

use std::fmt::Write as _;

use rapport_core::{Account, AccountSummary, Conflict, HistoryEntry, Money, Task};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{CliError, Result};

/// Writes one line to standard output (through [`outln!`]). A reader that
/// went away (`rapport … | head`, `grep -q`) ends the command quietly with
/// [`CliError::OutputClosed`] instead of a panic.
pub fn line(args: std::fmt::Arguments<'_>) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::OutputClosed),
        Err(source) => Err(CliError::Io { path: "standard output".into(), source }),
    }
}

/// `println!` that returns early with an error when standard output fails.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::line(format_args!(""))?
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}

pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(format!("cannot encode JSON output: {e}")))?;
    outln!("{text}");
    Ok(())
}

pub fn when(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| t.to_string())
}

/// `1200.00 EUR` from minor units (zero-decimal currencies printed whole).
pub fn money(m: &Money) -> String {
    format!("{} {}", rapport_core::format_major_units(m.minor, &m.currency), m.currency)
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

pub fn summary_header() -> String {
    format!(
        "{:<36}  {:<28}  {:<10}  {:<10}  {:<12}  {:<8}  {:<9}  {:<16}  {:>5}  {}",
        "ID", "NAME", "OWNER", "TEAM", "TERRITORY", "TIER", "RUNG", "PHASE", "DEALS", "FLAGS"
    )
}

pub fn summary_line(s: &AccountSummary) -> String {
    let mut flags = Vec::new();
    if s.deleted {
        flags.push("deleted".to_owned());
    }
    if s.conflicts > 0 {
        flags.push(format!("{} conflict(s)", s.conflicts));
    }
    if s.status.as_str() != "active" {
        flags.push(s.status.as_str().to_owned());
    }
    let name: String = s.name.chars().take(28).collect();
    format!(
        "{:<36}  {:<28}  {:<10}  {:<10}  {:<12}  {:<8}  {:<9}  {:<16}  {:>5}  {}",
        s.id.to_string(),
        name,
        opt(&s.owner),
        opt(&s.team),
        opt(&s.territory),
        s.value_tier.as_str(),
        s.loyalty_rung.as_str(),
        s.lifecycle_phase.as_str(),
        s.open_deals,
        flags.join(", ")
    )
}

/// The whole account as text. `other_account` names an account a tie points
/// to (`None` if this device does not hold it).
pub fn account(a: &Account, conflicts: &[Conflict], other_account: &dyn Fn(uuid::Uuid) -> Option<String>) -> String {
    let p = &a.party;
    let mut o = String::new();
    let _ = writeln!(o, "{}  ({}, {})", p.name, p.kind.as_str(), p.status.as_str());
    let _ = writeln!(o, "id:          {}", a.id);
    if let Some(into) = a.merged_into {
        let _ = writeln!(o, "merged into: {into} (edit that account instead)");
    }
    if let Some(d) = &a.deleted {
        let _ =
            writeln!(o, "deleted:     {} by {} (restore with `rapport account restore {}`)", when(d.at), d.by, a.id);
    }
    let _ = writeln!(o, "owner:       {}   team: {}   territory: {}", opt(&p.owner), opt(&p.team), opt(&p.territory));
    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
    let _ = writeln!(o, "roles:       {}", if roles.is_empty() { "-".to_owned() } else { roles.join(", ") });
    let _ = writeln!(
        o,
        "tier:        {}   rung: {}   phase: {}",
        p.value_tier.as_str(),
        p.loyalty_rung.as_str(),
        p.lifecycle_phase.as_str()
    );
    if let Some(e) = &p.ending {
        let _ = writeln!(
            o,
            "ended:       {} ({}, in phase {}; reopen with `rapport account reopen {}`)",
            e.on,
            e.reason,
            e.phase.as_str(),
            a.id
        );
    }
    let _ = writeln!(o, "industry:    {}   website: {}", opt(&p.industry), opt(&p.website));
    if let Some(code) = &p.registration_code {
        let _ = writeln!(o, "reg. code:   {code}");
    }
    let addr = [&p.address.street, &p.address.postcode, &p.address.city, &p.address.region, &p.address.country]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>();
    if !addr.is_empty() {
        let _ = writeln!(o, "address:     {}", addr.join(", "));
    }
    if let Some(g) = &p.geo {
        let _ = writeln!(o, "geo:         {}, {}", g.lat, g.lon);
    }
    if let Some(source) = &p.source {
        let _ = writeln!(o, "source:      {source}");
    }
    if let Some(parent) = p.parent {
        let _ = writeln!(o, "parent:      {parent}");
    }
    if !p.tags.is_empty() {
        let _ = writeln!(o, "tags:        {}", p.tags.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    for (label, map) in [("demographics", &p.demographics), ("buying habits", &p.buying_habits)] {
        if !map.is_empty() {
            let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(o, "{label}: {}", pairs.join(", "));
        }
    }
    let _ = writeln!(o, "visits:      {}", a.visit_count);
    let _ = writeln!(o, "created:     {} by {}", when(p.created_at), p.created_by);
    let _ = writeln!(o, "updated:     {} by {}", when(p.updated_at), p.updated_by);
    if !p.notes.is_empty() {
        let _ = writeln!(o, "notes:\n  {}", p.notes.replace('\n', "\n  "));
    }
    contacts(&mut o, a);
    deals(&mut o, a);
    interactions(&mut o, a);
    if !a.tasks.is_empty() {
        let _ = writeln!(o, "tasks ({}):", a.tasks.len());
        for t in &a.tasks {
            let _ = writeln!(o, "  {}", task_line(t));
        }
    }
    if !a.ties.is_empty() {
        let _ = writeln!(o, "ties ({}):", a.ties.len());
        for t in &a.ties {
            let _ = writeln!(
                o,
                "  {}  {} → {}  {}{}",
                t.id,
                end_name(a, t.from, other_account),
                end_name(a, t.to, other_account),
                t.kind.as_str(),
                t.role.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            );
        }
    }
    if !a.ladder_history.is_empty() {
        let _ = writeln!(o, "loyalty ladder:");
        for m in &a.ladder_history {
            let _ = writeln!(o, "  {}", move_line(m.at, m.from.as_str(), m.to.as_str(), &m.by, m.reason.as_deref()));
        }
    }
    if !a.lifecycle_history.is_empty() {
        let _ = writeln!(o, "lifecycle:");
        for m in &a.lifecycle_history {
            let _ = writeln!(o, "  {}", move_line(m.at, m.from.as_str(), m.to.as_str(), &m.by, m.reason.as_deref()));
        }
    }
    if !conflicts.is_empty() {
        let _ = writeln!(o, "conflicts ({}): see `rapport conflicts`", conflicts.len());
        for c in conflicts {
            let _ = writeln!(o, "  {}", c.field);
        }
    }
    o.trim_end().to_owned()
}

fn contacts(o: &mut String, a: &Account) {
    if a.contacts.is_empty() {
        return;
    }
    let _ = writeln!(o, "contacts ({}):", a.contacts.len());
    for c in &a.contacts {
        let mut about = Vec::new();
        if let Some(ch) = c.preferred_channel {
            about.push(format!("prefers {}", ch.as_str()));
        }
        if let Some(l) = &c.language {
            about.push(format!("language {l}"));
        }
        let _ = writeln!(
            o,
            "  {}  {}{}{}{}",
            c.id,
            c.name,
            c.job_title.as_deref().map(|t| format!(", {t}")).unwrap_or_default(),
            if c.active { "" } else { " (inactive)" },
            if about.is_empty() { String::new() } else { format!("  [{}]", about.join(", ")) }
        );
        for p in &c.phones {
            let _ = writeln!(o, "      phone  {} ({})", p.number, p.kind.as_str());
        }
        for e in &c.emails {
            let _ = writeln!(o, "      e-mail {e}");
        }
        for k in &c.consents {
            let _ = writeln!(
                o,
                "      consent {} {} about {:?}{} ({} by {})",
                k.status.as_str(),
                k.channel.as_str(),
                k.topic,
                k.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
                when(k.at),
                k.by
            );
        }
    }
}

fn deals(o: &mut String, a: &Account) {
    if a.deals.is_empty() {
        return;
    }
    let _ = writeln!(o, "deals ({}):", a.deals.len());
    for d in &a.deals {
        let _ = writeln!(
            o,
            "  {}  {}  {}  {} ({}%)  {}  forecast {}",
            d.id,
            d.title,
            money(&d.amount),
            d.stage,
            d.probability,
            d.outcome.as_str(),
            d.forecast.as_str()
        );
        if let Some(close) = d.expected_close {
            let _ = writeln!(o, "      close date  {close}");
        }
        if let Some(step) = &d.next_step {
            let due = d.next_step_due.map(|due| format!(" (due {due})")).unwrap_or_default();
            let _ = writeln!(o, "      next step   {step}{due}");
        }
        if let Some(c) = d.primary_contact {
            let _ = writeln!(o, "      contact     {}", end_name(a, c.0, &|_| None));
        }
        if let Some(r) = &d.lost_reason {
            let note = d.lost_note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
            let _ = writeln!(o, "      lost        {r}{note}");
        }
        for i in &d.line_items {
            let total = i.total_minor().map(|t| money(&Money { minor: t, currency: d.amount.currency.clone() }));
            let _ = writeln!(
                o,
                "      {} × {} at {}{}  = {}  ({})",
                i.quantity,
                i.name,
                money(&Money { minor: i.unit_price_minor, currency: d.amount.currency.clone() }),
                if i.discount_percent > 0 { format!(" −{}%", i.discount_percent) } else { String::new() },
                total.unwrap_or_default(),
                i.id
            );
        }
        if !d.line_items.is_empty() && !d.amount_from_line_items {
            let _ = writeln!(o, "      (amount set by hand; `rapport deal follow-line-items` makes it their total)");
        }
        for m in &d.stage_history {
            let from = m.from.as_deref().unwrap_or("-");
            let _ = writeln!(o, "      stage {from} → {}  {} by {}", m.to, when(m.at), m.by);
        }
    }
}

fn interactions(o: &mut String, a: &Account) {
    let (planned, held): (Vec<_>, Vec<_>) =
        a.interactions.iter().partition(|i| i.status == rapport_core::InteractionStatus::Planned);
    for (label, list) in [("interactions", held), ("planned", planned)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "{label} ({}):", list.len());
        for i in list {
            let mut with: Vec<String> = i.contacts.iter().map(|c| end_name(a, c.0, &|_| None)).collect();
            if let Some(d) = i.deal {
                with.push(format!("deal {}", a.deal(d).map_or_else(|| d.to_string(), |d| d.title.clone())));
            }
            let _ = writeln!(
                o,
                "  {}  {}  {:<7}{}  {}  ({}, {}){}",
                i.id,
                when(i.when()),
                i.kind.as_str(),
                i.direction.map(|d| format!(" {}", d.as_str())).unwrap_or_default(),
                i.subject,
                i.status.as_str(),
                i.logged_by,
                if with.is_empty() { String::new() } else { format!("  with {}", with.join(", ")) }
            );
            for (what, text) in [("notes", &i.notes), ("outcome", &i.outcome)] {
                if let Some(t) = text {
                    let _ = writeln!(o, "      {what}: {t}");
                }
            }
        }
    }
}

/// A contact of the account by name, else the id (another account, or a gone contact).
/// A tie's end: this account's or a contact's name, another account's name
/// with its id, or the id alone (a record this device does not hold).
fn end_name(a: &Account, id: uuid::Uuid, other_account: &dyn Fn(uuid::Uuid) -> Option<String>) -> String {
    if id == a.id.0 {
        return a.party.name.clone();
    }
    if let Some(c) = a.contacts.iter().find(|c| c.id.0 == id) {
        return c.name.clone();
    }
    other_account(id).map_or_else(|| id.to_string(), |name| format!("{name} ({id})"))
}

fn move_line(at: OffsetDateTime, from: &str, to: &str, by: &str, reason: Option<&str>) -> String {
    format!("{}  {from} → {to}  by {by}{}", when(at), reason.map(|r| format!(": {r}")).unwrap_or_default())
}

pub fn task_line(t: &Task) -> String {
    format!(
        "{}  [{}] {}{}{}",
        t.id,
        t.status.as_str(),
        t.title,
        t.due.map(|d| format!("  due {d}")).unwrap_or_default(),
        t.assignee.as_deref().map(|u| format!("  for {u}")).unwrap_or_default()
    )
}

/// One change: its short hash (for `account show --at`), when, who, what.
pub fn history_line(h: &HistoryEntry) -> String {
    let short = h.hash.get(..10).unwrap_or(&h.hash);
    format!("{short}  {}  {}@{}  {:<20}  {}", when(h.at), h.user, h.device, h.op, h.fields.join(", "))
}

/// A change's values, one line per field that had or got a value: `old → new`,
/// amounts and prices in major units with the deal's currency.
pub fn change_lines(a: &Account, h: &HistoryEntry) -> Vec<String> {
    let shown = |field: &str, v: &Option<String>| match v.as_deref() {
        None | Some("") => "(none)".to_owned(),
        Some(v) => money_in_words(a, field, v).unwrap_or_else(|| format!("{v:?}")),
    };
    h.changes
        .iter()
        .filter(|c| c.old.as_deref().is_some_and(|v| !v.is_empty()) || c.new.as_deref().is_some_and(|v| !v.is_empty()))
        .map(|c| format!("      {}: {} → {}", c.field, shown(&c.field, &c.old), shown(&c.field, &c.new)))
        .collect()
}

/// `deals.<id>.amount` or `….unit_price` in minor units, as `360000.00 UAH`
/// in the deal's currency.
pub fn money_in_words(a: &Account, field: &str, value: &str) -> Option<String> {
    let rest = field.strip_prefix("deals.")?;
    let (deal, tail) = rest.split_once('.')?;
    if !(tail == "amount" || tail.ends_with(".unit_price")) {
        return None;
    }
    let deal = a.deals.iter().find(|d| d.id.to_string() == deal)?;
    let minor: i64 = value.parse().ok()?;
    let currency = &deal.amount.currency;
    Some(format!("{} {currency}", rapport_core::format_major_units(minor, currency)))
}

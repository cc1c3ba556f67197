//! `rapport import` and `rapport export`: accounts as CSV.
//!
//! Columns: id,name,kind,owner,team,territory,industry,website,street,city,
//! region,postcode,country,value_tier,loyalty_rung,lifecycle_phase,status,
//! tags,source. `tags` is semicolon-separated.
//!
//! Files as office software writes them: the delimiter (comma, semicolon or
//! tab) is taken from the header line; the encoding is UTF-8 (with or without
//! a byte-order mark), UTF-16 with a byte-order mark (Excel's "Unicode
//! text"), or else Windows-1251 (Excel's "CSV" in Ukrainian and Russian
//! locales). Exports are UTF-8 with a byte-order mark, so that Excel shows
//! Cyrillic correctly.
//!
//! Import rules:
//! * Only `name` is required in the header; columns left out are not touched.
//! * A row whose `id` is empty creates an account, unless one account on this
//!   replica has the same name and city (ignoring case and surrounding
//!   spaces): then that account is updated, so re-importing a file changes
//!   nothing. Two rows without an id with the same name and city, or a row
//!   that matches several accounts, are errors that name the lines.
//! * A row whose `id` names an account on this replica updates it; an
//!   unknown `id` creates the account with that id (moving accounts between
//!   systems keeps their ids).
//! * On an update, every column present is authoritative: an empty cell
//!   clears the field (except `name`, which must not be empty), and `tags`
//!   becomes exactly the listed set. Fields already equal are not written, so
//!   re-importing an export changes nothing.
//! * Every row is checked first, with core's own validation run on an
//!   in-memory copy. If any row is invalid, the import stops before writing
//!   and lists every bad row by line number and reason.
//! * New accounts are written in batches of [`BATCH`] (one transaction each);
//!   updates are one transaction per account.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use rapport_core::{
    Account, AccountDoc, AccountId, AccountStatus, Address, LifecyclePhase, LoyaltyRung, NewAccount, PartyKind,
    Replica, ValueTier,
};

use crate::error::{CliError, Result, core_message};

/// New accounts per `create_accounts` transaction.
pub const BATCH: usize = 500;

pub const COLUMNS: &[&str] = &[
    "id",
    "name",
    "kind",
    "owner",
    "team",
    "territory",
    "industry",
    "website",
    "street",
    "city",
    "region",
    "postcode",
    "country",
    "value_tier",
    "loyalty_rung",
    "lifecycle_phase",
    "status",
    "tags",
    "source",
];

/// The document field each scalar column writes.
pub fn field_path(column: &str) -> Option<&'static str> {
    Some(match column {
        "name" => "party.name",
        "kind" => "party.kind",
        "owner" => "party.owner",
        "team" => "party.team",
        "territory" => "party.territory",
        "industry" => "party.industry",
        "website" => "party.website",
        "street" => "party.address.street",
        "city" => "party.address.city",
        "region" => "party.address.region",
        "postcode" => "party.address.postcode",
        "country" => "party.address.country",
        "value_tier" => "party.value_tier",
        "loyalty_rung" => "party.loyalty_rung",
        "lifecycle_phase" => "party.lifecycle_phase",
        "status" => "party.status",
        "source" => "party.source",
        _ => return None,
    })
}

/// One column's current value on an account, as the CSV writes it.
fn current(a: &Account, column: &str) -> String {
    let p = &a.party;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match column {
        "id" => a.id.to_string(),
        "name" => p.name.clone(),
        "kind" => p.kind.as_str().to_owned(),
        "owner" => o(&p.owner),
        "team" => o(&p.team),
        "territory" => o(&p.territory),
        "industry" => o(&p.industry),
        "website" => o(&p.website),
        "street" => o(&p.address.street),
        "city" => o(&p.address.city),
        "region" => o(&p.address.region),
        "postcode" => o(&p.address.postcode),
        "country" => o(&p.address.country),
        "value_tier" => p.value_tier.as_str().to_owned(),
        "loyalty_rung" => p.loyalty_rung.as_str().to_owned(),
        "lifecycle_phase" => p.lifecycle_phase.as_str().to_owned(),
        "status" => p.status.as_str().to_owned(),
        "tags" => p.tags.iter().cloned().collect::<Vec<_>>().join(";"),
        "source" => o(&p.source),
        _ => String::new(),
    }
}

fn tags(cell: &str) -> BTreeSet<String> {
    cell.split(';').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// A checked row, ready to write.
enum Planned {
    Create(Box<NewAccount>, Option<AccountStatus>),
    Update(AccountId, Vec<(&'static str, String)>, Option<BTreeSet<String>>),
    Unchanged,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The text of a CSV file in any of the encodings office software writes
/// (see the module's description).
fn decode(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(&bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return Ok(text.into_owned());
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => Ok(encoding_rs::WINDOWS_1251.decode_without_bom_handling(e.as_bytes()).0.into_owned()),
    }
}

/// The delimiter of the header line: the most frequent of comma, semicolon
/// and tab outside quotes (comma if none).
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            _ => {
                if let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
                    c.1 += 1;
                }
            }
        }
    }
    counts.iter().fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best }).0
}

/// The key that finds an account again when a row has no id: its name and
/// city, trimmed and in lower case.
fn match_key(name: &str, city: &str) -> (String, String) {
    (name.trim().to_lowercase(), city.trim().to_lowercase())
}

pub fn import(replica: &mut Replica, path: &Path) -> Result<ImportReport> {
    let text = decode(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    check_headers(path, &headers)?;
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != headers.len() {
                    problems.push(format!(
                        "  line {line}: {} cells where the header has {}",
                        record.len(),
                        headers.len()
                    ));
                } else {
                    records.push((line, record));
                }
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("  line {line}: not valid UTF-8; save the file as UTF-8 CSV"));
            }
            Err(e) => return Err(csv_error(path, e)),
        }
    }
    let bar = progress(records.len() as u64, "checking");
    let mut plans = Vec::with_capacity(records.len());
    let mut seen_ids = HashSet::new();
    let mut known = KnownAccounts::read(replica)?;
    for (line, record) in &records {
        bar.inc(1);
        let cell = |name: &str| headers.iter().position(|h| h == name).and_then(|i| record.get(i));
        match plan_row(replica, &headers, &cell, &mut seen_ids, &mut known, *line) {
            Ok(plan) => plans.push(plan),
            Err(reason) => problems.push(format!("  line {line}: {reason}")),
        }
    }
    bar.finish_and_clear();
    if !problems.is_empty() {
        return Err(CliError::InvalidCsv { path: path.to_path_buf(), rows: problems });
    }

    let bar = progress(plans.len() as u64, "importing");
    let mut report = ImportReport::default();
    let mut creates: Vec<(NewAccount, Option<AccountStatus>)> = Vec::new();
    for plan in plans {
        match plan {
            Planned::Create(new, status) => creates.push((*new, status)),
            Planned::Update(id, fields, new_tags) => {
                apply_update(replica, id, &fields, new_tags.as_ref())?;
                report.updated += 1;
                bar.inc(1);
            }
            Planned::Unchanged => {
                report.unchanged += 1;
                bar.inc(1);
            }
        }
    }
    for chunk in creates.chunks(BATCH) {
        let batch: Vec<NewAccount> = chunk.iter().map(|(n, _)| n.clone()).collect();
        let ids = replica.create_accounts(&batch)?;
        for (id, (_, status)) in ids.iter().zip(chunk) {
            if let Some(status) = status {
                replica.edit(*id, |e| e.set_field("party.status", status.as_str()))?;
            }
        }
        report.created += ids.len();
        bar.inc(ids.len() as u64);
    }
    bar.finish_and_clear();
    Ok(report)
}

fn apply_update(
    replica: &mut Replica,
    id: AccountId,
    fields: &[(&'static str, String)],
    new_tags: Option<&BTreeSet<String>>,
) -> Result<()> {
    let old_tags = replica.account(id)?.party.tags;
    replica.edit(id, |e| {
        for (path, value) in fields {
            e.set_field(path, value)?;
        }
        if let Some(new_tags) = new_tags {
            for t in new_tags.difference(&old_tags) {
                e.add_tag(t)?;
            }
            for t in old_tags.difference(new_tags) {
                e.remove_tag(t)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn check_headers(path: &Path, headers: &[String]) -> Result<()> {
    let mut rows = Vec::new();
    for h in headers {
        if !COLUMNS.contains(&h.as_str()) {
            rows.push(format!("  line 1: unknown column {h:?}; columns are {}", COLUMNS.join(",")));
        }
    }
    let mut seen = HashSet::new();
    for h in headers {
        if !seen.insert(h) {
            rows.push(format!("  line 1: column {h:?} appears twice"));
        }
    }
    if !headers.iter().any(|h| h == "name") {
        rows.push("  line 1: the header has no \"name\" column (every account needs a name)".to_owned());
    }
    if rows.is_empty() { Ok(()) } else { Err(CliError::InvalidCsv { path: path.to_path_buf(), rows }) }
}

/// The accounts on this replica by [`match_key`], and the rows without an
/// id seen so far in the file.
struct KnownAccounts {
    /// Accounts by trimmed, lower-case name, from the index (no document is
    /// loaded until a row's name matches).
    by_name: HashMap<String, Vec<AccountId>>,
    rows: HashMap<(String, String), u64>,
}

impl KnownAccounts {
    fn read(replica: &Replica) -> Result<KnownAccounts> {
        let mut by_name: HashMap<String, Vec<AccountId>> = HashMap::new();
        for summary in replica.list(&rapport_core::AccountFilter::default())? {
            by_name.entry(match_key(&summary.name, "").0).or_default().push(summary.id);
        }
        Ok(KnownAccounts { by_name, rows: HashMap::new() })
    }

    /// The account a row without an id stands for, if any.
    fn find(
        &mut self,
        replica: &Replica,
        name: &str,
        city: &str,
        line: u64,
    ) -> std::result::Result<Option<AccountId>, String> {
        let key = match_key(name, city);
        if let Some(first) = self.rows.insert(key.clone(), line) {
            return Err(format!(
                "the same name and city as line {first}; give each row its id, or tell the accounts apart by name"
            ));
        }
        let mut same = Vec::new();
        for id in self.by_name.get(&key.0).into_iter().flatten() {
            let account = replica.account(*id).map_err(|e| core_message(&e))?;
            if match_key(name, account.party.address.city.as_deref().unwrap_or_default()) == key {
                same.push(*id);
            }
        }
        match same.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(*id)),
            ids => Err(format!(
                "{} accounts on this device have this name and city; add the id column to say which one",
                ids.len()
            )),
        }
    }
}

/// Checks one row, with core's validation on an in-memory copy; returns the reason if invalid.
fn plan_row<'r>(
    replica: &Replica,
    headers: &[String],
    cell: &dyn Fn(&str) -> Option<&'r str>,
    seen_ids: &mut HashSet<AccountId>,
    known: &mut KnownAccounts,
    line: u64,
) -> std::result::Result<Planned, String> {
    let id = match cell("id").filter(|v| !v.is_empty()) {
        Some(v) => {
            let id: AccountId = v.parse().map_err(|_| format!("id {v:?} is not a UUID"))?;
            if !seen_ids.insert(id) {
                return Err(format!("id {id} appears on more than one row"));
            }
            Some(id)
        }
        None => known.find(replica, cell("name").unwrap_or_default(), cell("city").unwrap_or_default(), line)?,
    };
    let existing = match id {
        Some(id) => match replica.document(id) {
            Ok(doc) => Some(doc),
            Err(rapport_core::Error::NotFound { .. }) => None,
            Err(e) => return Err(core_message(&e)),
        },
        None => None,
    };
    match existing {
        Some(mut doc) => plan_update(replica, headers, cell, &mut doc),
        None => plan_create(replica, id, cell),
    }
}

fn plan_create<'r>(
    replica: &Replica,
    id: Option<AccountId>,
    cell: &dyn Fn(&str) -> Option<&'r str>,
) -> std::result::Result<Planned, String> {
    let text = |name: &str| cell(name).filter(|v| !v.is_empty()).map(str::to_owned);
    fn parsed<T: std::str::FromStr<Err = rapport_core::Error>>(
        column: &str,
        value: Option<String>,
        default: T,
    ) -> std::result::Result<T, String> {
        match value {
            Some(v) => v.parse().map_err(|e| match e {
                rapport_core::Error::InvalidValue { reason, .. } => format!("{column} {v:?}: {reason}"),
                other => core_message(&other),
            }),
            None => Ok(default),
        }
    }
    let mut new = NewAccount::new(text("name").unwrap_or_default());
    new.id = id;
    new.kind = parsed("kind", text("kind"), PartyKind::Organization)?;
    new.owner = text("owner");
    new.team = text("team");
    new.territory = text("territory");
    new.industry = text("industry");
    new.website = text("website");
    new.address = Address {
        street: text("street"),
        city: text("city"),
        region: text("region"),
        postcode: text("postcode"),
        country: text("country"),
    };
    new.value_tier = parsed("value_tier", text("value_tier"), ValueTier::Standard)?;
    new.loyalty_rung = parsed("loyalty_rung", text("loyalty_rung"), LoyaltyRung::Prospect)?;
    new.lifecycle_phase = parsed("lifecycle_phase", text("lifecycle_phase"), LifecyclePhase::PreRelationship)?;
    let status = parsed("status", text("status"), AccountStatus::Active)?;
    new.source = text("source");
    new.tags = cell("tags").map(tags).unwrap_or_default();
    // Core's own checks (name, tags, …), on a document that is thrown away.
    AccountDoc::create(replica.author(), &new).map_err(|e| core_message(&e))?;
    Ok(Planned::Create(Box::new(new), (status != AccountStatus::Active).then_some(status)))
}

fn plan_update<'r>(
    replica: &Replica,
    headers: &[String],
    cell: &dyn Fn(&str) -> Option<&'r str>,
    doc: &mut AccountDoc,
) -> std::result::Result<Planned, String> {
    let account = doc.read();
    if let Some(into) = account.merged_into {
        return Err(format!("account {} was merged into {into}; use that id", account.id));
    }
    let mut fields = Vec::new();
    for column in headers {
        let (Some(path), Some(value)) = (field_path(column), cell(column)) else { continue };
        if current(&account, column) != value {
            fields.push((path, value.to_owned()));
        }
    }
    let new_tags = cell("tags").map(tags).filter(|t| *t != account.party.tags);
    if fields.is_empty() && new_tags.is_none() {
        return Ok(Planned::Unchanged);
    }
    // Run the same edits on the in-memory copy: core validates every value.
    let mut editor = doc.edit(replica.author(), replica.settings());
    for (path, value) in &fields {
        editor.set_field(path, value).map_err(|e| core_message(&e))?;
    }
    if let Some(t) = &new_tags {
        for tag in t.difference(&account.party.tags) {
            editor.add_tag(tag).map_err(|e| core_message(&e))?;
        }
    }
    Ok(Planned::Update(account.id, fields, new_tags))
}

pub fn export(replica: &Replica, path: &Path, include_deleted: bool) -> Result<usize> {
    let ids: Vec<AccountId> = replica
        .list(&rapport_core::AccountFilter { include_deleted, ..Default::default() })?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let tmp = path.with_extension("csv.partial");
    let mut file = std::fs::File::create(&tmp).map_err(|e| CliError::io(&tmp, e))?;
    std::io::Write::write_all(&mut file, "\u{feff}".as_bytes()).map_err(|e| CliError::io(&tmp, e))?;
    let mut writer = csv::Writer::from_writer(file);
    writer.write_record(COLUMNS).map_err(|e| csv_error(&tmp, e))?;
    let bar = progress(ids.len() as u64, "exporting");
    for id in &ids {
        let account = replica.account(*id)?;
        writer.write_record(COLUMNS.iter().map(|c| current(&account, c))).map_err(|e| csv_error(&tmp, e))?;
        bar.inc(1);
    }
    writer.flush().map_err(|e| CliError::io(&tmp, e))?;
    drop(writer);
    std::fs::rename(&tmp, path).map_err(|e| CliError::io(path, e))?;
    bar.finish_and_clear();
    Ok(ids.len())
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} rows")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

fn csv_error(path: &Path, e: csv::Error) -> CliError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CliError::io(path, io),
        csv::ErrorKind::Utf8 { .. } => CliError::InvalidCsv {
            path: path.to_path_buf(),
            rows: vec![format!("  line {}: not valid UTF-8; save the file as UTF-8 CSV", line.unwrap_or(0))],
        },
        other => CliError::InvalidCsv {
            path: path.to_path_buf(),
            rows: vec![format!("  line {}: {other:?}", line.unwrap_or(0))],
        },
    }
}

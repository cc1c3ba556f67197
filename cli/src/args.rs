//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::encryption::KeySource;

const ACCOUNT_HELP: &str = "The account: its id, or the first 4 or more characters of it";
const CONTACT_HELP: &str = "A contact of the account: its id, or the first 4 or more characters of it";
const DEAL_HELP: &str = "A deal of the account: its id, or the first 4 or more characters of it";
const TASK_HELP: &str = "A task of the account: its id, or the first 4 or more characters of it";
const INTERACTION_HELP: &str = "An interaction of the account: its id, or the first 4 or more characters of it";
const ITEM_HELP: &str = "A line item of the deal: its id, or the first 4 or more characters of it";

#[derive(Debug, Parser)]
#[command(name = "rapport", version, about = "Rapport CRM: a local replica synced with the Rapport server")]
pub struct Cli {
    /// Replica directory (default: $RAPPORT_REPLICA, else the platform data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub replica: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up the replica directory for a server and device token.
    Init(InitArgs),
    /// Push local changes and pull everyone else's, then exit.
    Sync(SyncArgs),
    /// Stay connected: apply changes from other devices as they land (Ctrl-C to stop).
    Watch(WatchArgs),
    /// Open the desktop app in the browser (local, 127.0.0.1 only), syncing while it runs (Ctrl-C to stop).
    App(AppArgs),
    /// Encrypt the replica in place (key from the OS keyring, else a passphrase).
    Encrypt(EncryptArgs),
    /// Show the replica's server, identity and unsynced changes.
    Status(JsonFlag),
    /// Accounts: add, edit, show, list, history, delete and restore, merge, end and reopen the relationship.
    #[command(subcommand)]
    Account(AccountCommand),
    /// A customer's people: add, edit, deactivate and reactivate, phones and e-mails.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Record a contact's consent or refusal for a channel and topic.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Log held interactions (call, meeting, visit, email, note), plan future ones, mark planned ones held.
    #[command(subcommand)]
    Interaction(InteractionCommand),
    /// Deals: add, move between stages, mark won, mark lost with a reason, line items.
    #[command(subcommand)]
    Deal(DealCommand),
    /// Tasks of an account: add, mark done, list.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Ties between contacts and parties (professional, social, parent, group, …).
    #[command(subcommand)]
    Tie(TieCommand),
    /// The party's roles (customer, supplier, partner, reseller, government, internal).
    #[command(subcommand)]
    Role(RoleCommand),
    /// Move an account on the loyalty ladder, with a reason.
    #[command(subcommand)]
    Ladder(LadderCommand),
    /// Move an account to another lifecycle phase, with a reason.
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
    /// Replace an account's notes.
    #[command(subcommand)]
    Notes(NotesCommand),
    /// Add or remove a tag.
    #[command(subcommand)]
    Tag(TagCommand),
    /// Pipeline stages and reason catalogues: show them; administrators, managers and the office change them.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// List fields edited concurrently on two devices.
    Conflicts(JsonFlag),
    /// Resolve a conflict by writing the chosen value.
    Resolve {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// A field path as `rapport conflicts` lists it, e.g. party.owner.
        field: String,
        /// The chosen value, as `rapport conflicts` shows it.
        value: String,
    },
    /// Create or update accounts, contacts and deals from CSV files (all rows are checked first).
    Import(ImportArgs),
    /// Write accounts, contacts, deals or interactions to a CSV file.
    Export(ExportArgs),
    /// Edits the server refused: list them, discard one, or make it again.
    #[command(subcommand)]
    Refused(RefusedCommand),
}

#[derive(Debug, Subcommand)]
pub enum RefusedCommand {
    /// List the refused edits kept on this device, with why they were refused.
    List(JsonFlag),
    /// Throw a refused edit away for good (`settings`: this device's refused
    /// settings changes, so that the settings are the server's again).
    Discard {
        /// The refused edit's number, as `rapport refused list` shows it, or `settings`.
        id: String,
    },
    /// Make a refused edit again on the account as it is now (pushed at the
    /// next sync); `settings` sends the refused settings changes again.
    Retry {
        /// The refused edit's number, as `rapport refused list` shows it, or `settings`.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Server URL, e.g. https://rapport.example.com.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// This device's token (from the administrator).
    #[arg(long, value_name = "TOKEN")]
    pub token: String,
    /// The user edits are attributed to: taken from the token; if given, it must be the token's user
    /// (needed with --offline).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// This device's name: taken from the token; if given, it must be the token's device
    /// (with --offline, default: the host name).
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Do not contact the server now (needs --user); the first sync checks the token.
    #[arg(long)]
    pub offline: bool,
    /// Also trust this CA certificate (PEM) for the server's HTTPS certificate, for a self-hosted
    /// server whose company CA is not installed on this machine; kept in the replica's config.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Encrypt the replica: with a random key kept in the OS keyring (the default), or with a
    /// passphrase ($RAPPORT_PASSPHRASE, else asked); without a reachable keyring, a passphrase.
    #[arg(long, value_enum, value_name = "KEY", num_args = 0..=1, default_missing_value = "keyring")]
    pub encrypt: Option<KeySource>,
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Where the key is kept: a random key in the OS keyring, or a passphrase
    /// ($RAPPORT_PASSPHRASE, else asked). Without a reachable keyring, a passphrase.
    #[arg(long, value_enum, value_name = "KEY", default_value = "keyring")]
    pub key: KeySource,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Seconds between pushes of local changes.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub push_every: u64,
}

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The local port (default: any free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Print the one-time link instead of opening the browser.
    #[arg(long)]
    pub no_open: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id alone on the last line.
    Add {
        /// The party's name (a company's or a person's).
        #[arg(long)]
        name: String,
        /// organization or person.
        #[arg(long, default_value = "organization")]
        kind: String,
        /// The owning rep's user name (default: you, the token's user).
        #[arg(long)]
        owner: Option<String>,
        /// The territory, as the server's directory names it.
        #[arg(long)]
        territory: Option<String>,
        /// The team, as the server's directory names it.
        #[arg(long)]
        team: Option<String>,
        /// Write the owner, team and territory even if the directory of the server does not list them.
        #[arg(long)]
        allow_unknown_owner: bool,
    },
    /// Set one field, e.g. `party.address.city Tampere` or `deals.<id>.amount 1200.50` (amounts and
    /// prices in major units of the deal's currency; ids in the path may be shortened). An empty
    /// VALUE clears an optional field. The status is changed with `account end` and `account reopen`.
    Set {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// A field path, e.g. party.name, address.city, contacts.<id>.job_title, deals.<id>.expected_close.
        field: String,
        /// The new value (dates YYYY-MM-DD; amounts in major units, e.g. 1200.50).
        value: String,
        /// Write an owner, team or territory even if the directory of the server does not list it.
        #[arg(long)]
        allow_unknown_owner: bool,
    },
    /// Show the whole account: party, contacts, consents, deals, interactions, tasks, ties, histories
    /// (now, or as it was after an earlier change with --at).
    Show {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// Print JSON instead of text (amounts also in major units under `amounts`).
        #[arg(long)]
        json: bool,
        /// Show the account as it was right after this change: a hash from `rapport account history`,
        /// or its first 6 or more characters.
        #[arg(long, value_name = "HASH")]
        at: Option<String>,
    },
    /// List accounts, filtered.
    List(ListArgs),
    /// Who changed what, oldest first, with old and new values; each change's short hash shows the
    /// account as it was after it (`account show ID --at HASH`).
    History {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Soft-delete (hidden from lists, restorable).
    Delete {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
    },
    /// Undo a delete.
    Restore {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
    },
    /// Merge DUPLICATE into SURVIVOR (two records of one customer): the survivor keeps its own
    /// values, gains the duplicate's contacts, deals, interactions, tasks, tags and the fields it
    /// lacks; the duplicate becomes a redirect. Find candidates with `rapport account duplicates`.
    Merge {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        survivor: String,
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        duplicate: String,
    },
    /// End the relationship (status former or lost) with a reason from the settings' end-reason
    /// catalogue; the lifecycle phase it ended in is kept.
    End {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// A reason from the end-reason catalogue (see `rapport settings show`).
        #[arg(long)]
        reason: String,
        /// The day it ended, YYYY-MM-DD (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// former (the customer left) or lost (we lost them).
        #[arg(long, default_value = "lost")]
        status: String,
        /// Move the lifecycle to this phase first (e.g. final), so the ending is recorded in it.
        #[arg(long)]
        phase: Option<String>,
    },
    /// Reopen an ended relationship: active again, the ending cleared (the history keeps it).
    #[command(alias = "restore-relationship")]
    Reopen {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
    },
    /// List groups of likely duplicate accounts (same name apart from case, quotes and legal
    /// forms such as ТОВ, ООО, LLC; same registration code; a contact's same phone or e-mail),
    /// each with why; merge them with `rapport account merge SURVIVOR DUPLICATE`.
    Duplicates {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Give every account matching the filters to another owner, team or territory, in one go
    /// (pushed by the next sync). Names are checked against the server's directory.
    Reassign(ReassignArgs),
}

#[derive(Debug, Args, Default)]
pub struct ReassignArgs {
    /// The new owner (a user of the directory).
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// The new team.
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
    /// The new territory.
    #[arg(long, value_name = "NAME")]
    pub territory: Option<String>,
    /// Only accounts owned by this user now.
    #[arg(long, value_name = "NAME")]
    pub from_owner: Option<String>,
    /// Only accounts of this team now.
    #[arg(long, value_name = "NAME")]
    pub from_team: Option<String>,
    /// Only accounts in this territory now.
    #[arg(long, value_name = "NAME")]
    pub from_territory: Option<String>,
    /// Only accounts with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Accounts with a deal in this stage.
    #[arg(long)]
    pub stage: Option<String>,
    /// Only accounts on this loyalty rung: prospect, customer, client, supporter, advocate, partner.
    #[arg(long)]
    pub rung: Option<String>,
    /// Only accounts in this lifecycle phase: pre_relationship, early, development, long_term, final.
    #[arg(long)]
    pub phase: Option<String>,
    /// Only accounts of this value tier: key, standard, low.
    #[arg(long)]
    pub tier: Option<String>,
    /// Only accounts with this status: active, former, lost.
    #[arg(long)]
    pub status: Option<String>,
    /// Full-text search, as in `account list --search`.
    #[arg(long)]
    pub search: Option<String>,
    /// Only accounts with open conflicts.
    #[arg(long)]
    pub conflicts: bool,
    /// The filters of `account list` as key=value (repeatable), e.g. --filter owner=ana --filter tag=vip.
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Reassign every account (when no filter is given).
    #[arg(long)]
    pub all: bool,
    /// Show what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write names even if the directory of the server does not list them.
    #[arg(long)]
    pub allow_unknown_owner: bool,
    /// Print what changes (or would change) as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    /// Accounts of this owner (a user name).
    #[arg(long)]
    pub owner: Option<String>,
    /// Accounts of this team.
    #[arg(long)]
    pub team: Option<String>,
    /// Accounts in this territory.
    #[arg(long)]
    pub territory: Option<String>,
    /// Accounts with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Accounts with a deal in this stage.
    #[arg(long)]
    pub stage: Option<String>,
    /// Loyalty rung: prospect, customer, client, supporter, advocate, partner.
    #[arg(long)]
    pub rung: Option<String>,
    /// Lifecycle phase: pre_relationship, early, development, long_term, final.
    #[arg(long)]
    pub phase: Option<String>,
    /// Value tier: key, standard, low.
    #[arg(long)]
    pub tier: Option<String>,
    /// Status: active, former, lost.
    #[arg(long)]
    pub status: Option<String>,
    /// Full-text search over names, contacts and notes.
    #[arg(long)]
    pub search: Option<String>,
    /// Only accounts with open conflicts.
    #[arg(long)]
    pub conflicts: bool,
    /// Same keys as the flags, as key=value (repeatable), e.g. --filter owner=ana.
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Also list soft-deleted accounts.
    #[arg(long)]
    pub include_deleted: bool,
    /// At most this many accounts.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum InteractionCommand {
    /// Log a held interaction; prints its id alone on the last line.
    Log {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// call, meeting, visit, email or note.
        #[arg(long)]
        kind: String,
        /// What it was about.
        #[arg(long)]
        subject: String,
        /// Notes on it.
        #[arg(long)]
        notes: Option<String>,
        /// When it was held: RFC 3339, or YYYY-MM-DD HH:MM in UTC (default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[command(flatten)]
        with: InteractionWith,
        /// What came of it.
        #[arg(long)]
        outcome: Option<String>,
    },
    /// Plan a future interaction; prints its id alone on the last line.
    Plan {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// call, meeting, visit, email or note.
        #[arg(long)]
        kind: String,
        /// What it is about.
        #[arg(long)]
        subject: String,
        /// When it starts: RFC 3339, or YYYY-MM-DD HH:MM in UTC.
        #[arg(long, value_name = "TIME")]
        at: String,
        /// When it ends (same forms as --at).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[command(flatten)]
        with: InteractionWith,
        /// Notes for it.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Mark a planned interaction as held (a visit then counts in the account's visits).
    Held {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "INTERACTION", help = INTERACTION_HELP)]
        interaction: String,
        /// When it was held: RFC 3339, or YYYY-MM-DD HH:MM in UTC (default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// When it ended (same forms as --at).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// What came of it.
        #[arg(long)]
        outcome: Option<String>,
        /// Notes on it (replace the notes made when it was planned).
        #[arg(long)]
        notes: Option<String>,
    },
}

/// Whom and what an interaction is with.
#[derive(Debug, Args)]
pub struct InteractionWith {
    /// A contact of the account (id or its first characters); repeatable.
    #[arg(long = "contact", value_name = "CONTACT")]
    pub contacts: Vec<String>,
    /// The deal it is about (id or its first characters).
    #[arg(long)]
    pub deal: Option<String>,
    /// inbound or outbound.
    #[arg(long)]
    pub direction: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Add a contact; prints its id alone on the last line.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Job title, e.g. Chief Accountant.
        #[arg(long)]
        job_title: Option<String>,
        /// An e-mail address; repeatable.
        #[arg(long = "email", value_name = "EMAIL")]
        emails: Vec<String>,
        /// A phone number, optionally with its kind first: `work:+358 40 123` (default mobile); repeatable.
        #[arg(long = "phone", value_name = "[KIND:]NUMBER")]
        phones: Vec<String>,
        /// phone, email, sms, messenger, visit or post.
        #[arg(long)]
        preferred_channel: Option<String>,
        /// Language the contact prefers, e.g. uk.
        #[arg(long)]
        language: Option<String>,
    },
    /// Change a contact's fields; an empty value clears an optional one.
    Edit {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
        /// New full name.
        #[arg(long)]
        name: Option<String>,
        /// New job title (empty: none).
        #[arg(long)]
        job_title: Option<String>,
        /// phone, email, sms, messenger, visit or post.
        #[arg(long)]
        preferred_channel: Option<String>,
        /// Language the contact prefers, e.g. uk (empty: none).
        #[arg(long)]
        language: Option<String>,
    },
    /// Mark a contact who left as inactive (kept, never deleted).
    Deactivate {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
    },
    /// Make an inactive contact active again.
    Reactivate {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
    },
    /// Add or remove a phone number.
    #[command(subcommand)]
    Phone(PhoneCommand),
    /// Add or remove an e-mail address.
    #[command(subcommand)]
    Email(EmailCommand),
}

#[derive(Debug, Subcommand)]
pub enum PhoneCommand {
    /// Add a phone number to a contact.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
        /// The phone number, e.g. "+380 44 123 4567".
        number: String,
        /// mobile, work, home, fax or other.
        #[arg(long, default_value = "mobile")]
        kind: String,
    },
    /// Remove a phone number from a contact.
    Remove {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
        /// The phone number as shown by `rapport account show`.
        number: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EmailCommand {
    /// Add an e-mail address to a contact.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
        /// The e-mail address.
        email: String,
    },
    /// Remove an e-mail address from a contact.
    Remove {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
        /// The e-mail address.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record a consent or refusal (earlier records are kept); prints its id alone on the last line.
    Record {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "CONTACT", help = CONTACT_HELP)]
        contact: String,
        /// phone, email, sms, messenger, visit or post.
        #[arg(long)]
        channel: String,
        /// What it is about, e.g. newsletter.
        #[arg(long)]
        topic: String,
        /// opt-in, opt-out or refused.
        #[arg(long)]
        status: String,
        /// Why, in the contact's words.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task; prints its id alone on the last line.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// What to do.
        #[arg(long)]
        title: String,
        /// Due date, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        due: Option<String>,
        /// The user who does it.
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Mark a task done.
    Done {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "TASK", help = TASK_HELP)]
        task: String,
    },
    /// List an account's tasks.
    List {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// Only tasks not done yet.
        #[arg(long)]
        open: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TieCommand {
    /// Tie two contacts or parties (ids or their first characters; contacts of
    /// this account or accounts on this replica); prints its id alone on the last line.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// One end: a contact of this account or an account (id or its first characters).
        #[arg(long)]
        from: String,
        /// The other end: a contact of this account or an account (id or its first characters).
        #[arg(long)]
        to: String,
        /// professional, social, personal, parent or group.
        #[arg(long)]
        kind: String,
        /// The role of FROM in the tie, e.g. "board member".
        #[arg(long)]
        role: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Add a role: customer, supplier, partner, reseller, government or internal.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// customer, supplier, partner, reseller, government or internal.
        role: String,
    },
    /// Remove a role.
    Remove {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// The role to remove.
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LadderCommand {
    /// Move to a rung: prospect, customer, client, supporter, advocate or partner.
    Move {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// The rung: prospect, customer, client, supporter, advocate or partner.
        #[arg(long)]
        to: String,
        /// Why it moved (kept in the ladder history).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Move to a phase: pre_relationship, early, development, long_term or final.
    /// To end the relationship, use `rapport account end`.
    Move {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// The phase: pre_relationship, early, development, long_term or final.
        #[arg(long)]
        to: String,
        /// Why it moved (kept in the lifecycle history).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// The settings live in one document synced like an account; the server
/// accepts changes from administrators, managers and the office, not reps.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the pipeline stages and reason catalogues this device knows (as of its last sync).
    Show(JsonFlag),
    /// Add a pipeline stage or change one (not reps); sent at the next sync.
    Stage {
        /// The stage id, e.g. proposal.
        id: String,
        /// The stage's name as people see it, e.g. Proposal.
        #[arg(long)]
        name: Option<String>,
        /// Default probability 0–100 for deals entering it.
        #[arg(long)]
        probability: Option<u8>,
        /// open, won or lost.
        #[arg(long)]
        kind: Option<String>,
        /// Position in the funnel, lowest first.
        #[arg(long)]
        order: Option<u32>,
        /// Days without a stage change after which a deal is stale.
        #[arg(long)]
        stale_after_days: Option<u32>,
    },
    /// Add a reason to a catalogue (not reps); sent at the next sync.
    #[command(subcommand)]
    Reason(ReasonCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReasonCommand {
    /// Add REASON to the lost-reason catalogue (`lost`) or the end-reason catalogue (`end`).
    Add {
        /// lost (why deals are lost) or end (why relationships end).
        catalogue: String,
        /// The reason as people will pick it, e.g. "price".
        reason: String,
    },
    /// Take REASON out of a catalogue: it is no longer offered; deals and accounts that name it keep it.
    Remove {
        /// lost (why deals are lost) or end (why relationships end).
        catalogue: String,
        /// The reason as the catalogue holds it (`rapport settings show`).
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DealCommand {
    /// Add a deal; prints its id alone on the last line.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// What is sold.
        #[arg(long)]
        title: String,
        /// Amount in major units of the currency, e.g. 1200.50 (or 1200,50; 360 000,00).
        #[arg(long)]
        amount: String,
        /// ISO 4217 code, e.g. UAH, EUR.
        #[arg(long)]
        currency: String,
        /// Stage id (default: the first open stage).
        #[arg(long)]
        stage: Option<String>,
        /// Probability 0–100 (default: the stage's).
        #[arg(long)]
        probability: Option<u8>,
        /// pipeline, best_case, commit or omitted.
        #[arg(long)]
        forecast: Option<String>,
        /// Expected close date, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        close_date: Option<String>,
        /// What happens next, e.g. "send the offer".
        #[arg(long)]
        next_step: Option<String>,
        /// When the next step is due, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        next_step_due: Option<String>,
        /// The primary contact (id or its first characters).
        #[arg(long)]
        contact: Option<String>,
    },
    /// Close a deal as won (moves it to the pipeline's won stage).
    Won {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
    },
    /// Close a deal as lost, with a reason from the settings' lost-reason catalogue.
    Lost {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
        /// A reason from the lost-reason catalogue (see `rapport settings show`).
        #[arg(long)]
        reason: String,
        /// A free-text note on why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Move a deal to a stage.
    Stage {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
        /// A stage id (see `rapport settings show`), e.g. proposal.
        stage: String,
        /// Probability 0–100 (default: the stage's).
        #[arg(long)]
        probability: Option<u8>,
    },
    /// A deal's line items (products and services): add, set, remove, list.
    #[command(subcommand)]
    LineItem(LineItemCommand),
    /// Make a deal's amount follow its line items again after it was set by hand.
    FollowLineItems {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
    },
}

/// Line items; prices are typed in major units of the deal's currency (`--unit-price 1200.50`).
#[derive(Debug, Subcommand)]
pub enum LineItemCommand {
    /// Add a line item; prints its id alone on the last line. The first line
    /// item makes the deal's amount follow them.
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
        /// The product or service.
        #[arg(long)]
        name: String,
        /// Whole units.
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        /// Price of one unit in major units, e.g. 1200.50.
        #[arg(long)]
        unit_price: String,
        /// Discount in whole percent (0–100).
        #[arg(long, default_value_t = 0)]
        discount: u8,
    },
    /// Change fields of a line item.
    Set {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
        #[arg(value_name = "ITEM", help = ITEM_HELP)]
        item: String,
        /// The product or service.
        #[arg(long)]
        name: Option<String>,
        /// Whole units.
        #[arg(long)]
        quantity: Option<u32>,
        /// Price of one unit in major units, e.g. 1200.50.
        #[arg(long)]
        unit_price: Option<String>,
        /// Discount in whole percent (0–100).
        #[arg(long)]
        discount: Option<u8>,
    },
    /// Remove a line item.
    Remove {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
        #[arg(value_name = "ITEM", help = ITEM_HELP)]
        item: String,
    },
    /// List a deal's line items and the amount they give.
    List {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        #[arg(value_name = "DEAL", help = DEAL_HELP)]
        deal: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// Replace the notes with TEXT (merged character by character with other devices).
    Set {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// The whole new text.
        text: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Tag an account (1 to 64 characters).
    Add {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// The tag.
        tag: String,
    },
    /// Remove a tag.
    Remove {
        #[arg(value_name = "ACCOUNT", help = ACCOUNT_HELP)]
        id: String,
        /// The tag.
        tag: String,
    },
}

/// Accounts, with contacts and deals as extra columns or related files
/// (docs/CSV.md). Every row is checked first; a file with an error imports nothing.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The accounts file (comma, semicolon or tab; UTF-8 or Windows-1251); may be left out
    /// when --contacts or --deals name accounts already on this device.
    pub file: Option<PathBuf>,
    /// A contacts file whose rows name their account by account_id, or account_name and city.
    #[arg(long, value_name = "FILE")]
    pub contacts: Option<PathBuf>,
    /// A deals file whose rows name their account by account_id, or account_name and city.
    #[arg(long, value_name = "FILE")]
    pub deals: Option<PathBuf>,
    /// Show what would be created, updated and left unchanged, the rows with errors and the
    /// duplicates found; write nothing.
    #[arg(long, visible_alias = "dry-run")]
    pub preview: bool,
    /// Write owners, teams and territories even if the directory of the server does not list them
    /// (without it, such a row is an error that names the close names).
    #[arg(long)]
    pub allow_unknown_owner: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `rapport export FILE` (accounts) or `rapport export accounts|contacts|deals|interactions FILE`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export (accounts, contacts, deals, interactions), or the file for accounts.
    #[arg(value_name = "WHAT|FILE")]
    pub what: String,
    /// The file to write (UTF-8 with a byte-order mark); `-` writes to standard output.
    pub file: Option<PathBuf>,
    /// Also export soft-deleted accounts.
    #[arg(long)]
    pub include_deleted: bool,
    /// For a file opened in Excel by double-click: cells of digits (postcodes, phone numbers)
    /// written as ="01001" so Excel keeps them as text. `rapport import` reads them back.
    #[arg(long)]
    pub excel: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command and subcommand says what it does, and every argument
    /// and flag says what it takes (`--help` has no blank lines to guess).
    #[test]
    fn every_command_and_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(format!("`{name}` has no description"));
                }
                for arg in sub.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
                    if arg.get_help().is_none() && arg.get_long_help().is_none() {
                        missing.push(format!("`{name}` argument {} has no help", arg.get_id()));
                    }
                }
                walk(sub, &name, missing);
            }
        }
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, "rapport", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}

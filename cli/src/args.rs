//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::encryption::KeySource;

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
    /// Accounts: add, edit, show, list, history, delete, merge.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Log an interaction (call, meeting, visit, email, note).
    #[command(subcommand)]
    Interaction(InteractionCommand),
    /// Deals: add, move between stages, line items.
    #[command(subcommand)]
    Deal(DealCommand),
    /// Replace an account's notes.
    #[command(subcommand)]
    Notes(NotesCommand),
    /// Add or remove a tag.
    #[command(subcommand)]
    Tag(TagCommand),
    /// List fields edited concurrently on two devices.
    Conflicts(JsonFlag),
    /// Resolve a conflict by writing the chosen value.
    Resolve { id: String, field: String, value: String },
    /// Create or update accounts from a CSV file (all rows are checked first).
    Import(ImportArgs),
    /// Write accounts to a CSV file.
    Export(ExportArgs),
    /// Edits the server refused: list them, discard one, or make it again.
    #[command(subcommand)]
    Refused(RefusedCommand),
}

#[derive(Debug, Subcommand)]
pub enum RefusedCommand {
    /// List the refused edits kept on this device, with why they were refused.
    List(JsonFlag),
    /// Throw a refused edit away for good.
    Discard { id: String },
    /// Make a refused edit again on the account as it is now (pushed at the next sync).
    Retry { id: String },
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
        #[arg(long)]
        name: String,
        /// organization or person.
        #[arg(long, default_value = "organization")]
        kind: String,
        /// The owning rep's user name (default: you, the token's user).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        territory: Option<String>,
        #[arg(long)]
        team: Option<String>,
    },
    /// Set one field, e.g. `party.address.city Tampere` or `deals.<id>.amount 1200`.
    Set { id: String, field: String, value: String },
    /// Show one account.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List accounts, filtered.
    List(ListArgs),
    /// Who changed what, oldest first.
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Soft-delete (hidden from lists, restorable).
    Delete { id: String },
    /// Undo a delete.
    Restore { id: String },
    /// Merge DUPLICATE into SURVIVOR (two records of one customer).
    Merge { survivor: String, duplicate: String },
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long)]
    pub team: Option<String>,
    #[arg(long)]
    pub territory: Option<String>,
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
    #[arg(long)]
    pub include_deleted: bool,
    #[arg(long)]
    pub limit: Option<u32>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum InteractionCommand {
    /// Log an interaction; prints its id alone on the last line.
    Log {
        id: String,
        /// call, meeting, visit, email or note.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        notes: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DealCommand {
    /// Add a deal; prints its id alone on the last line.
    Add {
        id: String,
        #[arg(long)]
        title: String,
        /// Amount in major units of the currency, e.g. 1200.50 (or 1200,50; 360 000,00).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        currency: String,
        /// Stage id (default: the first open stage).
        #[arg(long)]
        stage: Option<String>,
        #[arg(long)]
        probability: Option<u8>,
    },
    /// Move a deal to a stage.
    Stage {
        id: String,
        deal: String,
        stage: String,
        #[arg(long)]
        probability: Option<u8>,
    },
    /// A deal's line items (products and services): add, set, remove, list.
    #[command(subcommand)]
    LineItem(LineItemCommand),
    /// Make a deal's amount follow its line items again after it was set by hand.
    FollowLineItems { id: String, deal: String },
}

/// Line items; prices are typed in major units of the deal's currency (`--unit-price 1200.50`).
#[derive(Debug, Subcommand)]
pub enum LineItemCommand {
    /// Add a line item; prints its id alone on the last line. The first line
    /// item makes the deal's amount follow them.
    Add {
        id: String,
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
        id: String,
        deal: String,
        item: String,
        #[arg(long)]
        name: Option<String>,
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
    Remove { id: String, deal: String, item: String },
    /// List a deal's line items and the amount they give.
    List {
        id: String,
        deal: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// Replace the notes with TEXT (merged character by character with other devices).
    Set { id: String, text: String },
}

#[derive(Debug, Subcommand)]
pub enum TagCommand {
    Add { id: String, tag: String },
    Remove { id: String, tag: String },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub file: PathBuf,
    /// Also export soft-deleted accounts.
    #[arg(long)]
    pub include_deleted: bool,
}

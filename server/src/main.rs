//! `rapport-server`: parses arguments and calls [`rapport_server::run`].

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rapport_server::backup::{self, BackupError};
use rapport_server::config::{DATABASE_FILE, DEFAULT_DATA_DIR, parse_interval};
use rapport_server::db::users::UserChange;
use rapport_server::db::{DbError, start_new_epoch};
use rapport_server::manage::{ManageError, Managed};
use rapport_server::settings::{CONFIG_ENV, Settings, SettingsError};
use rapport_server::{Config, run, shutdown};
use tracing_subscriber::EnvFilter;

/// Rapport's sync server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync protocol (the default).
    Serve(ServeArgs),
    /// Manage users (through the running server's admin API, or on the data directory).
    User {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        target: ManageArgs,
    },
    /// Manage teams.
    Team {
        #[command(subcommand)]
        action: TeamAction,
        #[command(flatten)]
        target: ManageArgs,
    },
    /// Manage devices and their tokens.
    Device {
        #[command(subcommand)]
        action: DeviceAction,
        #[command(flatten)]
        target: ManageArgs,
    },
    /// Print the audit log: every accepted change with user, device and
    /// server time (with --actions: administrators' actions).
    Audit {
        /// Only this account (UUID).
        #[arg(long, conflicts_with = "actions")]
        account: Option<String>,
        /// Newest entries to print.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Print administrators' actions instead: users, teams and devices
        /// added, changed, deleted or revoked, and backups taken, with who did it.
        #[arg(long)]
        actions: bool,
        #[command(flatten)]
        target: ManageArgs,
    },
    /// Write a consistent, checked backup of the database to a new file (also while the server runs).
    Backup {
        /// The backup file to create (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
    /// Replace the database with a backup (the server must be stopped; the old database is kept aside).
    Restore {
        /// The backup file, as written by `rapport-server backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
    /// Copy this SQLite deployment (documents, log, users, devices, tokens,
    /// audit log) into an empty PostgreSQL database, keeping every id and log
    /// position, and verify the copy. Run it while the server is stopped;
    /// the data directory is left as it was.
    Migrate {
        /// The data directory of the SQLite deployment.
        #[arg(long = "from-data", value_name = "DIR")]
        from_data: PathBuf,
        /// The empty PostgreSQL database, e.g. postgres://rapport@db1:5432/rapport (also RAPPORT_DATABASE_URL).
        #[arg(long, value_name = "URL", env = "RAPPORT_DATABASE_URL", hide_env_values = true)]
        to: String,
    },
    /// Declare that the data directory was restored (from a backup, or by
    /// copying files back): starts a new epoch, so that devices re-send
    /// what the restored database lacks. Run it while the server is stopped.
    NewEpoch {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Debug, Args)]
struct DataArg {
    /// Directory holding the server's database.
    #[arg(long, global = true, default_value = DEFAULT_DATA_DIR)]
    data: PathBuf,
}

/// Where a management command acts (docs/OPERATIONS.md): the admin API of
/// the server at `--server` (or `RAPPORT_SERVER`), else the data directory's
/// file, else — while a server holds it — that server's admin API, found
/// through the address it wrote into the data directory. The admin API
/// needs an admin device's token in `RAPPORT_ADMIN_TOKEN`.
#[derive(Debug, Args)]
struct ManageArgs {
    /// Directory holding the server's database [default: RAPPORT_DATA_DIR, else
    /// data_dir of the configuration file, else ./rapport-data].
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// The server's configuration file, for its data_dir (also RAPPORT_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The running server to manage through its admin API, e.g. http://127.0.0.1:8080 (also RAPPORT_SERVER).
    #[arg(long, global = true, value_name = "URL")]
    server: Option<String>,
}

impl ManageArgs {
    fn open(&self) -> Result<Managed, ManageError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let server = self.server.clone().or_else(|| env("RAPPORT_SERVER"));
        Managed::open(&self.data_dir()?, server.as_deref(), env("RAPPORT_ADMIN_TOKEN").as_deref())
    }

    /// The data directory as `serve` finds it: flag > environment > file > default.
    fn data_dir(&self) -> Result<PathBuf, ManageError> {
        if let Some(data) = &self.data {
            return Ok(data.clone());
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let file = match self.config.clone().or_else(|| env(CONFIG_ENV).map(PathBuf::from)) {
            Some(path) => Settings::from_file(&path)?,
            None => Settings::default(),
        };
        let settings = Settings::from_env(env)?.over(file);
        Ok(settings.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)))
    }
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Create a user and a first device; prints the device token alone on the last line.
    Add {
        name: String,
        /// admin, manager, office or rep.
        #[arg(long)]
        role: String,
        /// A team the user belongs to (repeatable; the team must exist).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// A territory the user covers (repeatable).
        #[arg(long = "territory")]
        territories: Vec<String>,
        /// Name of the first device.
        #[arg(long, default_value = "first device")]
        device: String,
    },
    /// List users.
    List,
    /// Change a user's role, teams or territories (given lists replace the old ones).
    Set {
        name: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long = "team")]
        teams: Vec<String>,
        #[arg(long = "territory")]
        territories: Vec<String>,
        /// Remove the user from every team.
        #[arg(long)]
        no_teams: bool,
        /// Remove every territory of the user.
        #[arg(long)]
        no_territories: bool,
    },
    /// Delete a user (kept in the audit log) and revoke their devices.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
enum TeamAction {
    /// Add a team.
    Add { name: String },
    /// List teams.
    List,
}

#[derive(Debug, Subcommand)]
enum DeviceAction {
    /// List devices (never their tokens) and their bound actor ids.
    List,
    /// Add a device to a user; prints its token alone on the last line.
    Add {
        user: String,
        #[arg(long, default_value = "device")]
        name: String,
    },
    /// Revoke a device's token. The device keeps its local data but can no longer sync.
    Revoke {
        id: i64,
        /// The device is lost: at its next contact with the server it erases its
        /// replica and configuration and reports how many unsynced changes went with them.
        #[arg(long)]
        wipe: bool,
    },
}

/// `serve`'s flags. Each one left out is taken from the environment
/// (`RAPPORT_…`), then the configuration file, then the default
/// (`rapport_server::settings`, docs/OPERATIONS.md).
#[derive(Debug, Default, Args)]
struct ServeArgs {
    /// A TOML configuration file holding any of these settings (also `RAPPORT_CONFIG`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory holding the server's database [default: ./rapport-data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Largest request body or WebSocket message, in bytes [default: 33554432].
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Documents kept loaded in memory [default: 256].
    #[arg(long)]
    cache_docs: Option<usize>,
    /// Requests per second each non-admin device may make (0: unlimited) [default: 20].
    #[arg(long)]
    rate: Option<f64>,
    /// Requests a device may make in a burst [default: 40].
    #[arg(long)]
    burst: Option<u32>,
    /// Largest document a push may produce, in bytes of changes [default: 16777216].
    #[arg(long)]
    max_doc_bytes: Option<u64>,
    /// Directory for backups taken through the admin API and on a schedule.
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// Take a backup into --backup-dir this often, e.g. 1h, 30m, 1d.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    backup_every: Option<std::time::Duration>,
    /// The oldest client release allowed to sync, e.g. 0.2.0 (default: every
    /// release whose protocol this server speaks). Older apps are answered
    /// 426 client_too_old with this version and keep their unsent changes.
    #[arg(long, value_name = "VERSION", value_parser = rapport_server::min_client::parse_minimum)]
    min_client_version: Option<rapport_server::min_client::ClientVersion>,
    /// Scheduled backups to keep (the newest; older ones are deleted) [default: 48].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    backup_keep: Option<u32>,
    /// Serve HTTPS with this certificate chain (PEM; the server's certificate first).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// This node's name in metrics and logs [default: the machine's host name].
    #[arg(long, value_name = "NAME")]
    node_name: Option<String>,
    /// Serve from this PostgreSQL database, shared with other nodes, instead
    /// of the data directory's SQLite file, e.g.
    /// postgres://rapport@db1:5432,db2:5432/rapport?target_session_attrs=read-write
    /// (also RAPPORT_DATABASE_URL; docs/SCALING.md).
    #[arg(long = "database", value_name = "URL")]
    database_url: Option<String>,
}

impl ServeArgs {
    /// The settings the flags give (the highest-precedence source).
    fn settings(self) -> Settings {
        Settings {
            listen: self.listen,
            data_dir: self.data,
            max_body_bytes: self.max_body_bytes,
            cache_docs: self.cache_docs,
            max_doc_bytes: self.max_doc_bytes,
            rate: self.rate,
            burst: self.burst,
            backup_dir: self.backup_dir,
            backup_every: self.backup_every,
            backup_keep: self.backup_keep,
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            min_client_version: self.min_client_version,
            node_name: self.node_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            database_url: self.database_url,
        }
    }
}

/// Flags over the environment over the configuration file over the defaults.
fn layered(mut args: ServeArgs) -> Result<(SocketAddr, Config), SettingsError> {
    let env = |name: &str| std::env::var(name).ok();
    let file = match args.config.take().or_else(|| env(CONFIG_ENV).filter(|p| !p.is_empty()).map(PathBuf::from)) {
        Some(path) => Settings::from_file(&path)?,
        None => Settings::default(),
    };
    let settings = args.settings().over(Settings::from_env(env)?.over(file));
    let listen = settings.listen_addr();
    Ok((listen, settings.into_config()?))
}

/// Logs to stderr: human-readable lines, or JSON lines with `RAPPORT_LOG_FORMAT=json`.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("RAPPORT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = match Cli::parse().command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => args,
        Command::Backup { to, data } => return report(backup_to(&data.data, &to)),
        Command::Restore { from, data } => return report(restore_from(&from, &data.data)),
        Command::Migrate { from_data, to } => {
            let moved = tokio::task::spawn_blocking(move || migrate_to(&from_data, &to)).await;
            return report(moved.unwrap_or_else(|e| Err(format!("the migration stopped: {e}"))));
        }
        other => return report(manage(other).await),
    };
    let (listen, mut config) = match layered(args) {
        Ok(layered) => layered,
        Err(e) => {
            eprintln!("rapport-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    config.admin_token = std::env::var("RAPPORT_ADMIN_TOKEN").ok().filter(|t| !t.is_empty());
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rapport-server: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(listener, config, shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rapport-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what a command that is not `serve` says, or its error.
fn report(result: Result<String, impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rapport-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `rapport-server backup`: prints the file and the log head it holds.
fn backup_to(data: &std::path::Path, to: &std::path::Path) -> Result<String, BackupError> {
    let info = backup::backup(&data.join(DATABASE_FILE), to)?;
    Ok(format!(
        "Backup written to {}: {} documents, {} bytes, integrity check ok.\nIt holds the log up to position {}.\n",
        info.path.display(),
        info.documents,
        info.bytes,
        info.head
    ))
}

/// `rapport-server restore`: prints what was restored and where the old database went.
fn restore_from(from: &std::path::Path, data: &std::path::Path) -> Result<String, BackupError> {
    let info = backup::restore(from, data)?;
    let mut out = format!(
        "Restored {} into {}: {} documents, log up to position {}, integrity check ok.\n",
        from.display(),
        data.display(),
        info.backup.documents,
        info.backup.head
    );
    if let Some(previous) = info.previous {
        out.push_str(&format!("The replaced database was kept as {}.\n", previous.display()));
    }
    out.push_str("Start the server; devices send what the restored database lacks on their next sync.\n");
    Ok(out)
}

/// `rapport-server migrate`: prints what was copied and verified.
fn migrate_to(data: &std::path::Path, url: &str) -> Result<String, String> {
    use rapport_store_postgres::import::Table;
    let moved = rapport_server::to_postgres::migrate(data, url).map_err(|e| e.to_string())?;
    Ok(format!(
        "Copied {} documents, the log up to position {} ({} change rows kept), {} users, {} devices, \
         {} audited changes and {} administrators' actions into PostgreSQL.\n\
         Verified: every table's rows, the log's identity and every document's state match.\n\
         The data directory {} is unchanged; keep serving from it: serving from PostgreSQL comes in a later \
         release, and devices will then keep their place in the log.\n",
        moved.count(Table::Documents),
        moved.head,
        moved.count(Table::Changes),
        moved.count(Table::Users),
        moved.count(Table::Devices),
        moved.count(Table::Audit),
        moved.count(Table::AdminActions),
        data.display(),
    ))
}

/// Runs a management command; returns what to print.
async fn manage(command: Command) -> Result<String, ManageError> {
    let list = |v: Vec<String>, clear: bool| (clear || !v.is_empty()).then(|| v.into_iter().collect());
    match command {
        Command::Serve(_) | Command::Backup { .. } | Command::Restore { .. } | Command::Migrate { .. } => {
            Ok(String::new())
        }
        Command::User { action, target } => {
            let mut m = target.open()?;
            match action {
                UserAction::Add { name, role, teams, territories, device } => {
                    let change = UserChange {
                        role: None,
                        teams: Some(teams.into_iter().collect()),
                        territories: Some(territories.into_iter().collect()),
                    };
                    let new = m.add_user(&name, &role, &change, &device).await?;
                    Ok(format!(
                        "Created user {} ({role}) with device {}. Its token, shown only this once:\n{}\n",
                        new.user, new.device_id, new.token
                    ))
                }
                UserAction::List => m.users_table().await,
                UserAction::Set { name, role, teams, territories, no_teams, no_territories } => {
                    let change = UserChange {
                        role,
                        teams: list(teams, no_teams),
                        territories: list(territories, no_territories),
                    };
                    m.set_user(&name, &change).await?;
                    Ok(format!("Updated user {name}.\n"))
                }
                UserAction::Delete { name } => {
                    m.delete_user(&name).await?;
                    Ok(format!("Deleted user {name} and revoked their devices.\n"))
                }
            }
        }
        Command::Team { action, target } => {
            let mut m = target.open()?;
            match action {
                TeamAction::Add { name } => {
                    m.add_team(&name).await?;
                    Ok(format!("Added team {name}.\n"))
                }
                TeamAction::List => m.teams_table().await,
            }
        }
        Command::Device { action, target } => {
            let mut m = target.open()?;
            match action {
                DeviceAction::List => m.devices_table().await,
                DeviceAction::Add { user, name } => {
                    let new = m.add_device(&user, &name).await?;
                    Ok(format!(
                        "Added device {} for {}. Its token, shown only this once:\n{}\n",
                        new.device_id, new.user, new.token
                    ))
                }
                DeviceAction::Revoke { id, wipe: false } => {
                    m.revoke_device(id, false).await?;
                    Ok(format!("Revoked device {id}.\n"))
                }
                DeviceAction::Revoke { id, wipe: true } => {
                    m.revoke_device(id, true).await?;
                    Ok(format!(
                        "Revoked device {id} as lost. At its next contact with the server it erases its local data; \
                         `rapport-server device list` shows when it did and what unsynced work was lost.\n"
                    ))
                }
            }
        }
        Command::Audit { account, limit, actions: false, target } => {
            target.open()?.audit_table(account.as_deref(), limit).await
        }
        Command::Audit { limit, actions: true, target, .. } => target.open()?.actions_table(limit).await,
        Command::NewEpoch { data } => match start_new_epoch(&data.data.join(DATABASE_FILE)) {
            Ok(id) => Ok(format!(
                "started epoch {}: devices re-send what this database lacks when they next sync\n",
                id.epoch
            )),
            Err(DbError::Locked) => Err(ManageError::ServerRunning(data.data)),
            Err(e) => Err(e.into()),
        },
    }
}

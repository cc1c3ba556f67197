//! Commands that talk to the server: init, sync, watch, status (and
//! encrypt, which changes the replica `init` set up).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use rapport_client::{
    Client, ClientError, ClientOptions, LiveControl, LiveEvent, RetryPolicy, SyncSummary, TokenOwner, WatchOptions,
};
use rapport_core::{Encryption, Replica, ReplicaKey, SyncLimits};
use serde::Serialize;

use crate::args::{EncryptArgs, InitArgs, SyncArgs, WatchArgs};
use crate::config::{self, Config, REPLICA_FILE, Workspace};
use crate::encryption::{self, KeySource};
use crate::error::{CliError, Result};
use crate::output;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| CliError::io("tokio runtime", e))
}

/// `rapport init`: asks the server whom the token belongs to (unless
/// `--offline`), checks the token with a no-op sync, then writes the config
/// and creates the replica. The user and device come from the token; a
/// `--user` or `--device` that differs is refused. Nothing is written when a
/// check fails.
pub fn init(dir: &Path, args: InitArgs) -> Result<()> {
    let ca_cert_pem = match &args.ca_cert {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?),
        None => None,
    };
    let client = Client::with_ca_cert(&args.server, &args.token, ClientOptions::default(), ca_cert_pem.as_deref())?;
    let previous = Workspace::load(dir).ok().map(|w| w.config);
    // A replica encrypted before stays encrypted, with the key it has.
    let kept_key = previous.as_ref().and_then(|c| c.key);
    let encrypt = kept_key.is_some() || args.encrypt.is_some();
    // The server's directory, as the scratch replica below fetched it (owner names are checked against it).
    let mut directory = None;
    let config = if args.offline {
        let user = args.user.ok_or_else(|| {
            CliError::Usage(
                "--offline needs --user NAME: without the server, the user cannot be taken from the token".into(),
            )
        })?;
        Config {
            server: client.server_url().to_owned(),
            token: args.token.trim().to_owned(),
            user,
            device: args
                .device
                .or_else(|| previous.as_ref().map(|c| c.device.clone()))
                .unwrap_or_else(config::default_device),
            device_id: None,
            ca_cert_pem,
            key: None,
        }
    } else {
        let rt = runtime()?;
        rt.block_on(client.health()).map_err(|source| CliError::InitCheck { source })?;
        let (user, device, device_id) =
            identity(client.server_url(), rt.block_on(client.whoami()), args.user, args.device)?;
        let config = Config {
            server: client.server_url().to_owned(),
            token: args.token.trim().to_owned(),
            user,
            device,
            device_id,
            ca_cert_pem,
            key: None,
        };
        // A no-op exchange on a scratch replica proves the token is accepted
        // for syncing without touching (or creating) the real one.
        let scratch = tempdir_in(dir)?;
        let result = (|| -> Result<()> {
            // Encrypted with a throwaway key when the replica will be: the
            // exchange may pull accounts, which must not touch the disk in clear.
            let path = scratch.join(REPLICA_FILE);
            let mut replica = if encrypt {
                Replica::open_encrypted(path, &config.identity(), &throwaway_key()?)?
            } else {
                Replica::open(path, &config.identity())?
            };
            rt.block_on(client.sync(&mut replica, SyncLimits::default(), |_| {}))
                .map_err(|source| CliError::InitCheck { source })?;
            directory = replica.directory()?;
            Ok(())
        })();
        std::fs::remove_dir_all(&scratch).ok();
        result?;
        config
    };
    let mut config = config;
    let key = match (kept_key, args.encrypt) {
        (Some(source), _) => Some((source, encryption::key(dir, source)?)),
        (None, Some(wanted)) => Some(encryption::new_key(dir, wanted)?),
        (None, None) => None,
    };
    config.key = key.as_ref().map(|(source, _)| *source);
    config::save(dir, &config)?;
    let path = dir.join(REPLICA_FILE);
    let mut replica = match &key {
        None => Replica::open(&path, &config.identity())?,
        Some((_, key)) => {
            if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
                Replica::encrypt(&path, key)?;
            }
            Replica::open_encrypted(&path, &config.identity(), key)?
        }
    };
    if let Some(directory) = &directory {
        replica.store_directory(directory)?;
    }
    drop(replica);
    outln!("replica ready at {}", dir.display());
    if let Some((source, _)) = &key {
        outln!("{}", encrypted_with(*source));
    }
    outln!("server {} as {}@{}", config.server, config.user, config.device);
    if args.offline {
        outln!("the server was not contacted; `rapport sync` will check it");
    } else {
        outln!("server reachable and token accepted; run `rapport sync` to pull the accounts");
    }
    Ok(())
}

/// The user, device name and device id to write as, from the server's
/// answer to `whoami`: the token's, with a `--user` or `--device` naming
/// someone else refused. A server older than `/v1/whoami` (404) needs `--user`.
fn identity(
    server: &str,
    owner: std::result::Result<TokenOwner, ClientError>,
    user: Option<String>,
    device: Option<String>,
) -> Result<(String, String, Option<i64>)> {
    match owner {
        Ok(owner) => {
            if let Some(given) = user.filter(|u| *u != owner.user) {
                return Err(CliError::NotTheTokensUser { token_user: owner.user, given });
            }
            if let Some(given) = device.filter(|d| *d != owner.device) {
                return Err(CliError::NotTheTokensDevice { token_device: owner.device, user: owner.user, given });
            }
            Ok((owner.user, owner.device, Some(owner.device_id)))
        }
        Err(ClientError::Server { status: 404, .. }) => {
            let user = user.ok_or_else(|| CliError::ServerWithoutWhoami { server: server.to_owned() })?;
            Ok((user, device.unwrap_or_else(config::default_device), None))
        }
        Err(source) => Err(CliError::InitCheck { source }),
    }
}

fn throwaway_key() -> Result<ReplicaKey> {
    let mut bytes = [0u8; rapport_core::RAW_KEY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| CliError::io("random key", std::io::Error::other(e.to_string())))?;
    Ok(ReplicaKey::raw(&bytes)?)
}

fn encrypted_with(source: KeySource) -> &'static str {
    match source {
        KeySource::Keyring => "the replica is encrypted; its key is in the OS keyring",
        KeySource::Passphrase => {
            "the replica is encrypted with a passphrase: set RAPPORT_PASSPHRASE or type it when asked"
        }
    }
}

/// `rapport encrypt`: encrypts the plain replica in place. The config names
/// the key's source first, so that a crash half-way is finished by running
/// `rapport encrypt` again; if encrypting fails, the config is put back.
pub fn encrypt(ws: &Workspace, args: EncryptArgs) -> Result<()> {
    let path = ws.dir.join(REPLICA_FILE);
    let (source, key, new) = match ws.config.key {
        Some(source) => (source, encryption::key(&ws.dir, source)?, false),
        None => {
            let (source, key) = encryption::new_key(&ws.dir, args.key)?;
            config::save(&ws.dir, &Config { key: Some(source), ..ws.config.clone() })?;
            (source, key, true)
        }
    };
    match Replica::encrypt(&path, &key) {
        Ok(Encryption::Encrypted) => println!("encrypted {}", path.display()),
        Ok(Encryption::AlreadyEncrypted) => println!("{} was already encrypted", path.display()),
        Err(e) => {
            if new {
                config::save(&ws.dir, &ws.config)?;
            }
            return Err(e.into());
        }
    }
    println!("{}", encrypted_with(source));
    Ok(())
}

fn tempdir_in(dir: &Path) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    let scratch = dir.join(format!(".init-check-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| CliError::io(&scratch, e))?;
    Ok(scratch)
}

fn client(ws: &Workspace) -> Result<Client> {
    let (server, token, ca) = (&ws.config.server, &ws.config.token, ws.config.ca_cert_pem.as_deref());
    Ok(Client::with_ca_cert(server, token, ClientOptions::default(), ca)?)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn sync(ws: &Workspace, args: SyncArgs) -> Result<()> {
    let client = client(ws)?;
    let mut replica = ws.open()?;
    let bar = progress_bar();
    bar.set_message(format!("syncing with {}", client.server_url()));
    let rt = runtime()?;
    let result = rt.block_on(client.sync(&mut replica, SyncLimits::default(), |p| {
        bar.set_message(format!(
            "exchange {}: pushed {} docs, pulled {} docs, {} of {} left to push{}",
            p.round,
            p.pushed_docs,
            p.pulled_docs,
            p.unsynced_now,
            p.unsynced_at_start,
            if p.more { ", more to pull" } else { "" }
        ));
    }));
    bar.finish_and_clear();
    let summary = match result {
        Err(ClientError::DeviceWiped { .. }) => return Err(wipe(ws, &client, replica, &rt)),
        other => other?,
    };
    if args.json {
        return output::json(&summary);
    }
    print_summary(&summary)
}

fn kib(bytes: usize) -> String {
    if bytes < 1024 { format!("{bytes} B") } else { format!("{:.1} KiB", bytes as f64 / 1024.0) }
}

fn print_summary(s: &SyncSummary) -> Result<()> {
    outln!(
        "pushed: {} docs ({} changes, {} whole docs, {})",
        s.pushed_docs,
        s.pushed_changes,
        s.pushed_snapshots,
        kib(s.pushed_bytes)
    );
    outln!(
        "pulled: {} docs ({} changes, {} whole docs, {})",
        s.pulled_docs,
        s.pulled_changes,
        s.pulled_snapshots,
        kib(s.pulled_bytes)
    );
    outln!("exchanges: {} ({} up, {} down)", s.rounds, kib(s.bytes_up), kib(s.bytes_down));
    if s.server_restored {
        outln!("the server was restored from a backup: this device sent back {} documents it lacked", s.resent_docs);
    }
    if s.replica_restored {
        println!(
            "this device's data was restored from an older copy: everything was fetched again, \
             and {} edits the server lacked were sent",
            s.rebuilt_after_restore
        );
    }
    if s.rejected.is_empty() {
        outln!("rejected: none");
    } else {
        outln!(
            "rejected: {} docs (refused edits kept aside, other edits sent; see `rapport refused list`):",
            s.rejected.len()
        );
        for r in &s.rejected {
            outln!("  {}: {}", r.doc, r.reason);
        }
    }
    Ok(())
}

pub fn watch(ws: &Workspace, args: WatchArgs) -> Result<()> {
    let client = client(ws)?;
    let replica = Arc::new(Mutex::new(ws.open()?));
    let control = LiveControl::new();
    let options = WatchOptions {
        push_interval: Duration::from_secs(args.push_every.max(1)),
        control: control.clone(),
        ..WatchOptions::default()
    };
    let rt = runtime()?;
    rt.block_on(async {
        let stopper = control.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stopper.stop();
            }
        });
        let result = client
            .watch_reconnecting(
                replica.clone(),
                &options,
                &RetryPolicy::persistent(),
                |event| {
                    // Whoever read the output went away: stop watching.
                    if print_event(&replica, &event).is_err() {
                        control.stop();
                    }
                },
                |e, wait| eprintln!("{e}; reconnecting in {} s", wait.as_secs_f64().ceil() as u64),
            )
            .await;
        match result {
            Ok(()) => {
                outln!("stopped");
                Ok(())
            }
            Err(ClientError::DeviceWiped { .. }) => match Arc::try_unwrap(replica) {
                Ok(replica) => {
                    let replica = replica.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
                    Err(wipe_async(ws, &client, replica).await)
                }
                Err(_) => Err(CliError::from(ClientError::DeviceWiped { url: client.server_url().to_owned() })),
            },
            Err(e) => Err(CliError::from(e)),
        }
    })
}

/// After `410 device_wiped`: erases the replica and the configuration (with
/// the token), tells the server, and returns the error that says so.
fn wipe(ws: &Workspace, client: &Client, replica: Replica, rt: &tokio::runtime::Runtime) -> CliError {
    rt.block_on(wipe_async(ws, client, replica))
}

async fn wipe_async(ws: &Workspace, client: &Client, replica: Replica) -> CliError {
    let wiped = match client.wipe(replica).await {
        Ok(wiped) => wiped,
        Err(e) => return e.into(),
    };
    if let Err(e) = config::erase(&ws.dir) {
        return e;
    }
    CliError::Wiped {
        dir: ws.dir.clone(),
        lost_documents: wiped.lost.documents,
        lost_changes: wiped.lost.changes,
        reported: wiped.reported,
    }
}

fn print_event(replica: &Mutex<Replica>, event: &LiveEvent) -> Result<()> {
    match event {
        LiveEvent::Connected { url } => {
            outln!("connected to {url}");
        }
        LiveEvent::Synced(s) => {
            outln!("in sync: pushed {} docs, pulled {} docs{}", s.pushed_docs, s.pulled_docs, rejected_note(s));
        }
        LiveEvent::Update(s) => {
            let names = {
                let r = replica.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                s.pulled_ids
                    .iter()
                    .map(|id| match id.parse().ok().and_then(|id| r.summary(id).ok()) {
                        Some(summary) => format!("{} ({})", summary.name, id),
                        None => id.clone(),
                    })
                    .collect::<Vec<_>>()
            };
            let at = output::when(time::OffsetDateTime::now_utc());
            if !names.is_empty() {
                outln!("{at} received {} update(s): {}", names.len(), names.join(", "));
            }
            if s.pushed_docs > 0 {
                outln!("{at} pushed {} doc(s)", s.pushed_docs);
            }
            for r in &s.rejected {
                outln!("{at} rejected {}: {}", r.doc, r.reason);
            }
        }
    }
    Ok(())
}

fn rejected_note(s: &SyncSummary) -> String {
    if s.rejected.is_empty() {
        String::new()
    } else {
        format!(", {} rejected (see `rapport status`)", s.rejected.len())
    }
}

#[derive(Serialize)]
struct Status<'a> {
    replica: String,
    server: &'a str,
    user: &'a str,
    device: &'a str,
    accounts: usize,
    unsynced_docs: usize,
    rejected: Vec<(String, String)>,
    refused_edits: usize,
    sync_position: u64,
}

pub fn status(ws: &Workspace, json: bool) -> Result<()> {
    let replica = ws.open()?;
    let status = Status {
        replica: ws.dir.join(REPLICA_FILE).display().to_string(),
        server: &ws.config.server,
        user: &ws.config.user,
        device: &ws.config.device,
        accounts: replica.account_ids()?.len(),
        unsynced_docs: replica.unsynced_count()?,
        rejected: replica.rejected_documents()?,
        refused_edits: replica.refused_edits()?.len(),
        sync_position: replica.sync_position()?.0,
    };
    if json {
        return output::json(&status);
    }
    outln!("replica:   {}", status.replica);
    outln!("server:    {}", status.server);
    outln!("identity:  {}@{}", status.user, status.device);
    outln!("accounts:  {}", status.accounts);
    outln!("unsynced:  {} docs", status.unsynced_docs);
    for (doc, reason) in &status.rejected {
        outln!("rejected:  {doc}: {reason}");
    }
    if status.refused_edits > 0 {
        outln!("refused:   {} edits kept aside (see `rapport refused list`)", status.refused_edits);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SERVER: &str = "http://rapport.test";

    fn owner() -> std::result::Result<TokenOwner, ClientError> {
        Ok(TokenOwner {
            user: "ana".into(),
            role: "rep".into(),
            device: "ana-laptop".into(),
            device_id: 7,
            teams: Vec::new(),
            territories: Vec::new(),
        })
    }

    fn status(status: u16) -> std::result::Result<TokenOwner, ClientError> {
        Err(ClientError::Server { url: SERVER.into(), status, code: "x".into(), message: "x".into() })
    }

    #[test]
    fn the_identity_is_the_tokens() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(identity(SERVER, owner(), None, None).unwrap(), ("ana".into(), "ana-laptop".into(), Some(7)));
        assert!(identity(SERVER, owner(), some("ana"), some("ana-laptop")).is_ok());
        let e = identity(SERVER, owner(), some("bob"), None).unwrap_err().to_string();
        assert!(e.starts_with("this token belongs to user ana; "), "{e}");
        let e = identity(SERVER, owner(), None, some("desk")).unwrap_err().to_string();
        assert!(e.starts_with("this token belongs to device \"ana-laptop\" of user ana; "), "{e}");
    }

    #[test]
    fn a_server_without_whoami_needs_the_user_named() {
        let e = identity(SERVER, status(404), None, None).unwrap_err().to_string();
        assert!(e.contains("does not say whom this token belongs to") && e.contains("--user NAME"), "{e}");
        let (user, _, id) = identity(SERVER, status(404), Some("ana".into()), None).unwrap();
        assert_eq!((user.as_str(), id), ("ana", None));
        assert!(matches!(identity(SERVER, status(500), Some("ana".into()), None), Err(CliError::InitCheck { .. })));
    }
}

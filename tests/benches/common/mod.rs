//! What the sync and fleet benchmarks share: servers in process (on SQLite
//! or on a PostgreSQL database), realistic accounts, and the single-edit
//! pushes of many concurrent clients.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use rapport_core::sync::{AckStatus, DocData, SyncRequest};
use rapport_core::{
    AccountId, DeviceIdentity, InteractionKind, Money, NewAccount, NewContact, NewDeal, NewInteraction, Replica,
};
use tokio::sync::oneshot;

pub const TOKEN: &str = "bench-admin-token-0123456789abcdef";

/// A server running in this process.
pub struct Running {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// A server on its own SQLite file.
pub async fn start_server() -> Running {
    start(None).await
}

/// A node serving from the PostgreSQL database at `url` (any number may share it).
pub async fn start_node(url: &str) -> Running {
    start(Some(url.to_owned())).await
}

async fn start(database_url: Option<String>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = rapport_server::Config::new(dir.path());
    config.admin_token = Some(TOKEN.into());
    config.database_url = database_url;
    // Benchmarks push faster than the per-device limit allows a person.
    config.rate_per_sec = 0.0;
    // Compact idle documents quickly, so the benchmark sees the steady state.
    config.db.compact_interval = Duration::from_secs(1);
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        rapport_server::run(listener, config, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    // Requests wait in the listener's backlog until the server serves.
    Running { url, stop: Some(tx), task: Some(task), _dir: dir }
}

/// Reads one value from the server's Prometheus metrics.
pub fn metric(url: &str, name: &str) -> f64 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

impl Running {
    /// Waits until background compaction has caught up.
    pub async fn settle(&self) {
        let mut last = -1.0;
        loop {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let now = metric(&self.url, "rapport_compactions_total");
            if now == last {
                return;
            }
            last = now;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }
}

/// A realistic account: address, tags, two contacts, two deals, three interactions, notes.
pub fn account(i: usize) -> NewAccount {
    let mut a = NewAccount::new(format!("Customer {i:05} Oy"));
    a.owner = Some(format!("rep{:02}", i % 20));
    a.team = Some(format!("team{}", i % 4));
    a.territory = Some(format!("FI-{:02}", i % 19));
    a.industry = Some(["Forestry", "Retail", "Logistics", "Energy"][i % 4].into());
    a.address.city = Some(["Tampere", "Oulu", "Turku", "Espoo"][i % 4].into());
    a.address.street = Some(format!("Katu {}", i % 97));
    a.tags = [format!("segment-{}", i % 7), "newsletter".to_string()].into();
    a.notes =
        format!("Met at the fair in spring {}. Interested in a pilot; call back after the budget round.", 2020 + i % 6);
    a
}

pub fn populate(r: &mut Replica, n: usize) -> Vec<AccountId> {
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<NewAccount> = chunk.iter().map(|i| account(*i)).collect();
        ids.extend(r.create_accounts(&batch).unwrap());
    }
    for (i, id) in ids.iter().enumerate() {
        r.edit(*id, |e| {
            for c in 0..2 {
                e.add_contact(&NewContact {
                    name: format!("Contact {c} of {i}"),
                    emails: [format!("c{c}.{i}@example.com")].into(),
                    ..Default::default()
                })?;
            }
            for d in 0..2 {
                e.add_deal(&NewDeal::new(format!("Deal {d}"), Money::new(((i % 50) as i64 + 1) * 100_000, "EUR")?))?;
            }
            for k in 0..3 {
                e.log_interaction(&NewInteraction::new(InteractionKind::Call, format!("Call {k}")))?;
            }
            Ok(())
        })
        .unwrap();
    }
    ids
}

pub fn replica(dir: &std::path::Path, name: &str) -> Replica {
    Replica::open(dir.join(format!("{name}.db")), &DeviceIdentity::new(name, format!("{name}-device"))).unwrap()
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn uuid_bytes(n: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[8..].copy_from_slice(&n.to_be_bytes());
    b[0] = 0xbe;
    b
}

/// Single-edit pushes: each of `clients` accounts of `seed` (already on
/// the server) edited `per_client` times by its own client, each edit one
/// request that pulls nothing.
pub fn single_edit_pushes(seed: &Replica, accounts: &[AccountId], per_client: usize) -> Vec<Vec<SyncRequest>> {
    let mut plans = Vec::new();
    for (c, id) in accounts.iter().enumerate() {
        let actor = automerge::ActorId::from(uuid_bytes(c as u64 + 1).to_vec());
        let mut doc = rapport_core::AccountDoc::load(&seed.export_document(*id).unwrap(), actor.clone()).unwrap();
        let author = rapport_core::Author::new(format!("client{c}"), format!("device{c}"), actor.clone());
        let settings = rapport_core::Settings::default();
        let mut requests = Vec::new();
        for k in 0..per_client {
            let before = doc.heads();
            doc.edit(&author, &settings).set_field("party.source", &format!("c{c} k{k}")).unwrap();
            let changes =
                doc.automerge_mut().get_changes(&before).into_iter().map(|ch| ch.raw_bytes().to_vec()).collect();
            requests.push(SyncRequest {
                // A resume point past the head, so that nothing is
                // pulled (a base past it would mean a restored server).
                base: 0,
                after: u64::MAX / 2,
                actor: actor.to_bytes().to_vec(),
                push: vec![DocData { doc: id.to_string(), snapshot: None, changes }],
                max_pull_bytes: 0,
                v2: None,
            });
        }
        plans.push(requests);
    }
    plans
}

/// Sends every client's pushes concurrently, client `c`'s `k`-th request to
/// `urls[(c + k) % urls.len()]`; returns the changes acknowledged as stored
/// and the time it took.
pub async fn push_concurrently(urls: &[String], plans: Vec<Vec<SyncRequest>>) -> (usize, Duration) {
    let clients: Vec<rapport_client::Client> =
        urls.iter().map(|url| rapport_client::Client::new(url, TOKEN).unwrap()).collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (c, requests) in plans.into_iter().enumerate() {
        let clients = clients.clone();
        tasks.push(tokio::spawn(async move {
            let mut stored = 0;
            for (k, r) in requests.into_iter().enumerate() {
                let resp = clients[(c + k) % clients.len()].exchange(r).await.unwrap();
                stored += resp.acks.iter().filter(|a| a.status == AckStatus::Stored).count();
            }
            stored
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap();
    }
    (acked, t.elapsed())
}

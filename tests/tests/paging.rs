//! A pull larger than one page, through the real client and a real server
//! process: every page arrives once, the next page is fetched while the
//! current one is applied, and the result equals the source replica.

#![allow(clippy::unwrap_used)]

use rapport_core::{AccountFilter, DeviceIdentity, NewAccount, Replica, SyncLimits};
use rapport_e2e::{Server, TOKEN};

fn replica(dir: &std::path::Path, name: &str) -> Replica {
    Replica::open(dir.join(format!("{name}.db")), &DeviceIdentity::new(name, format!("{name}-device"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_of_many_pages_arrives_whole_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let client = rapport_client::Client::new(&server.url, TOKEN).unwrap();

    let mut office = replica(dir.path(), "office");
    let batch: Vec<NewAccount> = (0..300)
        .map(|i| {
            let mut a = NewAccount::new(format!("Customer {i:03}"));
            a.notes = format!("Visited in week {i}; wants a quote for {} units.", i * 10);
            a
        })
        .collect();
    let ids = office.create_accounts(&batch).unwrap();
    client.sync(&mut office, SyncLimits::default(), |_| {}).await.unwrap();

    // Pages of ~16 KB: about a dozen documents each.
    let small = SyncLimits { max_push_bytes: 4 << 20, max_pull_bytes: 16 << 10 };
    let mut fresh = replica(dir.path(), "fresh");
    let mut rounds_seen = Vec::new();
    let summary = client.sync(&mut fresh, small, |p| rounds_seen.push(p.pulled_docs)).await.unwrap();
    assert!(summary.rounds > 10, "expected many pages, got {} exchanges", summary.rounds);
    assert_eq!(rounds_seen.len(), summary.rounds);
    assert!(rounds_seen.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {rounds_seen:?}");
    let mut pulled = summary.pulled_ids.clone();
    pulled.sort();
    let before = pulled.len();
    pulled.dedup();
    assert_eq!(before, pulled.len(), "no document is sent twice");
    assert_eq!(fresh.account_ids().unwrap().len(), ids.len());
    assert_eq!(fresh.list(&AccountFilter::default()).unwrap(), office.list(&AccountFilter::default()).unwrap());
    for id in &ids {
        assert_eq!(fresh.account(*id).unwrap(), office.account(*id).unwrap());
    }

    // Nothing is left: the next sync is one small exchange.
    let again = client.sync(&mut fresh, small, |_| {}).await.unwrap();
    assert_eq!((again.rounds, again.pulled_docs), (1, 0));
}

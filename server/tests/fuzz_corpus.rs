//! Replays the checked-in fuzz corpus (`server/fuzz/corpus/<target>/`)
//! through the same functions the `cargo fuzz` targets call, so it runs on
//! stable in CI. Crashers found by fuzzing go into the corpus too.
//!
//! `RAPPORT_WRITE_SEEDS=1 cargo test -p rapport-server --test fuzz_corpus`
//! rewrites the seed files from the current wire format.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::Device;
use rapport_core::SyncLimits;
use rapport_core::sync::{DocData, MemoryStore, Message, OpenAccess, PROTOCOL_VERSION, SyncRequest, handle};

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

fn files(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(corpus(target))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Seed inputs built from real replicas and the current wire format.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut ana = Device::new("ana");
    let acme = ana.account("Acme Oy");
    ana.replica.edit(acme, |e| e.set_field("party.address.city", "Tampere")).unwrap();
    let (first, plan) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    let snapshot_push = Message::Request(first.clone()).encode();

    // Exchange with an in-memory server, then edit: the next push carries changes.
    let mut store = MemoryStore::new();
    let (response, _) = handle(&mut store, &OpenAccess, &first).unwrap();
    ana.replica.sync_apply(&plan, &response).unwrap();
    ana.replica.edit(acme, |e| e.set_notes("Call in May")).unwrap();
    let (second, _) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    let changes_push = Message::Request(second.clone()).encode();
    let mut bob = Device::new("bob");
    let (pull, _) = bob.replica.sync_request(SyncLimits::default()).unwrap();
    let (pulled, _) = handle(&mut store, &OpenAccess, &pull).unwrap();
    let response_with_pull = Message::Response(pulled).encode();

    let empty = Message::Request(SyncRequest {
        base: 0,
        after: 0,
        actor: vec![1; 16],
        push: Vec::new(),
        max_pull_bytes: 1 << 20,
        v2: None,
    })
    .encode();
    let garbage_change = Message::Request(SyncRequest {
        push: vec![DocData {
            doc: acme.to_string(),
            snapshot: None,
            changes: vec![b"not an automerge change".to_vec()],
        }],
        ..second.clone()
    })
    .encode();
    let wrong_id = Message::Request(SyncRequest {
        push: vec![DocData { doc: "6f1c2d3e-1111-4222-8333-444455556666".into(), ..first.push[0].clone() }],
        ..first.clone()
    })
    .encode();
    let both =
        Message::Request(SyncRequest { push: [first.push.clone(), second.push.clone()].concat(), ..first.clone() })
            .encode();
    let mut wrong_version = empty.clone();
    wrong_version[4..6].copy_from_slice(&(PROTOCOL_VERSION + 1).to_le_bytes());

    vec![
        ("request-snapshot", snapshot_push.clone()),
        ("request-changes", changes_push.clone()),
        ("request-snapshot-and-changes", both),
        ("request-empty", empty),
        ("request-garbage-change", garbage_change),
        ("request-wrong-doc-id", wrong_id),
        ("response-with-pull", response_with_pull),
        ("truncated", snapshot_push[..snapshot_push.len() / 2].to_vec()),
        ("header-only", snapshot_push[..6].to_vec()),
        ("wrong-version", wrong_version),
        ("garbage", b"GET / HTTP/1.1\r\n\r\n".to_vec()),
    ]
}

#[test]
fn the_checked_in_corpus_replays_cleanly() {
    if std::env::var_os("RAPPORT_WRITE_SEEDS").is_some() {
        for target in ["decode_message", "ingest"] {
            std::fs::create_dir_all(corpus(target)).unwrap();
            for (name, bytes) in seeds() {
                std::fs::write(corpus(target).join(format!("seed-{name}")), bytes).unwrap();
            }
        }
    }
    let decode = files("decode_message");
    let ingest = files("ingest");
    assert!(decode.len() >= 5 && ingest.len() >= 5, "the corpus is checked in");
    for (name, bytes) in &decode {
        eprintln!("decode_message: {name}");
        rapport_server::decode_for_fuzz(bytes);
    }
    for (name, bytes) in &ingest {
        eprintln!("ingest: {name}");
        rapport_server::ingest_for_fuzz(bytes);
    }
}

#[test]
fn fresh_seeds_pass_both_targets() {
    for (name, bytes) in seeds() {
        eprintln!("seed: {name}");
        rapport_server::decode_for_fuzz(&bytes);
        let stored = rapport_server::ingest_for_fuzz(&bytes);
        // Changes alone lack their history on an empty server (NeedSnapshot).
        let expected = match name {
            "request-snapshot" | "request-snapshot-and-changes" => 1,
            _ => 0,
        };
        assert_eq!(stored, expected, "documents stored from {name}");
    }
}

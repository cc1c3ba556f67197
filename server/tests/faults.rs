//! Storage faults get typed, retryable answers: a failure while a push is
//! judged is a 503 (never a refusal the device keeps), a full disk is a 507,
//! and nothing acknowledged is lost; service resumes once the fault is gone.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use rapport_core::SyncLimits;
use rapport_core::sync::Message;
use rapport_server::config::DATABASE_FILE;

/// Sends the replica's next request once; returns status, `Retry-After` and body.
async fn push_once(server: &TestServer, replica: &mut rapport_core::Replica) -> (u16, Option<String>, Vec<u8>) {
    let (request, plan) = replica.sync_request(SyncLimits::default()).unwrap();
    let response = client()
        .post(format!("{}/v1/sync", server.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body(Message::Request(request).encode())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap().to_vec();
    if status == 200 {
        let Message::Response(r) = Message::decode(&body).unwrap() else { panic!("not a response") };
        replica.sync_apply(&plan, &r).unwrap();
    }
    (status, retry, body)
}

#[tokio::test]
async fn a_storage_failure_while_a_push_is_judged_is_a_503_and_the_device_pushes_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let mut ana = Device::new("admin");
    let id = ana.account("Acme");
    sync(&server, &mut ana.replica).await;
    ana.replica.edit(id, |e| e.set_notes("Call in May")).unwrap();
    server.stop().await;

    // The write check reads the stored document's size; make that value
    // unreadable, as a damaged page would.
    let db = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let good: i64 = db.query_row("SELECT bytes FROM documents WHERE id = ?1", [id.to_string()], |r| r.get(0)).unwrap();
    db.execute("UPDATE documents SET bytes = 'unreadable' WHERE id = ?1", [id.to_string()]).unwrap();
    drop(db);

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (status, retry, body) = push_once(&server, &mut ana.replica).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert_eq!(error_code(&body), "server_unavailable");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    // Not a refusal: the device keeps the edit as unsent, not as rejected.
    assert!(ana.replica.rejected_documents().unwrap().is_empty());
    assert_eq!(ana.replica.unsynced_count().unwrap(), 1);
    server.stop().await;

    let db = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let changes: i64 =
        db.query_row("SELECT count(*) FROM changes WHERE doc_id = ?1", [id.to_string()], |r| r.get(0)).unwrap();
    assert_eq!(changes, 1, "nothing of the failed request was stored");
    db.execute("UPDATE documents SET bytes = ?2 WHERE id = ?1", rusqlite::params![id.to_string(), good]).unwrap();
    drop(db);

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    sync(&server, &mut ana.replica).await;
    assert_eq!(ana.replica.unsynced_count().unwrap(), 0);
    let mut bo = Device::new("admin");
    sync(&server, &mut bo.replica).await;
    assert_eq!(bo.replica.account(id).unwrap().party.notes, "Call in May");
    server.stop().await;
}

/// A tmpfs of `size` mounted on a new directory, unmounted on drop.
struct SmallDisk {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let uid = Command::new("id").arg("-u").output().expect("run `id -u`");
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "this test mounts a small tmpfs to fill it and must run as root (CI does); run it as root"
        );
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -t tmpfs on {} failed", dir.display());
        SmallDisk { dir, _parent: parent }
    }

    /// Writes a file until the filesystem is full.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xa5u8; 4096];
        loop {
            match file.write_all(&chunk).and_then(|()| file.flush()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: a failed test may leave the server holding files there.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Text Automerge cannot compress, so that it takes its size on disk.
fn incompressible(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 36);
    while text.len() < bytes {
        text.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    text
}

#[tokio::test]
async fn a_full_disk_is_a_507_loses_nothing_acknowledged_and_service_resumes_when_space_returns() {
    let disk = SmallDisk::mount("6m");
    let server = TestServer::start_in(&disk.dir, |_| {}).await;
    let mut ana = Device::new("admin");
    let acked = ana.account("Acknowledged Oy");
    sync(&server, &mut ana.replica).await;

    let filler = disk.fill();
    assert!(free_bytes(&disk.dir) < 64 << 10);
    let big = ana.account("Big Notes Oy");
    let notes = incompressible(64 << 10);
    ana.replica.edit(big, |e| e.set_notes(&notes)).unwrap();
    let (status, _, body) = push_once(&server, &mut ana.replica).await;
    assert_eq!(status, 507, "{}", String::from_utf8_lossy(&body));
    assert_eq!(error_code(&body), "server_storage_full");
    assert!(String::from_utf8_lossy(&body).contains("out of disk space"));
    assert!(ana.replica.rejected_documents().unwrap().is_empty());
    assert_eq!(ana.replica.unsynced_count().unwrap(), 1);

    let health = client().get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let health: serde_json::Value = serde_json::from_slice(&health.bytes().await.unwrap()).unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["error"]["code"], "server_storage_full");
    assert!(metric(&server, "rapport_storage_full_total").await >= 1);
    assert_eq!(metric(&server, "rapport_storage_disk_full").await, 1);

    // What was acknowledged before is still served while the disk is full.
    let whole =
        client().get(format!("{}/v1/accounts/{acked}/automerge", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(whole.status().as_u16(), 200);

    std::fs::remove_file(filler).unwrap();
    sync(&server, &mut ana.replica).await;
    let mut bo = Device::new("admin");
    assert_eq!(ana.replica.unsynced_count().unwrap(), 0);
    sync(&server, &mut bo.replica).await;
    assert_eq!(bo.replica.account(big).unwrap().party.notes, notes);
    assert_eq!(bo.replica.account(acked).unwrap().party.name, "Acknowledged Oy");
    let health = client().get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(metric(&server, "rapport_storage_disk_full").await, 0);
    server.stop().await;
}

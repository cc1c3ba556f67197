//! What the multi-node suites share (`nodes.rs`, `rolling_upgrade.rs`):
//! nodes on one PostgreSQL database, devices syncing through them, live
//! sockets. Each suite uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use rand::rngs::SmallRng;
use rapport_client::ClientError;
use rapport_core::sync::{Message, SyncResponse};
use rapport_core::{AccountId, Conflict, DeviceIdentity, Replica};
use rapport_e2e::{Acknowledged, Server, all_heads};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a live push or a socket's close may take in these tests: the
/// nodes learn of other nodes' commits by NOTIFY at once, and by polling
/// every second if a notification was lost; this only bounds a hang.
pub const LIVE_WAIT: Duration = Duration::from_secs(10);

/// A node named `name` running `program` (this build's `rapport-server`
/// or an earlier release's) on the database at `url`, with its own data
/// directory under `root` (started again after a kill, it gets a new port).
/// Rate limits are off: the tests sync faster than a person would.
pub fn start_node(program: &Path, root: &Path, url: &str, name: &str) -> Server {
    let args = ["--database", url, "--node-name", name, "--rate", "0"];
    Server::start_program(program, &root.join(name), "127.0.0.1:0", &args)
}

/// A user with one device, through `node`'s admin API: (token, device id).
pub fn add_user(node: &Server, name: &str, role: &str, territories: &[&str]) -> (String, i64) {
    let body = serde_json::json!({
        "name": name, "role": role, "territories": territories, "device": format!("{name}-device"),
    });
    let (status, answer) = node.admin_post("/v1/admin/users", &body);
    assert_eq!(status, 200, "add user {name}: {answer}");
    (answer["token"].as_str().unwrap().to_owned(), answer["device_id"].as_i64().unwrap())
}

/// A device: its replica and token.
pub struct Device {
    pub replica: Replica,
    pub token: String,
}

impl Device {
    pub fn new(root: &Path, user: &str, token: String) -> Device {
        let identity = DeviceIdentity::new(user, format!("{user}-device"));
        Device { replica: Replica::open(root.join(format!("{user}.db")), &identity).unwrap(), token }
    }

    pub fn sync(&mut self, rt: &tokio::runtime::Runtime, node: &Server) -> Result<(), ClientError> {
        rt.block_on(rapport_client::sync_once(&node.url, &self.token, &mut self.replica)).map(|_| ())
    }

    pub fn heads(&self) -> Acknowledged {
        all_heads(&self.replica)
    }

    pub fn conflicts(&self, id: AccountId) -> Vec<Conflict> {
        self.replica.conflicts(id).unwrap()
    }
}

/// `n` office clerks, each with a device, added through `node`.
pub fn clerks(node: &Server, root: &Path, n: usize) -> Vec<Device> {
    (0..n)
        .map(|i| {
            let user = format!("clerk-{i}");
            let (token, _) = add_user(node, &user, "office", &[]);
            Device::new(root, &user, token)
        })
        .collect()
}

pub fn random_node<'a>(nodes: &'a [Server], rng: &mut SmallRng) -> &'a Server {
    &nodes[rng.random_range(0..nodes.len())]
}

pub async fn connect(node: &Server, token: &str) -> Socket {
    let mut request = format!("ws://{}/v1/live", node.addr()).into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next protocol response on the socket.
pub async fn next_response(ws: &mut Socket) -> SyncResponse {
    loop {
        match ws.next().await.expect("socket open").unwrap() {
            Frame::Binary(bytes) => match Message::decode(&bytes).unwrap() {
                Message::Response(r) => return r,
                Message::Request(_) => panic!("a node sent a request"),
            },
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("expected a response, got {other:?}"),
        }
    }
}

/// One request/response exchange of `replica` over the socket (which then
/// tracks the device's position, for pushes unasked).
pub async fn ws_sync(ws: &mut Socket, replica: &mut Replica) {
    let (request, plan) = replica.sync_request(Default::default()).unwrap();
    ws.send(Frame::Binary(Message::Request(request).encode().into())).await.unwrap();
    let response = next_response(ws).await;
    replica.sync_apply(&plan, &response).unwrap();
}

/// The close code the socket ends with (skipping pushes before it).
pub async fn closed_with(ws: &mut Socket) -> Option<CloseCode> {
    while let Some(frame) = ws.next().await {
        match frame {
            Ok(Frame::Close(close)) => return close.map(|c| c.code),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Asks every node for each of `reports` and checks that all answer the
/// same: the nodes report from the shared rows, whichever is asked.
pub fn same_reports_everywhere(nodes: &[Server], reports: &[&str]) {
    for report in reports {
        let answers: Vec<serde_json::Value> = nodes
            .iter()
            .map(|node| {
                let (status, answer) = node.admin_get(&format!("/v1/reports/{report}"));
                assert_eq!(status, 200, "{report} through {}: {answer}", node.url);
                answer
            })
            .collect();
        assert!(answers.iter().all(|a| *a == answers[0]), "{report} differs between nodes: {answers:#?}");
    }
}

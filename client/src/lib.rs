//! # rapport-client
//!
//! The one transport between a local [`rapport_core::Replica`] and a Rapport server, shared
//! by the desktop CLI and the mobile bindings. It carries the sans-IO sync
//! messages of `rapport_core::sync` over `POST /v1/sync` and the `GET /v1/live`
//! WebSocket, maps every failure to a [`ClientError`] a caller can act on, and
//! knows nothing of terminals, files or FFI.
//!
//! ```no_run
//! # async fn run() -> Result<(), rapport_client::ClientError> {
//! use rapport_core::{DeviceIdentity, Replica, SyncLimits};
//! use rapport_client::Client;
//!
//! let mut replica = Replica::open("replica.db", &DeviceIdentity::new("ana", "ana-laptop"))?;
//! let client = Client::new("https://rapport.example.com", "device-token")?;
//! let summary = client.sync(&mut replica, SyncLimits::default(), |p| {
//!     eprintln!("exchange {}: {} documents left to push", p.round, p.unsynced_now);
//! }).await?;
//! println!("pushed {} and pulled {} documents", summary.pushed_docs, summary.pulled_docs);
//! # Ok(()) }
//! ```
//!
//! * [`Client::sync`] / [`sync_once`]: request, apply, repeat until nothing
//!   is left to push or pull. Each exchange commits locally before the next.
//! * [`Client::whoami`]: the user and device a token belongs to, for the
//!   replica's identity (`rapport init`, the apps' sign-in).
//! * [`Client::directory`]: the users, teams and territories an account may
//!   be given to, to check an owner's name before writing it.
//! * [`Client::wipe`]: after [`ClientError::DeviceWiped`] (the device was
//!   revoked as lost), erases the replica and tells the server what unsynced
//!   work was lost with it.
//! * [`Client::watch`]: stays on the live socket with an `Arc<Mutex<Replica>>`,
//!   applying other devices' changes as they land; see [`live`].
//! * TLS is rustls with the `ring` provider and the operating system's
//!   certificate verifier: no OpenSSL, no native build steps.

mod client;
mod directory;
mod endpoint;
mod error;
pub mod live;
mod retry;
mod sync;
mod tls;
mod whoami;
mod wipe;

pub use client::{Client, ClientOptions};
pub use directory::{Directory, DirectoryUser};
pub use error::ClientError;
pub use live::{LiveControl, LiveEvent, WatchOptions};
pub use retry::{Backoff, RetryPolicy};
pub use sync::{MAX_IDLE_ROUNDS, MAX_ROUNDS, RejectedDoc, SyncProgress, SyncSummary, sync_once};
pub use whoami::TokenOwner;
pub use wipe::Wiped;

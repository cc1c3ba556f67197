//! The batched sync protocol: many documents per message, sans IO.
//!
//! * [`protocol`]: messages and their versioned wire format.
//! * [`server`]: the server's half, over any [`ServerStore`].
//! * The client's half is [`crate::Replica::sync_request`] and
//!   [`crate::Replica::sync_apply`].
//! * [`MemoryStore`]: an in-memory store, for tests and simulations.
//! * `conformance` (feature `conformance`): the log tests every store must pass.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod memory;
pub mod protocol;
pub mod server;

pub use memory::MemoryStore;
pub use protocol::{
    Ack, AckStatus, Announced, DocData, Fingerprint, HealRequest, HealResponse, LogMark, MAGIC, Message, PROTOCOL_V1,
    PROTOCOL_VERSION, ProtocolError, SyncRequest, SyncResponse, fingerprint_of,
};
pub use server::{
    Access, AccessError, ActorNewest, DocMeta, HandleStats, LogIdentity, LoggedChange, OpenAccess, PrincipalAccess,
    ServerStore, Verdict, handle,
};

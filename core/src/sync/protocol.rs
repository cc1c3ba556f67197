//! The batched sync protocol's messages and their wire format.
//!
//! Every message is `MAGIC` (4 bytes), the protocol version (u16, little
//! endian), then a postcard-encoded body. Decoding checks the magic, refuses
//! versions it does not speak with [`ProtocolError::UnsupportedVersion`], and
//! refuses bodies with trailing bytes, oversize collections or malformed
//! Automerge changes. See `docs/PROTOCOL.md` for the semantics.

use serde::{Deserialize, Serialize};

/// First bytes of every protocol message.
pub const MAGIC: [u8; 4] = *b"RPSY";
/// The protocol version this build writes.
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest protocol version this build still reads and answers.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
/// Most documents one message may carry.
pub const MAX_DOCS_PER_MESSAGE: usize = 20_000;
/// Most changes one document entry may carry.
pub const MAX_CHANGES_PER_DOC: usize = 100_000;

/// Why bytes are not a valid protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("message is too short to be a Rapport sync message")]
    Truncated,
    #[error("not a Rapport sync message (bad magic bytes)")]
    BadMagic,
    #[error("protocol version {found} is not supported; this side speaks {min} to {max}")]
    UnsupportedVersion { found: u16, min: u16, max: u16 },
    #[error("malformed message body: {0}")]
    Malformed(String),
    #[error("message carries too many entries: {0}")]
    TooLarge(String),
    #[error("document {doc}: change {index} is not a valid Automerge change")]
    BadChange { doc: String, index: usize },
    #[error("document id {0:?} is not valid")]
    BadDocId(String),
}

/// One document's data, in either direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocData {
    /// Account UUID, or `settings` for the settings document.
    pub doc: String,
    /// A whole saved document (`Automerge::save` output, optionally followed by
    /// change chunks). Sent when the receiver may hold none of the document.
    pub snapshot: Option<Vec<u8>>,
    /// Raw Automerge changes (each one `Change::raw_bytes`), oldest first.
    pub changes: Vec<Vec<u8>>,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The client holds every change the server logged at or below this position.
    pub base: u64,
    /// Resume point of an interrupted pull: documents whose last logged change
    /// is in `(base, after]` were already delivered. Equal to `base` when not resuming.
    pub after: u64,
    /// The client's Automerge actor id: changes made by it are not sent back.
    pub actor: Vec<u8>,
    /// Documents with changes the server has not acknowledged yet.
    pub push: Vec<DocData>,
    /// Soft cap on the bytes of documents the server sends back in this response.
    pub max_pull_bytes: u64,
}

/// What happened to one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckStatus {
    /// Stored durably.
    Stored,
    /// The server lacks changes these depend on: push the whole document.
    NeedSnapshot,
    /// Refused; nothing of it was stored. The reason is safe to show.
    Rejected(String),
}

/// Acknowledgement of one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub doc: String,
    pub status: AckStatus,
}

/// Server → client (as the answer to a request, or unsolicited on the live socket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub acks: Vec<Ack>,
    pub pull: Vec<DocData>,
    /// The base the documents in `pull` were computed against (the request's base).
    pub base: u64,
    /// Resume point after applying `pull` (see [`SyncRequest::after`]).
    pub after: u64,
    /// More documents wait: send another request with `after`.
    pub more: bool,
    /// Documents the requester may no longer read: it drops its copy once it
    /// has no unacknowledged edits to it.
    pub removed: Vec<String>,
}

/// Any protocol message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Request(SyncRequest),
    Response(SyncResponse),
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        // Serializing plain data to a Vec cannot fail.
        postcard::to_io(self, &mut out).ok();
        out
    }

    /// Decodes and validates untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
        if bytes.len() < 6 {
            return Err(ProtocolError::Truncated);
        }
        if bytes[..4] != MAGIC {
            return Err(ProtocolError::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
            return Err(ProtocolError::UnsupportedVersion {
                found: version,
                min: MIN_PROTOCOL_VERSION,
                max: PROTOCOL_VERSION,
            });
        }
        let (msg, rest): (Message, &[u8]) =
            postcard::take_from_bytes(&bytes[6..]).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ProtocolError::Malformed(format!("{} unexpected trailing bytes", rest.len())));
        }
        msg.validate()?;
        Ok(msg)
    }

    fn validate(&self) -> Result<(), ProtocolError> {
        let docs = match self {
            Message::Request(r) => {
                if r.after < r.base {
                    return Err(ProtocolError::Malformed("resume point is before base".into()));
                }
                &r.push
            }
            Message::Response(r) => {
                if r.removed.len() > MAX_DOCS_PER_MESSAGE {
                    return Err(ProtocolError::TooLarge(format!("{} removed documents", r.removed.len())));
                }
                &r.pull
            }
        };
        if docs.len() > MAX_DOCS_PER_MESSAGE {
            return Err(ProtocolError::TooLarge(format!("{} documents", docs.len())));
        }
        for d in docs {
            d.validate()?;
        }
        Ok(())
    }
}

impl DocData {
    fn validate(&self) -> Result<(), ProtocolError> {
        if self.doc != crate::settings::SETTINGS_DOC_ID && uuid::Uuid::parse_str(&self.doc).is_err() {
            return Err(ProtocolError::BadDocId(self.doc.chars().take(64).collect()));
        }
        if self.changes.len() > MAX_CHANGES_PER_DOC {
            return Err(ProtocolError::TooLarge(format!("{} changes in one document", self.changes.len())));
        }
        if self.snapshot.is_none() && self.changes.is_empty() {
            return Err(ProtocolError::Malformed(format!("document {} carries no data", self.doc)));
        }
        Ok(())
    }

    /// Parses the changes, refusing any that is not a valid Automerge change.
    pub fn parse_changes(&self) -> Result<Vec<automerge::Change>, ProtocolError> {
        self.changes
            .iter()
            .enumerate()
            .map(|(index, raw)| {
                let bad = || ProtocolError::BadChange { doc: self.doc.clone(), index };
                crate::untrusted::contain("a change", || Ok(automerge::Change::from_bytes(raw.clone()).ok()))
                    .ok()
                    .flatten()
                    .ok_or_else(bad)
            })
            .collect()
    }
}

//! The batched sync protocol's messages and their wire format.
//!
//! Every message is `MAGIC` (4 bytes), the protocol version (u16, little
//! endian), then a postcard-encoded body. Decoding checks the magic, refuses
//! versions it does not speak with [`ProtocolError::UnsupportedVersion`], and
//! refuses bodies with trailing bytes, oversize collections or malformed
//! Automerge changes. See `docs/PROTOCOL.md` for the semantics.
//!
//! Postcard is not self-describing, so a version's bytes never change: a
//! version-1 body is exactly what 0.1.0 writes. A version-2 body is the
//! version-1 body followed by the version-2 extension of its kind
//! ([`HealRequest`] after a request, [`HealResponse`] after a response). In
//! memory the extension is the `v2` field of [`SyncRequest`] and
//! [`SyncResponse`]: `None` means the message is (or is sent as) version 1.

use serde::{Deserialize, Serialize};

/// First bytes of every protocol message.
pub const MAGIC: [u8; 4] = *b"RPSY";
/// The newest protocol version this build writes (messages whose `v2` is set).
pub const PROTOCOL_VERSION: u16 = 2;
/// The version of messages without the version-2 extension (what 0.1.0 speaks).
pub const PROTOCOL_V1: u16 = 1;
/// The oldest protocol version this build still reads and answers.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
/// Most documents one message may carry.
pub const MAX_DOCS_PER_MESSAGE: usize = 20_000;
/// Most changes one document entry may carry.
pub const MAX_CHANGES_PER_DOC: usize = 100_000;
/// Most heads one announced document may carry.
pub const MAX_HEADS_PER_DOC: usize = 1_000;

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
    /// The version-2 extension; `None`: sent as version 1.
    #[serde(skip)]
    pub v2: Option<HealRequest>,
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
    /// The version-2 extension; `None`: sent as version 1.
    #[serde(skip)]
    pub v2: Option<HealResponse>,
}

/// Which log a server holds, as of one response (protocol version 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogMark {
    /// The server database's identity (a random UUID created with it).
    pub server: [u8; 16],
    /// The database's epoch: a new one starts after every restore (its value
    /// is the time it started, in milliseconds since the Unix epoch, or more).
    pub epoch: u64,
    /// The newest log position when the response was made.
    pub head: u64,
    /// The first bytes of the hash of the change logged at `head` (all zero
    /// at position 0 or when the server does not know it).
    pub fingerprint: Fingerprint,
}

/// What identifies the change at one log position: the first 8 bytes of its
/// hash (enough to tell two logs apart; nobody gains by forging one).
pub type Fingerprint = [u8; 8];

/// The fingerprint of a change with this hash.
pub fn fingerprint_of(hash: &[u8; 32]) -> Fingerprint {
    let mut out = [0; 8];
    out.copy_from_slice(&hash[..8]);
    out
}

/// A document the device holds and its heads, announced while it heals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    pub doc: String,
    pub heads: Vec<[u8; 32]>,
}

/// What a version-2 request adds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealRequest {
    /// The log as of the last version-2 response this device applied (`None`
    /// before its first one).
    pub seen: Option<LogMark>,
    /// Set while the device heals a restored server (it re-pushes what the
    /// server lost, its own changes and those it received from others).
    pub healing: bool,
    /// Documents the device holds, with their heads, sent after the server
    /// asked it to heal (a page at a time).
    pub announce: Vec<Announced>,
}

/// What a version-2 response adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealResponse {
    /// The server's log as of this response; the device sends it back as `seen`.
    pub log: LogMark,
    /// The server does not have the log the device saw (it was restored):
    /// the device pulls again from position 0 and announces what it holds.
    pub heal: bool,
    /// Announced documents the server lacks some heads of: push them whole.
    pub lacking: Vec<String>,
    /// This device's replica is older than what the server holds from it (it
    /// was restored from a device backup): the server holds changes of the
    /// request's actor that the device no longer has. Nothing of the request
    /// was stored; the device sets its unacknowledged changes aside, writes
    /// under a fresh actor id, pulls again from position 0 and then rebuilds
    /// the changes the server lacks (ADR 0013). Encoded last, so every field
    /// before it is where it was.
    pub restored: bool,
}

/// Any protocol message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Request(SyncRequest),
    Response(SyncResponse),
}

impl Message {
    /// The version this message is encoded in: 2 when it carries the
    /// version-2 extension, else 1.
    pub fn version(&self) -> u16 {
        let v2 = match self {
            Message::Request(r) => r.v2.is_some(),
            Message::Response(r) => r.v2.is_some(),
        };
        if v2 { PROTOCOL_VERSION } else { PROTOCOL_V1 }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version().to_le_bytes());
        // Serializing plain data to a Vec cannot fail. The `v2` fields are
        // skipped here: this is the version-1 body.
        postcard::to_io(self, &mut out).ok();
        match self {
            Message::Request(SyncRequest { v2: Some(ext), .. }) => postcard::to_io(ext, &mut out).ok(),
            Message::Response(SyncResponse { v2: Some(ext), .. }) => postcard::to_io(ext, &mut out).ok(),
            _ => None,
        };
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
        let malformed = |e: postcard::Error| ProtocolError::Malformed(e.to_string());
        let (mut msg, mut rest): (Message, &[u8]) = postcard::take_from_bytes(&bytes[6..]).map_err(malformed)?;
        if version >= 2 {
            rest = match &mut msg {
                Message::Request(r) => {
                    let (ext, rest) = postcard::take_from_bytes::<HealRequest>(rest).map_err(malformed)?;
                    r.v2 = Some(ext);
                    rest
                }
                Message::Response(r) => {
                    let (ext, rest) = postcard::take_from_bytes::<HealResponse>(rest).map_err(malformed)?;
                    r.v2 = Some(ext);
                    rest
                }
            };
        }
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
                if let Some(ext) = &r.v2 {
                    if ext.announce.len() > MAX_DOCS_PER_MESSAGE {
                        return Err(ProtocolError::TooLarge(format!("{} announced documents", ext.announce.len())));
                    }
                    for a in &ext.announce {
                        check_doc_id(&a.doc)?;
                        if a.heads.len() > MAX_HEADS_PER_DOC {
                            return Err(ProtocolError::TooLarge(format!("{} heads of one document", a.heads.len())));
                        }
                    }
                }
                &r.push
            }
            Message::Response(r) => {
                if r.removed.len() > MAX_DOCS_PER_MESSAGE {
                    return Err(ProtocolError::TooLarge(format!("{} removed documents", r.removed.len())));
                }
                if let Some(ext) = &r.v2 {
                    if ext.lacking.len() > MAX_DOCS_PER_MESSAGE {
                        return Err(ProtocolError::TooLarge(format!("{} lacking documents", ext.lacking.len())));
                    }
                    for doc in &ext.lacking {
                        check_doc_id(doc)?;
                    }
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

/// A document id is an account UUID or `settings`.
fn check_doc_id(doc: &str) -> Result<(), ProtocolError> {
    if doc != crate::settings::SETTINGS_DOC_ID && uuid::Uuid::parse_str(doc).is_err() {
        return Err(ProtocolError::BadDocId(doc.chars().take(64).collect()));
    }
    Ok(())
}

impl DocData {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_doc_id(&self.doc)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn request() -> SyncRequest {
        SyncRequest {
            base: 5,
            after: 7,
            actor: vec![1, 2, 3],
            push: vec![DocData { doc: "settings".into(), snapshot: Some(vec![9, 8]), changes: vec![vec![4, 5, 6]] }],
            max_pull_bytes: 300,
            v2: None,
        }
    }

    fn response() -> SyncResponse {
        let ack = |status| Ack { doc: "settings".into(), status };
        SyncResponse {
            acks: vec![ack(AckStatus::Stored), ack(AckStatus::NeedSnapshot), ack(AckStatus::Rejected("no".into()))],
            pull: vec![DocData { doc: "settings".into(), snapshot: None, changes: vec![vec![1]] }],
            base: 5,
            after: 200,
            more: true,
            removed: vec!["settings".into()],
            v2: None,
        }
    }

    /// Written by release 0.1.0 (e1756d2) for `request()` and `response()`.
    const V1_REQUEST: &str = "52505359010000050703010203010873657474696e6773010209080103040506ac02";
    const V1_RESPONSE: &str = "52505359010001030873657474696e6773000873657474696e6773010873657474696e677302026e6f\
                               010873657474696e67730001010105c80101010873657474696e6773";

    fn mark() -> LogMark {
        LogMark { server: [7; 16], epoch: 1_700_000_000_000, head: 101, fingerprint: [3; 8] }
    }

    #[test]
    fn version_1_bytes_are_those_of_release_0_1_0() {
        assert_eq!(hex(&Message::Request(request()).encode()), V1_REQUEST);
        assert_eq!(hex(&Message::Response(response()).encode()), V1_RESPONSE);
        assert_eq!(Message::decode(&unhex(V1_REQUEST)).unwrap(), Message::Request(request()));
        assert_eq!(Message::decode(&unhex(V1_RESPONSE)).unwrap(), Message::Response(response()));
    }

    #[test]
    fn version_2_is_the_version_1_body_and_the_extension() {
        let heal = HealRequest {
            seen: Some(mark()),
            healing: true,
            announce: vec![Announced { doc: "settings".into(), heads: vec![[1; 32], [2; 32]] }],
        };
        let req = Message::Request(SyncRequest { v2: Some(heal.clone()), ..request() });
        let bytes = req.encode();
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
        // Past the version, the version-1 body comes first, unchanged.
        let v1 = unhex(V1_REQUEST);
        assert_eq!(bytes[6..v1.len()], v1[6..]);
        assert_eq!(Message::decode(&bytes).unwrap(), req);

        let resp = Message::Response(SyncResponse {
            v2: Some(HealResponse { log: mark(), heal: true, lacking: vec!["settings".into()], restored: true }),
            ..response()
        });
        let bytes = resp.encode();
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
        assert_eq!(Message::decode(&bytes).unwrap(), resp);
        let empty = Message::Request(SyncRequest { v2: Some(HealRequest::default()), ..request() });
        assert_eq!(Message::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn the_restored_flag_is_the_last_byte_of_a_version_2_response() {
        let with = |restored| {
            let ext = HealResponse { log: mark(), heal: false, lacking: vec!["settings".into()], restored };
            Message::Response(SyncResponse { v2: Some(ext), ..response() }).encode()
        };
        let (no, yes) = (with(false), with(true));
        assert_eq!(no.len(), yes.len());
        assert_eq!(no[..no.len() - 1], yes[..yes.len() - 1], "every field before it stays where it was");
        assert_eq!((no[no.len() - 1], yes[yes.len() - 1]), (0, 1));
        let Message::Response(decoded) = Message::decode(&yes).unwrap() else { panic!("a response") };
        assert!(decoded.v2.unwrap().restored);
    }

    #[test]
    fn a_version_2_message_without_its_extension_or_with_extra_bytes_is_refused() {
        // A version-1 body announced as version 2 lacks its extension.
        let mut bytes = unhex(V1_REQUEST);
        bytes[4] = 2;
        assert!(matches!(Message::decode(&bytes), Err(ProtocolError::Malformed(_))));
        // A version-1 message with a version-2 extension after it has trailing bytes.
        let v2 = Message::Request(SyncRequest { v2: Some(HealRequest::default()), ..request() }).encode();
        let mut as_v1 = v2.clone();
        as_v1[4] = 1;
        assert!(matches!(Message::decode(&as_v1), Err(ProtocolError::Malformed(_))));
        let mut trailing = v2;
        trailing.push(0);
        assert!(matches!(Message::decode(&trailing), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn announced_and_lacking_documents_are_validated() {
        let bad = |doc: &str| {
            let heal = HealRequest {
                announce: vec![Announced { doc: doc.into(), heads: Vec::new() }],
                ..HealRequest::default()
            };
            Message::Request(SyncRequest { v2: Some(heal), ..request() }).encode()
        };
        assert!(matches!(Message::decode(&bad("../x")), Err(ProtocolError::BadDocId(_))));
        let many = HealRequest {
            announce: vec![Announced { doc: "settings".into(), heads: vec![[0; 32]; MAX_HEADS_PER_DOC + 1] }],
            ..HealRequest::default()
        };
        let bytes = Message::Request(SyncRequest { v2: Some(many), ..request() }).encode();
        assert!(matches!(Message::decode(&bytes), Err(ProtocolError::TooLarge(_))));
        let resp = SyncResponse {
            v2: Some(HealResponse { log: mark(), heal: false, lacking: vec!["nope".into()], restored: false }),
            ..response()
        };
        assert!(matches!(Message::decode(&Message::Response(resp).encode()), Err(ProtocolError::BadDocId(_))));
    }
}

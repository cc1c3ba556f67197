//! Device tokens: 32 random bytes shown once as 64 hex digits; storage
//! keeps only their SHA-256 hash, whatever the backend.

use sha2::{Digest, Sha256};

/// SHA-256 of a token: what the directory stores and looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A fresh device token: 32 bytes from the OS's random source, as hex.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

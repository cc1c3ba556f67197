//! One TLS configuration for HTTP and WebSocket: rustls with the `ring`
//! provider (no native build dependencies) and the operating system's
//! certificate verifier, so company CAs installed on the machine are trusted.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;

use crate::error::ClientError;

/// The process's configuration, built on first use: building it loads the
/// system's certificates (milliseconds), and every [`crate::Client`] — one
/// per sync — needs the same one. Certificates installed later are trusted
/// from the next start. A failure is not kept: the next client tries again.
pub(crate) fn config() -> Result<Arc<ClientConfig>, ClientError> {
    static SHARED: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = SHARED.get() {
        return Ok(config.clone());
    }
    let built = Arc::new(build()?);
    Ok(SHARED.get_or_init(|| built).clone())
}

fn build() -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| ClientError::Tls(format!("cannot load the system's certificate verifier: {e}")))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn every_client_shares_one_configuration() {
        let (a, b) = (super::config().unwrap(), super::config().unwrap());
        assert!(std::sync::Arc::ptr_eq(&a, &b));
    }
}

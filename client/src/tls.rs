//! One TLS configuration for HTTP and WebSocket: rustls with the `ring`
//! provider (no native build dependencies) and the operating system's
//! certificate verifier, so company CAs installed on the machine are trusted.

use std::sync::Arc;

use rustls::ClientConfig;

use crate::error::ClientError;

pub(crate) fn config() -> Result<ClientConfig, ClientError> {
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

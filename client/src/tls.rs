//! One TLS configuration for HTTP and WebSocket: rustls with the `ring`
//! provider (no native build dependencies) and the operating system's
//! certificate verifier, so company CAs installed on the machine are trusted.
//!
//! A self-hosted server's CA can also be given to the client itself
//! (`rapport init --ca-cert FILE`, `ca_cert_pem` in the bindings): a server
//! certificate is then accepted if it chains to that CA, and otherwise
//! checked against the platform's trust store as usual. This works the same
//! on Android, whose platform verifier takes no extra roots.
//!
//! A certificate that is not trusted is a [`ClientError::UntrustedCertificate`],
//! never retried: waiting does not make a certificate trusted.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::ClientError;

/// The configuration trusting the platform's store only, or also `ca_cert_pem`.
pub(crate) fn config(ca_cert_pem: Option<&str>) -> Result<Arc<ClientConfig>, ClientError> {
    match ca_cert_pem {
        None => platform_config(),
        Some(pem) => company_config(pem),
    }
}

/// The process's configuration, built on first use: building it loads the
/// system's certificates (milliseconds), and every [`crate::Client`] — one
/// per sync — needs the same one. Certificates installed later are trusted
/// from the next start. A failure is not kept: the next client tries again.
fn platform_config() -> Result<Arc<ClientConfig>, ClientError> {
    static SHARED: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = SHARED.get() {
        return Ok(config.clone());
    }
    let built = Arc::new(build(platform_verifier()?)?);
    Ok(SHARED.get_or_init(|| built).clone())
}

/// The configuration for a company CA, kept for the last CA asked for (a
/// device syncs with one server, so every sync after the first reuses it).
fn company_config(pem: &str) -> Result<Arc<ClientConfig>, ClientError> {
    static LAST: Mutex<Option<(String, Arc<ClientConfig>)>> = Mutex::new(None);
    if let Some((last, config)) = LAST.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
        && last == pem
    {
        return Ok(config.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let invalid = |reason: String| ClientError::InvalidCaCert { reason };
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("it is not a PEM certificate ({e})")))?;
    if certs.is_empty() {
        return Err(invalid("it holds no \"-----BEGIN CERTIFICATE-----\" block".into()));
    }
    for cert in certs {
        roots.add(cert).map_err(|e| invalid(format!("it cannot be used as a CA certificate ({e})")))?;
    }
    let company = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| invalid(format!("it cannot be used as a CA certificate ({e})")))?;
    let verifier = WithCompanyCa { company, platform: platform_verifier()? };
    let config = Arc::new(build(Arc::new(verifier))?);
    *LAST.lock().unwrap_or_else(PoisonError::into_inner) = Some((pem.to_owned(), config.clone()));
    Ok(config)
}

fn platform_verifier() -> Result<Arc<rustls_platform_verifier::Verifier>, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls_platform_verifier::Verifier::new(provider)
        .map(Arc::new)
        .map_err(|e| ClientError::Tls(format!("cannot load the system's certificate verifier: {e}")))
}

fn build(verifier: Arc<dyn ServerCertVerifier>) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Accepts a certificate that chains to the company CA; any other goes to
/// the platform's verifier. A certificate of the company CA that is wrong in
/// another way (host name, expiry) is refused with that reason.
#[derive(Debug)]
struct WithCompanyCa {
    company: Arc<WebPkiServerVerifier>,
    platform: Arc<rustls_platform_verifier::Verifier>,
}

impl ServerCertVerifier for WithCompanyCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.company.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                self.platform.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            outcome => outcome,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

/// Why the server's certificate was refused, if that is what `e` (an HTTP
/// or WebSocket failure) comes down to.
pub(crate) fn untrusted_reason(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(e);
    while let Some(error) = current {
        if let Some(rustls::Error::InvalidCertificate(reason)) = error.downcast_ref::<rustls::Error>() {
            return Some(describe(reason));
        }
        // `io::Error::source` skips the error it wraps: look inside.
        if let Some(inner) = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
            && let Some(reason) = untrusted_reason(inner)
        {
            return Some(reason);
        }
        current = error.source();
    }
    None
}

fn describe(reason: &CertificateError) -> String {
    match reason {
        CertificateError::UnknownIssuer => "it was not issued by a certificate authority this device trusts".to_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it was issued for another host name than the one in the server URL (check the URL)".to_owned()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired (check the device's clock, or ask the server's administrator to renew it)".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet (check the device's clock)".to_owned()
        }
        CertificateError::Revoked => "it was revoked".to_owned(),
        other => rustls::Error::InvalidCertificate(other.clone()).to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::ClientError;

    #[test]
    fn every_client_shares_one_configuration() {
        let (a, b) = (super::config(None).unwrap(), super::config(None).unwrap());
        assert!(std::sync::Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_ca_file_that_is_no_certificate_is_refused() {
        for bad in ["", "hello", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
            let e = super::config(Some(bad)).unwrap_err();
            assert!(matches!(e, ClientError::InvalidCaCert { .. }), "{bad:?}: {e}");
        }
    }
}

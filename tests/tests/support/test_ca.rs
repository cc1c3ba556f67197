//! A throwaway certificate authority for HTTPS tests (rcgen): a CA and a
//! server certificate it issued for `127.0.0.1` only, written as PEM files.
//! Used by the Rust tests directly and, through the `test_ca` example, by the
//! Python and Kotlin tests.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// The files [`write`] creates.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate a client must trust.
    pub ca_cert: PathBuf,
    /// The server's certificate (valid for the IP address 127.0.0.1, not for `localhost`).
    pub server_cert: PathBuf,
    /// The server certificate's private key.
    pub server_key: PathBuf,
}

/// Generates a new CA and a server certificate it issued into `dir`.
pub fn write(dir: &Path) -> Result<TestCa, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Rapport test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned()])?;
    server.distinguished_name.push(DnType::CommonName, "rapport test server");
    server.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = server.signed_by(&key, &ca)?;

    let files =
        TestCa { ca_cert: dir.join("ca.pem"), server_cert: dir.join("server.pem"), server_key: dir.join("server.key") };
    std::fs::write(&files.ca_cert, ca.pem())?;
    std::fs::write(&files.server_cert, cert.pem())?;
    std::fs::write(&files.server_key, key.serialize_pem())?;
    Ok(files)
}

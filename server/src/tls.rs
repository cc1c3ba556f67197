//! HTTPS served by the server itself (`serve --tls-cert FILE --tls-key FILE`):
//! rustls with the `ring` provider, loaded from PEM files at start.
//!
//! [`TlsListener`] is an `axum::serve` listener: plain TCP connections are
//! accepted on a background task, each handshake runs on its own task (a
//! slow or silent client holds up nobody), and finished TLS streams are
//! handed to `axum::serve`. Graceful shutdown and WebSocket upgrades work as
//! on plain HTTP, because `axum::serve` drives both.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for `axum::serve` to take them.
const ACCEPTED_QUEUE: usize = 64;

/// The certificate chain and private key files given to `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediate certificates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the server cannot serve HTTPS with the given files. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate file {}: {reason}", path.display())]
    CertUnreadable { path: PathBuf, reason: String },
    #[error(
        "the TLS certificate file {} holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\"): {reason}",
        path.display()
    )]
    NoCertificate { path: PathBuf, reason: String },
    #[error("cannot read the TLS key file {}: {reason}", path.display())]
    KeyUnreadable { path: PathBuf, reason: String },
    #[error(
        "the TLS key file {} holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\"): {reason}",
        path.display()
    )]
    NoKey { path: PathBuf, reason: String },
    #[error(
        "the TLS key file {} does not fit the certificate in {} ({reason}); give the key the certificate was issued for",
        key.display(),
        cert.display()
    )]
    Mismatch { cert: PathBuf, key: PathBuf, reason: String },
}

/// Reads the certificate chain and key and builds the server's TLS
/// configuration (HTTP/1.1 only: the sync protocol and the WebSocket use it).
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |e: rustls::Error| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: e.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes =
        std::fs::read(path).map_err(|e| TlsError::CertUnreadable { path: path.into(), reason: e.to_string() })?;
    let none = |reason: String| TlsError::NoCertificate { path: path.into(), reason };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| none(e.to_string()))?;
    if certs.is_empty() {
        return Err(none("the file is empty or holds something else".into()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes =
        std::fs::read(path).map_err(|e| TlsError::KeyUnreadable { path: path.into(), reason: e.to_string() })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::NoKey {
        path: path.into(),
        reason: match e {
            pem::Error::NoItemsFound => "the file is empty or holds something else".into(),
            other => other.to_string(),
        },
    })
}

/// An `axum::serve` listener that hands out TLS streams. Dropping it (when
/// `axum::serve` stops accepting at shutdown) stops accepting connections.
#[derive(Debug)]
pub struct TlsListener {
    addr: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener { addr, accepted, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, as axum's own listener does.
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    tx.send((tls, peer)).await.ok();
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop ended (it is aborted only on drop): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

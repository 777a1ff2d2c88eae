//! HTTPS for the emulator: a certificate and key loaded from PEM, ALPN offering `h2` and
//! `http/1.1` (so a client negotiates HTTP/2 when it can), and a listener that hands axum only
//! connections whose handshake has completed. Handshakes run each on a task of its own, so a
//! burst of new connections is not handshaken one after the other.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its handshake by then is dropped, so that a silent peer does
/// not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the emulator's certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{what} holds no PEM {expected}")]
    NoPem {
        what: String,
        expected: &'static str,
    },
    #[error("the certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server configuration for a PEM certificate chain and its PEM private key (PKCS#8, PKCS#1
/// or SEC1), read from files.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    server_config(
        &read(cert)?,
        &read(key)?,
        &cert.display().to_string(),
        &key.display().to_string(),
    )
}

/// The server configuration for a PEM certificate chain and key given as bytes; `cert_name` and
/// `key_name` say where they came from in errors.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_name: &str,
    key_name: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoPem {
            what: cert_name.to_owned(),
            expected: "certificate",
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::NoPem {
        what: key_name.to_owned(),
        expected: "private key",
    })?;
    // The provider is named rather than taken from the process default, which is ambiguous
    // whenever another crate in the build enables a second one.
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TCP connections, counts them, and yields those whose TLS handshake succeeded.
pub(super) struct TlsListener {
    local_addr: SocketAddr,
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `tcp` at once; the accept loop ends when the listener is dropped.
    pub(super) fn new(
        tcp: TcpListener,
        config: Arc<ServerConfig>,
        accepted: Arc<AtomicU64>,
    ) -> std::io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (sender, handshaken) = mpsc::channel(256);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            let mut tcp = tcp;
            loop {
                let (stream, peer) = tokio::select! {
                    connection = axum::serve::Listener::accept(&mut tcp) => connection,
                    () = sender.closed() => return,
                };
                accepted.fetch_add(1, Ordering::Relaxed);
                // HTTP/2 frames are small and interleaved; Nagle's algorithm would hold them.
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate simply hangs up: nothing to do.
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener {
            local_addr,
            handshaken,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(connection) => connection,
            // The accept loop only ends once this listener is gone, so this never happens.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

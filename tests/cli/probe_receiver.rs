//! A webhook receiver for the probe tests, on 127.0.0.1 (plain or TLS): it records every request
//! and answers by path the way a healthy or a broken receiver would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long `/slow` waits: past Tencent's 2 s, within the probe's 5 s.
pub const SLOW: Duration = Duration::from_secs(3);

/// One request as it reached the receiver.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// The query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Receiver {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    /// Starts a plain-http receiver.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (router, seen) = router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver {
            base_url: format!("http://{addr}"),
            seen,
        }
    }

    /// Starts an https receiver with this server configuration.
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> Receiver {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = Handshaken::new(tcp, config);
        let (router, seen) = router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver {
            base_url: format!("https://{addr}"),
            seen,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The request that reached `path`; fails unless exactly one did.
    pub fn only(&self, path: &str) -> Seen {
        let seen: Vec<Seen> = self.seen().into_iter().filter(|s| s.path == path).collect();
        assert_eq!(seen.len(), 1, "requests to {path}: {seen:?}");
        seen.into_iter().next().unwrap()
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn router() -> (axum::Router, Log) {
    let seen = Log::default();
    let router = axum::Router::new()
        .fallback(answer)
        .with_state(seen.clone());
    (router, seen)
}

const OK: &str = r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

async fn answer(
    State(log): State<Log>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let seen = Seen {
        path: uri.path().to_owned(),
        query,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    let sign = seen.param("Sign").unwrap_or_default().to_owned();
    log.lock().unwrap().push(seen.clone());
    let json = |status: StatusCode, body: String| {
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    match seen.path.as_str() {
        "/status" => json(StatusCode::INTERNAL_SERVER_ERROR, OK.into()),
        "/html" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>It works!</body></html>",
        )
            .into_response(),
        // A hostile ErrorInfo: an escape sequence, a workflow command, and the Sign echoed.
        "/code" => json(
            StatusCode::OK,
            serde_json::json!({
                "ActionStatus": "FAIL",
                "ErrorCode": 1,
                "ErrorInfo": format!("\u{1b}[31mgift refused\n::error::forged sign={sign}"),
            })
            .to_string(),
        ),
        "/redirect" => (
            StatusCode::FOUND,
            [(
                header::LOCATION,
                format!("https://elsewhere.example/\u{202e}kooh?echo={sign}"),
            )],
        )
            .into_response(),
        // Past the probe's 64 KiB cap: no receiver needs to say that much.
        "/huge" => json(
            StatusCode::OK,
            format!("{{\"ErrorInfo\":\"{}\"}}", "a".repeat(100_000)),
        ),
        "/slow" => {
            tokio::time::sleep(SLOW).await;
            json(StatusCode::OK, OK.into())
        }
        _ => json(StatusCode::OK, OK.into()),
    }
}

/// TCP connections whose TLS handshake succeeded; a client refusing the certificate hangs up
/// and is forgotten.
struct Handshaken {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl Handshaken {
    fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> Handshaken {
        let local_addr = tcp.local_addr().unwrap();
        let (sender, ready) = mpsc::channel(16);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            while let Ok((stream, peer)) = tcp.accept().await {
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        Handshaken { local_addr, ready }
    }
}

impl axum::serve::Listener for Handshaken {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

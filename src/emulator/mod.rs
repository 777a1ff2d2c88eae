//! A local HTTP server that behaves like Tencent's `v4/live_config/*` REST API.
//!
//! livehook's tests, `livehook plan --emulator STATE_FILE`, the benchmarks and the
//! `livehook emulator` command all run this server, so it follows Tencent's documentation to the
//! letter (see `docs/tencent-api.md`): the same envelope and `RequestId`, HTTP 200 for
//! every API outcome, the documented error codes, UserSig verification, and a per-SDKAppID limit
//! of 200 requests per second. It also injects faults on demand ([`FaultKind`]) so that retries
//! and convergence can be tested against realistic failures.
//!
//! Where Tencent's documentation is silent, the emulator makes one choice and says so:
//!
//! - `delete_callback` and `delete_callback_token` answer OK when there is nothing to delete
//!   (deletion is treated as idempotent; whether Tencent answers 100301 instead is unconfirmed).
//! - `set_callback` and `update_callback` accept any command words, even an empty list, because
//!   Tencent adds words over time and livehook lets users extend its own list.
//! - Checks run in this order: URL and query (60002), unknown SDKAppID (70020), rate limit
//!   (60011), UserSig (70001–70014), administrator (60010), body (60003), fields (100002), then
//!   the operation itself (100300/100301/100302).
//!
//! The library never prints: nothing here logs, and neither secret keys, UserSigs nor tokens
//! appear in any answer or `Debug` output.

mod faults;
mod rate;
mod server;
mod state;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::FaultKind;
#[doc(hidden)]
pub use server::{FuzzAnswer, FuzzEmulator, fuzz_request};
pub use state::{AppState, State, StateError};
pub use tls::{TlsError, load as load_tls, server_config as tls_server_config};

/// How long [`Emulator::shutdown`] waits for open connections to finish before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the emulator runs. Start from `Options::default()` and change what matters:
/// `Options { latency: Duration::from_millis(20), ..Options::default() }`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen. The default is an ephemeral port on loopback; the emulator binds exactly
    /// what it is given, so a non-loopback address exposes it to the network.
    pub listen: SocketAddr,
    /// How long after its arrival each request is answered (to within about 0.1 ms), to make
    /// benchmarks realistic.
    pub latency: Duration,
    /// Probability (0..=1) that a request gets a fault; values outside are clamped, NaN is 0.
    pub fault_rate: f64,
    /// How long a [`FaultKind::Stall`] holds its answer. Default 30 s, far above any sane client
    /// timeout.
    pub stall: Duration,
    /// Requests per second admitted per SDKAppID before 60011; 0 disables the limit.
    pub rate_limit: u32,
    /// When set, the state is written there atomically after each change.
    pub persist_to: Option<PathBuf>,
    /// The kinds `fault_rate` chooses from, uniformly. Default: all of them.
    pub fault_kinds: Vec<FaultKind>,
    /// Seeds the fault choice so that a run can be reproduced. Default: random. With a seed,
    /// the fault of a request depends on its SDKAppID, command and how many such requests came
    /// before, so concurrent clients meet the same faults however their requests interleave.
    pub fault_seed: Option<u64>,
    /// Whether every request is kept for [`Emulator::requests`], body included. Default true,
    /// which tests rely on; a long-running emulator (`livehook emulator`) turns it off, since the
    /// record only grows. When false, [`Emulator::requests`] is always empty.
    pub record_requests: bool,
    /// Serve HTTPS with this configuration (HTTP/1.1 and HTTP/2, chosen by ALPN) instead of
    /// plain HTTP. Build it with [`load_tls`] or [`tls_server_config`].
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            stall: Duration::from_secs(30),
            rate_limit: 200,
            persist_to: None,
            fault_kinds: FaultKind::ALL.to_vec(),
            fault_seed: None,
            record_requests: true,
            tls: None,
        }
    }
}

/// One request as the emulator received and answered it.
#[derive(Clone)]
pub struct RecordedRequest {
    /// The last segment of the URL path, e.g. `get_callback` (whatever it was, even unknown).
    pub command: String,
    /// The `sdkappid` query parameter, when it was a number.
    pub sdkappid: Option<u64>,
    /// The `identifier` query parameter, when present.
    pub identifier: Option<String>,
    /// The body, when it was valid JSON (of any shape).
    pub body: Option<serde_json::Value>,
    /// The `ErrorCode` answered (0 = OK), or [`RecordedRequest::NO_ENVELOPE`] for an HTTP 502.
    /// For a stalled, truncated or [`FaultKind::StatusAfterApply`] answer it is the code the
    /// undamaged answer carries.
    pub error_code: i64,
    /// The fault injected into this request, if any.
    pub fault: Option<FaultKind>,
    /// When the request arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// The `error_code` of a request answered with an HTTP 502 fault, which carries no envelope.
    pub const NO_ENVELOPE: i64 = -1;
}

// The body of `set_callback_token` holds a token, which must not reach test output or logs
// through `{:?}`; everything else is shown as is.
impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.body.as_ref().map(|body| {
            let mut body = body.clone();
            if let Some(token) = body.get_mut("Token") {
                *token = serde_json::Value::from(crate::tim::secret::REDACTED);
            }
            body
        });
        f.debug_struct("RecordedRequest")
            .field("command", &self.command)
            .field("sdkappid", &self.sdkappid)
            .field("identifier", &self.identifier)
            .field("body", &body)
            .field("error_code", &self.error_code)
            .field("fault", &self.fault)
            .field("at", &self.at)
            .finish()
    }
}

/// A running emulator. Dropping it stops the server in the background; [`Emulator::shutdown`]
/// stops it and waits.
pub struct Emulator {
    addr: SocketAddr,
    https: bool,
    accepted: Arc<AtomicU64>,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Emulator {
    /// Binds `options.listen`, spawns the server on the current Tokio runtime and returns. The
    /// socket is listening when this returns, so connections made afterwards are accepted.
    pub async fn start(state: State, options: Options) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(options.listen).await?;
        if let Some(path) = &options.persist_to {
            // A predecessor killed in the middle of a write leaves its temporary file behind;
            // this emulator owns the state file now. A failure here shows up at the first write.
            let _ = State::remove_stale_temps(path);
        }
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(server::Shared::new(state, &options, stopped.clone()));
        let router = server::router(shared.clone());
        let accepted = Arc::new(AtomicU64::new(0));
        let https = options.tls.is_some();
        let task = match &options.tls {
            Some(config) => spawn_server(
                tls::TlsListener::new(listener, config.clone(), accepted.clone())?,
                router,
                stopped,
            ),
            None => {
                let counter = accepted.clone();
                let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
                    counter.fetch_add(1, Ordering::Relaxed);
                });
                spawn_server(listener, router, stopped)
            }
        };
        Ok(Emulator {
            addr,
            https,
            accepted,
            shared,
            stop,
            task: Some(task),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT` or `https://HOST:PORT` (IPv6 hosts in brackets), the base URL clients
    /// put `/v4/...` after.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// How many TCP connections the emulator has accepted so far: with keep-alive (and HTTP/2's
    /// multiplexing) far fewer than requests.
    pub fn connections_accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// How many requests arrived over HTTP/2 (negotiated by ALPN, so only over HTTPS).
    pub fn http2_requests(&self) -> u64 {
        self.shared.http2_requests.load(Ordering::Relaxed)
    }

    /// Every request received so far, in arrival order. Empty when
    /// [`Options::record_requests`] is false: nothing is recorded then.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// A snapshot of the live state.
    pub fn state(&self) -> State {
        self.shared.lock().state.clone()
    }

    /// Changes the live state between calls, as another operator would. With `persist_to` the
    /// result is written to the state file; a failed write is ignored here (there is no caller to
    /// tell) and the next change writes the whole state again.
    pub fn update_state(&self, f: impl FnOnce(&mut State)) {
        let mut inner = self.shared.lock();
        f(&mut inner.state);
        let _ = self.shared.persist(&inner.state);
    }

    /// Forces the faults of the next requests, in order (`None` answers normally), before the
    /// random choice at `fault_rate` resumes. Tests use it to hit one request precisely, e.g. a
    /// truncated answer to the first `set_callback` only.
    pub fn script_faults(&self, faults: impl IntoIterator<Item = Option<FaultKind>>) {
        self.shared.lock().faults.script(faults);
    }

    /// Stops accepting connections, ends stalled and delayed answers early (they are sent at
    /// once), waits for open connections to finish and returns. Connections still open after
    /// a few seconds are dropped.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// Serves `router` on `listener` until `stopped` turns true.
fn spawn_server<L>(
    listener: L,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // An error means the sender is gone, which also means stop.
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    })
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Without this, a test that forgets `shutdown` would leave the server task running (and
        // its port bound) until the runtime ends.
        self.stop.send_replace(true);
    }
}

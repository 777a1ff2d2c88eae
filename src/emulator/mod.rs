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
mod options;
mod rate;
mod server;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::FaultKind;
pub use options::{Options, RecordedRequest};
#[doc(hidden)]
pub use server::{FuzzAnswer, FuzzEmulator, fuzz_request};
pub use state::{AppState, State, StateError};
pub use tls::{TlsError, load as load_tls, server_config as tls_server_config};

/// How long [`Emulator::shutdown`] waits for open connections to finish before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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

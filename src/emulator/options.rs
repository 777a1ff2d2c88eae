//! How an emulator runs ([`Options`]) and what it records of each request ([`RecordedRequest`]):
//! the types the server and its owner share, apart from both so neither depends on the other.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::faults::FaultKind;

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
    /// Whether every request is kept for [`Emulator::requests`](super::Emulator::requests), body included. Default true,
    /// which tests rely on; a long-running emulator (`livehook emulator`) turns it off, since the
    /// record only grows. When false, [`Emulator::requests`](super::Emulator::requests) is always empty.
    pub record_requests: bool,
    /// Serve HTTPS with this configuration (HTTP/1.1 and HTTP/2, chosen by ALPN) instead of
    /// plain HTTP. Build it with [`load_tls`](super::load_tls) or [`tls_server_config`](super::tls_server_config).
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

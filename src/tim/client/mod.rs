//! The HTTP client for Tencent's `v4/live_config/*` REST calls.
//!
//! One [`Client`] serves a whole run: it owns a single keep-alive connection pool (HTTP/2 over
//! TLS when the server offers it, through the proxy the environment names, see `proxy`), a rate
//! limiter keyed by SDKAppID (shared by every task that clones the client), and a cache of
//! UserSigs. Each call builds the exact envelope Tencent documents (`http`), retries transient
//! failures with jittered exponential back-off within a retry budget in time (`retry`), and turns
//! everything else into a [`CallError`] that carries Tencent's code, `ErrorInfo` and `RequestId`
//! but never the secret key, the UserSig or the webhook token being set. The calls themselves are
//! one generic read and one write (`calls`); the UserSigs are cached in `sig_cache`.

mod calls;
mod error;
mod http;
mod proxy;
mod retry;
mod sig_cache;
#[cfg(test)]
mod test_server;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota};
use url::Url;

use self::sig_cache::SigCache;

pub use self::calls::{Readable, Write};
pub use self::error::{CallError, NetworkKind};
pub use self::http::{CertificateRefusal, builder as http_builder, certificate_refusal};
pub use self::proxy::proxy_for;
pub use crate::tim::secret::Secret;

/// Where and as whom to call.
#[derive(Clone, Debug)]
pub struct Target {
    /// `https://adminapisgp.im.qcloud.com` or `http://127.0.0.1:PORT`; a trailing slash is
    /// tolerated.
    pub base_url: String,
    pub sdkappid: u64,
    /// The App administrator account the calls are made as.
    pub identifier: String,
    pub secret_key: Secret,
}

/// How the client behaves. The defaults suit Tencent; tests shorten the back-offs.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Whole-request timeout. Tencent's backend gives up after about 3 s, so anything shorter
    /// would abandon requests Tencent is still working on (and may still carry out).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How long a call keeps retrying transient and rate-limit failures: no back-off ends past
    /// this long after the call started, and network errors stop being retried once nothing
    /// has answered the client for this long. A budget in time rather than a count, because
    /// what a transient outage costs is time.
    pub retry_for: Duration,
    /// An upper bound on retries after the first attempt besides `retry_for`; by default there
    /// is none. The one extra attempt made after regenerating an expired UserSig is not counted.
    pub max_retries: usize,
    /// First back-off after a transient failure; it doubles (plus jitter) up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// First back-off after a rate-limit code. It is longer than `min_backoff` because retrying a
    /// rate-limited request quickly only adds to the load that caused it.
    pub rate_limit_min_backoff: Duration,
    /// Tencent's limit is 200 requests per second per SDKAppID; the client stays under it.
    pub requests_per_second_per_sdkappid: u32,
    /// How long each UserSig is valid. Short, so a leaked one is soon useless.
    pub usersig_validity: Duration,
}

/// Five minutes: long enough to ride out a gateway restart or a burst of rate limiting, short
/// enough that a nightly job facing a real outage fails within its slot.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(5 * 60);

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry_for: DEFAULT_RETRY_FOR,
            max_retries: usize::MAX,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            rate_limit_min_backoff: Duration::from_secs(2),
            requests_per_second_per_sdkappid: 200,
            usersig_validity: Duration::from_secs(5 * 60),
        }
    }
}

/// Why a [`Client`] could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientBuildError {
    #[error("requests_per_second_per_sdkappid must be at least 1")]
    ZeroRateLimit,
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

/// The client. Cloning is cheap and shares everything, which is what makes the rate limit hold
/// across tasks: give every task a clone of one client, never a client of its own.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    limiter: DefaultKeyedRateLimiter<u64>,
    sigs: SigCache,
    options: ClientOptions,
    /// When any endpoint last answered (anything but a network error); the client's creation
    /// until then.
    last_answer: Mutex<Instant>,
    /// Per https origin, done once its first request has been answered or has failed.
    contacted: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<()>>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, ClientBuildError> {
        let limit = NonZeroU32::new(options.requests_per_second_per_sdkappid)
            .ok_or(ClientBuildError::ZeroRateLimit)?;
        let http = http::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .tcp_keepalive(Some(Duration::from_secs(30)))
            .pool_idle_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| ClientBuildError::Http(e.without_url().to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                limiter: DefaultKeyedRateLimiter::keyed(quota_for(limit)),
                sigs: SigCache::default(),
                options,
                last_answer: Mutex::new(Instant::now()),
                contacted: Mutex::default(),
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Runs `exchange`; the first exchange with an https origin runs alone, and the others wait
    /// for it. An HTTP/2 connection is known to be one only once its TLS handshake has
    /// negotiated it, so without this every request of the first round would open a connection
    /// (and a handshake) of its own; after it, they all share the one connection. Plain http
    /// (always HTTP/1.1 here) is not held back.
    async fn first_contact<T, F>(&self, endpoint: &Url, exchange: impl FnOnce() -> F) -> T
    where
        F: Future<Output = T>,
    {
        if endpoint.scheme() != "https" {
            return exchange().await;
        }
        let origin = endpoint.origin().ascii_serialization();
        let gate = self
            .inner
            .contacted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(origin)
            .or_default()
            .clone();
        let mut exchange = Some(exchange);
        let mut first = None;
        gate.get_or_init(|| async {
            if let Some(exchange) = exchange.take() {
                first = Some(exchange().await);
            }
        })
        .await;
        match (first, exchange) {
            (Some(result), _) => result,
            (None, Some(exchange)) => exchange().await,
            (None, None) => unreachable!("the exchange runs either as the first or after it"),
        }
    }

    fn endpoint_answered(&self) {
        *self.lock_last_answer() = Instant::now();
    }

    /// When network errors stop being retried: `retry_for` after anything last answered.
    fn silent_deadline(&self) -> Instant {
        *self.lock_last_answer() + self.inner.options.retry_for
    }

    fn lock_last_answer(&self) -> std::sync::MutexGuard<'_, Instant> {
        // An instant cannot be left half-written, so a poisoned lock is still good.
        self.inner
            .last_answer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The governor quota that keeps every 1-second window at or under `limit` requests.
///
/// GCRA admits `burst + rate × t` requests in any window of length `t`, so a quota of
/// `rate = limit` with any burst would overshoot. The rate and burst are chosen so that
/// `burst + rate` stays below `limit` with a margin of one more burst: requests admitted at
/// evenly spaced instants do not arrive evenly spaced (connection set-up and scheduling delay
/// some more than others), and the margin absorbs that bunching. For 200 that is a burst of 10
/// and 180 per second, at most 190 per window.
fn quota_for(limit: NonZeroU32) -> Quota {
    let limit = limit.get();
    let burst = (limit / 20).max(1);
    let rate = limit.saturating_sub(2 * burst).max(1);
    // Both are at least 1 by construction.
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_keeps_burst_plus_rate_under_the_limit() {
        // A limit of 1 cannot have burst + rate <= 1 (both are at least 1); its quota still
        // admits one request per full second, so only windows closed at both ends see two.
        for limit in [1u32, 2, 10, 20, 100, 200, 1000] {
            let quota = quota_for(NonZeroU32::new(limit).unwrap());
            let per_second =
                Duration::from_secs(1).as_nanos() / quota.replenish_interval().as_nanos();
            let worst = quota.burst_size().get() as u128 + per_second;
            assert!(worst <= u128::from(limit.max(2)), "limit {limit}: {worst}");
        }
    }

    #[test]
    fn targets_do_not_print_the_secret_key() {
        let target = test_server::target("http://127.0.0.1:1".into());
        assert!(!format!("{target:?}").contains(test_server::KEY));
    }
}

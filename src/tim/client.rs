//! The HTTP client for Tencent's `v4/live_config/*` REST calls.
//!
//! One [`Client`] serves a whole run: it owns a single keep-alive connection pool, a rate limiter
//! keyed by SDKAppID (shared by every task that clones the client), and a cache of UserSigs. Each
//! call builds the exact envelope Tencent documents, retries transient failures with jittered
//! exponential back-off, and turns everything else into an [`ApiError`] that carries Tencent's
//! code, `ErrorInfo` and `RequestId` but never the secret key, the UserSig or the webhook token
//! being set.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultKeyedRateLimiter, Jitter, Quota};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::debug;
use url::Url;

use crate::tim::errors::{self, ErrorClass};
use crate::tim::usersig;
use crate::tim::wire::{CallbackBody, Command, Envelope, TokenBody, codes};

/// The largest answer read. Tencent's answers are well under 1 KB; anything larger is not an
/// answer to these calls, and reading it whole would cost memory once per app in flight and per
/// retry.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// What secrets print as, wherever they would otherwise be shown.
const REDACTED: &str = "<redacted>";

/// A secret string (a secret key). `Debug` and `Display` print `<redacted>`, so a secret that
/// ends up in a log line or a panic message by accident is not leaked.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    /// The secret itself, for the few places that must use it (signing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

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
    /// Retries after the first attempt, for transient and rate-limit failures together. The one
    /// extra attempt made after regenerating an expired UserSig is not counted.
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

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_retries: 4,
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

/// A failed call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Tencent answered with a non-zero `ErrorCode` (after any retries).
    #[error(
        "{command}: Tencent answered {code} ({meaning}): {info} (RequestId {request_id})",
        meaning = errors::meaning(*code),
        info = if info.is_empty() { "no ErrorInfo" } else { info.as_str() },
        request_id = if request_id.is_empty() { "none" } else { request_id.as_str() }
    )]
    Api {
        command: Command,
        code: i64,
        info: String,
        request_id: String,
    },
    /// The request did not complete: connection refused, DNS failure, timeout, connection reset.
    /// The message never contains the request URL, whose query carries the UserSig.
    #[error("{command}: network error: {message}")]
    Network {
        command: Command,
        message: String,
        kind: NetworkKind,
    },
    /// A status other than 200. Tencent answers 200 for every API outcome, so this comes from a
    /// gateway or proxy (502 …) or from a wrong endpoint (404).
    #[error("{command}: HTTP status {status}")]
    Http { command: Command, status: u16 },
    /// The body was not the expected JSON (for example truncated).
    #[error("{command}: unexpected response: {message}")]
    Decode { command: Command, message: String },
}

impl ApiError {
    /// Tencent's `ErrorCode`, when Tencent answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// What to do about the error. Network errors, 5xx statuses and undecodable bodies are
    /// transient; a 429 is a rate limit; other statuses are not retried because they mean the
    /// endpoint is wrong, not busy.
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Api { code, .. } => errors::classify(*code),
            ApiError::Network { .. } | ApiError::Decode { .. } => ErrorClass::Retry,
            ApiError::Http { status, .. } => match status {
                429 => ErrorClass::RateLimited,
                408 | 500..=599 => ErrorClass::Retry,
                _ => ErrorClass::Unknown,
            },
        }
    }

    /// Advice in plain words, where there is any.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ApiError::Api { code, .. } => errors::hint(*code),
            ApiError::Network { .. } => Some(
                "the endpoint could not be reached even after retries: check the network, the \
                 proxy settings and the app's region or endpoint",
            ),
            ApiError::Http { status: 404, .. } => {
                Some("the endpoint does not serve live_config: check the app's region or endpoint")
            }
            ApiError::Http {
                status: 500..=599, ..
            }
            | ApiError::Decode { .. } => {
                Some("Tencent's gateway failed even after retries: try again later")
            }
            ApiError::Http { .. } => None,
        }
    }

    /// Tencent's `RequestId`, to quote when reporting the error to Tencent.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Api { request_id, .. } if !request_id.is_empty() => Some(request_id),
            _ => None,
        }
    }

    /// Whether the request may have taken effect although no answer says so: the answer was
    /// lost to a timeout or a broken connection, cut short, or replaced by a gateway's 5xx; or a
    /// write was answered with a server-timeout code (60008, 70169, 70202), which says only that
    /// the front end stopped waiting, not whether the backend carried the write out. Any other
    /// `ErrorCode` answer is definite (Tencent reports what it did), and so is a failure to
    /// connect (nothing was sent). A read's server timeout is not counted: a read changes
    /// nothing, so it is simply retried.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Network { kind, .. } => {
                matches!(kind, NetworkKind::Timeout | NetworkKind::Transfer)
            }
            ApiError::Decode { .. } => true,
            ApiError::Http { status, .. } => (500..=599).contains(status),
            ApiError::Api { command, code, .. } => {
                !command.is_read() && errors::is_server_timeout(*code)
            }
        }
    }

    /// The outcome in a few words for the debug log: the code and RequestId, the status, or the
    /// kind of network failure. Like `Display`, it never holds the URL, the key or the UserSig.
    pub fn outcome(&self) -> String {
        match self {
            ApiError::Api {
                code, request_id, ..
            } => format!(
                "ErrorCode {code} ({}), RequestId {}",
                errors::meaning(*code),
                if request_id.is_empty() {
                    "none"
                } else {
                    request_id
                }
            ),
            ApiError::Http { status, .. } => format!("HTTP status {status}"),
            ApiError::Network { kind, message, .. } => {
                format!("network error ({}): {message}", kind.as_str())
            }
            ApiError::Decode { message, .. } => format!("unreadable answer: {message}"),
        }
    }

    pub fn command(&self) -> Command {
        match self {
            ApiError::Api { command, .. }
            | ApiError::Network { command, .. }
            | ApiError::Http { command, .. }
            | ApiError::Decode { command, .. } => *command,
        }
    }
}

/// Where a network error struck, which says whether the request may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// No connection was made (refused, DNS, connect timeout): the request was never sent.
    Connect,
    /// The whole-request timeout struck after the connection was made: the server may have
    /// received the request and acted on it; only its answer is missing.
    Timeout,
    /// The connection broke while sending or receiving: as with a timeout, the request may have
    /// taken effect.
    Transfer,
    /// The endpoint is not a usable URL: nothing was sent.
    Endpoint,
}

impl NetworkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::Connect => "connect",
            NetworkKind::Timeout => "timeout",
            NetworkKind::Transfer => "transfer",
            NetworkKind::Endpoint => "endpoint",
        }
    }
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
    sigs: Mutex<HashMap<SigKey, CachedSig>>,
    options: ClientOptions,
}

/// The UserSig cache key. The secret key is stored as its SHA-256, so the cache holds no extra
/// copy of the secret while still telling two keys for one app apart.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SigKey {
    sdkappid: u64,
    identifier: String,
    key_digest: [u8; 32],
}

struct CachedSig {
    sig: Secret,
    /// Unix second until which Tencent accepts the sig. Wall-clock time rather than `Instant`,
    /// because that is what Tencent checks, and because a monotonic clock stops while a laptop
    /// sleeps and would keep an expired sig alive.
    expires_at: u64,
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
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .tcp_keepalive(Some(Duration::from_secs(30)))
            .pool_idle_timeout(Some(Duration::from_secs(60)))
            // A redirect would resend the query, UserSig included, to wherever the redirect
            // points. Tencent never redirects these calls, so a 3xx is reported instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("livehook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientBuildError::Http(e.without_url().to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                limiter: DefaultKeyedRateLimiter::keyed(quota_for(limit)),
                sigs: Mutex::new(HashMap::new()),
                options,
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Sends one command and returns the envelope of the successful (`ErrorCode` 0) answer.
    /// Transient failures are retried; a non-zero code that is not retried (or still fails after
    /// the retries) becomes [`ApiError::Api`].
    ///
    /// A write whose answer was lost, or answered with a server timeout
    /// ([`ApiError::outcome_unknown`]), is not re-sent: it may have
    /// taken effect, and sending it again would write twice (or meet 100300 for its own create).
    /// The error is returned at once so that the caller can read the app back and decide;
    /// `apply` does.
    async fn call(
        &self,
        target: &Target,
        command: Command,
        body: &Value,
    ) -> Result<Envelope<Value>, ApiError> {
        self.call_with_secrets(target, command, body, &[]).await
    }

    /// [`Client::call`] for a body that carries secrets of its own (the webhook token): besides
    /// the UserSig and the secret key, every error's text (Tencent's `ErrorInfo` included, which
    /// a server may fill with an echo of the request) is scrubbed of `secrets`.
    async fn call_with_secrets(
        &self,
        target: &Target,
        command: Command,
        body: &Value,
        secrets: &[&str],
    ) -> Result<Envelope<Value>, ApiError> {
        let options = &self.inner.options;
        let endpoint = endpoint(target, command)?;
        let body = body.to_string();
        let mut retry_backoff = backoff(options.min_backoff, options.max_backoff);
        let mut rate_limit_backoff = backoff(
            options.rate_limit_min_backoff,
            options.max_backoff.max(options.rate_limit_min_backoff),
        );
        let mut retries = 0;
        let mut attempt: usize = 0;
        let mut sig_regenerated = false;
        let sdkappid = target.sdkappid;
        loop {
            attempt += 1;
            let sig = self.usersig(target);
            // Wait for the limiter before every attempt, retries included: a retry is a request
            // like any other as far as Tencent's limit is concerned. The small jitter keeps many
            // waiting tasks from all waking on the same instant and contending for one slot.
            let queued = Instant::now();
            self.inner
                .limiter
                .until_key_ready_with_jitter(&sdkappid, Jitter::up_to(Duration::from_millis(2)))
                .await;
            let waited_ms = millis(queued.elapsed());
            let started = Instant::now();
            let result = self
                .attempt(&endpoint, target, command, &sig, &body, secrets)
                .await;
            let duration_ms = millis(started.elapsed());
            let error = match result {
                Ok(envelope) => {
                    debug!(%command, sdkappid, attempt, outcome = %"ok", duration_ms, waited_ms, "HTTP attempt");
                    return Ok(envelope);
                }
                Err(error) => error,
            };
            debug!(%command, sdkappid, attempt, outcome = %error.outcome(), duration_ms, waited_ms, "HTTP attempt");
            if !command.is_read() && error.outcome_unknown() {
                debug!(%command, sdkappid, "the answer to a write was lost: not re-sent, the caller reads back first");
                return Err(error);
            }
            let delay = match error.class() {
                // An expired sig is replaced and the call tried once more at once; the cache
                // should have prevented this, so a second 70001 means a wrong clock and is final.
                ErrorClass::RegenerateSig if !sig_regenerated => {
                    sig_regenerated = true;
                    self.forget_usersig(target);
                    debug!(%command, sdkappid, "UserSig refused as expired: making a new one and trying once more");
                    continue;
                }
                ErrorClass::Retry if retries < options.max_retries => retry_backoff.next(),
                ErrorClass::RateLimited if retries < options.max_retries => {
                    rate_limit_backoff.next()
                }
                _ => None,
            };
            match delay {
                Some(delay) => {
                    retries += 1;
                    debug!(
                        %command,
                        sdkappid,
                        retry = retries,
                        max_retries = options.max_retries,
                        backoff_ms = millis(delay),
                        "retrying after back-off"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    if error.class().is_retryable() {
                        debug!(%command, sdkappid, attempts = attempt, "giving up: no retries left");
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Reads the webhook configuration; `Ok(None)` when none exists (100301).
    pub async fn get_callback(&self, t: &Target) -> Result<Option<CallbackBody>, ApiError> {
        let command = Command::GetCallback;
        match self.call(t, command, &json!({})).await {
            Ok(envelope) => {
                let response = envelope.response.ok_or_else(|| no_response(command))?;
                serde_json::from_value(response)
                    .map(Some)
                    .map_err(|e| ApiError::Decode {
                        command,
                        message: format!("Response is not {{Url, CallbackCommandList}}: {e}"),
                    })
            }
            Err(e) if e.code() == Some(codes::CALLBACK_MISSING) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the webhook configuration. Answers 100300 (as an error) when one already exists.
    pub async fn set_callback(&self, t: &Target, b: &CallbackBody) -> Result<(), ApiError> {
        self.call(t, Command::SetCallback, &json!(b))
            .await
            .map(drop)
    }

    /// Replaces the webhook configuration. Answers 100301 (as an error) when none exists.
    pub async fn update_callback(&self, t: &Target, b: &CallbackBody) -> Result<(), ApiError> {
        self.call(t, Command::UpdateCallback, &json!(b))
            .await
            .map(drop)
    }

    pub async fn delete_callback(&self, t: &Target) -> Result<(), ApiError> {
        self.call(t, Command::DeleteCallback, &json!({}))
            .await
            .map(drop)
    }

    /// Reads the webhook token configuration; `Ok(None)` when none exists (100302).
    pub async fn get_callback_token(&self, t: &Target) -> Result<Option<TokenBody>, ApiError> {
        let command = Command::GetCallbackToken;
        match self.call(t, command, &json!({})).await {
            Ok(envelope) => {
                let response = envelope.response.ok_or_else(|| no_response(command))?;
                // serde's message could quote the token's value, so it is not passed on.
                serde_json::from_value(response)
                    .map(Some)
                    .map_err(|_| ApiError::Decode {
                        command,
                        message: "Response is not {Token: string, IsTokenEnable: bool}".into(),
                    })
            }
            Err(e) if e.code() == Some(codes::TOKEN_MISSING) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates or replaces the webhook token configuration.
    pub async fn set_callback_token(&self, t: &Target, b: &TokenBody) -> Result<(), ApiError> {
        // A server that quotes the request in its ErrorInfo would otherwise put the token into
        // the error, and from there into `apply`'s report.
        self.call_with_secrets(t, Command::SetCallbackToken, &json!(b), &[b.token.as_str()])
            .await
            .map(drop)
    }

    pub async fn delete_callback_token(&self, t: &Target) -> Result<(), ApiError> {
        self.call(t, Command::DeleteCallbackToken, &json!({}))
            .await
            .map(drop)
    }

    /// One HTTP exchange, without retries.
    async fn attempt(
        &self,
        endpoint: &Url,
        target: &Target,
        command: Command,
        sig: &Secret,
        body: &str,
        extra_secrets: &[&str],
    ) -> Result<Envelope<Value>, ApiError> {
        let mut url = endpoint.clone();
        // `query_pairs_mut` percent-encodes each value (form encoding), so the UserSig's `*`,
        // `-` and `_` and any odd character in the identifier arrive intact. `random` is drawn
        // afresh for every attempt, as Tencent asks.
        url.query_pairs_mut()
            .append_pair("sdkappid", &target.sdkappid.to_string())
            .append_pair("identifier", &target.identifier)
            .append_pair("usersig", sig.expose())
            .append_pair("random", &rand::random::<u32>().to_string())
            .append_pair("contenttype", "json");
        let mut secrets = vec![sig.expose(), target.secret_key.expose()];
        secrets.extend_from_slice(extra_secrets);
        let network = |e: reqwest::Error| ApiError::Network {
            command,
            kind: network_kind(&e),
            message: redact(&describe(e, &self.inner.options), &secrets),
        };
        let mut response = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(network)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(ApiError::Http { command, status });
        }
        let too_large = || ApiError::Decode {
            command,
            message: "answer larger than 1 MiB".into(),
        };
        // Refused before reading when the length is announced; otherwise read in chunks and
        // stopped as soon as the cap is passed.
        if response
            .content_length()
            .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let envelope: Envelope<Value> =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
                command,
                message: redact(&e.to_string(), &secrets),
            })?;
        if envelope.error_code != 0 {
            return Err(ApiError::Api {
                command,
                code: envelope.error_code,
                // Tencent has no reason to echo the sig or the token back, but ErrorInfo is free
                // text that ends up in logs and PR comments, so it is scrubbed like everything
                // else.
                info: redact(&envelope.error_info, &secrets),
                request_id: envelope.request_id,
            });
        }
        Ok(envelope)
    }

    /// The cached UserSig for the target, made afresh when less than a third of its validity
    /// remains, so that a sig never expires between being chosen and reaching Tencent.
    fn usersig(&self, target: &Target) -> Secret {
        let validity = self.inner.options.usersig_validity.as_secs().max(1);
        let key = sig_key(target);
        let now = usersig::unix_now();
        let mut cache = self.lock_sigs();
        let reason = match cache.get(&key) {
            Some(cached) if cached.expires_at.saturating_sub(now) > validity / 3 => {
                return cached.sig.clone();
            }
            Some(_) => "the cached one has less than a third of its validity left",
            None => "none cached",
        };
        debug!(
            sdkappid = target.sdkappid,
            identifier = %target.identifier,
            validity_s = validity,
            reason,
            "making a UserSig"
        );
        let sig = Secret::new(usersig::generate_now(
            target.secret_key.expose(),
            target.sdkappid,
            &target.identifier,
            validity,
        ));
        cache.insert(
            key,
            CachedSig {
                sig: sig.clone(),
                // `generate_now` reads the clock after `now`, so the sig lives at least this long.
                expires_at: now.saturating_add(validity),
            },
        );
        sig
    }

    fn forget_usersig(&self, target: &Target) {
        self.lock_sigs().remove(&sig_key(target));
    }

    fn lock_sigs(&self) -> std::sync::MutexGuard<'_, HashMap<SigKey, CachedSig>> {
        // The cache holds no invariant a panicking thread could break halfway (an entry is
        // inserted whole or not at all), so a poisoned lock is safe to keep using.
        self.inner
            .sigs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// Jittered exponential back-off. The seed is drawn here because backon, built without its `std`
/// feature, would otherwise seed every back-off identically, and identical "random" delays make
/// concurrent retries collide again.
fn backoff(min: Duration, max: Duration) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max.max(min))
        .without_max_times()
        .with_jitter()
        .with_jitter_seed(rand::random())
        .build()
}

/// `{base_url}/v4/live_config/{command}`, without the query.
fn endpoint(target: &Target, command: Command) -> Result<Url, ApiError> {
    let base = target.base_url.trim_end_matches('/');
    let invalid = |why: &str| ApiError::Network {
        command,
        kind: NetworkKind::Endpoint,
        message: format!("invalid endpoint {base:?}: {why}"),
    };
    let url = Url::parse(&format!("{base}/v4/live_config/{}", command.as_str()))
        .map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    Ok(url)
}

fn sig_key(target: &Target) -> SigKey {
    SigKey {
        sdkappid: target.sdkappid,
        identifier: target.identifier.clone(),
        key_digest: Sha256::digest(target.secret_key.expose().as_bytes()).into(),
    }
}

fn no_response(command: Command) -> ApiError {
    ApiError::Decode {
        command,
        message: "the answer has no Response".into(),
    }
}

/// A reqwest error in words, with its chain of causes ("connection refused" sits several levels
/// down) and without the URL, whose query holds the UserSig.
fn describe(error: reqwest::Error, options: &ClientOptions) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        return format!("timed out (timeout {:?})", options.timeout);
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper repeats some causes in its own message; print each once.
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

fn network_kind(error: &reqwest::Error) -> NetworkKind {
    if error.is_connect() {
        NetworkKind::Connect
    } else if error.is_timeout() {
        NetworkKind::Timeout
    } else {
        NetworkKind::Transfer
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Replaces every occurrence of the given secrets (and any `usersig=` query value) in `text`.
/// `without_url` already keeps the URL out of reqwest's errors; this is the second line of
/// defence, for causes deeper in the chain and for text that comes from the server.
fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("usersig=") {
        let value_start = at + "usersig=".len();
        out.push_str(&rest[..value_start]);
        out.push_str(REDACTED);
        let value_len = rest[value_start..]
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace() || c == ')')
            .unwrap_or(rest.len() - value_start);
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::VecDeque;
    use std::time::Instant;

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response};

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const SDKAPPID: u64 = 1400000001;
    const ADMIN: &str = "administrator";

    /// One programmed answer of the scripted server.
    #[derive(Clone)]
    enum Reply {
        Status(u16),
        /// HTTP 200 with half a JSON document (and a matching Content-Length).
        Truncated,
        /// An envelope with this non-zero ErrorCode.
        Code(i64),
        /// An envelope with this non-zero ErrorCode and this ErrorInfo.
        CodeWithInfo(i64, String),
        /// A success envelope with this `Response`.
        Success(Value),
        /// Sleeps before answering with a success, to provoke a client timeout.
        Hang(Duration),
    }

    /// What the server saw of one request.
    #[derive(Clone, Debug)]
    struct Seen {
        method: Method,
        path: String,
        query: Vec<(String, String)>,
        content_type: Option<String>,
        body: Vec<u8>,
        at: Instant,
    }

    #[derive(Clone)]
    struct Script {
        replies: Arc<Mutex<VecDeque<Reply>>>,
        seen: Arc<Mutex<Vec<Seen>>>,
        fallback: Reply,
    }

    impl Script {
        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn sample_callback() -> Value {
        json!({"Url": "https://hooks.example.com/tim", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]})
    }

    fn envelope(code: i64, response: Option<Value>) -> String {
        let mut body = json!({
            "ActionStatus": if code == 0 { "OK" } else { "FAIL" },
            "ErrorCode": code,
            "ErrorInfo": if code == 0 { "" } else { "scripted failure" },
            "RequestId": format!("Id-test-{code}"),
        });
        if let Some(response) = response {
            body["Response"] = response;
        }
        body.to_string()
    }

    fn json_response(status: StatusCode, body: String) -> Response {
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    async fn handle(
        State(script): State<Script>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        script.seen.lock().unwrap().push(Seen {
            method,
            path: uri.path().to_owned(),
            query,
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
            at: Instant::now(),
        });
        let reply = script.replies.lock().unwrap().pop_front();
        match reply.unwrap_or_else(|| script.fallback.clone()) {
            Reply::Status(status) => {
                (StatusCode::from_u16(status).unwrap(), "gateway trouble").into_response()
            }
            Reply::Truncated => json_response(
                StatusCode::OK,
                r#"{"ActionStatus":"OK","ErrorCode":0,"Erro"#.to_owned(),
            ),
            Reply::Code(code) => json_response(StatusCode::OK, envelope(code, None)),
            Reply::CodeWithInfo(code, info) => {
                let mut body: Value = serde_json::from_str(&envelope(code, None)).unwrap();
                body["ErrorInfo"] = Value::from(info);
                json_response(StatusCode::OK, body.to_string())
            }
            Reply::Success(response) => json_response(StatusCode::OK, envelope(0, Some(response))),
            Reply::Hang(duration) => {
                tokio::time::sleep(duration).await;
                json_response(StatusCode::OK, envelope(0, Some(sample_callback())))
            }
        }
    }

    /// Starts a server on an ephemeral loopback port that answers `replies` in order, then
    /// `fallback` forever.
    async fn serve(replies: Vec<Reply>, fallback: Reply) -> (Script, String) {
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
            seen: Arc::new(Mutex::new(Vec::new())),
            fallback,
        };
        let router = Router::new().fallback(handle).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (script, format!("http://{addr}"))
    }

    async fn serve_script(replies: Vec<Reply>) -> (Script, String) {
        serve(replies, Reply::Success(sample_callback())).await
    }

    fn target(base_url: String) -> Target {
        Target {
            base_url,
            sdkappid: SDKAPPID,
            identifier: ADMIN.into(),
            secret_key: Secret::new(KEY.into()),
        }
    }

    /// Short back-offs for quick retries; timeouts long enough that a loaded CI machine does not
    /// turn a slow answer into an extra attempt the tests would miscount.
    fn fast_options() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            rate_limit_min_backoff: Duration::from_millis(100),
            ..ClientOptions::default()
        }
    }

    fn client() -> Client {
        Client::new(fast_options()).unwrap()
    }

    fn query_value<'a>(seen: &'a Seen, key: &str) -> &'a str {
        seen.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key} in the query"))
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let (script, base) = serve_script(vec![
            Reply::Status(502),
            Reply::Truncated,
            Reply::Code(codes::INTERNAL_ERROR),
        ])
        .await;
        let got = client().get_callback(&target(base)).await.unwrap();
        assert_eq!(
            got,
            Some(CallbackBody {
                url: "https://hooks.example.com/tim".into(),
                commands: vec!["Live.CallbackAfterCreateRoom".into()],
            })
        );
        assert_eq!(script.seen().len(), 4);
    }

    #[tokio::test]
    async fn every_attempt_carries_the_exact_envelope() {
        let (script, base) = serve_script(vec![
            Reply::Status(502),
            Reply::Truncated,
            Reply::Code(codes::INTERNAL_ERROR),
        ])
        .await;
        client().get_callback(&target(base)).await.unwrap();
        let seen = script.seen();
        assert_eq!(seen.len(), 4);
        for request in &seen {
            assert_eq!(request.method, Method::POST);
            assert_eq!(request.path, "/v4/live_config/get_callback");
            let keys: Vec<&str> = request.query.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                ["sdkappid", "identifier", "usersig", "random", "contenttype"]
            );
            assert_eq!(query_value(request, "sdkappid"), SDKAPPID.to_string());
            assert_eq!(query_value(request, "identifier"), ADMIN);
            assert_eq!(query_value(request, "contenttype"), "json");
            query_value(request, "random").parse::<u32>().unwrap();
            let fields = usersig::verify(
                query_value(request, "usersig"),
                KEY,
                SDKAPPID,
                ADMIN,
                usersig::unix_now(),
            )
            .unwrap();
            assert_eq!(fields.expire, 300);
            assert_eq!(request.content_type.as_deref(), Some("application/json"));
            assert_eq!(request.body, b"{}");
        }
        let randoms: std::collections::HashSet<&str> =
            seen.iter().map(|s| query_value(s, "random")).collect();
        assert_eq!(randoms.len(), seen.len(), "random must differ per attempt");
    }

    #[tokio::test]
    async fn write_bodies_follow_the_wire_format() {
        let (script, base) = serve_script(vec![]).await;
        let client = client();
        let target = target(base);
        let callback = CallbackBody {
            url: "https://hooks.example.com/tim".into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        client.set_callback(&target, &callback).await.unwrap();
        client.update_callback(&target, &callback).await.unwrap();
        client.delete_callback(&target).await.unwrap();
        let token = TokenBody {
            token: "hook-token".into(),
            enabled: true,
        };
        client.set_callback_token(&target, &token).await.unwrap();
        client.delete_callback_token(&target).await.unwrap();
        let seen = script.seen();
        let calls: Vec<(&str, Value)> = seen
            .iter()
            .map(|s| {
                (
                    s.path.as_str(),
                    serde_json::from_slice::<Value>(&s.body).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("/v4/live_config/set_callback", sample_callback()),
                ("/v4/live_config/update_callback", sample_callback()),
                ("/v4/live_config/delete_callback", json!({})),
                (
                    "/v4/live_config/set_callback_token",
                    json!({"Token": "hook-token", "IsTokenEnable": true})
                ),
                ("/v4/live_config/delete_callback_token", json!({})),
            ]
        );
    }

    #[tokio::test]
    async fn missing_configurations_read_as_none() {
        let (script, base) = serve_script(vec![
            Reply::Code(codes::CALLBACK_MISSING),
            Reply::Code(codes::TOKEN_MISSING),
            Reply::Success(json!({"Token": "t", "IsTokenEnable": false})),
        ])
        .await;
        let client = client();
        let target = target(base);
        assert_eq!(client.get_callback(&target).await.unwrap(), None);
        assert_eq!(client.get_callback_token(&target).await.unwrap(), None);
        let token = client.get_callback_token(&target).await.unwrap().unwrap();
        assert_eq!((token.token.as_str(), token.enabled), ("t", false));
        assert_eq!(script.seen().len(), 3, "state answers are not retried");
    }

    #[tokio::test]
    async fn credential_errors_are_not_retried_and_carry_the_hint() {
        let (script, base) = serve_script(vec![Reply::Code(codes::USERSIG_WRONG_KEY)]).await;
        let error = client().get_callback(&target(base)).await.unwrap_err();
        assert_eq!(script.seen().len(), 1);
        assert_eq!(error.code(), Some(70009));
        assert_eq!(error.class(), ErrorClass::Credentials);
        assert_eq!(error.command(), Command::GetCallback);
        assert_eq!(error.request_id(), Some("Id-test-70009"));
        assert!(
            error
                .hint()
                .unwrap()
                .contains("the secret key does not belong to this SDKAppID")
        );
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("70009") && shown.contains("Id-test-70009"));
        assert!(!shown.contains(KEY));
    }

    #[tokio::test]
    async fn an_error_info_quoting_the_token_does_not_reveal_it() {
        const TOKEN: &str = "hook-token-0123456789abcdef";
        let (script, base) = serve_script(vec![Reply::CodeWithInfo(
            codes::INVALID_PARAMETER,
            format!("invalid parameter: Token {TOKEN:?} is not accepted ({TOKEN})"),
        )])
        .await;
        let token = TokenBody {
            token: TOKEN.into(),
            enabled: true,
        };
        let error = client()
            .set_callback_token(&target(base), &token)
            .await
            .unwrap_err();
        assert_eq!(script.seen().len(), 1);
        let ApiError::Api { code, info, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*code, codes::INVALID_PARAMETER);
        assert_eq!(
            info,
            "invalid parameter: Token \"<redacted>\" is not accepted (<redacted>)"
        );
        for shown in [error.to_string(), format!("{error:?}"), error.outcome()] {
            assert!(!shown.contains(TOKEN), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_expired_sig_is_regenerated_and_retried_once() {
        let (script, base) = serve_script(vec![Reply::Code(codes::USERSIG_EXPIRED)]).await;
        client().delete_callback(&target(base)).await.unwrap();
        assert_eq!(script.seen().len(), 2);

        let (script, base) = serve(vec![], Reply::Code(codes::USERSIG_EXPIRED)).await;
        let error = client().delete_callback(&target(base)).await.unwrap_err();
        assert_eq!(error.code(), Some(70001));
        assert_eq!(script.seen().len(), 2, "a second 70001 is final");
    }

    #[tokio::test]
    async fn rate_limit_codes_back_off_longer() {
        let (script, base) = serve_script(vec![Reply::Code(codes::REST_RATE_LIMIT)]).await;
        client().get_callback(&target(base)).await.unwrap();
        let seen = script.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].at - seen[0].at >= fast_options().rate_limit_min_backoff);
    }

    #[tokio::test]
    async fn retries_stop_after_max_retries() {
        let (script, base) = serve(vec![], Reply::Code(codes::INTERNAL_ERROR)).await;
        let client = Client::new(ClientOptions {
            max_retries: 2,
            ..fast_options()
        })
        .unwrap();
        let error = client.get_callback(&target(base)).await.unwrap_err();
        assert_eq!(error.code(), Some(100001));
        assert_eq!(script.seen().len(), 3);
    }

    #[tokio::test]
    async fn timeouts_are_retried() {
        let (script, base) = serve_script(vec![Reply::Hang(Duration::from_secs(10))]).await;
        let client = Client::new(ClientOptions {
            timeout: Duration::from_secs(1),
            ..fast_options()
        })
        .unwrap();
        assert!(client.get_callback(&target(base)).await.unwrap().is_some());
        assert_eq!(script.seen().len(), 2);
    }

    #[tokio::test]
    async fn a_write_whose_answer_is_lost_is_not_re_sent() {
        let callback = CallbackBody {
            url: "https://hooks.example.com/tim".into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        for lost in [Reply::Truncated, Reply::Status(502)] {
            let (script, base) = serve_script(vec![lost]).await;
            let error = client()
                .set_callback(&target(base), &callback)
                .await
                .unwrap_err();
            assert!(error.outcome_unknown(), "{error:?}");
            assert_eq!(script.seen().len(), 1, "{error:?}");
        }
        // A timed-out write too; a read is retried after the same loss.
        let (script, base) = serve_script(vec![Reply::Hang(Duration::from_secs(10))]).await;
        let patient = Client::new(ClientOptions {
            timeout: Duration::from_secs(1),
            ..fast_options()
        })
        .unwrap();
        let error = patient.delete_callback(&target(base)).await.unwrap_err();
        assert!(
            matches!(
                error,
                ApiError::Network {
                    kind: NetworkKind::Timeout,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(script.seen().len(), 1);
        // An ErrorCode is a definite answer (nothing was done): the write is retried.
        let (script, base) = serve_script(vec![Reply::Code(codes::INTERNAL_ERROR)]).await;
        client().delete_callback(&target(base)).await.unwrap();
        assert_eq!(script.seen().len(), 2);
    }

    #[tokio::test]
    async fn a_write_answered_with_a_server_timeout_is_not_re_sent() {
        let callback = CallbackBody {
            url: "https://hooks.example.com/tim".into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        for code in [60008, 70169, 70202] {
            let (script, base) = serve_script(vec![Reply::Code(code)]).await;
            let error = client()
                .set_callback(&target(base), &callback)
                .await
                .unwrap_err();
            assert_eq!(error.code(), Some(code));
            assert!(error.outcome_unknown(), "{error:?}");
            assert_eq!(script.seen().len(), 1, "{code}: a write is not re-sent");

            // A read changes nothing: it is retried as before, and its error is definite.
            let (script, base) = serve_script(vec![Reply::Code(code)]).await;
            assert!(
                client()
                    .get_callback(&target(base))
                    .await
                    .unwrap()
                    .is_some()
            );
            assert_eq!(script.seen().len(), 2, "{code}: a read is retried");
            let (_, base) = serve(vec![], Reply::Code(code)).await;
            let error = Client::new(ClientOptions {
                max_retries: 1,
                ..fast_options()
            })
            .unwrap()
            .get_callback_token(&target(base))
            .await
            .unwrap_err();
            assert_eq!(error.code(), Some(code));
            assert!(!error.outcome_unknown(), "{error:?}");
        }
        // Other retryable codes still mean nothing was done: the write is retried.
        let (script, base) = serve_script(vec![Reply::Code(70500)]).await;
        client()
            .set_callback(&target(base), &callback)
            .await
            .unwrap();
        assert_eq!(script.seen().len(), 2);
    }

    /// A raw HTTP/1.1 server that answers every request with `size` bytes of a JSON-looking
    /// body (a string that never ends), announcing the length or not (then the end of the body
    /// is the end of the connection). Returns the base URL and the number of requests answered.
    async fn serve_huge(size: usize, announce_length: bool) -> (String, Arc<Mutex<usize>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answered = Arc::new(Mutex::new(0));
        let count = answered.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                *count.lock().unwrap() += 1;
                tokio::spawn(async move {
                    // Read the request head and its (small) body before answering.
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    loop {
                        let Ok(n) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..n]);
                        let text = String::from_utf8_lossy(&request).to_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if request.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    let mut head =
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_owned();
                    if announce_length {
                        head.push_str(&format!("Content-Length: {size}\r\n"));
                    }
                    head.push_str("Connection: close\r\n\r\n");
                    let mut body = br#"{"ErrorInfo":""#.to_vec();
                    body.resize(size, b'a');
                    // The client may hang up early; that is what it should do.
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (format!("http://{addr}"), answered)
    }

    #[tokio::test]
    async fn answers_larger_than_the_cap_are_refused() {
        const TWO_MIB: usize = 2 * 1024 * 1024;
        let client = Client::new(ClientOptions {
            timeout: Duration::from_secs(5),
            max_retries: 1,
            ..fast_options()
        })
        .unwrap();
        for announce_length in [true, false] {
            let (base, answered) = serve_huge(TWO_MIB, announce_length).await;
            let error = client.get_callback(&target(base)).await.unwrap_err();
            assert!(
                matches!(&error, ApiError::Decode { message, .. } if message == "answer larger than 1 MiB"),
                "length announced: {announce_length}: {error:?}"
            );
            assert_eq!(
                error.to_string(),
                "get_callback: unexpected response: answer larger than 1 MiB"
            );
            // A read is retried like any unreadable answer, within the retry budget.
            assert_eq!(*answered.lock().unwrap(), 2);
        }
        // An answer just under the cap is read whole (and then fails to parse as JSON).
        let (base, _) = serve_huge(MAX_ANSWER_BYTES, false).await;
        let error = client.get_callback(&target(base)).await.unwrap_err();
        assert!(
            matches!(&error, ApiError::Decode { message, .. } if message != "answer larger than 1 MiB"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn client_errors_other_than_429_are_not_retried() {
        let (script, base) = serve_script(vec![Reply::Status(404)]).await;
        let error = client().get_callback(&target(base)).await.unwrap_err();
        assert!(matches!(error, ApiError::Http { status: 404, .. }));
        assert_eq!(script.seen().len(), 1);
    }

    #[tokio::test]
    async fn network_errors_reveal_neither_the_usersig_nor_the_key() {
        // Bind and drop a listener to get a port that refuses connections.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = Client::new(ClientOptions {
            max_retries: 1,
            ..fast_options()
        })
        .unwrap();
        let target = target(format!("http://127.0.0.1:{port}"));
        let error = client.get_callback(&target).await.unwrap_err();
        assert!(matches!(error, ApiError::Network { .. }), "{error:?}");
        let sig = client.usersig(&target);
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.to_lowercase().contains("usersig"), "{shown}");
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains(sig.expose()), "{shown}");
            assert!(!shown.contains("live_config"), "{shown}");
        }
        assert!(
            format!("{error}").to_lowercase().contains("connect"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn bad_endpoints_fail_without_a_request() {
        let error = client()
            .get_callback(&target("ftp://example.com".into()))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("http or https"), "{error}");
    }

    /// 500 concurrent calls for one SDKAppID: no 1-second window may hold more than 200 arrivals.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_second_holds_more_than_the_rate_limit() {
        const CALLS: usize = 500;
        const LIMIT: usize = 200;
        let (script, base) = serve_script(vec![]).await;
        let client = client();
        let target = target(base);
        let tasks: Vec<_> = (0..CALLS)
            .map(|_| {
                let client = client.clone();
                let target = target.clone();
                tokio::spawn(async move { client.get_callback(&target).await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().unwrap().is_some());
        }
        let mut arrivals: Vec<Instant> = script.seen().iter().map(|s| s.at).collect();
        arrivals.sort();
        assert_eq!(arrivals.len(), CALLS);
        let mut busiest = 0;
        let mut start = 0;
        for end in 0..arrivals.len() {
            while arrivals[end] - arrivals[start] >= Duration::from_secs(1) {
                start += 1;
            }
            busiest = busiest.max(end - start + 1);
        }
        assert!(busiest <= LIMIT, "{busiest} requests within one second");
    }

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
    fn secrets_do_not_print() {
        let target = target("http://127.0.0.1:1".into());
        assert!(!format!("{target:?}").contains(KEY));
        assert_eq!(target.secret_key.to_string(), "<redacted>");
        assert_eq!(target.secret_key.expose(), KEY);
    }

    #[test]
    fn redact_removes_secrets_and_usersig_values() {
        let text = "error for url (http://h/x?usersig=eJabc*-_&random=1) with key K";
        let redacted = redact(text, &["K"]);
        assert_eq!(
            redacted,
            "error for url (http://h/x?usersig=<redacted>&random=1) with key <redacted>"
        );
    }

    #[tokio::test]
    async fn usersigs_are_cached_and_renewed_before_expiry() {
        let client = client();
        let target = target("http://127.0.0.1:1".into());
        let first = client.usersig(&target);
        assert_eq!(client.usersig(&target), first);
        // Age the cached sig past two thirds of its validity: the next call must make a new one.
        client
            .lock_sigs()
            .values_mut()
            .for_each(|c| c.expires_at = usersig::unix_now() + 60);
        let (fields, _) = usersig::decode(client.usersig(&target).expose()).unwrap();
        assert!(fields.time + fields.expire >= usersig::unix_now() + 299);
        let cached = client.lock_sigs().values().map(|c| c.expires_at).next();
        assert!(cached.unwrap() > usersig::unix_now() + 200);
    }
}

//! The HTTP side of the emulator: one handler that parses, checks and answers every request the
//! way Tencent's `live_config` service does.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::faults::{FaultKind, FaultPicker};
use super::rate::RateWindow;
use super::state::{AppState, State};
use super::{Options, RecordedRequest};
use crate::tim::MAX_TOKEN_CHARS;
use crate::tim::errors::codes;
use crate::tim::usersig;
use crate::tim::wire::{CallbackBody, Command, Envelope, TokenBody};

/// Real bodies are a few hundred bytes; the cap keeps a hostile client from exhausting memory.
const MAX_BODY: usize = 1 << 20;

/// What a gateway in front of the API answers when the backend is unreachable.
const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n";

/// Everything the handler shares: the mutable part behind one lock, the settings beside it.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    latency: Duration,
    stall: Duration,
    rate_limit: u32,
    persist_to: Option<PathBuf>,
    record_requests: bool,
    stopped: watch::Receiver<bool>,
    sequence: AtomicU64,
    /// Requests that arrived over HTTP/2, which shows what a client negotiated.
    pub(crate) http2_requests: AtomicU64,
}

/// The mutable part. One lock for all of it keeps each request's check-apply-persist-record
/// sequence atomic, so the recorded order is the order in which requests took effect.
pub(crate) struct Inner {
    pub(crate) state: State,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) faults: FaultPicker,
    windows: HashMap<u64, RateWindow>,
}

/// A request the emulator refuses: the `ErrorCode` and the `ErrorInfo` Tencent would send.
/// `info` is built only from fixed text, field names and identifiers, never from a secret or a
/// field's value.
#[derive(Debug)]
struct Rejection {
    code: i64,
    info: String,
}

impl Rejection {
    fn new(code: i64, info: impl Into<String>) -> Rejection {
        Rejection {
            code,
            info: info.into(),
        }
    }

    fn url(reason: &str) -> Rejection {
        Rejection::new(
            codes::HTTP_PARSE_ERROR,
            format!("HTTP parse error: {reason}"),
        )
    }

    fn body(reason: &str) -> Rejection {
        Rejection::new(
            codes::JSON_PARSE_ERROR,
            format!("JSON parse error: {reason}"),
        )
    }

    fn parameter(reason: &str) -> Rejection {
        Rejection::new(
            codes::INVALID_PARAMETER,
            format!("invalid parameter: {reason}"),
        )
    }
}

/// One request as received, before any check.
struct Incoming<'a> {
    at: Instant,
    method: &'a Method,
    path: &'a str,
    query: Query,
    /// `None` when the body could not be read.
    body: Option<&'a Bytes>,
    /// The body parsed as JSON of any shape, when it parses.
    json: Option<Value>,
}

/// What the handler sends back, fully decided before any delay.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    stall: bool,
}

/// How far short of a deadline Tokio's millisecond timer is asked to wake: its rounding up is
/// at most about 1.9 ms (see [`Shared::hold_until`]).
const TIMER_SLACK: Duration = Duration::from_millis(2);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // A single fallback handler sees every method and path, so that even a wrong path or a GET
    // gets Tencent's envelope (60002) instead of axum's plain-text 404/405.
    Router::new().fallback(handle).with_state(shared)
}

impl Shared {
    pub(crate) fn new(state: State, options: &Options, stopped: watch::Receiver<bool>) -> Shared {
        Shared {
            inner: Mutex::new(Inner {
                state,
                requests: Vec::new(),
                faults: FaultPicker::new(
                    options.fault_rate,
                    &options.fault_kinds,
                    options.fault_seed,
                ),
                windows: HashMap::new(),
            }),
            latency: options.latency,
            stall: options.stall,
            rate_limit: options.rate_limit,
            persist_to: options.persist_to.clone(),
            record_requests: options.record_requests,
            stopped,
            // Tencent's sequence numbers are large and keep counting across clients; starting
            // at a random point makes ids from two emulator runs easy to tell apart.
            sequence: AtomicU64::new(rand::random_range(10_000..100_000)),
            http2_requests: AtomicU64::new(0),
        }
    }

    /// Locks the mutable part. A panic while it was held (only possible in a test's
    /// `update_state` closure) leaves data that is still consistent, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn persist(&self, state: &State) -> io::Result<()> {
        match &self.persist_to {
            Some(path) => state.save_atomic(path),
            None => Ok(()),
        }
    }

    /// Waits `duration`, or less when the emulator is shutting down, so that a stalled answer
    /// cannot hold graceful shutdown for its full 30 seconds. Returns whether it waited in full.
    async fn pause(&self, duration: Duration) -> bool {
        if duration.is_zero() {
            return true;
        }
        let mut stopped = self.stopped.clone();
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            _ = stopped.wait_for(|stop| *stop) => false,
        }
    }

    /// Holds an answer until `latency` after its request arrived, to within about 0.1 ms.
    ///
    /// Tokio's timer counts whole milliseconds and rounds up: a plain `sleep(20 ms)` answered
    /// after 20.7–21.9 ms (median 21.7, measured from a client), so every benchmark against
    /// `--latency-ms 20` carried 8% that was the emulator's and not the client's. The timer
    /// therefore sleeps to within [`TIMER_SLACK`] of the deadline and a blocking thread sleeps
    /// the rest with `nanosleep`, which has microsecond resolution. The blocking pool keeps its
    /// threads for ten seconds, so a burst of requests reuses them instead of starting new ones.
    async fn hold_until(&self, deadline: Instant) {
        let coarse = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(TIMER_SLACK);
        if !self.pause(coarse).await {
            return;
        }
        let rest = deadline.saturating_duration_since(Instant::now());
        if !rest.is_zero() {
            // Only a panic in `sleep` could fail the join: the answer is then merely early.
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
        }
    }

    /// `Id-<32 hex>-O-Seq-<n>`, the shape of Tencent's request ids.
    fn request_id(&self) -> String {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("Id-{:032x}-O-Seq-{sequence}", rand::random::<u128>())
    }

    /// Decides the answer to one request, applying it to the state when it succeeds, and
    /// records it. Runs without awaiting, under the lock, so requests take effect one at a time.
    fn process(&self, at: Instant, method: &Method, uri: &Uri, body: Option<&Bytes>) -> Answer {
        let incoming = Incoming {
            at,
            method,
            path: uri.path(),
            query: Query::parse(uri.query()),
            body,
            json: body.and_then(|bytes| serde_json::from_slice(bytes).ok()),
        };

        let mut inner = self.lock();
        // The fault is chosen first, as a gateway or an overloaded backend would strike before
        // the request is even parsed: for these three kinds nothing below runs and nothing is
        // applied.
        let key = format!(
            "{}/{}",
            incoming.query.sdkappid.as_deref().unwrap_or_default(),
            incoming.path.rsplit('/').next().unwrap_or_default()
        );
        let fault = inner.faults.pick(&key);
        let outcome = match fault {
            // Stall and TruncatedBody apply the operation; only the answer is damaged later.
            None => Some(self.execute(&mut inner, &incoming)),
            Some(kind) if kind.applies_operation() => Some(self.execute(&mut inner, &incoming)),
            Some(FaultKind::BadGateway) => None,
            Some(FaultKind::InternalError) => Some(Err(Rejection::new(
                codes::INTERNAL_ERROR,
                "internal error, please retry",
            ))),
            Some(FaultKind::RateLimited) => Some(Err(Rejection::new(
                codes::REST_RATE_LIMIT,
                "REST API call frequency over limit, please retry later",
            ))),
            Some(
                kind @ (FaultKind::Stall
                | FaultKind::TruncatedBody
                | FaultKind::StatusAfterApply(_)),
            ) => {
                unreachable!("{kind:?} applies the operation")
            }
        };
        let error_code = match &outcome {
            None => RecordedRequest::NO_ENVELOPE,
            Some(Ok(_)) => codes::SUCCESS,
            Some(Err(error)) => error.code,
        };
        if self.record_requests {
            let query = &incoming.query;
            inner.requests.push(RecordedRequest {
                command: incoming
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                sdkappid: query.sdkappid.as_deref().and_then(|s| s.parse().ok()),
                identifier: query.identifier.clone(),
                body: incoming.json,
                error_code,
                fault,
                at,
            });
        }
        drop(inner);

        let Some(outcome) = outcome else {
            return Answer {
                status: StatusCode::BAD_GATEWAY,
                content_type: "text/html",
                body: BAD_GATEWAY_HTML.as_bytes().to_vec(),
                stall: false,
            };
        };
        if let Some(FaultKind::StatusAfterApply(status)) = fault {
            return Answer {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                content_type: "text/html",
                body: format!("<html><body><h1>{status}</h1></body></html>\r\n").into_bytes(),
                stall: false,
            };
        }
        let mut body = self.envelope(outcome).to_string().into_bytes();
        if fault == Some(FaultKind::TruncatedBody) {
            body = super::faults::cut_short(body);
        }
        Answer {
            status: StatusCode::OK,
            content_type: "application/json",
            body,
            stall: fault == Some(FaultKind::Stall),
        }
    }

    /// The envelope, with the keys in the order of Tencent's documented sample.
    fn envelope(&self, outcome: Result<Option<Value>, Rejection>) -> Value {
        let envelope = match outcome {
            Ok(response) => Envelope {
                error_code: codes::SUCCESS,
                error_info: String::new(),
                action_status: "OK".into(),
                request_id: self.request_id(),
                response,
            },
            Err(error) => Envelope {
                error_code: error.code,
                error_info: error.info,
                action_status: "FAIL".into(),
                request_id: self.request_id(),
                response: None,
            },
        };
        json!(envelope)
    }

    /// Runs every check in Tencent's order, then the command. `Ok(Some(_))` carries the
    /// `Response` of a get call.
    fn execute(&self, inner: &mut Inner, incoming: &Incoming) -> Result<Option<Value>, Rejection> {
        let Incoming {
            at, method, path, ..
        } = *incoming;
        if method != Method::POST {
            return Err(Rejection::url("live_config calls must use POST"));
        }
        let name = path
            .strip_prefix("/v4/live_config/")
            .ok_or_else(|| Rejection::url("the path must be /v4/live_config/{command}"))?;
        let command = Command::from_name(name)
            .ok_or_else(|| Rejection::url(&format!("unknown command {name:?}")))?;
        let request = incoming.query.validate()?;

        let Some(app) = inner.state.apps.get(&request.sdkappid) else {
            return Err(Rejection::new(
                codes::SDKAPPID_NOT_FOUND,
                format!("SDKAppID {} not found", request.sdkappid),
            ));
        };
        let window = inner.windows.entry(request.sdkappid).or_default();
        if !window.admit(at, self.rate_limit) {
            return Err(Rejection::new(
                codes::SDKAPPID_RATE_LIMIT,
                format!(
                    "SDKAppID request frequency over limit ({} requests per second)",
                    self.rate_limit
                ),
            ));
        }

        // The sig is checked against the identifier in the URL (70013 when the sig was made for
        // someone else); only a correctly signed non-administrator reaches 60010.
        usersig::verify(
            request.usersig,
            &app.secret_key,
            request.sdkappid,
            request.identifier,
            usersig::unix_now(),
        )
        .map_err(|error| Rejection::new(error.code(), error.to_string()))?;
        if request.identifier != app.admin {
            return Err(Rejection::new(
                codes::NOT_ADMIN,
                format!(
                    "identifier {:?} is not an App administrator; REST calls need an App administrator",
                    request.identifier
                ),
            ));
        }

        let fields = match (&incoming.json, incoming.body) {
            (Some(Value::Object(fields)), _) => fields,
            (Some(_), _) => return Err(Rejection::body("the request body must be a JSON object")),
            (None, Some(bytes)) if bytes.trim_ascii().is_empty() => {
                return Err(Rejection::body(
                    "the request body is empty; send {} when a call takes no fields",
                ));
            }
            (None, Some(_)) => return Err(Rejection::body("the request body is not valid JSON")),
            (None, None) => {
                return Err(Rejection::body(
                    "the request body could not be read (over 1 MiB, or cut short)",
                ));
            }
        };

        let sdkappid = request.sdkappid;
        match command {
            Command::GetCallback => match &app.callback {
                Some(callback) => Ok(Some(to_value(callback)?)),
                None => Err(callback_missing()),
            },
            Command::GetCallbackToken => match &app.token {
                Some(token) => Ok(Some(to_value(token)?)),
                None => Err(Rejection::new(
                    codes::TOKEN_MISSING,
                    "callback token config does not exist",
                )),
            },
            Command::SetCallback => {
                let callback = callback_body(fields)?;
                if app.callback.is_some() {
                    return Err(Rejection::new(
                        codes::CALLBACK_EXISTS,
                        "callback config already exists, use update_callback",
                    ));
                }
                self.change(inner, sdkappid, |app| app.callback = Some(callback))
            }
            Command::UpdateCallback => {
                let callback = callback_body(fields)?;
                if app.callback.is_none() {
                    return Err(callback_missing());
                }
                self.change(inner, sdkappid, |app| app.callback = Some(callback))
            }
            Command::DeleteCallback => self.change(inner, sdkappid, |app| app.callback = None),
            Command::SetCallbackToken => {
                let token = token_body(fields)?;
                self.change(inner, sdkappid, |app| app.token = Some(token))
            }
            Command::DeleteCallbackToken => self.change(inner, sdkappid, |app| app.token = None),
        }
    }

    /// Applies a change to one app and persists the state. A write that fails undoes the change
    /// and answers 100001, as a backend whose storage failed would: nothing applied, retry.
    fn change(
        &self,
        inner: &mut Inner,
        sdkappid: u64,
        apply: impl FnOnce(&mut AppState),
    ) -> Result<Option<Value>, Rejection> {
        let Some(app) = inner.state.apps.get_mut(&sdkappid) else {
            return Err(Rejection::new(
                codes::SDKAPPID_NOT_FOUND,
                format!("SDKAppID {sdkappid} not found"),
            ));
        };
        let before = app.clone();
        apply(app);
        if *app == before {
            // Nothing changed (e.g. a delete of nothing): no write needed.
            return Ok(None);
        }
        // The write happens under the lock, blocking this worker for an fsync: it keeps the file
        // in step with the order in which changes took effect (two writes can never land in the
        // wrong order), and writes are rare next to reads.
        if let Err(error) = self.persist(&inner.state) {
            inner.state.apps.insert(sdkappid, before);
            let path = self
                .persist_to
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            return Err(Rejection::new(
                codes::INTERNAL_ERROR,
                format!(
                    "internal error: the emulator could not write {}: {error}",
                    path.display()
                ),
            ));
        }
        Ok(None)
    }
}

/// Fuzzing entry point: answers one request (method, path and query, body) the way the server
/// would, against a throwaway emulator holding `state`, with no faults, latency or persistence.
/// Returns `None` for a method or URI that HTTP itself would refuse before the handler runs, else
/// the HTTP status and the body. Not part of the API.
#[doc(hidden)]
pub fn fuzz_request(
    state: State,
    method: &[u8],
    uri: &[u8],
    body: Option<&[u8]>,
) -> Option<(u16, Vec<u8>)> {
    let answer = FuzzEmulator::new(state, 0.0, 0).answer(method, uri, body)?;
    Some((answer.status, answer.body))
}

/// Fuzzing entry point: an emulator without a socket that answers requests one after another
/// against one state, the way the server would, with seeded faults at `fault_rate` and no
/// latency or persistence, so that a fuzzer can drive sequences of calls. Not part of the API.
#[doc(hidden)]
pub struct FuzzEmulator {
    shared: Shared,
    _stop: watch::Sender<bool>,
}

/// One answer of a [`FuzzEmulator`], with the fault that was injected into it, if any.
#[doc(hidden)]
pub struct FuzzAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    pub fault: Option<FaultKind>,
}

impl FuzzEmulator {
    pub fn new(state: State, fault_rate: f64, fault_seed: u64) -> FuzzEmulator {
        let (stop, stopped) = watch::channel(false);
        let options = Options {
            fault_rate,
            fault_seed: Some(fault_seed),
            ..Options::default()
        };
        FuzzEmulator {
            shared: Shared::new(state, &options, stopped),
            _stop: stop,
        }
    }

    /// `None` for a method or URI that HTTP itself would refuse before the handler runs.
    pub fn answer(&self, method: &[u8], uri: &[u8], body: Option<&[u8]>) -> Option<FuzzAnswer> {
        let method = Method::from_bytes(method).ok()?;
        let uri = Uri::try_from(uri).ok()?;
        let body = body.map(Bytes::copy_from_slice);
        let answer = self
            .shared
            .process(Instant::now(), &method, &uri, body.as_ref());
        let fault = self.shared.lock().requests.last().and_then(|r| r.fault);
        Some(FuzzAnswer {
            status: answer.status.as_u16(),
            body: answer.body,
            fault,
        })
    }

    /// The state as the requests so far left it.
    pub fn state(&self) -> State {
        self.shared.lock().state.clone()
    }
}

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    if parts.version == axum::http::Version::HTTP_2 {
        shared.http2_requests.fetch_add(1, Ordering::Relaxed);
    }
    // A body that cannot be read (too large, or the client went away) is treated like a missing
    // one: 60003 if the request gets that far.
    let body = axum::body::to_bytes(body, MAX_BODY).await.ok();
    let answer = shared.process(at, &parts.method, &parts.uri, body.as_ref());
    shared.hold_until(at + shared.latency).await;
    if answer.stall {
        shared.pause(shared.stall).await;
    }
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    response
}

fn callback_missing() -> Rejection {
    Rejection::new(codes::CALLBACK_MISSING, "callback config does not exist")
}

fn to_value(value: &impl serde::Serialize) -> Result<Value, Rejection> {
    serde_json::to_value(value)
        .map_err(|_| Rejection::new(codes::INTERNAL_ERROR, "internal error, please retry"))
}

/// The query parameters as sent (percent-decoded), before any check. The first occurrence of a
/// repeated parameter wins.
#[derive(Default)]
struct Query {
    sdkappid: Option<String>,
    identifier: Option<String>,
    usersig: Option<String>,
    random: Option<String>,
}

/// The query once it passed the 60002 checks.
struct ValidQuery<'a> {
    sdkappid: u64,
    identifier: &'a str,
    usersig: &'a str,
}

impl Query {
    /// Decodes the query string. `form_urlencoded` never fails: malformed escapes are kept as
    /// written, which is what a lenient server does, and `%2A` becomes `*`.
    fn parse(query: Option<&str>) -> Query {
        let mut parsed = Query::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match key.as_ref() {
                "sdkappid" => &mut parsed.sdkappid,
                "identifier" => &mut parsed.identifier,
                "usersig" => &mut parsed.usersig,
                "random" => &mut parsed.random,
                // `contenttype=json` and anything else are accepted and ignored.
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        parsed
    }

    fn validate(&self) -> Result<ValidQuery<'_>, Rejection> {
        let sdkappid = self
            .sdkappid
            .as_deref()
            .ok_or_else(|| Rejection::url("missing sdkappid"))?
            .parse::<u64>()
            .map_err(|_| Rejection::url("sdkappid must be a number"))?;
        let identifier = self
            .identifier
            .as_deref()
            .filter(|identifier| !identifier.is_empty())
            .ok_or_else(|| Rejection::url("missing identifier"))?;
        // An empty `usersig=` passes here and gets 70002 (UserSig empty) from the verifier.
        let usersig = self
            .usersig
            .as_deref()
            .ok_or_else(|| Rejection::url("missing usersig"))?;
        self.random
            .as_deref()
            .ok_or_else(|| Rejection::url("missing random"))?
            .parse::<u32>()
            .map_err(|_| Rejection::url("random must be an unsigned 32-bit integer"))?;
        Ok(ValidQuery {
            sdkappid,
            identifier,
            usersig,
        })
    }
}

/// `{Url, CallbackCommandList}` for `set_callback` and `update_callback`. ErrorInfo names the
/// field but never quotes its value: a webhook URL may carry a secret in its query string.
fn callback_body(fields: &Map<String, Value>) -> Result<CallbackBody, Rejection> {
    let url = match fields.get("Url") {
        None | Some(Value::Null) => return Err(Rejection::parameter("Url is required")),
        Some(Value::String(url)) => url,
        Some(_) => return Err(Rejection::parameter("Url must be a string")),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Rejection::parameter(
            "Url must start with http:// or https://",
        ));
    }
    let commands = match fields.get("CallbackCommandList") {
        None | Some(Value::Null) => {
            return Err(Rejection::parameter("CallbackCommandList is required"));
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>(),
        Some(_) => None,
    }
    .ok_or_else(|| Rejection::parameter("CallbackCommandList must be an array of strings"))?;
    Ok(CallbackBody {
        url: url.clone(),
        commands,
    })
}

/// `{Token, IsTokenEnable}` for `set_callback_token`.
fn token_body(fields: &Map<String, Value>) -> Result<TokenBody, Rejection> {
    let token = match fields.get("Token") {
        None | Some(Value::Null) => return Err(Rejection::parameter("Token is required")),
        Some(Value::String(token)) => token,
        Some(_) => return Err(Rejection::parameter("Token must be a string")),
    };
    // The documented limit is in characters; a token of 128 CJK characters is allowed.
    if !(1..=MAX_TOKEN_CHARS).contains(&token.chars().count()) {
        return Err(Rejection::parameter(&format!(
            "Token must be 1 to {MAX_TOKEN_CHARS} characters long"
        )));
    }
    let enabled = match fields.get("IsTokenEnable") {
        None | Some(Value::Null) => {
            return Err(Rejection::parameter("IsTokenEnable is required"));
        }
        Some(Value::Bool(enabled)) => *enabled,
        Some(_) => return Err(Rejection::parameter("IsTokenEnable must be a boolean")),
    };
    Ok(TokenBody {
        token: token.clone(),
        enabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text).unwrap() {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn requests_are_recorded_only_when_asked() {
        for record_requests in [true, false] {
            let (_stop, stopped) = watch::channel(false);
            let options = Options {
                record_requests,
                ..Options::default()
            };
            let shared = Shared::new(State::default(), &options, stopped);
            let body = Bytes::from_static(br#"{"Token":"t","IsTokenEnable":true}"#);
            for _ in 0..3 {
                shared.process(
                    Instant::now(),
                    &Method::POST,
                    &Uri::from_static("/v4/live_config/set_callback_token?sdkappid=1"),
                    Some(&body),
                );
            }
            let recorded = shared.lock().requests.len();
            assert_eq!(recorded, if record_requests { 3 } else { 0 });
        }
    }

    #[test]
    fn query_takes_the_first_of_repeated_parameters_and_decodes_escapes() {
        let query = Query::parse(Some(
            "sdkappid=1&identifier=admin&usersig=a%2Ab*c&random=5&random=6&contenttype=json",
        ));
        let valid = query.validate().unwrap();
        assert_eq!(
            (valid.sdkappid, valid.identifier, valid.usersig),
            (1, "admin", "a*b*c")
        );
        assert_eq!(query.random.as_deref(), Some("5"));
    }

    #[test]
    fn query_errors_are_60002_naming_the_parameter() {
        for (query, reason) in [
            ("identifier=a&usersig=s&random=1", "missing sdkappid"),
            (
                "sdkappid=x&identifier=a&usersig=s&random=1",
                "sdkappid must be a number",
            ),
            ("sdkappid=1&usersig=s&random=1", "missing identifier"),
            (
                "sdkappid=1&identifier=&usersig=s&random=1",
                "missing identifier",
            ),
            ("sdkappid=1&identifier=a&random=1", "missing usersig"),
            ("sdkappid=1&identifier=a&usersig=s", "missing random"),
            (
                "sdkappid=1&identifier=a&usersig=s&random=4294967296",
                "random must be",
            ),
            (
                "sdkappid=1&identifier=a&usersig=s&random=-1",
                "random must be",
            ),
        ] {
            let error = Query::parse(Some(query)).validate().err().unwrap();
            assert_eq!(error.code, 60002, "{query}");
            assert!(error.info.contains(reason), "{query}: {}", error.info);
        }
        assert!(Query::parse(None).validate().is_err());
    }

    #[test]
    fn callback_body_checks_each_field() {
        let ok = callback_body(&object(
            r#"{"Url": "http://x", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"], "Extra": 1}"#,
        ))
        .unwrap();
        assert_eq!(ok.url, "http://x");
        for (text, reason) in [
            (r#"{"CallbackCommandList": []}"#, "Url is required"),
            (
                r#"{"Url": 5, "CallbackCommandList": []}"#,
                "Url must be a string",
            ),
            (
                r#"{"Url": "ftp://x", "CallbackCommandList": []}"#,
                "Url must start with",
            ),
            (r#"{"Url": "https://x"}"#, "CallbackCommandList is required"),
            (
                r#"{"Url": "https://x", "CallbackCommandList": "a"}"#,
                "array of strings",
            ),
            (
                r#"{"Url": "https://x", "CallbackCommandList": [1]}"#,
                "array of strings",
            ),
        ] {
            let error = callback_body(&object(text)).unwrap_err();
            assert_eq!(error.code, 100002, "{text}");
            assert!(error.info.contains(reason), "{text}: {}", error.info);
        }
    }

    #[test]
    fn token_body_checks_length_in_characters_and_types() {
        let long = "字".repeat(128);
        let body = object(&format!(r#"{{"Token": "{long}", "IsTokenEnable": false}}"#));
        assert_eq!(token_body(&body).unwrap().token, long);
        let too_long = "a".repeat(129);
        for text in [
            r#"{"IsTokenEnable": true}"#.to_owned(),
            r#"{"Token": "", "IsTokenEnable": true}"#.to_owned(),
            format!(r#"{{"Token": "{too_long}", "IsTokenEnable": true}}"#),
            r#"{"Token": 7, "IsTokenEnable": true}"#.to_owned(),
            r#"{"Token": "t"}"#.to_owned(),
            r#"{"Token": "t", "IsTokenEnable": "yes"}"#.to_owned(),
        ] {
            let error = token_body(&object(&text)).unwrap_err();
            assert_eq!(error.code, 100002, "{text}");
            assert!(!error.info.contains(&too_long));
        }
    }
}

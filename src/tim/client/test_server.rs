//! A scripted Tencent for the client's unit tests: an axum server on a loopback port that
//! answers each request as programmed and records what it saw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Client, ClientOptions, Secret, Target};
use crate::tim::DEFAULT_IDENTIFIER;

pub(super) const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
pub(super) const SDKAPPID: u64 = 1400000001;
pub(super) const ADMIN: &str = DEFAULT_IDENTIFIER;

/// One programmed answer of the scripted server.
#[derive(Clone)]
pub(super) enum Reply {
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
pub(super) struct Seen {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) content_type: Option<String>,
    pub(super) body: Vec<u8>,
    pub(super) at: Instant,
}

#[derive(Clone)]
pub(super) struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    fallback: Reply,
}

impl Script {
    pub(super) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub(super) fn sample_callback() -> Value {
    json!({"Url": "https://hooks.example.com/tim", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]})
}

pub(super) fn envelope(code: i64, response: Option<Value>) -> String {
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

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) async fn handle(
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
pub(super) async fn serve(replies: Vec<Reply>, fallback: Reply) -> (Script, String) {
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

pub(super) async fn serve_script(replies: Vec<Reply>) -> (Script, String) {
    serve(replies, Reply::Success(sample_callback())).await
}

pub(super) fn target(base_url: String) -> Target {
    Target {
        base_url,
        sdkappid: SDKAPPID,
        identifier: ADMIN.into(),
        secret_key: Secret::new(KEY.into()),
    }
}

/// Short back-offs for quick retries; timeouts long enough that a loaded CI machine does not
/// turn a slow answer into an extra attempt the tests would miscount.
pub(super) fn fast_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        rate_limit_min_backoff: Duration::from_millis(100),
        ..ClientOptions::default()
    }
}

pub(super) fn client() -> Client {
    Client::new(fast_options()).unwrap()
}

pub(super) fn query_value<'a>(seen: &'a Seen, key: &str) -> &'a str {
    seen.query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in the query"))
}

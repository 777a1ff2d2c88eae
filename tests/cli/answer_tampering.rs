//! `livehook apply` against answers the emulator never gives on its own: a proxy in front of the
//! emulator forwards every request and rewrites chosen answers (a server timeout for a write
//! that was carried out, an `ErrorInfo` that quotes the token).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use livehook::emulator::{Emulator, Options};
use serde_json::json;

use crate::support::{
    CREATE_ROOM, SECRET_KEY, TAMPERING_TOKEN, livehook, seeded_state, start_emulator, stdout,
};

/// What the proxy does with one request.
#[derive(Clone, Copy)]
enum Tamper {
    /// Forward it and pass the answer on.
    Pass,
    /// Forward it (the emulator carries it out), then answer with this code instead.
    AnswerAfterForwarding(i64),
    /// Do not forward it; answer 100002 with an ErrorInfo that quotes the request's body.
    EchoBodyAsInvalid,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// The first request for `command` is tampered with; `done` once it has been.
    command: &'static str,
    tamper: Tamper,
    done: Arc<Mutex<bool>>,
}

fn envelope(code: i64, info: &str) -> Response {
    let body = json!({
        "ActionStatus": "FAIL",
        "ErrorCode": code,
        "ErrorInfo": info,
        "RequestId": "Id-tampered",
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    AxumState(proxy): AxumState<Proxy>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let tamper = {
        let mut done = proxy.done.lock().unwrap();
        if !*done && uri.path().ends_with(&format!("/{}", proxy.command)) {
            *done = true;
            proxy.tamper
        } else {
            Tamper::Pass
        }
    };
    if let Tamper::EchoBodyAsInvalid = tamper {
        let quoted = String::from_utf8_lossy(&body);
        return envelope(100002, &format!("invalid parameter in {quoted}"));
    }
    let url = format!(
        "{}{}",
        proxy.upstream,
        uri.path_and_query().map_or("", |p| p.as_str())
    );
    let answer = proxy
        .http
        .request(method, url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let bytes = answer.bytes().await.unwrap();
    match tamper {
        Tamper::AnswerAfterForwarding(code) => envelope(code, "server timeout"),
        _ => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            bytes.to_vec(),
        )
            .into_response(),
    }
}

/// Starts the emulator with one empty app and a proxy in front of it; returns both and the
/// proxy's base URL.
async fn start(command: &'static str, tamper: Tamper) -> (Emulator, String) {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let proxy = Proxy {
        upstream: emulator.base_url(),
        http: reqwest::Client::new(),
        command,
        tamper,
        done: Arc::new(Mutex::new(false)),
    };
    let router = Router::new().fallback(handle).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (emulator, format!("http://{addr}"))
}

fn apply(endpoint: &str, token: bool, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let token_line = if token {
        "    token: {value_env: HOOK_TOKEN}\n"
    } else {
        ""
    };
    std::fs::write(
        dir.path().join("livehook.yaml"),
        format!(
            "version: 1\napps:\n  create-me:\n    sdkappid: 1400000001\n    endpoint: {endpoint}\n    callback: {{url: https://new.example.com/hook, commands: [{CREATE_ROOM}]}}\n{token_line}"
        ),
    )
    .unwrap();
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    livehook(
        dir.path(),
        &args,
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", TAMPERING_TOKEN),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_answered_with_a_server_timeout_is_read_back_not_sent_again() {
    // The meanings as Tencent's error-code table words them, written out rather than taken
    // from livehook's own table.
    for (code, meaning) in [
        (60008, "service timeout or bad HTTP format"),
        (70169, "server timeout"),
        (70202, "server timeout"),
    ] {
        let (emulator, endpoint) = start("set_callback", Tamper::AnswerAfterForwarding(code)).await;
        let output = apply(&endpoint, false, &[]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{code}: {text}");
        assert!(
            text.contains(&format!(
                "created, verified\n      set_callback's answer was lost (error {code}: {meaning}); read back: it had taken effect\n"
            )),
            "{code}: {text}"
        );
        let seen: Vec<(String, i64)> = emulator
            .requests()
            .iter()
            .map(|r| (r.command.clone(), r.error_code))
            .collect();
        let sets: Vec<_> = seen.iter().filter(|(c, _)| c == "set_callback").collect();
        assert_eq!(
            sets,
            [&("set_callback".to_string(), 0)],
            "{code}: sent once, never met 100300: {seen:?}"
        );
        emulator.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_info_quoting_the_token_does_not_reach_the_report() {
    for format in [&["--format", "json"][..], &[]] {
        let (emulator, endpoint) = start("set_callback_token", Tamper::EchoBodyAsInvalid).await;
        let output = apply(&endpoint, true, format);
        let text = format!("{}{}", stdout(&output), crate::support::stderr(&output));
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("100002"), "{text}");
        assert!(!text.contains(TAMPERING_TOKEN), "the token leaked:\n{text}");
        emulator.shutdown().await;
    }
}

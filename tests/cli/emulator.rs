//! Protocol tests of the emulator over real HTTP: every documented answer, byte for byte where
//! Tencent documents the bytes, sent with reqwest the way a third-party client would.

use std::io::Write;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use livehook::emulator::{Emulator, FaultKind, Options, RecordedRequest, State};
use livehook::tim::usersig::{self, SigFields};
use serde_json::{Value, json};

use crate::support::{ADMIN, EMULATOR_TOKEN, SDKAPPID, SECRET_KEY, seeded_state, start_emulator};

const CALLBACK: &str = r#"{"Url": "https://hooks.example.com/tim/live", "CallbackCommandList": ["Live.CallbackAfterCreateRoom", "Live.CallbackAfterDestroyRoom"]}"#;

/// A client for one emulator, signing as the seeded app's administrator unless told otherwise.
struct Client {
    base: String,
    http: reqwest::Client,
    sig: String,
}

impl Client {
    fn new(emulator: &Emulator) -> Client {
        Client {
            base: emulator.base_url(),
            http: reqwest::Client::new(),
            sig: admin_sig(),
        }
    }

    /// POSTs `body` to `/v4/live_config/{command}?{query}` without a Content-Type header.
    async fn raw(&self, command: &str, query: &str, body: &str) -> (u16, String) {
        let url = format!("{}/v4/live_config/{command}?{query}", self.base);
        let response = self
            .http
            .post(url)
            .body(body.to_owned())
            .send()
            .await
            .expect("the emulator answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a readable body"))
    }

    /// A well-formed call as the administrator; asserts HTTP 200 and returns the parsed body.
    async fn call(&self, command: &str, body: &str) -> Value {
        self.call_with(command, &query(SDKAPPID, ADMIN, &self.sig, 7), body)
            .await
    }

    async fn call_with(&self, command: &str, query: &str, body: &str) -> Value {
        let (status, text) = self.raw(command, query, body).await;
        assert_eq!(status, 200, "{command}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
    }
}

fn query(sdkappid: u64, identifier: &str, sig: &str, random: u32) -> String {
    format!(
        "sdkappid={sdkappid}&identifier={identifier}&usersig={sig}&random={random}&contenttype=json"
    )
}

fn admin_sig() -> String {
    usersig::generate_now(SECRET_KEY, SDKAPPID, ADMIN, 300)
}

/// Asserts a failure envelope: the code, "FAIL", a non-empty ErrorInfo and a RequestId.
#[track_caller]
fn assert_fail(answer: &Value, code: i64) {
    assert_eq!(answer["ErrorCode"], code, "{answer}");
    assert_eq!(answer["ActionStatus"], "FAIL", "{answer}");
    assert!(
        answer["ErrorInfo"].as_str().is_some_and(|s| !s.is_empty()),
        "{answer}"
    );
    assert_request_id(&answer["RequestId"]);
    assert!(answer.get("Response").is_none(), "{answer}");
}

/// Asserts the exact success envelope, with `response` as `Response` when given.
#[track_caller]
fn assert_ok(answer: &Value, response: Option<Value>) {
    assert_request_id(&answer["RequestId"]);
    let mut expected = json!({
        "ErrorCode": 0,
        "ErrorInfo": "",
        "ActionStatus": "OK",
        "RequestId": answer["RequestId"],
    });
    if let Some(response) = response {
        expected["Response"] = response;
    }
    assert_eq!(answer, &expected);
}

/// `Id-<32 lowercase hex>-O-Seq-<digits>`, the shape of Tencent's documented sample.
#[track_caller]
fn assert_request_id(id: &Value) {
    let id = id.as_str().unwrap_or_else(|| panic!("RequestId {id}"));
    let rest = id.strip_prefix("Id-").unwrap_or_else(|| panic!("{id}"));
    let (hex, seq) = rest.split_once("-O-Seq-").unwrap_or_else(|| panic!("{id}"));
    assert!(
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    assert!(
        !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
}

/// A UserSig the way some official libraries make it: other key order, spaces, a trailing
/// newline, escaped slashes, zlib level 0 ("stored" blocks).
fn stored_block_sig(identifier: &str) -> String {
    let fields = SigFields {
        identifier: identifier.to_owned(),
        sdkappid: SDKAPPID,
        time: usersig::unix_now(),
        expire: 300,
    };
    let tls_sig = usersig::tls_sig(SECRET_KEY, &fields).replace('/', "\\/");
    let json = format!(
        "{{ \"TLS.sig\": \"{tls_sig}\", \"TLS.time\": {}, \"TLS.expire\": 300,\n  \"TLS.sdkappid\": {SDKAPPID}, \"TLS.identifier\": \"{identifier}\", \"TLS.ver\": \"2.0\" }}\n",
        fields.time
    );
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::none());
    encoder.write_all(json.as_bytes()).unwrap();
    STANDARD
        .encode(encoder.finish().unwrap())
        .replace('+', "*")
        .replace('/', "-")
        .replace('=', "_")
}

#[tokio::test]
async fn all_seven_commands_answer_with_the_documented_envelopes() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    let callback: Value = serde_json::from_str(CALLBACK).unwrap();

    assert_fail(&client.call("get_callback", "{}").await, 100301);
    assert_ok(&client.call("set_callback", CALLBACK).await, None);
    assert_ok(
        &client.call("get_callback", "{}").await,
        Some(callback.clone()),
    );
    assert_fail(&client.call("set_callback", CALLBACK).await, 100300);

    let updated = json!({"Url": "http://other.example/hook", "CallbackCommandList": ["Mic.CallbackAfterSeatInfoChanged"]});
    assert_ok(
        &client.call("update_callback", &updated.to_string()).await,
        None,
    );
    assert_ok(&client.call("get_callback", "{}").await, Some(updated));
    assert_ok(&client.call("delete_callback", "{}").await, None);
    assert_fail(&client.call("get_callback", "{}").await, 100301);
    assert_fail(&client.call("update_callback", CALLBACK).await, 100301);
    // Deleting nothing is OK (our documented choice; Tencent's behaviour is unconfirmed).
    assert_ok(&client.call("delete_callback", "{}").await, None);

    assert_fail(&client.call("get_callback_token", "{}").await, 100302);
    let token = json!({"Token": EMULATOR_TOKEN, "IsTokenEnable": true});
    assert_ok(
        &client.call("set_callback_token", &token.to_string()).await,
        None,
    );
    assert_ok(&client.call("get_callback_token", "{}").await, Some(token));
    // set_callback_token is create-or-update.
    let token = json!({"Token": "second", "IsTokenEnable": false});
    assert_ok(
        &client.call("set_callback_token", &token.to_string()).await,
        None,
    );
    assert_ok(&client.call("get_callback_token", "{}").await, Some(token));
    assert_ok(&client.call("delete_callback_token", "{}").await, None);
    assert_fail(&client.call("get_callback_token", "{}").await, 100302);
    assert_ok(&client.call("delete_callback_token", "{}").await, None);

    emulator.shutdown().await;
}

#[tokio::test]
async fn envelope_keys_follow_the_documented_sample_and_request_ids_differ() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    client.call("set_callback", CALLBACK).await;
    let (status, text) = client
        .raw(
            "get_callback",
            &query(SDKAPPID, ADMIN, &client.sig, 1),
            "{}",
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with(r#"{"ErrorCode":0,"ErrorInfo":"","ActionStatus":"OK","RequestId":"Id-"#),
        "{text}"
    );
    assert!(
        text.ends_with(r#","Response":{"Url":"https://hooks.example.com/tim/live","CallbackCommandList":["Live.CallbackAfterCreateRoom","Live.CallbackAfterDestroyRoom"]}}"#),
        "{text}"
    );
    let first = client.call("get_callback", "{}").await["RequestId"].clone();
    let second = client.call("get_callback", "{}").await["RequestId"].clone();
    assert_ne!(first, second);
    emulator.shutdown().await;
}

#[tokio::test]
async fn malformed_urls_and_queries_are_60002() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    let sig = &client.sig;
    let cases = [
        (
            "get_callback",
            format!("identifier={ADMIN}&usersig={sig}&random=1"),
        ),
        (
            "get_callback",
            format!("sdkappid=&identifier={ADMIN}&usersig={sig}&random=1"),
        ),
        (
            "get_callback",
            format!("sdkappid=14x&identifier={ADMIN}&usersig={sig}&random=1"),
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&usersig={sig}&random=1"),
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&identifier={ADMIN}&random=1"),
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&identifier={ADMIN}&usersig={sig}"),
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&identifier={ADMIN}&usersig={sig}&random=abc"),
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&identifier={ADMIN}&usersig={sig}&random=-1"),
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&identifier={ADMIN}&usersig={sig}&random=4294967296"),
        ),
        ("get_callback", String::new()),
        ("create_callback", query(SDKAPPID, ADMIN, sig, 1)),
        ("", query(SDKAPPID, ADMIN, sig, 1)),
    ];
    for (command, query) in &cases {
        let answer = client.call_with(command, query, "{}").await;
        assert_fail(&answer, 60002);
    }

    // A wrong path and a wrong method also get the envelope, with HTTP 200.
    let url = format!(
        "{}/v4/other_service/get_callback?{}",
        client.base,
        query(SDKAPPID, ADMIN, sig, 1)
    );
    let response = client.http.post(url).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_fail(&response.json().await.unwrap(), 60002);
    let url = format!(
        "{}/v4/live_config/get_callback?{}",
        client.base,
        query(SDKAPPID, ADMIN, sig, 1)
    );
    let response = client.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_fail(&response.json().await.unwrap(), 60002);

    // The highest u32 is a valid random.
    let answer = client
        .call_with("get_callback", &query(SDKAPPID, ADMIN, sig, u32::MAX), "{}")
        .await;
    assert_fail(&answer, 100301);
    emulator.shutdown().await;
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_60003() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    for command in ["get_callback", "set_callback", "delete_callback_token"] {
        for body in [
            "",
            "   ",
            "[]",
            "null",
            "\"{}\"",
            "42",
            "{bad json",
            "{\"Url\": }",
        ] {
            let answer = client.call(command, body).await;
            assert_fail(&answer, 60003);
        }
    }
    assert!(emulator.state().apps[&SDKAPPID].callback.is_none());
    emulator.shutdown().await;
}

#[tokio::test]
async fn invalid_fields_are_100002_naming_the_field_and_change_nothing() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    let long_token = "t".repeat(129);
    let cases = [
        ("set_callback", r#"{"CallbackCommandList": ["Live.CallbackAfterCreateRoom"]}"#.to_owned(), "Url"),
        ("set_callback", r#"{"Url": "https://x.example/h"}"#.to_owned(), "CallbackCommandList"),
        ("set_callback", r#"{"Url": "ftp://x.example/h", "CallbackCommandList": []}"#.to_owned(), "Url"),
        ("set_callback", r#"{"Url": "x.example/h", "CallbackCommandList": []}"#.to_owned(), "Url"),
        ("set_callback", r#"{"Url": 1, "CallbackCommandList": []}"#.to_owned(), "Url"),
        ("set_callback", r#"{"Url": "https://x.example/h", "CallbackCommandList": "Live.CallbackAfterCreateRoom"}"#.to_owned(), "CallbackCommandList"),
        ("set_callback", r#"{"Url": "https://x.example/h", "CallbackCommandList": [true]}"#.to_owned(), "CallbackCommandList"),
        ("update_callback", r#"{"CallbackCommandList": []}"#.to_owned(), "Url"),
        ("update_callback", r#"{"Url": "https://x.example/h"}"#.to_owned(), "CallbackCommandList"),
        ("set_callback_token", format!(r#"{{"Token": "{long_token}", "IsTokenEnable": true}}"#), "Token"),
        ("set_callback_token", r#"{"Token": "", "IsTokenEnable": true}"#.to_owned(), "Token"),
        ("set_callback_token", r#"{"IsTokenEnable": true}"#.to_owned(), "Token"),
        ("set_callback_token", r#"{"Token": 5, "IsTokenEnable": true}"#.to_owned(), "Token"),
        ("set_callback_token", r#"{"Token": "t"}"#.to_owned(), "IsTokenEnable"),
        ("set_callback_token", r#"{"Token": "t", "IsTokenEnable": "true"}"#.to_owned(), "IsTokenEnable"),
    ];
    for (command, body, field) in &cases {
        let answer = client.call(command, body).await;
        assert_fail(&answer, 100002);
        let info = answer["ErrorInfo"].as_str().unwrap();
        assert!(info.contains(field), "{command} {body}: {info}");
        assert!(
            !info.contains(&long_token),
            "ErrorInfo never quotes a value: {info}"
        );
    }
    assert_eq!(emulator.state(), seeded_state());
    // 128 characters is the longest token allowed.
    let body = json!({"Token": "t".repeat(128), "IsTokenEnable": false}).to_string();
    assert_ok(&client.call("set_callback_token", &body).await, None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn usersig_and_account_problems_get_their_codes() {
    let mut state = seeded_state();
    state.apps.get_mut(&SDKAPPID).unwrap().callback = serde_json::from_str(CALLBACK).ok();
    let emulator = start_emulator(state, Options::default()).await;
    let client = Client::new(&emulator);
    let get = |query: String| {
        let client = &client;
        async move { client.call_with("get_callback", &query, "{}").await }
    };
    let expired = usersig::generate(
        SECRET_KEY,
        &SigFields {
            identifier: ADMIN.to_owned(),
            sdkappid: SDKAPPID,
            time: usersig::unix_now() - 3600,
            expire: 60,
        },
    );
    let wrong_key = usersig::generate_now(&"0".repeat(64), SDKAPPID, ADMIN, 300);
    let other_identifier = usersig::generate_now(SECRET_KEY, SDKAPPID, "someone", 300);
    let other_app = usersig::generate_now(SECRET_KEY, SDKAPPID + 1, ADMIN, 300);
    let user = usersig::generate_now(SECRET_KEY, SDKAPPID, "user1", 300);

    assert_fail(&get(query(SDKAPPID, ADMIN, &expired, 1)).await, 70001);
    assert_fail(&get(query(SDKAPPID, ADMIN, "", 1)).await, 70002);
    assert_fail(
        &get(query(SDKAPPID, ADMIN, "not-a-usersig", 1)).await,
        70003,
    );
    assert_fail(&get(query(SDKAPPID, ADMIN, "eJwDAAAAAAE_", 1)).await, 70003);
    assert_fail(&get(query(SDKAPPID, ADMIN, &wrong_key, 1)).await, 70009);
    assert_fail(
        &get(query(SDKAPPID, ADMIN, &other_identifier, 1)).await,
        70013,
    );
    assert_fail(&get(query(SDKAPPID, ADMIN, &other_app, 1)).await, 70014);
    // Signed correctly, but not as an administrator.
    let answer = get(query(SDKAPPID, "user1", &user, 1)).await;
    assert_fail(&answer, 60010);
    // An SDKAppID the emulator does not know, whatever the sig.
    let answer = get(query(SDKAPPID + 1, ADMIN, &other_app, 1)).await;
    assert_fail(&answer, 70020);
    assert!(answer["ErrorInfo"].as_str().unwrap().contains("1400000002"));

    // Every one of them was refused.
    for request in emulator.requests() {
        assert_ne!(request.error_code, 0, "{request:?}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn tolerates_what_real_clients_send() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);

    // A sig with `*` in it, sent once percent-encoded (`%2A`) and once literally.
    let sig = (300..400)
        .map(|validity| usersig::generate_now(SECRET_KEY, SDKAPPID, ADMIN, validity))
        .find(|sig| sig.contains('*'))
        .expect("some sig contains '*'");
    let encoded = sig
        .replace('*', "%2A")
        .replace('-', "%2D")
        .replace('_', "%5F");
    assert!(encoded.contains("%2A") && !encoded.contains('*'));
    assert_fail(
        &client
            .call_with("get_callback", &query(SDKAPPID, ADMIN, &encoded, 1), "{}")
            .await,
        100301,
    );
    assert_fail(
        &client
            .call_with("get_callback", &query(SDKAPPID, ADMIN, &sig, 1), "{}")
            .await,
        100301,
    );

    // The same `random` on every request, JSON with spaces and newlines, no Content-Type.
    let spaced = "{\n  \"Url\" : \"https://hooks.example.com/tim/live\" ,\n  \"CallbackCommandList\" : [ \"Live.CallbackAfterCreateRoom\" ]\n}\n";
    assert_ok(
        &client
            .call_with("set_callback", &query(SDKAPPID, ADMIN, &sig, 1), spaced)
            .await,
        None,
    );
    assert_ok(
        &client
            .call_with("delete_callback", &query(SDKAPPID, ADMIN, &sig, 1), " { } ")
            .await,
        None,
    );

    // Content-Type: application/json and a stray text/plain both work.
    for content_type in ["application/json", "text/plain"] {
        let url = format!(
            "{}/v4/live_config/get_callback_token?{}",
            client.base,
            query(SDKAPPID, ADMIN, &sig, 1)
        );
        let response = client
            .http
            .post(url)
            .header("content-type", content_type)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_fail(&response.json().await.unwrap(), 100302);
    }

    // A level-0 zlib sig with other key order, spaces and escaped slashes.
    let stored = stored_block_sig(ADMIN);
    assert_fail(
        &client
            .call_with("get_callback", &query(SDKAPPID, ADMIN, &stored, 0), "{}")
            .await,
        100301,
    );

    // The `contenttype` parameter is optional.
    let bare = format!("sdkappid={SDKAPPID}&identifier={ADMIN}&usersig={sig}&random=9");
    assert_fail(&client.call_with("get_callback", &bare, "{}").await, 100301);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_app_with_another_administrator_accepts_only_that_account() {
    let mut state = seeded_state();
    state.apps.get_mut(&SDKAPPID).unwrap().admin = "root".to_owned();
    let emulator = start_emulator(state, Options::default()).await;
    let client = Client::new(&emulator);
    let root = usersig::generate_now(SECRET_KEY, SDKAPPID, "root", 300);
    assert_fail(
        &client
            .call_with("get_callback", &query(SDKAPPID, "root", &root, 1), "{}")
            .await,
        100301,
    );
    assert_fail(&client.call("get_callback", "{}").await, 60010);
    emulator.shutdown().await;
}

#[tokio::test]
async fn more_than_the_rate_limit_per_second_is_60011_per_app() {
    let other = 1400000002;
    let state = crate::support::state_with_apps(&[(SDKAPPID, SECRET_KEY), (other, SECRET_KEY)]);
    let options = Options {
        rate_limit: 5,
        ..Options::default()
    };
    let emulator = start_emulator(state, options).await;
    let client = Client::new(&emulator);
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(
            client.call("get_callback", "{}").await["ErrorCode"]
                .as_i64()
                .unwrap(),
        );
    }
    // Another app has its own window.
    let other_sig = usersig::generate_now(SECRET_KEY, other, ADMIN, 300);
    let other_answer = client
        .call_with("get_callback", &query(other, ADMIN, &other_sig, 1), "{}")
        .await;
    let requests = emulator.requests();
    // The window is timed from the first request's arrival, as the emulator times it.
    let first = requests[0].at;
    assert!(
        requests[7].at - first < Duration::from_secs(1),
        "the test ran too slowly to judge"
    );
    assert_eq!(
        codes,
        [100301, 100301, 100301, 100301, 100301, 60011, 60011, 60011]
    );
    assert_fail(&other_answer, 100301);
    let recorded: Vec<i64> = requests.iter().map(|r| r.error_code).collect();
    assert_eq!(&recorded[..8], codes.as_slice());

    // One second after the first admitted request the window has room again.
    tokio::time::sleep_until((first + Duration::from_millis(1050)).into()).await;
    assert_fail(&client.call("get_callback", "{}").await, 100301);
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_request_is_recorded_in_arrival_order() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    let before = Instant::now();
    client.call("set_callback", CALLBACK).await;
    client
        .call_with("get_callback", "sdkappid=abc&identifier=x", "not json")
        .await;
    client.call("get_callback", "{}").await;

    let requests = emulator.requests();
    assert_eq!(requests.len(), 3);
    let first = &requests[0];
    assert_eq!(first.command, "set_callback");
    assert_eq!(first.sdkappid, Some(SDKAPPID));
    assert_eq!(first.identifier.as_deref(), Some(ADMIN));
    assert_eq!(first.body, serde_json::from_str(CALLBACK).ok());
    assert_eq!(first.error_code, 0);
    assert_eq!(first.fault, None);
    assert!(first.at >= before);
    let second = &requests[1];
    assert_eq!(
        (
            second.command.as_str(),
            second.sdkappid,
            second.identifier.as_deref(),
            &second.body,
            second.error_code
        ),
        ("get_callback", None, Some("x"), &None, 60002)
    );
    assert!(requests[2].at >= requests[1].at && requests[1].at >= requests[0].at);
    emulator.shutdown().await;
}

#[tokio::test]
async fn recorded_requests_do_not_show_tokens_in_debug_output() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    let body = json!({"Token": EMULATOR_TOKEN, "IsTokenEnable": true}).to_string();
    client.call("set_callback_token", &body).await;
    let request: RecordedRequest = emulator.requests().remove(0);
    assert_eq!(request.body.as_ref().unwrap()["Token"], EMULATOR_TOKEN);
    let debug = format!("{request:?} {:?}", emulator.state());
    assert!(!debug.contains(EMULATOR_TOKEN), "{debug}");
    assert!(!debug.contains(SECRET_KEY), "{debug}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn persist_to_writes_the_state_file_after_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let options = Options {
        persist_to: Some(path.clone()),
        ..Options::default()
    };
    let emulator = start_emulator(seeded_state(), options).await;
    let client = Client::new(&emulator);
    // Reads do not write.
    client.call("get_callback", "{}").await;
    assert!(!path.exists());

    client.call("set_callback", CALLBACK).await;
    assert_eq!(State::load(&path).unwrap(), emulator.state());
    assert!(
        State::load(&path).unwrap().apps[&SDKAPPID]
            .callback
            .is_some()
    );
    let body = json!({"Token": EMULATOR_TOKEN, "IsTokenEnable": true}).to_string();
    client.call("set_callback_token", &body).await;
    assert_eq!(State::load(&path).unwrap(), emulator.state());

    emulator.update_state(|state| {
        state.apps.get_mut(&SDKAPPID).unwrap().callback = None;
    });
    let saved = State::load(&path).unwrap();
    assert!(saved.apps[&SDKAPPID].callback.is_none());
    assert!(saved.apps[&SDKAPPID].token.is_some());

    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["state.json"], "no temporary file is left behind");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_failed_state_write_answers_100001_and_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A path inside a directory that does not exist cannot be written.
    let options = Options {
        persist_to: Some(dir.path().join("missing").join("state.json")),
        ..Options::default()
    };
    let emulator = start_emulator(seeded_state(), options).await;
    let client = Client::new(&emulator);
    assert_fail(&client.call("set_callback", CALLBACK).await, 100001);
    assert_eq!(emulator.state(), seeded_state());
    emulator.shutdown().await;
}

#[tokio::test]
async fn update_state_changes_what_later_calls_see() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    assert_fail(&client.call("get_callback", "{}").await, 100301);
    emulator.update_state(|state| {
        state.apps.get_mut(&SDKAPPID).unwrap().callback = serde_json::from_str(CALLBACK).ok();
    });
    assert_ok(
        &client.call("get_callback", "{}").await,
        serde_json::from_str(CALLBACK).ok(),
    );
    emulator.shutdown().await;
}

/// Starts an emulator whose every request gets `kind`.
async fn always(kind: FaultKind, stall: Duration) -> Emulator {
    let options = Options {
        fault_rate: 1.0,
        fault_kinds: vec![kind],
        stall,
        ..Options::default()
    };
    start_emulator(seeded_state(), options).await
}

#[tokio::test]
async fn fault_bad_gateway_is_an_html_502_and_applies_nothing() {
    let emulator = always(FaultKind::BadGateway, Duration::ZERO).await;
    let client = Client::new(&emulator);
    let url = format!(
        "{}/v4/live_config/set_callback?{}",
        client.base,
        query(SDKAPPID, ADMIN, &client.sig, 1)
    );
    let response = client.http.post(url).body(CALLBACK).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert!(response.text().await.unwrap().contains("502 Bad Gateway"));
    assert_eq!(emulator.state(), seeded_state());
    let request = emulator.requests().remove(0);
    assert_eq!(request.fault, Some(FaultKind::BadGateway));
    assert_eq!(request.error_code, RecordedRequest::NO_ENVELOPE);
    emulator.shutdown().await;
}

#[tokio::test]
async fn fault_codes_100001_and_60007_apply_nothing() {
    for (kind, code) in [
        (FaultKind::InternalError, 100001),
        (FaultKind::RateLimited, 60007),
    ] {
        let emulator = always(kind, Duration::ZERO).await;
        let client = Client::new(&emulator);
        assert_fail(&client.call("set_callback", CALLBACK).await, code);
        assert_eq!(emulator.state(), seeded_state(), "{kind:?}");
        let request = emulator.requests().remove(0);
        assert_eq!((request.fault, request.error_code), (Some(kind), code));
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn fault_truncated_body_applies_the_operation_so_a_retry_sees_100300() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    emulator.script_faults([Some(FaultKind::TruncatedBody)]);
    let client = Client::new(&emulator);
    let (status, text) = client
        .raw(
            "set_callback",
            &query(SDKAPPID, ADMIN, &client.sig, 1),
            CALLBACK,
        )
        .await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with(r#"{"ErrorCode":0,"#), "{text}");
    assert!(emulator.state().apps[&SDKAPPID].callback.is_some());
    // The scripted fault is used up: the retry is answered normally, and the create it repeats
    // already happened.
    assert_fail(&client.call("set_callback", CALLBACK).await, 100300);
    let requests = emulator.requests();
    assert_eq!(
        (requests[0].fault, requests[0].error_code),
        (Some(FaultKind::TruncatedBody), 0)
    );
    assert_eq!((requests[1].fault, requests[1].error_code), (None, 100300));
    emulator.shutdown().await;
}

#[tokio::test]
async fn fault_stall_applies_the_operation_and_holds_the_answer() {
    // The client gives up after 1 s, well before the 2 s stall ends, and long enough that the
    // request has certainly been processed by then on a loaded machine.
    let emulator = always(FaultKind::Stall, Duration::from_secs(2)).await;
    let client = Client::new(&emulator);
    let url = format!(
        "{}/v4/live_config/set_callback?{}",
        client.base,
        query(SDKAPPID, ADMIN, &client.sig, 1)
    );
    // A client with a short timeout gives up, yet the create took effect.
    let error = client
        .http
        .post(&url)
        .body(CALLBACK)
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(emulator.state().apps[&SDKAPPID].callback.is_some());
    // A patient client gets the normal answer after the stall.
    let started = Instant::now();
    let answer = client.call("get_callback", "{}").await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_ok(&answer, serde_json::from_str(CALLBACK).ok());
    assert_eq!(emulator.requests()[0].fault, Some(FaultKind::Stall));
    emulator.shutdown().await;
}

#[tokio::test]
async fn random_faults_at_rate_one_produce_every_kind() {
    let options = Options {
        fault_rate: 1.0,
        fault_seed: Some(3),
        stall: Duration::from_millis(1),
        ..Options::default()
    };
    let emulator = start_emulator(seeded_state(), options).await;
    let client = Client::new(&emulator);
    for _ in 0..40 {
        client
            .raw(
                "get_callback",
                &query(SDKAPPID, ADMIN, &client.sig, 1),
                "{}",
            )
            .await;
    }
    let faults: Vec<_> = emulator.requests().iter().map(|r| r.fault).collect();
    assert!(faults.iter().all(Option::is_some));
    for kind in FaultKind::ALL {
        assert!(
            faults.contains(&Some(kind)),
            "{kind:?} not among {faults:?}"
        );
    }
    emulator.shutdown().await;
}

/// `--latency-ms` holds each answer until its deadline and little past it: over many requests,
/// sent alternately to a delayed emulator and an undelayed one (so that both meet the same load),
/// no answer comes early, and the median delay beyond the undelayed round trip stays well under
/// the millisecond that Tokio's timer alone overshoots by. A machine busy with other tests can
/// stall any one series, so the best of three series must meet the bound: an emulator that
/// overshoots misses it in every series.
#[tokio::test]
async fn latency_delays_every_answer_and_overshoots_by_a_fraction_of_a_millisecond() {
    const LATENCY: Duration = Duration::from_millis(20);
    const ROUNDS: usize = 40;
    const SERIES: usize = 3;
    const BOUND: Duration = Duration::from_micros(600);
    let delayed = start_emulator(
        seeded_state(),
        Options {
            latency: LATENCY,
            ..Options::default()
        },
    )
    .await;
    let undelayed = start_emulator(seeded_state(), Options::default()).await;
    let (slow, fast) = (Client::new(&delayed), Client::new(&undelayed));
    let timed = async |client: &Client| {
        let started = Instant::now();
        assert_fail(&client.call("get_callback", "{}").await, 100301);
        started.elapsed()
    };
    // Warm both connections up, so that neither count holds a TCP handshake.
    timed(&slow).await;
    timed(&fast).await;
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let mut overshoots = Vec::new();
    for _ in 0..SERIES {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            with.push(timed(&slow).await);
            without.push(timed(&fast).await);
        }
        assert!(
            with.iter().all(|t| *t >= LATENCY),
            "an answer came early: {with:?}"
        );
        let slowest = with.iter().max().copied().unwrap_or_default();
        let overshoot = median(&mut with).saturating_sub(median(&mut without) + LATENCY);
        overshoots.push((overshoot, slowest));
        // Met: a small median overshoot and no answer held far too long.
        if overshoot < BOUND && slowest < LATENCY * 5 {
            break;
        }
    }
    assert!(
        overshoots
            .iter()
            .any(|(overshoot, slowest)| *overshoot < BOUND && *slowest < LATENCY * 5),
        "(median overshoot, slowest answer) of every series: {overshoots:?}"
    );
    eprintln!("latency: (median overshoot, slowest answer) per series {overshoots:?}");
    delayed.shutdown().await;
    undelayed.shutdown().await;
}

/// The flag the soak reads to tell a write that took effect from one that did not is what the
/// emulator does: each fault kind, forced on a create, changes the state exactly when it says
/// it applies the operation.
#[tokio::test]
async fn each_fault_applies_the_operation_exactly_when_it_says_so() {
    for kind in FaultKind::ALL {
        let emulator = always(kind, Duration::from_millis(1)).await;
        let client = Client::new(&emulator);
        client
            .raw(
                "set_callback",
                &query(SDKAPPID, ADMIN, &client.sig, 1),
                CALLBACK,
            )
            .await;
        let changed = emulator.state() != seeded_state();
        assert_eq!(changed, kind.applies_operation(), "{kind:?}");
        emulator.shutdown().await;
    }
}

/// A cut-short `get_callback_token` answer still carries part of the token, so that the leak
/// sweep's damaged answers test a client that might log what it could not parse.
#[tokio::test]
async fn a_cut_short_token_answer_carries_part_of_the_token() {
    let emulator = always(FaultKind::TruncatedBody, Duration::ZERO).await;
    emulator.update_state(|s| {
        s.apps.get_mut(&SDKAPPID).unwrap().token = crate::support::token(EMULATOR_TOKEN, true);
    });
    let client = Client::new(&emulator);
    let (status, text) = client
        .raw(
            "get_callback_token",
            &query(SDKAPPID, ADMIN, &client.sig, 1),
            "{}",
        )
        .await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.contains(&EMULATOR_TOKEN[..8]), "{text}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_stalled_answer() {
    let emulator = always(FaultKind::Stall, Duration::from_secs(30)).await;
    let client = Client::new(&emulator);
    let url = format!(
        "{}/v4/live_config/get_callback?{}",
        client.base,
        query(SDKAPPID, ADMIN, &client.sig, 1)
    );
    let pending = tokio::spawn(client.http.post(url).body("{}").send());
    // Wait until the stalled request has arrived.
    while emulator.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    emulator.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The stalled request was answered when the server stopped.
    let response = pending.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn answers_never_contain_the_secret_key_the_usersig_or_the_token() {
    let emulator = start_emulator(seeded_state(), Options::default()).await;
    let client = Client::new(&emulator);
    let token = json!({"Token": EMULATOR_TOKEN, "IsTokenEnable": "yes"}).to_string();
    let wrong = usersig::generate_now(SECRET_KEY, SDKAPPID, "someone", 300);
    let mut texts = Vec::new();
    for (command, query, body) in [
        (
            "set_callback_token",
            query(SDKAPPID, ADMIN, &client.sig, 1),
            token.as_str(),
        ),
        ("get_callback", query(SDKAPPID, ADMIN, &wrong, 1), "{}"),
        (
            "get_callback",
            query(SDKAPPID, ADMIN, &client.sig[..40], 1),
            "{}",
        ),
        (
            "get_callback",
            format!("sdkappid={SDKAPPID}&usersig={}", client.sig),
            "{}",
        ),
    ] {
        texts.push(client.raw(command, &query, body).await.1);
    }
    for text in texts {
        for secret in [
            SECRET_KEY,
            EMULATOR_TOKEN,
            &client.sig,
            &wrong,
            &client.sig[..40],
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn binds_what_listen_says() {
    let emulator = Emulator::start(seeded_state(), Options::default())
        .await
        .unwrap();
    assert!(emulator.local_addr().ip().is_loopback());
    assert_ne!(emulator.local_addr().port(), 0);
    assert_eq!(
        emulator.base_url(),
        format!("http://127.0.0.1:{}", emulator.local_addr().port())
    );
    emulator.shutdown().await;
}

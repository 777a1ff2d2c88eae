//! `livehook probe`, `plan --probe` and `apply --probe` against a receiver started here on
//! 127.0.0.1: every request is checked against what Tencent sends (query, `Sign`, `RequestTime`
//! window, body shape), every verdict is asserted, and no token or `Sign` reaches any output.

use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use livehook::emulator::State;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::probe_receiver::{Receiver, Seen};
use crate::support::{
    CREATE_ROOM, ClosedPort, DESTROY_ROOM, PROBE_TOKEN, PROBE_URL_KEY, SDKAPPID, SECRET_KEY,
    closed_port, livehook, setup, state_with_apps, stderr, stdout, writes,
};
use crate::tls::TestPki;

const END_BATTLE: &str = "Live.CallbackAfterEndBattle";
const SEND_GIFT: &str = "Live.CallbackBeforeSendGift";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Asserts that `seen` is a callback exactly as Tencent sends one for `command`: the query in
/// Tencent's order, a `Sign` of `token` and a `RequestTime` within Tencent's ±60 s window when a
/// token is given (neither otherwise), and a JSON body of the documented shape with synthetic
/// identifiers.
fn assert_tencent_shaped(seen: &Seen, sdkappid: u64, command: &str, token: Option<&str>) {
    let keys: Vec<&str> = seen.query.iter().map(|(k, _)| k.as_str()).collect();
    let mut expected = vec![
        "SdkAppid",
        "CallbackCommand",
        "contenttype",
        "ClientIP",
        "OptPlatform",
    ];
    if token.is_some() {
        expected.extend(["Sign", "RequestTime"]);
    }
    assert_eq!(keys, expected, "{seen:?}");
    assert_eq!(seen.param("SdkAppid"), Some(sdkappid.to_string().as_str()));
    assert_eq!(seen.param("CallbackCommand"), Some(command));
    assert_eq!(seen.param("contenttype"), Some("json"));
    assert_eq!(seen.param("ClientIP"), Some("192.0.2.1"));
    assert_eq!(seen.param("OptPlatform"), Some("RESTAPI"));
    if let Some(token) = token {
        let time = seen.param("RequestTime").unwrap();
        let seconds: i64 = time.parse().unwrap();
        assert!((now_secs() - seconds).abs() <= 60, "RequestTime {time}");
        let expected = format!("{:x}", Sha256::digest(format!("{token}{time}").as_bytes()));
        assert_eq!(seen.param("Sign"), Some(expected.as_str()));
    }
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["CallbackCommand"], command);
    assert_eq!(body["Operator_Account"], "livehook-probe");
    let event_ms = body["EventTime"].as_i64().unwrap();
    assert!((now_secs() * 1000 - event_ms).abs() <= 60_000, "{body}");
    let room_id = body["RoomId"]
        .as_str()
        .or(body["RoomInfo"]["RoomId"].as_str())
        .unwrap();
    assert!(room_id.starts_with("livehook-probe-"), "{body}");
    if command == CREATE_ROOM || command == DESTROY_ROOM {
        let info = body["RoomInfo"].as_object().unwrap();
        let fields: Vec<&str> = info.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "RoomId",
                "RoomName",
                "RoomType",
                "Owner_Account",
                "MaxMemberCount",
                "IsMessageDisabled",
                "CustomInfo",
                "IsSeatEnabled",
                "TakeSeatMode",
                "MaxSeatCount",
                "CreateTime",
                "IsPublicVisible",
                "CoverURL",
                "Category"
            ]
        );
    }
    if command == DESTROY_ROOM {
        assert_eq!(body["EventType"], "DestroyByUser");
        let statistic: Vec<&str> = body["Statistic"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            statistic,
            [
                "TotalViewers",
                "TotalGiftsSent",
                "TotalGiftCoins",
                "TotalUniqueGiftSenders",
                "TotalLikesReceived"
            ]
        );
    }
}

/// Output with what changes from run to run masked: receivers' addresses, latencies, dates.
fn masked(text: &str, receivers: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (base, label) in receivers {
        text = text.replace(base, label);
    }
    let latency = regex::Regex::new(r"\d+ ms").unwrap();
    let seconds = regex::Regex::new(r"after \d+\.\d s").unwrap();
    let date = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    // The fresh random token of `::stop-commands::`.
    let stop = regex::Regex::new(r"\b[0-9a-f]{32}\b").unwrap();
    let text = stop.replace_all(&text, "<token>");
    let text = latency.replace_all(&text, "<n> ms");
    let text = seconds.replace_all(&text, "after <n> s");
    let text = date.replace_all(&text, "<date>");
    port.replace_all(&text, "127.0.0.1:<port>").into_owned()
}

/// A receiver, and a directory whose `livehook.yaml` is [`verdicts_yaml`] with a closed port as
/// the refused app's URL; the port stays closed while the returned [`ClosedPort`] lives.
async fn verdicts_setup() -> (Receiver, tempfile::TempDir, ClosedPort) {
    let r = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port();
    let refused = format!("http://127.0.0.1:{}/hook", closed.port);
    std::fs::write(
        dir.path().join("livehook.yaml"),
        verdicts_yaml(&r, &refused),
    )
    .unwrap();
    (r, dir, closed)
}

fn verdicts_yaml(r: &Receiver, refused: &str) -> String {
    format!(
        "version: 1
defaults:
  region: singapore
apps:
  a-ok:
    sdkappid: 1400000001
    callback: {{url: {ok}, commands: [{DESTROY_ROOM}, {CREATE_ROOM}]}}
    token: {{value_env: PROBE_TOKEN}}
  b-status:
    sdkappid: 1400000002
    callback: {{url: {status}, commands: [{CREATE_ROOM}]}}
  c-html:
    sdkappid: 1400000003
    callback: {{url: {html}, commands: [{CREATE_ROOM}]}}
  d-code:
    sdkappid: 1400000004
    callback: {{url: {code}, commands: [{SEND_GIFT}, {END_BATTLE}]}}
    token: {{value_env: PROBE_TOKEN, enabled: true}}
  e-redirect:
    sdkappid: 1400000005
    callback: {{url: {redirect}, commands: [{CREATE_ROOM}]}}
    token: {{value_env: PROBE_TOKEN}}
  f-refused:
    sdkappid: 1400000006
    callback: {{url: {refused}, commands: [{CREATE_ROOM}]}}
  g-gift-only:
    sdkappid: 1400000007
    callback: {{url: {ok}, commands: [{SEND_GIFT}]}}
  h-slow:
    sdkappid: 1400000008
    callback: {{url: {slow}, commands: [{CREATE_ROOM}]}}
  i-token-off:
    sdkappid: 1400000009
    callback: {{url: {unsigned}, commands: [{CREATE_ROOM}]}}
    token: {{value_env: UNSET_TOKEN, enabled: false}}
  j-unmanaged:
    sdkappid: 1400000010
  k-absent:
    sdkappid: 1400000011
    callback: absent
  l-huge:
    sdkappid: 1400000012
    callback: {{url: {huge}, commands: [{CREATE_ROOM}]}}
",
        ok = r.url("/ok"),
        status = r.url("/status"),
        html = r.url("/html"),
        code = r.url("/code"),
        redirect = r.url("/redirect"),
        slow = r.url("/slow"),
        unsigned = r.url("/unsigned"),
        huge = r.url("/huge"),
    )
}

fn probe(dir: &std::path::Path, args: &[&str]) -> Output {
    livehook(dir, args, &[("PROBE_TOKEN", PROBE_TOKEN)])
}

/// The Signs the receiver was sent: no output may hold one.
fn signs(receivers: &[&Receiver]) -> Vec<String> {
    receivers
        .iter()
        .flat_map(|r| r.seen())
        .filter_map(|s| s.param("Sign").map(str::to_owned))
        .collect()
}

/// Neither the token (nor any eight characters of it) nor a Sign is in `text`.
fn assert_no_token_or_sign(label: &str, text: &str, signs: &[String]) {
    let chars: Vec<char> = PROBE_TOKEN.chars().collect();
    for run in chars.windows(8) {
        let run: String = run.iter().collect();
        assert!(
            !text.contains(&run),
            "{label} holds {run:?} of the token:\n{text}"
        );
    }
    for sign in signs {
        assert!(
            !text.contains(sign.as_str()),
            "{label} holds a Sign:\n{text}"
        );
        assert!(
            !text.contains(&sign[..16]),
            "{label} holds part of a Sign:\n{text}"
        );
    }
    assert!(!text.contains("Sign="), "{label} holds a query:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answer_gets_tencents_verdict_and_every_probe_is_shaped_as_tencents_callbacks() {
    let (r, dir, _closed) = verdicts_setup().await;

    let output = probe(dir.path(), &["probe", "-v"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let receivers = [(r.base_url.as_str(), "http://RECEIVER")];
    insta::assert_snapshot!("probe_text_verdicts", masked(&stdout(&output), &receivers));

    // One request per probed app, never retried; the skipped, unmanaged and absent apps get none.
    let paths: std::collections::BTreeMap<String, usize> =
        r.seen().iter().fold(Default::default(), |mut m, s| {
            *m.entry(s.path.clone()).or_default() += 1;
            m
        });
    let expected: std::collections::BTreeMap<String, usize> = [
        "/ok",
        "/status",
        "/html",
        "/code",
        "/redirect",
        "/slow",
        "/unsigned",
        "/huge",
    ]
    .iter()
    .map(|p| (p.to_string(), 1))
    .collect();
    assert_eq!(paths, expected);
    assert_tencent_shaped(&r.only("/ok"), 1400000001, DESTROY_ROOM, Some(PROBE_TOKEN));
    assert_tencent_shaped(&r.only("/status"), 1400000002, CREATE_ROOM, None);
    assert_tencent_shaped(&r.only("/code"), 1400000004, END_BATTLE, Some(PROBE_TOKEN));
    assert_tencent_shaped(
        &r.only("/redirect"),
        1400000005,
        CREATE_ROOM,
        Some(PROBE_TOKEN),
    );
    // A disabled token signs nothing (and its unset variable is not needed).
    assert_tencent_shaped(&r.only("/unsigned"), 1400000009, CREATE_ROOM, None);

    // The -v log names each probe by its URL as configured, never the query it carried.
    let log = stderr(&output);
    assert!(log.contains("probe sent"), "{log}");
    for (label, text) in [("stdout", stdout(&output)), ("stderr", log)] {
        assert_no_token_or_sign(label, &text, &signs(&[&r]));
        assert!(
            !text.contains('\u{1b}'),
            "{label} holds a raw escape:\n{text}"
        );
        assert!(
            !text.contains('\u{202e}'),
            "{label} holds a raw bidi control:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_markdown_and_github_reports_and_the_command_flag() {
    let (r, dir, _closed) = verdicts_setup().await;
    let some = [
        "--target",
        "a-ok",
        "--target",
        "b-status",
        "--target",
        "d-code",
        "--target",
        "g-gift-only",
    ];
    let receivers = [(r.base_url.as_str(), "http://RECEIVER")];

    let json = probe(
        dir.path(),
        &[&["probe", "--format", "json"][..], &some].concat(),
    );
    assert_eq!(json.status.code(), Some(1), "{}", stderr(&json));
    let doc: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(doc["format_version"], "1.0");
    let apps = doc["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 4);
    for app in apps {
        let keys: Vec<&str> = app
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "name",
                "sdkappid",
                "url",
                "command",
                "verdict",
                "http_status",
                "latency_ms",
                "problem",
                "certificate_expires"
            ]
        );
    }
    assert_eq!(apps[0]["verdict"], "ok");
    assert_eq!(apps[0]["http_status"], 200);
    assert!(apps[0]["latency_ms"].is_u64());
    assert_eq!(apps[0]["problem"], Value::Null);
    assert_eq!(apps[0]["certificate_expires"], Value::Null);
    assert_eq!(apps[1]["verdict"], "failed");
    assert_eq!(apps[1]["http_status"], 500);
    assert_eq!(apps[1]["problem"], "HTTP 500: Tencent needs HTTP 200");
    assert_eq!(apps[2]["command"], END_BATTLE);
    assert!(
        apps[2]["problem"]
            .as_str()
            .unwrap()
            .starts_with("ErrorCode 1 "),
        "{}",
        apps[2]
    );
    assert_eq!(apps[3]["verdict"], "skipped");
    assert_eq!(apps[3]["latency_ms"], Value::Null);
    assert_eq!(
        doc["summary"],
        serde_json::json!({"ok": 1, "failed": 2, "skipped": 1})
    );

    let markdown = probe(
        dir.path(),
        &[&["probe", "--format", "markdown"][..], &some].concat(),
    );
    assert_eq!(markdown.status.code(), Some(1));
    insta::assert_snapshot!("probe_markdown", masked(&stdout(&markdown), &receivers));

    let github = probe(
        dir.path(),
        &[&["probe", "--format", "github"][..], &some].concat(),
    );
    assert_eq!(github.status.code(), Some(1));
    let text = stdout(&github);
    insta::assert_snapshot!("probe_github", masked(&text, &receivers));
    // The annotations point at the failed apps' `url:` lines (inside the flow mappings here).
    let workflow: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("::stop-commands::"))
        .collect();
    assert_eq!(workflow.len(), 2, "{text}");
    assert!(
        workflow[0].starts_with("::error file=livehook.yaml,line=11,"),
        "{text}"
    );
    assert!(
        workflow[1].starts_with("::error file=livehook.yaml,line=17,"),
        "{text}"
    );

    // --command sends the named word, a before-callback included, to every app probed.
    let named = probe(
        dir.path(),
        &["probe", "--target", "g-gift-only", "--command", SEND_GIFT],
    );
    assert_eq!(named.status.code(), Some(0), "{}", stdout(&named));
    let gift: Vec<Seen> = r
        .seen()
        .into_iter()
        .filter(|s| s.param("SdkAppid") == Some("1400000007"))
        .collect();
    assert_eq!(gift.len(), 1);
    assert_tencent_shaped(&gift[0], 1400000007, SEND_GIFT, None);

    let bad = probe(dir.path(), &["probe", "--command", "CreateRoom"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("--command `CreateRoom` is not a command word; nothing was sent"),
        "{}",
        stderr(&bad)
    );

    // Apps without a desired callback are not probed at all.
    let nothing = probe(
        dir.path(),
        &["probe", "--target", "j-unmanaged", "--target", "k-absent"],
    );
    assert_eq!(nothing.status.code(), Some(0), "{}", stderr(&nothing));
    assert_eq!(
        stdout(&nothing),
        "Nothing to probe. No app declares a callback URL to probe.\n"
    );

    // A token variable that is unset is the same error as plan's, before anything is sent.
    let before = r.seen().len();
    let unset = livehook(dir.path(), &["probe", "--target", "a-ok"], &[]);
    assert_eq!(unset.status.code(), Some(1));
    assert!(
        stderr(&unset)
            .contains("environment variable PROBE_TOKEN is not set (needed by app `a-ok`)"),
        "{}",
        stderr(&unset)
    );
    assert_eq!(r.seen().len(), before);

    for output in [&json, &markdown, &github, &named] {
        for text in [stdout(output), stderr(output)] {
            assert_no_token_or_sign("output", &text, &signs(&[&r]));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_receivers_untrusted_expired_wrong_host_and_expiring_soon() {
    let day = std::time::Duration::from_secs(86_400);
    let since_epoch = std::time::Duration::from_secs(now_secs() as u64);
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let loopback = || vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    // One CA, trusted through SSL_CERT_FILE, signs the expired, the wrong-host and the
    // expiring certificates; the untrusted receiver's CA is trusted by nobody.
    let trusted = TestPki::new();
    let ca_dir = trusted.dir.path().to_owned();
    let expired = TestPki::with_leaf(loopback(), |p| {
        p.not_before = epoch + (since_epoch - 30 * day);
        p.not_after = epoch + (since_epoch - day);
    });
    let expiring = TestPki::with_leaf(loopback(), |p| {
        p.not_before = epoch + (since_epoch - day);
        p.not_after = epoch + (since_epoch + 5 * day);
    });
    let wrong_host = TestPki::with_leaf(vec!["hooks.example.com".to_owned()], |_| {});
    // Self-signed, by an issuer no trusted CA shares a name with.
    let untrusted = rcgen::generate_simple_self_signed(loopback()).unwrap();
    let untrusted = livehook::emulator::tls_server_config(
        untrusted.cert.pem().as_bytes(),
        untrusted.signing_key.serialize_pem().as_bytes(),
        "cert",
        "key",
    )
    .unwrap();
    // Each certificate under its own CA: the three CAs livehook should trust go in one file.
    let bundle = ca_dir.join("bundle.pem");
    let cas: String = [&trusted, &expired, &expiring, &wrong_host]
        .iter()
        .map(|pki| std::fs::read_to_string(pki.ca_file()).unwrap())
        .collect();
    std::fs::write(&bundle, cas).unwrap();

    let ok = Receiver::start_tls(trusted.server_config()).await;
    let expired_r = Receiver::start_tls(expired.server_config()).await;
    let expiring_r = Receiver::start_tls(expiring.server_config()).await;
    let wrong_r = Receiver::start_tls(wrong_host.server_config()).await;
    let untrusted_r = Receiver::start_tls(untrusted).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        format!(
            "version: 1
defaults:
  region: singapore
apps:
  expired:
    sdkappid: 1400000001
    callback: {{url: {}, commands: [{CREATE_ROOM}]}}
  expiring:
    sdkappid: 1400000002
    callback: {{url: {}, commands: [{CREATE_ROOM}]}}
  trusted:
    sdkappid: 1400000003
    callback: {{url: {}, commands: [{CREATE_ROOM}]}}
  untrusted:
    sdkappid: 1400000004
    callback: {{url: {}, commands: [{CREATE_ROOM}]}}
  wrong-host:
    sdkappid: 1400000005
    callback: {{url: {}, commands: [{CREATE_ROOM}]}}
",
            expired_r.url("/ok"),
            expiring_r.url("/ok"),
            ok.url("/ok"),
            untrusted_r.url("/ok"),
            wrong_r.url("/ok"),
        ),
    )
    .unwrap();
    let bundle_var = bundle.display().to_string();
    let output = livehook(dir.path(), &["probe"], &[("SSL_CERT_FILE", &bundle_var)]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("probe_tls", masked(&stdout(&output), &[]));
    // Only the handshakes that succeeded carried a request.
    assert_eq!(ok.seen().len(), 1);
    assert_eq!(expiring_r.seen().len(), 1);
    for refused in [&expired_r, &wrong_r, &untrusted_r] {
        assert!(refused.seen().is_empty());
    }

    let json = livehook(
        dir.path(),
        &[
            "probe", "--format", "json", "--target", "expiring", "--target", "trusted",
        ],
        &[("SSL_CERT_FILE", &bundle_var)],
    );
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let doc: Value = serde_json::from_str(&stdout(&json)).unwrap();
    let expires = doc["apps"][0]["certificate_expires"].as_str().unwrap();
    let in_five_days = humantime::format_rfc3339_seconds(SystemTime::now() + 5 * day).to_string();
    // The date the certificate ends, to the day (the test may straddle midnight only rarely).
    assert_eq!(expires[..10], in_five_days[..10], "{expires}");
    assert!(doc["apps"][1]["certificate_expires"].is_string());
}

fn plan_yaml(endpoint: &str, good: &str, bad: &str) -> String {
    format!(
        "version: 1
defaults:
  endpoint: {endpoint}
apps:
  bad-new:
    sdkappid: 1400000001
    callback: {{url: {bad}, commands: [{CREATE_ROOM}]}}
  good-new:
    sdkappid: 1400000002
    callback: {{url: {good}, commands: [{CREATE_ROOM}]}}
    token: {{value_env: PROBE_TOKEN}}
"
    )
}

fn run_with(dir: &std::path::Path, args: &[&str]) -> Output {
    livehook(
        dir,
        args,
        &[("TIM_SECRET_KEY", SECRET_KEY), ("PROBE_TOKEN", PROBE_TOKEN)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_probe_plan_and_apply_send_nothing_to_a_receiver() {
    let r = Receiver::start().await;
    let state: State = state_with_apps(&[(1400000001, SECRET_KEY), (1400000002, SECRET_KEY)]);
    let (good, bad) = (r.url("/ok"), r.url("/status"));
    let s = setup(state, |e| plan_yaml(e, &good, &bad)).await;
    let plan = run_with(s.dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let apply = run_with(s.dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert_eq!(writes(&s.emulator).len(), 3);
    assert!(r.seen().is_empty(), "{:?}", r.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_probe_shows_verdicts_and_apply_probe_writes_nothing_for_the_failing_app() {
    let r = Receiver::start().await;
    let state: State = state_with_apps(&[(1400000001, SECRET_KEY), (1400000002, SECRET_KEY)]);
    let (good, bad) = (r.url("/ok"), r.url("/status"));
    let s = setup(state, |e| plan_yaml(e, &good, &bad)).await;
    let receivers = [(r.base_url.as_str(), "http://RECEIVER")];
    let d = s.dir.path();

    // With -v, so that the logs are searched for the token and the Sign too.
    let plan = run_with(d, &["plan", "--probe", "-v"]);
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    insta::assert_snapshot!("plan_probe_text", masked(&stdout(&plan), &receivers));
    let json = run_with(d, &["plan", "--probe", "--format", "json"]);
    let doc: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(doc["apps"][0]["probe"]["verdict"], "failed");
    assert_eq!(doc["apps"][0]["probe"]["http_status"], 500);
    assert_eq!(doc["apps"][1]["probe"]["verdict"], "ok");
    assert!(doc["apps"][1]["probe"]["latency_ms"].is_u64());
    // A plan's GitHub annotations add an error at the failing app's `url:` line (line 7).
    let github = run_with(d, &["plan", "--probe", "--format", "github"]);
    assert_eq!(github.status.code(), Some(1));
    let annotations: Vec<String> = stdout(&github)
        .lines()
        .filter(|l| l.starts_with("::error"))
        .map(str::to_owned)
        .collect();
    assert_eq!(annotations.len(), 1, "{}", stdout(&github));
    assert!(
        annotations[0].starts_with(
            "::error file=livehook.yaml,line=7,col=21,title=livehook%3A the probe of bad-new failed::bad-new "
        ),
        "{}",
        annotations[0]
    );
    let markdown = run_with(d, &["plan", "--probe", "--format", "markdown"]);
    insta::assert_snapshot!(
        "plan_probe_markdown",
        masked(&stdout(&markdown), &receivers)
    );
    let good: Vec<Seen> = r.seen().into_iter().filter(|s| s.path == "/ok").collect();
    assert_eq!(good.len(), 4, "plan --probe in four formats");
    for seen in &good {
        assert_tencent_shaped(seen, 1400000002, CREATE_ROOM, Some(PROBE_TOKEN));
    }
    assert!(writes(&s.emulator).is_empty());

    // A saved plan probes again at apply time, after its stale check.
    let saved = run_with(d, &["plan", "--out", "plan.json"]);
    assert_eq!(saved.status.code(), Some(0), "{}", stderr(&saved));
    let probes_before = r.seen().len();
    let from_saved = run_with(d, &["apply", "--plan", "plan.json", "--probe", "-v"]);
    assert_eq!(from_saved.status.code(), Some(1), "{}", stderr(&from_saved));
    insta::assert_snapshot!(
        "apply_saved_probe_text",
        masked(&stdout(&from_saved), &receivers)
    );
    assert_eq!(r.seen().len(), probes_before + 2);
    let written: Vec<(String, u64)> = writes(&s.emulator);
    assert_eq!(
        written,
        [
            ("set_callback_token".to_owned(), 1400000002),
            ("set_callback".to_owned(), 1400000002)
        ]
    );

    // The failing app is still to create; apply --probe refuses it again and writes nothing.
    let apply = run_with(d, &["apply", "--probe", "--auto-approve", "-v"]);
    assert_eq!(apply.status.code(), Some(1), "{}", stderr(&apply));
    insta::assert_snapshot!("apply_probe_text", masked(&stdout(&apply), &receivers));
    assert_eq!(writes(&s.emulator), written);
    assert!(s.emulator.state().apps[&SDKAPPID].callback.is_none());

    for output in [&plan, &json, &github, &markdown, &from_saved, &apply] {
        for text in [stdout(output), stderr(output)] {
            assert_no_token_or_sign("output", &text, &signs(&[&r]));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_with_a_secret_is_sent_resolved_and_shown_as_its_template() {
    let r = Receiver::start().await;
    let state: State = state_with_apps(&[(1400000001, SECRET_KEY), (1400000002, SECRET_KEY)]);
    let good = format!("{}?key=${{PROBE_URL_KEY}}", r.url("/ok"));
    let bad = format!("{}?key=${{PROBE_URL_KEY}}", r.url("/code"));
    // Quoted: a flow mapping would end at the template's `}`.
    let quoted = |url: &str| format!("\"{url}\"");
    let s = setup(state, |e| plan_yaml(e, &quoted(&good), &quoted(&bad))).await;
    let env = [
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("PROBE_TOKEN", PROBE_TOKEN),
        ("PROBE_URL_KEY", PROBE_URL_KEY),
    ];
    let d = s.dir.path();
    let probe = livehook(d, &["probe", "-v"], &env);
    assert_eq!(probe.status.code(), Some(1), "{}", stderr(&probe));
    let plan = livehook(d, &["plan", "--probe", "--format", "json", "-v"], &env);
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    let seen = r.seen();
    assert_eq!(seen.len(), 4);
    for request in &seen {
        assert_eq!(
            request.query[0],
            ("key".to_owned(), PROBE_URL_KEY.to_owned())
        );
    }
    let doc: Value = serde_json::from_str(&stdout(&plan)).unwrap();
    assert_eq!(doc["apps"][1]["probe"]["url"], good.as_str());
    for output in [&probe, &plan] {
        for text in [stdout(output), stderr(output)] {
            assert!(text.contains("${PROBE_URL_KEY}"), "{text}");
            assert!(!text.contains(PROBE_URL_KEY), "{text}");
            assert_no_token_or_sign("output", &text, &signs(&[&r]));
        }
    }
    // The receiver's ErrorInfo echoes the Sign; a missing URL variable is named before sending.
    let before = r.seen().len();
    let missing = livehook(d, &["probe"], &env[..2]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains(
            "environment variable PROBE_URL_KEY is not set (needed by apps `bad-new`, `good-new`)"
        ),
        "{}",
        stderr(&missing)
    );
    assert_eq!(r.seen().len(), before);
}

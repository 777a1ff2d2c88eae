//! Forged saved plans: a plan file edited by anyone without the apps' secret keys — with its
//! checksum recomputed, as anyone can — is refused before any request, naming the file and the
//! app, and a listener on the host the forger names sees no connection at all.

use std::net::TcpListener;

use livehook::plan::plan_mac;
use livehook::plan::saved::{SavedPlan, checksum};
use livehook::tim::client::Secret;
use serde_json::{Value, json};

use crate::support::{
    APPLY_NEW_TOKEN, PUBLIC_KEY_SHAPED, SECRET_KEY, Setup, assert_no_secrets,
    four_apps_with_tokens, four_apps_with_tokens_yaml, livehook, setup, stderr, stdout,
};

/// The value the forger knows: `HOME` as the forged plan's `secret_key_env`.
const HOME: &str = "/home/forger";

fn run(s: &Setup, args: &[&str]) -> std::process::Output {
    livehook(
        s.dir.path(),
        args,
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", APPLY_NEW_TOKEN),
            ("OTHER_TOKEN", APPLY_NEW_TOKEN),
            ("HOME", HOME),
        ],
    )
}

/// A host the forger controls: a loopback listener that only counts connections.
pub(crate) struct ForgedHost(TcpListener);

impl ForgedHost {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        ForgedHost(listener)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    /// Connections made so far (accepted now; the kernel queued them).
    pub(crate) fn connections(&self) -> usize {
        std::iter::from_fn(|| self.0.accept().ok()).count()
    }
}

/// A genuine plan of the four apps (`create-me` first), the host, and the request count so far.
async fn planned() -> (Setup, String, ForgedHost) {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let plan = run(&s, &["plan", "--out", "plan.json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let good = std::fs::read_to_string(s.dir.path().join("plan.json")).unwrap();
    (s, good, ForgedHost::start())
}

/// `good` edited by `edit`, its checksum recomputed as a forger would; `resign` may then
/// recompute MACs with keys the forger knows.
fn forge(good: &str, edit: impl FnOnce(&mut Value), resign: impl FnOnce(&mut SavedPlan)) -> String {
    let mut value: Value = serde_json::from_str(good).unwrap();
    edit(&mut value);
    let mut plan: SavedPlan = serde_json::from_value(value).expect("the forgery is well formed");
    resign(&mut plan);
    plan.checksum = checksum(&plan);
    serde_json::to_string_pretty(&plan).unwrap()
}

/// Applies `forged` and checks it is refused before any request: exit 1, an error naming the
/// file and `app`, no request to the emulator and no connection to the forged host.
fn assert_refused(s: &Setup, host: &ForgedHost, forged: &str, app: &str) -> String {
    std::fs::write(s.dir.path().join("forged.json"), forged).unwrap();
    let requests = s.emulator.requests().len();
    let output = run(s, &["apply", "--plan", "forged.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let error = stderr(&output);
    assert!(error.contains("plan file forged.json"), "{error}");
    assert!(error.contains(&format!("app `{app}`")), "{error}");
    assert_no_secrets(&output);
    assert!(!error.contains(HOME), "{error}");
    assert_eq!(s.emulator.requests().len(), requests, "a request was sent");
    assert_eq!(host.connections(), 0, "the forged host was contacted");
    error
}

fn no_resign(_: &mut SavedPlan) {}

/// Edits `create-me`, the first app.
fn first_app(edit: impl FnOnce(&mut Value)) -> impl FnOnce(&mut Value) {
    |plan| edit(&mut plan["apps"][0])
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_pointed_at_another_host_is_refused() {
    let (s, good, host) = planned().await;
    let url = host.url();
    let forged = forge(
        &good,
        first_app(|app| app["location"] = json!({ "endpoint": url })),
        no_resign,
    );
    let error = assert_refused(&s, &host, &forged, "create-me");
    assert!(
        error.contains("authentication code does not match"),
        "{error}"
    );
}

/// The MAC covers the fingerprints of a `${NAME}` callback URL too: a forger who swaps the
/// desired URL for a template (to make apply send a resolved secret elsewhere) or edits a
/// fingerprint (to pass the re-check with another value) is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_callback_url_template_or_its_fingerprints_edited_are_refused() {
    let (s, good, host) = planned().await;
    let fingerprint = format!("hmac-sha256:{}", "0".repeat(64));
    let edits: [(&str, &str, Value); 3] = [
        (
            "desired",
            "callback",
            json!({"url": "https://evil.example.com/?k=${HOME}", "commands": []}),
        ),
        ("desired", "url_fingerprint", json!(fingerprint)),
        ("live", "url_fingerprint", json!(fingerprint)),
    ];
    for (part, field, value) in edits {
        let forged = forge(&good, first_app(|app| app[part][field] = value), |plan| {
            // The live state's own fingerprint, as a forger would recompute it.
            for app in &mut plan.apps {
                app.live_fingerprint = app.live.fingerprint();
            }
        });
        let error = assert_refused(&s, &host, &forged, "create-me");
        assert!(
            error.contains("authentication code does not match"),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_instead_of_the_endpoint_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| app["location"] = json!({ "region": "singapore" })),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_sdkappid_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| app["sdkappid"] = json!(1400000002)),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_identifier_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| app["identifier"] = json!("forger")),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_secret_key_variable_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| app["secret_key_env"] = json!("HOOK_TOKEN")),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guessable_secret_key_variable_with_the_mac_recomputed_is_refused() {
    let (s, good, host) = planned().await;
    let url = host.url();
    let forged = forge(
        &good,
        first_app(|app| {
            app["secret_key_env"] = json!("HOME");
            app["location"] = json!({ "endpoint": url });
        }),
        |plan| plan.apps[0].mac = plan_mac::app_mac(&plan.mac_record(0), &Secret::new(HOME.into())),
    );
    let error = assert_refused(&s, &host, &forged, "create-me");
    assert!(error.contains("HOME"), "{error}");
    assert!(error.contains("does not hold a secret key"), "{error}");
}

/// The shape rule cannot stop a forger who finds such a variable: the MAC then holds, so what
/// keeps the UserSig and the token home is that a plan cannot pick a host that is neither
/// Tencent's nor this machine. The forged host is reached through a proxy on loopback, which
/// counts the connection livehook would make.
#[tokio::test(flavor = "multi_thread")]
async fn a_public_key_shaped_variable_signs_but_cannot_send_anything_to_the_forgers_host() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| {
            app["secret_key_env"] = json!("PUBLIC_VALUE");
            app["location"] = json!({ "endpoint": "https://hooks.forger.example" });
        }),
        |plan| {
            let key = Secret::new(PUBLIC_KEY_SHAPED.into());
            plan.apps[0].mac = plan_mac::app_mac(&plan.mac_record(0), &key);
        },
    );
    std::fs::write(s.dir.path().join("forged.json"), forged).unwrap();
    let proxy = host.url();
    let requests = s.emulator.requests().len();
    let output = livehook(
        s.dir.path(),
        &["apply", "--plan", "forged.json"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", APPLY_NEW_TOKEN),
            ("PUBLIC_VALUE", PUBLIC_KEY_SHAPED),
            ("HTTPS_PROXY", &proxy),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let error = stderr(&output);
    assert!(
        error.contains(
            "endpoint `https://hooks.forger.example` (named by app `create-me` in forged.json) is \
             neither one of Tencent's REST domains nor this machine"
        ),
        "{error}"
    );
    assert_no_secrets(&output);
    assert_eq!(s.emulator.requests().len(), requests, "a request was sent");
    assert_eq!(host.connections(), 0, "the forged host was contacted");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_token_variable_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| app["desired"]["token"]["value_env"] = json!("OTHER_TOKEN")),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_desired_callback_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| app["desired"]["callback"]["url"] = json!("https://forged.example/hook")),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_calls_are_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        first_app(|app| {
            let calls = app["calls"].as_array_mut().unwrap();
            assert!(!calls.is_empty());
            calls.pop();
        }),
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_added_app_is_refused() {
    let (s, good, host) = planned().await;
    let url = host.url();
    let forged = forge(
        &good,
        |plan| {
            let mut added = plan["apps"][0].clone();
            added["name"] = json!("added");
            added["sdkappid"] = json!(1400000099);
            added["location"] = json!({ "endpoint": url });
            plan["apps"].as_array_mut().unwrap().push(added);
        },
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_app_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        |plan| {
            plan["apps"].as_array_mut().unwrap().pop();
        },
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicated_app_is_refused() {
    let (s, good, host) = planned().await;
    let forged = forge(
        &good,
        |plan| {
            let copy = plan["apps"][0].clone();
            plan["apps"].as_array_mut().unwrap().push(copy);
        },
        no_resign,
    );
    assert_refused(&s, &host, &forged, "create-me");
}

/// A version 2 file reads a callback URL as the URL itself; read as a template, a `$` in it would
/// mean something else, so it is refused rather than reinterpreted.
#[tokio::test(flavor = "multi_thread")]
async fn a_version_2_plan_is_refused_with_the_reason() {
    let (s, good, host) = planned().await;
    let old = good.replace("\"format_version\": 3", "\"format_version\": 2");
    std::fs::write(s.dir.path().join("old.json"), old).unwrap();
    let output = run(&s, &["apply", "--plan", "old.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is a livehook plan of format version 2; this livehook")
            && stderr(&output).contains(
                "reads version 3 (version 2 plans read callback urls as written, not as templates)"
            ),
        "{}",
        stderr(&output)
    );
    assert_eq!(host.connections(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_1_plan_is_refused_as_unauthenticated() {
    let (s, good, host) = planned().await;
    let old = good.replace("\"format_version\": 3", "\"format_version\": 1");
    std::fs::write(s.dir.path().join("old.json"), old).unwrap();
    let output = run(&s, &["apply", "--plan", "old.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("version 1 plans are not authenticated"),
        "{}",
        stderr(&output)
    );
    assert_eq!(host.connections(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_genuine_plan_still_applies() {
    let (s, good, _host) = planned().await;
    let resaved = forge(&good, |_| {}, no_resign);
    std::fs::write(s.dir.path().join("same.json"), resaved).unwrap();
    let output = run(&s, &["apply", "--plan", "same.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

//! The webhook token: planned and applied without its value ever reaching an output.

use livehook::emulator::State;

use crate::support::{
    CREATE_ROOM, SECRET_KEY, Setup, callback, live_app, livehook, setup, stderr, stdout, token,
};

/// Distinctive values, so that any leak is found by a plain substring search.
pub(crate) const DESIRED_TOKEN: &str = "desired-TOKEN-value-5c1e";
pub(crate) const LIVE_TOKEN: &str = "live-TOKEN-value-88ad";
pub(crate) const OTHER_LIVE_TOKEN: &str = "other-live-TOKEN-0b7e";

fn state() -> State {
    let app = |tok| live_app(callback("https://hooks.example.com/a", &[CREATE_ROOM]), tok);
    State {
        apps: [
            (1400000001, app(token(LIVE_TOKEN, true))),
            (1400000002, app(token(OTHER_LIVE_TOKEN, false))),
            (1400000003, app(None)),
        ]
        .into_iter()
        .collect(),
    }
}

fn yaml(endpoint: &str) -> String {
    format!(
        "version: 1
defaults:
  endpoint: {endpoint}
apps:
  rotate:
    sdkappid: 1400000001
    token: {{value_env: HOOK_TOKEN, enabled: true}}
  drop:
    sdkappid: 1400000002
    token: absent
  add:
    sdkappid: 1400000003
    callback: {{url: https://hooks.example.com/a, commands: [{CREATE_ROOM}]}}
    token: {{value_env: HOOK_TOKEN, enabled: false}}
"
    )
}

fn run(s: &Setup, args: &[&str]) -> std::process::Output {
    livehook(
        s.dir.path(),
        args,
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", DESIRED_TOKEN),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn token_changes_are_planned_with_keyed_fingerprints_only() {
    let s = setup(state(), yaml).await;
    let output = run(&s, &["plan"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("token_plan_text", stdout(&output));
    // Plan reads the token only where it is managed, and never writes.
    let reads: Vec<String> = s
        .emulator
        .requests()
        .iter()
        .map(|r| r.command.clone())
        .filter(|c| c == "get_callback_token")
        .collect();
    assert_eq!(reads.len(), 3);

    let json = run(&s, &["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rotate = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "rotate")
        .unwrap();
    assert_eq!(rotate["action"], "update");
    assert_eq!(rotate["token"]["action"], "update");
    assert_eq!(
        rotate["calls"][0]["body"],
        serde_json::json!({"Token": "(sensitive)", "IsTokenEnable": true})
    );
    assert!(
        rotate["token"]["before"]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enabled_change_alone_shows_normally() {
    let s = setup(state(), |endpoint| {
        yaml(endpoint).replace(
            "token: {value_env: HOOK_TOKEN, enabled: true}",
            "token: {value_env: LIVE, enabled: false}",
        )
    })
    .await;
    let output = livehook(
        s.dir.path(),
        &["plan", "--target", "rotate"],
        &[("TIM_SECRET_KEY", SECRET_KEY), ("LIVE", LIVE_TOKEN)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "  ~ token {\n        value   = (sensitive value unchanged)\n      ~ enabled = true -> false\n    }\n"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_oversized_token_variable_fails_before_any_request() {
    let s = setup(state(), yaml).await;
    let output = livehook(s.dir.path(), &["plan"], &[("TIM_SECRET_KEY", SECRET_KEY)]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("token_variable_missing", stderr(&output));
    let too_long = format!("{DESIRED_TOKEN}{}", "x".repeat(120));
    let output = livehook(
        s.dir.path(),
        &["apply", "--auto-approve"],
        &[("TIM_SECRET_KEY", SECRET_KEY), ("HOOK_TOKEN", &too_long)],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("token_variable_too_long", stderr(&output));
    assert!(!stderr(&output).contains(DESIRED_TOKEN));
    assert!(s.emulator.requests().is_empty(), "no request may be sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_value_or_secret_key_reaches_any_output_plan_file_or_export() {
    let s = setup(state(), yaml).await;
    let seen = std::cell::RefCell::new(Vec::new());
    let record_text = |text: String| seen.borrow_mut().push(text);
    let record = |output: std::process::Output| {
        record_text(stdout(&output));
        record_text(stderr(&output));
        output
    };
    record(run(&s, &["plan"]));
    record(run(&s, &["plan", "--format", "json"]));
    let markdown = record(run(&s, &["plan", "--format", "markdown"]));
    assert!(
        stdout(&markdown).contains("token value changed"),
        "{}",
        stdout(&markdown)
    );
    let github = record(run(&s, &["plan", "--format", "github"]));
    assert!(
        stdout(&github).contains(
            "token of rotate (sdkappid 1400000001) will be updated with set_callback_token"
        ),
        "{}",
        stdout(&github)
    );
    let saved = record(run(&s, &["plan", "--out", "plan.json"]));
    assert_eq!(saved.status.code(), Some(0));
    let plan_file = std::fs::read_to_string(s.dir.path().join("plan.json")).unwrap();
    record_text(plan_file.clone());
    record(run(&s, &["export", "livehook.yaml"]));
    // Move one app so that the stale report, which names changed tokens, is covered too.
    s.emulator.update_state(|state| {
        state.apps.get_mut(&1400000002).unwrap().token = token("moved-TOKEN-4242", true);
    });
    let applied = record(run(&s, &["apply", "--plan", "plan.json"]));
    assert_eq!(applied.status.code(), Some(1), "one app is stale");
    record(run(&s, &["apply", "--auto-approve", "--format", "json"]));
    record(run(&s, &["apply", "--auto-approve"]));
    record(run(&s, &["export", "livehook.yaml"]));
    // Error paths: a wrong secret key, and an app unknown to the emulator.
    record(livehook(
        s.dir.path(),
        &["plan"],
        &[
            ("TIM_SECRET_KEY", "wrong-key"),
            ("HOOK_TOKEN", DESIRED_TOKEN),
        ],
    ));

    // The desired token did reach Tencent (the emulator), and nothing else.
    assert_eq!(
        s.emulator.state().apps[&1400000003].token,
        token(DESIRED_TOKEN, false)
    );
    for text in seen.borrow().iter() {
        for secret in [
            DESIRED_TOKEN,
            LIVE_TOKEN,
            OTHER_LIVE_TOKEN,
            "moved-TOKEN-4242",
            SECRET_KEY,
        ] {
            assert!(!text.contains(secret), "`{secret}` leaked into:\n{text}");
        }
        assert!(!text.to_lowercase().contains("usersig="), "{text}");
    }
    assert!(plan_file.contains("\"Token\": \"(sensitive)\""));
}

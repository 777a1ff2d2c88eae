//! The webhook token: planned and applied without its value ever reaching an output.

use livehook::emulator::State;

use crate::support::{
    ALL_SECRETS, CREATE_ROOM, SECRET_KEY, Setup, TOKEN_DESIRED, TOKEN_LIVE, TOKEN_MOVED,
    TOKEN_OTHER_LIVE, TOKEN_SAME_VALUE, WRONG_KEY, callback, live_app, livehook, one_live_app,
    setup, stderr, stdout, token, writes,
};

fn state() -> State {
    let app = |tok| live_app(callback("https://hooks.example.com/a", &[CREATE_ROOM]), tok);
    State {
        apps: [
            (1400000001, app(token(TOKEN_LIVE, true))),
            (1400000002, app(token(TOKEN_OTHER_LIVE, false))),
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

/// An app the token tests leave the token of unmanaged.
const UNMANAGED_SDKAPPID: u64 = 1400000004;

fn run(s: &Setup, args: &[&str]) -> std::process::Output {
    livehook(
        s.dir.path(),
        args,
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", TOKEN_DESIRED),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn token_changes_are_planned_with_keyed_fingerprints_only() {
    let s = setup(state(), yaml).await;
    let output = run(&s, &["plan"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("token_plan_text", stdout(&output));
    // Plan reads the token only where it is managed, and never writes: next to the three apps
    // that manage it, one that leaves it unmanaged although a token is live.
    s.emulator.update_state(|state| {
        state.apps.insert(
            UNMANAGED_SDKAPPID,
            live_app(
                callback("https://hooks.example.com/a", &[CREATE_ROOM]),
                token(TOKEN_LIVE, true),
            ),
        );
    });
    let unmanaged = format!(
        "{}  callback-only:\n    sdkappid: {UNMANAGED_SDKAPPID}\n    callback: {{url: https://hooks.example.com/a, commands: [{CREATE_ROOM}]}}\n",
        yaml(&s.emulator.base_url())
    );
    std::fs::write(s.dir.path().join("unmanaged.yaml"), unmanaged).unwrap();
    let output = run(&s, &["plan", "unmanaged.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let read = |command: &str| -> Vec<u64> {
        let mut ids: Vec<u64> = s
            .emulator
            .requests()
            .iter()
            .filter(|r| r.command == command)
            .filter_map(|r| r.sdkappid)
            .collect();
        ids.sort();
        ids
    };
    // Two plans: the snapshot's and this one.
    assert_eq!(
        read("get_callback_token"),
        [
            1400000001, 1400000001, 1400000002, 1400000002, 1400000003, 1400000003
        ]
    );
    assert!(read("get_callback").contains(&UNMANAGED_SDKAPPID));
    assert_eq!(writes(&s.emulator), [], "plan never writes");

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
        &[("TIM_SECRET_KEY", SECRET_KEY), ("LIVE", TOKEN_LIVE)],
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
    let too_long = format!("{TOKEN_DESIRED}{}", "x".repeat(120));
    let output = livehook(
        s.dir.path(),
        &["apply", "--auto-approve"],
        &[("TIM_SECRET_KEY", SECRET_KEY), ("HOOK_TOKEN", &too_long)],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("token_variable_too_long", stderr(&output));
    assert!(!stderr(&output).contains(TOKEN_DESIRED));
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
        state.apps.get_mut(&1400000002).unwrap().token = token(TOKEN_MOVED, true);
    });
    let applied = record(run(&s, &["apply", "--plan", "plan.json"]));
    assert_eq!(applied.status.code(), Some(1), "one app is stale");
    let output = record(run(&s, &["apply", "--auto-approve", "--format", "json"]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["summary"]["failed"], 0, "{report}");
    assert_eq!(report["summary"]["unverified"], 0, "{report}");
    let output = record(run(&s, &["apply", "--auto-approve"]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("No changes."),
        "{}",
        stdout(&output)
    );
    record(run(&s, &["export", "livehook.yaml"]));
    // Error paths: a wrong secret key, and an app unknown to the emulator.
    let output = record(livehook(
        s.dir.path(),
        &["plan"],
        &[("TIM_SECRET_KEY", WRONG_KEY), ("HOOK_TOKEN", TOKEN_DESIRED)],
    ));
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    std::fs::write(
        s.dir.path().join("unknown.yaml"),
        yaml(&s.emulator.base_url()).replace("sdkappid: 1400000001", "sdkappid: 1400000099"),
    )
    .unwrap();
    let output = record(run(&s, &["plan", "unknown.yaml"]));
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("1400000099"),
        "the unknown app is reported:\n{}",
        stdout(&output)
    );

    // The desired token did reach Tencent (the emulator), where it is managed, and nothing else.
    let state = s.emulator.state();
    assert_eq!(state.apps[&1400000001].token, token(TOKEN_DESIRED, true));
    assert_eq!(state.apps[&1400000002].token, None);
    assert_eq!(state.apps[&1400000003].token, token(TOKEN_DESIRED, false));
    for text in seen.borrow().iter() {
        for secret in ALL_SECRETS {
            assert!(!text.contains(secret), "`{secret}` leaked into:\n{text}");
        }
        assert!(!text.to_lowercase().contains("usersig="), "{text}");
    }
    assert!(plan_file.contains("\"Token\": \"(sensitive)\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_shows_an_enabled_only_token_change_without_a_value_change() {
    let app = live_app(None, token(TOKEN_SAME_VALUE, false));
    let s = one_live_app(
        app,
        "  t:\n    token: {value_env: HOOK_TOKEN, enabled: true}\n",
    )
    .await;
    let env = [
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("HOOK_TOKEN", TOKEN_SAME_VALUE),
    ];
    let output = livehook(s.dir.path(), &["plan", "--format", "markdown"], &env);
    let text = stdout(&output);
    assert!(
        text.contains("\n    value: (sensitive, "),
        "unchanged value shown unmarked:\n{text}"
    );
    assert!(
        text.contains("\n-   enabled: false\n+   enabled: true\n"),
        "{text}"
    );
    assert!(!text.contains(TOKEN_SAME_VALUE));
}

//! `livehook plan`: the real binary against the in-process emulator over HTTP on 127.0.0.1.

use std::path::Path;

use crate::support::{
    MISMATCHED_APP_KEY, assert_no_secrets, four_callback_apps, four_callback_apps_yaml, livehook,
    run_with_key, setup, stderr, stdout,
};

/// What the emulator recorded of a request: command, sdkappid, identifier, body, answer code.
type ReadCall = (
    String,
    Option<u64>,
    Option<String>,
    Option<serde_json::Value>,
    i64,
);

#[tokio::test(flavor = "multi_thread")]
async fn text_plan_shows_each_action_and_sends_only_reads() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let output = run_with_key(&s, &["plan"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("plan_text_four_actions", stdout(&output));
    assert_eq!(stderr(&output), "");
    assert_no_secrets(&output);

    let requests = s.emulator.requests();
    let mut seen: Vec<ReadCall> = requests
        .iter()
        .map(|r| {
            (
                r.command.clone(),
                r.sdkappid,
                r.identifier.clone(),
                r.body.clone(),
                r.error_code,
            )
        })
        .collect();
    seen.sort_by_key(|r| r.1);
    let expected: Vec<_> = [1400000001u64, 1400000002, 1400000003, 1400000004]
        .into_iter()
        .map(|id| {
            let code = if id == 1400000001 { 100301 } else { 0 };
            (
                "get_callback".to_string(),
                Some(id),
                Some("administrator".to_string()),
                Some(serde_json::json!({})),
                code,
            )
        })
        .collect();
    assert_eq!(
        seen, expected,
        "plan sends exactly one get_callback per app, with body {{}}"
    );
    assert_eq!(
        s.emulator.state(),
        four_callback_apps(),
        "plan never writes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_plan_is_the_versioned_document() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let output = run_with_key(&s, &["plan", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output).replace(&s.emulator.base_url(), "http://127.0.0.1:PORT");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("stdout is one JSON document");
    insta::assert_json_snapshot!("plan_json_four_actions", doc);
    assert_no_secrets(&output);
}

#[tokio::test(flavor = "multi_thread")]
async fn detailed_exitcode_tells_changes_from_none() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    assert_eq!(
        run_with_key(&s, &["plan", "--detailed-exitcode"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run_with_key(&s, &["plan", "--detailed-exitcode", "--target", "leave-me"])
            .status
            .code(),
        Some(0)
    );
    let output = run_with_key(&s, &["plan", "--target", "leave-me"]);
    assert_eq!(
        stdout(&output),
        "No changes. The live webhook configuration of 1 app matches the desired state.\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn target_limits_the_run_and_unknown_targets_are_named() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let output = run_with_key(
        &s,
        &["plan", "--target", "delete-me", "--target", "create-me"],
    );
    assert_eq!(output.status.code(), Some(0));
    let mut ids: Vec<u64> = s
        .emulator
        .requests()
        .iter()
        .filter_map(|r| r.sdkappid)
        .collect();
    ids.sort();
    assert_eq!(ids, [1400000001, 1400000003]);
    assert!(
        stdout(&output).ends_with("Plan: 1 to create, 0 to update, 1 to delete, 0 unchanged.\n")
    );

    let output = run_with_key(&s, &["plan", "--target", "delete_me"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("plan_unknown_target", stderr(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_app_never_stops_the_others() {
    let mut state = four_callback_apps();
    // 1400000002 is known to the emulator under another key: its UserSig fails with 70009.
    state.apps.get_mut(&1400000002).unwrap().secret_key = MISMATCHED_APP_KEY.into();
    let s = setup(state, |endpoint| {
        four_callback_apps_yaml(endpoint)
            + "  unknown-app:\n    sdkappid: 1400009999\n    callback: absent\n"
    })
    .await;
    let output = run_with_key(&s, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "an app error exits 1 even with changes"
    );
    let text = stdout(&output);
    let text = regex_request_ids(&text);
    insta::assert_snapshot!("plan_text_app_errors", text);
    assert_no_secrets(&output);
    // Credential errors are not retried: one request per app.
    assert_eq!(s.emulator.requests().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_endpoint_is_an_app_error_not_a_crash() {
    let s = setup(four_callback_apps(), |_| {
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        "version: 1\napps:\n  nowhere:\n    sdkappid: 1400000001\n    endpoint: http://127.0.0.1:9\n    callback: absent\n".into()
    })
    .await;
    // A short retry budget: the default would keep retrying the refused connection for 5 min.
    let output = run_with_key(&s, &["plan", "--format", "json", "--retry-for", "1s"]);
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(doc["summary"]["error"], 1);
    assert_eq!(doc["apps"][0]["action"], "error");
    let message = doc["apps"][0]["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("network error"), "{message}");
    assert!(!message.contains("usersig"), "{message}");
    assert_no_secrets(&output);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_secret_variable_fails_before_any_request() {
    let s = setup(four_callback_apps(), |endpoint| {
        four_callback_apps_yaml(endpoint).replace(
            "  delete-me:\n    sdkappid: 1400000003\n",
            "  delete-me:\n    sdkappid: 1400000003\n    secret_key_env: LEGACY_KEY\n",
        )
    })
    .await;
    let output = livehook(s.dir.path(), &["plan"], &[]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("plan_missing_secret_variables", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(s.emulator.requests().is_empty(), "no request may be sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_only_when_asked_never_off_a_terminal() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let plain = run_with_key(&s, &["plan"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(stdout(&plain).contains("create-me"), "the plan is shown");
    assert!(
        !stdout(&plain).contains('\x1b'),
        "not a terminal: no escape codes"
    );
    let coloured = run_with_key(&s, &["plan", "--color", "always"]);
    let text = stdout(&coloured);
    assert!(text.contains("\x1b[32m+"), "green + for create:\n{text}");
    assert!(text.contains("\x1b[31m-"), "red - for delete");
    // The changed URL characters are highlighted: `old` removed, `new` added.
    assert!(
        text.contains("\x1b[1m\x1b[4m\x1b[31mold\x1b[0m"),
        "removed characters highlighted:\n{text}"
    );
    assert!(
        text.contains("\x1b[1m\x1b[4m\x1b[32mnew\x1b[0m"),
        "added characters highlighted"
    );
    let json = run_with_key(&s, &["plan", "--format", "json", "--color", "always"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert!(
        stdout(&json).contains("\"create-me\""),
        "the JSON plan is shown"
    );
    assert!(
        !stdout(&json).contains('\x1b'),
        "JSON never carries escape codes"
    );
}

#[test]
fn readme_main_job_runs_offline_and_leaves_the_state_file_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state_path = root.join("examples/emulator-state.json");
    let before = std::fs::read(&state_path).unwrap();
    let output = livehook(
        root,
        &[
            "plan",
            "examples/livehook.yaml",
            "--emulator",
            "examples/emulator-state.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("readme_main_job", stdout(&output));
    assert_eq!(
        std::fs::read(&state_path).unwrap(),
        before,
        "plan --emulator must not modify the state file"
    );
    let keys = std::fs::read_to_string(&state_path).unwrap();
    for line in keys.lines().filter(|l| l.contains("secret_key")) {
        let key = line.split('"').nth(3).unwrap();
        assert!(!stdout(&output).contains(key) && !stderr(&output).contains(key));
    }
}

/// RequestIds are random; snapshots show their shape only.
fn regex_request_ids(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("RequestId: ") {
            Some(at) => format!("{}RequestId: Id-<redacted>", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_cannot_be_saved_still_shows_why() {
    let mut state = four_callback_apps();
    state.apps.get_mut(&1400000002).unwrap().secret_key = MISMATCHED_APP_KEY.into();
    let s = setup(state, four_callback_apps_yaml).await;
    let output = run_with_key(&s, &["plan", "--out", "saved.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("error 70009"),
        "the failed app is reported:\n{}",
        stdout(&output)
    );
    assert!(stderr(&output).contains("the plan was not saved to saved.json"));
    assert!(!s.dir.path().join("saved.json").exists());
}

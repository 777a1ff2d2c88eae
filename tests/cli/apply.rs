//! `livehook apply` and saved plans: the real binary against the in-process emulator over HTTP.

use livehook::emulator::{Emulator, FaultKind, State};

use crate::support::{
    APPLY_CHANGED_TOKEN, APPLY_NEW_TOKEN, APPLY_ROTATED_TOKEN, CREATE_ROOM, DESTROY_ROOM,
    MISMATCHED_APP_KEY, SECRET_KEY, Setup, assert_no_secrets, callback, four_apps_with_tokens,
    four_apps_with_tokens_yaml, four_callback_apps, four_callback_apps_yaml, livehook,
    mask_request_ids, run_with_key, seeded_state, setup, stderr, stdout, token, writes,
};

fn run(s: &Setup, args: &[&str]) -> std::process::Output {
    livehook(
        s.dir.path(),
        args,
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", APPLY_NEW_TOKEN),
        ],
    )
}

/// The write calls for one SDKAppID, in order.
fn writes_for(emulator: &Emulator, sdkappid: u64) -> Vec<String> {
    writes(emulator)
        .into_iter()
        .filter(|(_, id)| *id == sdkappid)
        .map(|(command, _)| command)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_updates_and_deletes_callbacks_and_tokens_then_plan_shows_no_changes() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let output = run(&s, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("apply_text_four_actions", stdout(&output));
    assert_eq!(stderr(&output), "");
    assert_no_secrets(&output);
    assert!(!stdout(&output).contains(APPLY_NEW_TOKEN));

    // Tokens go in before a callback is created or changed, and out after it is deleted.
    assert_eq!(
        writes_for(&s.emulator, 1400000001),
        ["set_callback_token", "set_callback"]
    );
    assert_eq!(
        writes_for(&s.emulator, 1400000002),
        ["set_callback_token", "update_callback"]
    );
    assert_eq!(
        writes_for(&s.emulator, 1400000003),
        ["delete_callback", "delete_callback_token"]
    );
    assert!(writes_for(&s.emulator, 1400000004).is_empty());

    let state = s.emulator.state();
    let want = callback("https://new.example.com/hook", &[CREATE_ROOM, DESTROY_ROOM]);
    for id in [1400000001, 1400000002] {
        assert_eq!(state.apps[&id].callback, want);
        assert_eq!(state.apps[&id].token, token(APPLY_NEW_TOKEN, true));
    }
    assert_eq!(state.apps[&1400000003].callback, None);
    assert_eq!(state.apps[&1400000003].token, None);
    assert_eq!(
        state.apps[&1400000004],
        four_apps_with_tokens().apps[&1400000004]
    );

    // A second plan right after shows no changes, and a second apply writes nothing.
    let plan = run(&s, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert_eq!(
        stdout(&plan),
        "No changes. The live webhook configuration of 4 apps matches the desired state.\n"
    );
    let before = writes(&s.emulator).len();
    let again = run(&s, &["apply"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "no changes needs no confirmation"
    );
    assert!(stdout(&again).starts_with("No changes."));
    assert_eq!(writes(&s.emulator).len(), before, "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn off_a_terminal_apply_refuses_without_auto_approve_and_writes_nothing() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let output = run(&s, &["apply"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged."));
    insta::assert_snapshot!("apply_refused_off_terminal", stderr(&output));
    assert!(writes(&s.emulator).is_empty(), "only reads were sent");
    assert_eq!(s.emulator.state(), four_apps_with_tokens());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_report_lists_every_app_with_its_status_and_calls() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let output = run(&s, &["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output).replace(&s.emulator.base_url(), "http://127.0.0.1:PORT");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("stdout is one JSON document");
    insta::assert_json_snapshot!("apply_json_four_actions", doc);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_when_nothing_moved() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let plan = run(&s, &["plan", "--out", "plan.json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert_eq!(
        stderr(&plan),
        "Saved the plan to plan.json. Apply exactly this plan with `livehook apply --plan plan.json`.\n"
    );
    // The YAML may change after the plan: the saved plan is what gets applied.
    std::fs::write(s.dir.path().join("livehook.yaml"), "not: [valid").unwrap();
    let output = run(&s, &["apply", "--plan", "plan.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).ends_with("Apply complete: 1 created, 1 updated, 1 deleted.\n"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        s.emulator.state().apps[&1400000001].token,
        token(APPLY_NEW_TOKEN, true)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_saved_plan_is_refused_naming_what_moved_and_the_app_is_untouched() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let plan = run(&s, &["plan", "--out", "plan.json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));

    // Someone changes two apps in the console between plan and apply.
    s.emulator.update_state(|state| {
        let update_me = state.apps.get_mut(&1400000002).unwrap();
        update_me.callback = callback(
            "https://console.example.com/hook",
            &[
                CREATE_ROOM,
                "Live.CallbackAfterUpdateRoomInfo",
                DESTROY_ROOM,
            ],
        );
        let delete_me = state.apps.get_mut(&1400000003).unwrap();
        delete_me.token = token(APPLY_ROTATED_TOKEN, false);
    });
    let expected_state = s.emulator.state();
    let output = run(&s, &["apply", "--plan", "plan.json"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("apply_stale_plan", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains(
        "callback url changed from \"https://old.example.com/hook\" to \"https://console.example.com/hook\" since the plan"
    ));
    assert!(text.contains("callback commands gained Live.CallbackAfterDestroyRoom since the plan"));
    assert!(text.contains("token enabled changed from true to false since the plan"));
    assert_no_secrets(&output);

    // The moved apps got no write at all; the other change went through.
    assert!(writes_for(&s.emulator, 1400000002).is_empty());
    assert!(writes_for(&s.emulator, 1400000003).is_empty());
    assert_eq!(
        writes_for(&s.emulator, 1400000001),
        ["set_callback_token", "set_callback"]
    );
    let state = s.emulator.state();
    assert_eq!(state.apps[&1400000002], expected_state.apps[&1400000002]);
    assert_eq!(state.apps[&1400000003], expected_state.apps[&1400000003]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_when_the_token_variable_changed() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    let plan = run(&s, &["plan", "--out", "plan.json"]);
    assert_eq!(plan.status.code(), Some(0));
    let output = livehook(
        s.dir.path(),
        &["apply", "--plan", "plan.json"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", APPLY_CHANGED_TOKEN),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("the token in HOOK_TOKEN is not the one the plan was made with"),
        "{}",
        stdout(&output)
    );
    assert!(writes_for(&s.emulator, 1400000001).is_empty());
    assert!(writes_for(&s.emulator, 1400000002).is_empty());
    assert!(!stdout(&output).contains(APPLY_CHANGED_TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_or_foreign_plan_files_are_clear_errors_naming_the_file() {
    let s = setup(four_apps_with_tokens(), four_apps_with_tokens_yaml).await;
    assert_eq!(
        run(&s, &["plan", "--out", "plan.json"]).status.code(),
        Some(0)
    );
    let good = std::fs::read_to_string(s.dir.path().join("plan.json")).unwrap();
    let requests_by_plan = s.emulator.requests().len();
    let write = |name: &str, text: &str| std::fs::write(s.dir.path().join(name), text).unwrap();
    write("cut.json", &good[..good.len() / 2]);
    write(
        "edited.json",
        &good.replacen("https://new.example.com", "https://evil.example.com", 1),
    );
    write(
        "future.json",
        &good.replace("\"format_version\": 3", "\"format_version\": 4"),
    );
    write("other.json", "{\"apps\": []}");
    write("yaml.json", "version: 1\n");
    let mut report = String::new();
    for file in [
        "missing.json",
        "cut.json",
        "edited.json",
        "future.json",
        "other.json",
        "yaml.json",
    ] {
        let output = run(&s, &["apply", "--plan", file]);
        assert_eq!(output.status.code(), Some(1), "{file}");
        assert_eq!(stdout(&output), "", "{file}");
        report.push_str(&stderr(&output));
    }
    insta::assert_snapshot!("apply_bad_plan_files", report);
    assert_eq!(
        s.emulator.requests().len(),
        requests_by_plan,
        "a bad plan file stops apply before any request"
    );
}

/// One app with nothing configured, which the desired state gives a callback.
async fn one_app_to_create() -> Setup {
    setup(seeded_state(), |endpoint| {
        format!(
            "version: 1\napps:\n  create-me:\n    sdkappid: 1400000001\n    endpoint: {endpoint}\n    callback: {{url: https://new.example.com/hook, commands: [{CREATE_ROOM}]}}\n"
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_answer_was_lost_is_read_back_not_sent_again() {
    let s = one_app_to_create().await;
    // The plan's read answers normally; the first set_callback is applied but its answer is
    // cut short. Sending it again would meet 100300 for its own create: apply reads the app
    // back instead and finds the create done.
    s.emulator
        .script_faults([None, Some(FaultKind::TruncatedBody)]);
    let output = run(&s, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("+ create-me (sdkappid 1400000001, endpoint): created, verified\n      set_callback's answer was lost (unreadable answer); read back: it had taken effect\n"),
        "{text}"
    );
    let seen: Vec<(String, i64)> = s
        .emulator
        .requests()
        .iter()
        .map(|r| (r.command.clone(), r.error_code))
        .collect();
    assert_eq!(
        seen,
        [
            ("get_callback".to_string(), 100301),
            ("set_callback".to_string(), 0),
            ("get_callback".to_string(), 0),
            ("get_callback".to_string(), 0),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_app_is_reported_with_its_code_and_the_others_go_on() {
    let mut state = four_apps_with_tokens();
    // update-me is known to the emulator under another key: reading it fails with 70009.
    state.apps.get_mut(&1400000002).unwrap().secret_key = MISMATCHED_APP_KEY.into();
    let s = setup(state, four_apps_with_tokens_yaml).await;
    let output = run(&s, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(1));
    let text = mask_request_ids(&stdout(&output));
    insta::assert_snapshot!("apply_one_app_fails", text);
    assert_no_secrets(&output);
    assert_eq!(writes_for(&s.emulator, 1400000001).len(), 2);
    assert_eq!(writes_for(&s.emulator, 1400000003).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_keeps_failing_reports_code_request_id_and_hint() {
    let s = one_app_to_create().await;
    // The read passes; set_callback meets 100001 on every try until its retry budget is spent.
    s.emulator.script_faults(
        std::iter::once(None).chain(std::iter::repeat_n(Some(FaultKind::InternalError), 1000)),
    );
    let output = run(
        &s,
        &[
            "apply",
            "--auto-approve",
            "--format",
            "json",
            "--retry-for",
            "1s",
            "--retry-backoff-scale",
            "0.01",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let app = &doc["apps"][0];
    assert_eq!(app["status"], "failed");
    assert_eq!(app["error"]["command"], "set_callback");
    assert_eq!(app["error"]["code"], 100001);
    assert!(
        app["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("Id-")
    );
    assert_eq!(
        app["error"]["hint"],
        "Tencent's service failed even after retries: try again later"
    );
    assert_eq!(doc["summary"]["failed"], 1);
}

#[test]
fn emulator_state_file_changes_only_with_emulator_persist() {
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    let mut state = four_apps_with_tokens();
    // Apps are sent to the emulator whatever their endpoint says.
    state.apps.retain(|id, _| *id == 1400000001);
    std::fs::write(&state_path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        format!(
            "version: 1\ndefaults: {{region: singapore}}\napps:\n  create-me:\n    sdkappid: 1400000001\n    callback: {{url: https://new.example.com/hook, commands: [{CREATE_ROOM}]}}\n"
        ),
    )
    .unwrap();
    let before = std::fs::read(&state_path).unwrap();
    // No TIM_SECRET_KEY: with --emulator the key comes from the state file.
    let output = livehook(
        dir.path(),
        &["apply", "--auto-approve", "--emulator", "state.json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read(&state_path).unwrap(), before, "copy only");

    let output = livehook(
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--emulator",
            "state.json",
            "--emulator-persist",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = State::load(&state_path).unwrap();
    assert_eq!(
        written.apps[&1400000001].callback,
        callback("https://new.example.com/hook", &[CREATE_ROOM])
    );
    let output = livehook(
        dir.path(),
        &["plan", "--detailed-exitcode", "--emulator", "state.json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_saved_plan_cannot_send_the_usersig_elsewhere() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let output = run_with_key(&s, &["plan", "--out", "saved.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let path = s.dir.path().join("saved.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for app in plan["apps"].as_array_mut().unwrap() {
        app["location"] = serde_json::json!({"endpoint": "http://evil.example.com"});
    }
    // Recompute the checksum the way livehook does, as an attacker could.
    let saved: livehook::plan::saved::SavedPlan = serde_json::from_value(plan.clone()).unwrap();
    plan["checksum"] = serde_json::Value::String(livehook::plan::saved::checksum(&saved));
    std::fs::write(&path, serde_json::to_string(&plan).unwrap()).unwrap();
    let before = s.emulator.requests().len();
    let output = run_with_key(&s, &["apply", "--plan", "saved.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unusable endpoint `http://evil.example.com`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(s.emulator.requests().len(), before, "no request was sent");
}

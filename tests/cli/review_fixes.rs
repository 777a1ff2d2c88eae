//! Regressions for defects a review found: gates that look at parts, not only the app's overall
//! action; a plan that cannot be saved still shows why; edited saved plans cannot redirect the
//! UserSig; a file named twice is read once; an `enabled`-only token change in markdown.

use std::path::Path;

use livehook::emulator::{AppState, Emulator, Options, State};

use crate::plan::{four_apps, four_apps_yaml, run};
use crate::support::{
    CREATE_ROOM, SECRET_KEY, callback, live_app, livehook, setup, start_emulator, stderr, stdout,
    token,
};

/// An emulator holding one app (SDKAppID 1400000001) and a `livehook.yaml` declaring `app_yaml`
/// (its first line names the app) for it at the emulator's endpoint.
async fn one_app(app: AppState, app_yaml: &str) -> (Emulator, tempfile::TempDir) {
    let state = State {
        apps: [(1400000001, app)].into_iter().collect(),
    };
    let emulator = start_emulator(state, Options::default()).await;
    let (name_line, rest) = app_yaml.split_once('\n').unwrap();
    let yaml = format!(
        "version: 1\napps:\n{name_line}\n    sdkappid: 1400000001\n    endpoint: {}\n{rest}",
        emulator.base_url()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("livehook.yaml"), yaml).unwrap();
    (emulator, dir)
}

/// Deleting the callback while creating a token is an "update" overall; `--fail-on delete` must
/// still trip.
#[tokio::test(flavor = "multi_thread")]
async fn fail_on_delete_sees_a_callback_delete_inside_an_update() {
    let app = live_app(
        callback("https://old.example.com/hook", &[CREATE_ROOM]),
        None,
    );
    let (_emulator, dir) = one_app(
        app,
        "  mixed:\n    callback: absent\n    token: {value_env: HOOK_TOKEN, enabled: true}\n",
    )
    .await;
    let env = [
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("HOOK_TOKEN", "a-token-for-the-gate"),
    ];
    let output = livehook(dir.path(), &["plan", "--format", "json"], &env);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        doc["apps"][0]["action"], "update",
        "the premise: the app as a whole is an update"
    );
    let output = livehook(dir.path(), &["plan", "--fail-on", "delete"], &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("error: --fail-on delete: the plan deletes 1 app: mixed\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_cannot_be_saved_still_shows_why() {
    let mut state = four_apps();
    state.apps.get_mut(&1400000002).unwrap().secret_key = "another-key".into();
    let s = setup(state, four_apps_yaml).await;
    let output = run(&s, &["plan", "--out", "saved.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("error 70009"),
        "the failed app is reported:\n{}",
        stdout(&output)
    );
    assert!(stderr(&output).contains("the plan was not saved to saved.json"));
    assert!(!s.dir.path().join("saved.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_saved_plan_cannot_send_the_usersig_elsewhere() {
    let s = setup(four_apps(), four_apps_yaml).await;
    let output = run(&s, &["plan", "--out", "saved.json"]);
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
    let output = run(&s, &["apply", "--plan", "saved.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unusable endpoint `http://evil.example.com`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(s.emulator.requests().len(), before, "no request was sent");
}

#[test]
fn a_file_named_twice_is_read_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = livehook(
        root,
        &["validate", "examples/livehook.yaml", "examples/"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Valid: 5 apps in 1 file.\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_shows_an_enabled_only_token_change_without_a_value_change() {
    let app = live_app(None, token("same-token-value-1", false));
    let (_emulator, dir) = one_app(
        app,
        "  t:\n    token: {value_env: HOOK_TOKEN, enabled: true}\n",
    )
    .await;
    let env = [
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("HOOK_TOKEN", "same-token-value-1"),
    ];
    let output = livehook(dir.path(), &["plan", "--format", "markdown"], &env);
    let text = stdout(&output);
    assert!(
        text.contains("\n    value: (sensitive, "),
        "unchanged value shown unmarked:\n{text}"
    );
    assert!(
        text.contains("\n-   enabled: false\n+   enabled: true\n"),
        "{text}"
    );
    assert!(!text.contains("same-token-value-1"));
}

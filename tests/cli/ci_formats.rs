//! Pull-request and audit output: `--format markdown`, `--format github`, the step summary,
//! multi-file annotations, `--fail-on`, `validate --format json|github`, completions.

use std::path::Path;

use livehook::emulator::{AppState, State};

use crate::support::{
    CREATE_ROOM, GATE_TOKEN, MISMATCHED_APP_KEY, SECRET_KEY, assert_no_secrets, callback,
    four_callback_apps, four_callback_apps_yaml, live_app, livehook, mask_request_ids,
    one_live_app, run_with_key, setup, stderr, stdout,
};

#[tokio::test(flavor = "multi_thread")]
async fn markdown_is_a_pull_request_comment() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let output = run_with_key(&s, &["plan", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("markdown_four_actions", stdout(&output));
    assert_no_secrets(&output);
}

#[tokio::test(flavor = "multi_thread")]
async fn github_annotations_point_at_the_declaring_lines_and_fill_the_step_summary() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let summary = s.dir.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let output = livehook(
        s.dir.path(),
        &["plan", "--format", "github"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let annotations: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("::warning") || l.starts_with("::error"))
        .collect();
    insta::assert_snapshot!("github_four_actions", annotations.join("\n"));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(
        written.starts_with("earlier step\n### livehook plan"),
        "appended, not overwritten:\n{written}"
    );
    assert_no_secrets(&output);
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_and_github_report_an_app_that_could_not_be_read_as_text_does() {
    let mut state = four_callback_apps();
    // update-me is known to the emulator under another key: reading it fails with 70009.
    state.apps.get_mut(&1400000002).unwrap().secret_key = MISMATCHED_APP_KEY.into();
    let s = setup(state, four_callback_apps_yaml).await;
    let markdown = run_with_key(&s, &["plan", "--format", "markdown"]);
    assert_eq!(markdown.status.code(), Some(1));
    insta::assert_snapshot!("markdown_app_error", mask_request_ids(&stdout(&markdown)));
    assert_no_secrets(&markdown);
    let github = run_with_key(&s, &["plan", "--format", "github"]);
    assert_eq!(github.status.code(), Some(1));
    let text = mask_request_ids(&stdout(&github));
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("::error")).collect();
    insta::assert_snapshot!("github_app_error", errors.join("\n"));
    assert_no_secrets(&github);
}

#[tokio::test(flavor = "multi_thread")]
async fn machine_formats_never_carry_escape_codes() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    for format in ["json", "markdown", "github"] {
        let output = run_with_key(&s, &["plan", "--format", format, "--color", "always"]);
        // A plan that failed with nothing on stdout would have no escape code either.
        assert_eq!(
            output.status.code(),
            Some(0),
            "{format}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).contains("create-me"), "{format}: the plan");
        assert!(
            !stdout(&output).contains('\x1b'),
            "{format} output has an escape code"
        );
    }
    // A file with a problem, so that validate has an annotation to print.
    std::fs::write(
        s.dir.path().join("bad.yaml"),
        "version: 1\napps:\n  a:\n    sdkappid: 1400000009\n    region: singapore\n    calback: absent\n",
    )
    .unwrap();
    let output = livehook(
        s.dir.path(),
        &[
            "validate", "bad.yaml", "--format", "github", "--color", "always",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).starts_with("::error file=bad.yaml,line=6,"));
    assert!(!stdout(&output).contains('\x1b'));
}

/// Thousands of changing apps: the comment stays within GitHub's limit, keeps the summary and
/// says what it left out.
#[tokio::test(flavor = "multi_thread")]
async fn markdown_cuts_to_the_comment_limit() {
    const APPS: u64 = 3000;
    let state = State {
        apps: (0..APPS)
            .map(|i| (1_400_100_000 + i, AppState::new(SECRET_KEY)))
            .collect(),
    };
    let s = setup(state, |endpoint| {
        let mut yaml = format!("version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n");
        for i in 0..APPS {
            yaml.push_str(&format!(
                "  app-{i:04}:\n    sdkappid: {}\n    callback: {{url: https://hooks.example.com/{i}, commands: [Live.CallbackAfterCreateRoom]}}\n",
                1_400_100_000 + i
            ));
        }
        yaml
    })
    .await;
    let output = run_with_key(&s, &["plan", "--format", "markdown", "--parallelism", "64"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no progress bar off a terminal");
    let text = stdout(&output);
    assert!(
        text.chars().count() <= 65_536,
        "{} characters",
        text.chars().count()
    );
    assert!(text.contains("**Plan: 3000 to create, 0 to update, 0 to delete, 0 unchanged**"));
    assert!(
        text.contains("| app-0000 | 1400100000 |"),
        "the table starts"
    );
    insta::assert_snapshot!("markdown_cut_note", text.lines().last().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn github_summarises_annotations_past_the_limit() {
    const APPS: u64 = 15;
    let state = State {
        apps: (0..APPS)
            .map(|i| (1_400_200_000 + i, AppState::new(SECRET_KEY)))
            .collect(),
    };
    let s = setup(state, |endpoint| {
        let mut yaml = format!("version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n");
        for i in 0..APPS {
            yaml.push_str(&format!("  app-{i:02}:\n    sdkappid: {}\n    callback: {{url: https://h.example.com/{i}, commands: [Live.CallbackAfterCreateRoom]}}\n", 1_400_200_000 + i));
        }
        yaml
    })
    .await;
    let output = run_with_key(&s, &["plan", "--format", "github"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(warnings.len(), 10);
    assert_eq!(
        warnings[9],
        "::warning title=livehook%3A 6 more::6 more warnings are not annotated (GitHub shows 10 per step); the step's log lists them all"
    );
    assert!(
        warnings[0].starts_with("::warning file=livehook.yaml,line=7,col=5,"),
        "{}",
        warnings[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn annotations_name_the_right_file_in_multi_file_runs() {
    let s = setup(four_callback_apps(), |_| String::new()).await;
    let dir = s.dir.path();
    std::fs::remove_file(dir.join("livehook.yaml")).unwrap();
    std::fs::create_dir(dir.join("envs")).unwrap();
    let endpoint = s.emulator.base_url();
    std::fs::write(
        dir.join("envs/a.yaml"),
        format!("version: 1\napps:\n  create-me:\n    sdkappid: 1400000001\n    endpoint: {endpoint}\n    callback: {{url: https://n.example.com, commands: [Live.CallbackAfterCreateRoom]}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("envs/b.yaml"),
        format!("# second file\nversion: 1\napps:\n  update-me:\n    sdkappid: 1400000002\n    endpoint: {endpoint}\n    callback:\n      url: https://old.example.com/hook\n      commands:\n        - Live.CallbackAfterCreateRoom\n        - Live.CallbackAfterDestroyRoom\n"),
    )
    .unwrap();
    let output = run_with_key(&s, &["plan", "envs", "--format", "github"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let annotations: Vec<String> = stdout(&output)
        .lines()
        .filter(|l| l.starts_with("::warning") || l.starts_with("::error"))
        .map(str::to_owned)
        .collect();
    insta::assert_snapshot!("github_multi_file", annotations.join("\n"));

    // A duplicate app name across files names both places.
    std::fs::write(
        dir.join("envs/c.yaml"),
        "version: 1\napps:\n  create-me:\n    sdkappid: 1400000009\n    region: seoul\n",
    )
    .unwrap();
    let output = run_with_key(&s, &["validate", "envs", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let d = &doc["diagnostics"][0];
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64()),
        (Some("envs/c.yaml"), Some(3))
    );
    assert_eq!(
        d["help"],
        "first declared at envs/a.yaml:3:3; app names must be unique across all files"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_gates_deletes_and_changes() {
    let s = setup(four_callback_apps(), four_callback_apps_yaml).await;
    let output = run_with_key(&s, &["plan", "--fail-on", "delete"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: --fail-on delete: the plan deletes 1 app: delete-me\n  help: review the plan; this gate exists so such a change is made on purpose\n"
    );
    assert_eq!(
        run_with_key(
            &s,
            &["plan", "--fail-on", "delete", "--target", "create-me"]
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        run_with_key(
            &s,
            &["plan", "--fail-on", "change", "--target", "create-me"]
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        run_with_key(&s, &["plan", "--fail-on", "change", "--target", "leave-me"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn validate_speaks_json_and_github() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "version: 1\napps:\n  a:\n    sdkappid: 1\n    region: tokio\n    callback: {url: http://hooks.example.com/x, commands: [Live.CallbackAfterCreateRom]}\n",
    )
    .unwrap();
    let output = livehook(
        dir.path(),
        &["validate", "bad.yaml", "--format", "github"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("validate_github", stdout(&output));
    let output = livehook(
        dir.path(),
        &["validate", "bad.yaml", "--format", "json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_json_snapshot!(
        "validate_json",
        serde_json::from_str::<serde_json::Value>(&stdout(&output)).unwrap()
    );
    let output = livehook(
        root,
        &["validate", "examples/livehook.yaml", "--format", "json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "{\n  \"format_version\": \"1.0\",\n  \"valid\": true,\n  \"diagnostics\": []\n}\n"
    );
}

/// Each shell's script completes every command and the flags of `apply` (a script that named
/// only some subcommands, or none of their flags, would be a broken completion).
#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = livehook(Path::new("."), &["completions", shell], &[]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        for word in [
            "validate",
            "plan",
            "apply",
            "export",
            "schema",
            "emulator",
            "completions",
            "auto-approve",
            "detailed-exitcode",
            "parallelism",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

/// Deleting the callback while creating a token is an "update" overall; `--fail-on delete` must
/// still trip.
#[tokio::test(flavor = "multi_thread")]
async fn fail_on_delete_sees_a_callback_delete_inside_an_update() {
    let app = live_app(
        callback("https://old.example.com/hook", &[CREATE_ROOM]),
        None,
    );
    let s = one_live_app(
        app,
        "  mixed:\n    callback: absent\n    token: {value_env: HOOK_TOKEN, enabled: true}\n",
    )
    .await;
    let env = [("TIM_SECRET_KEY", SECRET_KEY), ("HOOK_TOKEN", GATE_TOKEN)];
    let output = livehook(s.dir.path(), &["plan", "--format", "json"], &env);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        doc["apps"][0]["action"], "update",
        "the premise: the app as a whole is an update"
    );
    let output = livehook(s.dir.path(), &["plan", "--fail-on", "delete"], &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("error: --fail-on delete: the plan deletes 1 app: mixed\n")
    );
}

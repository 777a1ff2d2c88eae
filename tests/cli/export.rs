//! `livehook export`: live state as a desired-state file that validates and plans to no changes.

use livehook::emulator::State;

use crate::support::{
    CREATE_ROOM, EXPORT_LIVE_TOKEN, SECRET_KEY, callback, live_app, livehook, setup, stderr,
    stdout, token,
};

fn state() -> State {
    State {
        apps: [
            (
                1400000001,
                live_app(
                    // A word livehook does not know yet, and a URL that YAML must quote.
                    callback(
                        "https://hooks.example.com/tim/live?env=prod#a:",
                        &["Live.CallbackAfterFutureThing", CREATE_ROOM],
                    ),
                    token(EXPORT_LIVE_TOKEN, false),
                ),
            ),
            (1400000002, live_app(None, None)),
        ]
        .into_iter()
        .collect(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_of_a_desired_state_file_validates_and_plans_to_no_changes() {
    let s = setup(state(), |endpoint| {
        format!(
            "version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n  prod-sg:\n    sdkappid: 1400000001\n  legacy:\n    sdkappid: 1400000002\n    secret_key_env: LEGACY_KEY\n"
        )
    })
    .await;
    let env = [
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("LEGACY_KEY", SECRET_KEY),
        ("PROD_SG_HOOK_TOKEN", EXPORT_LIVE_TOKEN),
    ];
    let output = livehook(s.dir.path(), &["export", "livehook.yaml"], &env);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let exported = stdout(&output);
    assert!(!exported.contains(EXPORT_LIVE_TOKEN));
    // A query may hold a secret: export warns, without quoting it.
    let warnings = stderr(&output);
    assert!(
        warnings.contains(
            "the live callback url of `prod-sg` carries a query, which may hold a secret"
        ),
        "{warnings}"
    );
    assert!(!warnings.contains("env=prod"), "{warnings}");
    insta::assert_snapshot!(
        "export_from_file",
        exported.replace(&s.emulator.base_url(), "http://127.0.0.1:PORT")
    );
    std::fs::write(s.dir.path().join("exported.yaml"), &exported).unwrap();

    let validate = livehook(s.dir.path(), &["validate", "exported.yaml"], &[]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    let plan = livehook(
        s.dir.path(),
        &["plan", "exported.yaml", "--detailed-exitcode"],
        &env,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert!(stdout(&plan).starts_with("No changes."));
}

#[tokio::test(flavor = "multi_thread")]
async fn export_by_sdkappid_and_endpoint_round_trips() {
    let s = setup(state(), |_| String::new()).await;
    let endpoint = s.emulator.base_url();
    let output = livehook(
        s.dir.path(),
        &[
            "export",
            "--sdkappid",
            "1400000002",
            "--sdkappid",
            "1400000001",
            "--endpoint",
            &endpoint,
        ],
        &[("TIM_SECRET_KEY", SECRET_KEY)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let exported = stdout(&output);
    assert!(exported.contains("  app-1400000001:\n"), "{exported}");
    assert!(exported.contains("      value_env: APP_1400000001_HOOK_TOKEN\n"));
    std::fs::write(s.dir.path().join("exported.yaml"), &exported).unwrap();
    let plan = livehook(
        s.dir.path(),
        &["plan", "exported.yaml", "--detailed-exitcode"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("APP_1400000001_HOOK_TOKEN", EXPORT_LIVE_TOKEN),
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
}

#[test]
fn export_reads_the_emulator_state_file_and_refuses_incomplete_selections() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("state.json"),
        serde_json::to_string(&state()).unwrap(),
    )
    .unwrap();
    let output = livehook(
        dir.path(),
        &[
            "export",
            "--sdkappid",
            "1400000001",
            "--region",
            "singapore",
            "--emulator",
            "state.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("    region: singapore\n"));
    assert!(!stdout(&output).contains(EXPORT_LIVE_TOKEN));

    let output = livehook(dir.path(), &["export", "--sdkappid", "1400000001"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--sdkappid needs --region or --endpoint"));

    // An app that cannot be read: nothing is printed, so half a file is never mistaken for all.
    let output = livehook(
        dir.path(),
        &[
            "export",
            "--sdkappid",
            "1400000001",
            "--sdkappid",
            "1400009999",
            "--region",
            "singapore",
            "--emulator",
            "state.json",
        ],
        &[("TIM_SECRET_KEY", SECRET_KEY)],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("cannot export `app-1400009999` (sdkappid 1400009999)"),
        "{}",
        stderr(&output)
    );
}

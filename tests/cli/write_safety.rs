//! Writes whose outcome is unknown are read back, never re-sent blindly; export's token variables
//! never collide; and a livehook bug is reported as one, not as Tencent's failure.

use livehook::apply::{Job, Status, apply_app};
use livehook::config::{App, Location, Managed, Origin, Position, TokenSpec};
use livehook::credentials::Credentials;
use livehook::emulator::{FaultKind, State};
use livehook::plan::{self, LiveState, token::TokenState};
use livehook::tim::client::{Client, ClientOptions, Secret, Target};

use crate::support::{
    CLASH_DASH_TOKEN, CLASH_UNDERSCORE_TOKEN, CREATE_ROOM, SDKAPPID, SECRET_KEY, callback,
    live_app, livehook, seeded_state, setup, stderr, stdout, token, writes,
};

fn one_callback(endpoint: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n  prod:\n    sdkappid: {SDKAPPID}\n    callback:\n      url: https://hooks.example.com/tim\n      commands: [{CREATE_ROOM}]\n"
    )
}

/// A gateway's 502, 503 or 408 after Tencent carried out the `set_callback`: apply reads the
/// app back, finds the write done, and does not send it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_answered_by_a_gateway_error_after_it_took_effect_is_read_back_not_resent() {
    for status in [502, 503, 408] {
        let s = setup(seeded_state(), one_callback).await;
        // The plan's read passes; the write is applied, then answered with `status`.
        s.emulator
            .script_faults([None, Some(FaultKind::StatusAfterApply(status))]);
        let output = livehook(
            s.dir.path(),
            &["apply", "--auto-approve"],
            &[("TIM_SECRET_KEY", SECRET_KEY)],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{status}: {}",
            stdout(&output)
        );
        let text = stdout(&output);
        assert!(
            text.contains(&format!(
                "set_callback's answer was lost (HTTP {status}); read back: it had taken effect"
            )),
            "{status}: {text}"
        );
        assert_eq!(
            writes(&s.emulator),
            [("set_callback".to_string(), SDKAPPID)],
            "{status}: exactly one write reached the server"
        );
        assert_eq!(
            s.emulator.state().apps[&SDKAPPID].callback,
            callback("https://hooks.example.com/tim", &[CREATE_ROOM])
        );
        // Converged: a new plan has nothing to do.
        let plan = livehook(
            s.dir.path(),
            &["plan", "--detailed-exitcode"],
            &[("TIM_SECRET_KEY", SECRET_KEY)],
        );
        assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    }
}

/// `prod-sg` and `prod_sg` would both suggest `PROD_SG_HOOK_TOKEN`: each gets its own variable,
/// and the export validates and plans back to no changes with each token in its variable.
#[tokio::test(flavor = "multi_thread")]
async fn export_gives_apps_whose_names_clash_their_own_token_variables() {
    let hook = || callback("https://hooks.example.com/tim", &[CREATE_ROOM]);
    let state = State {
        apps: [
            (1400000001, live_app(hook(), token(CLASH_DASH_TOKEN, true))),
            (
                1400000002,
                live_app(hook(), token(CLASH_UNDERSCORE_TOKEN, false)),
            ),
        ]
        .into_iter()
        .collect(),
    };
    let s = setup(state, |endpoint| {
        format!(
            "version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n  prod-sg:\n    sdkappid: 1400000001\n  prod_sg:\n    sdkappid: 1400000002\n"
        )
    })
    .await;
    let key = [("TIM_SECRET_KEY", SECRET_KEY)];
    let output = livehook(s.dir.path(), &["export"], &key);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let exported = stdout(&output);
    for sdkappid in [1400000001, 1400000002] {
        let line = format!("value_env: PROD_SG_{sdkappid}_HOOK_TOKEN");
        assert_eq!(exported.matches(&line).count(), 1, "{exported}");
    }
    assert!(
        !exported.contains("value_env: PROD_SG_HOOK_TOKEN"),
        "{exported}"
    );
    std::fs::write(s.dir.path().join("exported.yaml"), &exported).unwrap();
    let validate = livehook(s.dir.path(), &["validate", "exported.yaml"], &[]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    let plan = livehook(
        s.dir.path(),
        &["plan", "exported.yaml", "--detailed-exitcode"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("PROD_SG_1400000001_HOOK_TOKEN", CLASH_DASH_TOKEN),
            ("PROD_SG_1400000002_HOOK_TOKEN", CLASH_UNDERSCORE_TOKEN),
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert!(
        stdout(&plan).starts_with("No changes."),
        "{}",
        stdout(&plan)
    );
}

/// A plan that asks for a token write without a resolved value can only come from a livehook
/// bug: the report says so, sends nothing, and does not blame Tencent's gateway.
#[tokio::test(flavor = "multi_thread")]
async fn a_livehook_bug_is_reported_as_one() {
    let s = setup(seeded_state(), |_| String::new()).await;
    let here = Position {
        file: "livehook.yaml".into(),
        line: 1,
        column: 1,
    };
    let app = App {
        name: "prod".into(),
        sdkappid: SDKAPPID,
        location: Location::Endpoint(s.emulator.base_url()),
        identifier: livehook::tim::DEFAULT_IDENTIFIER.into(),
        secret_key_env: "TIM_SECRET_KEY".into(),
        callback: None,
        token: Some(Managed::Present(TokenSpec {
            value_env: "HOOK_TOKEN".into(),
            enabled: true,
        })),
        origin: Origin::at(here),
    };
    let desired = TokenState {
        fingerprint: "fingerprint-of-the-desired-token".into(),
        enabled: true,
    };
    let plan = plan::decide(
        &app,
        Ok(LiveState::default()),
        plan::Desired {
            token: Some(&desired),
            ..plan::Desired::default()
        },
    );
    assert!(
        plan.decision.as_ref().is_ok_and(|d| !d.calls.is_empty()),
        "{plan:?}"
    );
    let credentials = Credentials {
        target: Target {
            base_url: s.emulator.base_url(),
            sdkappid: SDKAPPID,
            identifier: livehook::tim::DEFAULT_IDENTIFIER.into(),
            secret_key: Secret::new(SECRET_KEY.into()),
        },
        key_from_emulator: false,
        reads_token: true,
        // The bug: no value was resolved for the token the plan sets.
        token: None,
        callback_url: None,
    };
    let client = Client::new(ClientOptions::default()).unwrap();
    let outcome = apply_app(
        &client,
        &Job {
            app,
            credentials,
            plan,
        },
    )
    .await;
    let Status::Failed(error) = &outcome.status else {
        panic!("expected a failure, got {outcome:?}");
    };
    let hint = error.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("this is a bug in livehook, please report it"),
        "{hint}"
    );
    assert!(
        !hint.contains("gateway") && !hint.contains("try again"),
        "{hint}"
    );
    assert!(
        error.summary().contains("no token value was resolved"),
        "{}",
        error.summary()
    );
    assert!(writes(&s.emulator).is_empty(), "nothing was sent");
}

/// A task that panics (a livehook bug) loses only its own result, which apply and plan report
/// through `AppError::bug`: a bug, never a failure of Tencent's to retry later.
#[tokio::test(flavor = "multi_thread")]
async fn a_panicked_task_is_reported_as_a_livehook_bug() {
    let results = livehook::fanout::bounded(vec![1, 2, 3], 2, |n| async move {
        assert_ne!(n, 2, "an invariant livehook broke");
        n
    })
    .await;
    assert_eq!(results, [Some(1), None, Some(3)]);
    let error = livehook::plan::AppError::bug("applying this app failed unexpectedly");
    let hint = error.hint.as_deref().unwrap();
    assert!(
        hint.starts_with("this is a bug in livehook, please report it"),
        "{hint}"
    );
    assert!(error.command.is_none() && error.code.is_none());
    assert_eq!(error.brief(), "applying this app failed unexpectedly");
}

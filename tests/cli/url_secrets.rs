//! Secrets in callback URLs (`${NAME}`): resolved from the environment at plan and apply time,
//! sent resolved, and shown everywhere as the template; a live URL shown masked; a changed value
//! shown, saved and re-checked as a keyed fingerprint.

use livehook::emulator::State;

use crate::support::{
    CREATE_ROOM, SECRET_KEY, Setup, URL_ELSEWHERE_KEY, URL_KEY, URL_NEW_KEY, URL_OLD_KEY,
    assert_no_secrets, callback, live_app, livehook, setup, stderr, stdout, writes,
};

/// The template every app here uses, and what it resolves to.
const TEMPLATE: &str = "https://hooks.example.com/tim?key=${HOOK_KEY}&v=1";

fn resolved(key: &str) -> String {
    TEMPLATE.replace("${HOOK_KEY}", key)
}

/// `rotate`: live with the old value; `same`: live with the value in `HOOK_KEY`; `elsewhere`:
/// live at a URL of another shape, whose secret cannot be located; `create`: nothing live.
fn state() -> State {
    let app = |url: &str| live_app(callback(url, &[CREATE_ROOM]), None);
    State {
        apps: [
            (1400000001, app(&resolved(URL_OLD_KEY))),
            (1400000002, app(&resolved(URL_KEY))),
            (
                1400000003,
                app(&format!(
                    "https://old.example.com/in?token={URL_ELSEWHERE_KEY}&b=2"
                )),
            ),
            (1400000004, live_app(None, None)),
        ]
        .into_iter()
        .collect(),
    }
}

fn yaml(endpoint: &str) -> String {
    let app = |name: &str, sdkappid: u64| {
        format!(
            "  {name}:\n    sdkappid: {sdkappid}\n    callback:\n      url: '{TEMPLATE}'\n      commands: [{CREATE_ROOM}]\n"
        )
    };
    format!(
        "version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n{}{}{}{}",
        app("rotate", 1400000001),
        app("same", 1400000002),
        app("elsewhere", 1400000003),
        app("create", 1400000004),
    )
}

fn run_with(s: &Setup, args: &[&str], hook_key: Option<&str>) -> std::process::Output {
    let mut env = vec![("TIM_SECRET_KEY", SECRET_KEY)];
    env.extend(hook_key.map(|key| ("HOOK_KEY", key)));
    let output = livehook(s.dir.path(), args, &env);
    assert_no_secrets(&output);
    output
}

fn run(s: &Setup, args: &[&str]) -> std::process::Output {
    run_with(s, args, Some(URL_KEY))
}

/// The emulator's base URL varies from run to run.
fn masked(s: &Setup, text: &str) -> String {
    text.replace(&s.emulator.base_url(), "http://127.0.0.1:<port>")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_plan_format_shows_the_template_and_a_new_value_as_a_fingerprint() {
    let s = setup(state(), yaml).await;
    let text = run(&s, &["plan"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    insta::assert_snapshot!("url_secrets_plan_text", masked(&s, &stdout(&text)));

    let json = run(&s, &["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let app = |name: &str| {
        doc["apps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone()
    };
    let rotate = app("rotate");
    assert_eq!(rotate["after"]["url"], TEMPLATE);
    assert_eq!(rotate["before"]["url"], TEMPLATE, "the live URL, masked");
    let (before, after) = (
        rotate["before"]["url_fingerprint"].as_str().unwrap(),
        rotate["after"]["url_fingerprint"].as_str().unwrap(),
    );
    assert!(before.starts_with("hmac-sha256:") && before != after);
    assert_eq!(rotate["calls"][0]["body"]["Url"], TEMPLATE);
    let same = app("same");
    assert_eq!(same["action"], "no-op");
    assert_eq!(
        same["before"]["url_fingerprint"],
        same["after"]["url_fingerprint"]
    );

    let markdown = run(&s, &["plan", "--format", "markdown"]);
    insta::assert_snapshot!("url_secrets_plan_markdown", masked(&s, &stdout(&markdown)));
    let github = stdout(&run(&s, &["plan", "--format", "github"]));
    assert!(
        github.contains("the sensitive value in callback url"),
        "{github}"
    );
    assert!(writes(&s.emulator).is_empty(), "planning only reads");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_variable_is_named_with_every_app_before_any_request() {
    let s = setup(state(), yaml).await;
    for empty in [None, Some("")] {
        let output = run_with(&s, &["plan"], empty);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(stdout(&output), "");
        insta::assert_snapshot!("url_secrets_missing_variable", stderr(&output));
    }
    let apply = run_with(&s, &["apply", "--auto-approve"], None);
    assert_eq!(apply.status.code(), Some(1));
    assert!(
        s.emulator.requests().is_empty(),
        "no request before every variable is resolved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_that_breaks_the_url_is_named_by_variable_never_quoted() {
    let s = setup(state(), yaml).await;
    let value = format!("{URL_KEY} #x");
    let output = run_with(&s, &["plan"], Some(&value));
    assert_eq!(output.status.code(), Some(1));
    let error = stderr(&output);
    assert!(!error.contains(URL_KEY), "{error}");
    assert!(
        error.contains(
            "environment variable HOOK_KEY makes the callback url of apps `create`, `elsewhere`, \
             `rotate`, `same` unusable: its value holds whitespace"
        ),
        "{error}"
    );
    assert!(s.emulator.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn template_errors_point_at_the_dollar_and_validate_needs_no_variable() {
    let s = setup(state(), yaml).await;
    // Templates are checked without their values.
    let ok = run_with(&s, &["validate"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    std::fs::write(
        s.dir.path().join("bad.yaml"),
        format!(
            "version: 1
defaults:
  region: singapore
apps:
  lone:
    sdkappid: 1
    callback: {{url: https://h.example.com/a?price=$5, commands: [{CREATE_ROOM}]}}
  unclosed:
    sdkappid: 2
    callback: {{url: 'https://h.example.com/a?k=${{HOOK_KEY', commands: [{CREATE_ROOM}]}}
  bad-name:
    sdkappid: 3
    callback:
      url: \"https://h.example.com/a?k=${{1BAD}}\"
      commands: [{CREATE_ROOM}]
  escaped:
    sdkappid: 4
    callback: {{url: https://h.example.com/a?price=$$5, commands: [{CREATE_ROOM}]}}
"
        ),
    )
    .unwrap();
    let output = run_with(&s, &["validate", "bad.yaml"], None);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = stderr(&output);
    insta::assert_snapshot!("url_secrets_template_errors", diagnostics);
    // Plan and apply stop at the same diagnostics, before any request.
    let listed = diagnostics.trim_end_matches("Invalid: 3 errors.\n");
    for command in [
        &["plan", "bad.yaml"][..],
        &["apply", "bad.yaml", "--auto-approve"],
    ] {
        let output = run_with(&s, command, Some(URL_KEY));
        assert_eq!(output.status.code(), Some(1), "{command:?}");
        assert!(stderr(&output).starts_with(listed), "{}", stderr(&output));
    }
    assert!(s.emulator.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_sends_the_resolved_url_and_reads_it_back() {
    let s = setup(state(), yaml).await;
    let output = run(&s, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!("url_secrets_apply", masked(&s, &stdout(&output)));
    let state = s.emulator.state();
    for sdkappid in [1400000001, 1400000003, 1400000004] {
        let live = state.apps[&sdkappid].callback.as_ref().unwrap();
        assert_eq!(live.url, resolved(URL_KEY), "{sdkappid}");
    }
    // Apps are applied concurrently: the writes, by app, with the URL each body carried.
    let mut sent: Vec<(u64, String, String)> = s
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.command != "get_callback")
        .map(|r| {
            let url = r
                .body
                .as_ref()
                .and_then(|b| b["Url"].as_str())
                .unwrap_or_default();
            (
                r.sdkappid.unwrap_or_default(),
                r.command.clone(),
                url.to_owned(),
            )
        })
        .collect();
    sent.sort();
    let write = |id: u64, command: &str| (id, command.to_owned(), resolved(URL_KEY));
    assert_eq!(
        sent,
        [
            write(1400000001, "update_callback"),
            write(1400000003, "update_callback"),
            write(1400000004, "set_callback"),
        ]
    );
    let again = run(&s, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_holds_fingerprints_and_is_refused_when_a_value_moves() {
    let s = setup(state(), yaml).await;
    let plan = run(&s, &["plan", "--out", "plan.json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let saved = std::fs::read_to_string(s.dir.path().join("plan.json")).unwrap();
    for secret in [URL_KEY, URL_OLD_KEY, URL_ELSEWHERE_KEY] {
        assert!(!saved.contains(secret), "{saved}");
    }
    assert!(saved.contains("\"url\": \"https://hooks.example.com/tim?key=${HOOK_KEY}&v=1\""));
    assert!(saved.contains("\"url\": \"https://old.example.com/in?(sensitive)\""));
    assert!(saved.contains("\"url_fingerprint\": \"hmac-sha256:"));

    // The variable now holds another value than the plan was made with: nothing is written.
    let output = run_with(&s, &["apply", "--plan", "plan.json"], Some(URL_NEW_KEY));
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(
        report.contains("the callback url's ${HOOK_KEY} is not the one the plan was made with"),
        "{report}"
    );
    assert!(writes(&s.emulator).is_empty(), "{:?}", writes(&s.emulator));

    // The live URL's secret moved (its masked text did not): refused as stale.
    s.emulator.update_state(|state| {
        let app = state.apps.get_mut(&1400000002).unwrap();
        app.callback = callback(&resolved(URL_NEW_KEY), &[CREATE_ROOM]);
    });
    let output = run(&s, &["apply", "--plan", "plan.json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(
        report.contains("callback url's sensitive value changed since the plan (sha256:"),
        "{report}"
    );
    assert_eq!(
        s.emulator.state().apps[&1400000002]
            .callback
            .as_ref()
            .unwrap()
            .url,
        resolved(URL_NEW_KEY),
        "the moved app is not written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_keeps_the_template_and_plans_back_to_no_changes() {
    let s = setup(state(), yaml).await;
    // Not `run`: `elsewhere`'s live URL is not of the template's shape, so it is exported as it
    // is, secret included; only the warning is checked for it.
    let output = livehook(s.dir.path(), &["export"], &[("TIM_SECRET_KEY", SECRET_KEY)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let exported = stdout(&output);
    assert!(exported.contains(TEMPLATE), "{exported}");
    assert!(!exported.contains(URL_OLD_KEY) && !exported.contains(URL_KEY));
    // The URL of another shape is exported as it is live, with a warning that never quotes it.
    let warnings = stderr(&output);
    assert!(
        warnings.contains("the live callback url of `elsewhere` carries a query"),
        "{warnings}"
    );
    assert!(!warnings.contains(URL_ELSEWHERE_KEY), "{warnings}");
    std::fs::write(s.dir.path().join("exported.yaml"), &exported).unwrap();
    assert_eq!(
        run_with(&s, &["validate", "exported.yaml"], None)
            .status
            .code(),
        Some(0)
    );
    // With `HOOK_KEY` holding the value `same` has live, `same` plans back to no change; the
    // others, exported from their live state, too (`rotate` once the variable is its value).
    let same = run(&s, &["plan", "exported.yaml", "--target", "same"]);
    assert!(stdout(&same).contains("No changes."), "{}", stdout(&same));
    let rotate = run_with(
        &s,
        &["plan", "exported.yaml", "--target", "rotate"],
        Some(URL_OLD_KEY),
    );
    assert!(
        stdout(&rotate).contains("No changes."),
        "{}",
        stdout(&rotate)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_doubled_dollar_is_sent_as_one_and_exported_doubled() {
    let empty = || live_app(None, None);
    let state = State {
        apps: [(1400000002, empty()), (1400000004, empty())]
            .into_iter()
            .collect(),
    };
    let s = setup(state, |endpoint| {
        format!(
            "version: 1
defaults:
  endpoint: {endpoint}
apps:
  price:
    sdkappid: 1400000004
    callback: {{url: 'https://h.example.com/p?cost=$$5&key=${{HOOK_KEY}}', commands: [{CREATE_ROOM}]}}
  plain:
    sdkappid: 1400000002
    callback: {{url: 'https://h.example.com/p?cost=$$5', commands: [{CREATE_ROOM}]}}
"
        )
    })
    .await;
    let output = run(&s, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let state = s.emulator.state();
    let url = |id: u64| state.apps[&id].callback.as_ref().unwrap().url.clone();
    assert_eq!(
        url(1400000004),
        format!("https://h.example.com/p?cost=$5&key={URL_KEY}")
    );
    assert_eq!(url(1400000002), "https://h.example.com/p?cost=$5");
    let again = run(&s, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    // Only the commands move: the URL (`$5` live, `$$5` written) is no change.
    s.emulator.update_state(|state| {
        let app = state.apps.get_mut(&1400000002).unwrap();
        app.callback = callback("https://h.example.com/p?cost=$5", &[]);
    });
    let commands = stdout(&run(&s, &["plan", "--target", "plain"]));
    assert!(
        commands.contains("        url      = \"https://h.example.com/p?cost=$$5\"\n"),
        "{commands}"
    );
    assert!(!commands.contains("->"), "{commands}");
    let markdown = stdout(&run(
        &s,
        &["plan", "--target", "plain", "--format", "markdown"],
    ));
    assert!(!markdown.contains("url changed"), "{markdown}");
    run(&s, &["apply", "--auto-approve"]);

    let export = run_with(&s, &["export"], None);
    let exported = stdout(&export);
    assert!(
        exported.contains("https://h.example.com/p?cost=$$5&key=${HOOK_KEY}")
            && exported.contains("https://h.example.com/p?cost=$$5"),
        "{exported}"
    );
    std::fs::write(s.dir.path().join("exported.yaml"), &exported).unwrap();
    let back = run(&s, &["plan", "exported.yaml", "--detailed-exitcode"]);
    assert_eq!(back.status.code(), Some(0), "{}", stdout(&back));
}

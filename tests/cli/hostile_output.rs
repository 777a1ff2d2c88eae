//! The hostile-string corpus: text a pull request, the console or Tencent's answers may carry
//! (workflow commands after a newline, `::stop-commands::`, code fences, `</details>`, HTML,
//! mentions, table pipes, CSI and OSC 8 sequences, U+202E, a 10 kB URL) put through every
//! command and format, from the desired side, the live side and `ErrorInfo`. Whatever it holds,
//! no output line is a workflow command but livehook's own, no raw ESC or bidi character is
//! written, and markdown keeps its structure. A property test runs the same checks over
//! arbitrary strings rendered in process.

mod invariants;

use std::process::Output;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use proptest::prelude::*;
use serde_json::json;

use crate::support::{
    CREATE_ROOM, SECRET_KEY, callback, live_app, livehook, one_live_app, stderr, stdout,
};

/// Every hostile piece in one string, each on its own line or run together.
const HOSTILE: &str = "x\n::error::x\n::stop-commands::x\n```\n</details>\n<img src=x>\n@someone\n| \u{1b}[31mred \u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{7} \u{202e}desrever";

/// The corpus, one string per kind, and the 10 kB URL.
fn corpus() -> Vec<String> {
    let mut pieces: Vec<String> = [
        "x\n::error::x",
        "::stop-commands::x",
        "```",
        "</details>",
        "<img src=x>",
        "@someone",
        "|",
        "\u{1b}[31m",
        "\u{1b}]8;;http://x\u{7}",
        "\u{202e}",
        HOSTILE,
    ]
    .map(str::to_owned)
    .to_vec();
    pieces.push(long_url());
    pieces
}

fn long_url() -> String {
    format!("https://long.example.com/{}", "a".repeat(10_000))
}

/// Checks one run's stdout and stderr as `format` writes them; `coloured` when the run had
/// `--color always`, so livehook's own styles may be there (and nothing else that starts with
/// ESC).
fn assert_inert(what: &str, format: &str, coloured: bool, output: &Output) {
    let (out, err) = (stdout(output), stderr(output));
    let checks = [
        (
            "stdout controls",
            invariants::no_raw_controls(&out, coloured),
        ),
        (
            "stderr controls",
            invariants::no_raw_controls(&err, coloured),
        ),
        ("stderr commands", invariants::no_workflow_commands(&err)),
        (
            "stdout commands",
            if format == "github" {
                invariants::github_commands_are_livehook_own(&out)
            } else {
                invariants::no_workflow_commands(&out)
            },
        ),
        (
            "markdown",
            if format == "markdown" {
                invariants::markdown_structure(&out)
            } else {
                Ok(())
            },
        ),
    ];
    for (check, result) in checks {
        if let Err(problem) = result {
            panic!("{what} --format {format}: {check}: {problem}\nstdout:\n{out}\nstderr:\n{err}");
        }
    }
}

fn plan_formats() -> [&'static str; 4] {
    ["text", "json", "markdown", "github"]
}

/// Plan in every format (text with colour, so livehook's own styles are told from raw ESC),
/// apply as text and JSON, and export, all checked.
fn every_command(what: &str, dir: &std::path::Path, export_args: &[&str]) -> Vec<Output> {
    let env = [("TIM_SECRET_KEY", SECRET_KEY)];
    let mut outputs = Vec::new();
    for format in plan_formats() {
        let mut args = vec!["plan", "--format", format];
        if format == "text" {
            args.extend(["--color", "always"]);
        }
        let output = livehook(dir, &args, &env);
        assert_inert(&format!("{what}: plan"), format, format == "text", &output);
        outputs.push(output);
    }
    for format in ["text", "json"] {
        let output = livehook(dir, &["apply", "--auto-approve", "--format", format], &env);
        assert_inert(&format!("{what}: apply"), format, false, &output);
        outputs.push(output);
    }
    let output = livehook(dir, export_args, &env);
    assert_inert(&format!("{what}: export"), "yaml", false, &output);
    outputs.push(output);
    outputs
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_live_state_is_shown_never_obeyed() {
    for piece in corpus() {
        let url = format!("https://live.example.com/{piece}");
        let app = live_app(callback(&url, &[CREATE_ROOM, piece.as_str()]), None);
        let s = one_live_app(
            app,
            &format!(
                "  hostile:\n    callback:\n      url: https://new.example.com/hook\n      commands: [{CREATE_ROOM}]\n"
            ),
        )
        .await;
        let outputs = every_command(&format!("live {piece:?}"), s.dir.path(), &["export"]);
        if piece == HOSTILE {
            // The text plan shows the URL, escaped as Terraform quotes strings.
            let plan = anstream::adapter::strip_str(&stdout(&outputs[0])).to_string();
            assert!(plan.contains("\\u{1b}[31mred"), "{plan}");
            assert!(plan.contains("\\u{202e}desrever"), "{plan}");
        }
    }
}

/// An endpoint that answers every request with a failure whose `ErrorInfo` and `RequestId` are
/// `info`.
async fn failing_endpoint(info: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().fallback(move || {
        let body = json!({
            "ActionStatus": "FAIL",
            "ErrorCode": 70009,
            "ErrorInfo": info.clone(),
            "RequestId": info.clone(),
        });
        async move {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_error_info_is_shown_never_obeyed() {
    for piece in corpus() {
        let endpoint = failing_endpoint(piece.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("livehook.yaml"),
            format!(
                "version: 1\napps:\n  failing:\n    sdkappid: 1400000001\n    endpoint: {endpoint}\n    callback:\n      url: https://new.example.com/hook\n      commands: [{CREATE_ROOM}]\n"
            ),
        )
        .unwrap();
        let outputs = every_command(&format!("ErrorInfo {piece:?}"), dir.path(), &["export"]);
        assert_ne!(outputs[0].status.code(), Some(0), "the plan fails");
    }
}

/// A YAML double-quoted scalar holding `text` exactly (JSON's escapes are YAML's).
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_desired_state_is_shown_never_obeyed() {
    for piece in corpus() {
        let app = live_app(None, None);
        let word = yaml_string(&piece);
        let s = one_live_app(
            app,
            &format!(
                "  {word}:\n    callback:\n      url: {url}\n      commands: [{CREATE_ROOM}, {word}]\n",
                url = yaml_string(&format!("https://desired.example.com/{piece}")),
            ),
        )
        .await;
        let yaml = std::fs::read_to_string(s.dir.path().join("livehook.yaml")).unwrap();
        std::fs::write(
            s.dir.path().join("livehook.yaml"),
            format!("extra_commands: [{word}]\n{yaml}"),
        )
        .unwrap();
        let what = format!("desired {piece:?}");
        for format in ["text", "json", "github"] {
            for colour in ["never", "always"] {
                let output = livehook(
                    s.dir.path(),
                    &["validate", "--format", format, "--color", colour],
                    &[],
                );
                let what = format!("{what}: validate --color {colour}");
                assert_inert(&what, format, colour == "always", &output);
            }
        }
        every_command(&what, s.dir.path(), &["export"]);
    }
}

/// URLs that pass validation (no whitespace or controls) but carry markdown, HTML, mentions,
/// pipes and workflow-command text: the plan renders them in every format.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_but_valid_urls_render_as_data() {
    let url = "https://desired.example.com/x?a=```|</details><img/src=x>@someone&b=::error::x`";
    let app = live_app(
        callback(
            "https://live.example.com/``|@someone</details>",
            &[CREATE_ROOM],
        ),
        None,
    );
    let s = one_live_app(
        app,
        &format!(
            "  valid:\n    callback:\n      url: {}\n      commands: [{CREATE_ROOM}]\n",
            yaml_string(url)
        ),
    )
    .await;
    let outputs = every_command("valid hostile URL", s.dir.path(), &["export"]);
    assert_eq!(outputs[0].status.code(), Some(0), "{}", stderr(&outputs[0]));
    assert!(
        stdout(&outputs[2]).contains("<details>"),
        "the markdown has its details"
    );
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => prop::sample::select(corpus()),
        1 => "[`|@<>:\n\r%,\u{1b}\u{202e}\u{85}a-z]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_outside_text_keeps_every_report_inert(
        name in arbitrary_text(),
        desired_url in arbitrary_text(),
        live_url in arbitrary_text(),
        desired_words in prop::collection::vec(arbitrary_text(), 0..3),
        live_words in prop::collection::vec(arbitrary_text(), 0..3),
        error in arbitrary_text(),
        hint in arbitrary_text(),
    ) {
        let plans = invariants::plans(invariants::Outside {
            name,
            desired_url,
            live_url,
            desired_words,
            live_words,
            error,
            hint,
        });
        if let Err(problem) = invariants::check_reports(&plans) {
            return Err(TestCaseError::fail(problem));
        }
    }
}

/// The stop-commands token is fresh per run; snapshots show its place.
fn mask_stop_token(text: &str) -> String {
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("::stop-commands::"))
        .expect("a stop-commands line")
        .to_owned();
    text.replace(&token, "<token>")
}

/// How the hostile string looks in each format, reviewed by eye: escaped, on its lines.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_live_url_as_each_format_shows_it() {
    let url = format!("https://live.example.com/{HOSTILE}");
    let app = live_app(callback(&url, &[CREATE_ROOM, HOSTILE]), None);
    let s = one_live_app(
        app,
        &format!(
            "  hostile:\n    callback:\n      url: https://new.example.com/hook\n      commands: [{CREATE_ROOM}]\n"
        ),
    )
    .await;
    let env = [("TIM_SECRET_KEY", SECRET_KEY)];
    let plan = |format: &str| stdout(&livehook(s.dir.path(), &["plan", "--format", format], &env));
    insta::assert_snapshot!("hostile_plan_text", plan("text"));
    insta::assert_snapshot!("hostile_plan_markdown", plan("markdown"));
    insta::assert_snapshot!("hostile_plan_github", mask_stop_token(&plan("github")));
}

/// A diagnostic about a file with ESC and U+202E in it: the message and the snippet show them
/// escaped (the snippet as `?` and `�`, which keep the columns), and nothing colours the terminal.
#[test]
fn a_diagnostic_never_prints_a_raw_control_character() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        "version: 1\napps:\n  \"red\\e[31m\\u202Eapp\":\n    sdkappid: 1400000001\n    region: singapore\n    callbak: {}\n",
    )
    .unwrap();
    let output = livehook(dir.path(), &["validate", "--color", "never"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_inert("diagnostic", "text", false, &output);
    insta::assert_snapshot!("hostile_diagnostic", stderr(&output));
    // The same characters raw in the file: the snippet shows them as placeholders.
    std::fs::write(
        dir.path().join("livehook.yaml"),
        "version: 1\napps:\n  app:\n    sdkappid: 1400000001\n    region: singapore\n    callbak: red\u{1b}[31m \u{202e}x\n",
    )
    .unwrap();
    let output = livehook(dir.path(), &["validate", "--color", "never"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_inert("diagnostic", "text", false, &output);
    insta::assert_snapshot!("hostile_diagnostic_raw", stderr(&output));
}

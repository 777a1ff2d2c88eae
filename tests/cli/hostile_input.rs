//! Desired-state files written by someone livehook must not trust, or by a hurried user: URLs
//! whose exact text is not what it seems (whitespace, control and bidi characters, credentials),
//! and secrets pasted where the name of their variable belongs. Each is refused at its
//! `file:line:col` without the offending text reaching any output.

use std::path::Path;

use crate::support::{
    PASTED_TOKEN_PADDED, PASTED_TOKEN_UNPADDED, SECRET_KEY, URL_PASSWORD, livehook, stderr, stdout,
};

/// Writes `livehook.yaml` into a fresh directory.
fn file(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("livehook.yaml"), yaml).expect("livehook.yaml written");
    dir
}

/// The only diagnostic of `validate --format json`, which must have failed.
fn only_diagnostic(dir: &Path) -> serde_json::Value {
    let output = livehook(dir, &["validate", "--format", "json"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON report");
    let diagnostics = doc["diagnostics"].as_array().expect("a diagnostics list");
    assert_eq!(diagnostics.len(), 1, "{doc:#}");
    diagnostics[0].clone()
}

/// A file whose callback `url` (line 7, column 12) is the YAML text given: a double-quoted
/// scalar with escapes, usually.
fn callback_file(url: &str) -> String {
    format!(
        "version: 1\napps:\n  prod:\n    sdkappid: 1400000001\n    region: singapore\n    callback:\n      url: {url}\n      commands: [Live.CallbackAfterCreateRoom]\n"
    )
}

/// A file whose app `endpoint` (line 5, column 15) is the YAML text given.
fn endpoint_file(url: &str) -> String {
    format!("version: 1\napps:\n  prod:\n    sdkappid: 1400000001\n    endpoint: {url}\n")
}

/// Each hostile URL, as YAML text, and the message's wording after `callback url` / `endpoint`.
const URLS: &[(&str, &str)] = &[
    (
        r#"" https://hooks.example.com/tim""#,
        "contains a space (U+0020) at character 1",
    ),
    (
        r#""https://hooks.example.com/tim ""#,
        "contains a space (U+0020) at character 30",
    ),
    (
        "https://hooks.example.com/a b",
        "contains a space (U+0020) at character 28",
    ),
    (
        r#""https://hooks.example.com/tim\n::error file=x,line=1::owned""#,
        "contains a line feed (U+000A) at character 30",
    ),
    (
        r#""https://hooks.example.com/\tx""#,
        "contains a tab (U+0009) at character 27",
    ),
    (
        r#""https://hooks.example.com/\r""#,
        "contains a carriage return (U+000D) at character 27",
    ),
    (
        r#""https://hooks.example.com/\e[31mred""#,
        "contains the control character U+001B at character 27",
    ),
    (
        r#""https://hooks.example.com/\e]8;;https://evil.example/\e\\x""#,
        "contains the control character U+001B at character 27",
    ),
    (
        r#""https://hooks.example.com/\0""#,
        "contains the control character U+0000 at character 27",
    ),
    (
        r#""https://hooks.example.com/\x7f""#,
        "contains the control character U+007F at character 27",
    ),
    (
        r#""https://hooks.example.com/\x9b31m""#,
        "contains the control character U+009B at character 27",
    ),
    (
        r#""https://hooks.example.com/\u202Egpj.exe""#,
        "contains the bidirectional control U+202E at character 27",
    ),
    (
        r#""https://hooks.example.com/\u2066x\u2069""#,
        "contains the bidirectional control U+2066 at character 27",
    ),
    (
        r#""https://hooks.example.com/\u200F""#,
        "contains the bidirectional control U+200F at character 27",
    ),
    (
        r#""https://hooks.example.com/\u061C""#,
        "contains the bidirectional control U+061C at character 27",
    ),
    (
        "https://hooks.example.com/\u{3000}x",
        "contains whitespace (U+3000) at character 27",
    ),
];

#[test]
fn a_callback_url_is_checked_as_the_exact_text_sent() {
    for (url, wording) in URLS {
        let dir = file(&callback_file(url));
        let d = only_diagnostic(dir.path());
        assert_eq!(d["code"], "livehook::invalid_url", "{url}: {d}");
        assert_eq!(d["message"], format!("callback url {wording}"), "{url}");
        assert_eq!((&d["line"], &d["column"]), (&7.into(), &12.into()), "{url}");
        assert_eq!(d["file"], "livehook.yaml");
        assert!(d["help"].as_str().unwrap().starts_with("remove it"), "{d}");
    }
}

#[test]
fn an_endpoint_is_checked_as_the_exact_text_sent() {
    for (url, wording) in URLS {
        let dir = file(&endpoint_file(url));
        let d = only_diagnostic(dir.path());
        assert_eq!(d["code"], "livehook::invalid_endpoint", "{url}: {d}");
        assert_eq!(d["message"], format!("endpoint {wording}"), "{url}");
        assert_eq!((&d["line"], &d["column"]), (&5.into(), &15.into()), "{url}");
    }
}

/// No output, in any format, holds a raw control or bidi character from the file, nor the
/// password of a URL.
#[test]
fn no_format_repeats_the_hostile_text() {
    let urls = [
        r#""https://hooks.example.com/tim\n::error file=x,line=1::owned""#.to_owned(),
        r#""https://hooks.example.com/\e[31mred\u202E""#.to_owned(),
        format!("https://deploy:{URL_PASSWORD}@hooks.example.com/tim"),
        // Reported for the line feed, hidden for the password all the same.
        format!(r#""https://deploy:{URL_PASSWORD}@hooks.example.com/tim\n""#),
    ];
    for url in &urls {
        let dir = file(&callback_file(url));
        for format in ["text", "json", "github"] {
            let output = livehook(dir.path(), &["validate", "--format", format], &[]);
            assert_eq!(output.status.code(), Some(1), "{url} {format}");
            for text in [stdout(&output), stderr(&output)] {
                assert!(
                    !text
                        .chars()
                        .any(|c| matches!(c, '\u{1b}' | '\u{202E}' | '\u{9b}')),
                    "{url} {format}: {text:?}"
                );
                assert!(
                    !text
                        .lines()
                        .any(|l| l.trim_start().starts_with("::error file=x")),
                    "{url} {format}: {text}"
                );
                assert!(!text.contains(URL_PASSWORD), "{url} {format}: {text}");
            }
        }
    }
}

#[test]
fn credentials_in_a_url_are_refused_without_showing_them() {
    let cases = [
        (
            callback_file(&format!(
                "https://deploy:{URL_PASSWORD}@hooks.example.com/tim"
            )),
            "livehook::invalid_url",
            "callback url",
            (7, 12),
        ),
        (
            callback_file(&format!(
                "\"https:deploy:{URL_PASSWORD}@hooks.example.com\""
            )),
            "livehook::invalid_url",
            "callback url",
            (7, 12),
        ),
        (
            callback_file(&format!("https://deploy:{URL_PASSWORD}@")),
            "livehook::invalid_url",
            "callback url",
            (7, 12),
        ),
        (
            endpoint_file(&format!(
                "https://ops:{URL_PASSWORD}@adminapisgp.im.qcloud.com"
            )),
            "livehook::invalid_endpoint",
            "endpoint",
            (5, 15),
        ),
    ];
    for (yaml, code, what, (line, column)) in cases {
        let dir = file(&yaml);
        let d = only_diagnostic(dir.path());
        assert_eq!(d["code"], code, "{d}");
        assert_eq!(
            d["message"],
            format!("{what} contains a user name or password (`user:password@` before the host)")
        );
        assert_eq!((&d["line"], &d["column"]), (&line.into(), &column.into()));
        for args in [
            &["validate"][..],
            &["validate", "--format", "github"],
            &["plan"],
        ] {
            let output = livehook(dir.path(), args, &[]);
            assert_eq!(output.status.code(), Some(1), "{args:?}");
            let all = format!("{}{}", stdout(&output), stderr(&output));
            assert!(!all.contains(URL_PASSWORD), "{args:?}: {all}");
            assert!(!all.contains("deploy:"), "{args:?}: {all}");
            if args == ["validate"] {
                assert!(
                    all.contains(&format!("livehook.yaml:{line}:{column}")),
                    "{all}"
                );
            }
        }
    }
}

/// A 64-hex-digit secret key, a padded base64 token and an unpadded one.
const PASTED: &[&str] = &[SECRET_KEY, PASTED_TOKEN_PADDED, PASTED_TOKEN_UNPADDED];

/// Where a pasted value goes: the file, the field named in the message, and its line and
/// column.
fn pasted_files(value: &str) -> Vec<(String, &'static str, (usize, usize))> {
    vec![
        (
            format!(
                "version: 1\napps:\n  prod:\n    sdkappid: 1400000001\n    region: singapore\n    secret_key_env: {value}\n"
            ),
            "secret_key_env",
            (6, 21),
        ),
        (
            format!(
                "version: 1\ndefaults:\n  region: singapore\n  secret_key_env: \"{value}\"\napps:\n  prod:\n    sdkappid: 1400000001\n"
            ),
            "secret_key_env",
            (4, 19),
        ),
        (
            format!(
                "version: 1\napps:\n  prod:\n    sdkappid: 1400000001\n    region: singapore\n    token:\n      value_env: {value}\n      enabled: true\n"
            ),
            "value_env",
            (7, 18),
        ),
        (
            format!(
                "version: 1\napps:\n  prod:\n    sdkappid: 1400000001\n    region: singapore\n    token: {{value_env: '{value}'}}\n"
            ),
            "value_env",
            (6, 24),
        ),
    ]
}

/// Whether any 8 characters in a row of `value` appear in `text`.
fn leaks(value: &str, text: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    chars
        .windows(8)
        .map(|w| w.iter().collect::<String>())
        .find(|run| text.contains(run.as_str()))
}

#[test]
fn a_secret_pasted_as_a_variable_name_is_refused_and_never_shown() {
    for value in PASTED {
        for (yaml, field, (line, column)) in pasted_files(value) {
            let dir = file(&yaml);
            let d = only_diagnostic(dir.path());
            assert_eq!(d["code"], "livehook::secret_in_env_name", "{yaml}\n{d}");
            let message = d["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("`{field}` holds what looks like a")),
                "{message}"
            );
            assert_eq!(
                (&d["line"], &d["column"]),
                (&line.into(), &column.into()),
                "{yaml}"
            );
            for args in [
                &["validate"][..],
                &["validate", "--format", "json"],
                &["validate", "--format", "github"],
                &["plan"],
                &["plan", "--format", "json"],
            ] {
                let output = livehook(dir.path(), args, &[]);
                assert_eq!(output.status.code(), Some(1), "{args:?}\n{yaml}");
                let all = format!("{}{}", stdout(&output), stderr(&output));
                if let Some(run) = leaks(value, &all) {
                    panic!("{args:?} shows `{run}` of the pasted value:\n{all}");
                }
                assert!(all.contains(field), "{args:?}: {all}");
                if args.len() == 1 {
                    assert!(
                        all.contains(&format!("livehook.yaml:{line}:{column}")),
                        "{args:?}: {all}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_variable_name_that_is_not_one_is_not_quoted_either() {
    let dir = file(
        "version: 1\napps:\n  prod:\n    sdkappid: 1400000001\n    region: singapore\n    secret_key_env: hunter2!pw\n",
    );
    let d = only_diagnostic(dir.path());
    assert_eq!(d["code"], "livehook::invalid_env_name");
    assert_eq!(
        d["message"],
        "`secret_key_env` is not a valid environment variable name"
    );
    let output = livehook(dir.path(), &["validate"], &[]);
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    assert!(stderr(&output).contains("secret_key_env: **********"));
}

#[test]
fn real_variable_names_pass() {
    let dir = file(
        "version: 1\napps:\n  prod-sg:\n    sdkappid: 1400000001\n    region: singapore\n    secret_key_env: TIM_SECRET_KEY_PROD_SG\n    token: {value_env: PROD_SG_1400000001_HOOK_TOKEN}\n",
    );
    let output = livehook(dir.path(), &["validate"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A live URL that would not pass validation (set in the console, say) is exported as it is,
/// with a warning that names the app and the problem without quoting the URL.
#[tokio::test(flavor = "multi_thread")]
async fn export_warns_of_a_live_url_that_will_not_validate() {
    use crate::support::{CREATE_ROOM, callback, live_app, setup};
    let live = format!("https://deploy:{URL_PASSWORD}@hooks.example.com/tim\n::error::x");
    let state = livehook::emulator::State {
        apps: [(1400000001, live_app(callback(&live, &[CREATE_ROOM]), None))]
            .into_iter()
            .collect(),
    };
    let s = setup(state, |endpoint| {
        format!("version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n  prod:\n    sdkappid: 1400000001\n")
    })
    .await;
    let output = livehook(s.dir.path(), &["export"], &[("TIM_SECRET_KEY", SECRET_KEY)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let warning = stderr(&output);
    assert!(
        warning.contains(
            "the live callback url of `prod` contains a line feed (U+000A) at character 52; the exported file will not validate until it is changed"
        ),
        "{warning}"
    );
    assert!(!warning.contains(URL_PASSWORD), "{warning}");
}

#[test]
fn export_endpoint_with_credentials_is_refused_without_repeating_them() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("https://ops:{URL_PASSWORD}@adminapisgp.im.qcloud.com");
    let output = livehook(
        dir.path(),
        &[
            "export",
            "--sdkappid",
            "1400000001",
            "--endpoint",
            &endpoint,
        ],
        &[],
    );
    assert_ne!(output.status.code(), Some(0));
    let text = stderr(&output);
    assert!(
        text.contains(
            "--endpoint: the endpoint contains a user name or password (`user:password@` before the host)"
        ),
        "{text}"
    );
    assert!(!text.contains(URL_PASSWORD), "{text}");
}

#[test]
fn export_secret_key_env_holding_a_key_is_refused_without_repeating_it() {
    let dir = tempfile::tempdir().unwrap();
    for value in PASTED {
        let output = livehook(
            dir.path(),
            &[
                "export",
                "--sdkappid",
                "1400000001",
                "--region",
                "singapore",
                "--secret-key-env",
                value,
            ],
            &[],
        );
        assert_ne!(output.status.code(), Some(0));
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(all.contains("--secret-key-env is not the name"), "{all}");
        if let Some(run) = leaks(value, &all) {
            panic!("shows `{run}` of the pasted value:\n{all}");
        }
    }
}

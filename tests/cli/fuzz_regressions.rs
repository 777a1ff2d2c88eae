//! Inputs found by fuzzing (`fuzz/`) or while writing the fuzz targets, fed through the same
//! functions the targets call, so a fixed bug stays fixed in the normal test suite. Also checks
//! that the emulator's fuzzing entry point reaches the commands at all (a harness that never gets
//! past the UserSig check would fuzz nothing useful).

use livehook::config::{SourceFile, load_source};
use livehook::emulator::{AppState, State, fuzz_request};
use livehook::tim::usersig;
use serde_json::Value;

fn load(text: &str) -> (usize, Vec<(&'static str, String, usize)>) {
    let source = SourceFile::new("fuzz.yaml", text.to_owned());
    let (apps, diagnostics) = load_source(&source);
    let found = diagnostics
        .iter()
        .map(|d| {
            let (_, line, _) = d.location().expect("in the file");
            (d.code, d.message.clone(), line)
        })
        .collect();
    (apps.len(), found)
}

/// `1000:` and `"1000":` are different YAML keys but the same app name: the second used to
/// replace the first silently, dropping an app from the desired state.
#[test]
fn keys_equal_only_as_names_are_refused_not_merged() {
    let text = include_str!("../fixtures/fuzz/config_duplicate_key_as_name.yaml");
    let (apps, found) = load(text);
    assert_eq!(apps, 0);
    assert_eq!(found.len(), 1, "{found:?}");
    let (code, message, line) = &found[0];
    assert_eq!(*code, "livehook::yaml");
    assert!(message.contains("key `1000`"), "{message}");
    assert_eq!(*line, 6);
}

fn request(method: &str, command: &str, identifier: &str, body: &str) -> (u16, Value) {
    let key = "fuzz-key";
    let mut app = AppState::new(key);
    app.admin = "administrator".into();
    let state = State {
        apps: [(1400000001, app)].into_iter().collect(),
    };
    let sig = usersig::generate_now(key, 1400000001, identifier, 3600);
    let uri = format!(
        "/v4/live_config/{command}?sdkappid=1400000001&identifier={identifier}&usersig={sig}&random=1"
    );
    let (status, answer) = fuzz_request(
        state,
        method.as_bytes(),
        uri.as_bytes(),
        Some(body.as_bytes()),
    )
    .expect("a valid method and URI");
    (
        status,
        serde_json::from_slice(&answer).expect("JSON envelope"),
    )
}

#[test]
fn emulator_fuzz_entry_point_reaches_the_commands() {
    let (status, answer) = request(
        "POST",
        "set_callback",
        "administrator",
        r#"{"Url": "https://x", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]}"#,
    );
    assert_eq!(
        (status, &answer["ErrorCode"]),
        (200, &Value::from(0)),
        "{answer}"
    );
    let (_, answer) = request("POST", "get_callback", "administrator", "{}");
    assert_eq!(
        answer["ErrorCode"], 100301,
        "a fresh state each call: {answer}"
    );
    let (_, answer) = request("POST", "get_callback", "someone", "{}");
    assert_eq!(answer["ErrorCode"], 60010, "{answer}");
    let (_, answer) = request("GET", "get_callback", "administrator", "{}");
    assert_eq!(answer["ErrorCode"], 60002, "{answer}");
    assert!(fuzz_request(State::default(), b"BAD METHOD", b"/", None).is_none());
}

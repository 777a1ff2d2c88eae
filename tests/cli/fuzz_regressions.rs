//! Inputs found by fuzzing (`fuzz/`) or while writing the fuzz targets, fed through the same
//! functions the targets call, so a fixed bug stays fixed in the normal test suite. Also checks
//! that the emulator's fuzzing entry point reaches the commands at all (a harness that never gets
//! past the UserSig check would fuzz nothing useful).

use livehook::config::{SourceFile, load_source};
use livehook::emulator::{AppState, FaultKind, FuzzEmulator, State, fuzz_request};
use livehook::tim::usersig;
use serde_json::Value;

use crate::support::EMULATOR_TOKEN;

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

/// The sequence entry point the `emulator_request` target drives: one state across requests,
/// seeded faults that damage answers as their kind says, and the token sent back only by
/// `get_callback_token` (the target's leak check, run here on every command with faults on).
#[test]
fn the_sequence_entry_point_keeps_state_and_sends_the_token_back_only_where_asked() {
    let key = "fuzz-key";
    let mut app = AppState::new(key);
    app.token = crate::support::token(EMULATOR_TOKEN, true);
    let state = State {
        apps: [(1400000001, app)].into_iter().collect(),
    };
    let emulator = FuzzEmulator::new(state, 0.5, 1);
    let sig = usersig::generate_now(key, 1400000001, "administrator", 3600);
    let commands = [
        ("get_callback", "{}".to_owned()),
        (
            "set_callback",
            r#"{"Url": "https://h.example.com/x", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]}"#.to_owned(),
        ),
        ("get_callback_token", "{}".to_owned()),
        (
            "update_callback",
            r#"{"Url": "https://h.example.com/y", "CallbackCommandList": []}"#.to_owned(),
        ),
        ("delete_callback", "{}".to_owned()),
        ("get_callback_token", "{}".to_owned()),
    ];
    let (mut faults, mut token_answers, mut updates) = (Vec::new(), 0, 0);
    for round in 0..60 {
        for (command, body) in &commands {
            let uri = format!(
                "/v4/live_config/{command}?sdkappid=1400000001&identifier=administrator&usersig={sig}&random={round}"
            );
            let before = emulator.state();
            let answer = emulator
                .answer(b"POST", uri.as_bytes(), Some(body.as_bytes()))
                .expect("a valid method and URI");
            let text = String::from_utf8_lossy(&answer.body);
            let succeeded = serde_json::from_slice::<Value>(&answer.body)
                .is_ok_and(|envelope| envelope["ErrorCode"] == 0);
            // An update succeeds only on the callback an earlier request created.
            updates += usize::from(*command == "update_callback" && succeeded);
            if *command == "get_callback_token" {
                token_answers += usize::from(text.contains(&EMULATOR_TOKEN[..8]));
            } else {
                assert!(!text.contains(&EMULATOR_TOKEN[..8]), "{command}: {text}");
            }
            if let Some(fault) = answer.fault {
                faults.push(fault);
                if !fault.applies_operation() {
                    assert!(emulator.state() == before, "{fault:?} applied {command}");
                }
            }
        }
    }
    assert!(
        token_answers > 10,
        "{token_answers} answers carried the token"
    );
    for kind in FaultKind::ALL {
        assert!(faults.contains(&kind), "{kind:?} never injected");
    }
    assert!(updates > 0, "no update met an earlier request's callback");
}

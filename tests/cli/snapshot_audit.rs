//! Every committed snapshot is output a user could see; none may hold a secret. This reads them
//! all and looks for each secret the tests use, and for anything shaped like a UserSig.

use std::path::Path;

use crate::support::SECRET_KEY;

/// Every secret value the tests hand to livehook or to the emulator.
fn test_secrets() -> Vec<String> {
    let mut secrets: Vec<String> = [
        SECRET_KEY,
        crate::apply::NEW_TOKEN,
        crate::apply::OLD_TOKEN,
        crate::apply::LEGACY_TOKEN,
        crate::emulator::TOKEN_VALUE,
        crate::export::LIVE_TOKEN,
        crate::token::DESIRED_TOKEN,
        crate::token::LIVE_TOKEN,
        crate::token::OTHER_LIVE_TOKEN,
    ]
    .map(str::to_owned)
    .to_vec();
    // The README's main job uses the example state file's keys.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = std::fs::read_to_string(root.join("examples/emulator-state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    for app in state["apps"].as_object().unwrap().values() {
        secrets.push(app["secret_key"].as_str().unwrap().to_owned());
        if let Some(token) = app["token"]["Token"].as_str() {
            secrets.push(token.to_owned());
        }
    }
    secrets
}

/// A UserSig is zlib (`eJ` in base64) followed by a long run of base64 with `*-_` substitutions.
fn looks_like_usersig(text: &str) -> bool {
    text.match_indices("eJ").any(|(at, _)| {
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "*-_+/=".contains(*c))
            .count()
            >= 40
    })
}

#[test]
fn no_snapshot_holds_a_secret() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots");
    let secrets = test_secrets();
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        read += 1;
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{} holds a test secret",
                path.display()
            );
        }
        assert!(
            !text.to_lowercase().contains("usersig="),
            "{} holds a UserSig query",
            path.display()
        );
        assert!(
            !looks_like_usersig(&text),
            "{} holds something shaped like a UserSig",
            path.display()
        );
    }
    assert!(read > 20, "the snapshots directory was read ({read} files)");
}

#[test]
fn the_usersig_detector_detects() {
    let sig = livehook::tim::usersig::generate_now(SECRET_KEY, 1400000001, "administrator", 300);
    assert!(looks_like_usersig(&format!("before {sig} after")));
    assert!(!looks_like_usersig("eJ is not enough"));
}

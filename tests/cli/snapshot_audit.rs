//! Every committed snapshot is output a user could see; none may hold a secret. This reads them
//! all (the integration tests' and the library's) and looks for each secret the tests use, and
//! for anything shaped like a UserSig.

use std::path::Path;

use crate::support::{ALL_SECRETS, SECRET_KEY};

/// Every secret value the tests hand to livehook or to the emulator: the shared list, and the
/// keys and tokens of the example state file that the README's main job uses.
fn test_secrets() -> Vec<String> {
    let mut secrets: Vec<String> = ALL_SECRETS.iter().map(|s| s.to_string()).collect();
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

/// The committed snapshots of both the integration tests and the library's unit tests.
fn snapshots() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["tests/cli/snapshots", "src/snapshots"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect()
}

#[test]
fn no_snapshot_holds_a_secret() {
    let secrets = test_secrets();
    let paths = snapshots();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
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
    assert!(
        paths.len() > 20,
        "the snapshots were read ({} files)",
        paths.len()
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))),
        "the library's snapshots were read too"
    );
}

/// Shapes in which a test hands a secret to livehook or to the emulator. A value written in
/// one of them outside `support.rs` would escape [`ALL_SECRETS`], and with it this audit and
/// the leak sweep.
const SECRET_LITERALS: [&str; 5] = [
    // An emulator token: `token("value", ...)`.
    r#"\btoken\(\s*""#,
    // An environment variable holding a token or a key: `("HOOK_TOKEN", "value")`.
    r#"_(TOKEN|KEY)",\s*""#,
    // An app's key: `.secret_key = "value"` or `AppState::new("value")`.
    r#"secret_key\s*=\s*""#,
    r#"AppState::new\(\s*""#,
    // A constant named as a secret: `const X_TOKEN: &str = "value"`.
    r#"const\s+\w*(TOKEN|KEY|SECRET)\w*\s*:\s*&str\s*=\s*""#,
];

#[test]
fn secret_values_are_declared_only_in_support() {
    let shapes: Vec<regex::Regex> = SECRET_LITERALS
        .iter()
        .map(|shape| regex::Regex::new(shape).unwrap())
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".rs") || name == "support.rs" || name == "snapshot_audit.rs" {
            continue;
        }
        read += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for shape in &shapes {
            if let Some(found) = shape.find(&text) {
                let line = text[..found.start()].lines().count() + 1;
                panic!(
                    "{name}:{line}: a secret written in place ({:?}); declare it in support.rs's `secrets!`",
                    found.as_str()
                );
            }
        }
    }
    assert!(read > 15, "the test sources were read ({read} files)");
}

#[test]
fn the_usersig_detector_detects() {
    let sig = livehook::tim::usersig::generate_now(SECRET_KEY, 1400000001, "administrator", 300);
    assert!(looks_like_usersig(&format!("before {sig} after")));
    assert!(!looks_like_usersig("eJ is not enough"));
}

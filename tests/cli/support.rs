//! Helpers shared by the integration tests: emulator state built in code, and an emulator started
//! on an ephemeral loopback port.

#![allow(dead_code)] // Each test module uses its own subset.

use std::path::Path;
use std::process::Output;

use livehook::emulator::{AppState, Emulator, Options, State};

/// The SDKAppID of the app that [`seeded_state`] holds.
pub const SDKAPPID: u64 = 1400000001;
/// Its secret key: a made-up value in the console's 64-hex-digit shape.
pub const SECRET_KEY: &str = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
/// Its administrator account (Tencent's default).
pub const ADMIN: &str = "administrator";
/// The command words the tests configure most.
pub const CREATE_ROOM: &str = "Live.CallbackAfterCreateRoom";
pub const DESTROY_ROOM: &str = "Live.CallbackAfterDestroyRoom";

/// A state with one app ([`SDKAPPID`], [`SECRET_KEY`], [`ADMIN`]) and nothing configured.
pub fn seeded_state() -> State {
    state_with_apps(&[(SDKAPPID, SECRET_KEY)])
}

/// A state with the given apps, each with the default administrator and nothing configured.
pub fn state_with_apps(apps: &[(u64, &str)]) -> State {
    State {
        apps: apps
            .iter()
            .map(|&(sdkappid, key)| (sdkappid, AppState::new(key)))
            .collect(),
    }
}

/// An app under [`SECRET_KEY`] whose live configuration is this callback and this token.
pub fn live_app(
    callback: Option<livehook::tim::wire::Callback>,
    token: Option<livehook::tim::wire::TokenBody>,
) -> AppState {
    AppState {
        callback,
        token,
        ..AppState::new(SECRET_KEY)
    }
}

/// Starts an emulator on `127.0.0.1:0` (whatever `options.listen` says is replaced).
pub async fn start_emulator(state: State, options: Options) -> Emulator {
    let options = Options {
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        ..options
    };
    Emulator::start(state, options)
        .await
        .expect("the emulator binds an ephemeral loopback port")
}

/// An emulator holding `state`, and a temporary directory whose `livehook.yaml` is `yaml` of
/// the emulator's base URL.
pub struct Setup {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
}

pub async fn setup(state: State, yaml: impl FnOnce(&str) -> String) -> Setup {
    let emulator = start_emulator(state, Options::default()).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("livehook.yaml"), yaml(&emulator.base_url()))
        .expect("livehook.yaml written");
    Setup { emulator, dir }
}

/// Runs the real binary with a clean environment (only the variables given), from `dir`. A run
/// that hangs fails its test after two minutes instead of holding CI until its own limit.
pub fn livehook(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command =
        assert_cmd::Command::cargo_bin("livehook").expect("the livehook binary is built");
    command
        .current_dir(dir)
        .env_clear()
        .args(args)
        .timeout(std::time::Duration::from_secs(120));
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("livehook runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// No secret key, UserSig or query string leaks into what a user sees.
pub fn assert_no_secrets(output: &Output) {
    for text in [stdout(output), stderr(output)] {
        assert!(!text.contains(SECRET_KEY), "secret key leaked:\n{text}");
        assert!(
            !text.to_lowercase().contains("usersig="),
            "UserSig leaked:\n{text}"
        );
        assert!(
            !text.contains("eJ"),
            "something UserSig-shaped leaked:\n{text}"
        );
    }
}

/// The write calls the emulator received, as `(command, sdkappid)`, in arrival order.
pub fn writes(emulator: &Emulator) -> Vec<(String, u64)> {
    emulator
        .requests()
        .iter()
        .filter(|r| !r.command.starts_with("get_"))
        .map(|r| (r.command.clone(), r.sdkappid.unwrap_or_default()))
        .collect()
}

/// A callback body for emulator state.
pub fn callback(url: &str, words: &[&str]) -> Option<livehook::tim::wire::Callback> {
    Some(livehook::tim::wire::Callback {
        url: url.into(),
        commands: words.iter().map(|w| w.to_string()).collect(),
    })
}

/// A token body for emulator state.
pub fn token(value: &str, enabled: bool) -> Option<livehook::tim::wire::TokenBody> {
    Some(livehook::tim::wire::TokenBody {
        token: value.into(),
        enabled,
    })
}

/// RequestIds are random; snapshots show their shape only.
pub fn mask_request_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Id-") {
        out.push_str(&rest[..at]);
        out.push_str("Id-<masked>");
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == ')')
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

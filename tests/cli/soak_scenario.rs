//! The soak's scenario, shared by the seeded soak test (`tests/cli/soak.rs`) and the unseeded
//! soak bench (`benches/soak.rs`, which includes this file by path): 200 apps of eight kinds in
//! turn, their live state and the desired state that reconciles them. It uses only the library,
//! so both crates can compile it; the secrets come from the caller.

use livehook::emulator::{AppState, State};
use livehook::tim::wire::{Callback, TokenBody};

pub const APPS: u64 = 200;
pub const FIRST: u64 = 1_400_100_000;
pub const WANT_URL: &str = "https://hooks.example.com/live";
/// The variable the desired state names for the token's value.
pub const VALUE_ENV: &str = "SOAK_TOKEN";
const CREATE_ROOM: &str = "Live.CallbackAfterCreateRoom";
const DESTROY_ROOM: &str = "Live.CallbackAfterDestroyRoom";

/// What app `i` starts as, and what the desired state asks: eight kinds, in turn.
pub fn app_kind(i: u64) -> u64 {
    i % 8
}

fn callback(url: &str, word: &str) -> Option<Callback> {
    Some(Callback {
        url: url.into(),
        commands: vec![word.into()],
    })
}

fn token(value: &str, enabled: bool) -> Option<TokenBody> {
    Some(TokenBody {
        token: value.into(),
        enabled,
    })
}

/// Every app under `secret_key`; the apps whose token changes or goes hold `old_token`.
pub fn live_state(secret_key: &str, old_token: &str) -> State {
    let apps = (0..APPS).map(|i| {
        let (callback, token) = match app_kind(i) {
            // create; create callback and token
            0 | 5 => (None, None),
            // update the URL
            1 => (callback("https://old.example.com/live", CREATE_ROOM), None),
            // update the command words
            2 => (callback(WANT_URL, DESTROY_ROOM), None),
            // delete; nothing to do
            3 | 4 => (callback(WANT_URL, CREATE_ROOM), None),
            // rotate the token only
            6 => (callback(WANT_URL, CREATE_ROOM), token(old_token, false)),
            // delete callback and token
            _ => (callback(WANT_URL, CREATE_ROOM), token(old_token, true)),
        };
        let app = AppState {
            callback,
            token,
            ..AppState::new(secret_key)
        };
        (FIRST + i, app)
    });
    State {
        apps: apps.collect(),
    }
}

/// The desired state of every app, calling the emulator at `endpoint`.
pub fn desired_yaml(endpoint: &str) -> String {
    let mut yaml = format!("version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n");
    let want = format!("{{url: {WANT_URL}, commands: [{CREATE_ROOM}]}}");
    let managed_token = format!("{{value_env: {VALUE_ENV}, enabled: true}}");
    for i in 0..APPS {
        let (callback, token) = match app_kind(i) {
            0..=2 | 4 => (want.as_str(), None),
            3 => ("absent", None),
            5 | 6 => (want.as_str(), Some(managed_token.as_str())),
            _ => ("absent", Some("absent")),
        };
        yaml.push_str(&format!(
            "  app-{i:03}:\n    sdkappid: {}\n    callback: {callback}\n",
            FIRST + i
        ));
        if let Some(token) = token {
            yaml.push_str(&format!("    token: {token}\n"));
        }
    }
    yaml
}

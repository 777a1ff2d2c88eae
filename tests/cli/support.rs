//! Helpers shared by the integration tests: emulator state built in code, and an emulator started
//! on an ephemeral loopback port.

#![allow(dead_code)] // Each test module uses its own subset.

use livehook::emulator::{AppState, Emulator, Options, State};

/// The SDKAppID of the app that [`seeded_state`] holds.
pub const SDKAPPID: u64 = 1400000001;
/// Its secret key: a made-up value in the console's 64-hex-digit shape.
pub const SECRET_KEY: &str = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
/// Its administrator account (Tencent's default).
pub const ADMIN: &str = "administrator";

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

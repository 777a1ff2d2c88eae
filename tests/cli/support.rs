//! Helpers shared by the integration tests: emulator state built in code, and an emulator started
//! on an ephemeral loopback port.

#![allow(dead_code)] // Each test module uses its own subset.

use std::path::Path;
use std::process::Output;

use livehook::emulator::{AppState, Emulator, Options, State};
use livehook::tim::wire::Callback;

/// The SDKAppID of the app that [`seeded_state`] holds.
pub const SDKAPPID: u64 = 1400000001;

/// Declares every secret the tests hand to livehook or to the emulator, once, and
/// [`ALL_SECRETS`] listing them all: the snapshot audit and the leak sweep search for this list,
/// so a secret declared here cannot be left out of either, and
/// `snapshot_audit::secret_values_are_declared_only_in_support` fails a test that writes a
/// secret anywhere else.
macro_rules! secrets {
    ($($(#[doc = $doc:literal])* $name:ident = $value:literal;)*) => {
        $($(#[doc = $doc])* pub const $name: &str = $value;)*
        /// Every secret declared above.
        pub const ALL_SECRETS: &[&str] = &[$($name),*];
    };
}

secrets! {
    /// The secret key of the apps most tests use: a made-up value in the console's
    /// 64-hex-digit shape.
    SECRET_KEY = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
    /// A key of the right shape that no app has: livehook is given it to meet 70009.
    WRONG_KEY = "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff";
    /// The key of an app whose key is not the one livehook is given (70009 for that app alone).
    MISMATCHED_APP_KEY = "another-key";

    /// Apply with tokens: the token the desired state asks for (in `HOOK_TOKEN`).
    APPLY_NEW_TOKEN = "tok-new-7f3a9c51";
    /// Apply with tokens: the live tokens of `update-me` and `delete-me`.
    APPLY_OLD_TOKEN = "tok-old-0001";
    APPLY_LEGACY_TOKEN = "tok-legacy-0003";
    /// Apply with tokens: a live token rotated after the plan was saved (a stale plan).
    APPLY_ROTATED_TOKEN = "tok-rotated-9999";
    /// Apply with tokens: a `HOOK_TOKEN` changed after the plan was saved.
    APPLY_CHANGED_TOKEN = "another-token";

    /// The emulator's protocol tests: the token they set and read back.
    EMULATOR_TOKEN = "hook-token-5e1f";
    /// Export: the live token that export must not print.
    EXPORT_LIVE_TOKEN = "live-TOKEN-for-export-31d0";

    /// Token planning: the desired token, the live ones, and one moved after a saved plan.
    TOKEN_DESIRED = "desired-TOKEN-value-5c1e";
    TOKEN_LIVE = "live-TOKEN-value-88ad";
    TOKEN_OTHER_LIVE = "other-live-TOKEN-0b7e";
    TOKEN_MOVED = "moved-TOKEN-4242";
    /// Token planning: a token whose value matches live and only `enabled` differs.
    TOKEN_SAME_VALUE = "same-token-value-1";
    /// The `--fail-on` gate: the token of an app whose callback is deleted.
    GATE_TOKEN = "a-token-for-the-gate";

    /// The leak sweep: the desired token, a token moved after a saved plan, and the live ones.
    /// The sweep also looks for every eight-character run of these, so none may share a run
    /// with ordinary output (as `desired-` would with the schema).
    SWEEP_DESIRED_TOKEN = "sweepDesired-61f2Zq7";
    SWEEP_OTHER_TOKEN = "sweepOther-0a9cXk3";
    SWEEP_LIVE_TOKEN = "sweepLive-77b3Pw5";
    SWEEP_LEGACY_TOKEN = "sweepLegacy-c5e0Jm8";
    /// The leak sweep: the secret in the callback URL (`${HOOK_KEY}`), the one live before, and
    /// one put in the variable after a saved plan.
    SWEEP_URL_KEY = "sweepUrlKey-4e9dRt2";
    SWEEP_OLD_URL_KEY = "sweepOldUrl-b81cVn6";
    SWEEP_OTHER_URL_KEY = "sweepOtherUrl-07aFq9";

    /// Answer tampering: the token a tampering proxy sees and echoes.
    TAMPERING_TOKEN = "tok-TAMPERED-5d0c8e21a9";
    /// The fault soak: the desired token, and the live one it replaces.
    SOAK_TOKEN = "soak-TOKEN-4d1f09";
    SOAK_OLD_TOKEN = "old-token-value";

    /// Secrets pasted where a variable name belongs: a padded base64 token and an unpadded one
    /// (the 64-hex-digit key pasted is `SECRET_KEY`).
    PASTED_TOKEN_PADDED = "dGhpcyBpcyBhIHdlYmhvb2sgdG9rZW4rL3ZhbHVl+/8=";
    PASTED_TOKEN_UNPADDED = "Q2hhdFRva2VuOTkxMjM0NTY3ODlBYmNkZWZnaA";
    /// A password in a URL's `user:password@`.
    URL_PASSWORD = "hunter2-s3cr3t";
    /// Export's distinct token variables: the live tokens of `prod-sg` and `prod_sg`.
    CLASH_DASH_TOKEN = "token-of-prod-dash-5c1e";
    CLASH_UNDERSCORE_TOKEN = "token-of-prod-underscore-9a7b";
    /// Probes: the webhook token that signs them (its `Sign` is searched for as well).
    PROBE_TOKEN = "probeToken-3e9dWq4";
    /// Probes: the value of a `${PROBE_URL_KEY}` in a probed callback URL.
    PROBE_URL_KEY = "probeUrlKey-7c2eLm5";
    /// Secrets in callback URLs: the value of `${HOOK_KEY}`, the live one it replaces, one put
    /// in the variable after a saved plan, and a live URL's secret of another shape.
    URL_KEY = "urlKey-3b7e1c94";
    URL_OLD_KEY = "urlOld-5a2d8f61";
    URL_NEW_KEY = "urlNew-9c4e0b27";
    URL_ELSEWHERE_KEY = "urlElse-1f6a3d85";
    /// Proxies: the user name and password in the proxy's URL, which no output may show.
    PROXY_USER = "proxyUser-e4c1";
    PROXY_PASSWORD = "proxyPass-9b27Hx";
    /// A public value that happens to have a key's shape (64 hex digits: the SHA-256 of
    /// `test`), which a forger can sign a saved plan with.
    PUBLIC_KEY_SHAPED = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
}

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
    callback: Option<Callback>,
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

/// Starts an emulator holding `state` and writes `yaml(base URL)` as `livehook.yaml`.
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

/// No secret, UserSig or query string leaks into what a user sees.
pub fn assert_no_secrets(output: &Output) {
    for text in [stdout(output), stderr(output)] {
        for secret in ALL_SECRETS {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
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
pub fn callback(url: &str, words: &[&str]) -> Option<Callback> {
    Some(Callback {
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

/// Four apps, one per row of the decision table: create, update, delete, no-op.
pub fn four_callback_apps() -> State {
    let app = |cb| live_app(cb, None);
    State {
        apps: [
            (1400000001, app(None)),
            (
                1400000002,
                app(callback(
                    "https://old.example.com/hook",
                    &[CREATE_ROOM, "Live.CallbackAfterUpdateRoomInfo"],
                )),
            ),
            (
                1400000003,
                app(callback("https://legacy.example.com/hook", &[CREATE_ROOM])),
            ),
            (
                1400000004,
                app(callback(
                    "https://same.example.com/hook",
                    &[DESTROY_ROOM, CREATE_ROOM],
                )),
            ),
        ]
        .into_iter()
        .collect(),
    }
}

pub fn four_callback_apps_yaml(endpoint: &str) -> String {
    format!(
        "version: 1
defaults:
  endpoint: {endpoint}
apps:
  create-me:
    sdkappid: 1400000001
    callback:
      url: https://new.example.com/hook
      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]
  update-me:
    sdkappid: 1400000002
    callback:
      url: https://new.example.com/hook
      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]
  delete-me:
    sdkappid: 1400000003
    callback: absent
  leave-me:
    sdkappid: 1400000004
    callback:
      url: https://same.example.com/hook
      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]
"
    )
}

/// Runs livehook in the setup's directory with [`SECRET_KEY`] as `TIM_SECRET_KEY`.
pub fn run_with_key(setup: &Setup, args: &[&str]) -> Output {
    livehook(setup.dir.path(), args, &[("TIM_SECRET_KEY", SECRET_KEY)])
}

/// One app per kind of change: create (callback and token), update (both), delete (both),
/// and one to leave alone.
pub fn four_apps_with_tokens() -> State {
    State {
        apps: [
            (1400000001, live_app(None, None)),
            (
                1400000002,
                live_app(
                    callback(
                        "https://old.example.com/hook",
                        &[CREATE_ROOM, "Live.CallbackAfterUpdateRoomInfo"],
                    ),
                    token(APPLY_OLD_TOKEN, false),
                ),
            ),
            (
                1400000003,
                live_app(
                    callback("https://legacy.example.com/hook", &[CREATE_ROOM]),
                    token(APPLY_LEGACY_TOKEN, true),
                ),
            ),
            (
                1400000004,
                live_app(
                    callback(
                        "https://same.example.com/hook",
                        &[DESTROY_ROOM, CREATE_ROOM],
                    ),
                    None,
                ),
            ),
        ]
        .into_iter()
        .collect(),
    }
}

pub fn four_apps_with_tokens_yaml(endpoint: &str) -> String {
    format!(
        "version: 1
defaults:
  endpoint: {endpoint}
apps:
  create-me:
    sdkappid: 1400000001
    callback:
      url: https://new.example.com/hook
      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]
    token: {{value_env: HOOK_TOKEN}}
  update-me:
    sdkappid: 1400000002
    callback:
      url: https://new.example.com/hook
      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]
    token: {{value_env: HOOK_TOKEN, enabled: true}}
  delete-me:
    sdkappid: 1400000003
    callback: absent
    token: absent
  leave-me:
    sdkappid: 1400000004
    callback:
      url: https://same.example.com/hook
      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]
"
    )
}

/// One app (SDKAppID [`SDKAPPID`]) live as `app`, and a `livehook.yaml` declaring `app_yaml` for
/// it at the emulator's endpoint (the first line of `app_yaml` names the app).
pub async fn one_live_app(app: AppState, app_yaml: &str) -> Setup {
    let state = State {
        apps: [(SDKAPPID, app)].into_iter().collect(),
    };
    let (name_line, rest) = app_yaml.split_once('\n').expect("a name line");
    let rest = rest.to_owned();
    setup(state, |endpoint| {
        format!("version: 1\napps:\n{name_line}\n    sdkappid: {SDKAPPID}\n    endpoint: {endpoint}\n{rest}")
    })
    .await
}

/// A loopback port that refuses connections for as long as this lives: its socket is bound but
/// never listens. A port bound and then released could be taken by another process before the
/// test connects; this one cannot.
pub struct ClosedPort {
    _socket: socket2::Socket,
    pub port: u16,
}

pub fn closed_port() -> ClosedPort {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&loopback.into()).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    ClosedPort {
        _socket: socket,
        port,
    }
}

//! Arbitrary (method, path and query, body) → the emulator's request handling, against a fixed
//! state: app 1400000001 with a callback and a token, app 1400000002 with nothing configured and
//! another administrator. Nothing may panic, and every answer must be Tencent's envelope: HTTP 200
//! with a JSON object carrying `ErrorCode`, `ErrorInfo`, `ActionStatus` and `RequestId`.
//!
//! Random query strings never carry a valid UserSig, so the input says whether to append a real
//! one (made with the right key, or a wrong one) for an identifier of its choice; that lets the
//! fuzzer past the 60002/70xxx checks into body parsing and the commands themselves.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use livehook::emulator::{AppState, State, fuzz_request};
use livehook::tim::usersig;
use livehook::tim::wire::{Callback, TokenBody};

const KEY_1: &str = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
const KEY_2: &str = "key-two";

#[derive(Arbitrary, Debug)]
enum MethodChoice {
    Post,
    Get,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum PathChoice {
    /// `/v4/live_config/{command}` with one of the seven commands.
    Command(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Sig {
    None,
    /// Signed with the app's own key, for the identifier given.
    Valid {
        app: bool,
        identifier: Option<String>,
        expire: u16,
    },
    /// Signed with a wrong key.
    WrongKey,
}

#[derive(Arbitrary, Debug)]
enum BodyChoice {
    Missing,
    Raw(Vec<u8>),
    Callback { url: String, commands: Vec<String> },
    Token { token: String, enabled: bool },
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: MethodChoice,
    path: PathChoice,
    /// Query text as written (may be empty, malformed, carry any parameter).
    query: String,
    sig: Sig,
    body: BodyChoice,
}

const COMMANDS: [&str; 7] = [
    "get_callback",
    "set_callback",
    "update_callback",
    "delete_callback",
    "get_callback_token",
    "set_callback_token",
    "delete_callback_token",
];

fn state() -> State {
    let mut one = AppState::new(KEY_1);
    one.callback = Some(Callback {
        url: "https://hooks.example.com/tim".into(),
        commands: vec!["Live.CallbackAfterCreateRoom".into()],
    });
    one.token = Some(TokenBody {
        token: "t0ken".into(),
        enabled: true,
    });
    let mut two = AppState::new(KEY_2);
    two.admin = "root".into();
    State {
        apps: [(1400000001, one), (1400000002, two)].into_iter().collect(),
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fuzz_target!(|input: Input| {
    let method = match &input.method {
        MethodChoice::Post => b"POST".to_vec(),
        MethodChoice::Get => b"GET".to_vec(),
        MethodChoice::Raw(raw) => raw.clone(),
    };
    let mut uri = match &input.path {
        PathChoice::Command(i) => format!("/v4/live_config/{}", COMMANDS[*i as usize % 7]),
        PathChoice::Raw(raw) => raw.clone(),
    };
    uri.push('?');
    uri.push_str(&input.query);
    match &input.sig {
        Sig::None => {}
        Sig::Valid {
            app,
            identifier,
            expire,
        } => {
            let (sdkappid, key, admin) = if *app {
                (1400000001, KEY_1, "administrator")
            } else {
                (1400000002, KEY_2, "root")
            };
            let identifier = identifier.as_deref().unwrap_or(admin);
            let sig = usersig::generate_now(key, sdkappid, identifier, u64::from(*expire));
            uri.push_str(&format!(
                "&sdkappid={sdkappid}&identifier={}&usersig={sig}&random=7&contenttype=json",
                encode(identifier)
            ));
        }
        Sig::WrongKey => {
            let sig = usersig::generate_now("wrong", 1400000001, "administrator", 3600);
            uri.push_str(&format!(
                "&sdkappid=1400000001&identifier=administrator&usersig={sig}&random=7"
            ));
        }
    }
    let body = match &input.body {
        BodyChoice::Missing => None,
        BodyChoice::Raw(raw) => Some(raw.clone()),
        BodyChoice::Callback { url, commands } => Some(
            serde_json::json!({"Url": url, "CallbackCommandList": commands})
                .to_string()
                .into_bytes(),
        ),
        BodyChoice::Token { token, enabled } => Some(
            serde_json::json!({"Token": token, "IsTokenEnable": enabled})
                .to_string()
                .into_bytes(),
        ),
    };
    let Some((status, answer)) = fuzz_request(state(), &method, uri.as_bytes(), body.as_deref())
    else {
        return;
    };
    assert_eq!(
        status, 200,
        "no faults are injected, so every answer is a 200"
    );
    let envelope: serde_json::Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    let code = envelope["ErrorCode"]
        .as_i64()
        .expect("ErrorCode is a number");
    assert!(envelope["ErrorInfo"].is_string());
    assert!(envelope["RequestId"].is_string());
    let status = if code == 0 { "OK" } else { "FAIL" };
    assert_eq!(envelope["ActionStatus"], status);
    // Secrets never come back in an answer: the token only through get_callback_token.
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.contains(KEY_1) && !text.contains(KEY_2));
});

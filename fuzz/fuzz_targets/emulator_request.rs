//! Sequences of arbitrary requests (method, path and query, body) → the emulator's request
//! handling, one after another against one state, with seeded faults on or off. The state starts
//! as app 1400000001 with a callback and a token and app 1400000002 with nothing configured and
//! another administrator. Nothing may panic; every answer is Tencent's envelope (HTTP 200 with a
//! JSON object carrying `ErrorCode`, `ErrorInfo`, `ActionStatus` and `RequestId`) unless a fault
//! says otherwise (a 502, or a cut-short body); a fault that applies nothing leaves the state as
//! it was; and no secret comes back: the keys never, a token only in `get_callback_token`'s
//! answer.
//!
//! Random query strings never carry a valid UserSig, so the input says whether to append a real
//! one (made with the right key, or a wrong one) for an identifier of its choice; that lets the
//! fuzzer past the 60002/70xxx checks into body parsing and the commands themselves.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use livehook::emulator::{AppState, FaultKind, FuzzEmulator, State};
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
    Callback {
        url: String,
        commands: Vec<String>,
    },
    /// A token of the distinctive shape [`token_value`] gives, so that a leak is recognisable.
    Token {
        token: u8,
        enabled: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct Call {
    method: MethodChoice,
    path: PathChoice,
    /// Query text as written (may be empty, malformed, carry any parameter).
    query: String,
    sig: Sig,
    body: BodyChoice,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Faults at `rate / 255`, seeded; none when absent.
    faults: Option<(u8, u64)>,
    calls: Vec<Call>,
}

/// At most this many calls per input, so that one input stays fast.
const MAX_CALLS: usize = 16;

/// What a token is recognised by: no fixed text of an answer holds it, so it can only be there
/// because a token value was sent back.
const TOKEN_MARK: &str = "-SECRET-";

fn token_value(n: u8) -> String {
    format!("tok{TOKEN_MARK}{n:02x}")
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
        token: format!("t0ken{TOKEN_MARK}live"),
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

/// The request of one call: method, URI and body.
fn request(call: &Call) -> (Vec<u8>, String, Option<Vec<u8>>) {
    let method = match &call.method {
        MethodChoice::Post => b"POST".to_vec(),
        MethodChoice::Get => b"GET".to_vec(),
        MethodChoice::Raw(raw) => raw.clone(),
    };
    let mut uri = match &call.path {
        PathChoice::Command(i) => format!("/v4/live_config/{}", COMMANDS[*i as usize % 7]),
        PathChoice::Raw(raw) => raw.clone(),
    };
    uri.push('?');
    uri.push_str(&call.query);
    match &call.sig {
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
    let body = match &call.body {
        BodyChoice::Missing => None,
        BodyChoice::Raw(raw) => Some(raw.clone()),
        BodyChoice::Callback { url, commands } => Some(
            serde_json::json!({"Url": url, "CallbackCommandList": commands})
                .to_string()
                .into_bytes(),
        ),
        BodyChoice::Token { token, enabled } => Some(
            serde_json::json!({"Token": token_value(*token), "IsTokenEnable": enabled})
                .to_string()
                .into_bytes(),
        ),
    };
    (method, uri, body)
}

/// The tokens `state` holds that carry [`TOKEN_MARK`] (a raw body can set any value; only the
/// marked ones are recognisable in an answer).
fn marked_tokens(state: &State) -> Vec<String> {
    state
        .apps
        .values()
        .filter_map(|app| app.token.as_ref())
        .map(|token| token.token.clone())
        .filter(|token| token.contains(TOKEN_MARK))
        .collect()
}

fuzz_target!(|input: Input| {
    let (rate, seed) = input.faults.unwrap_or((0, 0));
    let emulator = FuzzEmulator::new(state(), f64::from(rate) / 255.0, seed);
    for call in input.calls.iter().take(MAX_CALLS) {
        let (method, uri, body) = request(call);
        let before = emulator.state();
        let Some(answer) = emulator.answer(&method, uri.as_bytes(), body.as_deref()) else {
            continue;
        };
        let text = String::from_utf8_lossy(&answer.body);
        // Secrets never come back in an answer: the keys never, and a token only in
        // get_callback_token's (a token the request itself carries may be quoted back as part
        // of it, so only tokens absent from the request are looked for).
        assert!(!text.contains(KEY_1) && !text.contains(KEY_2));
        let path = uri.split('?').next().unwrap_or_default();
        if !path.contains("get_callback_token") {
            let request_text = format!(
                "{uri}{}",
                String::from_utf8_lossy(body.as_deref().unwrap_or_default())
            );
            for token in marked_tokens(&before) {
                if !request_text.contains(&token) {
                    assert!(!text.contains(&token), "{path} answered the token: {text}");
                }
            }
        }
        if answer.fault.is_some_and(|f| !f.applies_operation()) {
            assert!(
                emulator.state() == before,
                "{:?} applied the request",
                answer.fault
            );
        }
        match answer.fault {
            Some(FaultKind::BadGateway) => {
                assert_eq!(answer.status, 502);
                continue;
            }
            Some(FaultKind::TruncatedBody) => {
                assert_eq!(answer.status, 200);
                assert!(serde_json::from_slice::<serde_json::Value>(&answer.body).is_err());
                continue;
            }
            _ => {}
        }
        assert_eq!(answer.status, 200, "every other answer is a 200");
        let envelope: serde_json::Value =
            serde_json::from_slice(&answer.body).expect("the answer is JSON");
        let code = envelope["ErrorCode"]
            .as_i64()
            .expect("ErrorCode is a number");
        match answer.fault {
            Some(FaultKind::InternalError) => assert_eq!(code, 100001),
            Some(FaultKind::RateLimited) => assert_eq!(code, 60007),
            _ => {}
        }
        assert!(envelope["ErrorInfo"].is_string());
        assert!(envelope["RequestId"].is_string());
        let status = if code == 0 { "OK" } else { "FAIL" };
        assert_eq!(envelope["ActionStatus"], status);
    }
});

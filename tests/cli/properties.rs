//! Property tests (proptest) for the pure logic everything else trusts: the set diff of command
//! words and the token decision that plan makes, and the UserSig round trip. Case counts are kept low
//! so the module runs in a second or two.

use std::collections::BTreeSet;

use livehook::config::url_template::UrlTemplate;
use livehook::config::{App, Location, Managed, Origin, Position, TokenSpec};
use livehook::plan::token::{LiveToken, TokenState};
use livehook::plan::{Action, Desired, LiveState, decide, same_callback};
use livehook::tim::region::Region;
use livehook::tim::usersig::{self, SigFields, VerifyError};
use livehook::tim::wire::{Callback, Command};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Command words from a small pool (so lists overlap and repeat) or anything at all.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "Live.CallbackAfterCreateRoom",
            "Live.CallbackAfterDestroyRoom",
            "Live.CallbackAfterMemberStateChanged",
            "Mic.CallbackAfterSeatInfoChanged",
            "Live.CallbackBeforeSendGift",
            "X.CallbackNew",
        ])
        .prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn words() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(word(), 0..8)
}

/// The URL a desired callback URL sends: a template without `${NAME}` with `$$` read as `$`,
/// and any other text (which a desired-state file would refuse) as it is written.
fn sent(desired: &str) -> String {
    UrlTemplate::parse(desired)
        .ok()
        .filter(|t| !t.has_variables())
        .and_then(|t| t.resolve(|_| None).ok())
        .unwrap_or_else(|| desired.to_owned())
}

/// URLs from a small pool (so live and desired often agree, or differ by a slash or a doubled
/// `$`) or any string at all (the plan compares URLs as sent, whatever they hold).
fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "https://a",
            "https://a/",
            "https://b",
            "http://127.0.0.1:9",
            "https://a/?p=$5",
            "https://a/?p=$$5",
        ])
        .prop_map(str::to_owned),
        1 => "https?://[a-z0-9.:/?&=%-]{0,24}",
        1 => any::<String>(),
    ]
}

/// A live list of command words and a desired one: unrelated, or the same set in another order
/// (so that half the cases turn on the URL alone).
fn words_pair() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    (words(), words(), any::<bool>()).prop_map(|(live, other, same)| {
        let want = if same {
            live.iter().rev().cloned().collect()
        } else {
            other
        };
        (live, want)
    })
}

/// A live URL and a desired one: unrelated, equal, or differing in one character anywhere or in
/// letter case only (so that a comparison that looks at a prefix, or ignores case, is caught).
fn url_pair() -> impl Strategy<Value = (String, String)> {
    (
        url(),
        url(),
        0..4u8,
        any::<prop::sample::Index>(),
        any::<char>(),
    )
        .prop_map(|(live, other, how, at, c)| {
            let want = match how {
                0 => other,
                1 => live.clone(),
                2 => live.to_uppercase(),
                _ => {
                    let mut chars: Vec<char> = live.chars().collect();
                    if chars.is_empty() {
                        chars.push(c);
                    } else {
                        let i = at.index(chars.len());
                        chars[i] = c;
                    }
                    chars.into_iter().collect()
                }
            };
            (live, want)
        })
}

/// A token as the plan sees one: its keyed fingerprint from a small pool (so values often match)
/// and whether it is enabled.
fn token_state() -> impl Strategy<Value = TokenState> {
    (
        prop::sample::select(vec!["hmac-sha256:aa", "hmac-sha256:bb"]),
        any::<bool>(),
    )
        .prop_map(|(fingerprint, enabled)| TokenState {
            fingerprint: fingerprint.to_owned(),
            enabled,
        })
}

/// The desired token: unmanaged, `absent`, or a value (its fingerprint) with `enabled`.
fn desired_token() -> impl Strategy<Value = Option<Option<TokenState>>> {
    prop_oneof![
        Just(None),
        Just(Some(None)),
        token_state().prop_map(|t| Some(Some(t))),
    ]
}

/// The live token: none configured, or one.
fn live_token() -> impl Strategy<Value = LiveToken> {
    prop_oneof![
        Just(LiveToken::Missing),
        token_state().prop_map(LiveToken::Present),
    ]
}

fn app(callback: Option<Managed<Callback>>) -> App {
    app_with_token(callback, None)
}

fn app_with_token(callback: Option<Managed<Callback>>, token: Option<Managed<TokenSpec>>) -> App {
    let here = Position {
        file: "p.yaml".into(),
        line: 1,
        column: 1,
    };
    App {
        name: "p".into(),
        sdkappid: 1400000001,
        location: Location::Region(Region::Singapore),
        identifier: "administrator".into(),
        secret_key_env: "K".into(),
        callback,
        token,
        origin: Origin::at(here),
    }
}

fn set(words: &[String]) -> BTreeSet<String> {
    words.iter().cloned().collect()
}

fn is_sorted_set(words: &[String]) -> bool {
    words.windows(2).all(|w| w[0] < w[1])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn command_set_diff_partitions_live_and_desired(
        (live_url, want_url) in url_pair(),
        (live_words, want_words) in words_pair(),
    ) {
        let live = LiveState {
            callback: Some(Callback { url: live_url.clone(), commands: live_words.clone() }),
            ..LiveState::default()
        };
        let desired = Managed::Present(Callback {
            url: want_url.clone(),
            commands: want_words.clone(),
        });
        let plan = decide(&app(Some(desired)), Ok(live), Desired::default()).decision.unwrap();
        let change = plan.callback.expect("a managed callback has a change");
        let (added, removed, kept) =
            (change.added_commands(), change.removed_commands(), change.kept_commands());
        prop_assert!(is_sorted_set(&added) && is_sorted_set(&removed) && is_sorted_set(&kept));
        let (added, removed, kept) = (set(&added), set(&removed), set(&kept));
        let (live_set, want_set) = (set(&live_words), set(&want_words));

        prop_assert_eq!(added.union(&kept).cloned().collect::<BTreeSet<_>>(), want_set.clone());
        prop_assert_eq!(removed.union(&kept).cloned().collect::<BTreeSet<_>>(), live_set.clone());
        prop_assert!(added.is_disjoint(&removed));
        prop_assert!(added.is_disjoint(&kept) && removed.is_disjoint(&kept));

        let same = live_set == want_set && live_url == sent(&want_url);
        prop_assert_eq!(plan.action == Action::NoOp, same);
        prop_assert_eq!(plan.action, if same { Action::NoOp } else { Action::Update });
        prop_assert_eq!(plan.calls.len(), usize::from(!same));
        if !same {
            prop_assert_eq!(plan.calls[0].command, Command::UpdateCallback);
            // The body sends the desired list exactly as written.
            prop_assert_eq!(
                &plan.calls[0].body,
                &serde_json::json!({"Url": want_url, "CallbackCommandList": want_words})
            );
        }
        // Two callbacks as sent compare exactly, whatever their URLs hold.
        let same_sent = live_set == want_set && live_url == want_url;
        let a = Callback { url: live_url, commands: live_words };
        let b = Callback { url: want_url, commands: want_words };
        prop_assert_eq!(same_callback(&a, &b), same_sent);
        prop_assert_eq!(same_callback(&b, &a), same_sent);
    }

    #[test]
    fn create_adds_every_word_and_delete_removes_every_word(
        want_url in url(),
        words in words(),
    ) {
        let desired = Managed::Present(Callback { url: want_url.clone(), commands: words.clone() });
        let plan = decide(&app(Some(desired)), Ok(LiveState::default()), Desired::default()).decision.unwrap();
        let change = plan.callback.expect("managed");
        prop_assert_eq!(plan.action, Action::Create);
        prop_assert_eq!(set(&change.added_commands()), set(&words));
        prop_assert!(change.removed_commands().is_empty() && change.kept_commands().is_empty());

        let live = LiveState { callback: Some(Callback { url: want_url, commands: words.clone() }), ..LiveState::default() };
        let plan = decide(&app(Some(Managed::Absent)), Ok(live), Desired::default()).decision.unwrap();
        let change = plan.callback.expect("managed");
        prop_assert_eq!(plan.action, Action::Delete);
        prop_assert_eq!(set(&change.removed_commands()), set(&words));
        prop_assert!(change.added_commands().is_empty() && change.kept_commands().is_empty());
    }

    #[test]
    fn token_decisions_follow_the_desired_and_live_token(
        desired in desired_token(),
        live_token in live_token(),
        live_callback in prop::option::of((url(), words())),
        want_callback in prop::option::of(prop::option::of((url(), words()))),
    ) {
        let spec = desired.as_ref().map(|d| match d {
            Some(t) => Managed::Present(TokenSpec { value_env: "T".into(), enabled: t.enabled }),
            None => Managed::Absent,
        });
        let callback = want_callback.map(|w| match w {
            Some((url, commands)) => Managed::Present(Callback { url, commands }),
            None => Managed::Absent,
        });
        let live = LiveState {
            callback: live_callback.map(|(url, commands)| Callback { url, commands }),
            token: if spec.is_some() { live_token.clone() } else { LiveToken::NotRead },
            ..LiveState::default()
        };
        let fingerprint = desired.clone().flatten();
        let plan = decide(&app_with_token(callback, spec), Ok(live), Desired { token: fingerprint.as_ref(), ..Desired::default() }).decision.unwrap();
        let commands: Vec<Command> = plan.calls.iter().map(|c| c.command).collect();
        let token_calls: Vec<usize> = (0..commands.len())
            .filter(|&i| matches!(commands[i], Command::SetCallbackToken | Command::DeleteCallbackToken))
            .collect();
        // The oracle: what the token part must do, from the two sides alone.
        let expected = match (&desired, &live_token) {
            (None, _) => None,
            (Some(None), LiveToken::Present(_)) => Some((Action::Delete, Some(Command::DeleteCallbackToken))),
            (Some(None), _) => Some((Action::NoOp, None)),
            (Some(Some(_)), LiveToken::Missing | LiveToken::NotRead) => Some((Action::Create, Some(Command::SetCallbackToken))),
            (Some(Some(want)), LiveToken::Present(have)) if want == have => Some((Action::NoOp, None)),
            (Some(Some(_)), LiveToken::Present(_)) => Some((Action::Update, Some(Command::SetCallbackToken))),
        };
        prop_assert_eq!(plan.token.as_ref().map(|t| t.action), expected.map(|(a, _)| a));
        let want_call = expected.and_then(|(_, call)| call);
        prop_assert_eq!(token_calls.iter().map(|&i| commands[i]).collect::<Vec<_>>(), want_call.into_iter().collect::<Vec<_>>());
        // A token is set before the callback is created or changed, and deleted after it.
        for (i, command) in commands.iter().enumerate() {
            if matches!(command, Command::SetCallback | Command::UpdateCallback | Command::DeleteCallback) {
                for &t in &token_calls {
                    match commands[t] {
                        Command::SetCallbackToken => prop_assert!(t < i, "{:?}", commands),
                        _ => prop_assert!(t > i, "{:?}", commands),
                    }
                }
            }
        }
        prop_assert_eq!(plan.action == Action::NoOp, plan.calls.is_empty());
    }

    #[test]
    fn usersig_round_trips_and_fails_with_the_right_code(
        identifier in any::<String>(),
        other_identifier in any::<String>(),
        sdkappid in any::<u64>(),
        other_sdkappid in any::<u64>(),
        // Printable keys: HMAC zero-pads short keys, so "k" and "k\0" are the same key by design.
        key in "[ -~]{0,80}",
        other_key in "[ -~]{0,80}",
        time in any::<u64>(),
        expire in any::<u64>(),
        into in any::<u64>(),
    ) {
        let fields = SigFields { identifier: identifier.clone(), sdkappid, time, expire };
        let sig = usersig::generate(&key, &fields);
        // Any moment inside the validity window, ends included.
        let now = time.saturating_add(into % expire.saturating_add(1));
        prop_assert_eq!(usersig::verify(&sig, &key, sdkappid, &identifier, now), Ok(fields.clone()));
        let (decoded, _) = usersig::decode(&sig).expect("our own sig decodes");
        prop_assert_eq!(&decoded, &fields);

        let code = |r: Result<SigFields, VerifyError>| r.err().map(|e| e.code());
        if other_key != key {
            prop_assert_eq!(code(usersig::verify(&sig, &other_key, sdkappid, &identifier, now)), Some(70009));
        }
        if other_sdkappid != sdkappid {
            // SDKAppID is checked first, whatever else is wrong.
            prop_assert_eq!(
                code(usersig::verify(&sig, &other_key, other_sdkappid, &other_identifier, now)),
                Some(70014)
            );
        }
        if other_identifier != identifier {
            prop_assert_eq!(code(usersig::verify(&sig, &key, sdkappid, &other_identifier, now)), Some(70013));
        }
        if let Some(end) = time.checked_add(expire) {
            if end < u64::MAX {
                prop_assert_eq!(code(usersig::verify(&sig, &key, sdkappid, &identifier, end + 1)), Some(70001));
                prop_assert!(usersig::verify(&sig, &key, sdkappid, &identifier, end).is_ok());
            }
        }
    }
}

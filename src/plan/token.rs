//! The webhook token part of an app's plan (README, "The webhook token"), and the keyed
//! fingerprints that stand for every secret a plan compares (tokens, and callback URLs with
//! `${NAME}`).
//!
//! The token is a secret, so the plan never holds its value: live and desired tokens are both
//! reduced to a *keyed* fingerprint (HMAC-SHA256 keyed by the app's secret key) at the moment they
//! are read, and everything after that — deciding, rendering, saved plans, the stale check,
//! verification — compares fingerprints. A plain SHA-256 would not do: webhook tokens are short
//! and often human-chosen, so anyone holding a plan could find the token by trying candidates.
//! Without the app's secret key the keyed fingerprint says nothing about the value, and whoever
//! has the secret key can already read the token from Tencent.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::action::Action;
use crate::config::{Managed, TokenSpec};
use crate::tim::client::Secret;

/// What a token body shows instead of the value, in the JSON plan, saved plans and reports.
pub const SENSITIVE: &str = "(sensitive)";

/// The prefix of every keyed fingerprint, naming the algorithm.
const PREFIX: &str = "hmac-sha256:";

/// A token without its value: the keyed fingerprint of the value, and `IsTokenEnable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenState {
    pub fingerprint: String,
    pub enabled: bool,
}

/// The live token as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiveToken {
    /// The token is unmanaged, so `get_callback_token` was not called.
    #[default]
    NotRead,
    /// `get_callback_token` answered 100302: no token is configured.
    Missing,
    Present(TokenState),
}

impl LiveToken {
    pub fn state(&self) -> Option<&TokenState> {
        match self {
            LiveToken::Present(state) => Some(state),
            _ => None,
        }
    }
}

/// What a keyed fingerprint is of; each kind has its own label, so that a token and a URL with
/// the same text never show the same fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Token,
    /// A callback URL with `${NAME}` references, resolved.
    CallbackUrl,
}

/// The keyed fingerprint of a secret value, `hmac-sha256:` and 64 hex digits.
///
/// The SDKAppID is part of the message so that one value used by two apps sharing a key does not
/// show the same fingerprint; the leading label separates this use of the key from UserSigs.
pub fn fingerprint(secret_key: &Secret, sdkappid: u64, kind: SecretKind, value: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(match kind {
        SecretKind::Token => b"livehook webhook token fingerprint v1\0".as_slice(),
        SecretKind::CallbackUrl => b"livehook callback url fingerprint v1\0".as_slice(),
    });
    mac.update(sdkappid.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("{PREFIX}{digest:x}")
}

/// The short form shown in text: `sha256:` and the first 8 hex digits of the keyed fingerprint
/// (the README's "The webhook token" says why it is keyed).
pub fn short(fingerprint: &str) -> String {
    let hex = fingerprint.strip_prefix(PREFIX).unwrap_or(fingerprint);
    let head: String = hex.chars().take(8).collect();
    format!("sha256:{head}…")
}

/// A change of value in the short form: `sha256:ab12cd34…→ef56ab78…`.
pub fn short_change(before: &str, after: &str) -> String {
    let after = short(after);
    format!(
        "{}→{}",
        short(before),
        after.strip_prefix("sha256:").unwrap_or(&after)
    )
}

/// The token part of an app's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenChange {
    pub action: Action,
    pub before: Option<TokenState>,
    pub after: Option<TokenState>,
}

impl TokenChange {
    /// Whether the value itself changes (not only `enabled`).
    pub fn value_changes(&self) -> bool {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => b.fingerprint != a.fingerprint,
            _ => false,
        }
    }
}

/// Decides the token part: `spec` is the desired part, `desired` the fingerprint of the value in
/// its environment variable (present exactly when `spec` is `Present`), `live` what was read.
pub fn decide(
    spec: &Managed<TokenSpec>,
    desired: Option<&TokenState>,
    live: &LiveToken,
) -> TokenChange {
    let before = live.state().cloned();
    let after = match spec {
        Managed::Present(_) => desired.cloned(),
        Managed::Absent => None,
    };
    let action = match (&before, &after) {
        (None, None) => Action::NoOp,
        (None, Some(_)) => Action::Create,
        (Some(_), None) if matches!(spec, Managed::Absent) => Action::Delete,
        // A present spec without a fingerprint is a caller bug (credentials resolve every token
        // variable before planning); doing nothing is the safe reading of it.
        (Some(_), None) => Action::NoOp,
        (Some(b), Some(a)) if b == a => Action::NoOp,
        (Some(_), Some(_)) => Action::Update,
    };
    TokenChange {
        action,
        before,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        Secret::new("k".repeat(64))
    }

    fn state(token: &str, enabled: bool) -> TokenState {
        TokenState {
            fingerprint: fingerprint(&key(), 1400000001, SecretKind::Token, token),
            enabled,
        }
    }

    fn spec(enabled: bool) -> Managed<TokenSpec> {
        Managed::Present(TokenSpec {
            value_env: "T".into(),
            enabled,
        })
    }

    #[test]
    fn each_token_row_of_the_decision_table() {
        let want = state("s3cr3t", true);
        // Desired, none live (100302): set_callback_token creates it.
        let c = decide(&spec(true), Some(&want), &LiveToken::Missing);
        assert_eq!(c.action, Action::Create);
        assert_eq!((c.before, c.after), (None, Some(want.clone())));
        // Desired, a different value live: update.
        let c = decide(
            &spec(true),
            Some(&want),
            &LiveToken::Present(state("other", true)),
        );
        assert_eq!(c.action, Action::Update);
        assert!(c.value_changes());
        // Same value, `enabled` differs: update, value unchanged.
        let c = decide(
            &spec(true),
            Some(&want),
            &LiveToken::Present(state("s3cr3t", false)),
        );
        assert_eq!(c.action, Action::Update);
        assert!(!c.value_changes());
        // Same value and flag: nothing to do.
        let c = decide(&spec(true), Some(&want), &LiveToken::Present(want.clone()));
        assert_eq!(c.action, Action::NoOp);
        // `absent` and one live: delete.
        let c = decide(
            &Managed::Absent,
            None,
            &LiveToken::Present(state("x", true)),
        );
        assert_eq!(c.action, Action::Delete);
        assert_eq!(c.after, None);
        // `absent` and none live: nothing to do.
        let c = decide(&Managed::Absent, None, &LiveToken::Missing);
        assert_eq!(c.action, Action::NoOp);
    }

    #[test]
    fn the_fingerprint_is_keyed_and_never_the_plain_hash() {
        use sha2::Digest;
        let fp = fingerprint(&key(), 1, SecretKind::Token, "abc");
        assert!(fp.starts_with("hmac-sha256:") && fp.len() == PREFIX.len() + 64);
        let plain = format!("{:x}", Sha256::digest(b"abc"));
        assert!(!fp.contains(&plain));
        // Nor the unkeyed hash of the very input the MAC covers: the key is what a reader of
        // the plan cannot reproduce.
        let unkeyed = format!(
            "{:x}",
            Sha256::digest(b"livehook webhook token fingerprint v1\x001\x00abc")
        );
        assert!(!fp.contains(&unkeyed));
        assert_ne!(
            fp,
            fingerprint(&Secret::new("other".into()), 1, SecretKind::Token, "abc")
        );
        assert_ne!(fp, fingerprint(&key(), 2, SecretKind::Token, "abc"));
        assert_eq!(fp, fingerprint(&key(), 1, SecretKind::Token, "abc"));
        assert_ne!(fp, fingerprint(&key(), 1, SecretKind::CallbackUrl, "abc"));
        assert_eq!(short(&fp).chars().count(), "sha256:".len() + 8 + 1);
    }
}

//! Authenticating saved plans: each app of a plan file carries an HMAC-SHA256 keyed by that app's
//! secret key (README, "Security model").
//!
//! A plan file is data anyone with write access to a CI artifact could edit, yet `apply --plan`
//! signs UserSigs and sends token values to the endpoints it names. So every app's record is
//! bound to a key only the app's owner holds: whoever edits an endpoint, an identifier, a variable
//! name, the desired state or the calls without the key cannot produce a matching MAC. Each MAC
//! also covers the file's header and the roster of every app (name and SDKAppID, in order), so an
//! app added, removed, duplicated or moved breaks the MAC of every app in the file.
//!
//! The variable a key is read from is itself named by the file, so a forger could name one with
//! a guessable value (`HOME`) and compute the MAC with it. A key must therefore have the shape of
//! the keys the Tencent console issues (hex digits, at least [`MIN_KEY_HEX_DIGITS`] of them),
//! which no ordinary variable has by accident; and even then such a file could only ever make
//! livehook sign UserSigs with the guessed value, which Tencent refuses and which prove nothing.
//! Keys from the emulator's state file are exempt: every request then goes to the in-process
//! emulator, whatever endpoint the file names.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::saved::SavedPlan;
use crate::tim::client::Secret;

/// The prefix of an app's MAC, naming the algorithm.
pub const PREFIX: &str = "hmac-sha256:";

/// Keys from the console are 64 hex digits; 32 (128 bits) is the least accepted, so that a
/// variable holding a word, a path or a number can never serve as a key.
pub const MIN_KEY_HEX_DIGITS: usize = 32;

/// Why a secret key cannot authenticate a plan. Never carries the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakKey {
    TooShort(usize),
    NotHex,
}

impl std::fmt::Display for WeakKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeakKey::TooShort(n) => write!(
                f,
                "holds {n} characters, not a secret key of at least {MIN_KEY_HEX_DIGITS} hex digits"
            ),
            WeakKey::NotHex => f.write_str("does not hold a secret key (hex digits only)"),
        }
    }
}

/// Whether `key` has the shape of a console-issued secret key.
pub fn check_key(key: &Secret) -> Result<(), WeakKey> {
    let key = key.expose();
    if !key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(WeakKey::NotHex);
    }
    if key.len() < MIN_KEY_HEX_DIGITS {
        return Err(WeakKey::TooShort(key.len()));
    }
    Ok(())
}

/// The MAC of app `index` of `plan` under `key`: over the header, the roster and the app's whole
/// record with its own `mac` empty (the other apps' MACs are not covered, so apps can be signed
/// one after another).
pub fn app_mac(plan: &SavedPlan, index: usize, key: &Secret) -> String {
    let roster: Vec<_> = plan
        .apps
        .iter()
        .map(|a| json!([a.name, a.sdkappid]))
        .collect();
    let mut app = plan.apps[index].clone();
    app.mac = String::new();
    let canonical = json!({
        "kind": plan.kind,
        "format_version": plan.format_version,
        "livehook_version": plan.livehook_version,
        "roster": roster,
        "index": index,
        "app": app,
    });
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    // The label separates this use of the key from UserSigs and token fingerprints.
    mac.update(b"livehook saved plan v2\0");
    mac.update(canonical.to_string().as_bytes());
    format!("{PREFIX}{}", super::hex(&mac.finalize().into_bytes()))
}

/// Whether app `index` carries the MAC `key` gives it, compared in constant time.
pub fn verify(plan: &SavedPlan, index: usize, key: &Secret) -> bool {
    let expected = app_mac(plan, index, key);
    let found = plan.apps[index].mac.as_bytes();
    found.len() == expected.len()
        && found
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_shaped_like_the_consoles_are_accepted() {
        let key = |s: &str| check_key(&Secret::new(s.into()));
        assert_eq!(key(&"ab".repeat(32)), Ok(()));
        assert_eq!(key(&"A0".repeat(16)), Ok(()));
        assert_eq!(key("/root"), Err(WeakKey::NotHex));
        assert_eq!(key("/usr/local/bin:/usr/bin"), Err(WeakKey::NotHex));
        assert_eq!(key("1000"), Err(WeakKey::TooShort(4)));
        assert_eq!(key(""), Err(WeakKey::TooShort(0)));
    }
}

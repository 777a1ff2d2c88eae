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
//! the keys the Tencent console issues (exactly [`KEY_HEX_DIGITS`] hex digits), which no ordinary
//! variable has by accident — not a path, a word, a number, nor a git commit id (40 hex digits).
//! This is a shape rule, not a proof: a variable whose value is public *and* has that shape
//! would still let a forger sign (README, "Security model", says what follows from that).
//! Keys from the emulator's state file are exempt: every request then goes to the in-process
//! emulator, whatever endpoint the file names.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::tim::client::Secret;

/// The prefix of an app's MAC, naming the algorithm.
pub const PREFIX: &str = "hmac-sha256:";

/// Keys from the console are 64 hex digits; nothing else is accepted, so that a variable holding
/// a word, a path, a number or a commit id (40 hex digits) can never serve as a key.
pub const KEY_HEX_DIGITS: usize = 64;

/// Why a secret key cannot authenticate a plan. Never carries the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakKey {
    WrongLength(usize),
    NotHex,
}

impl std::fmt::Display for WeakKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Not even the length is told: it is a fact about a secret.
            WeakKey::WrongLength(_) => write!(
                f,
                "does not hold a secret key of {KEY_HEX_DIGITS} hex digits"
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
    if key.len() != KEY_HEX_DIGITS {
        return Err(WeakKey::WrongLength(key.len()));
    }
    Ok(())
}

/// The MAC of one app's record under its `key`. `record` is what the MAC covers (the plan's
/// header, its roster of apps and the app's whole record, built by `saved`); the label keeps this
/// use of the key apart from UserSigs and token fingerprints.
pub fn app_mac(record: &Value, key: &Secret) -> String {
    format!("{PREFIX}{:x}", keyed(record, key).finalize().into_bytes())
}

/// Whether `found` is the MAC `key` gives `record`, compared in constant time by the hmac crate.
pub fn verify(record: &Value, found: &str, key: &Secret) -> bool {
    let Some(bytes) = found.strip_prefix(PREFIX).and_then(decode_hex) else {
        return false;
    };
    keyed(record, key).verify_slice(&bytes).is_ok()
}

fn keyed(record: &Value, key: &Secret) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"livehook saved plan v2\0");
    mac.update(record.to_string().as_bytes());
    mac
}

/// Lowercase hex, as [`app_mac`] writes it, to bytes; `None` for anything else (upper case,
/// signs, odd length), which then matches no MAC.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let lowercase_hex = text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if text.len() % 2 != 0 || !lowercase_hex {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_shaped_like_the_consoles_are_accepted() {
        let key = |s: &str| check_key(&Secret::new(s.into()));
        assert_eq!(key(&"ab".repeat(32)), Ok(()));
        assert_eq!(key(&"A0".repeat(32)), Ok(()));
        // A git commit id is hex, public, and in every CI job's environment.
        assert_eq!(key(&"a1".repeat(20)), Err(WeakKey::WrongLength(40)));
        assert_eq!(key("/root"), Err(WeakKey::NotHex));
        assert_eq!(key("/usr/local/bin:/usr/bin"), Err(WeakKey::NotHex));
        assert_eq!(key("1000"), Err(WeakKey::WrongLength(4)));
        assert_eq!(key(""), Err(WeakKey::WrongLength(0)));
    }
}

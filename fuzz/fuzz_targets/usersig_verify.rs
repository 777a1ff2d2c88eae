//! Arbitrary text → `usersig::decode` / `verify` with a fixed key. Nothing may panic, and the
//! verifier must agree with itself: a ticket that verifies decodes to the fields it verified, and
//! whatever decodes can be re-signed with the fixed key and then verifies.
//!
//! The first byte chooses how the rest is used: as the UserSig text itself, or as the inner JSON
//! that gets zlib-compressed and base64-escaped first, so the fuzzer reaches the JSON and field
//! checks that random text never gets past the base64 and zlib layers to.
#![no_main]

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use libfuzzer_sys::fuzz_target;
use livehook::tim::usersig::{self, VerifyError};

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const SDKAPPID: u64 = 1400000000;
const NOW: u64 = 1569910200;

fn wrap(json: &[u8], level: u32) -> String {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(json).unwrap();
    STANDARD
        .encode(encoder.finish().unwrap())
        .replace('+', "*")
        .replace('/', "-")
        .replace('=', "_")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let sig = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
        1 => wrap(rest, 6),
        _ => wrap(rest, 0),
    };
    let decoded = usersig::decode(&sig);
    let identifier = decoded
        .as_ref()
        .map(|(fields, _)| fields.identifier.clone())
        .unwrap_or_else(|_| "administrator".into());
    let verified = usersig::verify(&sig, KEY, SDKAPPID, &identifier, NOW);
    match (&decoded, &verified) {
        (Ok((fields, _)), Ok(ok)) => assert_eq!(fields, ok),
        (Err(a), Err(b)) => assert_eq!(a, b, "decode and verify disagree"),
        (Err(_), Ok(_)) => panic!("verify accepted what decode refused"),
        (Ok(_), Err(e)) => assert!(
            matches!(
                e,
                VerifyError::SdkAppIdMismatch { .. } | VerifyError::Expired | VerifyError::WrongKey
            ),
            "decoded, then refused with {e:?}"
        ),
    }
    let _ = verified.map_err(|e| (e.code(), e.to_string()));
    // Whatever decodes re-signs and verifies with the fixed key (with `now` inside its validity).
    if let Ok((fields, _)) = decoded {
        let again = usersig::generate(KEY, &fields);
        let now = fields.time;
        assert_eq!(
            usersig::verify(&again, KEY, fields.sdkappid, &fields.identifier, now),
            Ok(fields.clone()),
            "re-signed ticket did not verify"
        );
    }
});

//! UserSig (TLSSigAPIv2): the signed, zlib-compressed ticket that authenticates every REST call.
//!
//! Generation follows Tencent's official `tls-sig-api-v2` libraries. Verification (used by the
//! emulator) parses the ticket instead of comparing bytes, because the official libraries differ in
//! JSON key order, spacing, trailing newlines, `\/` escapes and zlib level.

use std::cell::RefCell;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::ZlibDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::tim::errors::codes;

/// A UserSig decoded to this size or more is refused: real ones are a few hundred bytes, and the
/// cap keeps a zlib bomb sent to the emulator from exhausting memory.
const MAX_DECODED_LEN: u64 = 64 * 1024;

/// The fields a UserSig is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigFields {
    pub identifier: String,
    pub sdkappid: u64,
    /// Unix seconds when the sig was made.
    pub time: u64,
    /// Validity in seconds, counted from `time`.
    pub expire: u64,
}

/// `TLS.sig`: standard base64 of HMAC-SHA256 over the string to sign. The key is used as the
/// bytes of the string the console shows; it is not hex-decoded.
pub fn tls_sig(secret_key: &str, fields: &SigFields) -> String {
    STANDARD.encode(tls_mac(secret_key, fields).finalize().into_bytes())
}

/// The HMAC over the string to sign, ready to finalize or to verify against.
fn tls_mac(secret_key: &str, fields: &SigFields) -> Hmac<Sha256> {
    let content = format!(
        "TLS.identifier:{}\nTLS.sdkappid:{}\nTLS.time:{}\nTLS.expire:{}\n",
        fields.identifier, fields.sdkappid, fields.time, fields.expire
    );
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(content.as_bytes());
    mac
}

/// Makes a UserSig the way the official libraries do: compact JSON, zlib, base64 with the
/// URL-safe substitutions `+`→`*`, `/`→`-`, `=`→`_`.
pub fn generate(secret_key: &str, fields: &SigFields) -> String {
    let doc = serde_json::json!({
        "TLS.ver": "2.0",
        "TLS.identifier": fields.identifier,
        "TLS.sdkappid": fields.sdkappid,
        "TLS.expire": fields.expire,
        "TLS.time": fields.time,
        "TLS.sig": tls_sig(secret_key, fields),
    });
    escape(&STANDARD.encode(zlib(doc.to_string().as_bytes())))
}

thread_local! {
    // A zlib compressor comes with about 300 KB of tables, allocated and zeroed (page faults
    // included) each time one is made: ~0.25 ms per sig, about 15 times the cost of compressing
    // a 200-byte ticket. The client makes one sig per app under its cache lock, so across 400
    // apps that was ~100 ms of serial work (~30 ms of a `plan --parallelism 50`). Each thread
    // keeps one compressor instead; a reset keeps its tables and its level.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), true));
}

/// `data` as a zlib stream at the default level: the same bytes as a fresh `ZlibEncoder`.
fn zlib(data: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        let mut out = Vec::with_capacity(data.len() + 64);
        loop {
            let consumed = usize::try_from(compressor.total_in()).unwrap_or(data.len());
            let status = compressor
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Finish)
                // Only a misuse of the stream API fails, and a reset stream given all its input
                // with `Finish` is the documented use.
                .expect("zlib compression of an in-memory buffer");
            if status == Status::StreamEnd {
                return out;
            }
            // `compress_vec` only fills the spare capacity.
            out.reserve(64);
        }
    })
}

/// Makes a UserSig valid for `validity_secs` from now.
pub fn generate_now(
    secret_key: &str,
    sdkappid: u64,
    identifier: &str,
    validity_secs: u64,
) -> String {
    let fields = SigFields {
        identifier: identifier.to_owned(),
        sdkappid,
        time: unix_now(),
        expire: validity_secs,
    };
    generate(secret_key, &fields)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn escape(b64: &str) -> String {
    b64.chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn unescape(sig: &str) -> String {
    sig.chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect()
}

/// Why a UserSig was refused; each maps to the error code Tencent answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("UserSig is empty")]
    Empty,
    #[error("UserSig could not be decoded: {0}")]
    Unparsable(&'static str),
    #[error("UserSig was made for SDKAppID {found}, not {expected}")]
    SdkAppIdMismatch { expected: u64, found: u64 },
    #[error("UserSig was made for identifier {found:?}, not {expected:?}")]
    IdentifierMismatch { expected: String, found: String },
    #[error("UserSig expired")]
    Expired,
    #[error("UserSig signature does not match the secret key")]
    WrongKey,
}

impl VerifyError {
    /// The error code Tencent's REST API answers with for this failure.
    pub fn code(&self) -> i64 {
        match self {
            VerifyError::Empty => codes::USERSIG_EMPTY,
            VerifyError::Unparsable(_) => codes::USERSIG_UNPARSABLE,
            VerifyError::SdkAppIdMismatch { .. } => codes::USERSIG_SDKAPPID_MISMATCH,
            VerifyError::IdentifierMismatch { .. } => codes::USERSIG_IDENTIFIER_MISMATCH,
            VerifyError::Expired => codes::USERSIG_EXPIRED,
            VerifyError::WrongKey => codes::USERSIG_WRONG_KEY,
        }
    }
}

/// Decodes a UserSig into its fields and `TLS.sig`, without checking anything.
pub fn decode(sig: &str) -> Result<(SigFields, String), VerifyError> {
    let sig = sig.trim();
    if sig.is_empty() {
        return Err(VerifyError::Empty);
    }
    let compressed = STANDARD
        .decode(unescape(sig))
        .map_err(|_| VerifyError::Unparsable("not base64"))?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_DECODED_LEN)
        .read_to_end(&mut json)
        .map_err(|_| VerifyError::Unparsable("not zlib"))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&json).map_err(|_| VerifyError::Unparsable("not JSON"))?;
    let number = |key: &str| {
        // Some libraries write numbers as strings; accept both.
        match doc.get(key) {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let string = |key: &str| match doc.get(key) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let fields = SigFields {
        identifier: string("TLS.identifier").ok_or(VerifyError::Unparsable("no identifier"))?,
        sdkappid: number("TLS.sdkappid").ok_or(VerifyError::Unparsable("no sdkappid"))?,
        time: number("TLS.time").ok_or(VerifyError::Unparsable("no time"))?,
        expire: number("TLS.expire").ok_or(VerifyError::Unparsable("no expire"))?,
    };
    let tls_sig = string("TLS.sig").ok_or(VerifyError::Unparsable("no TLS.sig"))?;
    Ok((fields, tls_sig))
}

/// Checks a UserSig the way Tencent does, in Tencent's order: SDKAppID (70014), identifier
/// (70013), expiry (70001), then the HMAC (70009).
pub fn verify(
    sig: &str,
    secret_key: &str,
    sdkappid: u64,
    identifier: &str,
    now: u64,
) -> Result<SigFields, VerifyError> {
    let (fields, tls_sig) = decode(sig)?;
    if fields.sdkappid != sdkappid {
        return Err(VerifyError::SdkAppIdMismatch {
            expected: sdkappid,
            found: fields.sdkappid,
        });
    }
    if fields.identifier != identifier {
        return Err(VerifyError::IdentifierMismatch {
            expected: identifier.to_owned(),
            found: fields.identifier,
        });
    }
    if now > fields.time.saturating_add(fields.expire) {
        return Err(VerifyError::Expired);
    }
    let given = STANDARD
        .decode(tls_sig.trim())
        .map_err(|_| VerifyError::WrongKey)?;
    // The MAC API compares in constant time.
    tls_mac(secret_key, &fields)
        .verify_slice(&given)
        .map_err(|_| VerifyError::WrongKey)?;
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::ZlibEncoder;

    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const PUBLISHED_SIG_FOR_0: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwjDB4pTsxIKCzBQlK0MTAyiAyKRWFGQWpQLFTU1NjeCiJZm5YDEzS0tDAyOYaHFmOtBM54KsUqeUwGLLqPK8UndHryCL-Lx8-1RPy7Ty1AijMk9f30hLk0x-r3CvSFulWgAPYy*9";

    fn vector(identifier: &str) -> SigFields {
        SigFields {
            identifier: identifier.into(),
            sdkappid: 1400000000,
            time: 1569910200,
            expire: 15552000,
        }
    }

    #[test]
    fn reproduces_published_tls_sig_vectors() {
        assert_eq!(
            tls_sig(KEY, &vector("0")),
            "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="
        );
        assert_eq!(
            tls_sig(KEY, &vector("xiaojun")),
            "gOoeW13s19Fgyn8RwlEt/rLkw3wzLq9M+SqBbXTIfnQ="
        );
    }

    #[test]
    fn decodes_and_verifies_published_usersig() {
        let (fields, sig) = decode(PUBLISHED_SIG_FOR_0).unwrap();
        assert!(fields == vector("0"));
        assert_eq!(sig, "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY=");
        assert!(verify(PUBLISHED_SIG_FOR_0, KEY, 1400000000, "0", 1585462200).is_ok());
        assert_eq!(
            verify(PUBLISHED_SIG_FOR_0, KEY, 1400000000, "0", 1585462201).err(),
            Some(VerifyError::Expired)
        );
    }

    #[test]
    fn generated_sig_decodes_to_published_fields() {
        // Compact JSON with serde_json's key order differs from the official library's, so only
        // the decoded content is compared.
        let ours = generate(KEY, &vector("0"));
        assert_eq!(decode(&ours).unwrap(), decode(PUBLISHED_SIG_FOR_0).unwrap());
    }

    #[test]
    fn reused_compressor_makes_the_bytes_of_a_fresh_encoder() {
        // Several inputs in a row on one thread, so that each after the first reuses the
        // compressor, including one longer than the output's first allocation.
        let long = "TLS.sig".repeat(500);
        for input in [
            "",
            "a",
            r#"{"TLS.ver":"2.0","TLS.identifier":"admin"}"#,
            &long,
            "a",
        ] {
            let mut fresh = ZlibEncoder::new(Vec::new(), Compression::default());
            fresh.write_all(input.as_bytes()).unwrap();
            assert_eq!(
                zlib(input.as_bytes()),
                fresh.finish().unwrap(),
                "{input:.20}"
            );
        }
    }

    #[test]
    fn verify_reports_each_failure_with_its_code() {
        let sig = generate(KEY, &vector("admin"));
        let now = 1569910200 + 10;
        let err = |r: Result<SigFields, VerifyError>| r.err().map(|e| e.code());
        assert_eq!(
            err(verify(&sig, KEY, 1400000001, "admin", now)),
            Some(70014)
        );
        assert_eq!(err(verify(&sig, KEY, 1400000000, "root", now)), Some(70013));
        assert_eq!(
            err(verify(&sig, "other", 1400000000, "admin", now)),
            Some(70009)
        );
        assert_eq!(err(verify("", KEY, 1400000000, "admin", now)), Some(70002));
        assert_eq!(
            err(verify("%%%", KEY, 1400000000, "admin", now)),
            Some(70003)
        );
        assert_eq!(
            err(verify("eJwDAAAAAAE_", KEY, 1400000000, "admin", now)),
            Some(70003)
        );
        assert!(verify(&sig, KEY, 1400000000, "admin", now).is_ok());
    }

    #[test]
    fn verify_accepts_every_official_library_variant() {
        let fields = vector("xiaojun");
        let sig = tls_sig(KEY, &fields).replace('/', "\\/");
        // Other key order, spaces, a trailing newline, escaped slashes, numbers as strings.
        let json = format!(
            "{{ \"TLS.sig\" : \"{sig}\", \"TLS.time\": \"1569910200\", \"TLS.expire\": 15552000,\n \"TLS.sdkappid\": 1400000000, \"TLS.identifier\": \"xiaojun\", \"TLS.ver\": \"2.0\" }}\n"
        );
        for level in [0, 1, 9] {
            let mut enc = ZlibEncoder::new(Vec::new(), Compression::new(level));
            enc.write_all(json.as_bytes()).unwrap();
            let ticket = escape(&STANDARD.encode(enc.finish().unwrap()));
            assert!(
                verify(&ticket, KEY, 1400000000, "xiaojun", 1569910200).is_ok(),
                "zlib level {level}"
            );
        }
    }
}

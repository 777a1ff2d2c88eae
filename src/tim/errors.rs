//! Tencent's REST error codes, sorted into what the client and its callers should do about them.
//!
//! The classification drives the client's retry loop (see `tim::client`), and the meanings and
//! hints are what users read when a call fails: Tencent's own `ErrorInfo` is terse and often in
//! Chinese, so every code a live_config admin call can plausibly answer with gets a plain-words
//! explanation here.

use crate::tim::wire::codes;

/// What to do about an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// A transient server-side failure: retry with jittered exponential back-off.
    Retry,
    /// Tencent says we are sending too much: retry, but back off longer.
    RateLimited,
    /// The identifier, secret key or UserSig is wrong. Retrying cannot help; the user must fix
    /// the credentials.
    Credentials,
    /// The app itself is misconfigured or unusable (disabled, expired, wrong region, IP not
    /// allowed, a value Tencent refuses). Retrying cannot help; the user must fix the app or the
    /// desired-state file.
    Config,
    /// The request was malformed. Since livehook builds every request, this is a livehook bug (or
    /// something between livehook and Tencent rewrote the request).
    RequestBug,
    /// The UserSig expired: make a fresh one and try again once.
    RegenerateSig,
    /// An answer that describes the current state rather than a failure (100300 "already exists",
    /// 100301/100302 "does not exist"). Callers turn these into plan decisions; never retried.
    State,
    /// A code livehook does not know. Not retried, because retrying an unknown failure could
    /// repeat a write or lock the app out.
    Unknown,
}

impl ErrorClass {
    /// Whether the client retries errors of this class on its own (70001 is retried once, by
    /// regenerating the UserSig, and is not counted here).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Retry | ErrorClass::RateLimited)
    }

    /// A short name for machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retry => "retry",
            ErrorClass::RateLimited => "rate-limited",
            ErrorClass::Credentials => "credentials",
            ErrorClass::Config => "config",
            ErrorClass::RequestBug => "request-bug",
            ErrorClass::RegenerateSig => "regenerate-sig",
            ErrorClass::State => "state",
            ErrorClass::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sorts a Tencent `ErrorCode` into what to do about it. Code 0 is success and has no class; it
/// is reported as `Unknown` because a caller asking about it has made a mistake.
pub fn classify(code: i64) -> ErrorClass {
    match code {
        codes::INTERNAL_ERROR | 60008 | 70169 | 70202 | 70500 => ErrorClass::Retry,
        codes::REST_RATE_LIMIT | codes::SDKAPPID_RATE_LIMIT | 60018 | 60019 | 70050 => {
            ErrorClass::RateLimited
        }
        60004
        | 60005
        | 60010
        | 70403
        | 70002
        | codes::USERSIG_UNPARSABLE
        | 70005
        | codes::USERSIG_WRONG_KEY
        | codes::USERSIG_IDENTIFIER_MISMATCH
        | codes::USERSIG_SDKAPPID_MISMATCH => ErrorClass::Credentials,
        // 100002 is "invalid parameter" for live_config. livehook validates the shape of every
        // value before sending, so what Tencent still refuses is most likely a value from the
        // desired-state file (a command word Tencent does not accept, a URL it dislikes): the
        // user fixes that in the file, hence Config rather than RequestBug.
        60006
        | 60016
        | 60020
        | 60021
        | 70016
        | codes::SDKAPPID_NOT_FOUND
        | codes::INVALID_PARAMETER => ErrorClass::Config,
        codes::HTTP_PARSE_ERROR | codes::JSON_PARSE_ERROR | 70402 => ErrorClass::RequestBug,
        codes::USERSIG_EXPIRED => ErrorClass::RegenerateSig,
        codes::CALLBACK_EXISTS | codes::CALLBACK_MISSING | codes::TOKEN_MISSING => {
            ErrorClass::State
        }
        _ => ErrorClass::Unknown,
    }
}

/// Whether the code says the server timed out (60008, 70169, 70202). Such an answer does not say
/// whether the request was carried out: the backend may have finished the work after the
/// front end gave up waiting. For a write that is as good as a lost answer, so the client does
/// not re-send it blindly (see `ApiError::outcome_unknown`); a read is simply retried.
pub fn is_server_timeout(code: i64) -> bool {
    matches!(code, 60008 | 70169 | 70202)
}

/// A short meaning of a code in plain words.
pub fn meaning(code: i64) -> &'static str {
    match code {
        0 => "success",
        codes::HTTP_PARSE_ERROR => "the request URL could not be parsed",
        codes::JSON_PARSE_ERROR => "the request body is not valid JSON",
        60004 | 60005 => "the identifier or the UserSig is wrong",
        60006 => "invalid SDKAppID",
        codes::REST_RATE_LIMIT => "REST call frequency over the limit",
        60008 => "service timeout or bad HTTP format",
        60010 | 70403 => "the call needs an App administrator account",
        codes::SDKAPPID_RATE_LIMIT => "SDKAppID call frequency over the limit",
        60016 => "the SDKAppID is disabled",
        60018 | 60019 => "too many requests",
        60020 => "the app's paid edition has expired",
        60021 => "the caller's IP address is not on the app's allow-list",
        codes::USERSIG_EXPIRED => "the UserSig has expired",
        70002 => "the UserSig is empty",
        codes::USERSIG_UNPARSABLE => "the UserSig could not be parsed",
        70005 => "the UserSig is invalid",
        codes::USERSIG_WRONG_KEY => "the UserSig was made with another secret key",
        codes::USERSIG_IDENTIFIER_MISMATCH => "the identifier differs from the one in the UserSig",
        codes::USERSIG_SDKAPPID_MISMATCH => "the SDKAppID differs from the one in the UserSig",
        70016 => "the secret key was not found for this SDKAppID",
        codes::SDKAPPID_NOT_FOUND => "the SDKAppID was not found",
        70050 => "too many failed UserSig checks",
        70169 | 70202 => "server timeout",
        70402 => "invalid parameter",
        70500 => "internal server error",
        codes::INTERNAL_ERROR => "live_config internal error",
        codes::INVALID_PARAMETER => "invalid parameter",
        codes::CALLBACK_EXISTS => "a webhook configuration already exists",
        codes::CALLBACK_MISSING => "no webhook configuration exists",
        codes::TOKEN_MISSING => "no webhook token configuration exists",
        _ => "unknown error code",
    }
}

/// Advice in plain words for a code, where there is something the user can do.
pub fn hint(code: i64) -> Option<&'static str> {
    Some(match code {
        codes::HTTP_PARSE_ERROR | codes::JSON_PARSE_ERROR | 70402 => {
            "Tencent could not read the request livehook sent; this is a livehook bug, or a proxy \
             rewrote the request: please report it with the RequestId"
        }
        60004 | 60005 => {
            "check the identifier (it must be an App administrator account) and the secret key"
        }
        60006 => "check the sdkappid: Tencent does not recognise it as an SDKAppID",
        codes::REST_RATE_LIMIT | codes::SDKAPPID_RATE_LIMIT | 60018 | 60019 => {
            "Tencent is rate-limiting this app: lower --parallelism, or wait and try again (other \
             tools calling the same app share the limit)"
        }
        60008 | 70169 | 70202 | 70500 | codes::INTERNAL_ERROR => {
            "Tencent's service failed even after retries: try again later"
        }
        60010 | 70403 => {
            "the identifier is not an App administrator: set `identifier` to an administrator \
             account (Chat console > Account management)"
        }
        60016 => "this SDKAppID is disabled: re-enable the app in the Chat console",
        60020 => "the app's paid edition has expired: renew it in the Chat console",
        60021 => {
            "this machine's public IP address is not on the app's IP allow-list: add it in the \
             Chat console, or run livehook from an allowed address"
        }
        codes::USERSIG_EXPIRED => {
            "the UserSig expired even after a fresh one was made: check that this machine's \
             clock is correct"
        }
        70002 | codes::USERSIG_UNPARSABLE | 70005 => {
            "Tencent refused the UserSig: check the secret key (copy it again from the Chat \
             console, without spaces or quotes)"
        }
        codes::USERSIG_WRONG_KEY => {
            "the secret key does not belong to this SDKAppID: check the secret key in the \
             environment variable and the sdkappid it is used with"
        }
        codes::USERSIG_IDENTIFIER_MISMATCH | codes::USERSIG_SDKAPPID_MISMATCH => {
            "the UserSig does not match the request; this is a livehook bug: please report it"
        }
        70016 | codes::SDKAPPID_NOT_FOUND => {
            "Tencent does not know this SDKAppID at this endpoint: is the app in another region? \
             Compare the app's region with the one shown in the Chat console"
        }
        70050 => {
            "too many UserSig checks failed, so Tencent blocks this app for about a minute: fix \
             the secret key, then wait a minute before trying again"
        }
        codes::INVALID_PARAMETER => {
            "Tencent refused a value (its ErrorInfo says which): check the callback URL, the \
             command words and the token in the desired-state file"
        }
        codes::CALLBACK_EXISTS => {
            "a webhook configuration already exists for this app: it must be updated, not created"
        }
        codes::CALLBACK_MISSING => "no webhook configuration exists for this app yet",
        codes::TOKEN_MISSING => "no webhook token is configured for this app yet",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the API document lists, with the class it documents.
    const DOCUMENTED: &[(i64, ErrorClass)] = &[
        (60002, ErrorClass::RequestBug),
        (60003, ErrorClass::RequestBug),
        (60004, ErrorClass::Credentials),
        (60005, ErrorClass::Credentials),
        (60006, ErrorClass::Config),
        (60007, ErrorClass::RateLimited),
        (60008, ErrorClass::Retry),
        (60010, ErrorClass::Credentials),
        (70403, ErrorClass::Credentials),
        (60011, ErrorClass::RateLimited),
        (60016, ErrorClass::Config),
        (60018, ErrorClass::RateLimited),
        (60019, ErrorClass::RateLimited),
        (60020, ErrorClass::Config),
        (60021, ErrorClass::Config),
        (70001, ErrorClass::RegenerateSig),
        (70002, ErrorClass::Credentials),
        (70003, ErrorClass::Credentials),
        (70005, ErrorClass::Credentials),
        (70009, ErrorClass::Credentials),
        (70013, ErrorClass::Credentials),
        (70014, ErrorClass::Credentials),
        (70016, ErrorClass::Config),
        (70020, ErrorClass::Config),
        (70050, ErrorClass::RateLimited),
        (70169, ErrorClass::Retry),
        (70202, ErrorClass::Retry),
        (70402, ErrorClass::RequestBug),
        (70500, ErrorClass::Retry),
        (100001, ErrorClass::Retry),
        (100002, ErrorClass::Config),
        (100300, ErrorClass::State),
        (100301, ErrorClass::State),
        (100302, ErrorClass::State),
    ];

    #[test]
    fn every_documented_code_is_classified_as_documented() {
        for &(code, class) in DOCUMENTED {
            assert_eq!(classify(code), class, "code {code}");
        }
    }

    #[test]
    fn every_documented_code_has_a_meaning_and_a_hint() {
        for &(code, _) in DOCUMENTED {
            assert_ne!(meaning(code), meaning(424242), "code {code} has no meaning");
            assert!(hint(code).is_some(), "code {code} has no hint");
        }
    }

    #[test]
    fn unknown_codes_are_unknown_and_not_retried() {
        for code in [-1, 0, 1, 424242, 100003, 99999] {
            assert_eq!(classify(code), ErrorClass::Unknown);
            assert!(!classify(code).is_retryable());
            assert_eq!(hint(code), None);
        }
        assert_eq!(meaning(424242), "unknown error code");
    }

    #[test]
    fn only_transient_classes_are_retryable() {
        assert!(ErrorClass::Retry.is_retryable());
        assert!(ErrorClass::RateLimited.is_retryable());
        for class in [
            ErrorClass::Credentials,
            ErrorClass::Config,
            ErrorClass::RequestBug,
            ErrorClass::RegenerateSig,
            ErrorClass::State,
            ErrorClass::Unknown,
        ] {
            assert!(!class.is_retryable(), "{class}");
        }
    }

    #[test]
    fn the_hints_the_design_promises() {
        let hint_of = |code| hint(code).unwrap_or_default();
        assert!(hint_of(70009).contains("the secret key does not belong to this SDKAppID"));
        assert!(hint_of(70016).contains("is the app in another region?"));
        assert!(hint_of(70020).contains("is the app in another region?"));
        assert!(hint_of(60021).contains("allow-list"));
        assert!(hint_of(60010).contains("administrator"));
        assert!(hint_of(70403).contains("administrator"));
        assert!(hint_of(60016).contains("disabled"));
        assert!(hint_of(70050).contains("minute"));
    }

    #[test]
    fn only_the_server_timeouts_are_server_timeouts() {
        for &(code, _) in DOCUMENTED {
            assert_eq!(
                is_server_timeout(code),
                [60008, 70169, 70202].contains(&code),
                "code {code}"
            );
        }
    }

    #[test]
    fn class_names_are_stable() {
        assert_eq!(ErrorClass::RateLimited.to_string(), "rate-limited");
        assert_eq!(classify(70001).as_str(), "regenerate-sig");
    }
}

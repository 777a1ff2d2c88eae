//! Tencent's REST error codes as one table of data: for each documented code, what to do about
//! it, what it means and what the user can do.
//!
//! The table drives the client's retry loop (see `tim::client`), the emulator answers with its
//! codes, and its meanings and hints are what users read when a call fails: Tencent's own
//! `ErrorInfo` is terse and often in Chinese, so every code a live_config admin call can
//! plausibly answer with gets a plain-words explanation here.

/// The codes livehook names in code, whether to answer with them (the emulator) or to act on
/// them (the client, apply). Every other documented code appears only in [`TABLE`].
pub mod codes {
    /// `ErrorCode` 0: the call succeeded.
    pub const SUCCESS: i64 = 0;
    pub const HTTP_PARSE_ERROR: i64 = 60002;
    pub const JSON_PARSE_ERROR: i64 = 60003;
    pub const REST_RATE_LIMIT: i64 = 60007;
    /// The identifier is a valid user but not an App administrator.
    pub const NOT_ADMIN: i64 = 60010;
    pub const SDKAPPID_RATE_LIMIT: i64 = 60011;
    pub const USERSIG_EXPIRED: i64 = 70001;
    pub const USERSIG_EMPTY: i64 = 70002;
    pub const USERSIG_UNPARSABLE: i64 = 70003;
    pub const USERSIG_WRONG_KEY: i64 = 70009;
    pub const USERSIG_IDENTIFIER_MISMATCH: i64 = 70013;
    pub const USERSIG_SDKAPPID_MISMATCH: i64 = 70014;
    pub const SDKAPPID_NOT_FOUND: i64 = 70020;
    pub const INTERNAL_ERROR: i64 = 100001;
    pub const INVALID_PARAMETER: i64 = 100002;
    pub const CALLBACK_EXISTS: i64 = 100300;
    pub const CALLBACK_MISSING: i64 = 100301;
    pub const TOKEN_MISSING: i64 = 100302;
}

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
    /// An answer that describes the current state rather than a failure ("already exists",
    /// "does not exist"). Callers turn these into plan decisions; never retried.
    State,
    /// A code livehook does not know. Not retried, because retrying an unknown failure could
    /// repeat a write or lock the app out.
    Unknown,
}

impl ErrorClass {
    /// Whether the client retries errors of this class on its own (an expired UserSig is retried
    /// once, by regenerating it, and is not counted here).
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

/// One documented error code: one row of [`TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentedCode {
    pub code: i64,
    pub class: ErrorClass,
    /// What the code means, in a few plain words.
    pub meaning: &'static str,
    /// What the user can do about it.
    pub hint: &'static str,
    /// The front end stopped waiting (a server timeout). Such an answer does not say whether the
    /// request was carried out: the backend may have finished the work anyway. For a write that
    /// is as good as a lost answer, so the client does not re-send it blindly; a read is simply
    /// retried.
    pub server_timeout: bool,
}

const fn row(
    code: i64,
    class: ErrorClass,
    meaning: &'static str,
    hint: &'static str,
) -> DocumentedCode {
    DocumentedCode {
        code,
        class,
        meaning,
        hint,
        server_timeout: false,
    }
}

/// A server timeout: retried like any transient failure, but only for reads.
const fn server_timeout(code: i64, meaning: &'static str) -> DocumentedCode {
    DocumentedCode {
        server_timeout: true,
        ..row(code, ErrorClass::Retry, meaning, SERVICE_FAILED)
    }
}

const REQUEST_UNREADABLE: &str = "Tencent could not read the request livehook sent; this is a \
    livehook bug, or a proxy rewrote the request: please report it with the RequestId";
const WRONG_IDENTIFIER_OR_KEY: &str =
    "check the identifier (it must be an App administrator account) and the secret key";
const RATE_LIMITED: &str = "Tencent is rate-limiting this app: lower --parallelism, or wait and \
    try again (other tools calling the same app share the limit)";
const SERVICE_FAILED: &str = "Tencent's service failed even after retries: try again later";
const NEEDS_ADMIN: &str = "the identifier is not an App administrator: set `identifier` to an \
    administrator account (Chat console > Account management)";
const USERSIG_REFUSED: &str = "Tencent refused the UserSig: check the secret key (copy it again \
    from the Chat console, without spaces or quotes)";
const USERSIG_MISMATCH: &str =
    "the UserSig does not match the request; this is a livehook bug: please report it";
const WRONG_REGION: &str = "Tencent does not know this SDKAppID at this endpoint: is the app in \
    another region? Compare the app's region with the one shown in the Chat console";

/// Every code the live_config admin calls are documented to answer with, one row each.
pub const TABLE: &[DocumentedCode] = {
    use ErrorClass::*;
    use codes::*;
    &[
        row(
            HTTP_PARSE_ERROR,
            RequestBug,
            "the request URL could not be parsed",
            REQUEST_UNREADABLE,
        ),
        row(
            JSON_PARSE_ERROR,
            RequestBug,
            "the request body is not valid JSON",
            REQUEST_UNREADABLE,
        ),
        row(
            60004,
            Credentials,
            "the identifier or the UserSig is wrong",
            WRONG_IDENTIFIER_OR_KEY,
        ),
        row(
            60005,
            Credentials,
            "the identifier or the UserSig is wrong",
            WRONG_IDENTIFIER_OR_KEY,
        ),
        row(
            60006,
            Config,
            "invalid SDKAppID",
            "check the sdkappid: Tencent does not recognise it as an SDKAppID",
        ),
        row(
            REST_RATE_LIMIT,
            RateLimited,
            "REST call frequency over the limit",
            RATE_LIMITED,
        ),
        server_timeout(60008, "service timeout or bad HTTP format"),
        row(
            NOT_ADMIN,
            Credentials,
            "the call needs an App administrator account",
            NEEDS_ADMIN,
        ),
        row(
            SDKAPPID_RATE_LIMIT,
            RateLimited,
            "SDKAppID call frequency over the limit",
            RATE_LIMITED,
        ),
        row(
            60016,
            Config,
            "the SDKAppID is disabled",
            "this SDKAppID is disabled: re-enable the app in the Chat console",
        ),
        row(60018, RateLimited, "too many requests", RATE_LIMITED),
        row(60019, RateLimited, "too many requests", RATE_LIMITED),
        row(
            60020,
            Config,
            "the app's paid edition has expired",
            "the app's paid edition has expired: renew it in the Chat console",
        ),
        row(
            60021,
            Config,
            "the caller's IP address is not on the app's allow-list",
            "this machine's public IP address is not on the app's IP allow-list: add it in the \
             Chat console, or run livehook from an allowed address",
        ),
        row(
            USERSIG_EXPIRED,
            RegenerateSig,
            "the UserSig has expired",
            "the UserSig expired even after a fresh one was made: check that this machine's \
             clock is correct",
        ),
        row(
            USERSIG_EMPTY,
            Credentials,
            "the UserSig is empty",
            USERSIG_REFUSED,
        ),
        row(
            USERSIG_UNPARSABLE,
            Credentials,
            "the UserSig could not be parsed",
            USERSIG_REFUSED,
        ),
        row(
            70005,
            Credentials,
            "the UserSig is invalid",
            USERSIG_REFUSED,
        ),
        row(
            USERSIG_WRONG_KEY,
            Credentials,
            "the UserSig was made with another secret key",
            "the secret key does not belong to this SDKAppID: check the secret key in the \
             environment variable and the sdkappid it is used with",
        ),
        row(
            USERSIG_IDENTIFIER_MISMATCH,
            Credentials,
            "the identifier differs from the one in the UserSig",
            USERSIG_MISMATCH,
        ),
        row(
            USERSIG_SDKAPPID_MISMATCH,
            Credentials,
            "the SDKAppID differs from the one in the UserSig",
            USERSIG_MISMATCH,
        ),
        row(
            70016,
            Config,
            "the secret key was not found for this SDKAppID",
            WRONG_REGION,
        ),
        row(
            SDKAPPID_NOT_FOUND,
            Config,
            "the SDKAppID was not found",
            WRONG_REGION,
        ),
        row(
            70050,
            RateLimited,
            "too many failed UserSig checks",
            "too many UserSig checks failed, so Tencent blocks this app for about a minute: fix \
             the secret key, then wait a minute before trying again",
        ),
        server_timeout(70169, "server timeout"),
        server_timeout(70202, "server timeout"),
        row(70402, RequestBug, "invalid parameter", REQUEST_UNREADABLE),
        row(
            70403,
            Credentials,
            "the call needs an App administrator account",
            NEEDS_ADMIN,
        ),
        row(70500, Retry, "internal server error", SERVICE_FAILED),
        row(
            INTERNAL_ERROR,
            Retry,
            "live_config internal error",
            SERVICE_FAILED,
        ),
        // livehook validates the shape of every value before sending, so what Tencent still
        // refuses is most likely a value from the desired-state file (a command word Tencent
        // does not accept, a URL it dislikes): the user fixes that in the file, hence Config
        // rather than RequestBug.
        row(
            INVALID_PARAMETER,
            Config,
            "invalid parameter",
            "Tencent refused a value (its ErrorInfo says which): check the callback URL, the \
             command words and the token in the desired-state file",
        ),
        row(
            CALLBACK_EXISTS,
            State,
            "a webhook configuration already exists",
            "a webhook configuration already exists for this app: it must be updated, not created",
        ),
        row(
            CALLBACK_MISSING,
            State,
            "no webhook configuration exists",
            "no webhook configuration exists for this app yet",
        ),
        row(
            TOKEN_MISSING,
            State,
            "no webhook token configuration exists",
            "no webhook token is configured for this app yet",
        ),
    ]
};

/// The row of a documented code.
pub fn lookup(code: i64) -> Option<&'static DocumentedCode> {
    TABLE.iter().find(|row| row.code == code)
}

/// Sorts a Tencent `ErrorCode` into what to do about it. A code outside the table (success
/// included: a caller asking about it has made a mistake) is `Unknown`.
pub fn classify(code: i64) -> ErrorClass {
    lookup(code).map_or(ErrorClass::Unknown, |row| row.class)
}

/// Whether the code says the server timed out, which leaves a write's outcome unknown (see
/// [`DocumentedCode::server_timeout`]).
pub fn is_server_timeout(code: i64) -> bool {
    lookup(code).is_some_and(|row| row.server_timeout)
}

/// A short meaning of a code in plain words.
pub fn meaning(code: i64) -> &'static str {
    match lookup(code) {
        Some(row) => row.meaning,
        None if code == codes::SUCCESS => "success",
        None => "unknown error code",
    }
}

/// Advice in plain words for a code, where there is something the user can do.
pub fn hint(code: i64) -> Option<&'static str> {
    lookup(code).map(|row| row.hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for row in TABLE {
            assert!(seen.insert(row.code), "code {} has two rows", row.code);
        }
    }

    #[test]
    fn every_code_has_a_meaning_and_a_hint() {
        for row in TABLE {
            assert!(!row.meaning.is_empty(), "code {}", row.code);
            assert!(!row.hint.is_empty(), "code {}", row.code);
            assert_eq!(meaning(row.code), row.meaning);
            assert_eq!(hint(row.code), Some(row.hint));
            assert_ne!(row.class, ErrorClass::Unknown, "code {}", row.code);
        }
    }

    #[test]
    fn server_timeouts_are_transient() {
        // A read that met a server timeout is retried; only a write's outcome is in doubt.
        for row in TABLE.iter().filter(|row| row.server_timeout) {
            assert!(row.class.is_retryable(), "code {}", row.code);
        }
        assert!(TABLE.iter().any(|row| row.server_timeout));
    }

    #[test]
    fn codes_outside_the_table_are_unknown_and_not_retried() {
        for code in [-1, 0, 1, 424242, 100003, 99999] {
            assert!(lookup(code).is_none());
            assert_eq!(classify(code), ErrorClass::Unknown);
            assert!(!classify(code).is_retryable());
            assert!(!is_server_timeout(code));
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
}

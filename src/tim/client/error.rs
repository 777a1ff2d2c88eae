//! A failed call to Tencent, and the one place where such a failure is put into words.

use crate::tim::errors::{self, ErrorClass};
use crate::tim::wire::Command;

/// A failed call. Its texts never hold the request URL, the secret key, the UserSig or the
/// webhook token being set.
#[derive(Debug, Clone)]
pub enum CallError {
    /// Tencent answered with a non-zero `ErrorCode` (after any retries).
    Answered {
        command: Command,
        code: i64,
        info: String,
        request_id: String,
    },
    /// The request did not complete: connection refused, DNS failure, timeout, connection reset.
    Network {
        command: Command,
        message: String,
        kind: NetworkKind,
    },
    /// A status other than 200. Tencent answers 200 for every API outcome, so this comes from a
    /// gateway or proxy (502 …) or from a wrong endpoint (404).
    Http { command: Command, status: u16 },
    /// The body was not the expected JSON (for example truncated).
    Decode { command: Command, message: String },
    /// livehook could not make the call because of a bug of its own (a plan without what its
    /// call needs, say): nothing was sent, and nothing about Tencent is to blame.
    Bug { command: Command, message: String },
}

impl std::error::Error for CallError {}

/// `{command}: {detail}`.
impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.command(), self.detail())
    }
}

impl CallError {
    /// What went wrong, without the command: Tencent's `ErrorInfo` when Tencent answered,
    /// otherwise the failure itself.
    pub fn message(&self) -> String {
        match self {
            CallError::Answered { info, .. } if info.is_empty() => "no ErrorInfo".into(),
            CallError::Answered { info, .. } => info.clone(),
            CallError::Network { message, .. } => format!("network error: {message}"),
            CallError::Http { status, .. } => format!("HTTP status {status}"),
            CallError::Decode { message, .. } => format!("unexpected response: {message}"),
            CallError::Bug { message, .. } => format!("a bug in livehook: {message}"),
        }
    }

    /// The failure in one line, without the command: the code and its meaning ahead of
    /// [`CallError::message`] when Tencent answered with one.
    pub fn detail(&self) -> String {
        match self {
            CallError::Answered { code, .. } => {
                format!(
                    "error {code} ({}): {}",
                    errors::meaning(*code),
                    self.message()
                )
            }
            _ => self.message(),
        }
    }

    /// The failure in a few words, for a table cell or a note: the code and its meaning, or the
    /// kind of failure, but not the message (which can be long).
    pub fn brief(&self) -> String {
        match self {
            CallError::Answered { code, .. } => {
                format!("error {code}: {}", errors::meaning(*code))
            }
            CallError::Network { kind, .. } => format!("network {}", kind.as_str()),
            CallError::Http { status, .. } => format!("HTTP {status}"),
            CallError::Decode { .. } => "unreadable answer".into(),
            CallError::Bug { .. } => "livehook bug".into(),
        }
    }

    /// Tencent's `ErrorCode`, when Tencent answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            CallError::Answered { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// What to do about the error. Network errors, 5xx statuses and undecodable bodies are
    /// transient; a 429 is a rate limit; other statuses are not retried because they mean the
    /// endpoint is wrong, not busy.
    pub fn class(&self) -> ErrorClass {
        match self {
            CallError::Answered { code, .. } => errors::classify(*code),
            // An untrusted certificate stays untrusted however often it is offered.
            CallError::Network {
                kind: NetworkKind::Certificate,
                ..
            } => ErrorClass::Config,
            CallError::Network { .. } | CallError::Decode { .. } => ErrorClass::Retry,
            CallError::Http { status, .. } => match status {
                429 => ErrorClass::RateLimited,
                408 | 500..=599 => ErrorClass::Retry,
                _ => ErrorClass::Unknown,
            },
            CallError::Bug { .. } => ErrorClass::Unknown,
        }
    }

    /// Advice in plain words, where there is any.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CallError::Answered { code, .. } => errors::hint(*code),
            CallError::Network {
                kind: NetworkKind::Certificate,
                ..
            } => Some(
                "if a corporate or private CA signs that certificate, trust it: set SSL_CERT_FILE \
                 to a PEM file holding the CA (or SSL_CERT_DIR to a directory of them)",
            ),
            CallError::Bug { .. } => Some(BUG_HINT),
            CallError::Network {
                kind: NetworkKind::Endpoint,
                ..
            } => Some(
                "the endpoint is not a usable URL although it passed validation: this is a bug in \
                 livehook, please report it",
            ),
            CallError::Network { .. } => Some(
                "the endpoint could not be reached even after retries: check the network, the \
                 proxy settings and the app's region or endpoint",
            ),
            CallError::Http { status: 404, .. } => {
                Some("the endpoint does not serve live_config: check the app's region or endpoint")
            }
            CallError::Http {
                status: 500..=599, ..
            }
            | CallError::Decode { .. } => {
                Some("Tencent's gateway failed even after retries: try again later")
            }
            CallError::Http { .. } => None,
        }
    }

    /// Tencent's `RequestId`, to quote when reporting the error to Tencent.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            CallError::Answered { request_id, .. } if !request_id.is_empty() => Some(request_id),
            _ => None,
        }
    }

    /// Whether the request may have taken effect although no answer says so: the answer was
    /// lost to a timeout or a broken connection, cut short, or replaced by a gateway's 5xx or
    /// 408 (a proxy that stopped waiting says nothing of what the backend did); or a
    /// write was answered with a server-timeout code, which says only that the front end stopped
    /// waiting, not whether the backend carried the write out. Any other `ErrorCode` answer is
    /// definite (Tencent reports what it did), and so is a failure to connect (nothing was
    /// sent). A read's server timeout is not counted: a read changes nothing, so it is simply
    /// retried.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            CallError::Network { kind, .. } => {
                matches!(kind, NetworkKind::Timeout | NetworkKind::Transfer)
            }
            CallError::Decode { .. } => true,
            CallError::Http { status, .. } => *status == 408 || (500..=599).contains(status),
            CallError::Bug { .. } => false,
            CallError::Answered { command, code, .. } => {
                !command.is_read() && errors::is_server_timeout(*code)
            }
        }
    }

    pub fn command(&self) -> Command {
        match self {
            CallError::Answered { command, .. }
            | CallError::Network { command, .. }
            | CallError::Http { command, .. }
            | CallError::Decode { command, .. }
            | CallError::Bug { command, .. } => *command,
        }
    }
}

/// What a report says of a failure that can only be livehook's own.
const BUG_HINT: &str =
    "this is a bug in livehook, please report it with the command and this message";

/// Where a network error struck, which says whether the request may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// No connection was made (refused, DNS, connect timeout): the request was never sent.
    Connect,
    /// The whole-request timeout struck after the connection was made: the server may have
    /// received the request and acted on it; only its answer is missing.
    Timeout,
    /// The connection broke while sending or receiving: as with a timeout, the request may have
    /// taken effect.
    Transfer,
    /// The endpoint is not a usable URL: nothing was sent.
    Endpoint,
    /// The server's TLS certificate is not trusted (unknown issuer, wrong name, expired): the
    /// handshake failed, so nothing was sent.
    Certificate,
}

impl NetworkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::Connect => "connect",
            NetworkKind::Timeout => "timeout",
            NetworkKind::Transfer => "transfer",
            NetworkKind::Endpoint => "endpoint",
            NetworkKind::Certificate => "certificate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tim::errors::TABLE;

    fn answered(command: Command, code: i64) -> CallError {
        CallError::Answered {
            command,
            code,
            info: String::new(),
            request_id: String::new(),
        }
    }

    #[test]
    fn server_timeout_codes_leave_only_a_write_in_doubt() {
        for row in TABLE {
            for command in Command::ALL {
                let unknown = answered(command, row.code).outcome_unknown();
                assert_eq!(
                    unknown,
                    row.server_timeout && !command.is_read(),
                    "{command} answered {}",
                    row.code
                );
            }
        }
    }

    #[test]
    fn a_proxys_408_and_5xx_leave_a_write_in_doubt_and_other_statuses_do_not() {
        for status in [
            100, 200, 301, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504, 599,
        ] {
            let error = CallError::Http {
                command: Command::SetCallback,
                status,
            };
            let in_doubt = status == 408 || (500..=599).contains(&status);
            assert_eq!(error.outcome_unknown(), in_doubt, "{status}");
        }
    }

    #[test]
    fn a_livehook_bug_says_so_and_blames_nothing_else() {
        let error = CallError::Bug {
            command: Command::SetCallbackToken,
            message: "no token value was resolved for this app".into(),
        };
        assert!(!error.outcome_unknown());
        assert!(!error.class().is_retryable());
        assert_eq!(
            error.to_string(),
            "set_callback_token: a bug in livehook: no token value was resolved for this app"
        );
        let hint = error.hint().unwrap();
        assert!(hint.contains("bug in livehook, please report it"), "{hint}");
        assert!(
            !hint.contains("gateway") && !hint.contains("try again"),
            "{hint}"
        );
        let endpoint = CallError::Network {
            command: Command::GetCallback,
            message: "invalid endpoint".into(),
            kind: NetworkKind::Endpoint,
        };
        assert!(endpoint.hint().unwrap().contains("bug in livehook"));
    }

    #[test]
    fn every_wording_names_the_code_and_its_meaning() {
        for row in TABLE {
            let error = answered(Command::GetCallback, row.code);
            for text in [error.to_string(), error.detail(), error.brief()] {
                assert!(text.contains(&row.code.to_string()), "{text}");
                assert!(text.contains(row.meaning), "{text}");
            }
            assert_eq!(error.hint(), Some(row.hint));
        }
    }
}

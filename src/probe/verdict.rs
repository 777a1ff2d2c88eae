//! How a probe's answer is judged: the way Tencent judges a callback's answer. Only HTTP 200 with a
//! JSON body whose `ErrorCode` is 0, within 2 s, is a delivery; everything else is a failure,
//! worded so the receiver's owner knows what to fix.

use std::time::Duration;

use serde_json::Value;

use crate::tim::client::{CertificateRefusal, certificate_refusal};

/// How long Tencent waits for a callback's answer.
pub const TENCENT_LIMIT: Duration = Duration::from_secs(2);

/// How long a probe waits before giving up, longer than [`TENCENT_LIMIT`] so that a slow receiver
/// is told how slow it is, not only that it is too slow.
pub const PROBE_WAIT: Duration = Duration::from_secs(5);

/// The largest answer read: Tencent expects about 50 bytes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Tencent would count the callback as delivered.
    Ok,
    Failed(Failure),
    /// Not sent: the app subscribes to no after-callback and no `--command` named one.
    Skipped,
}

impl Verdict {
    /// `ok`, `failed` or `skipped`, as the JSON report spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed(_) => "failed",
            Verdict::Skipped => "skipped",
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Verdict::Failed(failure) => Some(failure),
            _ => None,
        }
    }
}

/// Why Tencent would not count a callback as delivered. Texts inside come from the receiver or the
/// network: renderers escape them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The URL cannot be sent to (it failed to parse).
    InvalidUrl(String),
    ConnectionRefused,
    /// The host name does not resolve.
    Dns,
    Certificate(CertificateRefusal),
    /// No answer within [`PROBE_WAIT`].
    Timeout,
    /// Any other network failure, in words without the URL.
    Network(String),
    /// A 3xx answer and where it pointed.
    Redirect {
        status: u16,
        location: Option<String>,
    },
    Status(u16),
    TooLarge,
    NotJson,
    /// JSON without a numeric `ErrorCode`.
    NoErrorCode,
    ErrorCode {
        code: i64,
        info: String,
    },
    /// A good answer, after Tencent stopped waiting.
    TooSlow(Duration),
}

impl Failure {
    /// The failure in one line (outside text not yet escaped).
    pub fn describe(&self) -> String {
        match self {
            Failure::InvalidUrl(why) => format!("the URL cannot be sent to: {why}"),
            Failure::ConnectionRefused => "connection refused".into(),
            Failure::Dns => "DNS: the host name does not resolve".into(),
            Failure::Certificate(refusal) => {
                format!("TLS: the certificate is not trusted: {}", refusal.why())
            }
            Failure::Timeout => format!(
                "timeout: no answer within {} s (Tencent waits {} s)",
                PROBE_WAIT.as_secs(),
                TENCENT_LIMIT.as_secs()
            ),
            Failure::Network(message) => format!("network error: {message}"),
            Failure::Redirect { status, location } => format!(
                "redirect (HTTP {status}) to {}: Tencent does not follow redirects; configure the final URL",
                location
                    .as_deref()
                    .unwrap_or("nowhere (no Location header)")
            ),
            Failure::Status(status) => format!("HTTP {status}: Tencent needs HTTP 200"),
            Failure::TooLarge => format!(
                "the answer is larger than {} KiB; Tencent needs {}",
                MAX_ANSWER_BYTES / 1024,
                EXPECTED_ANSWER
            ),
            Failure::NotJson => format!("the body is not JSON: Tencent needs {EXPECTED_ANSWER}"),
            Failure::NoErrorCode => {
                format!("the JSON answer has no numeric ErrorCode: Tencent needs {EXPECTED_ANSWER}")
            }
            Failure::ErrorCode { code, info } => {
                format!("ErrorCode {code} (ErrorInfo \"{info}\"): Tencent needs ErrorCode 0")
            }
            Failure::TooSlow(latency) => format!(
                "too slow: answered after {:.1} s; Tencent waits {} s",
                latency.as_secs_f64(),
                TENCENT_LIMIT.as_secs()
            ),
        }
    }
}

/// The answer Tencent documents.
pub const EXPECTED_ANSWER: &str = r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

/// Judges a complete answer: `status`, its `Location` header, its body and how long it took.
pub fn judge(status: u16, location: Option<String>, body: &[u8], latency: Duration) -> Verdict {
    if (300..400).contains(&status) {
        return Verdict::Failed(Failure::Redirect { status, location });
    }
    if status != 200 {
        return Verdict::Failed(Failure::Status(status));
    }
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return Verdict::Failed(Failure::NotJson);
    };
    let Some(code) = answer.get("ErrorCode").and_then(Value::as_i64) else {
        return Verdict::Failed(Failure::NoErrorCode);
    };
    if code != 0 {
        let info = answer
            .get("ErrorInfo")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        return Verdict::Failed(Failure::ErrorCode { code, info });
    }
    if latency > TENCENT_LIMIT {
        return Verdict::Failed(Failure::TooSlow(latency));
    }
    Verdict::Ok
}

/// A request that got no answer, classified. The URL (whose query may carry the `Sign`) is left
/// out of every text.
pub fn network_failure(error: reqwest::Error) -> Failure {
    if let Some(refusal) = certificate_refusal(&error) {
        return Failure::Certificate(refusal);
    }
    if error.is_timeout() {
        return Failure::Timeout;
    }
    let error = error.without_url();
    let mut causes = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Failure::ConnectionRefused,
                std::io::ErrorKind::TimedOut => return Failure::Timeout,
                _ => {}
            }
        }
        causes.push(cause.to_string());
        source = cause.source();
    }
    // hyper-util words a failed lookup "dns error"; its type is not public.
    if causes.iter().any(|c| c.starts_with("dns error")) {
        return Failure::Dns;
    }
    let mut message = String::new();
    for cause in causes {
        if !message.contains(&cause) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&cause);
        }
    }
    Failure::Network(message)
}

/// When a DER certificate stops being valid, as Unix seconds; `None` if it cannot be read.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(certificate.validity().not_after.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(30);

    #[test]
    fn only_200_json_errorcode_0_in_time_is_ok() {
        let ok = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;
        assert_eq!(judge(200, None, ok, FAST), Verdict::Ok);
        assert_eq!(
            judge(200, None, ok, Duration::from_millis(2500)),
            Verdict::Failed(Failure::TooSlow(Duration::from_millis(2500)))
        );
        assert_eq!(
            judge(500, None, ok, FAST),
            Verdict::Failed(Failure::Status(500))
        );
        assert_eq!(
            judge(200, None, b"<html>ok</html>", FAST),
            Verdict::Failed(Failure::NotJson)
        );
        assert_eq!(
            judge(200, None, br#"{"ActionStatus":"OK"}"#, FAST),
            Verdict::Failed(Failure::NoErrorCode)
        );
        assert_eq!(
            judge(200, None, br#"{"ErrorCode":1,"ErrorInfo":"no"}"#, FAST),
            Verdict::Failed(Failure::ErrorCode {
                code: 1,
                info: "no".into()
            })
        );
        assert_eq!(
            judge(302, Some("https://elsewhere".into()), b"", FAST),
            Verdict::Failed(Failure::Redirect {
                status: 302,
                location: Some("https://elsewhere".into())
            })
        );
    }

    /// A resolver that knows no name, as a lookup of a mistyped host fails.
    struct NoSuchHost;

    impl reqwest::dns::Resolve for NoSuchHost {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err::<reqwest::dns::Addrs, _>(
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such host").into(),
                )
            })
        }
    }

    #[tokio::test]
    async fn a_failed_lookup_is_dns_and_a_closed_port_is_refused() {
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(NoSuchHost))
            .build()
            .unwrap();
        let error = client
            .post("http://hooks.invalid/tim")
            .send()
            .await
            .unwrap_err();
        assert_eq!(network_failure(error), Failure::Dns);

        let (_closed, port) = crate::test_ports::closed_port();
        let error = client
            .post(format!("http://127.0.0.1:{port}/tim"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(network_failure(error), Failure::ConnectionRefused);
    }

    #[test]
    fn a_slow_answer_is_worded_with_its_time() {
        assert_eq!(
            Failure::TooSlow(Duration::from_millis(3040)).describe(),
            "too slow: answered after 3.0 s; Tencent waits 2 s"
        );
    }
}

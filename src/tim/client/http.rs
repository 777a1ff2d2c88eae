//! One HTTP exchange with Tencent: the URL and its query, the body, and the answer read (within
//! a size cap) into an envelope or a [`CallError`] whose texts are scrubbed of every secret.

use serde_json::Value;
use url::Url;

use super::{CallError, Client, ClientOptions, NetworkKind, Secret, Target};
use crate::tim::errors::codes;
use crate::tim::secret::redact;
use crate::tim::wire::{Command, Envelope};

/// The largest answer read. Tencent's answers are well under 1 KB; anything larger is not an
/// answer to these calls, and reading it whole would cost memory once per app in flight and per
/// retry.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

impl Client {
    /// One HTTP exchange, without retries.
    pub(super) async fn attempt(
        &self,
        endpoint: &Url,
        target: &Target,
        command: Command,
        sig: &Secret,
        body: &str,
        extra_secrets: &[&str],
    ) -> Result<Envelope<Value>, CallError> {
        let mut url = endpoint.clone();
        // `query_pairs_mut` percent-encodes each value (form encoding), so the UserSig's `*`,
        // `-` and `_` and any odd character in the identifier arrive intact. `random` is drawn
        // afresh for every attempt, as Tencent asks.
        url.query_pairs_mut()
            .append_pair("sdkappid", &target.sdkappid.to_string())
            .append_pair("identifier", &target.identifier)
            .append_pair("usersig", sig.expose())
            .append_pair("random", &rand::random::<u32>().to_string())
            .append_pair("contenttype", "json");
        let mut secrets = vec![sig.expose(), target.secret_key.expose()];
        secrets.extend_from_slice(extra_secrets);
        let network = |e: reqwest::Error| match certificate_refusal(&e) {
            Some(why) => CallError::Network {
                command,
                kind: NetworkKind::Certificate,
                message: format!(
                    "the TLS certificate of {} is not trusted: {}",
                    host_of(endpoint),
                    why.why()
                ),
            },
            None => CallError::Network {
                command,
                kind: network_kind(&e),
                message: redact(&describe(e, &self.inner.options), &secrets),
            },
        };
        let mut response = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(network)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(CallError::Http { command, status });
        }
        let too_large = || CallError::Decode {
            command,
            message: "answer larger than 1 MiB".into(),
        };
        // Refused before reading when the length is announced; otherwise read in chunks and
        // stopped as soon as the cap is passed.
        if response
            .content_length()
            .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let envelope: Envelope<Value> =
            serde_json::from_slice(&bytes).map_err(|e| CallError::Decode {
                command,
                message: redact(&e.to_string(), &secrets),
            })?;
        if envelope.error_code != codes::SUCCESS {
            return Err(CallError::Answered {
                command,
                code: envelope.error_code,
                // Tencent has no reason to echo the sig or the token back, but ErrorInfo is free
                // text that ends up in logs and PR comments, so it is scrubbed like everything
                // else.
                info: redact(&envelope.error_info, &secrets),
                request_id: envelope.request_id,
            });
        }
        Ok(envelope)
    }
}

/// The HTTP client settings every request livehook sends shares, to Tencent or to a webhook
/// receiver: rustls with the platform's roots plus `SSL_CERT_FILE`/`SSL_CERT_DIR`, proxies as
/// curl reads them from the environment, no redirects followed, livehook's user agent. Callers
/// add their own timeouts.
pub fn builder() -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder();
    if super::proxy::no_proxy_for_any_host() {
        builder = builder.no_proxy();
    }
    builder
        .use_rustls_tls()
        // A redirect would resend the query (a UserSig, a webhook Sign) to wherever the
        // redirect points. Tencent neither sends nor follows one, so a 3xx is reported instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("livehook/", env!("CARGO_PKG_VERSION")))
}

/// `{base_url}/v4/live_config/{command}`, without the query.
pub(super) fn endpoint(target: &Target, command: Command) -> Result<Url, CallError> {
    let base = target.base_url.trim_end_matches('/');
    let invalid = |why: &str| CallError::Network {
        command,
        kind: NetworkKind::Endpoint,
        message: format!("invalid endpoint {base:?}: {why}"),
    };
    let url = Url::parse(&format!("{base}/v4/live_config/{}", command.as_str()))
        .map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    Ok(url)
}

/// A reqwest error in words, with its chain of causes ("connection refused" sits several levels
/// down) and without the URL, whose query holds the UserSig.
fn describe(error: reqwest::Error, options: &ClientOptions) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        return format!("timed out (timeout {:?})", options.timeout);
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper repeats some causes in its own message; print each once.
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

/// Why a server's certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateRefusal {
    UnknownIssuer,
    WrongHost,
    Expired,
    NotValidYet,
    Revoked,
    Other,
}

impl CertificateRefusal {
    /// The refusal in words, completing "the TLS certificate of HOST is not trusted: ".
    pub fn why(self) -> &'static str {
        match self {
            CertificateRefusal::UnknownIssuer => {
                "it is signed by a certificate authority this machine does not trust"
            }
            CertificateRefusal::WrongHost => "it is not issued for this host name",
            CertificateRefusal::Expired => "it has expired",
            CertificateRefusal::NotValidYet => "it is not valid yet",
            CertificateRefusal::Revoked => "it has been revoked",
            CertificateRefusal::Other => {
                "certificate verification refused it (a self-signed certificate, say)"
            }
        }
    }
}

/// Why the server's certificate was refused, when that is what failed. rustls's own error sits
/// inside `io::Error`s (nested) several causes down, where `source()` does not reach.
pub fn certificate_refusal(error: &reqwest::Error) -> Option<CertificateRefusal> {
    use rustls::CertificateError as Why;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(rustls::Error::InvalidCertificate(why)) = rustls_error_in(cause) {
            return Some(match why {
                Why::UnknownIssuer => CertificateRefusal::UnknownIssuer,
                Why::NotValidForName | Why::NotValidForNameContext { .. } => {
                    CertificateRefusal::WrongHost
                }
                Why::Expired | Why::ExpiredContext { .. } => CertificateRefusal::Expired,
                Why::NotValidYet | Why::NotValidYetContext { .. } => {
                    CertificateRefusal::NotValidYet
                }
                Why::Revoked => CertificateRefusal::Revoked,
                _ => CertificateRefusal::Other,
            });
        }
        source = cause.source();
    }
    None
}

/// The rustls error `error` is, or wraps in `io::Error`s.
fn rustls_error_in<'a>(
    mut error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    loop {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// `host` or `host:port` of a URL, to name the server in an error.
fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("the endpoint");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn network_kind(error: &reqwest::Error) -> NetworkKind {
    if error.is_connect() {
        NetworkKind::Connect
    } else if error.is_timeout() {
        NetworkKind::Timeout
    } else {
        NetworkKind::Transfer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::http::Method;

    use super::*;
    use crate::tim::client::test_server::*;
    use crate::tim::usersig;
    use crate::tim::wire::Callback;

    #[tokio::test]
    async fn every_attempt_carries_the_exact_envelope() {
        let (script, base) = serve_script(vec![
            Reply::Status(502),
            Reply::Truncated,
            Reply::Code(codes::INTERNAL_ERROR),
        ])
        .await;
        client().read::<Callback>(&target(base)).await.unwrap();
        let seen = script.seen();
        assert_eq!(seen.len(), 4);
        for request in &seen {
            assert_eq!(request.method, Method::POST);
            assert_eq!(request.path, "/v4/live_config/get_callback");
            let keys: Vec<&str> = request.query.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                ["sdkappid", "identifier", "usersig", "random", "contenttype"]
            );
            assert_eq!(query_value(request, "sdkappid"), SDKAPPID.to_string());
            assert_eq!(query_value(request, "identifier"), ADMIN);
            assert_eq!(query_value(request, "contenttype"), "json");
            query_value(request, "random").parse::<u32>().unwrap();
            let fields = usersig::verify(
                query_value(request, "usersig"),
                KEY,
                SDKAPPID,
                ADMIN,
                usersig::unix_now(),
            )
            .unwrap();
            assert_eq!(fields.expire, 300);
            assert_eq!(request.content_type.as_deref(), Some("application/json"));
            assert_eq!(request.body, b"{}");
        }
        let randoms: std::collections::HashSet<&str> =
            seen.iter().map(|s| query_value(s, "random")).collect();
        assert_eq!(randoms.len(), seen.len(), "random must differ per attempt");
    }

    /// A raw HTTP/1.1 server that answers every request with `size` bytes of a JSON-looking
    /// body (a string that never ends), announcing the length or not (then the end of the body
    /// is the end of the connection). Returns the base URL and the number of requests answered.
    async fn serve_huge(size: usize, announce_length: bool) -> (String, Arc<Mutex<usize>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answered = Arc::new(Mutex::new(0));
        let count = answered.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                *count.lock().unwrap() += 1;
                tokio::spawn(async move {
                    // Read the request head and its (small) body before answering.
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    loop {
                        let Ok(n) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..n]);
                        let text = String::from_utf8_lossy(&request).to_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if request.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    let mut head =
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_owned();
                    if announce_length {
                        head.push_str(&format!("Content-Length: {size}\r\n"));
                    }
                    head.push_str("Connection: close\r\n\r\n");
                    let mut body = br#"{"ErrorInfo":""#.to_vec();
                    body.resize(size, b'a');
                    // The client may hang up early; that is what it should do.
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (format!("http://{addr}"), answered)
    }

    #[tokio::test]
    async fn answers_larger_than_the_cap_are_refused() {
        const TWO_MIB: usize = 2 * 1024 * 1024;
        let client = Client::new(ClientOptions {
            timeout: Duration::from_secs(5),
            max_retries: 1,
            ..fast_options()
        })
        .unwrap();
        for announce_length in [true, false] {
            let (base, answered) = serve_huge(TWO_MIB, announce_length).await;
            let error = client.read::<Callback>(&target(base)).await.unwrap_err();
            assert!(
                matches!(&error, CallError::Decode { message, .. } if message == "answer larger than 1 MiB"),
                "length announced: {announce_length}: {error:?}"
            );
            assert_eq!(
                error.to_string(),
                "get_callback: unexpected response: answer larger than 1 MiB"
            );
            // A read is retried like any unreadable answer, within the retry budget.
            assert_eq!(*answered.lock().unwrap(), 2);
        }
        // An answer just under the cap is read whole (and then fails to parse as JSON).
        let (base, _) = serve_huge(MAX_ANSWER_BYTES, false).await;
        let error = client.read::<Callback>(&target(base)).await.unwrap_err();
        assert!(
            matches!(&error, CallError::Decode { message, .. } if message != "answer larger than 1 MiB"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn network_errors_reveal_neither_the_usersig_nor_the_key() {
        let (_closed, port) = crate::test_ports::closed_port();
        let client = Client::new(ClientOptions {
            max_retries: 1,
            ..fast_options()
        })
        .unwrap();
        let target = target(format!("http://127.0.0.1:{port}"));
        let error = client.read::<Callback>(&target).await.unwrap_err();
        assert!(matches!(error, CallError::Network { .. }), "{error:?}");
        let sig = client.usersig(&target);
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.to_lowercase().contains("usersig"), "{shown}");
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains(sig.expose()), "{shown}");
            assert!(!shown.contains("live_config"), "{shown}");
        }
        assert!(
            format!("{error}").to_lowercase().contains("connect"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn bad_endpoints_fail_without_a_request() {
        let error = client()
            .read::<Callback>(&target("ftp://example.com".into()))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("http or https"), "{error}");
    }
}

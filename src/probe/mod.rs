//! Probing webhook receivers: one request to each callback URL exactly as Tencent would send it,
//! judged the way Tencent judges the answer, before live rooms depend on the URL.
//!
//! Tencent drops every event of an app whose receiver fails, silently, so a probe is the one
//! chance to see a typo, an expired certificate or a slow receiver first. A probe is one request,
//! like Tencent's delivery: never retried. `request` is what is sent, `verdict` how an answer is
//! judged.

pub mod request;
pub mod verdict;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::Position;
use crate::render::escape;
use crate::tim::client::{Secret, http_builder};
use request::{Parts, ProbeRequest};
use verdict::{Failure, MAX_ANSWER_BYTES, PROBE_WAIT, Verdict};

/// A certificate that ends within this long is reported with a warning.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// One app's probe, before it is sent.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    pub name: String,
    pub sdkappid: u64,
    /// The callback URL as the desired state writes it: what every report shows.
    pub url: String,
    /// The URL the probe is sent to, which may hold secrets `url` only names (`${NAME}`); never
    /// shown.
    pub send_to: Secret,
    /// The values of those secrets, scrubbed from whatever the receiver answers.
    pub hidden: Vec<Secret>,
    /// The command word to send; `None` when the app has no after-callback word and none was
    /// named, so that nothing is sent.
    pub command: Option<String>,
    /// The enabled webhook token, which signs the probe as it signs Tencent's callbacks.
    pub token: Option<Secret>,
    /// The `url:` line, for annotations.
    pub url_position: Option<Position>,
}

/// One app's probe, as found.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    pub name: String,
    pub sdkappid: u64,
    pub url: String,
    pub command: Option<String>,
    pub verdict: Verdict,
    pub http_status: Option<u16>,
    /// From sending to the end of the answer (or the failure).
    pub latency: Option<Duration>,
    /// When the receiver's TLS certificate stops being valid (https only).
    pub certificate_expires: Option<SystemTime>,
    pub url_position: Option<Position>,
}

impl ProbeResult {
    pub fn is_ok(&self) -> bool {
        self.verdict == Verdict::Ok
    }

    pub fn failed(&self) -> bool {
        matches!(self.verdict, Verdict::Failed(_))
    }

    /// Whether the certificate ends within [`EXPIRY_WARNING`] of now.
    pub fn certificate_expires_soon(&self) -> bool {
        self.certificate_expires
            .is_some_and(|end| end <= SystemTime::now() + EXPIRY_WARNING)
    }
}

/// Counts of a probe run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProbeSummary {
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl ProbeSummary {
    pub fn of(results: &[ProbeResult]) -> ProbeSummary {
        let mut summary = ProbeSummary::default();
        for result in results {
            match result.verdict {
                Verdict::Ok => summary.ok += 1,
                Verdict::Failed(_) => summary.failed += 1,
                Verdict::Skipped => summary.skipped += 1,
            }
        }
        summary
    }
}

/// The HTTP client probes are sent with: livehook's shared settings (roots, proxies, no
/// redirects), the probe's own time limit, and the peer certificate kept for its expiry date.
#[derive(Clone)]
pub struct Prober {
    http: reqwest::Client,
}

impl Prober {
    pub fn new() -> Result<Prober, String> {
        let http = http_builder()
            .timeout(PROBE_WAIT)
            .tls_info(true)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {}", e.without_url()))?;
        Ok(Prober { http })
    }

    /// Sends every target's probe, at most `parallelism` at a time, in the targets' order.
    pub async fn probe_all(
        &self,
        targets: Vec<ProbeTarget>,
        parallelism: usize,
    ) -> Vec<ProbeResult> {
        let shown: Vec<ProbeTarget> = targets.clone();
        let prober = self.clone();
        let results = crate::fanout::bounded(targets, parallelism, move |target| {
            let prober = prober.clone();
            async move { prober.probe(target).await }
        })
        .await;
        results
            .into_iter()
            .zip(shown)
            .map(|(result, target)| {
                result.unwrap_or_else(|| {
                    let bug =
                        Failure::Network("the probe stopped unexpectedly (a livehook bug)".into());
                    unsent(target, Verdict::Failed(bug))
                })
            })
            .collect()
    }

    /// One probe: one request, never retried, judged as Tencent judges it.
    pub async fn probe(&self, target: ProbeTarget) -> ProbeResult {
        let Some(command) = target.command.clone() else {
            return unsent(target, Verdict::Skipped);
        };
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let built = ProbeRequest::build(&Parts {
            url: target.send_to.expose(),
            sdkappid: target.sdkappid,
            command: &command,
            token: target.token.as_ref(),
            now_secs,
        });
        let request = match built {
            Ok(request) => request,
            Err(e) => return unsent(target, Verdict::Failed(Failure::InvalidUrl(e.to_string()))),
        };
        // The URL as written, never the one sent (with the probe's query, which may carry the
        // Sign).
        tracing::debug!(
            app = %escape::text(&target.name),
            url = %escape::text(&target.url),
            command = %escape::text(&command),
            signed = target.token.is_some(),
            "probe sent"
        );
        let mut secrets: Vec<String> = target
            .token
            .iter()
            .flat_map(|t| [t.expose().to_owned(), request::sign(t.expose(), now_secs)])
            .collect();
        if target.send_to.expose() != target.url {
            secrets.push(target.send_to.expose().to_owned());
        }
        secrets.extend(target.hidden.iter().map(|s| s.expose().to_owned()));
        let started = Instant::now();
        let answer = self.exchange(request).await;
        let latency = started.elapsed();
        let mut result = unsent(target, Verdict::Ok);
        result.latency = Some(latency);
        match answer {
            Ok(answer) => {
                result.http_status = Some(answer.status);
                result.certificate_expires = answer.certificate_expires;
                result.verdict = match answer.body {
                    Some(body) => verdict::judge(answer.status, answer.location, &body, latency),
                    None => Verdict::Failed(Failure::TooLarge),
                };
            }
            Err(failure) => result.verdict = Verdict::Failed(failure),
        }
        // A receiver could echo the token or the Sign back; neither is ever shown.
        if let Verdict::Failed(failure) = &mut result.verdict {
            scrub(failure, &secrets);
        }
        tracing::debug!(
            app = %escape::text(&result.name),
            verdict = result.verdict.as_str(),
            status = result.http_status,
            latency_ms = latency.as_millis() as u64,
            "probe answered"
        );
        result
    }

    async fn exchange(&self, request: ProbeRequest) -> Result<Answer, Failure> {
        let mut response = self
            .http
            .post(request.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request.body)
            .send()
            .await
            .map_err(verdict::network_failure)?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        let certificate_expires = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|tls| tls.peer_certificate())
            .and_then(verdict::not_after)
            .and_then(|secs| u64::try_from(secs).ok())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        let mut body = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = response.chunk().await.map_err(verdict::network_failure)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                too_large = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            location,
            body: (!too_large).then_some(body),
            certificate_expires,
        })
    }
}

/// An answer as read; `body` is `None` when it was larger than the cap.
struct Answer {
    status: u16,
    location: Option<String>,
    body: Option<Vec<u8>>,
    certificate_expires: Option<SystemTime>,
}

fn unsent(target: ProbeTarget, verdict: Verdict) -> ProbeResult {
    ProbeResult {
        name: target.name,
        sdkappid: target.sdkappid,
        url: target.url,
        command: target.command,
        verdict,
        http_status: None,
        latency: None,
        certificate_expires: None,
        url_position: target.url_position,
    }
}

fn scrub(failure: &mut Failure, secrets: &[String]) {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let redact = |text: &mut String| *text = crate::tim::secret::redact(text, &secrets);
    match failure {
        Failure::Network(message) | Failure::InvalidUrl(message) => redact(message),
        Failure::ErrorCode { info, .. } => redact(info),
        Failure::Redirect {
            location: Some(location),
            ..
        } => redact(location),
        _ => {}
    }
}

//! The retry loop around every call: the rate limiter before each attempt, jittered exponential
//! back-off after transient failures (longer after rate-limit codes) until the call's retry
//! budget in time is spent, one fresh UserSig after an expired one, and no blind re-send of a
//! write whose outcome is unknown.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::Jitter;
use serde_json::Value;
use tracing::debug;

use super::{CallError, Client, Target};
use crate::render::escape;
use crate::tim::errors::ErrorClass;
use crate::tim::wire::{Command, Envelope};

impl Client {
    /// Sends one command and returns the envelope of the successful (`ErrorCode` 0) answer.
    /// Transient failures are retried; a non-zero code that is not retried (or still fails after
    /// the retries) becomes [`CallError::Answered`].
    ///
    /// A write whose answer was lost, or answered with a server timeout
    /// ([`CallError::outcome_unknown`]), is not re-sent: it may have taken effect, and sending it
    /// again would write twice (or meet 100300 for its own create). The error is returned at once
    /// so that the caller can read the app back and decide; `apply` does.
    ///
    /// Besides the UserSig and the secret key, every error's text (Tencent's `ErrorInfo`
    /// included, which a server may fill with an echo of the request) is scrubbed of `secrets`:
    /// those the body carries (the webhook token).
    pub(super) async fn call(
        &self,
        target: &Target,
        command: Command,
        body: &Value,
        secrets: &[&str],
    ) -> Result<Envelope<Value>, CallError> {
        let options = &self.inner.options;
        let endpoint = super::http::endpoint(target, command)?;
        let body = body.to_string();
        let mut retry_backoff = backoff(options.min_backoff, options.max_backoff);
        let mut rate_limit_backoff = backoff(
            options.rate_limit_min_backoff,
            options.max_backoff.max(options.rate_limit_min_backoff),
        );
        let deadline = Instant::now() + options.retry_for;
        let mut retries = 0;
        let mut attempt: usize = 0;
        let mut sig_regenerated = false;
        let sdkappid = target.sdkappid;
        loop {
            attempt += 1;
            let sig = self.usersig(target);
            // Wait for the limiter before every attempt, retries included: a retry is a request
            // like any other as far as Tencent's limit is concerned. The small jitter keeps many
            // waiting tasks from all waking on the same instant and contending for one slot.
            let queued = Instant::now();
            self.inner
                .limiter
                .until_key_ready_with_jitter(&sdkappid, Jitter::up_to(Duration::from_millis(2)))
                .await;
            let waited_ms = millis(queued.elapsed());
            let started = Instant::now();
            let result = self
                .first_contact(&endpoint, || {
                    self.attempt(&endpoint, target, command, &sig, &body, secrets)
                })
                .await;
            let duration_ms = millis(started.elapsed());
            if !matches!(result, Err(CallError::Network { .. })) {
                self.endpoint_answered();
            }
            let mut error = match result {
                Ok(envelope) => {
                    debug!(%command, sdkappid, attempt, outcome = %"ok", duration_ms, waited_ms, "HTTP attempt");
                    return Ok(envelope);
                }
                Err(error) => error,
            };
            debug!(%command, sdkappid, attempt, outcome = %escape::text(&error.detail()), request_id = error.request_id().map(|id| tracing::field::display(escape::text(id))), duration_ms, waited_ms, "HTTP attempt");
            if !command.is_read() && error.outcome_unknown() {
                debug!(%command, sdkappid, "the answer to a write was lost: not re-sent, the caller reads back first");
                return Err(error);
            }
            let delay = match error.class() {
                // An expired sig is replaced and the call tried once more at once; the cache
                // should have prevented this, so a second 70001 means a wrong clock and is final.
                ErrorClass::RegenerateSig if !sig_regenerated => {
                    sig_regenerated = true;
                    self.forget_usersig(target);
                    debug!(%command, sdkappid, "UserSig refused as expired: making a new one and trying once more");
                    continue;
                }
                ErrorClass::Retry if retries < options.max_retries => retry_backoff.next(),
                ErrorClass::RateLimited if retries < options.max_retries => {
                    rate_limit_backoff.next()
                }
                _ => None,
            };
            // The budget: the last back-off is cut short so that it ends on the call's
            // deadline, one more attempt is made there, and after it the call gives up; once
            // nothing has answered for the whole budget (the endpoint is down), every call's
            // deadline has passed, so a run against a dead endpoint ends within the budget and
            // one request timeout.
            let budget_left = match &error {
                CallError::Network { .. } => deadline.min(self.silent_deadline()),
                _ => deadline,
            }
            .saturating_duration_since(Instant::now());
            if delay.is_some() && budget_left.is_zero() {
                debug!(%command, sdkappid, attempts = attempt, retry_for = %humantime::format_duration(options.retry_for), "giving up: the retry budget is spent");
                if let CallError::Network { message, .. } = &mut error {
                    message.push_str(&format!(
                        " (retried for up to --retry-for {}, then gave up)",
                        humantime::format_duration(options.retry_for)
                    ));
                }
                return Err(error);
            }
            let delay = delay.map(|delay| delay.min(budget_left));
            match delay {
                Some(delay) => {
                    retries += 1;
                    debug!(
                        %command,
                        sdkappid,
                        retry = retries,
                        backoff_ms = millis(delay),
                        "retrying after back-off"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    if error.class().is_retryable() {
                        debug!(%command, sdkappid, attempts = attempt, "giving up: no retries left");
                    }
                    return Err(error);
                }
            }
        }
    }
}

/// Jittered exponential back-off. The seed is drawn here because backon, built without its `std`
/// feature, would otherwise seed every back-off identically, and identical "random" delays make
/// concurrent retries collide again.
fn backoff(min: Duration, max: Duration) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max.max(min))
        .without_max_times()
        .with_jitter()
        .with_jitter_seed(rand::random())
        .build()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::tim::client::test_server::*;
    use crate::tim::client::{ClientOptions, NetworkKind, Write};
    use crate::tim::errors::{TABLE, codes};
    use crate::tim::wire::{Callback, TokenBody};

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let (script, base) = serve_script(vec![
            Reply::Status(502),
            Reply::Truncated,
            Reply::Code(codes::INTERNAL_ERROR),
        ])
        .await;
        let got = client().read::<Callback>(&target(base)).await.unwrap();
        assert_eq!(
            got,
            Some(Callback {
                url: "https://hooks.example.com/tim".into(),
                commands: vec!["Live.CallbackAfterCreateRoom".into()],
            })
        );
        assert_eq!(script.seen().len(), 4);
    }

    #[tokio::test]
    async fn credential_errors_are_not_retried_and_carry_the_hint() {
        let (script, base) = serve_script(vec![Reply::Code(codes::USERSIG_WRONG_KEY)]).await;
        let error = client().read::<Callback>(&target(base)).await.unwrap_err();
        assert_eq!(script.seen().len(), 1);
        assert_eq!(error.code(), Some(70009));
        assert_eq!(error.class(), ErrorClass::Credentials);
        assert_eq!(error.command(), Command::GetCallback);
        assert_eq!(error.request_id(), Some("Id-test-70009"));
        assert!(
            error
                .hint()
                .unwrap()
                .contains("the secret key does not belong to this SDKAppID")
        );
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("70009") && shown.contains("Id-test-70009"));
        assert!(!shown.contains(KEY));
    }

    #[tokio::test]
    async fn an_expired_sig_is_regenerated_and_retried_once() {
        let (script, base) = serve_script(vec![Reply::Code(codes::USERSIG_EXPIRED)]).await;
        client()
            .write(&target(base), Write::DeleteCallback)
            .await
            .unwrap();
        assert_eq!(script.seen().len(), 2);

        let (script, base) = serve(vec![], Reply::Code(codes::USERSIG_EXPIRED)).await;
        let error = client()
            .write(&target(base), Write::DeleteCallback)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some(70001));
        assert_eq!(script.seen().len(), 2, "a second 70001 is final");
    }

    #[tokio::test]
    async fn rate_limit_codes_back_off_longer() {
        let (script, base) = serve_script(vec![Reply::Code(codes::REST_RATE_LIMIT)]).await;
        client().read::<Callback>(&target(base)).await.unwrap();
        let seen = script.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].at - seen[0].at >= fast_options().rate_limit_min_backoff);
    }

    #[tokio::test]
    async fn retries_stop_after_max_retries() {
        let (script, base) = serve(vec![], Reply::Code(codes::INTERNAL_ERROR)).await;
        let client = Client::new(ClientOptions {
            max_retries: 2,
            ..fast_options()
        })
        .unwrap();
        let error = client.read::<Callback>(&target(base)).await.unwrap_err();
        assert_eq!(error.code(), Some(100001));
        assert_eq!(script.seen().len(), 3);
    }

    #[tokio::test]
    async fn retries_go_on_until_the_budget_is_spent_and_end_on_it() {
        let (script, base) = serve(vec![], Reply::Code(codes::INTERNAL_ERROR)).await;
        let budget = Duration::from_millis(600);
        let client = Client::new(ClientOptions {
            retry_for: budget,
            ..fast_options()
        })
        .unwrap();
        let started = Instant::now();
        let error = client.read::<Callback>(&target(base)).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(error.code(), Some(100001));
        // The last back-off is cut to end on the deadline, and one attempt is made there.
        assert!(took >= budget, "{took:?}");
        assert!(took < budget + Duration::from_millis(400), "{took:?}");
        let seen = script.seen();
        assert!(seen.len() > 5, "{} attempts", seen.len());
        assert!(seen.last().unwrap().at - started >= budget);
    }

    #[tokio::test]
    async fn network_errors_stop_once_nothing_has_answered_for_the_budget() {
        let budget = Duration::from_millis(500);
        let client = Client::new(ClientOptions {
            retry_for: budget,
            ..fast_options()
        })
        .unwrap();
        let dead = target("http://127.0.0.1:1".into());
        let started = Instant::now();
        let first = client.read::<Callback>(&dead).await.unwrap_err();
        assert!(first.to_string().contains("then gave up"), "{first}");
        // A call started after the endpoint has been silent for the whole budget gives up
        // after one attempt instead of spending a budget of its own.
        let second_started = Instant::now();
        client.read::<Callback>(&dead).await.unwrap_err();
        assert!(second_started.elapsed() < budget / 2);
        assert!(started.elapsed() < budget * 2);
    }

    #[tokio::test]
    async fn timeouts_are_retried() {
        let (script, base) = serve_script(vec![Reply::Hang(Duration::from_secs(10))]).await;
        let client = Client::new(ClientOptions {
            timeout: Duration::from_secs(1),
            ..fast_options()
        })
        .unwrap();
        assert!(
            client
                .read::<Callback>(&target(base))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(script.seen().len(), 2);
    }

    #[tokio::test]
    async fn a_write_whose_answer_is_lost_is_not_re_sent() {
        let callback = Callback {
            url: "https://hooks.example.com/tim".into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        for lost in [
            Reply::Truncated,
            Reply::Status(502),
            Reply::Status(503),
            Reply::Status(504),
            Reply::Status(408),
        ] {
            let (script, base) = serve_script(vec![lost]).await;
            let error = client()
                .write(&target(base), Write::SetCallback(&callback))
                .await
                .unwrap_err();
            assert!(error.outcome_unknown(), "{error:?}");
            assert_eq!(script.seen().len(), 1, "{error:?}");
        }
        // A timed-out write too; a read is retried after the same loss.
        let (script, base) = serve_script(vec![Reply::Hang(Duration::from_secs(10))]).await;
        let patient = Client::new(ClientOptions {
            timeout: Duration::from_secs(1),
            ..fast_options()
        })
        .unwrap();
        let error = patient
            .write(&target(base), Write::DeleteCallback)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                CallError::Network {
                    kind: NetworkKind::Timeout,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(script.seen().len(), 1);
        // An ErrorCode is a definite answer (nothing was done): the write is retried.
        let (script, base) = serve_script(vec![Reply::Code(codes::INTERNAL_ERROR)]).await;
        client()
            .write(&target(base), Write::DeleteCallback)
            .await
            .unwrap();
        assert_eq!(script.seen().len(), 2);
    }

    /// Every code of the table, answered once before a success: a read is retried exactly when
    /// the code's class is retryable (or, once, with a fresh UserSig when it expired), and a write
    /// too, unless the code is a server timeout, which leaves the write's outcome unknown.
    #[tokio::test]
    async fn each_code_of_the_table_is_retried_as_its_class_says() {
        let callback = Callback {
            url: "https://hooks.example.com/tim".into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        for row in TABLE {
            let code = row.code;
            let tried_again = row.class.is_retryable() || row.class == ErrorClass::RegenerateSig;

            let (script, base) = serve_script(vec![Reply::Code(code)]).await;
            let read = client().read::<Callback>(&target(base)).await;
            assert_eq!(
                script.seen().len(),
                1 + usize::from(tried_again),
                "read, {code}"
            );
            match read {
                // The code that says "none configured" is the answer, not a failure.
                Ok(None) => assert_eq!(code, codes::CALLBACK_MISSING),
                Ok(Some(_)) => assert!(tried_again, "{code}"),
                Err(error) => {
                    assert!(!tried_again, "{code}: {error}");
                    assert_eq!(error.code(), Some(code));
                    assert!(
                        !error.outcome_unknown(),
                        "a read's error is definite: {error}"
                    );
                }
            }

            let (script, base) = serve_script(vec![Reply::Code(code)]).await;
            let write = client()
                .write(&target(base), Write::SetCallback(&callback))
                .await;
            let resent = tried_again && !row.server_timeout;
            assert_eq!(
                script.seen().len(),
                1 + usize::from(resent),
                "write, {code}"
            );
            match write {
                Ok(()) => assert!(resent, "{code}"),
                Err(error) => {
                    assert!(!resent, "{code}: {error}");
                    assert_eq!(error.outcome_unknown(), row.server_timeout, "{code}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_read_gives_up_on_a_server_timeout_with_a_definite_error() {
        for row in TABLE.iter().filter(|row| row.server_timeout) {
            let (_, base) = serve(vec![], Reply::Code(row.code)).await;
            let error = Client::new(ClientOptions {
                max_retries: 1,
                ..fast_options()
            })
            .unwrap()
            .read::<TokenBody>(&target(base))
            .await
            .unwrap_err();
            assert_eq!(error.code(), Some(row.code));
            assert!(!error.outcome_unknown(), "{error:?}");
        }
    }

    #[tokio::test]
    async fn client_errors_other_than_429_are_not_retried() {
        let (script, base) = serve_script(vec![Reply::Status(404)]).await;
        let error = client().read::<Callback>(&target(base)).await.unwrap_err();
        assert!(matches!(error, CallError::Http { status: 404, .. }));
        assert_eq!(script.seen().len(), 1);
    }

    /// 500 concurrent calls for one SDKAppID: no 1-second window may hold more than 200 arrivals.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_second_holds_more_than_the_rate_limit() {
        const CALLS: usize = 500;
        const LIMIT: usize = 200;
        let (script, base) = serve_script(vec![]).await;
        let client = client();
        let target = target(base);
        let tasks: Vec<_> = (0..CALLS)
            .map(|_| {
                let client = client.clone();
                let target = target.clone();
                tokio::spawn(async move { client.read::<Callback>(&target).await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().unwrap().is_some());
        }
        let mut arrivals: Vec<Instant> = script.seen().iter().map(|s| s.at).collect();
        arrivals.sort();
        assert_eq!(arrivals.len(), CALLS);
        let mut busiest = 0;
        let mut start = 0;
        for end in 0..arrivals.len() {
            while arrivals[end] - arrivals[start] >= Duration::from_secs(1) {
                start += 1;
            }
            busiest = busiest.max(end - start + 1);
        }
        assert!(busiest <= LIMIT, "{busiest} requests within one second");
    }
}

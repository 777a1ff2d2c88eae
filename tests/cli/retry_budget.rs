//! The retry budget in time (`--retry-for`): transient failures are retried past the five
//! attempts a count would allow, until the budget is spent; a dead endpoint or a stalled
//! connection ends a run within the budget plus one request timeout, and the report says so;
//! permanent errors still fail at once.

use std::time::{Duration, Instant};

use livehook::emulator::{FaultKind, Options};

use crate::support::{
    SECRET_KEY, WRONG_KEY, assert_no_secrets, closed_port, four_callback_apps,
    four_callback_apps_yaml, livehook, start_emulator, stderr, stdout,
};

fn timed(dir: &std::path::Path, args: &[&str], key: &str) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let output = livehook(dir, args, &[("TIM_SECRET_KEY", key)]);
    (output, started.elapsed())
}

#[test]
fn a_dead_endpoint_ends_the_run_within_the_budget_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let dead = closed_port();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&format!("http://127.0.0.1:{}", dead.port)),
    )
    .unwrap();
    // One app at a time: four calls of 2 s each would take 8 s; the run stops once nothing has
    // answered for the whole budget.
    let (output, took) = timed(
        dir.path(),
        &["plan", "--retry-for", "2s", "--parallelism", "1"],
        SECRET_KEY,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(took >= Duration::from_secs(2), "gave up early: {took:?}");
    // The budget plus one request timeout (10 s) bounds it; connection refused is immediate, so
    // this is far from the bound, with room for a loaded machine.
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let text = stdout(&output);
    assert!(
        text.contains("(retried for up to --retry-for 2s, then gave up)"),
        "{text}"
    );
    assert!(text.contains("4 failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_never_holds_the_run_past_its_budget() {
    let emulator = start_emulator(
        four_callback_apps(),
        Options {
            fault_rate: 1.0,
            fault_kinds: vec![FaultKind::Stall],
            stall: Duration::from_secs(60),
            ..Options::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    let dir = dir.path().to_owned();
    let (output, took) = tokio::task::spawn_blocking(move || {
        timed(
            &dir,
            &["plan", "--retry-for", "2s", "--request-timeout", "1"],
            SECRET_KEY,
        )
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // Budget 2 s plus one request timeout of 1 s, with room for a loaded machine; far from the
    // 60 s stall.
    assert!(took < Duration::from_secs(7), "took {took:?}");
    assert!(
        stdout(&output)
            .contains("timed out (timeout 1s) (retried for up to --retry-for 2s, then gave up)"),
        "{}",
        stdout(&output)
    );
    // Each call was tried more than once.
    assert!(emulator.requests().len() > 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_past_five_attempts_within_the_budget() {
    let emulator = start_emulator(four_callback_apps(), Options::default()).await;
    // Eight failures in a row for the first call, of every kind that is retried.
    emulator.script_faults(
        [
            FaultKind::InternalError,
            FaultKind::BadGateway,
            FaultKind::RateLimited,
            FaultKind::TruncatedBody,
        ]
        .into_iter()
        .cycle()
        .take(8)
        .map(Some),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    let dir = dir.path().to_owned();
    let (output, _) = tokio::task::spawn_blocking(move || {
        timed(
            &dir,
            &[
                "plan",
                "--parallelism",
                "1",
                "--retry-backoff-scale",
                "0.01",
            ],
            SECRET_KEY,
        )
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged."),
        "{}",
        stdout(&output)
    );
    assert_eq!(emulator.requests().len(), 8 + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_fails_at_once_with_its_hint() {
    let emulator = start_emulator(four_callback_apps(), Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    let dir = dir.path().to_owned();
    let (output, took) = tokio::task::spawn_blocking(move || timed(&dir, &["plan"], WRONG_KEY))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("70009"), "{}", stdout(&output));
    assert!(stdout(&output).contains("hint:"), "{}", stdout(&output));
    // One request per app, and no waiting for the five-minute default budget.
    assert_eq!(emulator.requests().len(), 4);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_no_secrets(&output);
}

#[test]
fn retry_for_takes_a_duration_and_refuses_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let output = livehook(dir.path(), &["plan", "--retry-for", "five minutes"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not a duration") && stderr(&output).contains("`5m`"),
        "{}",
        stderr(&output)
    );
    let help = livehook(dir.path(), &["plan", "--help"], &[]);
    assert!(stdout(&help).contains("--retry-for <DURATION>"));
    assert!(stdout(&help).contains("[default: 5m]"));
}

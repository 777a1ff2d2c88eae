//! Fault soak: `plan` and `apply` over 200 apps against an emulator that damages 30% of requests
//! (HTTP 502, stalled answers, 100001, rate-limit codes, truncated bodies), seeded so that every
//! run meets the same faults on the same calls (the emulator draws them per SDKAppID and
//! command, so the interleaving of concurrent apps does not matter).
//!
//! What it proves, against a fault-free emulator holding the same state:
//! - the faulty plan decides the same action and calls for every app it could read, and an app
//!   it could not read failed only after the client's retries were used up;
//! - apply converges: the fault-free plan afterwards shows no changes, and every run's exit
//!   code matches its report;
//! - nothing is written twice: every planned write took effect exactly once, although answers
//!   were lost after the write had been applied (stalls, truncated bodies), and every write
//!   request that reached the emulator, whatever it was answered, was the planned one or a
//!   re-send after an attempt that had not taken effect;
//! - a stalled request never hangs a run: stalls last longer than the whole test may take, so
//!   one request that was not cut off by `--request-timeout` fails the time bound.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use livehook::emulator::{Emulator, FaultKind, Options, RecordedRequest, State};
use serde_json::Value;

use crate::soak_scenario::{APPS, VALUE_ENV, desired_yaml, live_state};
use crate::support::{SECRET_KEY, SOAK_OLD_TOKEN, SOAK_TOKEN, start_emulator, stderr, stdout};

const SEED: u64 = 20_240_601;
const FAULT_RATE: f64 = 0.3;
/// The client's timeout in the faulty runs (`--request-timeout`). An answer that a loaded
/// machine delays past it is retried like a fault but recorded by the emulator as clean, which
/// would break the check that an unreadable app met only transient answers: 2 s keeps that out
/// of reach while stalls are still cut off.
const REQUEST_TIMEOUT: &str = "2";
const PARALLELISM: &str = "64";
/// Back-offs at 5% of the defaults (the hidden `--retry-backoff-scale`): a rate-limit answer
/// waits 0.1–0.2 s instead of 2–4 s. What is proven here does not depend on how long the client
/// waits between attempts, and the defaults would make the soak take a minute and more.
const BACKOFF_SCALE: &str = "0.05";
/// How long a stalled answer is held: twice [`RUN_BOUND`], so that one request not cut off by
/// the timeout fails the bound, instead of making a run only slightly slower.
const STALL: Duration = Duration::from_secs(90);
/// The most one faulty `plan` or `apply` run may take. A call costs at most ~13 s however its
/// attempts go (5 attempts cut off at 2 s, 4 back-offs of at most 0.8 s: the 0.4 s cap doubled
/// by jitter), and apps run 64 at a time, so a run is as long as its slowest app's few calls.
/// 45 s leaves room for a loaded machine and for an app whose calls each need several
/// attempts, and is half of one stall, so a single request that the timeout failed to cut off
/// fails the test. A hang detector, not a timing test.
const RUN_BOUND: Duration = Duration::from_secs(45);
/// What every run against the faulty emulator adds: a JSON report, and the timeout,
/// parallelism and back-off above.
const FAULTY_RUN_FLAGS: [&str; 8] = [
    "--format",
    "json",
    "--request-timeout",
    REQUEST_TIMEOUT,
    "--parallelism",
    PARALLELISM,
    "--retry-backoff-scale",
    BACKOFF_SCALE,
];
/// The client's retries after the first attempt (`ClientOptions::default().max_retries`).
const MAX_RETRIES: usize = 4;
/// Runs livehook off the runtime's worker threads, so the in-process emulators keep serving.
/// A run still going after [`RUN_BOUND`] is killed, so a hang fails the test at the bound.
async fn run(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = assert_cmd::Command::cargo_bin("livehook")
            .unwrap()
            .current_dir(&dir)
            .env_clear()
            .env("TIM_SECRET_KEY", SECRET_KEY)
            .env(VALUE_ENV, SOAK_TOKEN)
            .args(&args)
            .timeout(RUN_BOUND)
            .output()
            .unwrap();
        (output, started.elapsed())
    })
    .await
    .unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stderr(output)))
}

/// Per app name: (sdkappid, action, planned call commands).
fn planned(doc: &Value) -> BTreeMap<String, (u64, String, Vec<String>)> {
    doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| {
            let calls = app["calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["command"].as_str().unwrap().to_owned())
                .collect();
            (
                app["name"].as_str().unwrap().to_owned(),
                (
                    app["sdkappid"].as_u64().unwrap(),
                    app["action"].as_str().unwrap().to_owned(),
                    calls,
                ),
            )
        })
        .collect()
}

/// Whether a recorded request took effect: answered 0, and either undamaged or damaged only
/// after it was applied (a stall or a truncated answer).
fn took_effect(r: &RecordedRequest) -> bool {
    r.error_code == 0 && r.fault.is_none_or(|f| f.applies_operation())
}

/// Whether an answer is one the client retries (every injected fault is).
fn transient(r: &RecordedRequest) -> bool {
    r.fault.is_some() || matches!(r.error_code, 100001 | 60007 | 60011)
}

async fn start(state: State, fault_rate: f64) -> Emulator {
    start_emulator(
        state,
        Options {
            fault_rate,
            fault_seed: Some(SEED),
            stall: STALL,
            ..Options::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_under_thirty_percent_faults_converge_without_writing_twice() {
    let soak_started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let clean = start(live_state(SECRET_KEY, SOAK_OLD_TOKEN), 0.0).await;
    let faulty = start(live_state(SECRET_KEY, SOAK_OLD_TOKEN), FAULT_RATE).await;
    std::fs::write(
        dir.path().join("clean.yaml"),
        desired_yaml(&clean.base_url()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("faulty.yaml"),
        desired_yaml(&faulty.base_url()),
    )
    .unwrap();

    // The reference: a fault-free plan.
    let (output, _) = run(dir.path(), &["plan", "clean.yaml", "--format", "json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let reference = planned(&json(&output));
    assert_eq!(reference.len(), APPS as usize);
    let changes = reference.values().filter(|(_, a, _)| a != "no-op").count();
    assert_eq!(changes, 175, "7 of every 8 apps change");

    // (a) The faulty plan decides the same for every app it could read.
    let (output, plan_time) = run(
        dir.path(),
        &[&["plan", "faulty.yaml"][..], &FAULTY_RUN_FLAGS].concat(),
    )
    .await;
    assert!(
        plan_time < RUN_BOUND,
        "plan took {plan_time:?}: a stalled request was not cut off"
    );
    let doc = json(&output);
    let faulty_plan = planned(&doc);
    let plan_requests = faulty.requests();
    assert!(plan_requests.iter().all(|r| r.command.starts_with("get_")));
    let mut unreadable = 0;
    for (name, (sdkappid, action, calls)) in &faulty_plan {
        if action == "error" {
            // Failed only after the first attempt and every retry met a transient fault.
            unreadable += 1;
            let app = doc["apps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name.as_str())
                .unwrap();
            let command = app["error"]["command"].as_str().unwrap();
            let attempts: Vec<&RecordedRequest> = plan_requests
                .iter()
                .filter(|r| r.sdkappid == Some(*sdkappid) && r.command == command)
                .collect();
            assert_eq!(attempts.len(), MAX_RETRIES + 1, "{name}: {attempts:?}");
            assert!(
                attempts.iter().all(|r| transient(r)),
                "{name}: {attempts:?}"
            );
        } else {
            assert_eq!(
                (action, calls),
                (&reference[name].1, &reference[name].2),
                "{name}"
            );
        }
    }
    let injected = plan_requests.iter().filter(|r| r.fault.is_some()).count();
    assert!(
        injected * 5 > plan_requests.len(),
        "about 30% of {} requests were damaged, not {injected}",
        plan_requests.len()
    );
    assert_eq!(
        output.status.code(),
        Some(if unreadable > 0 { 1 } else { 0 }),
        "plan exits 1 exactly when an app could not be read"
    );

    // (b) Apply converges; (d) no run hangs on a stalled request.
    let mut runs = Vec::new();
    for attempt in 1..=3 {
        let (output, took) = run(
            dir.path(),
            &[
                &["apply", "faulty.yaml", "--auto-approve"][..],
                &FAULTY_RUN_FLAGS,
            ]
            .concat(),
        )
        .await;
        assert!(
            took < RUN_BOUND,
            "apply run {attempt} took {took:?}: a stalled request was not cut off"
        );
        let report = json(&output);
        let failed = report["summary"]["failed"].as_u64().unwrap();
        for app in report["apps"].as_array().unwrap() {
            let status = app["status"].as_str().unwrap();
            // Faults can exhaust the retries of a call (the app fails and the next run picks
            // it up), but never leave an app written wrongly or refused.
            assert!(["verified", "no-op", "failed"].contains(&status), "{app}");
        }
        assert_eq!(report["summary"]["unverified"], 0);
        assert_eq!(
            output.status.code(),
            Some(if failed > 0 { 1 } else { 0 }),
            "apply exits 1 exactly when an app failed: {}",
            report["summary"]
        );
        runs.push((took, failed));
        if failed == 0 {
            break;
        }
    }
    assert_eq!(
        runs.last().unwrap().1,
        0,
        "apply converged within three runs: {runs:?}"
    );

    // The next fault-free plan shows no changes.
    let settled = start(faulty.state(), 0.0).await;
    std::fs::write(
        dir.path().join("settled.yaml"),
        desired_yaml(&settled.base_url()),
    )
    .unwrap();
    let (output, _) = run(dir.path(), &["plan", "settled.yaml", "--detailed-exitcode"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).starts_with("No changes."));

    // (c) Every planned write took effect exactly once, in the planned order.
    let mut applied: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for r in faulty.requests() {
        if !r.command.starts_with("get_") && took_effect(&r) {
            applied
                .entry(r.sdkappid.unwrap())
                .or_default()
                .push(r.command.clone());
        }
    }
    for (name, (sdkappid, _, calls)) in &reference {
        let got = applied.remove(sdkappid).unwrap_or_default();
        assert_eq!(&got, calls, "{name}: writes that took effect");
    }
    assert!(applied.is_empty(), "writes to unplanned apps: {applied:?}");

    // (c) Nothing is sent blindly: every write that reached the emulator, whatever it was
    // answered, is accounted for. Each planned write arrives once, plus once more after each
    // arrival that did not take effect (a retry, a re-send after reading back, or the next
    // run); after the one that took effect it never arrives again, so a create re-sent after
    // a lost answer (and answered 100300) fails here.
    let mut arrivals: BTreeMap<(u64, String), Vec<RecordedRequest>> = BTreeMap::new();
    for r in faulty.requests() {
        if !r.command.starts_with("get_") {
            arrivals
                .entry((r.sdkappid.unwrap(), r.command.clone()))
                .or_default()
                .push(r);
        }
    }
    let mut resent = 0;
    for (name, (sdkappid, _, calls)) in &reference {
        for command in calls {
            let got = arrivals
                .remove(&(*sdkappid, command.clone()))
                .unwrap_or_default();
            let (last, before) = got
                .split_last()
                .unwrap_or_else(|| panic!("{name}: {command} never arrived"));
            assert!(
                took_effect(last) && before.iter().all(|r| !took_effect(r)),
                "{name}: {command} arrived {} times, not once plus once per arrival that did \
                 not take effect: {got:?}",
                got.len()
            );
            resent += before.len();
        }
    }
    assert!(
        arrivals.is_empty(),
        "writes the plan did not ask for: {:?}",
        arrivals.keys().collect::<Vec<_>>()
    );
    assert!(
        resent > 0,
        "the soak re-sent some writes that had not taken effect"
    );

    let lost_writes = faulty
        .requests()
        .iter()
        .filter(|r| {
            !r.command.starts_with("get_") && r.fault.is_some_and(|f| f.applies_operation())
        })
        .count();
    assert!(lost_writes > 0, "the soak lost the answer to some writes");
    let refused = faulty
        .requests()
        .iter()
        .filter(|r| r.error_code == 60011)
        .count();
    assert_eq!(refused, 0, "never over 200 requests/s for one SDKAppID");
    let stalls = faulty
        .requests()
        .iter()
        .filter(|r| r.fault == Some(FaultKind::Stall))
        .count();
    assert!(
        stalls > 0,
        "some requests stalled, and every run still ended in time"
    );
    eprintln!(
        "soak: plan {plan_time:?} ({unreadable} unreadable apps), apply runs {runs:?}, \
         {stalls} stalls, {lost_writes} write answers lost, {resent} writes re-sent, {} requests, \
         total {:?}",
        faulty.requests().len(),
        soak_started.elapsed()
    );
    for emulator in [clean, faulty, settled] {
        emulator.shutdown().await;
    }
}

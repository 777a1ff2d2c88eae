//! The unseeded soak: the real `livehook` binary, with its default settings, against the
//! emulator injecting faults into 30% of requests with no seed (a different pattern every run),
//! over 200 apps of every kind of change. Each of 20 consecutive runs must hold:
//!
//! - `plan` decides for every app exactly what a fault-free plan decides, and no app fails;
//! - one `apply --auto-approve` converges: every app verified or a no-op, and the next `plan`
//!   (still under faults) shows no changes;
//! - every planned write took effect exactly once, and nothing was sent after it had.
//!
//! Prints one line per run and the count of runs that held; `cargo bench` writes the summary to
//! `benches/RESULTS.md`. `cargo bench --bench soak`; set
//! `SOAK_RUNS` for fewer runs. Not part of `cargo test` (a run takes tens of seconds: the
//! default 10 s request timeout cuts off each stalled answer); `cargo test --benches` runs one.

mod common;
#[path = "../tests/cli/soak_scenario.rs"]
mod soak_scenario;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use livehook::emulator::{Emulator, Options, RecordedRequest};
use serde_json::Value;
use soak_scenario::{APPS, VALUE_ENV, desired_yaml, live_state};

const FAULT_RATE: f64 = 0.3;
/// Made-up values for the emulator's apps and the token variable.
const SECRET_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const NEW_TOKEN: &str = "soak-bench-token-new";
const OLD_TOKEN: &str = "soak-bench-token-old";

/// Runs livehook with default settings, off the runtime's worker threads. The binary is the
/// copy `main` made, so that a rebuild during the long soak cannot swap it mid-way.
async fn livehook(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let bin = dir.join("livehook");
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = Command::new(&bin)
            .current_dir(&dir)
            .env_clear()
            .env("TIM_SECRET_KEY", SECRET_KEY)
            .env(VALUE_ENV, NEW_TOKEN)
            .args(&args)
            .output()
            .expect("livehook runs");
        (output, started.elapsed())
    })
    .await
    .expect("the run's thread")
}

/// Per app name: (sdkappid, action, planned commands).
type Decisions = BTreeMap<String, (u64, String, Vec<String>)>;

fn decisions(output: &Output) -> Result<Decisions, String> {
    let doc: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("plan's output is not JSON ({e})"))?;
    let apps = doc["apps"].as_array().ok_or("no apps in plan's output")?;
    Ok(apps
        .iter()
        .map(|app| {
            let calls = app["calls"]
                .as_array()
                .map(|calls| {
                    calls
                        .iter()
                        .filter_map(|c| c["command"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (
                app["name"].as_str().unwrap_or_default().to_owned(),
                (
                    app["sdkappid"].as_u64().unwrap_or_default(),
                    app["action"].as_str().unwrap_or_default().to_owned(),
                    calls,
                ),
            )
        })
        .collect())
}

/// Whether a request took effect: answered 0, undamaged or damaged only after it was applied.
fn took_effect(r: &RecordedRequest) -> bool {
    r.error_code == 0 && r.fault.is_none_or(|f| f.applies_operation())
}

struct RunResult {
    plan: Duration,
    apply: Duration,
    replan: Duration,
    faults: usize,
    requests: usize,
    problems: Vec<String>,
}

async fn one_run(dir: &Path, reference: &Decisions) -> RunResult {
    let faulty = Emulator::start(
        live_state(SECRET_KEY, OLD_TOKEN),
        Options {
            fault_rate: FAULT_RATE,
            fault_seed: None,
            ..Options::default()
        },
    )
    .await
    .expect("the emulator starts");
    std::fs::write(dir.join("faulty.yaml"), desired_yaml(&faulty.base_url()))
        .expect("faulty.yaml written");
    let mut problems = Vec::new();

    let (plan, plan_time) = livehook(dir, &["plan", "faulty.yaml", "--format", "json"]).await;
    if plan.status.code() != Some(0) {
        problems.push(format!("plan exited {:?}", plan.status.code()));
    }
    match decisions(&plan) {
        Ok(got) if &got == reference => {}
        Ok(got) => {
            let differing: Vec<_> = got
                .iter()
                .filter(|(name, decision)| reference.get(*name) != Some(decision))
                .map(|(name, (_, action, _))| format!("{name}: {action}"))
                .collect();
            problems.push(format!("plan decided differently: {differing:?}"));
        }
        Err(e) => problems.push(e),
    }

    let (apply, apply_time) = livehook(
        dir,
        &["apply", "faulty.yaml", "--auto-approve", "--format", "json"],
    )
    .await;
    if apply.status.code() != Some(0) {
        problems.push(format!(
            "apply exited {:?}: {}",
            apply.status.code(),
            String::from_utf8_lossy(&apply.stderr)
        ));
    }
    if let Ok(report) = serde_json::from_slice::<Value>(&apply.stdout) {
        for app in report["apps"].as_array().into_iter().flatten() {
            let status = app["status"].as_str().unwrap_or_default();
            if !["verified", "no-op"].contains(&status) {
                problems.push(format!("apply left {} {status}", app["name"]));
            }
        }
    }

    let (replan, replan_time) =
        livehook(dir, &["plan", "faulty.yaml", "--detailed-exitcode"]).await;
    if replan.status.code() != Some(0) {
        problems.push(format!(
            "the next plan exited {:?}: {}",
            replan.status.code(),
            String::from_utf8_lossy(&replan.stdout)
        ));
    }

    // Every planned write arrived until it took effect, took effect once, and never again.
    let requests = faulty.requests();
    let mut arrivals: BTreeMap<(u64, String), Vec<&RecordedRequest>> = BTreeMap::new();
    for r in requests.iter().filter(|r| !r.command.starts_with("get_")) {
        arrivals
            .entry((r.sdkappid.unwrap_or_default(), r.command.clone()))
            .or_default()
            .push(r);
    }
    for (name, (sdkappid, _, calls)) in reference {
        for command in calls {
            let got = arrivals
                .remove(&(*sdkappid, command.clone()))
                .unwrap_or_default();
            let effective = got.iter().filter(|r| took_effect(r)).count();
            let last_took_effect = got.last().is_some_and(|r| took_effect(r));
            if effective != 1 || !last_took_effect {
                problems.push(format!(
                    "{name}: {command} took effect {effective} times in {} arrivals",
                    got.len()
                ));
            }
        }
    }
    if !arrivals.is_empty() {
        problems.push(format!("unplanned writes: {:?}", arrivals.keys()));
    }
    let faults = requests.iter().filter(|r| r.fault.is_some()).count();
    let requests = requests.len();
    faulty.shutdown().await;
    RunResult {
        plan: plan_time,
        apply: apply_time,
        replan: replan_time,
        faults,
        requests,
        problems,
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = match std::env::var("SOAK_RUNS") {
        Ok(n) => n.parse().expect("SOAK_RUNS is a number"),
        Err(_) if common::quick() => 1,
        Err(_) => 20,
    };
    let started = Instant::now();
    let mut report = common::Report::start("soak", "Unseeded soak (`cargo bench --bench soak`)");
    eprintln!("unseeded soak: {APPS} apps, faults {FAULT_RATE}, {runs} runs");
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(common::livehook_bin(), dir.path().join("livehook")).expect("livehook copied");
    let clean = Emulator::start(live_state(SECRET_KEY, OLD_TOKEN), Options::default())
        .await
        .expect("the emulator starts");
    std::fs::write(
        dir.path().join("clean.yaml"),
        desired_yaml(&clean.base_url()),
    )
    .expect("clean.yaml written");
    let (output, _) = livehook(dir.path(), &["plan", "clean.yaml", "--format", "json"]).await;
    let reference = decisions(&output).expect("the fault-free plan");
    assert_eq!(reference.len(), APPS as usize);
    clean.shutdown().await;

    let mut held = 0;
    let mut rows = Vec::new();
    for run in 1..=runs {
        let result = one_run(dir.path(), &reference).await;
        let ok = result.problems.is_empty();
        held += usize::from(ok);
        println!(
            "run {run:2}: {} plan {} apply {} next plan {} ({} of {} requests faulted){}",
            if ok { "held  " } else { "FAILED" },
            secs(result.plan),
            secs(result.apply),
            secs(result.replan),
            result.faults,
            result.requests,
            if ok {
                String::new()
            } else {
                format!("\n  {}", result.problems.join("\n  "))
            }
        );
        rows.push(result);
    }
    let walls = |pick: fn(&RunResult) -> Duration| {
        let all: Vec<Duration> = rows.iter().map(pick).collect();
        let max = all.iter().max().copied().unwrap_or_default();
        (common::median(all), max)
    };
    let (plan_median, plan_max) = walls(|r| r.plan);
    let (apply_median, apply_max) = walls(|r| r.apply);
    report.line(format!(
        "{APPS} apps, faults injected into {:.0}% of requests with no seed, {runs} runs.",
        FAULT_RATE * 100.0
    ));
    report.blank();
    report.line(format!(
        "Wall times under faults: plan median {}, max {}; apply median {}, max {}.",
        secs(plan_median),
        secs(plan_max),
        secs(apply_median),
        secs(apply_max)
    ));
    report.blank();
    report.line(format!(
        "target: every run holds: {held}/{runs} runs held ({} in all): {}",
        secs(started.elapsed()),
        common::verdict(held == runs)
    ));
    report.publish();
    if held != runs {
        std::process::exit(1);
    }
}

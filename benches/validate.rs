//! How long `livehook validate` takes on a 20-app and a 2,000-app desired state.
//!
//! `cargo bench --bench validate` generates both files in a temporary directory, then measures
//! `livehook::config::load` in-process (parse, schema, checks, resolve; after one warm-up load
//! that also compiles the JSON Schema) and the whole binary end to end (process start, load,
//! output), and prints the median and 95th percentile of each. Target: validate of 20
//! apps under 10 ms, judged on the binary end to end (what a user waits for); `MISSED` is
//! reported, never a failure. `cargo bench` writes the report to `benches/RESULTS.md`; the
//! 5,000-app target is measured by the plan bench, on the file it plans.

mod common;

use std::fmt::Write as _;

use common::{Report, under};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// (apps in the file, in-process iterations, binary runs)
const SIZES: [(usize, usize, usize); 2] = [(20, 200, 50), (2_000, 30, 20)];
const TARGET_20_APPS: Duration = Duration::from_millis(10);

/// A valid desired state with `n` apps, in the style of the example.
fn apps_file(n: usize) -> String {
    let mut text = String::from("version: 1\ndefaults:\n  region: singapore\napps:\n");
    for i in 0..n {
        writeln!(
            text,
            "  app-{i:05}:\n    sdkappid: {}\n    callback:\n      url: https://hooks.example.com/tim/{i}\n      commands:\n        - Live.CallbackAfterCreateRoom\n        - Live.CallbackAfterDestroyRoom\n        - Live.CallbackAfterMemberStateChanged\n    token:\n      value_env: HOOK_TOKEN_{i}\n      enabled: true",
            1_400_000_000 + i
        )
        .unwrap();
    }
    text
}

/// Median and 95th percentile (nearest rank).
fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[(samples.len() * 95).div_ceil(100) - 1];
    (median, p95)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn in_process(path: &Path, iterations: usize) -> Vec<Duration> {
    let paths = [path.to_path_buf()];
    let warm = livehook::config::load(&paths).expect("the generated file is valid");
    assert!(!warm.apps.is_empty());
    (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let desired = livehook::config::load(&paths).expect("the generated file is valid");
            let elapsed = start.elapsed();
            std::hint::black_box(desired);
            elapsed
        })
        .collect()
}

/// The binary cargo built next to this bench, if it is there.
fn binary() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_livehook"));
    path.is_file().then_some(path)
}

fn end_to_end(binary: &Path, path: &Path, runs: usize) -> Vec<Duration> {
    let run = || {
        let start = Instant::now();
        let status = Command::new(binary)
            .args(["--color", "never", "validate"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the livehook binary runs");
        assert!(
            status.success(),
            "livehook validate failed on {}",
            path.display()
        );
        start.elapsed()
    };
    run(); // warm the page cache
    (0..runs).map(|_| run()).collect()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, with no such flag:
    // then only check that it works, quickly.
    let quick = common::quick();
    let mut report = Report::start("validate", "Validate (`cargo bench --bench validate`)");
    let mut verdicts = Vec::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let binary = binary();
    let mut rows = Vec::new();
    for (apps, iterations, runs) in SIZES {
        let (iterations, runs) = if quick { (2, 1) } else { (iterations, runs) };
        let path = dir.path().join(format!("apps-{apps}.yaml"));
        let text = apps_file(apps);
        std::fs::write(&path, &text).expect("write the generated file");
        let (median, p95) = stats(in_process(&path, iterations));
        let mut row = vec![
            apps.to_string(),
            format!("{} KB", text.len().div_ceil(1024)),
            iterations.to_string(),
            ms(median),
            ms(p95),
        ];
        match &binary {
            Some(binary) => {
                let (median, p95) = stats(end_to_end(binary, &path, runs));
                row.extend([runs.to_string(), ms(median), ms(p95)]);
                if apps == 20 {
                    verdicts.push(under(
                        "livehook validate of 20 apps end to end (median)",
                        median.as_secs_f64() * 1e3,
                        TARGET_20_APPS.as_secs_f64() * 1e3,
                        "ms",
                    ));
                }
            }
            None => row.extend(["0".into(), "not built".into(), "-".into()]),
        }
        rows.push(row);
    }
    report.line(
        "`config::load` in-process (parse, schema, checks, resolve) and `livehook validate` end to end:",
    );
    report.blank();
    report.table(
        &[
            "apps",
            "file",
            "load iterations",
            "load median",
            "load p95",
            "binary runs",
            "binary median",
            "binary p95",
        ],
        &rows,
    );
    report.blank();
    for verdict in verdicts {
        report.line(verdict);
    }
    report.publish();
}

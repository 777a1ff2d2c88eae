//! `cargo bench --bench plan`: the real `livehook plan` binary over 400 apps, against the real
//! `livehook emulator` binary (a separate process) answering every request after 20 ms.
//!
//! It compares `--parallelism 50` with `--parallelism 1` and with the ideal
//! `ceil(400 / 50) × 20 ms`: each app costs one `get_callback`, so 50 apps at a time take 8 rounds
//! of 20 ms. Targets (issue 3): within 1.5× of the ideal, and at least 20× faster than serial.
//!
//! A wrong answer (a non-zero exit, a missing app, any app in error) panics; missing a timing
//! target is reported in the table but does not fail the run, because timings depend on the
//! machine. Wall times include the whole process: start-up, loading and checking the YAML,
//! building the client, the requests, rendering.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use livehook::emulator::{AppState, State};
use livehook::tim::wire::CallbackBody;
use serde_json::Value;

const APPS: u64 = 400;
const FIRST_SDKAPPID: u64 = 1_400_100_000;
const LATENCY_MS: u64 = 20;
const PARALLEL: u64 = 50;
/// Timed runs at `PARALLEL`; the median is reported. Serial runs take ~8 s, so one is enough.
const PARALLEL_RUNS: usize = 5;
/// Every app shares this key (one variable, `TIM_SECRET_KEY`, for all 400 apps).
const SECRET_KEY: &str = "b3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2";
const CREATE_ROOM: &str = "Live.CallbackAfterCreateRoom";
const DESTROY_ROOM: &str = "Live.CallbackAfterDestroyRoom";

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_livehook"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let state_path = dir.path().join("state.json");
    state()
        .save_atomic(&state_path)
        .expect("state file written");

    let emulator = EmulatorProcess::start(&bin, &state_path);
    let yaml_path = dir.path().join("livehook.yaml");
    std::fs::write(&yaml_path, desired_yaml(&emulator.base_url)).expect("YAML written");
    println!(
        "livehook plan: {APPS} apps, emulator at {} (separate process, --latency-ms {LATENCY_MS})",
        emulator.base_url
    );

    // Process start-up alone, for reading the figures below.
    let startup = median(
        (0..PARALLEL_RUNS)
            .map(|_| {
                let start = Instant::now();
                let status = Command::new(&bin)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .expect("livehook --version runs");
                assert!(status.success());
                start.elapsed()
            })
            .collect(),
    );

    // One untimed run warms the page cache, the emulator's allocator and its worker threads.
    plan(&bin, &yaml_path, PARALLEL);
    let parallel_runs: Vec<Duration> = (0..PARALLEL_RUNS)
        .map(|_| plan(&bin, &yaml_path, PARALLEL))
        .collect();
    let parallel = median(parallel_runs.clone());
    let serial = plan(&bin, &yaml_path, 1);
    drop(emulator);

    let ideal = Duration::from_millis(APPS.div_ceil(PARALLEL) * LATENCY_MS);
    let ideal_serial = Duration::from_millis(APPS * LATENCY_MS);
    let ratio = parallel.as_secs_f64() / ideal.as_secs_f64();
    let speedup = serial.as_secs_f64() / parallel.as_secs_f64();
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let runs: Vec<String> = parallel_runs.iter().map(|d| ms(*d)).collect();

    let rows = [
        [
            format!("ideal: ceil({APPS}/{PARALLEL}) x {LATENCY_MS} ms"),
            ms(ideal),
            String::new(),
            String::new(),
        ],
        [
            format!("plan --parallelism {PARALLEL} (median of {PARALLEL_RUNS})"),
            ms(parallel),
            String::new(),
            String::new(),
        ],
        [
            "ratio to ideal".into(),
            format!("{ratio:.2}x"),
            "<= 1.50x".into(),
            verdict(ratio <= 1.5).into(),
        ],
        [
            format!("plan --parallelism 1 (ideal {})", ms(ideal_serial)),
            ms(serial),
            String::new(),
            String::new(),
        ],
        [
            format!("speed-up of P={PARALLEL} over P=1"),
            format!("{speedup:.1}x"),
            ">= 20.0x".into(),
            verdict(speedup >= 20.0).into(),
        ],
        [
            "process start-up (livehook --version)".into(),
            ms(startup),
            String::new(),
            String::new(),
        ],
    ];
    println!();
    print_table(&["measure", "value", "target", "result"], &rows);
    println!();
    println!("P={PARALLEL} runs: {}", runs.join(", "));
}

/// Runs `livehook plan --format json` once, checks that it planned every app without an error,
/// and returns its wall time.
fn plan(bin: &Path, yaml: &Path, parallelism: u64) -> Duration {
    let start = Instant::now();
    let output = Command::new(bin)
        .arg("plan")
        .arg(yaml)
        .args([
            "--parallelism",
            &parallelism.to_string(),
            "--format",
            "json",
        ])
        .env("TIM_SECRET_KEY", SECRET_KEY)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("livehook plan runs");
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "plan --parallelism {parallelism} failed ({}): {stderr}",
        output.status
    );
    let doc: Value = serde_json::from_slice(&output.stdout).expect("plan prints JSON");
    let summary = &doc["summary"];
    let count = |key: &str| summary[key].as_u64().expect("a summary count");
    assert_eq!(count("error"), 0, "apps in error: {summary}");
    assert_eq!(
        doc["apps"].as_array().map(Vec::len),
        Some(APPS as usize),
        "{summary}"
    );
    // A quarter of the apps per action (see `state`).
    for action in ["create", "update", "delete", "no_op"] {
        assert_eq!(count(action), APPS / 4, "{action}: {summary}");
    }
    elapsed
}

/// The emulator's apps, a quarter per row of the decision table: app `i` has no callback
/// (create), an outdated one (update), one the YAML retires (delete), or the desired one (no-op).
fn state() -> State {
    let apps = (0..APPS)
        .map(|i| {
            let callback = match i % 4 {
                0 => None,
                1 => Some(callback("https://old.example.com/hook")),
                _ => Some(callback("https://hooks.example.com/tim/live")),
            };
            (
                FIRST_SDKAPPID + i,
                AppState {
                    callback,
                    ..AppState::new(SECRET_KEY)
                },
            )
        })
        .collect();
    State { apps }
}

fn callback(url: &str) -> CallbackBody {
    CallbackBody {
        url: url.into(),
        commands: vec![CREATE_ROOM.into(), DESTROY_ROOM.into()],
    }
}

fn desired_yaml(endpoint: &str) -> String {
    let mut yaml = format!(
        "version: 1\ndefaults:\n  secret_key_env: TIM_SECRET_KEY\n  endpoint: {endpoint}\napps:\n"
    );
    for i in 0..APPS {
        let sdkappid = FIRST_SDKAPPID + i;
        yaml.push_str(&format!("  app-{i:03}:\n    sdkappid: {sdkappid}\n"));
        if i % 4 == 2 {
            yaml.push_str("    callback: absent\n");
        } else {
            yaml.push_str(&format!(
                "    callback:\n      url: https://hooks.example.com/tim/live\n      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]\n"
            ));
        }
    }
    yaml
}

/// `livehook emulator` as a child process, killed when dropped (panics included).
struct EmulatorProcess {
    child: Child,
    base_url: String,
    // Held so that the emulator never writes into a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl EmulatorProcess {
    fn start(bin: &Path, state: &Path) -> EmulatorProcess {
        let mut child = Command::new(bin)
            .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(["--latency-ms", &LATENCY_MS.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("livehook emulator starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        // Own the child before anything can panic, so that the guard kills it.
        let mut emulator = EmulatorProcess {
            child,
            base_url: String::new(),
            _stdout: None,
        };
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the emulator's first line");
        emulator.base_url = line
            .trim_end()
            .strip_prefix("livehook emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the emulator: {line:?}"))
            .to_owned();
        emulator._stdout = Some(stdout);
        emulator
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Markdown table: text left-aligned, values right-aligned.
fn print_table(header: &[&str; 4], rows: &[[String; 4]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: [&str; 4]| {
        let [a, b, c, d] = cells;
        let [wa, wb, wc, wd] = widths;
        println!("| {a:<wa$} | {b:>wb$} | {c:<wc$} | {d:<wd$} |");
    };
    line(*header);
    let dashes = widths.map(|w| "-".repeat(w));
    println!(
        "|-{}-|-{}:|-{}-|-{}-|",
        dashes[0], dashes[1], dashes[2], dashes[3]
    );
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

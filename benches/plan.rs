//! `cargo bench --bench plan`: plan fan-out of the real `livehook plan` binary against the real
//! `livehook emulator` binary (a separate process) answering every request after 20 ms.
//!
//! For 100, 1,000 and 5,000 apps, at `--parallelism` 1, 16 and 64, it prints the wall time, the
//! ideal `ceil(N/P) × 20 ms` (each app costs one `get_callback`, so P apps at a time take
//! `ceil(N/P)` rounds of 20 ms) and the ratio to it; the same reads done the way they are done
//! without livehook, a shell loop running one `curl` per app, and the ratio livehook/loop; and
//! the peak RSS of `livehook plan` (GNU `/usr/bin/time -f %M`, i.e. the child's `ru_maxrss` from
//! `wait4`).
//!
//! Wall times include the whole process: start-up, loading and checking the YAML, building the
//! client, the requests, rendering. Start-up is measured separately (`livehook validate` of the
//! same file: process start, load and checks, everything plan does before its first request), and
//! the ratio is also printed without it.
//!
//! Each target of the README's Performance section gets a line with the measured figure, its ratio
//! to the target and `MET` or `MISSED`; `cargo bench` writes the report to `benches/RESULTS.md`.
//! A wrong answer (a non-zero exit, a missing app, any app in error, a curl answer that is not the
//! app's configuration) panics; missing a timing or memory target is reported as `MISSED` but does
//! not fail the run, because timings depend on the machine.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{EmulatorProcess, Report, median, ms, verdict};
use livehook::emulator::{AppState, State};
use livehook::tim::wire::Callback;
use serde_json::Value;

const FIRST_SDKAPPID: u64 = 1_400_100_000;
const LATENCY_MS: u64 = 20;
/// Every app shares this key (one variable, `TIM_SECRET_KEY`, for all apps).
const SECRET_KEY: &str = "b3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2";
const CREATE_ROOM: &str = "Live.CallbackAfterCreateRoom";
const DESTROY_ROOM: &str = "Live.CallbackAfterDestroyRoom";
/// The targets the README's Performance section states.
const TARGET_RATIO_P64: f64 = 1.3;
const TARGET_RSS_MIB: f64 = 40.0;
/// Peak RSS per app: (RSS at 5,000 apps - RSS at 1,000 apps) / 4,000, at P=64.
const TARGET_RSS_SLOPE_KIB: f64 = 5.0;
const TARGET_VALIDATE_5000_MS: f64 = 100.0;
/// The curl loop over a size runs only if the bench would still end within this (`cargo bench`
/// as a whole should stay within about 8 minutes on a 2-core machine): the loop over 5,000 apps
/// alone takes nearly three minutes, so it is skipped.
const BUDGET: Duration = Duration::from_secs(240);

struct Config {
    sizes: &'static [u64],
    parallelisms: &'static [u64],
    full: bool,
}

const FULL: Config = Config {
    sizes: &[100, 1_000, 5_000],
    parallelisms: &[1, 16, 64],
    full: true,
};
/// `cargo test --benches`: only check that everything works.
const QUICK: Config = Config {
    sizes: &[8],
    parallelisms: &[1, 4],
    full: false,
};

/// `livehook validate` runs per size (median reported): it is the validate target's figure.
const VALIDATE_RUNS: usize = 9;

/// Timed runs of `livehook plan` for `apps` at `parallelism`; the median is reported. A serial
/// run over 1,000 apps takes ~20 s and over 5,000 ~100 s, so those run once.
fn plan_runs(config: &Config, apps: u64, parallelism: u64) -> usize {
    match (config.full, parallelism, apps) {
        (false, _, _) => 1,
        (true, 1, n) if n > 100 => 1,
        (true, 1, _) => 3,
        (true, _, n) if n >= 5_000 => 3,
        (true, _, _) => 5,
    }
}

fn loop_runs(config: &Config, apps: u64) -> usize {
    if config.full && apps <= 100 { 3 } else { 1 }
}

struct Size {
    apps: u64,
    /// Median wall time of `livehook validate` on the same file.
    startup: Duration,
    /// Median wall time per parallelism, in `config.parallelisms` order, and the runs.
    plan: Vec<(Duration, usize)>,
    /// Peak RSS in KiB at parallelism 16 and 64.
    rss: Vec<(u64, Option<u64>)>,
    /// The curl loop's median wall time and runs, unless skipped.
    curl: Option<(Duration, usize)>,
}

fn main() {
    let started = Instant::now();
    let mut report = Report::start(
        "plan",
        "Plan fan-out, peak memory and start-up (`cargo bench --bench plan`)",
    );
    let config = if common::quick() { QUICK } else { FULL };
    let bin = common::livehook_bin();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let max_apps = *config.sizes.iter().max().expect("a size");
    let state_path = dir.path().join("state.json");
    state(max_apps)
        .save_atomic(&state_path)
        .expect("state file written");
    let emulator = EmulatorProcess::start(&bin, &state_path, LATENCY_MS);
    eprintln!(
        "livehook plan fan-out: emulator at {} (separate process, --latency-ms {LATENCY_MS}, {max_apps} apps)",
        emulator.base_url
    );

    let version = median(
        (0..5)
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

    let mut sizes: Vec<Size> = Vec::new();
    for &apps in config.sizes {
        let yaml = dir.path().join(format!("livehook-{apps}.yaml"));
        std::fs::write(&yaml, desired_yaml(&emulator.base_url, apps)).expect("YAML written");
        let startup = median((0..VALIDATE_RUNS).map(|_| validate(&bin, &yaml)).collect());
        // One untimed run warms the page cache, the emulator's allocator and its worker threads.
        plan(&bin, &yaml, apps, 64, None);
        let mut plans = Vec::new();
        for &parallelism in config.parallelisms {
            let runs = plan_runs(&config, apps, parallelism);
            eprintln!("plan: {apps} apps at --parallelism {parallelism}, {runs} run(s)");
            let times = (0..runs)
                .map(|_| plan(&bin, &yaml, apps, parallelism, None))
                .collect();
            plans.push((median(times), runs));
        }
        let rss = [16, 64]
            .into_iter()
            .map(|p| {
                let file = dir.path().join("rss");
                plan(&bin, &yaml, apps, p, Some(&file));
                (p, read_rss(&file))
            })
            .collect();
        sizes.push(Size {
            apps,
            startup,
            plan: plans,
            rss,
            curl: None,
        });
    }

    // The same reads without livehook: one curl process per app, one after the other.
    let mut skipped = None;
    let mut per_call = None;
    for size in &mut sizes {
        let apps = size.apps;
        if let Some(per_call) = per_call {
            let projected = per_call * apps as u32;
            if config.full && started.elapsed() + projected > BUDGET {
                skipped = Some((apps, projected));
                continue;
            }
        }
        let urls = dir.path().join(format!("urls-{apps}.txt"));
        std::fs::write(&urls, curl_urls(&emulator.base_url, apps)).expect("URLs written");
        let runs = loop_runs(&config, apps);
        eprintln!("curl loop: {apps} apps, {runs} run(s)");
        let wall = median((0..runs).map(|_| curl_loop(&urls, apps)).collect());
        per_call = Some(wall / apps as u32);
        size.curl = Some((wall, runs));
    }
    let headline = config
        .full
        .then(|| headline_case(&bin, dir.path(), &emulator.base_url));
    drop(emulator);

    report_figures(&mut report, &config, &sizes, version, skipped);
    if let Some((parallel, serial)) = headline {
        report_headline(&mut report, parallel, serial);
    }
    report_targets(&mut report, &config, &sizes, headline);
    report.blank();
    report.line(format!(
        "Plan bench wall time {:.0} s.",
        started.elapsed().as_secs_f64()
    ));
    report.publish();
}

/// The headline case of the README's Performance section: 400 apps at P=50
/// against P=1, within 1.5x of the ideal and at least 20x faster than serial.
const HEADLINE_APPS: u64 = 400;
const HEADLINE_P: u64 = 50;

/// Median of five runs at P=50 and one serial run, over 400 apps.
fn headline_case(bin: &Path, dir: &Path, endpoint: &str) -> (Duration, Duration) {
    let yaml = dir.join("livehook-headline.yaml");
    std::fs::write(&yaml, desired_yaml(endpoint, HEADLINE_APPS)).expect("YAML written");
    plan(bin, &yaml, HEADLINE_APPS, HEADLINE_P, None);
    eprintln!("plan: {HEADLINE_APPS} apps at --parallelism {HEADLINE_P} (5 runs) and 1 (1 run)");
    let parallel = median(
        (0..5)
            .map(|_| plan(bin, &yaml, HEADLINE_APPS, HEADLINE_P, None))
            .collect(),
    );
    let serial = plan(bin, &yaml, HEADLINE_APPS, 1, None);
    (parallel, serial)
}

fn report_headline(report: &mut Report, parallel: Duration, serial: Duration) {
    let ideal = headline_ideal();
    let row = |what: String, value: String| vec![what, value];
    report.blank();
    report.line(format!(
        "The first target livehook set itself, {HEADLINE_APPS} apps at P={HEADLINE_P} against P=1:"
    ));
    report.blank();
    report.table(
        &["case", "value"],
        &[
            row(
                format!("ideal ceil({HEADLINE_APPS}/{HEADLINE_P}) x {LATENCY_MS} ms"),
                ms(ideal),
            ),
            row(
                format!("plan --parallelism {HEADLINE_P} (median of 5)"),
                ms(parallel),
            ),
            row("plan --parallelism 1".into(), ms(serial)),
        ],
    );
}

fn headline_ideal() -> Duration {
    Duration::from_millis(HEADLINE_APPS.div_ceil(HEADLINE_P) * LATENCY_MS)
}

/// One MET/MISSED line per target of the README's Performance section that this run measured.
fn report_targets(
    report: &mut Report,
    config: &Config,
    sizes: &[Size],
    headline: Option<(Duration, Duration)>,
) {
    report.blank();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    if let Some(p64) = config.parallelisms.iter().position(|&p| p == 64) {
        for size in sizes {
            let ideal = Duration::from_millis(size.apps.div_ceil(64) * LATENCY_MS);
            report.line(common::ratio_at_most(
                &format!(
                    "plan of {} apps at P=64, wall time to the ideal,",
                    size.apps
                ),
                ratio(size.plan[p64].0, ideal),
                TARGET_RATIO_P64,
            ));
        }
    }
    let rss_at_64 = |apps: u64| {
        let size = sizes.iter().find(|s| s.apps == apps)?;
        size.rss.iter().find(|(p, _)| *p == 64)?.1
    };
    if let Some(kib) = rss_at_64(5_000) {
        report.line(common::under(
            "peak RSS of plan over 5,000 apps at P=64",
            kib as f64 / 1024.0,
            TARGET_RSS_MIB,
            "MiB",
        ));
    }
    if let (Some(small), Some(large)) = (rss_at_64(1_000), rss_at_64(5_000)) {
        let slope = (large as f64 - small as f64) / 4_000.0;
        report.line(common::under(
            "peak RSS per app, (RSS at 5,000 apps - RSS at 1,000) / 4,000, at P=64,",
            slope,
            TARGET_RSS_SLOPE_KIB,
            "KiB",
        ));
    }
    if let Some(size) = sizes.iter().find(|s| s.apps == 5_000) {
        report.line(common::under(
            &format!("livehook validate of 5,000 apps end to end (median of {VALIDATE_RUNS})"),
            size.startup.as_secs_f64() * 1e3,
            TARGET_VALIDATE_5000_MS,
            "ms",
        ));
    }
    if let Some((parallel, serial)) = headline {
        report.line(common::ratio_at_most(
            &format!("plan of {HEADLINE_APPS} apps at P={HEADLINE_P}, wall time to the ideal,"),
            ratio(parallel, headline_ideal()),
            1.5,
        ));
        report.line(common::at_least(
            &format!("speed-up of P={HEADLINE_P} over P=1 ({HEADLINE_APPS} apps)"),
            ratio(serial, parallel),
            20.0,
            "x",
        ));
    }
}

fn report_figures(
    report: &mut Report,
    config: &Config,
    sizes: &[Size],
    version: Duration,
    skipped: Option<(u64, Duration)>,
) {
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let mut rows = Vec::new();
    for size in sizes {
        for (&parallelism, &(wall, runs)) in config.parallelisms.iter().zip(&size.plan) {
            let ideal = Duration::from_millis(size.apps.div_ceil(parallelism) * LATENCY_MS);
            let to_ideal = ratio(wall, ideal);
            let without_startup = ratio(wall.saturating_sub(size.startup), ideal);
            let versus_loop = size.curl.map_or_else(
                || "-".into(),
                |(curl, _)| format!("{:.3}", ratio(wall, curl)),
            );
            let (target, result) = if parallelism == 64 {
                (
                    format!("<= {TARGET_RATIO_P64:.2}x"),
                    verdict(to_ideal <= TARGET_RATIO_P64).to_owned(),
                )
            } else {
                (String::new(), String::new())
            };
            rows.push(vec![
                size.apps.to_string(),
                parallelism.to_string(),
                runs.to_string(),
                ms(wall),
                ms(ideal),
                format!("{to_ideal:.2}x"),
                format!("{without_startup:.2}x"),
                versus_loop,
                target,
                result,
            ]);
        }
    }
    report.line("Plan fan-out (wall time: median of the runs; start-up: see below)");
    report.blank();
    report.table(
        &[
            "apps",
            "P",
            "runs",
            "wall",
            "ideal ceil(N/P) x 20 ms",
            "ratio",
            "ratio excl. start-up",
            "livehook/loop",
            "target",
            "result",
        ],
        &rows,
    );

    let mut rows = Vec::new();
    for size in sizes {
        let ideal = Duration::from_millis(size.apps * LATENCY_MS);
        let (wall, runs, per, to_ideal) = match size.curl {
            Some((wall, runs)) => (
                ms(wall),
                runs.to_string(),
                ms(wall / size.apps as u32),
                format!("{:.2}x", ratio(wall, ideal)),
            ),
            None => ("skipped".into(), "0".into(), "-".into(), "-".into()),
        };
        rows.push(vec![
            size.apps.to_string(),
            runs,
            wall,
            per,
            ms(ideal),
            to_ideal,
        ]);
    }
    report.blank();
    report.line(
        "Without livehook: `bash -c 'for url in $(cat urls); do curl -s -X POST \"$url\" -d \"{}\"; done'` (one get_callback per app, UserSigs made beforehand)",
    );
    report.blank();
    report.table(
        &[
            "apps",
            "runs",
            "wall",
            "per app",
            "ideal N x 20 ms",
            "ratio",
        ],
        &rows,
    );
    if let Some((apps, projected)) = skipped {
        report.line(format!(
            "curl loop over {apps} apps skipped: projected {:.0} s would break the bench's time budget",
            projected.as_secs_f64()
        ));
    }

    let mut rows = Vec::new();
    for size in sizes {
        for &(parallelism, kib) in &size.rss {
            let (value, target, result) = match kib {
                Some(kib) => (
                    format!("{:.1} MiB", kib as f64 / 1024.0),
                    format!("< {TARGET_RSS_MIB} MiB"),
                    verdict((kib as f64 / 1024.0) < TARGET_RSS_MIB).to_owned(),
                ),
                None => ("not measured".into(), String::new(), String::new()),
            };
            let (target, result) = if size.apps == 5_000 && parallelism == 64 {
                (target, result)
            } else {
                (String::new(), String::new())
            };
            rows.push(vec![
                size.apps.to_string(),
                parallelism.to_string(),
                value,
                target,
                result,
            ]);
        }
    }
    report.blank();
    report.line(
        "Peak RSS of livehook plan (`/usr/bin/time -f %M`: ru_maxrss of the child, from wait4)",
    );
    report.blank();
    report.table(&["apps", "P", "peak RSS", "target", "result"], &rows);

    report.blank();
    let mut line = format!(
        "Start-up: livehook --version {}; livehook validate of the same file (process start, load, checks; median of {VALIDATE_RUNS}):",
        ms(version)
    );
    for size in sizes {
        write!(line, " {} apps {};", size.apps, ms(size.startup)).unwrap();
    }
    report.line(format!("{}.", line.trim_end_matches(';')));
    report.blank();
    if let (Some(largest), Some(0)) = (
        sizes.last(),
        config.parallelisms.iter().position(|&p| p == 1),
    ) {
        let (serial, _) = largest.plan[0];
        report.line(format!(
            "Serial request time: {:.2} ms per request (P=1 over {} apps, start-up excluded: the \
             emulator's 20 ms, plus a round trip through both processes on loopback)",
            serial.saturating_sub(largest.startup).as_secs_f64() * 1000.0 / largest.apps as f64,
            largest.apps
        ));
    }
}

/// Runs `livehook plan --format json` once, checks that it planned every app without an error,
/// and returns its wall time. With `rss_file`, runs under `/usr/bin/time -f %M -o rss_file`.
fn plan(bin: &Path, yaml: &Path, apps: u64, parallelism: u64, rss_file: Option<&Path>) -> Duration {
    let mut command = match rss_file {
        Some(file) => {
            let mut time = Command::new("/usr/bin/time");
            time.args(["-f", "%M", "-o"]).arg(file).arg(bin);
            time
        }
        None => Command::new(bin),
    };
    command
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
        .stdin(Stdio::null());
    let start = Instant::now();
    let output = command.output().expect("livehook plan runs");
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "plan of {apps} apps at --parallelism {parallelism} failed ({}): {stderr}",
        output.status
    );
    let doc: Value = serde_json::from_slice(&output.stdout).expect("plan prints JSON");
    let summary = &doc["summary"];
    let count = |key: &str| summary[key].as_u64().expect("a summary count");
    assert_eq!(count("error"), 0, "apps in error: {summary}");
    assert_eq!(
        doc["apps"].as_array().map(Vec::len),
        Some(apps as usize),
        "{summary}"
    );
    // A quarter of the apps per action (see `state`).
    for action in ["create", "update", "delete", "no_op"] {
        assert_eq!(count(action), apps / 4, "{action}: {summary}");
    }
    elapsed
}

/// The peak RSS in KiB that `/usr/bin/time -f %M` wrote, if it could run.
fn read_rss(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().last()?.trim().parse().ok()
}

fn validate(bin: &Path, yaml: &Path) -> Duration {
    let start = Instant::now();
    let status = Command::new(bin)
        .args(["--color", "never", "validate"])
        .arg(yaml)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("livehook validate runs");
    let elapsed = start.elapsed();
    assert!(status.success(), "livehook validate failed");
    elapsed
}

/// One `get_callback` URL per app, with a real UserSig (TLSSigAPIv2, valid for an hour),
/// percent-encoded as real clients send it (`*` as `%2A`), one per line.
fn curl_urls(base_url: &str, apps: u64) -> String {
    let mut text = String::new();
    for i in 0..apps {
        let sdkappid = FIRST_SDKAPPID + i;
        let sig = livehook::tim::usersig::generate_now(SECRET_KEY, sdkappid, "administrator", 3600);
        writeln!(
            text,
            "{base_url}/v4/live_config/get_callback?sdkappid={sdkappid}&identifier=administrator&usersig={}&random={}&contenttype=json",
            percent_encode(&sig),
            rand::random::<u32>()
        )
        .unwrap();
    }
    text
}

fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            write!(encoded, "%{byte:02X}").unwrap();
        }
    }
    encoded
}

/// Runs the shell loop over `urls` and checks every answer: the app's configuration, or 100301
/// (none) for the quarter of apps that have none.
fn curl_loop(urls: &Path, apps: u64) -> Duration {
    let start = Instant::now();
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#"for url in $(cat "$1"); do curl -s -X POST "$url" -d "{}"; done"#)
        .arg("bash")
        .arg(urls)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let elapsed = start.elapsed();
    assert!(output.status.success(), "the curl loop failed");
    let mut answers = 0;
    let mut missing = 0;
    for answer in serde_json::Deserializer::from_slice(&output.stdout).into_iter::<Value>() {
        let answer = answer.expect("curl printed the emulator's JSON answers");
        match answer["ErrorCode"].as_i64() {
            Some(0) => {}
            Some(100301) => missing += 1,
            _ => panic!("unexpected answer from the curl loop: {answer}"),
        }
        answers += 1;
    }
    assert_eq!(answers, apps, "one answer per app");
    assert_eq!(missing, apps / 4, "a quarter of the apps have no callback");
    elapsed
}

/// The emulator's apps, a quarter per row of the decision table: app `i` has no callback
/// (create), an outdated one (update), one the YAML retires (delete), or the desired one (no-op).
fn state(apps: u64) -> State {
    let apps = (0..apps)
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

fn callback(url: &str) -> Callback {
    Callback {
        url: url.into(),
        commands: vec![CREATE_ROOM.into(), DESTROY_ROOM.into()],
    }
}

/// The desired state of the first `apps` apps of [`state`].
fn desired_yaml(endpoint: &str, apps: u64) -> String {
    let mut yaml = format!(
        "version: 1\ndefaults:\n  secret_key_env: TIM_SECRET_KEY\n  endpoint: {endpoint}\napps:\n"
    );
    for i in 0..apps {
        let sdkappid = FIRST_SDKAPPID + i;
        write!(yaml, "  app-{i:04}:\n    sdkappid: {sdkappid}\n").unwrap();
        if i % 4 == 2 {
            yaml.push_str("    callback: absent\n");
        } else {
            write!(
                yaml,
                "    callback:\n      url: https://hooks.example.com/tim/live\n      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]\n"
            )
            .unwrap();
        }
    }
    yaml
}

//! Helpers shared by the benches (`mod common;` in each): the binary cargo built, the emulator as
//! a child process, medians, Markdown tables, verdicts on targets, and `benches/RESULTS.md`.
//!
//! Each bench compiles its own copy and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// The `livehook` binary cargo built next to this bench.
pub fn livehook_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_livehook"))
}

/// `cargo bench` passes `--bench`; `cargo test --benches` runs the benches with no such flag:
/// then they only check that they work, on small inputs.
pub fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// `livehook emulator` as a child process, killed when dropped (panics included).
pub struct EmulatorProcess {
    child: Child,
    pub base_url: String,
    // Held so that the emulator never writes into a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl EmulatorProcess {
    pub fn start(bin: &Path, state: &Path, latency_ms: u64) -> EmulatorProcess {
        let mut child = Command::new(bin)
            .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(["--latency-ms", &latency_ms.to_string()])
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

/// A Markdown table: the first column left-aligned, the others right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::from("|");
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i == 0 {
                text.push_str(&format!(" {cell:<width$} |"));
            } else {
                text.push_str(&format!(" {cell:>width$} |"));
            }
        }
        text + "\n"
    };
    let mut text = line(&mut header.iter().copied());
    text.push('|');
    for (i, width) in widths.iter().enumerate() {
        let dashes = "-".repeat(*width);
        let end = if i == 0 { '-' } else { ':' };
        text.push_str(&format!("-{dashes}{end}|"));
    }
    text.push('\n');
    for row in rows {
        text.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    text
}

pub fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

/// One line per target: what was measured, against what, the ratio to the target, and MET or
/// MISSED. `measured` must stay under `limit`.
pub fn under(what: &str, measured: f64, limit: f64, unit: &str) -> String {
    format!(
        "target: {what} under {limit} {unit}: {measured:.1} {unit} ({:.2}x of the target): {}",
        measured / limit,
        verdict(measured < limit)
    )
}

/// Like [`under`], for a ratio that must stay at or under `limit` (`1.30x`).
pub fn ratio_at_most(what: &str, ratio: f64, limit: f64) -> String {
    format!(
        "target: {what} at most {limit:.2}x: {ratio:.2}x ({:.2}x of the target): {}",
        ratio / limit,
        verdict(ratio <= limit)
    )
}

/// Like [`under`], for a figure that must reach at least `limit`.
pub fn at_least(what: &str, measured: f64, limit: f64, unit: &str) -> String {
    format!(
        "target: {what} at least {limit} {unit}: {measured:.1} {unit} ({:.2}x of the target): {}",
        measured / limit,
        verdict(measured >= limit)
    )
}

/// The load average as `uptime` shows it (1, 5 and 15 minutes), when /proc has it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The file the benches record their figures in, so that the README never has to copy one.
pub fn results_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/RESULTS.md")
}

/// The benches' sections in `RESULTS.md`, in the order they appear.
const SECTIONS: [&str; 4] = ["validate", "plan", "http2", "soak"];

const RESULTS_HEADER: &str = "# Benchmark results

Written by `cargo bench` (each bench replaces its own section); do not edit by hand. The targets
and how each figure is measured are in the README's Performance section. Each section is stamped
with the commit it measured (`-dirty`: with uncommitted changes), the machine and the load
average before and after the bench; timings move with the load, peak memory does not.
";

/// A bench's report: printed as it is, and, on a full run (`cargo bench`, not
/// `cargo test --benches`), written as the bench's section of `RESULTS.md` with what was
/// measured where and when.
pub struct Report {
    bench: &'static str,
    title: &'static str,
    load_before: String,
    text: String,
}

impl Report {
    pub fn start(bench: &'static str, title: &'static str) -> Report {
        assert!(SECTIONS.contains(&bench), "{bench} has no section");
        Report {
            bench,
            title,
            load_before: load_average(),
            text: String::new(),
        }
    }

    /// A paragraph or a line of the report.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.text.push_str(text.as_ref());
        self.text.push('\n');
    }

    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.text.push_str(&table(header, rows));
    }

    /// Prints the report; on a full run, also writes it to `RESULTS.md`.
    pub fn publish(self) {
        let stamp = format!(
            "Commit `{}`, {}; {} CPUs ({}); load average {} before, {} after.",
            commit(),
            utc_now(),
            std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model(),
            self.load_before,
            load_average()
        );
        println!("{stamp}\n\n{}", self.text);
        if quick() {
            return;
        }
        let section = format!("## {}\n\n{stamp}\n\n{}", self.title, self.text.trim_end());
        let path = results_path();
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut text = String::from(RESULTS_HEADER);
        for bench in SECTIONS {
            let body = if bench == self.bench {
                Some(section.as_str())
            } else {
                section_of(&old, bench)
            };
            if let Some(body) = body {
                text.push_str(&format!(
                    "\n<!-- bench:{bench} -->\n{body}\n<!-- /bench:{bench} -->\n"
                ));
            }
        }
        std::fs::write(&path, text).expect("benches/RESULTS.md written");
        eprintln!("{} written ({} section)", path.display(), self.bench);
    }
}

fn section_of<'a>(text: &'a str, bench: &str) -> Option<&'a str> {
    let start = format!("<!-- bench:{bench} -->\n");
    let end = format!("\n<!-- /bench:{bench} -->");
    let from = text.find(&start)? + start.len();
    let to = from + text[from..].find(&end)?;
    Some(&text[from..to])
}

/// `git rev-parse --short HEAD`, with `-dirty` when tracked files other than `RESULTS.md` have
/// uncommitted changes.
fn commit() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown (not a git checkout)".into();
    };
    let changes = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":(exclude)benches/RESULTS.md",
    ]);
    match changes {
        Some(changes) if changes.is_empty() => head,
        _ => format!("{head}-dirty"),
    }
}

/// The CPU's model name as /proc/cpuinfo gives it.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "CPU model unknown".into())
}

/// The date and time in UTC, as `date -u` prints it.
fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "date unknown".into())
}

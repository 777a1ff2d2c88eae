//! Helpers shared by the benches (`mod common;` in each): the binary cargo built, the emulator as
//! a child process, medians, and Markdown tables.
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
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut text = String::from("|");
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == 0 {
                text.push_str(&format!(" {cell:<width$} |"));
            } else {
                text.push_str(&format!(" {cell:>width$} |"));
            }
        }
        println!("{text}");
    };
    line(header);
    let mut rule = String::from("|");
    for (i, width) in widths.iter().enumerate() {
        let dashes = "-".repeat(*width);
        if i == 0 {
            rule.push_str(&format!("-{dashes}-|"));
        } else {
            rule.push_str(&format!("-{dashes}:|"));
        }
    }
    println!("{rule}");
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
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
    if met { "met" } else { "MISSED" }
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

//! `livehook validate`: offline checks only.

use std::io::Write;

use super::args::ValidateArgs;
use super::{Outcome, Streams};
use crate::config;

pub fn run(args: &ValidateArgs, streams: &mut Streams) -> Outcome {
    match config::load(&args.paths) {
        Ok(desired) => {
            streams.diagnostics(&desired.warnings);
            let _ = writeln!(
                streams.out,
                "Valid: {} in {}{}.",
                plural(desired.apps.len(), "app"),
                plural(desired.files.len(), "file"),
                match desired.warnings.len() {
                    0 => String::new(),
                    n => format!(", {}", plural(n, "warning")),
                }
            );
            Outcome::Success
        }
        Err(diagnostics) => {
            streams.diagnostics(&diagnostics);
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = diagnostics.len() - errors;
            let _ = writeln!(
                streams.err,
                "Invalid: {}{}.",
                plural(errors, "error"),
                match warnings {
                    0 => String::new(),
                    n => format!(", {}", plural(n, "warning")),
                }
            );
            Outcome::Failure
        }
    }
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

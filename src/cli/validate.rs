//! `livehook validate`: offline checks only.

use std::io::Write;

use serde_json::json;

use super::args::{ValidateArgs, ValidateFormat};
use super::outcome::Outcome;
use super::output::Streams;
use crate::config::{self, ConfigDiagnostic, Position};
use crate::render::github::{self, Annotation, Level};
use crate::render::plural;

pub fn run(args: &ValidateArgs, streams: &mut Streams) -> Outcome {
    let (diagnostics, counts) = match config::load(&args.paths.paths) {
        Ok(desired) => (
            desired.warnings,
            Some((desired.apps.len(), desired.files.len())),
        ),
        Err(diagnostics) => (diagnostics, None),
    };
    match args.format {
        ValidateFormat::Text => text(&diagnostics, counts, streams),
        ValidateFormat::Json => {
            let doc = json!({
                "format_version": "1.0",
                "valid": counts.is_some(),
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            });
            let _ = writeln!(
                streams.out,
                "{}",
                crate::render::escape::json_document(
                    serde_json::to_string_pretty(&doc).expect("a JSON value serialises")
                )
            );
        }
        ValidateFormat::Github => {
            let annotations: Vec<Annotation> = diagnostics.iter().map(annotation).collect();
            let _ = streams
                .out
                .write_all(github::render(&annotations).as_bytes());
        }
    }
    if counts.is_some() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

fn text(diagnostics: &[ConfigDiagnostic], counts: Option<(usize, usize)>, streams: &mut Streams) {
    streams.diagnostics(diagnostics);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = match diagnostics.len() - errors {
        0 => String::new(),
        n => format!(", {}", plural(n, "warning")),
    };
    match counts {
        Some((apps, files)) => {
            let _ = writeln!(
                streams.out,
                "Valid: {} in {}{warnings}.",
                plural(apps, "app"),
                plural(files, "file")
            );
        }
        None => {
            let _ = writeln!(
                streams.err,
                "Invalid: {}{warnings}.",
                plural(errors, "error")
            );
        }
    }
}

fn diagnostic_json(d: &ConfigDiagnostic) -> serde_json::Value {
    let location = d.location();
    json!({
        "severity": if d.is_error() { "error" } else { "warning" },
        "code": d.code,
        "file": location.as_ref().map(|l| l.0.clone()),
        "line": location.as_ref().map(|l| l.1),
        "column": location.as_ref().map(|l| l.2),
        "message": d.message,
        "help": d.help,
    })
}

fn annotation(d: &ConfigDiagnostic) -> Annotation {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str(&format!(" (help: {help})"));
    }
    Annotation {
        level: if d.is_error() {
            Level::Error
        } else {
            Level::Warning
        },
        position: d.location().map(|(file, line, column)| Position {
            file: file.into(),
            line,
            column,
        }),
        title: format!(
            "livehook validate: {}",
            d.code.trim_start_matches("livehook::")
        ),
        message,
    }
}

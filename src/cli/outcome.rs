//! How a command ends: an [`Outcome`] that becomes the exit status, or a [`CliError`] that
//! `cli::run` prints, once, before exiting 1.

use crate::config::ConfigDiagnostic;

/// How a run ended; `cli::main` maps it to the process status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: invalid input, a failed app, a refused apply (already shown in the report).
    Failure,
    /// Exit 2: `plan --detailed-exitcode` found changes.
    Changes,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Changes => 2,
        }
    }
}

/// Why a command stopped: the drawn diagnostics of an invalid desired state (if any), then one
/// `error:` line per problem with its `help:`, then a closing `help:` for them all. Commands
/// return it instead of printing, so every failure has this one shape.
#[derive(Debug, Default)]
pub struct CliError {
    pub diagnostics: Vec<ConfigDiagnostic>,
    pub problems: Vec<Problem>,
    /// Help for the problems as a whole, after the last one.
    pub help: Option<String>,
}

/// One `error:` line and its optional `help:` line.
#[derive(Debug)]
pub struct Problem {
    pub message: String,
    pub help: Option<String>,
}

impl CliError {
    /// One problem.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError::many(vec![Problem {
            message: message.into(),
            help: None,
        }])
    }

    /// Several problems, each on its own `error:` line, so that one run names them all.
    pub fn many(problems: Vec<Problem>) -> CliError {
        CliError {
            problems,
            ..CliError::default()
        }
    }

    /// Adds the closing help line.
    pub fn with_help(self, help: impl Into<String>) -> CliError {
        CliError {
            help: Some(help.into()),
            ..self
        }
    }

    /// Draws `diagnostics` before the errors.
    pub fn with_diagnostics(self, diagnostics: Vec<ConfigDiagnostic>) -> CliError {
        CliError {
            diagnostics,
            ..self
        }
    }
}

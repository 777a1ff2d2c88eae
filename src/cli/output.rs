//! The process's streams and how diagnostics, errors and warnings are drawn on them.
//!
//! Data goes to `out` (stdout), diagnostics and progress to `err` (stderr); the confirmation
//! prompt reads `input` (stdin). Colour is decided per stream by anstream: on for a terminal
//! without NO_COLOR, or as `--color` says; escape codes are stripped from a stream that is not
//! coloured.

use std::io::{BufRead, IsTerminal, Write};

use anstream::AutoStream;
use miette::{GraphicalReportHandler, GraphicalTheme};

use super::args::ColorChoice;
use super::outcome::CliError;
use crate::config::ConfigDiagnostic;
use crate::config::diagnostic::Rendered;
use crate::render::escape;

pub struct Streams {
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    /// Whether escape codes written to `err` reach the reader (miette draws with or without).
    pub err_colored: bool,
    /// Where answers to questions come from.
    pub input: Box<dyn BufRead>,
    /// Whether `input` is a terminal, i.e. whether someone can answer a question.
    pub input_is_terminal: bool,
}

impl Streams {
    pub fn from_process(choice: ColorChoice) -> Self {
        let choice = match choice {
            ColorChoice::Auto => anstream::ColorChoice::Auto,
            ColorChoice::Always => anstream::ColorChoice::Always,
            ColorChoice::Never => anstream::ColorChoice::Never,
        };
        let out = AutoStream::new(std::io::stdout(), choice);
        let err = AutoStream::new(std::io::stderr(), choice);
        let err_colored = matches!(
            err.current_choice(),
            anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi
        );
        let stdin = std::io::stdin();
        Streams {
            out: Box::new(out),
            err: Box::new(err),
            err_colored,
            input_is_terminal: stdin.is_terminal(),
            input: Box::new(stdin.lock()),
        }
    }

    /// Draws diagnostics on stderr, each with its file:line:column, snippet and help.
    pub fn diagnostics(&mut self, diagnostics: &[ConfigDiagnostic]) {
        let theme = if self.err_colored {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        // A fixed width keeps the drawing the same on every terminal and in tests.
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        for diagnostic in diagnostics {
            let mut text = String::new();
            let rendered = Rendered::new(diagnostic.clone());
            if handler.render_report(&mut text, &rendered).is_err() {
                text = format!("{}: {}\n", diagnostic.code, diagnostic.message);
            }
            let _ = writeln!(self.err, "{text}");
        }
    }

    /// Prints why a command stopped: its diagnostics, `error: …` lines and `help:` lines.
    pub fn error(&mut self, error: &CliError) {
        self.diagnostics(&error.diagnostics);
        for problem in &error.problems {
            self.labelled(Severity::Error, &problem.message, problem.help.as_deref());
        }
        if let Some(help) = &error.help {
            self.help(help);
        }
    }

    /// Prints `warning: …` for something that works but deserves a look.
    pub fn warning(&mut self, message: &str) {
        self.labelled(Severity::Warning, message, None);
    }

    /// `error:` in bold red or `warning:` in bold yellow, then an optional `help:` line.
    fn labelled(&mut self, severity: Severity, message: &str, help: Option<&str>) {
        let (label, colour) = match severity {
            Severity::Error => ("error:", anstyle::AnsiColor::Red),
            Severity::Warning => ("warning:", anstyle::AnsiColor::Yellow),
        };
        let style = colour.on_default().effects(anstyle::Effects::BOLD);
        // Messages quote app names, URLs and network errors: shown, never obeyed, and on one
        // line, since a CI runner reads stderr for workflow commands too.
        let _ = writeln!(
            self.err,
            "{}{label}{} {}",
            style.render(),
            style.render_reset(),
            escape::text(message)
        );
        if let Some(help) = help {
            self.help(help);
        }
    }

    fn help(&mut self, help: &str) {
        let _ = writeln!(self.err, "  help: {}", escape::text(help));
    }

    /// GitHub Actions shows `$GITHUB_STEP_SUMMARY` on the run's page; the markdown report is
    /// appended there (appended, because other steps may have written to it). `what` names the
    /// report in a warning ("plan", "probe report").
    pub fn append_step_summary(&mut self, what: &str, markdown: &str) {
        let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(markdown.as_bytes()));
        if let Err(e) = written {
            let message = format!(
                "could not append the {what} to $GITHUB_STEP_SUMMARY ({}): {e}",
                std::path::Path::new(&path).display()
            );
            self.warning(&message);
        }
    }
}

enum Severity {
    Error,
    Warning,
}

//! The output streams and how diagnostics are drawn on them.
//!
//! Data goes to `out` (stdout), diagnostics and progress to `err` (stderr). Colour is decided per
//! stream by anstream: on for a terminal without NO_COLOR, or as `--color` says; escape codes are
//! stripped from a stream that is not coloured.

use std::io::Write;

use anstream::AutoStream;
use miette::{GraphicalReportHandler, GraphicalTheme};

use super::ColorChoice;
use crate::config::ConfigDiagnostic;
use crate::config::diagnostic::Rendered;

pub struct Streams {
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    /// Whether escape codes written to `err` reach the reader (miette draws with or without).
    pub err_colored: bool,
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
        Streams {
            out: Box::new(out),
            err: Box::new(err),
            err_colored,
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
}

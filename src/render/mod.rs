//! Plan and apply reports: human text (Terraform-shaped), the versioned JSON document, markdown and
//! GitHub annotations. Renderers write into a `String`; the CLI decides which stream it goes to
//! and whether colour survives.

pub mod apply;
pub mod escape;
pub mod github;
pub mod json;
pub mod markdown;
pub mod probe;
pub mod text;

use std::fmt::Write;

use anstyle::{AnsiColor, Effects, Style};

use crate::plan::{Action, AppError};

// The styles of the human reports (plan and apply text). They are always written; the output
// stream (anstream) strips them when colour is off.
const CREATE: Style = AnsiColor::Green.on_default();
const UPDATE: Style = AnsiColor::Yellow.on_default();
const DELETE: Style = AnsiColor::Red.on_default();
const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const BOLD: Style = Style::new().effects(Effects::BOLD);

fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// An action's marker and colour: `+` green, `~` yellow, `-` red, a blank for no change.
fn sign(action: Action) -> (&'static str, Style) {
    match action {
        Action::Create => ("+", CREATE),
        Action::Update => ("~", UPDATE),
        Action::Delete => ("-", DELETE),
        _ => (" ", BOLD),
    }
}

/// The lines under an app error's summary: its RequestId and the hint, at `indent`.
fn error_details(out: &mut String, error: &AppError, indent: &str) {
    if let Some(id) = &error.request_id {
        let _ = writeln!(out, "{indent}RequestId: {}", escape::text(id));
    }
    if let Some(hint) = &error.hint {
        let _ = writeln!(
            out,
            "{indent}{} {}",
            paint(BOLD, "hint:"),
            escape::text(hint)
        );
    }
}

/// "1 app", "5 apps".
pub fn apps(n: usize) -> String {
    plural(n, "app")
}

/// "1 error", "3 errors": every noun livehook counts takes a plain `s`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

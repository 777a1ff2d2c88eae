//! The human plan, in Terraform's shape: a block per app that changes, `+ ~ -` markers, command
//! words diffed as a set, a changed URL as old and new with the differing characters highlighted,
//! the exact call apply would send, and one summary line.
//!
//! It always writes ANSI styles; the output stream (anstream) strips them when colour is off, so
//! there is one rendering path whatever the terminal.

use std::fmt::Write;

use anstyle::{AnsiColor, Effects, Style};
use similar::{ChangeTag, TextDiff};

use crate::plan::{Action, AppPlan, CallbackChange, Summary};

const CREATE: Style = AnsiColor::Green.on_default();
const UPDATE: Style = AnsiColor::Yellow.on_default();
const DELETE: Style = AnsiColor::Red.on_default();
const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const BOLD: Style = Style::new().effects(Effects::BOLD);
const DIM: Style = Style::new().effects(Effects::DIMMED);
/// The characters of a URL that differ: underlined on top of the line's colour.
const CHANGED_CHARS: Effects = Effects::UNDERLINE.insert(Effects::BOLD);

fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

pub fn render(plans: &[AppPlan]) -> String {
    let mut out = String::new();
    let summary = Summary::of(plans);
    if summary.changes() > 0 {
        let _ = writeln!(out, "livehook will perform the following actions:\n");
    }
    for plan in plans {
        match plan.action {
            Action::Error => error_block(&mut out, plan),
            action if action.is_change() => change_block(&mut out, plan),
            _ => {}
        }
    }
    if summary.changes() == 0 && summary.error == 0 {
        let _ = writeln!(
            out,
            "{} The live webhook configuration of {} matches the desired state.",
            paint(BOLD, "No changes."),
            apps(plans.len())
        );
        return out;
    }
    let mut line = format!(
        "Plan: {} to create, {} to update, {} to delete, {} unchanged",
        summary.create, summary.update, summary.delete, summary.no_op
    );
    if summary.error > 0 {
        let _ = write!(line, ", {} failed", summary.error);
    }
    line.push('.');
    let _ = writeln!(out, "{}", paint(BOLD, &line));
    out
}

fn apps(n: usize) -> String {
    if n == 1 {
        "1 app".into()
    } else {
        format!("{n} apps")
    }
}

fn heading(out: &mut String, plan: &AppPlan, what: &str) {
    let _ = writeln!(
        out,
        "  {} {}",
        paint(
            BOLD,
            &format!(
                "# {} (sdkappid {}, {})",
                plan.name, plan.sdkappid, plan.region
            )
        ),
        paint(BOLD, what)
    );
}

fn change_block(out: &mut String, plan: &AppPlan) {
    let Some(change) = &plan.callback else { return };
    let (what, marker, style) = match change.action {
        Action::Create => ("callback will be created", "+", CREATE),
        Action::Update => ("callback will be updated in-place", "~", UPDATE),
        _ => ("callback will be deleted", "-", DELETE),
    };
    heading(out, plan, what);
    let _ = writeln!(out, "  {} callback {{", paint(style, marker));
    callback_body(out, change);
    let _ = writeln!(out, "    }}");
    for call in &plan.calls {
        let _ = writeln!(
            out,
            "    {} {} {}",
            paint(DIM, "call:"),
            paint(BOLD, call.command.as_str()),
            call.body
        );
    }
    out.push('\n');
}

fn callback_body(out: &mut String, change: &CallbackChange) {
    let quoted = |s: &str| format!("\"{s}\"");
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            let _ = writeln!(
                out,
                "      {} url      = {}",
                paint(CREATE, "+"),
                quoted(&after.url)
            );
            let _ = writeln!(out, "      {} commands = [", paint(CREATE, "+"));
            words(out, &change.added_commands(), "+", CREATE);
            let _ = writeln!(out, "        ]");
        }
        (Some(before), None) => {
            let _ = writeln!(
                out,
                "      {} url      = {}",
                paint(DELETE, "-"),
                quoted(&before.url)
            );
            let _ = writeln!(out, "      {} commands = [", paint(DELETE, "-"));
            words(out, &change.removed_commands(), "-", DELETE);
            let _ = writeln!(out, "        ]");
        }
        (Some(before), Some(after)) => {
            if before.url == after.url {
                let _ = writeln!(out, "        url      = {}", quoted(&after.url));
            } else {
                let (old, new) = url_diff(&before.url, &after.url);
                let _ = writeln!(
                    out,
                    "      {} url      = \"{old}\" -> \"{new}\"",
                    paint(UPDATE, "~")
                );
            }
            let added = change.added_commands();
            let removed = change.removed_commands();
            if added.is_empty() && removed.is_empty() {
                let _ = writeln!(
                    out,
                    "        commands = {} unchanged",
                    change.kept_commands().len()
                );
            } else {
                let _ = writeln!(out, "      {} commands = [", paint(UPDATE, "~"));
                words(out, &added, "+", CREATE);
                words(out, &removed, "-", DELETE);
                let kept = change.kept_commands().len();
                if kept > 0 {
                    let _ = writeln!(
                        out,
                        "            {}",
                        paint(DIM, &format!("# ({kept} unchanged)"))
                    );
                }
                let _ = writeln!(out, "        ]");
            }
        }
        (None, None) => {}
    }
}

fn words(out: &mut String, words: &[String], marker: &str, style: Style) {
    for word in words {
        let _ = writeln!(out, "          {} \"{word}\",", paint(style, marker));
    }
}

/// The old and new URL with the characters that differ highlighted (removed ones in red on the
/// old side, added ones in green on the new side).
fn url_diff(old: &str, new: &str) -> (String, String) {
    let diff = TextDiff::from_chars(old, new);
    let (mut left, mut right) = (String::new(), String::new());
    // Runs of one kind are painted as one segment, so a changed `v1` is one highlight, not two.
    let mut run = String::new();
    let mut run_tag = ChangeTag::Equal;
    let flush = |tag: ChangeTag, run: &mut String, left: &mut String, right: &mut String| {
        match tag {
            ChangeTag::Equal => {
                left.push_str(run);
                right.push_str(run);
            }
            ChangeTag::Delete => left.push_str(&paint(DELETE.effects(CHANGED_CHARS), run)),
            ChangeTag::Insert => right.push_str(&paint(CREATE.effects(CHANGED_CHARS), run)),
        }
        run.clear();
    };
    for change in diff.iter_all_changes() {
        if change.tag() != run_tag {
            flush(run_tag, &mut run, &mut left, &mut right);
            run_tag = change.tag();
        }
        run.push_str(change.value());
    }
    flush(run_tag, &mut run, &mut left, &mut right);
    (left, right)
}

fn error_block(out: &mut String, plan: &AppPlan) {
    let Some(error) = &plan.error else { return };
    heading(out, plan, "could not be read");
    let mut line = String::new();
    if let Some(command) = error.command {
        let _ = write!(line, "{command} failed: ");
    }
    match (error.code, &error.meaning) {
        (Some(code), Some(meaning)) => {
            let _ = write!(line, "error {code} ({meaning}): {}", error.message);
        }
        _ => line.push_str(&error.message),
    }
    let _ = writeln!(out, "  {} {line}", paint(ERROR, "!"));
    if let Some(id) = &error.request_id {
        let _ = writeln!(out, "    RequestId: {id}");
    }
    if let Some(hint) = &error.hint {
        let _ = writeln!(out, "    {} {hint}", paint(BOLD, "hint:"));
    }
    out.push('\n');
}

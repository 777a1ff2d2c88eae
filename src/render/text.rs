//! The human plan, in Terraform's shape: a block per app that changes, `+ ~ -` markers, command
//! words diffed as a set, a changed URL as old and new with the differing characters highlighted,
//! the exact call apply would send, and one summary line.
//!
//! It always writes ANSI styles; the output stream (anstream) strips them when colour is off, so
//! there is one rendering path whatever the terminal.

use std::fmt::Write;

use anstyle::{Effects, Style};
use similar::{ChangeTag, TextDiff};

use super::escape;
use super::{BOLD, CREATE, DELETE, ERROR, UPDATE, apps, error_details, paint, sign};
use crate::plan::{
    Action, AppError, AppPlan, CallbackChange, Decision, Summary, TokenChange, TokenState, token,
};

const DIM: Style = Style::new().effects(Effects::DIMMED);
/// The characters of a URL that differ: underlined on top of the line's colour.
const CHANGED_CHARS: Effects = Effects::UNDERLINE.insert(Effects::BOLD);

pub fn render(plans: &[AppPlan]) -> String {
    let mut out = String::new();
    let summary = Summary::of(plans);
    if summary.changes() > 0 {
        let _ = writeln!(out, "livehook will perform the following actions:\n");
    }
    for plan in plans {
        match &plan.decision {
            Err(error) => error_block(&mut out, plan, error),
            Ok(decision) if decision.action.is_change() => change_block(&mut out, plan, decision),
            Ok(_) => {}
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
    let _ = writeln!(
        out,
        "{}",
        paint(BOLD, &format!("{}.", summary_line(&summary)))
    );
    out
}

/// "Plan: 1 to create, 0 to update, 0 to delete, 2 unchanged, 1 failed" (without a full stop):
/// the one wording of the counts, shared with the markdown report.
pub(super) fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to create, {} to update, {} to delete, {} unchanged",
        summary.create, summary.update, summary.delete, summary.no_op
    );
    if summary.error > 0 {
        let _ = write!(line, ", {} failed", summary.error);
    }
    line
}

fn heading(out: &mut String, plan: &AppPlan, what: &str) {
    let _ = writeln!(
        out,
        "  {} {}",
        paint(
            BOLD,
            &format!(
                "# {} (sdkappid {}, {})",
                escape::text(&plan.name),
                plan.sdkappid,
                escape::text(&plan.region)
            )
        ),
        paint(BOLD, what)
    );
}

fn change_block(out: &mut String, plan: &AppPlan, decision: &Decision) {
    let callback = decision.callback.as_ref().filter(|c| c.action.is_change());
    let token = decision.token.as_ref().filter(|t| t.action.is_change());
    let what: Vec<String> = callback
        .map(|c| ("callback", c.action))
        .into_iter()
        .chain(token.map(|t| ("token", t.action)))
        .map(|(part, action)| format!("{part} will be {}", marker(action).0))
        .collect();
    heading(out, plan, &what.join(", "));
    if let Some(change) = callback {
        let (_, sign, style) = marker(change.action);
        let _ = writeln!(out, "  {} callback {{", paint(style, sign));
        callback_body(out, change);
        let _ = writeln!(out, "    }}");
    }
    if let Some(probe) = &plan.probe {
        super::probe::plan_lines(out, probe);
    }
    if let Some(change) = token {
        let (_, sign, style) = marker(change.action);
        let _ = writeln!(out, "  {} token {{", paint(style, sign));
        token_body(out, change);
        let _ = writeln!(out, "    }}");
    }
    for call in &decision.calls {
        let _ = writeln!(
            out,
            "    {} {} {}",
            paint(DIM, "call:"),
            paint(BOLD, call.command.as_str()),
            escape::text(&call.body.to_string())
        );
    }
    out.push('\n');
}

/// What happens to a part that changes, its marker and its colour.
fn marker(action: Action) -> (&'static str, &'static str, Style) {
    let (sign, style) = sign(action);
    let word = match action {
        Action::Create => "created",
        Action::Update => "updated in-place",
        _ => "deleted",
    };
    (word, sign, style)
}

/// The token's value is never shown: only that it is set, and whether it changes, with the
/// short keyed fingerprints of both sides.
fn token_body(out: &mut String, change: &TokenChange) {
    match (&change.before, &change.after) {
        (None, Some(after)) => whole_token(out, after, "+", CREATE),
        (Some(before), None) => whole_token(out, before, "-", DELETE),
        (Some(before), Some(after)) => {
            if change.value_changes() {
                let _ = writeln!(
                    out,
                    "      {} value   = (sensitive value changed, {})",
                    paint(UPDATE, "~"),
                    token::short_change(&before.fingerprint, &after.fingerprint)
                );
            } else {
                let _ = writeln!(out, "        value   = (sensitive value unchanged)");
            }
            if before.enabled == after.enabled {
                let _ = writeln!(out, "        enabled = {}", after.enabled);
            } else {
                let _ = writeln!(
                    out,
                    "      {} enabled = {} -> {}",
                    paint(UPDATE, "~"),
                    before.enabled,
                    after.enabled
                );
            }
        }
        (None, None) => {}
    }
}

/// A token set or deleted as a whole: both lines carry the same marker.
fn whole_token(out: &mut String, token: &TokenState, marker: &str, style: Style) {
    let marker = paint(style, marker);
    let _ = writeln!(out, "      {marker} value   = (sensitive value)");
    let _ = writeln!(out, "      {marker} enabled = {}", token.enabled);
}

fn callback_body(out: &mut String, change: &CallbackChange) {
    let quoted = |s: &str| format!("\"{}\"", escape::text(s));
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            whole_callback(out, &after.url, &change.added_commands(), "+", CREATE);
        }
        (Some(before), None) => {
            whole_callback(out, &before.url, &change.removed_commands(), "-", DELETE);
        }
        (Some(before), Some(after)) => {
            if let Some((from, to)) = change.url_value_change() {
                let _ = writeln!(
                    out,
                    "      {} url      = {} (sensitive value changed, {})",
                    paint(UPDATE, "~"),
                    quoted(&after.url),
                    token::short_change(from, to)
                );
            } else if !change.url_changes() {
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

/// A callback created or deleted as a whole: every line carries the same marker.
fn whole_callback(out: &mut String, url: &str, commands: &[String], marker: &str, style: Style) {
    let _ = writeln!(
        out,
        "      {} url      = \"{}\"",
        paint(style, marker),
        escape::text(url)
    );
    let _ = writeln!(out, "      {} commands = [", paint(style, marker));
    words(out, commands, marker, style);
    let _ = writeln!(out, "        ]");
}

fn words(out: &mut String, words: &[String], marker: &str, style: Style) {
    for word in words {
        let _ = writeln!(
            out,
            "          {} \"{}\",",
            paint(style, marker),
            escape::text(word)
        );
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
        // Escaped run by run: an escape is never split, and every character stays visible.
        let run_text = escape::text(run);
        let run_text = run_text.as_ref();
        match tag {
            ChangeTag::Equal => {
                left.push_str(run_text);
                right.push_str(run_text);
            }
            ChangeTag::Delete => left.push_str(&paint(DELETE.effects(CHANGED_CHARS), run_text)),
            ChangeTag::Insert => right.push_str(&paint(CREATE.effects(CHANGED_CHARS), run_text)),
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

fn error_block(out: &mut String, plan: &AppPlan, error: &AppError) {
    heading(out, plan, "could not be read");
    let _ = writeln!(
        out,
        "  {} {}",
        paint(ERROR, "!"),
        escape::text(&error.summary())
    );
    error_details(out, error, "    ");
    out.push('\n');
}

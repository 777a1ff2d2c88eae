//! Apply reports: what happened to each app, as text for people and as a versioned JSON document.

use std::fmt::Write;

use serde_json::{Value, json};

use super::escape;
use super::{BOLD, ERROR, error_details, paint, sign};
use crate::apply::{AppOutcome, ApplySummary, Status};
use crate::plan::{Action, AppError};

/// The `format_version` of the apply document; it follows the plan document's rules (fields
/// may be added within 1.x, none renamed or removed).
pub const FORMAT_VERSION: &str = "1.0";

/// One line per app that was to change (or failed), the notes under it, and the closing line.
pub fn text(outcomes: &[AppOutcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        if matches!(o.status, Status::NoChange) {
            continue;
        }
        let done = match o.action {
            Some(Action::Create) => "created",
            Some(Action::Update) => "updated",
            Some(Action::Delete) => "deleted",
            _ => "checked",
        };
        let (sign, style, what) = match &o.status {
            Status::Verified => {
                let (sign, style) = o.action.map_or((" ", BOLD), sign);
                (sign, style, format!("{done}, verified"))
            }
            Status::Unverified(_) => (
                "?",
                ERROR,
                format!("{done}, but reading it back shows differences"),
            ),
            Status::Failed(_) => ("!", ERROR, "failed".to_owned()),
            Status::Refused(_) => ("!", ERROR, "refused, nothing was written".to_owned()),
            Status::NoChange => unreachable!("skipped above"),
        };
        let _ = writeln!(
            out,
            "  {} {} {what}",
            paint(style, sign),
            paint(
                BOLD,
                &format!(
                    "{} (sdkappid {}, {}):",
                    escape::text(&o.name),
                    o.sdkappid,
                    escape::text(&o.region)
                )
            ),
        );
        for step in &o.steps {
            if let Some(note) = &step.note {
                let _ = writeln!(out, "      {}", escape::text(note));
            }
        }
        match &o.status {
            Status::Unverified(lines) | Status::Refused(lines) => {
                for line in lines {
                    let _ = writeln!(out, "      {}", escape::text(line));
                }
            }
            Status::Failed(error) => {
                error_lines(&mut out, error);
                if !o.steps.is_empty() {
                    let done: Vec<&str> = o.steps.iter().map(|s| s.command.as_str()).collect();
                    let _ = writeln!(
                        out,
                        "      calls that went through first: {}",
                        done.join(", ")
                    );
                }
            }
            _ => {}
        }
    }
    let s = ApplySummary::of(outcomes);
    let counts = format!(
        "{} created, {} updated, {} deleted",
        s.created, s.updated, s.deleted
    );
    let line = if s.all_succeeded() {
        format!("Apply complete: {counts}.")
    } else {
        let problems: Vec<String> = [
            (s.failed, "failed"),
            (s.refused, "refused"),
            (s.unverified, "not verified"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        format!("Apply incomplete: {counts}; {}.", problems.join(", "))
    };
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", paint(BOLD, &line));
    out
}

fn error_lines(out: &mut String, error: &AppError) {
    let _ = writeln!(out, "      {}", escape::text(&error.summary()));
    error_details(out, error, "      ");
}

/// The apply document: the summary, then every app with its planned action, its status
/// (`verified`, `unverified`, `failed`, `refused`, `no-op`), the calls that went through with
/// any convergence note, the differences or reasons, and the error.
pub fn json(outcomes: &[AppOutcome]) -> String {
    let doc = json!({
        "format_version": FORMAT_VERSION,
        "summary": ApplySummary::of(outcomes),
        "apps": outcomes.iter().map(app).collect::<Vec<_>>(),
    });
    let mut text =
        escape::json_document(serde_json::to_string_pretty(&doc).expect("a JSON value serialises"));
    text.push('\n');
    text
}

fn app(o: &AppOutcome) -> Value {
    let (differences, reasons) = match &o.status {
        Status::Unverified(d) => (d.clone(), Vec::new()),
        Status::Refused(r) => (Vec::new(), r.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    json!({
        "name": o.name,
        "sdkappid": o.sdkappid,
        "region": o.region,
        "endpoint": o.endpoint,
        "action": Action::name_of(o.action),
        "status": o.status.as_str(),
        "calls": o.steps.iter().map(|s| json!({"command": s.command, "note": s.note})).collect::<Vec<_>>(),
        "differences": differences,
        "refused_because": reasons,
        "error": match &o.status {
            Status::Failed(e) => json!(e),
            _ => Value::Null,
        },
    })
}

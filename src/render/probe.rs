//! Probe reports (`livehook probe`, and the probe lines of `plan --probe`): text, the versioned
//! JSON document, markdown and GitHub annotations, in the plan's conventions. Every text from a
//! receiver, a URL or the network goes through `escape` for its medium.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::github::{Annotation, Level};
use super::{BOLD, CREATE, ERROR, UPDATE, escape, paint};
use crate::probe::verdict::Verdict;
use crate::probe::{EXPIRY_WARNING, ProbeResult, ProbeSummary};

/// The `format_version` of the probe document; it follows the plan document's rules (fields may
/// be added within 1.x, none renamed or removed).
pub const FORMAT_VERSION: &str = "1.0";

/// One block per probed app, then the counts.
pub fn text(results: &[ProbeResult]) -> String {
    let mut out = String::new();
    if results.is_empty() {
        let _ = writeln!(
            out,
            "{} No app declares a callback URL to probe.",
            paint(BOLD, "Nothing to probe.")
        );
        return out;
    }
    let _ = writeln!(
        out,
        "livehook sent each callback URL one request, as Tencent would:\n"
    );
    for result in results {
        let _ = writeln!(
            out,
            "  {} {}",
            paint(
                BOLD,
                &format!(
                    "# {} (sdkappid {}):",
                    escape::text(&result.name),
                    result.sdkappid
                )
            ),
            headline(result)
        );
        let _ = writeln!(out, "      url     = \"{}\"", escape::text(&result.url));
        if let Some(command) = &result.command {
            let _ = writeln!(out, "      command = {}", escape::text(command));
        }
        details(&mut out, result, "    ");
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        paint(BOLD, &format!("{}.", summary_line(results)))
    );
    out
}

/// "Probe: 2 ok, 1 failed, 1 skipped" (without a full stop).
fn summary_line(results: &[ProbeResult]) -> String {
    let summary = ProbeSummary::of(results);
    let mut line = format!("Probe: {} ok, {} failed", summary.ok, summary.failed);
    if summary.skipped > 0 {
        let _ = write!(line, ", {} skipped", summary.skipped);
    }
    line
}

/// The verdict, painted, with the status and latency when there was an answer.
fn headline(result: &ProbeResult) -> String {
    let (style, word) = match result.verdict {
        Verdict::Ok => (CREATE, "ok"),
        Verdict::Failed(_) => (ERROR, "failed"),
        Verdict::Skipped => (BOLD, "skipped"),
    };
    let mut line = paint(style, word);
    match (result.http_status, result.latency) {
        (Some(status), Some(latency)) => {
            let _ = write!(line, ", HTTP {status} in {}", millis(latency));
        }
        (None, Some(latency)) => {
            let _ = write!(line, " after {}", millis(latency));
        }
        _ => {}
    }
    line
}

/// The problem, the certificate warning and why an app was skipped, at `indent`.
fn details(out: &mut String, result: &ProbeResult, indent: &str) {
    if let Some(failure) = result.verdict.failure() {
        let _ = writeln!(
            out,
            "{indent}{} {}",
            paint(ERROR, "!"),
            escape::text(&failure.describe())
        );
    }
    if result.verdict == Verdict::Skipped {
        let _ = writeln!(out, "{indent}{}", skipped_reason());
    }
    if let Some(warning) = expiry_warning(result) {
        let _ = writeln!(out, "{indent}{} {warning}", paint(UPDATE, "warning:"));
    }
}

/// The one line a plan shows under a changed callback: `probe: ok, HTTP 200 in 12 ms`, or the
/// failure, and a certificate warning.
pub fn plan_lines(out: &mut String, result: &ProbeResult) {
    let _ = writeln!(out, "    {} {}", paint(BOLD, "probe:"), headline(result));
    details(out, result, "      ");
}

fn skipped_reason() -> &'static str {
    "not sent: the app subscribes to no after-callback word; name one with --command to probe it"
}

fn millis(latency: Duration) -> String {
    format!("{} ms", latency.as_millis())
}

/// "the TLS certificate expires at 2026-12-09T10:00:00Z, within 14 days", when it does.
fn expiry_warning(result: &ProbeResult) -> Option<String> {
    if !result.certificate_expires_soon() {
        return None;
    }
    let expires = result.certificate_expires?;
    Some(format!(
        "the TLS certificate expires at {}, within {} days: renew it before Tencent refuses it",
        rfc3339(expires),
        EXPIRY_WARNING.as_secs() / 86_400
    ))
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The probe document: `{"format_version", "summary", "apps": [...]}`.
pub fn json(results: &[ProbeResult]) -> String {
    let doc = json!({
        "format_version": FORMAT_VERSION,
        "summary": ProbeSummary::of(results),
        "apps": results.iter().map(app_json).collect::<Vec<_>>(),
    });
    let mut text =
        escape::json_document(serde_json::to_string_pretty(&doc).expect("a JSON value serialises"));
    text.push('\n');
    text
}

/// One app's probe as JSON; also the `probe` object of a plan's app.
pub fn app_json(result: &ProbeResult) -> Value {
    json!({
        "name": result.name,
        "sdkappid": result.sdkappid,
        "url": result.url,
        "command": result.command,
        "verdict": result.verdict.as_str(),
        "http_status": result.http_status,
        "latency_ms": result.latency.map(|l| l.as_millis() as u64),
        "problem": match &result.verdict {
            Verdict::Failed(failure) => Some(failure.describe()),
            Verdict::Skipped => Some(skipped_reason().to_owned()),
            Verdict::Ok => None,
        },
        "certificate_expires": result.certificate_expires.map(rfc3339),
    })
}

/// A pull-request comment: the counts, then one table row per app.
pub fn markdown(results: &[ProbeResult]) -> String {
    let mut out = String::from("### livehook probe\n\n");
    if results.is_empty() {
        out.push_str("**Nothing to probe: no app declares a callback URL.**\n");
        return out;
    }
    let _ = writeln!(out, "**{}**\n", summary_line(results));
    let _ = writeln!(
        out,
        "| app | sdkappid | url | command | verdict | latency | problem |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for result in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            escape::markdown_inline(&result.name),
            result.sdkappid,
            escape::markdown_code_span(&result.url),
            result
                .command
                .as_deref()
                .map(escape::markdown_code_span)
                .unwrap_or_default(),
            verdict_label(&result.verdict),
            result.latency.map(millis).unwrap_or_default(),
            markdown_problem(result),
        );
    }
    out
}

/// The verdict with the mark the plan's markdown uses for its actions.
pub fn verdict_label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "✅ ok",
        Verdict::Failed(_) => "❌ failed",
        Verdict::Skipped => "skipped",
    }
}

/// The problem and the certificate warning, as markdown for a table cell.
pub fn markdown_problem(result: &ProbeResult) -> String {
    let mut parts = Vec::new();
    match &result.verdict {
        Verdict::Failed(failure) => parts.push(escape::markdown_inline(&failure.describe())),
        Verdict::Skipped => parts.push(escape::markdown_inline(skipped_reason())),
        Verdict::Ok => {}
    }
    if let Some(warning) = expiry_warning(result) {
        parts.push(format!("⚠️ {}", escape::markdown_inline(&warning)));
    }
    parts.join("; ")
}

/// An error at the `url:` line of each failed app, a warning for each certificate about to end.
pub fn annotations<'a>(results: impl IntoIterator<Item = &'a ProbeResult>) -> Vec<Annotation> {
    let mut out = Vec::new();
    for result in results {
        if let Some(failure) = result.verdict.failure() {
            out.push(Annotation {
                level: Level::Error,
                position: result.url_position.clone(),
                title: format!("livehook: the probe of {} failed", result.name),
                message: format!("{} {}: {}", result.name, result.url, failure.describe()),
            });
        }
        if let Some(warning) = expiry_warning(result) {
            out.push(Annotation {
                level: Level::Warning,
                position: result.url_position.clone(),
                title: format!("livehook: {} certificate", result.name),
                message: format!("{} {}: {warning}", result.name, result.url),
            });
        }
    }
    out
}

/// `--format github`: the annotations, then the plain text report between a fresh
/// stop-commands pair, so no line of it is a workflow command.
pub fn github(results: &[ProbeResult]) -> String {
    let annotations = super::github::render(&annotations(results));
    let text = text(results);
    let text = anstream::adapter::strip_str(&text).to_string();
    format!("{annotations}{}", escape::github_inert(&text))
}

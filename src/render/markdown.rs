//! `--format markdown`: a pull-request comment or job summary.
//!
//! A headline with the summary, a table of the apps that change or failed, then one collapsed
//! `<details>` block per app with the diff and the calls. GitHub refuses comments over 65,536
//! characters, so the report is built within that limit: the headline always stays, table rows
//! come next, and change blocks fill what room is left; whatever is cut is counted in a last line.

use std::fmt::Write;

use super::escape;
use crate::plan::{Action, AppPlan, CallbackChange, Decision, Summary, TokenChange, token};

/// GitHub's limit on the body of an issue or pull-request comment.
pub const COMMENT_LIMIT: usize = 65_536;

/// Room kept for the closing line that says what was left out.
const FOOTER_ROOM: usize = 200;

pub fn render(plans: &[AppPlan]) -> String {
    render_within(plans, COMMENT_LIMIT)
}

/// Renders within `limit` characters.
fn render_within(plans: &[AppPlan], limit: usize) -> String {
    let summary = Summary::of(plans);
    let mut out = String::new();
    let _ = writeln!(out, "### livehook plan\n");
    let _ = writeln!(out, "**{}**\n", headline(&summary, plans.len()));
    let shown: Vec<&AppPlan> = plans
        .iter()
        .filter(|p| p.action().is_none_or(Action::is_change))
        .collect();
    if shown.is_empty() {
        return out;
    }
    let budget = limit.saturating_sub(FOOTER_ROOM);

    let _ = writeln!(out, "| app | sdkappid | region | action | change |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let mut rows_left_out = 0;
    for plan in &shown {
        let row = format!(
            "| {} | {} | {} | {} | {} |\n",
            escape::markdown_inline(&plan.name),
            plan.sdkappid,
            escape::markdown_inline(&plan.region),
            action_label(plan.action()),
            change_summary(plan)
        );
        if out.len() + row.len() > budget {
            rows_left_out += 1;
        } else {
            out.push_str(&row);
        }
    }
    out.push('\n');

    let mut blocks_left_out = 0;
    for plan in &shown {
        let block = details(plan);
        if rows_left_out > 0 || out.len() + block.len() > budget {
            blocks_left_out += 1;
        } else {
            out.push_str(&block);
        }
    }
    if rows_left_out > 0 || blocks_left_out > 0 {
        let mut note = String::from("_Cut to fit GitHub's 65,536-character comment limit: ");
        if rows_left_out > 0 {
            let _ = write!(note, "{rows_left_out} table rows and ");
        }
        let _ = writeln!(
            note,
            "{blocks_left_out} of {} change blocks were left out. Run `livehook plan` for the full plan._",
            shown.len()
        );
        out.push_str(&note);
    }
    out
}

fn headline(summary: &Summary, apps: usize) -> String {
    if summary.changes() == 0 && summary.error == 0 {
        return format!(
            "No changes: the live webhook configuration of {} matches the desired state.",
            super::apps(apps)
        );
    }
    super::text::summary_line(summary)
}

fn action_label(action: Option<Action>) -> &'static str {
    match action {
        Some(Action::Create) => "➕ create",
        Some(Action::Update) => "🔄 update",
        Some(Action::Delete) => "🗑️ delete",
        Some(Action::NoOp) => "no-op",
        None => "❌ error",
    }
}

/// What changes, in a few words, as markdown for a table cell (outside text escaped).
fn change_summary(plan: &AppPlan) -> String {
    let decision = match &plan.decision {
        Ok(decision) => decision,
        Err(error) => return escape::markdown_inline(&error.brief()),
    };
    let parts: Vec<String> = decision
        .callback
        .as_ref()
        .map(callback_summary)
        .into_iter()
        .chain(decision.token.as_ref().map(token_summary))
        .chain(
            plan.probe
                .as_ref()
                .map(|probe| format!("probe {}", super::probe::verdict_label(&probe.verdict))),
        )
        .filter(|p| !p.is_empty())
        .collect();
    parts.join("; ")
}

fn callback_summary(change: &CallbackChange) -> String {
    match change.action {
        Action::Create => format!(
            "new callback {} ({} commands)",
            escape::markdown_code_span(change.after.as_ref().map_or("", |a| a.url.as_str())),
            change.added_commands().len()
        ),
        Action::Delete => "callback deleted".into(),
        Action::Update => {
            let mut parts = Vec::new();
            if change.url_value_change().is_some() {
                parts.push("url's sensitive value changed".to_string());
            } else if change.url_changes() {
                parts.push("url changed".to_string());
            }
            let (added, removed) = (
                change.added_commands().len(),
                change.removed_commands().len(),
            );
            if added + removed > 0 {
                parts.push(format!("+{added} −{removed} commands"));
            }
            parts.join(", ")
        }
        _ => String::new(),
    }
}

/// The token part in a few words; never the value.
fn token_summary(change: &TokenChange) -> String {
    match (change.action, &change.before, &change.after) {
        (Action::Create, _, _) => "token set".into(),
        (Action::Delete, _, _) => "token deleted".into(),
        (Action::Update, Some(before), Some(after)) => {
            let mut parts = Vec::new();
            if change.value_changes() {
                parts.push("token value changed".to_string());
            }
            if before.enabled != after.enabled {
                parts.push(format!("token enabled → {}", after.enabled));
            }
            parts.join(", ")
        }
        _ => String::new(),
    }
}

fn details(plan: &AppPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> ({}, {}): {}</summary>\n",
        escape::html_text(&plan.name),
        plan.sdkappid,
        escape::html_text(&plan.region),
        Action::name_of(plan.action())
    );
    match &plan.decision {
        Err(error) => {
            // Each piece escaped whole: only livehook's own line breaks end a line.
            let mut body = format!("{}\n", escape::line_start(&error.summary()));
            if let Some(id) = &error.request_id {
                let _ = writeln!(body, "RequestId: {}", escape::text(id));
            }
            if let Some(hint) = &error.hint {
                let _ = writeln!(body, "hint: {}", escape::text(hint));
            }
            let _ = writeln!(out, "{}", escape::markdown_fence("text", &body));
        }
        Ok(decision) => decision_details(&mut out, decision),
    }
    if let Some(probe) = &plan.probe {
        let problem = super::probe::markdown_problem(probe);
        let _ = writeln!(
            out,
            "\nProbe of the new URL: {}{}{}",
            super::probe::verdict_label(&probe.verdict),
            probe
                .latency
                .map(|l| format!(" in {} ms", l.as_millis()))
                .unwrap_or_default(),
            if problem.is_empty() {
                String::new()
            } else {
                format!(": {problem}")
            }
        );
    }
    let _ = writeln!(out, "\n</details>\n");
    out
}

/// The diffs of the parts that change, and the calls apply would send.
fn decision_details(out: &mut String, decision: &Decision) {
    if let Some(change) = decision.callback.as_ref().filter(|c| c.action.is_change()) {
        let _ = writeln!(
            out,
            "{}",
            escape::markdown_fence("diff", &diff_lines(change))
        );
    }
    if let Some(change) = decision.token.as_ref().filter(|t| t.action.is_change()) {
        let _ = writeln!(
            out,
            "{}",
            escape::markdown_fence("diff", &token_diff_lines(change))
        );
    }
    if !decision.calls.is_empty() {
        let mut body = String::new();
        for call in &decision.calls {
            let _ = writeln!(
                body,
                "{} {}",
                call.command,
                escape::text(&call.body.to_string())
            );
        }
        let _ = writeln!(
            out,
            "\nCalls apply would send:\n\n{}",
            escape::markdown_fence("text", &body)
        );
    }
}

/// The token as a diff of short keyed fingerprints and `enabled`; never the value.
fn token_diff_lines(change: &TokenChange) -> String {
    let marker = match (&change.before, &change.after) {
        (None, Some(_)) => "+",
        (Some(_), None) => "-",
        _ => " ",
    };
    let mut out = format!("{marker} token:\n");
    let value = |fingerprint: &str| format!("(sensitive, {})", token::short(fingerprint));
    // A field that keeps its value is shown once, unmarked, as in `git diff`.
    let mut field =
        |name: &str, before: Option<String>, after: Option<String>| match (before, after) {
            (Some(b), Some(a)) if b == a => {
                let _ = writeln!(out, "    {name}: {a}");
            }
            (b, a) => {
                if let Some(b) = b {
                    let _ = writeln!(out, "-   {name}: {b}");
                }
                if let Some(a) = a {
                    let _ = writeln!(out, "+   {name}: {a}");
                }
            }
        };
    field(
        "value",
        change.before.as_ref().map(|b| value(&b.fingerprint)),
        change.after.as_ref().map(|a| value(&a.fingerprint)),
    );
    field(
        "enabled",
        change.before.as_ref().map(|b| b.enabled.to_string()),
        change.after.as_ref().map(|a| a.enabled.to_string()),
    );
    out
}

/// The callback as a unified-diff-looking YAML fragment.
fn diff_lines(change: &CallbackChange) -> String {
    let mut out = String::new();
    let marker = match change.action {
        Action::Create => "+",
        Action::Delete => "-",
        _ => " ",
    };
    let _ = writeln!(out, "{marker} callback:");
    match (&change.before, &change.after) {
        (Some(_), Some(after)) if change.url_value_change().is_some() => {
            // The same text on both sides: the keyed fingerprints tell the values apart.
            let (from, to) = change.url_value_change().unwrap_or_default();
            let url = escape::text(&after.url);
            let _ = writeln!(
                out,
                "-   url: {url}  # sensitive value {}",
                token::short(from)
            );
            let _ = writeln!(
                out,
                "+   url: {url}  # sensitive value {}",
                token::short(to)
            );
        }
        (Some(before), Some(after)) if change.url_changes() => {
            let _ = writeln!(out, "-   url: {}", escape::text(&before.url));
            let _ = writeln!(out, "+   url: {}", escape::text(&after.url));
        }
        (_, Some(c)) | (Some(c), None) => {
            let _ = writeln!(out, "{marker}   url: {}", escape::text(&c.url));
        }
        (None, None) => {}
    }
    let _ = writeln!(out, "{marker}   commands:");
    for word in change.added_commands() {
        let _ = writeln!(out, "+     - {}", escape::text(&word));
    }
    for word in change.removed_commands() {
        let _ = writeln!(out, "-     - {}", escape::text(&word));
    }
    for word in change.kept_commands() {
        let _ = writeln!(out, "      - {}", escape::text(&word));
    }
    out
}

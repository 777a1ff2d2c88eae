//! `--format github`: GitHub Actions workflow commands.
//!
//! Each changed value becomes a `::warning` and each failed app an `::error`, pointing at the YAML
//! file and line that declares it (the `url:` line, the command word's line, the `callback:` line),
//! so the pull request shows them next to the diff. GitHub displays at most 10 annotations of each
//! kind per step, so the tenth of a kind summarises the rest instead of being silently dropped.

use super::escape;
use crate::config::Position;
use crate::plan::{Action, AppPlan};

/// GitHub's limit of annotations of one kind (warning, error) per step.
pub const ANNOTATION_LIMIT: usize = 10;

/// One workflow command before escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub position: Option<Position>,
    pub title: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warning,
    Error,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The annotations of a plan: one per changed value, one per failed app.
pub fn plan_annotations(plans: &[AppPlan]) -> Vec<Annotation> {
    let mut out = Vec::new();
    for plan in plans {
        let origin = &plan.origin;
        let warn = |position: Option<&Position>, message: String| Annotation {
            level: Level::Warning,
            position: position.or(Some(&origin.app)).cloned(),
            title: format!("livehook: {} will change", plan.name),
            message,
        };
        let decision = match &plan.decision {
            Ok(decision) => decision,
            Err(error) => {
                let mut message = format!("{}: {}", plan.name, error.summary());
                if let Some(hint) = &error.hint {
                    message.push_str(&format!(" (hint: {hint})"));
                }
                out.push(Annotation {
                    level: Level::Error,
                    position: Some(origin.app.clone()),
                    title: format!("livehook: {} could not be read", plan.name),
                    message,
                });
                continue;
            }
        };
        if let Some(change) = decision.token.as_ref().filter(|t| t.action.is_change()) {
            // The value never appears: only what happens to the token, at its `token:` line.
            let what = match change.action {
                Action::Create => "will be set with set_callback_token",
                Action::Update => "will be updated with set_callback_token",
                _ => "will be deleted with delete_callback_token",
            };
            out.push(warn(
                origin.token.as_ref().or(Some(&origin.app)),
                format!("token of {} (sdkappid {}) {what}", plan.name, plan.sdkappid),
            ));
        }
        let Some(change) = &decision.callback else {
            continue;
        };
        let callback_line = origin.callback.as_ref();
        match change.action {
            Action::Create => out.push(warn(
                callback_line,
                format!(
                    "callback of {} (sdkappid {}) will be created with set_callback",
                    plan.name, plan.sdkappid
                ),
            )),
            Action::Delete => out.push(warn(
                callback_line,
                format!(
                    "callback of {} (sdkappid {}) will be deleted with delete_callback",
                    plan.name, plan.sdkappid
                ),
            )),
            Action::Update => {
                if let (Some(before), Some(after)) = (&change.before, &change.after) {
                    if change.url_value_change().is_some() {
                        out.push(warn(
                            origin.url.as_ref().or(callback_line),
                            format!("the sensitive value in callback url {} changes", after.url),
                        ));
                    } else if change.url_changes() {
                        out.push(warn(
                            origin.url.as_ref().or(callback_line),
                            format!("callback url changes from {} to {}", before.url, after.url),
                        ));
                    }
                }
                for word in change.added_commands() {
                    let line = origin
                        .commands
                        .iter()
                        .find(|(w, _)| *w == word)
                        .map(|(_, p)| p)
                        .or(callback_line);
                    out.push(warn(line, format!("command word {word} will be added")));
                }
                for word in change.removed_commands() {
                    // A removed word is no longer in the file: point at the callback it leaves.
                    out.push(warn(
                        callback_line,
                        format!("command word {word} will be removed"),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Workflow command lines, within the per-kind limit: past it, the last allowed annotation of
/// that kind says how many more there are.
pub fn render(annotations: &[Annotation]) -> String {
    let mut out = String::new();
    for level in [Level::Error, Level::Warning] {
        let of_level: Vec<&Annotation> = annotations.iter().filter(|a| a.level == level).collect();
        let fits = of_level.len() <= ANNOTATION_LIMIT;
        let shown = if fits {
            of_level.len()
        } else {
            ANNOTATION_LIMIT - 1
        };
        for annotation in &of_level[..shown] {
            out.push_str(&line(annotation));
        }
        if !fits {
            let rest = of_level.len() - shown;
            out.push_str(&line(&Annotation {
                level,
                position: None,
                title: format!("livehook: {rest} more"),
                message: format!(
                    "{rest} more {}s are not annotated (GitHub shows {ANNOTATION_LIMIT} per step); the step's log lists them all",
                    level.command()
                ),
            }));
        }
    }
    out
}

fn line(annotation: &Annotation) -> String {
    let mut properties = Vec::new();
    if let Some(p) = &annotation.position {
        properties.push(format!("file={}", escape::github_property(&p.file)));
        properties.push(format!("line={}", p.line));
        properties.push(format!("col={}", p.column));
    }
    properties.push(format!(
        "title={}",
        escape::github_property(&annotation.title)
    ));
    format!(
        "::{} {}::{}\n",
        annotation.level.command(),
        properties.join(","),
        escape::github_data(&annotation.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_past_the_limit() {
        let annotation = |i: usize| Annotation {
            level: Level::Warning,
            position: None,
            title: "t".into(),
            message: format!("m{i}"),
        };
        let ten: Vec<Annotation> = (0..10).map(annotation).collect();
        assert_eq!(render(&ten).lines().count(), 10);
        assert!(!render(&ten).contains("more"));
        let many: Vec<Annotation> = (0..25).map(annotation).collect();
        let text = render(&many);
        assert_eq!(text.lines().count(), 10);
        assert!(
            text.lines().last().unwrap().contains("16 more warnings"),
            "{text}"
        );
    }
}

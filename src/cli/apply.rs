//! `livehook apply`: plan, confirm, write, verify; or apply a saved plan, refusing
//! every app whose live state moved since it was made.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use tokio::runtime::Runtime;

use super::session::{self, Session};
use super::{Outcome, Streams, report_error, runtime};
use crate::apply::{self, AppOutcome, ApplySummary, Job, Status};
use crate::config::App;
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{self, AppPlan, LiveState};
use crate::render;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Desired-state files, or directories of `*.yaml` / `*.yml` files.
    #[arg(value_name = "PATH", default_value = "livehook.yaml")]
    pub paths: Vec<PathBuf>,

    /// Apply without asking for confirmation. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,

    /// Apply this saved plan (`livehook plan --out FILE`) instead of planning again. Every app is
    /// read first; an app whose live state moved since the plan is refused. Does not ask.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["paths", "targets"])]
    pub plan: Option<PathBuf>,

    /// Apply only this app (by name); repeat for several.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,

    /// How many apps to read and write at once. Each SDKAppID also stays under Tencent's 200
    /// requests/s.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub parallelism: u16,

    /// Output format: `text` for people, `json` for programs (one document, at the end).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,

    /// Start the built-in emulator seeded from this state file and send every app there. Apply
    /// changes only the emulator's in-memory copy unless --emulator-persist is given.
    #[arg(long, value_name = "STATE_FILE")]
    pub emulator: Option<PathBuf>,

    /// Write the emulator's state back to STATE_FILE (atomically) after each change.
    #[arg(long, requires = "emulator")]
    pub emulator_persist: bool,

    #[command(flatten)]
    pub client: super::args::ClientArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// The plan, then one line per app applied, then the summary.
    Text,
    /// One JSON document (`format_version` 1.0) with every app's outcome.
    Json,
}

/// An app in apply: to be written, or already settled (no change, a read error, a refusal).
/// Both are boxed: a list of them is built once per run, and boxing keeps the variants equal.
enum Candidate {
    Apply(Box<Job>),
    Settled(Box<AppOutcome>),
}

/// What apply works from.
enum Input {
    Desired(Vec<App>),
    Saved(PathBuf, SavedPlan),
}

pub fn run(args: &ApplyArgs, streams: &mut Streams) -> Outcome {
    let input = match &args.plan {
        Some(path) => match SavedPlan::load(path) {
            Ok(saved) => Input::Saved(path.clone(), saved),
            Err(e) => {
                report_error(
                    streams,
                    &e.to_string(),
                    Some(
                        "make the plan again with `livehook plan --out FILE`; nothing was changed",
                    ),
                );
                return Outcome::Failure;
            }
        },
        None => match super::plan::load_apps(&args.paths, &args.targets, streams) {
            Some(apps) => Input::Desired(apps),
            None => return Outcome::Failure,
        },
    };
    let Ok(seed) = session::load_emulator_seed(args.emulator.as_deref(), streams) else {
        return Outcome::Failure;
    };
    let persist_to = args.emulator.clone().filter(|_| args.emulator_persist);
    let rt = runtime();
    let session = match rt.block_on(Session::start(seed, persist_to, args.client.options())) {
        Ok(session) => session,
        Err(failure) => {
            failure.report(streams);
            return Outcome::Failure;
        }
    };
    let outcome = match input {
        Input::Desired(apps) => apply_desired(&rt, &session, apps, args, streams),
        Input::Saved(path, saved) => apply_saved(&rt, &session, &path, &saved, args, streams),
    };
    rt.block_on(session.shutdown());
    outcome
}

/// Plans, shows the plan, asks, applies.
fn apply_desired(
    rt: &Runtime,
    session: &Session,
    apps: Vec<App>,
    args: &ApplyArgs,
    streams: &mut Streams,
) -> Outcome {
    let (credentials, plans) = match rt.block_on(session.plan(&apps, args.parallelism)) {
        Ok(planned) => planned,
        Err(failure) => {
            failure.report(streams);
            return Outcome::Failure;
        }
    };
    let text_plan = render::text::render(&plans);
    if args.format == ApplyFormat::Text {
        let _ = streams.out.write_all(text_plan.as_bytes());
    }
    let summary = plan::Summary::of(&plans);
    if summary.changes() == 0 {
        // The plan already says "No changes." (and shows any app that could not be read).
        if args.format == ApplyFormat::Json {
            let outcomes: Vec<AppOutcome> = plans.iter().map(unapplied).collect();
            let _ = streams
                .out
                .write_all(render::apply::json(&outcomes).as_bytes());
        }
        return if summary.error > 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            report_error(
                streams,
                "refusing to apply without confirmation: standard input is not a terminal; nothing was changed",
                Some(
                    "review the plan, then run again with --auto-approve; or save it with \
                     `livehook plan --out FILE` and apply exactly that plan with \
                     `livehook apply --plan FILE`",
                ),
            );
            return Outcome::Failure;
        }
        if args.format == ApplyFormat::Json {
            // The document comes at the end; whoever is asked must see the plan first.
            let _ = streams.err.write_all(text_plan.as_bytes());
        }
        if !confirmed(streams) {
            let _ = writeln!(streams.err, "Apply cancelled; nothing was changed.");
            return Outcome::Failure;
        }
    }
    let candidates = apps
        .into_iter()
        .zip(credentials)
        .zip(plans)
        .map(|((app, credentials), plan)| {
            if plan.is_change() {
                Candidate::Apply(Box::new(Job {
                    app,
                    credentials,
                    plan,
                }))
            } else {
                Candidate::Settled(Box::new(unapplied(&plan)))
            }
        })
        .collect();
    let outcomes = execute(rt, session, candidates, args.parallelism);
    report(&outcomes, args.format, streams)
}

/// Applies a saved plan: reads every app again and applies the plan's desired state only where
/// the live state is still the one the plan was made from.
fn apply_saved(
    rt: &Runtime,
    session: &Session,
    path: &Path,
    saved: &SavedPlan,
    args: &ApplyArgs,
    streams: &mut Streams,
) -> Outcome {
    let apps: Vec<App> = saved.apps.iter().map(|a| a.to_app(path)).collect();
    let credentials = match session.credentials(&apps) {
        Ok(c) => c,
        Err(failure) => {
            failure.report(streams);
            return Outcome::Failure;
        }
    };
    let live = rt.block_on(session.read(&credentials, args.parallelism));
    let mut candidates = Vec::with_capacity(apps.len());
    // What the text report shows before applying: the apps to write and the unchanged ones (so
    // that its summary counts them); refused and unreadable apps are reported after.
    let mut shown = Vec::new();
    for (((app, credentials), live), saved_app) in
        apps.into_iter().zip(credentials).zip(live).zip(&saved.apps)
    {
        let desired = credentials.token.as_ref().map(|t| &t.state);
        let now = match live {
            Ok(now) => now,
            Err(error) => {
                let plan = plan::decide(&app, Err(error), desired);
                candidates.push(Candidate::Settled(Box::new(unapplied(&plan))));
                continue;
            }
        };
        let mut reasons = stale(&saved_app.live, &now, &saved_app.live_fingerprint);
        if let (Some(planned), Some(value)) =
            (saved_app.planned_token_fingerprint(), &credentials.token)
        {
            if planned != value.state.fingerprint {
                reasons.push(format!(
                    "the token in {} is not the one the plan was made with",
                    token_variable(&app)
                ));
            }
        }
        let plan = plan::decide(&app, Ok(now), desired);
        if !reasons.is_empty() {
            reasons.push("plan again to see what this app needs now".into());
            let refused = AppOutcome {
                action: Some(saved_app.action),
                ..AppOutcome::without_calls(&plan, Status::Refused(reasons))
            };
            candidates.push(Candidate::Settled(Box::new(refused)));
        } else if plan.is_change() {
            shown.push(plan.clone());
            candidates.push(Candidate::Apply(Box::new(Job {
                app,
                credentials,
                plan,
            })));
        } else {
            candidates.push(Candidate::Settled(Box::new(unapplied(&plan))));
            shown.push(plan);
        }
    }
    let nothing_to_do = candidates
        .iter()
        .all(|c| matches!(c, Candidate::Settled(o) if matches!(o.status, Status::NoChange)));
    if nothing_to_do {
        if args.format == ApplyFormat::Text {
            let _ = writeln!(
                streams.out,
                "No changes. The live webhook configuration of every app in {} matches its desired state.",
                path.display()
            );
        } else {
            let outcomes: Vec<AppOutcome> = candidates
                .into_iter()
                .filter_map(|c| match c {
                    Candidate::Settled(o) => Some(*o),
                    Candidate::Apply(_) => None,
                })
                .collect();
            let _ = streams
                .out
                .write_all(render::apply::json(&outcomes).as_bytes());
        }
        return Outcome::Success;
    }
    if args.format == ApplyFormat::Text && shown.iter().any(AppPlan::is_change) {
        let _ = streams
            .out
            .write_all(render::text::render(&shown).as_bytes());
    }
    let outcomes = execute(rt, session, candidates, args.parallelism);
    report(&outcomes, args.format, streams)
}

/// What moved since the plan, in words; empty when nothing did.
fn stale(planned: &LiveState, now: &LiveState, planned_fingerprint: &str) -> Vec<String> {
    let moved = saved::moved(planned, now);
    if moved.is_empty() && now.fingerprint() != planned_fingerprint {
        // The fingerprint tells apart what `moved` does not put into words (a token that was not
        // read and one that is missing, say): refuse rather than write over a state nobody has
        // seen.
        return vec!["the live state moved since the plan".into()];
    }
    moved
}

fn token_variable(app: &App) -> String {
    match &app.token {
        Some(crate::config::Managed::Present(t)) => t.value_env.clone(),
        _ => "its variable".into(),
    }
}

/// The outcome of an app that is not written to: a read error, or nothing to change.
fn unapplied(plan: &AppPlan) -> AppOutcome {
    let status = match &plan.decision {
        Err(error) => Status::Failed(error.clone()),
        Ok(_) => Status::NoChange,
    };
    AppOutcome::without_calls(plan, status)
}

/// Runs the jobs among `candidates` and returns every outcome in the candidates' order.
fn execute(
    rt: &Runtime,
    session: &Session,
    candidates: Vec<Candidate>,
    parallelism: u16,
) -> Vec<AppOutcome> {
    let mut slots: Vec<Option<AppOutcome>> = Vec::with_capacity(candidates.len());
    let mut jobs = Vec::new();
    let mut job_slots = Vec::new();
    for candidate in candidates {
        match candidate {
            Candidate::Apply(job) => {
                job_slots.push(slots.len());
                slots.push(None);
                jobs.push(*job);
            }
            Candidate::Settled(outcome) => slots.push(Some(*outcome)),
        }
    }
    let done = rt.block_on(apply::apply_all(
        &session.client,
        jobs,
        usize::from(parallelism),
    ));
    for (slot, outcome) in job_slots.into_iter().zip(done) {
        slots[slot] = Some(outcome);
    }
    slots.into_iter().flatten().collect()
}

fn report(outcomes: &[AppOutcome], format: ApplyFormat, streams: &mut Streams) -> Outcome {
    let text = match format {
        ApplyFormat::Text => format!("\n{}", render::apply::text(outcomes)),
        ApplyFormat::Json => render::apply::json(outcomes),
    };
    let _ = streams.out.write_all(text.as_bytes());
    if ApplySummary::of(outcomes).all_succeeded() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// Asks on stderr and reads one line from the terminal: only `yes` goes ahead, as Terraform
/// asks, so that a stray Enter or `y` never applies.
fn confirmed(streams: &mut Streams) -> bool {
    let _ = write!(
        streams.err,
        "\nApply these changes? Only 'yes' will be accepted: "
    );
    let _ = streams.err.flush();
    let mut answer = String::new();
    match std::io::stdin().read_line(&mut answer) {
        Ok(n) if n > 0 => is_yes(&answer),
        _ => false,
    }
}

fn is_yes(answer: &str) -> bool {
    answer.trim() == "yes"
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn only_yes_confirms() {
        assert!(is_yes("yes\n"));
        assert!(is_yes("  yes \r\n"));
        for no in ["y\n", "YES\n", "\n", "yes please\n", "no\n"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}

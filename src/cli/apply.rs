//! `livehook apply`: plan, confirm, write, verify; or apply a saved plan, refusing every app
//! whose live state moved since it was made.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use tokio::runtime::Runtime;

use super::args::{ApplyArgs, ApplyFormat};
use super::desired::load_apps;
use super::outcome::{CliError, Outcome};
use super::output::Streams;
use super::session::{Session, load_emulator_seed, runtime};
use crate::apply::{self, AppOutcome, ApplySummary, Candidate, Status};
use crate::config::App;
use crate::plan::saved::{self, Recheck, SavedPlan};
use crate::plan::{self, AppPlan};
use crate::render;

/// What apply works from.
enum Input {
    Desired(Vec<App>),
    Saved(PathBuf, SavedPlan),
}

pub fn run(args: &ApplyArgs, streams: &mut Streams) -> Result<Outcome, CliError> {
    let input = match &args.plan {
        Some(path) => {
            let saved = SavedPlan::load(path).map_err(|e| {
                CliError::new(e.to_string()).with_help(
                    "make the plan again with `livehook plan --out FILE`; nothing was changed",
                )
            })?;
            Input::Saved(path.clone(), saved)
        }
        None => Input::Desired(load_apps(
            &args.paths.paths,
            &args.targets.targets,
            streams,
        )?),
    };
    let seed = load_emulator_seed(args.emulator.emulator.as_deref())?;
    let persist_to = args
        .emulator
        .emulator
        .clone()
        .filter(|_| args.emulator_persist);
    let rt = runtime();
    let session = rt
        .block_on(Session::start(seed, persist_to, args.client.options()))?
        .trusting(args.client.trusted_endpoints());
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
) -> Result<Outcome, CliError> {
    let parallelism = args.parallelism.parallelism;
    let (credentials, mut plans) = rt.block_on(session.plan(&apps, parallelism))?;
    if args.probe.probe {
        // Before the plan is shown, so that whoever confirms sees each new URL's verdict.
        rt.block_on(super::probe::probe_new_urls(
            plans.iter_mut().zip(&credentials),
            parallelism,
        ))?;
    }
    let text_plan = render::text::render(&plans);
    if args.format == ApplyFormat::Text {
        let _ = streams.out.write_all(text_plan.as_bytes());
    }
    let summary = plan::Summary::of(&plans);
    if summary.changes() == 0 {
        // The plan already says "No changes." (and shows any app that could not be read).
        if args.format == ApplyFormat::Json {
            let outcomes: Vec<AppOutcome> = plans.iter().map(AppOutcome::unapplied).collect();
            let _ = streams
                .out
                .write_all(render::apply::json(&outcomes).as_bytes());
        }
        return Ok(if summary.error > 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        });
    }
    if !args.auto_approve {
        if !streams.input_is_terminal {
            return Err(CliError::new(
                "refusing to apply without confirmation: standard input is not a terminal; nothing was changed",
            )
            .with_help(
                "review the plan, then run again with --auto-approve; or save it with \
                 `livehook plan --out FILE` and apply exactly that plan with \
                 `livehook apply --plan FILE`",
            ));
        }
        if args.format == ApplyFormat::Json {
            // The document comes at the end; whoever is asked must see the plan first.
            let _ = streams.err.write_all(text_plan.as_bytes());
        }
        if !confirmed(streams) {
            let _ = writeln!(streams.err, "Apply cancelled; nothing was changed.");
            return Ok(Outcome::Failure);
        }
    }
    let candidates = apps
        .into_iter()
        .zip(credentials)
        .zip(plans)
        .map(|((app, credentials), plan)| Candidate::from_plan(app, credentials, plan))
        .map(super::probe::refuse_failed_probe)
        .collect();
    let outcomes = rt.block_on(apply::apply_candidates(
        &session.client,
        candidates,
        usize::from(parallelism),
    ));
    Ok(report(&outcomes, args.format, streams))
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
) -> Result<Outcome, CliError> {
    let parallelism = args.parallelism.parallelism;
    let apps: Vec<App> = saved.apps.iter().map(|a| a.to_app(path)).collect();
    let credentials = session.credentials(&apps)?;
    // Before the first request: a forged file must not get a UserSig or a token sent anywhere.
    saved.authenticate(path, &credentials).map_err(|e| {
        CliError::new(e.to_string()).with_help(
            "make the plan again with `livehook plan --out FILE` and apply that file; nothing was changed",
        )
    })?;
    let live = rt.block_on(session.read(&credentials, parallelism));
    let mut candidates = Vec::with_capacity(apps.len());
    // What the text report shows before applying: the apps to write and the unchanged ones (so
    // that its summary counts them); refused and unreadable apps are reported after.
    let mut shown = Vec::new();
    for (((app, credentials), live), saved_app) in
        apps.into_iter().zip(credentials).zip(live).zip(&saved.apps)
    {
        match saved::recheck(saved_app, &app, live, credentials.desired()) {
            Recheck::Moved {
                plan,
                planned,
                reasons,
            } => {
                let refused = AppOutcome {
                    action: Some(planned),
                    ..AppOutcome::without_calls(&plan, Status::Refused(reasons))
                };
                candidates.push(Candidate::Settled(Box::new(refused)));
            }
            Recheck::Current(plan) => {
                if plan.decision.is_ok() {
                    shown.push(plan.clone());
                }
                candidates.push(Candidate::from_plan(app, credentials, plan));
            }
        }
    }
    if args.probe.probe {
        // Probed now, after the stale check: what matters is how the receiver answers when the
        // URL is switched, not when the plan was made.
        let jobs = candidates.iter_mut().filter_map(|c| match c {
            Candidate::Apply(job) => Some((&mut job.plan, &job.credentials)),
            Candidate::Settled(_) => None,
        });
        rt.block_on(super::probe::probe_new_urls(jobs, parallelism))?;
        for candidate in &candidates {
            if let Candidate::Apply(job) = candidate {
                if let Some(shown) = shown.iter_mut().find(|p| p.name == job.plan.name) {
                    shown.probe.clone_from(&job.plan.probe);
                }
            }
        }
        candidates = candidates
            .into_iter()
            .map(super::probe::refuse_failed_probe)
            .collect();
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
        return Ok(Outcome::Success);
    }
    if args.format == ApplyFormat::Text && shown.iter().any(AppPlan::is_change) {
        let _ = streams
            .out
            .write_all(render::text::render(&shown).as_bytes());
    }
    let outcomes = rt.block_on(apply::apply_candidates(
        &session.client,
        candidates,
        usize::from(parallelism),
    ));
    Ok(report(&outcomes, args.format, streams))
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

/// Asks on stderr and reads one line of the answer: only `yes` goes ahead, as Terraform asks, so
/// that a stray Enter or `y` never applies.
fn confirmed(streams: &mut Streams) -> bool {
    let _ = write!(
        streams.err,
        "\nApply these changes? Only 'yes' will be accepted: "
    );
    let _ = streams.err.flush();
    let mut answer = String::new();
    match streams.input.read_line(&mut answer) {
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

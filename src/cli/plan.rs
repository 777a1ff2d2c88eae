//! `livehook plan`: load, read live state, decide, render.

use std::io::Write;

use super::args::{FailOn, Format, PlanArgs};
use super::desired::load_apps;
use super::outcome::{CliError, Outcome};
use super::output::Streams;
use super::session::{Session, load_emulator_seed, runtime};
use crate::plan::{Action, AppPlan, Summary};
use crate::render;

pub fn run(args: &PlanArgs, streams: &mut Streams) -> Result<Outcome, CliError> {
    let apps = load_apps(&args.paths.paths, &args.targets.targets, streams)?;
    let seed = load_emulator_seed(args.emulator.emulator.as_deref())?;
    let (credentials, plans) = runtime().block_on(async {
        // The in-process emulator gets a copy of the state: plan never changes the user's file.
        let session = Session::start(seed, None, args.client.options())
            .await?
            .trusting(args.client.trusted_endpoints());
        let planned = session.plan(&apps, args.parallelism.parallelism).await;
        session.shutdown().await;
        let (credentials, mut plans) = planned?;
        if args.probe.probe {
            let parallelism = args.parallelism.parallelism;
            super::probe::probe_new_urls(plans.iter_mut().zip(&credentials), parallelism).await?;
        }
        Ok::<_, CliError>((credentials, plans))
    })?;
    // The report comes first, so that a plan that cannot be saved (an app failed) still shows
    // why.
    let _ = match args.format {
        // Written as it is serialised, not held whole: the largest report by far.
        Format::Json => render::json::write(&plans, &mut streams.out),
        format => streams.out.write_all(report(&plans, format).as_bytes()),
    };
    if args.format == Format::Github {
        streams.append_step_summary("plan", &render::markdown::render(&plans));
    }
    if let Some(out) = &args.out {
        super::saved::write(out, &apps, &plans, &credentials, streams)?;
    }
    let summary = Summary::of(&plans);
    let probe_failed = plans
        .iter()
        .any(|p| p.probe.as_ref().is_some_and(|probe| probe.failed()));
    if summary.error > 0 || probe_failed {
        return Ok(Outcome::Failure);
    }
    if let Some(gate) = args.fail_on {
        let tripped: Vec<&str> = plans
            .iter()
            .filter(|p| match gate {
                // Part by part: an app that deletes its callback while creating a token counts
                // as an update overall, and must still trip the gate.
                FailOn::Delete => p.decision.as_ref().is_ok_and(|d| {
                    d.callback
                        .as_ref()
                        .is_some_and(|c| c.action == Action::Delete)
                        || d.token.as_ref().is_some_and(|t| t.action == Action::Delete)
                }),
                FailOn::Change => p.is_change(),
            })
            .map(|p| p.name.as_str())
            .collect();
        if !tripped.is_empty() {
            let what = match gate {
                FailOn::Delete => "deletes",
                FailOn::Change => "changes",
            };
            return Err(CliError::new(format!(
                "--fail-on {}: the plan {what} {}: {}",
                gate_name(gate),
                crate::render::apps(tripped.len()),
                tripped.join(", ")
            ))
            .with_help("review the plan; this gate exists so such a change is made on purpose"));
        }
    }
    Ok(if args.detailed_exitcode && summary.changes() > 0 {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}

/// The gate's name as `--fail-on` spells it.
fn gate_name(gate: FailOn) -> String {
    use clap::ValueEnum;
    let value = gate.to_possible_value();
    value
        .expect("every gate is a possible value")
        .get_name()
        .to_owned()
}

/// The report in the chosen format. Only `text` carries colour; the others are for machines and
/// web pages, so they never contain escape codes whatever `--color` says.
fn report(plans: &[AppPlan], format: Format) -> String {
    match format {
        Format::Text => render::text::render(plans),
        Format::Json => render::json::render(plans),
        Format::Markdown => render::markdown::render(plans),
        Format::Github => {
            let mut annotations = render::github::plan_annotations(plans);
            let probes = plans.iter().filter_map(|p| p.probe.as_deref());
            annotations.extend(render::probe::annotations(probes));
            let annotations = render::github::render(&annotations);
            let text = render::text::render(plans);
            // The plain plan after the annotations is data: between a fresh stop-commands pair,
            // no line of it is a workflow command whatever a URL or an error message contains.
            let text = anstream::adapter::strip_str(&text).to_string();
            format!("{annotations}{}", render::escape::github_inert(&text))
        }
    }
}

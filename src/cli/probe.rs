//! `livehook probe`, and the probes `plan --probe` and `apply --probe` send to the callback URLs
//! a plan creates or changes.
//!
//! Probes are opt-in everywhere: a plan or an apply without `--probe` never sends anything to a
//! receiver (README, "Security model").

use std::io::Write;

use super::args::{Format, ProbeArgs};
use super::desired::load_apps;
use super::outcome::{CliError, Outcome};
use super::output::Streams;
use super::session::{missing_variables, runtime};
use crate::apply::{AppOutcome, Candidate, Status};
use crate::config::{App, Managed};
use crate::credentials::{self, Credentials};
use crate::plan::{Action, AppPlan};
use crate::probe::request::default_command;
use crate::probe::{ProbeResult, ProbeSummary, ProbeTarget, Prober};
use crate::render;
use crate::tim::command_words;

pub fn run(args: &ProbeArgs, streams: &mut Streams) -> Result<Outcome, CliError> {
    if let Some(word) = &args.command {
        if !command_words::has_shape(word) {
            return Err(CliError::new(format!(
                "--command `{}` is not a command word; nothing was sent",
                render::escape::text(word)
            ))
            .with_help(
                "a command word looks like `Live.CallbackAfterCreateRoom`; the README lists the known ones",
            ));
        }
    }
    let apps: Vec<App> = load_apps(&args.paths.paths, &args.targets.targets, streams)?
        .into_iter()
        .filter(|app| matches!(app.callback, Some(Managed::Present(_))))
        .collect();
    // Only the probed apps' variables are read: their URL secrets and the tokens that sign.
    let secrets = credentials::probe_secrets(&apps).map_err(|m| missing_variables(&m))?;
    let targets: Vec<ProbeTarget> = apps
        .iter()
        .zip(secrets)
        .filter_map(|(app, secrets)| {
            let (Some(Managed::Present(callback)), Some(secrets)) = (&app.callback, secrets) else {
                return None;
            };
            let command = match &args.command {
                Some(word) => Some(word.clone()),
                None => default_command(&callback.commands).map(str::to_owned),
            };
            Some(ProbeTarget {
                name: app.name.clone(),
                sdkappid: app.sdkappid,
                url: callback.url.clone(),
                send_to: secrets.url,
                hidden: secrets.url_values,
                command,
                token: secrets.token,
                url_position: app.origin.url.clone(),
            })
        })
        .collect();
    let parallelism = usize::from(args.parallelism.parallelism);
    let results = if targets.is_empty() {
        Vec::new()
    } else {
        let prober = Prober::new().map_err(CliError::new)?;
        runtime().block_on(prober.probe_all(targets, parallelism))
    };
    let report = match args.format {
        Format::Text => render::probe::text(&results),
        Format::Json => render::probe::json(&results),
        Format::Markdown => render::probe::markdown(&results),
        Format::Github => render::probe::github(&results),
    };
    let _ = streams.out.write_all(report.as_bytes());
    if args.format == Format::Github {
        let markdown = render::probe::markdown(&results);
        streams.append_step_summary("probe report", &markdown);
    }
    Ok(if ProbeSummary::of(&results).failed > 0 {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// Probes the URL each plan creates or changes (the callback's new `url`), and records the
/// result in the plan. Apps whose URL stays the same are not probed: their receiver is live.
pub(super) async fn probe_new_urls<'a>(
    plans: impl Iterator<Item = (&'a mut AppPlan, &'a Credentials)>,
    parallelism: u16,
) -> Result<(), CliError> {
    let mut probed: Vec<&mut AppPlan> = Vec::new();
    let mut targets = Vec::new();
    for (plan, credentials) in plans {
        let Some(target) = new_url_target(plan, credentials) else {
            continue;
        };
        targets.push(target);
        probed.push(plan);
    }
    if targets.is_empty() {
        return Ok(());
    }
    let prober = Prober::new().map_err(CliError::new)?;
    let results = prober.probe_all(targets, usize::from(parallelism)).await;
    for (plan, result) in probed.into_iter().zip(results) {
        plan.probe = Some(Box::new(result));
    }
    Ok(())
}

/// The probe of the URL `plan` creates or changes, if it does.
fn new_url_target(plan: &AppPlan, credentials: &Credentials) -> Option<ProbeTarget> {
    let change = plan.decision.as_ref().ok()?.callback.as_ref()?;
    let after = change.after.as_ref()?;
    let new_url = match change.action {
        Action::Create => true,
        Action::Update => change.url_changes(),
        _ => false,
    };
    let url = credentials.callback_url.as_ref()?;
    if !new_url {
        return None;
    }
    // Tencent signs with the token the app will have once applied, when it is enabled.
    let token = credentials
        .token
        .as_ref()
        .filter(|t| t.state.enabled)
        .map(|t| t.value.clone());
    Some(ProbeTarget {
        name: plan.name.clone(),
        sdkappid: plan.sdkappid,
        url: after.url.clone(),
        send_to: url.resolved.clone(),
        hidden: credentials::url_values(&url.template),
        command: default_command(&after.commands).map(str::to_owned),
        token,
        url_position: plan.origin.url.clone(),
    })
}

/// An app whose probe failed is settled as refused: nothing is written for it, and the others go
/// on.
pub(super) fn refuse_failed_probe(candidate: Candidate) -> Candidate {
    let Candidate::Apply(job) = candidate else {
        return candidate;
    };
    let Some(failed) = job.plan.probe.as_ref().filter(|p| p.failed()) else {
        return Candidate::Apply(job);
    };
    let reason = refusal_reason(failed);
    let refused = AppOutcome::without_calls(&job.plan, Status::Refused(vec![reason]));
    Candidate::Settled(Box::new(refused))
}

fn refusal_reason(result: &ProbeResult) -> String {
    let problem = result
        .verdict
        .failure()
        .map(|f| f.describe())
        .unwrap_or_default();
    format!(
        "--probe: {} does not answer as Tencent needs ({problem}); fix the receiver or the URL, then apply again",
        result.url
    )
}

//! `livehook plan`: load, read live state, decide, render.

use std::io::Write;
use std::path::Path;

use super::args::{Format, PlanArgs};
use super::session::Failure;
use super::{Outcome, Streams, report_error, runtime};
use crate::config::{self, App};
use crate::credentials;
use crate::emulator::{Emulator, Options, State};
use crate::plan::{self, AppPlan, Summary};
use crate::render;
use crate::tim::client::{Client, ClientOptions};

pub fn run(args: &PlanArgs, streams: &mut Streams) -> Outcome {
    let Some(apps) = load_apps(&args.paths, &args.targets, streams) else {
        return Outcome::Failure;
    };
    let seed = match args
        .emulator
        .as_deref()
        .map(load_emulator_state)
        .transpose()
    {
        Ok(seed) => seed,
        Err(message) => {
            report_error(
                streams,
                &message,
                Some("see the README's \"Emulator state file\" section for the format"),
            );
            return Outcome::Failure;
        }
    };
    let plans = runtime().block_on(async {
        // The in-process emulator gets a copy of the state: plan never changes the user's file.
        let emulator =
            match seed {
                Some(state) => Some(Emulator::start(state, Options::default()).await.map_err(
                    |e| Failure::Other(format!("cannot start the in-process emulator: {e}")),
                )?),
                None => None,
            };
        let base_url = emulator.as_ref().map(Emulator::base_url);
        let fallback = |sdkappid: u64| {
            let state = emulator.as_ref()?.state();
            state.apps.get(&sdkappid).map(|app| app.secret_key.clone())
        };
        let targets = credentials::resolve(&apps, base_url.as_deref(), fallback)
            .map_err(Failure::MissingVariables)?;
        let client =
            Client::new(ClientOptions::default()).map_err(|e| Failure::Other(e.to_string()))?;
        let live = plan::read::read_all(&client, &targets, usize::from(args.parallelism)).await;
        let plans: Vec<AppPlan> = apps
            .iter()
            .zip(&targets)
            .zip(live)
            .map(|((app, creds), live)| {
                plan::decide(app, live, creds.token.as_ref().map(|t| &t.state))
            })
            .collect();
        if let Some(emulator) = emulator {
            emulator.shutdown().await;
        }
        Ok::<_, Failure>(plans)
    });
    let plans = match plans {
        Ok(plans) => plans,
        Err(failure) => {
            failure.report(streams);
            return Outcome::Failure;
        }
    };
    if let Some(out) = &args.out {
        if !super::saved::write(out, &apps, &plans, streams) {
            return Outcome::Failure;
        }
    }
    let report = match args.format {
        Format::Text => render::text::render(&plans),
        Format::Json => render::json::render(&plans),
    };
    let _ = streams.out.write_all(report.as_bytes());
    let summary = Summary::of(&plans);
    if summary.error > 0 {
        Outcome::Failure
    } else if args.detailed_exitcode && summary.changes() > 0 {
        Outcome::Changes
    } else {
        Outcome::Success
    }
}

/// Loads the desired state (drawing its diagnostics) and keeps the `--target` apps.
pub(super) fn load_apps(
    paths: &[std::path::PathBuf],
    targets: &[String],
    streams: &mut Streams,
) -> Option<Vec<App>> {
    let desired = match config::load(paths) {
        Ok(desired) => desired,
        Err(diagnostics) => {
            streams.diagnostics(&diagnostics);
            report_error(
                streams,
                "the desired state is invalid; nothing was read or changed",
                Some("`livehook validate` shows the same problems"),
            );
            return None;
        }
    };
    streams.diagnostics(&desired.warnings);
    if targets.is_empty() {
        return Some(desired.apps);
    }
    let unknown: Vec<&String> = targets
        .iter()
        .filter(|t| !desired.apps.iter().any(|a| &a.name == *t))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = desired.apps.iter().map(|a| a.name.as_str()).collect();
        let suggestion = unknown
            .iter()
            .filter_map(|t| {
                config::did_you_mean(t, known.iter().copied())
                    .map(|best| format!("did you mean `{best}`? "))
            })
            .next()
            .unwrap_or_default();
        report_error(
            streams,
            &format!(
                "--target names no app: {}",
                unknown
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(&format!(
                "{suggestion}apps in the desired state: {}",
                known.join(", ")
            )),
        );
        return None;
    }
    Some(
        desired
            .apps
            .into_iter()
            .filter(|a| targets.contains(&a.name))
            .collect(),
    )
}

fn load_emulator_state(path: &Path) -> Result<State, String> {
    State::load(path).map_err(|e| e.to_string())
}

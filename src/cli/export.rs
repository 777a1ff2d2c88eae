//! `livehook export`: print the live configuration as a desired-state file (format 1).

use std::io::Write;
use std::path::PathBuf;

use super::args::ExportArgs;
use super::desired::load_apps;
use super::outcome::{CliError, Outcome, Problem};
use super::output::Streams;
use super::session::{Session, load_emulator_seed, runtime};
use crate::config::model::{ENV_NAME_PATTERN, is_env_name};
use crate::config::{self, App, Location, Origin, Position};
use crate::export::{self, Unreadable};
use crate::tim::region::Region;
use crate::trusted_endpoints::TrustedEndpoints;

pub fn run(args: &ExportArgs, streams: &mut Streams) -> Result<Outcome, CliError> {
    let apps = selected_apps(args, streams)?;
    let seed = load_emulator_seed(args.emulator.emulator.as_deref())?;
    let live = runtime().block_on(async {
        let session = Session::start(seed, None, args.client.options())
            .await?
            .trusting(trusted_endpoints(args));
        let result = match session.credentials(&export::for_reading(&apps)) {
            Ok(mut credentials) => {
                export::read_every_token(&mut credentials);
                Ok(session
                    .read(&credentials, args.parallelism.parallelism)
                    .await)
            }
            Err(error) => Err(error),
        };
        session.shutdown().await;
        result
    })?;
    let exported = export::from_live(&apps, live).map_err(unreadable)?;
    for (app, problem) in export::unusable_urls(&exported) {
        streams.warning(&format!(
            "the live callback url of `{app}` {problem}; the exported file will not validate until it is changed"
        ));
    }
    for app in export::urls_that_may_hold_secrets(&exported) {
        streams.warning(&format!(
            "the live callback url of `{app}` carries a query, which may hold a secret; the \
             exported file shows it as it is live: check it before committing the file, and \
             write a secret as `${{NAME}}` (see the README's \"Secrets in callback URLs\")"
        ));
    }
    for word in export::unusable_words(&exported) {
        streams.warning(&format!(
            "live command word `{word}` is not a command word's shape; the exported file will not validate until it is removed"
        ));
    }
    let _ = streams.out.write_all(export::to_yaml(&exported).as_bytes());
    Ok(Outcome::Success)
}

/// The command line's `--endpoint` is as trusted as `--allow-endpoint`: both come from whoever
/// runs livehook, not from a file.
fn trusted_endpoints(args: &ExportArgs) -> TrustedEndpoints {
    let mut allowed = args.client.allowed_endpoints.clone();
    allowed.extend(
        args.endpoint
            .as_deref()
            .and_then(|e| url::Url::parse(e).ok()),
    );
    TrustedEndpoints::new(allowed)
}

/// The apps to export: from --sdkappid (with --region or --endpoint), or from desired-state
/// files.
fn selected_apps(args: &ExportArgs, streams: &mut Streams) -> Result<Vec<App>, CliError> {
    if args.sdkappids.is_empty() {
        let paths = if args.paths.is_empty() {
            vec![PathBuf::from(config::DEFAULT_PATH)]
        } else {
            args.paths.clone()
        };
        return load_apps(&paths, &[], streams);
    }
    let location = match (&args.region, &args.endpoint) {
        (Some(name), _) => match Region::from_name(name) {
            Some(region) => Location::Region(region),
            None => {
                return Err(CliError::new(format!(
                    "--region {name} is not a region livehook knows"
                ))
                .with_help(format!("use one of: {}", Region::NAMES.join(", "))));
            }
        },
        (None, Some(url)) => {
            if let Err(problem) = config::check_endpoint(url) {
                let shown = if problem.may_quote_endpoint() {
                    format!("--endpoint {url}: {problem}")
                } else {
                    format!("--endpoint: {problem}")
                };
                return Err(CliError::new(shown)
                    .with_help("give a base URL such as https://adminapisgp.im.qcloud.com"));
            }
            Location::Endpoint(url.trim_end_matches('/').to_owned())
        }
        (None, None) => {
            return Err(CliError::new(
                "--sdkappid needs --region or --endpoint: the exported file must say where each app lives",
            )
            .with_help("e.g. livehook export --sdkappid 1400000001 --region singapore"));
        }
    };
    // Not repeated: what was passed may be the secret key itself, pasted in the wrong place.
    if !is_env_name(&args.secret_key_env) || config::looks_like_secret(&args.secret_key_env) {
        return Err(CliError::new(
            "--secret-key-env is not the name of an environment variable (the value is not shown: it may be a secret)",
        )
        .with_help(format!("names match {ENV_NAME_PATTERN}, e.g. TIM_SECRET_KEY")));
    }
    let mut ids = args.sdkappids.clone();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids
        .into_iter()
        .map(|sdkappid| App {
            name: format!("app-{sdkappid}"),
            sdkappid,
            location: location.clone(),
            identifier: args.identifier.clone(),
            secret_key_env: args.secret_key_env.clone(),
            callback: None,
            token: None,
            origin: Origin::at(Position {
                file: "(command line)".into(),
                line: 1,
                column: 1,
            }),
        })
        .collect())
}

/// One error per app that could not be read, each with its hint, then why nothing was exported.
fn unreadable(apps: Vec<Unreadable>) -> CliError {
    let problems = apps
        .into_iter()
        .map(|Unreadable { app, error }| {
            let mut message = format!(
                "cannot export `{}` (sdkappid {}): {}",
                app.name,
                app.sdkappid,
                error.summary()
            );
            if let Some(id) = &error.request_id {
                message.push_str(&format!(" (RequestId {id})"));
            }
            Problem {
                message,
                help: error.hint,
            }
        })
        .collect();
    CliError::many(problems).with_help(
        "nothing was exported: a file missing some apps would be mistaken for the whole picture",
    )
}

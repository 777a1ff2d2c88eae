//! `livehook export`: print the live configuration as a desired-state file (format 1).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::session::{self, Session};
use super::{Outcome, Streams, report_error, runtime};
use crate::config::model::{ENV_NAME_PATTERN, is_env_name};
use crate::config::{self, App, Location, Managed, Origin, Position};
use crate::export::{self, ExportedApp, ExportedToken};
use crate::plan::AppError;
use crate::tim::region::Region;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Desired-state files (or directories) whose apps are exported as they are live, keeping
    /// their names, regions and key variables. Default: livehook.yaml, unless --sdkappid is given.
    #[arg(value_name = "PATH", conflicts_with = "sdkappids")]
    pub paths: Vec<PathBuf>,

    /// Export this SDKAppID (named `app-N`); repeat for several. Needs --region or --endpoint.
    #[arg(long = "sdkappid", value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4294967295))]
    pub sdkappids: Vec<u64>,

    /// Region of the --sdkappid apps: china, singapore, seoul, frankfurt, mumbai,
    /// silicon-valley (usa), jakarta.
    #[arg(
        long,
        value_name = "REGION",
        conflicts_with = "endpoint",
        requires = "sdkappids"
    )]
    pub region: Option<String>,

    /// Base URL of the --sdkappid apps instead of a region (plain http only on loopback).
    #[arg(long, value_name = "URL", requires = "sdkappids")]
    pub endpoint: Option<String>,

    /// App administrator account the --sdkappid apps are read as.
    #[arg(long, value_name = "NAME", default_value = config::model::DEFAULT_IDENTIFIER)]
    pub identifier: String,

    /// Environment variable holding the secret key of the --sdkappid apps.
    #[arg(long, value_name = "NAME", default_value = config::model::DEFAULT_SECRET_KEY_ENV)]
    pub secret_key_env: String,

    /// How many apps to read at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub parallelism: u16,

    /// Start the built-in emulator seeded from this state file and read every app there (the
    /// file is not modified).
    #[arg(long, value_name = "STATE_FILE")]
    pub emulator: Option<PathBuf>,

    #[command(flatten)]
    pub client: super::args::ClientArgs,
}

pub fn run(args: &ExportArgs, streams: &mut Streams) -> Outcome {
    let Some(apps) = selected_apps(args, streams) else {
        return Outcome::Failure;
    };
    let Ok(seed) = session::load_emulator_seed(args.emulator.as_deref(), streams) else {
        return Outcome::Failure;
    };
    // The token is read for every app, whatever the file says: `absent` makes it read without
    // needing a value from the environment.
    let readable: Vec<App> = apps
        .iter()
        .map(|a| App {
            token: Some(Managed::Absent),
            ..a.clone()
        })
        .collect();
    let rt = runtime();
    let read = rt.block_on(async {
        let session = Session::start(seed, None, args.client.options()).await?;
        let result = match session.credentials(&readable) {
            Ok(credentials) => Ok(session.read(&credentials, args.parallelism).await),
            Err(failure) => Err(failure),
        };
        session.shutdown().await;
        result
    });
    let live = match read {
        Ok(live) => live,
        Err(failure) => {
            failure.report(streams);
            return Outcome::Failure;
        }
    };
    let mut exported = Vec::with_capacity(apps.len());
    let mut failed = false;
    let token_envs = export::token_envs(&apps);
    for ((app, live), value_env) in apps.iter().zip(live).zip(token_envs) {
        match live {
            Ok(live) => exported.push(ExportedApp {
                name: app.name.clone(),
                sdkappid: app.sdkappid,
                location: app.location.clone(),
                identifier: app.identifier.clone(),
                secret_key_env: app.secret_key_env.clone(),
                callback: live.callback,
                token: live.token.state().map(|t| ExportedToken {
                    value_env,
                    enabled: t.enabled,
                }),
            }),
            Err(error) => {
                failed = true;
                report_read_error(streams, app, &error);
            }
        }
    }
    if failed {
        let _ = writeln!(
            streams.err,
            "  help: nothing was exported: a file missing some apps would be mistaken for the whole picture"
        );
        return Outcome::Failure;
    }
    for (app, problem) in export::unusable_urls(&exported) {
        let message = format!(
            "the live callback url of `{app}` {problem}; the exported file will not validate until it is changed"
        );
        super::report(streams, super::Severity::Warning, &message, None);
    }
    for word in export::unusable_words(&exported) {
        let message = format!(
            "live command word `{word}` is not a command word's shape; the exported file will not validate until it is removed"
        );
        super::report(streams, super::Severity::Warning, &message, None);
    }
    let _ = streams.out.write_all(export::to_yaml(&exported).as_bytes());
    Outcome::Success
}

/// The apps to export: from --sdkappid (with --region or --endpoint), or from desired-state
/// files.
fn selected_apps(args: &ExportArgs, streams: &mut Streams) -> Option<Vec<App>> {
    if args.sdkappids.is_empty() {
        let paths = if args.paths.is_empty() {
            vec![PathBuf::from("livehook.yaml")]
        } else {
            args.paths.clone()
        };
        return super::plan::load_apps(&paths, &[], streams);
    }
    let location = match (&args.region, &args.endpoint) {
        (Some(name), _) => match Region::from_name(name) {
            Some(region) => Location::Region(region),
            None => {
                report_error(
                    streams,
                    &format!("--region {name} is not a region livehook knows"),
                    Some(&format!("use one of: {}", Region::NAMES.join(", "))),
                );
                return None;
            }
        },
        (None, Some(url)) => {
            if let Err(problem) = config::check_endpoint(url) {
                report_error(
                    streams,
                    &if problem.may_quote_endpoint() {
                        format!("--endpoint {url}: {problem}")
                    } else {
                        format!("--endpoint: {problem}")
                    },
                    Some("give a base URL such as https://adminapisgp.im.qcloud.com"),
                );
                return None;
            }
            Location::Endpoint(url.trim_end_matches('/').to_owned())
        }
        (None, None) => {
            report_error(
                streams,
                "--sdkappid needs --region or --endpoint: the exported file must say where each app lives",
                Some("e.g. livehook export --sdkappid 1400000001 --region singapore"),
            );
            return None;
        }
    };
    // Not repeated: what was passed may be the secret key itself, pasted in the wrong place.
    if !is_env_name(&args.secret_key_env) || config::looks_like_secret(&args.secret_key_env) {
        report_error(
            streams,
            "--secret-key-env is not the name of an environment variable (the value is not shown: it may be a secret)",
            Some(&format!(
                "names match {ENV_NAME_PATTERN}, e.g. TIM_SECRET_KEY"
            )),
        );
        return None;
    }
    let mut ids = args.sdkappids.clone();
    ids.sort_unstable();
    ids.dedup();
    Some(
        ids.into_iter()
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
            .collect(),
    )
}

fn report_read_error(streams: &mut Streams, app: &App, error: &AppError) {
    let mut message = format!(
        "cannot export `{}` (sdkappid {}): {}",
        app.name,
        app.sdkappid,
        error.summary()
    );
    if let Some(id) = &error.request_id {
        message.push_str(&format!(" (RequestId {id})"));
    }
    report_error(streams, &message, error.hint.as_deref());
}

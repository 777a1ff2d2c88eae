//! What `plan`, `apply` and `export` share before anything is written: the optional
//! in-process emulator, credentials resolved up front, one client, the live state read, and the
//! plan decided from it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::outcome::{CliError, Problem};
use crate::config::App;
use crate::credentials::{self, Credentials, MissingVariable, VariableKind};
use crate::emulator::{Emulator, Options, State};
use crate::plan::{self, AppError, AppPlan, LiveState};
use crate::tim::client::{Client, ClientOptions};
use crate::trusted_endpoints::TrustedEndpoints;

/// A multi-threaded Tokio runtime for commands that talk HTTP. Failing to start one means the
/// process cannot create threads; nothing sensible can follow.
pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the Tokio runtime starts")
}

/// A client, and the emulator every app is sent to when `--emulator` is given.
pub(super) struct Session {
    pub emulator: Option<Emulator>,
    pub client: Client,
    /// Where apps' requests may go; only Tencent's domains and loopback unless widened.
    trusted: TrustedEndpoints,
}

impl Session {
    /// Starts the in-process emulator on a copy of `seed` (and writes changes back to
    /// `persist_to`, atomically, when given) and builds the client.
    pub async fn start(
        seed: Option<State>,
        persist_to: Option<PathBuf>,
        client_options: ClientOptions,
    ) -> Result<Self, CliError> {
        let emulator = match seed {
            Some(state) => {
                // Nothing reads the in-process emulator's request log; do not keep one.
                let options = Options {
                    persist_to,
                    record_requests: false,
                    ..Options::default()
                };
                let persisting = options.persist_to.is_some();
                let apps = state.apps.len();
                let emulator = Emulator::start(state, options).await.map_err(|e| {
                    CliError::new(format!("cannot start the in-process emulator: {e}"))
                })?;
                tracing::debug!(
                    url = %emulator.base_url(),
                    apps,
                    persisting,
                    "in-process emulator started; every app is sent there"
                );
                Some(emulator)
            }
            None => None,
        };
        tracing::debug!(
            timeout_ms = client_options.timeout.as_millis() as u64,
            retry_for = %humantime::format_duration(client_options.retry_for),
            per_sdkappid_limit = client_options.requests_per_second_per_sdkappid,
            "HTTP client ready"
        );
        let client = Client::new(client_options).map_err(|e| CliError::new(e.to_string()))?;
        Ok(Session {
            emulator,
            client,
            trusted: TrustedEndpoints::default(),
        })
    }

    /// Also trusts the endpoints the command line allows.
    pub fn trusting(self, trusted: TrustedEndpoints) -> Session {
        Session { trusted, ..self }
    }

    /// Resolves every app's secret key and token before any request is sent. With the emulator,
    /// every app is sent there, and an app its state file lists takes the file's key.
    pub fn credentials(&self, apps: &[App]) -> Result<Vec<Credentials>, CliError> {
        let base_url = self.emulator.as_ref().map(Emulator::base_url);
        // Under `--emulator` no request leaves the process, whatever endpoints the apps name.
        if base_url.is_none() {
            self.trusted.check(apps).map_err(|untrusted| {
                CliError::many(
                    untrusted
                        .iter()
                        .map(|u| Problem {
                            message: u.message(),
                            help: Some(u.help()),
                        })
                        .collect(),
                )
            })?;
        }
        // One snapshot for all apps: `state()` copies the whole state.
        let state = self.emulator.as_ref().map(Emulator::state);
        let emulator_key = |sdkappid: u64| {
            let app = state.as_ref()?.apps.get(&sdkappid)?;
            Some(app.secret_key.clone())
        };
        let credentials = credentials::resolve(apps, base_url.as_deref(), emulator_key)
            .map_err(|missing| missing_variables(&missing))?;
        log_routes(&credentials);
        Ok(credentials)
    }

    pub async fn read(
        &self,
        credentials: &[Credentials],
        parallelism: u16,
    ) -> Vec<Result<LiveState, AppError>> {
        let progress = progress_bar(credentials.len());
        let tick = progress.clone();
        let live = plan::read::read_all(
            &self.client,
            credentials,
            usize::from(parallelism),
            Arc::new(move || tick.inc(1)),
        )
        .await;
        progress.finish_and_clear();
        live
    }

    /// What `plan` and `apply` both start with: every app's credentials, its live state read,
    /// and the plan decided from the two. The credentials come back for apply's writes.
    pub async fn plan(
        &self,
        apps: &[App],
        parallelism: u16,
    ) -> Result<(Vec<Credentials>, Vec<AppPlan>), CliError> {
        let credentials = self.credentials(apps)?;
        let live = self.read(&credentials, parallelism).await;
        let plans = apps
            .iter()
            .zip(&credentials)
            .zip(live)
            .map(|((app, c), live)| plan::decide(app, live, c.desired()))
            .collect();
        Ok((credentials, plans))
    }

    pub async fn shutdown(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

/// Logs, once per endpoint, whether requests go through a proxy and which (never its user name
/// or password), since a proxy picked up from the environment is otherwise invisible.
fn log_routes(credentials: &[Credentials]) {
    // Finding a proxy reads the environment per endpoint: only worth it when it is logged.
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let endpoints: std::collections::BTreeSet<&str> = credentials
        .iter()
        .map(|c| c.target.base_url.as_str())
        .collect();
    for endpoint in endpoints {
        match crate::tim::client::proxy_for(endpoint) {
            Some(proxy) => tracing::debug!(endpoint, %proxy, "requests go through a proxy"),
            None => tracing::debug!(endpoint, "requests go directly, without a proxy"),
        }
    }
}

/// Below this many apps a read is quick enough that a bar would only flicker.
const PROGRESS_MIN_APPS: usize = 10;

/// A progress bar on stderr while reading many apps, drawn only when stderr is a terminal
/// (indicatif hides it otherwise), so logs and pipes never see it.
fn progress_bar(apps: usize) -> ProgressBar {
    if apps < PROGRESS_MIN_APPS || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(apps as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("reading live state {bar:30} {pos}/{len} apps ({elapsed})")
    {
        bar.set_style(style);
    }
    bar
}

/// Loads `--emulator STATE_FILE`, when given.
pub(super) fn load_emulator_seed(path: Option<&Path>) -> Result<Option<State>, CliError> {
    path.map(load_emulator_state).transpose()
}

/// Loads an emulator state file.
pub(super) fn load_emulator_state(path: &Path) -> Result<State, CliError> {
    State::load(path).map_err(|e| {
        CliError::new(e.to_string())
            .with_help("see the README's \"Emulator state file\" section for the format")
    })
}

/// Names every unusable variable and the apps that need it, then says how to fix it.
pub(super) fn missing_variables(missing: &[MissingVariable]) -> CliError {
    let problems = missing
        .iter()
        .map(|m| Problem {
            message: m.message(),
            help: None,
        })
        .collect();
    let has = |kind| missing.iter().any(|m| m.kind == kind);
    let urls = has(VariableKind::CallbackUrl);
    let help = match (has(VariableKind::SecretKey), has(VariableKind::Token)) {
        (true, false) if !urls => {
            "export each app's secret key (from the Chat console) in its variable; no request was sent"
        }
        (false, true) if !urls => {
            "export each webhook token (1 to 128 characters) in the variable its `value_env` names; no request was sent"
        }
        (true, true) if !urls => {
            "export each app's secret key (from the Chat console) and each webhook token (1 to 128 characters) in their variables; no request was sent"
        }
        (false, false) => {
            "export each variable a callback url names as `${NAME}`, with a value that keeps it a valid URL; no request was sent"
        }
        _ => {
            "export each variable named above: secret keys (from the Chat console), webhook tokens (1 to 128 characters) and the `${NAME}`s of callback urls; no request was sent"
        }
    };
    CliError::many(problems).with_help(help)
}

//! The command line, as clap derive types. Every flag has a doc comment: it is the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Plan and apply the webhook (callback) configuration of Tencent Cloud Chat live rooms, from YAML
/// kept in git.
#[derive(Debug, Parser)]
#[command(name = "livehook", version, about, max_term_width = 100)]
pub struct Cli {
    /// When to colour output: `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Log what livehook does to stderr, for debugging a run: every HTTP attempt (command,
    /// SDKAppID, attempt, outcome, duration), retries and their back-off, UserSig renewals, the
    /// emulator's start, each app's apply steps and each probe (by its callback URL as
    /// configured). Never logs a secret key, UserSig, token, Sign or a request's query.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check desired-state files offline: YAML, schema, command words, URLs. Exit 0 valid, 1 not.
    Validate(ValidateArgs),
    /// Read the live configuration of every app and print the calls that would reconcile it.
    /// Only reads: never writes to Tencent.
    Plan(PlanArgs),
    /// Plan, ask for confirmation, write the changes, and verify them by reading back. With
    /// `--plan FILE`, apply a saved plan instead, refusing apps whose live state moved since.
    Apply(ApplyArgs),
    /// Read the live configuration and print it as a desired-state file (format 1), to start a
    /// repository from what is live today.
    Export(ExportArgs),
    /// Send each app's callback URL one request exactly as Tencent would, and judge the answer
    /// as Tencent does (HTTP 200, JSON, ErrorCode 0, within 2 s). Exit 0 when every probed app
    /// is ok, 1 otherwise. Never talks to Tencent.
    Probe(ProbeArgs),
    /// Print the JSON Schema of the desired-state file.
    Schema,
    /// Run the local live_config emulator (Tencent's seven calls, over HTTP) until interrupted.
    Emulator(EmulatorArgs),
    /// Print a shell completion script, e.g. `livehook completions bash > /etc/bash_completion.d/livehook`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// `[PATH]...` of the commands that read desired-state files.
#[derive(Debug, Args)]
pub struct DesiredStatePaths {
    /// Desired-state files, or directories of `*.yaml` / `*.yml` files.
    #[arg(value_name = "PATH", default_value = crate::config::DEFAULT_PATH)]
    pub paths: Vec<PathBuf>,
}

/// `--target NAME`: the apps a command acts on.
#[derive(Debug, Args)]
pub struct Targets {
    /// Plan only this app (by name); repeat for several.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
}

/// `--parallelism N`: how many apps are read (or written) at once.
#[derive(Debug, Args)]
pub struct Parallelism {
    /// How many apps to read at once. Each SDKAppID also stays under Tencent's 200 requests/s.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub parallelism: u16,
}

/// `--emulator STATE_FILE`: send every app to the in-process emulator instead of Tencent.
#[derive(Debug, Args)]
pub struct EmulatorSeed {
    /// Start the built-in emulator seeded from this state file and send every app there
    /// (offline; the file itself is not modified). Apps the state file lists take its secret
    /// keys; their environment variables are not needed.
    #[arg(long, value_name = "STATE_FILE")]
    pub emulator: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub paths: DesiredStatePaths,

    #[command(flatten)]
    pub targets: Targets,

    #[command(flatten)]
    pub parallelism: Parallelism,

    /// Output format: `text` for people, `json` for programs (versioned, stable), `markdown` for a
    /// pull-request comment, `github` for GitHub Actions annotations.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit 0 when there are no changes, 2 when there are, 1 on error (as Terraform does).
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Exit 1 when the plan deletes anything (`delete`) or changes anything (`change`): a gate
    /// for pull requests.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,

    #[command(flatten)]
    pub emulator: EmulatorSeed,

    #[command(flatten)]
    pub probe: ProbeFlag,

    /// Also save the plan to FILE (JSON, no secrets), for `livehook apply --plan FILE`. Not
    /// written when an app could not be read.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub client: ClientArgs,
}

// The shared flags' help is worded for plan; apply's own wording replaces it where it says more.
// (A `//` comment: a doc comment here would become the command's about text.)
#[derive(Debug, Args)]
#[command(
    mut_arg("targets", |a| a.help("Apply only this app (by name); repeat for several")),
    mut_arg("parallelism", |a| a.help(
        "How many apps to read and write at once. Each SDKAppID also stays under Tencent's 200 requests/s"
    )),
    mut_arg("emulator", |a| a.help(
        "Start the built-in emulator seeded from this state file and send every app there. Apply \
         changes only the emulator's in-memory copy unless --emulator-persist is given"
    )),
)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub paths: DesiredStatePaths,

    /// Apply without asking for confirmation. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,

    /// Apply this saved plan (`livehook plan --out FILE`) instead of planning again. Every app is
    /// read first; an app whose live state moved since the plan is refused. Does not ask.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["paths", "targets"])]
    pub plan: Option<PathBuf>,

    #[command(flatten)]
    pub targets: Targets,

    #[command(flatten)]
    pub parallelism: Parallelism,

    /// Output format: `text` for people, `json` for programs (one document, at the end).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,

    #[command(flatten)]
    pub emulator: EmulatorSeed,

    /// Write the emulator's state back to STATE_FILE (atomically) after each change.
    #[arg(long, requires = "emulator")]
    pub emulator_persist: bool,

    #[command(flatten)]
    pub probe: ProbeFlag,

    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// The plan, then one line per app applied, then the summary.
    Text,
    /// One JSON document (`format_version` 1.0) with every app's outcome.
    Json,
}

// As for apply: export words the shared flags for itself.
#[derive(Debug, Args)]
#[command(
    mut_arg("parallelism", |a| a.help("How many apps to read at once")),
    mut_arg("emulator", |a| a.help(
        "Start the built-in emulator seeded from this state file and read every app there (the \
         file is not modified)"
    )),
)]
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
    #[arg(long, value_name = "NAME", default_value = crate::config::model::DEFAULT_IDENTIFIER)]
    pub identifier: String,

    /// Environment variable holding the secret key of the --sdkappid apps.
    #[arg(long, value_name = "NAME", default_value = crate::config::model::DEFAULT_SECRET_KEY_ENV)]
    pub secret_key_env: String,

    #[command(flatten)]
    pub parallelism: Parallelism,

    #[command(flatten)]
    pub emulator: EmulatorSeed,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// `--probe` of plan and apply.
#[derive(Debug, Args)]
pub struct ProbeFlag {
    /// Probe each created or changed callback URL as Tencent would call it (one request each,
    /// see `livehook probe`) and show the verdict; apply then refuses an app whose probe
    /// failed. Sends requests to the URLs the desired state names (README, "Security model").
    #[arg(long)]
    pub probe: bool,
}

// The shared flags' help is worded for plan; probe words them for itself.
#[derive(Debug, Args)]
#[command(
    mut_arg("targets", |a| a.help("Probe only this app (by name); repeat for several")),
    mut_arg("parallelism", |a| a.help("How many apps to probe at once")),
)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub paths: DesiredStatePaths,

    #[command(flatten)]
    pub targets: Targets,

    /// Send this command word (e.g. `Live.CallbackBeforeSendGift`) to every app instead of each
    /// app's first after-callback word. A before-callback is sent only when named here.
    #[arg(long, value_name = "WORD")]
    pub command: Option<String>,

    #[command(flatten)]
    pub parallelism: Parallelism,

    /// Output format: `text` for people, `json` for programs (versioned), `markdown` for a
    /// pull-request comment, `github` for annotations at each failed app's `url:` line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How livehook talks to Tencent; shared by every command that sends requests.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Give up on a request that has not been answered after SECS seconds (it is then retried
    /// like any other transient failure). Tencent's backend times out at 3 s, so keep it above
    /// that.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_timeout)]
    pub request_timeout: f64,

    /// Keep retrying a call's transient failures (network errors, stalls, HTTP 5xx, busy and
    /// rate-limit codes) for up to this long, e.g. `90s`, `5m`; a run against an endpoint that
    /// never answers gives up after it (plus one request timeout).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_retry_for)]
    pub retry_for: std::time::Duration,

    /// Multiplies every retry back-off (hidden: for tests that inject many faults and must
    /// not wait seconds per rate-limit answer; the defaults suit Tencent).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_scale, hide = true)]
    pub retry_backoff_scale: f64,

    /// Also send requests (each carries an admin UserSig) to this endpoint when a desired-state
    /// file or saved plan names it; repeat for several. Tencent's REST domains and loopback need
    /// no allowance; any other endpoint is refused before any request.
    #[arg(
        long = "allow-endpoint",
        value_name = "URL",
        env = "LIVEHOOK_ALLOW_ENDPOINTS",
        value_delimiter = ',',
        value_parser = parse_allowed_endpoint
    )]
    pub allowed_endpoints: Vec<url::Url>,
}

impl Command {
    /// The client settings of a command that sends requests.
    pub fn client_args(&self) -> Option<&ClientArgs> {
        match self {
            Command::Plan(args) => Some(&args.client),
            Command::Apply(args) => Some(&args.client),
            Command::Export(args) => Some(&args.client),
            _ => None,
        }
    }
}

/// Tencent's backend gives up after about 3 s; a client that gives up sooner cuts off answers
/// that were on their way.
pub const TENCENT_BACKEND_TIMEOUT_SECS: f64 = 3.0;

impl ClientArgs {
    /// A warning for settings that work but fight Tencent's own timing.
    pub fn warning(&self) -> Option<String> {
        (self.request_timeout <= TENCENT_BACKEND_TIMEOUT_SECS).then(|| {
            format!(
                "--request-timeout {} s is not above Tencent's {TENCENT_BACKEND_TIMEOUT_SECS} s backend timeout: answers that take longer are cut off and retried",
                self.request_timeout
            )
        })
    }

    /// The endpoints requests may go to besides Tencent's domains and loopback.
    pub fn trusted_endpoints(&self) -> crate::trusted_endpoints::TrustedEndpoints {
        crate::trusted_endpoints::TrustedEndpoints::new(self.allowed_endpoints.clone())
    }

    pub fn options(&self) -> crate::tim::client::ClientOptions {
        let timeout = std::time::Duration::from_secs_f64(self.request_timeout);
        let defaults = crate::tim::client::ClientOptions::default();
        let scale = |d: std::time::Duration| d.mul_f64(self.retry_backoff_scale);
        crate::tim::client::ClientOptions {
            timeout,
            // Connecting is part of the request, so it never gets longer than the whole.
            connect_timeout: defaults.connect_timeout.min(timeout),
            min_backoff: scale(defaults.min_backoff),
            max_backoff: scale(defaults.max_backoff),
            rate_limit_min_backoff: scale(defaults.rate_limit_min_backoff),
            retry_for: self.retry_for,
            ..defaults
        }
    }
}

fn parse_allowed_endpoint(text: &str) -> Result<url::Url, String> {
    crate::config::check_endpoint(text).map_err(|problem| problem.to_string())
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(factor) if (0.001..=100.0).contains(&factor) => Ok(factor),
        _ => Err(format!("`{text}` is not a factor from 0.001 to 100")),
    }
}

fn parse_retry_for(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}): write it like `90s`, `5m` or `1h`"))
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if (0.1..=3600.0).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0.1 to 3600"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terraform-shaped text, coloured on a terminal.
    Text,
    /// The versioned JSON document (`format_version` 1.0).
    Json,
    /// A pull-request comment: summary, table, collapsed diffs; within GitHub's 65,536 characters.
    Markdown,
    /// GitHub Actions annotations on the YAML lines, then the plan; appends the markdown report to
    /// `$GITHUB_STEP_SUMMARY` when it is set.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail when any callback or webhook token would be deleted.
    Delete,
    /// Fail when anything would be created, updated or deleted.
    Change,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on. Use port 0 for any free port; the chosen one is printed.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// State file (apps, secret keys, callbacks, tokens); written atomically after each change.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,

    /// Answer every request this many milliseconds after it arrived (to within about 0.1 ms).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,

    /// Probability (0 to 1) that a request gets a fault: a 502, a stall, 100001, a rate-limit
    /// code or a truncated body.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub faults: f64,

    /// How long a stalled answer (one of the --faults) is held before it is sent, in
    /// milliseconds; a client is expected to time out first.
    #[arg(long, value_name = "N", default_value_t = 30_000)]
    pub stall_ms: u64,

    /// Serve HTTPS (HTTP/1.1 and HTTP/2, by ALPN) with this PEM certificate chain; needs
    /// --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub paths: DesiredStatePaths,

    /// Output format: `text` (drawn diagnostics), `json` (one object per problem) or `github`
    /// (workflow-command annotations on the YAML lines).
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Diagnostics drawn with file:line:column, snippet and help, on stderr.
    Text,
    /// `{"format_version", "valid", "diagnostics": [{file, line, column, severity, code, message, help}]}` on stdout.
    Json,
    /// GitHub Actions `::error`/`::warning` commands on stdout.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

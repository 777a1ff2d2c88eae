//! Command-line interface: argument parsing (clap derive), dispatch, and the one place where an
//! outcome becomes an exit code.

mod apply;
mod args;
mod emulator;
mod export;
mod output;
mod plan;
mod saved;
mod session;
mod validate;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, ColorChoice, Command, Format};
pub use output::Streams;

/// How a run ended. Every command returns one; [`main`] maps it to the process status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: invalid input, a failed app, a refused apply.
    Failure,
    /// Exit 2: `plan --detailed-exitcode` found changes.
    Changes,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Changes => 2,
        }
    }
}

/// Parses `args`, runs the command against the process's stdout and stderr, and returns the exit
/// status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with status 0, and usage errors to stderr
            // with status 2; livehook reserves 2 for "changes", so usage errors exit 1.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let mut streams = Streams::from_process(cli.color);
    init_logging(cli.verbose, streams.err_colored);
    if let Some(warning) = cli.command.client_args().and_then(|c| c.warning()) {
        report(&mut streams, Severity::Warning, &warning, None);
    }
    let outcome = run(cli, &mut streams);
    let _ = streams.out.flush();
    ExitCode::from(outcome.exit_code())
}

/// Runs a parsed command line, writing to `streams`.
pub fn run(cli: Cli, streams: &mut Streams) -> Outcome {
    match cli.command {
        Command::Validate(args) => validate::run(&args, streams),
        Command::Plan(args) => plan::run(&args, streams),
        Command::Apply(args) => apply::run(&args, streams),
        Command::Export(args) => export::run(&args, streams),
        Command::Emulator(args) => emulator::run(&args, streams),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "livehook", &mut streams.out);
            Outcome::Success
        }
        Command::Schema => {
            let _ = streams
                .out
                .write_all(crate::config::schema_text().as_bytes());
            Outcome::Success
        }
    }
}

/// With `-v`, livehook's own debug events go to stderr, coloured only when
/// stderr is. Events from dependencies (hyper, reqwest, rustls) are left out: they are noise to a
/// user, and some quote the request URL, whose query carries the UserSig.
fn init_logging(verbose: bool, colored: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    if !verbose {
        return;
    }
    let level = LevelFilter::DEBUG;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colored);
    // Fails only when a subscriber is already set (a test calling `main` twice): keep that one.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(Targets::new().with_target("livehook", level))
        .try_init();
}

/// A multi-threaded Tokio runtime for commands that talk HTTP. Failing to start one means the
/// process cannot create threads; nothing sensible can follow.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the Tokio runtime starts")
}

/// Writes `error: MESSAGE` (and `help: HELP`) to stderr: the shape of every failure that is not
/// about a place in a desired-state file.
fn report_error(streams: &mut Streams, message: &str, help: Option<&str>) {
    report(streams, Severity::Error, message, help);
}

enum Severity {
    Error,
    Warning,
}

/// `error: …` in bold red or `warning: …` in bold yellow, then an optional `help:` line.
fn report(streams: &mut Streams, severity: Severity, message: &str, help: Option<&str>) {
    let (label, colour) = match severity {
        Severity::Error => ("error:", anstyle::AnsiColor::Red),
        Severity::Warning => ("warning:", anstyle::AnsiColor::Yellow),
    };
    let style = colour.on_default().effects(anstyle::Effects::BOLD);
    let _ = writeln!(
        streams.err,
        "{}{label}{} {message}",
        style.render(),
        style.render_reset()
    );
    if let Some(help) = help {
        let _ = writeln!(streams.err, "  help: {help}");
    }
}

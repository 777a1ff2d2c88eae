//! Command-line interface: argument parsing (clap derive), dispatch, and the one place where an
//! outcome becomes an exit code and an error is printed.
//!
//! Each command module parses nothing and decides nothing the library could: it calls the library
//! and presents what comes back. Clap types all live in `args`, so that no two command modules
//! import each other.

mod apply;
mod args;
mod desired;
mod emulator;
mod export;
mod outcome;
mod output;
mod plan;
mod probe;
mod saved;
mod session;
mod validate;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, ColorChoice, Command, Format};
pub use outcome::{CliError, Outcome, Problem};
pub use output::Streams;

/// Parses `args`, runs the command against the process's streams, and returns the exit status.
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
    let outcome = run(cli, &mut streams);
    let _ = streams.out.flush();
    ExitCode::from(outcome.exit_code())
}

/// Runs a parsed command line against `streams`, printing the error a command stopped with.
pub fn run(cli: Cli, streams: &mut Streams) -> Outcome {
    if let Some(warning) = cli.command.client_args().and_then(|c| c.warning()) {
        streams.warning(&warning);
    }
    match dispatch(cli.command, streams) {
        Ok(outcome) => outcome,
        Err(error) => {
            streams.error(&error);
            Outcome::Failure
        }
    }
}

fn dispatch(command: Command, streams: &mut Streams) -> Result<Outcome, CliError> {
    match command {
        Command::Validate(args) => Ok(validate::run(&args, streams)),
        Command::Plan(args) => plan::run(&args, streams),
        Command::Apply(args) => apply::run(&args, streams),
        Command::Export(args) => export::run(&args, streams),
        Command::Probe(args) => probe::run(&args, streams),
        Command::Emulator(args) => emulator::run(&args, streams),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "livehook", &mut streams.out);
            Ok(Outcome::Success)
        }
        Command::Schema => {
            let _ = streams
                .out
                .write_all(crate::config::schema_text().as_bytes());
            Ok(Outcome::Success)
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

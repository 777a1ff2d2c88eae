//! `livehook emulator`: the local live_config emulator as a long-running process.

use std::io::Write;
use std::time::Duration;

use super::args::EmulatorArgs;
use super::outcome::{CliError, Outcome};
use super::output::Streams;
use super::session::{load_emulator_state, runtime};
use crate::emulator::{Emulator, Options};

pub fn run(args: &EmulatorArgs, streams: &mut Streams) -> Result<Outcome, CliError> {
    if !(0.0..=1.0).contains(&args.faults) {
        return Err(
            CliError::new(format!("--faults {} is not a probability", args.faults))
                .with_help("give a rate from 0 to 1, e.g. --faults 0.3"),
        );
    }
    let state = load_emulator_state(&args.state)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::emulator::load_tls(cert, key).map_err(|e| {
            CliError::new(e.to_string())
                .with_help("give a PEM certificate chain and its PEM private key")
        })?),
        _ => None,
    };
    let options = Options {
        tls,
        listen: args.listen,
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.faults,
        stall: Duration::from_millis(args.stall_ms),
        persist_to: Some(args.state.clone()),
        // Nobody reads the record in this process, and it would grow for as long as it runs.
        record_requests: false,
        ..Options::default()
    };
    runtime().block_on(async {
        let emulator = match Emulator::start(state, options).await {
            Ok(emulator) => emulator,
            Err(e) => {
                return Err(
                    CliError::new(format!("cannot listen on {}: {e}", args.listen))
                        .with_help("pick another address or port (port 0 picks a free one)"),
                );
            }
        };
        tracing::debug!(
            url = %emulator.base_url(),
            apps = emulator.state().apps.len(),
            latency_ms = args.latency_ms,
            faults = args.faults,
            stall_ms = args.stall_ms,
            state_file = %args.state.display(),
            "emulator started"
        );
        // Scripts wait for this exact line, then read the port from it.
        let _ = writeln!(
            streams.out,
            "livehook emulator listening on {}",
            emulator.base_url()
        );
        let _ = streams.out.flush();
        let _ = tokio::signal::ctrl_c().await;
        emulator.shutdown().await;
        Ok(Outcome::Success)
    })
}

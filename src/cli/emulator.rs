//! `livehook emulator`: the local live_config emulator as a long-running process.

use std::io::Write;
use std::time::Duration;

use super::args::EmulatorArgs;
use super::{Outcome, Streams, report_error, runtime};
use crate::emulator::{Emulator, Options, State};

pub fn run(args: &EmulatorArgs, streams: &mut Streams) -> Outcome {
    if !(0.0..=1.0).contains(&args.faults) {
        report_error(
            streams,
            &format!("--faults {} is not a probability", args.faults),
            Some("give a rate from 0 to 1, e.g. --faults 0.3"),
        );
        return Outcome::Failure;
    }
    let state = match State::load(&args.state) {
        Ok(state) => state,
        Err(e) => {
            report_error(
                streams,
                &e.to_string(),
                Some("see the README's \"Emulator state file\" section for the format"),
            );
            return Outcome::Failure;
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match crate::emulator::load_tls(cert, key) {
            Ok(config) => Some(config),
            Err(e) => {
                report_error(
                    streams,
                    &e.to_string(),
                    Some("give a PEM certificate chain and its PEM private key"),
                );
                return Outcome::Failure;
            }
        },
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
                report_error(
                    streams,
                    &format!("cannot listen on {}: {e}", args.listen),
                    Some("pick another address or port (port 0 picks a free one)"),
                );
                return Outcome::Failure;
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
        Outcome::Success
    })
}

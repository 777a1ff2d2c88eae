//! Loading the desired state for `plan`, `apply` and `export`: its warnings are drawn, its errors
//! and unknown `--target` names become the command's error.

use std::path::PathBuf;

use super::outcome::CliError;
use super::output::Streams;
use crate::config::{self, App, UnknownTargets};

/// Loads the desired state (drawing its warnings) and keeps the `--target` apps.
pub(super) fn load_apps(
    paths: &[PathBuf],
    targets: &[String],
    streams: &mut Streams,
) -> Result<Vec<App>, CliError> {
    let desired = config::load(paths).map_err(|diagnostics| {
        CliError::new("the desired state is invalid; nothing was read or changed")
            .with_help("`livehook validate` shows the same problems")
            .with_diagnostics(diagnostics)
    })?;
    streams.diagnostics(&desired.warnings);
    desired.select(targets).map_err(unknown_targets)
}

fn unknown_targets(error: UnknownTargets) -> CliError {
    let names: Vec<String> = error.unknown.iter().map(|t| format!("`{t}`")).collect();
    let suggestion = error
        .suggestion()
        .map(|best| format!("did you mean `{best}`? "))
        .unwrap_or_default();
    CliError::new(format!("--target names no app: {}", names.join(", "))).with_help(format!(
        "{suggestion}apps in the desired state: {}",
        error.known.join(", ")
    ))
}

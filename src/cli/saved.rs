//! `plan --out FILE`: saving the plan for `apply --plan FILE`.

use std::io::Write;
use std::path::Path;

use super::outcome::CliError;
use super::output::Streams;
use crate::config::App;
use crate::credentials::Credentials;
use crate::plan::AppPlan;
use crate::plan::saved;

/// Writes the saved plan of `apps` to `path` and says so on stderr (stdout carries the plan
/// itself).
pub(super) fn write(
    path: &Path,
    apps: &[App],
    plans: &[AppPlan],
    credentials: &[Credentials],
    streams: &mut Streams,
) -> Result<(), CliError> {
    let built = saved::build(apps, plans, credentials).map_err(|(app, problem)| {
        let variable = apps
            .iter()
            .find(|a| a.name == app)
            .map_or("", |a| a.secret_key_env.as_str());
        CliError::new(format!(
            "the plan was not saved to {}: it is authenticated with each app's secret key, and \
             the variable of app `{app}`, {variable}, {problem}",
            path.display()
        ))
        .with_help("set the variable to the app's secret key as the console shows it")
    })?;
    let saved = built.ok_or_else(|| {
        CliError::new(format!(
            "the plan was not saved to {}: some apps could not be read",
            path.display()
        ))
        .with_help(
            "a saved plan must record every app's live state; fix the app errors shown in the plan and plan again",
        )
    })?;
    saved.write(path).map_err(|e| {
        CliError::new(e.to_string()).with_help("check that the directory exists and is writable")
    })?;
    let _ = writeln!(
        streams.err,
        "Saved the plan to {}. Apply exactly this plan with `livehook apply --plan {}`.",
        path.display(),
        path.display()
    );
    Ok(())
}

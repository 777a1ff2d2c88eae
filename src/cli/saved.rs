//! `plan --out FILE`: saving the plan for `apply --plan FILE`.

use std::io::Write;
use std::path::Path;

use super::{Streams, report_error};
use crate::config::App;
use crate::plan::AppPlan;
use crate::plan::saved;

/// Writes the saved plan of `apps` to `path` and says so on stderr (stdout carries the plan
/// itself). Returns false, having reported why, when it could not be written.
pub(super) fn write(path: &Path, apps: &[App], plans: &[AppPlan], streams: &mut Streams) -> bool {
    let Some(saved) = saved::build(apps, plans) else {
        report_error(
            streams,
            &format!(
                "the plan was not saved to {}: some apps could not be read",
                path.display()
            ),
            Some(
                "a saved plan must record every app's live state; fix the app errors shown in the plan and plan again",
            ),
        );
        return false;
    };
    match saved.write(path) {
        Ok(()) => {
            let _ = writeln!(
                streams.err,
                "Saved the plan to {}. Apply exactly this plan with `livehook apply --plan {}`.",
                path.display(),
                path.display()
            );
            true
        }
        Err(e) => {
            report_error(
                streams,
                &e.to_string(),
                Some("check that the directory exists and is writable"),
            );
            false
        }
    }
}

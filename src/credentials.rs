//! Turns apps into call targets: where to call, as whom, with which secret key.
//!
//! Keys come from the environment variable each app names. All of them are resolved before any
//! request is sent, so a missing variable fails the run up front, naming the variable and every
//! app that needs it.

use std::collections::BTreeMap;

use crate::config::App;
use crate::tim::client::{Secret, Target};

/// An environment variable that is unset or empty, and the apps that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey {
    pub variable: String,
    pub apps: Vec<String>,
}

/// Builds a target for each app. `base_url` overrides every app's region or endpoint (the
/// in-process emulator); `fallback_key` supplies a key when the variable is unset (the emulator's
/// state file).
pub fn targets(
    apps: &[App],
    base_url: Option<&str>,
    fallback_key: impl Fn(u64) -> Option<String>,
) -> Result<Vec<Target>, Vec<MissingKey>> {
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut targets = Vec::with_capacity(apps.len());
    for app in apps {
        let key = std::env::var(&app.secret_key_env)
            .ok()
            .filter(|k| !k.is_empty())
            .or_else(|| fallback_key(app.sdkappid));
        match key {
            Some(key) => targets.push(Target {
                base_url: base_url.map_or_else(|| app.location.base_url(), str::to_owned),
                sdkappid: app.sdkappid,
                identifier: app.identifier.clone(),
                secret_key: Secret::new(key),
            }),
            None => missing
                .entry(app.secret_key_env.clone())
                .or_default()
                .push(app.name.clone()),
        }
    }
    if missing.is_empty() {
        Ok(targets)
    } else {
        Err(missing
            .into_iter()
            .map(|(variable, apps)| MissingKey { variable, apps })
            .collect())
    }
}

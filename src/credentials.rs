//! Turns apps into call targets and token values: where to call, as whom, with which secret key,
//! and which webhook token to set.
//!
//! Secret keys come from the environment variable each app names (`secret_key_env`), token values
//! from the token's `value_env`. All of them are resolved before any request is sent, so a missing
//! variable fails the run up front, naming the variable and every app that needs it.

use std::collections::BTreeMap;

use crate::config::{App, Managed, TokenSpec};
use crate::plan::token::{self, TokenState};
use crate::tim::MAX_TOKEN_CHARS;
use crate::tim::client::{Secret, Target};

/// What an app needs to be read and written.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub target: Target,
    /// The key came from the emulator's state file: every request goes to the in-process
    /// emulator, so it need not have a real key's shape to authenticate a saved plan.
    pub key_from_emulator: bool,
    /// Whether the token is managed (present or `absent`), so `get_callback_token` is read.
    pub reads_token: bool,
    /// The token to set, when the app declares `token: {value_env, …}`.
    pub token: Option<TokenValue>,
}

/// A desired webhook token: the value (for apply only) and its keyed fingerprint (for the plan).
#[derive(Debug, Clone)]
pub struct TokenValue {
    pub value: Secret,
    pub state: TokenState,
}

/// Which kind of secret a variable holds, for the error message and its help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VariableKind {
    SecretKey,
    Token,
}

/// What is wrong with a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// Unset or empty.
    Unset,
    /// A token longer than Tencent accepts (the length in characters).
    TooLong(usize),
}

/// An environment variable that is unusable, and the apps that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVariable {
    pub variable: String,
    pub kind: VariableKind,
    pub problem: Problem,
    pub apps: Vec<String>,
}

impl MissingVariable {
    /// One line naming the variable, what is wrong and who needs it; never the value.
    pub fn message(&self) -> String {
        let apps: Vec<String> = self.apps.iter().map(|a| format!("`{a}`")).collect();
        let needed_by = match apps.len() {
            1 => format!("app {}", apps[0]),
            _ => format!("apps {}", apps.join(", ")),
        };
        let what = match self.kind {
            VariableKind::SecretKey => "secret key",
            VariableKind::Token => "webhook token",
        };
        match self.problem {
            Problem::Unset => format!(
                "environment variable {} is not set (needed by {needed_by})",
                self.variable
            ),
            Problem::TooLong(n) => format!(
                "environment variable {} holds a {what} of {n} characters; Tencent accepts 1 to \
                 {MAX_TOKEN_CHARS} (needed by {needed_by})",
                self.variable
            ),
        }
    }
}

/// Resolves every app. `base_url` overrides every app's region or endpoint (the in-process
/// emulator); `emulator_key` supplies the secret key of an app the emulator's state file lists, which
/// wins over its variable. Token values have no such source: they are the user's to choose.
pub fn resolve(
    apps: &[App],
    base_url: Option<&str>,
    emulator_key: impl Fn(u64) -> Option<String>,
) -> Result<Vec<Credentials>, Vec<MissingVariable>> {
    let mut missing: BTreeMap<(VariableKind, String, Problem), Vec<String>> = BTreeMap::new();
    let mut resolved = Vec::with_capacity(apps.len());
    for app in apps {
        // Under `--emulator` its state file is the truth: a production key exported in the
        // shell would only earn 70009 there, so the file's key wins when it has one.
        let emulated = emulator_key(app.sdkappid);
        let key_from_emulator = emulated.is_some();
        let key = emulated.or_else(|| non_empty_var(&app.secret_key_env));
        let mut problems = Vec::new();
        if key.is_none() {
            problems.push((
                VariableKind::SecretKey,
                app.secret_key_env.clone(),
                Problem::Unset,
            ));
        }
        // Checked even when the key is missing, so that one run names every missing variable.
        let token_value = match &app.token {
            Some(Managed::Present(spec)) => match token_variable(spec) {
                Ok(value) => Some((value, spec.enabled)),
                Err(problem) => {
                    problems.push((VariableKind::Token, spec.value_env.clone(), problem));
                    None
                }
            },
            _ => None,
        };
        let (Some(key), true) = (key, problems.is_empty()) else {
            for problem in problems {
                missing.entry(problem).or_default().push(app.name.clone());
            }
            continue;
        };
        let secret_key = Secret::new(key);
        let token = token_value.map(|(value, enabled)| TokenValue {
            state: TokenState {
                fingerprint: token::fingerprint(&secret_key, app.sdkappid, &value),
                enabled,
            },
            value: Secret::new(value),
        });
        resolved.push(Credentials {
            target: Target {
                base_url: base_url.map_or_else(|| app.location.base_url(), str::to_owned),
                sdkappid: app.sdkappid,
                identifier: app.identifier.clone(),
                secret_key,
            },
            key_from_emulator,
            reads_token: app.token.is_some(),
            token,
        });
    }
    if missing.is_empty() {
        Ok(resolved)
    } else {
        Err(missing
            .into_iter()
            .map(|((kind, variable, problem), apps)| MissingVariable {
                variable,
                kind,
                problem,
                apps,
            })
            .collect())
    }
}

/// The token Tencent signs an app's callbacks with: its `value_env` variable's value when the
/// token is managed and enabled (`None` otherwise), for `livehook probe`, which needs no secret
/// key. A variable that is unset or too long is the same error as for plan and apply.
pub fn signing_tokens(apps: &[App]) -> Result<Vec<Option<Secret>>, Vec<MissingVariable>> {
    let mut missing: BTreeMap<(String, Problem), Vec<String>> = BTreeMap::new();
    let mut tokens = Vec::with_capacity(apps.len());
    for app in apps {
        let token = match &app.token {
            Some(Managed::Present(spec)) if spec.enabled => match token_variable(spec) {
                Ok(value) => Some(Secret::new(value)),
                Err(problem) => {
                    let key = (spec.value_env.clone(), problem);
                    missing.entry(key).or_default().push(app.name.clone());
                    None
                }
            },
            _ => None,
        };
        tokens.push(token);
    }
    if missing.is_empty() {
        return Ok(tokens);
    }
    Err(missing
        .into_iter()
        .map(|((variable, problem), apps)| MissingVariable {
            variable,
            kind: VariableKind::Token,
            problem,
            apps,
        })
        .collect())
}

/// A token's value from its `value_env` variable, or what is wrong with the variable.
fn token_variable(spec: &TokenSpec) -> Result<String, Problem> {
    match non_empty_var(&spec.value_env) {
        Some(value) if value.chars().count() > MAX_TOKEN_CHARS => {
            Err(Problem::TooLong(value.chars().count()))
        }
        Some(value) => Ok(value),
        None => Err(Problem::Unset),
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

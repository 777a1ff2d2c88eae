//! Turns apps into call targets and token values: where to call, as whom, with which secret key,
//! and which webhook token to set.
//!
//! Secret keys come from the environment variable each app names (`secret_key_env`), token values
//! from the token's `value_env`, and the secrets of a callback URL from the variables its
//! `${NAME}` references name. All of them are resolved before any request is sent, so a missing
//! variable fails the run up front, naming the variable and every app that needs it.

use std::collections::BTreeMap;

use crate::config::url_template::UrlTemplate;
use crate::config::{App, Managed, TokenSpec, parse_http_url, url_text};
use crate::plan::Desired;
use crate::plan::token::{self, SecretKind, TokenState};
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
    /// The callback URL to send, when the app declares `callback: {url, …}`.
    pub callback_url: Option<CallbackUrl>,
}

impl Credentials {
    /// What the plan compares the app's live state with, reduced to keyed fingerprints.
    pub fn desired(&self) -> Desired<'_> {
        Desired {
            token: self.token.as_ref().map(|t| &t.state),
            url_fingerprint: self
                .callback_url
                .as_ref()
                .and_then(|u| u.fingerprint.as_deref()),
        }
    }
}

/// A desired callback URL: the template as written (what is shown), the URL it resolves to (what
/// is sent, a secret when it has `${NAME}`), and that URL's keyed fingerprint (what is compared
/// and saved, only when it has `${NAME}`: a plain URL is compared as it is).
#[derive(Debug, Clone)]
pub struct CallbackUrl {
    pub template: UrlTemplate,
    pub resolved: Secret,
    pub fingerprint: Option<String>,
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
    /// Named by a `${NAME}` in a callback URL.
    CallbackUrl,
}

/// What is wrong with a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// Unset or empty.
    Unset,
    /// A token longer than Tencent accepts (the length in characters).
    TooLong(usize),
    /// The callback URL it completes is not a URL that can be sent; why, in words that never
    /// quote the value.
    MakesUrlInvalid(&'static str),
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
        let noun = if self.apps.len() == 1 { "app" } else { "apps" };
        let needed_by = format!("{noun} {}", quoted_names(&self.apps));
        let what = match self.kind {
            VariableKind::SecretKey => "secret key",
            VariableKind::Token => "webhook token",
            VariableKind::CallbackUrl => "callback url secret",
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
            Problem::MakesUrlInvalid(why) => format!(
                "environment variable {} makes the callback url of {needed_by} unusable: {why}",
                self.variable
            ),
        }
    }
}

/// At most this many names in one message: with hundreds of apps the list would bury the point.
const NAMES_LISTED: usize = 10;

/// "`a`, `b`", or "`a`, … `j` and 4990 more" past [`NAMES_LISTED`].
pub fn quoted_names<S: AsRef<str>>(names: &[S]) -> String {
    let listed: Vec<String> = names
        .iter()
        .take(NAMES_LISTED)
        .map(|name| format!("`{}`", name.as_ref()))
        .collect();
    match names.len().checked_sub(NAMES_LISTED) {
        Some(more) if more > 0 => format!("{} and {more} more", listed.join(", ")),
        _ => listed.join(", "),
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
    let mut missing = Missing::new();
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
        let url = match &app.callback {
            Some(Managed::Present(callback)) => resolve_url(&callback.url, &mut problems),
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
                fingerprint: token::fingerprint(
                    &secret_key,
                    app.sdkappid,
                    SecretKind::Token,
                    &value,
                ),
                enabled,
            },
            value: Secret::new(value),
        });
        let callback_url = url.map(|(template, resolved)| CallbackUrl {
            fingerprint: template.has_variables().then(|| {
                token::fingerprint(
                    &secret_key,
                    app.sdkappid,
                    SecretKind::CallbackUrl,
                    &resolved,
                )
            }),
            template,
            resolved: Secret::new(resolved),
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
            callback_url,
            token,
        });
    }
    if missing.is_empty() {
        Ok(resolved)
    } else {
        Err(missing_variables(missing))
    }
}

/// What a probe of an app's desired callback sends, resolved from the environment as plan and
/// apply resolve it (with the same errors), but without a secret key: a probe never talks to
/// Tencent.
#[derive(Debug, Clone)]
pub struct ProbeSecrets {
    /// The callback URL with its `${NAME}`s resolved: what is sent, never shown.
    pub url: Secret,
    /// The values of those `${NAME}`s, to scrub from whatever a receiver answers.
    pub url_values: Vec<Secret>,
    /// The webhook token when it is managed and enabled: Tencent signs callbacks with it.
    pub token: Option<Secret>,
}

/// [`ProbeSecrets`] of every app whose callback is desired (`None` for the others).
pub fn probe_secrets(apps: &[App]) -> Result<Vec<Option<ProbeSecrets>>, Vec<MissingVariable>> {
    let mut missing = Missing::new();
    let mut resolved = Vec::with_capacity(apps.len());
    for app in apps {
        let Some(Managed::Present(callback)) = &app.callback else {
            resolved.push(None);
            continue;
        };
        let mut problems = Vec::new();
        let url = resolve_url(&callback.url, &mut problems);
        let token = match &app.token {
            Some(Managed::Present(spec)) if spec.enabled => match token_variable(spec) {
                Ok(value) => Some(Secret::new(value)),
                Err(problem) => {
                    problems.push((VariableKind::Token, spec.value_env.clone(), problem));
                    None
                }
            },
            _ => None,
        };
        for problem in problems {
            missing.entry(problem).or_default().push(app.name.clone());
        }
        resolved.push(url.map(|(template, url)| ProbeSecrets {
            url: Secret::new(url),
            url_values: url_values(&template),
            token,
        }));
    }
    if missing.is_empty() {
        Ok(resolved)
    } else {
        Err(missing_variables(missing))
    }
}

/// Each unusable variable gathered by a resolve, with the apps that need it, so that one run
/// names them all.
type Missing = BTreeMap<(VariableKind, String, Problem), Vec<String>>;

fn missing_variables(missing: Missing) -> Vec<MissingVariable> {
    missing
        .into_iter()
        .map(|((kind, variable, problem), apps)| MissingVariable {
            variable,
            kind,
            problem,
            apps,
        })
        .collect()
}

/// The values of a URL template's `${NAME}`s, as resolved from the environment.
pub fn url_values(template: &UrlTemplate) -> Vec<Secret> {
    template
        .variables()
        .into_iter()
        .filter_map(non_empty_var)
        .map(Secret::new)
        .collect()
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

/// The template `text` and the URL it resolves to from the environment, or `None` with the
/// problems added: variables unset or empty, or values that make the URL one that cannot be sent
/// (the same rules as a URL written in a file, so what is sent is checked either way).
fn resolve_url(
    text: &str,
    problems: &mut Vec<(VariableKind, String, Problem)>,
) -> Option<(UrlTemplate, String)> {
    // Files are validated, so a template that does not parse comes from an app made in code: its
    // URL is taken as written, as before templates existed.
    let Ok(template) = UrlTemplate::parse(text) else {
        return Some((
            UrlTemplate::parse(&text.replace('$', "$$")).ok()?,
            text.to_owned(),
        ));
    };
    let resolved = match template.resolve(non_empty_var) {
        Ok(resolved) => resolved,
        Err(missing) => {
            for variable in missing {
                problems.push((VariableKind::CallbackUrl, variable, Problem::Unset));
            }
            return None;
        }
    };
    if template.has_variables() {
        if let Some(why) = unsendable(&resolved) {
            for variable in template.variables() {
                let problem = Problem::MakesUrlInvalid(why);
                problems.push((VariableKind::CallbackUrl, variable.to_owned(), problem));
            }
            return None;
        }
    }
    Some((template, resolved))
}

/// Why a resolved callback URL cannot be sent, without saying where in it (which would tell the
/// length of a value).
fn unsendable(url: &str) -> Option<&'static str> {
    use url_text::UrlTextProblem as P;
    match url_text::check(url) {
        Err(P::Whitespace { .. }) => Some("its value holds whitespace"),
        Err(P::Control { .. }) => Some("its value holds a control character"),
        Err(P::Bidi { .. }) => Some("its value holds a bidirectional control character"),
        Err(P::Userinfo) => Some("its value puts a user name or password before the host"),
        Ok(()) => parse_http_url(url).err(),
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Location, Origin, Position};
    use crate::tim::region::Region;
    use crate::tim::wire::Callback;

    #[test]
    fn quoted_names_lists_ten_and_counts_the_rest() {
        let names: Vec<String> = (0..13).map(|i| format!("app-{i}")).collect();
        assert_eq!(quoted_names(&names[..2]), "`app-0`, `app-1`");
        assert_eq!(
            quoted_names(&names[..10]),
            "`app-0`, `app-1`, `app-2`, `app-3`, `app-4`, `app-5`, `app-6`, `app-7`, `app-8`, `app-9`"
        );
        assert_eq!(
            quoted_names(&names),
            "`app-0`, `app-1`, `app-2`, `app-3`, `app-4`, `app-5`, `app-6`, `app-7`, `app-8`, \
             `app-9` and 3 more"
        );
    }

    fn app(name: &str, url: &str) -> App {
        App {
            name: name.into(),
            sdkappid: 1,
            location: Location::Region(Region::Singapore),
            identifier: "administrator".into(),
            secret_key_env: "K".into(),
            callback: Some(Managed::Present(Callback {
                url: url.into(),
                commands: vec!["Live.CallbackAfterCreateRoom".into()],
            })),
            token: None,
            origin: Origin::at(Position {
                file: "t.yaml".into(),
                line: 1,
                column: 1,
            }),
        }
    }

    #[test]
    fn url_variables_are_resolved_checked_and_named_with_their_apps() {
        let key = |_: u64| Some("k".to_owned());
        // Unset (this name is set by no environment).
        let apps = [
            app("a", "https://h/?k=${LIVEHOOK_TEST_UNSET_URL_VARIABLE}"),
            app("b", "https://h/${LIVEHOOK_TEST_UNSET_URL_VARIABLE}"),
        ];
        let missing = resolve(&apps, None, key).unwrap_err();
        assert_eq!(missing.len(), 1);
        assert_eq!(
            missing[0].message(),
            "environment variable LIVEHOOK_TEST_UNSET_URL_VARIABLE is not set (needed by apps `a`, `b`)"
        );
        // Without variables: sent as written, `$$` as `$`, compared as it is (no fingerprint).
        let plain = resolve(&[app("c", "https://h/?c=$$5")], None, key).unwrap();
        let url = plain[0].callback_url.as_ref().unwrap();
        assert_eq!(url.resolved.expose(), "https://h/?c=$5");
        assert!(url.fingerprint.is_none() && plain[0].desired().url_fingerprint.is_none());
    }

    #[test]
    fn a_value_that_breaks_the_url_is_named_without_its_position() {
        assert_eq!(
            unsendable("https://h/?k=a b"),
            Some("its value holds whitespace")
        );
        assert_eq!(
            unsendable("https://u:p@h/"),
            Some("its value puts a user name or password before the host")
        );
        assert_eq!(
            unsendable("ftp://h/"),
            Some("only http:// and https:// are allowed")
        );
        assert_eq!(unsendable("https://h/?k=abc"), None);
    }
}

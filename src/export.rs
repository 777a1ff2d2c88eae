//! Export: the live configuration of apps as a desired-state file (format 1), to start a
//! repository from what is live today.
//!
//! The document is built as a YAML tree and written by saphyr's emitter, never by pasting values
//! into text, so a URL with a `#`, a colon or a quote comes out quoted as YAML needs. The emitter
//! cannot write comments; the few that help a reader (the header, and where each token's value
//! must come from) are added as whole lines around the emitted text, and never contain a value
//! read from Tencent.
//!
//! What it writes plans back to no changes: a missing callback or token is written as `absent`
//! (so it stays missing), command words livehook does not know are listed in `extra_commands`,
//! and a token is written as the variable its value must be put in — livehook never exports a
//! token's value. A callback URL is written as a template: the template the app's file already
//! has when the live URL has its shape (so a `${NAME}` secret stays out of the export), otherwise
//! the live URL with each `$` doubled.

use std::collections::{BTreeSet, HashSet};

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};

use crate::config::model::{ABSENT, DEFAULT_IDENTIFIER, DEFAULT_SECRET_KEY_ENV, FORMAT_VERSION};
use crate::config::url_template::{self, UrlTemplate};
use crate::config::{App, Location, Managed, TokenSpec};
use crate::credentials::Credentials;
use crate::plan::{AppError, LiveState};
use crate::tim::command_words;

/// `app` as it is `live`: a desired state that plans to no changes. Its callback and token are
/// managed, `absent` where none is configured; a token's value goes in the variable the app
/// already names, or in [`suggested_token_env`].
pub fn as_live(app: &App, live: LiveState) -> App {
    let token = live.token.state().map(|t| TokenSpec {
        value_env: match &app.token {
            Some(Managed::Present(spec)) => spec.value_env.clone(),
            _ => suggested_token_env(&app.name),
        },
        enabled: t.enabled,
    });
    let callback = live.callback.map(|mut callback| {
        callback.url = exported_url(app, &callback.url);
        callback
    });
    App {
        callback: Some(callback.map_or(Managed::Absent, Managed::Present)),
        token: Some(token.map_or(Managed::Absent, Managed::Present)),
        ..app.clone()
    }
}

/// The template to write for a live callback URL: the app's own template when the file gives
/// one with `${NAME}` references and the live URL has its shape (the values stay in the
/// environment), otherwise the live URL with `$` written `$$`, so that it reads back as itself.
fn exported_url(app: &App, live: &str) -> String {
    let declared = match &app.callback {
        Some(Managed::Present(callback)) => UrlTemplate::parse(&callback.url).ok(),
        _ => None,
    };
    declared
        .filter(UrlTemplate::has_variables)
        .and_then(|template| template.mask_by_shape(live))
        .unwrap_or_else(|| live.replace('$', "$$"))
}

/// The desired token of an app, when it has one.
fn token(app: &App) -> Option<&TokenSpec> {
    match &app.token {
        Some(Managed::Present(token)) => Some(token),
        _ => None,
    }
}

/// The apps as export resolves their credentials: without their token and callback, because
/// export never needs a token's value nor a callback URL's secrets (it writes only the variables
/// they go in), so no such variable is asked for and the live URL is read as it is.
/// [`read_every_token`] then has the token read all the same.
pub fn for_reading(apps: &[App]) -> Vec<App> {
    apps.iter()
        .map(|a| App {
            token: None,
            callback: None,
            ..a.clone()
        })
        .collect()
}

/// Has every app's token read, whatever its file says: export shows a live token even where the
/// desired state leaves it unmanaged.
pub fn read_every_token(credentials: &mut [Credentials]) {
    for c in credentials {
        c.reads_token = true;
    }
}

/// An app whose live state could not be read, and why.
#[derive(Debug)]
pub struct Unreadable<'a> {
    pub app: &'a App,
    pub error: AppError,
}

/// The export of `apps` from their live state (read in the same order). Every app that could not
/// be read is an error: a file missing some apps would be mistaken for the whole picture.
pub fn from_live(
    apps: &[App],
    live: Vec<Result<LiveState, AppError>>,
) -> Result<Vec<App>, Vec<Unreadable<'_>>> {
    let mut exported = Vec::with_capacity(apps.len());
    let mut unreadable = Vec::new();
    for ((app, live), value_env) in apps.iter().zip(live).zip(token_envs(apps)) {
        match live {
            Ok(live) => {
                let mut exported_app = as_live(app, live);
                // The suggestion `as_live` made may be another app's too: see `token_envs`.
                if let Some(Managed::Present(token)) = &mut exported_app.token {
                    token.value_env = value_env;
                }
                exported.push(exported_app);
            }
            Err(error) => unreadable.push(Unreadable { app, error }),
        }
    }
    if unreadable.is_empty() {
        Ok(exported)
    } else {
        Err(unreadable)
    }
}

/// A variable name for an app's token: the app's name in upper case, non-alphanumerics as `_`,
/// then `_HOOK_TOKEN` (`prod-sg` → `PROD_SG_HOOK_TOKEN`).
pub fn suggested_token_env(app_name: &str) -> String {
    let mut name: String = app_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        // Variable names may not start with a digit.
        name.insert_str(0, "APP_");
    }
    name.push_str("_HOOK_TOKEN");
    name
}

/// Live command words that livehook does not know and that cannot be admitted through
/// `extra_commands` either (they do not have a command word's shape). The exported file would
/// not validate with them, so the caller warns.
pub fn unusable_words(apps: &[App]) -> Vec<String> {
    live_words(apps)
        .into_iter()
        .filter(|w| !command_words::is_known(w) && !command_words::has_shape(w))
        .collect()
}

fn live_words(apps: &[App]) -> BTreeSet<String> {
    apps.iter()
        .filter_map(|a| match &a.callback {
            Some(Managed::Present(callback)) => Some(callback),
            _ => None,
        })
        .flat_map(|c| c.commands.iter().cloned())
        .collect()
}

fn string(s: &str) -> Yaml<'static> {
    Yaml::Value(Scalar::String(s.to_owned().into()))
}

fn entry(map: &mut Mapping<'static>, key: &str, value: Yaml<'static>) {
    map.insert(string(key), value);
}

/// The desired-state file for `apps` (in the order given).
pub fn to_yaml(apps: &[App]) -> String {
    let mut root = Mapping::new();
    entry(
        &mut root,
        "version",
        Yaml::Value(Scalar::Integer(FORMAT_VERSION as i64)),
    );
    let extra: Vec<Yaml> = live_words(apps)
        .into_iter()
        .filter(|w| !command_words::is_known(w) && command_words::has_shape(w))
        .map(|w| string(&w))
        .collect();
    if !extra.is_empty() {
        entry(&mut root, "extra_commands", Yaml::Sequence(extra));
    }
    let mut list = Mapping::new();
    for app in apps {
        entry(&mut list, &app.name, Yaml::Mapping(app_node(app)));
    }
    entry(&mut root, "apps", Yaml::Mapping(list));

    let mut emitted = String::new();
    // Writing to a String cannot fail.
    let _ = YamlEmitter::new(&mut emitted).dump(&Yaml::Mapping(root));
    let body = emitted.strip_prefix("---\n").unwrap_or(&emitted);

    let mut out = String::new();
    out.push_str(&format!(
        "# Webhook configuration of {} exported by livehook {} from its live state.\n",
        crate::render::apps(apps.len()),
        env!("CARGO_PKG_VERSION")
    ));
    if apps.iter().any(|a| token(a).is_some()) {
        out.push_str(
            "# Token values are never exported: put each app's token in the variable its\n\
             # `value_env` names before `livehook plan` (which then shows no changes).\n",
        );
    }
    out.push_str(&with_token_comments(body, apps));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn app_node(app: &App) -> Mapping<'static> {
    let mut node = Mapping::new();
    entry(
        &mut node,
        "sdkappid",
        Yaml::Value(Scalar::Integer(app.sdkappid as i64)),
    );
    match &app.location {
        Location::Region(region) => entry(&mut node, "region", string(region.name())),
        Location::Endpoint(url) => entry(&mut node, "endpoint", string(url)),
    }
    if app.identifier != DEFAULT_IDENTIFIER {
        entry(&mut node, "identifier", string(&app.identifier));
    }
    if app.secret_key_env != DEFAULT_SECRET_KEY_ENV {
        entry(&mut node, "secret_key_env", string(&app.secret_key_env));
    }
    let callback = match &app.callback {
        None => None,
        Some(Managed::Present(c)) => {
            let mut map = Mapping::new();
            entry(&mut map, "url", string(&c.url));
            // Sorted and without repeats: the words are a set, and a stable order keeps
            // repeated exports diff-free.
            let words: BTreeSet<&String> = c.commands.iter().collect();
            entry(
                &mut map,
                "commands",
                Yaml::Sequence(words.into_iter().map(|w| string(w)).collect()),
            );
            Some(Yaml::Mapping(map))
        }
        Some(Managed::Absent) => Some(string(ABSENT)),
    };
    if let Some(callback) = callback {
        entry(&mut node, "callback", callback);
    }
    let token = match &app.token {
        None => None,
        Some(Managed::Present(t)) => {
            let mut map = Mapping::new();
            entry(&mut map, "value_env", string(&t.value_env));
            entry(&mut map, "enabled", Yaml::Value(Scalar::Boolean(t.enabled)));
            Some(Yaml::Mapping(map))
        }
        Some(Managed::Absent) => Some(string(ABSENT)),
    };
    if let Some(token) = token {
        entry(&mut node, "token", token);
    }
    node
}

/// Puts a comment line above each app's `token:` mapping. Apps are the mapping under `apps:`,
/// each starting on a line indented by exactly two spaces, in the order emitted; within one,
/// its `token:` key is the line indented by four spaces that starts with `token:`.
fn with_token_comments(emitted: &str, apps: &[App]) -> String {
    let mut out = String::with_capacity(emitted.len() + 128 * apps.len());
    let mut in_apps = false;
    let mut current: Option<usize> = None;
    for line in emitted.lines() {
        if line == "apps:" {
            in_apps = true;
        } else if in_apps && line.starts_with("  ") && !line.starts_with("   ") {
            current = Some(current.map_or(0, |i| i + 1));
        }
        let token = current.and_then(|i| apps.get(i)).and_then(token);
        if let (Some(token), true) = (token, line == "    token:") {
            out.push_str(&format!(
                "    # The value is not exported: set {} to this app's webhook token.\n",
                token.value_env
            ));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Apps whose exported callback URL would not pass validation as it is (whitespace, a control
/// character, credentials, not an http(s) URL), with the problem in words that never quote the
/// URL. The exported file keeps the URL as it is live, so the caller warns.
pub fn unusable_urls(apps: &[App]) -> Vec<(String, String)> {
    apps.iter()
        .filter_map(|app| {
            let url = exported_template(app)?;
            let problem = match crate::config::url_text::check(&url.to_string()) {
                Err(problem) => problem.to_string(),
                Ok(()) => crate::config::parse_http_url(&url.with_placeholders())
                    .err()
                    .map(|why| format!("is not an absolute http(s) URL ({why})"))?,
            };
            Some((app.name.clone(), problem))
        })
        .collect()
}

/// Apps whose exported callback URL is the live one as it is, and carries userinfo or a query:
/// receivers that do not check Tencent's signature often take a key there, and the exported
/// file, meant for git, would hold it. The caller warns without quoting it. A URL written as the
/// app's `${NAME}` template holds no value, so it is not listed.
pub fn urls_that_may_hold_secrets(apps: &[App]) -> Vec<String> {
    apps.iter()
        .filter(|app| {
            exported_template(app).is_some_and(|url| {
                !url.has_variables() && url_template::may_hold_secret(&url.to_string())
            })
        })
        .map(|app| app.name.clone())
        .collect()
}

/// The exported callback URL of an exported app, read back as its file will be.
fn exported_template(app: &App) -> Option<UrlTemplate> {
    match &app.callback {
        Some(Managed::Present(callback)) => UrlTemplate::parse(&callback.url).ok(),
        _ => None,
    }
}

/// The token variable of each app, in the order of `apps`: the one its file names (kept as
/// written, even where apps share one on purpose), otherwise [`suggested_token_env`]. A
/// suggestion that another app's suggestion or a named variable also produces (`prod-sg` and
/// `prod_sg`) becomes `{NAME}_{SDKAPPID}_HOOK_TOKEN` for each app involved, numbered on should
/// even that be taken: two apps given one variable would be given one value, and one of them
/// would then never plan back to no changes. Every app gets a name whether or not it has a live
/// token, so the names depend on the apps alone, not on what is live.
pub fn token_envs(apps: &[App]) -> Vec<String> {
    let named = |app: &App| match &app.token {
        Some(Managed::Present(spec)) => Some(spec.value_env.clone()),
        _ => None,
    };
    let suggested: Vec<Option<String>> = apps
        .iter()
        .map(|app| match named(app) {
            Some(_) => None,
            None => Some(suggested_token_env(&app.name)),
        })
        .collect();
    let mut taken: HashSet<String> = apps.iter().filter_map(named).collect();
    let clashes = |name: &String| {
        taken.contains(name) || suggested.iter().flatten().filter(|s| *s == name).count() > 1
    };
    let unique: Vec<bool> = suggested
        .iter()
        .map(|s| s.as_ref().is_some_and(|s| !clashes(s)))
        .collect();
    taken.extend(
        suggested
            .iter()
            .zip(&unique)
            .filter(|(_, unique)| **unique)
            .filter_map(|(s, _)| s.clone()),
    );
    apps.iter()
        .zip(suggested)
        .zip(unique)
        .map(|((app, suggested), unique)| match (named(app), suggested) {
            (Some(name), _) => name,
            (None, Some(name)) if unique => name,
            _ => {
                let stem = format!("{}_{}", app.name, app.sdkappid);
                let mut name = suggested_token_env(&stem);
                let mut n = 2;
                while taken.contains(&name) {
                    name = suggested_token_env(&format!("{stem}_{n}"));
                    n += 1;
                }
                taken.insert(name.clone());
                name
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, Position};
    use crate::plan::{LiveToken, TokenState};
    use crate::tim::region::Region;
    use crate::tim::wire::Callback;

    #[test]
    fn names_and_shapes() {
        assert_eq!(suggested_token_env("prod-sg"), "PROD_SG_HOOK_TOKEN");
        assert_eq!(
            suggested_token_env("1400000001"),
            "APP_1400000001_HOOK_TOKEN"
        );
        assert!(command_words::has_shape("Live.CallbackAfterNewThing"));
        assert!(!command_words::has_shape("live.CallbackX"));
        assert!(!command_words::has_shape("Live.Callback"));
        assert!(!command_words::has_shape("Live.OnCreate"));
    }

    fn app(name: &str, sdkappid: u64, location: Location, identifier: &str, key: &str) -> App {
        App {
            name: name.into(),
            sdkappid,
            location,
            identifier: identifier.into(),
            secret_key_env: key.into(),
            callback: None,
            token: None,
            origin: Origin::at(Position {
                file: "(test)".into(),
                line: 1,
                column: 1,
            }),
        }
    }

    #[test]
    fn no_two_apps_are_given_one_token_variable() {
        let app = |name: &str, sdkappid: u64, value_env: Option<&str>| App {
            name: name.into(),
            sdkappid,
            location: Location::Region(Region::Singapore),
            identifier: crate::tim::DEFAULT_IDENTIFIER.into(),
            secret_key_env: "TIM_SECRET_KEY".into(),
            callback: None,
            token: value_env.map(|v| {
                Managed::Present(crate::config::TokenSpec {
                    value_env: v.into(),
                    enabled: true,
                })
            }),
            origin: crate::config::Origin::at(crate::config::Position {
                file: "t.yaml".into(),
                line: 1,
                column: 1,
            }),
        };
        let apps = [
            app("alone", 1, None),
            app("prod-sg", 2, None),
            app("prod_sg", 3, None),
            app("prod.sg", 4, None),
            // Its suggestion is what the file names for another app.
            app("staging", 5, None),
            app("named", 6, Some("STAGING_HOOK_TOKEN")),
            // Two apps sharing one variable on purpose keep it.
            app("shared-a", 7, Some("SHARED_TOKEN")),
            app("shared-b", 8, Some("SHARED_TOKEN")),
            // Already the name the first disambiguation would pick.
            app("prod-sg-2", 9, Some("PROD_SG_2_HOOK_TOKEN")),
            app("x", 10, None),
            app("x_10", 11, None),
        ];
        let names = token_envs(&apps);
        assert_eq!(
            names,
            [
                "ALONE_HOOK_TOKEN",
                "PROD_SG_2_2_HOOK_TOKEN",
                "PROD_SG_3_HOOK_TOKEN",
                "PROD_SG_4_HOOK_TOKEN",
                "STAGING_5_HOOK_TOKEN",
                "STAGING_HOOK_TOKEN",
                "SHARED_TOKEN",
                "SHARED_TOKEN",
                "PROD_SG_2_HOOK_TOKEN",
                "X_HOOK_TOKEN",
                "X_10_HOOK_TOKEN",
            ]
        );
        let generated: Vec<&String> = names.iter().take(6).chain(&names[8..]).collect();
        let distinct: HashSet<&&String> = generated.iter().collect();
        assert_eq!(distinct.len(), generated.len(), "{names:?}");
        assert!(names.iter().all(|n| crate::config::model::is_env_name(n)));
    }

    #[test]
    fn a_document_with_awkward_values_stays_valid_yaml() {
        let prod = app(
            "prod-sg",
            1400000001,
            Location::Region(Region::Singapore),
            crate::tim::DEFAULT_IDENTIFIER,
            "TIM_SECRET_KEY",
        );
        let legacy = app(
            "legacy",
            1400000003,
            Location::Endpoint("http://127.0.0.1:8080".into()),
            "ops",
            "LEGACY_KEY",
        );
        let apps = vec![
            as_live(
                &prod,
                LiveState {
                    callback: Some(Callback {
                        url: "https://h.example.com/a?x=1#frag: 'q\"".into(),
                        commands: vec![
                            "Live.CallbackAfterDestroyRoom".into(),
                            "Live.CallbackAfterCreateRoom".into(),
                            "Live.CallbackAfterBrandNew".into(),
                        ],
                    }),
                    token: LiveToken::Present(TokenState {
                        fingerprint: "hmac-sha256:00".into(),
                        enabled: false,
                    }),
                    ..LiveState::default()
                },
            ),
            as_live(
                &legacy,
                LiveState {
                    callback: None,
                    token: LiveToken::Missing,
                    ..LiveState::default()
                },
            ),
        ];
        let text = to_yaml(&apps);
        insta::assert_snapshot!(text);
        // Round trip through the same parser livehook reads desired state with.
        let docs = <Yaml as saphyr::LoadableYamlNode>::load_from_str(&text).unwrap();
        let url = &docs[0]["apps"]["prod-sg"]["callback"]["url"];
        assert_eq!(url.as_str(), Some("https://h.example.com/a?x=1#frag: 'q\""));
    }
}

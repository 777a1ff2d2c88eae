//! Saved plans (`plan --out FILE`, `apply --plan FILE`): the file format, and the stale check.
//!
//! A saved plan records, per app, the desired state it was made for and the live state as read
//! (with its fingerprint). `apply --plan` applies the recorded desired state, not whatever the
//! YAML says by then, and only to apps whose live state has not moved since; to say *what* moved,
//! the file keeps the live state itself and not only its digest. It holds no secrets: a callback
//! URL appears as its template (`${NAME}`, never the value) and, where it holds a secret, as a
//! keyed fingerprint beside the live URL masked; a token appears only as its keyed fingerprint
//! (`plan::token`). The values are read again from their variables at apply time.
//!
//! The format is versioned (`format_version`) and carries a checksum, so that a file from
//! another livehook or a truncated download is refused with a clear error instead of being
//! applied; and every app carries a MAC keyed by its secret key (`plan::plan_mac`), so that an
//! edit by anyone without that key is refused before any request is sent.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::diff::{self, Comparison};
use super::plan_mac;
use super::{Action, AppError, AppPlan, Desired, LiveState, PlannedCall};
use crate::atomic_file;
use crate::config::model::callback_in_file;
use crate::config::url_template::UrlTemplate;
use crate::config::{App, Location, Managed, Origin, Position, TokenSpec};
use crate::credentials::Credentials;
use crate::tim::wire::Callback;

/// What the `kind` field says, so that any other JSON file is told apart from a plan.
pub const KIND: &str = "livehook-plan";
/// The only saved-plan format this livehook reads and writes. Version 2 added the per-app MAC;
/// version 3 reads a callback URL as a template (`$$`, `${NAME}`), which an older livehook would
/// send as written.
pub const FORMAT_VERSION: u64 = 3;

/// A saved plan, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: u64,
    /// The livehook that wrote it, for people reading the file.
    pub livehook_version: String,
    pub apps: Vec<SavedApp>,
    /// `sha256:` of the file's content with this field empty.
    pub checksum: String,
}

/// One app of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedApp {
    pub name: String,
    pub sdkappid: u64,
    pub location: Location,
    pub identifier: String,
    pub secret_key_env: String,
    /// The desired state the plan was made for.
    pub desired: SavedDesired,
    /// The live state as read when planning.
    pub live: LiveState,
    /// `LiveState::fingerprint` of `live`.
    pub live_fingerprint: String,
    /// What the plan showed, for people reading the file; apply decides again from `desired`
    /// and the live state, which must still match `live`.
    pub action: Action,
    pub calls: Vec<PlannedCall>,
    /// `plan_mac::app_mac` under the app's secret key: proof that whoever holds the key wrote
    /// this record, in this file, next to these apps.
    pub mac: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedDesired {
    /// `null`: unmanaged.
    #[serde(default, with = "callback_in_file::managed")]
    pub callback: Option<Managed<Callback>>,
    /// When the callback URL has `${NAME}` references: the keyed fingerprint of the URL they
    /// resolved to (apply refuses the app if they resolve to another one by then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_fingerprint: Option<String>,
    /// `null`: unmanaged.
    pub token: Option<Managed<SavedToken>>,
}

/// A desired token: where its value comes from, and the keyed fingerprint of the value the plan
/// was made with (apply refuses the app if the variable holds another one by then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedToken {
    /// As the desired state says (`value_env`, `enabled`).
    #[serde(flatten)]
    pub spec: TokenSpec,
    pub fingerprint: String,
}

/// Why a saved plan could not be written or read. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read plan file {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("cannot write plan file {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("{} is not a livehook plan file: {reason}", path.display())]
    NotAPlan { path: PathBuf, reason: String },
    #[error(
        "{} is a livehook plan of format version {found}; this livehook ({}) reads version {FORMAT_VERSION}{}",
        path.display(),
        env!("CARGO_PKG_VERSION"),
        match found.as_str() {
            "1" => " (version 1 plans are not authenticated)",
            "2" => " (version 2 plans read callback urls as written, not as templates)",
            _ => "",
        }
    )]
    Version { path: PathBuf, found: String },
    #[error(
        "plan file {} is refused for app `{app}`: its authentication code does not match the secret \
         key in {variable}, so the file was changed after livehook wrote it (or made with another key); \
         nothing was sent",
        path.display()
    )]
    Forged {
        path: PathBuf,
        app: String,
        variable: String,
    },
    #[error(
        "plan file {} cannot be authenticated for app `{app}`: the variable it names for the secret key, \
         {variable}, {problem}; nothing was sent",
        path.display()
    )]
    WeakKey {
        path: PathBuf,
        app: String,
        variable: String,
        problem: plan_mac::WeakKey,
    },
    #[error("plan file {} is damaged: {reason}", path.display())]
    Damaged { path: PathBuf, reason: String },
}

/// Builds the saved plan of `apps` (in the same order as `plans` and `credentials`), each app
/// authenticated with its secret key. `Ok(None)` when an app could not be read: such a plan
/// cannot be checked for staleness, so it is never saved. (A read app always has its live
/// fingerprint, and its desired token's, in its plan.) `Err` names an app whose secret key does
/// not have a key's shape, so no plan made with it could be told from a forgery.
pub fn build(
    apps: &[App],
    plans: &[AppPlan],
    credentials: &[Credentials],
) -> Result<Option<SavedPlan>, (String, plan_mac::WeakKey)> {
    for (app, credentials) in apps.iter().zip(credentials) {
        if !credentials.key_from_emulator {
            plan_mac::check_key(&credentials.target.secret_key)
                .map_err(|e| (app.name.clone(), e))?;
        }
    }
    Ok(unsigned(apps, plans).map(|mut plan| {
        for (index, credentials) in credentials.iter().enumerate().take(plan.apps.len()) {
            let record = plan.mac_record(index);
            plan.apps[index].mac = plan_mac::app_mac(&record, &credentials.target.secret_key);
        }
        plan.checksum = checksum(&plan);
        plan
    }))
}

/// The plan of `apps` with every MAC and the checksum still empty.
fn unsigned(apps: &[App], plans: &[AppPlan]) -> Option<SavedPlan> {
    let mut saved = Vec::with_capacity(apps.len());
    for (app, plan) in apps.iter().zip(plans) {
        let decision = plan.decision.as_ref().ok()?;
        let token = match &app.token {
            None => None,
            Some(Managed::Absent) => Some(Managed::Absent),
            // Every read app that wants a token has its desired fingerprint in the plan.
            Some(Managed::Present(t)) => Some(Managed::Present(SavedToken {
                spec: t.clone(),
                fingerprint: decision.token.as_ref()?.after.as_ref()?.fingerprint.clone(),
            })),
        };
        saved.push(SavedApp {
            name: app.name.clone(),
            sdkappid: app.sdkappid,
            location: app.location.clone(),
            identifier: app.identifier.clone(),
            secret_key_env: app.secret_key_env.clone(),
            desired: SavedDesired {
                callback: app.callback.clone(),
                url_fingerprint: decision
                    .callback
                    .as_ref()
                    .and_then(|c| c.secret_url.as_ref())
                    .map(|s| s.after.clone()),
                token,
            },
            live: decision.live.clone(),
            live_fingerprint: decision.fingerprint.clone(),
            action: decision.action,
            calls: decision.calls.clone(),
            mac: String::new(),
        });
    }
    Some(SavedPlan {
        kind: KIND.into(),
        format_version: FORMAT_VERSION,
        livehook_version: env!("CARGO_PKG_VERSION").into(),
        apps: saved,
        checksum: String::new(),
    })
}

/// The SHA-256 a plan file carries over its own content. It detects damage, not tampering: anyone
/// can recompute it, which is what the apps' MACs ([`SavedPlan::authenticate`]) are for.
pub fn checksum(plan: &SavedPlan) -> String {
    let unsummed = SavedPlan {
        checksum: String::new(),
        ..plan.clone()
    };
    let text = serde_json::to_string(&unsummed).expect("a saved plan serialises");
    let digest = Sha256::digest(text.as_bytes());
    format!("sha256:{digest:x}")
}

impl SavedPlan {
    /// What app `index`'s MAC covers: the header, the roster of every app (name and SDKAppID, in
    /// order) and the app's whole record with its own `mac` empty. The other apps' MACs are left
    /// out, so apps can be signed one after another.
    pub fn mac_record(&self, index: usize) -> serde_json::Value {
        let roster: Vec<_> = self
            .apps
            .iter()
            .map(|a| serde_json::json!([a.name, a.sdkappid]))
            .collect();
        let mut app = self.apps[index].clone();
        app.mac = String::new();
        serde_json::json!({
            "kind": self.kind,
            "format_version": self.format_version,
            "livehook_version": self.livehook_version,
            "roster": roster,
            "index": index,
            "app": app,
        })
    }

    /// Writes the plan with [`atomic_file::write`], so that a crash leaves the old file or the
    /// new one, never half of it.
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let mut text = serde_json::to_string_pretty(self).expect("a saved plan serialises");
        text.push('\n');
        atomic_file::write(path, text.as_bytes()).map_err(|e| SavedPlanError::Write {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Reads and checks a plan file: JSON, the `kind`, the format version, the shape, the
    /// checksum and each app's fingerprint, in that order, so that the first error is the one
    /// that explains the most.
    ///
    /// Loading does not authenticate: that needs the apps' secret keys, see
    /// [`SavedPlan::authenticate`].
    pub fn load(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let text = std::fs::read_to_string(path).map_err(|e| SavedPlanError::Read {
            path: path.to_owned(),
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".into(),
                std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
                _ => e.to_string(),
            },
        })?;
        Self::parse(&text, path)
    }

    /// [`SavedPlan::load`] of text already read; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let damaged = |reason: String| SavedPlanError::Damaged {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let at = format!("line {}, column {}", e.line(), e.column());
            if e.is_eof() {
                damaged(format!("it ends too early ({at}); was it cut short?"))
            } else if text.trim_start().starts_with('{') {
                damaged(format!("it is not valid JSON ({at})"))
            } else {
                SavedPlanError::NotAPlan {
                    path: path.to_owned(),
                    reason: format!("it is not JSON ({at})"),
                }
            }
        })?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            return Err(SavedPlanError::NotAPlan {
                path: path.to_owned(),
                reason: format!("it has no \"kind\": \"{KIND}\""),
            });
        }
        match value.get("format_version") {
            Some(v) if v.as_u64() == Some(FORMAT_VERSION) => {}
            other => {
                return Err(SavedPlanError::Version {
                    path: path.to_owned(),
                    found: other.map_or_else(|| "(none)".into(), ToString::to_string),
                });
            }
        }
        let plan: SavedPlan = serde_json::from_value(value).map_err(|e| {
            // serde names the field and what it expected; the position is of the parsed value,
            // meaningless here, so it is dropped.
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            damaged(message)
        })?;
        if plan.checksum != checksum(&plan) {
            return Err(damaged(
                "its checksum does not match its content; it was changed after livehook wrote it"
                    .into(),
            ));
        }
        for app in &plan.apps {
            if app.live.fingerprint() != app.live_fingerprint {
                return Err(damaged(format!(
                    "the live state recorded for `{}` does not match its fingerprint",
                    app.name
                )));
            }
            // The checksum is no signature: an edited endpoint must pass the same rule as one in
            // a desired-state file, or apply could send the UserSig anywhere.
            if let Location::Endpoint(url) = &app.location {
                if let Err(problem) = crate::config::check_endpoint(url) {
                    let endpoint = if problem.may_quote_endpoint() {
                        format!(" `{url}`")
                    } else {
                        String::new()
                    };
                    return Err(damaged(format!(
                        "app `{}` has an unusable endpoint{endpoint}: {problem}",
                        app.name
                    )));
                }
            }
        }
        Ok(plan)
    }

    /// Checks every app's MAC with its secret key, as resolved for the apps `to_app` gives (in
    /// the same order), so that a file edited by anyone without the keys is refused before any
    /// request is sent: the UserSig and the token then only ever go where the key holder said.
    pub fn authenticate(
        &self,
        path: &Path,
        credentials: &[Credentials],
    ) -> Result<(), SavedPlanError> {
        for (index, (app, credentials)) in self.apps.iter().zip(credentials).enumerate() {
            let key = &credentials.target.secret_key;
            let shape = if credentials.key_from_emulator {
                Ok(())
            } else {
                plan_mac::check_key(key)
            };
            if let Err(problem) = shape {
                return Err(SavedPlanError::WeakKey {
                    path: path.to_owned(),
                    app: app.name.clone(),
                    variable: app.secret_key_env.clone(),
                    problem,
                });
            }
            if !plan_mac::verify(&self.mac_record(index), &app.mac, key) {
                return Err(SavedPlanError::Forged {
                    path: path.to_owned(),
                    app: app.name.clone(),
                    variable: app.secret_key_env.clone(),
                });
            }
        }
        Ok(())
    }
}

impl SavedApp {
    /// The app as `plan` resolved it, so that apply decides again exactly as the plan did.
    pub fn to_app(&self, plan_file: &Path) -> App {
        let here = Position {
            file: plan_file.display().to_string().into(),
            line: 1,
            column: 1,
        };
        App {
            name: self.name.clone(),
            sdkappid: self.sdkappid,
            // `load` has checked an endpoint, and serde a region's name.
            location: self.location.clone(),
            identifier: self.identifier.clone(),
            secret_key_env: self.secret_key_env.clone(),
            callback: self.desired.callback.clone(),
            token: self
                .desired
                .token
                .as_ref()
                .map(|t| t.as_ref().map(|t| t.spec.clone())),
            origin: Origin::at(here),
        }
    }

    /// The keyed fingerprint of the token value the plan was made with.
    pub fn planned_token_fingerprint(&self) -> Option<&str> {
        match &self.desired.token {
            Some(Managed::Present(t)) => Some(&t.fingerprint),
            _ => None,
        }
    }
}

/// A saved plan's app, decided again against its live state at apply time.
#[derive(Debug)]
pub enum Recheck {
    /// The live state is still the one the plan was made from (or could not be read, which the
    /// plan's error says): the plan decided again from the saved desired state.
    Current(AppPlan),
    /// The live state moved since the plan, or the token variable holds another value: the app
    /// must not be written. `planned` is the action the plan showed; the reasons say what moved.
    Moved {
        plan: AppPlan,
        planned: Action,
        reasons: Vec<String>,
    },
}

/// Decides `app` (`saved.to_app(…)`) again from `live`, its state now, and refuses it when that
/// is not the state the plan was made from. `desired` holds the keyed fingerprints of the values
/// in the app's variables now, as for [`super::decide`].
pub fn recheck(
    saved: &SavedApp,
    app: &App,
    live: Result<LiveState, AppError>,
    desired: Desired<'_>,
) -> Recheck {
    let now = match live {
        Ok(now) => now,
        Err(error) => return Recheck::Current(super::decide(app, Err(error), desired)),
    };
    let mut reasons = stale(&saved.live, &now, &saved.live_fingerprint);
    if let (Some(planned), Some(value)) = (saved.planned_token_fingerprint(), desired.token) {
        if planned != value.fingerprint {
            reasons.push(format!(
                "the token in {} is not the one the plan was made with",
                token_variable(app)
            ));
        }
    }
    if saved.desired.url_fingerprint.as_deref() != desired.url_fingerprint {
        reasons.push(format!(
            "the callback url's {} not the one the plan was made with",
            url_variables(app)
        ));
    }
    let plan = super::decide(app, Ok(now), desired);
    if reasons.is_empty() {
        return Recheck::Current(plan);
    }
    reasons.push("plan again to see what this app needs now".into());
    Recheck::Moved {
        plan,
        planned: saved.action,
        reasons,
    }
}

/// What moved since the plan, in words; empty when nothing did.
fn stale(planned: &LiveState, now: &LiveState, planned_fingerprint: &str) -> Vec<String> {
    let moved = moved(planned, now);
    if moved.is_empty() && now.fingerprint() != planned_fingerprint {
        // The fingerprint tells apart what `moved` does not put into words (a token that was not
        // read and one that is missing, say): refuse rather than write over a state nobody has
        // seen.
        return vec!["the live state moved since the plan".into()];
    }
    moved
}

/// `${A}` or `${A}, ${B}`: what a callback URL's secret parts come from.
fn url_variables(app: &App) -> String {
    let variables = match &app.callback {
        Some(Managed::Present(callback)) => UrlTemplate::parse(&callback.url)
            .map(|t| t.variables().iter().map(|v| format!("${{{v}}}")).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    match variables.len() {
        0 => "value is".to_owned(),
        1 => format!("{} is", variables[0]),
        _ => format!("{} are", variables.join(", ")),
    }
}

fn token_variable(app: &App) -> String {
    match &app.token {
        Some(Managed::Present(t)) => t.value_env.clone(),
        _ => "its variable".into(),
    }
}

/// What moved between the live state a plan was made from and the live state now, one sentence
/// per change, e.g. `callback url changed from "X" to "Y" since the plan`. Empty when nothing
/// moved.
pub fn moved(planned: &LiveState, now: &LiveState) -> Vec<String> {
    diff::callback(planned.callback.as_ref(), now.callback.as_ref())
        .into_iter()
        .chain(diff::url_value(
            planned.callback.as_ref(),
            now.callback.as_ref(),
            planned.url_fingerprint.as_deref(),
            now.url_fingerprint.as_deref(),
        ))
        .chain(diff::token(planned.token.state(), now.token.state()))
        .map(|d| d.describe(Comparison::SincePlan))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{LiveToken, TokenState};
    use crate::tim::region::Region;
    use serde_json::json;

    #[test]
    fn a_saved_location_names_a_known_region_or_is_refused() {
        let region = |name: &str| serde_json::from_value::<Location>(json!({"region": name}));
        assert_eq!(
            region("silicon-valley").unwrap(),
            Location::Region(Region::SiliconValley)
        );
        let error = region("mars").unwrap_err().to_string();
        assert!(error.contains("unknown variant `mars`"), "{error}");
        assert_eq!(
            serde_json::to_value(Location::Region(Region::SiliconValley)).unwrap(),
            json!({"region": "silicon-valley"})
        );
    }

    /// Arbitrary JSON, so that loading is driven past the kind and version checks.
    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[a-z_]{0,12}".prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{1,16}", inner, 0..8)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 256, ..Default::default() })]

        /// The property the `saved_plan` fuzz target checks: whatever a plan file holds, loading
        /// answers a plan or an error naming the file, and never panics.
        #[test]
        fn loading_any_text_never_panics(text in proptest::prelude::any::<String>(), apps in any_json(), app in any_json()) {
            let path = Path::new("prop.json");
            for text in [
                text.clone(),
                format!("{{\"kind\":\"{KIND}\",\"format_version\":{FORMAT_VERSION},{text}"),
                json!({"kind": KIND, "format_version": FORMAT_VERSION, "livehook_version": "x",
                       "apps": apps, "checksum": ""}).to_string(),
                json!({"kind": KIND, "format_version": FORMAT_VERSION, "livehook_version": "x",
                       "apps": [app], "checksum": ""}).to_string(),
            ] {
                if let Err(error) = SavedPlan::parse(&text, path) {
                    proptest::prop_assert!(error.to_string().contains("prop.json"), "{}", error);
                }
            }
        }
    }

    fn live(url: &str, words: &[&str], token: LiveToken) -> LiveState {
        LiveState {
            callback: Some(Callback {
                url: url.into(),
                commands: words.iter().map(|w| w.to_string()).collect(),
            }),
            token,
            url_fingerprint: None,
        }
    }

    #[test]
    fn moved_names_each_change() {
        let t = |fp: &str, enabled| {
            LiveToken::Present(TokenState {
                fingerprint: format!("hmac-sha256:{fp}"),
                enabled,
            })
        };
        let before = live(
            "https://a/x",
            &["A.CallbackA", "A.CallbackB"],
            t("aaaa1111", true),
        );
        let after = live(
            "https://a/y",
            &["A.CallbackB", "A.CallbackC"],
            t("bbbb2222", false),
        );
        assert_eq!(
            moved(&before, &after),
            [
                "callback url changed from \"https://a/x\" to \"https://a/y\" since the plan",
                "callback commands gained A.CallbackC since the plan",
                "callback commands lost A.CallbackA since the plan",
                "token value changed since the plan (sha256:aaaa1111…→bbbb2222…)",
                "token enabled changed from true to false since the plan",
            ]
        );
        assert!(moved(&before, &before).is_empty());
        let none = LiveState {
            callback: None,
            token: LiveToken::Missing,
            url_fingerprint: None,
        };
        assert_eq!(
            moved(&none, &before),
            [
                "a callback was created since the plan (url \"https://a/x\")",
                "a token was set since the plan"
            ]
        );
    }
}

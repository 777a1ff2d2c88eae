//! The plan: for every app, what is live, what is desired, and the exact calls that reconcile
//! them (README, "The plan"). Deciding is pure — [`decide`] takes the live state already read — so the
//! rules are unit-tested without a server; `plan::read` does the reading.

mod action;
pub mod diff;
pub mod plan_mac;
pub mod read;
pub mod saved;
pub mod token;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{App, Managed, Origin};
use crate::tim::client::CallError;
use crate::tim::wire::{Callback, Command, TokenBody};
pub use action::{Action, UNREAD};
pub use token::{LiveToken, TokenChange, TokenState};

/// What is live for one app, as read. Saved plans record it as it is (`{callback, token}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveState {
    /// `None`: `get_callback` answered 100301 (no configuration).
    #[serde(default, with = "crate::config::model::callback_in_file::optional")]
    pub callback: Option<Callback>,
    /// When the desired URL has `${NAME}` references: the keyed fingerprint of the live URL,
    /// whose text `callback` then shows masked (`UrlTemplate::mask`), never as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_fingerprint: Option<String>,
    /// Read only when the token is managed; never the value, only its keyed fingerprint.
    pub token: LiveToken,
}

impl LiveState {
    /// A digest of the live state as read, so a saved plan can tell whether it moved since.
    /// Commands are compared as a set, so they are sorted first.
    /// The masked URL's fingerprint enters only when there is one, as the token's does.
    /// The token enters only when it was read (as its keyed fingerprint, never the value), so
    /// an app whose token is unmanaged keeps the fingerprint it had before tokens were read.
    pub fn fingerprint(&self) -> String {
        let mut canonical = json!({
            "callback": self.callback.as_ref().map(|c| json!({
                "url": c.url,
                "commands": sorted(&c.commands),
            })),
        });
        if let Some(url) = &self.url_fingerprint {
            canonical["url_fingerprint"] = json!(url);
        }
        match &self.token {
            LiveToken::NotRead => {}
            LiveToken::Missing => canonical["token"] = Value::Null,
            LiveToken::Present(t) => {
                canonical["token"] = json!({"fingerprint": t.fingerprint, "enabled": t.enabled});
            }
        }
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        format!("sha256:{digest:x}")
    }
}

fn sorted(words: &[String]) -> Vec<String> {
    words
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// One REST call that apply would send, with its exact body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedCall {
    pub command: Command,
    pub body: Value,
}

/// The callback part of an app's plan. `after`'s URL is the desired template as written; when it
/// has `${NAME}` references, `before`'s URL is the live one masked and `secret_url` holds what
/// the two are compared by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackChange {
    pub action: Action,
    pub before: Option<Callback>,
    pub after: Option<Callback>,
    pub secret_url: Option<SecretUrl>,
}

/// The keyed fingerprints of a callback URL that holds a secret, live (when there is a live
/// callback) and desired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUrl {
    pub before: Option<String>,
    pub after: String,
}

impl CallbackChange {
    /// The keyed fingerprints (live, desired) when the URLs read the same (the template and the
    /// live URL masked) but differ in their secret parts: a change that only the fingerprints
    /// can show.
    pub fn url_value_change(&self) -> Option<(&str, &str)> {
        let secret = self.secret_url.as_ref()?;
        let before = secret.before.as_deref()?;
        let same_text = self.before.as_ref()?.url == self.after.as_ref()?.url;
        (same_text && before != secret.after).then_some((before, secret.after.as_str()))
    }

    /// Whether a live callback's URL changes into the desired one, by what is sent: the keyed
    /// fingerprints for a URL with `${NAME}`, otherwise the live URL against the one the
    /// template sends (`$$` as `$`). Reports ask this rather than compare the texts, which are a
    /// template and a (masked) live URL.
    pub fn url_changes(&self) -> bool {
        match (&self.before, &self.after, &self.secret_url) {
            (Some(_), Some(_), Some(secret)) => secret.before.as_deref() != Some(&secret.after),
            (Some(before), Some(after), None) => before.url != sent_url(&after.url),
            _ => false,
        }
    }

    /// Words only in `after`, sorted.
    pub fn added_commands(&self) -> Vec<String> {
        difference(self.after.as_ref(), self.before.as_ref())
    }

    /// Words only in `before`, sorted.
    pub fn removed_commands(&self) -> Vec<String> {
        difference(self.before.as_ref(), self.after.as_ref())
    }

    /// Words in both, sorted.
    pub fn kept_commands(&self) -> Vec<String> {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let after: BTreeSet<&String> = a.commands.iter().collect();
                sorted(&b.commands)
                    .into_iter()
                    .filter(|w| after.contains(w))
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

fn difference(left: Option<&Callback>, right: Option<&Callback>) -> Vec<String> {
    match (left, right) {
        (None, _) => Vec::new(),
        (Some(left), None) => sorted(&left.commands),
        (Some(left), Some(right)) => words_only_in(&left.commands, &right.commands),
    }
}

/// Command words in `left` and not in `right`, sorted and without repeats (lists are sets).
pub(crate) fn words_only_in(left: &[String], right: &[String]) -> Vec<String> {
    let right: BTreeSet<&String> = right.iter().collect();
    sorted(left)
        .into_iter()
        .filter(|w| !right.contains(w))
        .collect()
}

/// Why an app could not be planned. Serialises as the `error` object of the JSON reports; the
/// text reports word it through the failed call itself ([`CallError`]).
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    /// The call that failed, when one did.
    pub command: Option<Command>,
    pub code: Option<i64>,
    /// What the code means, in plain words.
    pub meaning: Option<&'static str>,
    /// Tencent's `ErrorInfo`, or the network failure in words (never a secret).
    pub message: String,
    pub request_id: Option<String>,
    pub hint: Option<String>,
    /// The failed call, which words the failure; `None` for a livehook bug. Boxed, so that every
    /// `Result<_, AppError>` stays small.
    #[serde(skip)]
    call: Option<Box<CallError>>,
}

impl AppError {
    /// A failure that can only be a livehook bug (a task that panicked).
    pub fn bug(what: &str) -> AppError {
        AppError {
            command: None,
            code: None,
            meaning: None,
            message: what.to_owned(),
            request_id: None,
            hint: Some(
                "this is a bug in livehook, please report it with the panic message printed above"
                    .into(),
            ),
            call: None,
        }
    }

    /// One line: `get_callback failed: error 70009 (meaning): ErrorInfo`, as every text report
    /// shows it (the RequestId and hint go on lines of their own).
    pub fn summary(&self) -> String {
        match &self.call {
            Some(call) => format!("{} failed: {}", call.command(), call.detail()),
            None => self.message.clone(),
        }
    }

    /// The failure in a few words (`error 70009: meaning`), for a table cell.
    pub fn brief(&self) -> String {
        match &self.call {
            Some(call) => call.brief(),
            None => self.message.clone(),
        }
    }
}

impl From<&CallError> for AppError {
    fn from(error: &CallError) -> Self {
        AppError {
            command: Some(error.command()),
            code: error.code(),
            meaning: error.code().map(crate::tim::errors::meaning),
            message: error.message(),
            request_id: error.request_id().map(str::to_owned),
            hint: error.hint().map(str::to_owned),
            call: Some(Box::new(error.clone())),
        }
    }
}

/// The plan for one app.
#[derive(Debug, Clone)]
pub struct AppPlan {
    pub name: String,
    pub sdkappid: u64,
    pub region: String,
    pub endpoint: String,
    /// What is to be done, decided from the live state; or why that could not be read.
    pub decision: Result<Decision, AppError>,
    /// Where the app is declared, for annotations that point at the YAML.
    pub origin: Arc<Origin>,
    /// With `--probe`, how the receiver at a created or changed URL answered a probe. Boxed: most
    /// plans have none, and every plan would otherwise carry its room.
    pub probe: Option<Box<crate::probe::ProbeResult>>,
}

impl AppPlan {
    /// The app's action; `None` when it could not be read.
    pub fn action(&self) -> Option<Action> {
        self.decision.as_ref().ok().map(|d| d.action)
    }

    /// Whether applying the plan would change the app.
    pub fn is_change(&self) -> bool {
        self.action().is_some_and(Action::is_change)
    }
}

/// What is to be done to an app whose live state was read.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The app's action, combined from its parts (see [`decide`]).
    pub action: Action,
    /// `None` when the callback is unmanaged.
    pub callback: Option<CallbackChange>,
    /// `None` when the token is unmanaged.
    pub token: Option<TokenChange>,
    /// The live state as read (also an unmanaged callback), for `before` in reports.
    pub live: LiveState,
    /// [`LiveState::fingerprint`] of `live`.
    pub fingerprint: String,
    /// The calls apply sends, in order.
    pub calls: Vec<PlannedCall>,
}

/// What the environment says about an app's desired state, reduced to what a plan may hold
/// (`Credentials::desired`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Desired<'a> {
    /// The keyed fingerprint of the token in the app's `value_env` variable; needed only when
    /// the app wants a token.
    pub token: Option<&'a TokenState>,
    /// The keyed fingerprint of the callback URL resolved; needed only when the desired URL has
    /// `${NAME}` references.
    pub url_fingerprint: Option<&'a str>,
}

/// Decides what to do for `app` given what was read (or why reading failed) and `desired`, the
/// values its variables hold now (see `credentials::resolve`).
///
/// The app's action combines its parts: the action of the parts that change when they agree
/// (a callback and a token both created is a create), `update` when they differ (something of
/// the app exists before and after), `no-op` when nothing changes. An app counts once in the
/// summary, whatever its parts do.
pub fn decide(app: &App, live: Result<LiveState, AppError>, desired: Desired<'_>) -> AppPlan {
    AppPlan {
        name: app.name.clone(),
        sdkappid: app.sdkappid,
        region: app.location.region_label().to_owned(),
        endpoint: app.location.base_url(),
        decision: live.map(|live| Decision::of(app, live, desired)),
        origin: app.origin.clone(),
        probe: None,
    }
}

impl Decision {
    /// What to do for `app` now that its live state is read (see [`decide`]).
    pub fn of(app: &App, live: LiveState, desired: Desired<'_>) -> Decision {
        let callback = app
            .callback
            .as_ref()
            .map(|want| decide_callback(want, &live, desired.url_fingerprint));
        let token = app
            .token
            .as_ref()
            .map(|spec| token::decide(spec, desired.token, &live.token));
        // The calls in the order apply sends them: a token is set before the callback is created or
        // changed, and deleted after it, so no event goes out with half a configuration.
        let mut calls = Vec::new();
        let token_call = token.as_ref().and_then(token_call);
        let token_first = token
            .as_ref()
            .is_some_and(|t| matches!(t.action, Action::Create | Action::Update));
        if token_first {
            calls.extend(token_call.clone());
        }
        calls.extend(callback.as_ref().and_then(callback_call));
        if !token_first {
            calls.extend(token_call);
        }
        Decision {
            action: combine(
                callback
                    .iter()
                    .map(|c| c.action)
                    .chain(token.iter().map(|t| t.action)),
            ),
            callback,
            token,
            fingerprint: live.fingerprint(),
            live,
            calls,
        }
    }
}

fn decide_callback(
    desired: &Managed<Callback>,
    live: &LiveState,
    url_fingerprint: Option<&str>,
) -> CallbackChange {
    let after = match desired {
        Managed::Present(callback) => Some(callback.clone()),
        Managed::Absent => None,
    };
    let secret_url = match (&after, url_fingerprint) {
        (Some(_), Some(fingerprint)) => Some(SecretUrl {
            before: live.url_fingerprint.clone(),
            after: fingerprint.to_owned(),
        }),
        _ => None,
    };
    let mut change = CallbackChange {
        action: Action::NoOp,
        before: live.callback.clone(),
        after,
        secret_url,
    };
    change.action = match (&change.before, &change.after) {
        (None, None) => Action::NoOp,
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        (Some(before), Some(after)) if !change.url_changes() && same_commands(before, after) => {
            Action::NoOp
        }
        (Some(_), Some(_)) => Action::Update,
    };
    change
}

/// The URL a desired template without `${NAME}` sends: its text with `$$` read as `$` (a text
/// that is no template, from an app made in code, as it is).
fn sent_url(template: &str) -> String {
    crate::config::url_template::UrlTemplate::parse(template)
        .ok()
        .filter(|t| !t.has_variables())
        .and_then(|t| t.resolve(|_| None).ok())
        .unwrap_or_else(|| template.to_owned())
}

/// URLs are compared exactly (Tencent posts to the string as written); commands as a set.
pub fn same_callback(a: &Callback, b: &Callback) -> bool {
    a.url == b.url && same_commands(a, b)
}

fn same_commands(a: &Callback, b: &Callback) -> bool {
    sorted(&a.commands) == sorted(&b.commands)
}

fn callback_call(change: &CallbackChange) -> Option<PlannedCall> {
    // The wire type itself, so that the body shown is spelled as the client sends it.
    match (change.action, &change.after) {
        (Action::Create, Some(after)) => Some(PlannedCall {
            command: Command::SetCallback,
            body: json!(after),
        }),
        (Action::Update, Some(after)) => Some(PlannedCall {
            command: Command::UpdateCallback,
            body: json!(after),
        }),
        (Action::Delete, _) => Some(PlannedCall {
            command: Command::DeleteCallback,
            body: json!({}),
        }),
        _ => None,
    }
}

/// The action of an app from the actions of its parts (see [`decide`]).
fn combine(parts: impl Iterator<Item = Action>) -> Action {
    let mut combined = Action::NoOp;
    for action in parts.filter(|a| a.is_change()) {
        combined = match combined {
            Action::NoOp => action,
            same if same == action => same,
            _ => Action::Update,
        };
    }
    combined
}

/// The token call, with the value shown as [`token::SENSITIVE`]: a plan never holds the value;
/// apply takes it from the environment variable when it sends the call.
fn token_call(change: &TokenChange) -> Option<PlannedCall> {
    match (change.action, &change.after) {
        (Action::Create | Action::Update, Some(after)) => Some(PlannedCall {
            command: Command::SetCallbackToken,
            body: json!(TokenBody {
                token: token::SENSITIVE.into(),
                enabled: after.enabled,
            }),
        }),
        (Action::Delete, _) => Some(PlannedCall {
            command: Command::DeleteCallbackToken,
            body: json!({}),
        }),
        _ => None,
    }
}

/// Counts by action, for the summary line and `summary` in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub no_op: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(plans: &[AppPlan]) -> Summary {
        let mut summary = Summary::default();
        for plan in plans {
            match plan.action() {
                Some(Action::Create) => summary.create += 1,
                Some(Action::Update) => summary.update += 1,
                Some(Action::Delete) => summary.delete += 1,
                Some(Action::NoOp) => summary.no_op += 1,
                None => summary.error += 1,
            }
        }
        summary
    }

    pub fn changes(&self) -> usize {
        self.create + self.update + self.delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Location, Origin, Position};
    use crate::tim::region::Region;

    /// The decision for an app whose live state was read.
    fn decided(
        app: &App,
        live: Result<LiveState, AppError>,
        token: Option<&TokenState>,
    ) -> Decision {
        decide(
            app,
            live,
            Desired {
                token,
                ..Desired::default()
            },
        )
        .decision
        .unwrap()
    }

    fn app(callback: Option<Managed<Callback>>) -> App {
        let here = Position {
            file: "f.yaml".into(),
            line: 1,
            column: 1,
        };
        App {
            name: "a".into(),
            sdkappid: 1400000001,
            location: Location::Region(Region::Singapore),
            identifier: crate::tim::DEFAULT_IDENTIFIER.into(),
            secret_key_env: "K".into(),
            callback,
            token: None,
            origin: Origin::at(here),
        }
    }

    fn spec(url: &str, words: &[&str]) -> Option<Managed<Callback>> {
        Some(Managed::Present(Callback {
            url: url.into(),
            commands: words.iter().map(|w| w.to_string()).collect(),
        }))
    }

    fn live(url: &str, words: &[&str]) -> LiveState {
        LiveState {
            callback: Some(Callback {
                url: url.into(),
                commands: words.iter().map(|w| w.to_string()).collect(),
            }),
            token: LiveToken::NotRead,
            url_fingerprint: None,
        }
    }

    #[test]
    fn each_row_of_the_decision_table() {
        let missing = LiveState::default();
        let p = decided(
            &app(spec("https://a", &["X.CallbackA"])),
            Ok(missing.clone()),
            None,
        );
        assert_eq!(p.action, Action::Create);
        assert_eq!(p.calls[0].command, Command::SetCallback);
        assert_eq!(
            p.calls[0].body,
            json!({"Url": "https://a", "CallbackCommandList": ["X.CallbackA"]})
        );

        let p = decided(
            &app(spec("https://b", &["X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA"])),
            None,
        );
        assert_eq!(p.action, Action::Update);
        assert_eq!(p.calls[0].command, Command::UpdateCallback);

        let p = decided(
            &app(Some(Managed::Absent)),
            Ok(live("https://a", &["X.CallbackA"])),
            None,
        );
        assert_eq!(p.action, Action::Delete);
        assert_eq!(
            p.calls,
            vec![PlannedCall {
                command: Command::DeleteCallback,
                body: json!({})
            }]
        );

        let p = decided(&app(Some(Managed::Absent)), Ok(missing.clone()), None);
        assert_eq!((p.action, p.calls.len()), (Action::NoOp, 0));

        // Unmanaged: read, never changed.
        let p = decided(&app(None), Ok(live("https://a", &["X.CallbackA"])), None);
        assert_eq!((p.action, p.calls.len()), (Action::NoOp, 0));
    }

    #[test]
    fn commands_are_a_set_and_urls_exact() {
        let p = decided(
            &app(spec("https://a", &["X.CallbackB", "X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA", "X.CallbackB"])),
            None,
        );
        assert_eq!(p.action, Action::NoOp);
        let p = decided(
            &app(spec("https://a/", &["X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA"])),
            None,
        );
        assert_eq!(p.action, Action::Update);
        let change = decided(
            &app(spec("https://a", &["X.CallbackC", "X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA", "X.CallbackB"])),
            None,
        )
        .callback
        .unwrap();
        assert_eq!(change.added_commands(), ["X.CallbackC"]);
        assert_eq!(change.removed_commands(), ["X.CallbackB"]);
        assert_eq!(change.kept_commands(), ["X.CallbackA"]);
    }

    fn decide_with(app: &App, live: Result<LiveState, AppError>, desired: Desired) -> Decision {
        decide(app, live, desired).decision.unwrap()
    }

    #[test]
    fn a_secret_url_is_compared_by_fingerprint_and_a_doubled_dollar_as_one() {
        let template = "https://h/?k=${K}";
        let mut masked = live(template, &["X.CallbackA"]);
        masked.url_fingerprint = Some("hmac-sha256:aa".into());
        let want = |fingerprint| Desired {
            url_fingerprint: Some(fingerprint),
            ..Desired::default()
        };
        let same = decide_with(
            &app(spec(template, &["X.CallbackA"])),
            Ok(masked.clone()),
            want("hmac-sha256:aa"),
        );
        assert_eq!(same.action, Action::NoOp);
        let change = decide_with(
            &app(spec(template, &["X.CallbackA"])),
            Ok(masked.clone()),
            want("hmac-sha256:bb"),
        );
        assert_eq!(change.action, Action::Update);
        let callback = change.callback.unwrap();
        assert_eq!(
            callback.url_value_change(),
            Some(("hmac-sha256:aa", "hmac-sha256:bb"))
        );
        // The body shows the template; apply sends the resolved URL from the credentials.
        assert_eq!(change.calls[0].body["Url"], template);
        // A live URL with a fingerprint enters the live state's digest.
        assert_ne!(
            masked.fingerprint(),
            live(template, &["X.CallbackA"]).fingerprint()
        );

        let p = decide_with(
            &app(spec("https://h/?cost=$$5", &["X.CallbackA"])),
            Ok(live("https://h/?cost=$5", &["X.CallbackA"])),
            Desired::default(),
        );
        assert_eq!(p.action, Action::NoOp);
    }

    #[test]
    fn fingerprint_ignores_command_order_but_not_content() {
        let a = live("https://a", &["X.CallbackA", "X.CallbackB"]).fingerprint();
        assert_eq!(
            a,
            live("https://a", &["X.CallbackB", "X.CallbackA"]).fingerprint()
        );
        assert_ne!(
            a,
            live("https://b", &["X.CallbackA", "X.CallbackB"]).fingerprint()
        );
        assert_ne!(a, LiveState::default().fingerprint());
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }
    #[test]
    fn token_rows_and_the_combined_action() {
        use crate::config::TokenSpec;
        use crate::tim::client::Secret;
        let key = Secret::new("key".into());
        let state = |token: &str, enabled| TokenState {
            fingerprint: token::fingerprint(&key, 1400000001, token::SecretKind::Token, token),
            enabled,
        };
        let with_token = |callback, token| App {
            token: Some(token),
            ..app(callback)
        };
        let wanted = Managed::Present(TokenSpec {
            value_env: "T".into(),
            enabled: true,
        });
        let want = state("new", true);

        // Callback and token both created: create.
        let p = decided(
            &with_token(spec("https://a", &["X.CallbackA"]), wanted.clone()),
            Ok(LiveState {
                callback: None,
                token: LiveToken::Missing,
                url_fingerprint: None,
            }),
            Some(&want),
        );
        assert_eq!(p.action, Action::Create);
        assert_eq!(
            p.calls.iter().map(|c| c.command).collect::<Vec<_>>(),
            [Command::SetCallbackToken, Command::SetCallback],
            "the token is in place before the callback exists"
        );
        assert_eq!(
            p.calls[0].body,
            json!({"Token": "(sensitive)", "IsTokenEnable": true}),
            "the plan never holds the value"
        );

        // Callback unchanged, token value differs: update.
        let mut same = live("https://a", &["X.CallbackA"]);
        same.token = LiveToken::Present(state("old", true));
        let p = decided(
            &with_token(spec("https://a", &["X.CallbackA"]), wanted.clone()),
            Ok(same.clone()),
            Some(&want),
        );
        assert_eq!(p.action, Action::Update);
        assert_eq!(p.calls.len(), 1);

        // Callback created while the token is deleted: parts disagree, so update.
        let p = decided(
            &with_token(spec("https://a", &["X.CallbackA"]), Managed::Absent),
            Ok(LiveState {
                callback: None,
                token: LiveToken::Present(state("old", true)),
                url_fingerprint: None,
            }),
            None,
        );
        assert_eq!(p.action, Action::Update);
        assert_eq!(
            p.calls.iter().map(|c| c.command).collect::<Vec<_>>(),
            [Command::SetCallback, Command::DeleteCallbackToken]
        );

        // Both deleted: delete.
        let p = decided(
            &with_token(Some(Managed::Absent), Managed::Absent),
            Ok(same.clone()),
            None,
        );
        assert_eq!(p.action, Action::Delete);

        // The token enters the live fingerprint only once read, and never as its value.
        let mut unread = same.clone();
        unread.token = LiveToken::NotRead;
        assert_ne!(same.fingerprint(), unread.fingerprint());
        assert_eq!(
            unread.fingerprint(),
            live("https://a", &["X.CallbackA"]).fingerprint()
        );
    }
}

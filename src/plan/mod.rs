//! The plan: for every app, what is live, what is desired, and the exact calls that reconcile
//! them (design.md §3). Deciding is pure — [`decide`] takes the live state already read — so the
//! rules are unit-tested without a server; `plan::read` does the reading.

pub mod read;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{App, CallbackSpec, Managed};
use crate::tim::client::ApiError;
use crate::tim::wire::{CallbackBody, Command};

/// What is live for one app, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveState {
    /// `None`: `get_callback` answered 100301 (no configuration).
    pub callback: Option<CallbackBody>,
}

impl LiveState {
    /// A digest of the live state as read, so a saved plan can tell whether it moved since.
    /// Commands are compared as a set, so they are sorted first.
    pub fn fingerprint(&self) -> String {
        let canonical = json!({
            "callback": self.callback.as_ref().map(|c| json!({
                "url": c.url,
                "commands": sorted(&c.commands),
            })),
        });
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        format!("sha256:{}", hex(&digest))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(words: &[String]) -> Vec<String> {
    words
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What happens to an app (or one managed part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    NoOp,
    Error,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
            Action::Error => "error",
        }
    }

    pub fn is_change(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }
}

/// One REST call that apply would send, with its exact body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedCall {
    pub command: Command,
    pub body: Value,
}

/// The callback part of an app's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackChange {
    pub action: Action,
    pub before: Option<CallbackBody>,
    pub after: Option<CallbackBody>,
}

impl CallbackChange {
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

fn difference(left: Option<&CallbackBody>, right: Option<&CallbackBody>) -> Vec<String> {
    let Some(left) = left else { return Vec::new() };
    let right: BTreeSet<&String> = right
        .map(|r| r.commands.iter().collect())
        .unwrap_or_default();
    sorted(&left.commands)
        .into_iter()
        .filter(|w| !right.contains(w))
        .collect()
}

/// Why an app could not be planned.
#[derive(Debug, Clone)]
pub struct AppError {
    /// The call that failed, when one did.
    pub command: Option<Command>,
    pub code: Option<i64>,
    /// What the code means, in plain words.
    pub meaning: Option<String>,
    /// Tencent's `ErrorInfo`, or the network failure in words (never a secret).
    pub message: String,
    pub request_id: Option<String>,
    pub hint: Option<String>,
}

impl From<&ApiError> for AppError {
    fn from(error: &ApiError) -> Self {
        let message = match error {
            ApiError::Api { info, .. } if info.is_empty() => "no ErrorInfo".to_owned(),
            ApiError::Api { info, .. } => info.clone(),
            // The command is reported in its own field; drop Display's `command: ` prefix.
            other => {
                let text = other.to_string();
                let prefix = format!("{}: ", other.command());
                text.strip_prefix(&prefix).unwrap_or(&text).to_owned()
            }
        };
        AppError {
            command: Some(error.command()),
            code: error.code(),
            meaning: error
                .code()
                .map(|c| crate::tim::errors::meaning(c).to_owned()),
            message,
            request_id: error
                .request_id()
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            hint: error.hint().map(str::to_owned),
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
    pub action: Action,
    /// `None` when the callback is unmanaged or the app failed.
    pub callback: Option<CallbackChange>,
    /// The live callback as read (also for an unmanaged callback), for `before` in reports.
    pub live: Option<LiveState>,
    pub calls: Vec<PlannedCall>,
    pub fingerprint: Option<String>,
    pub error: Option<AppError>,
}

/// Decides what to do for `app` given what was read (or why reading failed).
pub fn decide(app: &App, live: Result<LiveState, AppError>) -> AppPlan {
    let mut plan = AppPlan {
        name: app.name.clone(),
        sdkappid: app.sdkappid,
        region: app.location.region_label().to_owned(),
        endpoint: app.location.base_url(),
        action: Action::NoOp,
        callback: None,
        live: None,
        calls: Vec::new(),
        fingerprint: None,
        error: None,
    };
    let live = match live {
        Ok(live) => live,
        Err(error) => {
            plan.action = Action::Error;
            plan.error = Some(error);
            return plan;
        }
    };
    if let Some(desired) = &app.callback {
        let change = decide_callback(desired, live.callback.as_ref());
        if let Some(call) = callback_call(&change) {
            plan.calls.push(call);
        }
        plan.action = change.action;
        plan.callback = Some(change);
    }
    plan.fingerprint = Some(live.fingerprint());
    plan.live = Some(live);
    plan
}

fn decide_callback(desired: &Managed<CallbackSpec>, live: Option<&CallbackBody>) -> CallbackChange {
    let after = match desired {
        Managed::Present(spec) => Some(CallbackBody {
            url: spec.url.clone(),
            commands: spec.commands.clone(),
        }),
        Managed::Absent => None,
    };
    let action = match (live, &after) {
        (None, None) => Action::NoOp,
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        (Some(live), Some(want)) if same_callback(live, want) => Action::NoOp,
        (Some(_), Some(_)) => Action::Update,
    };
    CallbackChange {
        action,
        before: live.cloned(),
        after,
    }
}

/// URLs are compared exactly (Tencent posts to the string as written); commands as a set.
pub fn same_callback(a: &CallbackBody, b: &CallbackBody) -> bool {
    a.url == b.url && sorted(&a.commands) == sorted(&b.commands)
}

fn callback_call(change: &CallbackChange) -> Option<PlannedCall> {
    let body = |c: &CallbackBody| json!({"Url": c.url, "CallbackCommandList": c.commands});
    match (change.action, &change.after) {
        (Action::Create, Some(after)) => Some(PlannedCall {
            command: Command::SetCallback,
            body: body(after),
        }),
        (Action::Update, Some(after)) => Some(PlannedCall {
            command: Command::UpdateCallback,
            body: body(after),
        }),
        (Action::Delete, _) => Some(PlannedCall {
            command: Command::DeleteCallback,
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
            match plan.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Delete => summary.delete += 1,
                Action::NoOp => summary.no_op += 1,
                Action::Error => summary.error += 1,
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

    fn app(callback: Option<Managed<CallbackSpec>>) -> App {
        let here = Position {
            file: "f.yaml".into(),
            line: 1,
            column: 1,
        };
        App {
            name: "a".into(),
            sdkappid: 1400000001,
            location: Location::Region(Region::Singapore),
            identifier: "administrator".into(),
            secret_key_env: "K".into(),
            callback,
            token: None,
            origin: Origin {
                app: here,
                callback: None,
                url: None,
                commands: Vec::new(),
                token: None,
            },
        }
    }

    fn spec(url: &str, words: &[&str]) -> Option<Managed<CallbackSpec>> {
        Some(Managed::Present(CallbackSpec {
            url: url.into(),
            commands: words.iter().map(|w| w.to_string()).collect(),
        }))
    }

    fn live(url: &str, words: &[&str]) -> LiveState {
        LiveState {
            callback: Some(CallbackBody {
                url: url.into(),
                commands: words.iter().map(|w| w.to_string()).collect(),
            }),
        }
    }

    #[test]
    fn each_row_of_the_decision_table() {
        let missing = LiveState::default();
        let p = decide(
            &app(spec("https://a", &["X.CallbackA"])),
            Ok(missing.clone()),
        );
        assert_eq!(p.action, Action::Create);
        assert_eq!(p.calls[0].command, Command::SetCallback);
        assert_eq!(
            p.calls[0].body,
            json!({"Url": "https://a", "CallbackCommandList": ["X.CallbackA"]})
        );

        let p = decide(
            &app(spec("https://b", &["X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA"])),
        );
        assert_eq!(p.action, Action::Update);
        assert_eq!(p.calls[0].command, Command::UpdateCallback);

        let p = decide(
            &app(Some(Managed::Absent)),
            Ok(live("https://a", &["X.CallbackA"])),
        );
        assert_eq!(p.action, Action::Delete);
        assert_eq!(
            p.calls,
            vec![PlannedCall {
                command: Command::DeleteCallback,
                body: json!({})
            }]
        );

        let p = decide(&app(Some(Managed::Absent)), Ok(missing.clone()));
        assert_eq!((p.action, p.calls.len()), (Action::NoOp, 0));

        // Unmanaged: read, never changed.
        let p = decide(&app(None), Ok(live("https://a", &["X.CallbackA"])));
        assert_eq!((p.action, p.calls.len()), (Action::NoOp, 0));
    }

    #[test]
    fn commands_are_a_set_and_urls_exact() {
        let p = decide(
            &app(spec("https://a", &["X.CallbackB", "X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA", "X.CallbackB"])),
        );
        assert_eq!(p.action, Action::NoOp);
        let p = decide(
            &app(spec("https://a/", &["X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA"])),
        );
        assert_eq!(p.action, Action::Update);
        let change = decide(
            &app(spec("https://a", &["X.CallbackC", "X.CallbackA"])),
            Ok(live("https://a", &["X.CallbackA", "X.CallbackB"])),
        )
        .callback
        .unwrap();
        assert_eq!(change.added_commands(), ["X.CallbackC"]);
        assert_eq!(change.removed_commands(), ["X.CallbackB"]);
        assert_eq!(change.kept_commands(), ["X.CallbackA"]);
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
}

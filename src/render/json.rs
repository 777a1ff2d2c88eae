//! `--format json`: the stable machine interface (README, "JSON format"). Its shape is versioned by
//! `format_version`; add fields freely, but change or remove one only with a new major version.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use crate::config::model::callback_in_file::InFile;
use crate::plan::{Action, AppPlan, Summary, TokenChange, TokenState};
use crate::tim::wire::Callback;

pub const FORMAT_VERSION: &str = "1.0";

pub fn render(plans: &[AppPlan]) -> String {
    let mut text = Vec::new();
    write(plans, &mut text).expect("writing into memory cannot fail");
    String::from_utf8(text).expect("JSON is UTF-8")
}

/// Writes the report to `out` as it is serialised: a 5,000-app plan is several MB of JSON, and
/// holding it whole before printing it was the largest single piece of `plan`'s peak memory.
pub fn write(plans: &[AppPlan], out: impl std::io::Write) -> std::io::Result<()> {
    use std::io::Write as _;
    let doc = Document {
        summary: Summary::of(plans),
        plans,
    };
    let mut out = super::escape::JsonWriter::new(std::io::BufWriter::new(out));
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// `{"format_version", "summary", "apps"}`, serialised app by app: each app's `Value` is built,
/// written and dropped in turn. Building the whole document as one `Value` first held every app
/// as a tree of maps at once, which for 5,000 apps was the largest part of `plan`'s peak memory.
struct Document<'a> {
    summary: Summary,
    plans: &'a [AppPlan],
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("format_version", FORMAT_VERSION)?;
        map.serialize_entry("summary", &self.summary)?;
        map.serialize_entry("apps", &Apps(self.plans))?;
        map.end()
    }
}

struct Apps<'a>(&'a [AppPlan]);

impl Serialize for Apps<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(app))
    }
}

fn app(plan: &AppPlan) -> Value {
    let decision = plan.decision.as_ref().ok();
    let live = decision.and_then(|d| d.live.callback.as_ref());
    // An unmanaged callback stays as it is: `after` repeats `before`.
    let change = decision.and_then(|d| d.callback.as_ref());
    let (before, after) = match change {
        Some(change) => (change.before.as_ref(), change.after.as_ref()),
        None => (live, live),
    };
    let secret = change.and_then(|c| c.secret_url.as_ref());
    let mut app = json!({
        "name": plan.name,
        "sdkappid": plan.sdkappid,
        "region": plan.region,
        "endpoint": plan.endpoint,
        "action": Action::name_of(plan.action()),
        "calls": decision.map_or(&[][..], |d| &d.calls),
        "before": callback(before, secret.and_then(|s| s.before.as_deref())),
        "after": callback(after, secret.map(|s| s.after.as_str())),
        "token": token(decision.and_then(|d| d.token.as_ref())),
        "fingerprint": decision.map(|d| &d.fingerprint),
        "error": plan.decision.as_ref().err(),
    });
    // Only with `--probe`, so that a plan without it is the document it always was.
    if let Some(probe) = &plan.probe {
        app["probe"] = super::probe::app_json(probe);
    }
    app
}

/// A callback as `{url, commands}`; a URL with `${NAME}` references (the template, or the live
/// URL masked) adds `url_fingerprint`, the keyed fingerprint of the real URL.
fn callback(callback: Option<&Callback>, url_fingerprint: Option<&str>) -> Value {
    let mut value = json!(callback.map(InFile));
    if let (Some(object), Some(fingerprint)) = (value.as_object_mut(), url_fingerprint) {
        object.insert("url_fingerprint".into(), json!(fingerprint));
    }
    value
}

/// The token part: `null` when unmanaged; never the value, only its keyed fingerprint.
fn token(change: Option<&TokenChange>) -> Value {
    let Some(change) = change else {
        return Value::Null;
    };
    let side = |s: Option<&TokenState>| {
        s.map(|s| json!({"fingerprint": s.fingerprint, "enabled": s.enabled}))
    };
    json!({
        "action": change.action,
        "before": side(change.before.as_ref()),
        "after": side(change.after.as_ref()),
    })
}

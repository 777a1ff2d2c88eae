//! What differs between two states of an app, part by part, and the words reports use for it.
//!
//! Two checks compare states this way and differ only in phrasing: apply's read-back (what still
//! differs from the desired state) and a saved plan's stale check (what moved since the plan).
//! Both find the differences here, so a change to how callbacks or tokens compare reaches both.

use super::TokenState;
use super::token::short_change;
use super::words_only_in;
use crate::tim::wire::Callback;

/// One way the second state of an app differs from the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference<'a> {
    /// A callback in the second state only.
    CallbackAppears(&'a Callback),
    /// A callback in the first state only.
    CallbackGone(&'a Callback),
    Url {
        from: &'a str,
        to: &'a str,
    },
    /// URLs whose texts read the same (a template, a masked live URL) and whose secret parts
    /// differ: the keyed fingerprints of the two.
    UrlValue {
        from: &'a str,
        to: &'a str,
    },
    /// Command words in the second state only, sorted.
    CommandsGained(Vec<String>),
    /// Command words in the first state only, sorted.
    CommandsLost(Vec<String>),
    TokenAppears,
    TokenGone,
    /// The keyed fingerprints of two different values.
    TokenValue {
        from: &'a str,
        to: &'a str,
    },
    TokenEnabled {
        from: bool,
        to: bool,
    },
}

/// Which two states were compared, which decides the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// The state read back after apply (first) against the desired state (second).
    ReadBack,
    /// The live state a saved plan was made from (first) against the live state now (second).
    SincePlan,
}

/// How two callbacks differ: URLs exactly, commands as sets.
pub fn callback<'a>(from: Option<&'a Callback>, to: Option<&'a Callback>) -> Vec<Difference<'a>> {
    match (from, to) {
        (None, None) => Vec::new(),
        (None, Some(to)) => vec![Difference::CallbackAppears(to)],
        (Some(from), None) => vec![Difference::CallbackGone(from)],
        (Some(from), Some(to)) => {
            let mut out = Vec::new();
            if from.url != to.url {
                out.push(Difference::Url {
                    from: &from.url,
                    to: &to.url,
                });
            }
            let gained = words_only_in(&to.commands, &from.commands);
            if !gained.is_empty() {
                out.push(Difference::CommandsGained(gained));
            }
            let lost = words_only_in(&from.commands, &to.commands);
            if !lost.is_empty() {
                out.push(Difference::CommandsLost(lost));
            }
            out
        }
    }
}

/// How two callback URLs that read the same differ in their secret parts, by the keyed
/// fingerprints of the real URLs (`None` where there is none: no secret to compare). URLs whose
/// texts differ are [`callback`]'s to report.
pub fn url_value<'a>(
    from: Option<&Callback>,
    to: Option<&Callback>,
    from_fingerprint: Option<&'a str>,
    to_fingerprint: Option<&'a str>,
) -> Vec<Difference<'a>> {
    match (from, to, from_fingerprint, to_fingerprint) {
        (Some(a), Some(b), Some(from), Some(to)) if a.url == b.url && from != to => {
            vec![Difference::UrlValue { from, to }]
        }
        _ => Vec::new(),
    }
}

/// How two tokens differ, by keyed fingerprint and `enabled`.
pub fn token<'a>(from: Option<&'a TokenState>, to: Option<&'a TokenState>) -> Vec<Difference<'a>> {
    match (from, to) {
        (None, None) => Vec::new(),
        (None, Some(_)) => vec![Difference::TokenAppears],
        (Some(_), None) => vec![Difference::TokenGone],
        (Some(from), Some(to)) => {
            let mut out = Vec::new();
            if from.fingerprint != to.fingerprint {
                out.push(Difference::TokenValue {
                    from: &from.fingerprint,
                    to: &to.fingerprint,
                });
            }
            if from.enabled != to.enabled {
                out.push(Difference::TokenEnabled {
                    from: from.enabled,
                    to: to.enabled,
                });
            }
            out
        }
    }
}

impl Difference<'_> {
    /// One sentence, e.g. `callback url is "X", not "Y"` after a read-back, or `callback url
    /// changed from "X" to "Y" since the plan`. A token's value appears only as short keyed
    /// fingerprints.
    pub fn describe(&self, comparison: Comparison) -> String {
        let since_plan = comparison == Comparison::SincePlan;
        match self {
            Difference::CallbackAppears(to) if since_plan => {
                format!("a callback was created since the plan (url \"{}\")", to.url)
            }
            Difference::CallbackAppears(_) => "no callback is configured".into(),
            Difference::CallbackGone(from) if since_plan => format!(
                "the callback was deleted since the plan (it had url \"{}\")",
                from.url
            ),
            Difference::CallbackGone(from) => {
                format!("a callback is still configured (url \"{}\")", from.url)
            }
            Difference::Url { from, to } if since_plan => {
                format!("callback url changed from \"{from}\" to \"{to}\" since the plan")
            }
            Difference::Url { from, to } => format!("callback url is \"{from}\", not \"{to}\""),
            Difference::UrlValue { from, to } if since_plan => format!(
                "callback url's sensitive value changed since the plan ({})",
                short_change(from, to)
            ),
            Difference::UrlValue { from, to } => format!(
                "callback url's sensitive value differs ({})",
                short_change(from, to)
            ),
            Difference::CommandsGained(words) if since_plan => {
                format!(
                    "callback commands gained {} since the plan",
                    words.join(", ")
                )
            }
            Difference::CommandsGained(words) => {
                format!("callback commands lack {}", words.join(", "))
            }
            Difference::CommandsLost(words) if since_plan => {
                format!("callback commands lost {} since the plan", words.join(", "))
            }
            Difference::CommandsLost(words) => {
                format!("callback commands also have {}", words.join(", "))
            }
            Difference::TokenAppears if since_plan => "a token was set since the plan".into(),
            Difference::TokenAppears => "no token is configured".into(),
            Difference::TokenGone if since_plan => "the token was deleted since the plan".into(),
            Difference::TokenGone => "a token is still configured".into(),
            Difference::TokenValue { from, to } if since_plan => format!(
                "token value changed since the plan ({})",
                short_change(from, to)
            ),
            Difference::TokenValue { from, to } => {
                format!("token value differs ({})", short_change(from, to))
            }
            Difference::TokenEnabled { from, to } if since_plan => {
                format!("token enabled changed from {from} to {to} since the plan")
            }
            Difference::TokenEnabled { from, to } => format!("token enabled is {from}, not {to}"),
        }
    }
}

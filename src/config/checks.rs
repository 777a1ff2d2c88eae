//! The checks a JSON Schema cannot express: command words with suggestions, duplicate words, URL
//! and endpoint rules, and where each app is called.
//!
//! They run on the same JSON document as the schema, even when the schema found problems, so one
//! run reports everything; anything of the wrong type is skipped here (the schema reported it).

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::diagnostic::{ConfigDiagnostic, SourceFile};
use super::schema::show;
use super::suggest::did_you_mean;
use super::url_template::UrlTemplate;
use super::url_text::{self, UrlTextProblem};
use super::yaml::{Document, child_pointer, escape_pointer};
use crate::tim::command_words;

pub fn check(doc: &Document, source: &SourceFile) -> Vec<ConfigDiagnostic> {
    let mut out = Vec::new();
    let Some(root) = doc.value.as_object() else {
        return out;
    };
    let extra: Vec<&str> = root
        .get("extra_commands")
        .and_then(Value::as_array)
        .map(|words| words.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(version) = root.get("version") {
        check_whole_number(doc, source, "/version", version, 1.0..=1.0, &mut out);
    }
    let defaults = root.get("defaults").and_then(Value::as_object);
    if let Some(defaults) = defaults {
        check_location_fields(doc, source, "/defaults", defaults, &mut out);
    }
    let Some(apps) = root.get("apps").and_then(Value::as_object) else {
        return out;
    };
    for (name, app) in apps {
        let Some(app) = app.as_object() else { continue };
        let pointer = child_pointer("/apps", &[&escape_pointer(name)]);
        if let Some(sdkappid) = app.get("sdkappid") {
            let pointer = child_pointer(&pointer, &["sdkappid"]);
            check_whole_number(
                doc,
                source,
                &pointer,
                sdkappid,
                1.0..=4294967295.0,
                &mut out,
            );
        }
        check_location_fields(doc, source, &pointer, app, &mut out);
        check_has_location(doc, source, &pointer, name, app, defaults, &mut out);
        if let Some(callback) = app.get("callback").and_then(Value::as_object) {
            let pointer = child_pointer(&pointer, &["callback"]);
            if let Some(url) = callback.get("url").and_then(Value::as_str) {
                check_callback_url(
                    doc,
                    source,
                    &child_pointer(&pointer, &["url"]),
                    url,
                    &mut out,
                );
            }
            if let Some(words) = callback.get("commands").and_then(Value::as_array) {
                check_commands(
                    doc,
                    source,
                    &child_pointer(&pointer, &["commands"]),
                    words,
                    &extra,
                    &mut out,
                );
            }
        }
    }
    out
}

/// JSON Schema's `integer` admits `1.0` and `1e3`, which YAML reads as floats and serde then
/// refuses; say so here rather than let the file fail later as an internal error. Only values
/// within `schema_range` are reported: the schema reports the others.
fn check_whole_number(
    doc: &Document,
    source: &SourceFile,
    pointer: &str,
    value: &Value,
    schema_range: std::ops::RangeInclusive<f64>,
    out: &mut Vec<ConfigDiagnostic>,
) {
    let Some(number) = value.as_number().filter(|n| n.is_f64()) else {
        return;
    };
    let float = number.as_f64().unwrap_or(f64::NAN);
    if float.fract() != 0.0 || !schema_range.contains(&float) {
        return;
    }
    let field = pointer.rsplit('/').next().unwrap_or_default();
    out.push(
        ConfigDiagnostic::error(
            "livehook::wrong_type",
            format!("`{field}` must be written as a whole number, found `{number}`"),
        )
        .at(
            source,
            doc.spans.nearest(pointer).value,
            "a floating-point number",
        )
        .help("write it without a decimal point or exponent"),
    );
}

fn check_commands(
    doc: &Document,
    source: &SourceFile,
    pointer: &str,
    words: &[Value],
    extra: &[&str],
    out: &mut Vec<ConfigDiagnostic>,
) {
    for (index, word) in words.iter().enumerate() {
        let Some(word) = word.as_str() else { continue };
        // Looked up only for a word that has a problem: most have none.
        let span = || doc.spans.nearest(&format!("{pointer}/{index}")).value;
        if let Some(first) = words[..index].iter().position(|w| w.as_str() == Some(word)) {
            let first_span = doc.spans.nearest(&format!("{pointer}/{first}")).value;
            out.push(
                ConfigDiagnostic::error(
                    "livehook::duplicate_command",
                    format!("command word `{word}` is listed twice"),
                )
                .at(source, span(), "listed again here")
                .related(first_span, "first listed here")
                .help("commands are a set; remove the second one"),
            );
            continue;
        }
        if command_words::is_known(word) || extra.contains(&word) {
            continue;
        }
        let candidates = command_words::KNOWN
            .iter()
            .copied()
            .chain(extra.iter().copied());
        let diagnostic = ConfigDiagnostic::error(
            "livehook::unknown_command",
            format!("unknown command word `{word}`"),
        )
        .at(source, span(), "not a documented live-room command word");
        out.push(match did_you_mean(word, candidates) {
            Some(best) => diagnostic.help(format!(
                "did you mean `{best}`? If Tencent added `{word}` recently, list it under the top-level `extra_commands`"
            )),
            None => diagnostic.help(format!(
                "if Tencent added `{word}` recently, list it under the top-level `extra_commands`"
            )),
        });
    }
}

fn check_callback_url(
    doc: &Document,
    source: &SourceFile,
    pointer: &str,
    url: &str,
    out: &mut Vec<ConfigDiagnostic>,
) {
    let span = doc.spans.nearest(pointer).value;
    let template = match UrlTemplate::parse(url) {
        Ok(template) => template,
        Err(error) => {
            out.push(
                ConfigDiagnostic::error(
                    "livehook::invalid_url_template",
                    format!("callback url: {error}"),
                )
                .at(source, char_span(source, span, url, error.at()), "this `$`")
                .help(error.help()),
            );
            return;
        }
    };
    if let Err(problem) = url_text::check(url) {
        out.push(url_text_diagnostic(
            "livehook::invalid_url",
            "callback url",
            url,
            problem,
            source,
            span,
        ));
        return;
    }
    match parse_http_url(&template.with_placeholders()) {
        Err(why) => out.push(
            ConfigDiagnostic::error(
                "livehook::invalid_url",
                format!("callback url {} is not an absolute http:// or https:// URL", show(&url.into())),
            )
            .at(source, span, why)
            .help("write the full URL Tencent should post to, e.g. `https://hooks.example.com/tim/live`"),
        ),
        Ok(parsed) if parsed.scheme() == "http" && !is_loopback(&parsed) => out.push(
            ConfigDiagnostic::warning(
                "livehook::plain_http_callback",
                "callback url uses plain http: Tencent recommends https",
            )
            .at(source, span, "events and their token signature travel unencrypted")
            .help("use an https:// URL"),
        ),
        Ok(_) => {}
    }
}

/// The one character at byte `at` of a scalar whose value is `value`, when the file writes it
/// as is (plain, or quoted without escapes); otherwise the whole scalar.
fn char_span(
    source: &SourceFile,
    scalar: std::ops::Range<usize>,
    value: &str,
    at: usize,
) -> std::ops::Range<usize> {
    let written = source.text.get(scalar.clone()).unwrap_or_default();
    let start = if written == value {
        scalar.start + at
    } else if written.len() == value.len() + 2 && written.get(1..written.len() - 1) == Some(value) {
        scalar.start + 1 + at
    } else {
        return scalar;
    };
    start..start + 1
}

/// A URL whose exact text cannot be sent. Its message names the character by code point and
/// never quotes the URL; a URL with credentials (whatever else is wrong with it) is hidden from
/// the snippet too.
fn url_text_diagnostic(
    code: &'static str,
    what: &str,
    url: &str,
    problem: UrlTextProblem,
    source: &SourceFile,
    span: std::ops::Range<usize>,
) -> ConfigDiagnostic {
    let diagnostic = ConfigDiagnostic::error(code, format!("{what} {problem}"))
        .at(source, span.clone(), problem.label())
        .help(problem.help());
    if url_text::has_userinfo(url) {
        diagnostic.hide(span)
    } else {
        diagnostic
    }
}

fn check_location_fields(
    doc: &Document,
    source: &SourceFile,
    pointer: &str,
    object: &Map<String, Value>,
    out: &mut Vec<ConfigDiagnostic>,
) {
    if let Some(endpoint) = object.get("endpoint").and_then(Value::as_str) {
        let span = doc
            .spans
            .nearest(&child_pointer(pointer, &["endpoint"]))
            .value;
        match check_endpoint(endpoint) {
            Err(EndpointProblem::Text(problem)) => out.push(url_text_diagnostic(
                "livehook::invalid_endpoint",
                "endpoint",
                endpoint,
                problem,
                source,
                span,
            )),
            Err(EndpointProblem::Invalid(why)) => out.push(
                ConfigDiagnostic::error(
                    "livehook::invalid_endpoint",
                    format!("endpoint {} is not an http:// or https:// base URL", show(&endpoint.into())),
                )
                .at(source, span, why)
                .help("write a base URL such as `https://adminapisgp.im.qcloud.com` or `http://127.0.0.1:8080`"),
            ),
            Err(EndpointProblem::HasQuery) => out.push(
                ConfigDiagnostic::error(
                    "livehook::invalid_endpoint",
                    "endpoint must be a base URL without a query or fragment",
                )
                .at(source, span, "livehook appends `/v4/live_config/…` and its own query")
                .help("remove everything from `?` or `#` on"),
            ),
            Err(EndpointProblem::Insecure) => out.push(
                ConfigDiagnostic::error(
                    "livehook::insecure_endpoint",
                    "endpoint uses plain http on a host that is not loopback",
                )
                .at(source, span, "the UserSig would travel unencrypted")
                .help("use https://, or http:// only with 127.0.0.1, ::1 or localhost (the emulator)"),
            ),
            Ok(_) => {}
        }
    }
    if object.contains_key("region") && object.contains_key("endpoint") {
        let region = doc
            .spans
            .nearest(&format!("{pointer}/region"))
            .key_or_value();
        let endpoint = doc
            .spans
            .nearest(&format!("{pointer}/endpoint"))
            .key_or_value();
        out.push(
            ConfigDiagnostic::error(
                "livehook::region_and_endpoint",
                "`region` and `endpoint` are both set; exactly one applies",
            )
            .at(source, endpoint, "endpoint set here")
            .related(region, "region set here")
            .help("keep `region` for Tencent's domains, or `endpoint` for any other base URL"),
        );
    }
}

fn check_has_location(
    doc: &Document,
    source: &SourceFile,
    pointer: &str,
    name: &str,
    app: &Map<String, Value>,
    defaults: Option<&Map<String, Value>>,
    out: &mut Vec<ConfigDiagnostic>,
) {
    let has = |o: &Map<String, Value>| o.contains_key("region") || o.contains_key("endpoint");
    if has(app) || defaults.is_some_and(has) {
        return;
    }
    out.push(
        ConfigDiagnostic::error(
            "livehook::no_location",
            format!("app `{name}` has neither `region` nor `endpoint`"),
        )
        .at(
            source,
            doc.spans.nearest(pointer).key_or_value(),
            "where should this app be called?",
        )
        .help("add `region: singapore` (or another region) to the app or to `defaults`"),
    );
}

/// Why a base URL cannot be used as an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointProblem {
    /// Its exact text holds whitespace, a control character or credentials.
    Text(UrlTextProblem),
    /// Not an absolute http(s) URL with a host; says which.
    Invalid(&'static str),
    /// A query or fragment: livehook appends the path and its own query.
    HasQuery,
    /// Plain http to a host that is not loopback: the UserSig would travel unencrypted.
    Insecure,
}

impl EndpointProblem {
    /// Whether a message may repeat the endpoint next to this problem: not when its text is the
    /// problem (a control character, a password).
    pub fn may_quote_endpoint(self) -> bool {
        !matches!(self, EndpointProblem::Text(_))
    }
}

impl std::fmt::Display for EndpointProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndpointProblem::Text(problem) => return write!(f, "the endpoint {problem}"),
            EndpointProblem::Invalid(why) => why,
            EndpointProblem::HasQuery => "an endpoint is a base URL without a query or fragment",
            EndpointProblem::Insecure => {
                "plain http is allowed only on loopback (127.0.0.1, ::1, localhost)"
            }
        })
    }
}

/// The one rule for endpoints, wherever one comes from: a desired-state file, `export
/// --endpoint`, or a saved plan (which could have been edited to send the UserSig elsewhere).
pub fn check_endpoint(text: &str) -> Result<url::Url, EndpointProblem> {
    url_text::check(text).map_err(EndpointProblem::Text)?;
    let parsed = parse_http_url(text).map_err(EndpointProblem::Invalid)?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(EndpointProblem::HasQuery);
    }
    if parsed.scheme() == "http" && !is_loopback(&parsed) {
        return Err(EndpointProblem::Insecure);
    }
    Ok(parsed)
}

/// An absolute http(s) URL with a host, or why not.
pub fn parse_http_url(text: &str) -> Result<url::Url, &'static str> {
    let parsed = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => "the URL has no host",
        url::ParseError::InvalidPort => "the port is not a number from 0 to 65535",
        _ => "not an absolute URL",
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("only http:// and https:// are allowed");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host");
    }
    Ok(parsed)
}

/// 127.0.0.0/8, ::1 and `localhost`: the only hosts where plain http is acceptable.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

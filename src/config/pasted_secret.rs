//! `secret_key_env` and a token's `value_env` name the environment variable that holds a secret.
//! Pasting the secret itself there is an easy mistake, and the file is about to be committed and
//! shown in pull-request checks, so such a value is reported without ever being repeated: not in
//! the message, and not in the source snippet under it (the span is hidden, see
//! [`ConfigDiagnostic::hide`]).
//!
//! The schema's own pattern error would quote the value; it stays quiet about these two fields
//! and this check reports them instead.

use serde_json::Value;

use super::diagnostic::{ConfigDiagnostic, SourceFile};
use super::model::is_env_name;
use super::yaml::{Document, escape_pointer};

/// Shorter values are not taken for secrets: real keys and tokens are longer, and short
/// variable names would otherwise match by chance.
const MIN_SECRET_CHARS: usize = 24;

/// Whether `value` looks like a key or token rather than a variable name: at least 24
/// characters of the base64 or base64url alphabet (`=` padding included), and
///
/// - all hexadecimal digits (a Tencent secret key is 64 of them), or
/// - holding `+`, `/`, `-` or `=`, which no variable name can hold, or
/// - mixing lower-case letters, upper-case letters and digits, as random text does.
///
/// Variable names are written in upper case with `_` between words (`TIM_SECRET_KEY_PROD_SG`)
/// and never match; only a camel-case name of 24 characters or more with a digit in it would,
/// and such a name is better shortened anyway.
pub fn looks_like_secret(value: &str) -> bool {
    let is_alphabet =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=');
    if value.chars().count() < MIN_SECRET_CHARS || !value.chars().all(is_alphabet) {
        return false;
    }
    let has = |test: fn(&char) -> bool| value.chars().any(|c| test(&c));
    value.chars().all(|c| c.is_ascii_hexdigit())
        || has(|c| matches!(c, '+' | '/' | '-' | '='))
        || (has(char::is_ascii_lowercase)
            && has(char::is_ascii_uppercase)
            && has(char::is_ascii_digit))
}

/// Reports every `secret_key_env` and `value_env` that is not a variable name or looks like a
/// secret, with its value hidden. Values of another type are the schema's to report.
pub fn check(doc: &Document, source: &SourceFile, out: &mut Vec<ConfigDiagnostic>) {
    let Some(root) = doc.value.as_object() else {
        return;
    };
    // The fields are reached by walking the value; a pointer is spelled out only for a value
    // that is reported, since looking each one up by pointer cost as much as the rest of the
    // checks on a large file.
    let mut report = |pointer: &dyn Fn() -> String, field: &str, value: Option<&Value>| {
        let Some(value) = value.and_then(Value::as_str) else {
            return;
        };
        if let Some((diagnostic, label)) = diagnose(field, value) {
            let span = doc.spans.nearest(&pointer()).value;
            out.push(diagnostic.at(source, span.clone(), label).hide(span));
        }
    };
    let defaults = root.get("defaults");
    report(
        &|| "/defaults/secret_key_env".to_owned(),
        "secret_key_env",
        defaults.and_then(|d| d.get("secret_key_env")),
    );
    if let Some(apps) = root.get("apps").and_then(Value::as_object) {
        for (name, app) in apps {
            let at = |field: &str| format!("/apps/{}/{field}", escape_pointer(name));
            report(
                &|| at("secret_key_env"),
                "secret_key_env",
                app.get("secret_key_env"),
            );
            report(
                &|| at("token/value_env"),
                "value_env",
                app.get("token").and_then(|t| t.get("value_env")),
            );
        }
    }
}

/// The diagnostic for one value, if it needs one, and the label under its (hidden) span.
fn diagnose(field: &str, value: &str) -> Option<(ConfigDiagnostic, &'static str)> {
    let what = if field == "value_env" {
        "webhook token"
    } else {
        "secret key"
    };
    if looks_like_secret(value) {
        return Some((
            ConfigDiagnostic::error(
                "livehook::secret_in_env_name",
                format!(
                    "`{field}` holds what looks like a {what}, not the name of the environment variable that holds it"
                ),
            )
            .help(format!(
                "put the {what} in an environment variable (e.g. `{}`) and write that variable's name here; \
                 then replace the {what}: it has been written into this file",
                if field == "value_env" { "HOOK_TOKEN" } else { "TIM_SECRET_KEY" }
            )),
            "looks like a secret (value hidden)",
        ));
    }
    if !is_env_name(value) {
        return Some((
            ConfigDiagnostic::error(
                "livehook::invalid_env_name",
                format!("`{field}` is not a valid environment variable name"),
            )
            .help(
                "use letters, digits and `_`, not starting with a digit, e.g. `TIM_SECRET_KEY`; \
                 the value is not shown, in case it is a secret pasted here",
            ),
            "not a variable name (value hidden)",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tokens_look_like_secrets() {
        for value in [
            "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",
            "3F1C2D4E5A6B7C8D9E0F1A2B",
            "dGhpcyBpcyBhIHRva2VuIHZhbHVl",
            "dGhpcyBpcyBhIHRva2VuIHZh+/==",
            "q3Zk_8vR-2mN9xWb7LpT4sYc",
            "Ab1cdefghijklmnopqrstuvwx",
        ] {
            assert!(looks_like_secret(value), "{value}");
        }
    }

    #[test]
    fn variable_names_do_not() {
        for value in [
            "TIM_SECRET_KEY",
            "TIM_SECRET_KEY_PROD_SG",
            "TIM_SECRET_KEY_PROD_SINGAPORE_2024",
            "PROD_SG_1400000001_HOOK_TOKEN",
            "APP_1400000001_HOOK_TOKEN_FOR_STAGING",
            "tim_secret_key_prod_singapore_2",
            "HOOK_TOKEN",
            "deadbeef",
            "ThisIsAVeryLongCamelCaseName",
        ] {
            assert!(!looks_like_secret(value), "{value}");
        }
    }
}

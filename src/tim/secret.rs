//! Secret strings (secret keys, UserSigs, webhook tokens) and the scrubbing of text that might
//! hold one. Keeping the value behind [`Secret`] is what stops it from reaching a log line, an
//! error or a snapshot by accident.

/// What secrets print as, wherever they would otherwise be shown.
pub const REDACTED: &str = "<redacted>";

/// A secret string. `Debug` and `Display` print [`REDACTED`], so a secret that ends up in a log
/// line or a panic message by accident is not leaked.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    /// The secret itself, for the few places that must use it (signing, sending).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces every occurrence of the given secrets (and any `usersig=` query value) in `text`.
/// Error texts are built without URLs in the first place; this is the second line of defence,
/// for causes deep in an error chain and for text that comes from the server.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("usersig=") {
        let value_start = at + "usersig=".len();
        out.push_str(&rest[..value_start]);
        out.push_str(REDACTED);
        let value_len = rest[value_start..]
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace() || c == ')')
            .unwrap_or(rest.len() - value_start);
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("s3cret".into());
        assert_eq!(secret.to_string(), REDACTED);
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(secret.expose(), "s3cret");
    }

    #[test]
    fn redact_removes_secrets_and_usersig_values() {
        let text = "error for url (http://h/x?usersig=eJabc*-_&random=1) with key K";
        let redacted = redact(text, &["K"]);
        assert_eq!(
            redacted,
            "error for url (http://h/x?usersig=<redacted>&random=1) with key <redacted>"
        );
    }
}

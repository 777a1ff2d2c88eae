//! Callback URLs with `${NAME}` references to environment variables :
//! receivers that do not check Tencent's signature often take a key in the query, and that key
//! must stay out of git, plans and pull-request comments. `$$` writes a literal `$`.
//!
//! A template is what files, plans and exports show (its `Display` is the text as written); only
//! [`UrlTemplate::resolve`] sees the values, and [`UrlTemplate::mask`] turns a live URL back into
//! a template-shaped text that shows no secret.

use std::fmt;

use super::model::is_env_name;

/// One piece of a template: text as written (`$$` already turned into `$`), or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable(String),
}

/// A parsed callback URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    parts: Vec<Part>,
}

/// Why a URL is not a valid template; `at` is the byte offset of the `$` in the URL as written.
/// The wording never repeats what follows the `$`: it may be a value pasted in by mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`$` starts neither `${{NAME}}` nor `$$`")]
    LoneDollar(usize),
    #[error("`${{` is not closed by `}}`")]
    Unclosed(usize),
    #[error("`${{…}}` does not hold an environment variable name")]
    BadName(usize),
}

impl TemplateError {
    /// The byte offset of the `$` in the URL as written.
    pub fn at(&self) -> usize {
        match *self {
            TemplateError::LoneDollar(at)
            | TemplateError::Unclosed(at)
            | TemplateError::BadName(at) => at,
        }
    }

    /// What to do about it, in one sentence.
    pub fn help(&self) -> &'static str {
        match self {
            TemplateError::LoneDollar(_) => {
                "write `$$` for a literal `$`, or `${NAME}` for the value of environment variable NAME"
            }
            TemplateError::Unclosed(_) => "close the reference: `${NAME}`",
            TemplateError::BadName(_) => {
                "a name is letters, digits and `_`, not starting with a digit, e.g. `${HOOK_KEY}`"
            }
        }
    }
}

/// What stands for a secret that cannot be told apart in a live URL.
pub const MASKED: &str = "(sensitive)";

impl UrlTemplate {
    /// Reads `${NAME}` references and `$$`; any other `$` is an error, so that a URL written
    /// before templates existed is not sent with a piece silently missing.
    pub fn parse(text: &str) -> Result<UrlTemplate, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let offset = text.len() - rest.len() + at;
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('{') {
                let close = tail.find('}').ok_or(TemplateError::Unclosed(offset))?;
                let name = &tail[..close];
                if !is_env_name(name) {
                    return Err(TemplateError::BadName(offset));
                }
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Variable(name.to_owned()));
                rest = &tail[close + 1..];
            } else {
                return Err(TemplateError::LoneDollar(offset));
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(UrlTemplate { parts })
    }

    /// The variables referenced, in order of first appearance, each once.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Variable(name) = part {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Whether the URL needs the environment: a template without variables is a plain URL (with
    /// any `$$` read as `$`).
    pub fn has_variables(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Variable(_)))
    }

    /// The URL with every variable replaced by `0`, for checks of its shape that need no value:
    /// `0` is a valid host, port and path segment alike.
    pub fn with_placeholders(&self) -> String {
        self.resolve(|_| Some("0".to_owned()))
            .expect("every variable has a placeholder")
    }

    /// The URL to send, with every variable replaced by `lookup`'s value; `Err` lists the
    /// variables `lookup` has no value for.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
        let mut url = String::new();
        let mut missing = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => url.push_str(text),
                Part::Variable(name) => match lookup(name) {
                    Some(value) => url.push_str(&value),
                    None if missing.contains(name) => {}
                    None => missing.push(name.clone()),
                },
            }
        }
        if missing.is_empty() {
            Ok(url)
        } else {
            Err(missing)
        }
    }

    /// `live` shown without the secrets this template puts into it: where `live` has the
    /// template's shape, each variable's span becomes `${NAME}`; where it does not, the secret
    /// parts cannot be told apart, so userinfo and the whole query are masked, and the path too
    /// when a variable sits in it (the whole URL when one sits in the host).
    pub fn mask(&self, live: &str) -> String {
        self.mask_by_shape(live)
            .unwrap_or_else(|| self.mask_components(live))
    }

    fn mask_components(&self, live: &str) -> String {
        // Where the variables sit, read from the template filled with a marker.
        const MARKER: &str = "livehookvariable";
        let filled = self
            .resolve(|_| Some(MARKER.to_owned()))
            .ok()
            .and_then(|text| url::Url::parse(&text).ok());
        let (Some(filled), Ok(mut url)) = (filled, url::Url::parse(live)) else {
            return MASKED.to_owned();
        };
        if filled.host_str().unwrap_or_default().contains(MARKER) {
            return MASKED.to_owned();
        }
        if filled.path().contains(MARKER) && !url.cannot_be_a_base() {
            url.set_path(&format!("/{MASKED}"));
        }
        mask_parts(url)
    }

    /// The template's text when `live` has its shape (its text parts, in order, with something in
    /// each variable's place), `None` otherwise: what `export` writes for such a URL.
    pub fn mask_by_shape(&self, live: &str) -> Option<String> {
        let mut shown = String::new();
        let mut rest = live;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Text(text) => {
                    rest = rest.strip_prefix(text.as_str())?;
                    shown.push_str(&escape_dollars(text));
                }
                Part::Variable(name) => {
                    let value_len = match parts.peek() {
                        Some(Part::Text(next)) => rest.find(next.as_str())?,
                        // Two variables in a row cannot be told apart: fall back.
                        Some(Part::Variable(_)) => return None,
                        None => rest.len(),
                    };
                    rest = &rest[value_len..];
                    shown.push_str(&format!("${{{name}}}"));
                }
            }
        }
        rest.is_empty().then_some(shown)
    }
}

impl fmt::Display for UrlTemplate {
    /// The template as written (`$$` for a literal `$`): safe to print anywhere.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(&escape_dollars(text))?,
                Part::Variable(name) => write!(f, "${{{name}}}")?,
            }
        }
        Ok(())
    }
}

/// `url` with userinfo, the query and the fragment replaced by [`MASKED`].
fn mask_parts(mut url: url::Url) -> String {
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username(MASKED);
        let _ = url.set_password(None);
    }
    if url.query().is_some() {
        url.set_query(Some(MASKED));
    }
    if url.fragment().is_some() {
        url.set_fragment(Some(MASKED));
    }
    url.to_string()
}

/// Whether a live URL carries something that may be a secret: userinfo or a query.
pub fn may_hold_secret(live: &str) -> bool {
    url::Url::parse(live)
        .is_ok_and(|u| !u.username().is_empty() || u.password().is_some() || u.query().is_some())
}

fn escape_dollars(text: &str) -> String {
    text.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK_KEY" => Some("s3cr3t".into()),
            "USER" => Some("bot".into()),
            _ => None,
        }
    }

    #[test]
    fn references_resolve_and_dollars_escape() {
        let t = UrlTemplate::parse("https://h/tim?key=${HOOK_KEY}&price=$$5").unwrap();
        assert_eq!(t.variables(), ["HOOK_KEY"]);
        assert_eq!(t.resolve(env).unwrap(), "https://h/tim?key=s3cr3t&price=$5");
        assert_eq!(t.to_string(), "https://h/tim?key=${HOOK_KEY}&price=$$5");
        let plain = UrlTemplate::parse("https://h/tim").unwrap();
        assert!(!plain.has_variables());
        assert_eq!(plain.resolve(env).unwrap(), "https://h/tim");
    }

    #[test]
    fn missing_variables_are_all_named_once() {
        let t = UrlTemplate::parse("https://h/${A}/${HOOK_KEY}/${B}/${A}").unwrap();
        assert_eq!(t.resolve(env).unwrap_err(), ["A", "B"]);
    }

    #[test]
    fn malformed_references_are_errors() {
        assert_eq!(
            UrlTemplate::parse("https://h/$x"),
            Err(TemplateError::LoneDollar(10))
        );
        assert_eq!(
            UrlTemplate::parse("https://h/${X"),
            Err(TemplateError::Unclosed(10))
        );
        assert_eq!(
            UrlTemplate::parse("https://h/${1X}"),
            Err(TemplateError::BadName(10))
        );
        assert_eq!(
            UrlTemplate::parse("https://h/$$${}"),
            Err(TemplateError::BadName(12))
        );
        // What follows the `$` may be a pasted value: never repeated.
        let error = UrlTemplate::parse("https://h/?k=${s3cr3t-value}").unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
    }

    #[test]
    fn a_live_url_of_the_templates_shape_shows_the_references() {
        let t = UrlTemplate::parse("https://${USER}@h/tim?key=${HOOK_KEY}&a=1").unwrap();
        assert_eq!(
            t.mask("https://bot@h/tim?key=s3cr3t&a=1"),
            "https://${USER}@h/tim?key=${HOOK_KEY}&a=1"
        );
    }

    #[test]
    fn a_secret_in_the_path_or_host_masks_the_path_or_everything() {
        let path = UrlTemplate::parse("https://h/${HOOK_KEY}/in").unwrap();
        assert_eq!(
            path.mask("https://h/abc/elsewhere?x=1"),
            "https://h/(sensitive)?(sensitive)"
        );
        assert_eq!(path.mask("https://h/abc/in"), "https://h/${HOOK_KEY}/in");
        let host = UrlTemplate::parse("https://${HOOK_KEY}.example.com/in").unwrap();
        assert_eq!(host.mask("https://abc.other.com/x"), MASKED);
        assert_eq!(
            host.mask("https://abc.example.com/in"),
            "https://${HOOK_KEY}.example.com/in"
        );
        // Two variables side by side cannot be told apart.
        let both = UrlTemplate::parse("https://h/?k=${A}${B}").unwrap();
        assert_eq!(both.mask("https://h/?k=xy"), "https://h/?(sensitive)");
        assert_eq!(
            MASKED,
            UrlTemplate::parse("https://h/?k=${A}")
                .unwrap()
                .mask("not a url")
        );
    }

    #[test]
    fn placeholders_keep_the_shape_of_the_url() {
        let t = UrlTemplate::parse("https://${HOST}:${PORT}/p?k=${K}&c=$$1").unwrap();
        assert_eq!(t.with_placeholders(), "https://0:0/p?k=0&c=$1");
        assert!(crate::config::parse_http_url(&t.with_placeholders()).is_ok());
        assert_eq!(t.variables(), ["HOST", "PORT", "K"]);
        assert_eq!(t.to_string(), "https://${HOST}:${PORT}/p?k=${K}&c=$$1");
        assert_eq!(UrlTemplate::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn a_live_url_of_another_shape_has_userinfo_and_query_masked_whole() {
        let t = UrlTemplate::parse("https://h/tim?key=${HOOK_KEY}").unwrap();
        let shown = t.mask("https://u:p@other.example/x?token=abc&b=2");
        assert_eq!(shown, "https://(sensitive)@other.example/x?(sensitive)");
        assert!(!shown.contains("abc") && !shown.contains(":p@"));
        assert!(may_hold_secret("https://h/x?k=1"));
        assert!(may_hold_secret("https://u@h/x"));
        assert!(!may_hold_secret("https://h/x"));
    }
}

//! Checks on the exact text of a URL that livehook sends (a callback URL, an endpoint), before
//! any parser sees it.
//!
//! The `url` crate trims surrounding whitespace and control characters and drops tabs and
//! newlines inside a URL, so a URL it accepts can differ from the text that is sent to Tencent,
//! compared in plans and printed in reports. These checks run on that text itself, and their
//! wording never repeats the offending character raw nor a password from the URL.

use std::fmt;

/// Why the exact text of a URL cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlTextProblem {
    /// Whitespace anywhere, leading and trailing included; `at` counts characters from 1.
    Whitespace { found: char, at: usize },
    /// A C0 or C1 control character or DEL.
    Control { found: char, at: usize },
    /// A Unicode bidirectional control, which makes the URL read differently from what is sent.
    Bidi { found: char, at: usize },
    /// `user:password@` before the host: a credential that would be copied into plans, logs and
    /// pull-request comments.
    Userinfo,
}

impl UrlTextProblem {
    /// What to do about it, in one sentence.
    pub fn help(self) -> &'static str {
        match self {
            UrlTextProblem::Whitespace { found: ' ', .. } => {
                "remove it: livehook sends the URL exactly as written; inside a path or query, \
                 write a space as `%20`"
            }
            UrlTextProblem::Whitespace { .. } | UrlTextProblem::Control { .. } => {
                "remove it: livehook sends the URL exactly as written, and no URL holds control \
                 characters"
            }
            UrlTextProblem::Bidi { .. } => {
                "remove it: it makes the URL display differently from the text that is sent"
            }
            UrlTextProblem::Userinfo => {
                "remove `user:password@`: a credential in a URL is copied into plans, logs and \
                 pull-request comments"
            }
        }
    }

    /// A few words for the label under the URL.
    pub fn label(self) -> &'static str {
        match self {
            UrlTextProblem::Userinfo => "credentials in the URL",
            _ => "not sent as it reads",
        }
    }
}

impl fmt::Display for UrlTextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UrlTextProblem::Whitespace { found, at } => {
                write!(f, "contains {} at character {at}", whitespace_name(found))
            }
            UrlTextProblem::Control { found, at } => write!(
                f,
                "contains the control character {} at character {at}",
                code_point(found)
            ),
            UrlTextProblem::Bidi { found, at } => write!(
                f,
                "contains the bidirectional control {} at character {at}",
                code_point(found)
            ),
            UrlTextProblem::Userinfo => {
                f.write_str("contains a user name or password (`user:password@` before the host)")
            }
        }
    }
}

/// The first problem of `text`, read as the exact bytes that would be sent.
pub fn check(text: &str) -> Result<(), UrlTextProblem> {
    for (index, found) in text.chars().enumerate() {
        let at = index + 1;
        // Bidi controls first: U+200E and U+200F are neither whitespace nor `is_control`.
        if is_bidi_control(found) {
            return Err(UrlTextProblem::Bidi { found, at });
        }
        if found.is_whitespace() {
            return Err(UrlTextProblem::Whitespace { found, at });
        }
        // `char::is_control` is Unicode's Cc category: C0, DEL and C1.
        if found.is_control() {
            return Err(UrlTextProblem::Control { found, at });
        }
    }
    if has_userinfo(text) {
        return Err(UrlTextProblem::Userinfo);
    }
    Ok(())
}

/// The explicit embedding, override and isolate controls and the implicit marks (LRM, RLM,
/// ALM), which reorder how text is displayed without being visible themselves.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether the authority (what follows `scheme:` and its slashes, up to the path, query or
/// fragment) holds an `@`. Read from the text rather than from a parsed URL, so that a URL the
/// parser refuses (and whose error message would quote it) is caught too; `https:u:p@host`,
/// which the `url` crate reads as `https://u:p@host/`, included.
pub fn has_userinfo(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return false;
    }
    let rest = rest.trim_start_matches(['/', '\\']);
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    rest[..end].contains('@')
}

fn whitespace_name(c: char) -> String {
    let name = match c {
        ' ' => "a space",
        '\t' => "a tab",
        '\n' => "a line feed",
        '\r' => "a carriage return",
        '\u{A0}' => "a no-break space",
        _ => "whitespace",
    };
    format!("{name} ({})", code_point(c))
}

/// `U+001B`: a character named without writing it.
fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_urls_pass() {
        for url in [
            "https://hooks.example.com/tim?x=1#y",
            "http://127.0.0.1:8080",
            "https://[::1]:9/p%20q",
            "https://例え.jp/パス",
            "https://hooks.example.com/a@b",
            "https://hooks.example.com/?mail=a@b",
        ] {
            assert_eq!(check(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn each_kind_is_found_with_its_position() {
        let cases = [
            (
                " https://h",
                UrlTextProblem::Whitespace { found: ' ', at: 1 },
            ),
            (
                "https://h\n",
                UrlTextProblem::Whitespace {
                    found: '\n',
                    at: 10,
                },
            ),
            (
                "https://h/a b",
                UrlTextProblem::Whitespace { found: ' ', at: 12 },
            ),
            (
                "https://h/\u{3000}",
                UrlTextProblem::Whitespace {
                    found: '\u{3000}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{1b}[31m",
                UrlTextProblem::Control {
                    found: '\u{1b}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{7f}",
                UrlTextProblem::Control {
                    found: '\u{7f}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{9b}",
                UrlTextProblem::Control {
                    found: '\u{9b}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{0}",
                UrlTextProblem::Control {
                    found: '\u{0}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{202E}",
                UrlTextProblem::Bidi {
                    found: '\u{202E}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{200F}",
                UrlTextProblem::Bidi {
                    found: '\u{200F}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{2066}",
                UrlTextProblem::Bidi {
                    found: '\u{2066}',
                    at: 11,
                },
            ),
            (
                "https://h/\u{061C}",
                UrlTextProblem::Bidi {
                    found: '\u{061C}',
                    at: 11,
                },
            ),
            ("https://user:pass@h/", UrlTextProblem::Userinfo),
            ("https://user@h", UrlTextProblem::Userinfo),
            ("https:user:pass@h", UrlTextProblem::Userinfo),
            ("https://u:p@", UrlTextProblem::Userinfo),
            ("https:\\\\u:p@h\\x", UrlTextProblem::Userinfo),
        ];
        for (url, want) in cases {
            assert_eq!(check(url), Err(want), "{url:?}");
        }
    }

    #[test]
    fn the_wording_never_holds_the_character_or_the_password() {
        for url in [
            "https://h/\u{1b}]8;;x\u{7}",
            "https://h/\u{202E}",
            "https://h/\u{85}",
            "https://h/\n::error::x",
            "https://user:hunter2@h/",
        ] {
            let problem = check(url).unwrap_err();
            let text = format!("{problem} {}", problem.help());
            assert!(
                !text.chars().any(|c| c.is_control() || is_bidi_control(c)),
                "{text:?}"
            );
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert_eq!(
            check("https://h/\n").unwrap_err().to_string(),
            "contains a line feed (U+000A) at character 11"
        );
    }
}

//! Escaping of outside text — anything from a desired-state file, the live state read from
//! Tencent, Tencent's `ErrorInfo` or a network error — for each medium livehook writes to.
//!
//! Whoever can open a pull request or use the console can choose that text, and livehook prints
//! it in CI logs (where a line may be a workflow command), terminals (where ESC drives the
//! display) and pull-request comments (where markdown and HTML are rendered). Every renderer
//! passes outside text through one of these functions, so it is always shown, never obeyed.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character reorders the text around it (bidirectional controls, the "Trojan Source"
/// characters) or breaks a line where no `\n` is seen (U+2028, U+2029).
pub fn is_bidi_or_separator(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}'
    )
}

/// Whether a character must not reach a terminal, log or page raw: C0, DEL and C1 controls,
/// bidi controls and line separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_or_separator(c)
}

/// Text for a terminal or a CI log, as Terraform quotes strings: controls and bidi characters
/// become `\n`, `\t`, `\u{1b}`, `\u{202e}`…, so they are visible and inert; printable text
/// (quotes and backslashes included) is unchanged.
pub fn text(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe)
}

/// Like [`text`], but keeps `\n`: for a block livehook lays out in lines itself, whose outside
/// pieces were already escaped whole with [`text`].
pub fn text_keeping_newlines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && is_unsafe(c))
}

fn escape_where(s: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Outside text that starts a line: as [`text`], and a leading `::` shown as `\u{3a}:`, because
/// GitHub's runner reads every line of a step's output (leading blanks aside) that starts with
/// `::` as a workflow command.
pub fn line_start(s: &str) -> Cow<'_, str> {
    let escaped = text(s);
    let blanks = escaped.len() - escaped.trim_start().len();
    if !escaped[blanks..].starts_with("::") {
        return escaped;
    }
    Cow::Owned(format!(
        "{}\\u{{3a}}{}",
        &escaped[..blanks],
        &escaped[blanks + 1..]
    ))
}

/// Text for the source snippet of a diagnostic: each unsafe character becomes a visible
/// character of the same UTF-8 length (`?`, `¿` or `�`), so the byte offsets of the diagnostic's
/// spans, and the columns counted in characters, still point where they did.
pub fn same_length_placeholder(s: &str) -> Cow<'_, str> {
    // A tab and the line ends are layout the snippet needs; a lone `\r` would rewind the line.
    let unsafe_char = |c: char, next: Option<char>| match c {
        '\t' | '\n' => false,
        '\r' => next != Some('\n'),
        c => is_unsafe(c),
    };
    // Checked first without copying: every desired-state file goes through here when loaded,
    // and almost none has a character to replace. Printable ASCII, tabs and line feeds (most
    // files, byte for byte) are safe without decoding characters.
    if s.bytes().all(|b| matches!(b, b' '..=b'~' | b'\t' | b'\n')) {
        return Cow::Borrowed(s);
    }
    let mut chars = s.chars().peekable();
    let clean = loop {
        match chars.next() {
            None => break true,
            Some(c) if unsafe_char(c, chars.peek().copied()) => break false,
            Some(_) => {}
        }
    };
    if clean {
        return Cow::Borrowed(s);
    }
    let mut chars = s.chars().peekable();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    while let Some(c) = chars.next() {
        if unsafe_char(c, chars.peek().copied()) {
            changed = true;
            out.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{fffd}',
            });
        } else {
            out.push(c);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// Plain markdown text (a table cell, a sentence): controls escaped as in [`text`], `<` and `&`
/// as HTML entities so no tag opens, `@` followed by a zero-width space so nobody is mentioned
/// (GitHub looks for mentions in the rendered text, where an entity would already be an `@`),
/// and `|` escaped so a table cell ends only where livehook ends it.
pub fn markdown_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in text(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@\u{200b}"),
            '|' => out.push_str("\\|"),
            c => out.push(c),
        }
    }
    out
}

/// A markdown code span: delimited by a backtick run longer than any inside it (padded with a
/// space when the text starts or ends with a backtick), with controls escaped and `|` escaped so
/// the span can sit in a table cell (GitHub unescapes `\|` inside code spans in tables).
pub fn markdown_code_span(s: &str) -> String {
    let content = text(s).replace('|', "\\|");
    let ticks = "`".repeat(longest_backtick_run(&content) + 1);
    let pad = if content.starts_with('`') || content.ends_with('`') || content.is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{content}{pad}{ticks}")
}

/// A fenced code block around `body` (whose lines end with `\n`): the fence is longer than any
/// backtick run in the body, so no line of it can close the block; controls other than the line
/// ends are escaped (outside text in it must already be escaped whole with [`text`], so
/// that only livehook's own line breaks end a line). Inside a code block nothing is HTML, a link or a mention.
pub fn markdown_fence(info: &str, body: &str) -> String {
    let body = text_keeping_newlines(body);
    let ticks = "`".repeat((longest_backtick_run(&body) + 1).max(3));
    let newline = if body.is_empty() || body.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{ticks}{info}\n{body}{newline}{ticks}")
}

/// HTML text content (inside `<code>` in a `<summary>`): controls escaped, so the line is never
/// split (a blank line would end the HTML block), and `&`, `<`, `>` as entities so no tag
/// (`</details>`) closes or opens. `@` gets a zero-width space for the same reason as in
/// [`markdown_inline`].
pub fn html_text(s: &str) -> String {
    text(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{200b}")
}

/// A GitHub workflow command's message, as GitHub's runner specifies (`%`, `\r`, `\n` as
/// `%25`, `%0D`, `%0A`), so it stays on its line; other controls are escaped as in [`text`] so
/// the log shows no raw ESC or bidi character.
pub fn github_data(s: &str) -> String {
    text_keeping_line_ends(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`file=`, `title=`): as [`github_data`], and also `:` and
/// `,`, which would end the property or the property list.
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn text_keeping_line_ends(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && c != '\r' && is_unsafe(c))
}

/// Serialised JSON with the unsafe characters serde_json leaves raw (DEL, C1 controls, bidi
/// controls, line separators) written as `\uXXXX`: the same JSON value, but nothing that moves
/// the cursor or reorders a line when the document is shown. Every such character can only be
/// inside a string, where a `\u` escape is valid.
pub fn json_document(json: String) -> String {
    // `\n` is the pretty printer's layout (serde_json escapes every line break inside a
    // string), so a document without anything else to escape is returned as it is, not copied.
    if !json.chars().any(is_unsafe_in_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    push_json_escaped(&mut out, &json);
    out
}

fn is_unsafe_in_json(c: char) -> bool {
    c != '\n' && is_unsafe(c)
}

fn push_json_escaped(out: &mut String, json: &str) {
    for c in json.chars() {
        if is_unsafe_in_json(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// [`json_document`] for a document written piece by piece (`serde_json::to_writer`), so that a
/// large report is never held whole in memory. A character split across two writes is held back
/// until it is complete.
pub struct JsonWriter<W: std::io::Write> {
    inner: W,
    /// The start of a character whose remaining bytes have not been written yet.
    partial: Vec<u8>,
}

impl<W: std::io::Write> JsonWriter<W> {
    pub fn new(inner: W) -> Self {
        JsonWriter {
            inner,
            partial: Vec::new(),
        }
    }

    fn write_text(&mut self, text: &str) -> std::io::Result<()> {
        if !text.chars().any(is_unsafe_in_json) {
            return self.inner.write_all(text.as_bytes());
        }
        let mut escaped = String::with_capacity(text.len() + 16);
        push_json_escaped(&mut escaped, text);
        self.inner.write_all(escaped.as_bytes())
    }
}

impl<W: std::io::Write> std::io::Write for JsonWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.partial.is_empty()
            && let Ok(text) = std::str::from_utf8(buf)
        {
            self.write_text(text)?;
            return Ok(buf.len());
        }
        self.partial.extend_from_slice(buf);
        let held = std::mem::take(&mut self.partial);
        let complete = match std::str::from_utf8(&held) {
            Ok(_) => held.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Not UTF-8 at all (serde_json never writes that): shown as replacement characters.
            Err(_) => {
                return self
                    .write_text(&String::from_utf8_lossy(&held))
                    .map(|()| buf.len());
            }
        };
        let text = std::str::from_utf8(&held[..complete]).expect("checked above");
        self.write_text(text)?;
        self.partial = held[complete..].to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let held = std::mem::take(&mut self.partial);
        if !held.is_empty() {
            self.write_text(&String::from_utf8_lossy(&held))?;
        }
        self.inner.flush()
    }
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A fresh token for `::stop-commands::`: 32 random hex digits, so text between the pair cannot
/// guess it and resume workflow commands early.
pub fn stop_commands_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `text` between `::stop-commands::<token>` and `::<token>::`: GitHub's runner treats no line
/// in between as a workflow command, whatever it contains.
pub fn github_inert(text: &str) -> String {
    let token = stop_commands_token();
    let newline = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("::stop-commands::{token}\n{text}{newline}::{token}::\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_as_terraform_quotes_and_keeps_printable_text() {
        assert_eq!(
            text("https://a.example/x?q=\"1\"\\"),
            "https://a.example/x?q=\"1\"\\"
        );
        assert_eq!(
            text("a\nb\tc\u{1b}[31m\u{202e}\u{7f}\u{85}"),
            "a\\nb\\tc\\u{1b}[31m\\u{202e}\\u{7f}\\u{85}"
        );
    }

    #[test]
    fn json_keeps_its_value_and_loses_raw_bidi() {
        let json = serde_json::to_string(&"a\u{202e}\u{85}\u{1b}\n").unwrap();
        let escaped = json_document(json);
        assert!(!escaped.chars().any(is_unsafe), "{escaped}");
        let back: String = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, "a\u{202e}\u{85}\u{1b}\n");
    }

    #[test]
    fn json_written_piece_by_piece_is_escaped_like_the_whole_document() {
        use std::io::Write as _;
        let json = serde_json::to_string_pretty(&["a\u{202e}b", "\u{85}é\u{2028}"]).unwrap();
        let expected = json_document(json.clone());
        // Every split, including inside a multi-byte character.
        for cut in 0..json.len() {
            let mut out = Vec::new();
            let mut writer = JsonWriter::new(&mut out);
            writer.write_all(&json.as_bytes()[..cut]).unwrap();
            writer.write_all(&json.as_bytes()[cut..]).unwrap();
            writer.flush().unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "cut at {cut}");
        }
    }

    #[test]
    fn placeholders_keep_byte_offsets() {
        let s = "a\u{1b}b\u{85}c\u{202e}d\r\ne\rf";
        let p = same_length_placeholder(s);
        assert_eq!(p.len(), s.len());
        assert_eq!(p, "a?b¿c\u{fffd}d\r\ne?f");
    }

    #[test]
    fn markdown_pieces_cannot_escape_their_container() {
        assert_eq!(markdown_code_span("https://a/x"), "`https://a/x`");
        assert_eq!(markdown_code_span("a``b|"), "```a``b\\|```");
        assert_eq!(markdown_code_span("`a"), "`` `a ``");
        assert_eq!(markdown_fence("text", "x\n"), "```text\nx\n```");
        assert_eq!(markdown_fence("", "```\n"), "````\n```\n````");
        assert_eq!(
            markdown_inline("<img src=x> @me |"),
            "&lt;img src=x&gt; @\u{200b}me \\|"
        );
        assert_eq!(html_text("</details>\n"), "&lt;/details&gt;\\n");
        assert_eq!(line_start(" ::error::x"), " \\u{3a}:error::x");
        assert_eq!(line_start("a ::error::x"), "a ::error::x");
    }

    #[test]
    fn github_escapes_as_the_runner_expects() {
        assert_eq!(github_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(github_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(github_data("\u{1b}[31m"), "\\u{1b}[31m");
        let token = stop_commands_token();
        assert_eq!(token.len(), 32);
        assert_ne!(token, stop_commands_token());
    }
}

//! What must hold of every report whatever outside text it carries: shared by the hostile-string
//! corpus, its property test and the `render` fuzz target (which includes this file by path), so
//! all three check the same thing. It uses only the standard library and livehook, which both
//! crates have.

use livehook::config::{App, Location, Managed, Origin, Position};
use livehook::plan::{AppError, AppPlan, Desired, LiveState, decide};
use livehook::render;
use livehook::tim::region::Region;
use livehook::tim::wire::Callback;

/// Outside text for one plan: what the desired state, the live state and an error may hold.
pub struct Outside {
    pub name: String,
    pub desired_url: String,
    pub live_url: String,
    pub desired_words: Vec<String>,
    pub live_words: Vec<String>,
    pub error: String,
    pub hint: String,
}

/// Two plans carrying `outside`: an app whose callback changes from the live one to the
/// desired one, and an app that could not be read with `error` as its message and RequestId.
pub fn plans(outside: Outside) -> Vec<AppPlan> {
    let app = |name: String, url: String, commands: Vec<String>| App {
        name,
        sdkappid: 1400000001,
        location: Location::Region(Region::Singapore),
        identifier: "administrator".into(),
        secret_key_env: "K".into(),
        callback: Some(Managed::Present(Callback { url, commands })),
        token: None,
        origin: Origin::at(Position {
            file: "p.yaml".into(),
            line: 1,
            column: 1,
        }),
    };
    let live = LiveState {
        callback: Some(Callback {
            url: outside.live_url,
            commands: outside.live_words,
        }),
        ..LiveState::default()
    };
    let mut failure = AppError::bug(&outside.error);
    failure.request_id = Some(outside.error.clone());
    failure.hint = Some(outside.hint);
    vec![
        decide(
            &app(
                outside.name.clone(),
                outside.desired_url,
                outside.desired_words,
            ),
            Ok(live),
            Desired::default(),
        ),
        decide(
            &app(outside.name, String::new(), Vec::new()),
            Err(failure),
            Desired::default(),
        ),
    ]
}

/// Every report of `plans` (text, markdown, `--format github` as `plan` writes it, JSON) holds
/// the invariants below.
pub fn check_reports(plans: &[AppPlan]) -> Result<(), String> {
    let text = render::text::render(plans);
    no_raw_controls(&text, true)?;
    no_workflow_commands(&text)?;
    let markdown = render::markdown::render(plans);
    no_raw_controls(&markdown, false)?;
    markdown_structure(&markdown)?;
    no_workflow_commands(&markdown)?;
    // `plan` strips the styles before wrapping; checking with them in is as strict.
    let annotations = render::github::render(&render::github::plan_annotations(plans));
    let github = format!("{annotations}{}", render::escape::github_inert(&text));
    no_raw_controls(&github, true)?;
    github_commands_are_livehook_own(&github)?;
    let json = render::json::render(plans);
    no_raw_controls(&json, false)?;
    no_workflow_commands(&json)?;
    Ok(())
}

/// Whether a character reorders text (bidi controls) or breaks a line unseen (U+2028/9).
fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}'
    )
}

/// No raw control character but `\n` (and, with `styles`, livehook's own SGR styles
/// `ESC [ digits ; m`), and no bidi character.
pub fn no_raw_controls(text: &str, styles: bool) -> Result<(), String> {
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\u{1b}' && styles {
            let rest = &text[at + 1..];
            let sgr = rest.strip_prefix('[').and_then(|r| {
                let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
                r[end..].starts_with('m').then_some(end + 2)
            });
            if let Some(len) = sgr {
                for _ in 0..len {
                    chars.next();
                }
                continue;
            }
        }
        if (c.is_control() && c != '\n') || is_bidi(c) {
            return Err(format!("raw {c:?} at byte {at}: {:?}", context(text, at)));
        }
    }
    Ok(())
}

fn context(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// No line is a GitHub workflow command (the runner ignores leading whitespace).
pub fn no_workflow_commands(text: &str) -> Result<(), String> {
    match text.lines().find(|l| l.trim_start().starts_with("::")) {
        Some(line) => Err(format!("a workflow command: {line:?}")),
        None => Ok(()),
    }
}

/// `--format github`: every line outside the stop-commands pair that starts with `::` is one of
/// livehook's annotations (`::warning`/`::error`, known properties whose values hold no `:` or
/// `,`); the pair is closed by its own fresh token (32+ hex digits), which nothing between quotes.
pub fn github_commands_are_livehook_own(text: &str) -> Result<(), String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if !trimmed.starts_with("::") {
            continue;
        }
        if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
            if token.len() < 32 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("a stop-commands token that is not fresh: {line:?}"));
            }
            let end = format!("::{token}::");
            loop {
                match lines.next() {
                    None => return Err("stop-commands is never ended".into()),
                    Some(l) if l == end => break,
                    Some(l) if l.contains(token) => {
                        return Err(format!("the stop-commands token inside: {l:?}"));
                    }
                    Some(_) => {}
                }
            }
            continue;
        }
        let command = trimmed
            .strip_prefix("::warning ")
            .or_else(|| trimmed.strip_prefix("::error "))
            .ok_or_else(|| format!("not livehook's annotation: {line:?}"))?;
        let (properties, _message) = command
            .split_once("::")
            .ok_or_else(|| format!("an annotation without a message: {line:?}"))?;
        for property in properties.split(',') {
            let (key, _) = property
                .split_once('=')
                .ok_or_else(|| format!("a property without a value: {line:?}"))?;
            if !["file", "line", "col", "title"].contains(&key) {
                return Err(format!("an unknown property {key:?}: {line:?}"));
            }
        }
    }
    Ok(())
}

/// Markdown structure: fences open and close in pairs (a closing fence is at least as long as
/// its opening one), `<details>` and `<summary>` balanced outside code, no other HTML tag
/// opened outside code, no unescaped `@` outside code, and every table row has the header's
/// number of cells.
pub fn markdown_structure(text: &str) -> Result<(), String> {
    let mut fence: Option<usize> = None;
    let mut open_details = 0i64;
    let mut table_cells: Option<usize> = None;
    for line in text.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        if let Some(open) = fence {
            if ticks >= open && line[ticks..].trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if ticks >= 3 {
            if line[ticks..].contains('`') {
                return Err(format!("a fence whose info has a backtick: {line:?}"));
            }
            fence = Some(ticks);
            continue;
        }
        let plain = without_code_spans(line);
        let mut rest = plain.as_str();
        while let Some(at) = rest.find('<') {
            let tag = &rest[at..];
            let known = [
                "<details>",
                "</details>",
                "<summary>",
                "</summary>",
                "<code>",
                "</code>",
            ]
            .into_iter()
            .find(|t| tag.starts_with(t))
            .ok_or_else(|| format!("HTML that livehook did not write: {line:?}"))?;
            match known {
                "<details>" => open_details += 1,
                "</details>" => open_details -= 1,
                _ => {}
            }
            if open_details < 0 {
                return Err(format!("</details> closes what it did not open: {line:?}"));
            }
            rest = &tag[known.len()..];
        }
        if let Some(at) = plain.find('@')
            && !plain[at + 1..].starts_with('\u{200b}')
        {
            return Err(format!("a mention: {line:?}"));
        }
        if line.starts_with('|') {
            let cells = unescaped_pipes(line);
            match table_cells {
                None => table_cells = Some(cells),
                Some(n) if n != cells => {
                    return Err(format!("{cells} cell walls instead of {n}: {line:?}"));
                }
                Some(_) => {}
            }
        } else if line.trim().is_empty() {
            table_cells = None;
        }
    }
    if fence.is_some() {
        return Err("a code fence is never closed".into());
    }
    if open_details != 0 {
        return Err(format!("{open_details} <details> never closed"));
    }
    Ok(())
}

/// `|` not escaped by a backslash (GitHub splits table rows there, code spans included).
fn unescaped_pipes(line: &str) -> usize {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .count()
}

/// The line with its code spans removed (a backtick run up to the next run of the same length).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('`') {
        out.push_str(&rest[..at]);
        let run = rest[at..].len() - rest[at..].trim_start_matches('`').len();
        let after = &rest[at + run..];
        let closing = find_run(after, run);
        match closing {
            Some(end) => rest = &after[end + run..],
            None => {
                out.push_str(&rest[at..at + run]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a backtick run of exactly `len` starts in `text`.
fn find_run(text: &str, len: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let start = i;
            while i < bytes.len() && bytes[i] == b'`' {
                i += 1;
            }
            if i - start == len {
                return Some(start);
            }
        } else {
            i += 1;
        }
    }
    None
}

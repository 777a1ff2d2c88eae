//! One problem found in a desired-state file, with where it is and how to fix it.
//!
//! Rendering is the binary's business (miette's graphical handler); this type only carries the
//! facts, including line and column so machine formats need not recompute them.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{
    LabeledSpan, MietteError, MietteSpanContents, NamedSource, Severity, SourceCode, SourceSpan,
    SpanContents,
};

use crate::render::escape;

/// A loaded source file. Shared (`Arc`) because every diagnostic about it carries it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user wrote it (so output is stable and recognisable).
    pub name: String,
    pub text: Arc<String>,
    /// Where each line starts, built once: positions are looked up for every node of a file
    /// and every diagnostic, and scanning from the top each time made a 2,000-app file
    /// quadratic.
    lines: Arc<Vec<usize>>,
    /// The text as a diagnostic's snippet shows it (unsafe characters as placeholders of the
    /// same length), built once for the same reason.
    shown: Arc<String>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: String) -> SourceFile {
        let lines = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile::with_lines(name.into(), Arc::new(text), Arc::new(lines))
    }

    fn with_lines(name: String, text: Arc<String>, lines: Arc<Vec<usize>>) -> SourceFile {
        let shown = match escape::same_length_placeholder(&text) {
            Cow::Borrowed(_) => text.clone(),
            Cow::Owned(shown) => Arc::new(shown),
        };
        SourceFile {
            name,
            text,
            lines,
            shown,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset);
        let line = self.lines.partition_point(|&start| start <= offset);
        let line_start = self.lines[line - 1];
        (line, self.text[line_start..offset].chars().count() + 1)
    }

    /// The same file with each byte of `ranges` replaced by `*` (line breaks kept): byte offsets
    /// and lines, and so every span, stay valid, and the text stays UTF-8 because whole
    /// characters are replaced.
    fn hiding(&self, ranges: &[Range<usize>]) -> SourceFile {
        let mut bytes = self.text.as_bytes().to_vec();
        for range in ranges {
            let start = floor_char_boundary(&self.text, range.start);
            let end = ceil_char_boundary(&self.text, range.end.max(start));
            for byte in &mut bytes[start..end] {
                if !matches!(*byte, b'\n' | b'\r') {
                    *byte = b'*';
                }
            }
        }
        SourceFile::with_lines(
            self.name.clone(),
            Arc::new(String::from_utf8(bytes).expect("whole characters were replaced")),
            self.lines.clone(),
        )
    }
}

/// Gives every diagnostic about a file that has hidden ranges a copy of the file with those
/// ranges masked, so no snippet drawn from it shows them (only snippets read the file's text:
/// messages, JSON and GitHub annotations never quote it).
pub fn hide_in_snippets(diagnostics: &mut [ConfigDiagnostic]) {
    let mut masked: Vec<SourceFile> = Vec::new();
    for d in diagnostics.iter().filter(|d| !d.hidden.is_empty()) {
        let Some(source) = &d.source else { continue };
        match masked.iter_mut().find(|m| m.name == source.name) {
            Some(m) => *m = m.hiding(&d.hidden),
            None => masked.push(source.hiding(&d.hidden)),
        }
    }
    for d in diagnostics.iter_mut() {
        let Some(source) = &d.source else { continue };
        if let Some(m) = masked.iter().find(|m| m.name == source.name) {
            d.source = Some(m.clone());
        }
    }
}

fn ceil_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A secondary place in the same file worth pointing at (e.g. the first of two duplicates).
#[derive(Debug, Clone)]
pub struct Related {
    pub span: Range<usize>,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct ConfigDiagnostic {
    pub severity: Severity,
    /// A stable identifier, e.g. `livehook::unknown_field`.
    pub code: &'static str,
    pub message: String,
    /// `None` when the problem is not inside a file (a missing file, say).
    pub source: Option<SourceFile>,
    pub span: Range<usize>,
    pub label: String,
    pub help: Option<String>,
    pub related: Vec<Related>,
    /// Byte ranges of the file that must not be shown (a secret pasted in the wrong place): every
    /// snippet of the file draws them as `*`, see [`hide_in_snippets`].
    pub hidden: Vec<Range<usize>>,
}

impl ConfigDiagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        ConfigDiagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            source: None,
            span: 0..0,
            label: String::new(),
            help: None,
            related: Vec::new(),
            hidden: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        ConfigDiagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub fn at(mut self, source: &SourceFile, span: Range<usize>, label: impl Into<String>) -> Self {
        self.source = Some(source.clone());
        self.span = span;
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            label: label.into(),
        });
        self
    }

    /// Hides `span` of the file in this diagnostic's snippet and in those of every other
    /// diagnostic about the same file (a snippet shows the lines around its own span too).
    pub fn hide(mut self, span: Range<usize>) -> Self {
        self.hidden.push(span);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column`, or just the file name when there is no position.
    pub fn location(&self) -> Option<(String, usize, usize)> {
        let source = self.source.as_ref()?;
        let (line, column) = source.line_col(self.span.start);
        Some((source.name.clone(), line, column))
    }
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigDiagnostic {}

/// miette needs the named source to outlive the borrow it hands out; keep one per diagnostic.
pub struct Rendered {
    diagnostic: ConfigDiagnostic,
    source: Option<NamedSource<CharColumns>>,
}

/// A file's text as miette reads it, but with the column of a span counted in characters.
///
/// miette's own `SourceCode` for strings counts the column in the `file:line:column` header in
/// bytes, so a line with `café` or CJK text before the problem showed a column that
/// [`ConfigDiagnostic::location`], editors and the other output formats disagree with.
#[derive(Debug)]
struct CharColumns(Arc<String>);

impl SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents =
            self.0
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        // With context lines miette reports column 0 (the snippet starts a line); only the
        // header's zero-context read carries the span's own column.
        if contents.column() == 0 {
            return Ok(contents);
        }
        let offset = floor_char_boundary(&self.0, span.offset());
        let line_start = self.0[..offset].rfind('\n').map_or(0, |i| i + 1);
        let column = self.0[line_start..offset].chars().count();
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

impl Rendered {
    /// Outside text (the file's name and text, and the messages that quote it) is escaped here,
    /// so no control character from a file reaches the terminal: the snippet's unsafe characters
    /// become placeholders of the same length, so every span still points where it did.
    pub fn new(mut diagnostic: ConfigDiagnostic) -> Self {
        let visible = |s: &mut String| {
            if let Cow::Owned(escaped) = escape::text(s) {
                *s = escaped;
            }
        };
        visible(&mut diagnostic.message);
        visible(&mut diagnostic.label);
        diagnostic.help.as_mut().map(visible);
        diagnostic
            .related
            .iter_mut()
            .for_each(|r| visible(&mut r.label));
        let source = diagnostic.source.as_ref().map(|s| {
            NamedSource::new(escape::text(&s.name), CharColumns(s.shown.clone()))
                .with_language("yaml")
        });
        Rendered { diagnostic, source }
    }
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diagnostic, f)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.diagnostic.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let d = &self.diagnostic;
        let primary = LabeledSpan::new_primary_with_span(Some(d.label.clone()), d.span.clone());
        let related = d
            .related
            .iter()
            .map(|r| LabeledSpan::new_with_span(Some(r.label.clone()), r.span.clone()));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_agrees_with_a_scan_from_the_top() {
        let text = "a: 1\n\n  café: ☕ x\r\nlast";
        let source = SourceFile::new("t.yaml", text.into());
        for offset in 0..=text.len() + 2 {
            let at = floor_char_boundary(text, offset);
            let before = &text[..at];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let scanned = (
                before.matches('\n').count() + 1,
                before[line_start..].chars().count() + 1,
            );
            assert_eq!(source.line_col(offset), scanned, "offset {offset}");
        }
    }
}

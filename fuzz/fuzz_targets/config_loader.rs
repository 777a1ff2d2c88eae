//! Arbitrary bytes → (when UTF-8) the desired-state loader → every diagnostic's location and its
//! miette drawing, exactly as `livehook validate` and `plan` draw them. Nothing may panic, and
//! every span a diagnostic carries must lie inside its file on character boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livehook::cli::Streams;
use livehook::config::{SourceFile, load_source};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = SourceFile::new("fuzz.yaml", text.to_owned());
    let (apps, diagnostics) = load_source(&source);
    if !apps.is_empty() {
        assert!(
            !diagnostics.iter().any(|d| d.is_error()),
            "apps resolved despite errors"
        );
    }
    let lines = text.matches('\n').count() + 1;
    for d in &diagnostics {
        let Some(src) = &d.source else { continue };
        for span in std::iter::once(&d.span).chain(d.related.iter().map(|r| &r.span)) {
            assert!(
                span.start <= span.end && span.end <= src.text.len(),
                "span {span:?} outside a {}-byte file ({})",
                src.text.len(),
                d.code
            );
            assert!(
                src.text.is_char_boundary(span.start) && src.text.is_char_boundary(span.end),
                "span {span:?} splits a character ({})",
                d.code
            );
        }
        let (_, line, column) = d
            .location()
            .expect("a diagnostic with a source has a location");
        assert!(line >= 1 && line <= lines && column >= 1, "{line}:{column}");
    }
    // Positions the plan and annotations use.
    for app in &apps {
        assert!(app.origin.app.line >= 1 && app.origin.app.line <= lines);
    }
    let mut streams = Streams {
        out: Box::new(std::io::sink()),
        err: Box::new(std::io::sink()),
        err_colored: false,
        input: Box::new(std::io::empty()),
        input_is_terminal: false,
    };
    streams.diagnostics(&diagnostics);
});

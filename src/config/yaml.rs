//! YAML → JSON, keeping where every node came from.
//!
//! saphyr parses (it is maintained and gives every node a span, which serde_yaml cannot); this
//! module turns its tree into a `serde_json::Value` for schema validation and serde, plus a
//! [`SpanIndex`] that maps each JSON pointer back to the bytes of its key and value in the file, so
//! every diagnostic can point at `file:line:column`.

use std::collections::HashMap;
use std::ops::Range;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use saphyr_parser::{Event, Parser, ScanError};
use serde_json::{Map, Number, Value};

/// Deeper than this is refused before the tree is built: a real desired-state file is five levels
/// deep, and recursion over a 10,000-deep document would overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Where one node sits in the source, in byte offsets.
#[derive(Debug, Clone, Default)]
pub struct NodeSpans {
    /// The key that introduces the node, when it is a mapping value.
    pub key: Option<Range<usize>>,
    /// The node itself (for a collection, at least its first character).
    pub value: Range<usize>,
}

impl NodeSpans {
    /// The value, or its key when the value is empty (`callback:` with nothing after it).
    pub fn value_or_key(&self) -> Range<usize> {
        match &self.key {
            Some(key) if self.value.is_empty() => key.clone(),
            _ => self.value.clone(),
        }
    }

    /// The span to underline: the key when there is one (it names the thing), else the value.
    pub fn key_or_value(&self) -> Range<usize> {
        self.key.clone().unwrap_or_else(|| self.value.clone())
    }
}

/// JSON pointer (RFC 6901, as jsonschema reports instance paths) → spans.
#[derive(Debug, Default)]
pub struct SpanIndex {
    spans: HashMap<String, NodeSpans>,
}

impl SpanIndex {
    pub fn get(&self, pointer: &str) -> Option<&NodeSpans> {
        self.spans.get(pointer)
    }

    /// The spans of `pointer`, or of its nearest ancestor that has some (the root always has).
    pub fn nearest(&self, pointer: &str) -> NodeSpans {
        let mut current = pointer;
        loop {
            if let Some(spans) = self.spans.get(current) {
                return spans.clone();
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return NodeSpans::default(),
            }
        }
    }
}

/// A problem that stops the file from being read as YAML at all.
#[derive(Debug, Clone)]
pub struct YamlError {
    pub message: String,
    pub span: Range<usize>,
    pub help: Option<String>,
}

/// The document as JSON, with spans.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    pub spans: SpanIndex,
}

/// Parses one YAML document. Errors that keep the tree from being built (syntax, nesting, more
/// than one document, keys that are not scalars) are returned one at a time, since nothing after
/// them can be trusted; everything else is left to schema validation.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let offsets = CharOffsets::new(text);
    check_depth(text, &offsets)?;
    let docs = MarkedYaml::load_from_str(text).map_err(|e| scan_error(&e, text, &offsets))?;
    let root = match docs.as_slice() {
        [] => {
            return Err(YamlError {
                message: "the file is empty".into(),
                span: 0..0,
                help: Some(
                    "a desired-state file starts with `version: 1` and lists `apps:`".into(),
                ),
            });
        }
        [root] => root,
        [_, second, ..] => {
            return Err(YamlError {
                message: "the file holds more than one YAML document".into(),
                span: offsets.span(&second.span),
                help: Some(
                    "keep one document per file (remove the `---` separator), or split the apps \
                     into several files"
                        .into(),
                ),
            });
        }
    };
    let mut spans = SpanIndex::default();
    let value = convert(root, String::new(), None, &offsets, &mut spans)?;
    Ok(Document { value, spans })
}

/// Walks the event stream once, without building anything, to refuse absurd nesting before the
/// recursive tree builder (and the recursive drop of its tree) runs.
fn check_depth(text: &str, offsets: &CharOffsets) -> Result<(), YamlError> {
    let mut depth = 0usize;
    for event in Parser::new_from_str(text) {
        // Syntax errors are reported by the real load, with saphyr's own message.
        let Ok((event, span)) = event else {
            return Ok(());
        };
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(YamlError {
                        message: format!(
                            "the document is nested more than {MAX_DEPTH} levels deep"
                        ),
                        span: offsets.span(&span),
                        help: Some(
                            "a desired-state file is a few levels deep; is this the right file?"
                                .into(),
                        ),
                    });
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn scan_error(error: &ScanError, text: &str, offsets: &CharOffsets) -> YamlError {
    let mut at = offsets.byte(error.marker().index());
    let info = error.info();
    // An unclosed bracket or quote is found at the very end of the input, after the last line,
    // where no snippet can show it: point just after the last character instead.
    let content_end = text.trim_end().len();
    let at_end = at >= content_end && content_end > 0;
    if at_end {
        at = content_end;
    }
    if info.contains("duplicated key") {
        if let Some((name, span)) = key_at(text, at) {
            return duplicate_key(name, span);
        }
    }
    let help = if info.contains("duplicated key") {
        Some(DUPLICATE_KEY_HELP.to_string())
    } else if info.contains("alias") || info.contains("anchor") {
        Some("anchors and aliases may not expand into more than 100,000 nodes".to_string())
    } else {
        Some("fix the YAML syntax at this point; a YAML linter shows the structure".to_string())
    };
    YamlError {
        message: if at_end {
            format!("invalid YAML at the end of the file: {info}")
        } else {
            format!("invalid YAML: {info}")
        },
        span: at..at,
        help,
    }
}

const DUPLICATE_KEY_HELP: &str =
    "each key may appear once in a mapping; remove or rename one of them";

fn duplicate_key(name: &str, span: Range<usize>) -> YamlError {
    YamlError {
        message: format!("duplicate key `{name}`: it appears earlier in the same mapping"),
        span,
        help: Some(DUPLICATE_KEY_HELP.into()),
    }
}

/// The plain or quoted key that starts at byte `at` (saphyr marks a duplicate key there), and its
/// span; `None` for anything fancier, which keeps saphyr's own message.
fn key_at(text: &str, at: usize) -> Option<(&str, Range<usize>)> {
    let rest = text.get(at..)?;
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let key = line[..line.find(':')?].trim_end();
    let name = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    let plain = !name.is_empty() && !name.contains(['"', '\'', '{', '[', ',', '?', '#']);
    plain.then(|| (name, at..at + key.len()))
}

fn convert(
    node: &MarkedYaml<'_>,
    pointer: String,
    key: Option<Range<usize>>,
    offsets: &CharOffsets,
    spans: &mut SpanIndex,
) -> Result<Value, YamlError> {
    let span = offsets.span(&node.span);
    let value = match &node.data {
        YamlData::Value(scalar) => scalar_to_json(scalar, span.clone())?,
        YamlData::Representation(text, style, tag) => {
            let node = MarkedYaml::value_from_cow_and_metadata(text.clone(), *style, tag.as_ref());
            match node.data {
                YamlData::Value(scalar) => scalar_to_json(&scalar, span.clone())?,
                _ => return Err(bad_value(span)),
            }
        }
        YamlData::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                out.push(convert(
                    item,
                    format!("{pointer}/{index}"),
                    None,
                    offsets,
                    spans,
                )?);
            }
            Value::Array(out)
        }
        YamlData::Mapping(entries) => {
            let mut out = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let key_span = offsets.span(&k.span);
                let name = key_string(k, key_span.clone())?;
                // saphyr refuses keys that are equal as YAML values; `1400` and `"1400"` are not,
                // but both become the name "1400", and the second would silently replace the first.
                if out.contains_key(&name) {
                    return Err(duplicate_key(&name, key_span));
                }
                let child = format!("{pointer}/{}", escape_pointer(&name));
                let value = convert(v, child, Some(key_span), offsets, spans)?;
                out.insert(name, value);
            }
            Value::Object(out)
        }
        YamlData::Tagged(_, inner) => {
            return convert(inner, pointer, key, offsets, spans);
        }
        YamlData::Alias(_) | YamlData::BadValue => return Err(bad_value(span)),
    };
    spans.spans.insert(pointer, NodeSpans { key, value: span });
    Ok(value)
}

fn bad_value(span: Range<usize>) -> YamlError {
    YamlError {
        message: "this value cannot be read".into(),
        span,
        help: Some("check its tag and quoting".into()),
    }
}

fn key_string(key: &MarkedYaml<'_>, span: Range<usize>) -> Result<String, YamlError> {
    match &key.data {
        YamlData::Value(Scalar::String(s)) => Ok(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Ok(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Ok(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Ok(f.to_string()),
        YamlData::Value(Scalar::Null) => Ok("null".into()),
        YamlData::Representation(text, ..) => Ok(text.to_string()),
        _ => Err(YamlError {
            message: "mapping keys must be plain words".into(),
            span,
            help: Some("use a name such as `prod-sg:` as the key".into()),
        }),
    }
}

fn scalar_to_json(scalar: &Scalar<'_>, span: Range<usize>) -> Result<Value, YamlError> {
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => match Number::from_f64(f.into_inner()) {
            Some(n) => Value::Number(n),
            None => {
                return Err(YamlError {
                    message: "infinite or NaN numbers are not allowed here".into(),
                    span,
                    help: None,
                });
            }
        },
        Scalar::String(s) => Value::String(s.to_string()),
    })
}

/// RFC 6901 escaping, as jsonschema writes instance paths.
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// saphyr counts positions in characters; miette wants bytes.
struct CharOffsets {
    /// Byte offset of each character, plus the length of the text at the end. Empty when the
    /// text is ASCII, where the two are the same.
    bytes: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let bytes = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .map(|(b, _)| b)
                .chain([text.len()])
                .collect()
        };
        CharOffsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.bytes.is_empty() {
            char_index.min(self.len)
        } else {
            self.bytes.get(char_index).copied().unwrap_or(self.len)
        }
    }

    fn span(&self, span: &saphyr_parser::Span) -> Range<usize> {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(start);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_of_keys_and_values() {
        let text = "version: 1\napps:\n  a:\n    sdkappid: 1400000001\n";
        let doc = parse(text).unwrap();
        assert_eq!(doc.value["apps"]["a"]["sdkappid"], 1400000001);
        let spans = doc.spans.get("/apps/a/sdkappid").unwrap();
        assert_eq!(&text[spans.key.clone().unwrap()], "sdkappid");
        assert_eq!(&text[spans.value.clone()], "1400000001");
    }

    #[test]
    fn spans_are_bytes_even_after_multibyte_text() {
        let text = "# café ☕\nversion: 1\n";
        let doc = parse(text).unwrap();
        let spans = doc.spans.get("/version").unwrap();
        assert_eq!(&text[spans.key.clone().unwrap()], "version");
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing() {
        // Flow collections: the scanner itself refuses them past its own limit.
        let flow = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(&flow).is_err());
        // Block mappings: refused by the depth check before any tree is built.
        let block: String = (0..10_000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        let err = parse(&block).unwrap_err();
        assert!(err.message.contains("nested more than"), "{}", err.message);
    }

    #[test]
    fn refuses_keys_that_differ_in_yaml_but_not_as_names() {
        for text in [
            "apps:\n  1000: {}\n  \"1000\": {}\n",
            "true: 1\n\"true\": 2\n",
            "a: {null: 1, \"null\": 2}\n",
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                err.message.contains("duplicate key"),
                "{text}: {}",
                err.message
            );
            let key = &text[err.span.clone()];
            assert!(key.contains('"'), "{text}: points at {key:?}");
        }
    }

    #[test]
    fn refuses_duplicate_keys_and_alias_bombs() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
        assert_eq!(err.span, 5..6);
        let err = parse("{x: 1, 'x': 2}").unwrap_err();
        assert!(err.message.contains("duplicate key `x`"), "{}", err.message);
        // Different YAML values, one name: refused too, not silently merged.
        let err = parse("1400: a\n\"1400\": b\n").unwrap_err();
        assert!(
            err.message.contains("duplicate key `1400`"),
            "{}",
            err.message
        );
        assert_eq!(err.span, 8..14);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse(&bomb).is_err());
    }
}

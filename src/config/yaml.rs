//! YAML → JSON, keeping where every node came from.
//!
//! saphyr-parser reads the text (it is maintained and marks every event with its position, which
//! serde_yaml cannot); this module builds, from its events, a `serde_json::Value` for schema
//! validation and serde, plus a [`SpanIndex`] that maps each JSON pointer back to the bytes of its
//! key and value in the file, so every diagnostic can point at `file:line:column`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScanError, StrInput};
use serde_json::{Map, Number, Value};

/// Deeper than this is refused as soon as it is read: a real desired-state file is five levels
/// deep, and the value's recursive drop (and serde over it) must not overflow the stack.
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
///
/// The spans stay in the vector the parser filled, in document order, and a hash table of
/// indices into it finds a pointer: a second copy of every pointer would double the index at
/// its peak (a 5,000-app file has 40,000 nodes), and sorting them cost a fifth of `validate`.
/// The hasher is foldhash seeded at random per process: several times faster than std's SipHash
/// on these short keys, and still keyed, since the file (and so every pointer) may come from
/// someone who would like the table to degenerate.
#[derive(Debug, Default)]
pub struct SpanIndex {
    spans: Vec<(String, NodeSpans)>,
    by_pointer: hashbrown::HashTable<usize>,
    hasher: foldhash::quality::RandomState,
}

impl SpanIndex {
    /// Pointers are unique (duplicate keys are refused), so each is inserted once.
    fn new(spans: Vec<(String, NodeSpans)>) -> Self {
        let hasher = foldhash::quality::RandomState::default();
        let mut by_pointer = hashbrown::HashTable::with_capacity(spans.len());
        for (index, (pointer, _)) in spans.iter().enumerate() {
            by_pointer.insert_unique(hasher.hash_one(pointer.as_str()), index, |&i| {
                hasher.hash_one(spans[i].0.as_str())
            });
        }
        SpanIndex {
            spans,
            by_pointer,
            hasher,
        }
    }

    pub fn get(&self, pointer: &str) -> Option<&NodeSpans> {
        let index = self.by_pointer.find(self.hasher.hash_one(pointer), |&i| {
            self.spans[i].0 == pointer
        })?;
        Some(&self.spans[*index].1)
    }

    /// The spans of `pointer`, or of its nearest ancestor that has some (the root always has).
    pub fn nearest(&self, pointer: &str) -> NodeSpans {
        let mut current = pointer;
        loop {
            if let Some(spans) = self.get(current) {
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

/// Parses one YAML document in a single pass over the parser's events: the JSON value, the spans
/// of every node and the depth limit are built together, with an explicit stack instead of
/// recursion, so no input can overflow the stack. Errors that keep the value from being built
/// (syntax, nesting, more than one document, keys that are not scalars, duplicate keys) are
/// returned one at a time, the first in file order, since nothing after them can be trusted;
/// everything else is left to schema validation.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let offsets = CharOffsets::new(text);
    let mut builder = Builder::default();
    let mut events = Parser::new_from_str(text);
    while let Some(event) = events.next() {
        let (event, span) = event.map_err(|e| scan_error(&e, text, &offsets))?;
        let span = offsets.span(&span);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => builder.start_document(span)?,
            Event::DocumentEnd => builder.end_document(span)?,
            Event::Scalar(text, style, anchor, tag) => {
                // A tag outside YAML's core schema (`!foo 1`) does not change how the scalar
                // reads; a core tag (`!!str 1`) does.
                let tag = tag.filter(|tag| tag.is_yaml_core_schema());
                let scalar = Scalar::parse_from_cow_and_metadata(text, style, tag.as_ref());
                builder.scalar(scalar, span, anchor)?;
            }
            Event::Alias(anchor) => builder.alias(anchor, span)?,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if builder.expects_key() {
                    let end = skip_collection(&mut events, text, &offsets)?;
                    return Err(not_a_plain_key(span.start..end));
                }
                let empty = match event {
                    Event::SequenceStart(..) => Value::Array(Vec::new()),
                    _ => Value::Object(Map::new()),
                };
                builder.open(empty, span, anchor)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(span.start),
        }
    }
    builder.finish()
}

/// Consumes the events of a collection whose start was just read, returning the byte offset of
/// its end: a collection used as a mapping key is refused, but underlined whole.
fn skip_collection(
    events: &mut Parser<'_, StrInput<'_>>,
    text: &str,
    offsets: &CharOffsets,
) -> Result<usize, YamlError> {
    let mut depth = 1usize;
    for event in events {
        let (event, span) = event.map_err(|e| scan_error(&e, text, offsets))?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
            Event::SequenceEnd | Event::MappingEnd => {
                depth -= 1;
                if depth == 0 {
                    return Ok(offsets.span(&span).start);
                }
            }
            _ => {}
        }
    }
    Ok(text.len())
}

/// A sequence or mapping whose end has not been read yet.
struct Open {
    value: Value,
    at: Place,
    start: usize,
    anchor: usize,
    /// Where this collection's descendants' spans begin in [`Builder::spans`].
    first_span: usize,
    /// How many levels of collections its deepest child holds so far.
    depth_below: usize,
    /// In a mapping, the key read and waiting for its value: its name and span.
    key: Option<(String, Range<usize>)>,
}

/// Where a node goes: its JSON pointer, and the key that introduced it (in a mapping).
struct Place {
    pointer: String,
    key: Option<Range<usize>>,
}

/// An anchored node, kept to be copied where an alias names it.
struct Anchored {
    value: Value,
    /// The node's and its descendants' spans, pointers relative to the node.
    spans: Vec<(String, NodeSpans)>,
    /// How many levels of collections it holds (0 for a scalar).
    depth: usize,
}

/// Aliases may copy this many nodes in all: enough for any real file, and a bound on what an
/// "alias bomb" (each anchor naming the previous one ten times) can make livehook build.
const MAX_ALIAS_NODES: usize = 100_000;

/// What [`parse`] has built so far.
struct Builder {
    /// Open collections, innermost last; its length is the current depth.
    stack: Vec<Open>,
    /// Every finished node's pointer and spans, in the order they finished.
    spans: Vec<(String, NodeSpans)>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes_left: usize,
    documents: usize,
    root: Option<Value>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack: Vec::new(),
            spans: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes_left: MAX_ALIAS_NODES,
            documents: 0,
            root: None,
        }
    }
}

impl Builder {
    fn start_document(&mut self, span: Range<usize>) -> Result<(), YamlError> {
        self.documents += 1;
        if self.documents == 1 {
            return Ok(());
        }
        Err(YamlError {
            message: "the file holds more than one YAML document".into(),
            span,
            help: Some(
                "keep one document per file (remove the `---` separator), or split the apps \
                 into several files"
                    .into(),
            ),
        })
    }

    /// A document that ends without a node (`---` then `...`) cannot be read.
    fn end_document(&mut self, span: Range<usize>) -> Result<(), YamlError> {
        match self.root {
            Some(_) => Ok(()),
            None => Err(bad_value(span)),
        }
    }

    fn finish(self) -> Result<Document, YamlError> {
        let Some(value) = self.root else {
            return Err(YamlError {
                message: "the file is empty".into(),
                span: 0..0,
                help: Some(
                    "a desired-state file starts with `version: 1` and lists `apps:`".into(),
                ),
            });
        };
        Ok(Document {
            value,
            spans: SpanIndex::new(self.spans),
        })
    }

    /// Whether the next node is a mapping's key rather than a value.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(open) if open.value.is_object() && open.key.is_none())
    }

    /// Where the next value goes.
    fn next_place(&self) -> Place {
        let Some(open) = self.stack.last() else {
            return Place {
                pointer: String::new(),
                key: None,
            };
        };
        // Every node gets one: built with one allocation, not through `format!`.
        let child = |segment: &str| child_pointer(&open.at.pointer, &[segment]);
        match (&open.value, &open.key) {
            (Value::Array(items), _) => Place {
                pointer: child(&items.len().to_string()),
                key: None,
            },
            (_, Some((name, span))) => Place {
                pointer: child(&escape_pointer(name)),
                key: Some(span.clone()),
            },
            (_, None) => unreachable!("a mapping's value is only placed after its key"),
        }
    }

    fn scalar(
        &mut self,
        scalar: Option<Scalar<'_>>,
        span: Range<usize>,
        anchor: usize,
    ) -> Result<(), YamlError> {
        let Some(scalar) = scalar else {
            return Err(bad_value(span));
        };
        if self.expects_key() {
            let name = scalar_key_name(scalar);
            if anchor > 0 {
                let anchored = Anchored {
                    value: Value::String(name.clone()),
                    spans: Vec::new(),
                    depth: 0,
                };
                self.anchors.insert(anchor, anchored);
            }
            return self.set_key(name, span);
        }
        let value = scalar_to_json(scalar, span.clone())?;
        let place = self.next_place();
        let first_span = self.spans.len();
        self.finish_node(value, place, span, anchor, first_span, 0);
        Ok(())
    }

    fn alias(&mut self, anchor: usize, span: Range<usize>) -> Result<(), YamlError> {
        let Some(anchored) = self.anchors.get(&anchor) else {
            return Err(bad_value(span));
        };
        if self.expects_key() {
            let name = match &anchored.value {
                Value::String(s) => s.clone(),
                Value::Null => "null".into(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) | Value::Object(_) => return Err(not_a_plain_key(span)),
            };
            return self.set_key(name, span);
        }
        let copied = anchored.spans.len();
        if copied > self.alias_nodes_left {
            return Err(YamlError {
                message: "invalid YAML: alias expansion exceeded the maximum node budget \
                          (possible billion-laughs attack)"
                    .into(),
                span: span.start..span.start,
                help: Some(ALIAS_HELP.into()),
            });
        }
        self.alias_nodes_left -= copied;
        if self.stack.len() + anchored.depth > MAX_DEPTH {
            return Err(too_deep(span));
        }
        let place = self.next_place();
        let value = anchored.value.clone();
        let depth = anchored.depth;
        // The copy's descendants keep the spans of the anchored original; the copy itself is
        // where the alias stands.
        let first_span = self.spans.len();
        let descendants = anchored
            .spans
            .iter()
            .filter(|(relative, _)| !relative.is_empty())
            .map(|(relative, spans)| (format!("{}{relative}", place.pointer), spans.clone()))
            .collect::<Vec<_>>();
        self.spans.extend(descendants);
        self.finish_node(value, place, span, 0, first_span, depth);
        Ok(())
    }

    fn open(&mut self, empty: Value, span: Range<usize>, anchor: usize) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(too_deep(span));
        }
        let at = self.next_place();
        self.stack.push(Open {
            value: empty,
            at,
            start: span.start,
            anchor,
            first_span: self.spans.len(),
            depth_below: 0,
            key: None,
        });
        Ok(())
    }

    /// A collection's span runs from its start to where its end event starts, as saphyr's own
    /// loader marks it.
    fn close(&mut self, end: usize) {
        let open = self
            .stack
            .pop()
            .expect("the parser balances starts and ends");
        let span = open.start..end.max(open.start);
        let depth = open.depth_below + 1;
        self.finish_node(
            open.value,
            open.at,
            span,
            open.anchor,
            open.first_span,
            depth,
        );
    }

    fn set_key(&mut self, name: String, span: Range<usize>) -> Result<(), YamlError> {
        let open = self
            .stack
            .last_mut()
            .expect("a key is read inside a mapping");
        // `1400` and `"1400"` are different YAML values but one name: the second would silently
        // replace the first.
        if open
            .value
            .as_object()
            .is_some_and(|map| map.contains_key(&name))
        {
            return Err(duplicate_key(&name, span));
        }
        open.key = Some((name, span));
        Ok(())
    }

    /// Records a finished node's spans, remembers it under its anchor, and puts it in its parent
    /// (or makes it the document's root).
    fn finish_node(
        &mut self,
        value: Value,
        place: Place,
        span: Range<usize>,
        anchor: usize,
        first_span: usize,
        depth: usize,
    ) {
        let spans = NodeSpans {
            key: place.key,
            value: span,
        };
        self.spans.push((place.pointer, spans));
        if anchor > 0 {
            let (pointer, _) = self.spans.last().expect("just pushed");
            let prefix = pointer.len();
            let spans = self.spans[first_span..]
                .iter()
                .map(|(pointer, spans)| (pointer[prefix..].to_string(), spans.clone()))
                .collect();
            let anchored = Anchored {
                value: value.clone(),
                spans,
                depth,
            };
            self.anchors.insert(anchor, anchored);
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        parent.depth_below = parent.depth_below.max(depth);
        match &mut parent.value {
            Value::Array(items) => items.push(value),
            Value::Object(map) => {
                let (name, _) = parent
                    .key
                    .take()
                    .expect("a mapping's value follows its key");
                map.insert(name, value);
            }
            _ => unreachable!("only sequences and mappings are open"),
        }
    }
}

/// The name a scalar key stands for: `1400`, `"1400"` and `'1400'` all name `1400`. Takes the
/// scalar by value so that the parser's own string is kept rather than copied.
fn scalar_key_name(scalar: Scalar<'_>) -> String {
    match scalar {
        Scalar::String(s) => owned(s),
        Scalar::Integer(i) => i.to_string(),
        Scalar::Boolean(b) => b.to_string(),
        Scalar::FloatingPoint(f) => f.to_string(),
        Scalar::Null => "null".into(),
    }
}

fn not_a_plain_key(span: Range<usize>) -> YamlError {
    YamlError {
        message: "mapping keys must be plain words".into(),
        span,
        help: Some("use a name such as `prod-sg:` as the key".into()),
    }
}

fn too_deep(span: Range<usize>) -> YamlError {
    YamlError {
        message: format!("the document is nested more than {MAX_DEPTH} levels deep"),
        span,
        help: Some("a desired-state file is a few levels deep; is this the right file?".into()),
    }
}

const ALIAS_HELP: &str = "anchors and aliases may not expand into more than 100,000 nodes";

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
    let help = if info.contains("alias") || info.contains("anchor") {
        ALIAS_HELP
    } else {
        "fix the YAML syntax at this point; a YAML linter shows the structure"
    };
    YamlError {
        message: if at_end {
            format!("invalid YAML at the end of the file: {info}")
        } else {
            format!("invalid YAML: {info}")
        },
        span: at..at,
        help: Some(help.into()),
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

fn bad_value(span: Range<usize>) -> YamlError {
    YamlError {
        message: "this value cannot be read".into(),
        span,
        help: Some("check its tag and quoting".into()),
    }
}

fn scalar_to_json(scalar: Scalar<'_>, span: Range<usize>) -> Result<Value, YamlError> {
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Number(i.into()),
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
        Scalar::String(s) => Value::String(owned(s)),
    })
}

/// The scanner grows a scalar's text as it reads it and hands over the buffer with its spare
/// room; the document keeps every scalar until it is checked, and trimming them keeps about
/// 3 MB less at the peak of loading a 5,000-app file.
fn owned(text: Cow<'_, str>) -> String {
    let mut text = text.into_owned();
    text.shrink_to_fit();
    text
}

/// `parent` followed by each (already escaped) segment, `/`-separated: built in one allocation,
/// since loading makes a few per app and `format!` costs several times as much.
pub fn child_pointer(parent: &str, segments: &[&str]) -> String {
    let len = parent.len() + segments.iter().map(|s| s.len() + 1).sum::<usize>();
    let mut pointer = String::with_capacity(len);
    pointer.push_str(parent);
    for segment in segments {
        pointer.push('/');
        pointer.push_str(segment);
    }
    pointer
}

/// RFC 6901 escaping, as jsonschema writes instance paths. Borrowed when there is nothing to
/// escape, as for almost every key.
pub fn escape_pointer(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
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

    /// The value saphyr's own (recursive) loader builds, as JSON: the oracle for the one-pass
    /// builder on documents small enough for recursion.
    fn loaded_by_saphyr(text: &str) -> Value {
        use saphyr::{LoadableYamlNode, Yaml};
        fn json(node: &Yaml<'_>) -> Value {
            match node {
                Yaml::Value(scalar) => scalar_to_json(scalar.clone(), 0..0).unwrap(),
                Yaml::Sequence(items) => Value::Array(items.iter().map(json).collect()),
                Yaml::Mapping(entries) => Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| match k {
                            Yaml::Value(key) => (scalar_key_name(key.clone()), json(v)),
                            other => panic!("unexpected key {other:?}"),
                        })
                        .collect(),
                ),
                Yaml::Tagged(_, inner) => json(inner),
                other => panic!("unexpected node {other:?}"),
            }
        }
        json(&Yaml::load_from_str(text).unwrap()[0])
    }

    #[test]
    fn builds_what_saphyrs_loader_builds() {
        for text in [
            include_str!("../../examples/livehook.yaml"),
            "version: 1\ndefaults: &d {region: singapore, identifier: admin}\napps:\n  a: *d\n  b: {<<: 1, x: [1, 2.5, ~, true, 'q', \"w\"]}\n",
            "a: !!str 1\nb: !custom 2\nc: !!int \"3\"\nd: [&x {k: v}, *x, *x]\n",
            "- - - []\n    - {}\n- |\n  block\n  text\n",
            "1400: a\ntrue: b\n~: c\n",
        ] {
            assert_eq!(parse(text).unwrap().value, loaded_by_saphyr(text), "{text}");
        }
    }

    #[test]
    fn a_copy_made_by_an_alias_keeps_the_spans_of_the_original() {
        let text = "a: &x {k: v}\nb: *x\n";
        let doc = parse(text).unwrap();
        let copy = doc.spans.get("/b").unwrap();
        assert_eq!(&text[copy.value.clone()], "*x");
        let inner = doc.spans.get("/b/k").unwrap();
        assert_eq!(&text[inner.value.clone()], "v");
        assert_eq!(inner.value, doc.spans.get("/a/k").unwrap().value);
    }

    #[test]
    fn aliases_cannot_nest_past_the_depth_limit() {
        // The anchor holds 39 levels; copied 31 levels down it would reach 70.
        let text = format!(
            "a: [&a {}{}]\nb: {}*a{}\n",
            "[".repeat(39),
            "]".repeat(39),
            "[".repeat(30),
            "]".repeat(30)
        );
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nested more than"), "{}", err.message);
    }

    #[test]
    fn refuses_a_second_document_and_collection_keys() {
        let text = "version: 1\n---\nversion: 2\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("more than one YAML document"));
        assert_eq!(&text[err.span.start..err.span.start + 3], "---");
        let text = "? [a, b]\n: 1\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.message, "mapping keys must be plain words");
        assert!(
            text[err.span.clone()].starts_with("[a, b"),
            "{:?}",
            err.span
        );
        assert_eq!(
            parse("# only a comment\n").unwrap_err().message,
            "the file is empty"
        );
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

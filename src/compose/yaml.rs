//! YAML for Compose files: read into a tree that keeps where each node was
//! written (for located errors), and written back in block style.
//!
//! Read with `saphyr-parser`'s events rather than a ready-made document type:
//! the tree keeps each scalar's text and whether it was quoted (`"80"` is a
//! string, `80` a number), anchors are expanded with a budget (a billion-laughs
//! file is an error, not an out-of-memory), Compose's merge keys (`<<: *x`)
//! are applied, and a duplicate key is an error where it is written.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};

/// Nodes that expanding aliases may produce in one file.
const ALIAS_BUDGET: usize = 100_000;
/// Nesting deeper than this is refused (the tree is walked recursively).
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// The text as written; `plain` when unquoted (so `80` may be a number).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys in the order written.
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub line: usize,
    pub col: usize,
}

/// A YAML error at a place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The key path the error is under (`services.web.ports[0]`), when known.
    pub path: String,
}

impl Node {
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } if self.as_bool().is_some() => "a boolean",
            Value::Scalar { .. } if self.as_f64().is_some() => "a number",
            Value::Scalar { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// A scalar's text, whatever it reads as (`80`, `true`, `nginx`).
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar { text, plain: true } => text.parse().ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            Value::Scalar { text, plain: true } => {
                let digits = text.trim_start_matches(['-', '+']);
                let numeric = digits.chars().next().is_some_and(|c| c.is_ascii_digit());
                numeric.then(|| text.parse().ok()).flatten()
            }
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    pub fn is_null(&self) -> bool {
        self.value == Value::Null
    }
}

/// Reads one YAML document (an empty file is `null`).
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut events = Events::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut events, true) {
        return Err(YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
            path: open_path(&events.0),
        });
    }
    let mut builder = Builder {
        events: events.0,
        at: 0,
        anchors: HashMap::new(),
        budget: ALIAS_BUDGET,
    };
    let mut documents = Vec::new();
    while builder.at < builder.events.len() {
        let (event, span) = &builder.events[builder.at];
        match event {
            Event::DocumentStart(_) => {
                let start = span.start;
                builder.at += 1;
                documents.push((builder.node(0)?, start));
            }
            _ => builder.at += 1,
        }
    }
    match documents.len() {
        0 => Ok(Node {
            value: Value::Null,
            line: 1,
            col: 1,
        }),
        1 => Ok(documents.remove(0).0),
        _ => {
            let start = documents[1].1;
            Err(YamlError {
                line: start.line(),
                col: start.col() + 1,
                message: "a Compose file holds one YAML document; this is a second".into(),
                path: String::new(),
            })
        }
    }
}

#[derive(Default)]
struct Events(Vec<(Event<'static>, Span)>);

impl<'input> SpannedEventReceiver<'input> for Events {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        // Owned, so the tree outlives the text.
        let ev = match ev {
            Event::Scalar(text, style, anchor, _) => {
                Event::Scalar(text.into_owned().into(), style, anchor, None)
            }
            Event::SequenceStart(anchor, _) => Event::SequenceStart(anchor, None),
            Event::MappingStart(anchor, _) => Event::MappingStart(anchor, None),
            Event::Alias(id) => Event::Alias(id),
            Event::DocumentStart(explicit) => Event::DocumentStart(explicit),
            Event::DocumentEnd => Event::DocumentEnd,
            Event::SequenceEnd => Event::SequenceEnd,
            Event::MappingEnd => Event::MappingEnd,
            Event::StreamStart => Event::StreamStart,
            Event::StreamEnd => Event::StreamEnd,
            Event::Nothing => Event::Nothing,
        };
        self.0.push((ev, span));
    }
}

struct Builder {
    events: Vec<(Event<'static>, Span)>,
    at: usize,
    anchors: HashMap<usize, Node>,
    budget: usize,
}

fn error_at(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        col: span.start.col() + 1,
        message: message.into(),
        path: String::new(),
    }
}

/// The key path still open after the events read before an error.
fn open_path(events: &[(Event<'static>, Span)]) -> String {
    enum Open {
        Map { key: Option<String>, want_key: bool },
        Seq(usize),
    }
    let mut stack: Vec<Open> = Vec::new();
    // A value ends: the mapping wants a key next, the sequence counts it.
    let done = |stack: &mut Vec<Open>| match stack.last_mut() {
        Some(Open::Map { want_key, .. }) => *want_key = true,
        Some(Open::Seq(n)) => *n += 1,
        None => {}
    };
    for (event, _) in events {
        match event {
            Event::MappingStart(..) => stack.push(Open::Map {
                key: None,
                want_key: true,
            }),
            Event::SequenceStart(..) => stack.push(Open::Seq(0)),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                done(&mut stack);
            }
            Event::Scalar(text, ..) => match stack.last_mut() {
                Some(Open::Map { key, want_key }) if *want_key => {
                    *key = Some(text.to_string());
                    *want_key = false;
                }
                _ => done(&mut stack),
            },
            Event::Alias(_) => done(&mut stack),
            _ => {}
        }
    }
    let mut path = String::new();
    for open in &stack {
        match open {
            Open::Map { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Open::Seq(n) => path.push_str(&format!("[{n}]")),
            Open::Map { key: None, .. } => {}
        }
    }
    path
}

impl Builder {
    fn node(&mut self, depth: usize) -> Result<Node, YamlError> {
        let Some((event, span)) = self.events.get(self.at).cloned() else {
            return Err(YamlError {
                line: 1,
                col: 1,
                message: "unexpected end of the document".into(),
                path: String::new(),
            });
        };
        if depth > MAX_DEPTH {
            return Err(error_at(&span, "nested too deeply"));
        }
        self.at += 1;
        let (line, col) = (span.start.line(), span.start.col() + 1);
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                let null = plain && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                let value = if null {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                (value, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                while !matches!(
                    self.events.get(self.at),
                    Some((Event::SequenceEnd, _)) | None
                ) {
                    items.push(self.node(depth + 1)?);
                }
                self.at += 1;
                (Value::Seq(items), anchor)
            }
            Event::MappingStart(anchor, _) => (Value::Map(self.mapping(depth)?), anchor),
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err(error_at(&span, "an alias to an unknown anchor"));
                };
                let size = count(node);
                if size > self.budget {
                    return Err(error_at(
                        &span,
                        "aliases expand to too many nodes (more than 100000)",
                    ));
                }
                self.budget -= size;
                let mut node = node.clone();
                node.line = line;
                node.col = col;
                return Ok(node);
            }
            _ => return Err(error_at(&span, "unexpected YAML event")),
        };
        let node = Node { value, line, col };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping(&mut self, depth: usize) -> Result<Vec<(Key, Node)>, YamlError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut merged: Vec<(Key, Node)> = Vec::new();
        while !matches!(
            self.events.get(self.at),
            Some((Event::MappingEnd, _)) | None
        ) {
            let key_node = self.node(depth + 1)?;
            let name = match &key_node.value {
                Value::Scalar { text, .. } => text.clone(),
                Value::Null => String::new(),
                _ => {
                    return Err(YamlError {
                        line: key_node.line,
                        col: key_node.col,
                        message: "a key must be a string".into(),
                        path: String::new(),
                    });
                }
            };
            let key = Key {
                name,
                line: key_node.line,
                col: key_node.col,
            };
            let value = self.node(depth + 1)?;
            if key.name == "<<" && matches!(key_node.value, Value::Scalar { plain: true, .. }) {
                merge_into(&mut merged, &value)?;
                continue;
            }
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                return Err(YamlError {
                    line: key.line,
                    col: key.col,
                    message: format!(
                        "duplicate key `{}` (first at line {})",
                        key.name, first.line
                    ),
                    path: String::new(),
                });
            }
            entries.push((key, value));
        }
        self.at += 1;
        // Keys written in the mapping win over merged ones.
        for (k, v) in merged {
            if !entries.iter().any(|(e, _)| e.name == k.name) {
                entries.push((k, v));
            }
        }
        Ok(entries)
    }
}

/// `<<: *a` or `<<: [*a, *b]` (the first one wins a key).
fn merge_into(merged: &mut Vec<(Key, Node)>, value: &Node) -> Result<(), YamlError> {
    let sources: Vec<&Node> = match &value.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![value],
    };
    for source in sources {
        let Some(entries) = source.entries() else {
            return Err(YamlError {
                line: source.line,
                col: source.col,
                message: "a merge key (`<<`) takes a mapping or a list of mappings".into(),
                path: String::new(),
            });
        };
        for (k, v) in entries {
            if !merged.iter().any(|(m, _)| m.name == k.name) {
                merged.push((k.clone(), v.clone()));
            }
        }
    }
    Ok(())
}

fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| 1 + count(v)).sum(),
        _ => 0,
    }
}

// ---- writing ----

/// A JSON value as block-style YAML. Strings are quoted unless they cannot
/// be read as anything else; JSON's double-quoted strings are valid YAML.
pub fn write(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn write_value(out: &mut String, value: &serde_json::Value, indent: usize, in_seq: bool) {
    use serde_json::Value as J;
    let pad = " ".repeat(indent);
    match value {
        J::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                if !(in_seq && i == 0) {
                    if !out.is_empty() && !out.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(&pad);
                }
                out.push_str(&scalar(k));
                out.push(':');
                write_child(out, v, indent);
            }
        }
        J::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if !(in_seq && i == 0) {
                    if !out.is_empty() && !out.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match item {
                    J::Object(m) if !m.is_empty() => write_value(out, item, indent + 2, true),
                    J::Array(a) if !a.is_empty() => write_value(out, item, indent + 2, true),
                    _ => out.push_str(&inline(item)),
                }
            }
        }
        other => out.push_str(&inline(other)),
    }
}

fn write_child(out: &mut String, v: &serde_json::Value, indent: usize) {
    use serde_json::Value as J;
    match v {
        J::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_value(out, v, indent + 2, false);
        }
        J::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_value(out, v, indent + 2, false);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(v));
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

fn inline(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::String(s) => scalar(s),
        J::Object(_) => "{}".into(),
        J::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

/// A string as a YAML scalar: plain when it reads back as the same string.
pub fn scalar(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./@:+=,~".contains(c);
    let first = s.chars().next();
    let second = s.chars().nth(1);
    // Numbers (`80`, `.5`, `-1`, `1e3`) and times (`12:30`) read as other types.
    let numeric = first.is_some_and(|c| c.is_ascii_digit())
        || (first.is_some_and(|c| "+-.".contains(c)) && second.is_some_and(|c| c.is_ascii_digit()));
    let plain = !s.is_empty()
        && s.chars().all(safe)
        && !numeric
        && first.is_some_and(|c| !"-:,~=@".contains(c))
        && !s.ends_with(':')
        && !s.contains(": ")
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | ".inf" | ".nan"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_quotes_and_merges() {
        let text = "x: &base\n  a: 1\n  b: '2'\ny:\n  <<: *base\n  b: 3\n";
        let doc = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
        let y = doc.get("y").unwrap_or_else(|| panic!("no y"));
        assert_eq!(y.line, 5);
        assert_eq!(y.get("a").and_then(Node::as_i64), Some(1));
        assert_eq!(y.get("b").and_then(Node::as_i64), Some(3));
        let b = doc
            .get("x")
            .and_then(|x| x.get("b"))
            .unwrap_or_else(|| panic!("no b"));
        assert_eq!(b.as_i64(), None, "a quoted number is a string");
    }

    #[test]
    fn duplicate_keys_and_bad_yaml_are_located() {
        let e = parse("a: 1\nb: 2\na: 3\n")
            .err()
            .unwrap_or_else(|| panic!("no error"));
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("duplicate key `a`"), "{}", e.message);
        let e = parse("a: [1, 2\nb: 3\n")
            .err()
            .unwrap_or_else(|| panic!("no error"));
        assert!(e.line >= 2, "{e:?}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&text).err().unwrap_or_else(|| panic!("no error"));
        assert!(e.message.contains("too many nodes"), "{}", e.message);
    }

    #[test]
    fn writes_yaml_that_reads_back() {
        let v = serde_json::json!({"services": {"a": {"image": "nginx:1", "ports": ["80:80"],
            "environment": {"X": "", "Y": "true", "Z": "a \"b\""}, "command": [], "x": [{"a": 1, "b": [1, 2]}]}}});
        let text = write(&v);
        let back = parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let env = back
            .get("services")
            .and_then(|s| s.get("a"))
            .and_then(|a| a.get("environment"))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(env.get("Y").and_then(Node::as_bool), None, "{text}");
        assert_eq!(env.get("Z").and_then(Node::text), Some("a \"b\""));
    }
}

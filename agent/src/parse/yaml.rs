//! YAML (and JSON, which is YAML) into a small tree that keeps the line of every value.
//!
//! Built on yaml-rust2's event parser rather than its loader, so that aliases are expanded
//! under a node budget (an alias bomb is an error, not an out-of-memory kill), nesting is
//! bounded, and every node knows its line for provenance. Plain scalars are typed by the YAML
//! 1.2 core schema (`true`, `10`, `null`, `~`); quoted ones are always strings.

use std::collections::HashMap;
use std::fmt;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Nodes one document may expand to, aliases included.
pub const MAX_NODES: usize = 200_000;
/// Nesting depth accepted.
pub const MAX_DEPTH: usize = 64;

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Keys in document order; a repeated key keeps its last value (the lenient decoder's
    /// behaviour).
    Map(Vec<(String, Node)>),
}

/// A value and the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a dotted path of map keys.
    pub fn path(&self, path: &str) -> Option<&Node> {
        path.split('.').try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// The scalar as text (`true`, `10`, `a`), for messages and flag-like comparisons.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Null => Some("null".into()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u32,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        line: u32,
        anchor: usize,
    },
    Map {
        entries: Vec<(String, Node)>,
        key: Option<String>,
        line: u32,
        anchor: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    error: Option<YamlError>,
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(i) = text.parse::<i64>() {
                    return Value::Int(i);
                }
            } else if let Some(hex) = text.strip_prefix("0x")
                && let Ok(i) = i64::from_str_radix(hex, 16)
            {
                return Value::Int(i);
            } else if let Some(oct) = text.strip_prefix("0o")
                && let Ok(i) = i64::from_str_radix(oct, 8)
            {
                return Value::Int(i);
            } else if text.contains(['.', 'e', 'E'])
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
                && let Ok(f) = text.parse::<f64>()
            {
                return Value::Float(f);
            }
            Value::String(text.to_string())
        }
    }
}

/// A mapping's entries with each repeated key kept once, at the place of its last occurrence
/// and with its last value (what `retain` then `push` per key gave), in linear time.
fn last_of_each_key(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (i, (key, _)) in entries.iter().enumerate() {
        last.insert(key.as_str(), i);
    }
    if last.len() == entries.len() {
        return entries;
    }
    let keep: Vec<bool> = (0..entries.len())
        .map(|i| last.get(entries[i].0.as_str()) == Some(&i))
        .collect();
    entries
        .into_iter()
        .zip(keep)
        .filter_map(|(entry, keep)| keep.then_some(entry))
        .collect()
}

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + count(v)).sum::<usize>(),
        _ => 1,
    }
}

impl Builder {
    fn fail(&mut self, line: u32, message: String) {
        if self.error.is_none() {
            self.error = Some(YamlError { line, message });
        }
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => match node.value {
                    Value::String(s) => *key = Some(s),
                    Value::Null => *key = Some("null".into()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Int(i) => *key = Some(i.to_string()),
                    Value::Float(f) => *key = Some(f.to_string()),
                    _ => {
                        let line = node.line;
                        self.fail(line, "a mapping key must be a scalar".into());
                    }
                },
                // A repeated key is settled when the mapping ends (in one pass), not here:
                // removing the earlier entry on every insert made a long mapping quadratic.
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = u32::try_from(mark.line()).unwrap_or(u32::MAX);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
            }
            Event::Scalar(text, style, anchor, _) => {
                self.nodes += 1;
                let value = if style == TScalarStyle::Plain {
                    resolve_plain(&text)
                } else {
                    Value::String(text)
                };
                self.push_value(Node { value, line }, anchor);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.nodes += 1;
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(line, format!("nested deeper than {MAX_DEPTH} levels"));
                    return;
                }
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        line,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        line,
                        anchor,
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        line,
                        anchor,
                    }) => (
                        Node {
                            value: Value::Seq(items),
                            line,
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        entries,
                        line,
                        anchor,
                        ..
                    }) => (
                        Node {
                            value: Value::Map(last_of_each_key(entries)),
                            line,
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.push_value(node, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    self.nodes += count(&node);
                    if self.nodes > MAX_NODES {
                        self.fail(
                            line,
                            format!("aliases expand past {MAX_NODES} nodes (an alias bomb?)"),
                        );
                        return;
                    }
                    self.push_value(Node { line, ..node }, 0);
                }
                None => self.fail(line, format!("unknown alias {id}")),
            },
            _ => {}
        }
        if self.nodes > MAX_NODES {
            self.fail(line, format!("document has more than {MAX_NODES} nodes"));
        }
    }
}

/// Parses the first document of a YAML or JSON text.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        let line = u32::try_from(e.marker().line()).unwrap_or(0);
        return Err(YamlError {
            line,
            message: e.info().to_string(),
        });
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Null,
        line: 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_typed_and_lines_kept() {
        let doc = parse("a: 1\nb: \"1\"\nc: true\nd:\n  e: [x, 'y', null]\nf: ~\ng: 0s\n")
            .expect("parses");
        assert_eq!(doc.get("a").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(
            doc.get("b").map(|n| &n.value),
            Some(&Value::String("1".into()))
        );
        assert_eq!(doc.get("c").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(doc.path("d.e").map(|n| n.line), Some(5));
        assert_eq!(doc.get("f").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(doc.get("g").and_then(Node::as_str), Some("0s"));
    }

    #[test]
    fn json_parses_with_lines() {
        let doc = parse("{\n    \"kind\": \"KubeletConfiguration\",\n    \"readOnlyPort\": 0\n}\n")
            .expect("parses");
        assert_eq!(
            doc.get("readOnlyPort").map(|n| (&n.value, n.line)),
            Some((&Value::Int(0), 3))
        );
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let doc = parse("a: 1\na: 2\n").expect("parses");
        assert_eq!(doc.get("a").map(|n| &n.value), Some(&Value::Int(2)));
        // At the place of the last occurrence, as before.
        let doc = parse("a: 1\nb: 2\na: 3\n").expect("parses");
        let Value::Map(entries) = &doc.value else {
            panic!("a map")
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
    }

    #[test]
    fn a_long_mapping_is_read_in_linear_time() {
        // 90,000 keys, a third of them repeated: quadratic handling took minutes.
        let mut text = String::new();
        for i in 0..60_000 {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        for i in 0..30_000 {
            text.push_str(&format!("k{i}: x\n"));
        }
        let doc = parse(&text).expect("parses");
        let Value::Map(entries) = &doc.value else {
            panic!("a map")
        };
        assert_eq!(entries.len(), 60_000);
        assert_eq!(doc.get("k7").and_then(Node::as_str), Some("x"));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_errors() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse(&bomb).expect_err("bomb");
        assert!(err.message.contains("alias bomb"), "{err}");
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(
            parse(&deep)
                .expect_err("deep")
                .message
                .contains("nested deeper")
        );
        let err = parse("a: [1, 2\nb: 3\n").expect_err("malformed");
        assert!(err.line >= 1, "{err}");
    }
}

//! Removing what must not leave the node from a YAML or JSON file, line by line, so that what
//! stays parses to the same values on the same lines.
//!
//! A snapshot must give the verdicts of the node it was taken on, and verdicts cite lines.
//! So a secret is not rewritten in place (which needs the exact extent of every scalar, which
//! the event parser does not give); instead every line that holds nothing a policy keeps is
//! blanked. A policy says, path by path, whether a value is kept whole, removed, or looked
//! into. A line keeps its text only if something kept starts on it (or a kept block or quoted
//! scalar runs over it), so comments, blank lines and removed entries go, and a kept value
//! stays on its line.
//!
//! Flow style can put a removed value on the same line as a kept one; that, and anything else
//! line-blanking cannot do cleanly, is caught by parsing the result again and comparing it
//! with what the policy asked for: any difference and the file is refused (the caller then
//! keeps no content at all). Redaction never fails open.

use super::yaml::{self, Node, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One step of a path into a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// What a policy does with the value at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The value and everything under it.
    Whole,
    /// The entry (key and value) or item goes.
    Remove,
    /// The key stays; each child is asked about in turn (a scalar is then kept).
    Descend,
}

/// A policy: the path of a value (from the document's root) and, for a scalar, its text.
pub type Policy<'p> = &'p dyn Fn(&[Seg<'_>], Option<&str>) -> Keep;

/// Why a file could not be redacted line by line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    #[error("not YAML or JSON ({0})")]
    Unparsable(String),
    #[error("a removed value shares line {0} with a kept one")]
    SharedLine(u32),
    #[error("a mapping key that is not a scalar (line {0})")]
    ComplexKey(u32),
    #[error("what remains does not read back as the kept values ({0})")]
    Mismatch(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar(TScalarStyle),
    Alias,
    MapStart,
    SeqStart,
    End,
}

#[derive(Debug, Clone)]
struct Ev {
    kind: Kind,
    text: Option<String>,
    line: u32,
    index: usize,
}

#[derive(Default)]
struct Collector {
    events: Vec<Ev>,
    documents: usize,
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let kind = match event {
            Event::DocumentStart => {
                self.documents += 1;
                return;
            }
            // Only the first document is read by nodecheck, so only it is kept.
            _ if self.documents > 1 => return,
            Event::Scalar(text, style, ..) => {
                self.events.push(Ev {
                    kind: Kind::Scalar(style),
                    text: Some(text),
                    line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
                    index: mark.index(),
                });
                return;
            }
            Event::Alias(_) => Kind::Alias,
            Event::MappingStart(..) => Kind::MapStart,
            Event::SequenceStart(..) => Kind::SeqStart,
            Event::MappingEnd | Event::SequenceEnd => Kind::End,
            _ => return,
        };
        self.events.push(Ev {
            kind,
            text: None,
            line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
            index: mark.index(),
        });
    }
}

/// The walk over the flat event list: which events are kept, which removed.
struct Walk<'a> {
    text: &'a str,
    events: &'a [Ev],
    /// For a start event, the index of its end event.
    end: Vec<usize>,
    kept: Vec<bool>,
    removed: Vec<bool>,
    /// Lines where a kept item of a block sequence starts: their `-` must stay even when the
    /// rest of the line goes, or the item would merge into its neighbour.
    dash_lines: std::collections::HashSet<u32>,
}

impl<'a> Walk<'a> {
    /// The last event index of the node starting at `i`.
    fn last(&self, i: usize) -> usize {
        match self.events[i].kind {
            Kind::MapStart | Kind::SeqStart => self.end[i],
            _ => i,
        }
    }

    fn mark(&mut self, from: usize, to: usize, kept: bool) {
        for i in from..=to {
            if kept {
                self.kept[i] = true;
            } else {
                self.removed[i] = true;
            }
        }
    }

    /// Walks the node at `i` whose path is `path`, under `action`.
    fn node(
        &mut self,
        i: usize,
        path: &mut Vec<Seg<'a>>,
        action: Keep,
        policy: Policy<'_>,
    ) -> Result<(), RedactError> {
        let last = self.last(i);
        match action {
            Keep::Whole => self.mark(i, last, true),
            Keep::Remove => self.mark(i, last, false),
            Keep::Descend => {
                self.kept[i] = true;
                if last != i {
                    self.kept[last] = true;
                }
                match self.events[i].kind {
                    Kind::MapStart => self.map(i, last, path, policy)?,
                    Kind::SeqStart => self.seq(i, last, path, policy)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn map(
        &mut self,
        start: usize,
        end: usize,
        path: &mut Vec<Seg<'a>>,
        policy: Policy<'_>,
    ) -> Result<(), RedactError> {
        let events = self.events;
        let mut k = start + 1;
        while k < end {
            let key_event = &events[k];
            let Some(key) = key_event.text.as_deref() else {
                return Err(RedactError::ComplexKey(key_event.line));
            };
            let value = k + 1;
            if value >= end {
                break;
            }
            path.push(Seg::Key(key));
            let action = policy(path, events[value].text.as_deref());
            match action {
                Keep::Remove => self.removed[k] = true,
                _ => self.kept[k] = true,
            }
            self.node(value, path, action, policy)?;
            path.pop();
            k = self.last(value) + 1;
        }
        Ok(())
    }

    fn seq(
        &mut self,
        start: usize,
        end: usize,
        path: &mut Vec<Seg<'a>>,
        policy: Policy<'_>,
    ) -> Result<(), RedactError> {
        let events = self.events;
        let block = !self.is_flow_bracket(start);
        let mut k = start + 1;
        let mut index = 0;
        while k < end {
            path.push(Seg::Index(index));
            let action = policy(path, events[k].text.as_deref());
            if block && action != Keep::Remove {
                self.dash_lines.insert(events[k].line);
            }
            self.node(k, path, action, policy)?;
            path.pop();
            k = self.last(k) + 1;
            index += 1;
        }
        Ok(())
    }

    /// Whether a start or end event is a flow bracket (which has a place on its line) rather
    /// than the invisible edge of a block collection.
    fn is_flow_bracket(&self, i: usize) -> bool {
        let ev = &self.events[i];
        matches!(ev.kind, Kind::MapStart | Kind::SeqStart | Kind::End)
            && self
                .text
                .get(ev.index..)
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| matches!(c, '{' | '[' | '}' | ']'))
    }

    /// The lines (1-based, inclusive) an event's text runs over.
    fn extent(&self, i: usize) -> (u32, u32) {
        let ev = &self.events[i];
        let next_line = self
            .events
            .get(i + 1)
            .map_or(u32::MAX, |n| n.line.max(ev.line));
        let last = match ev.kind {
            // Block scalars run until the next event; quoted ones until their closing quote.
            Kind::Scalar(TScalarStyle::Literal | TScalarStyle::Folded) => {
                next_line.saturating_sub(1).max(ev.line)
            }
            Kind::Scalar(style @ (TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted)) => {
                ev.line + quoted_newlines(self.text, ev.index, style)
            }
            _ => ev.line,
        };
        (ev.line, last)
    }
}

/// How many line breaks a quoted scalar starting at `index` spans.
fn quoted_newlines(text: &str, index: usize, style: TScalarStyle) -> u32 {
    let quote = if style == TScalarStyle::SingleQuoted {
        '\''
    } else {
        '"'
    };
    let Some(rest) = text.get(index..) else {
        return 0;
    };
    let Some(open) = rest.find(quote) else {
        return 0;
    };
    let mut newlines = 0;
    let mut chars = rest[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => newlines += 1,
            // An escaped line break; any other escaped character is skipped whole.
            '\\' if quote == '"' && chars.next() == Some('\n') => newlines += 1,
            '\'' if quote == '\'' && chars.peek() == Some(&'\'') => {
                chars.next();
            }
            c if c == quote => break,
            _ => {}
        }
    }
    newlines
}

/// `text` with every line that holds nothing `policy` keeps made empty; an error when that
/// cannot be done without touching a kept value.
pub fn redact_lines(text: &str, policy: Policy<'_>) -> Result<String, RedactError> {
    let original = yaml::parse(text).map_err(|e| RedactError::Unparsable(e.to_string()))?;
    let mut collector = Collector::default();
    Parser::new_from_str(text)
        .load(&mut collector, true)
        .map_err(|e| RedactError::Unparsable(e.to_string()))?;
    let events = collector.events;
    let mut end = vec![0usize; events.len()];
    let mut stack = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match ev.kind {
            Kind::MapStart | Kind::SeqStart => stack.push(i),
            Kind::End => {
                if let Some(start) = stack.pop() {
                    end[start] = i;
                }
            }
            _ => {}
        }
    }
    let mut walk = Walk {
        text,
        events: &events,
        end,
        kept: vec![false; events.len()],
        removed: vec![false; events.len()],
        dash_lines: std::collections::HashSet::new(),
    };
    if !events.is_empty() {
        walk.node(0, &mut Vec::new(), Keep::Descend, policy)?;
    }

    // The lines kept: where a kept scalar, alias or flow bracket stands.
    let line_count = text.lines().count() + 1;
    let mut keep_line = vec![false; line_count + 1];
    let mut removed_lines = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let visible =
            matches!(event.kind, Kind::Scalar(_) | Kind::Alias) || walk.is_flow_bracket(i);
        if !visible {
            continue;
        }
        let (first, last) = walk.extent(i);
        let lines = first as usize..=(last as usize).min(line_count);
        if walk.kept[i] {
            lines.for_each(|l| keep_line[l] = true);
        } else {
            removed_lines.extend(lines);
        }
    }
    if let Some(&shared) = removed_lines.iter().find(|&&l| keep_line[l]) {
        return Err(RedactError::SharedLine(u32::try_from(shared).unwrap_or(0)));
    }
    let mut out = String::with_capacity(text.len());
    for (number, line) in text.split_inclusive('\n').enumerate() {
        if keep_line.get(number + 1).copied().unwrap_or(false) {
            out.push_str(line);
            continue;
        }
        if walk
            .dash_lines
            .contains(&u32::try_from(number + 1).unwrap_or(0))
        {
            // Indentation and the sequence indicators only: `  - - secret` → `  - -`.
            let prefix_len = line
                .find(|c: char| !matches!(c, ' ' | '\t' | '-'))
                .unwrap_or(line.len());
            out.push_str(line[..prefix_len].trim_end_matches([' ', '\t', '\n']));
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }

    let redacted = yaml::parse(&out).map_err(|e| RedactError::Mismatch(e.to_string()))?;
    same(&original, &redacted, &mut Vec::new(), Keep::Descend, policy)?;
    Ok(out)
}

/// Null, or a collection with nothing in it: what a removed value may leave behind.
fn vacant(node: &Node) -> bool {
    match &node.value {
        Value::Null => true,
        Value::Seq(items) => items.is_empty(),
        Value::Map(entries) => entries.is_empty(),
        _ => false,
    }
}

/// Whether `after` holds exactly what `policy` keeps of `before`, scalars on the same lines.
fn same<'n>(
    before: &'n Node,
    after: &Node,
    path: &mut Vec<Seg<'n>>,
    action: Keep,
    policy: Policy<'_>,
) -> Result<(), RedactError> {
    let mismatch = |path: &[Seg<'_>], what: &str| {
        let at: Vec<String> = path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => k.to_string(),
                Seg::Index(i) => i.to_string(),
            })
            .collect();
        RedactError::Mismatch(format!("{what} at {}", at.join(".")))
    };
    if action == Keep::Whole {
        return if before == after {
            Ok(())
        } else {
            Err(mismatch(path, "a kept value changed"))
        };
    }
    match (&before.value, &after.value) {
        (Value::Map(b), Value::Map(a)) => {
            let mut matched = 0;
            for (key, value) in b {
                path.push(Seg::Key(key));
                let action = policy(path, value.as_str());
                let now = after.get(key);
                match (action, now) {
                    (Keep::Remove, None) => {}
                    (Keep::Remove, Some(n)) if vacant(n) => matched += 1,
                    (Keep::Remove, Some(_)) => {
                        return Err(mismatch(path, "a removed value stayed"));
                    }
                    (_, Some(n)) => {
                        matched += 1;
                        same(value, n, path, action, policy)?;
                    }
                    (_, None) if vacant(value) => {}
                    (_, None) => return Err(mismatch(path, "a kept value is gone")),
                }
                path.pop();
            }
            if matched != a.len() {
                return Err(mismatch(path, "an entry appeared"));
            }
            Ok(())
        }
        (Value::Seq(b), Value::Seq(a)) => {
            let kept: Vec<(usize, &Node, Keep)> = b
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    path.push(Seg::Index(i));
                    let action = policy(path, item.as_str());
                    path.pop();
                    (action != Keep::Remove).then_some((i, item, action))
                })
                .collect();
            if kept.len() != a.len() {
                return Err(mismatch(path, "a list changed length"));
            }
            for ((i, item, action), now) in kept.into_iter().zip(a) {
                path.push(Seg::Index(i));
                same(item, now, path, action, policy)?;
                path.pop();
            }
            Ok(())
        }
        (Value::Map(_) | Value::Seq(_), _) | (_, Value::Map(_) | Value::Seq(_))
            if vacant(after) && vacant_under(before, path, policy) =>
        {
            Ok(())
        }
        _ if before == after => Ok(()),
        _ => Err(mismatch(path, "a kept value changed")),
    }
}

/// Whether the policy removes everything under `node`, so that it may read back vacant.
fn vacant_under<'n>(node: &'n Node, path: &mut Vec<Seg<'n>>, policy: Policy<'_>) -> bool {
    match &node.value {
        Value::Map(entries) => entries.iter().all(|(key, value)| {
            path.push(Seg::Key(key));
            let action = policy(path, value.as_str());
            let empty = match action {
                Keep::Remove => true,
                Keep::Whole => false,
                Keep::Descend => vacant_under(value, path, policy),
            };
            path.pop();
            empty
        }),
        Value::Seq(items) => items.iter().enumerate().all(|(i, item)| {
            path.push(Seg::Index(i));
            let action = policy(path, item.as_str());
            let empty = match action {
                Keep::Remove => true,
                Keep::Whole => false,
                Keep::Descend => vacant_under(item, path, policy),
            };
            path.pop();
            empty
        }),
        _ => vacant(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drop_secrets(path: &[Seg<'_>], _: Option<&str>) -> Keep {
        match path.last() {
            Some(Seg::Key("secret")) | Some(Seg::Key("token")) => Keep::Remove,
            _ => Keep::Descend,
        }
    }

    #[test]
    fn removed_values_and_comments_go_and_kept_ones_stay_on_their_lines() {
        let text = "# token: OLD-SECRET\nkind: X\ntoken: SECRET1\nnested:\n  secret: |\n    SECRET2\n    SECRET3\n  keep: 1   # note\nlist:\n- secret: \"SECRET4\"\n  name: a\n- plain\n";
        let out = match redact_lines(text, &drop_secrets) {
            Ok(out) => out,
            Err(e) => panic!("{e}: {:?}", e),
        };
        assert!(!out.contains("SECRET"), "{out}");
        assert_eq!(out.lines().count(), text.lines().count());
        let doc = yaml::parse(&out).expect("parses");
        assert_eq!(doc.path("nested.keep").map(|n| n.line), Some(8));
        assert_eq!(doc.get("kind").map(|n| n.line), Some(2));
        let list = doc.get("list").and_then(Node::as_seq).expect("list");
        assert_eq!(list[0].get("name").map(|n| n.line), Some(11));
        assert_eq!(list[1].as_str(), Some("plain"));
    }

    #[test]
    fn a_secret_sharing_a_line_with_kept_text_refuses_the_file() {
        for text in [
            "a: {secret: S, keep: 1}\n",
            "{\"keep\": 1, \"token\": \"S\"}\n",
            "a: [1, 2]\nb: {c: 1, token: S}\n",
        ] {
            let err = redact_lines(text, &drop_secrets);
            assert!(err.is_err(), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn json_one_value_per_line_is_redacted() {
        let text = "{\n  \"kind\": \"X\",\n  \"token\": \"SECRET\",\n  \"b\": 2\n}\n";
        let out = redact_lines(text, &drop_secrets).expect("redacts");
        assert!(!out.contains("SECRET"));
        let doc = yaml::parse(&out).expect("parses");
        assert_eq!(doc.get("b").map(|n| n.line), Some(4));
    }

    #[test]
    fn a_whitelist_keeps_only_what_it_names() {
        let only_kind = |path: &[Seg<'_>], _: Option<&str>| match path {
            [Seg::Key("kind")] => Keep::Whole,
            _ => Keep::Remove,
        };
        let out = redact_lines("kind: X\nspec:\n  a: S1\n  b: [S2]\nz: S3\n", &only_kind)
            .expect("redacts");
        assert_eq!(out, "kind: X\n\n\n\n\n");
    }
}

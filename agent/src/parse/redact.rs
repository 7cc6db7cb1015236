//! Removing what must not leave the node from a YAML or JSON file, line by line, so that what
//! stays parses to the same values on the same lines.
//!
//! A snapshot must give the verdicts of the node it was taken on, and verdicts cite lines.
//! So a secret is not rewritten in place (which needs the exact extent of every scalar, which
//! the event parser does not give); instead every line that holds nothing a policy keeps is
//! blanked. A policy says, path by path, whether a value is kept whole, removed, or looked
//! into. A line keeps its text only if something kept starts on it (or a kept block or quoted
//! scalar runs over it), and loses any comment after the last thing kept on it, so comments,
//! blank lines and removed entries go, and a kept value stays on its line. Of a key written
//! twice only the last occurrence (the one the parser keeps) can be kept.
//!
//! Flow style can put a removed value on the same line as a kept one; that, and anything else
//! line-blanking cannot do cleanly, is caught by parsing the result again and comparing it
//! with what the policy asked for: any difference and the file is refused (the caller then
//! keeps no content at all). Redaction never fails open.

use super::yaml::{self, Node, Value};
use std::collections::{HashMap, HashSet};
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
    /// The key stays and each child is asked about in turn; a scalar found here goes.
    Descend,
}

/// A policy: the path of a value (from the document's root), the value's text when it is a
/// scalar, and the text of the item before it when it is an item of a list (for `--flag value`
/// pairs).
pub type Policy<'p> = &'p dyn Fn(&[Seg<'_>], Option<&str>, Option<&str>) -> Keep;

/// Why a file could not be redacted line by line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    #[error("not YAML or JSON ({0})")]
    Unparsable(String),
    #[error("a line break that is a lone carriage return")]
    LoneCarriageReturn,
    #[error("a removed value shares line {0} with a kept one")]
    SharedLine(u32),
    #[error("a mapping key that is not a scalar (line {0})")]
    ComplexKey(u32),
    #[error("an alias (line {0}): what it repeats may sit under a kept key")]
    Alias(u32),
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
    /// Where the event starts: yaml-rust2 counts characters; turned into a byte offset after
    /// parsing.
    index: usize,
}

#[derive(Default)]
struct Collector {
    events: Vec<Ev>,
    documents: usize,
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let (kind, text) = match event {
            Event::DocumentStart => {
                self.documents += 1;
                return;
            }
            // Only the first document is read by nodecheck, so only it is kept.
            _ if self.documents > 1 => return,
            Event::Scalar(text, style, ..) => (Kind::Scalar(style), Some(text)),
            Event::Alias(_) => (Kind::Alias, None),
            Event::MappingStart(..) => (Kind::MapStart, None),
            Event::SequenceStart(..) => (Kind::SeqStart, None),
            Event::MappingEnd | Event::SequenceEnd => (Kind::End, None),
            _ => return,
        };
        self.events.push(Ev {
            kind,
            text,
            line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
            index: mark.index(),
        });
    }
}

/// Turns the events' character offsets into byte offsets of `text`: the offsets wanted,
/// sorted, are met in one pass over the text (marks do not always come in text order).
fn to_byte_offsets(text: &str, events: &mut [Ev]) {
    let mut wanted: Vec<usize> = events.iter().map(|e| e.index).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut bytes: HashMap<usize, usize> = HashMap::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for (ci, (bi, _)) in text.char_indices().enumerate() {
        while next.peek().is_some_and(|&&w| w <= ci) {
            if let Some(&w) = next.next() {
                bytes.insert(w, bi);
            }
        }
    }
    for w in next {
        bytes.insert(*w, text.len());
    }
    for ev in events.iter_mut() {
        ev.index = bytes.get(&ev.index).copied().unwrap_or(text.len());
    }
}

/// The walk over the flat event list: which events are kept, which removed.
struct Walk<'a> {
    text: &'a str,
    events: &'a [Ev],
    /// For a start event, the index of its end event.
    end: Vec<usize>,
    kept: Vec<bool>,
    /// Lines where a kept item of a block sequence starts: their `-` must stay even when the
    /// rest of the line goes, or the item would merge into its neighbour.
    dash_lines: HashSet<u32>,
}

impl<'a> Walk<'a> {
    /// The last event index of the node starting at `i`.
    fn last(&self, i: usize) -> usize {
        match self.events[i].kind {
            Kind::MapStart | Kind::SeqStart => self.end[i],
            _ => i,
        }
    }

    fn is_collection(&self, i: usize) -> bool {
        matches!(self.events[i].kind, Kind::MapStart | Kind::SeqStart)
    }

    /// Walks the node at `i` whose path is `path`, under `action`.
    fn node(&mut self, i: usize, path: &mut Vec<Seg<'a>>, action: Keep, policy: Policy<'_>) {
        let last = self.last(i);
        match action {
            Keep::Whole => self.kept[i..=last].iter_mut().for_each(|k| *k = true),
            Keep::Remove => {}
            Keep::Descend if !self.is_collection(i) => {}
            Keep::Descend => {
                self.kept[i] = true;
                self.kept[last] = true;
                match self.events[i].kind {
                    Kind::MapStart => self.map(i, last, path, policy),
                    _ => self.seq(i, last, path, policy),
                }
            }
        }
    }

    fn map(&mut self, start: usize, end: usize, path: &mut Vec<Seg<'a>>, policy: Policy<'_>) {
        let events = self.events;
        // Entries as (key event, value event); a key written again makes the earlier
        // entries dead (the parser keeps the last), so only the last can be kept.
        let mut entries = Vec::new();
        let mut k = start + 1;
        while k + 1 < end {
            entries.push((k, k + 1));
            k = self.last(k + 1) + 1;
        }
        let mut last_of: HashMap<&str, usize> = HashMap::new();
        for (n, &(key, _)) in entries.iter().enumerate() {
            if let Some(text) = events[key].text.as_deref() {
                last_of.insert(text, n);
            }
        }
        for (n, &(key, value)) in entries.iter().enumerate() {
            let Some(name) = events[key].text.as_deref() else {
                // A collection as a key: nothing nodecheck reads; it goes.
                continue;
            };
            if last_of.get(name) != Some(&n) {
                continue;
            }
            path.push(Seg::Key(name));
            let action = policy(path, events[value].text.as_deref(), None);
            let action = effective(action, self.is_collection(value));
            if action != Keep::Remove {
                self.kept[key] = true;
            }
            self.node(value, path, action, policy);
            path.pop();
        }
    }

    fn seq(&mut self, start: usize, end: usize, path: &mut Vec<Seg<'a>>, policy: Policy<'_>) {
        let events = self.events;
        let block = !self.is_flow_bracket(start);
        let mut k = start + 1;
        let mut index = 0;
        let mut previous: Option<&str> = None;
        while k < end {
            path.push(Seg::Index(index));
            let action = policy(path, events[k].text.as_deref(), previous);
            let action = effective(action, self.is_collection(k));
            if block && action != Keep::Remove {
                self.dash_lines.insert(events[k].line);
            }
            self.node(k, path, action, policy);
            path.pop();
            previous = events[k].text.as_deref();
            k = self.last(k) + 1;
            index += 1;
        }
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
    fn extent(&self, i: usize, lines: &[&str]) -> (u32, u32) {
        let ev = &self.events[i];
        let last = match ev.kind {
            Kind::Scalar(TScalarStyle::Literal | TScalarStyle::Folded) => {
                block_scalar_end(lines, ev.line)
            }
            Kind::Scalar(style @ (TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted)) => {
                ev.line + quoted_end(self.text, ev.index, style).map_or(0, |(newlines, _)| newlines)
            }
            _ => ev.line,
        };
        (ev.line, last)
    }
}

/// A scalar at a place the policy looks into is not kept: `Descend` keeps only the children
/// of a collection.
fn effective(action: Keep, collection: bool) -> Keep {
    if action == Keep::Descend && !collection {
        Keep::Remove
    } else {
        action
    }
}

/// The last line of a block scalar whose content starts on `line` (where yaml-rust2 marks
/// it): the lines indented at least as far as its first content line (blank lines in
/// between belong to it; comments after it, at a smaller indentation, do not).
fn block_scalar_end(lines: &[&str], line: u32) -> u32 {
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let mut content_indent = None;
    let mut last = line;
    for (n, text) in lines
        .iter()
        .enumerate()
        .skip((line as usize).saturating_sub(1))
    {
        let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
        if text.trim().is_empty() {
            continue;
        }
        let at = indent(text);
        let wanted = *content_indent.get_or_insert(at);
        if at < wanted || at == 0 {
            break;
        }
        last = number;
    }
    last
}

/// For a quoted scalar starting at byte `index`: how many line breaks it spans and the byte
/// offset just past its closing quote.
fn quoted_end(text: &str, index: usize, style: TScalarStyle) -> Option<(u32, usize)> {
    let quote = if style == TScalarStyle::SingleQuoted {
        '\''
    } else {
        '"'
    };
    let rest = text.get(index..)?;
    let open = rest.find(quote)?;
    let mut newlines = 0;
    let mut chars = rest[open + 1..].char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\n' => newlines += 1,
            // An escaped line break; any other escaped character is skipped whole.
            '\\' if quote == '"' && chars.next().is_some_and(|(_, c)| c == '\n') => {
                newlines += 1;
            }
            '\'' if quote == '\'' && chars.peek().is_some_and(|(_, c)| *c == '\'') => {
                chars.next();
            }
            c if c == quote => return Some((newlines, index + open + 1 + at + c.len_utf8())),
            _ => {}
        }
    }
    None
}

/// `line` without a trailing comment that starts at or after byte `from` (the start of the
/// last thing kept on the line, or just past its closing quote). Plain scalars cannot hold
/// ` #`, so the first one after `from` starts a comment.
fn without_comment(line: &str, from: usize) -> &str {
    let from = from.min(line.len());
    let tail = &line[from..];
    let cut = tail
        .match_indices('#')
        .find(|(at, _)| {
            *at == 0 && from > 0 && line[..from].ends_with([' ', '\t'])
                || *at > 0 && tail[..*at].ends_with([' ', '\t'])
        })
        .map(|(at, _)| from + at);
    match cut {
        Some(at) => line[..at].trim_end_matches([' ', '\t']),
        None => line,
    }
}

/// `text` with every line that holds nothing `policy` keeps made empty; an error when that
/// cannot be done without touching a kept value.
pub fn redact_lines(text: &str, policy: Policy<'_>) -> Result<String, RedactError> {
    // yaml-rust2 breaks lines at a lone CR too; the lines here are split at LF only.
    if text.replace("\r\n", "").contains('\r') {
        return Err(RedactError::LoneCarriageReturn);
    }
    let original = yaml::parse(text).map_err(|e| RedactError::Unparsable(e.to_string()))?;
    let mut collector = Collector::default();
    Parser::new_from_str(text)
        .load(&mut collector, true)
        .map_err(|e| RedactError::Unparsable(e.to_string()))?;
    let mut events = collector.events;
    // An alias repeats a value anchored elsewhere: a secret anchored under a kept key and
    // used under a removed one would stay. Documents with aliases are not cut at all.
    if let Some(alias) = events.iter().find(|e| e.kind == Kind::Alias) {
        return Err(RedactError::Alias(alias.line));
    }
    to_byte_offsets(text, &mut events);
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
        dash_lines: HashSet::new(),
    };
    if !events.is_empty() {
        let root = effective(Keep::Descend, walk.is_collection(0));
        walk.node(0, &mut Vec::new(), root, policy);
    }

    // The lines kept: where a kept scalar, alias or flow bracket stands, each cut after the
    // last thing kept on it.
    let lines: Vec<&str> = text.split('\n').collect();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    let mut keep_line = vec![false; lines.len() + 2];
    // Per kept line, the byte (within the line) from which a comment may start.
    let mut comment_from: HashMap<u32, usize> = HashMap::new();
    let mut removed_lines = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let visible =
            matches!(event.kind, Kind::Scalar(_) | Kind::Alias) || walk.is_flow_bracket(i);
        if !visible {
            continue;
        }
        let (first, last) = walk.extent(i, &lines);
        let range = first as usize..=(last as usize).min(lines.len());
        if walk.kept[i] {
            range.for_each(|l| keep_line[l] = true);
            // A comment may be cut after a scalar on one line, after a quoted one's closing
            // quote, or after a block scalar's header; never inside a block's content.
            let block = matches!(
                event.kind,
                Kind::Scalar(TScalarStyle::Literal | TScalarStyle::Folded)
            );
            let plain_multiline =
                matches!(event.kind, Kind::Scalar(TScalarStyle::Plain)) && last > first;
            if block || plain_multiline {
                continue;
            }
            let end = match event.kind {
                Kind::Scalar(style @ (TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted)) => {
                    quoted_end(text, event.index, style).map_or(event.index, |(_, e)| e)
                }
                _ => event.index,
            };
            // The offset within the line the event (or its closing quote) ends on.
            let line_of_end = last.max(first);
            let start = line_starts
                .get(line_of_end as usize - 1)
                .copied()
                .unwrap_or(0);
            let within = end.saturating_sub(start);
            let slot = comment_from.entry(line_of_end).or_insert(0);
            *slot = (*slot).max(within);
        } else {
            removed_lines.extend(range);
        }
    }
    if let Some(&shared) = removed_lines.iter().find(|&&l| keep_line[l]) {
        return Err(RedactError::SharedLine(u32::try_from(shared).unwrap_or(0)));
    }
    let mut out = String::with_capacity(text.len());
    for (n, line) in lines.iter().enumerate() {
        let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
        if n > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if keep_line[n + 1] {
            match comment_from.get(&number) {
                Some(&from) => out.push_str(without_comment(line, from)),
                None => out.push_str(line),
            }
        } else if walk.dash_lines.contains(&number) {
            // Indentation and the sequence indicators only: `  - - secret` → `  - -`.
            let prefix_len = line
                .find(|c: char| !matches!(c, ' ' | '\t' | '-'))
                .unwrap_or(line.len());
            out.push_str(line[..prefix_len].trim_end_matches([' ', '\t']));
        }
    }

    let redacted = yaml::parse(&out).map_err(|e| RedactError::Mismatch(e.to_string()))?;
    let root = effective(
        Keep::Descend,
        matches!(original.value, Value::Map(_) | Value::Seq(_)),
    );
    same(&original, &redacted, &mut Vec::new(), root, policy)?;
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

fn mismatch(path: &[Seg<'_>], what: &str) -> RedactError {
    let at: Vec<String> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.to_string(),
            Seg::Index(i) => i.to_string(),
        })
        .collect();
    RedactError::Mismatch(format!("{what} at {}", at.join(".")))
}

fn is_collection(node: &Node) -> bool {
    matches!(node.value, Value::Map(_) | Value::Seq(_))
}

/// Whether `after` holds exactly what `policy` keeps of `before`, scalars on the same lines.
fn same<'n>(
    before: &'n Node,
    after: &Node,
    path: &mut Vec<Seg<'n>>,
    action: Keep,
    policy: Policy<'_>,
) -> Result<(), RedactError> {
    match action {
        Keep::Whole if before == after => return Ok(()),
        Keep::Whole => return Err(mismatch(path, "a kept value changed")),
        Keep::Remove if vacant(after) => return Ok(()),
        Keep::Remove => return Err(mismatch(path, "a removed value stayed")),
        Keep::Descend => {}
    }
    match (&before.value, &after.value) {
        (Value::Map(b), Value::Map(a)) => {
            let now: HashMap<&str, &Node> = a.iter().map(|(k, v)| (k.as_str(), v)).collect();
            let mut matched = 0;
            for (key, value) in b {
                path.push(Seg::Key(key));
                let text = value.scalar_text();
                let action = effective(policy(path, text.as_deref(), None), is_collection(value));
                match (action, now.get(key.as_str())) {
                    (Keep::Remove, None) => {}
                    (_, Some(n)) => {
                        matched += 1;
                        same(value, n, path, action, policy)?;
                    }
                    (_, None) if vacant(value) || vacant_under(value, path, policy) => {}
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
            let mut kept = Vec::new();
            let mut previous: Option<String> = None;
            for (i, item) in b.iter().enumerate() {
                path.push(Seg::Index(i));
                let text = item.scalar_text();
                let action = effective(
                    policy(path, text.as_deref(), previous.as_deref()),
                    is_collection(item),
                );
                path.pop();
                if action != Keep::Remove {
                    kept.push((i, item, action));
                }
                previous = text;
            }
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
        _ if vacant(after) && vacant_under(before, path, policy) => Ok(()),
        _ => Err(mismatch(path, "a kept value changed")),
    }
}

/// Whether the policy removes everything under `node`, so that it may read back vacant.
fn vacant_under<'n>(node: &'n Node, path: &mut Vec<Seg<'n>>, policy: Policy<'_>) -> bool {
    let child = |path: &mut Vec<Seg<'n>>, seg, value: &'n Node, previous: Option<&str>| {
        path.push(seg);
        let text = value.scalar_text();
        let action = effective(
            policy(path, text.as_deref(), previous),
            is_collection(value),
        );
        let empty = match action {
            Keep::Remove => true,
            Keep::Whole => false,
            Keep::Descend => vacant_under(value, path, policy),
        };
        path.pop();
        empty
    };
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .all(|(key, value)| child(path, Seg::Key(key), value, None)),
        Value::Seq(items) => {
            let mut previous: Option<String> = None;
            items.iter().enumerate().all(|(i, item)| {
                let empty = child(path, Seg::Index(i), item, previous.as_deref());
                previous = item.scalar_text();
                empty
            })
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Looks into every collection, removes `secret` and `token`, keeps every other scalar.
    fn descend_drop_secrets(path: &[Seg<'_>], value: Option<&str>, _: Option<&str>) -> Keep {
        match (path.last(), value) {
            (Some(Seg::Key("secret" | "token")), _) => Keep::Remove,
            (_, Some(_)) => Keep::Whole,
            _ => Keep::Descend,
        }
    }

    fn redacted(text: &str) -> String {
        match redact_lines(text, &descend_drop_secrets) {
            Ok(out) => out,
            Err(e) => panic!("{e}: {text:?}"),
        }
    }

    #[test]
    fn removed_values_and_comments_go_and_kept_ones_stay_on_their_lines() {
        let text = "# token: OLD-SECRET\nkind: X\ntoken: SECRET1\nnested:\n  secret: |\n    SECRET2\n    SECRET3\n  keep: 1   # note SECRET5\nlist:\n- secret: \"SECRET4\"\n  name: a\n- plain\n";
        let out = redacted(text);
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
            // yaml-rust2 breaks lines at a lone CR; line blanking cannot follow.
            "keep: 1\rtoken: S\rtoken:\n",
        ] {
            let err = redact_lines(text, &descend_drop_secrets);
            assert!(err.is_err(), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn json_one_value_per_line_is_redacted() {
        let text = "{\n  \"kind\": \"X\",\n  \"token\": \"SECRET\",\n  \"b\": 2\n}\n";
        let out = redacted(text);
        assert!(!out.contains("SECRET"));
        let doc = yaml::parse(&out).expect("parses");
        assert_eq!(doc.get("b").map(|n| n.line), Some(4));
    }

    #[test]
    fn a_whitelist_keeps_only_what_it_names() {
        let only_kind = |path: &[Seg<'_>], _: Option<&str>, _: Option<&str>| match path {
            [Seg::Key("kind")] => Keep::Whole,
            _ => Keep::Remove,
        };
        let out = redact_lines("kind: X\nspec:\n  a: S1\n  b: [S2]\nz: S3\n", &only_kind)
            .expect("redacts");
        assert_eq!(out, "kind: X\n\n\n\n\n");
        // A document that is a bare scalar (a token file given as a config) keeps nothing.
        let out = redact_lines("K10SECRET::server:abc\n", &only_kind);
        assert!(
            out.as_ref().is_err() || out.as_ref().is_ok_and(|o| !o.contains("SECRET")),
            "{out:?}"
        );
    }

    #[test]
    fn traps_found_by_red_teaming_are_closed() {
        // Comments after a kept value, after a kept block scalar, and an earlier duplicate
        // of a kept key.
        let out = redacted(
            "name: |-\n  n1\n# token: SECRET1\nkeep: [a=1]  # SECRET2\ndup: SECRET3\ndup: n2\nq: \"x # y\" # SECRET4\n",
        );
        assert!(!out.contains("SECRET"), "{out}");
        let doc = yaml::parse(&out).expect("parses");
        assert_eq!(doc.get("q").and_then(Node::as_str), Some("x # y"));
        assert_eq!(doc.get("dup").map(|n| n.line), Some(6));
        // Character offsets are not byte offsets: non-ASCII before a kept quoted scalar.
        let out = redacted(&format!(
            "note: {}\nkeep: \"kube-apiserver\"\n# token: SECRET5\nb: 1\n",
            "é".repeat(80)
        ));
        assert!(!out.contains("SECRET"), "{out}");
        // A second document is never kept.
        let out = redacted("# éé\nname: n1 #}\n--- {token: SECRET6}\n");
        assert!(!out.contains("SECRET"), "{out}");
    }
}

//! Small text helpers shared by parsers and error messages.

use std::borrow::Cow;

/// Levenshtein distance, for did-you-mean suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within distance 3, for did-you-mean messages.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c)
}

/// Whether a character must not reach a terminal as it is: C0 controls (line breaks too, so a
/// value cannot forge a line of output), DEL, C1 controls (8-bit CSI and OSC), and the
/// invisible characters that reorder or hide text (bidirectional overrides and isolates,
/// zero-width characters, the byte order mark, interlinear annotations).
pub fn is_terminal_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}')
}

/// Serialized JSON with every terminal-unsafe character inside its strings written as a
/// `\uXXXX` escape: the same JSON value, which a terminal shows without obeying it. (serde
/// escapes only C0 controls; outside strings JSON has only its own whitespace.)
pub fn json_terminal_safe(json: String) -> String {
    if !json
        .chars()
        .any(|c| is_terminal_unsafe(c) && !matches!(c, '\n' | ' '))
    {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_terminal_unsafe(c) && c != '\n' {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Host-derived text made safe for a terminal or a log line: every character
/// [`is_terminal_unsafe`] names is written as an escape (`\x1b`, `\n`, `\u{202e}`), so nothing
/// a node wrote can move the cursor, set a window title, ring, hide text or forge a line.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_terminal_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_terminal_unsafe(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_terminal_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`terminal_safe`] applied to every string of a JSON value, keys included.
pub fn terminal_safe_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Cow::Owned(safe) = terminal_safe(s) {
                *s = safe;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(terminal_safe_json),
        Value::Object(map) => {
            let unsafe_keys: Vec<String> = map
                .keys()
                .filter(|k| matches!(terminal_safe(k), Cow::Owned(_)))
                .cloned()
                .collect();
            for key in unsafe_keys {
                if let Some(v) = map.remove(&key) {
                    map.insert(terminal_safe(&key).into_owned(), v);
                }
            }
            map.values_mut().for_each(terminal_safe_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A copy of `value` with [`terminal_safe`] applied to every string in it, through its JSON
/// form, so that no field is forgotten. `None` if the value does not survive the trip (it
/// always does for types whose JSON form reads back).
pub fn terminal_safe_copy<T>(value: &T) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut json = serde_json::to_value(value).ok()?;
    terminal_safe_json(&mut json);
    serde_json::from_value(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert!(matches!(terminal_safe("plain ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("a\x1b]0;owned\x07b\u{9b}31mc\n\rd\te\u{7f}"),
            "a\\x1b]0;owned\\x07b\\u{9b}31mc\\n\\rd\\te\\x7f"
        );
        assert_eq!(
            terminal_safe("evil\u{202e}txt.exe\u{200b}\u{feff}\u{2066}"),
            "evil\\u{202e}txt.exe\\u{200b}\\u{feff}\\u{2066}"
        );
        let raw = serde_json::to_string(&serde_json::json!({"a": "\u{9b}\u{202e}\u{e0041}"}))
            .expect("json");
        let safe = json_terminal_safe(raw);
        assert_eq!(safe, r#"{"a":"\u009b\u202e\udb40\udc41"}"#);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).expect("parses")["a"],
            "\u{9b}\u{202e}\u{e0041}"
        );
        let mut json = serde_json::json!({"k\x1b": ["\x1b[2J", 1, {"x": "\u{85}"}]});
        terminal_safe_json(&mut json);
        assert_eq!(
            json,
            serde_json::json!({"k\\x1b": ["\\x1b[2J", 1, {"x": "\\u{85}"}]})
        );
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            closest("sshd.banenr", ["sshd.banner", "sshd.kex"]),
            Some("sshd.banner")
        );
        assert_eq!(closest("zzzzzzzz", ["sshd.banner"]), None);
    }
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Word-wraps `text` to `width` columns, the first line after `first` (already printed,
/// counted in the width) and the others indented by `indent` spaces. A word longer than a
/// line stands alone on its line rather than being cut.
pub fn wrap(text: &str, width: usize, first: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut column = first;
    let mut line_start = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if !line_start && column + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
        line_start = false;
    }
    out
}

#[cfg(test)]
mod wrap_tests {
    #[test]
    fn lines_stay_within_the_width() {
        let text =
            "PasswordAuthentication is yes (compiled default of OpenSSH 10.5p1); expected no";
        let wrapped = super::wrap(text, 30, 5, 2);
        assert_eq!(
            wrapped,
            "PasswordAuthentication is\n  yes (compiled default of\n  OpenSSH 10.5p1); expected no"
        );
        for (i, line) in wrapped.lines().enumerate() {
            let width = line.chars().count() + if i == 0 { 5 } else { 0 };
            assert!(width <= 30, "{line:?}");
        }
        assert_eq!(
            super::wrap("averyveryverylongword x", 10, 0, 2),
            "averyveryverylongword\n  x"
        );
    }
}

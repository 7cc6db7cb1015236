//! Small text helpers shared by parsers and error messages.

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

#[cfg(test)]
mod tests {
    use super::*;

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

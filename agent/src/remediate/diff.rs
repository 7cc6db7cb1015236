//! Unified diffs of the files a proposal changes, as `diff -u` and `patch` know them.
//!
//! Configuration files are small and a proposal changes a few lines of each, so the lines the
//! two versions share at the start and the end are set aside and the rest is aligned by a
//! longest-common-subsequence table; a middle too large for the table (over
//! [`MAX_TABLE`] cells) is shown as removed and added whole, which is still a correct patch.

/// Cells of the alignment table at most (lines removed × lines added, after the shared ends).
const MAX_TABLE: usize = 4_000_000;
/// Lines of context around each change.
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// The unified diff from `before` (`None`: the file is new) to `after`, with `a/` and `b/`
/// names for `path`; empty when nothing differs.
pub fn unified(path: &str, before: Option<&str>, after: &str) -> String {
    let old = lines(before.unwrap_or(""));
    let new = lines(after);
    let ops = align(&old, &new);
    if ops.iter().all(|(op, _, _)| *op == Op::Same) {
        return String::new();
    }
    let rel = path.trim_start_matches('/');
    let mut out = match before {
        Some(_) => format!("--- a/{rel}\n+++ b/{rel}\n"),
        None => format!("--- /dev/null\n+++ b/{rel}\n"),
    };
    // Hunks: runs of changes with their context, merged when the context would overlap.
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (op, _, _))| *op != Op::Same)
        .map(|(i, _)| i)
        .collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        let start = i.saturating_sub(CONTEXT);
        let end = (i + CONTEXT + 1).min(ops.len());
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    for (start, end) in hunks {
        let slice = &ops[start..end];
        let old_count = slice.iter().filter(|(op, _, _)| *op != Op::Added).count();
        let new_count = slice.iter().filter(|(op, _, _)| *op != Op::Removed).count();
        // Line numbers of the hunk's first line in each file (0 for an empty range).
        let old_start = ops[..start]
            .iter()
            .filter(|(op, _, _)| *op != Op::Added)
            .count()
            + usize::from(old_count > 0);
        let new_start = ops[..start]
            .iter()
            .filter(|(op, _, _)| *op != Op::Removed)
            .count()
            + usize::from(new_count > 0);
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(old_start, old_count),
            range(new_start, new_count)
        ));
        for (op, old_index, new_index) in slice {
            let (mark, line) = match op {
                Op::Same => (' ', &old[*old_index]),
                Op::Removed => ('-', &old[*old_index]),
                Op::Added => ('+', &new[*new_index]),
            };
            out.push(mark);
            out.push_str(line.text);
            out.push('\n');
            if !line.newline {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

fn range(start: usize, count: usize) -> String {
    if count == 1 {
        start.to_string()
    } else {
        format!("{start},{count}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line<'a> {
    text: &'a str,
    /// Whether a newline ends it (only the last line of a file can lack one).
    newline: bool,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out: Vec<Line<'_>> = text
        .split_inclusive('\n')
        .map(|l| Line {
            text: l.strip_suffix('\n').unwrap_or(l),
            newline: l.ends_with('\n'),
        })
        .collect();
    if out.last().is_some_and(|l| l.text.is_empty() && !l.newline) {
        out.pop();
    }
    out
}

/// The edit script: each step with its index in the old and the new lines.
fn align(old: &[Line<'_>], new: &[Line<'_>]) -> Vec<(Op, usize, usize)> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut ops: Vec<(Op, usize, usize)> = (0..prefix).map(|i| (Op::Same, i, i)).collect();
    let (n, m) = (old_mid.len(), new_mid.len());
    if n.saturating_mul(m) > MAX_TABLE {
        ops.extend((0..n).map(|i| (Op::Removed, prefix + i, prefix)));
        ops.extend((0..m).map(|j| (Op::Added, prefix + n, prefix + j)));
    } else {
        // lcs[i][j]: the longest common subsequence of old_mid[i..] and new_mid[j..].
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if old_mid[i] == new_mid[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && old_mid[i] == new_mid[j] {
                ops.push((Op::Same, prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                // Removed lines before added ones, as diff(1) shows a changed line.
                ops.push((Op::Removed, prefix + i, prefix + j));
                i += 1;
            } else {
                ops.push((Op::Added, prefix + i, prefix + j));
                j += 1;
            }
        }
    }
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    ops.extend((0..suffix).map(|k| (Op::Same, old_end + k, new_end + k)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_in_the_middle() {
        let before = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let after = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified("/etc/x", Some(before), after),
            "--- a/etc/x\n+++ b/etc/x\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn lines_added_at_the_top() {
        let diff = unified("/etc/x", Some("one\ntwo\n"), "# top\nX 1\none\ntwo\n");
        assert_eq!(
            diff,
            "--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,4 @@\n+# top\n+X 1\n one\n two\n"
        );
    }

    #[test]
    fn a_new_file_and_no_change() {
        assert_eq!(
            unified("/etc/new", None, "A b\n"),
            "--- /dev/null\n+++ b/etc/new\n@@ -0,0 +1 @@\n+A b\n"
        );
        assert_eq!(unified("/etc/x", Some("same\n"), "same\n"), "");
    }

    #[test]
    fn a_missing_final_newline_is_said() {
        let diff = unified("/etc/x", Some("a\nb"), "a\nc");
        assert!(
            diff.ends_with("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"),
            "{diff}"
        );
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let before: String = (0..30).map(|i| format!("{i}\n")).collect();
        let after: String = (0..30)
            .map(|i| match i {
                2 => "two\n".to_string(),
                27 => "twenty-seven\n".to_string(),
                i => format!("{i}\n"),
            })
            .collect();
        let diff = unified("/x", Some(&before), &after);
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
    }

    /// Applying the diff with the real `patch` gives the new file (when patch is installed).
    #[test]
    fn patch_applies_it() {
        if !std::path::Path::new("/usr/bin/patch").exists() {
            assert!(
                std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "NODECHECK_REQUIRE_TOOLS=1 but patch(1) is not installed (apt-get install patch)"
            );
            return;
        }
        let dir = crate::host::testing::TempRoot::new();
        let before = "# head\nPort 22\nX11Forwarding yes\n\nMatch User bob\n  X11Forwarding yes\n";
        let after = "# nodecheck\nPasswordAuthentication no\n# head\nPort 22\nX11Forwarding yes\n\nMatch User bob\n  X11Forwarding no\n";
        dir.file("etc/ssh/sshd_config", before, 0o600);
        let diff = unified("/etc/ssh/sshd_config", Some(before), after);
        let mut child = std::process::Command::new("/usr/bin/patch")
            .arg("-p1")
            .arg("-s")
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("patch");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), diff.as_bytes())
            .expect("write");
        drop(child.stdin.take());
        assert!(child.wait().expect("wait").success());
        assert_eq!(
            std::fs::read_to_string(dir.join("etc/ssh/sshd_config")).expect("read"),
            after
        );
    }
}

//! Debian package versions: dpkg's ordering, and the installed packages of `/var/lib/dpkg/status`.
//!
//! A distribution fixes a container escape by patching the version it ships, not by moving to
//! the upstream release that fixed it: Debian 12's runc `1.1.5+ds1-1+deb12u1` carries the fix
//! for CVE-2024-21626 that upstream released as 1.1.12. So a version is judged by the package
//! that installed it, compared the way dpkg compares (`deb-version(7)`): epoch, then upstream
//! version, then Debian revision, each by alternating non-digit and digit runs, where `~` sorts
//! before everything, even the end of the string.

use std::cmp::Ordering;

/// A dpkg version, split as `deb-version(7)` says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version<'a> {
    epoch: u64,
    upstream: &'a str,
    revision: &'a str,
}

fn split(version: &str) -> Version<'_> {
    let version = version.trim();
    let (epoch, rest) = match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, version),
    };
    let (upstream, revision) = match rest.rfind('-') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, ""),
    };
    Version {
        epoch,
        upstream,
        revision,
    }
}

/// The weight of a non-digit character: `~` first, then the end, letters, then the rest.
fn order(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: one part (upstream or revision) against another.
fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit runs, character by character.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            let (wa, wb) = (order(ca), order(cb));
            if wa != wb {
                return wa.cmp(&wb);
            }
            if ca.is_some() {
                i += 1;
            }
            if cb.is_some() {
                j += 1;
            }
        }
        // Digit runs, as numbers (leading zeros ignored; any length).
        let start_a = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let start_b = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let na = trim_zeros(&a[start_a..i]);
        let nb = trim_zeros(&b[start_b..j]);
        let by_number = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if by_number != Ordering::Equal {
            return by_number;
        }
    }
    Ordering::Equal
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

/// Compares two Debian package versions as `dpkg --compare-versions` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (split(a), split(b));
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| compare_part(a.upstream, b.upstream))
        .then_with(|| compare_part(a.revision, b.revision))
}

/// An upstream release's version (`v1.4.0-rc.3`, `1.7.27-k3s1`, `1.1.12`) rewritten so that
/// [`compare`] orders it as releases are ordered: pre-releases (`-rc`, `-alpha`, `-beta`)
/// before their release, other suffixes (a fork's `-k3s1`) after it, no leading `v`.
pub fn upstream_as_dpkg(version: &str) -> String {
    let version = version.trim().trim_start_matches('v');
    let (core, suffix) = match version.find(['-', '+']) {
        Some(at) => (&version[..at], &version[at + 1..]),
        None => return version.to_string(),
    };
    let pre = ["rc", "alpha", "beta"]
        .iter()
        .any(|p| suffix.to_ascii_lowercase().starts_with(p));
    // No `-` may remain: dpkg would take what follows the last one for a Debian revision.
    let suffix = suffix.replace('-', ".");
    if pre {
        format!("{core}~{suffix}")
    } else {
        format!("{core}+{suffix}")
    }
}

/// An installed package of dpkg's status database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub package: String,
    pub version: String,
    /// The source package when it differs (`Source: containerd`), without its version.
    pub source: Option<String>,
    /// The line of the stanza's `Package:` field.
    pub line: u32,
}

/// The installed packages among `wanted`, from the text of `/var/lib/dpkg/status`. A stanza
/// counts only when its `Status` ends `ok installed` (`install`, `hold` — what `apt-mark hold`
/// writes — or `deinstall` before removal); others (half-configured, config-files, removed)
/// did not leave a working binary, or are not what runs.
pub fn installed(status: &str, wanted: &[&str]) -> Vec<Installed> {
    let mut found = Vec::new();
    // A server's database holds thousands of stanzas and a few MB: stanzas are found by their
    // blank-line separators and skipped by their first line, and only the wanted ones are read
    // field by field (lines are counted in bulk, for the evidence).
    let mut line = 1u32;
    for stanza in status.split("\n\n") {
        let start_line = line;
        let lines_in = u32::try_from(memchr::memchr_iter(b'\n', stanza.as_bytes()).count())
            .unwrap_or(u32::MAX);
        line = line.saturating_add(lines_in).saturating_add(2);
        let trimmed = stanza.trim_start_matches('\n');
        // Blank lines beyond the separator's own (three newlines in a row) start the piece.
        let leading = u32::try_from(stanza.len() - trimmed.len()).unwrap_or(u32::MAX);
        let stanza = trimmed;
        let Some((at, name)) = stanza
            .lines()
            .enumerate()
            .find_map(|(i, l)| l.strip_prefix("Package:").map(|n| (i, n.trim())))
        else {
            continue;
        };
        if !wanted.contains(&name) {
            continue;
        }
        let (mut version, mut source, mut ok) = (None, None, false);
        for l in stanza.lines() {
            if l.starts_with([' ', '\t']) {
                continue;
            }
            let Some((field, value)) = l.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match field {
                // `want ok status`: held (`hold ok installed`) or marked for removal, a
                // package is installed until its third word says otherwise.
                "Status" => {
                    let words: Vec<&str> = value.split_whitespace().collect();
                    ok = words.len() == 3 && words[1] == "ok" && words[2] == "installed";
                }
                "Version" => version = Some(value.to_string()),
                "Source" => {
                    source = value
                        .split_whitespace()
                        .next()
                        .filter(|s| *s != name)
                        .map(str::to_string);
                }
                _ => {}
            }
        }
        if let (true, Some(version)) = (ok, version) {
            found.push(Installed {
                package: name.to_string(),
                version,
                source,
                line: start_line
                    .saturating_add(leading)
                    .saturating_add(u32::try_from(at).unwrap_or(u32::MAX)),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_dpkg_does() {
        // Each pair: a < b, checked against `dpkg --compare-versions a lt b` on Debian 12.
        let less = [
            ("1.1.5+ds1-1", "1.1.5+ds1-1+deb12u1"),
            ("1.1.5+ds1-1+deb12u1", "1.1.12"),
            ("1.0~rc1", "1.0"),
            ("1.0", "1.0+b1"),
            ("1.0", "1:0.1"),
            ("1.6.20~ds1-1", "1.6.20~ds1-1+deb12u1"),
            ("1.6.20~ds1-1+deb12u1", "1.6.20"),
            ("1.1.7-0ubuntu1~22.04.1", "1.1.7-0ubuntu1~22.04.2"),
            ("1.1.7-0ubuntu1~22.04.2", "1.1.7-0ubuntu1"),
            ("1.9", "1.10"),
            ("1.2a", "1.2b"),
            ("1.2", "1.2a"),
            ("1.2a", "1.2+"),
            ("0009", "10"),
        ];
        for (a, b) in less {
            assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
        }
        assert_eq!(compare("1.01", "1.1"), Ordering::Equal);
        assert_eq!(compare("0:1.0-1", "1.0-1"), Ordering::Equal);
    }

    #[test]
    fn upstream_pre_releases_come_first_and_fork_suffixes_after() {
        let less = [
            ("v1.4.0-rc.3", "1.4.0"),
            ("1.0.0-rc6", "1.0.0-rc7"),
            ("1.0.0-rc92", "1.0.0"),
            ("1.7.27", "v1.7.27-k3s1"),
            ("1.1.11", "1.1.12"),
        ];
        for (a, b) in less {
            let (a2, b2) = (upstream_as_dpkg(a), upstream_as_dpkg(b));
            assert_eq!(compare(&a2, &b2), Ordering::Less, "{a} ({a2}) < {b} ({b2})");
        }
        assert_eq!(upstream_as_dpkg("v1.2.3"), "1.2.3");
        assert_eq!(upstream_as_dpkg("1.7.27-k3s1-2"), "1.7.27+k3s1.2");
    }

    #[test]
    fn installed_packages_only() {
        let status = "Package: runc\nStatus: hold ok installed\nPriority: optional\nVersion: 1.1.5+ds1-1+deb12u1\nDescription: x\n continued: line\n\nPackage: containerd\nStatus: deinstall ok config-files\nVersion: 1.6.20~ds1-1\n\nPackage: containerd.io\nStatus: install ok installed\nSource: containerd.io (1.7.27-1)\nVersion: 1.7.27-1\n\nPackage: cri-o\nStatus: install ok installed\nSource: cri-o-src\nVersion: 1.30.1-1\n";
        let found = installed(status, &["runc", "containerd", "containerd.io", "cri-o"]);
        assert_eq!(
            found,
            [
                Installed {
                    package: "runc".into(),
                    version: "1.1.5+ds1-1+deb12u1".into(),
                    source: None,
                    line: 1
                },
                Installed {
                    package: "containerd.io".into(),
                    version: "1.7.27-1".into(),
                    source: None,
                    line: 12
                },
                Installed {
                    package: "cri-o".into(),
                    version: "1.30.1-1".into(),
                    source: Some("cri-o-src".into()),
                    line: 17
                },
            ]
        );
        assert!(installed("garbage\0\n::\n", &["runc"]).is_empty());
        // Extra blank lines keep the line numbers right.
        let spaced = "Package: a\nStatus: install ok installed\nVersion: 1\n\n\n\nPackage: runc\nStatus: install ok installed\nVersion: 2\n";
        assert_eq!(installed(spaced, &["runc"])[0].line, 7);
    }
}

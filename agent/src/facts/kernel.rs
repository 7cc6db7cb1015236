//! The kernel's settings that decide how well a compromised container is held in: the
//! running sysctls, and the value each will have after the next boot.
//!
//! The running value, read from `/proc/sys`, is what protects; `sysctl.conf` only says what
//! some file meant to set. Where the two disagree the finding says which file wins at the next
//! boot, computed the way `systemd-sysctl` does ([`Persisted`]).
//!
//! `/proc/sys/net` is special: the kernel answers it from the network namespace of the process
//! that reads it, so a DaemonSet pod without `hostNetwork` would read its own pod's values.
//! There the `net.*` keys are not read at all ([`Running::Hidden`]), never reported as the
//! node's; a snapshot made there holds none of them, and says why when it is scanned.

use crate::host::{Content, FileError, Host, NetView, PROC_CAP};
use std::collections::BTreeMap;

/// Every sysctl the checks judge, by dotted name.
pub const SYSCTLS: &[&str] = &[
    "fs.protected_fifos",
    "fs.protected_hardlinks",
    "fs.protected_regular",
    "fs.protected_symlinks",
    "fs.suid_dumpable",
    "kernel.apparmor_restrict_unprivileged_userns",
    "kernel.core_pattern",
    "kernel.dmesg_restrict",
    "kernel.keys.root_maxbytes",
    "kernel.keys.root_maxkeys",
    "kernel.kptr_restrict",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.randomize_va_space",
    "kernel.unprivileged_bpf_disabled",
    "kernel.unprivileged_userns_clone",
    "kernel.yama.ptrace_scope",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.all.accept_source_route",
    "net.ipv4.conf.all.log_martians",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.all.secure_redirects",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.default.accept_redirects",
    "net.ipv4.conf.default.accept_source_route",
    "net.ipv4.conf.default.log_martians",
    "net.ipv4.conf.default.rp_filter",
    "net.ipv4.conf.default.secure_redirects",
    "net.ipv4.conf.default.send_redirects",
    "net.ipv4.ip_forward",
    "net.ipv4.tcp_syncookies",
    "user.max_user_namespaces",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
];

/// A key every kernel has: a copied proc tree without it recorded no sysctl at all.
const SENTINEL: &str = "vm.overcommit_memory";
/// The same for `/proc/sys/net`.
const NET_SENTINEL: &str = "net.ipv4.tcp_syncookies";

/// systemd-sysctl's directories, highest priority first: a file name in an earlier directory
/// hides the same name in the later ones. `/etc/sysctl.conf` is read through the
/// `/etc/sysctl.d/99-sysctl.conf` link Debian, Ubuntu and RHEL ship.
pub const SYSCTL_DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];
/// Configuration files read at most, and bytes per file.
pub const FILES_MAX: usize = 256;
const FILE_CAP: u64 = 256 * 1024;
/// Assignments kept at most, over all files.
const ASSIGNMENTS_MAX: usize = 16_384;

/// What `/proc/sys` says of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    /// The value, whitespace trimmed.
    Value(String),
    /// This kernel has no such key (the feature is not built in).
    Missing,
    /// Not the node's to read here (why).
    Hidden(String),
    /// A copied proc tree that recorded no sysctl (a snapshot older than these checks).
    NotRecorded,
    /// The read failed.
    Unreadable(String),
}

/// The assignment `systemd-sysctl` will make at the next boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub value: String,
    pub path: String,
    pub line: u32,
    /// The glob that matched, when the key is set by a pattern.
    pub pattern: Option<String>,
}

/// One key: now and after the next boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub key: &'static str,
    pub running: Running,
    pub next_boot: Option<Assignment>,
}

impl Sysctl {
    /// `/proc/sys/kernel/kptr_restrict`.
    pub fn proc_path(&self) -> String {
        format!("/proc/sys/{}", self.key.replace('.', "/"))
    }

    /// The running value as an integer, when it is one.
    pub fn int(&self) -> Option<i64> {
        match &self.running {
            Running::Value(v) => v.parse().ok(),
            _ => None,
        }
    }
}

/// The kernel's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFacts {
    pub sysctls: BTreeMap<&'static str, Sysctl>,
    /// Active swap areas (`/proc/swaps`), or why they cannot be read.
    pub swaps: Result<Vec<String>, String>,
    /// Problems with the persisted configuration (an unreadable file, a budget).
    pub problems: Vec<String>,
}

impl KernelFacts {
    /// The key, or a key this kernel lacks when it is not one of [`SYSCTLS`] (a test's facts).
    pub fn get(&self, key: &'static str) -> Sysctl {
        self.sysctls.get(key).cloned().unwrap_or(Sysctl {
            key,
            running: Running::NotRecorded,
            next_boot: None,
        })
    }

    /// Whether the proc tree held any sysctl: a copy of a node made before nodecheck judged
    /// the kernel (or facts that read nothing) holds none.
    pub fn is_recorded(&self) -> bool {
        self.sysctls
            .values()
            .any(|s| s.running != Running::NotRecorded)
    }

    /// Facts of a host with no kernel to read (a scan that read nothing).
    pub fn unread() -> KernelFacts {
        KernelFacts {
            sysctls: BTreeMap::new(),
            swaps: Err("not read".into()),
            problems: Vec::new(),
        }
    }
}

/// Reads the sysctls, their persisted values and the swap areas.
pub fn gather(host: &Host) -> KernelFacts {
    let net_view = host.sysctl_net_view();
    let proc_rel = |key: &str| format!("sys/{}", key.replace('.', "/"));
    let read = |key: &str| match host.proc_read(&proc_rel(key), PROC_CAP) {
        Ok(bytes) => Running::Value(String::from_utf8_lossy(&bytes).trim().to_string()),
        Err(FileError::NotFound(_)) => Running::Missing,
        Err(e) => Running::Unreadable(e.to_string()),
    };
    let copied = net_view == NetView::Recorded;
    let recorded = !copied || read(SENTINEL) != Running::Missing;
    let net_recorded = !copied || read(NET_SENTINEL) != Running::Missing;
    let mut problems = Vec::new();
    let persisted = persisted_assignments(host, &mut problems);
    let sysctls = SYSCTLS
        .iter()
        .map(|&key| {
            let running = if !recorded {
                Running::NotRecorded
            } else if key.starts_with("net.") {
                match &net_view {
                    NetView::Other(why) => Running::Hidden(why.clone()),
                    NetView::Recorded if !net_recorded => Running::Hidden(
                        "this proc tree holds no /proc/sys/net: a snapshot taken outside the \
                         host's network namespace (a DaemonSet pod) records none"
                            .into(),
                    ),
                    _ => read(key),
                }
            } else {
                read(key)
            };
            let sysctl = Sysctl {
                key,
                running,
                next_boot: winner(&persisted, key),
            };
            (key, sysctl)
        })
        .collect();
    let swaps = match host.proc_read("swaps", PROC_CAP) {
        Ok(bytes) => Ok(parse_swaps(&String::from_utf8_lossy(&bytes))),
        Err(FileError::NotFound(_)) if copied => Err("not recorded in this proc tree".into()),
        Err(FileError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    };
    KernelFacts {
        sysctls,
        swaps,
        problems,
    }
}

/// The active swap areas of `/proc/swaps` (its header line skipped).
pub fn parse_swaps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(|name| name.replace("\\040", " "))
        .collect()
}

/// One line of a sysctl.d file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The key in `/proc/sys` path form (`net/ipv4/conf/all/rp_filter`).
    path: String,
    /// `None`: `-key` alone, which keeps the key out of every glob.
    value: Option<String>,
    file: String,
    line: u32,
    /// The key as written, when it is a glob.
    pattern: Option<String>,
}

/// A key in `/proc/sys` path form: if its first separator is a dot, dots and slashes swap
/// (`net.ipv4.conf.eth0/100.rp_filter` is `net/ipv4/conf/eth0.100/rp_filter`); if a slash,
/// it is a path already.
pub fn key_path(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'.' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => key.to_string(),
    }
}

/// The assignments of every sysctl.d file, in the order systemd-sysctl applies them: files
/// sorted by name whatever their directory, a name in a higher-priority directory hiding the
/// same name lower down (a link to `/dev/null` masks it).
fn persisted_assignments(host: &Host, problems: &mut Vec<String>) -> Vec<Line> {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_dirs: Vec<String> = Vec::new();
    for dir in SYSCTL_DIRS {
        // /lib is /usr/lib on a merged-/usr system: one directory, read once.
        let Ok(resolved) = host.resolve(dir) else {
            continue;
        };
        if seen_dirs.contains(&resolved) {
            continue;
        }
        seen_dirs.push(resolved);
        let names = match host.list_dir(dir) {
            Ok(names) => names,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for name in names.into_iter().filter(|n| n.ends_with(".conf")) {
            by_name
                .entry(name.clone())
                .or_insert_with(|| format!("{dir}/{name}"));
        }
    }
    if by_name.len() > FILES_MAX {
        problems.push(format!(
            "{} sysctl.d files; the first {FILES_MAX} by name were read",
            by_name.len()
        ));
    }
    let mut lines = Vec::new();
    for path in by_name.values().take(FILES_MAX) {
        if host.resolve(path).is_ok_and(|r| r == "/dev/null") {
            continue;
        }
        let text = match host.read_text(path, FILE_CAP, Content::Plain) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        parse_file(path, &text, &mut lines);
        if lines.len() > ASSIGNMENTS_MAX {
            problems.push(format!(
                "more than {ASSIGNMENTS_MAX} sysctl assignments; files after {path} were not read"
            ));
            break;
        }
    }
    lines
}

/// The lines of one sysctl.d file, as systemd-sysctl reads them.
fn parse_file(file: &str, text: &str, lines: &mut Vec<Line>) {
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
            None => (line, None),
        };
        let (excluding, key) = match key.strip_prefix('-') {
            Some(k) => (true, k.trim()),
            None => (false, key),
        };
        // A bare key without `-` is a syntax error systemd-sysctl skips.
        if key.is_empty() || (value.is_none() && !excluding) {
            continue;
        }
        let path = key_path(key);
        lines.push(Line {
            pattern: crate::host::has_glob_meta(&path).then(|| key.to_string()),
            path,
            value,
            file: file.to_string(),
            line: u32::try_from(n + 1).unwrap_or(u32::MAX),
        });
    }
}

/// Whether a glob in path form matches a key in path form, as glob(3) over `/proc/sys` does:
/// component by component, so `*` never spans a `/`.
fn glob_matches(pattern: &str, path: &str) -> bool {
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == k.len() && p.iter().zip(&k).all(|(p, k)| crate::host::fnmatch(p, k))
}

/// What systemd-sysctl writes to `key` at boot: the last explicit assignment of the key; with
/// none, the last glob that matches it, unless a `-key` line excludes it from globs.
fn winner(lines: &[Line], key: &str) -> Option<Assignment> {
    let path = key_path(key);
    let explicit = lines
        .iter()
        .rev()
        .find(|l| l.pattern.is_none() && l.path == path && l.value.is_some());
    let chosen = explicit.or_else(|| {
        let excluded = lines
            .iter()
            .any(|l| l.pattern.is_none() && l.path == path && l.value.is_none());
        if excluded {
            return None;
        }
        lines
            .iter()
            .rev()
            .find(|l| l.value.is_some() && l.pattern.is_some() && glob_matches(&l.path, &path))
    })?;
    Some(Assignment {
        value: chosen.value.clone().unwrap_or_default(),
        path: chosen.file.clone(),
        line: chosen.line,
        pattern: chosen.pattern.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    #[test]
    fn keys_take_either_separator() {
        assert_eq!(key_path("kernel.kptr_restrict"), "kernel/kptr_restrict");
        assert_eq!(key_path("kernel/kptr_restrict"), "kernel/kptr_restrict");
        assert_eq!(
            key_path("net.ipv4.conf.eth0/100.rp_filter"),
            "net/ipv4/conf/eth0.100/rp_filter"
        );
        assert_eq!(
            key_path("net/ipv4/conf/eth0.100/rp_filter"),
            "net/ipv4/conf/eth0.100/rp_filter"
        );
    }

    fn lines(files: &[(&str, &str)]) -> Vec<Line> {
        let mut out = Vec::new();
        for (file, text) in files {
            parse_file(file, text, &mut out);
        }
        out
    }

    #[test]
    fn the_last_explicit_assignment_wins_over_any_glob() {
        // systemd's own 50-default.conf: a glob for every interface, `all` kept out of it.
        let l = lines(&[
            (
                "/usr/lib/sysctl.d/50-default.conf",
                "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n",
            ),
            (
                "/etc/sysctl.d/60-x.conf",
                "; comment\n# comment\nkernel/kptr_restrict=1\n",
            ),
            (
                "/etc/sysctl.d/99-sysctl.conf",
                "kernel.kptr_restrict = 2\nbogus line\n",
            ),
        ]);
        let w = winner(&l, "kernel.kptr_restrict").expect("set");
        assert_eq!((w.value.as_str(), w.line), ("2", 1));
        assert_eq!(w.path, "/etc/sysctl.d/99-sysctl.conf");
        assert!(winner(&l, "net.ipv4.conf.all.rp_filter").is_none());
        let default = winner(&l, "net.ipv4.conf.default.rp_filter").expect("set");
        assert_eq!((default.line, default.pattern), (1, None));
        let eth0 = winner(&l, "net.ipv4.conf.eth0.rp_filter").expect("glob");
        assert_eq!(eth0.pattern.as_deref(), Some("net.ipv4.conf.*.rp_filter"));
        // A glob never spans a separator.
        assert!(winner(&l, "net.ipv4.conf.x.y.rp_filter").is_none());
        assert!(winner(&l, "vm.panic_on_oom").is_none());
    }

    #[test]
    fn files_are_ordered_by_name_and_etc_hides_usr_lib() {
        let root = TempRoot::new();
        root.file("usr/lib/sysctl.d/10-a.conf", "kernel.panic = 5\n", 0o644)
            .file("usr/lib/sysctl.d/90-b.conf", "kernel.panic = 7\n", 0o644)
            .file(
                "etc/sysctl.d/90-b.conf",
                "kernel.panic_on_oops = 1\n",
                0o644,
            )
            .file("etc/sysctl.d/50-c.conf", "kernel.panic = 10\n", 0o644)
            .file(
                "usr/lib/sysctl.d/99-masked.conf",
                "kernel.panic = 0\n",
                0o644,
            )
            .symlink("etc/sysctl.d/99-masked.conf", "/dev/null")
            .file("etc/sysctl.d/README", "kernel.panic = 1\n", 0o644);
        let host = root.host();
        let mut problems = Vec::new();
        let l = persisted_assignments(&host, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let w = winner(&l, "kernel.panic").expect("set");
        // 10-a (5), 50-c (10), 90-b from /etc (no kernel.panic), 99-masked masked.
        assert_eq!(
            (w.value.as_str(), w.path.as_str()),
            ("10", "/etc/sysctl.d/50-c.conf")
        );
    }

    #[test]
    fn swaps_name_their_devices() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swap\\040file                               file\t\t1048572\t\t0\t\t-2\n";
        assert_eq!(parse_swaps(text), ["/swap file"]);
        assert!(parse_swaps("Filename Type Size Used Priority\n").is_empty());
    }
}

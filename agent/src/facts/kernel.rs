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
/// Longest key read (a longer one is no /proc/sys path).
const KEY_MAX: usize = 512;

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

/// Per-interface keys read (`net.ipv4.conf.<interface>.<key>`): the kernel ORs
/// `send_redirects` and `secure_redirects` (and `accept_redirects` on an interface that does not
/// forward) with `conf.all`, so `all` at 0 does not turn them off on an interface set to 1; it
/// applies the larger of `conf.all.rp_filter` and the interface's, so `all` at 0 still filters
/// on an interface set to 1 or 2 (systemd's `50-default.conf` relies on it).
pub const INTERFACE_KEYS: &[&str] = &[
    "accept_redirects",
    "forwarding",
    "rp_filter",
    "secure_redirects",
    "send_redirects",
];
/// Interfaces read at most (a node has one per pod).
pub const INTERFACES_MAX: usize = 1024;

/// One network interface's per-interface settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// By [`INTERFACE_KEYS`] key.
    pub values: BTreeMap<&'static str, Running>,
}

/// The kernel's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFacts {
    pub sysctls: BTreeMap<&'static str, Sysctl>,
    /// `net.ipv4.conf.<interface>` for every interface but `all` and `default`, when the
    /// node's network namespace is visible; else why not.
    pub interfaces: Result<Vec<Interface>, String>,
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
            interfaces: Err("not read".into()),
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
    let interfaces = match (&net_view, recorded && net_recorded) {
        (NetView::Other(why), _) => Err(why.clone()),
        (_, false) => Err("not recorded in this proc tree".into()),
        _ => read_interfaces(host),
    };
    let swaps = match host.proc_read("swaps", PROC_CAP) {
        Ok(bytes) => Ok(parse_swaps(&String::from_utf8_lossy(&bytes))),
        Err(FileError::NotFound(_)) if copied => Err("not recorded in this proc tree".into()),
        Err(FileError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    };
    KernelFacts {
        sysctls,
        interfaces,
        swaps,
        problems,
    }
}

/// Every interface's [`INTERFACE_KEYS`], `all` and `default` aside.
fn read_interfaces(host: &Host) -> Result<Vec<Interface>, String> {
    let names = host
        .proc_list("sys/net/ipv4/conf")
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| n != "all" && n != "default" && !n.contains('/'))
        .collect();
    if names.len() > INTERFACES_MAX {
        return Err(format!(
            "{} interfaces, more than the {INTERFACES_MAX} read",
            names.len()
        ));
    }
    Ok(names
        .into_iter()
        .map(|name| Interface {
            values: INTERFACE_KEYS
                .iter()
                .map(|&key| {
                    // By path: an interface name may hold a dot (eth0.100).
                    let value = match host
                        .proc_read(&format!("sys/net/ipv4/conf/{name}/{key}"), PROC_CAP)
                    {
                        Ok(bytes) => {
                            Running::Value(String::from_utf8_lossy(&bytes).trim().to_string())
                        }
                        Err(FileError::NotFound(_)) => Running::Missing,
                        Err(e) => Running::Unreadable(e.to_string()),
                    };
                    (key, value)
                })
                .collect(),
            name,
        })
        .collect())
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

/// A key in `/proc/sys` path form, as systemd's `sysctl_normalize` makes it: if its first
/// separator is a dot, dots and slashes swap (`net.ipv4.conf.eth0/100.rp_filter` is
/// `net/ipv4/conf/eth0.100/rp_filter`); if a slash, it is a path already; then empty and `.`
/// components go (`kernel..panic` and `/kernel/panic` are `kernel/panic`).
pub fn key_path(key: &str) -> String {
    let swapped: String = match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'.' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => key.to_string(),
    };
    swapped
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// An integer as the kernel's `proc_dointvec` reads one: an optional `-`, then base 0 (`0x`
/// hex, a leading `0` octal, else decimal); anything else (a `+`, trailing text) is refused.
pub fn kernel_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if negative { -value } else { value })
}

/// Whether `dir/name` is a file systemd-sysctl reads: a `.conf` name that is not hidden, and
/// not a directory (a directory named `x.conf` neither counts nor hides a file).
fn is_config_file(host: &Host, dir: &str, name: &str) -> bool {
    name.ends_with(".conf")
        && !name.starts_with('.')
        && !host
            .stat(&format!("{dir}/{name}"))
            .is_ok_and(|m| m.kind == crate::host::EntryKind::Dir)
}

/// The assignments systemd-sysctl will make at the next boot, in its order: files sorted by
/// name whatever their directory, a name in a higher-priority directory hiding the same name
/// lower down (a link to `/dev/null` masks it), `/run/sysctl.d` left out (a tmpfs, empty after
/// a reboot). Like systemd's ordered map, a key assigned again keeps its place when the value
/// is the same, and moves to the end (later globs win) when it changes; `-key` alone replaces
/// an assignment with none.
fn persisted_assignments(host: &Host, problems: &mut Vec<String>) -> Vec<Line> {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_dirs: Vec<String> = Vec::new();
    for dir in SYSCTL_DIRS.iter().filter(|d| **d != "/run/sysctl.d") {
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
        let conf: Vec<String> = names.into_iter().filter(|n| n.ends_with(".conf")).collect();
        if conf.len() > FILES_MAX {
            problems.push(format!(
                "{dir} holds {} .conf files, more than the {FILES_MAX} read: the next boot's values are not known",
                conf.len()
            ));
            continue;
        }
        for name in conf {
            if !by_name.contains_key(&name) && is_config_file(host, dir, &name) {
                by_name.insert(name.clone(), format!("{dir}/{name}"));
            }
        }
    }
    if by_name.len() > FILES_MAX {
        problems.push(format!(
            "{} sysctl.d files, more than the {FILES_MAX} read: the next boot's values are not known",
            by_name.len()
        ));
        return Vec::new();
    }
    let mut lines: Vec<Line> = Vec::new();
    for path in by_name.values() {
        if host.resolve(path).is_ok_and(|r| r == "/dev/null") {
            continue;
        }
        let text = match host.read_text(path, FILE_CAP, Content::Plain) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                problems.push(format!(
                    "{e}: the next boot's values are not known (systemd-sysctl reads it)"
                ));
                continue;
            }
        };
        let mut parsed = Vec::new();
        parse_file(path, &text, &mut parsed);
        for line in parsed {
            merge(&mut lines, line);
            if lines.len() > ASSIGNMENTS_MAX {
                problems.push(format!(
                    "more than {ASSIGNMENTS_MAX} sysctl assignments (at {path}): the next boot's values are not known"
                ));
                return Vec::new();
            }
        }
    }
    lines
}

/// Adds a line to systemd-sysctl's ordered map of assignments: a key assigned again keeps its
/// place when the value is the same, else the old entry goes and the new one is last.
fn merge(map: &mut Vec<Line>, line: Line) {
    match map.iter().position(|l| l.path == line.path) {
        Some(i) if map[i].value == line.value => {}
        Some(i) => {
            map.remove(i);
            map.push(line);
        }
        None => map.push(line),
    }
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
        // A bare key without `-` is a syntax error systemd-sysctl skips; no /proc/sys path is
        // anywhere near this long, and a longer pattern only costs matching time.
        if key.is_empty() || key.len() > KEY_MAX || (value.is_none() && !excluding) {
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

/// What systemd-sysctl writes to `key` at boot: its own entry (`-key` alone: nothing, and no
/// glob either); without one, the last glob in the map's order that matches it.
fn winner(lines: &[Line], key: &str) -> Option<Assignment> {
    let path = key_path(key);
    let chosen = match lines.iter().find(|l| l.pattern.is_none() && l.path == path) {
        Some(own) => own.value.as_ref().map(|_| own),
        None => lines
            .iter()
            .rev()
            .find(|l| l.value.is_some() && l.pattern.is_some() && glob_matches(&l.path, &path)),
    }?;
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
            let mut parsed = Vec::new();
            parse_file(file, text, &mut parsed);
            for line in parsed {
                merge(&mut out, line);
            }
        }
        out
    }

    #[test]
    fn values_are_read_as_the_kernel_reads_them() {
        assert_eq!(kernel_int("10"), Some(10));
        assert_eq!(kernel_int("010"), Some(8));
        assert_eq!(kernel_int("0x10"), Some(16));
        assert_eq!(kernel_int("-1"), Some(-1));
        assert_eq!(kernel_int("0"), Some(0));
        assert_eq!(kernel_int("+10"), None);
        assert_eq!(kernel_int("10 # x"), None);
        assert_eq!(kernel_int(""), None);
        assert_eq!(key_path("kernel..panic"), "kernel/panic");
        assert_eq!(key_path("/kernel/panic"), "kernel/panic");
    }

    #[test]
    fn a_dash_key_cancels_an_assignment_and_globs_keep_their_first_place() {
        let l = lines(&[
            (
                "/etc/sysctl.d/10-a.conf",
                "kernel.panic = 10\nvm.panic_on_oo? = 1\n",
            ),
            ("/etc/sysctl.d/20-b.conf", "vm.panic_on_?om = 0\n"),
            // The same value again keeps the first place: 20-b's glob stays the last one.
            (
                "/etc/sysctl.d/30-c.conf",
                "vm.panic_on_oo? = 1\n-kernel.panic\n",
            ),
        ]);
        // `-kernel.panic` replaced the explicit assignment: not written, and kept out of globs.
        assert!(winner(&l, "kernel.panic").is_none());
        let w = winner(&l, "vm.panic_on_oom").map(|w| w.value);
        assert_eq!(w.as_deref(), Some("0"));
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
            .file("etc/sysctl.d/.95-hidden.conf", "kernel.panic = 1\n", 0o644)
            .file(
                "run/sysctl.d/97-gone-at-reboot.conf",
                "kernel.panic = 2\n",
                0o644,
            )
            .file(
                "etc/sysctl.d/10-a.conf/x",
                "a directory does not hide a file\n",
                0o644,
            )
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

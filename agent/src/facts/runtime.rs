//! The container runtime beneath the kubelet: which process serves the kubelet's runtime
//! socket, who may write that socket, how the runtime is configured, and which versions of it
//! and of runc are installed.
//!
//! - **Which runtime.** The kubelet names its runtime by endpoint (`containerRuntimeEndpoint`,
//!   `--container-runtime-endpoint`; k3s's embedded containerd listens at
//!   [`K3S_SOCKET`]). The process that serves it is the one holding the listening socket bound
//!   at that path: its inode is read from `/proc/<pid>/net/unix` of the runtime's network
//!   namespace and matched against each process's open sockets. Only processes that passed
//!   [`super::identity`] count; a socket served by anything else is said, never trusted.
//! - **The socket.** Connecting to a Unix socket needs write permission on it, and whoever can
//!   talk to the runtime's API can start a privileged container: the socket and its directory
//!   are stat'ed through the serving process's `/proc/<pid>/root` (no mount needed in the
//!   DaemonSet), with the members of a group that may write it.
//! - **The configuration.** containerd's `config.toml` (the `--config` of the running process)
//!   with its `imports`, by its `version` (1, 2, or 3 for containerd 2), and CRI-O's `crio.conf`
//!   with `crio.conf.d/*.conf`; each setting judged is kept with the file that set it.
//! - **Versions.** Never by running a binary: from the Debian package that installed it
//!   (`/var/lib/dpkg/status` and the package's file list), which carries the distribution's
//!   backports, else from the binary's Go build information ([`crate::parse::go_build`]).

use super::kubelet::{Flavour, KubeletFacts};
use super::{FileFact, Process};
use crate::host::{Content, EntryKind, Host, PROC_CAP};
use crate::parse::{dpkg, go_build};
use nodecheck_report::Source;
use std::collections::BTreeMap;

/// The kubelet's default runtime endpoint (containerd's socket).
pub const DEFAULT_ENDPOINT: &str = "unix:///run/containerd/containerd.sock";
/// k3s's embedded containerd.
pub const K3S_SOCKET: &str = "/run/k3s/containerd/containerd.sock";
const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
const CRIO_CONFIG: &str = "/etc/crio/crio.conf";
const CRIO_CONFIG_DIR: &str = "/etc/crio/crio.conf.d";
const DPKG_STATUS: &str = "/var/lib/dpkg/status";
const DPKG_INFO: &str = "/var/lib/dpkg/info";
const CONFIG_CAP: u64 = 1024 * 1024;
/// dpkg's status database of a large server is a few MB.
const STATUS_CAP: u64 = 32 * 1024 * 1024;
/// A package's file list.
const LIST_CAP: u64 = 4 * 1024 * 1024;
/// containerd `imports` (each may be a glob) and CRI-O drop-ins read at most.
pub const CONFIG_FILES_MAX: usize = 64;
/// Where a runtime looks for runc when its configuration names no path: systemd's default
/// `PATH`, in its order.
const PATH_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];
/// k3s puts its own bundled binaries first on its containerd's `PATH`.
const K3S_BIN: &str = "/var/lib/rancher/k3s/data/current/bin";

/// The runtimes a kubelet talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Containerd,
    CriO,
    /// cri-dockerd, in front of Docker Engine.
    CriDockerd,
}

impl RuntimeKind {
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Containerd => "containerd",
            RuntimeKind::CriO => "CRI-O",
            RuntimeKind::CriDockerd => "cri-dockerd (Docker Engine)",
        }
    }

    fn of(process: &Process) -> Option<RuntimeKind> {
        match process.program() {
            "containerd" => Some(RuntimeKind::Containerd),
            "crio" => Some(RuntimeKind::CriO),
            "cri-dockerd" => Some(RuntimeKind::CriDockerd),
            _ if process.comm == "containerd" => Some(RuntimeKind::Containerd),
            _ => None,
        }
    }
}

/// The kubelet's runtime endpoint and where it was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: String,
    pub source: Source,
}

impl Endpoint {
    /// The socket path the kubelet dials, parsed as its `url.Parse` does: `unix:///run/x.sock`
    /// and `unix:/run/x.sock` are `/run/x.sock`, `unix://run/x.sock` is `/x.sock` (`run` is the
    /// URL's host), and an address without a scheme is taken as `unix://` + the address (the
    /// kubelet's fallback). `None` for any other scheme (`tcp://`, `npipe://`).
    pub fn socket_path(&self) -> Option<String> {
        let address = self.address.trim();
        let rest = match address.split_once(':') {
            Some(("unix", rest)) => rest.to_string(),
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                return None;
            }
            _ => format!("//{address}"),
        };
        let path = match rest.strip_prefix("//") {
            // The authority runs to the next slash; what follows is the path.
            Some(authority_and_path) => match authority_and_path.find('/') {
                Some(at) => authority_and_path[at..].to_string(),
                None => return Some(String::new()),
            },
            None => rest,
        };
        // A query or fragment is not part of the path.
        let path = path.split(['?', '#']).next().unwrap_or_default();
        Some(path.to_string())
    }
}

/// Who serves the kubelet's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// A process holds the listening socket bound at the path. `trusted` is whether it passed
    /// the identity checks; `kind` whether it is a runtime.
    By {
        pid: u32,
        name: String,
        kind: Option<RuntimeKind>,
        trusted: bool,
    },
    /// No socket is bound at that path in the runtime's network namespace.
    Nobody { looked_in: String },
    /// It could not be told (no process to read the socket table through, an unreadable table).
    Unknown(String),
}

/// The runtime's socket and the directories that lead to it.
#[derive(Debug, Clone)]
pub struct Socket {
    /// The path the kubelet dials.
    pub path: String,
    pub file: FileFact,
    /// The users in the socket's group (listed in `/etc/group`, or with it as primary group),
    /// root excepted.
    pub group_members: Vec<String>,
    /// Every directory from the socket's up to `/` (resolved in the serving process's root),
    /// with its group's members: whoever may rename one of them may put their own socket in
    /// the runtime's place.
    pub dirs: Vec<(FileFact, Vec<String>)>,
    pub served: Served,
}

/// The running runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub kind: RuntimeKind,
    pub pid: u32,
    pub exe: Option<String>,
}

/// One setting of a runtime's configuration, from the file that set it last.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub value: toml::Value,
    pub source: Source,
}

impl Setting {
    pub fn bool(&self) -> Option<bool> {
        self.value.as_bool()
    }
    pub fn str(&self) -> Option<&str> {
        self.value.as_str()
    }
    /// The value as TOML writes it (`true`, `"crio-default"`, `["CHOWN"]`).
    pub fn shown(&self) -> String {
        self.value.to_string()
    }
}

/// A runtime's effective configuration: every leaf key of its files, merged in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConfig {
    /// The files read, in the order they apply.
    pub files: Vec<String>,
    /// containerd's config `version` (1 when unset); 0 for CRI-O.
    pub version: i64,
    /// Leaf values by key path (a plugin name such as `io.containerd.grpc.v1.cri` is one
    /// element).
    pub settings: BTreeMap<Vec<String>, Setting>,
    /// Why the configuration is partial (an unreadable import, invalid TOML, too many files).
    pub problems: Vec<String>,
    /// The files read and their directories: whoever may write one decides what every
    /// container runs with.
    pub file_facts: Vec<FileFact>,
}

impl RuntimeConfig {
    pub fn get(&self, path: &[&str]) -> Option<&Setting> {
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.settings.get(&key)
    }

    /// The names of the tables directly under `path` (the runtime handlers).
    pub fn tables_under(&self, path: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = self
            .settings
            .keys()
            .filter(|k| k.len() > path.len() + 1 && k.iter().zip(path).all(|(a, b)| a == b))
            .map(|k| k[path.len()].clone())
            .collect();
        names.dedup();
        names
    }
}

/// Where a version was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionFrom {
    /// A Debian package's version (`dpkg`), with the distribution it was built for
    /// (`ID`/`VERSION_ID` of os-release) when known.
    Package {
        package: String,
        line: u32,
        distro: Option<(String, String)>,
    },
    /// The binary's Go build information (`what` says which field).
    Binary { what: String },
}

/// A version found, in its own scheme: a package's dpkg version, or an upstream release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub version: String,
    pub from: VersionFrom,
}

/// One installed component whose version is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// `runc`, `containerd` or `cri-o`.
    pub component: &'static str,
    pub binary: String,
    /// The binary's owner and mode: a version read from a file others may write proves
    /// nothing, and whoever writes runc runs code as root in every container.
    pub file: FileFact,
    pub version: Result<Found, String>,
}

impl Versioned {
    pub fn source(&self) -> Source {
        match &self.version {
            Ok(Found {
                from: VersionFrom::Package { line, .. },
                ..
            }) => Source::file(DPKG_STATUS, Some(*line)),
            _ => Source::file(self.binary.clone(), None),
        }
    }
}

/// What a scan knows of the container runtime.
#[derive(Debug, Clone)]
pub struct RuntimeFacts {
    /// The kubelet's endpoint (`None` without a kubelet).
    pub endpoint: Option<Endpoint>,
    pub runtime: Option<Runtime>,
    pub socket: Option<Socket>,
    pub containerd: Option<RuntimeConfig>,
    pub crio: Option<RuntimeConfig>,
    pub versions: Vec<Versioned>,
    pub problems: Vec<String>,
}

/// The kubelet's endpoint: its effective setting, or k3s's embedded containerd.
fn endpoint(kubelet: &KubeletFacts) -> Endpoint {
    use crate::parse::kubelet::Origin;
    let field = kubelet.config.get("containerRuntimeEndpoint");
    let set = field.filter(|f| {
        !matches!(f.origin, Origin::Default | Origin::LegacyDefault)
            && matches!(&f.value, crate::parse::kubelet::KValue::Str(s) if !s.is_empty())
    });
    match (set, &kubelet.flavour) {
        (Some(f), _) => Endpoint {
            address: match &f.value {
                crate::parse::kubelet::KValue::Str(s) => s.clone(),
                _ => String::new(),
            },
            source: Source::default_value(format!("containerRuntimeEndpoint from {}", f.origin)),
        },
        (None, Flavour::K3s { .. }) => Endpoint {
            address: format!("unix://{K3S_SOCKET}"),
            source: Source::default_value(
                "k3s's embedded containerd (k3s passes it to its kubelet)",
            ),
        },
        (None, Flavour::Standalone) => Endpoint {
            address: DEFAULT_ENDPOINT.into(),
            source: Source::default_value("the kubelet's default containerRuntimeEndpoint"),
        },
    }
}

/// The listening sockets bound at a path, from one process's view of its network namespace.
fn unix_sockets(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let inode = fields.nth(6)?.parse().ok()?;
            // The path is the rest of the line (it may hold spaces).
            let path = line
                .split_whitespace()
                .nth(7)
                .and_then(|first| line.find(first).map(|at| line[at..].trim_end()))?;
            Some((inode, path.to_string()))
        })
        .collect()
}

/// Who serves `path`: the listening socket bound there in the host's network namespace (read
/// through pid 1, else through a runtime), matched against every process's open sockets.
fn served_by(
    host: &Host,
    path: &str,
    processes: &[Process],
    trusted: &[Process],
    runtimes: &[&Process],
) -> Served {
    let mut tables = std::iter::once(1).chain(runtimes.iter().map(|r| r.pid));
    let (looked_in, table) = loop {
        let Some(pid) = tables.next() else {
            return Served::Unknown(
                "the host's socket table (/proc/1/net/unix) cannot be read".into(),
            );
        };
        if let Ok(bytes) = host.proc_read(&format!("{pid}/net/unix"), 64 * PROC_CAP) {
            break (
                format!("/proc/{pid}/net/unix"),
                String::from_utf8_lossy(&bytes).into_owned(),
            );
        }
    };
    // The kubelet may name the path through a symlink (/var/run → /run); the socket is bound
    // at the resolved path.
    let resolved = runtimes
        .first()
        .and_then(|r| host.stat_in_process_root(r.pid, path).ok())
        .and_then(|m| {
            m.resolved
                .strip_prefix(&format!("/proc/{}/root", runtimes[0].pid))
                .map(str::to_string)
        })
        .or_else(|| host.resolve(path).ok());
    let wanted: Vec<&str> = std::iter::once(path).chain(resolved.as_deref()).collect();
    let inodes: Vec<u64> = unix_sockets(&table)
        .into_iter()
        .filter(|(_, bound)| wanted.contains(&bound.as_str()))
        .map(|(inode, _)| inode)
        .collect();
    if inodes.is_empty() {
        return Served::Nobody { looked_in };
    }
    let holders: Vec<&Process> = processes
        .iter()
        .filter(|p| p.socket_inodes.iter().any(|i| inodes.contains(i)))
        .collect();
    let is_trusted = |p: &Process| trusted.iter().any(|t| t.pid == p.pid);
    // A socket inherited across a fork has several holders: a verified runtime among them is
    // the server; otherwise the first holder is named.
    let server = holders
        .iter()
        .find(|p| is_trusted(p) && RuntimeKind::of(p).is_some())
        .or_else(|| holders.first());
    match server {
        Some(p) => Served::By {
            pid: p.pid,
            name: p.program().to_string(),
            kind: RuntimeKind::of(p),
            trusted: is_trusted(p),
        },
        None => Served::Unknown(format!(
            "a socket is bound at {path}, but no process's open files show it (no ptrace access?)"
        )),
    }
}

fn stat_fact(host: &Host, pid: Option<u32>, path: &str) -> FileFact {
    match pid {
        Some(pid) => FileFact::named(host, path.to_string(), host.stat_in_process_root(pid, path)),
        None => FileFact::stat(host, path),
    }
}

fn socket(
    host: &Host,
    endpoint: &Endpoint,
    processes: &[Process],
    trusted: &[Process],
    runtimes: &[&Process],
) -> Option<Socket> {
    let path = endpoint.socket_path()?;
    let served = served_by(host, &path, processes, trusted, runtimes);
    // The socket is looked at in the serving runtime's root, else through the first runtime's
    // (the host's own root when the scan runs on the host).
    let root = match &served {
        Served::By { pid, trusted, .. } if *trusted => Some(*pid),
        _ => runtimes.first().map(|r| r.pid),
    };
    let file = stat_fact(host, root, &path);
    let members = |entry: &FileFact| match &entry.meta {
        Ok(m) => host
            .users()
            .group_members(m.gid)
            .into_iter()
            .filter(|u| u != "root")
            .collect(),
        Err(_) => Vec::new(),
    };
    // The directories of the path the kernel resolved (a symlink on the way, /var/run, is
    // followed), from the socket's own up to the root.
    let resolved = match (&file.meta, root) {
        (Ok(m), Some(pid)) => m
            .resolved
            .strip_prefix(&format!("/proc/{pid}/root"))
            .map(str::to_string)
            .unwrap_or_else(|| path.clone()),
        (Ok(m), None) => m.resolved.clone(),
        _ => crate::host::normalise_lexically(&path),
    };
    let mut dirs = Vec::new();
    let mut dir = resolved.as_str();
    while let Some((parent, _)) = dir.rsplit_once('/') {
        let parent = if parent.is_empty() { "/" } else { parent };
        let fact = stat_fact(host, root, parent);
        let people = members(&fact);
        dirs.push((fact, people));
        if parent == "/" || dirs.len() > 32 {
            break;
        }
        dir = parent;
    }
    Some(Socket {
        group_members: members(&file),
        path,
        file,
        dirs,
        served,
    })
}

/// The line of a file that sets `key` (`key =` at the start of a line), when only one does.
fn line_of(text: &str, key: &str) -> Option<u32> {
    let mut lines = text.lines().enumerate().filter(|(_, line)| {
        let line = line.trim_start();
        let quoted = format!("\"{key}\"");
        let rest = line
            .strip_prefix(key)
            .or_else(|| line.strip_prefix(quoted.as_str()));
        rest.is_some_and(|r| r.trim_start().starts_with('='))
    });
    let (n, _) = lines.next()?;
    lines
        .next()
        .is_none()
        .then(|| u32::try_from(n + 1).unwrap_or(u32::MAX))
}

/// Every leaf of a TOML document (arrays are leaves), with its path.
fn leaves(
    table: &toml::Table,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, toml::Value)>,
) {
    for (key, value) in table {
        prefix.push(key.clone());
        match value {
            toml::Value::Table(inner) => leaves(inner, prefix, out),
            other => out.push((prefix.clone(), other.clone())),
        }
        prefix.pop();
    }
}

/// How a runtime merges a later file over the earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// containerd 1.x (`mergo` with override, then `to.Plugins[k] = v`): each `plugins."<id>"`
    /// table of a later file replaces the earlier table whole; elsewhere a zero value (`false`,
    /// `0`, `""`) never overrides an earlier one.
    Containerd1,
    /// containerd 2.x: plugin tables merged key by key; zero values still never override.
    Containerd2,
    /// CRI-O (`toml.Decode` onto the filled configuration): key by key, zero values included;
    /// a runtime handler table a later file names replaces that handler whole.
    Crio,
}

fn is_zero(value: &toml::Value) -> bool {
    match value {
        toml::Value::Boolean(b) => !b,
        toml::Value::Integer(i) => *i == 0,
        toml::Value::Float(f) => *f == 0.0,
        toml::Value::String(s) => s.is_empty(),
        toml::Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Applies one file over the configuration by `merge`'s rules.
fn apply(config: &mut RuntimeConfig, file: &str, text: &str, merge: Merge) -> Option<toml::Table> {
    let doc: toml::Table = match text.parse() {
        Ok(doc) => doc,
        Err(e) => {
            let e: toml::de::Error = e;
            config
                .problems
                .push(format!("{file}: not valid TOML: {}", e.message()));
            return None;
        }
    };
    let mut found = Vec::new();
    leaves(&doc, &mut Vec::new(), &mut found);
    // Tables this file replaces whole.
    let replaced: Vec<Vec<String>> = match merge {
        Merge::Containerd1 if !config.files.is_empty() => doc
            .get("plugins")
            .and_then(toml::Value::as_table)
            .map(|plugins| {
                plugins
                    .keys()
                    .map(|id| vec!["plugins".to_string(), id.clone()])
                    .collect()
            })
            .unwrap_or_default(),
        Merge::Crio => doc
            .get("crio")
            .and_then(|c| c.get("runtime"))
            .and_then(|r| r.get("runtimes"))
            .and_then(toml::Value::as_table)
            .map(|handlers| {
                handlers
                    .keys()
                    .map(|h| {
                        ["crio", "runtime", "runtimes", h.as_str()]
                            .map(str::to_string)
                            .to_vec()
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    config
        .settings
        .retain(|key, _| !replaced.iter().any(|r| key.starts_with(r)));
    for (path, value) in found {
        let earlier = config.settings.get(&path);
        if merge != Merge::Crio && is_zero(&value) && earlier.is_some_and(|e| !is_zero(&e.value)) {
            continue;
        }
        let value = match (&value, earlier.map(|e| &e.value)) {
            // containerd appends lists (2.x without duplicates).
            (toml::Value::Array(new), Some(toml::Value::Array(old))) if merge != Merge::Crio => {
                let mut all = old.clone();
                for v in new {
                    if merge == Merge::Containerd1 || !all.contains(v) {
                        all.push(v.clone());
                    }
                }
                toml::Value::Array(all)
            }
            _ => value,
        };
        let line = path.last().and_then(|k| line_of(text, k));
        config.settings.insert(
            path,
            Setting {
                value,
                source: Source::file(file, line),
            },
        );
    }
    config.files.push(file.to_string());
    Some(doc)
}

/// The value of the last `name` flag of `argv`, in any form Go's `flag` package takes
/// (`-name v`, `--name v`, `-name=v`, `--name=v`), for each of `names`.
fn flag_value(argv: &[String], names: &[&str]) -> Option<String> {
    let mut found = None;
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let Some(stripped) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue;
        };
        let (name, value) = match stripped.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (stripped, None),
        };
        if names.contains(&name) {
            found = value.or_else(|| args.next().cloned());
        }
    }
    found
}

/// The config file a running containerd reads: its last `--config`/`-c`, else the default.
pub fn containerd_config_path(containerd: &Process) -> String {
    flag_value(&containerd.argv, &["config", "c"]).unwrap_or_else(|| CONTAINERD_CONFIG.to_string())
}

fn read_config(host: &Host, path: &str, problems: &mut Vec<String>) -> Option<String> {
    match host.read_text(path, CONFIG_CAP, Content::RuntimeConfig) {
        Ok(text) => Some(text),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    }
}

/// Stats the files a configuration was read from, and their directories.
fn stat_files(host: &Host, config: &mut RuntimeConfig) {
    let mut paths: Vec<String> = Vec::new();
    for file in &config.files {
        let dir = file
            .rsplit_once('/')
            .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
        for p in [dir, file.as_str()] {
            if !paths.iter().any(|q| q == p) {
                paths.push(p.to_string());
            }
        }
    }
    config.file_facts = paths.iter().map(|p| FileFact::stat(host, p)).collect();
}

/// The `imports` of a containerd config file, as paths (relative to the file's directory)
/// or globs.
fn imports_of(doc: &toml::Table, file: &str) -> Vec<String> {
    let dir = file.rsplit_once('/').map_or("/", |(d, _)| d);
    doc.get("imports")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(toml::Value::as_str)
                .map(|p| {
                    if p.starts_with('/') {
                        p.to_string()
                    } else {
                        crate::host::normalise_lexically(&format!("{dir}/{p}"))
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// containerd's effective configuration: the main file, then its `imports` breadth first
/// (imported files may import more; a file is read once; globs expand in name order), merged
/// as containerd `major` does (2 when the config says `version = 3`).
fn containerd_config(host: &Host, containerd: &Process, major: Option<u64>) -> RuntimeConfig {
    let path = containerd_config_path(containerd);
    let mut config = RuntimeConfig {
        version: 1,
        ..RuntimeConfig::default()
    };
    let Some(text) = read_config(host, &path, &mut config.problems) else {
        return config;
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        apply(&mut config, &path, &text, Merge::Containerd1);
        return config;
    };
    let file_version = doc
        .get("version")
        .and_then(toml::Value::as_integer)
        .unwrap_or(1);
    let merge = match major {
        Some(m) if m >= 2 => Merge::Containerd2,
        Some(_) => Merge::Containerd1,
        None if file_version >= 3 => Merge::Containerd2,
        None => Merge::Containerd1,
    };
    let mut queue: std::collections::VecDeque<(String, Option<String>)> =
        [(path.clone(), Some(text))].into();
    let mut seen = std::collections::BTreeSet::new();
    while let Some((file, text)) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        if seen.len() > CONFIG_FILES_MAX {
            config.problems.push(format!(
                "more than {CONFIG_FILES_MAX} imported files; the rest unread"
            ));
            break;
        }
        let Some(text) = text.or_else(|| read_config(host, &file, &mut config.problems)) else {
            continue;
        };
        let Some(doc) = apply(&mut config, &file, &text, merge) else {
            continue;
        };
        // A file's version counts when it says one (the last non-zero one wins).
        if let Some(v) = doc.get("version").and_then(toml::Value::as_integer)
            && v != 0
        {
            config.version = v;
        }
        let mut patterns = imports_of(&doc, &file);
        patterns.sort();
        patterns.dedup();
        for pattern in patterns {
            // Each file is read once: a pattern repeated, or a glob matching files already
            // queued, adds nothing, and the queue never holds more than the files read.
            if queue.len() + seen.len() > CONFIG_FILES_MAX {
                config.problems.push(format!(
                    "{file}: imports more than {CONFIG_FILES_MAX} files; the rest unread"
                ));
                break;
            }
            let found = if crate::host::has_glob_meta(&pattern) {
                host.glob(&pattern)
            } else {
                vec![pattern]
            };
            for f in found.into_iter().take(CONFIG_FILES_MAX) {
                if !seen.contains(&f) && !queue.iter().any(|(q, _)| *q == f) {
                    queue.push_back((f, None));
                }
            }
        }
    }
    stat_files(host, &mut config);
    config
}

/// The files of CRI-O's drop-in directory in the order CRI-O reads them (`filepath.Walk`:
/// recursive, by name, every regular file whatever its name).
fn crio_drop_ins(
    host: &Host,
    dir: &str,
    depth: usize,
    out: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    let Ok(names) = host.list_dir(dir) else {
        return;
    };
    for name in names {
        if out.len() >= CONFIG_FILES_MAX {
            problems.push(format!(
                "{CRIO_CONFIG_DIR}: more than {CONFIG_FILES_MAX} drop-ins; the rest unread"
            ));
            return;
        }
        let path = format!("{dir}/{name}");
        match host.stat(&path).map(|m| m.kind) {
            Ok(EntryKind::File) => out.push(path),
            Ok(EntryKind::Dir) if depth < 4 => crio_drop_ins(host, &path, depth + 1, out, problems),
            _ => {}
        }
    }
}

/// CRI-O's command-line settings that override its files, by the key they set.
const CRIO_FLAGS: &[(&str, &str)] = &[
    ("apparmor-profile", "apparmor_profile"),
    ("selinux", "selinux"),
    ("no-pivot", "no_pivot"),
    ("default-capabilities", "default_capabilities"),
    ("additional-devices", "additional_devices"),
];

/// CRI-O's effective configuration: its `--config` (default `crio.conf`), then its
/// `--config-dir` drop-ins, each key overriding, then the command-line settings judged.
fn crio_config(host: &Host, crio: &Process) -> RuntimeConfig {
    let mut config = RuntimeConfig::default();
    let main = flag_value(&crio.argv, &["config", "c"]).unwrap_or_else(|| CRIO_CONFIG.into());
    let dir =
        flag_value(&crio.argv, &["config-dir", "d"]).unwrap_or_else(|| CRIO_CONFIG_DIR.into());
    let mut files = vec![main];
    crio_drop_ins(host, &dir, 0, &mut files, &mut config.problems);
    for file in files {
        if let Some(text) = read_config(host, &file, &mut config.problems) {
            apply(&mut config, &file, &text, Merge::Crio);
        }
    }
    for (flag, key) in CRIO_FLAGS {
        // A bare boolean flag (`--no-pivot`) is true.
        let present = crio.argv.iter().skip(1).any(|a| {
            let a = a.trim_start_matches('-');
            a == *flag || a.starts_with(&format!("{flag}="))
        });
        if !present {
            continue;
        }
        let raw = flag_value(&crio.argv, &[flag]);
        let value = match *key {
            "selinux" | "no_pivot" => {
                let inline = crio.argv.iter().skip(1).rev().find_map(|a| {
                    a.trim_start_matches('-')
                        .strip_prefix(&format!("{flag}="))
                        .map(str::to_string)
                });
                toml::Value::Boolean(inline.is_none_or(|v| v == "true"))
            }
            "default_capabilities" | "additional_devices" => toml::Value::Array(
                raw.unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.trim().to_string()))
                    .collect(),
            ),
            _ => toml::Value::String(raw.unwrap_or_default()),
        };
        config.settings.insert(
            vec!["crio".into(), "runtime".into(), key.to_string()],
            Setting {
                value,
                source: Source::Flag {
                    flag: format!("--{flag}"),
                    pid: crio.pid,
                },
            },
        );
    }
    stat_files(host, &mut config);
    config
}

/// `ID` and `VERSION_ID` of the host's os-release.
fn distro(host: &Host) -> Option<(String, String)> {
    let text = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| host.read_text(p, PROC_CAP, Content::Plain).ok())?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    Some((field("ID")?, field("VERSION_ID").unwrap_or_default()))
}

/// The Debian packages whose version is a component's version, by component.
const PACKAGES: &[(&str, &[&str])] = &[
    ("runc", &["runc"]),
    // Docker's containerd.io bundles runc too, but its version is containerd's.
    ("containerd", &["containerd", "containerd.io"]),
    ("cri-o", &["cri-o"]),
    // pkgs.k8s.io's package.
    ("kubelet", &["kubelet"]),
];

/// The installed package that ships `binary`, by its file list (usr-merged paths count).
fn package_of(
    host: &Host,
    binary: &str,
    packages: &[dpkg::Installed],
    wanted: &[&str],
) -> Option<dpkg::Installed> {
    let merged = |p: &str| {
        for (short, long) in [("/bin/", "/usr/bin/"), ("/sbin/", "/usr/sbin/")] {
            if let Some(rest) = p.strip_prefix(short) {
                return format!("{long}{rest}");
            }
        }
        p.to_string()
    };
    let binary = merged(binary);
    packages
        .iter()
        .filter(|p| wanted.contains(&p.package.as_str()))
        .find(|p| {
            ["", ":amd64", ":arm64"].iter().any(|arch| {
                host.read_text(
                    &format!("{DPKG_INFO}/{}{arch}.list", p.package),
                    LIST_CAP,
                    Content::Plain,
                )
                .is_ok_and(|list| list.lines().any(|l| merged(l.trim()) == binary))
            })
        })
        .cloned()
}

/// A component's version from its binary's Go build information.
fn binary_version(host: &Host, component: &str, binary: &str) -> Result<Found, String> {
    let bytes = host
        .go_build_info(binary)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{binary} holds no Go build information"))?;
    let build = go_build::parse(&bytes).map_err(|e| format!("{binary}: {e}"))?;
    let found = |version: String, what: String| {
        Ok(Found {
            version: version.trim_start_matches('v').to_string(),
            from: VersionFrom::Binary { what },
        })
    };
    let (symbols, modules): (&[&str], &[&str]) = match component {
        "runc" => (&["main.version"], &["github.com/opencontainers/runc"]),
        "containerd" => (
            &[
                "github.com/containerd/containerd/v2/version.Version",
                "github.com/containerd/containerd/version.Version",
            ],
            &[
                "github.com/containerd/containerd/v2",
                "github.com/containerd/containerd",
            ],
        ),
        "kubelet" => (
            &["k8s.io/component-base/version.gitVersion"],
            &["k8s.io/kubernetes"],
        ),
        _ => (&[], &["github.com/cri-o/cri-o"]),
    };
    for symbol in symbols {
        if let Some(v) = build.linker_string(symbol) {
            return found(v, format!("-X {symbol} in its Go build information"));
        }
    }
    let real = |v: &str| !v.is_empty() && v != "(devel)";
    if let Some(main) = &build.main
        && modules.contains(&main.path.as_str())
        && real(main.built_version())
    {
        return found(
            main.built_version().to_string(),
            format!("main module {} in its Go build information", main.path),
        );
    }
    // A program that links the component as a library (k3s embeds containerd).
    for module in modules {
        if let Some(dep) = build.dep(module)
            && real(dep.built_version())
        {
            let what = match &dep.replaced_by {
                Some((path, _)) => format!("module {module} (replaced by {path})"),
                None => format!("module {module}"),
            };
            return found(
                dep.built_version().to_string(),
                format!("{what} in its Go build information"),
            );
        }
    }
    Err(format!(
        "{binary}: its Go build information ({}) records no version (built with -trimpath from a source tree)",
        build.go_version
    ))
}

fn version_of(
    host: &Host,
    component: &'static str,
    binary: String,
    packages: &[dpkg::Installed],
    distro: &Option<(String, String)>,
) -> Versioned {
    let wanted = PACKAGES
        .iter()
        .find(|(c, _)| *c == component)
        .map_or(&[][..], |(_, p)| *p);
    let resolved = host.resolve(&binary).unwrap_or_else(|_| binary.clone());
    let version = match package_of(host, &resolved, packages, wanted)
        .or_else(|| package_of(host, &binary, packages, wanted))
    {
        Some(package) => Ok(Found {
            version: package.version,
            from: VersionFrom::Package {
                package: package.package,
                line: package.line,
                distro: distro.clone(),
            },
        }),
        None => binary_version(host, component, &resolved),
    };
    Versioned {
        component,
        file: FileFact::stat(host, &binary),
        binary,
        version,
    }
}

/// The kubelet's upstream version (`v1.31.2`) from the package that installed `binary`
/// (`1.31.2-1.1` of pkgs.k8s.io) or the version linked into it; `None` when neither says.
pub fn kubelet_version(host: &Host, binary: &str) -> Option<String> {
    let packages = host
        .read_text(DPKG_STATUS, STATUS_CAP, Content::Plain)
        .map(|text| dpkg::installed(&text, &["kubelet"]))
        .unwrap_or_default();
    let found = version_of(host, "kubelet", binary.to_string(), &packages, &None)
        .version
        .ok()?;
    let version = found
        .version
        .rsplit_once(':')
        .map_or(found.version.as_str(), |(_, v)| v);
    let upstream = match found.from {
        // The Debian revision is the packager's, not Kubernetes'.
        VersionFrom::Package { .. } => version.rsplit_once('-').map_or(version, |(u, _)| u),
        VersionFrom::Binary { .. } => version,
    };
    let upstream = upstream.trim_start_matches('v');
    upstream
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| format!("v{upstream}"))
}

/// The major version of a package or upstream version (`1:1.6.20~ds1-1` → 1, `v2.1.5` → 2).
fn major_of(version: &str) -> Option<u64> {
    let version = version.rsplit_once(':').map_or(version, |(_, v)| v);
    let digits: String = version
        .trim_start_matches('v')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The runc binaries the runtime runs: the paths its configuration names (a bare name is
/// looked up on `PATH`), and the first runc on `PATH`, which every handler without a path of
/// its own runs (containerd's default `runc` handler among them).
fn runc_binaries(
    host: &Host,
    containerd: Option<&RuntimeConfig>,
    crio: Option<&RuntimeConfig>,
    k3s: bool,
) -> Vec<String> {
    let mut dirs: Vec<&str> = Vec::new();
    if k3s {
        dirs.push(K3S_BIN);
    }
    dirs.extend(PATH_DIRS);
    let on_path = |name: &str| {
        dirs.iter()
            .map(|d| format!("{d}/{name}"))
            .find(|p| host.stat(p).is_ok_and(|m| m.kind == EntryKind::File))
    };
    let mut named: Vec<String> = Vec::new();
    let mut name = |path: &str| {
        if !path.rsplit('/').next().is_some_and(|n| n.contains("runc")) {
            return;
        }
        if path.starts_with('/') {
            named.push(path.to_string());
        } else if let Some(found) = on_path(path) {
            named.push(found);
        }
    };
    if let Some(config) = containerd {
        for plugin in CONTAINERD_RUNTIME_PLUGINS {
            let prefix = ["plugins", plugin, "containerd", "runtimes"];
            for handler in config.tables_under(&prefix) {
                let mut path = prefix.to_vec();
                path.extend([handler.as_str(), "options", "BinaryName"]);
                if let Some(binary) = config.get(&path).and_then(Setting::str) {
                    name(binary);
                }
            }
        }
    }
    if let Some(config) = crio {
        for handler in config.tables_under(&["crio", "runtime", "runtimes"]) {
            if let Some(path) = config
                .get(&["crio", "runtime", "runtimes", &handler, "runtime_path"])
                .and_then(Setting::str)
            {
                name(path);
            }
        }
    }
    named.extend(on_path("runc"));
    named.sort();
    named.dedup();
    named
}

/// The plugins that hold containerd's CRI runtime settings, by config version: `cri` (1),
/// `io.containerd.grpc.v1.cri` (2), `io.containerd.cri.v1.runtime` (3).
pub const CONTAINERD_RUNTIME_PLUGINS: &[&str] = &[
    "cri",
    "io.containerd.grpc.v1.cri",
    "io.containerd.cri.v1.runtime",
];

/// Gathers the runtime's facts: `None` on a node with neither a kubelet nor a runtime.
pub fn gather(
    host: &Host,
    processes: &[Process],
    trusted: &[Process],
    kubelet: Option<&KubeletFacts>,
) -> Option<RuntimeFacts> {
    let runtimes: Vec<&Process> = trusted
        .iter()
        .filter(|p| RuntimeKind::of(p).is_some())
        .collect();
    if kubelet.is_none() && runtimes.is_empty() {
        return None;
    }
    let endpoint = kubelet.map(endpoint);
    let socket = endpoint
        .as_ref()
        .and_then(|e| socket(host, e, processes, trusted, &runtimes));
    // The runtime is the process serving the kubelet's socket; without a kubelet, the one
    // that runs.
    let serving = socket.as_ref().and_then(|s| match &s.served {
        Served::By {
            pid, trusted: true, ..
        } => runtimes.iter().find(|p| p.pid == *pid).copied(),
        _ => None,
    });
    let chosen = serving.or_else(|| runtimes.first().copied());
    let runtime = chosen.map(|p| Runtime {
        kind: RuntimeKind::of(p).unwrap_or(RuntimeKind::Containerd),
        pid: p.pid,
        exe: p.exe.clone(),
    });
    let mut problems = Vec::new();
    let packages = match host.read_text(DPKG_STATUS, STATUS_CAP, Content::Plain) {
        Ok(text) => dpkg::installed(
            &text,
            &PACKAGES
                .iter()
                .flat_map(|(_, p)| p.iter().copied())
                .collect::<Vec<_>>(),
        ),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            problems.push(format!("the package database: {e}"));
            Vec::new()
        }
    };
    let distro = distro(host);
    let mut versions = Vec::new();
    let mut version_of_process = |kind: RuntimeKind, p: &Process| {
        let component = match kind {
            RuntimeKind::Containerd => "containerd",
            RuntimeKind::CriO => "cri-o",
            RuntimeKind::CriDockerd => return None,
        };
        let exe = p.exe.as_deref()?.trim_end_matches(" (deleted)").to_string();
        let found = version_of(host, component, exe, &packages, &distro);
        let major = found
            .version
            .as_ref()
            .ok()
            .and_then(|f| major_of(&f.version));
        versions.push(found);
        major
    };
    // The configuration judged is the chosen runtime's: with two containerds (k3s's beside
    // Docker's), the one serving the kubelet.
    let of_kind = |kind| {
        chosen
            .filter(|p| RuntimeKind::of(p) == Some(kind))
            .or_else(|| {
                runtimes
                    .iter()
                    .find(|p| RuntimeKind::of(p) == Some(kind))
                    .copied()
            })
    };
    let containerd = of_kind(RuntimeKind::Containerd).map(|p| {
        let major = version_of_process(RuntimeKind::Containerd, p);
        containerd_config(host, p, major)
    });
    let crio = of_kind(RuntimeKind::CriO).map(|p| {
        version_of_process(RuntimeKind::CriO, p);
        crio_config(host, p)
    });
    let k3s = matches!(kubelet.map(|k| &k.flavour), Some(Flavour::K3s { .. }));
    if runtime.is_some() {
        for runc in runc_binaries(host, containerd.as_ref(), crio.as_ref(), k3s) {
            versions.push(version_of(host, "runc", runc, &packages, &distro));
        }
    }
    Some(RuntimeFacts {
        endpoint,
        runtime,
        socket,
        containerd,
        crio,
        versions,
        problems,
    })
}

/// A configuration of one file (tests of the checks).
#[cfg(test)]
pub fn config_from_text(file: &str, text: &str, crio: bool) -> RuntimeConfig {
    let mut config = RuntimeConfig {
        version: if crio { 0 } else { 1 },
        ..RuntimeConfig::default()
    };
    let merge = if crio {
        Merge::Crio
    } else {
        Merge::Containerd2
    };
    if let Some(doc) = apply(&mut config, file, text, merge)
        && let Some(v) = doc.get("version").and_then(toml::Value::as_integer)
    {
        config.version = v;
    }
    config
}

/// What a snapshot keeps of a runtime configuration (containerd's registry sections may hold
/// credentials): only the keys nodecheck reads, written anew as TOML. `None` when the file is
/// not TOML.
pub fn reduced(text: &str) -> Option<String> {
    let doc: toml::Table = text.parse().ok()?;
    let mut found = Vec::new();
    leaves(&doc, &mut Vec::new(), &mut found);
    let mut kept = toml::Table::new();
    // Tables whose mere presence replaces an earlier one (containerd 1.x plugin tables, CRI-O
    // runtime handlers) are kept, empty if need be, so that a snapshot merges as the node did.
    let mut markers: Vec<Vec<String>> = Vec::new();
    if let Some(plugins) = doc.get("plugins").and_then(toml::Value::as_table) {
        markers.extend(
            plugins
                .keys()
                .map(|id| vec!["plugins".to_string(), id.clone()]),
        );
    }
    if let Some(handlers) = doc
        .get("crio")
        .and_then(|c| c.get("runtime"))
        .and_then(|r| r.get("runtimes"))
        .and_then(toml::Value::as_table)
    {
        markers.extend(handlers.keys().map(|h| {
            ["crio", "runtime", "runtimes", h.as_str()]
                .map(str::to_string)
                .to_vec()
        }));
    }
    for marker in markers {
        let mut table = &mut kept;
        for key in &marker {
            table = table
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()?;
        }
    }
    for (path, value) in found {
        if !is_judged(&path) {
            continue;
        }
        let mut table = &mut kept;
        for key in &path[..path.len() - 1] {
            table = table
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()?;
        }
        table.insert(path[path.len() - 1].clone(), value);
    }
    toml::to_string(&kept).ok()
}

/// Whether a key path is one nodecheck reads (and so one a snapshot keeps).
fn is_judged(path: &[String]) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["version" | "imports" | "disabled_plugins"] => true,
        [
            "grpc",
            "address" | "tcp_address" | "tcp_tls_ca" | "uid" | "gid",
        ] => true,
        ["plugins", plugin, rest @ ..] => {
            let cri = CONTAINERD_RUNTIME_PLUGINS.contains(plugin)
                || *plugin == "io.containerd.grpc.v1.cri";
            cri && match rest {
                ["cni", "conf_dir"] => true,
                [key] => CONTAINERD_KEYS.contains(key),
                ["containerd", "default_runtime_name"] => true,
                [
                    "containerd",
                    "runtimes",
                    _,
                    "runtime_type"
                    | "privileged_without_host_devices"
                    | "privileged_without_host_devices_all_devices_allowed",
                ] => true,
                ["containerd", "runtimes", _, "options", "BinaryName"] => true,
                _ => false,
            }
        }
        ["crio", "network", "network_dir"] => true,
        ["crio", "api", "listen"] => true,
        ["crio", "runtime", key] => CRIO_KEYS.contains(key),
        [
            "crio",
            "runtime",
            "runtimes",
            _,
            "runtime_path" | "runtime_type" | "privileged_without_host_devices",
        ] => true,
        _ => false,
    }
}

/// containerd CRI settings read (in the runtime plugin, or the server plugin for streaming).
pub const CONTAINERD_KEYS: &[&str] = &[
    "disable_apparmor",
    "enable_selinux",
    "restrict_oom_score_adj",
    "enable_unprivileged_ports",
    "enable_unprivileged_icmp",
    "device_ownership_from_security_context",
    "stream_server_address",
    "enable_tls_streaming",
    "disable_tcp_service",
];

/// CRI-O `[crio.runtime]` settings read.
pub const CRIO_KEYS: &[&str] = &[
    "default_capabilities",
    "apparmor_profile",
    "selinux",
    "no_pivot",
    "additional_devices",
    "default_runtime",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    fn process(pid: u32, comm: &str, argv: &[&str], uid: u32, sockets: &[u64]) -> Process {
        Process {
            pid,
            comm: comm.into(),
            exe: Some(format!("/usr/bin/{comm}")),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            uids: [uid; 4],
            socket_inodes: sockets.to_vec(),
            ..Process::default()
        }
    }

    fn setting(config: &RuntimeConfig, path: &[&str]) -> Option<String> {
        config.get(path).map(Setting::shown)
    }

    const CRI2: &str = "io.containerd.grpc.v1.cri";

    #[test]
    fn containerd_1_imports_replace_whole_plugin_tables_and_zero_never_overrides() {
        let root = TempRoot::new();
        root.file(
            "etc/containerd/config.toml",
            "version = 2\nimports = [\"conf.d/*.toml\"]\n[plugins.\"io.containerd.grpc.v1.cri\"]\ndisable_apparmor = true\nenable_selinux = true\n",
            0o600,
        )
        .file(
            "etc/containerd/conf.d/10-a.toml",
            "imports = [\"/etc/containerd/nested.toml\"]\n[plugins.\"io.containerd.grpc.v1.cri\"]\nenable_selinux = false\n",
            0o600,
        )
        .file(
            "etc/containerd/nested.toml",
            "[grpc]\ntcp_address = \"0.0.0.0:1\"\n",
            0o600,
        );
        let host = root.host();
        let containerd = process(7, "containerd", &["containerd"], 0, &[]);
        // containerd 1.x: the import's CRI table replaces the main file's (disable_apparmor is
        // gone), and its `false` cannot override the earlier `true`... which the replacement
        // already dropped, so enable_selinux is the import's own false.
        let v1 = containerd_config(&host, &containerd, Some(1));
        assert_eq!(setting(&v1, &["plugins", CRI2, "disable_apparmor"]), None);
        assert_eq!(
            setting(&v1, &["plugins", CRI2, "enable_selinux"]),
            Some("false".into())
        );
        // Imports of imports are read, relative paths from the importing file's directory.
        assert_eq!(
            setting(&v1, &["grpc", "tcp_address"]),
            Some("\"0.0.0.0:1\"".into())
        );
        assert_eq!(v1.files.len(), 3, "{:?}", v1.files);
        // containerd 2.x merges key by key, and a zero value never overrides.
        let v2 = containerd_config(&host, &containerd, Some(2));
        assert_eq!(
            setting(&v2, &["plugins", CRI2, "disable_apparmor"]),
            Some("true".into())
        );
        assert_eq!(
            setting(&v2, &["plugins", CRI2, "enable_selinux"]),
            Some("true".into())
        );
        assert_eq!(v2.version, 2);
    }

    #[test]
    fn import_loops_and_floods_are_bounded() {
        let root = TempRoot::new();
        root.file(
            "etc/containerd/config.toml",
            "version = 2\nimports = [\"/etc/containerd/config.toml\", \"/etc/containerd/d/*.toml\"]\n",
            0o600,
        );
        for i in 0..80 {
            root.file(
                &format!("etc/containerd/d/{i:03}.toml"),
                "version = 2\n",
                0o600,
            );
        }
        let host = root.host();
        let config = containerd_config(
            &host,
            &process(7, "containerd", &["containerd"], 0, &[]),
            None,
        );
        assert_eq!(
            config.files.len(),
            CONFIG_FILES_MAX,
            "{:?}",
            config.files.len()
        );
        assert!(
            config.problems.iter().any(|p| p.contains("more than")),
            "{:?}",
            config.problems
        );
    }

    #[test]
    fn crio_reads_every_drop_in_by_name_and_replaces_handlers() {
        let root = TempRoot::new();
        root.file(
            "etc/crio/crio.conf",
            "[crio.runtime]\nselinux = true\n[crio.runtime.runtimes.kata]\nruntime_type = \"vm\"\nprivileged_without_host_devices = true\n",
            0o644,
        )
        .file("etc/crio/crio.conf.d/10-no-suffix", "[crio.runtime]\nselinux = false\n", 0o644)
        .file(
            "etc/crio/crio.conf.d/20-sub/01.conf",
            "[crio.runtime.runtimes.kata]\nruntime_path = \"/usr/bin/kata\"\n",
            0o644,
        );
        let crio = process(40, "crio", &["crio"], 0, &[]);
        let config = crio_config(&root.host(), &crio);
        // CRI-O's decode sets zero values too, and reads files whatever their name.
        assert_eq!(
            setting(&config, &["crio", "runtime", "selinux"]),
            Some("false".into())
        );
        // A later file naming a handler replaces it whole.
        assert_eq!(
            setting(
                &config,
                &[
                    "crio",
                    "runtime",
                    "runtimes",
                    "kata",
                    "privileged_without_host_devices"
                ]
            ),
            None
        );
        assert_eq!(config.files.len(), 3);
    }

    #[test]
    fn the_socket_is_served_by_the_process_holding_it() {
        let root = TempRoot::new();
        root.file(
            "proc/900/net/unix",
            "Num RefCount Protocol Flags Type St Inode Path\n0: 00000002 00000000 00010000 0001 01 555 /run/containerd/containerd.sock\n",
            0o444,
        );
        root.file("run/containerd/containerd.sock", "", 0o660)
            .symlink("var/run", "../run");
        let host = root.host();
        let containerd = process(900, "containerd", &["containerd"], 0, &[555]);
        let served = served_by(
            &host,
            "/run/containerd/containerd.sock",
            std::slice::from_ref(&containerd),
            std::slice::from_ref(&containerd),
            &[&containerd],
        );
        assert!(
            matches!(
                served,
                Served::By {
                    pid: 900,
                    trusted: true,
                    kind: Some(RuntimeKind::Containerd),
                    ..
                }
            ),
            "{served:?}"
        );
        // The exploit: a local user's process bound the kubelet's socket path (the runtime
        // was restarted, or the directory was writable). It holds the socket, not containerd.
        let impostor = process(4242, "containerd", &["containerd"], 1000, &[555]);
        let idle = process(900, "containerd", &["containerd"], 0, &[]);
        let served = served_by(
            &host,
            "/run/containerd/containerd.sock",
            &[idle.clone(), impostor],
            std::slice::from_ref(&idle),
            &[&idle],
        );
        assert!(
            matches!(
                served,
                Served::By {
                    pid: 4242,
                    trusted: false,
                    ..
                }
            ),
            "{served:?}"
        );
        // The kubelet names /var/run; the socket is bound at /run.
        let served = served_by(
            &host,
            "/var/run/containerd/containerd.sock",
            std::slice::from_ref(&containerd),
            std::slice::from_ref(&containerd),
            &[&containerd],
        );
        assert!(matches!(served, Served::By { pid: 900, .. }), "{served:?}");
        let served = served_by(
            &host,
            "/run/crio/crio.sock",
            std::slice::from_ref(&containerd),
            std::slice::from_ref(&containerd),
            &[&containerd],
        );
        assert!(matches!(served, Served::Nobody { .. }), "{served:?}");
    }

    #[test]
    fn versions_from_the_package_or_the_build_information() {
        let root = TempRoot::new();
        root.file(
            "var/lib/dpkg/status",
            "Package: runc\nStatus: install ok installed\nVersion: 1.1.5+ds1-1+deb12u1\n",
            0o644,
        )
        .file(
            "var/lib/dpkg/info/runc.list",
            "/.\n/usr\n/usr/sbin\n/usr/sbin/runc\n",
            0o644,
        );
        let k3s = go_build::encode(
            "go1.24.4",
            "path\tgithub.com/k3s-io/k3s/cmd/server\nmod\tgithub.com/k3s-io/k3s\t(devel)\t\ndep\tgithub.com/containerd/containerd/v2\tv2.1.5\t\n=>\tgithub.com/k3s-io/containerd/v2\tv2.1.5-k3s1\th1:x=\nbuild\t-ldflags=\"-X github.com/containerd/containerd/v2/version.Version=v2.1.5-k3s1\"\n",
        );
        std::fs::create_dir_all(root.join("var/lib/rancher/k3s/data/abc/bin")).expect("dir");
        std::fs::write(
            root.join("var/lib/rancher/k3s/data/abc/bin/k3s"),
            crate::host::elf::minimal_elf(&k3s),
        )
        .expect("write");
        let trimmed = go_build::encode(
            "go1.22",
            "path\tgithub.com/opencontainers/runc\nbuild\t-trimpath=true\n",
        );
        std::fs::create_dir_all(root.join("usr/local/sbin")).expect("dir");
        std::fs::write(
            root.join("usr/local/sbin/runc"),
            crate::host::elf::minimal_elf(&trimmed),
        )
        .expect("write");
        let host = root.host();
        let installed = dpkg::installed(
            &host
                .read_text(DPKG_STATUS, STATUS_CAP, Content::Plain)
                .expect("status"),
            &["runc"],
        );
        let distro = Some(("debian".to_string(), "12".to_string()));
        let runc = version_of(&host, "runc", "/usr/sbin/runc".into(), &installed, &distro);
        assert_eq!(
            runc.version.as_ref().map(|f| f.version.as_str()),
            Ok("1.1.5+ds1-1+deb12u1")
        );
        // /sbin/runc is the same file on a usr-merged system.
        let merged = version_of(&host, "runc", "/sbin/runc".into(), &installed, &distro);
        assert!(merged.version.is_ok(), "{merged:?}");
        let containerd = version_of(
            &host,
            "containerd",
            "/var/lib/rancher/k3s/data/abc/bin/k3s".into(),
            &installed,
            &distro,
        );
        assert_eq!(
            containerd.version.as_ref().map(|f| f.version.as_str()),
            Ok("2.1.5-k3s1")
        );
        let unknown = version_of(
            &host,
            "runc",
            "/usr/local/sbin/runc".into(),
            &installed,
            &distro,
        );
        assert!(
            unknown
                .version
                .as_ref()
                .is_err_and(|e| e.contains("records no version")),
            "{unknown:?}"
        );
        assert_eq!(major_of("1:1.6.20~ds1-1"), Some(1));
        assert_eq!(major_of("v2.1.5"), Some(2));
    }

    #[test]
    fn endpoints_parse_as_the_kubelet_parses_them() {
        let path = |address: &str| {
            Endpoint {
                address: address.into(),
                source: Source::None,
            }
            .socket_path()
        };
        assert_eq!(
            path("unix:///run/containerd/containerd.sock").as_deref(),
            Some("/run/containerd/containerd.sock")
        );
        assert_eq!(path("unix:/run/x.sock").as_deref(), Some("/run/x.sock"));
        // `run` is the URL's host: the kubelet dials /containerd/containerd.sock.
        assert_eq!(
            path("unix://run/containerd/containerd.sock").as_deref(),
            Some("/containerd/containerd.sock")
        );
        // No scheme: the kubelet falls back to unix://.
        assert_eq!(
            path("/run/crio/crio.sock").as_deref(),
            Some("/run/crio/crio.sock")
        );
        assert_eq!(
            path("unix:///run/x.sock?a=b#c").as_deref(),
            Some("/run/x.sock")
        );
        // `..` is kept for the check to refuse: the kernel follows symlinks before it.
        assert_eq!(
            path("unix:///tmp/evil/../../run/x.sock").as_deref(),
            Some("/tmp/evil/../../run/x.sock")
        );
        assert_eq!(path("tcp://127.0.0.1:2375"), None);
        assert_eq!(path("npipe:////./pipe/x"), None);
    }

    #[test]
    fn flags_are_read_as_go_reads_them() {
        let argv = |args: &[&str]| -> Vec<String> { args.iter().map(|s| s.to_string()).collect() };
        for args in [
            &["containerd", "-c=/a.toml"][..],
            &["containerd", "-config", "/a.toml"],
            &["containerd", "-config=/a.toml"],
            &["containerd", "--config", "/b.toml", "--config=/a.toml"],
        ] {
            assert_eq!(
                flag_value(&argv(args), &["config", "c"]).as_deref(),
                Some("/a.toml"),
                "{args:?}"
            );
        }
        assert_eq!(
            flag_value(&argv(&["containerd", "--", "-c", "/x"]), &["config", "c"]),
            None
        );
    }

    #[test]
    fn crio_follows_its_command_line() {
        let root = TempRoot::new();
        root.file(
            "etc/crio/crio.conf",
            "[crio.runtime]\nno_pivot = false\n",
            0o644,
        )
        .file(
            "etc/crio/custom.conf",
            "[crio.runtime]\napparmor_profile = \"unconfined\"\n",
            0o644,
        )
        .file(
            "etc/crio/custom.d/10.conf",
            "[crio.runtime]\ndefault_capabilities = [\"SYS_ADMIN\"]\n",
            0o644,
        );
        let crio = process(
            40,
            "crio",
            &[
                "crio",
                "--config",
                "/etc/crio/custom.conf",
                "--config-dir=/etc/crio/custom.d",
                "--no-pivot",
            ],
            0,
            &[],
        );
        let config = crio_config(&root.host(), &crio);
        assert_eq!(
            config.files,
            ["/etc/crio/custom.conf", "/etc/crio/custom.d/10.conf"]
        );
        assert_eq!(
            setting(&config, &["crio", "runtime", "apparmor_profile"]),
            Some("\"unconfined\"".into())
        );
        assert_eq!(
            setting(&config, &["crio", "runtime", "no_pivot"]),
            Some("true".into())
        );
        assert!(
            config
                .file_facts
                .iter()
                .any(|f| f.path == "/etc/crio/custom.d"),
            "{:?}",
            config.file_facts
        );
    }

    #[test]
    fn a_snapshot_merges_as_the_node_did() {
        // F12: an import naming the CRI table only for keys nodecheck does not judge still
        // replaces the table in containerd 1.x; the reduced copy must keep doing so.
        let main = "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n[plugins.\"io.containerd.grpc.v1.cri\"]\ndisable_apparmor = true\n";
        let import = "[plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"registry.k8s.io/pause:3.10\"\n";
        let judge = |main: &str, import: &str| {
            let root = TempRoot::new();
            root.file("etc/containerd/config.toml", main, 0o600).file(
                "etc/containerd/conf.d/10.toml",
                import,
                0o600,
            );
            let config = containerd_config(
                &root.host(),
                &process(7, "containerd", &["containerd"], 0, &[]),
                Some(1),
            );
            setting(&config, &["plugins", CRI2, "disable_apparmor"])
        };
        let on_node = judge(main, import);
        let reduced_main = reduced(main).expect("toml");
        let reduced_import = reduced(import).expect("toml");
        assert_eq!(on_node, None);
        assert_eq!(
            judge(&reduced_main, &reduced_import),
            on_node,
            "{reduced_import}"
        );
    }

    #[test]
    fn repeated_import_globs_cost_one_read_each() {
        let root = TempRoot::new();
        let imports = vec!["\"/etc/containerd/big/*.toml\""; 2000].join(",");
        root.file(
            "etc/containerd/config.toml",
            &format!("version = 2\nimports = [{imports}]\n"),
            0o600,
        );
        for i in 0..300 {
            root.file(&format!("etc/containerd/big/f{i:03}.toml"), "", 0o600);
        }
        let config = containerd_config(
            &root.host(),
            &process(7, "containerd", &["containerd"], 0, &[]),
            None,
        );
        assert!(config.files.len() <= CONFIG_FILES_MAX);
        assert!(
            config.problems.iter().any(|p| p.contains("more than")),
            "{:?}",
            config.problems
        );
    }

    #[test]
    fn reads_the_socket_table() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 20921 /run/containerd/containerd.sock\n0000000000000000: 00000002 00000000 00010000 0001 01 20922 /run/odd name.sock\n0000000000000000: 00000003 00000000 00000000 0001 03 33\n0000000000000000: 00000002 00000000 00010000 0001 01 40 @/containerd-shim/abc.sock@\n";
        assert_eq!(
            unix_sockets(table),
            [
                (20921, "/run/containerd/containerd.sock".to_string()),
                (20922, "/run/odd name.sock".to_string()),
                (40, "@/containerd-shim/abc.sock@".to_string()),
            ]
        );
    }

    #[test]
    fn a_snapshot_keeps_only_judged_keys() {
        let config = "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n[grpc]\naddress = \"/run/containerd/containerd.sock\"\n[plugins.\"io.containerd.grpc.v1.cri\"]\ndisable_apparmor = true\nsandbox_image = \"pause\"\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\nconf_dir = \"/x\"\nbin_dir = \"/y\"\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nBinaryName = \"/usr/sbin/runc\"\nSystemdCgroup = true\n[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"r.example\".auth]\nusername = \"u\"\npassword = \"hunter2\"\n";
        let kept = reduced(config).expect("toml");
        for gone in ["hunter2", "bin_dir", "sandbox_image", "SystemdCgroup"] {
            assert!(!kept.contains(gone), "{gone} kept: {kept}");
        }
        for stays in [
            "disable_apparmor",
            "conf_dir",
            "BinaryName",
            "imports",
            "address",
        ] {
            assert!(kept.contains(stays), "{stays} lost: {kept}");
        }
        let crio = "[crio.runtime]\nselinux = true\ndefault_env = [\"TOKEN=x\"]\n[crio.image]\nglobal_auth_file = \"/a\"\n[crio.network]\nnetwork_dir = \"/n\"\n";
        let kept = reduced(crio).expect("toml");
        assert!(kept.contains("selinux") && kept.contains("network_dir"));
        assert!(!kept.contains("TOKEN") && !kept.contains("global_auth_file"));
    }

    #[test]
    fn lines_are_named_only_when_unambiguous() {
        let text = "a = 1\n[x]\n  disable_apparmor = true\n[y]\nselinux=false\nselinux = true\n";
        assert_eq!(line_of(text, "disable_apparmor"), Some(3));
        assert_eq!(line_of(text, "selinux"), None);
        assert_eq!(line_of(text, "missing"), None);
    }
}

//! The effective kubelet configuration, computed the way the kubelet computes it
//! (`reference/kubelet.md` §1):
//!
//! 1. defaults of the mode in use: flags only and `--config-dir` without `--config` start from
//!    the legacy flag defaults (anonymous auth on, AlwaysAllow, read-only port 10255);
//!    `--config` starts from the v1beta1 defaults;
//! 2. the `--config` file (YAML or JSON; apiVersion and kind required), replacing the base;
//! 3. drop-ins of `--config-dir` (`.conf` only, WalkDir order, JSON merge patch: objects merge,
//!    lists replace, `null` deletes), then v1beta1 defaulting of what is still empty;
//! 4. the command-line flags, each of which wins (pflag: last occurrence, slices append, feature
//!    gates merge per key);
//! 5. the exceptions: `seccompDefault` is flag OR config, a zero idle timeout from a file is
//!    re-defaulted to 4h, `hostnameOverride` and `kubeconfig` are flag-only.
//!
//! Every value carries its origin. A file the kubelet would refuse is a problem that makes the
//! checks depending on the configuration `error`, never a guess.

use super::flags::{self, FlagSyntax, Flags};
use super::yaml::{self, Node, Value};
use crate::host::{EntryKind, Host};
use std::collections::BTreeMap;
use std::fmt;

/// Size cap for kubelet configuration files.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// Drop-ins read at most.
pub const MAX_DROP_INS: usize = 256;
/// Configuration text (the config file and every drop-in) one kubelet may have read; beyond
/// it the rest is not read and the configuration is an error naming where it stopped.
pub const MAX_TOTAL_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

pub const API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";
pub const KIND: &str = "KubeletConfiguration";

/// The kubelet's boolean flags (pflag: a bare `--name` is true).
pub const SYNTAX: FlagSyntax = FlagSyntax {
    bools: &[
        "anonymous-auth",
        "authentication-token-webhook",
        "make-iptables-util-chains",
        "rotate-certificates",
        "rotate-server-certificates",
        "protect-kernel-defaults",
        "seccomp-default",
        "enable-server",
        "enable-debugging-handlers",
        "fail-swap-on",
        "serialize-image-pulls",
        "register-node",
        "help",
        "version",
    ],
    normalise_underscores: true,
    single_dash_long: false,
};

/// Which defaults fill unset fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No `--config`, no `--config-dir`: legacy flag defaults.
    FlagsOnly,
    /// `--config` (with or without `--config-dir`): v1beta1 defaults.
    ConfigFile,
    /// `--config-dir` without `--config`: the legacy base, overlaid by drop-ins.
    ConfigDirOnly,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::FlagsOnly => "flags only (legacy defaults)",
            Mode::ConfigFile => "--config file (v1beta1 defaults)",
            Mode::ConfigDirOnly => "--config-dir without --config (legacy base)",
        })
    }
}

/// A typed value of the configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum KValue {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
}

impl fmt::Display for KValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KValue::Bool(b) => write!(f, "{b}"),
            KValue::Int(i) => write!(f, "{i}"),
            KValue::Str(s) if s.is_empty() => f.write_str("\"\""),
            KValue::Str(s) => f.write_str(s),
            KValue::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The legacy flag default (no `--config`).
    LegacyDefault,
    /// The v1beta1 default.
    Default,
    ConfigFile {
        path: String,
        line: u32,
    },
    DropIn {
        path: String,
        line: u32,
    },
    /// A command-line flag of the running kubelet.
    Flag {
        spelled: String,
        pid: Option<u32>,
    },
    /// An argument the distribution passes but that `/proc` cannot show (k3s overwrites its
    /// argv); `how` says where it was recovered from.
    Recovered {
        spelled: String,
        how: String,
    },
    /// A zero duration in a file, re-defaulted by the kubelet.
    Redefaulted {
        path: String,
        line: u32,
        written: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::LegacyDefault => f.write_str("kubelet flag default (no --config)"),
            Origin::Default => f.write_str("kubelet v1beta1 default"),
            Origin::ConfigFile { path, line } => write!(f, "{path}:{line}"),
            Origin::DropIn { path, line } => write!(f, "drop-in {path}:{line}"),
            Origin::Flag {
                spelled,
                pid: Some(pid),
            } => write!(f, "{spelled} (pid {pid})"),
            Origin::Flag { spelled, pid: None } => f.write_str(spelled),
            Origin::Recovered { spelled, how } => write!(f, "{spelled} ({how})"),
            Origin::Redefaulted {
                path,
                line,
                written,
            } => {
                write!(
                    f,
                    "{path}:{line} writes {written}, which the kubelet re-defaults"
                )
            }
        }
    }
}

/// One effective field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub value: KValue,
    pub origin: Origin,
}

/// The kubelet as nodecheck found it: its command line, with the arguments a distribution
/// hides recovered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeletInvocation {
    pub pid: Option<u32>,
    /// Visible arguments, without the program name.
    pub args: Vec<String>,
    /// Arguments recovered from elsewhere, with where from; applied before `args`.
    pub recovered: Vec<(String, String)>,
    /// The process's working directory (relative `--config` paths resolve against it).
    pub cwd: Option<String>,
}

/// The effective configuration and everything that went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeletConfig {
    pub mode: Mode,
    /// Effective fields by dotted path (`authentication.anonymous.enabled`,
    /// `featureGates.RotateKubeletServerCertificate`).
    pub fields: BTreeMap<String, Field>,
    pub config_file: Option<String>,
    pub config_dir: Option<String>,
    /// Drop-ins applied, in order.
    pub drop_ins: Vec<String>,
    /// Flag-only settings.
    pub kubeconfig: Option<Field>,
    pub hostname_override: Option<Field>,
    /// `--seccomp-default` (effective seccompDefault is this OR the config field).
    pub seccomp_flag: Option<Field>,
    /// Why the kubelet would refuse this configuration (file, reason).
    pub problems: Vec<String>,
    /// Things worth saying that do not stop the kubelet (skipped non-`.conf` files, …).
    pub notes: Vec<String>,
}

impl KubeletConfig {
    pub fn get(&self, path: &str) -> Option<&Field> {
        self.fields.get(path)
    }

    pub fn bool(&self, path: &str) -> Option<bool> {
        match self.get(path)?.value {
            KValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn int(&self, path: &str) -> Option<i64> {
        match self.get(path)?.value {
            KValue::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn str(&self, path: &str) -> Option<&str> {
        match &self.get(path)?.value {
            KValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_refused(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// The type of a field nodecheck judges; files with another type are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Str,
    Duration,
    StrList,
    /// `path` fields resolve relative to the config file's directory.
    Path,
}

/// Fields nodecheck judges, their types, the kubelet flag that sets each, and the legacy and
/// v1beta1 defaults (`None`: no value).
struct Spec {
    path: &'static str,
    kind: Kind,
    flag: Option<&'static str>,
    legacy: Option<KValue>,
    v1beta1: Option<KValue>,
}

fn specs() -> Vec<Spec> {
    use KValue::*;
    let both = |v: KValue| (Some(v.clone()), Some(v));
    let mut out = Vec::new();
    let mut add = |path, kind, flag, (legacy, v1beta1): (Option<KValue>, Option<KValue>)| {
        out.push(Spec {
            path,
            kind,
            flag,
            legacy,
            v1beta1,
        })
    };
    add(
        "authentication.anonymous.enabled",
        Kind::Bool,
        Some("anonymous-auth"),
        (Some(Bool(true)), Some(Bool(false))),
    );
    add(
        "authentication.webhook.enabled",
        Kind::Bool,
        Some("authentication-token-webhook"),
        (Some(Bool(false)), Some(Bool(true))),
    );
    add(
        "authentication.x509.clientCAFile",
        Kind::Path,
        Some("client-ca-file"),
        (None, None),
    );
    add(
        "authorization.mode",
        Kind::Str,
        Some("authorization-mode"),
        (Some(Str("AlwaysAllow".into())), Some(Str("Webhook".into()))),
    );
    add(
        "readOnlyPort",
        Kind::Int,
        Some("read-only-port"),
        (Some(Int(10255)), Some(Int(0))),
    );
    add("port", Kind::Int, Some("port"), both(Int(10250)));
    add(
        "address",
        Kind::Str,
        Some("address"),
        both(Str("0.0.0.0".into())),
    );
    add(
        "streamingConnectionIdleTimeout",
        Kind::Duration,
        Some("streaming-connection-idle-timeout"),
        both(Str("4h0m0s".into())),
    );
    add(
        "makeIPTablesUtilChains",
        Kind::Bool,
        Some("make-iptables-util-chains"),
        both(Bool(true)),
    );
    add(
        "eventRecordQPS",
        Kind::Int,
        Some("event-qps"),
        both(Int(50)),
    );
    add(
        "tlsCertFile",
        Kind::Path,
        Some("tls-cert-file"),
        (None, None),
    );
    add(
        "tlsPrivateKeyFile",
        Kind::Path,
        Some("tls-private-key-file"),
        (None, None),
    );
    add(
        "rotateCertificates",
        Kind::Bool,
        Some("rotate-certificates"),
        both(Bool(false)),
    );
    add(
        "serverTLSBootstrap",
        Kind::Bool,
        Some("rotate-server-certificates"),
        both(Bool(false)),
    );
    add(
        "tlsCipherSuites",
        Kind::StrList,
        Some("tls-cipher-suites"),
        (None, None),
    );
    add(
        "podPidsLimit",
        Kind::Int,
        Some("pod-max-pids"),
        both(Int(-1)),
    );
    add("seccompDefault", Kind::Bool, None, both(Bool(false)));
    add(
        "protectKernelDefaults",
        Kind::Bool,
        Some("protect-kernel-defaults"),
        both(Bool(false)),
    );
    // The kubelet refuses to start on a node with swap on unless this is false.
    add(
        "failSwapOn",
        Kind::Bool,
        Some("fail-swap-on"),
        both(Bool(true)),
    );
    // Unset, its default changed across versions (UnlimitedSwap before 1.30, NoSwap since).
    add("memorySwap.swapBehavior", Kind::Str, None, (None, None));
    // A config field since 1.27, re-defaulted when empty; the flag is bound to it.
    add(
        "containerRuntimeEndpoint",
        Kind::Str,
        Some("container-runtime-endpoint"),
        both(Str("unix:///run/containerd/containerd.sock".into())),
    );
    add(
        "staticPodPath",
        Kind::Path,
        Some("pod-manifest-path"),
        (None, None),
    );
    out
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(text: &str) -> Option<i128> {
    if text == "0" {
        return Some(0);
    }
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    let ns = total as i128;
    Some(if negative { -ns } else { ns })
}

/// One problem, attributed.
fn refuse(config: &mut KubeletConfig, what: impl fmt::Display, reason: impl fmt::Display) {
    config
        .problems
        .push(format!("kubelet would not start: {what}: {reason}"));
}

/// Flattens a document into dotted leaves; lists are leaves, maps recurse.
fn flatten(prefix: &str, node: &Node, out: &mut Vec<(String, Node)>) {
    match &node.value {
        Value::Map(entries) => {
            if entries.is_empty() && !prefix.is_empty() {
                return;
            }
            for (k, v) in entries {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        _ => out.push((prefix.to_string(), node.clone())),
    }
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/')
        .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d })
}

fn absolutise(base_dir: &str, path: &str) -> String {
    if path.is_empty() || path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", base_dir.trim_end_matches('/'))
    }
}

/// Converts a document value to the field's type; `Err` says why the kubelet refuses it.
fn typed(spec_kind: Kind, node: &Node, file_dir: &str) -> Result<KValue, String> {
    let wrong = || {
        format!(
            "expected {}, found {}",
            kind_name(spec_kind),
            node.type_name()
        )
    };
    match (spec_kind, &node.value) {
        (Kind::Bool, Value::Bool(b)) => Ok(KValue::Bool(*b)),
        (Kind::Int, Value::Int(i)) => Ok(KValue::Int(*i)),
        (Kind::Str, Value::String(s)) => Ok(KValue::Str(s.clone())),
        (Kind::Path, Value::String(s)) => Ok(KValue::Str(absolutise(file_dir, s))),
        (Kind::Duration, Value::String(s)) => match parse_duration(s) {
            Some(_) => Ok(KValue::Str(s.clone())),
            None => Err(format!("invalid duration {s:?}")),
        },
        (Kind::Duration, Value::Int(0)) => Ok(KValue::Str("0s".into())),
        (Kind::StrList, Value::Seq(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(KValue::List),
        _ => Err(wrong()),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "a boolean",
        Kind::Int => "an integer",
        Kind::Str | Kind::Path => "a string",
        Kind::Duration => "a duration string",
        Kind::StrList => "a list of strings",
    }
}

/// Reads and checks one configuration document.
fn read_document(host: &Host, path: &str) -> Result<Node, String> {
    let meta = host.stat(path).map_err(|e| e.to_string())?;
    if meta.kind == EntryKind::Dir {
        return Err("is a directory, not a configuration file".into());
    }
    let text = host
        .read_text(path, MAX_CONFIG_BYTES, crate::host::Content::KubeletConfig)
        .map_err(|e| e.to_string())?;
    let doc = yaml::parse(&text).map_err(|e| format!("malformed YAML/JSON at {e}"))?;
    if !matches!(doc.value, Value::Map(_)) {
        return Err(format!(
            "expected a KubeletConfiguration object, found {}",
            doc.type_name()
        ));
    }
    let api_version = doc.get("apiVersion").and_then(Node::as_str);
    let kind = doc.get("kind").and_then(Node::as_str);
    match (api_version, kind) {
        (Some(API_VERSION), Some(KIND)) => Ok(doc),
        (None, _) | (_, None) => {
            Err("apiVersion and kind are required (Object 'Kind' is missing)".into())
        }
        (Some(a), Some(k)) => Err(format!(
            "expected apiVersion {API_VERSION} and kind {KIND}, found {a} {k}"
        )),
    }
}

/// Every `.conf` file below `dir`, in `filepath.WalkDir` order (lexical, recursing into
/// subdirectories in place), and the files skipped.
fn walk_drop_ins(
    host: &Host,
    dir: &str,
    depth: usize,
    out: &mut Vec<String>,
    skipped: &mut Vec<String>,
) -> Result<(), String> {
    if depth > 16 || out.len() >= MAX_DROP_INS {
        return Ok(());
    }
    let names = host.list_dir(dir).map_err(|e| e.to_string())?;
    for name in names {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        // WalkDir does not follow a symlink to a directory: it is an entry like any other
        // (read as a drop-in when named *.conf, which then fails as the kubelet's read
        // does). Only real directories are walked, so no link can make a cycle.
        let is_dir = host
            .stat(&path)
            .is_ok_and(|m| m.kind == EntryKind::Dir && !m.is_symlink);
        if is_dir {
            walk_drop_ins(host, &path, depth + 1, out, skipped)?;
        } else if name.ends_with(".conf") {
            out.push(path);
        } else {
            skipped.push(path);
        }
    }
    Ok(())
}

/// Computes the effective configuration of one kubelet.
pub fn effective(host: &Host, invocation: &KubeletInvocation) -> KubeletConfig {
    // Recovered arguments first (they are what the distribution passes), then the visible
    // ones; `hows[i]` says where flag `i` was recovered from (none for visible flags).
    let mut parsed = Flags::default();
    let mut hows: Vec<Option<String>> = Vec::new();
    for (arg, how) in &invocation.recovered {
        let one = flags::parse(std::slice::from_ref(arg), &SYNTAX);
        hows.extend(one.flags.iter().map(|_| Some(how.clone())));
        parsed.flags.extend(one.flags);
    }
    let visible = flags::parse(&invocation.args, &SYNTAX);
    hows.extend(visible.flags.iter().map(|_| None));
    parsed.flags.extend(visible.flags);
    parsed.positional = visible.positional;
    parsed.errors = visible.errors;
    let origin_of = |flag: &flags::Flag| -> Origin {
        let index = parsed.flags.iter().position(|f| std::ptr::eq(f, flag));
        match index.and_then(|i| hows[i].clone()) {
            Some(how) => Origin::Recovered {
                spelled: flag.spelled.clone(),
                how,
            },
            None => Origin::Flag {
                spelled: flag.spelled.clone(),
                pid: invocation.pid,
            },
        }
    };
    let cwd = invocation.cwd.clone().unwrap_or_else(|| "/".into());
    let config_file = parsed.last("config").map(|f| absolutise(&cwd, &f.value));
    let config_dir = parsed
        .last("config-dir")
        .map(|f| absolutise(&cwd, &f.value));
    let mode = match (&config_file, &config_dir) {
        (Some(_), _) => Mode::ConfigFile,
        (None, Some(_)) => Mode::ConfigDirOnly,
        (None, None) => Mode::FlagsOnly,
    };
    let mut config = KubeletConfig {
        mode,
        fields: BTreeMap::new(),
        config_file: config_file.clone(),
        config_dir: config_dir.clone(),
        drop_ins: Vec::new(),
        kubeconfig: None,
        hostname_override: None,
        seccomp_flag: None,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    for problem in &parsed.errors {
        refuse(&mut config, "command line", problem);
    }
    if let Some(extra) = parsed.positional.first() {
        refuse(
            &mut config,
            "command line",
            format!("unknown command {extra:?}"),
        );
    }
    let specs = specs();
    // 1. Base defaults of the mode.
    for spec in &specs {
        let (value, origin) = if mode == Mode::ConfigFile {
            (spec.v1beta1.clone(), Origin::Default)
        } else {
            (spec.legacy.clone(), Origin::LegacyDefault)
        };
        if let Some(value) = value {
            config
                .fields
                .insert(spec.path.to_string(), Field { value, origin });
        }
    }
    let apply = |config: &mut KubeletConfig, doc: &Node, path: &str, drop_in: bool| {
        let mut leaves = Vec::new();
        flatten("", doc, &mut leaves);
        let file_dir = dir_of(path).to_string();
        for (key, node) in leaves {
            if key == "apiVersion" || key == "kind" {
                continue;
            }
            let origin = if drop_in {
                Origin::DropIn {
                    path: path.to_string(),
                    line: node.line,
                }
            } else {
                Origin::ConfigFile {
                    path: path.to_string(),
                    line: node.line,
                }
            };
            if node.value == Value::Null {
                // JSON merge patch: null deletes (re-defaulted below): the key and everything
                // under it, found as one range of the ordered map (`.` + 1 is `/`).
                config.fields.remove(&key);
                let under: Vec<String> = config
                    .fields
                    .range(format!("{key}.")..format!("{key}/"))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in under {
                    config.fields.remove(&k);
                }
                continue;
            }
            if let Some(gate) = key.strip_prefix("featureGates.") {
                match node.value {
                    Value::Bool(b) => {
                        config.fields.insert(
                            key.clone(),
                            Field {
                                value: KValue::Bool(b),
                                origin,
                            },
                        );
                    }
                    _ => refuse(
                        config,
                        path,
                        format!(
                            "featureGates.{gate}: expected a boolean, found {}",
                            node.type_name()
                        ),
                    ),
                }
                continue;
            }
            let Some(spec) = specs.iter().find(|s| s.path == key) else {
                continue; // fields nodecheck does not judge are kept out of the model
            };
            match typed(spec.kind, &node, &file_dir) {
                Ok(value) => {
                    config.fields.insert(key, Field { value, origin });
                }
                Err(reason) => refuse(
                    config,
                    format!("{path}:{}", node.line),
                    format!("{key}: {reason}"),
                ),
            }
        }
    };
    // 2. The config file replaces the base (v1beta1 defaults already in place).
    if let Some(path) = &config_file {
        match read_document(host, path) {
            Ok(doc) => apply(&mut config, &doc, path, false),
            Err(reason) => refuse(&mut config, format!("--config {path}"), reason),
        }
    }
    // 3. Drop-ins as JSON merge patches, then v1beta1 defaulting of what is empty.
    if let Some(dir) = &config_dir {
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        match walk_drop_ins(host, dir, 0, &mut files, &mut skipped) {
            Ok(()) => {
                let mut total = config_file
                    .as_deref()
                    .and_then(|p| host.stat(p).ok())
                    .map_or(0, |m| m.size);
                for path in files {
                    total += host.stat(&path).map_or(0, |m| m.size);
                    if total > MAX_TOTAL_CONFIG_BYTES {
                        // Not the kubelet's refusal: nodecheck's budget, said as such.
                        config.problems.push(format!(
                            "drop-in {path} not read: more than {} MiB of kubelet configuration altogether (nodecheck's budget)",
                            MAX_TOTAL_CONFIG_BYTES / (1024 * 1024)
                        ));
                        break;
                    }
                    match read_document(host, &path) {
                        Ok(doc) => {
                            apply(&mut config, &doc, &path, true);
                            config.drop_ins.push(path);
                        }
                        Err(reason) => refuse(&mut config, format!("drop-in {path}"), reason),
                    }
                }
                for path in skipped {
                    config
                        .notes
                        .push(format!("{path} ignored: only .conf files are drop-ins"));
                }
            }
            Err(reason) => refuse(&mut config, format!("--config-dir {dir}"), reason),
        }
    }
    if config_file.is_some() || config_dir.is_some() {
        for spec in &specs {
            if !config.fields.contains_key(spec.path)
                && let Some(value) = spec.v1beta1.clone()
            {
                config.fields.insert(
                    spec.path.to_string(),
                    Field {
                        value,
                        origin: Origin::Default,
                    },
                );
            }
        }
        // A zero idle timeout written in a file is re-defaulted to 4h.
        if let Some(field) = config.fields.get_mut("streamingConnectionIdleTimeout")
            && let KValue::Str(text) = &field.value
            && parse_duration(text) == Some(0)
            && let Origin::ConfigFile { path, line } | Origin::DropIn { path, line } =
                field.origin.clone()
        {
            *field = Field {
                value: KValue::Str("4h0m0s".into()),
                origin: Origin::Redefaulted {
                    path,
                    line,
                    written: text.clone(),
                },
            };
        }
        // podPidsLimit: nil or negative means -1.
        if let Some(field) = config.fields.get_mut("podPidsLimit")
            && let KValue::Int(i) = field.value
            && i < 0
        {
            field.value = KValue::Int(-1);
        }
    }
    // 4. Command-line flags win.
    for spec in &specs {
        let Some(flag_name) = spec.flag else { continue };
        if spec.kind == Kind::StrList {
            if let Some((values, occurrences)) = parsed.slice(flag_name)
                && let Some(last) = occurrences.last()
            {
                let origin = origin_of(last);
                config.fields.insert(
                    spec.path.to_string(),
                    Field {
                        value: KValue::List(values),
                        origin,
                    },
                );
            }
            continue;
        }
        let Some(flag) = parsed.last(flag_name) else {
            continue;
        };
        let value = match spec.kind {
            Kind::Bool => flags::parse_bool(&flag.value).map(KValue::Bool),
            Kind::Int => flag.value.parse::<i64>().ok().map(KValue::Int),
            Kind::Duration => parse_duration(&flag.value).map(|_| KValue::Str(flag.value.clone())),
            Kind::Path => Some(KValue::Str(absolutise(&cwd, &flag.value))),
            Kind::Str | Kind::StrList => Some(KValue::Str(flag.value.clone())),
        };
        match value {
            Some(value) => {
                let origin = origin_of(flag);
                config
                    .fields
                    .insert(spec.path.to_string(), Field { value, origin });
            }
            None => refuse(
                &mut config,
                &flag.spelled,
                format!("invalid value {:?}", flag.value),
            ),
        }
    }
    for (gate, (value, flag)) in parsed.map("feature-gates") {
        match flags::parse_bool(&value) {
            Some(b) => {
                let origin = origin_of(flag);
                config.fields.insert(
                    format!("featureGates.{gate}"),
                    Field {
                        value: KValue::Bool(b),
                        origin,
                    },
                );
            }
            None => refuse(
                &mut config,
                &flag.spelled,
                format!("invalid value {value:?} for feature gate {gate}"),
            ),
        }
    }
    // 5. Flag-only settings.
    let flag_field = |name: &str, as_path: bool| {
        parsed.last(name).map(|f| Field {
            value: KValue::Str(if as_path {
                absolutise(&cwd, &f.value)
            } else {
                f.value.clone()
            }),
            origin: origin_of(f),
        })
    };
    config.kubeconfig = flag_field("kubeconfig", true);
    config.hostname_override = flag_field("hostname-override", false);
    config.seccomp_flag = parsed.last("seccomp-default").and_then(|f| {
        flags::parse_bool(&f.value).map(|b| Field {
            value: KValue::Bool(b),
            origin: origin_of(f),
        })
    });
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    fn invocation(args: &[&str]) -> KubeletInvocation {
        KubeletInvocation {
            pid: Some(42),
            args: args.iter().map(|s| s.to_string()).collect(),
            recovered: Vec::new(),
            cwd: Some("/".into()),
        }
    }

    const HEAD: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";

    #[test]
    fn defaults_depend_on_the_mode() {
        let root = TempRoot::new();
        root.file("var/lib/kubelet/config.yaml", HEAD, 0o600);
        let host = root.host();
        let flags_only = effective(&host, &invocation(&["--kubeconfig=/k"]));
        assert_eq!(flags_only.mode, Mode::FlagsOnly);
        assert_eq!(
            flags_only.bool("authentication.anonymous.enabled"),
            Some(true)
        );
        assert_eq!(flags_only.str("authorization.mode"), Some("AlwaysAllow"));
        assert_eq!(flags_only.int("readOnlyPort"), Some(10255));
        let file = effective(
            &host,
            &invocation(&["--config=/var/lib/kubelet/config.yaml"]),
        );
        assert_eq!(file.mode, Mode::ConfigFile);
        assert_eq!(file.bool("authentication.anonymous.enabled"), Some(false));
        assert_eq!(file.str("authorization.mode"), Some("Webhook"));
        assert_eq!(file.int("readOnlyPort"), Some(0));
        assert_eq!(
            file.get("readOnlyPort").map(|f| &f.origin),
            Some(&Origin::Default)
        );
        assert!(file.problems.is_empty(), "{:?}", file.problems);
    }

    #[test]
    fn precedence_file_then_drop_ins_then_flags() {
        let root = TempRoot::new();
        root.file("etc/k/config.yaml", &format!("{HEAD}readOnlyPort: 10255\neventRecordQPS: 5\nfeatureGates:\n  A: true\n  B: true\ntlsCipherSuites: [X, Y]\n"), 0o600)
            .file("etc/k/d/10-a.conf", &format!("{HEAD}eventRecordQPS: 7\nfeatureGates:\n  B: false\ntlsCipherSuites: [Z]\n"), 0o600)
            .file("etc/k/d/20-sub/05-b.conf", &format!("{HEAD}eventRecordQPS: 8\n"), 0o600)
            .file("etc/k/d/30-c.conf", &format!("{HEAD}eventRecordQPS: 9\n"), 0o600)
            .file("etc/k/d/40-ignored.yaml", &format!("{HEAD}eventRecordQPS: 100\n"), 0o600);
        let host = root.host();
        let c = effective(
            &host,
            &invocation(&[
                "--config",
                "/etc/k/config.yaml",
                "--config-dir=/etc/k/d",
                "--read-only-port=0",
                "--feature-gates=A=false",
            ]),
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.int("readOnlyPort"), Some(0));
        assert!(matches!(
            c.get("readOnlyPort").map(|f| &f.origin),
            Some(Origin::Flag { pid: Some(42), .. })
        ));
        assert_eq!(
            c.int("eventRecordQPS"),
            Some(9),
            "WalkDir order: 10-a, 20-sub/05-b, 30-c"
        );
        assert_eq!(c.drop_ins.len(), 3);
        assert!(c.notes.iter().any(|n| n.contains("40-ignored.yaml")));
        assert_eq!(c.bool("featureGates.A"), Some(false), "CLI wins per key");
        assert_eq!(
            c.bool("featureGates.B"),
            Some(false),
            "drop-in merges per key"
        );
        assert_eq!(
            c.get("tlsCipherSuites").map(|f| f.value.clone()),
            Some(KValue::List(vec!["Z".into()])),
            "lists replace"
        );
        assert_eq!(
            c.get("eventRecordQPS").map(|f| f.origin.to_string()),
            Some("drop-in /etc/k/d/30-c.conf:3".into())
        );
    }

    #[test]
    fn traps() {
        let root = TempRoot::new();
        root.file("c.yaml", &format!("{HEAD}streamingConnectionIdleTimeout: 0s\neventRecordQPS: 0\nseccompDefault: true\npodPidsLimit: -5\n"), 0o600);
        let host = root.host();
        let c = effective(
            &host,
            &invocation(&["--config=/c.yaml", "--seccomp-default=false"]),
        );
        assert_eq!(
            c.str("streamingConnectionIdleTimeout"),
            Some("4h0m0s"),
            "0s in a file is re-defaulted"
        );
        assert!(matches!(
            c.get("streamingConnectionIdleTimeout").map(|f| &f.origin),
            Some(Origin::Redefaulted { .. })
        ));
        assert_eq!(c.int("eventRecordQPS"), Some(0), "0 stays 0 (unlimited)");
        assert_eq!(c.bool("seccompDefault"), Some(true));
        assert_eq!(
            c.seccomp_flag.as_ref().map(|f| f.value.clone()),
            Some(KValue::Bool(false))
        );
        assert_eq!(c.int("podPidsLimit"), Some(-1));
        assert_eq!(
            c.bool("rotateCertificates"),
            Some(false),
            "rotateCertificates defaults to false"
        );
        let cli_zero = effective(
            &host,
            &invocation(&["--config=/c.yaml", "--streaming-connection-idle-timeout=0"]),
        );
        assert_eq!(
            cli_zero.str("streamingConnectionIdleTimeout"),
            Some("0"),
            "only a CLI 0 is 0"
        );
    }

    #[test]
    fn config_dir_only_keeps_the_legacy_base_unless_a_drop_in_sets_it() {
        let root = TempRoot::new();
        root.file("d/00-k3s-defaults.conf", &format!("{HEAD}authentication:\n  anonymous:\n    enabled: false\nauthorization:\n  mode: Webhook\n"), 0o600);
        let host = root.host();
        let c = effective(&host, &invocation(&["--config-dir=/d"]));
        assert_eq!(c.mode, Mode::ConfigDirOnly);
        assert_eq!(
            c.int("readOnlyPort"),
            Some(10255),
            "the k3s 1.32.0-1.32.3 bug"
        );
        assert_eq!(c.bool("authentication.anonymous.enabled"), Some(false));
        let fixed = effective(
            &host,
            &invocation(&["--config-dir=/d", "--read-only-port=0"]),
        );
        assert_eq!(fixed.int("readOnlyPort"), Some(0));
    }

    #[test]
    fn refused_files_are_problems() {
        let root = TempRoot::new();
        root.file("bad-kind.yaml", "apiVersion: v1\nkind: Pod\n", 0o600)
            .file("no-kind.yaml", "readOnlyPort: 0\n", 0o600)
            .file(
                "bad-type.yaml",
                &format!("{HEAD}readOnlyPort: \"zero\"\n"),
                0o600,
            )
            .file("malformed.yaml", "a: [1, 2\n", 0o600)
            .file("d/10-bad.conf", "{not json", 0o600);
        std::fs::create_dir_all(root.join("dir.yaml")).expect("mkdir");
        let host = root.host();
        for (args, expected) in [
            (vec!["--config=/bad-kind.yaml"], "found v1 Pod"),
            (
                vec!["--config=/no-kind.yaml"],
                "apiVersion and kind are required",
            ),
            (
                vec!["--config=/bad-type.yaml"],
                "readOnlyPort: expected an integer, found string",
            ),
            (vec!["--config=/malformed.yaml"], "malformed YAML/JSON"),
            (vec!["--config=/missing.yaml"], "does not exist"),
            (vec!["--config=/dir.yaml"], "is a directory"),
            (vec!["--config-dir=/d"], "drop-in /d/10-bad.conf"),
            (vec!["--anonymous-auth", "false"], "unknown command"),
            (vec!["--read-only-port=abc"], "invalid value"),
        ] {
            let c = effective(&host, &invocation(&args));
            assert!(c.is_refused(), "{args:?}");
            assert!(
                c.problems.iter().any(|p| p.contains(expected)),
                "{args:?}: {:?}",
                c.problems
            );
        }
    }

    #[test]
    fn relative_paths_and_durations() {
        let root = TempRoot::new();
        root.file(
            "etc/k/config.yaml",
            &format!("{HEAD}authentication:\n  x509:\n    clientCAFile: pki/ca.crt\n"),
            0o600,
        );
        let host = root.host();
        let mut inv = invocation(&["--config=config.yaml"]);
        inv.cwd = Some("/etc/k".into());
        let c = effective(&host, &inv);
        assert_eq!(c.config_file.as_deref(), Some("/etc/k/config.yaml"));
        assert_eq!(
            c.str("authentication.x509.clientCAFile"),
            Some("/etc/k/pki/ca.crt")
        );
        assert_eq!(parse_duration("4h0m0s"), Some(4 * 3600 * 1_000_000_000));
        assert_eq!(parse_duration("1m30s"), Some(90 * 1_000_000_000));
        assert_eq!(parse_duration("0s"), Some(0));
        assert_eq!(parse_duration("5x"), None);
    }
}

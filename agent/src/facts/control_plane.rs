//! kube-apiserver and etcd: their settings from the running process (command line; for etcd
//! also its `ETCD_*` variables and `--config-file`), or from their static pod manifests when
//! the process is not visible (a snapshot, a stopped component); the files they name.
//!
//! Each component's flags are parsed with its own flag library's rules and kept apart: the
//! apiserver's `--kubelet-*` and `--requestheader-client-ca-file` never stand for anything
//! else. Every value keeps its source: flag and pid, manifest line, variable, or config line.

use super::FileFact;
use super::process::Process;
use crate::host::{Content, Host};
use crate::parse::flags::{self, Flag, FlagSyntax, Flags};
use crate::parse::yaml::{self, Node, Value};
use nodecheck_report::Source;

/// k3s's embedded etcd writes its configuration here.
pub const K3S_ETCD_CONFIG: &str = "/var/lib/rancher/k3s/server/db/etcd/config";
const MANIFEST_CAP: u64 = 4 * 1024 * 1024;

pub const APISERVER_SYNTAX: FlagSyntax = FlagSyntax {
    bools: &[
        "anonymous-auth",
        "profiling",
        "allow-privileged",
        "enable-bootstrap-token-auth",
        "enable-aggregator-routing",
        "enable-garbage-collector",
        "enable-priority-and-fairness",
        "enable-logs-handler",
        "contention-profiling",
        "service-account-lookup",
        "service-account-extend-token-expiration",
        "watch-cache",
        "audit-log-compress",
        "kubelet-https",
        "logtostderr",
        "v",
    ],
    normalise_underscores: true,
    single_dash_long: false,
};

pub const ETCD_SYNTAX: FlagSyntax = FlagSyntax {
    bools: &[
        "client-cert-auth",
        "peer-client-cert-auth",
        "auto-tls",
        "peer-auto-tls",
        "strict-reconfig-check",
        "enable-v2",
        "enable-pprof",
        "experimental-initial-corrupt-check",
        "force-new-cluster",
        "debug",
    ],
    normalise_underscores: false,
    single_dash_long: true,
};

/// A component's settings, each with its source.
#[derive(Debug, Clone, Default)]
pub struct ComponentArgs {
    pub flags: Flags,
    /// Parallel to `flags.flags`.
    pub sources: Vec<Source>,
    pub pid: Option<u32>,
    /// Where the settings came from, for messages (`process 812`, `manifest …`).
    pub origin: String,
    /// Why the settings could not be read completely.
    pub problems: Vec<String>,
}

impl ComponentArgs {
    fn push(&mut self, flag: Flag, source: Source) {
        self.flags.flags.push(flag);
        self.sources.push(source);
    }

    /// The effective (last) value of a flag and its source.
    pub fn value(&self, name: &str) -> Option<(&str, &Source)> {
        let index = self.flags.flags.iter().rposition(|f| f.name == name)?;
        Some((self.flags.flags[index].value.as_str(), &self.sources[index]))
    }

    /// A boolean flag: `Some(Some(b))` when set and valid, `Some(None)` when set to a value
    /// that is not a boolean.
    pub fn bool(&self, name: &str) -> Option<(Option<bool>, &Source)> {
        self.value(name).map(|(v, s)| (flags::parse_bool(v), s))
    }

    /// Comma-separated values of a flag (last occurrence).
    pub fn list(&self, name: &str) -> Option<(Vec<String>, &Source)> {
        self.value(name).map(|(v, s)| {
            (
                v.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect(),
                s,
            )
        })
    }
}

fn from_process(p: &Process, syntax: &FlagSyntax, skip: usize) -> ComponentArgs {
    let parsed = flags::parse(
        &p.argv.iter().skip(skip).cloned().collect::<Vec<_>>(),
        syntax,
    );
    let mut args = ComponentArgs {
        pid: Some(p.pid),
        origin: format!("process {} (pid {})", p.program(), p.pid),
        ..ComponentArgs::default()
    };
    for flag in parsed.flags {
        let source = Source::Flag {
            flag: flag.spelled.clone(),
            pid: p.pid,
        };
        args.push(flag, source);
    }
    args.flags.positional = parsed.positional;
    args.flags.errors = parsed.errors;
    args
}

/// The first container's command and args of a static pod manifest.
pub fn from_manifest(
    host: &Host,
    path: &str,
    syntax: &FlagSyntax,
) -> Result<ComponentArgs, String> {
    let text = host
        .read_text(path, MANIFEST_CAP, Content::StaticPod)
        .map_err(|e| e.to_string())?;
    manifest_text_args(&text, path, syntax)
}

/// [`from_manifest`] of a manifest's text.
pub fn manifest_text_args(
    text: &str,
    path: &str,
    syntax: &FlagSyntax,
) -> Result<ComponentArgs, String> {
    let doc = yaml::parse(text).map_err(|e| format!("{path}: malformed YAML at {e}"))?;
    let kind = doc.get("kind").and_then(Node::as_str);
    if kind != Some("Pod") {
        return Err(format!(
            "{path}: not a Pod manifest (kind is {})",
            kind.unwrap_or("missing")
        ));
    }
    let container = doc
        .path("spec.containers")
        .and_then(Node::as_seq)
        .and_then(|c| c.first())
        .ok_or_else(|| format!("{path}: the Pod has no containers"))?;
    // `command` starts with the program; `args` (alone, or after it) holds only arguments.
    let command = container
        .get("command")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    let words: Vec<&Node> = command
        .iter()
        .skip(1)
        .chain(
            container
                .get("args")
                .and_then(Node::as_seq)
                .unwrap_or_default(),
        )
        .collect();
    let mut args = ComponentArgs {
        origin: format!("static pod manifest {path}"),
        ..ComponentArgs::default()
    };
    // One flag per word (manifests put `--flag=value` in one item).
    for node in words {
        let Some(word) = node.as_str() else { continue };
        let parsed = flags::parse(&[word.to_string()], syntax);
        for flag in parsed.flags {
            args.push(flag, Source::file(path, Some(node.line)));
        }
        args.flags.positional.extend(parsed.positional);
    }
    Ok(args)
}

/// kube-apiserver flags that are string slices: pflag appends every occurrence after the first
/// (`--authorization-mode=AlwaysAllow --authorization-mode=Node,RBAC` is all three modes).
pub const APISERVER_SLICE_FLAGS: &[&str] = &[
    "authorization-mode",
    "enable-admission-plugins",
    "disable-admission-plugins",
    "admission-control",
    "etcd-servers",
    "tls-cipher-suites",
];

/// Folds the repeated occurrences of each of `slices` into one flag holding every value in
/// order (at the place, and with the source, of the last), as pflag's string slices do.
pub fn merge_slices(mut args: ComponentArgs, slices: &[&str]) -> ComponentArgs {
    for name in slices {
        let positions: Vec<usize> = args
            .flags
            .flags
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name == *name)
            .map(|(i, _)| i)
            .collect();
        let Some((&last, earlier)) = positions.split_last() else {
            continue;
        };
        if earlier.is_empty() {
            continue;
        }
        let values: Vec<String> = positions
            .iter()
            .map(|&i| args.flags.flags[i].value.clone())
            .collect();
        let spelled: Vec<String> = positions
            .iter()
            .map(|&i| args.flags.flags[i].spelled.clone())
            .collect();
        args.flags.flags[last].value = values.join(",");
        args.flags.flags[last].spelled = spelled.join(" ");
        for &i in earlier.iter().rev() {
            args.flags.flags.remove(i);
            args.sources.remove(i);
        }
    }
    args
}

/// Files of a static pod directory looked at for a component whose manifest has another name.
const MANIFEST_CANDIDATES_MAX: usize = 64;

/// Whether the static pod manifest at `path` runs `name`: its first container's program, the
/// container's name, the pod's name or its `component` label.
fn runs_component(host: &Host, path: &str, name: &str) -> bool {
    let Ok(text) = host.read_text(path, MANIFEST_CAP, Content::StaticPod) else {
        return false;
    };
    let Ok(doc) = yaml::parse(&text) else {
        return false;
    };
    let container = doc
        .path("spec.containers")
        .and_then(Node::as_seq)
        .and_then(|c| c.first());
    let program = container
        .and_then(|c| c.get("command"))
        .and_then(Node::as_seq)
        .and_then(|c| c.first())
        .and_then(Node::as_str)
        .map(|p| p.rsplit('/').next().unwrap_or(p));
    [
        program,
        container.and_then(|c| c.get("name")).and_then(Node::as_str),
        doc.path("metadata.name").and_then(Node::as_str),
        doc.path("metadata.labels.component").and_then(Node::as_str),
    ]
    .contains(&Some(name))
}

/// The static pod manifest of `name` in `dirs` (each a directory, or one manifest file as the
/// kubelet's `staticPodPath` may be): `<name>.yaml` first, then any other file the kubelet
/// would read (not hidden) whose pod runs `name`. A final symlink is not followed when
/// testing for the entry, so a link is judged as the entry it is.
pub fn find_manifest(host: &Host, dirs: &[String], name: &str) -> Option<String> {
    for dir in dirs {
        let is_dir = host
            .stat(dir)
            .is_ok_and(|m| m.kind == crate::host::EntryKind::Dir);
        if !is_dir {
            if host.exists_unfollowed(dir) && runs_component(host, dir, name) {
                return Some(dir.clone());
            }
            continue;
        }
        let base = dir.trim_end_matches('/');
        let named = format!("{base}/{name}.yaml");
        if host.exists_unfollowed(&named) {
            return Some(named);
        }
        let Ok(mut names) = host.list_dir(dir) else {
            continue;
        };
        names.sort();
        let found = names
            .iter()
            .filter(|n| !n.starts_with('.'))
            .take(MANIFEST_CANDIDATES_MAX)
            .map(|n| format!("{base}/{n}"))
            .find(|path| runs_component(host, path, name));
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A static pod manifest's arguments, or why they cannot be read.
pub fn manifest_args(host: &Host, path: &str, syntax: &FlagSyntax) -> ComponentArgs {
    from_manifest(host, path, syntax).unwrap_or_else(|problem| ComponentArgs {
        origin: format!("static pod manifest {path}"),
        problems: vec![problem],
        ..ComponentArgs::default()
    })
}

/// The kube-apiserver's facts.
#[derive(Debug, Clone)]
pub struct ApiServerFacts {
    pub args: ComponentArgs,
    pub manifest_file: Option<FileFact>,
    /// The `--encryption-provider-config` file and what it says about secrets.
    pub encryption: Option<EncryptionFacts>,
    pub audit_policy_file: Option<FileFact>,
    /// The `--client-ca-file`.
    pub client_ca_file: Option<FileFact>,
    /// The `--admission-control-config-file`.
    pub admission_config_file: Option<FileFact>,
    /// The PKI directory the API server's flags point to, and everything in it.
    pub pki: Option<PkiFacts>,
    /// The administrators' kubeconfigs the distribution writes (kubeadm's admin.conf and
    /// super-admin.conf, k3s's and rke2's), those that exist.
    pub admin_kubeconfigs: Vec<FileFact>,
}

/// A PKI directory: where it is, why, and the metadata of every entry below it.
#[derive(Debug, Clone)]
pub struct PkiFacts {
    pub dir: String,
    /// The flag that named a file in it, and its source.
    pub named_by: (String, Source),
    /// The directory itself first, then every directory and file below it (depth-first,
    /// sorted), symlinks as themselves.
    pub entries: Vec<FileFact>,
    /// Why the listing is partial (a directory that could not be listed, the entry budget).
    pub problems: Vec<String>,
}

/// Entries of a PKI directory read at most (kubeadm writes 22, k3s about 60).
pub const PKI_ENTRIES_MAX: usize = 1024;
const PKI_DEPTH_MAX: usize = 4;

/// Administrators' kubeconfigs by distribution: kubeadm (super-admin.conf from 1.29), k3s,
/// rke2.
pub const ADMIN_KUBECONFIGS: &[&str] = &[
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/super-admin.conf",
    "/etc/rancher/k3s/k3s.yaml",
    "/etc/rancher/rke2/rke2.yaml",
];

/// The PKI directory of the API server: the directory of its client CA, else of its serving
/// certificate (kubeadm `/etc/kubernetes/pki`, k3s and rke2 `…/server/tls`), walked to a
/// bounded depth and entry count.
pub fn pki(host: &Host, args: &ComponentArgs) -> Option<PkiFacts> {
    let (flag, path, source) = ["client-ca-file", "tls-cert-file"]
        .iter()
        .find_map(|flag| {
            args.value(flag)
                .filter(|(v, _)| v.starts_with('/'))
                .map(|(v, s)| (*flag, v.to_string(), s.clone()))
        })?;
    let dir = match path.rsplit_once('/') {
        Some(("", _)) | None => return None,
        Some((dir, _)) => dir.to_string(),
    };
    let mut facts = PkiFacts {
        entries: vec![FileFact::stat(host, &dir)],
        dir: dir.clone(),
        named_by: (flag.to_string(), source),
        problems: Vec::new(),
    };
    walk_pki(host, &dir, 1, &mut facts);
    // Certificates and keys the API server names outside that directory are its PKI too.
    let inside = format!("{}/", dir.trim_end_matches('/'));
    for flag in PKI_FLAGS {
        let Some((path, _)) = args.value(flag) else {
            continue;
        };
        if path.starts_with('/')
            && !path.starts_with(&inside)
            && !facts.entries.iter().any(|e| e.path == path)
        {
            facts.entries.push(FileFact::stat(host, path));
        }
    }
    Some(facts)
}

/// The API server's flags that name a certificate or a key.
pub const PKI_FLAGS: &[&str] = &[
    "client-ca-file",
    "tls-cert-file",
    "tls-private-key-file",
    "kubelet-client-certificate",
    "kubelet-client-key",
    "kubelet-certificate-authority",
    "etcd-cafile",
    "etcd-certfile",
    "etcd-keyfile",
    "service-account-key-file",
    "service-account-signing-key-file",
    "proxy-client-cert-file",
    "proxy-client-key-file",
    "requestheader-client-ca-file",
];

fn walk_pki(host: &Host, dir: &str, depth: usize, facts: &mut PkiFacts) {
    let mut names = match host.list_dir(dir) {
        Ok(names) => names,
        Err(e) => {
            if facts.entries.first().is_some_and(|f| f.meta.is_ok()) {
                facts.problems.push(format!("cannot list {dir}: {e}"));
            }
            return;
        }
    };
    names.sort();
    for name in names {
        if facts.entries.len() >= PKI_ENTRIES_MAX {
            facts.problems.push(format!(
                "{dir}: more than {PKI_ENTRIES_MAX} entries; the rest unread"
            ));
            return;
        }
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        let entry = FileFact::stat(host, &path);
        let is_dir = entry
            .meta
            .as_ref()
            .is_ok_and(|m| m.kind == crate::host::EntryKind::Dir);
        facts.entries.push(entry);
        if is_dir {
            if depth >= PKI_DEPTH_MAX {
                facts.problems.push(format!(
                    "{path}: deeper than {PKI_DEPTH_MAX} levels; not read"
                ));
            } else {
                walk_pki(host, &path, depth + 1, facts);
            }
        }
    }
}

/// What an EncryptionConfiguration says about secrets (never its keys).
#[derive(Debug, Clone)]
pub struct EncryptionFacts {
    pub file: FileFact,
    /// The first provider for `secrets` and its line, or why the file is unusable.
    pub first_secret_provider: Result<Option<(String, u32)>, String>,
}

/// Reads an EncryptionConfiguration: only provider names are kept, never `keys[].secret`.
pub fn encryption_config(host: &Host, path: &str) -> EncryptionFacts {
    let file = FileFact::stat(host, path);
    let first_secret_provider = (|| {
        let text = host
            .read_text(path, MANIFEST_CAP, Content::EncryptionConfig)
            .map_err(|e| e.to_string())?;
        let doc = yaml::parse(&text).map_err(|e| format!("malformed YAML at {e}"))?;
        let kind = doc.get("kind").and_then(Node::as_str);
        if kind != Some("EncryptionConfiguration") && kind != Some("EncryptionConfig") {
            return Err(format!(
                "not an EncryptionConfiguration (kind is {})",
                kind.unwrap_or("missing")
            ));
        }
        let Some(resources) = doc.get("resources").and_then(Node::as_seq) else {
            return Err("no resources list".into());
        };
        for entry in resources {
            let names = entry
                .get("resources")
                .and_then(Node::as_seq)
                .unwrap_or_default();
            let covers_secrets = names
                .iter()
                .filter_map(Node::as_str)
                .any(|r| r == "secrets" || r == "*.*" || r == "*.");
            if !covers_secrets {
                continue;
            }
            let first = entry
                .get("providers")
                .and_then(Node::as_seq)
                .and_then(|p| p.first())
                .and_then(|p| match &p.value {
                    Value::Map(entries) => entries
                        .first()
                        .map(|(name, node)| (name.clone(), node.line)),
                    _ => None,
                });
            return Ok(first);
        }
        Ok(None)
    })();
    EncryptionFacts {
        file,
        first_secret_provider,
    }
}

/// What k3s passes to its embedded kube-apiserver (k3s `pkg/daemons/control/server.go`, as its
/// `Running kube-apiserver …` log line shows from v1.25.6/v1.24.10/v1.23.16, when k3s began
/// passing its cipher suites). The datastore flags depend on the configuration:
/// [`k3s_apiserver_args`].
const K3S_APISERVER_ARGS: &[&str] = &[
    "--allow-privileged=true",
    "--anonymous-auth=false",
    "--authorization-mode=Node,RBAC",
    "--bind-address=127.0.0.1",
    "--secure-port=6444",
    "--client-ca-file=$DATA/server/tls/client-ca.crt",
    "--enable-admission-plugins=NodeRestriction",
    "--kubelet-certificate-authority=$DATA/server/tls/server-ca.crt",
    "--kubelet-client-certificate=$DATA/server/tls/client-kube-apiserver.crt",
    "--kubelet-client-key=$DATA/server/tls/client-kube-apiserver.key",
    "--profiling=false",
    "--proxy-client-cert-file=$DATA/server/tls/client-auth-proxy.crt",
    "--proxy-client-key-file=$DATA/server/tls/client-auth-proxy.key",
    "--requestheader-client-ca-file=$DATA/server/tls/request-header-ca.crt",
    "--service-account-key-file=$DATA/server/tls/service.key",
    "--service-account-signing-key-file=$DATA/server/tls/service.current.key",
    "--storage-backend=etcd3",
    "--tls-cert-file=$DATA/server/tls/serving-kube-apiserver.crt",
    "--tls-private-key-file=$DATA/server/tls/serving-kube-apiserver.key",
    // k3s `pkg/cli/server/server.go` appends these when the user names none.
    "--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];

/// The arguments k3s passes to its embedded kube-apiserver on this node: the fixed ones, the
/// datastore it was given (an `http(s)://` endpoint is etcd the API server dials with the
/// `datastore-*file` credentials; its embedded etcd is dialled over TLS with the certificates
/// k3s writes; any other datastore is served through kine's local socket), and the secrets
/// encryption it was asked for.
fn k3s_apiserver_args(host: &Host, config: &super::k3s::K3sConfig) -> Vec<String> {
    let mut args: Vec<String> = K3S_APISERVER_ARGS.iter().map(|a| a.to_string()).collect();
    let endpoint = config
        .last_value("datastore-endpoint")
        .map(|(v, _)| v.as_str());
    let embedded_etcd = config.flag("cluster-init")
        || host.exists(&format!("{}/server/db/etcd/config", config.data_dir()));
    match endpoint {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            args.push(format!("--etcd-servers={url}"));
            for (key, flag) in [
                ("datastore-cafile", "etcd-cafile"),
                ("datastore-certfile", "etcd-certfile"),
                ("datastore-keyfile", "etcd-keyfile"),
            ] {
                if let Some((path, _)) = config.last_value(key) {
                    args.push(format!("--{flag}={path}"));
                }
            }
        }
        None if embedded_etcd => args.extend([
            "--etcd-servers=https://127.0.0.1:2379".to_string(),
            "--etcd-cafile=$DATA/server/tls/etcd/server-ca.crt".to_string(),
            "--etcd-certfile=$DATA/server/tls/etcd/client.crt".to_string(),
            "--etcd-keyfile=$DATA/server/tls/etcd/client.key".to_string(),
        ]),
        _ => args.push("--etcd-servers=unix://kine.sock".to_string()),
    }
    if config.flag("secrets-encryption") {
        args.push("--encryption-provider-config=$DATA/server/cred/encryption-config.json".into());
    }
    args
}

/// Gathers the apiserver's facts: the process; else its static pod manifest (the first of
/// `manifest_dirs` that holds one); else the k3s server that runs it in-process, with the
/// arguments k3s passes to it and the user's `kube-apiserver-arg` entries.
pub fn apiserver(
    host: &Host,
    processes: &[Process],
    manifest_dirs: &[String],
    k3s_config: Option<&super::k3s::K3sConfig>,
) -> Option<ApiServerFacts> {
    let process = processes
        .iter()
        .find(|p| p.program() == "kube-apiserver" || p.comm == "kube-apiserver");
    let manifest = find_manifest(host, manifest_dirs, "kube-apiserver");
    let k3s = processes.iter().find(|p| p.comm == "k3s-server");
    let args = match (process, &manifest, k3s) {
        (Some(p), _, _) => from_process(p, &APISERVER_SYNTAX, 1),
        (None, Some(path), _) => manifest_args(host, path, &APISERVER_SYNTAX),
        (None, None, Some(k3s)) => {
            let empty = super::k3s::K3sConfig::default();
            let config = k3s_config.unwrap_or(&empty);
            if config.flag("disable-apiserver") {
                return None;
            }
            config.recovered_args(
                "kube-apiserver",
                k3s,
                &k3s_apiserver_args(host, config),
                "kube-apiserver-arg",
                &APISERVER_SYNTAX,
            )
        }
        (None, None, None) => return None,
    };
    let args = merge_slices(args, APISERVER_SLICE_FLAGS);
    let encryption = args
        .value("encryption-provider-config")
        .map(|(path, _)| encryption_config(host, path));
    let audit_policy_file = args
        .value("audit-policy-file")
        .map(|(path, _)| FileFact::stat(host, path));
    let named_file = |flag: &str| {
        args.value(flag)
            .filter(|(path, _)| !path.is_empty())
            .map(|(path, _)| FileFact::stat(host, path))
    };
    let client_ca_file = named_file("client-ca-file");
    let admission_config_file = named_file("admission-control-config-file");
    let pki = pki(host, &args);
    let admin_kubeconfigs = ADMIN_KUBECONFIGS
        .iter()
        .filter(|p| host.exists_unfollowed(p))
        .map(|p| FileFact::stat(host, p))
        .collect();
    Some(ApiServerFacts {
        manifest_file: manifest.map(|path| FileFact::stat(host, &path)),
        args,
        encryption,
        audit_policy_file,
        client_ca_file,
        admission_config_file,
        pki,
        admin_kubeconfigs,
    })
}

/// The etcd's facts.
#[derive(Debug, Clone)]
pub struct EtcdFacts {
    pub args: ComponentArgs,
    /// Set when a `--config-file` replaced flags and variables.
    pub config_file: Option<String>,
    pub data_dir: Option<(String, Source)>,
    pub data_dir_file: Option<FileFact>,
    /// The user etcd runs as (effective uid), named from the host's passwd.
    pub run_as: Option<(u32, String)>,
    pub manifest_file: Option<FileFact>,
    /// TLS private keys it names.
    pub key_files: Vec<FileFact>,
    /// Whether this etcd is embedded in k3s.
    pub embedded_in_k3s: bool,
}

/// `ETCD_*` variables of a process as flags (`ETCD_CERT_FILE` → `cert-file`); nothing else of
/// the environment is kept.
fn etcd_environment(host: &Host, pid: u32) -> Vec<(Flag, Source)> {
    super::process::environment(host, pid, |key| {
        key.starts_with("ETCD_") && key != "ETCD_UNSUPPORTED_ARCH"
    })
    .into_iter()
    .map(|(key, value)| {
        let setting = key.strip_prefix("ETCD_").unwrap_or(&key);
        let name = setting.to_ascii_lowercase().replace('_', "-");
        (
            Flag {
                name,
                spelled: format!("{key}={value}"),
                value,
            },
            Source::Flag {
                flag: format!("environment {key}"),
                pid,
            },
        )
    })
    .collect()
}

/// An etcd YAML config file as flags (`client-transport-security.cert-file` → `cert-file`).
pub fn etcd_config_file(host: &Host, path: &str) -> Result<Vec<(Flag, Source)>, String> {
    let text = host
        .read_text(path, MANIFEST_CAP, Content::EtcdConfig)
        .map_err(|e| e.to_string())?;
    let doc = yaml::parse(&text).map_err(|e| format!("{path}: malformed YAML at {e}"))?;
    let Value::Map(entries) = &doc.value else {
        return Err(format!(
            "{path}: not an etcd configuration (expected a mapping)"
        ));
    };
    let mut out = Vec::new();
    let mut push = |name: String, node: &Node| {
        if let Some(value) = node.scalar_text() {
            out.push((
                Flag {
                    spelled: format!("{name}: {value}"),
                    name,
                    value,
                },
                Source::file(path, Some(node.line)),
            ));
        }
    };
    for (key, node) in entries {
        match (key.as_str(), &node.value) {
            ("client-transport-security", Value::Map(inner)) => {
                for (k, v) in inner {
                    push(k.clone(), v);
                }
            }
            ("peer-transport-security", Value::Map(inner)) => {
                for (k, v) in inner {
                    push(format!("peer-{k}"), v);
                }
            }
            _ => push(key.clone(), node),
        }
    }
    Ok(out)
}

/// Gathers the etcd's facts: the process (flags, variables, or its config file), k3s's
/// embedded etcd config, else the static pod manifest.
pub fn etcd(host: &Host, processes: &[Process], manifest_dirs: &[String]) -> Option<EtcdFacts> {
    let process = processes
        .iter()
        .find(|p| p.program() == "etcd" || p.comm == "etcd");
    let k3s = processes.iter().find(|p| p.comm == "k3s-server");
    let manifest = find_manifest(host, manifest_dirs, "etcd");
    let mut embedded_in_k3s = false;
    let mut config_file = None;
    let mut args = match (process, k3s) {
        (Some(p), _) => {
            let cli = from_process(p, &ETCD_SYNTAX, 1);
            // Flags beat variables: variables first, so the last occurrence is the flag.
            let mut args = ComponentArgs {
                pid: cli.pid,
                origin: cli.origin.clone(),
                ..ComponentArgs::default()
            };
            for (flag, source) in etcd_environment(host, p.pid) {
                args.push(flag, source);
            }
            for (flag, source) in cli.flags.flags.into_iter().zip(cli.sources) {
                args.push(flag, source);
            }
            args.flags.positional = cli.flags.positional;
            args
        }
        (None, Some(p)) if host.exists(K3S_ETCD_CONFIG) => {
            embedded_in_k3s = true;
            ComponentArgs {
                pid: Some(p.pid),
                origin: format!(
                    "etcd embedded in k3s-server (pid {}), {K3S_ETCD_CONFIG}",
                    p.pid
                ),
                flags: Flags {
                    flags: vec![Flag {
                        name: "config-file".into(),
                        value: K3S_ETCD_CONFIG.into(),
                        spelled: format!("--config-file={K3S_ETCD_CONFIG}"),
                    }],
                    ..Flags::default()
                },
                sources: vec![Source::default_value("k3s's embedded etcd configuration")],
                problems: Vec::new(),
            }
        }
        (None, _) => match &manifest {
            Some(path) => manifest_args(host, path, &ETCD_SYNTAX),
            None => return None,
        },
    };
    // With --config-file, etcd ignores every other flag and variable.
    if let Some((path, _)) = args.value("config-file") {
        let path = path.to_string();
        match etcd_config_file(host, &path) {
            Ok(entries) => {
                let mut replaced = ComponentArgs {
                    pid: args.pid,
                    origin: format!("{} (--config-file {path})", args.origin),
                    ..ComponentArgs::default()
                };
                for (flag, source) in entries {
                    replaced.push(flag, source);
                }
                args = replaced;
            }
            Err(problem) => args.problems.push(problem),
        }
        config_file = Some(path);
    }
    let cwd = process
        .and_then(|p| p.cwd.clone())
        .unwrap_or_else(|| "/".into());
    let data_dir = match args.value("data-dir") {
        Some((dir, source)) => Some((absolute(&cwd, dir), source.clone())),
        None if process.is_some() => {
            let name = args.value("name").map_or("default", |(n, _)| n);
            Some((
                absolute(&cwd, &format!("{name}.etcd")),
                Source::default_value(
                    "etcd default data dir ${name}.etcd in its working directory",
                ),
            ))
        }
        None => None,
    };
    let data_dir_file = data_dir.as_ref().map(|(d, _)| FileFact::stat(host, d));
    let run_as = process.map(|p| (p.uids[1], host.users().user_label(p.uids[1])));
    let key_files = ["key-file", "peer-key-file"]
        .iter()
        .filter_map(|k| args.value(k).map(|(path, _)| FileFact::stat(host, path)))
        .collect();
    Some(EtcdFacts {
        manifest_file: manifest.map(|path| FileFact::stat(host, &path)),
        args,
        config_file,
        data_dir,
        data_dir_file,
        run_as,
        key_files,
        embedded_in_k3s,
    })
}

fn absolute(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", cwd.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    #[test]
    fn manifests_give_flags_with_lines_and_refuse_non_pods() {
        let root = TempRoot::new();
        root.file(
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --authorization-mode=Node,RBAC\n    - --kubelet-client-certificate=/x\n    - \"--profiling=false\"\n",
            0o600,
        )
        .file("not-a-pod.yaml", "apiVersion: v1\nkind: ConfigMap\n", 0o600);
        let host = root.host();
        let args = from_manifest(
            &host,
            "/etc/kubernetes/manifests/kube-apiserver.yaml",
            &APISERVER_SYNTAX,
        )
        .expect("pod");
        let (modes, source) = args.list("authorization-mode").expect("set");
        assert_eq!(modes, ["Node", "RBAC"]);
        assert_eq!(
            source.to_string(),
            "/etc/kubernetes/manifests/kube-apiserver.yaml:7"
        );
        assert_eq!(args.bool("profiling").map(|(b, _)| b), Some(Some(false)));
        assert!(args.value("client-certificate").is_none());
        // `args` without `command`: every item is an argument, the first one too.
        root.file(
            "args-only.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - args:\n    - --token-auth-file=/etc/t.csv\n    - --profiling=false\n",
            0o600,
        );
        let args = from_manifest(&host, "/args-only.yaml", &APISERVER_SYNTAX).expect("pod");
        assert_eq!(
            args.value("token-auth-file").map(|(v, _)| v),
            Some("/etc/t.csv")
        );
        let err =
            from_manifest(&host, "/not-a-pod.yaml", &APISERVER_SYNTAX).expect_err("not a pod");
        assert!(
            err.contains("not a Pod manifest (kind is ConfigMap)"),
            "{err}"
        );
    }

    #[test]
    fn etcd_flags_beat_variables_and_config_file_replaces_both() {
        let root = TempRoot::new();
        root.file(
            "proc/77/environ",
            "PATH=/bin\0ETCD_CLIENT_CERT_AUTH=false\0ETCD_DATA_DIR=/var/lib/etcd\0SECRET=hunter2\0",
            0o400,
        )
        .file(
            "etc/etcd.yaml",
            "data-dir: /data\nclient-transport-security:\n  cert-file: /c.crt\n  client-cert-auth: true\npeer-transport-security:\n  auto-tls: true\n",
            0o600,
        );
        let host = root.host();
        let p = Process {
            pid: 77,
            comm: "etcd".into(),
            argv: vec![
                "etcd".into(),
                "--client-cert-auth".into(),
                "--name=m1".into(),
            ],
            cwd: Some("/var/lib".into()),
            ..Process::default()
        };
        let facts = etcd(&host, std::slice::from_ref(&p), &[]).expect("etcd");
        assert_eq!(
            facts.args.bool("client-cert-auth").map(|(b, _)| b),
            Some(Some(true))
        );
        assert_eq!(
            facts.data_dir.as_ref().map(|(d, _)| d.as_str()),
            Some("/var/lib/etcd")
        );
        assert!(facts.args.value("secret").is_none() && facts.args.value("path").is_none());
        let with_config = Process {
            argv: vec![
                "etcd".into(),
                "--config-file=/etc/etcd.yaml".into(),
                "--auto-tls".into(),
            ],
            ..p
        };
        let facts = etcd(&host, &[with_config], &[]).expect("etcd");
        assert_eq!(facts.config_file.as_deref(), Some("/etc/etcd.yaml"));
        assert_eq!(
            facts.args.value("cert-file").map(|(v, _)| v),
            Some("/c.crt")
        );
        assert_eq!(
            facts.args.value("peer-auto-tls").map(|(v, _)| v),
            Some("true")
        );
        assert!(
            facts.args.value("auto-tls").is_none(),
            "the flag is ignored with --config-file"
        );
        assert_eq!(
            facts.data_dir.as_ref().map(|(d, _)| d.as_str()),
            Some("/data")
        );
    }

    #[test]
    fn encryption_config_keeps_provider_names_only() {
        let root = TempRoot::new();
        root.file(
            "enc.yaml",
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources:\n  - secrets\n  providers:\n  - identity: {}\n  - aescbc:\n      keys:\n      - name: k1\n        secret: c2VjcmV0\n",
            0o600,
        );
        let host = root.host();
        let facts = encryption_config(&host, "/enc.yaml");
        assert_eq!(
            facts.first_secret_provider,
            Ok(Some(("identity".into(), 7)))
        );
        assert!(!format!("{facts:?}").contains("c2VjcmV0"));
    }

    fn k3s_server() -> Process {
        Process {
            pid: 7,
            comm: "k3s-server".into(),
            argv: vec!["/usr/local/bin/k3s server".into()],
            ..Process::default()
        }
    }

    fn embedded_apiserver(root: &TempRoot) -> Option<ApiServerFacts> {
        let host = root.host();
        let processes = [k3s_server()];
        let config = super::super::k3s::config_if_running(&host, &processes);
        let dirs = super::super::components::manifest_dirs(None);
        apiserver(&host, &processes, &dirs, config.as_ref())
    }

    fn value(facts: &ApiServerFacts, flag: &str) -> Option<String> {
        facts.args.value(flag).map(|(v, _)| v.to_string())
    }

    #[test]
    fn k3s_apiserver_is_recovered_with_its_datastore_and_the_users_arguments_last() {
        // kine (no etcd, no endpoint): a local socket, no etcd credentials.
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "kube-apiserver-arg:\n  - anonymous-auth=true\n",
            0o600,
        );
        let facts = embedded_apiserver(&root).expect("embedded");
        assert_eq!(facts.args.pid, Some(7));
        assert_eq!(
            value(&facts, "etcd-servers").as_deref(),
            Some("unix://kine.sock")
        );
        assert_eq!(value(&facts, "etcd-cafile"), None);
        let (anonymous, source) = facts.args.value("anonymous-auth").expect("set");
        assert_eq!(anonymous, "true");
        assert_eq!(source.to_string(), "/etc/rancher/k3s/config.yaml:2");
        let (_, source) = facts.args.value("profiling").expect("set");
        assert!(source.to_string().contains("recovered"), "{source}");
        assert_eq!(
            value(&facts, "client-ca-file").as_deref(),
            Some("/var/lib/rancher/k3s/server/tls/client-ca.crt")
        );
        assert_eq!(value(&facts, "encryption-provider-config"), None);
        assert!(
            facts
                .pki
                .is_some_and(|p| p.dir == "/var/lib/rancher/k3s/server/tls")
        );

        // Embedded etcd, another data directory, secrets encryption.
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "data-dir: /srv/k3s\nsecrets-encryption: true\n",
            0o600,
        )
        .file("srv/k3s/server/db/etcd/config", "name: n\n", 0o600);
        let facts = embedded_apiserver(&root).expect("embedded");
        assert_eq!(
            value(&facts, "etcd-servers").as_deref(),
            Some("https://127.0.0.1:2379")
        );
        assert_eq!(
            value(&facts, "etcd-certfile").as_deref(),
            Some("/srv/k3s/server/tls/etcd/client.crt")
        );
        assert_eq!(
            value(&facts, "encryption-provider-config").as_deref(),
            Some("/srv/k3s/server/cred/encryption-config.json")
        );

        // An external etcd with the user's credentials; a PostgreSQL endpoint goes through kine.
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "datastore-endpoint: https://10.0.0.5:2379\ndatastore-cafile: /etc/etcd/ca.crt\n",
            0o600,
        );
        let facts = embedded_apiserver(&root).expect("embedded");
        assert_eq!(
            value(&facts, "etcd-servers").as_deref(),
            Some("https://10.0.0.5:2379")
        );
        assert_eq!(
            value(&facts, "etcd-cafile").as_deref(),
            Some("/etc/etcd/ca.crt")
        );
        assert_eq!(value(&facts, "etcd-certfile"), None);
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "datastore-endpoint: postgres://k3s@db:5432/k3s\n",
            0o600,
        );
        let facts = embedded_apiserver(&root).expect("embedded");
        assert_eq!(
            value(&facts, "etcd-servers").as_deref(),
            Some("unix://kine.sock")
        );

        // A server with its API server disabled has none to judge.
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "disable-apiserver: true\n",
            0o600,
        );
        assert!(embedded_apiserver(&root).is_none());
    }

    #[test]
    fn rke2_static_pods_are_found_in_its_manifest_directory() {
        let root = TempRoot::new();
        root.file(
            "var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --profiling=false\n",
            0o600,
        )
        .file(
            "var/lib/rancher/rke2/agent/pod-manifests/etcd.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - etcd\n    - --client-cert-auth=true\n",
            0o600,
        );
        let host = root.host();
        let dirs = super::super::components::manifest_dirs(None);
        let api = apiserver(&host, &[], &dirs, None).expect("manifest");
        assert_eq!(
            api.manifest_file.map(|f| f.path).as_deref(),
            Some("/var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml")
        );
        assert_eq!(api.args.value("profiling").map(|(v, _)| v), Some("false"));
        let etcd = etcd(&host, &[], &dirs).expect("manifest");
        assert!(etcd.manifest_file.is_some());
        assert_eq!(
            etcd.args.value("client-cert-auth").map(|(v, _)| v),
            Some("true")
        );
    }

    #[test]
    fn a_manifest_is_found_by_what_it_runs_in_the_kubelets_static_pod_path() {
        let pod = |program: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n    command:\n    - /usr/local/bin/{program}\n    - --profiling=false\n"
            )
        };
        let root = TempRoot::new();
        root.file("etc/kubelet.d/apiserver.yml", &pod("kube-apiserver"), 0o666)
            .file("etc/kubelet.d/.hidden.yaml", &pod("etcd"), 0o600)
            .file("etc/kubelet.d/other.yaml", &pod("kube-scheduler"), 0o600)
            .file(
                "etc/kubernetes/apiserver-pod.yaml",
                &pod("kube-apiserver"),
                0o600,
            );
        let host = root.host();
        let dirs = vec!["/etc/kubelet.d".to_string()];
        assert_eq!(
            find_manifest(&host, &dirs, "kube-apiserver").as_deref(),
            Some("/etc/kubelet.d/apiserver.yml")
        );
        assert_eq!(
            find_manifest(&host, &dirs, "kube-scheduler").as_deref(),
            Some("/etc/kubelet.d/other.yaml")
        );
        // The kubelet skips hidden files.
        assert_eq!(find_manifest(&host, &dirs, "etcd"), None);
        // staticPodPath may be one file.
        let file = vec!["/etc/kubernetes/apiserver-pod.yaml".to_string()];
        assert_eq!(
            find_manifest(&host, &file, "kube-apiserver").as_deref(),
            Some("/etc/kubernetes/apiserver-pod.yaml")
        );
        assert_eq!(find_manifest(&host, &file, "etcd"), None);
    }
}

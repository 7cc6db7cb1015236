//! What a k3s node's own configuration says about the components k3s runs in-process.
//!
//! k3s overwrites its argv, so what the user asked of its embedded components is read where k3s
//! reads it (`pkg/configfilearg`, urfave/cli):
//! - the configuration file: `$K3S_CONFIG_FILE`, else `--config`/`-c` of the unit's command line,
//!   else `/etc/rancher/k3s/config.yaml`; then every file of `<config>.d/` whose name ends in
//!   `.yaml` or `.yml` in any case (dot files too), in name order, a later file replacing a key
//!   an earlier one set and `key+:` appending to it; a value may be a list or one string;
//! - the command line of the systemd unit that starts this k3s (`ExecStart=`, after the unit's
//!   drop-ins, quoted words kept whole, k3s's own boolean flags taking no value), which comes
//!   after the file: it wins for one-value settings and adds to lists;
//! - the `K3S_*` variables of the running process for the settings that have one (datastore,
//!   data directory, configuration file, cluster-init), used only where nothing else sets them.
//!
//! A file that cannot be read or parsed, a configuration too large to hold, or a k3s that runs
//! in a container (whose files are not the host's) is a problem to report, never an empty
//! configuration. [`K3sConfig::recovered_args`] then combines k3s's own arguments with the
//! user's the way k3s's `GetArgs` does.

use super::control_plane::ComponentArgs;
use crate::host::{Content, Host};
use crate::parse::flags::{self, FlagSyntax};
use crate::parse::yaml::{self, Node, Value};
use nodecheck_report::Source;

pub const CONFIG: &str = "/etc/rancher/k3s/config.yaml";
/// The data directory of a k3s run as root, unless `data-dir` says otherwise.
pub const DATA_DIR: &str = "/var/lib/rancher/k3s";
/// The units the k3s installer writes (`k3s-<name>` with `INSTALL_K3S_NAME`).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];
const CAP: u64 = 1024 * 1024;
/// Values held from all k3s configuration sources together: far above any real node (a few
/// dozen), low enough that a drop-in directory of huge lists cannot exhaust memory.
pub const VALUES_MAX: usize = 4096;

/// k3s's boolean flags (server and agent, `pkg/cli/cmds`): on a command line a bare one takes
/// no value, so the word after it is the next flag.
const BOOL_FLAGS: &[&str] = &[
    "debug",
    "alsologtostderr",
    "tls-san-security",
    "flannel-ipv6-masq",
    "flannel-external-ip",
    "cluster-init",
    "cluster-reset",
    "kine-tls",
    "etcd-expose-metrics",
    "etcd-disable-snapshots",
    "etcd-snapshot-compress",
    "etcd-s3",
    "etcd-s3-skip-ssl-verify",
    "etcd-s3-insecure",
    "disable-scheduler",
    "disable-cloud-controller",
    "disable-kube-proxy",
    "disable-network-policy",
    "disable-helm-controller",
    "disable-apiserver",
    "disable-controller-manager",
    "disable-etcd",
    "embedded-registry",
    "supervisor-metrics",
    "with-node-id",
    "docker",
    "disable-default-registry-endpoint",
    "nonroot-devices",
    "protect-kernel-defaults",
    "secrets-encryption",
    "enable-pprof",
    "rootless",
    "prefer-bundled-bin",
    "selinux",
    "disable-agent",
    "disable-apiserver-lb",
    "no-flannel",
    "disable-selinux",
];

/// One-letter aliases of the settings read here.
const ALIASES: &[(&str, &str)] = &[("d", "data-dir"), ("c", "config")];

/// The `K3S_*` variables read (the token and other secrets never are).
pub use crate::host::content::K3S_ENV_SETTINGS as ENV_SETTINGS;

fn canonical(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, name)| name)
}

/// The merged k3s configuration: each key's values with the line that set each.
#[derive(Debug, Clone, Default)]
pub struct K3sConfig {
    entries: Vec<(String, Vec<(String, Source)>)>,
    /// Files that exist and could not be read or parsed, and why the configuration may not be
    /// the one k3s runs with.
    pub problems: Vec<String>,
    /// k3s's working directory, against which a relative `data-dir` resolves.
    cwd: Option<String>,
    /// Values held, against [`VALUES_MAX`].
    held: usize,
}

impl K3sConfig {
    /// The values of a key, in order (a list flag such as `kube-proxy-arg`).
    pub fn values(&self, key: &str) -> &[(String, Source)] {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// A boolean key (`disable-kube-proxy`): its last value.
    pub fn flag(&self, key: &str) -> bool {
        self.values(key)
            .last()
            .and_then(|(v, _)| crate::parse::flags::parse_bool(v))
            .unwrap_or(false)
    }

    /// A scalar key (`data-dir`, `datastore-endpoint`): its last value, when set and not empty.
    pub fn last_value(&self, key: &str) -> Option<&(String, Source)> {
        self.values(key).last().filter(|(v, _)| !v.is_empty())
    }

    /// k3s's data directory: `data-dir` (or `-d`), made absolute against k3s's working
    /// directory as k3s does (`filepath.Abs`), else the default a root k3s uses.
    pub fn data_dir(&self) -> String {
        let Some((dir, _)) = self.last_value("data-dir") else {
            return DATA_DIR.to_string();
        };
        let absolute = if dir.starts_with('/') {
            dir.clone()
        } else {
            format!("{}/{dir}", self.cwd.as_deref().unwrap_or("/"))
        };
        let normal = crate::host::normalise_lexically(&absolute);
        if normal.is_empty() {
            "/".into()
        } else {
            normal
        }
    }

    /// The arguments of a component k3s runs in-process, which `/proc` cannot show (k3s
    /// overwrites its argv): what k3s passes (`passed`, `$DATA` standing for its data
    /// directory), then the user's `arg_key` entries, which k3s appends so that theirs win.
    /// Each keeps its source: k3s's defaults are marked as recovered, the user's carry their
    /// file and line.
    pub fn recovered_args(
        &self,
        name: &str,
        k3s: &super::Process,
        passed: &[String],
        arg_key: &str,
        syntax: &FlagSyntax,
    ) -> ComponentArgs {
        let data = self.data_dir();
        let mut args = ComponentArgs {
            pid: Some(k3s.pid),
            origin: format!("{name} embedded in {} (pid {})", k3s.comm, k3s.pid),
            ..ComponentArgs::default()
        };
        args.problems.extend(
            self.problems
                .iter()
                .map(|p| format!("k3s configuration: {p}")),
        );
        let recovered = Source::default_value(format!(
            "passed by k3s to its embedded {name} (recovered: k3s overwrites its argv)"
        ));
        let initial: Vec<(String, String, Source)> = passed
            .iter()
            .map(|arg| {
                let arg = arg.replace("$DATA", &data);
                let (key, value) = split_arg(&arg);
                (key, value, recovered.clone())
            })
            .collect();
        for (word, source) in get_args(initial, self.values(arg_key)) {
            let parsed = flags::parse(std::slice::from_ref(&word), syntax);
            for flag in parsed.flags {
                args.flags.flags.push(flag);
                args.sources.push(source.clone());
            }
        }
        args
    }

    fn set(&mut self, key: &str, mut values: Vec<(String, Source)>, append: bool) {
        let key = canonical(key);
        let room = VALUES_MAX.saturating_sub(self.held);
        if values.len() > room {
            values.truncate(room);
            if !self.problems.iter().any(|p| p.starts_with("more than")) {
                self.problems.push(format!(
                    "more than {VALUES_MAX} values in the k3s configuration; the rest unread"
                ));
            }
        }
        self.held += values.len();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, existing)) if append => existing.extend(values),
            Some((_, existing)) => *existing = values,
            None => self.entries.push((key.to_string(), values)),
        }
    }
}

fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::Map(_) | Value::Seq(_) => None,
        _ => node.scalar_text(),
    }
}

fn read_file(host: &Host, path: &str, config: &mut K3sConfig) {
    let text = match host.read_text(path, CAP, Content::K3sConfig) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return,
        Err(e) => {
            config.problems.push(e.to_string());
            return;
        }
    };
    let text = text.trim_start_matches('\u{feff}');
    let doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            config
                .problems
                .push(format!("{path}: malformed YAML at {e}"));
            return;
        }
    };
    let Value::Map(entries) = &doc.value else {
        if !matches!(doc.value, Value::Null) {
            config.problems.push(format!(
                "{path}: not a k3s configuration (expected a mapping)"
            ));
        }
        return;
    };
    for (key, node) in entries {
        let (name, append) = match key.strip_suffix('+') {
            Some(name) => (name, true),
            None => (key.as_str(), false),
        };
        let values: Vec<(String, Source)> = match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| scalar(item).map(|v| (v, Source::file(path, Some(item.line)))))
                .collect(),
            _ => scalar(node)
                .map(|v| vec![(v, Source::file(path, Some(node.line)))])
                .unwrap_or_default(),
        };
        config.set(name, values, append);
    }
}

/// `key=value` of one k3s argument, one leading `--` dropped; a bare key is `true`.
pub fn split_arg(arg: &str) -> (String, String) {
    let arg = arg.strip_prefix("--").unwrap_or(arg);
    match arg.split_once('=') {
        Some((key, value)) => (key.to_string(), value.to_string()),
        None => (arg.to_string(), "true".to_string()),
    }
}

/// k3s's `GetArgs` (`pkg/util/args.go`): the user's `key=value` replaces what k3s passes for
/// that key, `key+=value` appends to it and `key-=value` puts itself first; repeated keys keep
/// every value in order; the words come out sorted by key, as `--key=value`.
pub fn get_args<S: Clone>(
    initial: Vec<(String, String, S)>,
    extra: &[(String, S)],
) -> Vec<(String, S)> {
    let mut initial: Vec<(String, (String, S))> = initial
        .into_iter()
        .map(|(key, value, source)| (key, (value, source)))
        .collect();
    let mut multi: Vec<(String, Vec<(String, S)>)> = Vec::new();
    for (arg, source) in extra {
        let (key, value) = split_arg(arg);
        let cleaned = key.trim_end_matches(['-', '+']).to_string();
        let first = initial
            .iter()
            .position(|(k, _)| *k == cleaned)
            .map(|i| initial.remove(i).1);
        let earlier = multi
            .iter()
            .position(|(k, _)| *k == cleaned)
            .map(|i| multi.remove(i).1)
            .unwrap_or_default();
        let mine = (value, source.clone());
        let values = if key.ends_with('+') {
            first.into_iter().chain(earlier).chain([mine]).collect()
        } else if key.ends_with('-') {
            [mine].into_iter().chain(first).chain(earlier).collect()
        } else {
            earlier.into_iter().chain([mine]).collect()
        };
        multi.push((cleaned, values));
    }
    multi.extend(initial.into_iter().map(|(k, v)| (k, vec![v])));
    multi.sort_by(|a, b| a.0.cmp(&b.0));
    multi
        .into_iter()
        .flat_map(|(key, values)| {
            values
                .into_iter()
                .map(move |(value, source)| (format!("--{key}={value}"), source))
        })
        .collect()
}

/// Words of a systemd command line: whitespace separates, single and double quotes keep a
/// word whole, a backslash escapes the next character (systemd.service "Command lines").
fn unit_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                    in_word = true;
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `ExecStart=` of a unit after its drop-ins (`<unit>.d/*.conf` in name order; an empty
/// `ExecStart=` clears the ones before), continuation lines joined.
fn unit_exec_start(host: &Host, unit: &str, config: &mut K3sConfig) -> Option<(String, String)> {
    let mut files = vec![unit.to_string()];
    let mut drop_ins = host.glob(&format!("{unit}.d/*.conf"));
    drop_ins.sort();
    files.extend(drop_ins);
    let mut exec: Option<(String, String)> = None;
    for file in files {
        let text = match host.read_text(&file, CAP, Content::Plain) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                config.problems.push(e.to_string());
                continue;
            }
        };
        for line in text.replace("\\\n", " ").lines() {
            let Some(value) = line.trim_start().strip_prefix("ExecStart=") else {
                continue;
            };
            let value = value.trim();
            exec = (!value.is_empty()).then(|| (value.to_string(), file.clone()));
        }
    }
    exec
}

/// The flags of the command line that started this k3s (`subcommand` is `server` or `agent`):
/// `--name=value`, `--name value`, and the single-dash forms urfave/cli also accepts.
fn unit_flags(
    host: &Host,
    subcommand: &str,
    config: &mut K3sConfig,
) -> Vec<(String, String, Source)> {
    let mut units: Vec<String> = Vec::new();
    for dir in UNIT_DIRS {
        let mut found = host.glob(&format!("{dir}/k3s*.service"));
        found.sort();
        units.extend(found);
    }
    let mut out = Vec::new();
    for unit in units {
        let Some((line, file)) = unit_exec_start(host, &unit, config) else {
            continue;
        };
        let words = unit_words(&line);
        // The unit of another k3s (an agent's beside a server's) is not this process's.
        let Some(start) = words.iter().position(|w| w == "server" || w == "agent") else {
            continue;
        };
        if words[start] != subcommand || !words[..start].iter().any(|w| w.contains("k3s")) {
            continue;
        }
        let mut i = start + 1;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None if !BOOL_FLAGS.contains(&flag) && i < words.len() => {
                    i += 1;
                    (flag.to_string(), words[i - 1].clone())
                }
                None => (flag.to_string(), "true".to_string()),
            };
            out.push((name, value, Source::file(file.clone(), None)));
        }
        break;
    }
    out
}

/// The k3s process names (their comm): `k3s-server`, `k3s-agent`.
pub const PROCESSES: &[&str] = &["k3s-server", "k3s-agent"];

/// The k3s configuration when a k3s process runs, read once for the whole scan.
pub fn config_if_running(host: &Host, processes: &[super::Process]) -> Option<K3sConfig> {
    let k3s = processes
        .iter()
        .find(|p| PROCESSES.contains(&p.comm.as_str()))?;
    // k3d and the rancher/k3s image run k3s as a container: in a pod's cgroup, or the child
    // of a container runtime's shim.
    let shim = processes.iter().any(|p| {
        p.pid == k3s.ppid
            && super::identity::LAUNCHERS.contains(&p.comm.as_str())
            && !PROCESSES.contains(&p.comm.as_str())
            && p.comm != "rke2"
    });
    let contained = shim || super::containers::placement(&k3s.cgroups).is_some();
    Some(config(host, k3s, contained))
}

/// The whitelisted `K3S_*` settings of a process's environment.
fn environment(host: &Host, pid: u32) -> Vec<(String, String, Source)> {
    super::process::environment(host, pid, |key| ENV_SETTINGS.iter().any(|(k, _)| *k == key))
        .into_iter()
        .filter_map(|(key, value)| {
            let (_, name) = ENV_SETTINGS.iter().find(|(k, _)| *k == key)?;
            let source = Source::Flag {
                flag: format!("environment {key}"),
                pid,
            };
            Some((name.to_string(), value, source))
        })
        .collect()
}

/// Reads the configuration the k3s process `k3s` runs with (`contained`: it runs in a
/// container, whose files are not the host's).
pub fn config(host: &Host, k3s: &super::Process, contained: bool) -> K3sConfig {
    let mut config = K3sConfig {
        cwd: k3s.cwd.clone(),
        ..K3sConfig::default()
    };
    if contained {
        config.problems.push(format!(
            "{} (pid {}) runs in a container (k3d, the rancher/k3s image): its configuration and command line are inside the container and hidden, so the arguments of its embedded components cannot be recovered from the host",
            k3s.comm, k3s.pid
        ));
        return config;
    }
    let subcommand = if k3s.comm == "k3s-agent" {
        "agent"
    } else {
        "server"
    };
    let cli = unit_flags(host, subcommand, &mut config);
    let env = environment(host, k3s.pid);
    let named = |list: &[(String, String, Source)], key: &str| {
        list.iter()
            .rev()
            .find(|(k, _, _)| canonical(k) == key)
            .map(|(_, v, _)| v.clone())
    };
    // $K3S_CONFIG_FILE beats --config (configfilearg reads the variable first).
    let path = named(&env, "config")
        .or_else(|| named(&cli, "config"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| CONFIG.to_string());
    read_file(host, &path, &mut config);
    let dir = format!("{path}.d");
    if let Ok(mut names) = host.list_dir(&dir) {
        names.sort();
        for name in names {
            // Past the cap, more files only cost time: the configuration is already partial.
            if config.held >= VALUES_MAX {
                break;
            }
            let lower = name.to_ascii_lowercase();
            let file = format!("{dir}/{name}");
            let is_dir = host
                .stat(&file)
                .is_ok_and(|m| m.kind == crate::host::EntryKind::Dir);
            if (lower.ends_with(".yaml") || lower.ends_with(".yml")) && !is_dir {
                read_file(host, &file, &mut config);
            }
        }
    }
    // The command line comes after the file: it wins for one value and adds to a list.
    for (name, value, source) in cli {
        config.set(&name, vec![(value, source)], true);
    }
    // A variable only seeds a setting nothing else gives.
    for (name, value, source) in env {
        if config.values(&name).is_empty() {
            config.set(&name, vec![(value, source)], false);
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Process;
    use crate::host::testing::TempRoot;

    fn server() -> Process {
        Process {
            pid: 7,
            comm: "k3s-server".into(),
            argv: vec!["/usr/local/bin/k3s server".into()],
            cwd: Some("/".into()),
            ..Process::default()
        }
    }

    fn values(config: &K3sConfig, key: &str) -> Vec<String> {
        config.values(key).iter().map(|(v, _)| v.clone()).collect()
    }

    #[test]
    fn files_merge_the_way_k3s_merges_them() {
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "\u{feff}kube-proxy-arg:\n  - metrics-bind-address=127.0.0.1:10249\nkube-scheduler-arg: bind-address=0.0.0.0\n",
            0o600,
        )
        .file(
            "etc/rancher/k3s/config.yaml.d/10-more.yml",
            "kube-proxy-arg+:\n  - v=2\ndisable-kube-proxy: true\n",
            0o600,
        )
        .file(
            "etc/rancher/k3s/config.yaml.d/20-replace.yaml",
            "kube-scheduler-arg: [profiling=true]\n",
            0o600,
        )
        // k3s reads dot files and any case of the suffix too.
        .file(
            "etc/rancher/k3s/config.yaml.d/.30-hidden.YML",
            "kube-apiserver-arg: [profiling=true]\n",
            0o600,
        )
        .file(
            "etc/systemd/system/k3s.service",
            "[Service]\nExecStart=/usr/local/bin/k3s \\\n    server \\\n    '--kube-controller-manager-arg' 'bind-address=0.0.0.0' \\\n    --disable-network-policy\n",
            0o644,
        );
        let config = config(&root.host(), &server(), false);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert_eq!(
            values(&config, "kube-proxy-arg"),
            ["metrics-bind-address=127.0.0.1:10249", "v=2"]
        );
        assert_eq!(values(&config, "kube-scheduler-arg"), ["profiling=true"]);
        assert_eq!(values(&config, "kube-apiserver-arg"), ["profiling=true"]);
        assert_eq!(
            values(&config, "kube-controller-manager-arg"),
            ["bind-address=0.0.0.0"]
        );
        assert!(config.flag("disable-kube-proxy"));
        assert!(config.flag("disable-network-policy"));
        assert!(!config.flag("disable-scheduler"));
    }

    #[test]
    fn the_units_command_line_is_read_as_systemd_and_k3s_read_it() {
        let root = TempRoot::new();
        // A boolean flag takes no value; quotes keep a word whole; a drop-in replaces
        // ExecStart after clearing it; single-dash flags count; the agent's unit is not this
        // server's.
        root.file(
            "etc/systemd/system/k3s.service",
            "[Service]\nExecStart=/usr/local/bin/k3s server --cluster-init --kube-apiserver-arg authorization-mode=AlwaysAllow\n",
            0o644,
        )
        .file(
            "etc/systemd/system/k3s.service.d/override.conf",
            "[Service]\nExecStart=\nExecStart=/usr/local/bin/k3s server --cluster-init --kube-apiserver-arg authorization-mode=AlwaysAllow --node-label \"note=see --disable-apiserver\" -d /srv/k3s\n",
            0o644,
        )
        .file(
            "etc/systemd/system/k3s-agent.service",
            "[Service]\nExecStart=/usr/local/bin/k3s agent --kube-apiserver-arg=anonymous-auth=true\n",
            0o644,
        );
        let config = config(&root.host(), &server(), false);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert!(config.flag("cluster-init"));
        assert_eq!(
            values(&config, "kube-apiserver-arg"),
            ["authorization-mode=AlwaysAllow"]
        );
        assert!(!config.flag("disable-apiserver"));
        assert_eq!(config.data_dir(), "/srv/k3s");
    }

    #[test]
    fn the_environment_the_config_flag_and_a_relative_data_dir() {
        let root = TempRoot::new();
        root.file(
            "proc/7/environ",
            "K3S_TOKEN=secret\0K3S_CONFIG_FILE=/etc/k3s/real.yaml\0K3S_DATASTORE_ENDPOINT=http://10.0.0.5:2379\0",
            0o400,
        )
        .file("etc/k3s/real.yaml", "data-dir: srv/k3s\nkube-apiserver-arg: [profiling=true]\n", 0o600)
        .file("etc/rancher/k3s/config.yaml", "kube-apiserver-arg: [profiling=false]\n", 0o600);
        let mut k3s = server();
        k3s.cwd = Some("/opt".into());
        let config = config(&root.host(), &k3s, false);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert_eq!(values(&config, "kube-apiserver-arg"), ["profiling=true"]);
        assert_eq!(
            values(&config, "datastore-endpoint"),
            ["http://10.0.0.5:2379"]
        );
        assert!(config.values("token").is_empty());
        assert_eq!(config.data_dir(), "/opt/srv/k3s");
    }

    #[test]
    fn a_containerised_k3s_and_an_oversized_configuration_are_problems() {
        let root = TempRoot::new();
        let mut k3s = server();
        k3s.cgroups = vec!["0::/kubepods/besteffort/pod0a1b/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into()];
        let contained =
            config_if_running(&root.host(), std::slice::from_ref(&k3s)).expect("k3s runs");
        assert!(
            contained
                .problems
                .iter()
                .any(|p| p.contains("runs in a container")),
            "{:?}",
            contained.problems
        );
        // The child of a container runtime's shim (k3d) is in a container too.
        let shim = Process {
            pid: 3,
            comm: "containerd-shim-runc-v2".into(),
            ..Process::default()
        };
        let mut k3s = server();
        k3s.ppid = 3;
        let contained = config_if_running(&root.host(), &[shim, k3s]).expect("k3s runs");
        assert!(!contained.problems.is_empty());
        let items: String = (0..VALUES_MAX + 10)
            .map(|i| format!("  - a{i}=b\n"))
            .collect();
        root.file(
            "etc/rancher/k3s/config.yaml",
            &format!("kube-apiserver-arg:\n{items}"),
            0o600,
        );
        let config = config(&root.host(), &server(), false);
        assert_eq!(config.values("kube-apiserver-arg").len(), VALUES_MAX);
        assert!(config.problems.iter().any(|p| p.contains("more than")));
    }

    #[test]
    fn unreadable_files_are_problems() {
        let root = TempRoot::new();
        root.file("etc/rancher/k3s/config.yaml", "key: [unclosed\n", 0o600);
        let config = config(&root.host(), &server(), false);
        assert_eq!(config.problems.len(), 1, "{:?}", config.problems);
    }

    #[test]
    fn arguments_combine_as_k3s_get_args_combines_them() {
        let initial = vec![
            ("anonymous-auth".to_string(), "false".to_string(), 0),
            ("authorization-mode".to_string(), "Node,RBAC".to_string(), 0),
            ("profiling".to_string(), "false".to_string(), 0),
        ];
        let extra = [
            ("anonymous-auth+=true".to_string(), 1),
            ("authorization-mode-=AlwaysAllow".to_string(), 2),
            ("profiling".to_string(), 3),
            ("v=2".to_string(), 4),
            ("v=4".to_string(), 5),
        ];
        let words: Vec<String> = get_args(initial, &extra)
            .into_iter()
            .map(|(w, s)| format!("{w}@{s}"))
            .collect();
        assert_eq!(
            words,
            [
                "--anonymous-auth=false@0",
                "--anonymous-auth=true@1",
                "--authorization-mode=AlwaysAllow@2",
                "--authorization-mode=Node,RBAC@0",
                "--profiling=true@3",
                "--v=2@4",
                "--v=4@5",
            ]
        );
    }
}

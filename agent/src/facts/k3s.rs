//! What a k3s node's own configuration says about the components k3s runs in-process.
//!
//! k3s overwrites its argv, so what the user asked of its embedded components is read where k3s
//! reads it (`pkg/configfilearg`): `/etc/rancher/k3s/config.yaml`, then `config.yaml.d/*.yaml`
//! and `*.yml` in name order, a later file replacing a key an earlier one set and `key+:`
//! appending to it; a value may be a list or one string. Flags on the command line of the
//! systemd unit (`ExecStart=/usr/local/bin/k3s server --kube-proxy-arg=…`) come last. A file that
//! cannot be read or parsed is a problem to report, never an empty configuration.

use super::control_plane::ComponentArgs;
use crate::host::{Content, Host};
use crate::parse::flags::{self, FlagSyntax};
use crate::parse::yaml::{self, Node, Value};
use nodecheck_report::Source;

pub const CONFIG: &str = "/etc/rancher/k3s/config.yaml";
pub const CONFIG_DIR: &str = "/etc/rancher/k3s/config.yaml.d";
/// The data directory of a k3s run as root, unless `data-dir` says otherwise.
pub const DATA_DIR: &str = "/var/lib/rancher/k3s";
/// The units the k3s installer writes.
pub const UNITS: &[&str] = &[
    "/etc/systemd/system/k3s.service",
    "/etc/systemd/system/k3s-agent.service",
];
const CAP: u64 = 1024 * 1024;

/// The merged k3s configuration: each key's values with the line that set each.
#[derive(Debug, Clone, Default)]
pub struct K3sConfig {
    entries: Vec<(String, Vec<(String, Source)>)>,
    /// Files that exist and could not be read or parsed.
    pub problems: Vec<String>,
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

    /// k3s's data directory: `data-dir`, else the default a root k3s uses.
    pub fn data_dir(&self) -> String {
        self.last_value("data-dir")
            .filter(|(v, _)| v.starts_with('/'))
            .map_or(DATA_DIR, |(v, _)| v.as_str())
            .trim_end_matches('/')
            .to_string()
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
        let words = passed
            .iter()
            .map(|a| (a.replace("$DATA", &data), recovered.clone()))
            .chain(self.values(arg_key).iter().map(|(arg, source)| {
                (format!("--{}", arg.trim_start_matches('-')), source.clone())
            }));
        for (word, source) in words {
            let parsed = flags::parse(std::slice::from_ref(&word), syntax);
            for flag in parsed.flags {
                args.flags.flags.push(flag);
                args.sources.push(source.clone());
            }
        }
        args
    }

    fn set(&mut self, key: &str, values: Vec<(String, Source)>, append: bool) {
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

/// `--name=value` and `--name value` words of a unit's `ExecStart=` (continuation lines
/// joined), after the `server`/`agent` subcommand.
fn unit_flags(host: &Host, path: &str, config: &mut K3sConfig) {
    let text = match host.read_text(path, CAP, Content::Plain) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return,
        Err(e) => {
            config.problems.push(e.to_string());
            return;
        }
    };
    let joined = text.replace("\\\n", " ");
    let Some(line) = joined
        .lines()
        .find(|l| l.trim_start().starts_with("ExecStart=") && l.contains("k3s"))
    else {
        return;
    };
    let words: Vec<String> = line
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '\'' || c == '"').to_string())
        .collect();
    let mut i = words
        .iter()
        .position(|w| w == "server" || w == "agent")
        .map_or(words.len(), |p| p + 1);
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(flag) = word.strip_prefix("--") else {
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            // A flag that takes an argument (`--kube-proxy-arg X`), or a bare boolean.
            None if name_takes_value(flag) && i < words.len() => {
                i += 1;
                (flag.to_string(), words[i - 1].clone())
            }
            None => (flag.to_string(), "true".to_string()),
        };
        config.set(&name, vec![(value, Source::file(path, None))], true);
    }
}

fn name_takes_value(flag: &str) -> bool {
    flag.ends_with("-arg") || !flag.starts_with("disable")
}

/// The k3s process names (their comm): `k3s-server`, `k3s-agent`.
pub const PROCESSES: &[&str] = &["k3s-server", "k3s-agent"];

/// The k3s configuration when a k3s process runs, read once for the whole scan.
pub fn config_if_running(host: &Host, processes: &[super::Process]) -> Option<K3sConfig> {
    processes
        .iter()
        .any(|p| PROCESSES.contains(&p.comm.as_str()))
        .then(|| config(host))
}

/// Reads the k3s configuration a node's k3s uses.
pub fn config(host: &Host) -> K3sConfig {
    let mut config = K3sConfig::default();
    read_file(host, CONFIG, &mut config);
    let mut drop_ins = host.glob(&format!("{CONFIG_DIR}/*.yaml"));
    drop_ins.extend(host.glob(&format!("{CONFIG_DIR}/*.yml")));
    drop_ins.sort();
    for file in drop_ins {
        read_file(host, &file, &mut config);
    }
    for unit in UNITS {
        unit_flags(host, unit, &mut config);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

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
        .file(
            "etc/systemd/system/k3s.service",
            "[Service]\nExecStart=/usr/local/bin/k3s \\\n    server \\\n    '--kube-controller-manager-arg' 'bind-address=0.0.0.0' \\\n    --disable-network-policy\n",
            0o644,
        );
        let config = config(&root.host());
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        let values = |key: &str| -> Vec<String> {
            config.values(key).iter().map(|(v, _)| v.clone()).collect()
        };
        assert_eq!(
            values("kube-proxy-arg"),
            ["metrics-bind-address=127.0.0.1:10249", "v=2"]
        );
        assert_eq!(values("kube-scheduler-arg"), ["profiling=true"]);
        assert_eq!(
            values("kube-controller-manager-arg"),
            ["bind-address=0.0.0.0"]
        );
        assert!(config.flag("disable-kube-proxy"));
        assert!(config.flag("disable-network-policy"));
        assert!(!config.flag("disable-scheduler"));
    }

    #[test]
    fn unreadable_files_are_problems() {
        let root = TempRoot::new();
        root.file("etc/rancher/k3s/config.yaml", "key: [unclosed\n", 0o600);
        let config = config(&root.host());
        assert_eq!(config.problems.len(), 1, "{:?}", config.problems);
    }
}

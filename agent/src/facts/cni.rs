//! The CNI configuration directory the container runtime really reads, and its files.
//!
//! The directory is the runtime's setting, not a fixed path: containerd's CRI plugin
//! `cni.conf_dir` (config version 2: `plugins."io.containerd.grpc.v1.cri"`, version 3 and later:
//! `plugins."io.containerd.cri.v1.runtime"`, where containerd 2 also migrates the old key), or
//! CRI-O's `[crio.network] network_dir` (`crio.conf`, then `crio.conf.d/*.conf` in name order,
//! each overriding), else the default `/etc/cni/net.d`. k3s's embedded flannel has containerd
//! read `/var/lib/rancher/k3s/agent/etc/cni/net.d`, which its generated containerd config says.

use super::{FileFact, Process};
use crate::host::{Content, Host};
use nodecheck_report::Source;

pub const DEFAULT_CONF_DIR: &str = "/etc/cni/net.d";
const CRIO_CONFIG: &str = "/etc/crio/crio.conf";
const CRIO_CONFIG_DIR: &str = "/etc/crio/crio.conf.d";
const CONFIG_CAP: u64 = 1024 * 1024;
/// Files of the directory judged at most (a node has a handful).
pub const FILES_MAX: usize = 256;
const DEPTH_MAX: usize = 3;

/// The CNI configuration directory and what is in it.
#[derive(Debug, Clone)]
pub struct CniFacts {
    pub conf_dir: String,
    /// Where the directory was said (the runtime's config line, or the default).
    pub source: Source,
    /// The directory itself, then its entries (sorted).
    pub entries: Vec<FileFact>,
    /// Why the facts are partial or uncertain (an unreadable runtime config, too many files).
    pub problems: Vec<String>,
}

/// `conf_dir` of a containerd config, by its version's key; `None` when it sets none.
fn containerd_conf_dir(text: &str) -> Result<Option<String>, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    let version = doc
        .get("version")
        .and_then(toml::Value::as_integer)
        .unwrap_or(1);
    let plugins = doc.get("plugins").and_then(toml::Value::as_table);
    let conf_dir = |plugin: &str| {
        plugins
            .and_then(|p| p.get(plugin))
            .and_then(|p| p.get("cni"))
            .and_then(|c| c.get("conf_dir"))
            .and_then(toml::Value::as_str)
            .map(str::to_string)
    };
    Ok(match version {
        // containerd 2 reads the new key and migrates the old one when the new is absent.
        v if v >= 3 => conf_dir("io.containerd.cri.v1.runtime")
            .or_else(|| conf_dir("io.containerd.grpc.v1.cri")),
        2 => conf_dir("io.containerd.grpc.v1.cri"),
        _ => conf_dir("cri"),
    })
}

/// The `imports` of a containerd config: files (globs) whose settings override the main
/// file's, in order.
fn containerd_imports(text: &str) -> Vec<String> {
    text.parse::<toml::Table>()
        .ok()
        .and_then(|doc| doc.get("imports").and_then(toml::Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(toml::Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `network_dir` of a CRI-O config file.
fn crio_network_dir(text: &str) -> Result<Option<String>, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    Ok(doc
        .get("crio")
        .and_then(|c| c.get("network"))
        .and_then(|n| n.get("network_dir"))
        .and_then(toml::Value::as_str)
        .map(str::to_string))
}

/// The CNI directory the last of a containerd config's imports sets, if any.
fn imported_conf_dir(
    host: &Host,
    main: &str,
    problems: &mut Vec<String>,
) -> Option<(String, Source)> {
    let mut found = None;
    for pattern in containerd_imports(main).iter().take(64) {
        let files = if pattern.contains(['*', '?', '[']) {
            host.glob(pattern)
        } else {
            vec![pattern.clone()]
        };
        for file in files {
            match host.read_text(&file, CONFIG_CAP, Content::RuntimeConfig) {
                Ok(text) => match containerd_conf_dir(&text) {
                    Ok(Some(dir)) => found = Some((dir, Source::file(file, None))),
                    Ok(None) => {}
                    Err(e) => problems.push(format!("{file}: not valid TOML: {e}")),
                },
                Err(e) if e.is_not_found() => {}
                Err(e) => problems.push(format!("containerd import: {e}")),
            }
        }
    }
    found
}

/// Finds the directory: from the running runtime's configuration, else the default.
fn conf_dir(host: &Host, processes: &[Process], problems: &mut Vec<String>) -> (String, Source) {
    let default = || {
        (
            DEFAULT_CONF_DIR.to_string(),
            Source::default_value("the CNI default configuration directory"),
        )
    };
    if let Some(containerd) = processes.iter().find(|p| p.program() == "containerd") {
        let path = super::runtime::containerd_config_path(containerd);
        return match host.read_text(&path, CONFIG_CAP, Content::RuntimeConfig) {
            Ok(text) => match containerd_conf_dir(&text) {
                Ok(main) => {
                    // An imported file that sets the directory overrides the main file.
                    let main = main.map(|dir| (dir, Source::file(path.clone(), None)));
                    imported_conf_dir(host, &text, problems)
                        .or(main)
                        .unwrap_or_else(|| {
                            (
                                DEFAULT_CONF_DIR.to_string(),
                                Source::default_value(format!(
                                    "containerd default ({path} sets no cni.conf_dir)"
                                )),
                            )
                        })
                }
                Err(e) => {
                    problems.push(format!("{path}: not valid TOML: {e}"));
                    default()
                }
            },
            Err(e) if e.is_not_found() => (
                DEFAULT_CONF_DIR.to_string(),
                Source::default_value(format!("containerd default (no {path})")),
            ),
            Err(e) => {
                problems.push(format!("containerd's configuration: {e}"));
                default()
            }
        };
    }
    if processes.iter().any(|p| p.program() == "crio") {
        let mut files = vec![CRIO_CONFIG.to_string()];
        files.extend(host.glob(&format!("{CRIO_CONFIG_DIR}/*.conf")));
        let mut found = default();
        for file in files {
            match host.read_text(&file, CONFIG_CAP, Content::RuntimeConfig) {
                Ok(text) => match crio_network_dir(&text) {
                    Ok(Some(dir)) => found = (dir, Source::file(file, None)),
                    Ok(None) => {}
                    Err(e) => problems.push(format!("{file}: not valid TOML: {e}")),
                },
                Err(e) if e.is_not_found() => {}
                Err(e) => problems.push(format!("CRI-O's configuration: {e}")),
            }
        }
        return found;
    }
    default()
}

/// Lists `dir` into `entries`, and its subdirectories (multus keeps a kubeconfig in
/// `multus.d/`) down to [`DEPTH_MAX`], at most [`FILES_MAX`] entries in all.
fn list(
    host: &Host,
    dir: &str,
    depth: usize,
    entries: &mut Vec<FileFact>,
    problems: &mut Vec<String>,
) {
    let mut names = match host.list_dir(dir) {
        Ok(names) => names,
        Err(e) if e.is_not_found() && depth == 1 => return,
        Err(e) => {
            problems.push(e.to_string());
            return;
        }
    };
    names.sort();
    for name in names {
        if entries.len() > FILES_MAX {
            problems.push(format!(
                "{dir}: more than {FILES_MAX} entries in the CNI directory; the rest unread"
            ));
            return;
        }
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        let entry = FileFact::stat(host, &path);
        let is_dir = entry
            .meta
            .as_ref()
            .is_ok_and(|m| m.kind == crate::host::EntryKind::Dir);
        entries.push(entry);
        if is_dir {
            if depth < DEPTH_MAX {
                list(host, &path, depth + 1, entries, problems);
            } else {
                problems.push(format!("{path}: deeper than {DEPTH_MAX} levels; not read"));
            }
        }
    }
}

/// Gathers the CNI configuration directory, when this node has one or runs a runtime.
pub fn gather(host: &Host, processes: &[Process]) -> Option<CniFacts> {
    let mut problems = Vec::new();
    let (conf_dir, source) = conf_dir(host, processes, &mut problems);
    let dir = FileFact::stat(host, &conf_dir);
    if dir.meta.as_ref().is_err_and(|e| e.is_not_found()) && problems.is_empty() {
        return None;
    }
    let mut entries = vec![dir];
    list(host, &conf_dir, 1, &mut entries, &mut problems);
    Some(CniFacts {
        conf_dir,
        source,
        entries,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    #[test]
    fn containerd_keys_by_config_version() {
        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\nconf_dir = \"/var/lib/rancher/k3s/agent/etc/cni/net.d\"\n";
        assert_eq!(
            containerd_conf_dir(v2),
            Ok(Some("/var/lib/rancher/k3s/agent/etc/cni/net.d".into()))
        );
        let v3 = "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.cni]\nconf_dir = '/opt/cni/conf'\n";
        assert_eq!(containerd_conf_dir(v3), Ok(Some("/opt/cni/conf".into())));
        // containerd 2 migrates the old key when the new one is absent.
        let migrated = v2.replace("version = 2", "version = 3");
        assert_eq!(
            containerd_conf_dir(&migrated),
            Ok(Some("/var/lib/rancher/k3s/agent/etc/cni/net.d".into()))
        );
        // Version 2 does not read version 3's key.
        let wrong = v3.replace("version = 3", "version = 2");
        assert_eq!(containerd_conf_dir(&wrong), Ok(None));
        assert!(containerd_conf_dir("version = [").is_err());
    }

    #[test]
    fn the_running_runtime_says_where() {
        let root = TempRoot::new();
        root.file(
            "etc/k3s-containerd.toml",
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\nconf_dir = \"/k3s/net.d\"\n",
            0o600,
        )
        .file("k3s/net.d/10-flannel.conflist", "{}", 0o644)
        .file("etc/cni/net.d/99-decoy.conf", "{}", 0o644);
        let host = root.host();
        let containerd = Process {
            pid: 5,
            comm: "containerd".into(),
            exe: Some("/usr/bin/containerd".into()),
            argv: vec![
                "containerd".into(),
                "-c".into(),
                "/etc/k3s-containerd.toml".into(),
            ],
            ..Process::default()
        };
        let facts = gather(&host, &[containerd]).expect("cni");
        assert_eq!(facts.conf_dir, "/k3s/net.d");
        let paths: Vec<&str> = facts.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/k3s/net.d", "/k3s/net.d/10-flannel.conflist"]);
        // No runtime: the default directory.
        let facts = gather(&host, &[]).expect("cni");
        assert_eq!(facts.conf_dir, "/etc/cni/net.d");
        let crio = Process {
            pid: 6,
            comm: "crio".into(),
            exe: Some("/usr/bin/crio".into()),
            ..Process::default()
        };
        root.file(
            "etc/crio/crio.conf",
            "[crio.network]\nnetwork_dir = \"/a\"\n",
            0o644,
        )
        .file(
            "etc/crio/crio.conf.d/10-cni.conf",
            "[crio.network]\nnetwork_dir = \"/k3s/net.d\"\n",
            0o644,
        );
        let facts = gather(&host, &[crio]).expect("cni");
        assert_eq!(facts.conf_dir, "/k3s/net.d", "drop-ins override crio.conf");
        // Subdirectories are judged too; an import overrides the main file.
        root.file("k3s/net.d/multus.d/multus.kubeconfig", "x", 0o644)
            .file(
                "etc/containerd/config.toml",
                "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\nconf_dir = \"/etc/cni/net.d\"\n",
                0o600,
            )
            .file(
                "etc/containerd/conf.d/10-cni.toml",
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\nconf_dir = \"/k3s/net.d\"\n",
                0o600,
            );
        let containerd = Process {
            pid: 7,
            comm: "containerd".into(),
            exe: Some("/usr/bin/containerd".into()),
            ..Process::default()
        };
        let facts = gather(&host, &[containerd]).expect("cni");
        assert_eq!(facts.conf_dir, "/k3s/net.d");
        assert!(
            facts
                .entries
                .iter()
                .any(|e| e.path == "/k3s/net.d/multus.d/multus.kubeconfig"),
            "{:?}",
            facts.entries
        );
    }
}

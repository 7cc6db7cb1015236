//! kube-controller-manager, kube-scheduler and kube-proxy: their effective settings, the
//! files they name and the manifests that start them.
//!
//! Each is found the way the API server and etcd are ([`super::control_plane`]): the process
//! that is what it claims ([`super::identity`]); else its static pod manifest (in the kubelet's
//! `staticPodPath`, kubeadm's `/etc/kubernetes/manifests` or rke2's pod-manifests directory);
//! else the k3s process that runs it in-process, whose arguments are recovered from what k3s
//! passes (k3s overwrites its argv, so `/proc` cannot show them) plus the user's `*-arg`
//! entries of `/etc/rancher/k3s/config.yaml`, each marked as recovered.
//!
//! Each component's own precedence is kept:
//! - the controller manager has no configuration file: its command line is all;
//! - the scheduler's `--config` (KubeSchedulerConfiguration) replaces its deprecated flags
//!   (`--profiling`, `--kubeconfig`, …), while `--bind-address` stays a flag;
//! - kube-proxy's `--config` (KubeProxyConfiguration) replaces every flag the file can hold
//!   (`--metrics-bind-address`, `--kubeconfig` included).
//!
//! Files named by a process in a container (kube-proxy's ConfigMap volume) are read inside that
//! process's root (`/proc/<pid>/root`), never on the host where the same path means another
//! file.

use super::control_plane::{ComponentArgs, find_manifest, manifest_args};
use super::{FileFact, Process};
use crate::host::Host;
use crate::parse::flags::{self, FlagSyntax};
use crate::parse::yaml::{self, Node};
use nodecheck_report::Source;

/// Where static pod manifests are looked for when the kubelet does not say.
pub const MANIFEST_DIRS: &[&str] = &[
    "/etc/kubernetes/manifests",
    "/var/lib/rancher/rke2/agent/pod-manifests",
];
const CONFIG_CAP: u64 = 1024 * 1024;

/// What a component is, for finding and reading it.
#[derive(Debug)]
pub struct Kind {
    pub name: &'static str,
    pub syntax: FlagSyntax,
    /// The `kind` of its `--config` file, when it takes one.
    pub config_kind: Option<&'static str>,
    /// The comms of k3s processes that run it in-process.
    pub k3s_hosts: &'static [&'static str],
    /// The k3s config key of the user's extra arguments.
    pub k3s_arg_key: &'static str,
    /// The k3s setting that turns the embedded copy off.
    pub k3s_disable: &'static str,
    /// What k3s passes to it (k3s `pkg/daemons`), from the k3s versions that serve it on a
    /// secure port (v1.22 on); `$DATA` is k3s's data directory.
    pub k3s_args: &'static [&'static str],
}

/// Boolean flags of the controller manager, scheduler and kube-proxy (their `--help`, 1.36):
/// a bare `--name` of these takes no value, while any other flag takes the next word, as pflag
/// does. A boolean missing here would swallow the flag after it.
const KUBE_BOOLS: &[&str] = &[
    "profiling",
    "contention-profiling",
    "use-service-account-credentials",
    "allocate-node-cidrs",
    "configure-cloud-routes",
    "disable-attach-detach-reconcile-sync",
    "disable-force-detach-on-timeout",
    "enable-leader-migration",
    "enable-hostpath-provisioner",
    "enable-dynamic-provisioning",
    "enable-garbage-collector",
    "enable-taint-manager",
    "leader-elect",
    "permit-port-sharing",
    "permit-address-sharing",
    "authentication-skip-lookup",
    "authentication-tolerate-lookup-failure",
    "disable-http2-serving",
    "bind-address-hard-fail",
    "ipvs-strict-arp",
    "iptables-localhost-nodeports",
    "masquerade-all",
    "cleanup",
    "init-only",
    "logtostderr",
    "alsologtostderr",
    "one-output",
    "skip-headers",
    "skip-log-headers",
    "add-dir-header",
    "help",
    "version",
];

const fn kube_syntax() -> FlagSyntax {
    FlagSyntax {
        bools: KUBE_BOOLS,
        normalise_underscores: true,
        single_dash_long: false,
    }
}

pub const CONTROLLER_MANAGER: Kind = Kind {
    name: "kube-controller-manager",
    syntax: kube_syntax(),
    config_kind: None,
    k3s_hosts: &["k3s-server"],
    k3s_arg_key: "kube-controller-manager-arg",
    k3s_disable: "disable-controller-manager",
    k3s_args: &[
        "--kubeconfig=$DATA/server/cred/controller.kubeconfig",
        "--service-account-private-key-file=$DATA/server/tls/service.current.key",
        "--root-ca-file=$DATA/server/tls/server-ca.crt",
        "--profiling=false",
        "--bind-address=127.0.0.1",
        "--secure-port=10257",
        "--use-service-account-credentials=true",
    ],
};

pub const SCHEDULER: Kind = Kind {
    name: "kube-scheduler",
    syntax: kube_syntax(),
    config_kind: Some("KubeSchedulerConfiguration"),
    k3s_hosts: &["k3s-server"],
    k3s_arg_key: "kube-scheduler-arg",
    k3s_disable: "disable-scheduler",
    k3s_args: &[
        "--kubeconfig=$DATA/server/cred/scheduler.kubeconfig",
        "--bind-address=127.0.0.1",
        "--secure-port=10259",
        "--profiling=false",
    ],
};

pub const KUBE_PROXY: Kind = Kind {
    name: "kube-proxy",
    syntax: kube_syntax(),
    config_kind: Some("KubeProxyConfiguration"),
    k3s_hosts: &["k3s-server", "k3s-agent"],
    k3s_arg_key: "kube-proxy-arg",
    k3s_disable: "disable-kube-proxy",
    k3s_args: &[
        "--proxy-mode=iptables",
        "--healthz-bind-address=127.0.0.1",
        "--kubeconfig=$DATA/agent/kubeproxy.kubeconfig",
    ],
};

/// A component's `--config` file, as read.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The path as the component names it.
    pub path: String,
    /// Where it was read (`/proc/<pid>/root/…` for a container's file).
    pub shown: String,
    pub doc: Result<Node, String>,
}

impl ConfigFile {
    /// A scalar of the file by dotted path, with its line.
    pub fn value(&self, dotted: &str) -> Option<(String, Source)> {
        let node = self.doc.as_ref().ok()?.path(dotted)?;
        let text = node.scalar_text()?;
        Some((text, Source::file(self.shown.clone(), Some(node.line))))
    }
}

/// One component's facts.
#[derive(Debug, Clone)]
pub struct ComponentFacts {
    pub args: ComponentArgs,
    /// Its static pod manifest, when one exists.
    pub manifest_file: Option<FileFact>,
    /// The pid whose root holds the files it names, when it runs in a container.
    pub container_pid: Option<u32>,
    /// Its `--config` file, when it has one.
    pub config: Option<ConfigFile>,
    /// The kubeconfig it uses, and the setting that named it.
    pub kubeconfig: Option<(FileFact, Source)>,
    /// The k3s process it runs inside, when embedded.
    pub embedded_in: Option<u32>,
    /// The directories that hold the manifest's and the kubeconfig's real files (after
    /// symlinks): whoever may write one may replace the file.
    pub parent_dirs: Vec<FileFact>,
}

impl ComponentFacts {
    /// A setting by its flag name, honouring the config file: with a config file, `key` (a
    /// dotted path in it) decides and the flag is ignored; the default otherwise.
    pub fn setting(&self, flag: &str, key: Option<&str>) -> Option<(String, Source)> {
        match (&self.config, key) {
            (Some(config), Some(key)) => config.value(key),
            _ => self
                .args
                .value(flag)
                .map(|(v, s)| (v.to_string(), s.clone())),
        }
    }

    /// Whether the component was read from a config file that replaces its flags.
    pub fn has_config(&self) -> bool {
        self.config.is_some()
    }
}

fn absolute(cwd: Option<&str>, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", cwd.unwrap_or("/").trim_end_matches('/'))
    }
}

/// Metadata of a file a component names: inside its container's root when it runs in one.
fn stat_named(host: &Host, container_pid: Option<u32>, path: &str) -> FileFact {
    match container_pid {
        Some(pid) => FileFact::named(
            host,
            format!("/proc/{pid}/root{path}"),
            host.stat_in_process_root(pid, path),
        ),
        None => FileFact::stat(host, path),
    }
}

fn read_config(host: &Host, container_pid: Option<u32>, path: &str, kind: &str) -> ConfigFile {
    let (shown, text) = match container_pid {
        Some(pid) => (
            format!("/proc/{pid}/root{path}"),
            host.read_text_in_process_root(
                pid,
                path,
                CONFIG_CAP,
                crate::host::Content::ComponentConfig,
            ),
        ),
        None => (
            path.to_string(),
            host.read_text(path, CONFIG_CAP, crate::host::Content::ComponentConfig),
        ),
    };
    let doc = text.map_err(|e| e.to_string()).and_then(|text| {
        let doc = yaml::parse(&text).map_err(|e| format!("{shown}: malformed YAML at {e}"))?;
        let found = doc.get("kind").and_then(Node::as_str);
        if found != Some(kind) {
            return Err(format!(
                "{shown}: not a {kind} (kind is {})",
                found.unwrap_or("missing")
            ));
        }
        Ok(doc)
    });
    ConfigFile {
        path: path.to_string(),
        shown,
        doc,
    }
}

/// Finds and reads one component. `manifest_dirs` are the static pod directories to try, the
/// kubelet's own first.
pub fn gather(
    host: &Host,
    processes: &[Process],
    kind: &Kind,
    manifest_dirs: &[String],
    k3s_config: Option<&super::k3s::K3sConfig>,
) -> Option<ComponentFacts> {
    let process = processes
        .iter()
        .find(|p| p.program() == kind.name || p.comm == kind.name);
    let manifest = find_manifest(host, manifest_dirs, kind.name);
    let k3s = processes
        .iter()
        .find(|p| kind.k3s_hosts.contains(&p.comm.as_str()));
    let mut container_pid = None;
    let mut embedded_in = None;
    let args = match (process, &manifest, k3s) {
        (Some(p), _, _) => {
            let parsed = flags::parse(
                &p.argv.iter().skip(1).cloned().collect::<Vec<_>>(),
                &kind.syntax,
            );
            let mut args = ComponentArgs {
                pid: Some(p.pid),
                origin: format!("process {} (pid {})", p.program(), p.pid),
                ..ComponentArgs::default()
            };
            for flag in parsed.flags {
                args.sources.push(Source::Flag {
                    flag: flag.spelled.clone(),
                    pid: p.pid,
                });
                args.flags.flags.push(flag);
            }
            args.flags.positional = parsed.positional;
            args.flags.errors = parsed.errors;
            if super::containers::placement(&p.cgroups).is_some() {
                container_pid = Some(p.pid);
            }
            args
        }
        (None, Some(path), _) => manifest_args(host, path, &kind.syntax),
        (None, None, Some(k3s)) => {
            let empty = super::k3s::K3sConfig::default();
            let config = k3s_config.unwrap_or(&empty);
            if config.flag(kind.k3s_disable) {
                return None;
            }
            embedded_in = Some(k3s.pid);
            let passed: Vec<String> = kind.k3s_args.iter().map(|a| a.to_string()).collect();
            config.recovered_args(kind.name, k3s, &passed, kind.k3s_arg_key, &kind.syntax)
        }
        (None, None, None) => return None,
    };
    let cwd = process.and_then(|p| p.cwd.as_deref());
    let config = kind.config_kind.and_then(|config_kind| {
        args.value("config")
            .filter(|(v, _)| !v.is_empty())
            .map(|(path, _)| read_config(host, container_pid, &absolute(cwd, path), config_kind))
    });
    // With a config file, the file's clientConnection.kubeconfig is the one in use.
    let kubeconfig = match &config {
        Some(config) => config
            .value("clientConnection.kubeconfig")
            .filter(|(v, _)| !v.is_empty()),
        None => args
            .value("kubeconfig")
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, s)| (v.to_string(), s.clone())),
    }
    .map(|(path, source)| {
        (
            stat_named(host, container_pid, &absolute(cwd, &path)),
            source,
        )
    });
    let manifest_file = manifest.map(|path| FileFact::stat(host, &path));
    let mut parent_dirs: Vec<FileFact> = Vec::new();
    for file in manifest_file
        .iter()
        .chain(kubeconfig.iter().map(|(f, _)| f))
    {
        let Ok(meta) = &file.meta else { continue };
        if meta.resolved.starts_with("/proc/") {
            continue;
        }
        if let Some((dir, _)) = meta.resolved.rsplit_once('/') {
            let dir = if dir.is_empty() { "/" } else { dir };
            if !parent_dirs.iter().any(|d| d.path == dir) {
                parent_dirs.push(FileFact::stat(host, dir));
            }
        }
    }
    Some(ComponentFacts {
        manifest_file,
        parent_dirs,
        args,
        container_pid,
        config,
        kubeconfig,
        embedded_in,
    })
}

/// Where static pods come from. When the kubelet's configuration was read, only its
/// `staticPodPath` (a directory or one file) holds the pods it runs: a manifest left in
/// another directory runs nothing, and is not the component's. When the kubelet is not seen
/// or its configuration could not be read, kubeadm's and rke2's directories are tried.
pub fn manifest_dirs(kubelet: Option<&super::kubelet::KubeletFacts>) -> Vec<String> {
    if let Some(kubelet) = kubelet
        && kubelet.config.problems.is_empty()
    {
        return kubelet
            .config
            .str("staticPodPath")
            .filter(|p| p.starts_with('/'))
            .map(|p| {
                let trimmed = p.trim_end_matches('/');
                vec![if trimmed.is_empty() { "/" } else { trimmed }.to_string()]
            })
            .unwrap_or_default();
    }
    MANIFEST_DIRS.iter().map(|d| d.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::k3s;
    use crate::host::testing::TempRoot;

    fn process(pid: u32, program: &str, args: &[&str]) -> Process {
        let mut argv = vec![format!("/usr/local/bin/{program}")];
        argv.extend(args.iter().map(|a| a.to_string()));
        Process {
            pid,
            comm: program.chars().take(15).collect(),
            exe: Some(format!("/usr/local/bin/{program}")),
            argv,
            cwd: Some("/".into()),
            ..Process::default()
        }
    }

    fn dirs() -> Vec<String> {
        manifest_dirs(None)
    }

    #[test]
    fn a_process_beats_its_manifest_and_the_manifest_stands_in_for_it() {
        let root = TempRoot::new();
        root.file(
            "etc/kubernetes/manifests/kube-scheduler.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-scheduler\n    - --bind-address=127.0.0.1\n    - --kubeconfig=/etc/kubernetes/scheduler.conf\n",
            0o600,
        )
        .file("etc/kubernetes/scheduler.conf", "apiVersion: v1\n", 0o600);
        let host = root.host();
        let from_manifest = gather(&host, &[], &SCHEDULER, &dirs(), None).expect("scheduler");
        assert_eq!(
            from_manifest.setting("bind-address", None).map(|(v, _)| v),
            Some("127.0.0.1".into())
        );
        assert!(from_manifest.manifest_file.is_some());
        let (kubeconfig, source) = from_manifest.kubeconfig.expect("kubeconfig");
        assert_eq!(kubeconfig.path, "/etc/kubernetes/scheduler.conf");
        assert!(kubeconfig.meta.is_ok());
        assert!(
            source.to_string().contains("kube-scheduler.yaml:8"),
            "{source}"
        );
        let running = process(40, "kube-scheduler", &["--bind-address=0.0.0.0"]);
        let facts = gather(&host, &[running], &SCHEDULER, &dirs(), None).expect("scheduler");
        assert_eq!(
            facts.setting("bind-address", None).map(|(v, _)| v),
            Some("0.0.0.0".into()),
            "the running process is what is judged"
        );
        assert!(gather(&host, &[], &CONTROLLER_MANAGER, &dirs(), None).is_none());
    }

    #[test]
    fn a_config_file_replaces_the_flags_it_holds() {
        let root = TempRoot::new();
        root.file(
            "etc/kubernetes/kube-proxy.yaml",
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: 0.0.0.0:10249\nclientConnection:\n  kubeconfig: /etc/kubernetes/proxy.kubeconfig\n",
            0o600,
        )
        .file("etc/kubernetes/proxy.kubeconfig", "x", 0o644)
        .file("etc/kubernetes/other.kubeconfig", "x", 0o600);
        let host = root.host();
        let proxy = process(
            50,
            "kube-proxy",
            &[
                "--config=/etc/kubernetes/kube-proxy.yaml",
                "--metrics-bind-address=127.0.0.1:10249",
                "--kubeconfig=/etc/kubernetes/other.kubeconfig",
            ],
        );
        let facts = gather(&host, &[proxy], &KUBE_PROXY, &dirs(), None).expect("proxy");
        let (value, source) = facts
            .setting("metrics-bind-address", Some("metricsBindAddress"))
            .expect("set");
        assert_eq!(value, "0.0.0.0:10249");
        assert_eq!(source.to_string(), "/etc/kubernetes/kube-proxy.yaml:3");
        let (kubeconfig, _) = facts.kubeconfig.expect("kubeconfig");
        assert_eq!(kubeconfig.path, "/etc/kubernetes/proxy.kubeconfig");
        // A file of another kind is refused, never read as the configuration.
        root.file("etc/kubernetes/kube-proxy.yaml", "kind: Pod\n", 0o600);
        let proxy = process(
            50,
            "kube-proxy",
            &["--config=/etc/kubernetes/kube-proxy.yaml"],
        );
        let facts = gather(&host, &[proxy], &KUBE_PROXY, &dirs(), None).expect("proxy");
        let err = facts
            .config
            .expect("config")
            .doc
            .expect_err("not a proxy config");
        assert!(
            err.contains("not a KubeProxyConfiguration (kind is Pod)"),
            "{err}"
        );
    }

    #[test]
    fn k3s_components_are_recovered_with_the_users_arguments_last() {
        let root = TempRoot::new();
        root.file(
            "etc/rancher/k3s/config.yaml",
            "kube-controller-manager-arg:\n  - bind-address=0.0.0.0\n",
            0o600,
        );
        let host = root.host();
        let k3s = Process {
            pid: 7,
            comm: "k3s-server".into(),
            argv: vec!["/usr/local/bin/k3s server".into()],
            ..Process::default()
        };
        let processes = [k3s];
        let config = k3s::config_if_running(&host, &processes);
        let facts = gather(
            &host,
            &processes,
            &CONTROLLER_MANAGER,
            &dirs(),
            config.as_ref(),
        )
        .expect("embedded");
        assert_eq!(facts.embedded_in, Some(7));
        let (value, source) = facts.setting("bind-address", None).expect("set");
        assert_eq!(value, "0.0.0.0");
        assert_eq!(source.to_string(), "/etc/rancher/k3s/config.yaml:2");
        let (value, source) = facts.setting("profiling", None).expect("set");
        assert_eq!(value, "false");
        assert!(source.to_string().contains("recovered"), "{source}");
    }
}

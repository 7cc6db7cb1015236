//! The kubelet of this node: which process it is, its real arguments, its effective
//! configuration and the files it names.
//!
//! A standalone kubelet (kubeadm, EKS, GKE, AKS, RKE2) is a process whose program is
//! `kubelet` (or `hyperkube kubelet`); its argv is read as it is. k3s runs the kubelet inside
//! `k3s-server`/`k3s-agent` and overwrites its argv, so the arguments k3s passes are recovered
//! from what that k3s version is known to pass (`reference/kubelet.md` §4.3) and from the
//! user's `kubelet-arg` entries in `/etc/rancher/k3s/config.yaml`, each marked as recovered.

use super::FileFact;
use super::k3s::K3sConfig;
use super::process::Process;
use crate::host::Host;
use crate::parse::kubelet::{self, KubeletConfig, KubeletInvocation};

/// The k3s kubelet drop-in directory (k3s ≥ 1.32).
pub const K3S_DROP_IN_DIR: &str = "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d";
const K3S_KUBECONFIG: &str = "/var/lib/rancher/k3s/agent/kubelet.kubeconfig";
const K3S_BINARIES: &[&str] = &["/usr/local/bin/k3s", "/usr/bin/k3s"];
/// Systemd units of a kubelet, and the directories of their drop-ins.
pub const UNIT_PATHS: &[&str] = &[
    "/etc/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
];

/// How the kubelet runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavour {
    /// Its own process (kubeadm, EKS, GKE, AKS, RKE2, …).
    Standalone,
    /// Inside k3s; the version when found (`v1.32.3+k3s1`).
    K3s { version: Option<String> },
}

/// The kubelet's facts.
#[derive(Debug, Clone)]
pub struct KubeletFacts {
    pub pid: u32,
    pub program: String,
    pub flavour: Flavour,
    pub invocation: KubeletInvocation,
    pub config: KubeletConfig,
    pub config_file: Option<FileFact>,
    pub drop_in_files: Vec<FileFact>,
    pub kubeconfig_file: Option<FileFact>,
    pub client_ca_file: Option<FileFact>,
    /// The systemd unit and its drop-ins (empty without systemd units).
    pub unit_files: Vec<FileFact>,
    /// Its version (`v1.31.2`, `v1.32.3+k3s1`), from its package or binary, when found.
    pub version: Option<String>,
}

/// The kubelet process, and whether it is embedded in k3s.
pub fn find(processes: &[Process]) -> Option<(&Process, bool)> {
    processes.iter().find_map(|p| {
        let hyperkube = p.program() == "hyperkube" && p.argv.get(1).is_some_and(|a| a == "kubelet");
        if p.program() == "kubelet" || p.comm == "kubelet" || hyperkube {
            Some((p, false))
        } else if p.comm == "k3s-server" || p.comm == "k3s-agent" {
            Some((p, true))
        } else {
            None
        }
    })
}

/// `v1.32.3+k3s1` from a k3s binary.
pub fn k3s_version(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let at = text.find("+k3s")?;
    let start = text[..at].rfind('v')?;
    let candidate = &text[start..];
    let end = candidate
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '+'))
        .unwrap_or(candidate.len());
    let version = &candidate[..end];
    let numbers = version.trim_start_matches('v').split('+').next()?;
    (numbers.split('.').count() == 3 && numbers.split('.').all(|n| n.parse::<u32>().is_ok()))
        .then(|| version.to_string())
}

fn version_tuple(version: &str) -> Option<(u32, u32, u32)> {
    let numbers = version.trim_start_matches('v').split('+').next()?;
    let mut parts = numbers.split('.').map(|n| n.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The arguments k3s passes to its embedded kubelet (`pkg/daemons/agent`), which `/proc`
/// cannot show.
fn k3s_recovered(
    host: &Host,
    node_name: &str,
    version: Option<&str>,
    config: &K3sConfig,
) -> Vec<(String, String)> {
    let tuple = version.and_then(version_tuple);
    let how = |v: &str| format!("passed by k3s {}", version.unwrap_or(v));
    let drop_ins = host.exists(K3S_DROP_IN_DIR);
    let mut args: Vec<(String, String)> = Vec::new();
    let modern = match tuple {
        Some(t) => t >= (1, 32, 0),
        None => drop_ins,
    };
    if modern {
        for arg in [
            format!("--config-dir={K3S_DROP_IN_DIR}"),
            format!("--kubeconfig={K3S_KUBECONFIG}"),
            format!("--hostname-override={node_name}"),
        ] {
            args.push((arg, how("≥ 1.32")));
        }
        // From v1.32.4 k3s passes --read-only-port=0 (k3s PR #12165); 1.32.0-1.32.3 do not,
        // and the legacy base leaves port 10255 open.
        if tuple.is_some_and(|t| t >= (1, 32, 4)) {
            args.push(("--read-only-port=0".into(), how("≥ 1.32.4")));
        }
    } else {
        for arg in [
            "--healthz-bind-address=127.0.0.1",
            "--read-only-port=0",
            "--authentication-token-webhook=true",
            "--anonymous-auth=false",
            "--authorization-mode=Webhook",
            "--client-ca-file=/var/lib/rancher/k3s/agent/client-ca.crt",
            "--tls-cert-file=/var/lib/rancher/k3s/agent/serving-kubelet.crt",
            "--tls-private-key-file=/var/lib/rancher/k3s/agent/serving-kubelet.key",
            "--pod-manifest-path=/var/lib/rancher/k3s/agent/pod-manifests",
        ] {
            args.push((arg.to_string(), how("≤ 1.31")));
        }
        args.push((format!("--kubeconfig={K3S_KUBECONFIG}"), how("≤ 1.31")));
        args.push((format!("--hostname-override={node_name}"), how("≤ 1.31")));
    }
    // The user's `kubelet-arg` entries combine with k3s's the way k3s's GetArgs does.
    let initial = args
        .into_iter()
        .map(|(arg, how)| {
            let (key, value) = super::k3s::split_arg(&arg);
            (key, value, how)
        })
        .collect();
    let extra: Vec<(String, String)> = config
        .values("kubelet-arg")
        .iter()
        .map(|(arg, source)| (arg.clone(), format!("kubelet-arg in {source}")))
        .collect();
    super::k3s::get_args(initial, &extra)
}

fn unit_files(host: &Host) -> Vec<FileFact> {
    let mut files = Vec::new();
    for unit in UNIT_PATHS {
        if host.exists(unit) {
            files.push(FileFact::stat(host, unit));
        }
        for drop_in in host.glob(&format!("{unit}.d/*.conf")) {
            files.push(FileFact::stat(host, &drop_in));
        }
    }
    files
}

/// Gathers the kubelet's facts, if a kubelet runs.
pub fn gather(
    host: &Host,
    processes: &[Process],
    hostname: &str,
    k3s_config: Option<&K3sConfig>,
) -> Option<KubeletFacts> {
    let (process, embedded) = find(processes)?;
    let (flavour, invocation) = if embedded {
        let binary = process
            .exe
            .iter()
            .map(String::as_str)
            .chain(K3S_BINARIES.iter().copied())
            .find_map(|p| host.excerpts(p, b"+k3s").ok().and_then(|b| k3s_version(&b)));
        let empty = K3sConfig::default();
        let config = k3s_config.unwrap_or(&empty);
        let node = config
            .last_value("node-name")
            .map_or(hostname, |(name, _)| name.as_str())
            .to_string();
        let recovered = k3s_recovered(host, &node, binary.as_deref(), config);
        (
            Flavour::K3s { version: binary },
            KubeletInvocation {
                pid: Some(process.pid),
                args: Vec::new(),
                recovered,
                cwd: process.cwd.clone(),
            },
        )
    } else {
        let skip = if process.program() == "hyperkube" {
            2
        } else {
            1
        };
        (
            Flavour::Standalone,
            KubeletInvocation {
                pid: Some(process.pid),
                args: process.argv.iter().skip(skip).cloned().collect(),
                recovered: Vec::new(),
                cwd: process.cwd.clone(),
            },
        )
    };
    let mut config = kubelet::effective(host, &invocation);
    // A k3s configuration that could not be read (or a k3s in a container) leaves the
    // recovered arguments unknown: the configuration checks say so rather than judge them.
    if embedded && let Some(k3s) = k3s_config {
        config.problems.extend(
            k3s.problems
                .iter()
                .map(|p| format!("k3s configuration: {p}")),
        );
    }
    let file = |path: Option<&str>| {
        path.filter(|p| !p.is_empty())
            .map(|p| FileFact::stat(host, p))
    };
    let config_file = file(config.config_file.as_deref());
    let drop_in_files = config
        .drop_ins
        .iter()
        .map(|p| FileFact::stat(host, p))
        .collect();
    let kubeconfig_file = file(
        config
            .kubeconfig
            .as_ref()
            .map(|k| k.value.to_string())
            .as_deref(),
    );
    let client_ca_file = file(config.str("authentication.x509.clientCAFile"));
    let version = match &flavour {
        Flavour::K3s { version } => version.clone(),
        Flavour::Standalone => process
            .exe
            .as_deref()
            .map(|exe| exe.trim_end_matches(" (deleted)"))
            .and_then(|exe| super::runtime::kubelet_version(host, exe)),
    };
    Some(KubeletFacts {
        pid: process.pid,
        program: process.program().to_string(),
        flavour,
        invocation,
        config,
        config_file,
        drop_in_files,
        kubeconfig_file,
        client_ca_file,
        unit_files: unit_files(host),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k3s_versions_are_found_in_binaries() {
        assert_eq!(
            k3s_version(b"\0junk v1.32.3+k3s1 (abc)\0").as_deref(),
            Some("v1.32.3+k3s1")
        );
        assert_eq!(version_tuple("v1.32.4+k3s1"), Some((1, 32, 4)));
        assert_eq!(k3s_version(b"no version here"), None);
    }

    #[test]
    fn kubelet_processes_are_found_by_program_not_by_substring() {
        let p = |pid, comm: &str, argv: &[&str]| Process {
            pid,
            comm: comm.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            ..Process::default()
        };
        let procs = vec![
            p(
                1,
                "kube-apiserver",
                &["kube-apiserver", "--kubelet-client-certificate=/x"],
            ),
            p(
                2,
                "kubelet",
                &["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"],
            ),
        ];
        assert_eq!(find(&procs).map(|(p, e)| (p.pid, e)), Some((2, false)));
        let k3s = vec![p(9, "k3s-server", &["/usr/local/bin/k3s server"])];
        assert_eq!(find(&k3s).map(|(p, e)| (p.pid, e)), Some((9, true)));
        let hyper = vec![p(
            3,
            "hyperkube",
            &["/hyperkube", "kubelet", "--anonymous-auth=false"],
        )];
        assert_eq!(find(&hyper).map(|(p, e)| (p.pid, e)), Some((3, false)));
    }
}

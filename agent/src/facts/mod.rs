//! Everything a scan knows about the host, gathered once.
//!
//! Checks never touch the host: they are pure functions of [`Facts`], so each is tested with
//! facts built in memory. Gathering reads the host through [`crate::host::Host`] only.

pub mod cni;
pub mod components;
pub mod containers;
pub mod control_plane;
pub mod identity;
pub mod k3s;
pub mod kernel;
pub mod kubelet;
pub mod listeners;
pub mod lsm;
pub mod process;
pub mod runtime;
pub mod sshd;

use crate::host::{Content, FileError, FileMeta, Host, PROC_CAP};
use nodecheck_report::Role;

pub use listeners::Listener;
pub use process::Process;
pub use sshd::SshdFacts;

/// Metadata of one file, with owner names from the host's own user database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFact {
    pub path: String,
    pub meta: Result<FileMeta, FileError>,
    pub owner: String,
    pub group: String,
}

impl FileFact {
    pub fn stat(host: &Host, path: &str) -> FileFact {
        FileFact::named(host, path.to_string(), host.stat(path))
    }

    /// A stat's result under the name `path`, with owner names from the host's user database.
    pub fn named(host: &Host, path: String, meta: Result<FileMeta, FileError>) -> FileFact {
        let (owner, group) = match &meta {
            Ok(m) => (
                host.users().user_label(m.uid),
                host.users().group_label(m.gid),
            ),
            Err(_) => (String::new(), String::new()),
        };
        FileFact {
            path: path.to_string(),
            meta,
            owner,
            group,
        }
    }

    /// `0644 root:root` (and `(symlink to X)` when the path is a link).
    pub fn describe(&self) -> String {
        match &self.meta {
            Ok(m) => {
                let mut text = format!("{:04o} {}:{}", m.mode, self.owner, self.group);
                if m.is_symlink {
                    text.push_str(&format!(" (symlink to {})", m.resolved));
                }
                text
            }
            Err(e) => e.to_string(),
        }
    }
}

/// Identity of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub kernel: Option<String>,
}

/// What one scan knows.
#[derive(Debug, Clone)]
pub struct Facts {
    pub host: HostInfo,
    pub processes: Vec<Process>,
    pub listeners: Vec<Listener>,
    pub sshd: SshdFacts,
    /// The kubelet, when one runs.
    pub kubelet: Option<kubelet::KubeletFacts>,
    /// kube-apiserver, from its process or static pod manifest.
    pub apiserver: Option<control_plane::ApiServerFacts>,
    /// etcd, from its process, k3s's embedded config, or its static pod manifest.
    pub etcd: Option<control_plane::EtcdFacts>,
    /// kube-controller-manager, kube-scheduler and kube-proxy ([`components`]).
    pub controller_manager: Option<components::ComponentFacts>,
    pub scheduler: Option<components::ComponentFacts>,
    pub kube_proxy: Option<components::ComponentFacts>,
    /// The CNI configuration directory the container runtime reads, when there is one.
    pub cni: Option<cni::CniFacts>,
    /// The container runtime beneath the kubelet, when there is a kubelet or a runtime.
    pub runtime: Option<runtime::RuntimeFacts>,
    /// Every container process.
    pub containers: Vec<containers::ContainerProcess>,
    /// The kernel's sysctls and swap.
    pub kernel: kernel::KernelFacts,
    /// The kernel's security modules.
    pub lsm: lsm::LsmFacts,
    /// Roles detected from processes and manifests.
    pub detected_roles: Vec<Role>,
    /// Processes that claimed a component's name and were not taken for it, by area: never
    /// judged, named in the evidence of that area's findings.
    pub ignored: std::collections::BTreeMap<&'static str, Vec<identity::Ignored>>,
    /// Problems met while gathering that did not stop the scan.
    pub warnings: Vec<String>,
    /// Budgets that ran out while gathering (bytes read, the deadline, a glob's fan-out),
    /// each with the file it stopped at: the facts are then partial, and nothing they do
    /// not show may pass.
    pub incomplete: Vec<String>,
}

impl Facts {
    /// The facts of a scan that read nothing it could judge: `why` says what stopped it.
    pub fn unread(why: String) -> Facts {
        Facts {
            host: HostInfo::default(),
            processes: Vec::new(),
            listeners: Vec::new(),
            sshd: SshdFacts::Unreadable {
                path: "/etc/ssh/sshd_config".into(),
                error: FileError::Budget {
                    path: "/etc/ssh/sshd_config".into(),
                    budget: why.clone(),
                },
            },
            kubelet: None,
            apiserver: None,
            etcd: None,
            controller_manager: None,
            scheduler: None,
            kube_proxy: None,
            cni: None,
            runtime: None,
            containers: Vec::new(),
            kernel: kernel::KernelFacts::unread(),
            lsm: lsm::LsmFacts::Unknown(why.clone()),
            detected_roles: vec![Role::Host],
            ignored: Default::default(),
            warnings: Vec::new(),
            incomplete: vec![why],
        }
    }
}

/// Static pod manifests that make a node a control-plane node.
/// Roles from the facts: a kubelet makes a worker; kube-apiserver or etcd (process or static
/// pod manifest) makes a control-plane node; neither makes a plain host.
pub fn detect_roles(processes: &[Process], manifests_present: bool) -> Vec<Role> {
    let runs = |names: &[&str]| processes.iter().any(|p| names.contains(&p.program()));
    let mut roles = Vec::new();
    if runs(&["kubelet", "hyperkube"])
        || processes
            .iter()
            .any(|p| p.comm == "k3s-agent" || p.comm == "k3s-server")
    {
        roles.push(Role::Worker);
    }
    if runs(&["kube-apiserver", "etcd"])
        || manifests_present
        || processes.iter().any(|p| p.comm == "k3s-server")
    {
        roles.push(Role::ControlPlane);
    }
    if roles.is_empty() {
        roles.push(Role::Host);
    }
    roles
}

fn first_line(host: &Host, proc_rel: &str) -> Option<String> {
    host.proc_read(proc_rel, PROC_CAP)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn host_info(host: &Host) -> HostInfo {
    let os = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| host.read_text(p, PROC_CAP, Content::Plain).ok())
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let hostname = first_line(host, "sys/kernel/hostname").or_else(|| {
        host.read_text("/etc/hostname", PROC_CAP, Content::Plain)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    });
    HostInfo {
        hostname,
        os,
        kernel: first_line(host, "sys/kernel/osrelease"),
    }
}

/// Gathers the facts of a host. Never fails: what cannot be read is recorded as such.
pub fn gather(host: &Host) -> Facts {
    let mut warnings: Vec<String> = host.warnings().to_vec();
    let processes = process::read_processes(host);
    if processes.is_empty() {
        warnings.push("no process is visible in the proc tree".into());
    }
    let listeners = listeners::read_listeners(host, &processes, &mut warnings);
    // Components are looked for only among the processes that are what they claim.
    // k3s's configuration says what its in-process components run with: read once.
    let k3s_config = k3s::config_if_running(host, &processes);
    let screened = identity::screen(host, &processes, &listeners, k3s_config.as_ref());
    let trusted: std::borrow::Cow<'_, [Process]> = if screened.ignored_pids.is_empty() {
        std::borrow::Cow::Borrowed(&processes)
    } else {
        processes
            .iter()
            .filter(|p| !screened.ignored_pids.contains(&p.pid))
            .cloned()
            .collect()
    };
    let sshd = sshd::gather(host, &trusted);
    let info = host_info(host);
    let kubelet = kubelet::gather(
        host,
        &trusted,
        info.hostname.as_deref().unwrap_or_default(),
        k3s_config.as_ref(),
    );
    let manifest_dirs = components::manifest_dirs(kubelet.as_ref());
    let apiserver = control_plane::apiserver(host, &trusted, &manifest_dirs, k3s_config.as_ref());
    let etcd = control_plane::etcd(host, &trusted, &manifest_dirs);
    let manifests = apiserver.iter().any(|a| a.manifest_file.is_some())
        || etcd.iter().any(|e| e.manifest_file.is_some());
    let component =
        |kind| components::gather(host, &trusted, kind, &manifest_dirs, k3s_config.as_ref());
    let controller_manager = component(&components::CONTROLLER_MANAGER);
    let scheduler = component(&components::SCHEDULER);
    let kube_proxy = component(&components::KUBE_PROXY);
    let runtime = runtime::gather(host, &processes, &trusted, kubelet.as_ref());
    // The CNI directory is the kubelet's runtime's: with two containerds (Bottlerocket's
    // host-containerd, Docker's beside k3s's), the one serving the kubelet's socket.
    let serving = runtime
        .as_ref()
        .and_then(|r| r.runtime.as_ref())
        .map(|r| r.pid);
    let runtimes: Vec<Process> = serving
        .and_then(|pid| trusted.iter().find(|p| p.pid == pid))
        .into_iter()
        .chain(trusted.iter().filter(|p| Some(p.pid) != serving))
        .filter(|p| matches!(p.program(), "containerd" | "crio") || p.comm == "containerd")
        .cloned()
        .collect();
    let cni = cni::gather(host, &runtimes);
    let detected_roles = detect_roles(&trusted, manifests);
    drop(trusted);
    // Bundles are read through the runtime's own root where the host's /run is not mounted
    // (the DaemonSet mounts no /run).
    let runtime_pid = runtime
        .as_ref()
        .and_then(|r| r.runtime.as_ref())
        .map(|r| r.pid);
    let containers = containers::gather(host, &processes, runtime_pid);
    let kernel = kernel::gather(host);
    let lsm = lsm::gather(host);
    Facts {
        kernel,
        lsm,
        host: info,
        kubelet,
        apiserver,
        etcd,
        controller_manager,
        scheduler,
        kube_proxy,
        cni,
        runtime,
        containers,
        detected_roles,
        ignored: screened.ignored,
        incomplete: host.exhausted(),
        processes,
        listeners,
        sshd,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, comm: &str) -> Process {
        Process {
            pid,
            comm: comm.into(),
            argv: vec![format!("/usr/bin/{comm}")],
            ..Process::default()
        }
    }

    #[test]
    fn roles_come_from_processes_and_manifests() {
        assert_eq!(detect_roles(&[proc(1, "systemd")], false), [Role::Host]);
        assert_eq!(detect_roles(&[proc(1, "kubelet")], false), [Role::Worker]);
        assert_eq!(
            detect_roles(&[proc(1, "kubelet"), proc(2, "etcd")], false),
            [Role::Worker, Role::ControlPlane]
        );
        assert_eq!(detect_roles(&[], true), [Role::ControlPlane]);
        // kube-apiserver's argv mentions kubelet flags; only the program name counts.
        let mut apiserver = proc(3, "kube-apiserver");
        apiserver
            .argv
            .push("--kubelet-client-certificate=/x".into());
        assert_eq!(detect_roles(&[apiserver], false), [Role::ControlPlane]);
    }
}

//! Which processes are the components they claim to be.
//!
//! Anyone on a node controls their own processes' names and command lines: a user can start a
//! process called `kubelet` with a `--config` in their home directory, or `sshd -f /etc/shadow`.
//! A scan that took components by name would judge the user's flags instead of the real
//! kubelet's, and read whatever file the user named. So a process counts as a component only
//! when it is what it claims, the way the kernel and the init system see it:
//!
//! - **owner**: it runs as root (effective and real uid), or as the component's own system user
//!   (`etcd`), named from the host's passwd;
//! - **executable**: the file it runs is owned by root and writable by nobody else (when the
//!   scan may look at it);
//! - **parent**: it was started by the init system (pid 1) or by one of the root-owned launchers
//!   in [`LAUNCHERS`] (container runtime shims, k3s, rke2);
//! - **listener**: when two processes pass those tests, the one owning the component's port is
//!   judged and the other is named.
//!
//! A same-named process that fails is *ignored*: never judged, never a source of file paths,
//! and named in the evidence of its area's findings with the reason. sshd's per-connection
//! processes (children of the daemon, named `sshd: user@pts/0`) are neither judged nor named.

use super::{Listener, Process};
use crate::host::{EntryKind, Host};
use std::collections::{BTreeMap, BTreeSet};

/// Root-owned processes that start components besides the init system (pid 1): container
/// runtime shims (a static pod's process is the child of its shim), and the distributions that
/// run components as their own children.
pub const LAUNCHERS: &[&str] = &[
    "containerd-shim",
    "containerd-shim-runc-v1",
    "containerd-shim-runc-v2",
    "containerd-shim-runsc-v1",
    "containerd-shim-kata-v2",
    "docker-containerd-shim",
    "conmon",
    "k3s-server",
    "k3s-agent",
    "rke2",
];

/// A component as it must appear.
#[derive(Debug)]
pub struct Spec {
    /// The component's name, for messages.
    pub name: &'static str,
    /// The areas whose findings name the processes ignored.
    pub areas: &'static [&'static str],
    /// Whether a process claims to be this component (by program name, comm or argv).
    pub claims: fn(&Process) -> bool,
    /// System users other than root it runs as.
    pub users: &'static [&'static str],
    /// The port it listens on, to choose between two plausible processes.
    pub port: Option<u16>,
    /// A daemon of the host itself (the container runtimes): never in a container, never
    /// started by a runtime's shim, and several may run at once (k3s's containerd beside
    /// Docker's), so none is ignored for another — the runtime facts judge the one serving the
    /// kubelet's socket.
    pub host_daemon: bool,
}

fn named(p: &Process, names: &[&str]) -> bool {
    names.contains(&p.program()) || names.contains(&p.comm.as_str())
}

/// The components nodecheck judges.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "kubelet",
        areas: &["kubelet"],
        claims: |p| {
            named(p, &["kubelet"])
                || (p.program() == "hyperkube" && p.argv.get(1).is_some_and(|a| a == "kubelet"))
        },
        users: &[],
        port: Some(10250),
        host_daemon: false,
    },
    Spec {
        name: "k3s",
        areas: &["kubelet", "apiserver", "etcd"],
        claims: |p| p.comm == "k3s-server" || p.comm == "k3s-agent",
        users: &[],
        port: None,
        host_daemon: false,
    },
    Spec {
        name: "kube-apiserver",
        areas: &["apiserver"],
        claims: |p| named(p, &["kube-apiserver"]),
        users: &["kube-apiserver", "kube"],
        port: Some(6443),
        host_daemon: false,
    },
    Spec {
        name: "etcd",
        areas: &["etcd"],
        claims: |p| named(p, &["etcd"]),
        users: &["etcd"],
        port: Some(2379),
        host_daemon: false,
    },
    Spec {
        name: "kube-controller-manager",
        areas: &["controller-manager"],
        claims: |p| named(p, &["kube-controller-manager", "kube-controller"]),
        users: &["kube"],
        port: Some(10257),
        host_daemon: false,
    },
    Spec {
        name: "kube-scheduler",
        areas: &["scheduler"],
        claims: |p| named(p, &["kube-scheduler"]),
        users: &["kube"],
        port: Some(10259),
        host_daemon: false,
    },
    Spec {
        name: "kube-proxy",
        areas: &["kube-proxy"],
        claims: |p| named(p, &["kube-proxy"]),
        users: &[],
        port: Some(10249),
        host_daemon: false,
    },
    Spec {
        name: "containerd",
        areas: &["runtime"],
        claims: |p| named(p, &["containerd"]),
        users: &[],
        port: None,
        host_daemon: true,
    },
    Spec {
        name: "crio",
        areas: &["runtime"],
        claims: |p| named(p, &["crio"]),
        users: &[],
        port: None,
        host_daemon: true,
    },
    Spec {
        name: "cri-dockerd",
        areas: &["runtime"],
        claims: |p| named(p, &["cri-dockerd"]),
        users: &[],
        port: None,
        host_daemon: true,
    },
    Spec {
        name: "sshd",
        areas: &["sshd"],
        claims: |p| named(p, &["sshd"]),
        users: &[],
        port: Some(22),
        host_daemon: false,
    },
];

/// A process that claimed to be a component and was not taken for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub pid: u32,
    /// The name it claimed.
    pub claimed: &'static str,
    pub reason: String,
}

impl Ignored {
    /// `ignored pid 4242 named kubelet: uid 1000, …`
    pub fn describe(&self) -> String {
        format!(
            "ignored pid {} named {}: {}",
            self.pid, self.claimed, self.reason
        )
    }
}

/// What identification found.
#[derive(Debug, Clone, Default)]
pub struct Screened {
    /// Pids of processes that claimed a component's name and were not taken.
    pub ignored_pids: BTreeSet<u32>,
    /// The ignored processes by area.
    pub ignored: BTreeMap<&'static str, Vec<Ignored>>,
}

/// Processes named per area: a thousand impostors are counted, not listed.
pub const MAX_NAMED: usize = 16;
/// Characters of a reason kept (it quotes names and paths the host chose).
const MAX_REASON: usize = 400;

impl Screened {
    /// Ignores `pid`, which claimed `spec`'s name, for `reason`: always for judging, and
    /// named in each of `spec`'s areas up to [`MAX_NAMED`], the rest counted in one entry.
    fn ignore(&mut self, pid: u32, spec: &Spec, reason: String) {
        self.ignored_pids.insert(pid);
        let reason = if reason.chars().count() > MAX_REASON {
            let cut: String = reason.chars().take(MAX_REASON).collect();
            format!("{cut}…")
        } else {
            reason
        };
        for area in spec.areas {
            let named = self.ignored.entry(area).or_default();
            match named.len() {
                n if n < MAX_NAMED => named.push(Ignored {
                    pid,
                    claimed: spec.name,
                    reason: reason.clone(),
                }),
                n if n == MAX_NAMED => named.push(Ignored {
                    pid: 0,
                    claimed: spec.name,
                    reason: "1 more process ignored".into(),
                }),
                _ => {
                    if let Some(last) = named.last_mut() {
                        let more = last
                            .reason
                            .split(' ')
                            .next()
                            .and_then(|n| n.parse::<usize>().ok())
                            .unwrap_or(1);
                        last.reason = format!("{} more processes ignored", more + 1);
                    }
                }
            }
        }
    }
}

/// Why `p` is not the component `spec` describes, or `None` when it passes.
fn distrust(
    host: &Host,
    p: &Process,
    spec: &Spec,
    by_pid: &BTreeMap<u32, &Process>,
) -> Option<String> {
    let users = host.users();
    let allowed = |uid: u32| {
        uid == 0
            || spec
                .users
                .iter()
                .any(|name| users.uid_of(name) == Some(uid))
    };
    let mut reasons = Vec::new();
    let [real, effective, ..] = p.uids;
    // The uid that fails is the one named (a setuid program run by a user has effective uid
    // 0 and the user's real uid).
    let failing = [real, effective].into_iter().find(|uid| !allowed(*uid));
    if let Some(uid) = failing {
        let who = users.user_label(uid);
        let which = if uid == real && real != effective {
            "real uid"
        } else {
            "uid"
        };
        reasons.push(if spec.users.is_empty() {
            format!("{which} {uid} ({who}), not root")
        } else {
            format!(
                "{which} {uid} ({who}), neither root nor {}",
                spec.users.join(" nor ")
            )
        });
    }
    // An executable that cannot be looked at (a scan without privileges may not read another
    // user's `exe` link) rejects nothing by itself: only root can start a root process, so
    // the owner test still holds. One that can be looked at must be root's alone.
    if let Some(exe) = p.exe.as_deref() {
        match host.process_exe(p.pid, exe) {
            Ok(meta) if meta.kind != EntryKind::File => {
                reasons.push(format!("its executable {exe} is not a regular file"));
            }
            Ok(meta) if meta.uid != 0 => reasons.push(format!(
                "its executable {exe} is owned by uid {} ({})",
                meta.uid,
                users.user_label(meta.uid)
            )),
            Ok(meta) if meta.mode & 0o022 != 0 => reasons.push(format!(
                "its executable {exe} is writable by others ({:04o})",
                meta.mode
            )),
            Ok(_) | Err(_) => {}
        }
    }
    let parent = by_pid.get(&p.ppid);
    // A host daemon is started by init or by k3s/rke2, never by a shim: a pod's process
    // running as root, named containerd, is a shim's child.
    let launchers: &[&str] = if spec.host_daemon {
        &["k3s-server", "k3s-agent", "rke2"]
    } else {
        LAUNCHERS
    };
    let launched = p.ppid == 1
        || parent.is_some_and(|parent| {
            parent.uids[1] == 0
                && launchers
                    .iter()
                    .any(|l| parent.comm == *l || parent.program() == *l)
        });
    if spec.host_daemon && super::containers::placement(&p.cgroups).is_some() {
        reasons.push("a container process (in a pod's cgroup), not the host's daemon".into());
    }
    if !launched {
        let by = parent.map_or_else(
            || format!("parent pid {} is not visible", p.ppid),
            |parent| {
                format!(
                    "its parent pid {} is {} (uid {})",
                    parent.pid, parent.comm, parent.uids[1]
                )
            },
        );
        reasons.push(format!(
            "not started by the init system or a container runtime ({by})"
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The components k3s runs inside its own process, the k3s processes that run each, and the
/// k3s setting that turns it off.
const K3S_EMBEDS: &[(&str, &[&str], &str)] = &[
    ("kube-apiserver", &["k3s-server"], "disable-apiserver"),
    (
        "kube-controller-manager",
        &["k3s-server"],
        "disable-controller-manager",
    ),
    ("kube-scheduler", &["k3s-server"], "disable-scheduler"),
    (
        "kube-proxy",
        &["k3s-server", "k3s-agent"],
        "disable-kube-proxy",
    ),
];

/// On a k3s node the component runs inside k3s: a container process claiming its name is a
/// pod's (any pod running as root passes the other tests, its parent being the runtime's shim),
/// unless the kubelet runs it from a static pod manifest or k3s's configuration turns the
/// embedded copy off.
fn embedded_elsewhere(
    host: &Host,
    p: &Process,
    spec: &Spec,
    processes: &[Process],
    k3s_config: Option<&super::k3s::K3sConfig>,
) -> Option<String> {
    let (_, hosts, disable) = K3S_EMBEDS.iter().find(|(name, _, _)| *name == spec.name)?;
    let k3s = processes
        .iter()
        .find(|k| hosts.contains(&k.comm.as_str()) && k.uids[1] == 0)?;
    super::containers::placement(&p.cgroups)?;
    let manifest = super::components::MANIFEST_DIRS
        .iter()
        .chain(std::iter::once(&"/var/lib/rancher/k3s/agent/pod-manifests"))
        .any(|dir| host.exists_unfollowed(&format!("{dir}/{}.yaml", spec.name)));
    if manifest {
        return None;
    }
    if k3s_config.is_some_and(|config| config.flag(disable)) {
        return None;
    }
    Some(format!(
        "a container process, while {} (pid {}) runs {} in-process ({disable} is not set) and no static pod manifest starts it",
        k3s.comm, k3s.pid, spec.name
    ))
}

/// Screens the processes: which of those claiming a component's name are ignored, and why.
pub fn screen(
    host: &Host,
    processes: &[Process],
    listeners: &[Listener],
    k3s_config: Option<&super::k3s::K3sConfig>,
) -> Screened {
    let by_pid: BTreeMap<u32, &Process> = processes.iter().map(|p| (p.pid, p)).collect();
    let mut screened = Screened::default();
    for spec in SPECS {
        let mut plausible: Vec<&Process> = Vec::new();
        // sshd forks a process per connection; those are children of the daemon (or of
        // each other), not daemons of their own.
        let mut sessions: BTreeSet<u32> = BTreeSet::new();
        for p in processes
            .iter()
            .filter(|p| !p.kernel_thread && (spec.claims)(p))
        {
            if spec.name == "sshd"
                && (sessions.contains(&p.ppid) || plausible.iter().any(|d| d.pid == p.ppid))
            {
                sessions.insert(p.pid);
                continue;
            }
            match distrust(host, p, spec, &by_pid)
                .or_else(|| embedded_elsewhere(host, p, spec, processes, k3s_config))
            {
                None => plausible.push(p),
                Some(reason) => screened.ignore(p.pid, spec, reason),
            }
        }
        if plausible.len() < 2 || spec.host_daemon {
            continue;
        }
        // Two plausible components: the one owning the component's port is judged.
        let owner = spec.port.and_then(|port| {
            plausible.iter().copied().find(|p| {
                listeners.iter().any(|l| {
                    l.port == port && l.is_host() && l.owners.iter().any(|(pid, _)| *pid == p.pid)
                })
            })
        });
        let judged = owner.unwrap_or(plausible[0]);
        for p in plausible.iter().filter(|p| p.pid != judged.pid) {
            let reason = match (owner, spec.port) {
                (Some(_), Some(port)) => format!(
                    "another plausible {} runs; pid {} owns port {port} and is judged",
                    spec.name, judged.pid
                ),
                _ => format!(
                    "another plausible {} runs and none owns its port; pid {} (the lowest) is judged",
                    spec.name, judged.pid
                ),
            };
            screened.ignore(p.pid, spec, reason);
        }
    }
    screened
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::process::read_processes;
    use crate::host::testing::TempRoot;
    use std::net::{IpAddr, Ipv4Addr};

    /// A fixture host built as a tar, so owners are exact whoever runs the test.
    #[derive(Default)]
    struct Fixture {
        /// (path, content, mode, uid, link target)
        entries: Vec<(String, String, u32, u32, Option<String>)>,
    }

    impl Fixture {
        fn new() -> Fixture {
            let mut f = Fixture::default();
            f.file(
                "etc/passwd",
                "root:x:0:0::/root:/bin/sh\netcd:x:998:998::/var/lib/etcd:/usr/sbin/nologin\nmallory:x:1000:1000::/home/mallory:/bin/sh\n",
                0o644,
                0,
            );
            for exe in ["usr/bin/kubelet", "usr/sbin/sshd", "usr/local/bin/etcd"] {
                f.file(exe, "", 0o755, 0);
            }
            f.process(1, "systemd", 0, 0, "/usr/lib/systemd/systemd");
            f
        }

        fn file(&mut self, path: &str, content: &str, mode: u32, uid: u32) {
            self.entries
                .push((path.into(), content.into(), mode, uid, None));
        }

        /// A process running `exe`.
        fn process(&mut self, pid: u32, name: &str, ppid: u32, uid: u32, exe: &str) {
            self.file(
                &format!("proc/{pid}/status"),
                &format!("Name:\t{name}\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
                0o444,
                0,
            );
            self.file(
                &format!("proc/{pid}/cmdline"),
                &format!("{exe}\0"),
                0o444,
                0,
            );
            self.entries.push((
                format!("proc/{pid}/exe"),
                String::new(),
                0o777,
                0,
                Some(exe.into()),
            ));
        }

        fn screen(&self, listeners: &[Listener]) -> Screened {
            let dir = TempRoot::new();
            let path = dir.join("host.tar");
            let mut builder = tar::Builder::new(Vec::new());
            for (name, content, mode, uid, link) in &self.entries {
                let mut header = tar::Header::new_gnu();
                header.set_mode(*mode);
                header.set_uid(u64::from(*uid));
                header.set_gid(u64::from(*uid));
                header.set_mtime(0);
                match link {
                    Some(target) => {
                        header.set_entry_type(tar::EntryType::Symlink);
                        header.set_size(0);
                        builder
                            .append_link(&mut header, name, target)
                            .expect("link");
                    }
                    None => {
                        header.set_size(content.len() as u64);
                        builder
                            .append_data(&mut header, name, content.as_bytes())
                            .expect("file");
                    }
                }
            }
            std::fs::write(&path, builder.into_inner().expect("tar")).expect("write");
            let host = crate::host::Host::open(&path, None).expect("open");
            let processes = read_processes(&host);
            let k3s = super::super::k3s::config_if_running(&host, &processes);
            screen(&host, &processes, listeners, k3s.as_ref())
        }
    }

    fn reasons(screened: &Screened, area: &str) -> Vec<(u32, String)> {
        screened
            .ignored
            .get(area)
            .map(|v| v.iter().map(|i| (i.pid, i.reason.clone())).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_user_process_named_like_a_component_is_ignored_with_the_reason() {
        let mut host = Fixture::new();
        // Lower pid than the real kubelet, run by a user from their home directory.
        host.file("home/mallory/kubelet", "", 0o755, 1000);
        host.process(50, "kubelet", 1, 1000, "/home/mallory/kubelet");
        host.process(60, "kubelet", 1, 0, "/usr/bin/kubelet");
        let screened = host.screen(&[]);
        let ignored = reasons(&screened, "kubelet");
        assert_eq!(ignored.len(), 1, "{ignored:?}");
        assert_eq!(ignored[0].0, 50);
        assert!(
            ignored[0].1.contains("uid 1000 (mallory), not root"),
            "{ignored:?}"
        );
        assert!(
            ignored[0]
                .1
                .contains("executable /home/mallory/kubelet is owned by uid 1000"),
            "{ignored:?}"
        );
        assert!(!screened.ignored_pids.contains(&60));
    }

    #[test]
    fn a_setuid_program_names_the_real_uid_and_floods_are_counted() {
        let mut host = Fixture::new();
        // `su` run through a link named sshd: effective uid 0, real uid the user's.
        host.file(
            "proc/80/status",
            "Name:\tsshd\nPPid:\t1\nUid:\t1000\t0\t0\t0\n",
            0o444,
            0,
        );
        for pid in 100..400 {
            host.process(pid, "kubelet", 1, 1000, "/home/mallory/kubelet");
        }
        let screened = host.screen(&[]);
        let sshd = reasons(&screened, "sshd");
        assert!(
            sshd[0].1.contains("real uid 1000 (mallory), not root"),
            "{sshd:?}"
        );
        let kubelet = reasons(&screened, "kubelet");
        assert_eq!(kubelet.len(), MAX_NAMED + 1);
        assert_eq!(
            kubelet[MAX_NAMED],
            (0, "284 more processes ignored".to_string())
        );
        assert_eq!(
            screened.ignored_pids.len(),
            301,
            "every one of them ignored"
        );
    }

    #[test]
    fn the_executable_must_be_roots_alone() {
        let mut host = Fixture::new();
        host.file("opt/writable/kubelet", "", 0o777, 0);
        host.process(70, "kubelet", 1, 0, "/opt/writable/kubelet");
        let ignored = reasons(&host.screen(&[]), "kubelet");
        assert!(
            ignored[0].1.contains("writable by others (0777)"),
            "{ignored:?}"
        );
    }

    #[test]
    fn parents_must_be_init_or_a_launcher_run_by_root() {
        let mut host = Fixture::new();
        host.process(
            90,
            "containerd-shim",
            1,
            0,
            "/usr/bin/containerd-shim-runc-v2",
        );
        host.process(91, "bash", 1, 0, "/usr/bin/bash");
        host.process(
            92,
            "containerd-shim",
            1,
            1000,
            "/home/mallory/containerd-shim",
        );
        host.process(100, "etcd", 90, 998, "/usr/local/bin/etcd");
        host.process(101, "etcd", 91, 0, "/usr/local/bin/etcd");
        host.process(102, "etcd", 92, 0, "/usr/local/bin/etcd");
        host.process(103, "etcd", 4242, 0, "/usr/local/bin/etcd");
        let ignored = reasons(&host.screen(&[]), "etcd");
        let pids: Vec<u32> = ignored.iter().map(|(p, _)| *p).collect();
        assert_eq!(pids, [101, 102, 103], "{ignored:?}");
        assert!(ignored[0].1.contains("its parent pid 91 is bash (uid 0)"));
        assert!(
            ignored[1]
                .1
                .contains("its parent pid 92 is containerd-shim (uid 1000)")
        );
        assert!(ignored[2].1.contains("parent pid 4242 is not visible"));
    }

    #[test]
    fn of_two_plausible_components_the_listener_owner_is_judged() {
        let mut host = Fixture::new();
        host.process(200, "kubelet", 1, 0, "/usr/bin/kubelet");
        host.process(300, "kubelet", 1, 0, "/usr/bin/kubelet");
        let listener = |port, pid| Listener {
            protocol: "tcp",
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
            inode: 1,
            owners: vec![(pid, "kubelet".into())].into(),
            netns: "host".into(),
        };
        let ignored = reasons(&host.screen(&[listener(10250, 300)]), "kubelet");
        assert_eq!(ignored.len(), 1);
        assert_eq!(ignored[0].0, 200);
        assert!(
            ignored[0].1.contains("pid 300 owns port 10250"),
            "{ignored:?}"
        );
        // None owns the port: the lowest pid is judged, and that is said.
        let ignored = reasons(&host.screen(&[listener(8080, 300)]), "kubelet");
        assert_eq!(ignored[0].0, 300);
        assert!(
            ignored[0].1.contains("none owns its port; pid 200"),
            "{ignored:?}"
        );
    }

    #[test]
    fn sshd_connection_processes_are_neither_judged_nor_named() {
        let mut host = Fixture::new();
        host.process(400, "sshd", 1, 0, "/usr/sbin/sshd");
        host.process(401, "sshd", 400, 0, "/usr/sbin/sshd");
        host.process(402, "sshd", 401, 1000, "/usr/sbin/sshd");
        let screened = host.screen(&[]);
        assert!(screened.ignored.is_empty(), "{:?}", screened.ignored);
        assert!(screened.ignored_pids.is_empty());
    }

    #[test]
    fn a_users_container_runtime_is_not_the_runtime() {
        // F1 of the issue-14 red team: a runtime chooses which CNI files are judged and which
        // config file the scan reads, so a user's `containerd -c FILE` must never count.
        let mut f = Fixture::new();
        f.file("home/mallory/containerd", "", 0o755, 1000);
        f.process(200, "containerd", 1, 1000, "/home/mallory/containerd");
        f.file("usr/bin/containerd", "", 0o755, 0);
        f.process(300, "containerd", 1, 0, "/usr/bin/containerd");
        let screened = f.screen(&[]);
        assert!(screened.ignored_pids.contains(&200));
        assert!(!screened.ignored_pids.contains(&300));
        assert!(screened.ignored["runtime"][0].reason.contains("uid 1000"));
    }

    #[test]
    fn a_pods_root_process_named_containerd_is_not_the_runtime() {
        // F1 of the issue-15 red team: any pod running as root is a shim's child; named
        // containerd, with a lower pid than a restarted host containerd, it was taken for the
        // runtime, and the real one ignored. A runtime is the host's daemon: started by init
        // or k3s, never in a pod's cgroup, and two real ones (k3s's beside Docker's) both stay.
        let mut f = Fixture::new();
        f.file("usr/bin/containerd-shim-runc-v2", "", 0o755, 0);
        f.process(
            20,
            "containerd-shim-runc-v2",
            1,
            0,
            "/usr/bin/containerd-shim-runc-v2",
        );
        f.file("usr/bin/containerd", "", 0o755, 0);
        f.process(30, "containerd", 20, 0, "/usr/bin/containerd");
        f.file(
            "proc/30/cgroup",
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b4e5c1a_7d2e_4b8a_9f3c_2a1b0c9d8e7f.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
            0o444,
            0,
        );
        f.process(800, "containerd", 1, 0, "/usr/bin/containerd");
        f.file("usr/local/bin/k3s", "", 0o755, 0);
        f.process(900, "k3s-server", 1, 0, "/usr/local/bin/k3s");
        f.process(950, "containerd", 900, 0, "/usr/bin/containerd");
        let screened = f.screen(&[]);
        assert!(screened.ignored_pids.contains(&30), "{screened:?}");
        let why = &screened.ignored["runtime"][0].reason;
        assert!(
            why.contains("not started by the init system") && why.contains("pod's cgroup"),
            "{why}"
        );
        assert!(!screened.ignored_pids.contains(&800), "{screened:?}");
        assert!(!screened.ignored_pids.contains(&950), "{screened:?}");
    }

    #[test]
    fn on_k3s_a_pod_named_like_an_embedded_component_is_a_pod() {
        // F4: k3s runs the scheduler in-process; a root pod's process of that name, started
        // by the runtime's shim, is not it (unless a static pod manifest starts it).
        let mut f = Fixture::new();
        f.file("usr/local/bin/k3s", "", 0o755, 0);
        f.process(10, "k3s-server", 1, 0, "/usr/local/bin/k3s");
        f.file("usr/bin/containerd-shim-runc-v2", "", 0o755, 0);
        f.process(
            20,
            "containerd-shim-runc-v2",
            1,
            0,
            "/usr/bin/containerd-shim-runc-v2",
        );
        f.file("usr/local/bin/kube-scheduler", "", 0o755, 0);
        f.process(30, "kube-scheduler", 20, 0, "/usr/local/bin/kube-scheduler");
        f.file(
            "proc/30/cgroup",
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b4e5c1a_7d2e_4b8a_9f3c_2a1b0c9d8e7f.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
            0o444,
            0,
        );
        let screened = f.screen(&[]);
        assert!(screened.ignored_pids.contains(&30), "{screened:?}");
        assert!(
            screened.ignored["scheduler"][0]
                .reason
                .contains("runs kube-scheduler in-process")
        );
        // With the embedded scheduler turned off, the pod may be the scheduler.
        f.file(
            "etc/rancher/k3s/config.yaml",
            "disable-scheduler: true\n",
            0o600,
            0,
        );
        assert!(!f.screen(&[]).ignored_pids.contains(&30));
    }
}

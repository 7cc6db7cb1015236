//! Processes, read once from the proc tree.
//!
//! A process that exits while it is being read is skipped, never fatal. Only what checks need
//! is kept; nothing from `environ` is read here.

use crate::host::{Host, PROC_CAP};
use std::collections::BTreeMap;

/// Programs whose command line is read: their flags are judged (or name what runs).
const ARGV_PROGRAMS: &[&str] = &[
    "kubelet",
    "hyperkube",
    "kube-apiserver",
    "etcd",
    "sshd",
    "dockerd",
    "containerd",
    "crio",
    "k3s",
    "k3s-server",
    "k3s-agent",
    "kube-proxy",
    "kube-controller-manager",
    "kube-scheduler",
];

/// Arguments kept of a command line (the kubelet's has about fifty).
pub const MAX_ARGS: usize = 4096;
/// Lines kept of a cgroup file (one per hierarchy: a dozen at most on cgroup v1).
pub const MAX_CGROUP_LINES: usize = 64;
/// Processes read: a process table larger than this is a budget run out (Linux's default
/// `pid_max` on 64-bit machines allows 4 million; nodes run a few thousand).
pub const MAX_PROCESSES: usize = 65_536;

/// Programs whose working directory is read (relative `--config`, etcd's default data dir).
const COMPONENTS: &[&str] = &[
    "kubelet",
    "hyperkube",
    "etcd",
    "kube-apiserver",
    "k3s-server",
    "k3s-agent",
    "k3s",
    "kube-proxy",
    "kube-controller-manager",
    "kube-scheduler",
];

/// One process of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    /// `Name:` of status (the 15-character comm).
    pub comm: String,
    /// Target of `/proc/<pid>/exe`, when readable.
    pub exe: Option<String>,
    /// Target of `/proc/<pid>/cwd`, when readable (relative paths in argv resolve to it).
    pub cwd: Option<String>,
    pub argv: Vec<String>,
    /// Real, effective, saved and filesystem UIDs.
    pub uids: [u32; 4],
    pub gids: [u32; 4],
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub cap_bounding: u64,
    pub no_new_privs: Option<bool>,
    /// 0 disabled, 1 strict, 2 filter.
    pub seccomp: Option<u8>,
    /// Lines of `/proc/<pid>/cgroup`.
    pub cgroups: Vec<String>,
    /// Namespace links (`net` → `net:[4026531840]`).
    pub namespaces: BTreeMap<String, String>,
    /// Inodes of the sockets the process holds open.
    pub socket_inodes: Vec<u64>,
    /// A kernel thread: no program, no files, no namespaces of its own worth reading.
    pub kernel_thread: bool,
}

impl Process {
    /// The program's file name: from `exe` when readable, else argv[0], else comm.
    pub fn program(&self) -> &str {
        self.exe
            .as_deref()
            .or_else(|| self.argv.first().map(String::as_str))
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .map(|p| p.trim_end_matches(" (deleted)"))
            .unwrap_or(&self.comm)
    }
}

fn parse_status(text: &str, p: &mut Process) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let ids = |v: &str| -> [u32; 4] {
            let mut out = [0u32; 4];
            for (slot, field) in out.iter_mut().zip(v.split_whitespace()) {
                *slot = field.parse().unwrap_or(u32::MAX);
            }
            out
        };
        let hex = |v: &str| u64::from_str_radix(v, 16).unwrap_or(0);
        match key {
            "Name" => p.comm = value.to_string(),
            "PPid" => p.ppid = value.parse().unwrap_or(0),
            "Uid" => p.uids = ids(value),
            "Gid" => p.gids = ids(value),
            "CapEff" => p.cap_effective = hex(value),
            "CapPrm" => p.cap_permitted = hex(value),
            "CapBnd" => p.cap_bounding = hex(value),
            "NoNewPrivs" => p.no_new_privs = Some(value == "1"),
            "Seccomp" => p.seccomp = value.parse().ok(),
            "Kthread" => p.kernel_thread = value == "1",
            _ => {}
        }
    }
}

/// Reads one process; `None` when it is gone or its status cannot be read.
pub fn read_process(host: &Host, pid: u32) -> Option<Process> {
    let status = host.proc_read(&format!("{pid}/status"), PROC_CAP).ok()?;
    let mut p = Process {
        pid,
        ..Process::default()
    };
    parse_status(&String::from_utf8_lossy(&status), &mut p);
    // Older kernels have no `Kthread:` line; kthreadd (pid 2) is the parent of every kernel
    // thread.
    if pid == 2 || p.ppid == 2 {
        p.kernel_thread = true;
    }
    if p.kernel_thread {
        return Some(p);
    }
    p.exe = host.proc_readlink(&format!("{pid}/exe")).ok();
    // The command line is read for the programs whose flags are judged, and whenever the
    // executable cannot be named (argv[0] then names the program).
    let exe_name = p.exe.as_deref().map(|e| {
        e.rsplit('/')
            .next()
            .unwrap_or(e)
            .trim_end_matches(" (deleted)")
    });
    let wanted = exe_name.is_none_or(|n| ARGV_PROGRAMS.contains(&n))
        || ARGV_PROGRAMS.contains(&p.comm.as_str());
    if wanted && let Ok(cmdline) = host.proc_read(&format!("{pid}/cmdline"), PROC_CAP) {
        // Held per argument: a command line of half a million empty arguments is a budget
        // run out, not 24 MB of strings.
        let args = cmdline.split(|&b| b == 0).filter(|s| !s.is_empty());
        if args.clone().nth(MAX_ARGS).is_some() {
            let _ = host.over_budget(
                &format!("/proc/{pid}/cmdline"),
                format!("a command line of more than {MAX_ARGS} arguments"),
            );
        }
        p.argv = args
            .take(MAX_ARGS)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
    }
    // The working directory matters only to components whose argv holds relative paths.
    if COMPONENTS.contains(&p.program()) || COMPONENTS.contains(&p.comm.as_str()) {
        p.cwd = host.proc_readlink(&format!("{pid}/cwd")).ok();
    }
    if let Ok(cgroup) = host.proc_read(&format!("{pid}/cgroup"), PROC_CAP) {
        let text = String::from_utf8_lossy(&cgroup);
        if text.lines().nth(MAX_CGROUP_LINES).is_some() {
            let _ = host.over_budget(
                &format!("/proc/{pid}/cgroup"),
                format!("a cgroup file of more than {MAX_CGROUP_LINES} lines"),
            );
        }
        p.cgroups = text
            .lines()
            .take(MAX_CGROUP_LINES)
            .map(str::to_string)
            .collect();
    }
    // Namespace links are compared for container processes against pid 1's; on a node with
    // thousands of processes the rest would cost six syscalls each for nothing.
    let wanted = pid == 1 || super::containers::placement(&p.cgroups).is_some();
    for ns in ["net", "pid", "ipc", "user", "mnt", "uts"]
        .iter()
        .filter(|_| wanted)
    {
        match host.proc_readlink(&format!("{pid}/ns/{ns}")) {
            Ok(link) => {
                p.namespaces.insert(ns.to_string(), link);
            }
            Err(crate::host::FileError::PermissionDenied(_)) => break,
            Err(_) => {}
        }
    }
    // An unreadable fd directory (another user's process without privilege) only means the
    // process cannot be named as a socket's owner.
    if let Ok(fds) = host.proc_list(&format!("{pid}/fd")) {
        for fd in fds {
            let target = match host.proc_readlink(&format!("{pid}/fd/{fd}")) {
                Ok(target) => target,
                // Denied for one fd means denied for all of them (ptrace access mode).
                Err(crate::host::FileError::PermissionDenied(_)) => break,
                Err(_) => continue,
            };
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse().ok())
            {
                p.socket_inodes.push(inode);
            }
        }
    }
    Some(p)
}

/// Every process of the proc tree, in pid order.
/// The variables of a process's environment whose name `wanted` accepts, as (name, value); an
/// environment that cannot be read is empty. Callers name what they keep, so nothing else of
/// the environment (tokens, passwords) is ever held.
pub fn environment(host: &Host, pid: u32, wanted: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let Ok(bytes) = host.proc_read(&format!("{pid}/environ"), PROC_CAP) else {
        return Vec::new();
    };
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (key, value) = entry.split_once('=')?;
            wanted(key).then(|| (key.to_string(), value.to_string()))
        })
        .collect()
}

pub fn read_processes(host: &Host) -> Vec<Process> {
    let Ok(names) = host.proc_list("") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    pids.sort_unstable();
    if pids.len() > MAX_PROCESSES {
        let _ = host.over_budget(
            "/proc",
            format!(
                "a process table of {} processes, more than {MAX_PROCESSES}",
                pids.len()
            ),
        );
        pids.truncate(MAX_PROCESSES);
    }
    // Reading a process costs a dozen syscalls; on a node with thousands of processes the
    // kernel time dominates the scan, so big process tables are read on every core.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if pids.len() < 512 || threads < 2 {
        return pids
            .into_iter()
            .filter_map(|pid| read_process(host, pid))
            .collect();
    }
    let chunk = pids.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = pids
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|&pid| read_process(host, pid))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A worker cannot panic short of a bug; its processes are then missing, not the scan.
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    #[test]
    fn an_unreadable_fd_directory_only_loses_socket_owners() {
        let root = TempRoot::new();
        root.file(
            "proc/7/status",
            "Name:\tagent\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
            0o444,
        )
        // Not a directory: listing it fails the way an unreadable one does.
        .file("proc/7/fd", "", 0o000);
        let procs = read_processes(&root.host());
        assert_eq!(procs.len(), 1);
        assert_eq!(procs[0].comm, "agent");
        assert!(procs[0].socket_inodes.is_empty());
    }

    #[test]
    fn status_cmdline_and_sockets_are_read_and_vanished_processes_skipped() {
        let root = TempRoot::new();
        root.file(
            "proc/42/status",
            "Name:\tsshd\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t2\n",
            0o444,
        )
        .file("proc/42/cmdline", "/usr/sbin/sshd\0-D\0-o\0PermitRootLogin=no\0", 0o444)
        .symlink("proc/42/exe", "/usr/sbin/sshd")
        .symlink("proc/42/fd/3", "socket:[12345]")
        .symlink("proc/42/fd/4", "/dev/null")
        .file(
            "proc/42/cgroup",
            "0::/kubepods/pod1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
            0o444,
        )
        .symlink("proc/42/ns/net", "net:[4026531840]")
        .file("proc/43/cmdline", "gone", 0o444);
        let host = root.host();
        let procs = read_processes(&host);
        assert_eq!(procs.len(), 1, "pid 43 has no status and is skipped");
        let p = &procs[0];
        assert_eq!(p.comm, "sshd");
        assert_eq!(p.program(), "sshd");
        assert_eq!(p.argv, ["/usr/sbin/sshd", "-D", "-o", "PermitRootLogin=no"]);
        assert_eq!(p.cap_effective, 0x1ff_ffff_ffff);
        assert_eq!(p.seccomp, Some(2));
        assert_eq!(p.no_new_privs, Some(false));
        assert_eq!(p.socket_inodes, [12345]);
        assert_eq!(
            p.namespaces.get("net").map(String::as_str),
            Some("net:[4026531840]")
        );
    }
}

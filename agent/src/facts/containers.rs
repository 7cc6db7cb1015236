//! Container processes: found through their cgroups (containerd, CRI-O and docker under
//! kubepods, cgroup v1 and v2, systemd and cgroupfs drivers), named through the kubelet's log
//! directories, and described from their live `/proc` entries: host UID and GID, user
//! namespace mapping, capabilities, NoNewPrivs, seccomp, host namespaces, memory limit, and
//! whether their root filesystem ships a shell or a package manager.

use super::process::Process;
use crate::host::{Content, FileError, Host, PROC_CAP};
use std::collections::BTreeMap;

/// Names of capability bits 0..=40.
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];
pub const CAP_SYS_ADMIN: u32 = 21;

/// Capability names of a mask.
pub fn capability_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| {
            CAPABILITIES
                .get(bit as usize)
                .map_or_else(|| format!("CAP_{bit}"), |n| n.to_string())
        })
        .collect()
}

/// Shells looked for in container images.
pub const SHELLS: &[&str] = &[
    "/bin/sh",
    "/bin/bash",
    "/bin/busybox",
    "/usr/bin/bash",
    "/usr/bin/sh",
];
/// Package managers looked for in container images.
pub const PACKAGE_MANAGERS: &[&str] = &[
    "/usr/bin/apt",
    "/usr/bin/apt-get",
    "/usr/bin/dpkg",
    "/sbin/apk",
    "/usr/bin/yum",
    "/usr/bin/dnf",
    "/usr/bin/rpm",
    "/usr/bin/microdnf",
];

/// Where a process sits in the container hierarchy, from its cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPlacement {
    pub runtime: &'static str,
    pub container_id: String,
    pub pod_uid: Option<String>,
    /// `guaranteed`, `burstable`, `besteffort` under kubepods.
    pub qos: Option<&'static str>,
    /// The cgroup path (for the memory limit).
    pub path: String,
    /// cgroup v2 (`0::`) or the v1 memory controller line.
    pub v2: bool,
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses one cgroup path (`/kubepods.slice/…/cri-containerd-<id>.scope`).
pub fn parse_cgroup_path(path: &str, v2: bool) -> Option<CgroupPlacement> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut placement: Option<(&'static str, String)> = None;
    for segment in segments.iter().rev() {
        let scoped = |prefix: &str| {
            segment
                .strip_prefix(prefix)
                .and_then(|s| s.strip_suffix(".scope"))
                .filter(|id| is_id(id))
                .map(str::to_string)
        };
        if let Some(id) = scoped("cri-containerd-") {
            placement = Some(("containerd", id));
        } else if let Some(id) = scoped("crio-") {
            placement = Some(("cri-o", id));
        } else if let Some(id) = scoped("docker-") {
            placement = Some(("docker", id));
        } else if is_id(segment) {
            let runtime = if segments.contains(&"docker") {
                "docker"
            } else {
                "containerd or cri-o"
            };
            placement = Some((runtime, segment.to_string()));
        }
        if placement.is_some() {
            break;
        }
    }
    let (runtime, container_id) = placement?;
    let kubepods = segments.iter().any(|s| s.starts_with("kubepods"));
    let pod_uid = segments.iter().find_map(|s| {
        let s = s.strip_suffix(".slice").unwrap_or(s);
        let uid = s
            .rsplit_once("-pod")
            .map(|(_, u)| u)
            .or_else(|| s.strip_prefix("pod"))?;
        (uid.len() >= 32).then(|| uid.replace('_', "-"))
    });
    let qos = kubepods.then(|| {
        if segments.iter().any(|s| s.contains("besteffort")) {
            "besteffort"
        } else if segments.iter().any(|s| s.contains("burstable")) {
            "burstable"
        } else {
            "guaranteed"
        }
    });
    Some(CgroupPlacement {
        runtime,
        container_id,
        pod_uid,
        qos,
        path: path.to_string(),
        v2,
    })
}

/// The container placement of a process from its `/proc/<pid>/cgroup` lines.
pub fn placement(cgroups: &[String]) -> Option<CgroupPlacement> {
    let mut v1_memory = None;
    let mut any = None;
    for line in cgroups {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let v2 = id == "0" && controllers.is_empty();
        let Some(p) = parse_cgroup_path(path, v2) else {
            continue;
        };
        if v2 {
            return Some(p);
        }
        if controllers.split(',').any(|c| c == "memory") {
            v1_memory = Some(p.clone());
        }
        any.get_or_insert(p);
    }
    v1_memory.or(any)
}

/// Kubernetes names of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodNames {
    /// container id → (namespace, pod, container)
    pub by_container: BTreeMap<String, (String, String, String)>,
    /// pod uid → (namespace, pod)
    pub by_pod_uid: BTreeMap<String, (String, String)>,
}

/// Reads `/var/log/containers` (`<pod>_<namespace>_<container>-<id>.log`) and
/// `/var/log/pods` (`<namespace>_<pod>_<uid>`).
pub fn pod_names(host: &Host) -> PodNames {
    let mut names = PodNames::default();
    for entry in host.list_dir("/var/log/containers").unwrap_or_default() {
        let Some(stem) = entry.strip_suffix(".log") else {
            continue;
        };
        let Some((prefix, id)) = stem.rsplit_once('-') else {
            continue;
        };
        let mut parts = prefix.splitn(3, '_');
        if let (Some(pod), Some(ns), Some(container)) = (parts.next(), parts.next(), parts.next()) {
            names.by_container.insert(
                id.to_string(),
                (ns.to_string(), pod.to_string(), container.to_string()),
            );
        }
    }
    for entry in host.list_dir("/var/log/pods").unwrap_or_default() {
        let mut parts = entry.splitn(3, '_');
        if let (Some(ns), Some(pod), Some(uid)) = (parts.next(), parts.next(), parts.next()) {
            names
                .by_pod_uid
                .insert(uid.to_string(), (ns.to_string(), pod.to_string()));
        }
    }
    names
}

/// One process of a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerProcess {
    pub pid: u32,
    pub program: String,
    pub placement: CgroupPlacement,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    /// The container's name; `None` for a pod sandbox (pause) or an unnamed container.
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// `Some(host uid of uid 0)` when the process runs in a user namespace.
    pub user_ns_root: Option<Option<u32>>,
    pub cap_effective: u64,
    pub no_new_privs: Option<bool>,
    pub seccomp: Option<u8>,
    /// Its security module label; `Ok(None)` when no module labels processes.
    pub lsm_label: Result<Option<RawLabel>, String>,
    /// Host namespaces shared (`net`, `pid`, `ipc`).
    pub host_namespaces: Vec<&'static str>,
    /// `Ok(None)`: no limit.
    pub memory_limit: Result<Option<u64>, String>,
    pub shell: Result<Option<String>, String>,
    pub package_manager: Result<Option<String>, String>,
    /// The image it was created from, as its runtime wrote it in the container's OCI bundle.
    pub image: Option<String>,
}

impl ContainerProcess {
    /// `namespace/pod/container` or what is known of it.
    pub fn label(&self) -> String {
        let id = &self.placement.container_id[..12.min(self.placement.container_id.len())];
        match (&self.namespace, &self.pod) {
            (Some(ns), Some(pod)) => format!(
                "{ns}/{pod}/{} ({id})",
                self.name.as_deref().unwrap_or("(sandbox)")
            ),
            _ => format!("container {id} ({})", self.placement.runtime),
        }
    }

    /// `namespace/pod` for exemption globs.
    pub fn pod_path(&self) -> Option<String> {
        Some(format!(
            "{}/{}",
            self.namespace.as_deref()?,
            self.pod.as_deref()?
        ))
    }

    /// Root inside the container that is root on the host.
    pub fn is_host_root(&self) -> bool {
        match self.user_ns_root {
            None => self.uid == 0,
            Some(maps_to) => self.uid == 0 && maps_to == Some(0),
        }
    }
}

fn uid_map_root(text: &str) -> Option<Option<u32>> {
    let mut host_userns = false;
    let mut root = None;
    for line in text.lines() {
        let fields: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if let [inside, outside, count] = fields[..] {
            if inside == 0 && outside == 0 && count >= 4_294_967_295 {
                host_userns = true;
            }
            if inside == 0 {
                root = u32::try_from(outside).ok();
            }
        }
    }
    if host_userns { None } else { Some(root) }
}

/// Which attribute file a process's security label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFile {
    /// `attr/apparmor/current`: AppArmor's own, whatever else is stacked.
    AppArmor,
    /// `attr/current`: the first labelling module's (SELinux, or AppArmor on kernels before 5.8).
    Current,
}

/// A process's security label, as the kernel wrote it, and where it came from: which module
/// wrote it is decided with the node's modules ([`crate::facts::lsm`]), never from its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLabel {
    pub file: LabelFile,
    pub text: String,
}

/// The process's label: AppArmor's own attribute file first (kernels since 5.8 keep one per
/// module), then the first module's `attr/current`. A kernel with no labelling module answers
/// `EINVAL`: no label.
fn lsm_label(host: &Host, pid: u32) -> Result<Option<RawLabel>, String> {
    let mut last = Ok(None);
    for (file, name) in [
        (LabelFile::AppArmor, "attr/apparmor/current"),
        (LabelFile::Current, "attr/current"),
    ] {
        match host.proc_read(&format!("{pid}/{name}"), PROC_CAP) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes)
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string();
                if !text.is_empty() {
                    return Ok(Some(RawLabel { file, text }));
                }
            }
            Err(FileError::NotFound(_)) => {}
            Err(FileError::Io { message, .. }) if message.contains("os error 22") => {}
            Err(e) => last = Err(e.to_string()),
        }
    }
    last
}

fn memory_limit(host: &Host, placement: &CgroupPlacement) -> Result<Option<u64>, String> {
    let (file, unlimited_at) = if placement.v2 {
        (
            format!("/sys/fs/cgroup{}/memory.max", placement.path),
            u64::MAX,
        )
    } else {
        (
            format!(
                "/sys/fs/cgroup/memory{}/memory.limit_in_bytes",
                placement.path
            ),
            1u64 << 62,
        )
    };
    let text = host
        .read_text(&file, PROC_CAP, Content::Plain)
        .map_err(|e| e.to_string())?;
    let text = text.trim();
    if text == "max" {
        return Ok(None);
    }
    let value: u64 = text
        .parse()
        .map_err(|_| format!("{file}: unexpected content {text:?}"))?;
    Ok((value < unlimited_at).then_some(value))
}

fn first_present(host: &Host, pid: u32, candidates: &[&str]) -> Result<Option<String>, String> {
    let mut error = None;
    for path in candidates {
        match host.exists_in_process_root(pid, path) {
            Ok(true) => return Ok(Some(path.to_string())),
            Ok(false) => {}
            Err(FileError::SymlinkLoop { path, .. }) => {
                error.get_or_insert(format!("{path}: symlink loop in the container image"));
            }
            Err(e) => {
                error.get_or_insert(e.to_string());
            }
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// The host's namespace links (from pid 1, or nodecheck's own process on a live host
/// where pid 1 cannot be read).
fn host_namespaces(host: &Host) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    if let Some(net) = host.netns_id(1) {
        out.insert("net", net);
    }
    for ns in ["pid", "ipc"] {
        let link = host
            .proc_readlink(&format!("1/ns/{ns}"))
            .or_else(|_| host.proc_readlink(&format!("self/ns/{ns}")));
        if let Ok(link) = link {
            out.insert(ns, link);
        }
    }
    out
}

/// The annotations of an OCI bundle's `config.json` that name the container's image:
/// containerd's CRI plugin, CRI-O, and containerd's for a pod sandbox (pause) image.
const IMAGE_ANNOTATIONS: &[&str] = &[
    "io.kubernetes.cri.image-name",
    "io.kubernetes.cri-o.ImageName",
    "io.kubernetes.cri.podsandbox.image-name",
];

/// Where each runtime keeps a container's OCI bundle, `{}` for the container id: containerd's
/// v2 shims under its state directory (k3s's too), CRI-O's under its run root.
const BUNDLES: &[(&str, &str)] = &[
    (
        "containerd",
        "/run/containerd/io.containerd.runtime.v2.task/k8s.io/{}/config.json",
    ),
    (
        "containerd",
        "/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/{}/config.json",
    ),
    (
        "cri-o",
        "/run/containers/storage/overlay-containers/{}/userdata/config.json",
    ),
];

/// A bundle's `config.json` is a few kilobytes (a pod's environment and annotations are in it,
/// so its author decides); one larger is read this far, once per container, not per process.
const BUNDLE_CAP: u64 = 256 << 10;

#[derive(serde::Deserialize)]
struct Bundle {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The image named in a bundle's `config.json`, when it is an image reference.
fn bundle_image(text: &str) -> Option<String> {
    let bundle: Bundle = serde_json::from_str(text).ok()?;
    IMAGE_ANNOTATIONS
        .iter()
        .find_map(|key| bundle.annotations.get(*key))
        .filter(|image| nodecheck_report::limits::is_image(image))
        .cloned()
}

/// What a snapshot keeps of a bundle's `config.json`: the image annotations alone.
pub fn bundle_reduced(text: &str) -> Option<String> {
    let bundle: Bundle = serde_json::from_str(text).ok()?;
    let kept: BTreeMap<&str, &str> = bundle
        .annotations
        .iter()
        .filter(|(key, _)| IMAGE_ANNOTATIONS.contains(&key.as_str()))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    serde_json::to_string(&serde_json::json!({ "annotations": kept })).ok()
}

/// The container's image, from the first bundle of its runtime that names one: on the host's
/// /run, or inside the runtime's root when that is not mounted.
fn image_of(host: &Host, placement: &CgroupPlacement, runtime_pid: Option<u32>) -> Option<String> {
    let runtimes: &[&str] = match placement.runtime {
        "containerd or cri-o" => &["containerd", "cri-o"],
        "containerd" => &["containerd"],
        "cri-o" => &["cri-o"],
        // docker writes no CRI annotations.
        _ => return None,
    };
    BUNDLES
        .iter()
        .filter(|(runtime, _)| runtimes.contains(runtime))
        .find_map(|(_, pattern)| {
            let path = pattern.replace("{}", &placement.container_id);
            let text = match host.read_text(&path, BUNDLE_CAP, Content::OciBundle) {
                Ok(text) => Some(text),
                Err(e) if e.is_not_found() => runtime_pid.and_then(|pid| {
                    host.read_text_in_process_root(pid, &path, BUNDLE_CAP, Content::OciBundle)
                        .ok()
                }),
                Err(_) => None,
            };
            text.and_then(|text| bundle_image(&text))
        })
}

/// Every container process of the host.
pub fn gather(
    host: &Host,
    processes: &[Process],
    runtime_pid: Option<u32>,
) -> Vec<ContainerProcess> {
    let placed: Vec<(&Process, CgroupPlacement)> = processes
        .iter()
        .filter(|p| !p.kernel_thread)
        .filter_map(|p| placement(&p.cgroups).map(|c| (p, c)))
        .collect();
    if placed.is_empty() {
        return Vec::new();
    }
    let names = pod_names(host);
    let host_ns = host_namespaces(host);
    // A container's processes share its bundle: read once each.
    let mut images: std::collections::HashMap<String, Option<String>> =
        std::collections::HashMap::new();
    placed
        .into_iter()
        .map(|(p, placement)| {
            let named = names.by_container.get(&placement.container_id);
            let pod = placement
                .pod_uid
                .as_ref()
                .and_then(|u| names.by_pod_uid.get(u));
            let (namespace, pod_name, name) = match (named, pod) {
                (Some((ns, pod, c)), _) => (Some(ns.clone()), Some(pod.clone()), Some(c.clone())),
                (None, Some((ns, pod))) => (Some(ns.clone()), Some(pod.clone()), None),
                (None, None) => (None, None, None),
            };
            let user_ns_root = host
                .proc_read(&format!("{}/uid_map", p.pid), PROC_CAP)
                .ok()
                .and_then(|b| uid_map_root(&String::from_utf8_lossy(&b)));
            let mut shared = Vec::new();
            let own_net = host.netns_id(p.pid);
            if own_net.is_some() && own_net.as_ref() == host_ns.get("net") {
                shared.push("net");
            }
            for ns in ["pid", "ipc"] {
                if p.namespaces
                    .get(ns)
                    .is_some_and(|l| host_ns.get(ns) == Some(l))
                {
                    shared.push(ns);
                }
            }
            ContainerProcess {
                pid: p.pid,
                program: p.program().to_string(),
                namespace,
                pod: pod_name,
                name,
                uid: p.uids[1],
                gid: p.gids[1],
                user_ns_root,
                cap_effective: p.cap_effective,
                no_new_privs: p.no_new_privs,
                seccomp: p.seccomp,
                lsm_label: lsm_label(host, p.pid),
                host_namespaces: shared,
                memory_limit: memory_limit(host, &placement),
                shell: first_present(host, p.pid, SHELLS),
                package_manager: first_present(host, p.pid, PACKAGE_MANAGERS),
                image: images
                    .entry(placement.container_id.clone())
                    .or_insert_with(|| image_of(host, &placement, runtime_pid))
                    .clone(),
                placement,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn images_come_from_bundle_annotations_and_snapshots_keep_only_those() {
        let config = r#"{"ociVersion":"1.1.0","process":{"env":["DB_PASSWORD=hunter2"]},
            "annotations":{"io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.image-name":"docker.io/library/nginx:1.27",
            "io.kubernetes.cri.sandbox-id":"abc"}}"#;
        assert_eq!(
            bundle_image(config).as_deref(),
            Some("docker.io/library/nginx:1.27")
        );
        let kept = bundle_reduced(config).expect("reduced");
        assert!(
            !kept.contains("hunter2") && !kept.contains("sandbox-id"),
            "{kept}"
        );
        assert_eq!(
            bundle_image(&kept).as_deref(),
            Some("docker.io/library/nginx:1.27")
        );
        let crio =
            r#"{"annotations":{"io.kubernetes.cri-o.ImageName":"quay.io/app/api@sha256:0123"}}"#;
        assert_eq!(
            bundle_image(crio).as_deref(),
            Some("quay.io/app/api@sha256:0123")
        );
        let sandbox = r#"{"annotations":{"io.kubernetes.cri.podsandbox.image-name":"registry.k8s.io/pause:3.10"}}"#;
        assert_eq!(
            bundle_image(sandbox).as_deref(),
            Some("registry.k8s.io/pause:3.10")
        );
        // What a pod spec can put there that is no image reference is not reported.
        let hostile = r#"{"annotations":{"io.kubernetes.cri.image-name":"nginx<script>"}}"#;
        assert_eq!(bundle_image(hostile), None);
        assert_eq!(bundle_image("not json"), None);
        assert_eq!(bundle_reduced("not json"), None);
    }

    #[test]
    fn cgroup_layouts() {
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b4e5c1a_7d2e_4b8a_9f3c_2a1b0c9d8e7f.slice/cri-containerd-{ID}.scope"
        );
        let p = parse_cgroup_path(&systemd, true).expect("containerd systemd");
        assert_eq!((p.runtime, p.qos), ("containerd", Some("burstable")));
        assert_eq!(
            p.pod_uid.as_deref(),
            Some("1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f")
        );
        let cgroupfs = format!("/kubepods/besteffort/pod1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f/{ID}");
        let p = parse_cgroup_path(&cgroupfs, false).expect("cgroupfs");
        assert_eq!((p.qos, p.container_id.as_str()), (Some("besteffort"), ID));
        let guaranteed = format!("/kubepods/pod1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f/{ID}");
        assert_eq!(
            parse_cgroup_path(&guaranteed, false).and_then(|p| p.qos),
            Some("guaranteed")
        );
        let crio = format!(
            "/kubepods.slice/kubepods-pod1b4e5c1a_7d2e_4b8a_9f3c_2a1b0c9d8e7f.slice/crio-{ID}.scope"
        );
        assert_eq!(
            parse_cgroup_path(&crio, true).map(|p| p.runtime),
            Some("cri-o")
        );
        let docker = format!("/docker/{ID}");
        assert_eq!(
            parse_cgroup_path(&docker, false).map(|p| (p.runtime, p.qos)),
            Some(("docker", None))
        );
        assert!(parse_cgroup_path("/system.slice/sshd.service", true).is_none());
        assert!(
            parse_cgroup_path(&format!("/kubepods.slice/crio-conmon-{ID}.scope"), true).is_none()
        );
        let lines = vec![
            "12:pids:/kubepods/pod1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f/".to_string() + ID,
            "4:memory:/kubepods/pod1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f/".to_string() + ID,
        ];
        let p = placement(&lines).expect("v1");
        assert!(!p.v2 && p.path.ends_with(ID));
    }

    #[test]
    fn user_namespaces_and_capabilities() {
        assert_eq!(uid_map_root("         0          0 4294967295\n"), None);
        assert_eq!(
            uid_map_root("         0     100000      65536\n"),
            Some(Some(100000))
        );
        assert_eq!(
            uid_map_root("      1000       1000          1\n"),
            Some(None)
        );
        assert_eq!(
            capability_names(1 << 21 | 1),
            ["CAP_CHOWN", "CAP_SYS_ADMIN"]
        );
        assert_eq!(capability_names(0x1ff_ffff_ffff).len(), 41);
    }
}

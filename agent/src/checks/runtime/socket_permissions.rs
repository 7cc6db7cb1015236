//! `runtime.socket-permissions`: only root can talk to the container runtime.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use crate::facts::FileFact;
use crate::facts::runtime::{Served, Socket};
use crate::host::EntryKind;
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "runtime.socket-permissions",
        title: "The kubelet's runtime socket is served by the runtime and writable by root only",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "Whoever can connect to the container runtime's socket can ask it for a privileged container with the host's root filesystem mounted: that is root on the node, with no Kubernetes authorization in the way. Connecting to a Unix socket needs write permission on it, so the socket must be root's and writable by no one else (group-writable only when that group has no members), and its directory must not let anyone replace it. The socket judged is the one the kubelet uses (containerRuntimeEndpoint), and the process serving it must be the runtime itself: anything else listening there sees every pod's specification and secrets.",
        remediation: "Keep the socket 0660 root:root (containerd's `[grpc] uid`/`gid` at 0, no `docker` group members for Docker's socket), its directory root's and not group- or world-writable, and point `containerRuntimeEndpoint` at the runtime's own socket.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/setup/production-environment/container-runtimes/",
            "https://github.com/containerd/containerd/blob/main/docs/ops.md",
            "https://docs.docker.com/engine/security/#docker-daemon-attack-surface",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

/// Whether anyone but root may write `entry`: the owner is not root, others may write, or
/// the group may and has members other than root (`members`; group root's count too). A
/// sticky directory lets nobody rename what root owns in it, so its write bits are harmless
/// on the way to a root-owned socket.
fn others_may_write(entry: &FileFact, members: &[String], sticky_ok: bool) -> Option<bool> {
    let m = entry.meta.as_ref().ok()?;
    if m.uid != 0 {
        return Some(true);
    }
    if sticky_ok && m.mode & 0o1000 != 0 {
        return Some(false);
    }
    Some(m.mode & 0o002 != 0 || (m.mode & 0o020 != 0 && !members.is_empty()))
}

fn file_item(
    entry: &FileFact,
    what: &str,
    members: &[String],
    sticky_ok: bool,
    expected: &str,
) -> Evidence {
    let source = Source::FileMetadata {
        path: entry.path.clone(),
    };
    match others_may_write(entry, members, sticky_ok) {
        Some(open) => {
            let mut item = evidence(
                format!("{what} {}", entry.path),
                Some(entry.describe()),
                expected,
                !open,
                source,
            );
            let group_writable = entry
                .meta
                .as_ref()
                .is_ok_and(|m| m.mode & 0o020 != 0 && m.gid != 0);
            if group_writable {
                item.note = Some(if members.is_empty() {
                    format!("group {} has no members", entry.group)
                } else {
                    format!("members of group {}: {}", entry.group, members.join(", "))
                });
            }
            item
        }
        None => Evidence {
            subject: format!("{what} {}", entry.path),
            observed: entry.meta.as_ref().err().map(ToString::to_string),
            expected: expected.into(),
            status: Status::Error,
            source,
            note: None,
        },
    }
}

fn served_item(socket: &Socket) -> Evidence {
    let (observed, status, source) = match &socket.served {
        Served::By {
            pid,
            name,
            kind: Some(kind),
            trusted: true,
        } => (
            format!("{} ({name}, pid {pid})", kind.name()),
            Status::Pass,
            Source::Process {
                pid: *pid,
                name: name.clone(),
            },
        ),
        Served::By { pid, name, .. } => (
            format!("{name} (pid {pid}), not a verified container runtime"),
            Status::Fail,
            Source::Process {
                pid: *pid,
                name: name.clone(),
            },
        ),
        Served::Nobody { looked_in } => (
            format!("no socket is bound at this path (read {looked_in})"),
            Status::Error,
            Source::file(looked_in.clone(), None),
        ),
        Served::Unknown(why) => (why.clone(), Status::Error, Source::None),
    };
    Evidence {
        subject: format!("process serving {}", socket.path),
        observed: Some(observed),
        expected: "the container runtime (root's, started by init or k3s)".into(),
        status,
        source,
        note: None,
    }
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let Some(runtime) = &ctx.facts.runtime else {
        return Verdict::not_applicable("no kubelet and no container runtime on this node");
    };
    let Some(endpoint) = &runtime.endpoint else {
        return Verdict::not_applicable(
            "no kubelet on this node: no runtime endpoint is in use by Kubernetes",
        );
    };
    let Some(socket) = &runtime.socket else {
        return Verdict::new(
            Status::Fail,
            format!(
                "the kubelet reaches its runtime at {}, not through a local Unix socket",
                endpoint.address
            ),
            vec![evidence(
                "containerRuntimeEndpoint",
                Some(endpoint.address.clone()),
                "a unix:// socket",
                false,
                endpoint.source.clone(),
            )],
        );
    };
    let mut items = vec![served_item(socket)];
    if socket.path.split('/').any(|c| c == "..") {
        items.push(evidence(
            "containerRuntimeEndpoint",
            Some(endpoint.address.clone()),
            "a path without `..` (which socket it reaches depends on every symlink on the way)",
            false,
            endpoint.source.clone(),
        ));
    }
    let mut file = file_item(
        &socket.file,
        "socket",
        &socket.group_members,
        false,
        "root's, writable by root (and a group without members) only",
    );
    if socket
        .file
        .meta
        .as_ref()
        .is_ok_and(|m| m.kind != EntryKind::Other)
    {
        file.status = Status::Fail;
        file.note = Some("not a socket".into());
    }
    if file.note.is_none() {
        file.note = Some(format!(
            "containerRuntimeEndpoint {} ({})",
            endpoint.address, endpoint.source
        ));
    }
    items.push(file);
    for (dir, members) in &socket.dirs {
        items.push(file_item(
            dir,
            "directory",
            members,
            true,
            "root's, writable by root only (or sticky)",
        ));
    }
    Verdict::from_evidence(
        items,
        format!(
            "{} is served by the runtime and only root can use it",
            socket.path
        ),
        |failing| {
            let what: Vec<String> = failing
                .iter()
                .map(|e| format!("{}: {}", e.subject, e.observed.as_deref().unwrap_or("?")))
                .collect();
            format!(
                "{}; expected a root-only socket served by the runtime",
                what.join("; ")
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::runtime::testing::with_runtime;
    use crate::checks::testing::{file, judge};
    use crate::facts::runtime::{Endpoint, RuntimeKind};

    fn socket_file(mode: u32, group: &str) -> FileFact {
        let mut f = file("/run/containerd/containerd.sock", mode, "root", group);
        if let Ok(m) = &mut f.meta {
            m.kind = EntryKind::Other;
            m.gid = 0;
        }
        f
    }

    fn dir(path: &str, mode: u32, owner: &str) -> (FileFact, Vec<String>) {
        let mut f = file(path, mode, owner, "root");
        if let Ok(m) = &mut f.meta {
            m.kind = EntryKind::Dir;
            m.gid = 0;
        }
        (f, Vec::new())
    }

    fn node(
        address: &str,
        served: Served,
        members: &[&str],
        dirs: Vec<(FileFact, Vec<String>)>,
    ) -> crate::facts::Facts {
        let mut facts = with_runtime(RuntimeKind::Containerd, None, None);
        let runtime = facts.runtime.as_mut().expect("runtime");
        let endpoint = Endpoint {
            address: address.into(),
            source: Source::default_value("test"),
        };
        runtime.socket = endpoint.socket_path().map(|path| Socket {
            path,
            file: socket_file(0o660, "root"),
            group_members: members.iter().map(|m| m.to_string()).collect(),
            dirs,
            served,
        });
        runtime.endpoint = Some(endpoint);
        facts
    }

    fn containerd() -> Served {
        Served::By {
            pid: 900,
            name: "containerd".into(),
            kind: Some(RuntimeKind::Containerd),
            trusted: true,
        }
    }

    fn dirs() -> Vec<(FileFact, Vec<String>)> {
        vec![
            dir("/run/containerd", 0o711, "root"),
            dir("/run", 0o755, "root"),
            dir("/", 0o755, "root"),
        ]
    }

    const SOCKET: &str = "unix:///run/containerd/containerd.sock";

    #[test]
    fn verdicts() {
        assert_eq!(
            judge(&CHECK, &node(SOCKET, containerd(), &[], dirs())).status,
            Status::Pass
        );
        // An impostor holding the socket.
        let impostor = Served::By {
            pid: 4242,
            name: "containerd".into(),
            kind: Some(RuntimeKind::Containerd),
            trusted: false,
        };
        assert_eq!(
            judge(&CHECK, &node(SOCKET, impostor, &[], dirs())).status,
            Status::Fail
        );
        // Group root with a member who is not root (F8).
        assert_eq!(
            judge(&CHECK, &node(SOCKET, containerd(), &["alice"], dirs())).status,
            Status::Fail
        );
        // A user may rename an ancestor (F9); a sticky one is fine.
        let mut open = dirs();
        open[1] = dir("/run", 0o777, "alice");
        assert_eq!(
            judge(&CHECK, &node(SOCKET, containerd(), &[], open)).status,
            Status::Fail
        );
        let mut sticky = dirs();
        sticky[1] = dir("/run", 0o1777, "root");
        assert_eq!(
            judge(&CHECK, &node(SOCKET, containerd(), &[], sticky)).status,
            Status::Pass
        );
        // `..` in the endpoint (F13), TCP, and no socket bound.
        assert_eq!(
            judge(
                &CHECK,
                &node(
                    "unix:///tmp/x/../../run/containerd/containerd.sock",
                    containerd(),
                    &[],
                    dirs()
                )
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                &CHECK,
                &node("tcp://10.0.0.1:2375", containerd(), &[], dirs())
            )
            .status,
            Status::Fail
        );
        let nobody = Served::Nobody {
            looked_in: "/proc/1/net/unix".into(),
        };
        assert_eq!(
            judge(&CHECK, &node(SOCKET, nobody, &[], dirs())).status,
            Status::Error
        );
        assert_eq!(
            judge(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::NotApplicable
        );
    }
}

//! `runtime.socket-permissions`: only root can talk to the container runtime.

use crate::checks::{Check, CheckMeta, Ctx, Verdict, evidence};
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
};

/// Whether anyone but root may write `entry`: the owner is not root, others may write, or
/// the group may and has members (`members`).
fn others_may_write(entry: &FileFact, members: &[String]) -> Option<bool> {
    let m = entry.meta.as_ref().ok()?;
    Some(
        m.uid != 0
            || m.mode & 0o002 != 0
            || (m.mode & 0o020 != 0 && m.gid != 0 && !members.is_empty()),
    )
}

fn file_item(entry: &FileFact, what: &str, members: &[String], expected: &str) -> Evidence {
    let source = Source::FileMetadata {
        path: entry.path.clone(),
    };
    match others_may_write(entry, members) {
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
    let mut file = file_item(
        &socket.file,
        "socket",
        &socket.group_members,
        "root's, writable by root (and an empty group) only",
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
    items.push(file_item(
        &socket.dir,
        "directory",
        &socket.dir_group_members,
        "root's, writable by root only",
    ));
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

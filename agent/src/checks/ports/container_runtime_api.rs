//! `ports.container-runtime-api`: no container runtime API over TCP.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "ports.container-runtime-api",
        title: "No container runtime API listens on TCP",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "The Docker API on 2375 (or 2376 without --tlsverify) and any containerd/CRI-O socket exposed over TCP let a caller start a privileged container with the host's root mounted: root on the node, unauthenticated.",
        remediation: "Serve the runtime only on its unix socket: remove `-H tcp://…` from dockerd (or use --tlsverify with client certificates) and any TCP address from containerd/CRI-O configs.",
        cis: &[],
        references: &["https://docs.docker.com/engine/security/protect-access/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const RUNTIMES: &[&str] = &[
    "dockerd",
    "containerd",
    "crio",
    "cri-o",
    "podman",
    "docker-proxy-api",
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    let dockerd_tls = ctx
        .facts
        .processes
        .iter()
        .filter(|p| p.program() == "dockerd")
        .any(|p| {
            p.argv
                .iter()
                .any(|a| a == "--tlsverify" || a.starts_with("--tlsverify=true"))
        });
    let items = ctx
        .facts
        .listeners
        .iter()
        .filter(|l| l.is_host() && l.protocol == "tcp")
        .filter(|l| {
            l.port == 2375
                || (l.port == 2376 && !dockerd_tls)
                || (super::owned_by(l, RUNTIMES) && !l.is_loopback())
        })
        .map(|l| {
            super::offending(
                "runtime API over TCP",
                l,
                "runtime APIs on unix sockets only",
            )
        })
        .collect();
    super::verdict(
        items,
        "no container runtime API listens on TCP",
        "runtime APIs on unix sockets only",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = empty_facts();
        listener(&mut facts, "127.0.0.1:35000", 5, "containerd");
        assert_eq!(
            judge(&CHECK, &facts).status,
            Status::Pass,
            "containerd's stream server on loopback is normal"
        );
        listener(&mut facts, "0.0.0.0:2375", 6, "dockerd");
        let v = judge(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("2375"), "{}", v.message);
        let mut remote = empty_facts();
        listener(&mut remote, "10.0.0.5:7777", 5, "containerd");
        assert_eq!(judge(&CHECK, &remote).status, Status::Fail);
    }
}

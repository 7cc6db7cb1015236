//! `ports.unexpected-listener`: every listener off loopback is expected.

use crate::checks::{Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict, evidence};
use crate::facts::Listener;
use nodecheck_report::{Severity, Status};

/// Components of kubeadm, k3s, rke2 (its supervisor on 9345), EKS, GKE, AKS, the common CNIs
/// and node exporters.
pub const DEFAULT_ALLOWED: &[&str] = &[
    "process:kubelet",
    "process:kube-proxy",
    "process:kube-apiserver",
    "process:etcd",
    "process:kube-controller",
    "process:kube-controller-manager",
    "process:kube-scheduler",
    "process:k3s-server",
    "process:k3s-agent",
    "process:k3s",
    "process:rke2",
    "process:sshd",
    "process:calico-node",
    "process:bird",
    "process:bird6",
    "process:calico-felix",
    "process:calico-typha",
    "process:cilium-agent",
    "process:cilium-envoy",
    "process:cilium-health-responder",
    "process:hubble-relay",
    "process:flanneld",
    "process:kube-router",
    "process:node_exporter",
    "process:node-exporter",
    "process:aws-k8s-agent",
    "process:konnectivity-agent",
    "process:coredns",
    "process:chronyd",
    "process:systemd-resolved",
    "process:systemd-network",
    "process:dhclient",
    "udp/68",
    "udp/123",
    "udp/323",
    "udp/546",
    "udp/8472",
    "udp/4789",
    "udp/6081",
    "udp/51820",
    "udp/51821",
    "tcp/179",
];

pub const ALLOWED: ParamSpec = ParamSpec {
    name: "allowed",
    default: ParamDefault::Strings(DEFAULT_ALLOWED),
    doc: "Allowed listeners: `process:NAME` (owning program) or `PROTO/PORT`.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "ports.unexpected-listener",
        title: "Every listener off loopback is expected",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "A node should expose only what the cluster needs. An unexpected listener on a node address is a forgotten debug server, a hostNetwork pod, or an intruder's backdoor. The allow list names processes (`process:NAME`) or ports (`tcp/PORT`, `udp/PORT`: kernel sockets such as VXLAN have no owner); the defaults cover Kubernetes components, common CNIs and node exporters.",
        remediation: "Stop the unexpected service or bind it to loopback; if it belongs on the node, add `process:NAME` or `tcp/PORT` to this check's `allowed` parameter in the profile.",
        cis: &[],
        references: &["https://kubernetes.io/docs/reference/networking/ports-and-protocols/"],
        params: &[ALLOWED],
    },
    run,
    fix: Fix::Manual,
};

/// The `process:NAME` entry that allows a listener by one of its owners.
fn allowed_by_process<'a>(l: &Listener, allowed: &'a [String]) -> Option<&'a String> {
    allowed.iter().find(|entry| match entry.split_once(':') {
        Some(("process", name)) => l.owners.iter().any(|(_, owner)| owner == name),
        _ => false,
    })
}

/// The `PROTO/PORT` entry that allows a listener.
fn allowed_by_port<'a>(l: &Listener, allowed: &'a [String]) -> Option<&'a String> {
    allowed.iter().find(|entry| {
        entry.split_once('/').is_some_and(|(proto, port)| {
            proto == l.protocol && port.parse::<u16>().ok() == Some(l.port)
        })
    })
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let allowed = &ctx.params.list(&ALLOWED);
    let mut items = super::Items::default();
    // Listeners held by the same processes share one list of owners: whether a process of
    // it is allowed is worked out once per list.
    let mut by_owners: std::collections::HashMap<usize, Option<&String>> =
        std::collections::HashMap::new();
    for l in ctx
        .facts
        .listeners
        .iter()
        .filter(|l| l.is_host() && !l.is_loopback())
    {
        let by_process = *by_owners
            .entry(std::sync::Arc::as_ptr(&l.owners).cast::<()>() as usize)
            .or_insert_with(|| allowed_by_process(l, allowed));
        match by_process.or_else(|| allowed_by_port(l, allowed)) {
            Some(entry) => {
                let mut item = evidence(
                    "listener",
                    Some(format!("{}/{}", l.protocol, l.endpoint())),
                    "allowed",
                    true,
                    l.source(),
                );
                item.note = Some(format!("allowed by {entry}"));
                items.push(item);
            }
            None => items.push(super::offending(
                "listener",
                l,
                "only allowed listeners off loopback",
            )),
        }
    }
    if items.is_empty() {
        return Verdict::new(Status::Pass, "nothing listens off loopback", Vec::new());
    }
    super::verdict(
        items,
        "every listener off loopback is allowed",
        "only allowed listeners off loopback (allowed parameter)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;

    #[test]
    fn verdicts() {
        let mut facts = empty_facts();
        listener(&mut facts, "127.0.0.1:9000", 1, "debug-server");
        assert_eq!(
            judge(&CHECK, &facts).status,
            Status::Pass,
            "loopback is not judged"
        );
        listener(&mut facts, "0.0.0.0:22", 2, "sshd");
        listener(&mut facts, "0.0.0.0:10250", 3, "kubelet");
        let ok = judge(&CHECK, &facts);
        assert_eq!(ok.status, Status::Pass);
        assert!(
            ok.evidence
                .iter()
                .any(|e| e.note.as_deref() == Some("allowed by process:sshd"))
        );
        listener(&mut facts, "0.0.0.0:6666", 4, "nc");
        let v = judge(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("tcp/0.0.0.0:6666") && v.message.contains("nc (4)"),
            "{}",
            v.message
        );
    }
}

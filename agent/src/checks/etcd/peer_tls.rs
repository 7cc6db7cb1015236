//! `etcd.peer-tls`: etcd members talk to each other over TLS.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::{Severity, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.peer-tls",
        title: "etcd peers communicate over TLS",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Replication traffic between members carries every key in the store. A single member with no peers has no such traffic: it passes, noted.",
        remediation: "Set `--peer-cert-file` and `--peer-key-file` on every etcd member (kubeadm: /etc/kubernetes/pki/etcd/peer.{crt,key}).",
        cis: &["2.4"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

/// A single member: `--initial-cluster` names at most one member and no peer URL is
/// listened on beyond loopback.
fn single_member(args: &crate::facts::control_plane::ComponentArgs) -> bool {
    let members = args.list("initial-cluster").map_or(1, |(l, _)| l.len());
    let peer_off_host = args.list("listen-peer-urls").is_some_and(|(urls, _)| {
        urls.iter()
            .any(|u| !(u.contains("127.0.0.1") || u.contains("localhost") || u.contains("[::1]")))
    });
    members <= 1 && !peer_off_host
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let etcd = match super::found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let verdict = super::judge_set(
        ctx,
        &["peer-cert-file", "peer-key-file"],
        "etcd peers talk over TLS",
    );
    if verdict.status == Status::Fail && single_member(&etcd.args) {
        let evidence = verdict
            .evidence
            .into_iter()
            .map(|mut e| {
                e.status = Status::Pass;
                e.note = Some("single member without peers".into());
                e
            })
            .collect();
        return Verdict::new(
            Status::Pass,
            "single-member etcd without peers: no peer traffic to protect (set peer TLS before adding members)",
            evidence,
        );
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;

    #[test]
    fn verdicts() {
        assert_etcd_cases(
            &CHECK,
            &[
                (&["--peer-cert-file=/p", "--peer-key-file=/k"], Status::Pass),
                (&[], Status::Pass),
                (
                    &[
                        "--initial-cluster=a=https://10.0.0.1:2380,b=https://10.0.0.2:2380",
                        "--listen-peer-urls=https://10.0.0.1:2380",
                    ],
                    Status::Fail,
                ),
                (&["--listen-peer-urls=http://10.0.0.1:2380"], Status::Fail),
            ],
        );
    }
}

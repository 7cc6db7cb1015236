//! `ports.insecure-apiserver`: no API server serves plain HTTP off the host.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "ports.insecure-apiserver",
        title: "No kube-apiserver listener serves plain HTTP on a non-loopback address",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "An insecure API port reachable from the network is an unauthenticated cluster-admin endpoint. The sockets held by kube-apiserver on its insecure port (the --insecure-port value, 8080 on old versions) are checked directly.",
        remediation: "Set `--insecure-port=0` (or upgrade to 1.24+, where it is gone) and serve the API only on its TLS port.",
        cis: &[],
        references: &["https://kubernetes.io/docs/concepts/security/controlling-access/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let insecure = ctx
        .facts
        .apiserver
        .as_ref()
        .and_then(|a| a.args.value("insecure-port"))
        .and_then(|(v, _)| v.parse::<u16>().ok())
        .unwrap_or(8080);
    if insecure == 0 {
        return Verdict::new(
            nodecheck_report::Status::Pass,
            "the API server's insecure port is disabled (--insecure-port=0)",
            Vec::new(),
        );
    }
    let items = ctx
        .facts
        .listeners
        .iter()
        .filter(|l| l.is_host() && l.protocol == "tcp" && l.port == insecure && !l.is_loopback())
        .filter(|l| super::owned_by(l, &["kube-apiserver", "hyperkube"]))
        .map(|l| {
            super::offending(
                "insecure API port",
                l,
                "no plain-HTTP API listener off loopback",
            )
        })
        .collect();
    super::verdict(
        items,
        "no kube-apiserver listener serves plain HTTP off loopback",
        "no plain-HTTP API listener off loopback",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = apiserver_facts(
            &[],
            &["--insecure-port=8080", "--insecure-bind-address=0.0.0.0"],
        );
        assert_eq!(
            judge(&CHECK, &facts).status,
            Status::Pass,
            "configured but nothing listens"
        );
        listener(&mut facts, "0.0.0.0:8080", 900, "kube-apiserver");
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
        let mut local = apiserver_facts(&[], &["--insecure-port=8080"]);
        listener(&mut local, "127.0.0.1:8080", 900, "kube-apiserver");
        assert_eq!(judge(&CHECK, &local).status, Status::Pass);
        let mut other = empty_facts();
        listener(&mut other, "0.0.0.0:8080", 77, "nginx");
        assert_eq!(
            judge(&CHECK, &other).status,
            Status::Pass,
            "not the API server"
        );
    }
}

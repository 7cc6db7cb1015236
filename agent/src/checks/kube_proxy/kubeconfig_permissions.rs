//! `kube-proxy.kubeconfig-permissions`: kube-proxy's kubeconfig is root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kube-proxy.kubeconfig-permissions",
        title: "The kube-proxy kubeconfig is 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "kube-proxy's kubeconfig holds the credentials it watches Services and EndpointSlices with (a client key or token on a hard-way node). It is the file kube-proxy really uses: `--kubeconfig`, or with `--config` the configuration's clientConnection.kubeconfig, read inside kube-proxy's container when it runs in one. kube-bench looks at fixed paths instead and misses it.",
        remediation: "`chmod 600` and `chown root:root` kube-proxy's kubeconfig; in a DaemonSet, mount it with `defaultMode: 0600`.",
        cis: &["4.1.3", "4.1.4"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_kubeconfig(super::found(ctx), super::NAME)
}

/// Each failing file 0600 or stricter, owned by root:root.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::root_owned_modes(verdict, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let kind = &crate::facts::components::KUBE_PROXY;
        let files = [
            ("var/lib/kube-proxy/kubeconfig.conf", "apiVersion: v1\n"),
            (
                "var/lib/kube-proxy/config.conf",
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n",
            ),
        ];
        let facts = component_facts(&files, kind, &["--config=/var/lib/kube-proxy/config.conf"]);
        let verdict = judge_control_plane(&CHECK, &facts);
        assert_ne!(verdict.status, Status::NotApplicable, "{verdict:?}");
        assert!(
            verdict.evidence[0]
                .subject
                .contains("/var/lib/kube-proxy/kubeconfig.conf")
        );
        assert!(
            verdict.evidence[0]
                .note
                .as_deref()
                .unwrap_or_default()
                .contains("config.conf:4")
        );
    }
}

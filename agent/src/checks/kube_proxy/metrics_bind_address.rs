//! `kube-proxy.metrics-bind-address`: kube-proxy serves its metrics on loopback only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kube-proxy.metrics-bind-address",
        title: "kube-proxy serves its metrics on loopback only",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "kube-proxy's metrics port (10249) also serves /configz and, with profiling, pprof, without authentication: bound beyond loopback it tells anyone on the network the node's proxy configuration. The default is 127.0.0.1:10249; monitoring setups often set 0.0.0.0. With `--config` the file's metricsBindAddress decides and the flag is ignored; the socket kube-proxy really owns is judged too. kube-bench reads the kubeconfig instead of the KubeProxyConfiguration and passes whenever the flag is absent.",
        remediation: "Set `metricsBindAddress: 127.0.0.1:10249` in the KubeProxyConfiguration (or `--metrics-bind-address=127.0.0.1:10249` without `--config`), and scrape metrics through a local agent.",
        cis: &["4.3.1"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/",
            "https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_bind_address(
        ctx,
        super::found(ctx),
        super::NAME,
        "metrics-bind-address",
        Some("metricsBindAddress"),
        "127.0.0.1:10249",
        "127.0.0.1:10249",
        10249,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kind_cases(
            &CHECK,
            &crate::facts::components::KUBE_PROXY,
            &[
                (&[], Status::Pass),
                (&["--metrics-bind-address=0.0.0.0:10249"], Status::Fail),
                (&["--metrics-bind-address=127.0.0.1:10249"], Status::Pass),
            ],
        );
        let kind = &crate::facts::components::KUBE_PROXY;
        let config = |address: &str| {
            format!(
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: \"{address}\"\n"
            )
        };
        let judge = |address: &str, flag: &str| {
            let text = config(address);
            let facts = component_facts(
                &[("var/lib/kube-proxy/config.conf", &text)],
                kind,
                &["--config=/var/lib/kube-proxy/config.conf", flag],
            );
            judge_control_plane(&CHECK, &facts).status
        };
        // The file decides; the flag beside it is ignored.
        assert_eq!(
            judge("0.0.0.0:10249", "--metrics-bind-address=127.0.0.1:10249"),
            Status::Fail
        );
        assert_eq!(
            judge("127.0.0.1:10249", "--metrics-bind-address=0.0.0.0:10249"),
            Status::Pass
        );
        // An empty value is defaulted to 127.0.0.1:10249 by kube-proxy.
        let facts = component_facts(
            &[(
                "var/lib/kube-proxy/config.conf",
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: \"\"\n",
            )],
            kind,
            &["--config=/var/lib/kube-proxy/config.conf"],
        );
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
        // The socket it owns is judged too.
        let mut facts = component_facts(&[], kind, &[]);
        listener(&mut facts, "0.0.0.0:10249", 910, "kube-proxy");
        let verdict = judge_control_plane(&CHECK, &facts);
        assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
    }
}

//! `kubelet.tls-cert`: the kubelet serves with a real certificate.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.tls-cert",
        title: "The kubelet serves a certificate it was given (or bootstraps one)",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without tlsCertFile/tlsPrivateKeyFile and without serverTLSBootstrap the kubelet generates a self-signed serving certificate, which the API server cannot verify: connections to the kubelet are then open to interception.",
        remediation: "Set `serverTLSBootstrap: true` (and approve the kubelet-serving CSRs), or set `tlsCertFile` and `tlsPrivateKeyFile` to a certificate signed by the cluster CA; restart the kubelet.",
        cis: &["4.2.9"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let kubelet = match super::accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let set = |path: &str| {
        kubelet
            .config
            .get(path)
            .filter(|f| matches!(&f.value, KValue::Str(s) if !s.is_empty()))
    };
    let cert = set("tlsCertFile");
    let key = set("tlsPrivateKeyFile");
    let bootstrap = kubelet.config.get("serverTLSBootstrap");
    let bootstraps = matches!(bootstrap.map(|f| &f.value), Some(KValue::Bool(true)));
    let files = cert.is_some() && key.is_some();
    let ok = files || bootstraps;
    let items = vec![
        super::field_evidence(
            kubelet,
            "tlsCertFile",
            cert,
            "set (or serverTLSBootstrap true)",
            ok,
        ),
        super::field_evidence(
            kubelet,
            "tlsPrivateKeyFile",
            key,
            "set (or serverTLSBootstrap true)",
            ok,
        ),
        super::field_evidence(
            kubelet,
            "serverTLSBootstrap",
            bootstrap,
            "true (or both files set)",
            ok,
        ),
    ];
    Verdict::from_evidence(
        items,
        if bootstraps {
            "the serving certificate is bootstrapped from the cluster CA"
        } else {
            "a serving certificate and key are configured"
        },
        |_| {
            "no serving certificate is configured and serverTLSBootstrap is off: the kubelet serves a self-signed certificate; expected tlsCertFile and tlsPrivateKeyFile, or serverTLSBootstrap true".into()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kubelet_cases(
            &CHECK,
            &[
                ("", &[], Status::Fail),
                ("serverTLSBootstrap: true\n", &[], Status::Pass),
                (
                    "tlsCertFile: /a.crt\ntlsPrivateKeyFile: /a.key\n",
                    &[],
                    Status::Pass,
                ),
                ("tlsCertFile: /a.crt\n", &[], Status::Fail),
                ("", &["--rotate-server-certificates=true"], Status::Pass),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}

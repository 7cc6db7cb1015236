//! `apiserver.tls-cipher-suites`: the API server offers only strong TLS cipher suites.

use crate::checks::{
    Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, STRONG_TLS_CIPHER_SUITES, Verdict,
};
use nodecheck_report::{Severity, Status};

pub const REQUIRE_EXPLICIT: ParamSpec = ParamSpec {
    name: "require_explicit",
    default: ParamDefault::Bool(false),
    doc: "Fail when --tls-cipher-suites is unset (Go's defaults) as CIS words it.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.tls-cipher-suites",
        title: "The API server offers only strong TLS cipher suites",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Suites without forward secrecy (TLS_RSA_*) or with CBC modes weaken every connection to the API server. Unset means Go's defaults, which are strong for TLS 1.3 and include CBC suites for TLS 1.2 clients; CIS wants an explicit list (cis profile).",
        remediation: "Set `--tls-cipher-suites` on the kube-apiserver to ECDHE suites with AES-GCM or ChaCha20 only (the TLS 1.3 suite names may be listed too), and `--tls-min-version=VersionTLS12` or higher.",
        cis: &["1.2.29"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[REQUIRE_EXPLICIT],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let expected = "only ECDHE suites with AES-GCM or ChaCha20 (and TLS 1.3 suites)";
    match apiserver.args.list("tls-cipher-suites") {
        Some((suites, _)) if !suites.is_empty() => {
            let weak: Vec<&str> = suites
                .iter()
                .map(String::as_str)
                .filter(|s| !STRONG_TLS_CIPHER_SUITES.contains(s))
                .collect();
            let mut item = super::flag_evidence(
                &apiserver.args,
                "tls-cipher-suites",
                None,
                expected,
                weak.is_empty(),
            );
            if !weak.is_empty() {
                item.note = Some(format!("weak: {}", weak.join(", ")));
            }
            Verdict::from_evidence(
                vec![item],
                "only strong cipher suites are configured",
                |failing| {
                    format!(
                        "--tls-cipher-suites includes {} ({}); remove them",
                        weak.join(", "),
                        failing[0].source
                    )
                },
            )
        }
        _ => {
            let require = ctx.params.flag(&REQUIRE_EXPLICIT);
            let mut item = super::flag_evidence(
                &apiserver.args,
                "tls-cipher-suites",
                None,
                expected,
                !require,
            );
            item.note = Some("unset: Go's default suites".into());
            let (status, message) = if require {
                (
                    Status::Fail,
                    "--tls-cipher-suites is unset; expected an explicit list of strong suites (require_explicit)",
                )
            } else {
                (
                    Status::Pass,
                    "--tls-cipher-suites is unset: Go's default suites apply (set an explicit list to satisfy CIS)",
                )
            };
            Verdict::new(status, message, vec![item])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::Role;

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (&[], Status::Pass),
                (
                    &[
                        "--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    ],
                    Status::Pass,
                ),
                (
                    &[
                        "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA",
                    ],
                    Status::Fail,
                ),
            ],
        );
        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("require_explicit".into(), ParamValue::Bool(true));
        let verdict = judge_with(
            &CHECK,
            &apiserver_facts(&[], &[]),
            &[Role::ControlPlane],
            &params,
        );
        assert_eq!(verdict.status, Status::Fail);
    }
}

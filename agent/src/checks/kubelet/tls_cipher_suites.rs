//! `kubelet.tls-cipher-suites`: only strong TLS cipher suites.

use crate::checks::{Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::{Severity, Status};

pub use crate::checks::STRONG_TLS_CIPHER_SUITES as STRONG;

pub const REQUIRE_EXPLICIT: ParamSpec = ParamSpec {
    name: "require_explicit",
    default: ParamDefault::Bool(false),
    doc: "Fail when tlsCipherSuites is unset (Go's defaults) as CIS words it.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.tls-cipher-suites",
        title: "The kubelet offers only strong TLS cipher suites",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Suites without forward secrecy (TLS_RSA_*, which EKS and AKS configure) or with CBC modes weaken every connection to the kubelet. Unset means Go's defaults, which are strong in current releases; CIS wants an explicit list (cis profile).",
        remediation: "Set `tlsCipherSuites` to ECDHE suites with AES-GCM or ChaCha20 only (drop TLS_RSA_WITH_*), and restart the kubelet.",
        cis: &["4.2.12"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[REQUIRE_EXPLICIT],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let kubelet = match super::accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let field = kubelet.config.get("tlsCipherSuites");
    let expected = "only ECDHE suites with AES-GCM or ChaCha20";
    match field.map(|f| &f.value) {
        Some(KValue::List(suites)) if !suites.is_empty() => {
            let weak: Vec<&String> = suites
                .iter()
                .filter(|s| !STRONG.contains(&s.as_str()))
                .collect();
            let mut item =
                super::field_evidence(kubelet, "tlsCipherSuites", field, expected, weak.is_empty());
            if !weak.is_empty() {
                item.note = Some(format!(
                    "weak: {}",
                    weak.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let names: Vec<&str> = weak.iter().map(|s| s.as_str()).collect();
            Verdict::from_evidence(
                vec![item],
                "only strong cipher suites are configured",
                |_| {
                    format!(
                        "tlsCipherSuites includes {} ({}); remove them",
                        names.join(", "),
                        field.map(|f| f.origin.to_string()).unwrap_or_default()
                    )
                },
            )
        }
        _ => {
            let require = ctx.params.flag(&REQUIRE_EXPLICIT);
            let mut item =
                super::field_evidence(kubelet, "tlsCipherSuites", None, expected, !require);
            item.note = Some("unset: Go's default suites".into());
            let status = if require { Status::Fail } else { Status::Pass };
            let message = if require {
                "tlsCipherSuites is unset; expected an explicit list of strong suites (require_explicit)"
            } else {
                "tlsCipherSuites is unset: Go's default suites apply (set an explicit list to satisfy CIS)"
            };
            Verdict::new(status, message, vec![item])
        }
    }
}

/// The configured suites less the weak ones (none left: nothing is guessed).
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    let Ok(kubelet) = super::accepted(ctx) else {
        return Vec::new();
    };
    let Some(KValue::List(suites)) = kubelet.config.get("tlsCipherSuites").map(|f| &f.value) else {
        return Vec::new();
    };
    let strong: Vec<&String> = suites
        .iter()
        .filter(|s| STRONG.contains(&s.as_str()))
        .collect();
    if strong.is_empty() {
        return Vec::new();
    }
    crate::checks::fix::kubelet_values(verdict, &[("tlsCipherSuites", serde_json::json!(strong))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::Role;

    #[test]
    fn verdicts() {
        assert_kubelet_cases(
            &CHECK,
            &[
                ("", &[], Status::Pass),
                (
                    "tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n",
                    &[],
                    Status::Pass,
                ),
                (
                    "tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384]\n",
                    &[],
                    Status::Fail,
                ),
                (
                    "tlsCipherSuites: [TLS_RSA_WITH_AES_256_GCM_SHA384]\n",
                    &["--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
                    Status::Pass,
                ),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }

    #[test]
    fn cis_wants_an_explicit_list() {
        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("require_explicit".into(), ParamValue::Bool(true));
        let v = judge_with(&CHECK, &kubelet_config("", &[]), &[Role::Worker], &params);
        assert_eq!(v.status, Status::Fail);
    }
}

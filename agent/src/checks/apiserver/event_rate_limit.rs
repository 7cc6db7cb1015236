//! `apiserver.event-rate-limit`: event floods are rate limited.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.event-rate-limit",
        title: "The EventRateLimit admission plugin limits event floods",
        area: super::AREA,
        severity: Severity::Info,
        roles: super::ROLES,
        rationale: "Any kubelet or controller can write Events; a flood of them fills etcd and slows the API server for everyone. EventRateLimit caps them per server, namespace, user or object. It is contested: it is still alpha (eventratelimit.admission.k8s.io/v1alpha1), needs an admission configuration file, and API Priority and Fairness already bounds request rates, so the default profile reports it for information; the cis profile gives it CIS's weight.",
        remediation: "Add EventRateLimit to `--enable-admission-plugins` and point `--admission-control-config-file` at an AdmissionConfiguration with an EventRateLimit configuration (limits of type Server and Namespace).",
        cis: &["1.2.9"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#eventratelimit",
            "https://kubernetes.io/docs/reference/config-api/apiserver-eventratelimit.v1alpha1/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let (_, mut items) = super::admission_plugin(&apiserver.args, "EventRateLimit", true);
    // Without its configuration the plugin makes the API server refuse to start; a file
    // that is named but missing is the same mistake.
    let config = apiserver.args.value("admission-control-config-file");
    items.push(super::flag_evidence(
        &apiserver.args,
        "admission-control-config-file",
        None,
        "set (EventRateLimit's limits)",
        config.is_some_and(|(v, _)| !v.is_empty()),
    ));
    if let Some(file) = &apiserver.admission_config_file {
        items.push(crate::checks::exists_evidence(
            file,
            "the admission configuration exists",
        ));
    }
    Verdict::from_evidence(
        items,
        "EventRateLimit is on with a configuration",
        |failing| {
            super::failing_message(
                failing,
                "EventRateLimit enabled with an --admission-control-config-file",
            )
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
        assert_apiserver_cases(
            &CHECK,
            &[
                (&[], Status::Fail),
                (&["--enable-admission-plugins=EventRateLimit"], Status::Fail),
                (
                    &[
                        "--enable-admission-plugins=EventRateLimit",
                        "--admission-control-config-file=/etc/kubernetes/missing.yaml",
                    ],
                    Status::Fail,
                ),
            ],
        );
        let facts = apiserver_facts(
            &[(
                "etc/kubernetes/admission.yaml",
                "kind: AdmissionConfiguration\n",
            )],
            &[
                "--enable-admission-plugins=EventRateLimit",
                "--admission-control-config-file=/etc/kubernetes/admission.yaml",
            ],
        );
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
    }
}

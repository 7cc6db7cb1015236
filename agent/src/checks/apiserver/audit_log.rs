//! `apiserver.audit-log`: API requests are audited.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.audit-log",
        title: "The API server writes an audit log with a policy",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without an audit log there is no record of who read which secret or created which pod; without a policy (or with a policy file that does not exist) nothing is logged.",
        remediation: "Set `--audit-log-path` and `--audit-policy-file` (an audit Policy that at least logs Metadata for secrets and RequestResponse for exec) on the kube-apiserver, with the files mounted into its pod.",
        cis: &["1.2.16", "1.2.17", "1.2.18", "1.2.19", "3.2.1"],
        references: &["https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/"],
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
    let set = |flag: &str| {
        apiserver
            .args
            .value(flag)
            .is_some_and(|(v, _)| !v.is_empty())
    };
    let mut items = vec![
        super::flag_evidence(
            &apiserver.args,
            "audit-log-path",
            None,
            "set",
            set("audit-log-path"),
        ),
        super::flag_evidence(
            &apiserver.args,
            "audit-policy-file",
            None,
            "set",
            set("audit-policy-file"),
        ),
    ];
    if let Some(policy) = &apiserver.audit_policy_file {
        items.push(crate::checks::exists_evidence(
            policy,
            "the policy file exists",
        ));
    }
    Verdict::from_evidence(items, "API requests are audited with a policy", |failing| {
        super::failing_message(
            failing,
            "--audit-log-path and an existing --audit-policy-file",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let ok = apiserver_facts(
            &[(
                "/etc/kubernetes/audit-policy.yaml",
                "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n",
            )],
            &[
                "--audit-log-path=/var/log/audit.log",
                "--audit-policy-file=/etc/kubernetes/audit-policy.yaml",
            ],
        );
        assert_eq!(judge_control_plane(&CHECK, &ok).status, Status::Pass);
        assert_apiserver_cases(
            &CHECK,
            &[
                (&[], Status::Fail),
                (&["--audit-log-path=/var/log/audit.log"], Status::Fail),
                (
                    &[
                        "--audit-log-path=/var/log/audit.log",
                        "--audit-policy-file=/missing.yaml",
                    ],
                    Status::Fail,
                ),
            ],
        );
    }
}

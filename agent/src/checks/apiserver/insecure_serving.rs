//! `apiserver.insecure-serving`: no unauthenticated plain-HTTP port.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.insecure-serving",
        title: "The API server has no insecure port",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "The insecure port (removed in 1.24, 8080 on older versions) serves the whole API without authentication or authorization: anyone who reaches it is cluster-admin.",
        remediation: "Set `--insecure-port=0` on older API servers (remove the flag on 1.24+), and make sure no kube-apiserver listener serves plain HTTP.",
        cis: &[],
        references: &["CIS Kubernetes Benchmark v1.6.0 1.2.19"],
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
    let port = apiserver
        .args
        .value("insecure-port")
        .and_then(|(v, _)| v.parse::<u16>().ok())
        .unwrap_or(0);
    let mut items = vec![super::flag_evidence(
        &apiserver.args,
        "insecure-port",
        None,
        "0 or not set",
        port == 0,
    )];
    if port > 0 {
        for l in ctx
            .facts
            .listeners
            .iter()
            .filter(|l| l.is_host())
            .filter(|l| l.protocol == "tcp" && l.port == port)
        {
            items.push(evidence(
                "insecure API listener",
                Some(l.endpoint()),
                "nothing listening",
                false,
                l.source(),
            ));
        }
    }
    Verdict::from_evidence(items, "no insecure port is configured", |failing| {
        super::failing_message(failing, "no insecure port")
    })
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
                (&[], Status::Pass),
                (&["--insecure-port=0"], Status::Pass),
                (&["--insecure-port=8080"], Status::Fail),
            ],
        );
        let mut facts = apiserver_facts(
            &[],
            &["--insecure-port=8080", "--insecure-bind-address=0.0.0.0"],
        );
        listener(&mut facts, "0.0.0.0:8080", 900, "kube-apiserver");
        let v = judge_control_plane(&CHECK, &facts);
        assert!(v.message.contains("0.0.0.0:8080"), "{}", v.message);
    }
}

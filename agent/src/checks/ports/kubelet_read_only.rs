//! `ports.kubelet-read-only`: nothing serves the kubelet's read-only port.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "ports.kubelet-read-only",
        title: "Nothing listens on the kubelet read-only port",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The read-only port serves pod specs and environment variables without authentication. This check looks at the sockets themselves (10255, or the port the kubelet is configured with), whatever the configuration says.",
        remediation: "Set the kubelet's `readOnlyPort: 0` and restart it; find and stop any other process on the port.",
        cis: &["4.2.4"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let configured = ctx.facts.kubelet.as_ref().and_then(|k| {
        match k.config.get("readOnlyPort").map(|f| &f.value) {
            Some(KValue::Int(p)) if *p > 0 => u16::try_from(*p).ok(),
            _ => None,
        }
    });
    let port = configured.unwrap_or(10255);
    let items = ctx
        .facts
        .listeners
        .iter()
        .filter(|l| l.is_host() && l.protocol == "tcp" && l.port == port)
        .map(|l| super::offending("kubelet read-only port", l, "nothing listening"))
        .collect();
    super::verdict(
        items,
        &format!("nothing listens on port {port}"),
        &format!("nothing listening on {port}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = empty_facts();
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        listener(&mut facts, "0.0.0.0:10255", 10, "kubelet");
        let v = judge(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("0.0.0.0:10255") && v.message.contains("kubelet (10)"),
            "{}",
            v.message
        );
        let mut configured = kubelet_config("readOnlyPort: 10266\n", &[]);
        listener(&mut configured, "0.0.0.0:10266", 10, "kubelet");
        assert_eq!(judge_worker(&CHECK, &configured).status, Status::Fail);
    }
}

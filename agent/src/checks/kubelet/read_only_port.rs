//! `kubelet.read-only-port`: the unauthenticated read-only port is closed.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.read-only-port",
        title: "The kubelet read-only port is disabled",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The read-only port (10255) serves pod specs, environment variables and metrics to anyone, without authentication. It is open by default without a --config file, on older GKE node pools (`readOnlyPort: 10255`) and on k3s 1.32.0-1.32.3, whose drop-ins leave the legacy default in place. A listener on the port is checked too.",
        remediation: "Set `readOnlyPort: 0` in the kubelet config file (or `--read-only-port=0`; k3s: upgrade to 1.32.4+ or add `kubelet-arg: [read-only-port=0]`), restart the kubelet, and make sure nothing listens on 10255.",
        cis: &["4.2.4"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let kubelet = match super::accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let field = kubelet.config.get("readOnlyPort");
    let port = match field.map(|f| &f.value) {
        Some(KValue::Int(p)) => *p,
        _ => 0,
    };
    let mut config_item = super::field_evidence(kubelet, "readOnlyPort", field, "0", port == 0);
    if config_item.note.is_none() {
        config_item.note = super::flavour_note(kubelet);
    }
    let mut items = vec![config_item];
    let watched = if port > 0 {
        u16::try_from(port).unwrap_or(10255)
    } else {
        10255
    };
    for listener in ctx
        .facts
        .listeners
        .iter()
        .filter(|l| l.is_host())
        .filter(|l| l.protocol == "tcp" && l.port == watched)
    {
        items.push(evidence(
            "listener on the read-only port",
            Some(listener.endpoint()),
            "nothing listening",
            false,
            listener.source(),
        ));
    }
    Verdict::from_evidence(items, "the read-only port is disabled", |failing| {
        super::failing_message(failing, "readOnlyPort 0 and nothing listening on it")
    })
}

/// `readOnlyPort: 0`; the kubelet stops listening on it once restarted.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(verdict, &[("readOnlyPort", serde_json::json!(0))])
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
                ("", &[], Status::Pass),
                ("readOnlyPort: 10255\n", &[], Status::Fail),
                (
                    "readOnlyPort: 10255\n",
                    &["--read-only-port=0"],
                    Status::Pass,
                ),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }

    #[test]
    fn a_listener_on_the_port_fails_even_when_the_config_says_0() {
        let mut facts = kubelet_config("", &[]);
        listener(&mut facts, "0.0.0.0:10255", 4242, "kubelet");
        let v = judge_worker(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("0.0.0.0:10255"), "{}", v.message);
    }

    #[test]
    fn flags_only_defaults_to_10255() {
        let v = judge_worker(&CHECK, &kubelet_facts(&[], &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("10255"), "{}", v.message);
    }
}

//! `kernel.swap`: Swap on a kubelet node is a deliberate, configured choice.

use crate::checks::kubelet::{accepted, field_evidence};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::{Evidence, Role, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.swap",
        title: "Swap on a kubelet node is configured in the kubelet",
        area: super::AREA,
        severity: Severity::Medium,
        roles: &[Role::Worker],
        rationale: "Swapped-out memory of a container — its secrets, tokens, keys — sits unencrypted on the swap device, and memory limits stop meaning what they say. By default the kubelet refuses to start with swap on (`failSwapOn: true`), so a node where swap is on and the kubelet runs either has swap turned on behind the kubelet's back (it will not start again) or was set up for swap: then `memorySwap.swapBehavior` must say what pods may do, since its unset default changed across versions (UnlimitedSwap before 1.30, NoSwap since).",
        remediation: "Turn swap off (`swapoff -a` and remove it from /etc/fstab), or, to run with swap, set `failSwapOn: false` and `memorySwap.swapBehavior: NoSwap` (or `LimitedSwap`, with the swap device encrypted) in the kubelet configuration.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/concepts/cluster-administration/swap-memory-management/",
            "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let swaps = match &ctx.facts.kernel.swaps {
        Ok(swaps) => swaps,
        Err(e) => {
            return Verdict::error(
                format!("cannot read the swap areas: {e}"),
                vec![swap_item(e.clone(), Status::Error)],
            );
        }
    };
    if ctx.facts.kubelet.is_none() {
        return Verdict::not_applicable("no kubelet runs on this node");
    }
    if swaps.is_empty() {
        return Verdict::new(
            Status::Pass,
            "no swap is active",
            vec![swap_item("none".into(), Status::Pass)],
        );
    }
    let kubelet = match accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let active = swaps.join(", ");
    let fail_swap_on = kubelet.config.get("failSwapOn");
    let behavior = kubelet.config.get("memorySwap.swapBehavior");
    let refuses = kubelet.config.bool("failSwapOn") != Some(false);
    let configured = matches!(
        kubelet.config.str("memorySwap.swapBehavior"),
        Some("NoSwap" | "LimitedSwap")
    );
    let items = vec![
        swap_item(active.clone(), Status::Fail),
        field_evidence(
            kubelet,
            "failSwapOn",
            fail_swap_on,
            "false on a node with swap",
            !refuses,
        ),
        field_evidence(
            kubelet,
            "memorySwap.swapBehavior",
            behavior,
            "NoSwap or LimitedSwap, set explicitly",
            configured,
        ),
    ];
    // The swap item is context: the verdict is the kubelet's configuration for it.
    let mut items = items;
    items[0].status = if !refuses && configured {
        Status::Pass
    } else {
        Status::Fail
    };
    Verdict::from_evidence(
        items,
        format!(
            "swap is on ({active}) and the kubelet is configured for it (swapBehavior {})",
            kubelet.config.str("memorySwap.swapBehavior").unwrap_or("?")
        ),
        |_| {
            if refuses {
                format!(
                    "swap is on ({active}) but failSwapOn is not false: the kubelet will refuse to start again"
                )
            } else {
                format!(
                    "swap is on ({active}) and memorySwap.swapBehavior is not set to NoSwap or LimitedSwap"
                )
            }
        },
    )
}

fn swap_item(observed: String, status: Status) -> Evidence {
    Evidence {
        subject: "active swap".into(),
        observed: Some(observed),
        expected: "none, or swap the kubelet is configured for".into(),
        status,
        source: Source::file("/proc/swaps", None),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{judge_worker, kubelet_config};

    fn node(config: &str, swaps: &[&str]) -> crate::facts::Facts {
        let mut facts = kubelet_config(config, &[]);
        facts.kernel.swaps = Ok(swaps.iter().map(|s| s.to_string()).collect());
        facts
    }

    #[test]
    fn verdicts() {
        assert_eq!(judge_worker(&CHECK, &node("", &[])).status, Status::Pass);
        let v = judge_worker(&CHECK, &node("", &["/swap.img"]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("refuse to start"), "{}", v.message);
        let v = judge_worker(&CHECK, &node("failSwapOn: false\n", &["/swap.img"]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("swapBehavior"), "{}", v.message);
        let good = "failSwapOn: false\nmemorySwap:\n  swapBehavior: NoSwap\n";
        assert_eq!(
            judge_worker(&CHECK, &node(good, &["/swap.img"])).status,
            Status::Pass
        );
        let unlimited = "failSwapOn: false\nmemorySwap:\n  swapBehavior: UnlimitedSwap\n";
        assert_eq!(
            judge_worker(&CHECK, &node(unlimited, &["/dev/sda2"])).status,
            Status::Fail
        );
        let mut unreadable = node("", &[]);
        unreadable.kernel.swaps = Err("permission denied".into());
        assert_eq!(judge_worker(&CHECK, &unreadable).status, Status::Error);
    }
}

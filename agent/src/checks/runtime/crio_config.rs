//! `runtime.crio-config`: CRI-O's configuration keeps containers confined.

use super::config_items::{ConfigItems, runtime_config};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::lsm::{LsmFacts, SeLinux};
use crate::facts::runtime::RuntimeKind;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "runtime.crio-config",
        title: "CRI-O's settings do not weaken container isolation",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "CRI-O decides what every container gets unless the pod asks otherwise: `default_capabilities` beyond its nine defaults hand every container more of root's powers (NET_RAW, SYS_ADMIN, SYS_PTRACE); `apparmor_profile = \"unconfined\"` drops the AppArmor default profile for every container; `selinux = false` on an SELinux-enforcing node runs containers without their SELinux labels; `no_pivot = true` enters the container's root with MS_MOVE instead of pivot_root, which leaves the host's filesystem reachable; `additional_devices` puts host devices into every container; and a VM runtime handler without `privileged_without_host_devices` hands every host device to a privileged pod's sandbox. The files are `/etc/crio/crio.conf` then every file under `/etc/crio/crio.conf.d` in name order, each key overriding, as CRI-O reads them.",
        remediation: "In `[crio.runtime]`: keep `default_capabilities` to CRI-O's defaults (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, KILL) and grant more per pod; remove `apparmor_profile = \"unconfined\"`, `selinux = false`, `no_pivot = true` and `additional_devices`; set `privileged_without_host_devices = true` on VM handlers. Restart CRI-O.",
        cis: &[],
        references: &[
            "https://github.com/cri-o/cri-o/blob/main/docs/crio.conf.5.md",
            "https://github.com/cri-o/cri-o/blob/main/docs/crio.conf.d.5.md",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

/// CRI-O's default capabilities (`internal/config/capabilities`, the same from 1.24 to 1.36).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "KILL",
];

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let (config, runtime) = match runtime_config(ctx, RuntimeKind::CriO) {
        Ok(found) => found,
        Err(verdict) => return verdict,
    };
    let mut items = ConfigItems::new(config, "CRI-O");
    items.judge(
        &key(&["crio", "runtime", "default_capabilities"]),
        "within CRI-O's nine defaults",
        "CRI-O's nine defaults",
        |v| {
            v.as_array().is_some_and(|caps| {
                caps.iter().all(|c| {
                    c.as_str().is_some_and(|c| {
                        let name = c.trim().to_ascii_uppercase();
                        DEFAULT_CAPABILITIES.contains(&name.trim_start_matches("CAP_"))
                    })
                })
            })
        },
    );
    items.judge(
        &key(&["crio", "runtime", "apparmor_profile"]),
        "not \"unconfined\"",
        "\"crio-default\" (CRI-O default)",
        |v| v.as_str().is_none_or(|p| p != "unconfined"),
    );
    let enforcing = matches!(
        &ctx.facts.lsm,
        LsmFacts::Known(k) if k.selinux == SeLinux::Enforcing
    );
    if enforcing {
        items.judge(
            &key(&["crio", "runtime", "selinux"]),
            "true (SELinux is enforcing on this node)",
            "whether SELinux is enabled on the host (CRI-O default)",
            |v| v.as_bool() != Some(false),
        );
    }
    items.judge(
        &key(&["crio", "runtime", "no_pivot"]),
        "false",
        "false (CRI-O default)",
        |v| v.as_bool() != Some(true),
    );
    items.judge(
        &key(&["crio", "runtime", "additional_devices"]),
        "empty",
        "[] (CRI-O default)",
        |v| v.as_array().is_none_or(Vec::is_empty),
    );
    items.sandboxed_handlers(&["crio", "runtime", "runtimes"], "oci", |t| t == "vm");
    items.verdict(runtime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::runtime::testing::{crio, with_runtime};
    use crate::checks::testing::judge;
    use nodecheck_report::Status;

    fn status(config: &str) -> Status {
        judge(
            &CHECK,
            &with_runtime(RuntimeKind::CriO, None, Some(crio(config))),
        )
        .status
    }

    #[test]
    fn verdicts() {
        assert_eq!(status(""), Status::Pass);
        assert_eq!(
            status("[crio.runtime]\ndefault_capabilities = [\"CHOWN\", \"KILL\"]\n"),
            Status::Pass
        );
        assert_eq!(
            status("[crio.runtime]\ndefault_capabilities = [\"CHOWN\", \"NET_RAW\"]\n"),
            Status::Fail
        );
        assert_eq!(
            status("[crio.runtime]\napparmor_profile = \"unconfined\"\n"),
            Status::Fail
        );
        assert_eq!(
            status("[crio.runtime]\napparmor_profile = \"crio-default\"\n"),
            Status::Pass
        );
        assert_eq!(status("[crio.runtime]\nno_pivot = true\n"), Status::Fail);
        assert_eq!(
            status("[crio.runtime]\nadditional_devices = [\"/dev/fuse:/dev/fuse:rwm\"]\n"),
            Status::Fail
        );
        let kata = "[crio.runtime.runtimes.kata]\nruntime_path = \"/usr/bin/kata-runtime\"\nruntime_type = \"vm\"\n";
        assert_eq!(status(kata), Status::Fail);
        assert_eq!(
            status(&format!("{kata}privileged_without_host_devices = true\n")),
            Status::Pass
        );
        // selinux = false matters where SELinux enforces.
        assert_eq!(status("[crio.runtime]\nselinux = false\n"), Status::Pass);
        let mut facts = with_runtime(
            RuntimeKind::CriO,
            None,
            Some(crio("[crio.runtime]\nselinux = false\n")),
        );
        facts.lsm =
            crate::checks::lsm::testing::with_lsm(&["selinux"], &[], SeLinux::Enforcing).lsm;
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
    }
}

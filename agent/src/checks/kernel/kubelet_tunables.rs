//! `kernel.kubelet-tunables`: The tunables `protectKernelDefaults` demands hold now and after
//! a reboot.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::kernel::Running;
use nodecheck_report::{Evidence, Role, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.kubelet-tunables",
        title: "The kernel tunables the kubelet's protectKernelDefaults demands hold now and after a reboot",
        area: super::AREA,
        severity: Severity::Low,
        roles: &[Role::Worker],
        rationale: "With `protectKernelDefaults: true` (kubelet.protect-kernel-defaults) the kubelet refuses to start unless vm.overcommit_memory is 1, vm.panic_on_oom 0, kernel.panic 10, kernel.panic_on_oops 1, kernel.keys.root_maxkeys 1000000 and kernel.keys.root_maxbytes 25000000. Without it the kubelet writes these values itself at start, so the running kernel matches and says nothing about the next boot: turning the protection on, or rebooting a node that has it, then stops the kubelet. The values must be running and persisted in sysctl.d, except those the kernel itself defaults to (vm.panic_on_oom 0; kernel.keys.root_maxkeys 1000000 and root_maxbytes 25000000 since Linux 3.17, security/keys/key.c).",
        remediation: "Persist the values: `printf 'vm.overcommit_memory = 1\\nvm.panic_on_oom = 0\\nkernel.panic = 10\\nkernel.panic_on_oops = 1\\nkernel.keys.root_maxkeys = 1000000\\nkernel.keys.root_maxbytes = 25000000\\n' > /etc/sysctl.d/90-kubelet.conf && sysctl --system`; then `protectKernelDefaults: true` in the kubelet configuration.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/",
            "https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/cm/container_manager_linux.go",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

/// The kubelet's desired state (`setupKernelTunables`), and whether the kernel's own default is
/// already that value (then no file is needed for the next boot).
pub const DESIRED: &[(&str, i64, bool)] = &[
    ("vm.overcommit_memory", 1, false),
    ("vm.panic_on_oom", 0, true),
    ("kernel.panic", 10, false),
    ("kernel.panic_on_oops", 1, false),
    // security/keys/key.c: key_quota_root_maxkeys and _maxbytes (raised to these values in
    // Linux 3.17; 200 and 20000 before).
    ("kernel.keys.root_maxkeys", 1_000_000, true),
    ("kernel.keys.root_maxbytes", 25_000_000, true),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    if ctx.facts.kubelet.is_none() {
        return Verdict::not_applicable("no kubelet runs on this node");
    }
    if let Err(v) = super::recorded(ctx) {
        return v;
    }
    let items: Vec<Evidence> = DESIRED
        .iter()
        .map(|&(key, want, kernel_default)| {
            let s = ctx.facts.kernel.get(key);
            let source = Source::file(s.proc_path(), None);
            let persisted = s
                .next_boot
                .as_ref()
                .map(|a| (crate::facts::kernel::kernel_int(&a.value), a));
            let (status, observed, note) = match &s.running {
                Running::Value(v) => {
                    let running_ok = v.parse::<i64>().ok() == Some(want);
                    let (boot_ok, boot) = match persisted {
                        Some((Some(value), a)) => (
                            value == want,
                            format!("{} at the next boot ({}:{})", a.value, a.path, a.line),
                        ),
                        Some((None, a)) => (
                            false,
                            format!(
                                "{:?} at the next boot ({}:{}), which the kernel refuses",
                                a.value, a.path, a.line
                            ),
                        ),
                        None if kernel_default => (true, "the kernel's default at the next boot".into()),
                        None => (false, "no sysctl.d file sets it".into()),
                    };
                    let status = if running_ok && boot_ok { Status::Pass } else { Status::Fail };
                    let note = (running_ok && !boot_ok).then(|| {
                        "running as the kubelet wants, but not persisted: after a reboot a kubelet with protectKernelDefaults will not start".to_string()
                    });
                    (status, format!("{v} now; {boot}"), note)
                }
                Running::Hidden(why) => (Status::NotApplicable, "not visible".into(), Some(why.clone())),
                Running::Missing => (Status::Error, "not in this kernel".into(), None),
                Running::NotRecorded => (Status::Error, "not recorded in this proc tree".into(), None),
                Running::Unreadable(e) => (Status::Error, e.clone(), None),
            };
            Evidence {
                subject: key.to_string(),
                observed: Some(observed),
                expected: format!("{want}, running and after a reboot"),
                status,
                source,
                note,
            }
        })
        .collect();
    // Without every sysctl.d file read, the next boot's values are not known.
    let mut items = items;
    items.extend(ctx.facts.kernel.problems.iter().map(|p| Evidence {
        subject: "sysctl.d".into(),
        observed: Some(p.clone()),
        expected: "every file systemd-sysctl reads at boot read".into(),
        status: Status::Error,
        source: Source::file("/etc/sysctl.d", None),
        note: None,
    }));
    Verdict::from_evidence(
        items,
        "the kernel tunables the kubelet demands are running and persisted",
        |failing| {
            let keys: Vec<&str> = failing.iter().map(|e| e.subject.as_str()).collect();
            format!(
                "{} not running and persisted as protectKernelDefaults demands ({})",
                keys.join(", "),
                failing[0].observed.as_deref().unwrap_or("?")
            )
        },
    )
}

/// Each failing tunable at the value the kubelet demands.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::sysctls(verdict, &|key| {
        DESIRED
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, value, _)| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use crate::checks::testing::{judge_worker, kubelet_config};

    fn node(values: &[(&'static str, Option<&str>)]) -> crate::facts::Facts {
        let mut facts = with_sysctls(values);
        facts.kubelet = kubelet_config("", &[]).kubelet;
        facts
    }

    const KUBELET_SET: &[(&str, Option<&str>)] = &[
        ("vm.overcommit_memory", Some("1")),
        ("vm.panic_on_oom", Some("0")),
        ("kernel.panic", Some("10")),
        ("kernel.panic_on_oops", Some("1")),
        ("kernel.keys.root_maxkeys", Some("1000000")),
        ("kernel.keys.root_maxbytes", Some("25000000")),
    ];

    #[test]
    fn running_values_alone_do_not_survive_a_reboot() {
        // The kubelet wrote them at start: nothing persists them.
        let mut facts = node(KUBELET_SET);
        let v = judge_worker(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(!v.message.contains("vm.panic_on_oom"), "{}", v.message);
        // The kernel's own defaults need no file: only the three the kernel does not default.
        assert!(!v.message.contains("root_maxkeys"), "{}", v.message);
        assert!(v.message.contains("vm.overcommit_memory"), "{}", v.message);
        assert!(
            v.evidence[0]
                .note
                .as_deref()
                .unwrap_or("")
                .contains("reboot")
        );
        for (key, value) in KUBELET_SET {
            persisted(
                &mut facts,
                key,
                value.unwrap_or(""),
                "/etc/sysctl.d/90-kubelet.conf",
            );
        }
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
        // A file that sets another value wins at the next boot.
        persisted(
            &mut facts,
            "kernel.panic",
            "0",
            "/etc/sysctl.d/99-sysctl.conf",
        );
        let v = judge_worker(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("kernel.panic"), "{}", v.message);
        // The kernel reads 010 as octal 8 and refuses +10.
        persisted(
            &mut facts,
            "kernel.panic",
            "010",
            "/etc/sysctl.d/99-sysctl.conf",
        );
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Fail);
        persisted(
            &mut facts,
            "kernel.panic",
            "+10",
            "/etc/sysctl.d/99-sysctl.conf",
        );
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Fail);
        persisted(
            &mut facts,
            "kernel.panic",
            "0xa",
            "/etc/sysctl.d/99-sysctl.conf",
        );
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
        // An unreadable sysctl.d file: what the next boot sets is not known.
        facts
            .kernel
            .problems
            .push("/etc/sysctl.d/99-zz.conf: larger than 256 KiB".into());
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Error);
        let mut wrong = node(&[("vm.overcommit_memory", Some("0"))]);
        persisted(
            &mut wrong,
            "vm.overcommit_memory",
            "0",
            "/etc/sysctl.d/x.conf",
        );
        assert_eq!(judge_worker(&CHECK, &wrong).status, Status::Fail);
        assert_eq!(
            judge_worker(&CHECK, &with_sysctls(KUBELET_SET)).status,
            Status::NotApplicable
        );
    }
}

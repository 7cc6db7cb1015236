//! `runtime.escape-advisories`: no known container escape in the installed runtime and runc.

use super::advisories::{ADVISORIES, Exposure, TABLE_DATE, judge_package, judge_upstream};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::runtime::{Found, VersionFrom};
use nodecheck_report::{Evidence, Severity, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "runtime.escape-advisories",
        title: "The container runtime and runc have no known container-escape advisory",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "A container escape in runc or the runtime turns any pod an attacker can start or exec into (or any image they can get pulled) into root on the node, whatever the pod's security context says. The versions are read without running anything: from the Debian or Ubuntu package that installed the binary (so a distribution's backported fix counts, though its upstream number is older), else from the binary's Go build information. They are judged against a small table of container-escape advisories kept in nodecheck (runc CVE-2019-5736, CVE-2024-21626, CVE-2025-31133, CVE-2025-52565, CVE-2025-52881; containerd CVE-2020-15257; CRI-O CVE-2022-0811), dated: an advisory newer than the table is not known to it. A version that cannot be read, or a distribution build the table has no row for, is an error rather than a pass.",
        remediation: "Upgrade runc and the runtime from the distribution's security updates (Debian: `apt install --only-upgrade runc containerd`), or to an upstream release past every fix named; then restart the runtime, and the pods, whose shims keep running the old code.",
        cis: &[],
        references: &[
            "https://github.com/opencontainers/runc/security/advisories/GHSA-xr7r-f8xq-vfvv",
            "https://github.com/opencontainers/runc/security/advisories/GHSA-9493-h29p-rfm2",
            "https://github.com/opencontainers/runc/security/advisories/GHSA-qw9x-cqr3-wc7r",
            "https://github.com/opencontainers/runc/security/advisories/GHSA-cgrx-mc8f-2prm",
            "https://github.com/advisories/GHSA-gxmr-w5mj-v8hh",
            "https://github.com/containerd/containerd/security/advisories/GHSA-36xw-fx78-c5r4",
            "https://github.com/cri-o/cri-o/security/advisories/GHSA-6x2m-w449-qwx7",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn describe(found: &Found) -> String {
    match &found.from {
        VersionFrom::Package { package, .. } => format!("{} (package {package})", found.version),
        VersionFrom::Binary { what } => format!("{} ({what})", found.version),
    }
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let Some(runtime) = &ctx.facts.runtime else {
        return Verdict::not_applicable("no kubelet and no container runtime on this node");
    };
    if runtime.versions.is_empty() {
        return Verdict::not_applicable(
            "no runtime binary whose version is judged was found (containerd, CRI-O, runc)",
        );
    }
    let mut items = Vec::new();
    for installed in &runtime.versions {
        let source = installed.source();
        // A binary others may write is theirs to replace: its version proves nothing.
        if installed.file.meta.is_ok() {
            items.push(super::config_items::root_only(
                &installed.file,
                installed.component,
            ));
        }
        let found = match &installed.version {
            Ok(found) => found,
            Err(why) => {
                items.push(Evidence {
                    subject: format!("{} version", installed.component),
                    observed: Some(why.clone()),
                    expected: "a version nodecheck can read (a package, or a binary recording it)"
                        .into(),
                    status: Status::Error,
                    source,
                    note: None,
                });
                continue;
            }
        };
        for advisory in ADVISORIES
            .iter()
            .filter(|a| a.component == installed.component)
        {
            let exposure = match &found.from {
                VersionFrom::Package { distro, .. } => judge_package(
                    advisory,
                    &found.version,
                    distro.as_ref().map(|(id, v)| (id.as_str(), v.as_str())),
                ),
                VersionFrom::Binary { .. } => judge_upstream(advisory, &found.version),
            };
            let (status, why) = match exposure {
                Exposure::Fixed(why) => (Status::Pass, why),
                Exposure::Vulnerable(why) => (Status::Fail, why),
                Exposure::Unknown(why) => (Status::Error, why),
            };
            items.push(Evidence {
                subject: format!(
                    "{} {} at {}",
                    installed.component, advisory.id, installed.binary
                ),
                observed: Some(describe(found)),
                expected: format!("not affected by {} ({})", advisory.id, advisory.summary),
                status,
                source: source.clone(),
                note: Some(format!("{why}; {}", advisory.url)),
            });
        }
    }
    Verdict::from_evidence(
        items,
        format!(
            "no advisory in nodecheck's table (as of {TABLE_DATE}) applies to the runtime or runc"
        ),
        |failing| {
            let what: Vec<String> = failing
                .iter()
                .map(|e| {
                    let status = if e.status == Status::Fail {
                        "affected"
                    } else {
                        "cannot tell"
                    };
                    format!(
                        "{} ({status}: {})",
                        e.subject,
                        e.observed.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            format!("{}; upgrade to a fixed build", what.join("; "))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::runtime::testing::with_runtime;
    use crate::checks::testing::judge;
    use crate::facts::runtime::{RuntimeKind, Versioned};

    fn with_runc(version: Result<Found, String>) -> crate::facts::Facts {
        let mut facts = with_runtime(RuntimeKind::Containerd, None, None);
        facts.runtime.as_mut().expect("runtime").versions = vec![Versioned {
            component: "runc",
            binary: "/usr/sbin/runc".into(),
            file: crate::checks::testing::file("/usr/sbin/runc", 0o755, "root", "root"),
            version,
        }];
        facts
    }

    fn package(version: &str, distro: (&str, &str)) -> Result<Found, String> {
        Ok(Found {
            version: version.into(),
            from: VersionFrom::Package {
                package: "runc".into(),
                line: 1,
                distro: Some((distro.0.into(), distro.1.into())),
            },
        })
    }

    #[test]
    fn verdicts() {
        let binary = |v: &str| {
            Ok(Found {
                version: v.into(),
                from: VersionFrom::Binary {
                    what: "test".into(),
                },
            })
        };
        assert_eq!(
            judge(&CHECK, &with_runc(binary("1.3.3"))).status,
            Status::Pass
        );
        let old = judge(&CHECK, &with_runc(binary("1.1.11")));
        assert_eq!(old.status, Status::Fail);
        assert!(old.message.contains("CVE-2024-21626"), "{}", old.message);
        // Ubuntu 22.04's backport of 1.3.3 passes; its earlier 1.1.7 build does not.
        assert_eq!(
            judge(
                &CHECK,
                &with_runc(package("1.3.3-0ubuntu1~22.04.3", ("ubuntu", "22.04")))
            )
            .status,
            Status::Pass
        );
        let jammy = judge(
            &CHECK,
            &with_runc(package("1.1.7-0ubuntu1~22.04.1", ("ubuntu", "22.04"))),
        );
        assert_eq!(jammy.status, Status::Fail);
        // Debian 12's runc carries the 2024 fix and none for 2025's.
        let bookworm = judge(
            &CHECK,
            &with_runc(package("1.1.5+ds1-1+deb12u1", ("debian", "12"))),
        );
        assert_eq!(bookworm.status, Status::Fail);
        let leaky = bookworm
            .evidence
            .iter()
            .find(|e| e.subject.contains("CVE-2024-21626"))
            .expect("judged");
        assert_eq!(leaky.status, Status::Pass);
        // Unreadable versions and unknown distributions are errors, never passes.
        assert_eq!(
            judge(&CHECK, &with_runc(Err("no version".into()))).status,
            Status::Error
        );
        assert_eq!(
            judge(&CHECK, &with_runc(package("1.2.5-1", ("fedora", "41")))).status,
            Status::Error
        );
        // A runc others may write is theirs: whatever version it claims, it fails.
        let mut writable = with_runc(binary("1.3.3"));
        writable.runtime.as_mut().expect("runtime").versions[0].file =
            crate::checks::testing::file("/usr/sbin/runc", 0o777, "alice", "alice");
        assert_eq!(judge(&CHECK, &writable).status, Status::Fail);
    }
}

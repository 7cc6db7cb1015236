//! One scan: facts and a profile in, a `nodecheck.report/v1` report out.

use crate::checks::{Check, Verdict};
use crate::facts::Facts;
use crate::profile::Profile;
use crate::registry;
use nodecheck_report::{
    Agent, Finding, Inventory, Listener, ListenerProcess, Node, ProfileRef, Report, Role,
    SCHEMA_V1, Status, Waiver,
};
use std::collections::BTreeMap;

/// What the caller decides about a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub node_name: String,
    pub cluster: String,
    /// Areas or check IDs to run; empty runs every enabled check.
    pub only: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub interval_s: Option<u64>,
}

/// Why `--only` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--only: unknown area or check `{name}`{hint}")]
pub struct UnknownSelection {
    pub name: String,
    pub hint: String,
}

/// Checks that `--only` names real areas or checks.
pub fn validate_only(only: &[String]) -> Result<(), UnknownSelection> {
    let areas = registry::areas();
    for name in only {
        if areas.contains(&name.as_str()) || registry::find(name).is_some() {
            continue;
        }
        let candidates = areas
            .iter()
            .copied()
            .chain(registry::CHECKS.iter().map(|c| c.meta.id));
        let hint = crate::text::closest(name, candidates)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(UnknownSelection {
            name: name.clone(),
            hint,
        });
    }
    Ok(())
}

fn selected(check: &Check, only: &[String]) -> bool {
    only.is_empty()
        || only
            .iter()
            .any(|o| o == check.meta.id || o == check.meta.area)
}

/// The roles the node is judged as: forced by the profile, or detected.
pub fn roles(facts: &Facts, profile: &Profile) -> Vec<Role> {
    profile
        .role
        .map_or_else(|| facts.detected_roles.clone(), |r| vec![r])
}

fn judge(check: &Check, facts: &Facts, profile: &Profile, roles: &[Role]) -> Verdict {
    let mut verdict = if check.meta.roles.iter().any(|r| roles.contains(r)) {
        let params = profile.params_of(check);
        crate::checks::run(check, facts, &params, roles)
    } else {
        let wanted: Vec<&str> = check.meta.roles.iter().map(|r| r.as_str()).collect();
        let have: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Verdict::not_applicable(format!(
            "applies to {} nodes; this node is {}",
            wanted.join(", "),
            have.join(", ")
        ))
    };
    // A scan that stopped early (a budget ran out, the deadline passed) cannot vouch for
    // what it did not read: nothing passes and nothing is "not applicable" on partial facts.
    // A failure found stays a failure.
    if let Some(first) = facts.incomplete.first()
        && matches!(verdict.status, Status::Pass | Status::NotApplicable)
    {
        verdict.message = format!(
            "not judged: the scan stopped early ({first}); on what it read: {}",
            verdict.message
        );
        verdict.status = Status::Error;
        for reason in &facts.incomplete {
            verdict.evidence.push(nodecheck_report::Evidence {
                subject: "scan".into(),
                observed: Some(reason.clone()),
                expected: "a scan that reads everything it judges within its budgets".into(),
                status: Status::Error,
                source: nodecheck_report::Source::default_value("nodecheck's scan budgets"),
                note: None,
            });
        }
    }
    // Processes that only claimed to be this area's component are named, never judged.
    for ignored in facts.ignored.get(check.meta.area).into_iter().flatten() {
        if ignored.pid == 0 {
            // The count of those not named one by one.
            verdict.evidence.push(nodecheck_report::Evidence {
                subject: format!("processes named {}", ignored.claimed),
                observed: Some(ignored.reason.clone()),
                expected: format!(
                    "the {} that runs as root, started by the init system or a container runtime",
                    ignored.claimed
                ),
                status: Status::NotApplicable,
                source: nodecheck_report::Source::default_value("nodecheck's report limits"),
                note: Some("not judged: not what they claim to be".into()),
            });
            continue;
        }
        verdict.evidence.push(nodecheck_report::Evidence {
            subject: format!("process {} named {}", ignored.pid, ignored.claimed),
            observed: Some(ignored.describe()),
            expected: format!(
                "a {} that runs as root (or its own system user) from a root-owned executable, started by the init system or a container runtime",
                ignored.claimed
            ),
            status: Status::NotApplicable,
            source: nodecheck_report::Source::Process {
                pid: ignored.pid,
                name: ignored.claimed.to_string(),
            },
            note: Some("not judged: it is not what it claims to be".into()),
        });
    }
    // A report stays readable and bounded whatever the host holds: a finding lists its
    // first evidence items and counts the rest.
    if verdict.evidence.len() > MAX_EVIDENCE {
        let more = verdict.evidence.len() - (MAX_EVIDENCE - 1);
        verdict.evidence.truncate(MAX_EVIDENCE - 1);
        verdict.evidence.push(nodecheck_report::Evidence {
            subject: "more evidence".into(),
            observed: Some(format!("{more} more items, not listed")),
            expected: "—".into(),
            status: verdict.status,
            source: nodecheck_report::Source::default_value("nodecheck's report limits"),
            note: None,
        });
    }
    verdict
}

/// Runs every selected check and assembles the report.
pub fn scan(
    facts: &Facts,
    profile: &Profile,
    options: &ScanOptions,
    started: std::time::Duration,
) -> Report {
    let roles = roles(facts, profile);
    let findings: Vec<Finding> = registry::CHECKS
        .iter()
        .filter(|c| profile.is_enabled(c) && selected(c, &options.only))
        .map(|check| {
            let verdict = judge(check, facts, profile, &roles);
            let waiver = profile
                .waiver_for(check.meta.id, &options.node_name)
                .filter(|_| matches!(verdict.status, Status::Fail | Status::Error))
                .map(|w| Waiver {
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                });
            Finding {
                id: check.meta.id.to_string(),
                title: check.meta.title.to_string(),
                area: check.meta.area.to_string(),
                severity: profile.severity_of(check),
                status: verdict.status,
                message: verdict.message,
                evidence: verdict.evidence,
                remediation: check.meta.remediation.to_string(),
                rationale: check.meta.rationale.to_string(),
                references: check.meta.citations(),
                cis: check.meta.cis.iter().map(|id| id.to_string()).collect(),
                waiver,
            }
        })
        .collect();
    let summary = nodecheck_report::summarize(&findings);
    let duration = crate::time::now().saturating_sub(started);
    let mut report = Report {
        schema: SCHEMA_V1.to_string(),
        id: crate::time::report_id(started),
        node: Node {
            name: options.node_name.clone(),
            cluster: options.cluster.clone(),
            roles,
            os: facts.host.os.clone(),
            kernel: facts.host.kernel.clone(),
            labels: options.labels.clone(),
            kubelet_version: facts.kubelet.as_ref().and_then(|k| k.version.clone()),
        },
        agent: Agent {
            version: env!("CARGO_PKG_VERSION").to_string(),
            interval_s: options.interval_s,
        },
        profile: ProfileRef {
            name: profile.name.clone(),
            sha256: profile.sha256.clone(),
        },
        started_at: crate::time::rfc3339(started),
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        score: nodecheck_report::score(&summary),
        summary,
        settings: settings(&findings),
        findings,
        inventory: inventory(facts),
    };
    // What the node controls (an os-release, a container's command line) is cut to the
    // report format's limits here, so no process on the node can get its reports refused.
    let changed = nodecheck_report::limits::clamp(&mut report);
    if !changed.is_empty() {
        for change in &changed {
            tracing::warn!("report cut to the format's limits: {change}");
        }
        report.summary = nodecheck_report::summarize(&report.findings);
        report.score = nodecheck_report::score(&report.summary);
    }
    report
}

/// The judged settings of a report: each evidence item that judged a setting (its value read
/// from a file line, a command-line flag or a named default), keyed `area:subject`. The first
/// finding to judge a setting names its value; a value over the format's limit is left out
/// rather than cut, since a cut value could compare equal to another.
///
/// Metadata of files, listeners and processes are not settings: they are per-file or per-pid,
/// and the inventory carries the listeners.
fn settings(findings: &[Finding]) -> std::collections::BTreeMap<String, Option<String>> {
    use nodecheck_report::{Source, limits};
    let mut settings = std::collections::BTreeMap::new();
    for finding in findings {
        for item in &finding.evidence {
            let setting = matches!(
                item.source,
                Source::File { .. } | Source::Flag { .. } | Source::Default { .. }
            );
            if !setting
                || item.status == Status::Error
                || item.subject.is_empty()
                || is_per_interface(&item.subject)
            {
                continue;
            }
            let key = format!("{}:{}", finding.area, without_process_root(&item.subject));
            let fits = key.chars().count() <= limits::SETTING_KEY_MAX
                && item
                    .observed
                    .as_ref()
                    .is_none_or(|v| v.chars().count() <= limits::SETTING_VALUE_MAX);
            if fits && settings.len() < limits::SETTINGS_MAX {
                settings.entry(key).or_insert_with(|| item.observed.clone());
            }
        }
    }
    settings
}

/// A sysctl of one network interface (`net.ipv4.conf.veth1a2b.send_redirects`): interfaces
/// come and go with pods and are named differently on every node, so they are no setting to
/// compare with peers (`all` and `default` are).
fn is_per_interface(subject: &str) -> bool {
    ["net.ipv4.conf.", "net.ipv6.conf."].iter().any(|prefix| {
        subject
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(interface, _)| !matches!(interface, "all" | "default"))
    })
}

/// `metricsBindAddress (/proc/2300/root/var/lib/kube-proxy/config.conf)` as every node says
/// it: `metricsBindAddress (/var/lib/kube-proxy/config.conf)`. A file read inside a
/// container's root is named by a pid, which is no part of the setting.
fn without_process_root(subject: &str) -> std::borrow::Cow<'_, str> {
    let Some(at) = subject.find("/proc/") else {
        return subject.into();
    };
    let rest = &subject[at + "/proc/".len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix("/root/") {
        Some(path) if digits > 0 => format!("{}/{path}", &subject[..at]).into(),
        _ => subject.into(),
    }
}

/// Listeners the inventory lists (all are judged); a node with more lists the first ones.
pub const MAX_INVENTORY_LISTENERS: usize = 4096;
/// Holding processes the inventory lists per listener.
pub const MAX_INVENTORY_OWNERS: usize = 16;
/// Evidence items one finding carries; the rest are counted in a last item.
pub const MAX_EVIDENCE: usize = 200;

fn inventory(facts: &Facts) -> Inventory {
    Inventory {
        listeners: facts
            .listeners
            .iter()
            .take(MAX_INVENTORY_LISTENERS)
            .map(|l| Listener {
                protocol: l.protocol.to_string(),
                address: l.address.to_string(),
                port: l.port,
                netns: l.netns.clone(),
                processes: l
                    .owners
                    .iter()
                    .take(MAX_INVENTORY_OWNERS)
                    .map(|(pid, name)| ListenerProcess {
                        pid: *pid,
                        name: name.clone(),
                    })
                    .collect(),
            })
            .collect(),
        containers: facts
            .containers
            .iter()
            .map(|c| nodecheck_report::Container {
                pid: c.pid,
                id: c.placement.container_id.clone(),
                runtime: c.placement.runtime.to_string(),
                namespace: c.namespace.clone(),
                pod: c.pod.clone(),
                name: c.name.clone(),
                program: c.program.clone(),
                uid: c.uid,
                gid: c.gid,
                user_namespace_root: c.user_ns_root,
                capabilities: crate::facts::containers::capability_names(c.cap_effective),
                no_new_privs: c.no_new_privs,
                seccomp: c.seccomp,
                host_namespaces: c.host_namespaces.iter().map(|s| s.to_string()).collect(),
                memory_limit: c.memory_limit.clone().ok().flatten(),
                shell: c.shell.clone().ok().flatten(),
                package_manager: c.package_manager.clone().ok().flatten(),
                image: c.image.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{empty_facts, sshd_config};

    fn options() -> ScanOptions {
        ScanOptions {
            node_name: "node-1".into(),
            cluster: "prod".into(),
            ..ScanOptions::default()
        }
    }

    #[test]
    fn settings_are_the_judged_values_keyed_by_area_and_subject() {
        use nodecheck_report::{Evidence, Source};
        let item = |subject: &str, observed: Option<&str>, source: Source| Evidence {
            subject: subject.into(),
            observed: observed.map(str::to_string),
            expected: "x".into(),
            status: Status::Pass,
            source,
            note: None,
        };
        let mut kubelet = crate::output::fixture::report().findings[0].clone();
        kubelet.area = "kubelet".into();
        kubelet.evidence = vec![
            item(
                "readOnlyPort",
                Some("0"),
                Source::file("/var/lib/kubelet/config.yaml", Some(3)),
            ),
            item("tlsCipherSuites", None, Source::default_value("not set")),
            item(
                "/etc/kubernetes/kubelet.conf",
                Some("0600 root:root"),
                Source::FileMetadata {
                    path: "/etc/kubernetes/kubelet.conf".into(),
                },
            ),
            item(
                "metricsBindAddress (/proc/2300/root/var/lib/kube-proxy/config.conf)",
                Some("0.0.0.0:10249"),
                Source::Flag {
                    flag: "--config".into(),
                    pid: 2300,
                },
            ),
        ];
        let mut again = kubelet.clone();
        again.evidence = vec![item(
            "readOnlyPort",
            Some("10255"),
            Source::default_value("d"),
        )];
        let settings = settings(&[kubelet, again]);
        assert_eq!(
            settings.into_iter().collect::<Vec<_>>(),
            [
                (
                    "kubelet:metricsBindAddress (/var/lib/kube-proxy/config.conf)".to_string(),
                    Some("0.0.0.0:10249".to_string())
                ),
                ("kubelet:readOnlyPort".to_string(), Some("0".to_string())),
                ("kubelet:tlsCipherSuites".to_string(), None),
            ],
            "file metadata is no setting; the first finding names the value"
        );
        assert_eq!(
            without_process_root("/proc/self/root/x"),
            "/proc/self/root/x"
        );
        assert!(is_per_interface("net.ipv4.conf.veth1a2b.send_redirects"));
        assert!(!is_per_interface("net.ipv4.conf.all.send_redirects"));
        assert!(!is_per_interface("net.ipv6.conf.default.accept_ra"));
        assert!(!is_per_interface("net.ipv4.ip_forward"));
        assert_eq!(
            without_process_root("a /proc/12/rootfs"),
            "a /proc/12/rootfs"
        );
    }

    #[test]
    fn one_finding_per_enabled_check_with_score() {
        let profile = crate::profile::load("default").expect("profile");
        let report = scan(
            &sshd_config("PermitRootLogin no\n"),
            &profile,
            &options(),
            crate::time::now(),
        );
        assert_eq!(report.findings.len(), registry::CHECKS.len());
        assert!(report.score.is_some());
        assert_eq!(report.node.roles, [Role::Host]);
        let prl = report
            .findings
            .iter()
            .find(|f| f.id == "sshd.permit-root-login")
            .expect("finding");
        assert_eq!(prl.status, Status::Pass);
    }

    #[test]
    fn an_empty_host_has_nothing_to_judge_but_its_ports() {
        let profile = crate::profile::load("default").expect("profile");
        let mut only_host = options();
        only_host.only = [
            "apiserver",
            "containers",
            "controller-manager",
            "etcd",
            "kube-proxy",
            "kubelet",
            "ports",
            "runtime",
            "scheduler",
            "sshd",
        ]
        .map(String::from)
        .to_vec();
        let report = scan(&empty_facts(), &profile, &only_host, crate::time::now());
        for f in &report.findings {
            let expected = if f.area == "ports" {
                Status::Pass
            } else {
                Status::NotApplicable
            };
            assert_eq!(f.status, expected, "{}: {}", f.id, f.message);
        }
        assert_eq!(report.score, Some(100));
        // The kernel and its security modules belong to every host: facts that hold none
        // cannot pass them.
        let report = scan(&empty_facts(), &profile, &options(), crate::time::now());
        for f in report
            .findings
            .iter()
            .filter(|f| f.area == "kernel" || f.area == "lsm")
        {
            assert!(
                matches!(f.status, Status::Error | Status::NotApplicable),
                "{}: {:?} {}",
                f.id,
                f.status,
                f.message
            );
        }
        let mut only_sshd = options();
        only_sshd.only = vec!["sshd".into()];
        let report = scan(&empty_facts(), &profile, &only_sshd, crate::time::now());
        assert_eq!(report.score, None, "no judged weight, no score");
    }

    #[test]
    fn only_selects_and_validates() {
        let profile = crate::profile::load("default").expect("profile");
        let mut opts = options();
        opts.only = vec!["sshd.banner".into()];
        let report = scan(&sshd_config(""), &profile, &opts, crate::time::now());
        assert_eq!(report.findings.len(), 1);
        assert!(validate_only(&["sshd".into()]).is_ok());
        let err = validate_only(&["sshd.banr".into()]).expect_err("unknown");
        assert!(
            err.to_string().contains("did you mean `sshd.banner`"),
            "{err}"
        );
    }

    /// Issue 13: nodecheck's recommended crypto lines pass its crypto checks in every built-in
    /// profile, on the oldest and the newest OpenSSH it knows (with Ed25519 and RSA 3072 host
    /// keys: the bastion fails ECDSA keys, which no line can change).
    #[test]
    fn the_recommended_crypto_passes_every_profile() {
        use crate::checks::testing::{loaded_mut, sshd_facts_version};
        for version in ["OpenSSH_9.2p1 Debian-2+deb12u6", "OpenSSH_10.5p1"] {
            let text = format!(
                "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_rsa_key\n{}",
                crate::checks::sshd::RECOMMENDED_CRYPTO
            );
            let mut facts = sshd_facts_version(&[("/etc/ssh/sshd_config", &text)], version);
            assert!(loaded_mut(&mut facts).config.fatal.is_empty());
            for name in ["default", "cis", "bastion"] {
                let profile = crate::profile::load(name).expect("profile");
                let report = scan(&facts, &profile, &options(), crate::time::now());
                for id in [
                    "sshd.ciphers",
                    "sshd.macs",
                    "sshd.kex",
                    "sshd.host-key-algorithms",
                    "sshd.host-keys",
                ] {
                    let finding = report
                        .findings
                        .iter()
                        .find(|f| f.id == id)
                        .expect("finding");
                    assert_eq!(
                        finding.status,
                        Status::Pass,
                        "{version}, profile {name}: {id}: {}",
                        finding.message
                    );
                }
            }
        }
    }

    #[test]
    fn bastion_profile_forces_role_disables_and_raises() {
        let profile = crate::profile::load("bastion").expect("profile");
        let report = scan(&sshd_config(""), &profile, &options(), crate::time::now());
        assert!(report.findings.iter().all(|f| f.id != "sshd.exposure"));
        let pa = report
            .findings
            .iter()
            .find(|f| f.id == "sshd.password-authentication")
            .expect("finding");
        assert_eq!(pa.severity, nodecheck_report::Severity::Critical);
    }
}

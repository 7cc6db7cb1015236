//! The CIS Kubernetes Benchmark as auditors read it.
//!
//! nodecheck's checks are its own (one per setting, judged from the effective value); the
//! benchmark is a second index over them. Each check names the controls it implements
//! ([`crate::checks::CheckMeta::cis`]), each finding carries them (`cis: ["1.2.5"]`), and this
//! module turns the findings of a report into the benchmark's view: every control of the
//! benchmark in order, PASS / FAIL / WARN / MANUAL (and N/A, WAIVED, NOT RUN), with totals per
//! section and overall.
//!
//! The view is computed from a report, not from a scan, so a report read back from a file or
//! sent by an older agent renders the same way: a control no finding names is MANUAL when no
//! node can judge it (RBAC, admission policy: section 5) and NOT RUN when a check for it exists
//! but was not in the report.

mod controls;

pub use controls::{CONTROLS, SECTIONS};

use nodecheck_report::{Finding, Report, Status};

/// The benchmark the `cis` ids of checks and findings refer to.
pub const BENCHMARK: &str = "CIS Kubernetes Benchmark v1.12";

/// How CIS itself labels a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assessment {
    Automated,
    Manual,
}

/// One control of the benchmark.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
    /// What CIS calls it; nodecheck judges some "Manual" ones (they are host settings).
    pub assessment: Assessment,
    /// Whether the control is a setting of a node that kube-bench automates (the 92 that
    /// nodecheck must judge): sections 1 to 4, less those kube-bench marks `type: manual`.
    pub host_side: bool,
    /// For a control no node can judge: how an auditor judges it.
    pub how: &'static str,
}

/// `CIS Kubernetes Benchmark v1.12 1.2.5`: how a finding's references cite a control.
pub fn citation(id: &str) -> String {
    format!("{BENCHMARK} {id}")
}

pub fn control(id: &str) -> Option<&'static Control> {
    CONTROLS.iter().find(|c| c.id == id)
}

/// The section (`1.2`, `2`, `5.1`) a control belongs to.
pub fn section_of(id: &str) -> &'static str {
    SECTIONS
        .iter()
        .filter(|(section, _)| id.starts_with(&format!("{section}.")))
        .max_by_key(|(section, _)| section.len())
        .map_or("", |(section, _)| section)
}

/// A control's standing in one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    Pass,
    Fail,
    /// A check could not judge it (an `error` finding): neither passed nor failed.
    Warn,
    /// No node can judge it; the auditor does, as [`Control::how`] says.
    Manual,
    /// Every check for it was not applicable to this node (no such component here).
    NotApplicable,
    /// It failed or could not be judged, and a waiver of the profile covers that.
    Waived,
    /// nodecheck has a check for it, but the report holds no finding of that check (the
    /// profile disabled it, or `--only` left it out).
    NotRun,
}

impl Standing {
    pub fn label(self) -> &'static str {
        match self {
            Standing::Pass => "PASS",
            Standing::Fail => "FAIL",
            Standing::Warn => "WARN",
            Standing::Manual => "MANUAL",
            Standing::NotApplicable => "N/A",
            Standing::Waived => "WAIVED",
            Standing::NotRun => "NOT RUN",
        }
    }

    pub const ALL: [Standing; 7] = [
        Standing::Pass,
        Standing::Fail,
        Standing::Warn,
        Standing::Manual,
        Standing::NotApplicable,
        Standing::Waived,
        Standing::NotRun,
    ];
}

/// One control judged from a report, with the findings that judged it.
#[derive(Debug, Clone)]
pub struct ControlView<'r> {
    pub control: &'static Control,
    pub standing: Standing,
    pub findings: Vec<&'r Finding>,
}

/// The standing of a control from the findings that name it: one failing finding fails it,
/// one that could not judge makes it WARN, and it passes only when a finding passed and none
/// failed or erred. Waived failures are WAIVED, never PASS.
fn standing(control: &Control, findings: &[&Finding]) -> Standing {
    if findings.is_empty() {
        let has_check = crate::registry::CHECKS
            .iter()
            .any(|c| c.meta.cis.contains(&control.id));
        return if has_check {
            Standing::NotRun
        } else {
            Standing::Manual
        };
    }
    let unwaived = |status: Status| {
        findings
            .iter()
            .any(|f| f.status == status && f.waiver.is_none())
    };
    if unwaived(Status::Fail) {
        Standing::Fail
    } else if unwaived(Status::Error) {
        Standing::Warn
    } else if findings
        .iter()
        .any(|f| matches!(f.status, Status::Fail | Status::Error))
    {
        Standing::Waived
    } else if findings.iter().any(|f| f.status == Status::Pass) {
        Standing::Pass
    } else {
        Standing::NotApplicable
    }
}

/// Every control of the benchmark, in order, judged from the report's findings.
pub fn view(report: &Report) -> Vec<ControlView<'_>> {
    CONTROLS
        .iter()
        .map(|control| {
            let findings: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|f| f.cis.iter().any(|id| id == control.id))
                .collect();
            ControlView {
                control,
                standing: standing(control, &findings),
                findings,
            }
        })
        .collect()
}

/// How many controls of a list stand each way, in [`Standing::ALL`] order.
pub fn totals(controls: &[ControlView<'_>]) -> [usize; 7] {
    let mut counts = [0; 7];
    for c in controls {
        if let Some(i) = Standing::ALL.iter().position(|s| *s == c.standing) {
            counts[i] += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::CHECKS;
    use std::collections::BTreeSet;

    /// The 92 controls of CIS Kubernetes v1.12 that kube-bench automates on a node (every
    /// entry of its `cfg/cis-1.12` master, etcd, controlplane and node files that is not
    /// `type: manual`), written out so that a change of the data above is a visible diff.
    const HOST_SIDE: &str = "\
1.1.1 1.1.2 1.1.3 1.1.4 1.1.5 1.1.6 1.1.7 1.1.8 1.1.9 1.1.10 1.1.11 1.1.12 1.1.13 1.1.14 \
1.1.15 1.1.16 1.1.17 1.1.18 1.1.19 1.1.20 1.1.21 \
1.2.1 1.2.2 1.2.3 1.2.4 1.2.5 1.2.6 1.2.7 1.2.8 1.2.9 1.2.10 1.2.11 1.2.12 1.2.13 1.2.14 \
1.2.15 1.2.16 1.2.17 1.2.18 1.2.19 1.2.21 1.2.22 1.2.23 1.2.24 1.2.25 1.2.26 1.2.27 1.2.28 \
1.2.29 1.2.30 \
1.3.1 1.3.2 1.3.3 1.3.4 1.3.5 1.3.6 1.3.7 1.4.1 1.4.2 \
2.1 2.2 2.3 2.4 2.5 2.6 2.7 3.2.1 \
4.1.1 4.1.2 4.1.3 4.1.4 4.1.5 4.1.6 4.1.7 4.1.8 4.1.9 4.1.10 \
4.2.1 4.2.2 4.2.3 4.2.4 4.2.5 4.2.6 4.2.7 4.2.8 4.2.9 4.2.10 4.2.11 4.2.12 4.2.13 4.2.14 \
4.3.1";

    #[test]
    fn the_host_side_controls_are_the_92_kube_bench_automates() {
        let expected: Vec<&str> = HOST_SIDE.split_whitespace().collect();
        assert_eq!(expected.len(), 92);
        let host_side: Vec<&str> = CONTROLS
            .iter()
            .filter(|c| c.host_side)
            .map(|c| c.id)
            .collect();
        assert_eq!(host_side, expected);
    }

    #[test]
    fn every_host_side_control_is_judged_by_a_check() {
        let judged: BTreeSet<&str> = CHECKS.iter().flat_map(|c| c.meta.cis).copied().collect();
        let unmapped: Vec<&str> = HOST_SIDE
            .split_whitespace()
            .filter(|id| !judged.contains(id))
            .collect();
        assert!(
            unmapped.is_empty(),
            "CIS v1.12 controls no check judges: {unmapped:?}"
        );
    }

    #[test]
    fn checks_name_only_controls_of_the_benchmark_and_manual_ones_say_how() {
        for check in CHECKS {
            for id in check.meta.cis {
                let control = control(id)
                    .unwrap_or_else(|| panic!("{} names unknown CIS control {id}", check.meta.id));
                assert!(
                    control.host_side || !control.how.is_empty(),
                    "{id} of {}",
                    check.meta.id
                );
            }
        }
        for control in CONTROLS {
            assert!(
                control.host_side || !control.how.is_empty(),
                "{} is not judged on a node and says nothing on how to judge it",
                control.id
            );
            assert!(!section_of(control.id).is_empty(), "{}", control.id);
        }
        let ids: BTreeSet<&str> = CONTROLS.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), CONTROLS.len(), "control ids are unique");
    }

    #[test]
    fn sections_are_the_longest_prefix() {
        assert_eq!(section_of("1.2.5"), "1.2");
        assert_eq!(section_of("2.7"), "2");
        assert_eq!(section_of("5.1.13"), "5.1");
        assert_eq!(section_of("9.9"), "");
    }
}

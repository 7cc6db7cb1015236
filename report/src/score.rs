//! The score, and the totals that let anyone recompute it.
//!
//! `score = floor(100 × Σ weight(pass) / Σ weight(pass, fail, error))`. `not_applicable` and
//! waived findings are outside both sums; an `error` counts against the score because what
//! cannot be verified is not credited. No judged weight gives no score.

use crate::{Finding, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts of findings per status, waived ones counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusCounts {
    pub pass: u32,
    pub fail: u32,
    pub not_applicable: u32,
    pub error: u32,
    /// Findings covered by a waiver (whatever their status); outside the score.
    pub waived: u32,
}

/// The weights behind one area's (or the whole node's) score.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaTotals {
    /// Σ weight of passing, unwaived findings.
    pub passed_weight: u64,
    /// Σ weight of passing, failing and error findings, unwaived.
    pub judged_weight: u64,
    pub score: Option<u8>,
    pub counts: StatusCounts,
}

/// The report's `summary`: counts per status, and the totals per area.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub counts: StatusCounts,
    pub passed_weight: u64,
    pub judged_weight: u64,
    pub areas: BTreeMap<String, AreaTotals>,
}

fn ratio(passed: u64, judged: u64) -> Option<u8> {
    // passed ≤ judged, so the quotient is at most 100 and fits a u8.
    (judged > 0).then(|| u8::try_from(passed * 100 / judged).unwrap_or(100))
}

impl AreaTotals {
    fn add(&mut self, finding: &Finding) {
        if finding.waiver.is_some() {
            self.counts.waived += 1;
            return;
        }
        let weight = finding.severity.weight();
        match finding.status {
            Status::Pass => {
                self.counts.pass += 1;
                self.passed_weight += weight;
                self.judged_weight += weight;
            }
            Status::Fail => {
                self.counts.fail += 1;
                self.judged_weight += weight;
            }
            Status::Error => {
                self.counts.error += 1;
                self.judged_weight += weight;
            }
            Status::NotApplicable => self.counts.not_applicable += 1,
        }
        self.score = ratio(self.passed_weight, self.judged_weight);
    }
}

/// Totals for a list of findings.
pub fn summarize(findings: &[Finding]) -> Summary {
    let mut all = AreaTotals::default();
    let mut areas: BTreeMap<String, AreaTotals> = BTreeMap::new();
    for finding in findings {
        all.add(finding);
        areas.entry(finding.area.clone()).or_default().add(finding);
    }
    Summary {
        counts: all.counts,
        passed_weight: all.passed_weight,
        judged_weight: all.judged_weight,
        areas,
    }
}

/// The node's score from its summary.
pub fn score(summary: &Summary) -> Option<u8> {
    ratio(summary.passed_weight, summary.judged_weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Severity, Waiver};

    fn finding(area: &str, severity: Severity, status: Status) -> Finding {
        Finding {
            id: format!("{area}.x"),
            title: String::new(),
            area: area.into(),
            severity,
            status,
            message: String::new(),
            evidence: vec![],
            remediation: String::new(),
            references: vec![],
            cis: Vec::new(),
            rationale: String::new(),
            waiver: None,
        }
    }

    #[test]
    fn score_is_floor_of_passed_over_judged_weight() {
        let findings = vec![
            finding("sshd", Severity::Critical, Status::Pass), // 10 / 10
            finding("sshd", Severity::High, Status::Fail),     // 0 / 6
            finding("sshd", Severity::Low, Status::Pass),      // 1 / 1
            finding("sshd", Severity::Info, Status::Fail),     // 0 / 0
        ];
        let summary = summarize(&findings);
        assert_eq!(summary.passed_weight, 11);
        assert_eq!(summary.judged_weight, 17);
        // 1100 / 17 = 64.7 → 64
        assert_eq!(score(&summary), Some(64));
    }

    #[test]
    fn errors_count_against_and_not_applicable_and_waived_are_outside() {
        let mut waived = finding("sshd", Severity::Critical, Status::Fail);
        waived.waiver = Some(Waiver {
            reason: "r".into(),
            expires: None,
        });
        let findings = vec![
            finding("sshd", Severity::Medium, Status::Pass),
            finding("sshd", Severity::Medium, Status::Error),
            finding("kubelet", Severity::Critical, Status::NotApplicable),
            waived,
        ];
        let summary = summarize(&findings);
        assert_eq!(score(&summary), Some(50));
        assert_eq!(summary.counts.error, 1);
        assert_eq!(summary.counts.not_applicable, 1);
        assert_eq!(summary.counts.waived, 1);
        assert_eq!(summary.areas["kubelet"].score, None);
        assert_eq!(summary.areas["sshd"].score, Some(50));
    }

    #[test]
    fn no_judged_weight_means_no_score() {
        let summary = summarize(&[finding("sshd", Severity::Info, Status::Pass)]);
        assert_eq!(score(&summary), None);
        assert_eq!(score(&summarize(&[])), None);
    }
}

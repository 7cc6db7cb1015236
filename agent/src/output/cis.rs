//! The CIS view of a report (`--format cis`): the CIS Kubernetes Benchmark in its own order,
//! every control with its standing ([`crate::cis::Standing`]), the checks that judged it and
//! what they found, totals per section and overall. Controls no node can judge are listed as
//! MANUAL with one line on how to judge them, so the page covers the whole benchmark.

use crate::cis::{self, Assessment, ControlView, SECTIONS, Standing};
use nodecheck_report::{Report, Status};
use std::fmt::Write;

fn totals_line(counts: &[usize; 7]) -> String {
    Standing::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {}", s.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn control_lines(out: &mut String, view: &ControlView<'_>) {
    let assessment = match view.control.assessment {
        Assessment::Automated => "Automated",
        Assessment::Manual => "Manual",
    };
    let _ = writeln!(
        out,
        "[{:<7}] {:<7} {} ({assessment})",
        view.standing.label(),
        view.control.id,
        view.control.title
    );
    match view.standing {
        Standing::Manual => {
            let _ = writeln!(out, "          how: {}", view.control.how);
        }
        Standing::NotRun => {
            let ids: Vec<&str> = crate::registry::CHECKS
                .iter()
                .filter(|c| c.meta.cis.contains(&view.control.id))
                .map(|c| c.meta.id)
                .collect();
            let _ = writeln!(
                out,
                "          not in this report: {} (disabled by the profile or left out by --only)",
                ids.join(", ")
            );
        }
        _ => {
            for f in &view.findings {
                let shown = match view.standing {
                    Standing::Pass | Standing::NotApplicable => true,
                    _ => matches!(f.status, Status::Fail | Status::Error),
                };
                if !shown {
                    continue;
                }
                let waived = if f.waiver.is_some() { ", waived" } else { "" };
                let _ = writeln!(
                    out,
                    "          {} ({}{waived}): {}",
                    f.id,
                    f.status.as_str(),
                    f.message
                );
                if matches!(f.status, Status::Fail) && f.waiver.is_none() {
                    let _ = writeln!(out, "            fix: {}", f.remediation);
                }
            }
        }
    }
}

/// Renders the CIS view. Every string from the report is made terminal-safe first.
pub fn render(report: &Report) -> String {
    let Some(report) = crate::text::terminal_safe_copy(report) else {
        return "the report could not be rendered\n".into();
    };
    let view = cis::view(&report);
    let mut out = String::new();
    let roles: Vec<&str> = report.node.roles.iter().map(|r| r.as_str()).collect();
    let _ = writeln!(
        out,
        "{} on {} ({}), profile {}",
        cis::BENCHMARK,
        report.node.name,
        roles.join(", "),
        report.profile.name
    );
    let _ = writeln!(
        out,
        "PASS/FAIL as judged from the node's effective settings; WARN: could not be judged; MANUAL: an auditor judges it (how is said); N/A: no such component on this node.\n"
    );
    let mut section_totals = Vec::new();
    for (section, title) in SECTIONS {
        let controls: Vec<ControlView<'_>> = view
            .iter()
            .filter(|v| cis::section_of(v.control.id) == *section)
            .cloned()
            .collect();
        if controls.is_empty() {
            continue;
        }
        let _ = writeln!(out, "== {section} {title}");
        for c in &controls {
            control_lines(&mut out, c);
        }
        let counts = cis::totals(&controls);
        let _ = writeln!(out, "   {section} totals: {}\n", totals_line(&counts));
        section_totals.push((*section, counts));
    }
    let _ = writeln!(out, "== Totals");
    for (section, counts) in &section_totals {
        let _ = writeln!(out, "   {section:<5} {}", totals_line(counts));
    }
    let overall = cis::totals(&view);
    let _ = writeln!(
        out,
        "   all   {} ({} controls)",
        totals_line(&overall),
        view.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodecheck_report::{Finding, Severity};

    fn finding(id: &str, status: Status, cis: &[&str]) -> Finding {
        Finding {
            id: id.into(),
            title: "t".into(),
            area: "apiserver".into(),
            severity: Severity::High,
            status,
            message: format!("{id} says \x1b[2Jhi"),
            evidence: vec![],
            remediation: "do the fix".into(),
            rationale: String::new(),
            references: vec![],
            cis: cis.iter().map(|s| s.to_string()).collect(),
            waiver: None,
        }
    }

    #[test]
    fn controls_stand_by_their_worst_finding_and_every_control_is_listed() {
        let mut report = crate::output::fixture::report_with(vec![
            finding("apiserver.profiling", Status::Pass, &["1.2.15"]),
            finding("apiserver.audit-log", Status::Fail, &["1.2.16", "3.2.1"]),
            finding("apiserver.audit-log-retention", Status::Pass, &["1.2.17"]),
            finding("apiserver.etcd-tls", Status::Error, &["1.2.23"]),
            finding("kubelet.read-only-port", Status::NotApplicable, &["4.2.4"]),
            finding("ports.kubelet-read-only", Status::Pass, &["4.2.4"]),
        ]);
        report.findings[1].waiver = None;
        let text = render(&report);
        let line = |id: &str| {
            text.lines()
                .find(|l| {
                    l.split_whitespace().nth(1) == Some(id) || l.contains(&format!("] {id} "))
                })
                .unwrap_or_else(|| panic!("{id} in\n{text}"))
                .to_string()
        };
        assert!(line("1.2.15").starts_with("[PASS"), "{text}");
        assert!(line("1.2.16").starts_with("[FAIL"));
        assert!(line("3.2.1").starts_with("[FAIL"));
        assert!(line("1.2.23").starts_with("[WARN"));
        assert!(line("4.2.4").starts_with("[PASS"), "n/a and pass is pass");
        assert!(line("5.1.1").starts_with("[MANUAL"));
        assert!(line("1.2.20").starts_with("[MANUAL"));
        assert!(line("1.2.1").starts_with("[NOT RUN"));
        assert!(text.contains("how: `kubectl get clusterrolebindings"));
        assert!(text.contains("fix: do the fix"));
        assert!(!text.contains('\x1b'), "hostile text is escaped");
        assert!(text.contains(&format!("({} controls)", cis::CONTROLS.len())));
        assert!(text.contains("== 5.1 RBAC and Service Accounts"));
        // Waived failures are not passes.
        report.findings[1].waiver = Some(nodecheck_report::Waiver {
            reason: "accepted".into(),
            expires: None,
        });
        let text = render(&report);
        assert!(
            text.lines().any(|l| l.starts_with("[WAIVED ] 1.2.16")),
            "{text}"
        );
    }
}

//! `nodecheck fleet`: the collector's view of the fleet as terminal tables, 80 columns wide,
//! coloured only for a terminal and never under NO_COLOR.
//!
//! The collector's answers are read into the few fields shown (the agent does not depend on
//! the collector); a node's findings are the shared report format.

use crate::text::wrap;
use nodecheck_report::{Report, Status};

/// Lines are kept within this many columns.
const WIDTH: usize = 80;
use std::fmt::Write;

/// A node as the collector lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FleetNode {
    pub cluster: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub score: Option<i64>,
    #[serde(default)]
    pub failing_critical: i64,
    #[serde(default)]
    pub failing_high: i64,
    pub last_seen: i64,
    #[serde(default)]
    pub stale: bool,
}

/// A check as the collector lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FleetCheck {
    pub id: String,
    pub severity: String,
    pub failing_nodes: i64,
    #[serde(default)]
    pub title: String,
}

/// A change as the collector's feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FleetChange {
    pub at: i64,
    pub cluster: String,
    pub node: String,
    pub kind: String,
    #[serde(default)]
    pub subject: String,
    pub severity: Option<String>,
    pub direction: String,
    pub before: Option<String>,
    pub after: Option<String>,
    #[serde(default)]
    pub detail: String,
}

/// One value of a drifting setting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FleetDriftValue {
    pub value: Option<String>,
    pub nodes: i64,
    #[serde(default)]
    pub examples: Vec<String>,
}

/// A setting on which some nodes differ from most of their peers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FleetDrift {
    pub cluster: String,
    pub peer_group: String,
    pub setting: String,
    pub group_nodes: i64,
    pub majority: FleetDriftValue,
    #[serde(default)]
    pub minority: Vec<FleetDriftValue>,
}

/// Colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn score(self, score: Option<i64>, width: usize) -> String {
        let text = format!("{:>width$}", score.map_or("-".into(), |s| s.to_string()));
        match score {
            Some(s) if s < 50 => self.wrap("1;31", &text),
            Some(s) if s < 80 => self.wrap("33", &text),
            Some(_) => self.wrap("32", &text),
            None => text,
        }
    }
}

/// `text` cut to `width` characters (an ellipsis marks the cut), padded to it.
fn fit(text: &str, width: usize) -> String {
    format!("{:<width$}", crate::text::shorten(text, width))
}

/// "3m ago", "2h ago", "5d ago".
pub fn ago(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// The node table: worst first as the collector sorted it.
pub fn nodes(nodes: &[FleetNode], total: Option<i64>, now: i64, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} {} SCORE CRIT HIGH  LAST SEEN",
        fit("NODE", 22),
        fit("CLUSTER", 12),
        fit("ROLES", 13),
    );
    for n in nodes {
        let last_seen = ago(now - n.last_seen);
        let seen = if n.stale {
            paint.wrap("1;31", &format!("{last_seen} STALE"))
        } else {
            last_seen
        };
        let count = |c: i64, code: &str| {
            let text = format!("{c:>4}");
            if c > 0 { paint.wrap(code, &text) } else { text }
        };
        let _ = writeln!(
            out,
            "{} {} {} {} {} {}  {}",
            fit(&n.name, 22),
            fit(&n.cluster, 12),
            fit(&n.roles.join(","), 13),
            paint.score(n.score, 5),
            count(n.failing_critical, "1;31"),
            count(n.failing_high, "31"),
            seen
        );
    }
    match total {
        Some(total) if total > nodes.len() as i64 => {
            let _ = writeln!(
                out,
                "{} of {total} nodes, worst first (--limit shows more)",
                nodes.len()
            );
        }
        _ => {
            let _ = writeln!(out, "{} nodes", nodes.len());
        }
    }
    out
}

/// The check table, most failed first.
pub fn checks(checks: &[FleetCheck], paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} {:>7}",
        fit("CHECK", 40),
        fit("SEVERITY", 9),
        "FAILING"
    );
    for c in checks {
        let failing = format!("{:>7}", c.failing_nodes);
        let failing = if c.failing_nodes > 0 {
            paint.wrap("31", &failing)
        } else {
            failing
        };
        let _ = writeln!(out, "{} {} {failing}", fit(&c.id, 40), fit(&c.severity, 9));
    }
    out
}

/// One node: its score, then its failing and erring findings with their evidence and fix.
pub fn node(report: &Report, last_seen: Option<i64>, now: i64, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}/{}  score {}  roles {}{}",
        report.node.cluster,
        report.node.name,
        paint.score(report.score.map(i64::from), 0),
        report
            .node
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(","),
        last_seen.map_or(String::new(), |at| format!("  last seen {}", ago(now - at)))
    );
    let mut shown = 0;
    let mut findings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    for f in findings {
        shown += 1;
        let label = match (f.status, &f.waiver) {
            (_, Some(_)) => paint.wrap("2", "WAIVED"),
            (Status::Error, _) => paint.wrap("35", "ERROR"),
            _ => paint.wrap("1;31", "FAIL"),
        };
        let head = format!("{} [{}]", f.id, f.severity);
        let _ = writeln!(out, "\n{label} {head}");
        let _ = writeln!(out, "  {}", wrap(&f.message, WIDTH, 2, 4));
        for e in &f.evidence {
            let line = format!(
                "{}: {} (expected {}) at {}",
                e.subject,
                e.observed.as_deref().unwrap_or("not set"),
                e.expected,
                e.source
            );
            let _ = writeln!(out, "  - {}", wrap(&line, WIDTH, 4, 6));
        }
        if let Some(w) = &f.waiver {
            let _ = writeln!(out, "  waived: {}", wrap(&w.reason, WIDTH, 10, 4));
        }
        let _ = writeln!(out, "  fix: {}", wrap(&f.remediation, WIDTH, 7, 4));
    }
    if shown == 0 {
        let _ = writeln!(out, "\nno failing checks");
    }
    out
}

/// What a change says, in one line: `sshd.permit-root-login pass → fail (high): …`.
fn change_text(c: &FleetChange) -> String {
    match c.kind.as_str() {
        "check" => format!(
            "{} {} → {}{}{}",
            c.subject,
            c.before.as_deref().unwrap_or("new"),
            c.after.as_deref().unwrap_or("not reported"),
            c.severity
                .as_deref()
                .map_or(String::new(), |s| format!(" ({s})")),
            if c.detail.is_empty() || c.after.is_none() {
                String::new()
            } else {
                format!(": {}", c.detail)
            }
        ),
        _ => c.detail.clone(),
    }
}

/// The change feed, newest first as the collector gives it: when, which node and which way
/// (regressions in red), then what changed, wrapped.
pub fn changes(changes: &[FleetChange], since: &str, now: i64, paint: Paint) -> String {
    let mut out = String::new();
    for c in changes {
        let mark = match c.direction.as_str() {
            "worse" => paint.wrap("1;31", "worse"),
            "better" => paint.wrap("32", "better"),
            other => other.to_string(),
        };
        let _ = writeln!(out, "{}  {}/{}  {mark}", ago(now - c.at), c.cluster, c.node);
        let _ = writeln!(out, "  {}", wrap(&change_text(c), WIDTH, 2, 4));
    }
    let worse = changes.iter().filter(|c| c.direction == "worse").count();
    let _ = writeln!(
        out,
        "{} changes in the last {since} ({worse} for the worse)",
        changes.len()
    );
    out
}

/// A setting's value shown: unset, absent, or the value.
fn value_text(value: &Option<String>) -> String {
    match value {
        None => "unset".into(),
        Some(v) if v.is_empty() => "\"\"".into(),
        Some(v) => v.clone(),
    }
}

/// Settings where nodes differ from the majority of their peers, most differing first.
pub fn drift(drift: &[FleetDrift], paint: Paint) -> String {
    let mut out = String::new();
    for d in drift {
        let _ = writeln!(
            out,
            "{}",
            fit(
                &format!("{}/{}: {}", d.cluster, d.peer_group, d.setting),
                WIDTH
            )
            .trim_end()
        );
        let _ = writeln!(
            out,
            "  {}",
            wrap(
                &format!(
                    "{} of {} nodes: {}",
                    d.majority.nodes,
                    d.group_nodes,
                    value_text(&d.majority.value)
                ),
                WIDTH,
                2,
                4
            )
        );
        for m in &d.minority {
            let more = m.nodes - m.examples.len() as i64;
            let names = if m.examples.is_empty() {
                String::new()
            } else if more > 0 {
                format!(" ({} and {more} more)", m.examples.join(", "))
            } else {
                format!(" ({})", m.examples.join(", "))
            };
            let line = format!(
                "{} of {} nodes: {}{names}",
                m.nodes,
                d.group_nodes,
                value_text(&m.value)
            );
            let _ = writeln!(out, "  {}", paint.wrap("33", &wrap(&line, WIDTH, 2, 4)));
        }
    }
    let _ = writeln!(
        out,
        "{} settings where nodes differ from most of their peers",
        drift.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<FleetNode> {
        vec![
            FleetNode {
                cluster: "prod".into(),
                name: "a-very-long-node-name-from-a-cloud-provider.internal".into(),
                roles: vec!["worker".into()],
                score: Some(41),
                failing_critical: 2,
                failing_high: 3,
                last_seen: 1_000,
                stale: true,
            },
            FleetNode {
                cluster: "prod".into(),
                name: "web-1".into(),
                roles: vec!["control-plane".into(), "worker".into()],
                score: Some(93),
                failing_critical: 0,
                failing_high: 0,
                last_seen: 11_000,
                stale: false,
            },
        ]
    }

    #[test]
    fn tables_fit_in_80_columns_and_colour_only_when_asked() {
        let plain = nodes(&sample(), Some(10), 11_060, Paint(false));
        for line in plain.lines() {
            assert!(
                line.chars().count() <= 80,
                "{line:?} is {} wide",
                line.chars().count()
            );
        }
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("a-very-long-node-name…"));
        assert!(plain.contains("2h ago STALE"));
        assert!(plain.contains("1m ago"));
        assert!(plain.ends_with("2 of 10 nodes, worst first (--limit shows more)\n"));
        let coloured = nodes(&sample(), None, 11_060, Paint(true));
        assert!(coloured.contains("\x1b[1;31m   41\x1b[0m"));
        let checks_table = checks(
            &[FleetCheck {
                id: "kubelet.anonymous-auth".into(),
                severity: "critical".into(),
                failing_nodes: 3,
                title: String::new(),
            }],
            Paint(false),
        );
        assert!(checks_table.lines().all(|l| l.chars().count() <= 80));
        assert!(checks_table.contains("kubelet.anonymous-auth"));
    }

    #[test]
    fn a_node_lists_its_failures_with_evidence_and_fix() {
        let report = crate::output::fixture::report();
        let text = node(&report, Some(100), 160, Paint(false));
        assert!(text.contains("last seen 1m ago"), "{text}");
        assert!(text.contains("FAIL "), "{text}");
        assert!(text.contains("fix: "), "{text}");
        for line in text.lines().filter(|l| !l.contains('/')) {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }

    #[test]
    fn changes_and_drift_read_in_80_columns() {
        let change = FleetChange {
            at: 1_000,
            cluster: "prod".into(),
            node: "web-1".into(),
            kind: "check".into(),
            subject: "sshd.permit-root-login".into(),
            severity: Some("high".into()),
            direction: "worse".into(),
            before: Some("pass".into()),
            after: Some("fail".into()),
            detail: "PermitRootLogin yes (sshd -T); expected no or prohibit-password".into(),
        };
        let text = changes(std::slice::from_ref(&change), "24h", 1_120, Paint(false));
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(
            text.starts_with(
                "2m ago  prod/web-1  worse\n  sshd.permit-root-login pass → fail (high): PermitRootLogin"
            ),
            "{text}"
        );
        assert!(text.ends_with("1 changes in the last 24h (1 for the worse)\n"));
        let coloured = changes(&[change], "24h", 1_120, Paint(true));
        assert!(coloured.contains("\x1b[1;31mworse\x1b[0m"));
        let listed = drift(
            &[FleetDrift {
                cluster: "prod".into(),
                peer_group: "worker".into(),
                setting: "kubelet:readOnlyPort".into(),
                group_nodes: 412,
                majority: FleetDriftValue {
                    value: Some("0".into()),
                    nodes: 409,
                    examples: vec![],
                },
                minority: vec![FleetDriftValue {
                    value: Some("10255".into()),
                    nodes: 3,
                    examples: vec!["w4".into(), "w7".into()],
                }],
            }],
            Paint(false),
        );
        assert_eq!(
            listed,
            "prod/worker: kubelet:readOnlyPort\n  409 of 412 nodes: 0\n  3 of 412 nodes: 10255 (w4, w7 and 1 more)\n1 settings where nodes differ from most of their peers\n"
        );
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(5), "5s ago");
        assert_eq!(ago(-3), "0s ago");
        assert_eq!(ago(3 * 86_400 + 5), "3d ago");
    }
}

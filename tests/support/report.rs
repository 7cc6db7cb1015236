//! Reports for the collector's tests and load generator: a worker node of a cluster with the
//! given findings, its summary and score computed as the agent computes them.
#![allow(dead_code)] // each user takes its own part

use nodecheck_report::{
    Agent, Finding, Inventory, Listener, ListenerProcess, Node, ProfileRef, Report, Role,
    SCHEMA_V1, Severity, Status, score, summarize,
};

/// A TCP listener on every address of the host, held by one process.
pub fn host_listener(port: u16, process: &str) -> Listener {
    Listener {
        protocol: "tcp".into(),
        address: "0.0.0.0".into(),
        port,
        netns: "host".into(),
        processes: vec![ListenerProcess {
            pid: 100 + u32::from(port),
            name: process.into(),
        }],
    }
}

/// A report of `cluster/name` with these findings.
pub fn report(id: &str, cluster: &str, name: &str, findings: Vec<Finding>) -> Report {
    let summary = summarize(&findings);
    Report {
        schema: SCHEMA_V1.into(),
        id: id.into(),
        node: Node {
            name: name.into(),
            cluster: cluster.into(),
            roles: vec![Role::Worker],
            os: None,
            kernel: None,
            labels: Default::default(),
            kubelet_version: None,
        },
        agent: Agent {
            version: "0.1.0".into(),
            interval_s: Some(600),
        },
        profile: ProfileRef {
            name: "default".into(),
            sha256: "00".repeat(32),
        },
        started_at: "2026-11-27T00:00:00.000Z".into(),
        duration_ms: 3,
        score: score(&summary),
        summary,
        findings,
        inventory: Inventory::default(),
        settings: Default::default(),
    }
}

/// A finding of check `id` (its area is the part before the first dot).
pub fn finding(id: &str, severity: Severity, status: Status, message: &str) -> Finding {
    Finding {
        id: id.into(),
        title: format!("Title of {id}"),
        area: id.split('.').next().unwrap_or_default().into(),
        severity,
        status,
        message: message.into(),
        evidence: vec![],
        remediation: "fix it".into(),
        references: vec![],
        cis: Vec::new(),
        rationale: String::new(),
        waiver: None,
    }
}

/// As JSON, the way an agent posts it.
pub fn json(report: &Report) -> String {
    serde_json::to_string(report).unwrap_or_default()
}

//! SARIF 2.1.0: one rule per check that has a result, one result per failing or error
//! finding, located at the config file and line that caused it when the evidence names one.

use nodecheck_report::{Report, Severity, Source, Status};
use serde_json::{Value, json};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` scale for the same severities.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
        Severity::Info => "0.0",
    }
}

pub fn render(report: &Report) -> String {
    let flagged: Vec<_> = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .collect();
    let rules: Vec<Value> = flagged
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "name": f.id,
                "shortDescription": { "text": f.title },
                "help": { "text": f.remediation },
                "properties": {
                    "tags": [f.area, "security"],
                    "security-severity": security_severity(f.severity),
                    "references": f.references,
                }
            })
        })
        .collect();
    let results: Vec<Value> = flagged
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let mut locations: Vec<Value> = f
                .evidence
                .iter()
                .filter(|e| e.status != Status::Pass)
                .filter_map(|e| match &e.source {
                    Source::File { path, line } => {
                        let mut physical = json!({
                            "artifactLocation": { "uri": format!("file://{path}") }
                        });
                        if let Some(line) = line {
                            physical["region"] = json!({ "startLine": line });
                        }
                        Some(json!({ "physicalLocation": physical }))
                    }
                    Source::FileMetadata { path } => Some(json!({
                        "physicalLocation": { "artifactLocation": { "uri": format!("file://{path}") } }
                    })),
                    _ => None,
                })
                .collect();
            locations.dedup();
            let mut result = json!({
                "ruleId": f.id,
                "ruleIndex": index,
                "level": if f.status == Status::Error { "error" } else { level(f.severity) },
                "message": { "text": f.message },
                "properties": {
                    "status": f.status,
                    "severity": f.severity,
                    "node": report.node.name,
                    "cluster": report.node.cluster,
                }
            });
            if !locations.is_empty() {
                result["locations"] = Value::Array(locations);
            }
            if let Some(w) = &f.waiver {
                result["suppressions"] = json!([{ "kind": "external", "justification": w.reason }]);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "nodecheck",
                "version": report.agent.version,
                "rules": rules,
            }},
            "automationDetails": { "id": format!("nodecheck/{}/{}/{}", report.node.cluster, report.node.name, report.id) },
            "results": results,
        }]
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture;

    #[test]
    fn failing_findings_become_located_results() {
        let doc: Value = serde_json::from_str(&render(&fixture::report())).expect("json");
        assert_eq!(doc["version"], "2.1.0");
        let results = doc["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 2, "fail and error, not pass or n/a");
        assert_eq!(results[0]["ruleId"], "sshd.permit-root-login");
        assert_eq!(results[0]["level"], "error");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///etc/ssh/sshd_config.d/50-cloud-init.conf"
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert!(results[1].get("locations").is_none());
        assert_eq!(
            doc["runs"][0]["tool"]["driver"]["rules"][0]["id"],
            "sshd.permit-root-login"
        );
    }
}

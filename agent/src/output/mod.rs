//! Rendering a report: `text` for people, `json` (the report itself), `sarif` for code
//! scanning dashboards, `junit` for CI test views.

pub mod fleet;
mod junit;
mod sarif;
mod text;

use nodecheck_report::Report;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
}

/// Options of the text format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    pub color: bool,
    /// Also list every passing check (otherwise they are counted).
    pub verbose: bool,
}

/// Renders a report in a format.
pub fn render(report: &Report, format: Format, text_options: TextOptions) -> String {
    match format {
        Format::Text => text::render(report, text_options),
        Format::Json => {
            let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
            out.push('\n');
            out
        }
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
    }
}

/// Escapes text for XML content and attributes.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A fixed report for output snapshots.

    use nodecheck_report::*;
    use std::collections::BTreeMap;

    fn finding(
        id: &str,
        severity: Severity,
        status: Status,
        message: &str,
        evidence: Vec<Evidence>,
    ) -> Finding {
        Finding {
            id: id.into(),
            title: format!("Title of {id}"),
            area: "sshd".into(),
            severity,
            status,
            message: message.into(),
            evidence,
            remediation: format!("Fix {id}."),
            references: vec!["CIS Linux 5.1.20".into()],
            rationale: String::new(),
            waiver: None,
        }
    }

    pub fn report() -> Report {
        let findings = vec![
            finding(
                "sshd.permit-root-login",
                Severity::High,
                Status::Fail,
                "PermitRootLogin is yes (/etc/ssh/sshd_config.d/50-cloud-init.conf:3); expected no",
                vec![Evidence {
                    subject: "PermitRootLogin".into(),
                    observed: Some("yes".into()),
                    expected: "no".into(),
                    status: Status::Fail,
                    source: Source::file("/etc/ssh/sshd_config.d/50-cloud-init.conf", Some(3)),
                    note: None,
                }],
            ),
            finding(
                "sshd.banner",
                Severity::Info,
                Status::Error,
                "sshd would refuse its configuration: <bad> & \"quoted\"",
                vec![],
            ),
            finding(
                "sshd.kex",
                Severity::Medium,
                Status::Pass,
                "KexAlgorithms has no weak algorithm",
                vec![],
            ),
            finding(
                "sshd.exposure",
                Severity::High,
                Status::NotApplicable,
                "sshd is not installed",
                vec![],
            ),
        ];
        let summary = summarize(&findings);
        Report {
            schema: SCHEMA_V1.into(),
            id: "01JDR0000000000000000000000".into(),
            node: Node {
                name: "node-1".into(),
                cluster: "prod".into(),
                roles: vec![Role::Worker],
                os: Some("Debian GNU/Linux 12 (bookworm)".into()),
                kernel: Some("6.1.0-28-amd64".into()),
                labels: BTreeMap::new(),
            },
            agent: Agent {
                version: "0.1.0".into(),
                interval_s: None,
            },
            profile: ProfileRef {
                name: "default".into(),
                sha256: "ab".repeat(32),
            },
            started_at: "2026-11-27T01:02:03.000Z".into(),
            duration_ms: 7,
            score: score(&summary),
            summary,
            findings,
            inventory: Inventory::default(),
        }
    }
}

#[cfg(test)]
mod snapshot_tests {
    //! The json and sarif renderings of the fixture report, compared with committed files.
    //! `NODECHECK_BLESS=1 cargo test` rewrites them after an intended change.

    use super::*;
    use std::path::PathBuf;

    fn check(name: &str, rendered: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/snapshots")
            .join(name);
        if std::env::var_os("NODECHECK_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, rendered).expect("bless");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            committed, rendered,
            "{name} changed; review and run NODECHECK_BLESS=1 cargo test to accept"
        );
    }

    #[test]
    fn json_and_sarif_snapshots() {
        let report = fixture::report();
        check(
            "report.json",
            &render(&report, Format::Json, TextOptions::default()),
        );
        check(
            "report.sarif",
            &render(&report, Format::Sarif, TextOptions::default()),
        );
        // The JSON is the report itself: it reads back unchanged.
        let json = render(&report, Format::Json, TextOptions::default());
        let back: Report = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, report);
    }
}

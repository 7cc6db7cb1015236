//! JUnit XML: one test case per check; fail is a failure, error an error, not-applicable and
//! waived are skipped.

use super::xml_escape;
use nodecheck_report::{Report, Status};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let skipped = report
        .findings
        .iter()
        .filter(|f| f.status == Status::NotApplicable || f.waiver.is_some())
        .count();
    let failures = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.waiver.is_none())
        .count();
    let errors = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Error && f.waiver.is_none())
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let name = xml_escape(&format!(
        "nodecheck {}/{}",
        report.node.cluster, report.node.name
    ));
    let _ = writeln!(
        out,
        "<testsuites name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        report.findings.len(),
        report.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{}\" hostname=\"{}\">",
        report.findings.len(),
        xml_escape(&report.started_at),
        xml_escape(&report.node.name)
    );
    for f in &report.findings {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(&f.area),
            xml_escape(&f.id)
        );
        let details = || {
            let mut text = format!("{}\n", f.message);
            for e in &f.evidence {
                let _ = writeln!(
                    text,
                    "{} = {} (expected {}; {})",
                    e.subject,
                    e.observed.as_deref().unwrap_or("(not set)"),
                    e.expected,
                    e.source
                );
            }
            let _ = write!(text, "fix: {}", f.remediation);
            xml_escape(&text)
        };
        if let Some(w) = &f.waiver {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"waived: {}\"/>\n    </testcase>",
                xml_escape(&w.reason)
            );
            continue;
        }
        match f.status {
            Status::Pass => {
                let _ = writeln!(out, "/>");
            }
            Status::NotApplicable => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(&f.message)
                );
            }
            Status::Fail | Status::Error => {
                let tag = if f.status == Status::Fail {
                    "failure"
                } else {
                    "error"
                };
                let _ = writeln!(
                    out,
                    ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                    xml_escape(&f.message),
                    f.severity,
                    details()
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture;

    #[test]
    fn snapshot() {
        let xml = render(&fixture::report());
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nodecheck prod/node-1" tests="4" failures="1" errors="1" skipped="1" time="0.007">
  <testsuite name="nodecheck prod/node-1" tests="4" failures="1" errors="1" skipped="1" timestamp="2026-11-27T01:02:03.000Z" hostname="node-1">
    <testcase classname="sshd" name="sshd.permit-root-login">
      <failure message="PermitRootLogin is yes (/etc/ssh/sshd_config.d/50-cloud-init.conf:3); expected no" type="high">PermitRootLogin is yes (/etc/ssh/sshd_config.d/50-cloud-init.conf:3); expected no
PermitRootLogin = yes (expected no; /etc/ssh/sshd_config.d/50-cloud-init.conf:3)
fix: Fix sshd.permit-root-login.</failure>
    </testcase>
    <testcase classname="sshd" name="sshd.banner">
      <error message="sshd would refuse its configuration: &lt;bad&gt; &amp; &quot;quoted&quot;" type="info">sshd would refuse its configuration: &lt;bad&gt; &amp; &quot;quoted&quot;
fix: Fix sshd.banner.</error>
    </testcase>
    <testcase classname="sshd" name="sshd.kex"/>
    <testcase classname="sshd" name="sshd.exposure">
      <skipped message="sshd is not installed"/>
    </testcase>
  </testsuite>
</testsuites>
"#;
        assert_eq!(xml, expected);
    }
}

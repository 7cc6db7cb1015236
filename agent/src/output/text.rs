//! The text verdict: what failed first (by severity), each with evidence and the fix; then
//! errors, then passes and what did not apply; last, the score and how it was made.

use super::TextOptions;
use nodecheck_report::{Finding, Report, Severity, Status};
use std::fmt::Write;

struct Paint {
    color: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn status(&self, status: Status) -> String {
        let (code, label) = match status {
            Status::Fail => ("1;31", "FAIL "),
            Status::Error => ("1;33", "ERROR"),
            Status::Pass => ("32", "PASS "),
            Status::NotApplicable => ("2", "N/A  "),
        };
        self.wrap(code, label)
    }

    fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }

    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
}

fn severity_label(s: Severity) -> String {
    format!("{:<8}", s.as_str())
}

fn detailed(out: &mut String, paint: &Paint, f: &Finding) {
    let waived = f
        .waiver
        .as_ref()
        .map(|w| {
            let until = w
                .expires
                .as_deref()
                .map(|e| format!(" until {e}"))
                .unwrap_or_default();
            format!(" [waived{until}: {}]", w.reason)
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} {}  {}{}",
        paint.status(f.status),
        severity_label(f.severity),
        paint.bold(&f.id),
        f.title,
        paint.dim(&waived)
    );
    let _ = writeln!(out, "      {}", f.message);
    for e in &f.evidence {
        let mark = match e.status {
            Status::Pass => paint.wrap("32", "✓"),
            Status::Fail => paint.wrap("31", "✗"),
            Status::Error => paint.wrap("33", "!"),
            Status::NotApplicable => paint.dim("-"),
        };
        let observed = e.observed.as_deref().unwrap_or("(not set)");
        let note = e
            .note
            .as_deref()
            .map(|n| format!(" — {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "        {mark} {} = {}  {}{}",
            e.subject,
            observed,
            paint.dim(&format!("expected {}; {}", e.expected, e.source)),
            paint.dim(&note)
        );
    }
    let _ = writeln!(out, "      {} {}", paint.bold("fix:"), f.remediation);
}

/// Renders the text verdict. Every string of the report may come from the host, so each is
/// made terminal-safe first ([`crate::text::terminal_safe`]).
pub fn render(report: &Report, options: TextOptions) -> String {
    match crate::text::terminal_safe_copy(report) {
        Some(safe) => render_safe(&safe, options),
        // A report always survives its JSON form; were it not to, nothing unescaped gets out:
        // no colour, and every line escaped whole.
        None => {
            let plain = render_safe(
                report,
                TextOptions {
                    color: false,
                    ..options
                },
            );
            let mut out = String::with_capacity(plain.len());
            for line in plain.lines() {
                out.push_str(&crate::text::terminal_safe(line));
                out.push('\n');
            }
            out
        }
    }
}

fn render_safe(report: &Report, options: TextOptions) -> String {
    let paint = Paint {
        color: options.color,
    };
    let mut out = String::new();
    let roles: Vec<&str> = report.node.roles.iter().map(|r| r.as_str()).collect();
    let _ = writeln!(
        out,
        "{} {} · node {} · cluster {} · roles {} · profile {}",
        paint.bold("nodecheck"),
        report.agent.version,
        report.node.name,
        report.node.cluster,
        roles.join(", "),
        report.profile.name
    );
    let host: Vec<&str> = [report.node.os.as_deref(), report.node.kernel.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !host.is_empty() {
        let _ = writeln!(out, "{}", paint.dim(&host.join(" · kernel ")));
    }
    let _ = writeln!(out);

    let mut failing: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.waiver.is_none())
        .collect();
    failing.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    for f in &failing {
        detailed(&mut out, &paint, f);
        let _ = writeln!(out);
    }
    for f in report
        .findings
        .iter()
        .filter(|f| f.status == Status::Error && f.waiver.is_none())
    {
        detailed(&mut out, &paint, f);
        let _ = writeln!(out);
    }
    for f in report.findings.iter().filter(|f| f.waiver.is_some()) {
        detailed(&mut out, &paint, f);
        let _ = writeln!(out);
    }
    if options.verbose {
        let quiet = [Status::Pass, Status::NotApplicable]
            .into_iter()
            .flat_map(|status| {
                report
                    .findings
                    .iter()
                    .filter(move |f| f.status == status && f.waiver.is_none())
            });
        for f in quiet {
            let _ = writeln!(
                out,
                "{} {} {}  {}",
                paint.status(f.status),
                severity_label(f.severity),
                f.id,
                paint.dim(&f.message)
            );
        }
    }
    if options.verbose {
        let _ = writeln!(out);
    }

    let c = &report.summary.counts;
    let _ = writeln!(
        out,
        "{} failed, {} errors, {} passed, {} not applicable, {} waived{}",
        c.fail,
        c.error,
        c.pass,
        c.not_applicable,
        c.waived,
        if options.verbose || c.pass + c.not_applicable == 0 {
            String::new()
        } else {
            paint.dim(" (-v lists passes and not-applicable checks)")
        }
    );
    match report.score {
        Some(score) => {
            let _ = writeln!(
                out,
                "{} {score}/100 = floor(100 × {} passed weight / {} judged weight)",
                paint.bold("score"),
                report.summary.passed_weight,
                report.summary.judged_weight
            );
            let areas: Vec<String> = report
                .summary
                .areas
                .iter()
                .map(|(area, t)| match t.score {
                    Some(s) => format!("{area} {s} ({}/{})", t.passed_weight, t.judged_weight),
                    None => format!("{area} –"),
                })
                .collect();
            let _ = writeln!(
                out,
                "{}",
                paint.dim(&format!(
                    "weights critical 10, high 6, medium 3, low 1, info 0; errors count against, not-applicable and waived are outside · {}",
                    areas.join(" · ")
                ))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{} none: no check with a weight was judged",
                paint.bold("score")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture;

    #[test]
    fn snapshot_without_color() {
        let text = render(
            &fixture::report(),
            TextOptions {
                color: false,
                verbose: true,
            },
        );
        let expected = "\
nodecheck 0.1.0 · node node-1 · cluster prod · roles worker · profile default
Debian GNU/Linux 12 (bookworm) · kernel 6.1.0-28-amd64

FAIL  high     sshd.permit-root-login  Title of sshd.permit-root-login
      PermitRootLogin is yes (/etc/ssh/sshd_config.d/50-cloud-init.conf:3); expected no
        ✗ PermitRootLogin = yes  expected no; /etc/ssh/sshd_config.d/50-cloud-init.conf:3
      fix: Fix sshd.permit-root-login.

ERROR info     sshd.banner  Title of sshd.banner
      sshd would refuse its configuration: <bad> & \"quoted\"
      fix: Fix sshd.banner.

PASS  medium   sshd.kex  KexAlgorithms has no weak algorithm
N/A   high     sshd.exposure  sshd is not installed

1 failed, 1 errors, 1 passed, 1 not applicable, 0 waived
score 33/100 = floor(100 × 3 passed weight / 9 judged weight)
weights critical 10, high 6, medium 3, low 1, info 0; errors count against, not-applicable and waived are outside · sshd 33 (3/9)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn color_only_when_asked() {
        let plain = render(&fixture::report(), TextOptions::default());
        assert!(!plain.contains('\x1b'));
        let colored = render(
            &fixture::report(),
            TextOptions {
                color: true,
                verbose: false,
            },
        );
        assert!(colored.contains("\x1b[1;31mFAIL"));
    }
}

//! The text verdict, read like a good linter's: one line per failing check (severity, id, the
//! value found and where it came from) with the fix under it, errors and waivers after, then a
//! summary per area, the score, and a pointer at `nodecheck remediate` when it has changes to
//! propose. Lines wrap at the terminal's width. `-v` adds each finding's evidence table and
//! lists the passing and not-applicable checks; JSON, SARIF and JUnit always keep every detail.

use super::{FixHints, TextOptions};
use crate::text::shorten as cut;
use nodecheck_report::{Evidence, Finding, Report, Severity, Source, Status};
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

    fn severity(&self, severity: Severity, label: &str) -> String {
        let code = match severity {
            Severity::Critical | Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low | Severity::Info => "2",
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
pub fn render(report: &Report, options: TextOptions, hints: &FixHints) -> String {
    let hints: FixHints = hints
        .iter()
        .map(|(id, fixes)| {
            (
                id.clone(),
                fixes
                    .iter()
                    .map(|f| crate::text::terminal_safe(f).into_owned())
                    .collect(),
            )
        })
        .collect();
    match crate::text::terminal_safe_copy(report) {
        Some(safe) => render_safe(&safe, options, &hints),
        // A report always survives its JSON form; were it not to, nothing unescaped gets out:
        // no colour, and every line escaped whole.
        None => {
            let plain = render_safe(
                report,
                TextOptions {
                    color: false,
                    ..options
                },
                &hints,
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

fn render_safe(report: &Report, options: TextOptions, hints: &FixHints) -> String {
    let paint = Paint {
        color: options.color,
    };
    let width = options.width;
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
    let errors: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Error && f.waiver.is_none())
        .collect();
    let waived: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .collect();
    if options.verbose {
        for f in failing.iter().chain(&errors).chain(&waived) {
            detailed(&mut out, &paint, f);
            let _ = writeln!(out);
        }
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
        let _ = writeln!(out);
    } else {
        // Checks that could not judge for one reason (a snapshot without /proc/sys) say it once.
        let mut reasons: Vec<(&str, Vec<&Finding>)> = Vec::new();
        for f in &errors {
            match reasons.iter_mut().find(|(m, _)| *m == f.message) {
                Some((_, group)) => group.push(f),
                None => reasons.push((&f.message, vec![f])),
            }
        }
        let errors_in = |lines_each: usize| {
            let mut out = String::new();
            for (message, group) in &reasons {
                let label = format!("{:<8}", "error");
                let who = match group.as_slice() {
                    [one] => one.id.clone(),
                    many => {
                        let area = &many[0].area;
                        if many.iter().all(|f| f.area == *area) {
                            format!("{} {area} checks", many.len())
                        } else {
                            format!("{} checks", many.len())
                        }
                    }
                };
                let prefix = format!("{} {}  ", paint.wrap("1;33", &label), paint.bold(&who));
                wrapped_at_most(
                    &mut out,
                    &prefix,
                    label.len() + 1 + who.len() + 2,
                    INDENT,
                    message,
                    width,
                    lines_each,
                );
            }
            out
        };
        let mut waivers = String::new();
        for f in &waived {
            let Some(waiver) = &f.waiver else { continue };
            let label = format!("{:<8}", "waived");
            let until = waiver
                .expires
                .as_deref()
                .map(|e| format!(" until {e}"))
                .unwrap_or_default();
            let prefix = format!("{} {}  ", paint.dim(&label), f.id);
            wrapped(
                &mut waivers,
                &prefix,
                label.len() + 1 + f.id.len() + 2,
                INDENT,
                &format!(
                    "{} {}{until}: {}",
                    f.status.as_str(),
                    f.severity.as_str(),
                    waiver.reason
                ),
                width,
            );
        }
        let tail = footer(report, &failing, &paint, hints, options);
        // What does not fit on the screen loses its fix line, least severe first: every
        // failing check keeps its line, and `-v` (or `remediate`) has the rest.
        // Then the reasons checks could not judge get a line each.
        let fixed = out.lines().count() + waivers.lines().count() + tail.lines().count() + 1;
        let fits = |lines: usize| options.max_lines == 0 || lines <= options.max_lines;
        // A report that cannot fit even with a line per check scrolls anyway: it keeps it all.
        let shortest = fixed
            + errors_in(1).lines().count()
            + failing
                .iter()
                .map(|f| compact(f, &paint, hints, width, false).lines().count())
                .sum::<usize>();
        let mut with_fix = failing.len();
        let mut error_lines = 2;
        let (blocks, rest) = loop {
            let blocks: Vec<String> = failing
                .iter()
                .enumerate()
                .map(|(i, f)| compact(f, &paint, hints, width, i < with_fix))
                .collect();
            let rest = errors_in(error_lines);
            let note = usize::from(with_fix < failing.len());
            let lines = fixed
                + note
                + rest.lines().count()
                + blocks.iter().map(|b| b.lines().count()).sum::<usize>();
            if fits(lines) || !fits(shortest) || (with_fix == 0 && error_lines == 1) {
                break (blocks, rest + &waivers);
            }
            if error_lines > 1 {
                error_lines = 1;
            } else {
                with_fix -= 1;
            }
        };
        for block in &blocks {
            out.push_str(block);
        }
        if with_fix < failing.len() {
            let note = if with_fix == 0 {
                "(the fixes are left out to fit the screen: -v shows them)".to_string()
            } else {
                format!(
                    "(the fixes of the last {} are left out to fit the screen: -v shows them)",
                    failing.len() - with_fix
                )
            };
            wrapped(&mut out, "", 0, 0, &paint.dim(&note), 0);
        }
        out.push_str(&rest);
        if !failing.is_empty() || !errors.is_empty() || !waived.is_empty() {
            let _ = writeln!(out);
        }
        out.push_str(&tail);
        return out;
    }
    out.push_str(&footer(report, &failing, &paint, hints, options));
    out
}

/// A failing finding: severity, id and what was found on one line (cut to the width when
/// there is one); under it, unless left out, the fix: the setting to change when `remediate`
/// has one, else the check's remediation (without its asides, at most two lines, when wrapped).
fn compact(f: &Finding, paint: &Paint, hints: &FixHints, width: usize, with_fix: bool) -> String {
    let mut out = String::new();
    let label = severity_label(f.severity);
    let prefix = format!(
        "{} {}  ",
        paint.severity(f.severity, &label),
        paint.bold(&f.id)
    );
    let prefix_width = label.len() + 1 + f.id.len() + 2;
    let room = |used: usize| {
        if width == 0 {
            usize::MAX
        } else {
            width.saturating_sub(used).max(20)
        }
    };
    out.push_str(&prefix);
    out.push_str(&found(f, room(prefix_width)));
    out.push('\n');
    if !with_fix {
        return out;
    }
    let fix = match hints.get(&f.id) {
        Some(fixes) if !fixes.is_empty() => listed(fixes, room(INDENT + 5)),
        _ if width == 0 => f.remediation.clone(),
        _ => cut(&without_asides(&f.remediation), 2 * room(INDENT + 5) - 8),
    };
    let lead = " ".repeat(INDENT);
    wrapped(
        &mut out,
        &format!("{lead}{} ", paint.dim("fix:")),
        INDENT + 5,
        INDENT + 5,
        &fix,
        width,
    );
    out
}

/// `text` without its parenthesised asides (outside `code`), and the blank before each.
fn without_asides(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut depth, mut code) = (0usize, false);
    for c in text.chars() {
        match c {
            '`' if depth == 0 => {
                code = !code;
                out.push(c);
            }
            '(' if !code => {
                if depth == 0 && out.ends_with(' ') {
                    out.pop();
                }
                depth += 1;
            }
            ')' if !code && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The counts, the score per area, and the pointer at `remediate`.
fn footer(
    report: &Report,
    failing: &[&Finding],
    paint: &Paint,
    hints: &FixHints,
    options: TextOptions,
) -> String {
    let width = options.width;
    let mut out = String::new();
    let c = &report.summary.counts;
    let counts = format!(
        "{} failed, {} errors, {} passed, {} not applicable, {} waived{}",
        c.fail,
        c.error,
        c.pass,
        c.not_applicable,
        c.waived,
        if options.verbose || c.pass + c.not_applicable == 0 {
            String::new()
        } else {
            " · -v for the evidence".to_string()
        }
    );
    wrapped(&mut out, "", 0, 0, &counts, width);
    match report.score {
        Some(score) => {
            let areas: Vec<String> = report
                .summary
                .areas
                .iter()
                .filter(|(_, t)| options.verbose || t.score.is_some())
                .map(|(area, t)| {
                    let failed = failing.iter().filter(|f| f.area == *area).count();
                    let failed = if failed > 0 {
                        format!(" ({failed} failed)")
                    } else {
                        String::new()
                    };
                    match t.score {
                        Some(s) if options.verbose => {
                            format!(
                                "{area} {s} ({}/{}){failed}",
                                t.passed_weight, t.judged_weight
                            )
                        }
                        Some(s) => format!("{area} {s}{failed}"),
                        None => format!("{area} –"),
                    }
                })
                .collect();
            let head = format!("score {score}/100");
            wrapped(
                &mut out,
                &format!("{} · ", paint.bold(&head)),
                head.len() + 3,
                INDENT,
                &areas.join(" · "),
                width,
            );
            if options.verbose {
                wrapped(
                    &mut out,
                    "",
                    0,
                    0,
                    &format!(
                        "score = floor(100 × {} passed weight / {} judged weight); weights critical 10, high 6, medium 3, low 1, info 0; errors count against, not-applicable and waived are outside",
                        report.summary.passed_weight, report.summary.judged_weight
                    ),
                    width,
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "{} none: no check with a weight was judged",
                paint.bold("score")
            );
        }
    }
    let fixable = failing
        .iter()
        .filter(|f| hints.get(&f.id).is_some_and(|h| !h.is_empty()))
        .count();
    if fixable > 0 {
        wrapped(
            &mut out,
            "",
            0,
            0,
            &format!(
                "`nodecheck remediate` proposes changes for {fixable} of the {} failures and proves them on a copy first.",
                failing.len()
            ),
            width,
        );
    }
    out
}

/// Where the lines under a finding's first line start.
const INDENT: usize = 9;

/// What a failing finding found: its first failing item's value and where it came from, with
/// how many more items fail. A long value is cut short; a weak algorithm list shows only the
/// weak names.
fn found(f: &Finding, room: usize) -> String {
    let failing: Vec<&Evidence> = f
        .evidence
        .iter()
        .filter(|e| e.status == Status::Fail)
        .collect();
    let Some(first) = failing.first() else {
        return cut(&f.message, room);
    };
    let more = match failing.len() - 1 {
        0 => String::new(),
        n => format!(", and {n} more"),
    };
    let observed = first.observed.as_deref().unwrap_or("(not set)");
    // A source the value already names (a file's metadata, a listener's address) is said once.
    let source = short_source(&first.source)
        .filter(|s| {
            let named = s
                .trim_start_matches("metadata of ")
                .trim_start_matches("listener ");
            !first.subject.contains(named) && !observed.contains(named)
        })
        // A file and line is where to go: kept whole (the value gives way to it).
        .map(|s| match first.source {
            Source::File { .. } => format!(" ({s})"),
            _ => format!(" ({})", cut(&s, 40)),
        })
        .unwrap_or_default();
    // A source that would leave the value less than half the line is left to -v.
    let source = if source.chars().count() > room / 2 {
        String::new()
    } else {
        source
    };
    let value = match first.note.as_deref().and_then(|n| n.strip_prefix("weak: ")) {
        Some(weak) => format!("{} offers {weak}", first.subject),
        None => format!("{} = {observed}", first.subject),
    };
    // A default is the least telling source: it goes before the value is cut.
    let source = if matches!(first.source, Source::Default { .. })
        && value.chars().count() + source.chars().count() + more.chars().count() > room
    {
        String::new()
    } else {
        source
    };
    // The value gives way next: where it came from and how many more fail stay whole.
    let value_room = room
        .saturating_sub(source.chars().count() + more.chars().count())
        .max(24);
    cut(&format!("{}{source}{more}", cut(&value, value_room)), room)
}

/// A source as short as it can be said: a file and line, a default without its details, the
/// running kernel for /proc/sys (cut to length by the caller).
fn short_source(source: &Source) -> Option<String> {
    match source {
        Source::File { path, .. } if path.starts_with("/proc/sys/") => {
            Some("running kernel".into())
        }
        Source::Default { description } => Some(
            description
                .split(" (")
                .next()
                .unwrap_or(description)
                .trim_start_matches("compiled ")
                .to_string(),
        ),
        Source::None => None,
        other => Some(other.to_string()),
    }
}

/// The items joined, as many as fit in `room` columns (at least one), with how many more
/// there are.
fn listed(items: &[String], room: usize) -> String {
    let mut shown: Vec<&str> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let more = items.len() - index - 1;
        let length = shown.iter().map(|s| s.chars().count() + 2).sum::<usize>()
            + item.chars().count()
            + if more > 0 { 16 } else { 0 };
        if !shown.is_empty() && length > room {
            break;
        }
        shown.push(item);
    }
    match items.len() - shown.len() {
        0 => shown.join("; "),
        more => format!("{}; and {more} more", shown.join("; ")),
    }
}

/// Writes `text` after `prefix` (which shows `prefix_width` columns), broken between words so
/// that no line is wider than `width` (a word wider than a line gets a line of its own), the
/// lines after the first indented by `indent`. A width of 0, or one too narrow to hold
/// anything after the indent, leaves the text on one line.
fn wrapped(
    out: &mut String,
    prefix: &str,
    prefix_width: usize,
    indent: usize,
    text: &str,
    width: usize,
) {
    wrapped_at_most(out, prefix, prefix_width, indent, text, width, usize::MAX);
}

/// [`wrapped`] in at most `max_lines` lines, the last ending in … when the text was longer.
fn wrapped_at_most(
    out: &mut String,
    prefix: &str,
    prefix_width: usize,
    indent: usize,
    text: &str,
    width: usize,
    max_lines: usize,
) {
    out.push_str(prefix);
    if width == 0 || width < indent + 20 {
        out.push_str(text);
        out.push('\n');
        return;
    }
    let wrapped = crate::text::wrap(text, width, prefix_width, indent);
    let mut lines: Vec<&str> = wrapped.lines().collect();
    let max_lines = max_lines.max(1);
    let mut last_cut = None;
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let lead = if max_lines == 1 { prefix_width } else { 0 };
        // The kept line, its indent included, with room for the ellipsis.
        let last = lines.last().copied().unwrap_or_default();
        let mut short = cut(last, width.saturating_sub(lead + 1));
        if !short.ends_with('…') {
            short.push('…');
        }
        last_cut = Some(short);
    }
    if let (Some(short), Some(last)) = (&last_cut, lines.last_mut()) {
        *last = short;
    }
    out.push_str(&lines.join("\n"));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture;
    use nodecheck_report::{Evidence, Severity, Source, Status};

    fn verbose() -> TextOptions {
        TextOptions {
            verbose: true,
            ..TextOptions::default()
        }
    }

    #[test]
    fn verbose_keeps_the_evidence_table_and_lists_the_passes() {
        let text = render(&fixture::report(), verbose(), &FixHints::new());
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
score 33/100 · sshd 33 (3/9) (1 failed)
score = floor(100 × 3 passed weight / 9 judged weight); weights critical 10, high 6, medium 3, low 1, info 0; errors count against, not-applicable and waived are outside
";
        assert_eq!(text, expected);
    }

    /// Without -v: a line per failing check with the value and its source, the fix under it
    /// (the setting `remediate` would change when there is one), errors in a line, the
    /// summary, and the pointer at `remediate`.
    #[test]
    fn the_default_report_is_a_line_and_a_fix_per_failure() {
        let hints: FixHints = [(
            "sshd.permit-root-login".to_string(),
            vec!["`PermitRootLogin no`".to_string()],
        )]
        .into();
        let text = render(&fixture::report(), TextOptions::default(), &hints);
        let expected = "\
nodecheck 0.1.0 · node node-1 · cluster prod · roles worker · profile default
Debian GNU/Linux 12 (bookworm) · kernel 6.1.0-28-amd64

high     sshd.permit-root-login  PermitRootLogin = yes (/etc/ssh/sshd_config.d/50-cloud-init.conf:3)
         fix: `PermitRootLogin no`
error    sshd.banner  sshd would refuse its configuration: <bad> & \"quoted\"

1 failed, 1 errors, 1 passed, 1 not applicable, 0 waived · -v for the evidence
score 33/100 · sshd 33 (1 failed)
`nodecheck remediate` proposes changes for 1 of the 1 failures and proves them on a copy first.
";
        assert_eq!(text, expected);
        let without = render(&fixture::report(), TextOptions::default(), &FixHints::new());
        assert!(
            without.contains("         fix: Fix sshd.permit-root-login.\n"),
            "{without}"
        );
        assert!(!without.contains("remediate"), "{without}");
    }

    fn failing(
        id: &str,
        severity: Severity,
        subject: &str,
        observed: &str,
        note: Option<&str>,
    ) -> nodecheck_report::Finding {
        let mut report = fixture::report();
        let mut f = report.findings.remove(0);
        f.id = id.into();
        f.severity = severity;
        f.remediation = format!(
            "Change {subject} (see the documentation for the details of {id}) and reload the service so that it applies; then scan again to see it pass."
        );
        f.evidence = vec![Evidence {
            subject: subject.into(),
            observed: Some(observed.into()),
            expected: "something else".into(),
            status: Status::Fail,
            source: Source::default_value("compiled default of OpenSSH 9.2p1 (Debian-2+deb12u10)"),
            note: note.map(str::to_string),
        }];
        f
    }

    /// At a width, lines wrap between words under their indent and never pass it; a weak
    /// algorithm list shows the weak names; a manual fix loses its asides; and what does not
    /// fit the screen loses its fix line, least severe first, with a note saying so.
    #[test]
    fn lines_wrap_at_the_width_and_fixes_give_way_to_fit_the_screen() {
        let mut findings = vec![failing(
            "sshd.macs",
            Severity::Medium,
            "MACs",
            "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1",
            Some("weak: umac-64-etm@openssh.com, hmac-sha1"),
        )];
        for i in 0..25 {
            findings.push(failing(
                &format!("sshd.check-{i:02}"),
                Severity::Low,
                "Option",
                &"x".repeat(150),
                None,
            ));
        }
        let report = fixture::report_with(findings);
        let options = TextOptions {
            width: 100,
            max_lines: 40,
            ..TextOptions::default()
        };
        let text = render(&report, options, &FixHints::new());
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "too wide: {line:?}\n{text}");
        }
        assert!(text.lines().count() <= 40, "{text}");
        assert!(
            text.contains("medium   sshd.macs  MACs offers umac-64-etm@openssh.com, hmac-sha1 (default of OpenSSH 9.2p1)\n"),
            "{text}"
        );
        assert!(
            text.contains("         fix: Change MACs and reload the service so that it applies; then scan again to see it pass.\n"),
            "{text}"
        );
        // Every failing check keeps its line; the last ones lose their fix.
        assert!(
            text.contains("low      sshd.check-24  Option = xxx"),
            "{text}"
        );
        assert!(
            text.contains("are left out to fit the screen: -v shows them"),
            "{text}"
        );
        let all = render(
            &report,
            TextOptions {
                max_lines: 0,
                ..options
            },
            &FixHints::new(),
        );
        assert_eq!(all.matches("fix:").count(), 26, "{all}");
    }

    #[test]
    fn asides_go_but_code_keeps_its_parentheses() {
        assert_eq!(
            without_asides("Enable AppArmor (Debian: `apparmor=1`) or run `f(x)` (twice)."),
            "Enable AppArmor or run `f(x)`."
        );
    }

    #[test]
    fn color_only_when_asked() {
        let plain = render(&fixture::report(), TextOptions::default(), &FixHints::new());
        assert!(!plain.contains('\x1b'));
        let colored = render(
            &fixture::report(),
            TextOptions {
                color: true,
                ..TextOptions::default()
            },
            &FixHints::new(),
        );
        assert!(colored.contains("\x1b[1;31mhigh"), "{colored}");
    }
}

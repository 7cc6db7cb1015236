//! Rendering a report: `text` for people, `json` (the report itself), `sarif` for code
//! scanning dashboards, `junit` for CI test views.

mod cis;
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
    /// The CIS Kubernetes Benchmark, control by control (best with `--profile cis`).
    Cis,
}

/// Options of the text format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    pub color: bool,
    /// Every finding's evidence, and every passing check (otherwise they are counted).
    pub verbose: bool,
    /// Columns to wrap the lines at; 0 leaves them as long as they are.
    pub width: usize,
    /// Lines the report may take (a terminal's height): failing checks that do not fit are
    /// listed by id only, least severe first. 0 shows every one.
    pub max_lines: usize,
}

/// The change `nodecheck remediate` would propose for each failing check it can fix, by check
/// id, as an operator writes it (`PasswordAuthentication no`, `kernel.kptr_restrict = 1`).
/// Computed from the facts, so a report rendered without them has none.
pub type FixHints = std::collections::BTreeMap<String, Vec<String>>;

/// Renders a report in a format.
pub fn render(report: &Report, format: Format, text_options: TextOptions) -> String {
    render_with_hints(report, format, text_options, &FixHints::new())
}

/// [`render`], with the changes `nodecheck remediate` would propose shown as the text format's
/// fixes.
pub fn render_with_hints(
    report: &Report,
    format: Format,
    text_options: TextOptions,
    hints: &FixHints,
) -> String {
    match format {
        Format::Text => text::render(report, text_options, hints),
        // Machine formats keep every character, written so a terminal cannot obey it.
        Format::Json => {
            let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
            out.push('\n');
            crate::text::json_terminal_safe(out)
        }
        Format::Sarif => crate::text::json_terminal_safe(sarif::render(report)),
        Format::Junit => junit::render(report),
        Format::Cis => cis::render(report),
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
            // Characters XML 1.0 cannot carry at all, not even as references: C0 controls but
            // tab and line breaks, and the non-characters U+FFFE and U+FFFF.
            c if ((c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r')
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            // The rest that could drive a terminal as references: the same text to a parser.
            c if c != '\n' && c != '\t' && crate::text::is_terminal_unsafe(c) => {
                out.push_str(&format!("&#x{:x};", c as u32));
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
            references: vec!["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.20".into()],
            cis: Vec::new(),
            rationale: String::new(),
            waiver: None,
        }
    }

    pub fn report() -> Report {
        report_with(findings())
    }

    /// The fixed report's node and profile around other findings.
    pub fn report_with(findings: Vec<Finding>) -> Report {
        let summary = summarize(&findings);
        Report {
            findings,
            score: score(&summary),
            summary,
            ..base()
        }
    }

    fn findings() -> Vec<Finding> {
        vec![
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
        ]
    }

    fn base() -> Report {
        let findings = Vec::new();
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
                kubelet_version: None,
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
            settings: Default::default(),
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

#[cfg(test)]
mod any_text_tests {
    //! Every string of a report may come from the host. For any text in any field, the JUnit
    //! output stays well-formed XML, SARIF and JSON stay JSON that reads back, and the text
    //! output holds no control character but its line breaks.

    use super::*;

    /// Characters that break formats and terminals, and a spread of the rest.
    const NASTY: &[char] = &[
        '\u{0}',
        '\u{7}',
        '\u{8}',
        '\u{b}',
        '\u{c}',
        '\u{1b}',
        '\u{1f}',
        '\u{7f}',
        '\u{85}',
        '\u{9b}',
        '\u{9d}',
        '\u{a0}',
        '\u{202e}',
        '\u{2066}',
        '\u{200b}',
        '\u{2028}',
        '\u{d7ff}',
        '\u{e000}',
        '\u{fdd0}',
        '\u{feff}',
        '\u{fffd}',
        '\u{fffe}',
        '\u{ffff}',
        '\u{10000}',
        '\u{1f600}',
        '\u{10ffff}',
        '<',
        '>',
        '&',
        '"',
        '\'',
        '\\',
        ']',
        '\n',
        '\r',
        '\t',
        ' ',
    ];

    use nodecheck_report::testing::Rng;

    fn text(rng: &mut Rng) -> String {
        let len = rng.next_u64() % 24;
        (0..len)
            .map(|_| match rng.next_u64() % 3 {
                0 => NASTY[rng.below(NASTY.len())],
                1 => char::from_u32((rng.next_u64() % 0x11_0000) as u32).unwrap_or('\u{fffd}'),
                _ => char::from(b' ' + (rng.next_u64() % 95) as u8),
            })
            .collect()
    }

    /// Every string of the report but the names of its enums (which only nodecheck writes)
    /// replaced by random text.
    fn scramble(value: &mut serde_json::Value, rng: &mut Rng) {
        use serde_json::Value;
        const ENUMS: &[&str] = &["schema", "status", "severity", "kind", "roles"];
        match value {
            Value::String(s) => *s = text(rng),
            Value::Array(items) => items.iter_mut().for_each(|v| scramble(v, rng)),
            Value::Object(map) => map
                .iter_mut()
                .filter(|(k, _)| !ENUMS.contains(&k.as_str()))
                .for_each(|(_, v)| scramble(v, rng)),
            _ => {}
        }
    }

    #[test]
    fn every_format_stays_well_formed_for_any_text() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut base = serde_json::to_value(fixture::report()).expect("to json");
        // Every optional field present, so that it is scrambled too.
        base["findings"][0]["waiver"] = serde_json::json!({"reason": "r", "expires": "e"});
        base["findings"][0]["evidence"][0]["note"] = serde_json::json!("n");
        base["node"]["labels"] = serde_json::json!({"team": "t"});
        base["node"]["os"] = serde_json::json!("o");
        base["node"]["kernel"] = serde_json::json!("k");
        for round in 0..300 {
            let mut value = base.clone();
            scramble(&mut value, &mut rng);
            let report: Report = serde_json::from_value(value).expect("a report");

            let junit = render(&report, Format::Junit, TextOptions::default());
            if let Err(e) = roxmltree::Document::parse(&junit) {
                panic!("round {round}: JUnit is not XML: {e}\n{junit}");
            }
            let sarif = render(&report, Format::Sarif, TextOptions::default());
            let sarif: serde_json::Value = serde_json::from_str(&sarif)
                .unwrap_or_else(|e| panic!("round {round}: SARIF is not JSON: {e}"));
            assert_eq!(sarif["version"], "2.1.0");
            let json = render(&report, Format::Json, TextOptions::default());
            let back: Report = serde_json::from_str(&json).expect("JSON reads back");
            assert_eq!(back, report, "round {round}");
            // Printed to a terminal, no machine format can drive it either.
            for (format, rendered) in [("json", &json), ("junit", &junit)] {
                let raw = rendered
                    .chars()
                    .find(|&c| !matches!(c, '\n' | '\t') && crate::text::is_terminal_unsafe(c));
                assert_eq!(raw, None, "round {round}: raw {raw:?} in {format}");
            }
            let sarif_text = render(&report, Format::Sarif, TextOptions::default());
            assert!(
                !sarif_text
                    .chars()
                    .any(|c| c != '\n' && crate::text::is_terminal_unsafe(c)),
                "round {round}: raw control in sarif"
            );
            for (color, verbose) in [(false, true), (true, true), (true, false)] {
                let text = render(
                    &report,
                    Format::Text,
                    TextOptions {
                        color,
                        verbose,
                        width: 100,
                        max_lines: 40,
                    },
                );
                // Colour adds SGR sequences of nodecheck's own; nothing else may control the
                // terminal.
                let stripped = text
                    .split('\x1b')
                    .enumerate()
                    .map(|(i, part)| {
                        if i == 0 {
                            part
                        } else {
                            assert!(color, "round {round}: ESC in plain text:\n{text}");
                            let end = part.find('m').expect("an SGR sequence ends in m");
                            assert!(
                                part[1..end]
                                    .bytes()
                                    .all(|b| b.is_ascii_digit() || b == b';')
                                    && part.starts_with('['),
                                "round {round}: not an SGR sequence: {part:?}"
                            );
                            &part[end + 1..]
                        }
                    })
                    .collect::<String>();
                let bad = stripped.chars().find(|&c| {
                    c != '\n' && crate::text::terminal_safe(&c.to_string()) != c.to_string()
                });
                assert_eq!(bad, None, "round {round}: {bad:?} reached the text output");
            }
        }
    }
}

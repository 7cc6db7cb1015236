//! A real browser against a real collector: headless Chromium (Debian's `chromium`) loads the
//! overview, a node page and a check page of a collector holding reports, one of them with
//! hostile messages, evidence, check titles, rationales and remediations. The DOM Chromium ends
//! with, after its scripts would have run, must show that content as text and contain no
//! element or attribute that came from a node. (A node named `<img src=x onerror=alert(1)>` or
//! a label holding markup is refused at the door now: names and labels follow Kubernetes'
//! rules; the test checks that too.)
//!
//! Skipped (with a message) when Chromium is missing, unless `NODECHECK_REQUIRE_TOOLS=1`, as
//! `scripts/test.sh` sets after installing it.

use nodecheck_report::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "support/collector.rs"]
mod support;
use support::{free_port, request, start_with, token};

const HOSTILE_NODE: &str = "<img src=x onerror=alert(1)>";
const NODE: &str = "web-3";

/// Every payload marks the page if it ever runs: `data-pwned="…"` on the body or a changed
/// title. Serialized text never contains `="` after an attribute name it set itself.
const PAYLOAD_MESSAGE: &str = "<script>document.body.setAttribute('data-pwned','message')</script>";
const PAYLOAD_EVIDENCE: &str =
    "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','evidence')\">";
const PAYLOAD_TITLE: &str = "</title><script>document.title='pwned'</script>";
const PAYLOAD_REMEDIATION: &str =
    "<a href=\"javascript:document.body.setAttribute('data-pwned','link')\">fix</a>";
const PAYLOAD_LABEL: &str = "'><svg onload=\"document.body.setAttribute('data-pwned','label')\">";

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| {
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(move |dir| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

fn finding(id: &str, status: Status, hostile: bool) -> Finding {
    Finding {
        id: id.into(),
        title: if hostile {
            format!("Title {PAYLOAD_TITLE}")
        } else {
            format!("Title of {id}")
        },
        area: "sshd".into(),
        severity: Severity::High,
        status,
        message: if hostile {
            format!("PermitRootLogin is yes {PAYLOAD_MESSAGE}")
        } else {
            "PermitRootLogin is yes".into()
        },
        evidence: vec![Evidence {
            subject: "PermitRootLogin".into(),
            observed: Some(if hostile {
                format!("yes{PAYLOAD_EVIDENCE}")
            } else {
                "yes".into()
            }),
            expected: "no".into(),
            status,
            source: Source::file("/etc/ssh/sshd_config", Some(3)),
            note: None,
        }],
        remediation: if hostile {
            format!("Set PermitRootLogin no {PAYLOAD_REMEDIATION}")
        } else {
            "Set PermitRootLogin no".into()
        },
        references: vec![],
        cis: Vec::new(),
        rationale: if hostile {
            format!("Why it matters {PAYLOAD_TITLE}")
        } else {
            String::new()
        },
        waiver: None,
    }
}

#[path = "support/report.rs"]
mod sample;

fn report(id: &str, name: &str, hostile: bool) -> String {
    sample::json(&report_of(id, name, hostile, Status::Fail))
}

fn report_of(id: &str, name: &str, hostile: bool, status: Status) -> Report {
    let findings = vec![
        finding("sshd.permit-root-login", status, hostile),
        finding("sshd.password-authentication", Status::Pass, false),
    ];
    let mut report = sample::report(id, "prod", name, findings);
    if hostile {
        report
            .node
            .labels
            .insert("team".to_string(), "platform".to_string());
    }
    report
}

/// A second report of each node: the hostile node fixes the check (a change whose line is its
/// hostile message), opens a listener held by a process with a hostile name, and holds a
/// hostile value of a setting its peers hold alike (drift).
fn second_report(id: &str, name: &str, hostile: bool) -> String {
    let mut report = report_of(
        id,
        name,
        hostile,
        if hostile { Status::Pass } else { Status::Fail },
    );
    let (value, process) = if hostile {
        (
            format!("no{PAYLOAD_EVIDENCE}"),
            format!("sshd{PAYLOAD_MESSAGE}"),
        )
    } else {
        ("no".to_string(), "sshd".to_string())
    };
    report
        .settings
        .insert("sshd:PermitRootLogin".into(), Some(value));
    report.inventory.listeners.push(Listener {
        protocol: "tcp".into(),
        address: "0.0.0.0".into(),
        port: 2222,
        netns: "host".into(),
        processes: vec![ListenerProcess {
            pid: 42,
            name: process,
        }],
    });
    sample::json(&report)
}

/// Percent-encodes a path segment the way a careful link would.
fn segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The DOM after load, as Chromium serializes it (bounded in time).
fn dump_dom(browser: &Path, profile: &Path, url: &str) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=3000",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    // A local page loads in a second or two; a page that never finishes is one held open by a
    // script dialog, i.e. injected markup ran `alert`.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish loading {url} in 30 s: a script dialog (alert from \
                 injected markup) holds a headless page open"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("chromium output");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every tag of a serialized DOM. In Chromium's serialization a `<` in text is always `&lt;`,
/// so every raw `<` starts a real element.
fn tags(dom: &str) -> Vec<&str> {
    dom.split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
        .collect()
}

/// Nothing from a node became markup: no script, image, frame or object, no event handler,
/// no `javascript:` link, no mark left by a payload.
fn assert_inert(page: &str, dom: &str) {
    assert!(
        dom.contains("</html>"),
        "{page}: Chromium did not render a page:\n{dom}"
    );
    for tag in tags(dom) {
        let lower = tag.to_ascii_lowercase();
        let name = lower
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or_default();
        assert!(
            !["script", "img", "iframe", "object", "embed"].contains(&name),
            "{page}: a <{name}> element was injected: <{tag}>"
        );
        assert!(
            !lower
                .split_whitespace()
                .any(|attribute| attribute.starts_with("on") && attribute.contains('=')),
            "{page}: an event handler was injected: <{tag}>"
        );
        assert!(
            !lower.contains("javascript:"),
            "{page}: a javascript: link was injected: <{tag}>"
        );
        assert!(
            !lower.contains("data-pwned"),
            "{page}: a payload ran: <{tag}>"
        );
    }
    let title = dom
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title)
        .unwrap_or_default();
    assert!(
        title.ends_with("nodecheck") && !title.contains("pwned"),
        "{page}: the title was changed to {title:?}"
    );
}

#[test]
fn chromium_renders_hostile_node_data_as_text_and_runs_none_of_it() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("NODECHECK_REQUIRE_TOOLS").is_none(),
            "chromium is required (NODECHECK_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let scratch = support::Scratch::new("browser");
    let (data, profile) = (scratch.0.join("data"), scratch.0.join("chromium"));
    let port = free_port();
    let _collector = start_with(&data, port, &["--anonymous-read"]);
    let agent = token(&data, "agent");
    for (id, name, hostile) in [
        ("r1", "web-1", false),
        ("r2", "web-2", false),
        ("r3", NODE, true),
    ] {
        let (status, body) = request(
            port,
            "POST",
            "/api/v1/reports",
            &agent,
            &report(id, name, hostile),
        )
        .expect("post");
        assert_eq!(status, 201, "{name}: {body}");
    }
    // Markup in a node name or a label never gets in.
    let named = sample::report("r4", "prod", HOSTILE_NODE, vec![]);
    let mut labelled = sample::report("r5", "prod", "web-4", vec![]);
    labelled
        .node
        .labels
        .insert("team".into(), PAYLOAD_LABEL.into());
    for refused in [named, labelled] {
        let json = sample::json(&refused);
        let (status, body) = request(port, "POST", "/api/v1/reports", &agent, &json).expect("post");
        assert_eq!(status, 400, "{body}");
    }
    let base = format!("http://127.0.0.1:{port}");
    let escaped_title = "Title &lt;/title&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;";

    let overview = dump_dom(&browser, &profile, &format!("{base}/"));
    assert_inert("overview", &overview);
    assert!(
        overview.contains(NODE) && !overview.contains("web-4"),
        "overview lists the nodes let in:\n{overview}"
    );
    assert!(overview.contains("web-1") && overview.contains("<svg"));

    let node_url = format!("{base}/nodes/prod/{}", segment(NODE));
    let node = dump_dom(&browser, &profile, &node_url);
    assert_inert("node page", &node);
    for text in [
        escaped_title,
        "PermitRootLogin is yes &lt;script&gt;document.body.setAttribute('data-pwned','message')&lt;/script&gt;",
        "yes\"&gt;&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','evidence')\"&gt;",
        "Set PermitRootLogin no &lt;a href=\"javascript:document.body.setAttribute('data-pwned','link')\"&gt;fix&lt;/a&gt;",
        "/etc/ssh/sshd_config",
    ] {
        assert!(node.contains(text), "node page shows {text:?}:\n{node}");
    }

    let check = dump_dom(
        &browser,
        &profile,
        &format!("{base}/checks/sshd.permit-root-login"),
    );
    assert_inert("check page", &check);
    for text in [NODE, "web-1", "web-2", "yes\"&gt;&lt;img src=x onerror="] {
        assert!(check.contains(text), "check page lists {text:?}:\n{check}");
    }
    // The check's own description comes from the collector's catalogue, not from the node
    // that sent a hostile one; the node's page shows what the node sent.
    assert!(
        !check.contains("Why it matters &lt;") && !check.contains("Title &lt;/title&gt;"),
        "{check}"
    );
    assert!(
        node.contains(
            "Why it matters &lt;/title&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;"
        ),
        "{node}"
    );

    for (id, name, hostile) in [
        ("s1", "web-1", false),
        ("s2", "web-2", false),
        ("s3", NODE, true),
    ] {
        let (status, body) = request(
            port,
            "POST",
            "/api/v1/reports",
            &agent,
            &second_report(id, name, hostile),
        )
        .expect("post");
        assert_eq!(status, 201, "{name}: {body}");
    }
    // The change feed, the drift page, and the node's timeline and drift, with what the node
    // sent in a change's line, a listener's process and a setting's value.
    let escaped_message = "PermitRootLogin is yes &lt;script&gt;document.body.setAttribute('data-pwned','message')&lt;/script&gt;";
    let escaped_value =
        "no\"&gt;&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','evidence')\"&gt;";
    let changes = dump_dom(&browser, &profile, &format!("{base}/changes"));
    assert_inert("changes page", &changes);
    for text in [
        escaped_message,
        "new listener: tcp 0.0.0.0:2222 (sshd&lt;script&gt;",
        "fail → pass",
    ] {
        assert!(
            changes.contains(text),
            "changes page shows {text:?}:\n{changes}"
        );
    }
    let drift = dump_dom(&browser, &profile, &format!("{base}/drift"));
    assert_inert("drift page", &drift);
    for text in ["sshd:PermitRootLogin", escaped_value, "2 of 3"] {
        assert!(drift.contains(text), "drift page shows {text:?}:\n{drift}");
    }
    let node = dump_dom(&browser, &profile, &node_url);
    assert_inert("node page after changes", &node);
    assert!(
        node.contains(escaped_message) && node.contains(escaped_value),
        "the node page shows its changes and drift:\n{node}"
    );
    let overview = dump_dom(&browser, &profile, &format!("{base}/"));
    assert_inert("overview after changes", &overview);
    assert!(overview.contains("Recent changes"), "{overview}");
}

//! What the agent tells about itself: `/healthz` (alive), `/readyz` (the last scan succeeded)
//! and `/metrics` (OpenMetrics), served on `--listen` by a small thread of its own.
//!
//! The server answers one short GET per connection, with read and write timeouts, so a slow
//! or hostile client ties up nothing but its own connection for a few seconds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counters and gauges of the agent.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub scans: u64,
    pub scan_failures: u64,
    pub last_scan_ok: bool,
    pub last_scan_seconds: f64,
    /// Unix time of the last successful scan.
    pub last_scan_at: Option<u64>,
    pub score: Option<u8>,
    /// Findings of the last scan by status.
    pub findings: BTreeMap<String, u64>,
    pub spool_reports: u64,
    pub spool_bytes: u64,
    pub spool_dropped: u64,
    pub spool_quarantined: u64,
    pub spool_write_failures: u64,
    /// Uploads by outcome (`stored`, `duplicate`).
    pub uploads: BTreeMap<String, u64>,
    /// Failed uploads by kind (`unreachable`, `refused_401`, …).
    pub upload_failures: BTreeMap<String, u64>,
}

/// A metric family: name, `counter` or `gauge`, help, and its samples (labels, value).
type Family = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(String, String)>,
);

/// Shared between the agent loop and the server.
#[derive(Debug, Default)]
pub struct Status(Mutex<Counters>);

impl Status {
    pub fn update(&self, change: impl FnOnce(&mut Counters)) {
        if let Ok(mut counters) = self.0.lock() {
            change(&mut counters);
        }
    }

    pub fn snapshot(&self) -> Counters {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The metrics in OpenMetrics text format.
    pub fn metrics(&self) -> String {
        let c = self.snapshot();
        let one = |v: String| vec![(String::new(), v)];
        let labelled = |label: &str, map: &BTreeMap<String, u64>| {
            map.iter()
                .map(|(k, v)| (format!("{{{label}=\"{k}\"}}"), v.to_string()))
                .collect::<Vec<_>>()
        };
        let optional = |v: Option<String>| v.map(one).unwrap_or_default();
        // (name, counter or gauge, help, samples); a family without samples is left out.
        let families: [Family; 13] = [
            (
                "nodecheck_agent_scans",
                "counter",
                "Scans run.",
                one(c.scans.to_string()),
            ),
            (
                "nodecheck_agent_scan_failures",
                "counter",
                "Scans that could not run.",
                one(c.scan_failures.to_string()),
            ),
            (
                "nodecheck_agent_scan_duration_seconds",
                "gauge",
                "Duration of the last scan.",
                one(format!("{:.6}", c.last_scan_seconds)),
            ),
            (
                "nodecheck_agent_last_scan_timestamp_seconds",
                "gauge",
                "When the last successful scan ran.",
                optional(c.last_scan_at.map(|at| at.to_string())),
            ),
            (
                "nodecheck_agent_score",
                "gauge",
                "Score of the last scan (0-100).",
                optional(c.score.map(|s| s.to_string())),
            ),
            (
                "nodecheck_agent_findings",
                "gauge",
                "Findings of the last scan by status.",
                labelled("status", &c.findings),
            ),
            (
                "nodecheck_agent_spool_reports",
                "gauge",
                "Reports in the spool, not yet acknowledged.",
                one(c.spool_reports.to_string()),
            ),
            (
                "nodecheck_agent_spool_bytes",
                "gauge",
                "Bytes of the reports in the spool.",
                one(c.spool_bytes.to_string()),
            ),
            (
                "nodecheck_agent_spool_dropped",
                "counter",
                "Reports dropped, oldest first, to keep the spool within its bounds.",
                one(c.spool_dropped.to_string()),
            ),
            (
                "nodecheck_agent_spool_quarantined",
                "counter",
                "Spooled reports moved to quarantine (damaged, or refused as malformed).",
                one(c.spool_quarantined.to_string()),
            ),
            (
                "nodecheck_agent_spool_write_failures",
                "counter",
                "Reports that could not be written to the spool (sent from memory instead).",
                one(c.spool_write_failures.to_string()),
            ),
            (
                "nodecheck_agent_uploads",
                "counter",
                "Reports the collector acknowledged, by outcome.",
                labelled("outcome", &c.uploads),
            ),
            (
                "nodecheck_agent_upload_failures",
                "counter",
                "Uploads that failed, by kind.",
                labelled("kind", &c.upload_failures),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, samples) in families {
            // Nothing to say yet (no scan, no upload): the family is left out.
            if samples.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# TYPE {name} {kind}\n# HELP {name} {help}");
            let suffix = if kind == "counter" { "_total" } else { "" };
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{suffix}{labels} {value}");
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// Serves the status on `listener` until the process ends; `/metrics` only with `metrics`.
pub fn serve(listener: TcpListener, status: Arc<Status>, metrics: bool) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            answer(stream, &status, metrics);
        }
    });
}

fn answer(mut stream: TcpStream, status: &Status, metrics: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut request = [0u8; 1024];
    let Ok(n) = stream.read(&mut request) else {
        return;
    };
    let line = String::from_utf8_lossy(&request[..n]);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (code, content_type, body) = match (method, path) {
        ("GET", "/healthz") => (200, "text/plain", "ok\n".to_string()),
        ("GET", "/readyz") => {
            let c = status.snapshot();
            if c.last_scan_ok {
                (200, "text/plain", "ready\n".to_string())
            } else if c.scans == 0 {
                (503, "text/plain", "no scan has finished yet\n".to_string())
            } else {
                (503, "text/plain", "the last scan failed\n".to_string())
            }
        }
        ("GET", "/metrics") if metrics => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            status.metrics(),
        ),
        ("GET", _) => (404, "text/plain", "not found\n".to_string()),
        _ => (405, "text/plain", "only GET\n".to_string()),
    };
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_openmetrics() {
        let status = Status::default();
        status.update(|c| {
            c.scans = 3;
            c.score = Some(71);
            c.findings.insert("fail".into(), 4);
            c.uploads.insert("stored".into(), 2);
            c.upload_failures.insert("refused_401".into(), 1);
        });
        let text = status.metrics();
        assert!(text.contains("nodecheck_agent_scans_total 3\n"), "{text}");
        assert!(text.contains("nodecheck_agent_score 71\n"));
        assert!(text.contains("nodecheck_agent_findings{status=\"fail\"} 4\n"));
        assert!(text.contains("nodecheck_agent_upload_failures_total{kind=\"refused_401\"} 1\n"));
        assert!(text.ends_with("# EOF\n"));
        // Every sample's family is declared.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let family = name.strip_suffix("_total").unwrap_or(name);
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }
}

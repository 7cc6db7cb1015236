//! The dashboard: server-rendered HTML that needs no JavaScript, at stable URLs (`/`,
//! `/nodes/{cluster}/{name}`, `/checks/{id}`, `/changes`, `/drift`, `/login`), with inline
//! SVG charts.
//!
//! Everything that came from a node (names, labels, messages, evidence) is HTML-escaped, and
//! URL path segments built from it are percent-encoded. The login form trades a viewer token
//! for an HttpOnly, SameSite=Strict session cookie.

use crate::app::App;
use crate::auth::principal::same_origin;
use crate::auth::{self, Page, Role, SESSION_COOKIE, SESSION_SECONDS};
use crate::store::{ChangeFilter, ChangeRow, Direction, DriftFilter, DriftRow, NodeRow};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use nodecheck_report::{Severity, Status};
use std::fmt::Write;
use std::sync::Arc;

type Shared = Arc<App>;

/// HTML-escapes text.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a URL path segment.
pub fn seg(text: &str) -> String {
    nodecheck_report::url::percent_encode(text)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} · nodecheck</title><style>
body{{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}}
header{{background:#1d2330;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}}
header a{{color:#cfd6e4;text-decoration:none}} header strong{{color:#fff;font-size:16px}}
main{{padding:20px 24px;max-width:1280px;margin:auto}} h1{{font-size:20px;margin:0 0 16px}} h2{{font-size:15px;margin:0 0 10px}}
.grid{{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}}
.card{{background:#fff;border:1px solid #e2e5eb;border-radius:8px;padding:14px 16px}}
.big{{font-size:42px;font-weight:700}} .muted{{color:#6b7385}}
table{{border-collapse:collapse;width:100%}} td,th{{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f4;vertical-align:top}}
th{{font-weight:600;color:#4a5266;font-size:12px;text-transform:uppercase}}
.sev{{font-size:11px;font-weight:700;padding:1px 6px;border-radius:4px;color:#fff}}
.critical{{background:#8b1a1a}} .high{{background:#c0392b}} .medium{{background:#d68910}} .low{{background:#7f8c8d}} .info{{background:#95a5a6}}
.worse{{color:#c0392b;font-weight:600}} .better{{color:#1e8449;font-weight:600}} .neutral{{color:#6b7385}}
.fail{{color:#c0392b;font-weight:600}} .error{{color:#b9770e;font-weight:600}} .pass{{color:#1e8449}} .na{{color:#95a5a6}}
code{{background:#f0f2f5;padding:1px 4px;border-radius:3px;word-break:break-all}} details{{margin:4px 0}}
a{{color:#2457c5}}
</style></head><body><header><strong>nodecheck</strong><a href="/">Fleet</a><a href="/changes">Changes</a><a href="/drift">Drift</a><a href="/api/v1/summary">API</a><a href="/api/v1/nodes.csv">CSV</a><form method="post" action="/logout" style="margin-left:auto"><button type="submit">Log out</button></form></header>
<main>{body}</main></body></html>"#,
        title = esc(title)
    ))
}

fn score_color(score: Option<i64>) -> &'static str {
    match score {
        Some(s) if s >= 90 => "#1e8449",
        Some(s) if s >= 70 => "#d68910",
        Some(_) => "#c0392b",
        None => "#95a5a6",
    }
}

/// A bar chart of the score distribution.
fn histogram(buckets: &[i64]) -> String {
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from(
        r#"<svg viewBox="0 0 300 120" width="100%" role="img" aria-label="score distribution">"#,
    );
    for (i, count) in buckets.iter().enumerate() {
        let h = (*count as f64 / max as f64 * 90.0).round();
        let x = i as f64 * 30.0 + 2.0;
        let color = score_color(Some(i as i64 * 10));
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="26" height="{h}" fill="{color}"><title>{lo}-{hi}: {count} nodes</title></rect><text x="{tx}" y="115" font-size="9" text-anchor="middle" fill="#6b7385">{lo}</text>"##,
            y = 100.0 - h,
            lo = i * 10,
            hi = i * 10 + 9 + usize::from(i == 9),
            tx = x + 13.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line chart of (time, score) points on a 0-100 scale.
fn trend(points: &[(i64, f64)]) -> String {
    if points.len() < 2 {
        return "<p class=\"muted\">Not enough history yet.</p>".into();
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0.max(points[0].0 + 1));
    let coords: Vec<String> = points
        .iter()
        .map(|(t, s)| {
            format!(
                "{:.1},{:.1}",
                (t - t0) as f64 / (t1 - t0) as f64 * 296.0 + 2.0,
                100.0 - s.clamp(0.0, 100.0) * 0.96
            )
        })
        .collect();
    format!(
        r##"<svg viewBox="0 0 300 104" width="100%" role="img" aria-label="score trend"><line x1="0" y1="4" x2="300" y2="4" stroke="#eef0f4"/><line x1="0" y1="52" x2="300" y2="52" stroke="#eef0f4"/><polyline fill="none" stroke="#2457c5" stroke-width="2" points="{}"/></svg>"##,
        coords.join(" ")
    )
}

fn node_link(n: &NodeRow) -> String {
    format!(
        r#"<a href="/nodes/{}/{}">{}/{}</a>"#,
        seg(&n.cluster),
        seg(&n.name),
        esc(&n.cluster),
        esc(&n.name)
    )
}

fn score_cell(score: Option<i64>) -> String {
    format!(
        r##"<span style="color:{};font-weight:700">{}</span>"##,
        score_color(score),
        score.map_or("–".to_string(), |s| s.to_string())
    )
}

/// "3m ago", "2h ago", "5d ago".
fn ago(seconds: i64) -> String {
    match seconds.max(0) {
        s @ 0..60 => format!("{s}s ago"),
        s @ 60..3600 => format!("{}m ago", s / 60),
        s @ 3600..86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// What a change says: the check and its statuses, or the change's own line.
fn change_text(c: &ChangeRow) -> String {
    if c.kind == crate::store::change_kind::CHECK {
        let severity = c
            .severity
            .as_deref()
            .map(|s| format!(r#" <span class="sev {s}">{s}</span>"#, s = esc(s)))
            .unwrap_or_default();
        let message = if c.after.is_some() && !c.detail.is_empty() {
            format!(r#"<div class="muted">{}</div>"#, esc(&c.detail))
        } else {
            String::new()
        };
        format!(
            r#"<a href="/checks/{}"><code>{}</code></a>{severity} {} → {}{message}"#,
            seg(&c.subject),
            esc(&c.subject),
            esc(c.before.as_deref().unwrap_or("new")),
            esc(c.after.as_deref().unwrap_or("not reported")),
        )
    } else {
        esc(&c.detail)
    }
}

/// Rows of changes, newest first; `with_node` adds the node's column.
fn change_rows(changes: &[ChangeRow], with_node: bool, now: i64) -> String {
    let mut out = String::from("<table><tr><th>When</th>");
    if with_node {
        out.push_str("<th>Node</th>");
    }
    out.push_str("<th></th><th>Change</th></tr>");
    for c in changes {
        let node = if with_node {
            format!(
                r#"<td><a href="/nodes/{}/{}">{}/{}</a></td>"#,
                seg(&c.cluster),
                seg(&c.node),
                esc(&c.cluster),
                esc(&c.node)
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            r#"<tr class="change"><td title="report {}">{}</td>{node}<td class="{d}">{d}</td><td>{}</td></tr>"#,
            esc(&c.report_id),
            ago(now - c.at),
            change_text(c),
            d = esc(&c.direction),
        );
    }
    out.push_str("</table>");
    out
}

/// A drifting setting as a table row.
fn drift_row(d: &DriftRow) -> String {
    let value = |v: &Option<String>| match v {
        None => "<span class=\"muted\">unset</span>".to_string(),
        Some(v) => format!("<code>{}</code>", esc(v)),
    };
    let mut minority = String::new();
    for m in &d.minority {
        let names: Vec<String> = m
            .examples
            .iter()
            .map(|n| {
                format!(
                    r#"<a href="/nodes/{}/{}">{}</a>"#,
                    seg(&d.cluster),
                    seg(n),
                    esc(n)
                )
            })
            .collect();
        let more = m.nodes - m.examples.len() as i64;
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = write!(
            minority,
            r#"<div><span class="worse">{}</span> of {}: {} <span class="muted">({}{more})</span></div>"#,
            m.nodes,
            d.group_nodes,
            value(&m.value),
            names.join(", ")
        );
    }
    format!(
        r#"<tr class="drift"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{} of {}: {}</td><td>{minority}</td></tr>"#,
        esc(&d.cluster),
        esc(&d.peer_group),
        esc(&d.setting),
        d.majority.nodes,
        d.group_nodes,
        value(&d.majority.value)
    )
}

fn drift_table(drift: &[DriftRow]) -> String {
    let mut out = String::from(
        "<table><tr><th>Cluster</th><th>Peers</th><th>Setting</th><th>Most nodes</th><th>The others</th></tr>",
    );
    for d in drift {
        out.push_str(&drift_row(d));
    }
    out.push_str("</table>");
    out
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("dashboard: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        page(
            "Error",
            "<h1>Storage error</h1><p>See the collector's log.</p>",
        ),
    )
        .into_response()
}

async fn overview(State(app): State<Shared>, _page: Page) -> Response {
    let store_app = app.clone();
    let data = tokio::task::spawn_blocking(move || {
        let s = &store_app.store;
        let now = now();
        Ok::<_, crate::store::StoreError>((
            s.summary(now)?,
            s.worst_nodes(10, now)?,
            s.checks()?,
            s.stale_nodes(20, now)?,
            s.changes(&ChangeFilter {
                limit: 15,
                ..Default::default()
            })?,
        ))
    })
    .await;
    let (summary, worst, checks, stale, recent) = match data {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let buckets: Vec<i64> = summary["score_distribution"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
        .unwrap_or_default();
    let points: Vec<(i64, f64)> = summary["trend"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p["day"].as_i64()?, p["mean_score"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let fleet = summary["fleet_score"].as_i64();
    let mut body = String::from("<h1>Fleet</h1><div class=\"grid\">");
    let _ = write!(
        body,
        r##"<div class="card"><h2>Fleet score</h2><div class="big" style="color:{}">{}</div><div class="muted">{} nodes · {} stale</div></div>"##,
        score_color(fleet),
        fleet.map_or("–".into(), |s| s.to_string()),
        summary["nodes"].as_i64().unwrap_or(0),
        summary["stale_nodes"].as_i64().unwrap_or(0)
    );
    let _ = write!(
        body,
        r#"<div class="card"><h2>Score distribution</h2>{}</div>"#,
        histogram(&buckets)
    );
    let _ = write!(
        body,
        r#"<div class="card"><h2>Fleet trend (30 days)</h2>{}</div></div><div class="grid" style="margin-top:16px">"#,
        trend(&points)
    );
    body.push_str(r#"<div class="card"><h2>Worst nodes</h2><table><tr><th>Node</th><th>Score</th><th>Failing</th></tr>"#);
    for n in &worst {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            node_link(n),
            score_cell(n.score),
            n.failing
        );
    }
    body.push_str(r#"</table></div><div class="card"><h2>Most-failed checks</h2><table><tr><th>Check</th><th>Severity</th><th>Nodes</th></tr>"#);
    for c in checks.iter().filter(|c| c.failing_nodes > 0).take(10) {
        let _ = write!(
            body,
            r#"<tr><td><a href="/checks/{}">{}</a><div class="muted">{}</div></td><td><span class="sev {}">{}</span></td><td>{}</td></tr>"#,
            seg(&c.id),
            esc(&c.id),
            esc(&c.title),
            esc(&c.severity),
            esc(&c.severity),
            c.failing_nodes
        );
    }
    body.push_str(r#"</table></div><div class="card"><h2>Stale nodes</h2>"#);
    if stale.is_empty() {
        body.push_str("<p class=\"muted\">Every node reported within three of its intervals.</p>");
    } else {
        body.push_str("<table><tr><th>Node</th><th>Last seen</th></tr>");
        for n in &stale {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{} min ago</td></tr>",
                node_link(n),
                (now() - n.last_seen) / 60
            );
        }
        body.push_str("</table>");
    }
    body.push_str(
        r#"</div></div><div class="card" style="margin-top:16px"><h2>Recent changes</h2>"#,
    );
    if recent.is_empty() {
        body.push_str("<p class=\"muted\">No node has changed since it first reported.</p>");
    } else {
        body.push_str(&change_rows(&recent, true, now()));
        body.push_str(r#"<p><a href="/changes">All changes</a> · <a href="/changes?direction=worse">Regressions</a> · <a href="/drift">Drift from peers</a></p>"#);
    }
    body.push_str("</div>");
    page("Fleet", &body).into_response()
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Fail => "fail",
        Status::Error => "error",
        Status::Pass => "pass",
        Status::NotApplicable => "na",
    }
}

async fn node_page(
    State(app): State<Shared>,
    _page: Page,
    Path((cluster, name)): Path<(String, String)>,
) -> Response {
    let store_app = app.clone();
    let (c, n) = (cluster.clone(), name.clone());
    let found = match tokio::task::spawn_blocking(move || {
        let s = &store_app.store;
        let Some(node) = s.node(&c, &n)? else {
            return Ok(None);
        };
        let changes = s.changes(&ChangeFilter {
            cluster: Some(c.clone()),
            node: Some(n.clone()),
            limit: 30,
            ..Default::default()
        })?;
        let drift = s.drift(&DriftFilter {
            cluster: Some(c),
            node: Some(n),
            limit: 50,
            ..Default::default()
        })?;
        Ok::<_, crate::store::StoreError>(Some((node, changes, drift)))
    })
    .await
    {
        Ok(Ok(found)) => found.map(|(node, changes, drift)| (node, (changes, drift))),
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let Some(((report, history), (changes, drift))) = found else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<h1>No such node</h1>"),
        )
            .into_response();
    };
    let mut body = format!(
        r#"<h1>{}/{} {}</h1><p class="muted">{} · roles {} · agent {} · profile {} · report <a href="/api/v1/nodes/{}/{}">{}</a> at {}</p><div class="grid"><div class="card"><h2>Score trend</h2>{}</div></div>"#,
        esc(&report.node.cluster),
        esc(&report.node.name),
        score_cell(report.score.map(i64::from)),
        esc(report.node.os.as_deref().unwrap_or("unknown OS")),
        esc(&report
            .node
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")),
        esc(&report.agent.version),
        esc(&report.profile.name),
        seg(&cluster),
        seg(&name),
        esc(&report.id),
        esc(&report.started_at),
        trend(
            &history
                .iter()
                .filter_map(|(t, s)| Some((*t, (*s)? as f64)))
                .collect::<Vec<_>>()
        )
    );
    for severity in Severity::ALL {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity && matches!(f.status, Status::Fail | Status::Error))
            .collect();
        if findings.is_empty() {
            continue;
        }
        let _ = write!(
            body,
            r#"<div class="card" style="margin-top:16px"><h2><span class="sev {s}">{s}</span> {} failing</h2>"#,
            findings.len(),
            s = severity.as_str()
        );
        for f in findings {
            let waiver = f
                .waiver
                .as_ref()
                .map(|w| format!(" <span class=\"muted\">waived: {}</span>", esc(&w.reason)))
                .unwrap_or_default();
            let _ = write!(
                body,
                r#"<details open><summary><span class="{}">{}</span> <a href="/checks/{}"><code>{}</code></a> {}{}</summary><p>{}</p>"#,
                status_class(f.status),
                f.status.as_str(),
                seg(&f.id),
                esc(&f.id),
                esc(&f.title),
                waiver,
                esc(&f.message)
            );
            body.push_str(&evidence_table(&f.evidence));
            if !f.rationale.is_empty() {
                let _ = write!(
                    body,
                    "<p class=\"muted\"><strong>Why it matters:</strong> {}</p>",
                    esc(&f.rationale)
                );
            }
            let _ = write!(
                body,
                "<p><strong>Fix:</strong> {}</p></details>",
                esc(&f.remediation)
            );
        }
        body.push_str("</div>");
    }
    body.push_str(
        r#"<div class="grid" style="margin-top:16px"><div class="card"><h2>Changes</h2>"#,
    );
    if changes.is_empty() {
        body.push_str("<p class=\"muted\">No change between its reports yet.</p>");
    } else {
        body.push_str(&change_rows(&changes, false, now()));
    }
    body.push_str(r#"</div><div class="card"><h2>Unlike its peers</h2>"#);
    if drift.is_empty() {
        body.push_str(
            "<p class=\"muted\">Its settings are those of most nodes of its cluster and roles.</p>",
        );
    } else {
        body.push_str(&drift_table(&drift));
    }
    body.push_str("</div></div>");
    let passed = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Pass)
        .count();
    let _ = write!(
        body,
        r#"<p class="muted">{passed} checks pass; {} do not apply.</p>"#,
        report
            .findings
            .iter()
            .filter(|f| f.status == Status::NotApplicable)
            .count()
    );
    page(
        &format!("{}/{}", report.node.cluster, report.node.name),
        &body,
    )
    .into_response()
}

/// The change feed's page filters, as the query string gives them.
#[derive(Debug, Default, serde::Deserialize)]
struct ChangesPageQuery {
    cluster: Option<String>,
    node: Option<String>,
    check: Option<String>,
    direction: Option<String>,
    before: Option<i64>,
}

async fn changes_page(
    State(app): State<Shared>,
    _page: Page,
    query: Result<axum::extract::Query<ChangesPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // A query string the form did not make shows the unfiltered page.
    let query = query.map(|q| q.0).unwrap_or_default();
    let filter = ChangeFilter {
        cluster: query.cluster.clone().filter(|c| !c.is_empty()),
        node: query.node.clone().filter(|n| !n.is_empty()),
        check: query.check.clone().filter(|c| !c.is_empty()),
        direction: query.direction.as_deref().and_then(Direction::parse),
        before_id: query.before,
        limit: 100,
        ..Default::default()
    };
    let store_app = app.clone();
    let reading = filter.clone();
    let changes = match tokio::task::spawn_blocking(move || store_app.store.changes(&reading)).await
    {
        Ok(Ok(changes)) => changes,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let mut body = String::from("<h1>Changes</h1>");
    let selected = |d: &str| {
        if filter.direction.map(Direction::as_str) == Some(d) {
            " selected"
        } else {
            ""
        }
    };
    let _ = write!(
        body,
        r#"<form method="get" action="/changes" class="card">Cluster <input name="cluster" value="{}"> Node <input name="node" value="{}"> Check <input name="check" value="{}"> <select name="direction"><option value="">any direction</option><option{} value="worse">worse</option><option{} value="better">better</option><option{} value="neutral">neutral</option></select> <button type="submit">Filter</button></form><div class="card" style="margin-top:16px">"#,
        esc(filter.cluster.as_deref().unwrap_or_default()),
        esc(filter.node.as_deref().unwrap_or_default()),
        esc(filter.check.as_deref().unwrap_or_default()),
        selected("worse"),
        selected("better"),
        selected("neutral"),
    );
    if changes.is_empty() {
        body.push_str("<p class=\"muted\">No change matches.</p>");
    } else {
        body.push_str(&change_rows(&changes, true, now()));
    }
    if changes.len() == filter.limit
        && let Some(last) = changes.last()
    {
        let mut more = format!("before={}", last.id);
        for (name, value) in [
            ("cluster", &filter.cluster),
            ("node", &filter.node),
            ("check", &filter.check),
        ] {
            if let Some(value) = value {
                more.push_str(&format!("&{name}={}", seg(value)));
            }
        }
        if let Some(direction) = filter.direction {
            more.push_str(&format!("&direction={}", direction.as_str()));
        }
        let _ = write!(
            body,
            r#"<p><a href="/changes?{}">Older changes</a></p>"#,
            esc(&more)
        );
    }
    body.push_str("</div>");
    page("Changes", &body).into_response()
}

/// The drift page's filters.
#[derive(Debug, Default, serde::Deserialize)]
struct DriftPageQuery {
    cluster: Option<String>,
    role: Option<String>,
    setting: Option<String>,
}

async fn drift_page(
    State(app): State<Shared>,
    _page: Page,
    query: Result<axum::extract::Query<DriftPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // A query string the form did not make shows the unfiltered page.
    let query = query.map(|q| q.0).unwrap_or_default();
    let filter = DriftFilter {
        cluster: query.cluster.filter(|c| !c.is_empty()),
        role: query.role.filter(|r| !r.is_empty()),
        setting: query.setting.filter(|s| !s.is_empty()),
        node: None,
        limit: 500,
    };
    let store_app = app.clone();
    let reading = filter.clone();
    let drift = match tokio::task::spawn_blocking(move || store_app.store.drift(&reading)).await {
        Ok(Ok(drift)) => drift,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let mut body = String::from(
        "<h1>Drift from peers</h1><p class=\"muted\">Settings on which some nodes differ from most nodes of their cluster and roles, even where every value passes. Nodes that stopped reporting do not count.</p>",
    );
    let _ = write!(
        body,
        r#"<form method="get" action="/drift" class="card">Cluster <input name="cluster" value="{}"> Role <input name="role" value="{}"> Setting <input name="setting" value="{}" placeholder="kubelet:"> <button type="submit">Filter</button></form><div class="card" style="margin-top:16px">"#,
        esc(filter.cluster.as_deref().unwrap_or_default()),
        esc(filter.role.as_deref().unwrap_or_default()),
        esc(filter.setting.as_deref().unwrap_or_default()),
    );
    if drift.is_empty() {
        body.push_str("<p class=\"muted\">Every peer group is configured alike.</p>");
    } else {
        body.push_str(&drift_table(&drift));
    }
    body.push_str("</div>");
    page("Drift", &body).into_response()
}

async fn check_page(State(app): State<Shared>, _page: Page, Path(id): Path<String>) -> Response {
    let store_app = app.clone();
    let found = match tokio::task::spawn_blocking(move || store_app.store.check(&id, 500)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let Some((check, failing)) = found else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<h1>No such check</h1>"),
        )
            .into_response();
    };
    let mut body = format!(
        r#"<h1><code>{}</code> <span class="sev {sev}">{sev}</span></h1><p>{}</p>"#,
        esc(&check.id),
        esc(&check.title),
        sev = esc(&check.severity)
    );
    if !check.rationale.is_empty() {
        let _ = write!(
            body,
            "<p><strong>Why it matters:</strong> {}</p>",
            esc(&check.rationale)
        );
    }
    let _ = write!(
        body,
        r#"<p><strong>Fix:</strong> {}</p><div class="card"><h2>{} failing nodes</h2><table><tr><th>Node</th><th>Why</th></tr>"#,
        esc(&check.remediation),
        check.failing_nodes,
    );
    for node in &failing {
        let _ = write!(
            body,
            r#"<tr><td><a href="/nodes/{}/{}">{}/{}</a></td><td>{}{}</td></tr>"#,
            seg(&node.cluster),
            seg(&node.name),
            esc(&node.cluster),
            esc(&node.name),
            esc(&node.message),
            evidence_table(&node.evidence)
        );
    }
    body.push_str("</table></div>");
    page(&check.id, &body).into_response()
}

/// Evidence as a table: subject, observed, expected, source (empty when there is none).
fn evidence_table(evidence: &[nodecheck_report::Evidence]) -> String {
    if evidence.is_empty() {
        return String::new();
    }
    let mut table = String::from(
        "<table><tr><th>Subject</th><th>Observed</th><th>Expected</th><th>Source</th></tr>",
    );
    for e in evidence {
        let _ = write!(
            table,
            r#"<tr><td class="{}">{}</td><td><code>{}</code></td><td>{}</td><td>{}{}</td></tr>"#,
            status_class(e.status),
            esc(&e.subject),
            esc(e.observed.as_deref().unwrap_or("(not set)")),
            esc(&e.expected),
            esc(&e.source.to_string()),
            e.note
                .as_deref()
                .map(|n| format!("<div class=\"muted\">{}</div>", esc(n)))
                .unwrap_or_default()
        );
    }
    table.push_str("</table>");
    table
}

async fn login_form() -> Html<String> {
    page(
        "Log in",
        r#"<h1>Log in</h1><div class="card" style="max-width:420px"><form method="post" action="/login"><p><label>Viewer token<br><input name="token" type="password" autocomplete="off" style="width:100%"></label></p><p><button type="submit">Log in</button></p></form></div>"#,
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    token: String,
}

/// A refusal of a form posted from another site: logging a visitor into someone else's
/// session (login CSRF) or out of theirs needs only a form on any page.
fn cross_site() -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            "Log in",
            "<h1>Refused</h1><p>This form was sent from another site.</p>",
        ),
    )
        .into_response()
}

/// A login form holds one token: anything longer is no login.
const LOGIN_FORM_BYTES: usize = 4 * 1024;

async fn login(
    State(app): State<Shared>,
    headers: HeaderMap,
    connection: Option<axum::Extension<crate::server::ConnectionHandle>>,
    body: axum::body::Body,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    // The form comes from a visitor the collector does not know yet: it is read small, at the
    // minimum rate, and its connection may be closed for room meanwhile.
    let reading = connection.map(|c| c.0.reading_anonymous_body());
    let body = crate::ingest::read_body(body, LOGIN_FORM_BYTES, app.limits()).await;
    drop(reading);
    let refused = |status: StatusCode| {
        (
            status,
            page(
                "Log in",
                "<h1>Not a login form</h1><p><a href=\"/login\">Try again</a></p>",
            ),
        )
            .into_response()
    };
    let form = match body {
        Err(e) => return refused(e.0),
        Ok(bytes) => match serde_urlencoded::from_bytes::<LoginForm>(&bytes) {
            Ok(form) => form,
            Err(_) => return refused(StatusCode::BAD_REQUEST),
        },
    };
    let store_app = app.clone();
    let token = form.token.trim().to_string();
    let row =
        tokio::task::spawn_blocking(move || store_app.store.find_token(&auth::hash(&token))).await;
    let Ok(Ok(Some(row))) = row else {
        return (
            StatusCode::UNAUTHORIZED,
            page(
                "Log in",
                "<h1>Unknown token</h1><p><a href=\"/login\">Try again</a></p>",
            ),
        )
            .into_response();
    };
    if row.revoked || row.expired(now()) {
        return (
            StatusCode::FORBIDDEN,
            page(
                "Log in",
                "<h1>This token is revoked or has expired</h1><p><a href=\"/login\">Try again</a></p>",
            ),
        )
            .into_response();
    }
    if !Role::parse(&row.role).is_some_and(Role::can_read) {
        return (
            StatusCode::FORBIDDEN,
            page(
                "Log in",
                "<h1>This token may not read</h1><p><a href=\"/login\">Try again</a></p>",
            ),
        )
            .into_response();
    }
    let Ok(session) = auth::generate() else {
        return internal("no randomness for a session id");
    };
    let now = now();
    // A session never outlives its token.
    let expiry = row
        .expires_at
        .map_or(now + SESSION_SECONDS, |at| at.min(now + SESSION_SECONDS));
    let session_hash = auth::hash(&session);
    let store_app = app.clone();
    let stored = tokio::task::spawn_blocking(move || {
        store_app
            .store
            .add_session(&session_hash, row.id, expiry, now)
    })
    .await;
    match stored {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    }
    with_session_cookie(&app, &session, SESSION_SECONDS, "/")
}

/// A redirect to `to` that sets the session cookie (`Max-Age=0` ends it): HttpOnly, strict
/// same-site, `Secure` under TLS.
fn with_session_cookie(app: &App, value: &str, max_age: i64, to: &str) -> Response {
    let secure = if app.tls { "; Secure" } else { "" };
    (
        [(
            header::SET_COOKIE,
            format!(
                "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
            ),
        )],
        Redirect::to(to),
    )
        .into_response()
}

/// Ends the session (in the database, so on every replica) and clears the cookie.
async fn logout(State(app): State<Shared>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    if let Some(session) = auth::principal::session_cookie(&headers) {
        let hashed = auth::hash(&session);
        let store_app = app.clone();
        match tokio::task::spawn_blocking(move || store_app.store.delete_session(&hashed)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return internal(e),
            Err(e) => return internal(e),
        }
    }
    with_session_cookie(&app, "", 0, "/login")
}

/// The dashboard routes.
pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/nodes/{cluster}/{name}", get(node_page))
        .route("/checks/{id}", get(check_page))
        .route("/changes", get(changes_page))
        .route("/drift", get(drift_page))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .with_state(app)
}

//! The HTTP API under `/api/v1`, plus `/metrics`, `/healthz` and `/readyz`: routing and
//! handlers. Who may call what is decided by the extractors of [`crate::auth`] each handler
//! takes; what happens to a report by [`crate::ingest`].
//!
//! Ingest accepts a `nodecheck.report/v1` report, gzip or not, capped in size before and after
//! decompression, validated field by field (a 400 names what is wrong and which schema
//! versions are supported), refused for nodes outside the agent token's scope, and
//! acknowledged only once its transaction is durable. Reads need a viewer token or a dashboard
//! session unless the collector runs with `--anonymous-read`.

use crate::auth::{self, Admin, Agent, Enroller, Reader};
use crate::ingest::{MAX_BODY_BYTES, Parsed, parse_report, read_body};
use crate::store::{
    ChangeFilter, Direction, DriftFilter, Ingested, NodeCursor, NodeFilter, NodeSort, Store,
    StoreError, TokenSpec,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::app::App;

type Shared = Arc<App>;

/// An error response: a status and one clear message, as JSON.
#[derive(Debug)]
pub struct ApiError(pub(crate) StatusCode, pub(crate) String);

/// The longest message a refusal carries: whatever quotes a sender's text is cut to this.
const MAX_ERROR_CHARS: usize = 1024;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = crate::ingest::clip(&self.1, MAX_ERROR_CHARS);
        (self.0, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!("store: {e}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "storage error".into())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn blocking<T: Send + 'static>(
    app: &Shared,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app.store))
        .await
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into()))?
        .map_err(ApiError::from)
}

pub(crate) fn bad(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

async fn post_report(
    State(app): State<Shared>,
    Agent(token): Agent,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let arrived = std::time::Instant::now();
    let result: Result<Response, ApiError> = async {
        // Only now, for a known agent, is the body read; a bounded number at once, so that
        // memory stays bounded whatever the number of agents posting.
        let Ok(_slot) = app.ingest_slots.clone().try_acquire_owned() else {
            app.ingest_busy.fetch_add(1, Ordering::Relaxed);
            return Ok(crate::server::busy(&format!(
                "{} reports are being received; retry later",
                app.limits.max_ingest
            )));
        };
        let body = read_body(body, MAX_BODY_BYTES, &app.limits).await?;
        // Decompressing, parsing and compressing a report is CPU work of up to tens of
        // milliseconds for the largest; it runs off the async workers.
        let Parsed {
            mut incoming,
            claimed_score,
        } = {
            let headers = headers.clone();
            tokio::task::spawn_blocking(move || parse_report(&headers, &body))
                .await
                .map_err(|e| {
                    ApiError(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("report parser failed: {e}"),
                    )
                })??
        };
        let report = &incoming.report;
        if !auth::in_scope(&token, &report.node.cluster, &report.node.name) {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                format!(
                    "token {:?} may not post for {}/{}",
                    token.name, report.node.cluster, report.node.name
                ),
            ));
        }
        if let Some(claimed) = claimed_score {
            app.score_mismatches.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                node = %format_args!("{}/{}", report.node.cluster, report.node.name),
                report = %report.id,
                "the report claimed score {} but its findings give {}; stored the latter",
                claimed.map_or("null".to_string(), |s| s.to_string()),
                report.score.map_or("null".to_string(), |s| s.to_string()),
            );
        }
        let id = report.id.clone();
        let node = format!("{}/{}", report.node.cluster, report.node.name);
        // Collector-issued tokens with a node limit (a TokenReview-vouched token has id 0 and
        // speaks for its one node).
        if let Some(max_nodes) = token.max_nodes
            && token.id > 0
        {
            incoming.creator = Some(crate::store::Creator {
                token_id: token.id,
                max_nodes,
            });
        }
        let outcome = app.ingest(incoming).await?;
        app.ingest_latency.observe(arrived.elapsed());
        Ok(match outcome {
            Ingested::Stored => {
                app.ingested.fetch_add(1, Ordering::Relaxed);
                (
                    StatusCode::CREATED,
                    Json(serde_json::json!({ "id": id, "status": "stored" })),
                )
                    .into_response()
            }
            Ingested::Duplicate => {
                app.duplicates.fetch_add(1, Ordering::Relaxed);
                (
                    StatusCode::OK,
                    Json(serde_json::json!({ "id": id, "status": "duplicate" })),
                )
                    .into_response()
            }
            Ingested::NodeLimit { max } => {
                return Err(ApiError(
                    StatusCode::FORBIDDEN,
                    format!(
                        "token {:?} may create at most {max} nodes, and has: it may not add {node}",
                        token.name
                    ),
                ));
            }
        })
    }
    .await;
    if result.is_err() {
        app.rejected.fetch_add(1, Ordering::Relaxed);
    }
    result
}

async fn summary(
    State(app): State<Shared>,
    _reader: Reader,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(blocking(&app, |s| s.summary(now())).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesQuery {
    cluster: Option<String>,
    role: Option<String>,
    stale: Option<bool>,
    min_score: Option<i64>,
    max_score: Option<i64>,
    limit: Option<usize>,
    /// `name` (default), `score`, `-score` or `last_seen`.
    sort: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The node filter of a query string; a bad one is refused (after authentication, in the
/// API's JSON error shape) with what is wrong in it.
fn filter(query: Result<Query<NodesQuery>, QueryRejection>) -> Result<NodeFilter, ApiError> {
    let query = query_of(query)?;
    let sort = match query.sort.as_deref() {
        None => NodeSort::Name,
        Some(text) => NodeSort::parse(text).ok_or_else(|| {
            bad(format!(
                "unknown sort {text:?}: expected one of {}",
                NodeSort::NAMES
            ))
        })?,
    };
    let after = match query.cursor {
        Some(c) => Some(
            NodeCursor::decode(&c, sort)
                .ok_or_else(|| bad("cursor must be a next_cursor returned for the same sort"))?,
        ),
        None => None,
    };
    Ok(NodeFilter {
        sort,
        cluster: query.cluster,
        role: query.role,
        stale: query.stale,
        min_score: query.min_score,
        max_score: query.max_score,
        after,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
    })
}

async fn nodes(
    State(app): State<Shared>,
    _reader: Reader,
    query: Result<Query<NodesQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let filter = filter(query)?;
    let (limit, sort) = (filter.limit, filter.sort);
    let rows = blocking(&app, move |s| s.nodes(&filter, now())).await?;
    let next = (rows.len() == limit)
        .then(|| {
            rows.last().map(|r| {
                NodeCursor {
                    key: sort.key_of(r),
                    cluster: r.cluster.clone(),
                    name: r.name.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(Json(
        serde_json::json!({ "nodes": rows, "next_cursor": next }),
    ))
}

/// A CSV field, quoted, with spreadsheet formulas defused: a value a spreadsheet would
/// evaluate (beginning with `=`, `+`, `-`, `@`, a TAB or a CR, as OWASP's CSV injection advice
/// lists) gets a leading `'`.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
}

async fn nodes_csv(
    State(app): State<Shared>,
    _reader: Reader,
    query: Result<Query<NodesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let mut filter = filter(query)?;
    filter.limit = usize::MAX;
    let rows = blocking(&app, move |s| s.nodes(&filter, now())).await?;
    let mut out = String::from("cluster,name,roles,score,failing,last_seen,stale,agent_version\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&r.cluster),
            csv_field(&r.name),
            csv_field(&r.roles.join(" ")),
            r.score.map(|s| s.to_string()).unwrap_or_default(),
            r.failing,
            r.last_seen,
            r.stale,
            csv_field(&r.agent_version)
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}

async fn node(
    State(app): State<Shared>,
    _reader: Reader,
    Path((cluster, name)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let found = blocking(&app, move |s| {
        Ok::<_, StoreError>(match s.node(&cluster, &name)? {
            Some(node) => Some((node, s.kubernetes_node(&cluster, &name)?)),
            None => None,
        })
    })
    .await?;
    let ((report, history), kubernetes) =
        found.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no such node".into()))?;
    let history: Vec<serde_json::Value> = history
        .into_iter()
        .map(|(at, score)| serde_json::json!({ "at": at, "score": score }))
        .collect();
    // What the cluster's Node object says, when the collector reads them.
    let kubernetes = kubernetes.map(|(labels, roles, kubelet_version)| {
        serde_json::json!({ "labels": labels, "roles": roles, "kubelet_version": kubelet_version })
    });
    Ok(Json(serde_json::json!({
        "report": report,
        "score_history": history,
        "kubernetes": kubernetes,
    })))
}

async fn checks(
    State(app): State<Shared>,
    _reader: Reader,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        serde_json::json!({ "checks": blocking(&app, |s| s.checks()).await? }),
    ))
}

async fn check(
    State(app): State<Shared>,
    _reader: Reader,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let found = blocking(&app, move |s| s.check(&id, 1000)).await?;
    let (row, failing) =
        found.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no such check".into()))?;
    Ok(Json(
        serde_json::json!({ "check": row, "failing_nodes": failing }),
    ))
}

/// A bad query string refused in the API's JSON error shape, with what is wrong in it.
fn query_of<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        let detail = rejection.body_text();
        bad(detail
            .strip_prefix("Failed to deserialize query string: ")
            .map_or(detail.clone(), |d| format!("bad query string: {d}")))
    })?;
    Ok(query)
}

/// `since`: Unix seconds, or a time ago (`90s`, `30m`, `24h`, `7d`).
pub fn parse_since(text: &str, now: i64) -> Option<i64> {
    if let Ok(unix) = text.parse::<i64>() {
        return (unix >= 0).then_some(unix);
    }
    let unit_len = text.chars().last()?.len_utf8();
    let (number, unit) = text.split_at(text.len() - unit_len);
    let number: i64 = number.parse().ok().filter(|n| *n >= 0)?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(now.saturating_sub(number.checked_mul(seconds)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    cluster: Option<String>,
    node: Option<String>,
    check: Option<String>,
    severity: Option<String>,
    /// `worse`, `better` or `neutral`.
    direction: Option<String>,
    kind: Option<String>,
    /// Unix seconds, or a time ago (`24h`).
    since: Option<String>,
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// An id cursor (`next_cursor` of the change feed and the deliveries: the last id listed).
fn id_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|cursor| {
            cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| bad("cursor must be a next_cursor returned by this endpoint"))
        })
        .transpose()
}

/// The kinds of change, for a `kind` filter.
const CHANGE_KINDS: &[&str] = &[
    crate::store::change_kind::CHECK,
    crate::store::change_kind::SCORE,
    crate::store::change_kind::LISTENER,
    crate::store::change_kind::SHELL_IMAGE,
    crate::store::change_kind::AGENT_VERSION,
    crate::store::change_kind::KUBELET_VERSION,
    crate::store::change_kind::NODE,
];

/// The change filter of a query string, or what is wrong with it.
pub fn change_filter(query: ChangesQuery, now: i64) -> Result<ChangeFilter, ApiError> {
    if query.node.is_some() && query.cluster.is_none() {
        return Err(bad(
            "node needs cluster: a node is named within its cluster",
        ));
    }
    let direction = match query.direction.as_deref() {
        None => None,
        Some(text) => Some(Direction::parse(text).ok_or_else(|| {
            bad(format!(
                "unknown direction {text:?}: expected one of {}",
                Direction::NAMES
            ))
        })?),
    };
    if let Some(severity) = &query.severity
        && nodecheck_report::Severity::parse(severity).is_none()
    {
        return Err(bad(format!(
            "unknown severity {severity:?}: expected critical, high, medium, low or info"
        )));
    }
    if let Some(kind) = &query.kind
        && !CHANGE_KINDS.contains(&kind.as_str())
    {
        return Err(bad(format!(
            "unknown kind {kind:?}: expected one of {}",
            CHANGE_KINDS.join(", ")
        )));
    }
    let since = match &query.since {
        None => None,
        Some(text) => Some(parse_since(text, now).ok_or_else(|| {
            bad(format!(
                "since {text:?} must be Unix seconds or a time ago such as 30m, 24h or 7d"
            ))
        })?),
    };
    let before_id = id_cursor(query.cursor.as_deref())?;
    Ok(ChangeFilter {
        cluster: query.cluster,
        node: query.node,
        check: query.check,
        severity: query.severity,
        direction,
        kind: query.kind,
        since,
        before_id,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
    })
}

async fn changes(
    State(app): State<Shared>,
    _reader: Reader,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let filter = change_filter(query_of(query)?, now())?;
    let limit = filter.limit;
    let rows = blocking(&app, move |s| s.changes(&filter)).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(
        serde_json::json!({ "changes": rows, "next_cursor": next }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftQuery {
    cluster: Option<String>,
    role: Option<String>,
    /// Settings whose key begins so (`kubelet:`).
    setting: Option<String>,
    /// One node's drift (with `cluster`).
    node: Option<String>,
    limit: Option<usize>,
}

async fn drift(
    State(app): State<Shared>,
    _reader: Reader,
    query: Result<Query<DriftQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let query = query_of(query)?;
    if query.node.is_some() && query.cluster.is_none() {
        return Err(bad(
            "node needs cluster: a node is named within its cluster",
        ));
    }
    let filter = DriftFilter {
        cluster: query.cluster,
        role: query.role,
        setting: query.setting,
        node: query.node,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
    };
    let rows = blocking(&app, move |s| s.drift(&filter)).await?;
    Ok(Json(serde_json::json!({ "drift": rows })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `dead` (the dead-letter list).
    state: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Webhook deliveries, newest first: the dead-letter list with `state=dead`.
async fn deliveries(
    State(app): State<Shared>,
    _reader: Reader,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let query = query_of(query)?;
    if let Some(state) = &query.state
        && !crate::store::DELIVERY_STATES.contains(&state.as_str())
    {
        return Err(bad(format!(
            "unknown state {state:?}: expected one of {}",
            crate::store::DELIVERY_STATES.join(", ")
        )));
    }
    let before_id = id_cursor(query.cursor.as_deref())?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let state = query.state;
    let rows = blocking(&app, move |s| {
        s.deliveries(state.as_deref(), before_id, limit)
    })
    .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(
        serde_json::json!({ "deliveries": rows, "next_cursor": next }),
    ))
}

/// A row id from the path, or a 400 naming what it should have been.
fn numeric_id(what: &str, id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| bad(format!("{what} id {id:?} is not a number")))
}

/// Sends a dead-lettered delivery again, its attempts starting over.
async fn retry_delivery(
    State(app): State<Shared>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = numeric_id("delivery", &id)?;
    if blocking(&app, move |s| s.retry_delivery(id, now())).await? {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no dead-lettered delivery with id {id}"),
        ))
    }
}

/// Escapes an OpenMetrics label value: the format's three escapes, and any other control
/// character (CR, ESC, …) replaced by U+FFFD so no scraper or terminal acts on it.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

async fn metrics(State(app): State<Shared>, _reader: Reader) -> Result<Response, ApiError> {
    let data = blocking(&app, |s| {
        let filter = NodeFilter {
            limit: usize::MAX,
            ..NodeFilter::default()
        };
        Ok((
            s.nodes(&filter, now())?,
            s.checks()?,
            s.report_count()?,
            s.delivery_counts()?,
        ))
    })
    .await?;
    let (nodes, checks, reports, deliveries) = data;
    let mut out = String::new();
    out.push_str("# TYPE nodecheck_node_score gauge\n# HELP nodecheck_node_score Latest score of a node (0-100).\n");
    for n in &nodes {
        if let Some(score) = n.score {
            out.push_str(&format!(
                "nodecheck_node_score{{cluster=\"{}\",node=\"{}\"}} {score}\n",
                label(&n.cluster),
                label(&n.name)
            ));
        }
    }
    out.push_str(
        "# TYPE nodecheck_nodes gauge\n# HELP nodecheck_nodes Nodes known to the collector.\n",
    );
    out.push_str(&format!("nodecheck_nodes {}\n", nodes.len()));
    out.push_str("# TYPE nodecheck_stale_nodes gauge\n# HELP nodecheck_stale_nodes Nodes not heard from for three report intervals.\n");
    out.push_str(&format!(
        "nodecheck_stale_nodes {}\n",
        nodes.iter().filter(|n| n.stale).count()
    ));
    out.push_str("# TYPE nodecheck_check_failing_nodes gauge\n# HELP nodecheck_check_failing_nodes Nodes failing a check, with the check's severity.\n");
    for c in &checks {
        out.push_str(&format!(
            "nodecheck_check_failing_nodes{{check=\"{}\",severity=\"{}\"}} {}\n",
            label(&c.id),
            label(&c.severity),
            c.failing_nodes
        ));
    }
    out.push_str("# TYPE nodecheck_webhook_deliveries gauge\n# HELP nodecheck_webhook_deliveries Webhook deliveries kept, by state (dead: dead-lettered).\n");
    for state in crate::store::DELIVERY_STATES {
        let count = deliveries
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n);
        out.push_str(&format!(
            "nodecheck_webhook_deliveries{{state=\"{state}\"}} {count}\n"
        ));
    }
    out.push_str("# TYPE nodecheck_reports_stored gauge\n# HELP nodecheck_reports_stored Full reports kept.\n");
    out.push_str(&format!("nodecheck_reports_stored {reports}\n"));
    out.push_str("# TYPE nodecheck_ingest counter\n# HELP nodecheck_ingest Reports received by outcome since start.\n");
    for (outcome, counter) in [
        ("stored", &app.ingested),
        ("duplicate", &app.duplicates),
        ("rejected", &app.rejected),
        ("busy", &app.ingest_busy),
    ] {
        out.push_str(&format!(
            "nodecheck_ingest_total{{outcome=\"{outcome}\"}} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# TYPE nodecheck_score_mismatches counter\n# HELP nodecheck_score_mismatches Reports whose claimed score differed from the one their findings give (the latter is stored).\n");
    out.push_str(&format!(
        "nodecheck_score_mismatches_total {}\n",
        app.score_mismatches.load(Ordering::Relaxed)
    ));
    let server = &app.server;
    out.push_str("# TYPE nodecheck_connections gauge\n# HELP nodecheck_connections Client connections open now.\n");
    out.push_str(&format!(
        "nodecheck_connections {}\n",
        server.open.load(Ordering::Relaxed)
    ));
    out.push_str("# TYPE nodecheck_connections_closed counter\n# HELP nodecheck_connections_closed Connections the server closed, by reason: timeout (handshake, header, idle or response), evicted (the longest-waiting idle one, for room) or refused (every connection busy).\n");
    for (reason, counter) in [
        ("timeout", &server.timed_out),
        ("evicted", &server.evicted),
        ("refused", &server.refused),
    ] {
        out.push_str(&format!(
            "nodecheck_connections_closed_total{{reason=\"{reason}\"}} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    app.ingest_latency.render(
        "nodecheck_ingest_duration_seconds",
        "Time from a report's whole body being received to its acknowledgement (durable).",
        &mut out,
    );
    out.push_str("# EOF\n");
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

/// A token as the API shows it: never its secret or hash.
#[derive(serde::Serialize)]
struct TokenView {
    #[serde(flatten)]
    row: crate::store::TokenRow,
    state: &'static str,
}

async fn list_tokens(
    State(app): State<Shared>,
    _admin: Admin,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = blocking(&app, |s| s.tokens()).await?;
    let now = now();
    let tokens: Vec<TokenView> = rows
        .into_iter()
        .map(|row| TokenView {
            state: row.state(now),
            row,
        })
        .collect();
    Ok(Json(serde_json::json!({ "tokens": tokens })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: String,
    name: String,
    cluster: Option<String>,
    nodes: Option<String>,
    expires_in_days: Option<u32>,
    max_nodes: Option<i64>,
    uses: Option<i64>,
}

async fn create_token(
    State(app): State<Shared>,
    _admin: Admin,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let body = read_body(body, 64 * 1024, app.limits()).await?;
    let request: NewToken = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "expected {{\"role\", \"name\", \"cluster\"?, \"nodes\"?, \"expires_in_days\"?, \"max_nodes\"?}}: {e}"
        ))
    })?;
    if request.expires_in_days.is_some_and(|d| d == 0 || d > 3650) {
        return Err(bad("expires_in_days must be 1 to 3650"));
    }
    let now = now();
    let spec = TokenSpec {
        role: request.role,
        name: request.name,
        scope_cluster: request.cluster,
        scope_nodes: request.nodes,
        expires_at: request
            .expires_in_days
            .map(|days| now + i64::from(days) * 86_400),
        max_nodes: request.max_nodes,
        uses: request.uses,
    };
    let store_app = app.clone();
    let created = tokio::task::spawn_blocking(move || auth::create(&store_app.store, &spec, now))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match created {
        Ok((id, token)) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({ "id": id, "token": token })),
        )
            .into_response()),
        Err(auth::CreateError::Invalid(message)) => Err(bad(message)),
        Err(e) => {
            tracing::error!("creating a token: {e}");
            Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not create the token".into(),
            ))
        }
    }
}

async fn revoke_token(
    State(app): State<Shared>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = numeric_id("token", &id)?;
    if blocking(&app, move |s| s.revoke_token(id, now())).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no live token with id {id}"),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enrollment {
    node: String,
}

/// Trades one use of an enrollment token for a token bound to the node named in the body, in
/// the enrollment token's cluster: the node token is shown once, and from then on that node
/// posts with it (for itself only). A node already enrolled is refused until an admin revokes
/// its token.
async fn enroll(
    State(app): State<Shared>,
    Enroller(enroller): Enroller,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let body = read_body(body, 4 * 1024, app.limits()).await?;
    let request: Enrollment = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("expected {{\"node\": \"<node name>\"}}: {e}")))?;
    let node = request.node;
    nodecheck_report::limits::check_name(&node)
        .map_err(|why| bad(format!("node {node:?} {why}")))?;
    // An enrollment token always names its cluster (checked when it is made).
    let cluster = enroller.scope_cluster.clone().unwrap_or_default();
    if !auth::in_scope(&enroller, &cluster, &node) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "enrollment token {:?} may not enroll {cluster}/{node}",
                enroller.name
            ),
        ));
    }
    let secret =
        auth::generate().map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let hash = auth::hash(&secret);
    let (enroller_id, c, n) = (enroller.id, cluster.clone(), node.clone());
    let outcome = blocking(&app, move |s| s.enroll(enroller_id, &c, &n, &hash, now())).await?;
    match outcome {
        crate::store::Enrolled::Token { id } => {
            tracing::info!("enrolled {cluster}/{node} (token {id}) with token {enroller_id}");
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({
                    "id": id, "token": secret, "cluster": cluster, "node": node
                })),
            )
                .into_response())
        }
        crate::store::Enrolled::AlreadyEnrolled { token_id } => Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "{cluster}/{node} is enrolled already (token {token_id}); an admin revokes that token to enroll it again"
            ),
        )),
        crate::store::Enrolled::UsedUp => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            format!("enrollment token {:?} has no use left", enroller.name),
        )),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<Shared>) -> Result<&'static str, ApiError> {
    blocking(&app, |s| s.ping()).await?;
    Ok("ready\n")
}

/// The router.
pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/api/v1/reports", post(post_report))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/nodes", get(nodes))
        .route("/api/v1/nodes.csv", get(nodes_csv))
        .route("/api/v1/nodes/{cluster}/{name}", get(node))
        .route("/api/v1/checks", get(checks))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/drift", get(drift))
        .route("/api/v1/deliveries", get(deliveries))
        .route("/api/v1/deliveries/{id}/retry", post(retry_delivery))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/checks/{id}", get(check))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app.clone())
        .merge(crate::web::router(app.clone()))
        .layer(axum::middleware::from_fn({
            let limit = app.limits.request_timeout;
            move |request, next| crate::server::request_deadline(limit, request, next)
        }))
        .layer(axum::middleware::from_fn({
            let tls = app.tls;
            move |request, next| crate::server::security_headers(tls, request, next)
        }))
}

#[cfg(test)]
mod text_escaping_tests {
    use super::*;

    #[test]
    fn csv_fields_defuse_formulas_and_quote() {
        assert_eq!(csv_field("web-1"), "\"web-1\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(csv_field(formula).starts_with("\"'"), "{formula:?}");
        }
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn metrics_labels_keep_no_control_character() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label("x\ry\u{1b}z"), "x\u{FFFD}y\u{FFFD}z");
    }
}

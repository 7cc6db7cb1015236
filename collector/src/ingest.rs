//! Ingest: what happens to a report between an authenticated agent and the store.
//!
//! The body is read only once its sender is known, at a minimum rate and up to a cap; it is
//! decompressed up to another cap, checked against every limit of `nodecheck.report/v1`
//! (`nodecheck_report::limits`), refused if it names a check the collector judges itself, and
//! its score and summary are recomputed from its findings. The group-commit writer then stores
//! every report waiting in one transaction and acknowledges each once it is durable.

use crate::api::{ApiError, bad};
use crate::app::App;
use crate::server::ServerLimits;
use crate::store::{Incoming, Ingested, StoreError};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use nodecheck_report::{Report, SCHEMA_V1};
use std::io::Read;
use std::sync::Arc;

/// `text` cut to `max` characters, ending in `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Largest request body accepted, compressed or not.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest report after decompression (a gzip bomb stops here).
pub const MAX_REPORT_BYTES: u64 = 32 * 1024 * 1024;

/// A report waiting for the writer, and where to send its outcome.
pub(crate) type IngestJob = (
    Incoming,
    tokio::sync::oneshot::Sender<Result<Ingested, String>>,
);

/// Reports committed in one transaction at most.
const MAX_BATCH: usize = 256;

/// The group-commit writer: takes every report waiting, stores them in one transaction (one
/// disk flush), then acknowledges each. Under load batches grow by themselves; alone, a
/// report is committed at once.
async fn writer(app: Arc<App>, mut queue: tokio::sync::mpsc::Receiver<IngestJob>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (reports, replies): (Vec<Incoming>, Vec<_>) = jobs.into_iter().unzip();
        let store_app = app.clone();
        let result =
            tokio::task::spawn_blocking(move || store_app.store.ingest_batch(&reports, now()))
                .await;
        match result {
            Ok(Ok(outcomes)) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Ok(Err(e)) => {
                tracing::error!("store: {e}");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

impl App {
    /// Queues a report for the writer and waits until it is durable.
    pub(crate) async fn ingest(self: &Arc<Self>, report: Incoming) -> Result<Ingested, ApiError> {
        let queue = self.writer.get_or_init(|| {
            let (sender, receiver) = tokio::sync::mpsc::channel(4096);
            tokio::spawn(writer(self.clone(), receiver));
            sender
        });
        let (reply, outcome) = tokio::sync::oneshot::channel();
        queue.send((report, reply)).await.map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the writer has stopped".into(),
            )
        })?;
        match outcome.await {
            Ok(Ok(o)) => Ok(o),
            _ => Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage error".into(),
            )),
        }
    }
}

/// The body of a request whose sender is already authenticated, read up to `limit` bytes:
/// a body is never read for a client the collector does not know (an anonymous client
/// announcing megabytes is answered before it sends them). The body must keep up the
/// configured minimum rate after a short grace; a client trickling it is answered 408.
pub(crate) async fn read_body(
    body: axum::body::Body,
    limit: usize,
    limits: &ServerLimits,
) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    // A body announced larger than the limit is refused before a byte of it is waited for.
    if axum::body::HttpBody::size_hint(&body).lower() > limit as u64 {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes"),
        ));
    }
    let started = tokio::time::Instant::now();
    let mut body = body;
    let mut received = bytes::BytesMut::new();
    loop {
        let due = started + limits.body_deadline(received.len() as u64);
        let frame = match tokio::time::timeout_at(due, body.frame()).await {
            Err(_) => {
                return Err(ApiError(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the body came slower than {} bytes a second ({} bytes in {} s)",
                        limits.body_min_rate,
                        received.len(),
                        started.elapsed().as_secs()
                    ),
                ));
            }
            Ok(None) => return Ok(received.freeze()),
            Ok(Some(Err(e))) => return Err(bad(format!("the body could not be read: {e}"))),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if received.len() + data.len() > limit {
                return Err(ApiError(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {limit} bytes"),
                ));
            }
            received.extend_from_slice(&data);
        }
    }
}

/// A report decoded and checked, ready for the writer.
#[derive(Debug)]
pub struct Parsed {
    pub incoming: Incoming,
    /// The score the node claimed, when it differs from the one computed from its findings.
    pub claimed_score: Option<Option<u8>>,
}

/// Decodes, caps and validates an ingest body against the report format's limits, and
/// recomputes the score and summary from the findings: a node speaks for its findings, not
/// for their sum.
pub fn parse_report(headers: &HeaderMap, body: &[u8]) -> Result<Parsed, ApiError> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    // A plain body is read where it is (a copy of it measured 3 % of the ingest's CPU).
    let text: std::borrow::Cow<[u8]> = if gzip {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(MAX_REPORT_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| bad(format!("body is not valid gzip: {e}")))?;
        if text.len() as u64 > MAX_REPORT_BYTES {
            return Err(ApiError(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("decompressed report is larger than {MAX_REPORT_BYTES} bytes"),
            ));
        }
        text.into()
    } else {
        body.into()
    };
    // The schema version is read first, on its own, so that a report of another version gets
    // "unsupported schema" rather than a complaint about some field that version changed.
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        schema: Option<std::borrow::Cow<'a, str>>,
    }
    let envelope: Envelope = serde_json::from_slice(&text).map_err(|e| {
        let why = clip(&e.to_string(), 240);
        match e.classify() {
            serde_json::error::Category::Data => bad(format!(
                "body must be a JSON object with `schema` {SCHEMA_V1:?}: {why}"
            )),
            _ => bad(format!("body is not valid JSON: {why}")),
        }
    })?;
    match envelope.schema.as_deref() {
        Some(SCHEMA_V1) => {}
        Some(other) => {
            return Err(bad(format!(
                "unsupported schema {:?}; this collector accepts {SCHEMA_V1:?}",
                clip(other, 80)
            )));
        }
        None => {
            return Err(bad(format!(
                "missing `schema` (this collector accepts {SCHEMA_V1:?})"
            )));
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&text);
    let mut report: Report = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        // Both the path (an unknown key) and serde's message (an unknown variant) quote the
        // sender's text: cut, so a refusal never repeats megabytes back.
        let path = clip(&e.path().to_string(), 120);
        let why = clip(&e.into_inner().to_string(), 240);
        bad(format!(
            "report does not match {SCHEMA_V1}: at `{path}`: {why}"
        ))
    })?;
    nodecheck_report::limits::validate(&report)
        .map_err(|e| bad(format!("report does not match {SCHEMA_V1}: {e}")))?;
    if let Some((i, finding)) = report
        .findings
        .iter()
        .enumerate()
        .find(|(_, f)| crate::store::COLLECTOR_CHECKS.contains(&f.id.as_str()))
    {
        return Err(bad(format!(
            "`findings[{i}].id` is {:?}, a check the collector judges itself; no node may report it",
            finding.id
        )));
    }
    let summary = nodecheck_report::summarize(&report.findings);
    let score = nodecheck_report::score(&summary);
    let claimed_score = (report.score != score).then_some(report.score);
    report.score = score;
    report.summary = summary;
    let incoming = Incoming::new(report).map_err(|e| match e {
        StoreError::Invalid(_) => bad(format!("report does not match {SCHEMA_V1}: {e}")),
        e => ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not compress the report: {e}"),
        ),
    })?;
    Ok(Parsed {
        incoming,
        claimed_score,
    })
}

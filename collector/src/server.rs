//! The collector's HTTP server: the accept loop, the TLS handshakes and the life of every
//! connection, bounded in number and in time.
//!
//! Every client may be hostile, most of all the ones with no token, so no connection may hold
//! a resource for long without making progress:
//!
//! - a TLS handshake must finish within `handshake_timeout`, and at most `max_handshakes` run
//!   at once;
//! - a new connection must send a complete request head within `header_timeout`; a kept-alive
//!   connection must send its next one within `idle_timeout`;
//! - a request must be answered within `request_timeout` (answered 503 otherwise, by
//!   [`request_deadline`]), and its response taken by the client within as long again;
//! - a request body must keep up `body_min_rate`, after a grace as long as `header_timeout`
//!   (enforced where a body is read, [`crate::api`]);
//! - at most `max_connections` are open at once.
//!
//! What to do when the connection cap is reached decides whether an attacker can starve the
//! kubelet's probes and honest agents: refusing the newcomer hands the server to whoever
//! opened connections first. Instead the newcomer is let in and the connection that has waited
//! longest without a request in flight (handshaking, silent, or idle between requests) is
//! closed. A client holding hundreds of silent connections loses its oldest one to each new
//! client; a connection with a request in flight is never closed for room. Only when every
//! connection is busy is the newcomer closed at once. Handshakes over their own cap make room
//! the same way, oldest handshake first.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The limits of the server, each settable in the configuration file and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections open at once (the default is lowered to fit the open-file limit).
    pub max_connections: usize,
    /// TLS handshakes in progress at once.
    pub max_handshakes: usize,
    pub handshake_timeout: Duration,
    /// From connection (or handshake) to a complete first request head.
    pub header_timeout: Duration,
    /// From the end of one response to the next request head on a kept-alive connection.
    pub idle_timeout: Duration,
    /// From request head to response; the response must then be read within as long again.
    pub request_timeout: Duration,
    /// Bytes per second a request body must keep up, after a grace of `header_timeout`.
    pub body_min_rate: u64,
    /// Reports being received, parsed or stored at once; more are answered 503.
    pub max_ingest: usize,
}

/// The `Retry-After` given with a 503 for load, in seconds.
pub const RETRY_AFTER_S: u64 = 5;
/// Descriptors kept for the database, its WAL, logs and the TokenReview client when the
/// connection cap is derived from the open-file limit.
const RESERVED_FDS: u64 = 64;

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            max_connections: 10_000,
            max_handshakes: 256,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            body_min_rate: 16 * 1024,
            max_ingest: 64,
        }
    }
}

impl ServerLimits {
    /// The connection cap that fits `open_files` descriptors, when none was configured.
    pub fn fit_to_open_files(mut self, open_files: u64) -> ServerLimits {
        let room = open_files.saturating_sub(RESERVED_FDS).max(16);
        self.max_connections = self
            .max_connections
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        self
    }

    /// The longest the first `length` bytes of a body may take to arrive: a slow start is
    /// forgiven for as long as a request head may take.
    pub fn body_deadline(&self, length: u64) -> Duration {
        self.header_timeout
            + Duration::from_secs_f64(length as f64 / self.body_min_rate.max(1) as f64)
    }
}

/// The soft open-file limit of this process (`RLIMIT_NOFILE`).
pub fn open_file_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections closed to make room for a newer one.
    pub evicted: AtomicU64,
    /// Connections closed at once because every connection was busy.
    pub refused: AtomicU64,
    /// Connections closed for a timeout (handshake, header, idle, response).
    pub timed_out: AtomicU64,
}

/// One open connection as the registry sees it.
#[derive(Debug)]
struct Conn {
    /// Milliseconds since the server started, when the connection entered its current phase.
    since_ms: AtomicU64,
    /// Requests between head and the end of their response (0 or 1 in HTTP/1.1).
    in_flight: AtomicUsize,
    handshaking: AtomicBool,
    /// Served a request already: waiting for the next one is "idle", not "header".
    served: AtomicBool,
    /// Told to close (evicted or timed out).
    close: Notify,
    closing: AtomicBool,
    /// Its request is reading a body before its sender is known (a login form): as
    /// evictable as a silent connection, or a client trickling login forms could hold every
    /// slot.
    anonymous_body: AtomicBool,
}

impl Conn {
    fn evictable(&self) -> bool {
        (self.in_flight.load(Ordering::Acquire) == 0 || self.anonymous_body.load(Ordering::Acquire))
            && !self.closing.load(Ordering::Acquire)
    }
}

/// A handle on the connection a request came on, in the request's extensions, for handlers
/// that read a body from a client they do not know yet.
#[derive(Debug, Clone)]
pub struct ConnectionHandle(Arc<Conn>);

/// While alive, the connection may be closed for room although a request is in flight.
#[derive(Debug)]
pub struct AnonymousBody(Arc<Conn>);

impl ConnectionHandle {
    /// Marks the request as reading an unauthenticated body until the guard is dropped.
    pub fn reading_anonymous_body(&self) -> AnonymousBody {
        self.0.anonymous_body.store(true, Ordering::Release);
        AnonymousBody(self.0.clone())
    }
}

impl Drop for AnonymousBody {
    fn drop(&mut self) {
        self.0.anonymous_body.store(false, Ordering::Release);
    }
}

#[derive(Debug)]
struct Registry {
    started: Instant,
    limits: ServerLimits,
    stats: Arc<ServerStats>,
    conns: Mutex<Connections>,
}

#[derive(Debug, Default)]
struct Connections {
    next_id: u64,
    open: HashMap<u64, Arc<Conn>>,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection, closing the longest-waiting idle one if the cap is reached.
    /// `None`: every connection is busy, the newcomer is to be closed.
    fn admit(&self, tls: bool) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let live = conns
            .open
            .values()
            .filter(|c| !c.closing.load(Ordering::Acquire))
            .count();
        if live >= self.limits.max_connections {
            let oldest = conns
                .open
                .values()
                .filter(|c| c.evictable())
                .min_by_key(|c| c.since_ms.load(Ordering::Acquire))
                .cloned();
            match oldest {
                Some(victim) => {
                    self.close(&victim);
                    self.stats.evicted.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
            }
        }
        if tls {
            let handshaking: Vec<&Arc<Conn>> = conns
                .open
                .values()
                .filter(|c| c.handshaking.load(Ordering::Acquire) && c.evictable())
                .collect();
            if handshaking.len() >= self.limits.max_handshakes
                && let Some(victim) = handshaking
                    .into_iter()
                    .min_by_key(|c| c.since_ms.load(Ordering::Acquire))
            {
                self.close(victim);
                self.stats.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        let conn = Arc::new(Conn {
            since_ms: AtomicU64::new(self.now_ms()),
            in_flight: AtomicUsize::new(0),
            handshaking: AtomicBool::new(tls),
            served: AtomicBool::new(false),
            close: Notify::new(),
            closing: AtomicBool::new(false),
            anonymous_body: AtomicBool::new(false),
        });
        let id = conns.next_id;
        conns.next_id += 1;
        conns.open.insert(id, conn.clone());
        self.stats.open.store(conns.open.len(), Ordering::Relaxed);
        Some((id, conn))
    }

    fn close(&self, conn: &Conn) {
        conn.closing.store(true, Ordering::Release);
        conn.close.notify_one();
    }

    fn remove(&self, id: u64) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.open.remove(&id);
        self.stats.open.store(conns.open.len(), Ordering::Relaxed);
    }

    fn is_empty(&self) -> bool {
        self.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .is_empty()
    }

    /// When the connection's current phase runs out of time (`None`: handshaking, which has
    /// a timer of its own).
    fn deadline(&self, conn: &Conn) -> Instant {
        let since = self.started + Duration::from_millis(conn.since_ms.load(Ordering::Acquire));
        let allowed = if conn.in_flight.load(Ordering::Acquire) > 0 {
            self.limits.request_timeout * 2
        } else if conn.served.load(Ordering::Acquire) {
            self.limits.idle_timeout
        } else {
            self.limits.header_timeout
        };
        since + allowed
    }
}

/// Marks a connection idle again when the response it guards is finished or dropped.
#[derive(Debug)]
struct InFlight {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn
            .since_ms
            .store(self.registry.now_ms(), Ordering::Release);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` completes, then lets
/// requests in flight finish (at most `request_timeout`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    limits: ServerLimits,
    stats: Arc<ServerStats>,
    shutdown: impl Future<Output = ()>,
) {
    let registry = Arc::new(Registry {
        started: Instant::now(),
        limits,
        stats,
        conns: Mutex::new(Connections::default()),
    });
    let acceptor = tls.map(TlsAcceptor::from);
    let (stopping, stop) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait rather than spin.
                tracing::warn!("accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((id, conn)) = registry.admit(acceptor.is_some()) else {
            tracing::debug!("{peer}: every connection is busy; closed");
            continue;
        };
        let connection = Connection {
            registry: registry.clone(),
            conn,
            router: router.clone(),
            stop: stop.clone(),
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            connection.run(stream, acceptor, peer).await;
            connection.registry.remove(id);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let deadline = Instant::now() + limits.request_timeout;
    while !registry.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Connection {
    registry: Arc<Registry>,
    conn: Arc<Conn>,
    router: Router,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(
        &self,
        stream: TcpStream,
        acceptor: Option<TlsAcceptor>,
        peer: std::net::SocketAddr,
    ) {
        let _ = stream.set_nodelay(true);
        match acceptor {
            None => self.http(stream).await,
            Some(acceptor) => {
                let handshake = tokio::time::timeout(
                    self.registry.limits.handshake_timeout,
                    acceptor.accept(stream),
                );
                let tls = tokio::select! {
                    result = handshake => result,
                    () = self.conn.close.notified() => return,
                };
                match tls {
                    Ok(Ok(tls)) => {
                        self.conn
                            .since_ms
                            .store(self.registry.now_ms(), Ordering::Release);
                        self.conn.handshaking.store(false, Ordering::Release);
                        self.http(tls).await;
                    }
                    Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                    Err(_) => {
                        self.registry
                            .stats
                            .timed_out
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("TLS handshake with {peer} timed out");
                    }
                }
            }
        }
    }

    /// HTTP/1.1 on one connection, watched: it ends when the client closes, when its phase
    /// runs out of time, when it is closed for room, or at shutdown once nothing is in flight.
    async fn http<S>(&self, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (conn, registry, router) = (self.conn.clone(), self.registry.clone(), &self.router);
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            conn.in_flight.fetch_add(1, Ordering::AcqRel);
            conn.served.store(true, Ordering::Release);
            conn.since_ms.store(registry.now_ms(), Ordering::Release);
            let guard = InFlight {
                conn: conn.clone(),
                registry: registry.clone(),
            };
            let mut request = request.map(Body::new);
            request
                .extensions_mut()
                .insert(ConnectionHandle(conn.clone()));
            let response = router.clone().oneshot(request);
            async move {
                let response = response.await?;
                // The guard lives as long as the response body: hyper drops the body when it
                // is written out (or the connection is gone).
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    }))
                }))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .keep_alive(true)
            .header_read_timeout(None)
            .max_buf_size(64 * 1024);
        let http = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(http);
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        if stopping {
            http.as_mut().graceful_shutdown();
        }
        loop {
            let deadline = self.registry.deadline(&self.conn);
            tokio::select! {
                result = http.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                    return;
                }
                () = tokio::time::sleep_until(deadline.into()) => {
                    if Instant::now() >= self.registry.deadline(&self.conn) {
                        self.registry.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                () = self.conn.close.notified() => return,
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        http.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// Middleware: a request not answered within `limit` gets 503 with `Retry-After`.
pub async fn request_deadline(
    limit: Duration,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => busy(&format!(
            "the request was not answered within {} s",
            limit.as_secs()
        )),
    }
}

/// The dashboard's Content Security Policy: no script at all, styles only from the page itself
/// (its one `<style>` and `style` attributes), images only inline, forms only to the
/// collector, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Middleware: the security headers every response carries (HSTS only over TLS, where a
/// browser honours it).
pub async fn security_headers(
    tls: bool,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    for (name, value) in set {
        headers.insert(name, value);
    }
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// 503 with `Retry-After`, for load the client should come back from.
pub fn busy(message: &str) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(max_connections: usize, max_handshakes: usize) -> Registry {
        Registry {
            started: Instant::now(),
            limits: ServerLimits {
                max_connections,
                max_handshakes,
                ..ServerLimits::default()
            },
            stats: Arc::default(),
            conns: Mutex::default(),
        }
    }

    #[test]
    fn at_the_cap_the_longest_waiting_idle_connection_makes_room() {
        let registry = registry(3, 100);
        let (_, first) = registry.admit(false).expect("room");
        let (_, second) = registry.admit(false).expect("room");
        let (_, third) = registry.admit(false).expect("room");
        // The first is busy, so the second (older than the third) goes.
        first.in_flight.store(1, Ordering::Release);
        second.since_ms.store(1, Ordering::Release);
        third.since_ms.store(2, Ordering::Release);
        first.since_ms.store(0, Ordering::Release);
        assert!(registry.admit(false).is_some());
        assert!(!first.closing.load(Ordering::Acquire));
        assert!(second.closing.load(Ordering::Acquire));
        assert!(!third.closing.load(Ordering::Acquire));
        assert_eq!(registry.stats.evicted.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn when_every_connection_is_busy_the_newcomer_is_refused() {
        let registry = registry(2, 100);
        for _ in 0..2 {
            let (_, conn) = registry.admit(false).expect("room");
            conn.in_flight.store(1, Ordering::Release);
        }
        assert!(registry.admit(false).is_none());
        assert_eq!(registry.stats.refused.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn handshakes_over_their_cap_close_the_oldest_handshake() {
        let registry = registry(100, 2);
        let (_, a) = registry.admit(true).expect("room");
        let (_, b) = registry.admit(true).expect("room");
        b.since_ms.store(5, Ordering::Release);
        assert!(registry.admit(true).is_some());
        assert!(a.closing.load(Ordering::Acquire));
        assert!(!b.closing.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn a_request_not_answered_in_time_gets_503_with_retry_after() {
        let limit = Duration::from_millis(100);
        let router = Router::new()
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/fast", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(move |request, next| {
                request_deadline(limit, request, next)
            }));
        let request = |path: &str| {
            Request::builder()
                .uri(path)
                .body(Body::empty())
                .expect("request")
        };
        let started = Instant::now();
        let slow = router
            .clone()
            .oneshot(request("/slow"))
            .await
            .expect("answer");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(slow.headers()[header::RETRY_AFTER], "5");
        let fast = router.oneshot(request("/fast")).await.expect("answer");
        assert_eq!(fast.status(), StatusCode::OK);
    }

    #[test]
    fn the_connection_cap_fits_the_open_file_limit() {
        let limits = ServerLimits::default();
        assert_eq!(limits.fit_to_open_files(400).max_connections, 336);
        assert_eq!(limits.fit_to_open_files(1_048_576).max_connections, 10_000);
        assert_eq!(limits.fit_to_open_files(10).max_connections, 16);
    }

    #[test]
    fn a_body_may_take_the_grace_and_its_length_at_the_minimum_rate() {
        let limits = ServerLimits {
            body_min_rate: 1024,
            ..ServerLimits::default()
        };
        let grace = limits.header_timeout;
        assert_eq!(limits.body_deadline(0), grace);
        assert_eq!(
            limits.body_deadline(10 * 1024),
            grace + Duration::from_secs(10)
        );
    }
}

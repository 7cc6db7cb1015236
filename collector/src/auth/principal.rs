//! From a request to a principal, and the extractors every handler takes.
//!
//! A request carries at most one credential that counts: a bearer token (`Authorization`)
//! wins over a session cookie. A bearer token is looked up by its hash; one the collector does
//! not know that looks like a Kubernetes JWT is reviewed by the API server when the collector
//! accepts agents' projected tokens. A session cookie is looked up by its hash, and the token
//! behind it is checked on every request, so revoking the token ends its sessions at once.
//!
//! What each extractor lets in:
//! - [`Agent`]: a bearer token that may post (agent or admin), with its scope.
//! - [`Reader`]: a bearer token or a session that may read, or anyone with `--anonymous-read`.
//!   Sessions read the API, CSV and raw reports the dashboard links to.
//! - [`Admin`]: an admin bearer token. A session never writes, so a page another site makes a
//!   browser load cannot manage tokens.
//! - [`Page`]: as [`Reader`], but a visitor who may not read is sent to the login form.
//!
//! A store that cannot answer is a 503 with `Retry-After`, not a refusal: a database restart
//! must not look like a revoked token.

use super::tokens::{Role, hash};
use crate::app::App;
use crate::store::TokenRow;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "nc_session";
/// How long a session lasts (never longer than its token).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// How a reader or admin proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Bearer,
    Session,
}

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No credential.
    Anonymous,
    /// An agent token (or a TokenReview-vouched projected token), with its scope.
    Agent(TokenRow),
    Viewer(Credential),
    Admin(Credential),
    /// An enrollment token, by bearer only: it may enroll a node and nothing else.
    Enroller(TokenRow),
}

impl Principal {
    fn can_read(&self) -> bool {
        matches!(self, Principal::Viewer(_) | Principal::Admin(_))
    }
}

/// A refusal, as the API answers it: a status and one message, as JSON.
#[derive(Debug)]
pub struct AuthError {
    pub status: StatusCode,
    pub message: String,
}

impl AuthError {
    fn new(status: StatusCode, message: impl Into<String>) -> AuthError {
        AuthError {
            status,
            message: message.into(),
        }
    }

    /// The store or the Kubernetes API could not answer: come back later.
    fn unavailable(message: impl Into<String>) -> AuthError {
        AuthError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return crate::server::busy(&self.message);
        }
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The session id a request's cookies carry, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

/// Whether a browser sent this request from the collector's own pages: `Sec-Fetch-Site` says
/// so where browsers send it, else `Origin` must name the host the request went to. A request
/// with neither came from no browser (curl, an agent) and cannot be a cross-site forgery.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| !host.is_empty() && authority == host)
}

/// Resolves the request's credential to a principal.
pub async fn principal(app: &Arc<App>, headers: &HeaderMap) -> Result<Principal, AuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "Authorization must be `Bearer <token>`",
                )
            })?
            .to_string();
        return bearer(app, token).await;
    }
    if let Some(session) = session_cookie(headers) {
        return session_principal(app, session).await;
    }
    Ok(Principal::Anonymous)
}

async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, AuthError> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(&app)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            tracing::error!("store: {e}");
            Err(AuthError::unavailable(
                "the collector's database cannot answer; retry later",
            ))
        }
        Err(_) => Err(AuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        )),
    }
}

/// A live token's principal, or why it is refused.
fn live(row: TokenRow, credential: Credential) -> Result<Principal, AuthError> {
    if row.revoked {
        return Err(AuthError::new(StatusCode::UNAUTHORIZED, "token revoked"));
    }
    if row.expired(now()) {
        return Err(AuthError::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "token expired at {}",
                nodecheck_report::time::rfc3339(std::time::Duration::from_secs(
                    row.expires_at
                        .and_then(|at| u64::try_from(at).ok())
                        .unwrap_or(0)
                ))
            ),
        ));
    }
    match Role::parse(&row.role) {
        Some(Role::Agent) if credential == Credential::Bearer => Ok(Principal::Agent(row)),
        Some(Role::Enroll) if credential == Credential::Bearer => Ok(Principal::Enroller(row)),
        Some(Role::Viewer) => Ok(Principal::Viewer(credential)),
        Some(Role::Admin) => Ok(Principal::Admin(credential)),
        _ => Err(AuthError::new(StatusCode::UNAUTHORIZED, "unknown token")),
    }
}

async fn bearer(app: &Arc<App>, token: String) -> Result<Principal, AuthError> {
    let hashed = hash(&token);
    let row = blocking(app, move |app| app.store.find_token(&hashed)).await?;
    match row {
        Some(row) => live(row, Credential::Bearer),
        None if app.kubernetes.is_some()
            && crate::kubernetes::TokenReviewer::looks_like_jwt(&token) =>
        {
            kubernetes_agent(app, token).await.map(Principal::Agent)
        }
        None => Err(AuthError::new(StatusCode::UNAUTHORIZED, "unknown token")),
    }
}

/// Sessions are kept in the database (by the hash of their id), so every replica knows them.
async fn session_principal(app: &Arc<App>, session: String) -> Result<Principal, AuthError> {
    let hashed = hash(&session);
    let row = blocking(app, move |app| {
        match app.store.session_token(&hashed, now())? {
            Some(token_id) => app.store.token_by_id(token_id),
            None => Ok(None),
        }
    })
    .await?;
    match row {
        Some(row) => live(row, Credential::Session),
        // An ended session is no credential: the visitor is anonymous again.
        None => Ok(Principal::Anonymous),
    }
}

/// An agent's projected ServiceAccount token, reviewed by the Kubernetes API: an agent token
/// scoped to exactly the node the token is bound to. A token not answered from the cache
/// waits at most [`STRANGER_WAIT`] for one of the review slots and the API server's answer.
async fn kubernetes_agent(app: &Arc<App>, token: String) -> Result<TokenRow, AuthError> {
    use crate::kubernetes::{ReviewError, STRANGER_WAIT};
    let Some(reviewer) = app.kubernetes.as_ref() else {
        return Err(AuthError::new(StatusCode::UNAUTHORIZED, "unknown token"));
    };
    let reviewed = match reviewer.cached(&token) {
        Some(answer) => answer,
        None => {
            let deadline = tokio::time::Instant::now() + STRANGER_WAIT;
            let busy = || {
                AuthError::unavailable(format!(
                    "the token could not be reviewed within {} s; retry later",
                    STRANGER_WAIT.as_secs()
                ))
            };
            let slot = tokio::time::timeout_at(deadline, reviewer.slots().acquire_owned())
                .await
                .map_err(|_| busy())?
                .map_err(|_| busy())?;
            let app = app.clone();
            // The slot is held until the review ends, even when its caller stopped waiting:
            // the blocking threads a review can take are bounded by the slots.
            let task = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                app.kubernetes
                    .as_ref()
                    .map(|reviewer| reviewer.review(&token))
            });
            match tokio::time::timeout_at(deadline, task).await {
                Err(_) => return Err(busy()),
                Ok(Err(_)) => {
                    return Err(AuthError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error",
                    ));
                }
                Ok(Ok(None)) => {
                    return Err(AuthError::new(StatusCode::UNAUTHORIZED, "unknown token"));
                }
                Ok(Ok(Some(answer))) => answer,
            }
        }
    };
    match reviewed {
        Ok(identity) => Ok(TokenRow {
            id: 0,
            role: Role::Agent.as_str().into(),
            name: format!("{} on node {}", identity.username, identity.node),
            scope_cluster: Some(identity.cluster),
            // Node names are DNS subdomains: no glob characters, so this matches one node.
            scope_nodes: Some(identity.node),
            created_at: 0,
            expires_at: None,
            revoked: false,
            ..TokenRow::default()
        }),
        Err(e @ ReviewError::Unauthenticated(_)) => {
            Err(AuthError::new(StatusCode::UNAUTHORIZED, e.to_string()))
        }
        Err(e @ ReviewError::Forbidden(_)) => {
            Err(AuthError::new(StatusCode::FORBIDDEN, e.to_string()))
        }
        Err(e @ ReviewError::Unavailable(_)) => {
            tracing::warn!("{e}");
            Err(AuthError::unavailable(e.to_string()))
        }
    }
}

/// A client that may post reports, with its token (scope included).
#[derive(Debug)]
pub struct Agent(pub TokenRow);

impl FromRequestParts<Arc<App>> for Agent {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AuthError> {
        match principal(app, &parts.headers).await? {
            Principal::Agent(row) => Ok(Agent(row)),
            Principal::Admin(Credential::Bearer) => Ok(Agent(TokenRow {
                id: 0,
                role: Role::Admin.as_str().into(),
                name: "admin".into(),
                scope_cluster: None,
                scope_nodes: None,
                created_at: 0,
                expires_at: None,
                revoked: false,
                ..TokenRow::default()
            })),
            Principal::Anonymous => Err(AuthError::new(
                StatusCode::UNAUTHORIZED,
                "an agent token is required (Authorization: Bearer <token>)",
            )),
            _ => Err(AuthError::new(
                StatusCode::FORBIDDEN,
                "this token may not post reports",
            )),
        }
    }
}

/// A client holding an enrollment token.
#[derive(Debug)]
pub struct Enroller(pub TokenRow);

impl FromRequestParts<Arc<App>> for Enroller {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AuthError> {
        match principal(app, &parts.headers).await? {
            Principal::Enroller(row) => Ok(Enroller(row)),
            Principal::Anonymous => Err(AuthError::new(
                StatusCode::UNAUTHORIZED,
                "an enrollment token is required (Authorization: Bearer <token>)",
            )),
            _ => Err(AuthError::new(
                StatusCode::FORBIDDEN,
                "only an enrollment token enrolls a node",
            )),
        }
    }
}

/// A client that may read: a viewer or admin, by token or session, or anyone under
/// `--anonymous-read`.
#[derive(Debug)]
pub struct Reader(pub Principal);

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AuthError> {
        let principal = principal(app, &parts.headers).await?;
        match principal {
            p if p.can_read() => Ok(Reader(p)),
            Principal::Anonymous if app.anonymous_read => Ok(Reader(Principal::Anonymous)),
            Principal::Anonymous => Err(AuthError::new(
                StatusCode::UNAUTHORIZED,
                "a viewer token is required (Authorization: Bearer <token>)",
            )),
            _ => Err(AuthError::new(
                StatusCode::FORBIDDEN,
                "this token may not read (agent tokens only post reports)",
            )),
        }
    }
}

/// An admin, by bearer token only.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AuthError> {
        match principal(app, &parts.headers).await? {
            Principal::Admin(Credential::Bearer) => Ok(Admin),
            Principal::Admin(Credential::Session) => Err(AuthError::new(
                StatusCode::FORBIDDEN,
                "a dashboard session only reads; manage tokens with an admin token",
            )),
            Principal::Anonymous => Err(AuthError::new(
                StatusCode::UNAUTHORIZED,
                "an admin token is required (Authorization: Bearer <token>)",
            )),
            _ => Err(AuthError::new(
                StatusCode::FORBIDDEN,
                "managing tokens needs an admin token",
            )),
        }
    }
}

/// A dashboard visitor who may read; anyone else is sent to the login form.
#[derive(Debug)]
pub struct Page(pub Principal);

/// Why a page is not shown: the login form, or the API's refusal (a store that cannot answer).
#[derive(Debug)]
pub enum PageRejection {
    Login,
    Error(AuthError),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::Login => Redirect::to("/login").into_response(),
            PageRejection::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<Arc<App>> for Page {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, PageRejection> {
        match Reader::from_request_parts(parts, app).await {
            Ok(Reader(principal)) => Ok(Page(principal)),
            Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => Err(PageRejection::Error(e)),
            Err(_) => Err(PageRejection::Login),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    #[test]
    fn cross_site_requests_are_told_from_same_site_ones() {
        assert!(same_origin(&headers(&[])), "no browser");
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&headers(&[
            ("origin", "https://collector.example:8443"),
            ("host", "collector.example:8443"),
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "collector.example:8443"),
        ])));
        assert!(!same_origin(&headers(&[("origin", "null"), ("host", "c")])));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            session_cookie(&headers(&[("cookie", "a=1; nc_session=abc; b=2")])),
            Some("abc".into())
        );
        assert_eq!(
            session_cookie(&headers(&[("cookie", "nc_session_x=abc")])),
            None
        );
        assert_eq!(session_cookie(&headers(&[])), None);
    }
}

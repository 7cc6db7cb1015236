//! Node-bound agent identity in a cluster: the collector accepts an agent's projected
//! ServiceAccount token, has the Kubernetes API check it (TokenReview, audience `nodecheck`),
//! and takes the node from the token itself, so a compromised node can speak only for itself.
//!
//! The node comes from the token's `authentication.kubernetes.io/node-name` claim (bound
//! tokens on 1.30+). On older clusters the token names its pod (`…/pod-name`, `…/pod-uid`):
//! the pod is read, its uid compared (a pod deleted and recreated under the same name is
//! another pod) and its `spec.nodeName` taken. A token naming neither is refused.
//!
//! Answers are cached briefly by the token's SHA-256 (never the token), so an agent's
//! retries and a fleet reporting together do not each cost an API call; refusals are cached
//! for a shorter time than acceptances, and API failures not at all.
//!
//! Anyone can send a JWT-shaped token, so reviews are guarded (`crate::auth::principal`): at
//! most [`REVIEWS_IN_FLIGHT`] run at once, and a token not answered from the cache waits at
//! most [`STRANGER_WAIT`] for a slot and the API server together, then gets 503. A flood of
//! strangers or a slow API server so costs a bounded number of blocking threads and never
//! delays a reader or an agent whose token the collector issued.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to reach the API server and whom to accept.
#[derive(Debug, Clone)]
pub struct KubernetesAuthOptions {
    /// e.g. `https://10.96.0.1:443`.
    pub api: String,
    /// The collector's own ServiceAccount token (re-read for every call: it rotates).
    pub token_file: PathBuf,
    /// The API server's CA bundle.
    pub ca: Option<PathBuf>,
    /// The audience agents' tokens must carry.
    pub audience: String,
    /// `namespace/name` of the agents' ServiceAccount.
    pub service_account: String,
    /// The cluster name reports of these agents must give.
    pub cluster: String,
}

impl KubernetesAuthOptions {
    /// The API server at `api`, or in a pod the one Kubernetes names in the environment;
    /// the collector's mounted ServiceAccount token and CA.
    pub fn new(api: Option<&str>, service_account: &str, cluster: &str) -> Result<Self, String> {
        let api = match api {
            Some(api) => api.to_string(),
            None => {
                let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
                    "KUBERNETES_SERVICE_HOST is not set: not running in a cluster? (give --kubernetes-api)"
                })?;
                let port =
                    std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("https://{host}:{port}")
            }
        };
        let secrets = PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount");
        Ok(KubernetesAuthOptions {
            api,
            token_file: secrets.join("token"),
            ca: Some(secrets.join("ca.crt")).filter(|ca| ca.exists()),
            audience: "nodecheck".into(),
            service_account: service_account.into(),
            cluster: cluster.into(),
        })
    }
}

/// An agent the API server vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentIdentity {
    pub node: String,
    pub cluster: String,
    /// `system:serviceaccount:namespace:name`.
    pub username: String,
}

/// Why a token was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The API server did not authenticate it (expired, revoked, wrong audience, forged).
    #[error("the Kubernetes API did not authenticate this token: {0}")]
    Unauthenticated(String),
    /// Authenticated, but not an agent of ours.
    #[error("{0}")]
    Forbidden(String),
    /// The API could not be asked; the agent should try again later.
    #[error("cannot verify the token with the Kubernetes API: {0}")]
    Unavailable(String),
}

const CLAIM_NODE: &str = "authentication.kubernetes.io/node-name";
const CLAIM_POD: &str = "authentication.kubernetes.io/pod-name";
const CLAIM_POD_UID: &str = "authentication.kubernetes.io/pod-uid";

/// Accepted tokens are trusted this long without asking again (a revoked ServiceAccount or a
/// deleted pod is noticed within this time).
const ACCEPTED_FOR: Duration = Duration::from_secs(60);
/// Refused tokens are refused this long without asking again.
const REFUSED_FOR: Duration = Duration::from_secs(10);
/// Entries kept at most; a full cache is emptied of expired entries, then of all.
const CACHE_ENTRIES: usize = 65_536;

/// TokenReviews in flight at once.
pub const REVIEWS_IN_FLIGHT: usize = 8;
/// The longest a request whose token is not cached waits for a review slot and the answer.
pub const STRANGER_WAIT: Duration = Duration::from_secs(2);

type Cached = (Instant, Result<AgentIdentity, ReviewError>);

/// Reviews agents' tokens.
#[derive(Debug)]
pub struct TokenReviewer {
    options: KubernetesAuthOptions,
    agent: ureq::Agent,
    cache: Mutex<HashMap<String, Cached>>,
    /// One permit per review in flight.
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

#[derive(serde::Deserialize)]
struct TokenReview {
    status: Option<ReviewStatus>,
}

#[derive(serde::Deserialize, Default)]
struct ReviewStatus {
    #[serde(default)]
    authenticated: bool,
    #[serde(default)]
    error: String,
    #[serde(default)]
    audiences: Vec<String>,
    user: Option<ReviewUser>,
}

#[derive(serde::Deserialize, Default)]
struct ReviewUser {
    #[serde(default)]
    username: String,
    #[serde(default)]
    extra: HashMap<String, Vec<String>>,
}

#[derive(serde::Deserialize)]
struct Pod {
    metadata: PodMeta,
    spec: PodSpec,
}

#[derive(serde::Deserialize)]
struct PodMeta {
    #[serde(default)]
    uid: String,
}

#[derive(serde::Deserialize)]
struct PodSpec {
    #[serde(rename = "nodeName", default)]
    node_name: String,
}

impl TokenReviewer {
    pub fn new(options: KubernetesAuthOptions) -> Result<TokenReviewer, String> {
        let (namespace, name) = options
            .service_account
            .split_once('/')
            .ok_or("the agents' service account must be namespace/name")?;
        if namespace.is_empty() || name.is_empty() {
            return Err("the agents' service account must be namespace/name".into());
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = &options.ca {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read the API server's CA {}: {e}", ca.display()))?;
            let certificates: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certificates.is_empty() {
                return Err(format!("{} holds no PEM certificate", ca.display()));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certificates));
        }
        let agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(TokenReviewer {
            options,
            agent,
            cache: Mutex::new(HashMap::new()),
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(REVIEWS_IN_FLIGHT)),
        })
    }

    /// Whether a bearer token looks like a Kubernetes token (a JWT) rather than one the
    /// collector issued.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("eyJ")
    }

    /// The review slots: one permit per review in flight.
    pub fn slots(&self) -> std::sync::Arc<tokio::sync::Semaphore> {
        self.slots.clone()
    }

    /// A recent answer for `token`, if one is cached.
    pub fn cached(&self, token: &str) -> Option<Result<AgentIdentity, ReviewError>> {
        // Keyed like stored tokens: by the SHA-256 of the token, never the token.
        let key = crate::auth::hash(token);
        let cache = self.cache.lock().ok()?;
        let (until, answer) = cache.get(&key)?;
        (*until > Instant::now()).then(|| answer.clone())
    }

    /// Who `token` belongs to, asking the API server unless a recent answer is cached.
    pub fn review(&self, token: &str) -> Result<AgentIdentity, ReviewError> {
        if let Some(answer) = self.cached(token) {
            return answer;
        }
        let key = crate::auth::hash(token);
        let answer = self.ask(token);
        let keep_for = match &answer {
            Ok(_) => Some(ACCEPTED_FOR),
            Err(ReviewError::Unavailable(_)) => None,
            Err(_) => Some(REFUSED_FOR),
        };
        if let (Some(keep_for), Ok(mut cache)) = (keep_for, self.cache.lock()) {
            if cache.len() >= CACHE_ENTRIES {
                let now = Instant::now();
                cache.retain(|_, (until, _)| *until > now);
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(key, (Instant::now() + keep_for, answer.clone()));
        }
        answer
    }

    fn own_token(&self) -> Result<String, ReviewError> {
        std::fs::read_to_string(&self.options.token_file)
            .map(|t| t.trim().to_string())
            .map_err(|e| {
                ReviewError::Unavailable(format!(
                    "cannot read the collector's own token {}: {e}",
                    self.options.token_file.display()
                ))
            })
    }

    /// One API call: `path`, with `body` as a POST or a GET without.
    fn call(
        &self,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, String), ReviewError> {
        let url = format!("{}{path}", self.options.api.trim_end_matches('/'));
        let bearer = format!("Bearer {}", self.own_token()?);
        let response = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Authorization", &bearer)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .send(body.to_string().as_bytes()),
            None => self
                .agent
                .get(&url)
                .header("Authorization", &bearer)
                .header("Accept", "application/json")
                .call(),
        }
        .map_err(|e| ReviewError::Unavailable(format!("{}: {e}", self.options.api)))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .with_config()
            .limit(1024 * 1024)
            .read_to_string()
            .map_err(|e| ReviewError::Unavailable(format!("reading the answer: {e}")))?;
        Ok((status, text))
    }

    fn ask(&self, token: &str) -> Result<AgentIdentity, ReviewError> {
        let review = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": { "token": token, "audiences": [self.options.audience] },
        });
        let (status, text) =
            self.call("/apis/authentication.k8s.io/v1/tokenreviews", Some(review))?;
        if status != 201 && status != 200 {
            return Err(ReviewError::Unavailable(format!(
                "TokenReview answered {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        let review: TokenReview = serde_json::from_str(&text)
            .map_err(|e| ReviewError::Unavailable(format!("TokenReview answer: {e}")))?;
        let status = review.status.unwrap_or_default();
        if !status.authenticated {
            let why = if status.error.is_empty() {
                "not authenticated".to_string()
            } else {
                status.error
            };
            return Err(ReviewError::Unauthenticated(why));
        }
        // The API server checks the audience when asked to; an answer without ours is not
        // taken on trust either.
        if !status.audiences.iter().any(|a| a == &self.options.audience) {
            return Err(ReviewError::Unauthenticated(format!(
                "the token is not meant for audience {:?}",
                self.options.audience
            )));
        }
        let user = status.user.unwrap_or_default();
        let (namespace, name) = self
            .options
            .service_account
            .split_once('/')
            .unwrap_or_default();
        let expected = format!("system:serviceaccount:{namespace}:{name}");
        if user.username != expected {
            return Err(ReviewError::Forbidden(format!(
                "{} is not the agents' service account ({expected})",
                user.username
            )));
        }
        let claim = |name: &str| {
            user.extra
                .get(name)
                .and_then(|v| v.first())
                .filter(|v| !v.is_empty())
                .cloned()
        };
        let node = match (claim(CLAIM_NODE), claim(CLAIM_POD), claim(CLAIM_POD_UID)) {
            (Some(node), _, _) => node,
            (None, Some(pod), Some(uid)) => self.node_of_pod(namespace, &pod, &uid)?,
            _ => {
                return Err(ReviewError::Forbidden(
                    "the token is not bound to a pod (use a projected ServiceAccount token)".into(),
                ));
            }
        };
        Ok(AgentIdentity {
            node,
            cluster: self.options.cluster.clone(),
            username: user.username,
        })
    }

    /// The node of the pod a token is bound to (clusters before 1.30).
    fn node_of_pod(&self, namespace: &str, pod: &str, uid: &str) -> Result<String, ReviewError> {
        let path = format!(
            "/api/v1/namespaces/{}/pods/{}",
            nodecheck_report::url::percent_encode(namespace),
            nodecheck_report::url::percent_encode(pod)
        );
        let (status, text) = self.call(&path, None)?;
        match status {
            200 => {}
            404 => {
                return Err(ReviewError::Forbidden(format!(
                    "the token's pod {namespace}/{pod} no longer exists"
                )));
            }
            _ => {
                return Err(ReviewError::Unavailable(format!(
                    "reading pod {namespace}/{pod} answered {status}"
                )));
            }
        }
        let pod_object: Pod = serde_json::from_str(&text)
            .map_err(|e| ReviewError::Unavailable(format!("pod answer: {e}")))?;
        if pod_object.metadata.uid != uid {
            return Err(ReviewError::Forbidden(format!(
                "the token's pod {namespace}/{pod} was replaced by another (uid differs)"
            )));
        }
        if pod_object.spec.node_name.is_empty() {
            return Err(ReviewError::Forbidden(format!(
                "the token's pod {namespace}/{pod} is not on a node"
            )));
        }
        Ok(pod_object.spec.node_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwts_go_to_the_api() {
        assert!(TokenReviewer::looks_like_jwt(
            "eyJhbGciOi.eyJhdWQiOi.c2lnbmF0dXJl"
        ));
        assert!(!TokenReviewer::looks_like_jwt("nc_0123456789abcdef"));
        assert!(!TokenReviewer::looks_like_jwt("eyJ.only-two"));
    }

    #[test]
    fn the_service_account_is_checked_up_front() {
        let options = KubernetesAuthOptions {
            api: "http://127.0.0.1:9".into(),
            token_file: "/nonexistent".into(),
            ca: None,
            audience: "nodecheck".into(),
            service_account: "nodecheck-agent".into(),
            cluster: "default".into(),
        };
        assert!(TokenReviewer::new(options).is_err());
    }
}

/// A Node object, as far as the fleet view uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeNode {
    pub name: String,
    /// The node's labels, as JSON (an object of strings).
    pub labels: String,
    /// From `node-role.kubernetes.io/<role>` labels.
    pub roles: Vec<String>,
    /// `status.nodeInfo.kubeletVersion`, e.g. `v1.34.2`.
    pub kubelet_version: String,
}

#[derive(serde::Deserialize)]
struct NodeList {
    #[serde(default)]
    items: Vec<NodeObject>,
    #[serde(default)]
    metadata: ListMeta,
}

#[derive(serde::Deserialize, Default)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    continue_token: String,
}

#[derive(serde::Deserialize)]
struct NodeObject {
    metadata: NodeMeta,
    #[serde(default)]
    status: NodeStatus,
}

#[derive(serde::Deserialize)]
struct NodeMeta {
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
struct NodeStatus {
    #[serde(rename = "nodeInfo", default)]
    node_info: NodeInfo,
}

#[derive(serde::Deserialize, Default)]
struct NodeInfo {
    #[serde(rename = "kubeletVersion", default)]
    kubelet_version: String,
}

/// Pages of this many Nodes are read at a time.
const NODES_PER_PAGE: usize = 500;

impl TokenReviewer {
    /// The cluster this reviewer's agents belong to.
    pub fn cluster(&self) -> &str {
        &self.options.cluster
    }

    /// Every Node of the cluster (read page by page).
    pub fn nodes(&self) -> Result<Vec<KubeNode>, ReviewError> {
        let mut nodes = Vec::new();
        let mut continue_token = String::new();
        // Bounded: a cluster has at most a few thousand pages of nodes.
        for _ in 0..10_000 {
            let mut path = format!("/api/v1/nodes?limit={NODES_PER_PAGE}");
            if !continue_token.is_empty() {
                path.push_str("&continue=");
                path.push_str(&nodecheck_report::url::percent_encode(&continue_token));
            }
            let (status, text) = self.call(&path, None)?;
            if status != 200 {
                return Err(ReviewError::Unavailable(format!(
                    "listing nodes answered {status}"
                )));
            }
            let page: NodeList = serde_json::from_str(&text)
                .map_err(|e| ReviewError::Unavailable(format!("node list: {e}")))?;
            for node in page.items {
                let roles = node
                    .metadata
                    .labels
                    .keys()
                    .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
                    .collect();
                nodes.push(KubeNode {
                    name: node.metadata.name,
                    labels: serde_json::to_string(&node.metadata.labels).unwrap_or_default(),
                    roles,
                    kubelet_version: node.status.node_info.kubelet_version,
                });
            }
            if page.metadata.continue_token.is_empty() {
                return Ok(nodes);
            }
            continue_token = page.metadata.continue_token;
        }
        Err(ReviewError::Unavailable("the node list never ended".into()))
    }
}

/// The minor version of `v1.34.2` (or `1.34`, `v1.34.2-eks-1234`).
pub fn minor_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod version_tests {
    #[test]
    fn versions_are_read_as_distributions_write_them() {
        assert_eq!(super::minor_version("v1.34.2"), Some((1, 34)));
        assert_eq!(super::minor_version("v1.29.10-eks-a1b2c3"), Some((1, 29)));
        assert_eq!(super::minor_version("v1.32.4+k3s1"), Some((1, 32)));
        assert_eq!(super::minor_version("1.35"), Some((1, 35)));
        assert_eq!(super::minor_version("unknown"), None);
    }
}

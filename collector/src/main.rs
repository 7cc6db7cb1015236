//! `nodecheck-collector`: receives nodecheck reports from a fleet, stores them durably,
//! aggregates them, and serves a JSON API, CSV and Prometheus metrics.

use anyhow::Context;
use clap::{Parser, Subcommand};
use nodecheck_collector::api;
use nodecheck_collector::app::App;
use nodecheck_collector::auth::{self, Role};
use nodecheck_collector::config::{FileConfig, LimitsConfig, limit_ranges};
use nodecheck_collector::server::ServerLimits;
use nodecheck_collector::store::{Store, TokenSpec};
use nodecheck_report::time::rfc3339;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "nodecheck-collector",
    version,
    about = "Collects nodecheck reports and shows the fleet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Where to listen [default: 127.0.0.1:8080].
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<String>,
        #[command(flatten)]
        storage: Storage,
        /// Let anyone read the API without a token.
        #[arg(long)]
        anonymous_read: bool,
        /// Days full reports are kept (node state and score history stay) [default: 30].
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3650))]
        retention_days: Option<i64>,
        /// Serve HTTPS with this PEM certificate chain (leaf first).
        #[arg(long, requires = "tls_key", value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert", value_name = "FILE")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        kubernetes: KubernetesArgs,
        #[command(flatten)]
        limits: Box<LimitArgs>,
    },
    /// Write man pages (nodecheck-collector.1 and one per command) into DIR, for packages.
    #[command(hide = true)]
    GenerateMan { dir: PathBuf },
    /// Make a private CA and a serving certificate for --tls-cert and --tls-key. The CA's
    /// key is dropped once it has signed: renew by running this again and restarting the
    /// collector and the agents.
    #[command(group(clap::ArgGroup::new("output").required(true).args(["out_dir", "kubernetes"])))]
    Cert {
        /// Write ca.crt (for the agents' --ca), tls.crt and tls.key (0600) into DIR.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Print, for `kubectl apply -f -`, the Secret nodecheck-collector-tls (certificate and
        /// key, for the collector) and the ConfigMap nodecheck-collector-ca (the CA alone, for
        /// the agents), for the collector Service's names in --namespace.
        #[arg(long)]
        kubernetes: bool,
        /// The namespace of --kubernetes.
        #[arg(long, value_name = "NAMESPACE", default_value = "nodecheck")]
        namespace: String,
        /// A DNS name or IP address the certificate is for (repeat for more; with --kubernetes,
        /// in addition to the Service's names).
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
        /// Days the CA and the certificate are valid.
        #[arg(long, default_value_t = 365, value_name = "DAYS")]
        days: u32,
        /// Replace files of --out-dir that exist already.
        #[arg(long, requires = "out_dir")]
        force: bool,
    },
    /// Manage tokens.
    Token {
        #[command(flatten)]
        storage: Storage,
        #[command(subcommand)]
        action: TokenAction,
    },
}

/// Agents' projected ServiceAccount tokens, accepted after a Kubernetes TokenReview.
#[derive(Debug, clap::Args)]
struct KubernetesArgs {
    /// Accept the projected tokens (audience nodecheck) of this ServiceAccount's pods, each
    /// for its own node only, as the Kubernetes API vouches.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    kubernetes_agents: Option<String>,
    /// The API server [default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT].
    #[arg(long, requires = "kubernetes_agents", value_name = "URL")]
    kubernetes_api: Option<String>,
    /// The collector's own token for the API [default: its mounted ServiceAccount token].
    #[arg(long, requires = "kubernetes_agents", value_name = "FILE")]
    kubernetes_token_file: Option<PathBuf>,
    /// The API server's CA bundle [default: the mounted ServiceAccount CA].
    #[arg(long, requires = "kubernetes_agents", value_name = "FILE")]
    kubernetes_ca: Option<PathBuf>,
    /// The cluster name those agents' reports must give [default: default].
    #[arg(long, requires = "kubernetes_agents", value_name = "NAME")]
    kubernetes_cluster: Option<String>,
    /// Kubelets older than this minor version fail the fleet check node.kubernetes-version
    /// (the oldest Kubernetes minor that still gets fixes).
    #[arg(long, default_value = "1.35", value_parser = parse_minor, value_name = "MAJOR.MINOR")]
    kubernetes_min_version: (u32, u32),
}

/// The server's limits; each may also be set in the configuration file's `[limits]` table.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Connections open at once; at the cap the longest-idle connection is closed for a new one
    /// [default: 10000, lowered to the open-file limit less 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(limit_ranges::MAX_CONNECTIONS))]
    max_connections: Option<u64>,
    /// TLS handshakes in progress at once [default: 256].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(limit_ranges::MAX_HANDSHAKES))]
    max_handshakes: Option<u64>,
    /// Seconds a TLS handshake may take [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(limit_ranges::TIMEOUT_S))]
    handshake_timeout: Option<u64>,
    /// Seconds from connecting to a complete first request head [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(limit_ranges::TIMEOUT_S))]
    header_timeout: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(limit_ranges::TIMEOUT_S))]
    idle_timeout: Option<u64>,
    /// Seconds to answer a request (then 503), and as long again for the client to read the
    /// answer [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(limit_ranges::TIMEOUT_S))]
    request_timeout: Option<u64>,
    /// Bytes a second a request body must keep up, after a grace as long as --header-timeout
    /// [default: 16384].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(limit_ranges::BODY_MIN_RATE))]
    body_min_rate: Option<u64>,
    /// Reports received and stored at once; more get 503 with Retry-After [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(limit_ranges::MAX_INGEST))]
    max_ingest: Option<u64>,
}

impl LimitArgs {
    /// The flags over the file over the defaults; the connection cap fitted to the open-file
    /// limit unless one was set.
    fn resolve(&self, file: Option<&LimitsConfig>, open_files: Option<u64>) -> ServerLimits {
        let file = file.cloned().unwrap_or_default();
        let defaults = ServerLimits::default();
        let pick = |flag: Option<u64>, file: Option<u64>| flag.or(file);
        let count = |v: Option<u64>, default: usize| {
            v.map_or(default, |v| usize::try_from(v).unwrap_or(usize::MAX))
        };
        let seconds = |v: Option<u64>, default: std::time::Duration| {
            v.map_or(default, std::time::Duration::from_secs)
        };
        let max_connections = pick(self.max_connections, file.max_connections);
        let mut limits = ServerLimits {
            max_connections: count(max_connections, defaults.max_connections),
            max_handshakes: count(
                pick(self.max_handshakes, file.max_handshakes),
                defaults.max_handshakes,
            ),
            handshake_timeout: seconds(
                pick(self.handshake_timeout, file.handshake_timeout_s),
                defaults.handshake_timeout,
            ),
            header_timeout: seconds(
                pick(self.header_timeout, file.header_timeout_s),
                defaults.header_timeout,
            ),
            idle_timeout: seconds(
                pick(self.idle_timeout, file.idle_timeout_s),
                defaults.idle_timeout,
            ),
            request_timeout: seconds(
                pick(self.request_timeout, file.request_timeout_s),
                defaults.request_timeout,
            ),
            body_min_rate: pick(self.body_min_rate, file.body_min_rate)
                .unwrap_or(defaults.body_min_rate),
            max_ingest: count(pick(self.max_ingest, file.max_ingest), defaults.max_ingest),
        };
        if let Some(open_files) = open_files {
            if max_connections.is_none() {
                limits = limits.fit_to_open_files(open_files);
            } else if limits.max_connections as u64 > open_files {
                tracing::warn!(
                    "max_connections {} is above the open-file limit {open_files}: raise LimitNOFILE",
                    limits.max_connections
                );
            }
        }
        limits
    }
}

fn parse_minor(text: &str) -> Result<(u32, u32), String> {
    nodecheck_collector::kubernetes::minor_version(text)
        .ok_or_else(|| format!("{text:?} is not a Kubernetes version such as 1.35"))
}

impl KubernetesArgs {
    fn reviewer(&self) -> anyhow::Result<Option<nodecheck_collector::kubernetes::TokenReviewer>> {
        use nodecheck_collector::kubernetes::{KubernetesAuthOptions, TokenReviewer};
        let Some(service_account) = &self.kubernetes_agents else {
            return Ok(None);
        };
        let cluster = self.kubernetes_cluster.as_deref().unwrap_or("default");
        let mut options =
            KubernetesAuthOptions::new(self.kubernetes_api.as_deref(), service_account, cluster)
                .map_err(anyhow::Error::msg)?;
        if let Some(file) = &self.kubernetes_token_file {
            options.token_file = file.clone();
        }
        if let Some(ca) = &self.kubernetes_ca {
            options.ca = Some(ca.clone());
        }
        let reviewer = TokenReviewer::new(options).map_err(anyhow::Error::msg)?;
        tracing::info!(
            "accepting projected tokens of {service_account} (TokenReview), each for its own node"
        );
        Ok(Some(reviewer))
    }
}

/// Where the collector keeps its data, and its configuration file.
#[derive(Debug, clap::Args)]
struct Storage {
    /// Settings in TOML (listen, data_dir, database, anonymous_read, retention_days,
    /// tls_cert, tls_key); flags given here win over it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The collector's own files: the SQLite database (unless --database says otherwise) and,
    /// on first start, agent.token and viewer.token [default: /var/lib/nodecheck-collector].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL database instead of SQLite, e.g. postgres://user:password@host/db
    /// (several collectors may share one). Better passed in the environment than on the
    /// command line, where every user of the machine can read it.
    #[arg(
        long,
        global = true,
        env = "NODECHECK_COLLECTOR_DATABASE",
        hide_env_values = true,
        value_name = "URL"
    )]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create a token and print it (shown once).
    Create {
        /// agent (posts reports), viewer (reads), admin (reads and manages tokens), or enroll
        /// (traded by an agent, once per node, for a token bound to that node).
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "token")]
        name: String,
        /// Agent and enrollment tokens: the only cluster they may post for (or enroll in).
        #[arg(long)]
        cluster: Option<String>,
        /// Agent and enrollment tokens: node-name globs they may post for (or enroll;
        /// comma-separated).
        #[arg(long)]
        nodes: Option<String>,
        /// Refuse the token this many days from now.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
        /// Agent tokens: how many distinct nodes the token may create [default: the number
        /// of names in --nodes when none has a wildcard, else no limit].
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
        max_nodes: Option<i64>,
        /// Enrollment tokens: how many nodes the token may enroll [default: no limit until it
        /// expires or is revoked].
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
        uses: Option<i64>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: i64 },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const DEFAULT_DATA_DIR: &str = "/var/lib/nodecheck-collector";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_RETENTION_DAYS: i64 = 30;

/// Where the data is, once the command line, the environment and the file are combined.
struct Place {
    data_dir: PathBuf,
    database: Option<String>,
}

impl Storage {
    /// The configuration file's settings (none without --config).
    fn file(&self) -> anyhow::Result<FileConfig> {
        Ok(match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        })
    }

    fn place(&self, file: &FileConfig) -> Place {
        Place {
            data_dir: self
                .data_dir
                .clone()
                .or_else(|| file.data_dir.clone())
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
            database: self.database.clone().or_else(|| file.database.clone()),
        }
    }
}

/// `url` with its password, if any, hidden.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".into();
    };
    match rest.rsplit_once('@') {
        Some((credentials, place)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{place}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn open_store(storage: &Place) -> anyhow::Result<Store> {
    use std::os::unix::fs::DirBuilderExt;
    let data_dir = &storage.data_dir;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    if let Some(url) = &storage.database {
        anyhow::ensure!(
            nodecheck_collector::store::is_postgres_url(url),
            "--database must be a postgres:// or postgresql:// URL (SQLite lives in --data-dir)"
        );
        let store = Store::connect(url)
            .with_context(|| format!("cannot use PostgreSQL at {}", redacted(url)))?;
        tracing::info!("storing in PostgreSQL at {}", redacted(url));
        return Ok(store);
    }
    let path = data_dir.join("collector.db");
    // Reports say where each node is weak: the database (and the WAL files SQLite creates
    // with its mode) are private to the collector's user.
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create database {}", path.display()))?;
    }
    Store::open(&path).with_context(|| format!("cannot open database {}", path.display()))
}

/// On an empty installation, creates one agent and one viewer token into 0600 files.
fn first_start_tokens(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    if store.has_tokens()? {
        return Ok(());
    }
    // A token file beside a database with no token belongs to another installation (or a
    // database that was replaced): writing over it is refused below, and a token stored
    // without its file would leave the next start with no usable token. So stop first.
    const FILES: [(Role, &str); 2] = [(Role::Agent, "agent.token"), (Role::Viewer, "viewer.token")];
    for (_, file) in FILES {
        let path = data_dir.join(file);
        anyhow::ensure!(
            !path.exists(),
            "{} exists, but the database holds no token: it is not this database's; move it \
             away to have new tokens made, or point --data-dir/--database at the database it \
             belongs to",
            path.display()
        );
    }
    for (role, file) in FILES {
        let spec = TokenSpec {
            role: role.as_str().into(),
            name: format!("first-start {}", role.as_str()),
            ..TokenSpec::default()
        };
        let (_, token) = auth::create(store, &spec, now())?;
        let path = data_dir.join(file);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "{token}")?;
        tracing::info!(
            "created the first {} token in {}",
            role.as_str(),
            path.display()
        );
    }
    Ok(())
}

/// Where and how to listen.
struct Listen {
    address: String,
    /// The certificate presented over HTTPS (re-read when its files change).
    tls: Option<Arc<nodecheck_collector::tls::ServingCertificate>>,
}

/// How the server behaves.
struct Settings {
    limits: ServerLimits,
    anonymous_read: bool,
    retention_days: i64,
    kubernetes_min_version: (u32, u32),
}

/// Every five minutes, the cluster's Node objects: labels, roles and kubelet versions, and
/// the fleet check on them.
fn enrich_from_nodes(app: Arc<App>, minimum: (u32, u32)) {
    tokio::spawn(async move {
        loop {
            let task = app.clone();
            let result = tokio::task::spawn_blocking(move || {
                let Some(reviewer) = task.kubernetes.as_ref() else {
                    return Ok(None);
                };
                let nodes = reviewer.nodes().map_err(|e| e.to_string())?;
                task.store
                    .record_kubernetes_nodes(reviewer.cluster(), &nodes, minimum, now())
                    .map(|failing| Some((nodes.len(), failing)))
                    .map_err(|e| e.to_string())
            })
            .await;
            match result {
                Ok(Ok(Some((nodes, failing)))) => tracing::info!(
                    "read {nodes} Node objects; {failing} kubelets older than {}.{}",
                    minimum.0,
                    minimum.1
                ),
                Ok(Ok(None)) => return,
                Ok(Err(e)) => tracing::warn!("cannot read the cluster's nodes: {e}"),
                Err(e) => tracing::warn!("node enrichment failed: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(300)).await;
        }
    });
}

/// Sends the webhooks' deliveries as they fall due, and every minute enqueues the nodes that
/// went stale. Each delivery is claimed for a lease, so replicas share the work and a sender
/// that dies leaves its deliveries to the others.
fn tell_by_webhooks(app: Arc<App>) {
    const CLAIM: i64 = nodecheck_collector::store::CLAIM_MAX;
    let sweeper = app.clone();
    tokio::spawn(async move {
        loop {
            let app = sweeper.clone();
            match tokio::task::spawn_blocking(move || app.store.tell_stale(now())).await {
                Ok(Ok(n)) if n > 0 => tracing::info!("{n} nodes went stale"),
                Ok(Err(e)) => tracing::warn!("finding stale nodes to tell of failed: {e}"),
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    });
    tokio::spawn(async move {
        let agent = nodecheck_collector::webhooks::client();
        loop {
            let task = app.clone();
            let agent = agent.clone();
            let sent = tokio::task::spawn_blocking(move || {
                let store = &task.store;
                let due = store.claim_deliveries(now(), CLAIM)?;
                for delivery in &due {
                    let webhook = store.webhooks().iter().find(|w| w.name == delivery.webhook);
                    let outcome = match webhook {
                        Some(webhook) => {
                            nodecheck_collector::webhooks::send(&agent, webhook, delivery)
                        }
                        None => nodecheck_collector::webhooks::Outcome::Failed(
                            "this webhook is no longer configured".into(),
                        ),
                    };
                    if let nodecheck_collector::webhooks::Outcome::Failed(why) = &outcome {
                        tracing::warn!(
                            "webhook {}: delivery {} failed (attempt {}): {why}",
                            delivery.webhook,
                            delivery.idempotency_key,
                            delivery.attempts + 1
                        );
                    }
                    store.record_attempt(delivery, webhook, &outcome, now())?;
                }
                Ok::<_, nodecheck_collector::store::StoreError>(due.len())
            })
            .await;
            match sent {
                // A full claim: more may be due at once.
                Ok(Ok(n)) if n as i64 == CLAIM => continue,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("webhook deliveries: {e}"),
                Err(e) => tracing::warn!("webhook deliveries: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

async fn serve(
    listen: Listen,
    store: Store,
    reviewer: Option<nodecheck_collector::kubernetes::TokenReviewer>,
    settings: Settings,
) -> anyhow::Result<()> {
    let Settings {
        limits,
        anonymous_read,
        retention_days,
        kubernetes_min_version,
    } = settings;
    let tls = match listen.tls {
        Some(serving) => {
            let config = serving.server_config()?;
            nodecheck_collector::tls::watch(serving);
            Some(config)
        }
        None => None,
    };
    let mut app = App::new(store, anonymous_read);
    app.tls = tls.is_some();
    app.kubernetes = reviewer;
    app.set_limits(limits);
    let stats = app.server.clone();
    let app = Arc::new(app);
    enrich_from_nodes(app.clone(), kubernetes_min_version);
    if !app.store.webhooks().is_empty() {
        tell_by_webhooks(app.clone());
    }
    let pruner = app.clone();
    tokio::spawn(async move {
        loop {
            let app = pruner.clone();
            let cutoff = now() - retention_days * 86_400;
            match tokio::task::spawn_blocking(move || app.store.prune(cutoff)).await {
                Ok(Ok(n)) if n > 0 => {
                    tracing::info!("pruned {n} reports older than {retention_days} days")
                }
                Ok(Err(e)) => tracing::warn!("pruning failed: {e}"),
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
    // Nodes that stopped reporting stop counting for how unknown checks are described, and
    // for what their peers' settings are.
    let withdrawer = app.clone();
    tokio::spawn(async move {
        loop {
            let app = withdrawer.clone();
            match tokio::task::spawn_blocking(move || app.store.withdraw_stale_descriptions(now()))
                .await
            {
                Ok(Ok(n)) if n > 0 => tracing::info!(
                    "{n} descriptions of unknown checks by stale nodes no longer count"
                ),
                Ok(Err(e)) => tracing::warn!("withdrawing stale nodes' descriptions failed: {e}"),
                _ => {}
            }
            // Nor for which settings their peers hold.
            let app = withdrawer.clone();
            match tokio::task::spawn_blocking(move || app.store.withdraw_stale_drift(now())).await {
                Ok(Ok(n)) if n > 0 => {
                    tracing::info!("{n} stale nodes no longer count in drift from peers")
                }
                Ok(Err(e)) => tracing::warn!("withdrawing stale nodes from drift failed: {e}"),
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_secs(300)).await;
        }
    });
    let address = &listen.address;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let router = api::router(app);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "listening on {scheme}://{address} (at most {} connections, {} reports at once)",
        limits.max_connections,
        limits.max_ingest
    );
    nodecheck_collector::server::serve(listener, tls, router, limits, stats, shutdown()).await;
    Ok(())
}

/// SIGTERM (what Kubernetes sends) or SIGINT: stop accepting, finish what is in flight.
async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            storage,
            anonymous_read,
            retention_days,
            tls_cert,
            tls_key,
            kubernetes,
            limits,
        } => {
            let file = storage.file()?;
            let reviewer = kubernetes.reviewer()?;
            let place = storage.place(&file);
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.into());
            let anonymous_read = anonymous_read || file.anonymous_read.unwrap_or(false);
            let retention_days = retention_days
                .or(file.retention_days)
                .unwrap_or(DEFAULT_RETENTION_DAYS);
            // The certificate and key come together, from the command line or the file.
            let (tls_cert, tls_key) = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => (Some(cert), Some(key)),
                _ => (file.tls_cert, file.tls_key),
            };
            // The certificate is read before anything else, so a bad one stops the start.
            let tls = match (&tls_cert, &tls_key) {
                (Some(certificate), Some(key)) => Some(
                    nodecheck_collector::tls::ServingCertificate::load(certificate, key)?,
                ),
                _ => None,
            };
            // Opened before the runtime starts: the PostgreSQL client blocks on a runtime of
            // its own, which cannot run inside another; from then on the store is used only
            // on blocking threads.
            let mut store = open_store(&place)?;
            first_start_tokens(&store, &place.data_dir)?;
            // A webhook whose secret cannot be read stops the start: notifications must not
            // be lost quietly.
            let webhooks = file
                .webhooks
                .iter()
                .map(nodecheck_collector::webhooks::Webhook::from_config)
                .collect::<Result<Vec<_>, String>>()
                .map_err(|e| anyhow::anyhow!(e))?;
            for webhook in &webhooks {
                // Only where: an incoming-webhook URL's path is a credential.
                tracing::info!("webhook {} tells {}", webhook.name, webhook.origin());
            }
            store.set_webhooks(webhooks);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let listen = Listen {
                address: listen,
                tls,
            };
            let settings = Settings {
                limits: limits.resolve(
                    file.limits.as_ref(),
                    nodecheck_collector::server::open_file_limit(),
                ),
                anonymous_read,
                retention_days,
                kubernetes_min_version: kubernetes.kubernetes_min_version,
            };
            runtime.block_on(serve(listen, store, reviewer, settings))
        }
        Command::GenerateMan { dir } => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&dir)?;
            let command = Cli::command();
            let mut pages = vec![(command.clone(), "nodecheck-collector".to_string())];
            for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("nodecheck-collector-{}", sub.get_name());
                pages.push((sub.clone().name(name.clone()), name));
            }
            for (page, name) in pages {
                let mut out = Vec::new();
                clap_mangen::Man::new(page).render(&mut out)?;
                std::fs::write(dir.join(format!("{name}.1")), out)
                    .with_context(|| format!("cannot write {}", dir.display()))?;
            }
            Ok(())
        }
        Command::Cert {
            out_dir,
            kubernetes,
            namespace,
            names,
            days,
            force,
        } => {
            use nodecheck_collector::cert;
            let mut all = if kubernetes {
                cert::service_names(&namespace)?
            } else {
                Vec::new()
            };
            all.extend(names);
            let issued = cert::issue(&all, days, time::OffsetDateTime::now_utc())?;
            let until = rfc3339(std::time::Duration::from_secs(
                u64::try_from(issued.not_after.unix_timestamp()).unwrap_or(0),
            ));
            match out_dir {
                Some(dir) => {
                    for path in cert::write_files(&issued, &dir, force)? {
                        eprintln!("wrote {}", path.display());
                    }
                }
                None => print!("{}", cert::kubernetes_objects(&issued, &namespace)?),
            }
            eprintln!(
                "certificate for {} valid until {until}; the CA's key was not kept",
                issued.names.join(", ")
            );
            Ok(())
        }
        Command::Token { storage, action } => {
            let store = open_store(&storage.place(&storage.file()?))?;
            match action {
                TokenAction::Create {
                    role,
                    name,
                    cluster,
                    nodes,
                    expires_in_days,
                    max_nodes,
                    uses,
                } => {
                    let spec = TokenSpec {
                        role,
                        name,
                        scope_cluster: cluster,
                        scope_nodes: nodes,
                        expires_at: expires_in_days.map(|days| now() + i64::from(days) * 86_400),
                        max_nodes,
                        uses,
                    };
                    let (id, token) = auth::create(&store, &spec, now())?;
                    eprintln!("created token {id}; it is shown once:");
                    println!("{token}");
                }
                TokenAction::List => {
                    println!("id\trole\tname\tcluster\tnodes\tmax_nodes\texpires\tstate");
                    let now = now();
                    for t in store.tokens()? {
                        let expires = t.expires_at.map_or("never".to_string(), |at| {
                            rfc3339(std::time::Duration::from_secs(
                                u64::try_from(at).unwrap_or(0),
                            ))
                        });
                        let state = t.state(now);
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}\t{expires}\t{state}",
                            t.id,
                            t.role,
                            t.name,
                            t.scope_cluster.as_deref().unwrap_or("*"),
                            t.scope_nodes.as_deref().unwrap_or("*"),
                            t.max_nodes.map_or("-".to_string(), |n| n.to_string()),
                        );
                    }
                }
                TokenAction::Revoke { id } => {
                    anyhow::ensure!(store.revoke_token(id, now())?, "no live token with id {id}");
                    println!("revoked token {id}");
                }
            }
            Ok(())
        }
    }
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NODECHECK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal; journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("nodecheck-collector: error: {e:#}");
        std::process::exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_file_and_the_file_over_the_defaults() {
        let file = FileConfig {
            data_dir: Some("/from/file".into()),
            database: Some("postgres://from-file/db".into()),
            ..FileConfig::default()
        };
        let flags = Storage {
            config: None,
            data_dir: Some("/from/flag".into()),
            database: None,
        };
        let place = flags.place(&file);
        assert_eq!(place.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(place.database.as_deref(), Some("postgres://from-file/db"));
        let nothing = Storage {
            config: None,
            data_dir: None,
            database: None,
        }
        .place(&FileConfig::default());
        assert_eq!(nothing.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(nothing.database, None);
    }
    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            super::redacted("postgres://collector:hunter2@db.internal:5432/nodecheck"),
            "postgres://collector:***@db.internal:5432/nodecheck"
        );
        assert_eq!(
            super::redacted("postgres://collector@db/nodecheck"),
            "postgres://collector@db/nodecheck"
        );
        // A password holding '@' is still hidden whole.
        assert_eq!(
            super::redacted("postgresql://u:p@ss@db/x"),
            "postgresql://u:***@db/x"
        );
        assert_eq!(super::redacted("host=db password=x"), "(not a URL)");
    }
}

//! The command line: `nodecheck [scan]`, `push`, `checks`, `explain`, `snapshot`.
//!
//! Exit codes: 0 the verdict passed; 1 the verdict failed (a failing or error finding at or
//! above `--fail-on`, or a score under `--fail-under`); 2 nodecheck could not do its job
//! (for `push`: the upload failed, whatever the verdict). Errors are one line on stderr,
//! without a backtrace.

use crate::daemon::client::{Ack, Client, ClientError, ClientOptions};
use crate::facts;
use crate::host::{Host, snapshot};
use crate::output::{self, Format, TextOptions};
use crate::profile;
use crate::registry;
use crate::scan::{self, ScanOptions};
use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use nodecheck_report::url::percent_encode;
use nodecheck_report::{Report, Severity, Status};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "nodecheck",
    version,
    about = "Judges how hardened a Kubernetes node (or any Linux host) is: sshd, kubelet, control plane, ports, containers.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan this host (the default command).
    Scan(ScanArgs),
    /// Run as the node's agent: scan at start, every --interval and when watched
    /// configuration changes; spool each report and send it to the collector.
    Agent(AgentArgs),
    /// Show the fleet as the collector sees it (needs a viewer token).
    Fleet {
        #[command(flatten)]
        collector: CollectorArgs,
        #[command(subcommand)]
        view: FleetView,
    },
    /// One scan for the agent, run in a child process: prints the report and the files to
    /// watch as JSON.
    #[command(hide = true)]
    AgentScan {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        node: NodeArgs,
        #[arg(long, value_parser = clap::value_parser!(u64).range(
            nodecheck_report::limits::INTERVAL_S_MIN..=nodecheck_report::limits::INTERVAL_S_MAX))]
        interval_s: u64,
    },
    /// Scan this host once and send the report to a collector.
    Push {
        #[command(flatten)]
        scan: ScanArgs,
        #[command(flatten)]
        collector: CollectorArgs,
        /// Where an enrolled node keeps its token (node.token) between pushes.
        #[arg(long, default_value = "/var/lib/nodecheck", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// List every check.
    Checks {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Explain one check: why it matters, how to fix it, its parameters.
    Explain { id: String },
    /// Write what a scan reads, without the node's secrets, as a .tar.gz (mode 0600) to scan
    /// elsewhere.
    Snapshot {
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        host: HostArgs,
        /// The scan's deadline; a scan that runs past it writes no snapshot (exit 2).
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Propose the changes that fix the failing findings, proven by a scan of a copy of the
    /// host with them applied; the host itself is never touched.
    Remediate(RemediateArgs),
    /// Regenerate docs/checks and docs/report.schema.json.
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
    /// Write man pages (nodecheck.1 and one per command) into DIR, for packages.
    #[command(hide = true)]
    GenerateMan { dir: PathBuf },
}

/// How `nodecheck fleet` prints.
#[derive(Debug, Clone, Copy, Args)]
struct FleetOutput {
    /// Text tables, or the collector's JSON for scripts.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    #[arg(long)]
    no_color: bool,
}

#[derive(Debug, Subcommand)]
enum FleetView {
    /// Nodes, worst score first.
    Nodes {
        #[command(flatten)]
        output: FleetOutput,
        /// How many nodes to show (the collector gives 1000 at most).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        /// Only this cluster's nodes.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Checks, most failed first.
    Checks {
        #[command(flatten)]
        output: FleetOutput,
    },
    /// What changed on nodes between consecutive reports, newest first: checks that
    /// flipped, score moves, listeners and images with a shell, agent and kubelet versions.
    Changes {
        #[command(flatten)]
        output: FleetOutput,
        /// How far back: 30m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = parse_age)]
        since: String,
        /// Only this cluster's nodes.
        #[arg(long)]
        cluster: Option<String>,
        /// Only this node (with --cluster when names repeat across clusters).
        #[arg(long)]
        node: Option<String>,
        /// Only regressions (worse), improvements (better) or neither (neutral).
        #[arg(long, value_parser = ["worse", "better", "neutral"])]
        direction: Option<String>,
        /// Only changes of this check.
        #[arg(long)]
        check: Option<String>,
        /// How many changes to show (the collector gives 1000 at most).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// Settings on which nodes differ from most of their cluster-and-role peers (kubelet and
    /// sshd values, sysctls, listening ports), even where every value passes.
    Drift {
        #[command(flatten)]
        output: FleetOutput,
        /// Only this cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// Only peer groups with this role (worker, control-plane).
        #[arg(long)]
        role: Option<String>,
        /// Only settings beginning so (kubelet:, sshd:PermitRootLogin).
        #[arg(long)]
        setting: Option<String>,
        /// Only what this node differs on (needs --cluster).
        #[arg(long, requires = "cluster")]
        node: Option<String>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// One node's failing checks with their evidence.
    Node {
        #[command(flatten)]
        output: FleetOutput,
        /// The node's name, or cluster/name.
        name: String,
        /// Its cluster, when NAME does not say.
        #[arg(long, env = "NODECHECK_CLUSTER", default_value = "default")]
        cluster: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    None,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::None => None,
        }
    }
}

#[derive(Debug, Clone, Args)]
struct HostArgs {
    /// The host's root filesystem: a directory, or a .tar/.tar.gz snapshot.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// The host's procfs (default: <root>/proc).
    #[arg(long)]
    proc: Option<PathBuf>,
}

/// How to reach the collector.
#[derive(Debug, Clone, Args)]
struct CollectorArgs {
    /// The collector's URL, e.g. https://nodecheck-collector:8443.
    #[arg(long, env = "NODECHECK_COLLECTOR", value_name = "URL")]
    collector: String,
    /// File holding the token (re-read for every request, so rotated tokens work)
    /// [default for an enrolled node: node.token in the spool's directory for `agent`, in
    /// --state-dir for `push`, where enrollment keeps it].
    #[arg(long, env = "NODECHECK_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// An enrollment token (`nodecheck-collector token create --role enroll`): on first
    /// contact the node trades it for a token bound to its name, kept in the token file (0600)
    /// and used from then on.
    #[arg(long, env = "NODECHECK_ENROLL_TOKEN_FILE", value_name = "FILE")]
    enroll_token_file: Option<PathBuf>,
    /// PEM bundle of the CAs to trust for the collector (instead of the public roots).
    #[arg(long, env = "NODECHECK_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// PEM client certificate chain to present to the collector.
    #[arg(long, requires = "client_key", value_name = "FILE")]
    client_cert: Option<PathBuf>,
    /// The private key of --client-cert.
    #[arg(long, requires = "client_cert", value_name = "FILE")]
    client_key: Option<PathBuf>,
    /// Time allowed for each request to the collector, e.g. 30s (the agent handles a stop
    /// signal once the request in flight ends, so keep it short).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    request_timeout: std::time::Duration,
}

impl CollectorArgs {
    /// The client's options; `node_token` is where an enrolled node keeps its token when
    /// --token-file does not say.
    fn options(&self, node_token: Option<PathBuf>) -> anyhow::Result<ClientOptions> {
        let token_file = match (&self.token_file, &self.enroll_token_file, node_token) {
            (Some(file), _, _) => file.clone(),
            // An enrolled node finds its token where enrollment kept it.
            (None, enroll, Some(kept)) if enroll.is_some() || kept.exists() => kept,
            _ => bail!(
                "--token-file is required (or NODECHECK_TOKEN_FILE), or --enroll-token-file to enroll the node"
            ),
        };
        Ok(ClientOptions {
            collector: self.collector.clone(),
            token_file,
            enroll_token_file: self.enroll_token_file.clone(),
            ca: self.ca.clone(),
            client_cert: self.client_cert.clone().zip(self.client_key.clone()),
            timeout: self.request_timeout,
        })
    }

    fn client(&self, node_token: Option<PathBuf>) -> anyhow::Result<Client> {
        Ok(Client::new(&self.options(node_token)?)?)
    }
}

#[derive(Debug, Clone, Args)]
struct AgentArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    collector: CollectorArgs,
    /// Time between scans (each spread by up to a tenth either way), at most a week.
    #[arg(long, default_value = "10m", value_parser = parse_interval)]
    interval: std::time::Duration,
    /// Where reports wait until the collector acknowledged them.
    #[arg(long, default_value = "/var/lib/nodecheck/spool", value_name = "DIR")]
    spool: PathBuf,
    /// Most reports the spool keeps (the oldest are dropped first).
    #[arg(long, default_value_t = 1008)]
    spool_max_reports: usize,
    /// Most bytes the spool keeps (the oldest reports are dropped first).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    spool_max_bytes: u64,
    /// Serve /healthz and /readyz (the kubelet's probes) on this address, e.g. 0.0.0.0:9101.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Serve /metrics on --listen too, for a scraper (off by default: the metrics say when
    /// uploads fail and what the node scores, which only a configured scraper should read).
    #[arg(long, requires = "listen")]
    metrics: bool,
    /// Log as text or as JSON lines.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// `90s`, `10m`, `1h`, or plain seconds.
/// A time ago as the collector takes it: a number and s, m, h or d.
fn parse_age(text: &str) -> Result<String, String> {
    let ok = text.len() > 1
        && text[..text.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && text.ends_with(['s', 'm', 'h', 'd']);
    ok.then(|| text.to_string())
        .ok_or_else(|| format!("{text:?} is not a time ago (like 30m, 24h or 7d)"))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (like 30s, 10m or 1h)"))?;
    let seconds = match unit {
        "ms" => return Ok(std::time::Duration::from_millis(value)),
        "s" => value,
        "m" => value.saturating_mul(60),
        "h" => value.saturating_mul(3600),
        _ => return Err(format!("{text:?}: unit must be ms, s, m or h")),
    };
    if seconds == 0 {
        return Err("a duration must be more than zero".into());
    }
    Ok(std::time::Duration::from_secs(seconds))
}

/// A report interval: a duration of at most a week (the longest a collector accepts).
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = parse_duration(text)?;
    let most = nodecheck_report::limits::INTERVAL_S_MAX;
    if interval.as_secs() > most {
        return Err(format!("{text:?} is longer than a week ({most} s)"));
    }
    Ok(interval)
}

/// A node or cluster name, by Kubernetes' rules (what a collector accepts).
fn parse_name(text: &str) -> Result<String, String> {
    nodecheck_report::limits::check_name(text)
        .map(|()| text.to_string())
        .map_err(|why| format!("{text:?} {why}"))
}

/// What to scan and with which checks.
#[derive(Debug, Clone, Args)]
struct TargetArgs {
    #[command(flatten)]
    host: HostArgs,
    /// A built-in profile (default, cis, bastion) or a TOML file.
    #[arg(long, default_value = "default")]
    profile: String,
    /// Run only these areas or check IDs (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The scan's deadline: what is not read by then is an `error` finding, and the scan
    /// exits 2 (the agent still sends the report).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: std::time::Duration,
}

/// Who the report is about.
#[derive(Debug, Clone, Args)]
struct NodeArgs {
    /// Node name, a DNS-1123 subdomain as Kubernetes names nodes (default: $NODE_NAME, then
    /// the host's hostname in lowercase).
    #[arg(long, env = "NODE_NAME", value_parser = parse_name)]
    node_name: Option<String>,
    /// Cluster name, a DNS-1123 subdomain (default: $NODECHECK_CLUSTER, then `default`).
    #[arg(long, env = "NODECHECK_CLUSTER", default_value = "default", value_parser = parse_name)]
    cluster: String,
}

#[derive(Debug, Clone, Args)]
struct ScanArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the output to a file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Fail (exit 1) on a failing or error finding at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    fail_on: FailOn,
    /// Fail (exit 1) when the score is under this.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    fail_under: Option<u8>,
    #[arg(long)]
    no_color: bool,
    /// List passing and not-applicable checks too.
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    node: NodeArgs,
}

/// How `nodecheck remediate` shows its proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RemediateFormat {
    /// What changes, what each fixes, what is left to do by hand.
    Text,
    /// Unified diffs of every file it changes, and the mode script.
    Diff,
    /// Every change with the findings it fixes, and the proof.
    Json,
}

#[derive(Debug, Clone, Args)]
struct RemediateArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Write the proposal into DIR (new or empty): each file it adds or changes at its path
    /// in the host's layout, and DIR/nodecheck-remediation/ with the diffs, the mode script
    /// and a README.
    #[arg(long, short, value_name = "DIR", conflicts_with = "format")]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = RemediateFormat::Text)]
    format: RemediateFormat,
}

/// How many scans' worth of time a remediation's proof may take before it is abandoned (each
/// proof scan has the scan's own deadline; withdrawing a change costs another proof).
const REMEDIATE_SCANS: u32 = 8;

/// `nodecheck remediate`: scan, propose, prove on an in-memory copy, and show or write it.
fn remediate_command(args: &RemediateArgs) -> anyhow::Result<i32> {
    let Scanned {
        report,
        facts,
        timed_out,
        host,
        profile,
        options,
    } = scan_target(&args.target, &args.node, None)?;
    let host = match host {
        Some(host) if !timed_out => host,
        _ => bail!(
            "the scan did not finish within --timeout {}, so no change can be proven; try a longer --timeout",
            crate::host::seconds(args.target.timeout)
        ),
    };
    // The real sshd checks the proposal only on this machine's own root, whose host keys,
    // users and version are the ones it sees.
    let sshd_binary = crate::facts::sshd::BINARY_PATHS
        .iter()
        .find(|p| std::path::Path::new(p).is_file())
        .filter(|_| args.target.host.root == std::path::Path::new("/") && !host.is_snapshot())
        .map(|p| p.to_string());
    // Each proof's reads have the scan's deadline; a read the kernel never returns from (a
    // hung mount) is abandoned with the whole remediation after a bounded wait.
    let timeout = args.target.timeout;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let prover = crate::remediate::Prover {
            host: &host,
            profile: &profile,
            options: &options,
            sshd_binary,
            timeout,
        };
        let proposal = crate::remediate::propose(&prover, &facts, report);
        let _ = done.send((proposal, host));
    });
    let patience = timeout.saturating_mul(REMEDIATE_SCANS) + DEADLINE_GRACE;
    let Ok((proposal, host)) = finished.recv_timeout(patience) else {
        bail!(
            "the remediation's proof did not finish within {} (a read that never returned?); nothing was proposed",
            crate::host::seconds(patience)
        );
    };
    let rendered = match (&args.output, args.format) {
        (Some(dir), _) => {
            crate::remediate::render::write_dir(&proposal, &host, dir)?;
            crate::remediate::render::summary(&proposal, Some(dir))
        }
        (None, RemediateFormat::Text) => crate::remediate::render::summary(&proposal, None),
        (None, RemediateFormat::Diff) => crate::remediate::render::diffs(&proposal),
        (None, RemediateFormat::Json) => crate::remediate::render::json_text(&proposal),
    };
    let _ = std::io::stdout().lock().write_all(rendered.as_bytes());
    Ok(0)
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match &cli.command {
        // The daemon logs what it does; the one-shot commands only what went wrong.
        Some(Command::Agent(args)) => init_daemon_logging(args.log_format),
        _ => init_logging(),
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors name host paths and values: escaped like every host string.
            let message = format!("{e:#}");
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(
                stderr,
                "nodecheck: error: {}",
                crate::text::terminal_safe(&message)
            );
            2
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NODECHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn init_daemon_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NODECHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

fn agent_command(args: AgentArgs) -> anyhow::Result<i32> {
    // Checked here, so a mistake stops the start rather than every scan.
    let target = &args.target;
    scan::validate_only(&target.only)?;
    let profile = profile::load(&target.profile).map_err(|e| anyhow!("{e}"))?;
    for warning in &profile.warnings {
        tracing::warn!("{warning}");
    }
    open_host(&target.host)?;
    crate::daemon::agent::run(crate::daemon::agent::AgentOptions {
        root: target.host.root.clone(),
        proc: target.host.proc.clone(),
        profile: target.profile.clone(),
        only: target.only.clone(),
        scan_timeout: target.timeout,
        node_name: args.node.node_name.clone(),
        cluster: args.node.cluster.clone(),
        interval: args.interval,
        spool: args.spool.clone(),
        bounds: crate::daemon::spool::Bounds {
            max_reports: args.spool_max_reports,
            max_bytes: args.spool_max_bytes,
        },
        client: args
            .collector
            .options(args.spool.parent().map(|dir| dir.join("node.token")))?,
        listen: args.listen.clone(),
        metrics: args.metrics,
    })?;
    Ok(0)
}

/// `nodecheck fleet`: the collector's answers as tables, or as JSON for scripts.
fn fleet_command(collector: &CollectorArgs, view: &FleetView) -> anyhow::Result<i32> {
    use crate::output::fleet::{self, FleetCheck, FleetNode, Paint};
    let client = collector.client(None)?;
    let (FleetView::Nodes { output, .. }
    | FleetView::Checks { output }
    | FleetView::Changes { output, .. }
    | FleetView::Drift { output, .. }
    | FleetView::Node { output, .. }) = view;
    let (format, no_color) = (output.format, output.no_color);
    let paint = Paint(
        !no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal(),
    );
    let now = crate::time::now().as_secs() as i64;
    let json = matches!(format, ListFormat::Json);
    let parse = |value: serde_json::Value, what: &str| -> anyhow::Result<serde_json::Value> {
        value
            .get(what)
            .cloned()
            .ok_or_else(|| anyhow!("the collector's answer has no `{what}`"))
    };
    let text = match view {
        FleetView::Nodes { limit, cluster, .. } => {
            let mut path = format!("/api/v1/nodes?sort=score&limit={limit}");
            if let Some(cluster) = cluster {
                path.push_str(&format!("&cluster={}", percent_encode(cluster)));
            }
            let mut nodes = parse(client.get_json(&path)?, "nodes")?;
            if json {
                serde_json::to_string_pretty(&nodes)?
            } else {
                // What the collector holds came from nodes: escaped for the terminal.
                crate::text::terminal_safe_json(&mut nodes);
                let rows: Vec<FleetNode> = serde_json::from_value(nodes)
                    .context("the collector's node list is not what nodecheck reads")?;
                let total = if cluster.is_none() {
                    client.get_json("/api/v1/summary")?["nodes"].as_i64()
                } else {
                    None
                };
                fleet::nodes(&rows, total, now, paint)
            }
        }
        FleetView::Checks { .. } => {
            let mut checks = parse(client.get_json("/api/v1/checks")?, "checks")?;
            if json {
                serde_json::to_string_pretty(&checks)?
            } else {
                crate::text::terminal_safe_json(&mut checks);
                let rows: Vec<FleetCheck> = serde_json::from_value(checks)
                    .context("the collector's check list is not what nodecheck reads")?;
                fleet::checks(&rows, paint)
            }
        }
        FleetView::Changes {
            since,
            cluster,
            node,
            direction,
            check,
            limit,
            ..
        } => {
            let mut path = format!("/api/v1/changes?since={since}&limit={limit}");
            for (name, value) in [
                ("cluster", cluster),
                ("node", node),
                ("direction", direction),
                ("check", check),
            ] {
                if let Some(value) = value {
                    path.push_str(&format!("&{name}={}", percent_encode(value)));
                }
            }
            let mut changes = parse(client.get_json(&path)?, "changes")?;
            if json {
                serde_json::to_string_pretty(&changes)?
            } else {
                crate::text::terminal_safe_json(&mut changes);
                let rows: Vec<fleet::FleetChange> = serde_json::from_value(changes)
                    .context("the collector's change feed is not what nodecheck reads")?;
                fleet::changes(&rows, since, now, paint)
            }
        }
        FleetView::Drift {
            cluster,
            role,
            setting,
            node,
            limit,
            ..
        } => {
            let mut path = format!("/api/v1/drift?limit={limit}");
            for (name, value) in [
                ("cluster", cluster),
                ("role", role),
                ("setting", setting),
                ("node", node),
            ] {
                if let Some(value) = value {
                    path.push_str(&format!("&{name}={}", percent_encode(value)));
                }
            }
            let mut drift = parse(client.get_json(&path)?, "drift")?;
            if json {
                serde_json::to_string_pretty(&drift)?
            } else {
                crate::text::terminal_safe_json(&mut drift);
                let rows: Vec<fleet::FleetDrift> = serde_json::from_value(drift)
                    .context("the collector's drift list is not what nodecheck reads")?;
                fleet::drift(&rows, paint)
            }
        }
        FleetView::Node { name, cluster, .. } => {
            let (cluster, name) = name.split_once('/').unwrap_or((cluster, name));
            let path = format!(
                "/api/v1/nodes/{}/{}",
                percent_encode(cluster),
                percent_encode(name)
            );
            let mut detail = match client.get_json(&path) {
                Err(ClientError::Refused { status: 404, .. }) => {
                    bail!(
                        "the collector knows no node {cluster}/{name} (`nodecheck fleet nodes` lists them)"
                    )
                }
                other => other?,
            };
            if json {
                serde_json::to_string_pretty(&detail)?
            } else {
                crate::text::terminal_safe_json(&mut detail);
                let report: Report = serde_json::from_value(parse(detail.clone(), "report")?)
                    .context("the collector's report is not one nodecheck reads")?;
                let last_seen = detail["score_history"]
                    .as_array()
                    .and_then(|h| h.last())
                    .and_then(|p| p["at"].as_i64());
                fleet::node(&report, last_seen, now, paint)
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if json {
        let _ = stdout.write_all(b"\n");
    }
    Ok(0)
}

/// A report a collector will take: within the format's limits. What breaks one comes from the
/// node itself (a hostname that is no DNS name, say), and is said before anything is sent.
fn sendable(report: &Report) -> anyhow::Result<()> {
    nodecheck_report::limits::validate(report).map_err(|e| {
        let hint = if e.field == "node.name" {
            "; give the node's name with --node-name"
        } else {
            ""
        };
        anyhow::anyhow!("a collector would refuse this report: {e}{hint}")
    })
}

/// The agent's scan, in the child process it runs each scan in.
fn agent_scan_command(
    target: &TargetArgs,
    node: &NodeArgs,
    interval_s: u64,
) -> anyhow::Result<i32> {
    // Past the deadline the report still goes to the collector: its error findings say
    // what the scan could not read.
    let Scanned { report, facts, .. } = scan_target(target, node, Some(interval_s))?;
    sendable(&report)?;
    let kubelet = facts.kubelet.as_ref();
    let header = crate::daemon::agent::ScanHeader {
        id: report.id.clone(),
        score: report.score,
        counts: report.summary.counts.clone(),
        kubelet: crate::daemon::agent::KubeletFiles {
            config: kubelet.and_then(|k| k.config_file.as_ref().map(|f| f.path.clone())),
            drop_ins: kubelet
                .map(|k| k.drop_in_files.iter().map(|f| f.path.clone()).collect())
                .unwrap_or_default(),
        },
    };
    let mut out = serde_json::to_vec(&header).context("cannot serialize the report")?;
    out.push(b'\n');
    serde_json::to_writer(&mut out, &report).context("cannot serialize the report")?;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .context("cannot write the report")?;
    Ok(0)
}

/// Writes `NAME.1` for `command` and `NAME-SUB.1` for each visible subcommand; returns how
/// many.
pub fn write_man_pages(command: clap::Command, dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let name = command.get_name().to_string();
    let mut written = 0;
    let mut render = |page: clap::Command, file: String| -> std::io::Result<()> {
        let mut out = Vec::new();
        clap_mangen::Man::new(page).render(&mut out)?;
        std::fs::write(dir.join(file), out)?;
        written += 1;
        Ok(())
    };
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let page_name = format!("{name}-{}", sub.get_name());
        render(
            sub.clone().name(page_name.clone()),
            format!("{page_name}.1"),
        )?;
    }
    render(command.clone(), format!("{name}.1"))?;
    Ok(written)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => scan_command(cli.scan),
        Some(Command::Scan(args)) => scan_command(args),
        Some(Command::Push {
            scan,
            collector,
            state_dir,
        }) => push_command(scan, &collector, &state_dir),
        Some(Command::Agent(args)) => agent_command(args),
        Some(Command::AgentScan {
            target,
            node,
            interval_s,
        }) => agent_scan_command(&target, &node, interval_s),
        Some(Command::Fleet { collector, view }) => fleet_command(&collector, &view),
        Some(Command::Checks { format }) => {
            list_checks(format);
            Ok(0)
        }
        Some(Command::Explain { id }) => explain(&id),
        Some(Command::Snapshot {
            output,
            host,
            timeout,
        }) => snapshot_command(&output, &host, timeout),
        Some(Command::Remediate(args)) => remediate_command(&args),
        Some(Command::GenerateMan { dir }) => {
            use clap::CommandFactory;
            let n = write_man_pages(Cli::command(), &dir)
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
            eprintln!("nodecheck: wrote {n} man pages under {}", dir.display());
            Ok(0)
        }
        Some(Command::GenerateDocs { dir }) => {
            let n = crate::docs::write_all(&dir)
                .with_context(|| format!("cannot write docs to {}", dir.display()))?;
            eprintln!("nodecheck: wrote {n} files under {}", dir.display());
            Ok(0)
        }
    }
}

fn open_host(args: &HostArgs) -> anyhow::Result<Host> {
    let host = Host::open(&args.root, args.proc.as_deref()).with_context(|| {
        format!(
            "cannot scan root {}; give --root a directory or a snapshot made by `nodecheck snapshot`",
            args.root.display()
        )
    })?;
    Ok(host)
}

fn warn_all(warnings: &[String]) {
    let mut stderr = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(
            stderr,
            "nodecheck: warning: {}",
            crate::text::terminal_safe(w)
        );
    }
}

fn scan_command(args: ScanArgs) -> anyhow::Result<i32> {
    let (report, timed_out) = scan_and_show(&args)?;
    if timed_out {
        // The report says what was not read; the scan did not do its whole job.
        return Ok(2);
    }
    Ok(verdict_code(&report, args.fail_on, args.fail_under))
}

/// One scan, one upload, no spool: exit 2 when the upload failed, else the verdict's code.
fn push_command(
    args: ScanArgs,
    collector: &CollectorArgs,
    state_dir: &std::path::Path,
) -> anyhow::Result<i32> {
    // The collector settings and the token are checked before the scan, so a typo costs no
    // scan (a node still to enroll has no token yet: its enrollment token is checked).
    let client = collector.client(Some(state_dir.join("node.token")))?;
    let kept = collector
        .token_file
        .clone()
        .unwrap_or_else(|| state_dir.join("node.token"));
    match &collector.enroll_token_file {
        Some(enroll) if !kept.exists() => {
            std::fs::read_to_string(enroll).with_context(|| {
                format!("cannot read the enrollment token {}", enroll.display())
            })?;
        }
        _ => {
            client.token()?;
        }
    }
    let (report, timed_out) = scan_and_show(&args)?;
    sendable(&report)?;
    let json = serde_json::to_vec(&report).context("cannot serialize the report")?;
    match client.post_report(&json) {
        Ok(ack) => {
            let what = match ack {
                Ack::Stored => "stored",
                Ack::Duplicate => "already stored",
            };
            eprintln!(
                "nodecheck: report {} of {}/{} {what} by {}",
                report.id, report.node.cluster, report.node.name, collector.collector
            );
            if timed_out {
                return Ok(2);
            }
            Ok(verdict_code(&report, args.fail_on, args.fail_under))
        }
        Err(e) => {
            eprintln!("nodecheck: error: report {} not sent: {e}", report.id);
            Ok(2)
        }
    }
}

/// A read the kernel never returns from (a hung network mount) is abandoned this long after
/// the deadline; the scan then reports what it could not read.
const DEADLINE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Gathers the facts of `host` by `timeout`: past the deadline every read fails at once (the
/// facts say what was not read), and a read that never returns is abandoned
/// [`DEADLINE_GRACE`] later. `Err` gives back nothing but that the scan did not finish.
fn gather_within(host: Host, timeout: std::time::Duration) -> Result<(facts::Facts, Host), String> {
    let host = host.with_deadline(timeout);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let facts = facts::gather(&host);
        let _ = done.send((facts, host));
    });
    finished.recv_timeout(timeout + DEADLINE_GRACE).map_err(|_| {
        format!(
            "the scan did not finish within its deadline (--timeout {}) and a read never returned (a hung mount?)",
            crate::host::seconds(timeout)
        )
    })
}

/// A scan: its report, the facts it was judged on, whether it ran past its deadline, and the
/// host it read (gone when a read never returned).
struct Scanned {
    report: Report,
    facts: facts::Facts,
    timed_out: bool,
    host: Option<Host>,
    profile: profile::Profile,
    options: ScanOptions,
}

/// Scans `target` for `node`.
fn scan_target(
    target: &TargetArgs,
    node: &NodeArgs,
    interval_s: Option<u64>,
) -> anyhow::Result<Scanned> {
    let started = crate::time::now();
    scan::validate_only(&target.only)?;
    let profile = profile::load(&target.profile).map_err(|e| anyhow!("{e}"))?;
    warn_all(&profile.warnings);
    let host = open_host(&target.host)?;
    let (facts, timed_out, host) = match gather_within(host, target.timeout) {
        Ok((facts, host)) => {
            let late = host.deadline_passed();
            (facts, late, Some(host))
        }
        Err(unfinished) => (facts::Facts::unread(unfinished), true, None),
    };
    warn_all(&facts.warnings);
    warn_all(&facts.incomplete);
    let node_name = node
        .node_name
        .clone()
        .filter(|n| !n.is_empty())
        // As the kubelet names its node: the hostname in lowercase.
        .or_else(|| facts.host.hostname.as_deref().map(str::to_lowercase))
        .unwrap_or_else(|| "unknown".into());
    let options = ScanOptions {
        node_name,
        cluster: node.cluster.clone(),
        only: target.only.clone(),
        interval_s,
        ..ScanOptions::default()
    };
    let report = scan::scan(&facts, &profile, &options, started);
    Ok(Scanned {
        report,
        facts,
        timed_out,
        host,
        profile,
        options,
    })
}

/// Scans as the arguments say, writes the rendered result, and returns the report.
fn scan_and_show(args: &ScanArgs) -> anyhow::Result<(Report, bool)> {
    let Scanned {
        report,
        timed_out,
        facts,
        profile,
        ..
    } = scan_target(&args.target, &args.node, None)?;
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color =
        !args.no_color && to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let hints = if args.format == Format::Text {
        crate::remediate::hints(&facts, &profile, &report)
    } else {
        output::FixHints::new()
    };
    let (width, max_lines) = text_size(to_terminal);
    let rendered = output::render_with_hints(
        &report,
        args.format,
        TextOptions {
            color,
            verbose: args.verbose,
            width,
            max_lines,
        },
        &hints,
    );
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`nodecheck | head`) is not an error worth reporting.
            let _ = stdout.write_all(rendered.as_bytes());
        }
    }
    Ok((report, timed_out))
}

/// The text report's size in a terminal, as (columns, lines): each from `COLUMNS` / `LINES`
/// when set, else the terminal's (at least 24 lines); 0 (no wrapping, nothing left out, one
/// line per item for grep) when the report goes to a file or a pipe.
fn text_size(to_terminal: bool) -> (usize, usize) {
    let terminal = to_terminal
        .then(|| terminal_size::terminal_size_of(std::io::stdout()))
        .flatten()
        .map(|(terminal_size::Width(w), terminal_size::Height(h))| {
            (usize::from(w), usize::from(h).max(24))
        });
    let pick = |variable: &str, from_terminal: Option<usize>, fallback: usize| {
        std::env::var(variable)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .or(from_terminal)
            .unwrap_or(if to_terminal { fallback } else { 0 })
    };
    (
        pick("COLUMNS", terminal.map(|t| t.0), 100),
        pick("LINES", terminal.map(|t| t.1), 40),
    )
}

/// 1 when a failing or error finding (unwaived) is at or above the threshold, or the score
/// is under `fail_under`; else 0.
fn verdict_code(report: &Report, fail_on: FailOn, fail_under: Option<u8>) -> i32 {
    let failing = fail_on.threshold().is_some_and(|threshold| {
        report.findings.iter().any(|f| {
            f.waiver.is_none()
                && matches!(f.status, Status::Fail | Status::Error)
                && f.severity >= threshold
        })
    });
    let under = match (fail_under, report.score) {
        (Some(min), Some(score)) => score < min,
        _ => false,
    };
    i32::from(failing || under)
}

fn list_checks(format: ListFormat) {
    match format {
        ListFormat::Text => {
            let mut out = String::new();
            for c in registry::CHECKS {
                out.push_str(&format!(
                    "{:<32} {:<8} {}\n",
                    c.meta.id, c.meta.severity, c.meta.title
                ));
            }
            print!("{out}");
        }
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = registry::CHECKS
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.meta.id,
                        "title": c.meta.title,
                        "area": c.meta.area,
                        "severity": c.meta.severity,
                        "roles": c.meta.roles,
                        "rationale": c.meta.rationale,
                        "remediation": c.meta.remediation,
                        "cis": c.meta.cis,
                        "references": c.meta.citations(),
                        "params": c.meta.params.iter().map(|p| serde_json::json!({
                            "name": p.name,
                            "type": p.kind().to_string(),
                            "default": p.default_value().to_string(),
                            "doc": p.doc,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
    }
}

fn explain(id: &str) -> anyhow::Result<i32> {
    let Some(check) = registry::find(id) else {
        let hint = crate::text::closest(id, registry::CHECKS.iter().map(|c| c.meta.id))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        bail!("unknown check `{id}`{hint} (`nodecheck checks` lists them)");
    };
    print!("{}", crate::docs::check_page(check));
    Ok(0)
}

fn snapshot_command(
    output: &std::path::Path,
    host_args: &HostArgs,
    timeout: std::time::Duration,
) -> anyhow::Result<i32> {
    let host = open_host(host_args)?.record_touched();
    let (facts, host) =
        gather_within(host, timeout).map_err(|e| anyhow!("{e}; no snapshot written"))?;
    warn_all(&facts.warnings);
    if host.deadline_passed() {
        bail!(
            "the scan ran past its deadline (--timeout {}); no snapshot written",
            crate::host::seconds(timeout)
        );
    }
    warn_all(&facts.incomplete);
    let stats = snapshot::write(&host, output)?;
    for path in &stats.withheld {
        warn_all(&[format!(
            "{path}: stored without content (its secrets could not be removed line by line); verdicts on it from this snapshot will differ"
        )]);
    }
    eprintln!(
        "nodecheck: wrote {} ({} files, {} of them metadata only, {} directories, {} symlinks); scan it with `nodecheck --root {}`",
        output.display(),
        stats.files,
        stats.files_without_content,
        stats.dirs,
        stats.symlinks,
        output.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture;

    #[test]
    fn exit_code_follows_fail_on_and_fail_under() {
        let report = fixture::report(); // a high fail, an info error, score 33
        assert_eq!(verdict_code(&report, FailOn::High, None), 1);
        assert_eq!(verdict_code(&report, FailOn::Critical, None), 0);
        assert_eq!(verdict_code(&report, FailOn::None, None), 0);
        assert_eq!(verdict_code(&report, FailOn::None, Some(34)), 1);
        assert_eq!(verdict_code(&report, FailOn::None, Some(33)), 0);
        let mut waived = report.clone();
        waived.findings[0].waiver = Some(nodecheck_report::Waiver {
            reason: "r".into(),
            expires: None,
        });
        assert_eq!(verdict_code(&waived, FailOn::High, None), 0);
        assert_eq!(
            verdict_code(&waived, FailOn::Low, None),
            0,
            "info error is below low"
        );
        assert_eq!(verdict_code(&report, FailOn::Low, None), 1);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(
            parse_duration("5d")
                .expect_err("days")
                .contains("unit must be")
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

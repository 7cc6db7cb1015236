//! `nodecheck agent`: scan at start, on an interval (with jitter, so a fleet started together
//! does not report together) and within seconds of a change to a watched configuration file;
//! spool every report before sending it; send the spool oldest first, backing off while the
//! collector cannot take it.
//!
//! One thread does everything, waiting in `poll(2)` on a signalfd (SIGTERM, SIGINT), the
//! inotify watches and the next deadline, so there is nothing to synchronise and a signal is
//! handled as soon as the current step ends: a scan (well under a second), or one request
//! (bounded by the client's timeout). Spool writes are atomic renames, so stopping at any
//! moment leaves no torn file. The status server is the one other thread.
//!
//! Each scan runs in a child process (this binary's hidden `agent-scan` command): reading a
//! big node's process table takes a few MiB that an allocator keeps once freed, and the
//! daemon, which lives for months, should not carry them between scans; a scan that hangs
//! (a wedged NFS mount under --root) is killed at its time limit instead of stopping the
//! agent; and a scan that crashes costs one report, not the daemon.

use super::client::{Ack, Client, ClientError, ClientOptions};
use super::spool::{Bounds, Read, Spool, SpoolError};
use super::status::{Counters, Status};
use super::watch::{self, Watcher};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything the agent needs to run.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub root: PathBuf,
    pub proc: Option<PathBuf>,
    /// Each scan's deadline (`--timeout` of the scan it runs).
    pub scan_timeout: Duration,
    /// A built-in profile's name or a profile file (checked before the agent starts; each
    /// scan loads it again, so an edited profile file applies from the next scan on).
    pub profile: String,
    pub only: Vec<String>,
    /// From the command line or `NODE_NAME`; the hostname when absent.
    pub node_name: Option<String>,
    pub cluster: String,
    pub interval: Duration,
    pub spool: PathBuf,
    pub bounds: Bounds,
    pub client: ClientOptions,
    /// Address of the status server (`/healthz`, `/readyz`, and `/metrics` with `metrics`).
    pub listen: Option<String>,
    /// Whether the status server serves `/metrics`.
    pub metrics: bool,
}

/// Why the agent could not start (once running, it logs and carries on).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot listen on {address}: {error}")]
    Listen {
        address: String,
        error: std::io::Error,
    },
    #[error("cannot take SIGTERM and SIGINT: {0}")]
    Signals(nix::Error),
    #[error("cannot watch configuration files: {0}")]
    Watch(nix::Error),
}

/// The kubelet files a scan found (its configuration file, its drop-ins), as host paths: what
/// to watch next.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct KubeletFiles {
    pub config: Option<String>,
    pub drop_ins: Vec<String>,
}

/// The first line `nodecheck agent-scan` prints: what the daemon needs to know of the report
/// (the report itself follows on the next line, and the daemon spools and sends its bytes as
/// they are, without parsing them: on a big node it is megabytes of inventory).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ScanHeader {
    pub id: String,
    pub score: Option<u8>,
    pub counts: nodecheck_report::StatusCounts,
    pub kubelet: KubeletFiles,
}

/// A scan as the daemon keeps it.
struct Scanned {
    header: ScanHeader,
    json: Vec<u8>,
}

/// A scan taking longer than this is killed (a normal one takes well under a second, a
/// node with thousands of processes a few hundred milliseconds).
const SCAN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Changes are scanned this long after the first one is seen, so a burst of writes (a
/// package upgrade, an editor's save) makes one scan.
const DEBOUNCE: Duration = Duration::from_secs(2);
/// Retries after a failed upload start here and double up to the cap, with jitter.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(300);

/// A number in [0, 1), different in every call and every process (for jitter, not secrets).
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// `interval` ± 10 %.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * random_fraction())
}

/// Exponential backoff with jitter: each delay is between half and all of the current step.
#[derive(Debug)]
struct Backoff {
    step: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { step: FIRST_RETRY }
    }

    fn next(&mut self) -> Duration {
        let delay = self.step.mul_f64(0.5 + 0.5 * random_fraction());
        self.step = (self.step * 2).min(LAST_RETRY);
        delay
    }

    fn reset(&mut self) {
        self.step = FIRST_RETRY;
    }
}

/// How a round of sending ended.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    /// The spool is empty.
    All,
    /// The collector cannot take reports now; try again later, not before the wait it asked
    /// for (`Retry-After`), if it asked.
    Later(Option<Duration>),
    /// A signal arrived between two reports.
    Stopped,
}

struct Agent {
    options: AgentOptions,
    spool: Spool,
    client: Client,
    status: Arc<Status>,
    signals: SignalFd,
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(options: AgentOptions) -> Result<(), AgentError> {
    // Blocked before any thread starts, so every thread inherits the mask and the signals
    // reach only the signalfd.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block().map_err(AgentError::Signals)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(AgentError::Signals)?;
    let status = Arc::new(Status::default());
    if let Some(address) = &options.listen {
        let listener =
            std::net::TcpListener::bind(address).map_err(|error| AgentError::Listen {
                address: address.clone(),
                error,
            })?;
        super::status::serve(listener, status.clone(), options.metrics);
        let what = if options.metrics {
            "/healthz, /readyz and /metrics"
        } else {
            "/healthz and /readyz"
        };
        tracing::info!(address = %address, "serving {what}");
    }
    let (spool, leftovers) = Spool::open(&options.spool, options.bounds)?;
    if leftovers > 0 {
        tracing::warn!(
            leftovers,
            spool = %options.spool.display(),
            "removed reports whose writing was interrupted (they were never sent; the next scan replaces them)"
        );
    }
    let client = Client::new(&options.client)?;
    tracing::info!(
        collector = %options.client.collector,
        interval_s = options.interval.as_secs(),
        spool = %options.spool.display(),
        "agent started"
    );
    let mut agent = Agent {
        options,
        spool,
        client,
        status,
        signals,
    };
    agent.run()
}

impl Agent {
    fn run(&mut self) -> Result<(), AgentError> {
        let mut watcher = self.watch(None, &[])?;
        let mut next_scan = Instant::now();
        let mut change_scan: Option<Instant> = None;
        let mut next_send: Option<Instant> = Some(Instant::now());
        let mut backoff = Backoff::new();
        loop {
            let now = Instant::now();
            if now >= next_scan || change_scan.is_some_and(|at| now >= at) {
                let reason = if self.status.snapshot().scans == 0 {
                    "start"
                } else if change_scan.is_some_and(|at| now >= at) {
                    "configuration changed"
                } else {
                    "interval"
                };
                if let Some(kubelet) = self.scan_and_spool(reason) {
                    watcher = self.watch(kubelet.config.as_deref(), &kubelet.drop_ins)?;
                }
                next_scan = now + jittered(self.options.interval);
                change_scan = None;
                // A new report is offered at once, unless the collector is being waited for.
                if next_send.is_none_or(|at| at <= now + FIRST_RETRY) {
                    next_send = Some(now);
                }
            }
            if next_send.is_some_and(|at| now >= at) {
                match self.send_pending() {
                    Sent::All => {
                        backoff.reset();
                        next_send = None;
                    }
                    Sent::Later(asked) => {
                        // The collector's Retry-After is a floor: a busy collector is not
                        // asked again sooner, and the backoff keeps growing under it.
                        let delay = backoff.next().max(asked.unwrap_or_default());
                        tracing::info!(retry_in_s = delay.as_secs_f64(), "upload postponed");
                        next_send = Some(Instant::now() + delay);
                    }
                    Sent::Stopped => return Ok(()),
                }
            }
            let deadline = [Some(next_scan), change_scan, next_send]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(next_scan);
            let wait = deadline.saturating_duration_since(Instant::now());
            let timeout = PollTimeout::try_from(wait.as_millis().min(60_000) as i32 + 1)
                .unwrap_or(PollTimeout::MAX);
            let (signal_ready, change_ready) = {
                let mut fds = [
                    PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
                    PollFd::new(watcher.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, timeout) {
                    Ok(_) => (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false)),
                    Err(nix::errno::Errno::EINTR) => (false, false),
                    Err(e) => {
                        tracing::error!("poll failed: {e}");
                        std::thread::sleep(Duration::from_secs(1));
                        (false, false)
                    }
                }
            };
            if signal_ready && self.stop_requested() {
                return Ok(());
            }
            if change_ready {
                let changed = watcher.changed();
                if !changed.is_empty() && change_scan.is_none() {
                    tracing::info!(
                        files = ?changed,
                        "configuration changed; scanning in {} s",
                        DEBOUNCE.as_secs()
                    );
                    change_scan = Some(Instant::now() + DEBOUNCE);
                }
            }
        }
    }

    /// Whether SIGTERM or SIGINT arrived (logged).
    fn stop_requested(&self) -> bool {
        match self.signals.read_signal() {
            Ok(Some(info)) => {
                let name =
                    Signal::try_from(info.ssi_signo as i32).map_or("a signal", |s| s.as_str());
                let waiting = self.spool.pending().map_or(0, |p| p.len());
                tracing::info!(
                    spooled = waiting,
                    "stopping on {name}; spooled reports are sent after the next start"
                );
                true
            }
            _ => false,
        }
    }

    fn watch(
        &self,
        kubelet_config: Option<&str>,
        kubelet_drop_ins: &[String],
    ) -> Result<Watcher, AgentError> {
        let targets = watch::targets(kubelet_config, kubelet_drop_ins);
        let (watcher, watched) =
            Watcher::new(&self.options.root, &targets).map_err(AgentError::Watch)?;
        tracing::debug!(?watched, "watching");
        Ok(watcher)
    }

    /// Scans, spools the report (or, when the spool cannot take it, keeps it for one attempt
    /// straight from memory) and returns the kubelet files to watch.
    fn scan_and_spool(&mut self, reason: &str) -> Option<KubeletFiles> {
        let started = Instant::now();
        let scanned = self.scan();
        let seconds = started.elapsed().as_secs_f64();
        let Scanned { header, json } = match scanned {
            Ok(done) => done,
            Err(e) => {
                tracing::error!("scan failed: {e}");
                self.status.update(|c| {
                    c.scans += 1;
                    c.scan_failures += 1;
                    c.last_scan_ok = false;
                    c.last_scan_seconds = seconds;
                });
                return None;
            }
        };
        self.status.update(|c| record_scan(c, &header, seconds));
        tracing::info!(
            report = %header.id,
            score = ?header.score,
            failed = header.counts.fail,
            bytes = json.len(),
            reason,
            duration_ms = (seconds * 1000.0) as u64,
            "scanned"
        );
        let kubelet_files = header.kubelet;
        let report_id = header.id;
        match self.spool.write(&report_id, &json) {
            Ok(dropped) => {
                for entry in &dropped {
                    tracing::warn!(
                        report = %entry.id,
                        "spool full ({} reports or {} bytes at most): dropped the oldest report",
                        self.options.bounds.max_reports,
                        self.options.bounds.max_bytes
                    );
                }
                self.status
                    .update(|c| c.spool_dropped += dropped.len() as u64);
            }
            Err(e) => {
                self.status.update(|c| c.spool_write_failures += 1);
                tracing::error!("cannot spool report {report_id}: {e}; sending it from memory");
                match self.client.post_report(&json) {
                    Ok(ack) => self.record_ack(&report_id, ack),
                    Err(send) => {
                        self.record_failure(&send);
                        tracing::error!(
                            report = %report_id,
                            "report lost: it could be neither spooled nor sent ({send})"
                        );
                    }
                }
            }
        }
        self.update_spool_gauges();
        Some(kubelet_files)
    }

    /// Runs one scan in a child process, within the time limit.
    fn scan(&self) -> Result<Scanned, String> {
        let o = &self.options;
        let mut command = std::process::Command::new("/proc/self/exe");
        command
            .arg("agent-scan")
            .arg("--root")
            .arg(&o.root)
            .args(["--profile", &o.profile, "--cluster", &o.cluster])
            .args(["--interval-s", &o.interval.as_secs().max(1).to_string()])
            .args(["--timeout", &format!("{}ms", o.scan_timeout.as_millis())]);
        if let Some(proc) = &o.proc {
            command.arg("--proc").arg(proc);
        }
        if let Some(node) = &o.node_name {
            command.args(["--node-name", node]);
        }
        if !o.only.is_empty() {
            command.args(["--only", &o.only.join(",")]);
        }
        // Not inherited: the child finds the node name in its argument or the hostname only.
        command.env_remove("NODE_NAME");
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start the scan: {e}"))?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        // The scan keeps its own deadline; the child is killed only if it cannot (a read
        // that never returns and an exit that never comes).
        let time_limit = SCAN_TIME_LIMIT.max(o.scan_timeout + Duration::from_secs(30));
        // The watchdog kills the scan at its time limit unless told it finished.
        let (finished, watch) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(time_limit)
            {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                return true;
            }
            false
        });
        let output = child.wait_with_output();
        let _ = finished.send(());
        let killed = watchdog.join().unwrap_or(false);
        let output = output.map_err(|e| format!("cannot read the scan: {e}"))?;
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            let line = line.strip_prefix("nodecheck: ").unwrap_or(line);
            match line.strip_prefix("warning: ") {
                Some(warning) => tracing::warn!("{warning}"),
                None => tracing::error!("scan: {line}"),
            }
        }
        if killed {
            return Err(format!(
                "the scan took longer than {} s and was killed",
                time_limit.as_secs()
            ));
        }
        if !output.status.success() {
            return Err(format!("the scan failed ({})", output.status));
        }
        let mut stdout = output.stdout;
        let Some(newline) = stdout.iter().position(|b| *b == b'\n') else {
            return Err("the scan printed no report".into());
        };
        let header: ScanHeader = serde_json::from_slice(&stdout[..newline])
            .map_err(|e| format!("the scan's output is not a report: {e}"))?;
        let json = stdout.split_off(newline + 1);
        Ok(Scanned { header, json })
    }

    /// Sends spooled reports oldest first until the spool is empty or the collector cannot
    /// take one.
    fn send_pending(&mut self) -> Sent {
        let pending = match self.spool.pending() {
            Ok(pending) => pending,
            Err(e) => {
                tracing::error!("cannot list the spool: {e}");
                return Sent::Later(None);
            }
        };
        for entry in pending {
            if self.stop_requested() {
                return Sent::Stopped;
            }
            let json = match self.spool.read(&entry) {
                Ok(Read::Report(json)) => json,
                Ok(Read::Quarantined { to, reason }) => {
                    self.status.update(|c| c.spool_quarantined += 1);
                    tracing::error!(
                        report = %entry.id,
                        "spooled report {reason}: moved to {}",
                        to.display()
                    );
                    continue;
                }
                Err(e) => {
                    tracing::error!("cannot read the spool: {e}");
                    return Sent::Later(None);
                }
            };
            match self.client.post_report(&json) {
                Ok(ack) => {
                    self.record_ack(&entry.id, ack);
                    if let Err(e) = self.spool.remove(&entry) {
                        tracing::error!("{e}");
                    }
                }
                Err(e) => {
                    self.record_failure(&e);
                    let malformed = matches!(
                        e,
                        ClientError::Refused {
                            status: 400 | 413,
                            ..
                        }
                    );
                    if malformed {
                        // Sending it again will be refused again; keep it for a person to read.
                        match self.spool.quarantine(&entry) {
                            Ok(to) => {
                                self.status.update(|c| c.spool_quarantined += 1);
                                tracing::error!(
                                    report = %entry.id,
                                    "the collector refused the report for good ({e}); moved to {}",
                                    to.display()
                                );
                            }
                            Err(q) => tracing::error!("{q}"),
                        }
                        continue;
                    }
                    tracing::warn!(report = %entry.id, "upload failed: {e}");
                    self.update_spool_gauges();
                    return Sent::Later(e.retry_after());
                }
            }
        }
        self.update_spool_gauges();
        Sent::All
    }

    fn record_ack(&self, id: &str, ack: Ack) {
        let outcome = match ack {
            Ack::Stored => "stored",
            Ack::Duplicate => "duplicate",
        };
        tracing::info!(report = %id, outcome, "uploaded");
        self.status
            .update(|c| *c.uploads.entry(outcome.into()).or_default() += 1);
    }

    fn record_failure(&self, error: &ClientError) {
        self.status
            .update(|c| *c.upload_failures.entry(error.kind()).or_default() += 1);
    }

    fn update_spool_gauges(&self) {
        if let Ok(pending) = self.spool.pending() {
            let bytes = pending.iter().map(|e| e.bytes).sum();
            self.status.update(|c| {
                c.spool_reports = pending.len() as u64;
                c.spool_bytes = bytes;
            });
        }
    }
}

fn record_scan(counters: &mut Counters, header: &ScanHeader, seconds: f64) {
    counters.scans += 1;
    counters.last_scan_ok = true;
    counters.last_scan_seconds = seconds;
    counters.last_scan_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs());
    counters.score = header.score;
    let s = &header.counts;
    counters.findings = [
        ("pass", s.pass),
        ("fail", s.fail),
        ("error", s.error),
        ("not_applicable", s.not_applicable),
        ("waived", s.waived),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), u64::from(v)))
    .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap() {
        let mut backoff = Backoff::new();
        let mut step = FIRST_RETRY;
        for _ in 0..12 {
            let delay = backoff.next();
            assert!(
                delay >= step / 2 && delay <= step,
                "{delay:?} for step {step:?}"
            );
            step = (step * 2).min(LAST_RETRY);
        }
        assert_eq!(backoff.step, LAST_RETRY);
        backoff.reset();
        assert!(backoff.next() <= FIRST_RETRY);
    }

    #[test]
    fn intervals_are_spread_by_a_tenth() {
        let interval = Duration::from_secs(600);
        for _ in 0..100 {
            let d = jittered(interval);
            assert!(
                d >= Duration::from_secs(540) && d <= Duration::from_secs(660),
                "{d:?}"
            );
        }
        let spread: std::collections::BTreeSet<u64> = (0..20)
            .map(|_| jittered(interval).as_millis() as u64)
            .collect();
        assert!(spread.len() > 1, "jitter varies");
    }
}

//! The nodecheck report format, `nodecheck.report/v1`.
//!
//! A report is what one scan of one node produces. It is self-describing: every finding carries
//! its title, severity, remediation and references, so a collector can show checks that are
//! newer than itself. The agent and the collector both depend on this crate and on nothing of
//! each other.
//!
//! The JSON Schema in `docs/report.schema.json` is generated from these types
//! ([`json_schema`]) and kept current by a test.
//!
//! Scoring lives here too ([`score`]), so that anyone holding a report can recompute its score
//! with the same code that made it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub mod limits;
mod score;
#[doc(hidden)]
pub mod testing;
pub mod time;
pub mod url;

pub use score::{AreaTotals, StatusCounts, Summary, score, summarize};

/// The value of the `schema` field of every v1 report.
pub const SCHEMA_V1: &str = "nodecheck.report/v1";

/// One scan of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always `nodecheck.report/v1`.
    pub schema: String,
    /// Unique per node and sortable (time-ordered); the collector deduplicates a node's
    /// reports on it.
    #[schemars(length(min = 1, max = limits::ID_MAX), pattern(limits::ID_PATTERN))]
    pub id: String,
    pub node: Node,
    pub agent: Agent,
    pub profile: ProfileRef,
    /// When the scan started, RFC 3339 in UTC.
    #[schemars(length(max = limits::TIMESTAMP_MAX))]
    pub started_at: String,
    /// How long the scan took.
    pub duration_ms: u64,
    /// `floor(100 × Σ weight(pass) / Σ weight(pass, fail, error))`; null when nothing with a
    /// weight was judged. The collector recomputes it from the findings.
    #[schemars(range(max = 100))]
    pub score: Option<u8>,
    pub summary: Summary,
    /// One finding per check that the profile enables, in check ID order.
    #[schemars(length(max = limits::FINDINGS_MAX))]
    pub findings: Vec<Finding>,
    pub inventory: Inventory,
    /// The effective value of each setting the findings judged, keyed `area:subject`
    /// (`kubelet:readOnlyPort`, `sshd:PermitRootLogin`, `kernel:net.ipv4.ip_forward`); null
    /// when the setting is judged unset. The same values as the evidence, gathered so that a
    /// collector can compare a node with its peers without reading every finding. Optional:
    /// reports of agents before 0.2 have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = limits::SETTINGS_MAX,
        "propertyNames" = { "maxLength": limits::SETTING_KEY_MAX },
        "additionalProperties" = { "type": ["string", "null"], "maxLength": limits::SETTING_VALUE_MAX }
    ))]
    pub settings: BTreeMap<String, Option<String>>,
}

/// The node the report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// A DNS-1123 subdomain, as Kubernetes names nodes.
    #[schemars(length(min = 1, max = limits::NAME_MAX), pattern(limits::NAME_PATTERN))]
    pub name: String,
    /// A DNS-1123 subdomain.
    #[schemars(length(min = 1, max = limits::NAME_MAX), pattern(limits::NAME_PATTERN))]
    pub cluster: String,
    /// Detected (or profile-forced) roles: `worker`, `control-plane`, `host`.
    #[schemars(length(max = limits::ROLES_MAX))]
    pub roles: Vec<Role>,
    /// `PRETTY_NAME` of the host's os-release, when it has one.
    #[schemars(length(max = limits::SHORT_TEXT_MAX))]
    pub os: Option<String>,
    /// Kernel release of the host.
    #[schemars(length(max = limits::SHORT_TEXT_MAX))]
    pub kernel: Option<String>,
    /// Kubernetes labels: keys and values by Kubernetes' rules.
    #[serde(default)]
    #[schemars(extend(
        "maxProperties" = limits::LABELS_MAX,
        "propertyNames" = { "pattern": limits::LABEL_KEY_PATTERN, "maxLength": 317 },
        "additionalProperties" = { "type": "string", "maxLength": limits::LABEL_NAME_MAX, "pattern": limits::LABEL_VALUE_PATTERN }
    ))]
    pub labels: BTreeMap<String, String>,
    /// The kubelet's version (`v1.31.2`, as the Node object's `kubeletVersion` says it), when
    /// a kubelet runs and its version could be read from its package or its binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = limits::VERSION_MAX), pattern(limits::VERSION_PATTERN))]
    pub kubelet_version: Option<String>,
}

/// The program that made the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    #[schemars(length(min = 1, max = limits::VERSION_MAX), pattern(limits::VERSION_PATTERN))]
    pub version: String,
    /// Seconds between scheduled reports, when the agent reports on a schedule; the collector
    /// calls a node stale after three intervals without a report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = limits::INTERVAL_S_MIN, max = limits::INTERVAL_S_MAX))]
    pub interval_s: Option<u64>,
}

/// The profile the findings were judged with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRef {
    #[schemars(length(max = limits::SHORT_TEXT_MAX))]
    pub name: String,
    /// SHA-256 of the resolved profile (after `extends`), hex.
    #[schemars(pattern(limits::SHA256_PATTERN))]
    pub sha256: String,
}

/// The role of a node, which decides the checks that apply to it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A kubelet runs.
    Worker,
    /// kube-apiserver or etcd runs, or their static pod manifests exist.
    ControlPlane,
    /// Neither: a bastion or any Linux machine.
    Host,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Worker, Role::ControlPlane, Role::Host];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::ControlPlane => "control-plane",
            Role::Host => "host",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a failing check matters; also its weight in the score.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// From most to least severe.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// Weight in the score: critical 10, high 6, medium 3, low 1, info 0.
    pub fn weight(self) -> u64 {
        match self {
            Severity::Critical => 10,
            Severity::High => 6,
            Severity::Medium => 3,
            Severity::Low => 1,
            Severity::Info => 0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict of one check on one node.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The check does not apply (role, component not installed); the message says why.
    NotApplicable,
    /// The check could not be judged (unreadable file, config the component would refuse);
    /// counts against the score.
    Error,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Fail,
        Status::Error,
        Status::Pass,
        Status::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotApplicable => "not_applicable",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check's verdict, with everything needed to understand and fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Stable check ID, `<area>.<topic>`.
    #[schemars(length(min = 1, max = limits::CHECK_ID_MAX), pattern(limits::CHECK_ID_PATTERN))]
    pub id: String,
    #[schemars(length(max = limits::SHORT_TEXT_MAX))]
    pub title: String,
    #[schemars(length(min = 1, max = limits::CHECK_ID_MAX), pattern(limits::CHECK_ID_PATTERN))]
    pub area: String,
    /// Severity after profile overrides.
    pub severity: Severity,
    pub status: Status,
    /// One line: what was found.
    #[schemars(length(max = limits::TEXT_MAX))]
    pub message: String,
    /// What was judged, each item with its observed and expected value and its source.
    #[serde(default)]
    #[schemars(length(max = limits::EVIDENCE_MAX))]
    pub evidence: Vec<Evidence>,
    #[schemars(length(max = limits::TEXT_MAX))]
    pub remediation: String,
    /// Why the check matters: what an attacker gains when it fails. Empty in reports from
    /// agents that did not send it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = limits::TEXT_MAX))]
    pub rationale: String,
    #[serde(default)]
    #[schemars(length(max = limits::REFERENCES_MAX), inner(length(max = limits::SHORT_TEXT_MAX)))]
    pub references: Vec<String>,
    /// The controls of the CIS Kubernetes Benchmark this check implements, by id (`1.2.5`);
    /// the benchmark and its version are named in `references`. Absent when none (and in
    /// reports from agents that did not send it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::CIS_IDS_MAX), inner(length(min = 1, max = limits::CIS_ID_MAX), pattern(limits::CIS_ID_PATTERN)))]
    pub cis: Vec<String>,
    /// Present when a waiver of the profile covers this finding; a waived finding is outside
    /// the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

/// One thing a check judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// What was judged, e.g. `PermitRootLogin` or `/etc/ssh/sshd_config mode`.
    #[schemars(length(max = limits::TEXT_MAX))]
    pub subject: String,
    /// The observed (effective) value; null when nothing was observed.
    #[schemars(length(max = limits::TEXT_MAX))]
    pub observed: Option<String>,
    /// What the check expects.
    #[schemars(length(max = limits::TEXT_MAX))]
    pub expected: String,
    /// Whether this item alone passes.
    pub status: Status,
    pub source: Source,
    /// Extra context (a Match block's criteria, a note on defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = limits::TEXT_MAX))]
    pub note: Option<String>,
}

/// Where an observed value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A line of a file on the host (path as seen on the host).
    File {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
    /// A command-line option of a running process.
    Flag { flag: String, pid: u32 },
    /// A documented default the component falls back to; the description names it
    /// (`compiled default of OpenSSH 9.2p1`).
    Default { description: String },
    /// Metadata of a file (mode, owner).
    FileMetadata { path: String },
    /// A listening socket.
    Listener { address: String, pid: Option<u32> },
    /// A process.
    Process { pid: u32, name: String },
    /// Nothing to point at (the absence of something).
    None,
}

impl Source {
    pub fn file(path: impl Into<String>, line: Option<u32>) -> Source {
        Source::File {
            path: path.into(),
            line,
        }
    }

    pub fn default_value(description: impl Into<String>) -> Source {
        Source::Default {
            description: description.into(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File {
                path,
                line: Some(line),
            } => write!(f, "{path}:{line}"),
            Source::File { path, line: None } => f.write_str(path),
            Source::Flag { flag, pid } => write!(f, "command line {flag} (pid {pid})"),
            Source::Default { description } => f.write_str(description),
            Source::FileMetadata { path } => write!(f, "metadata of {path}"),
            Source::Listener {
                address,
                pid: Some(pid),
            } => write!(f, "listener {address} (pid {pid})"),
            Source::Listener { address, pid: None } => write!(f, "listener {address}"),
            Source::Process { pid, name } => write!(f, "process {name} (pid {pid})"),
            Source::None => f.write_str("nothing found"),
        }
    }
}

/// A waiver that applies to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    #[schemars(length(max = limits::TEXT_MAX))]
    pub reason: String,
    /// `YYYY-MM-DD`, the last day the waiver applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Facts an operator wants to browse whatever the verdicts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    #[schemars(length(max = limits::LISTENERS_MAX))]
    pub listeners: Vec<Listener>,
    #[serde(default)]
    #[schemars(length(max = limits::CONTAINERS_MAX))]
    pub containers: Vec<Container>,
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// `tcp` or `udp`.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    /// The network namespace (`host`, or the inode of a pod's namespace).
    pub netns: String,
    #[serde(default)]
    #[schemars(length(max = limits::LISTENER_PROCESSES_MAX))]
    pub processes: Vec<ListenerProcess>,
}

/// A process that holds a listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerProcess {
    pub pid: u32,
    pub name: String,
}

/// A container process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub pid: u32,
    /// The container id (64 hex digits).
    pub id: String,
    /// `containerd`, `cri-o`, `docker`, or `containerd or cri-o` (cgroupfs driver).
    pub runtime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The container's name; absent for a pod sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub program: String,
    /// The image the container was created from, as the runtime recorded it in the
    /// container's OCI bundle (`registry.k8s.io/pause:3.10`, `docker.io/library/nginx@sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = limits::IMAGE_MAX), pattern(limits::IMAGE_PATTERN))]
    pub image: Option<String>,
    /// Host UID and GID (effective).
    pub uid: u32,
    pub gid: u32,
    /// Set when the process runs in a user namespace: the host UID its UID 0 maps to (null
    /// when 0 is not mapped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_namespace_root: Option<Option<u32>>,
    /// Effective capabilities by name.
    #[serde(default)]
    #[schemars(length(max = limits::CAPABILITIES_MAX))]
    pub capabilities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_new_privs: Option<bool>,
    /// 0 disabled, 1 strict, 2 filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<u8>,
    /// Host namespaces shared: `net`, `pid`, `ipc`.
    #[serde(default)]
    #[schemars(length(max = limits::CAPABILITIES_MAX))]
    pub host_namespaces: Vec<String>,
    /// Memory limit in bytes; null when unlimited or unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<u64>,
    /// A shell found in its root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// A package manager found in its root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
}

/// The JSON Schema of [`Report`], pretty-printed, as committed in `docs/report.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_weights_follow_the_design() {
        let weights: Vec<u64> = Severity::ALL.iter().map(|s| s.weight()).collect();
        assert_eq!(weights, [10, 6, 3, 1, 0]);
    }

    #[test]
    fn enums_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_string(&role).ok(),
                Some(format!("\"{role}\""))
            );
        }
        for sev in Severity::ALL {
            assert_eq!(Severity::parse(sev.as_str()), Some(sev));
        }
        for status in Status::ALL {
            assert_eq!(
                serde_json::to_string(&status).ok(),
                Some(format!("\"{status}\""))
            );
        }
    }

    #[test]
    fn schema_names_the_top_level_fields() {
        let schema = json_schema();
        for field in [
            "schema",
            "id",
            "node",
            "agent",
            "profile",
            "started_at",
            "duration_ms",
            "score",
            "summary",
            "findings",
            "inventory",
        ] {
            assert!(schema.contains(&format!("\"{field}\"")), "{field}");
        }
    }
}

//! The kubelet area: 19 checks on the effective kubelet configuration (computed the way the
//! kubelet computes it, see `parse::kubelet`), its files and its listeners.
//!
//! Every evidence item names where its value came from: the flag and pid, the config file or
//! drop-in and line, an argument k3s passes invisibly, or the named default of the mode in use.
//! A configuration the kubelet would refuse makes the configuration checks `error`.

pub mod anonymous_auth;
pub mod authorization_mode;
pub mod ca_file_permissions;
pub mod client_ca_file;
pub mod config_file_permissions;
pub mod event_qps;
pub mod hostname_override;
pub mod iptables_util_chains;
pub mod kubeconfig_permissions;
pub mod pod_pids_limit;
pub mod protect_kernel_defaults;
pub mod read_only_port;
pub mod rotate_certificates;
pub mod seccomp_default;
pub mod server_cert_rotation;
pub mod service_file_permissions;
pub mod streaming_idle_timeout;
pub mod tls_cert;
pub mod tls_cipher_suites;

use super::{Ctx, Verdict, evidence};
use crate::facts::kubelet::{Flavour, KubeletFacts};
use crate::parse::kubelet::{Field, KValue, Origin};
use nodecheck_report::{Evidence, Role, Source, Status};

pub const AREA: &str = "kubelet";
/// Worker nodes, and control-plane nodes that run a kubelet.
pub const ROLES: &[Role] = &[Role::Worker, Role::ControlPlane];

/// The kubelet's facts, or the verdict when no kubelet runs.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a KubeletFacts, Verdict> {
    ctx.facts
        .kubelet
        .as_ref()
        .ok_or_else(|| Verdict::not_applicable("no kubelet runs on this node"))
}

/// The kubelet's facts when its configuration would be accepted.
pub fn accepted<'a>(ctx: &Ctx<'a>) -> Result<&'a KubeletFacts, Verdict> {
    let kubelet = found(ctx)?;
    if let Some(first) = kubelet.config.problems.first() {
        let evidence = kubelet
            .config
            .problems
            .iter()
            .map(|p| Evidence {
                subject: "kubelet configuration".into(),
                observed: Some(p.clone()),
                expected: "a configuration the kubelet accepts".into(),
                status: Status::Error,
                source: Source::Process {
                    pid: kubelet.pid,
                    name: kubelet.program.clone(),
                },
                note: None,
            })
            .collect();
        return Err(Verdict::error(first.clone(), evidence));
    }
    Ok(kubelet)
}

/// Where a value came from, for the report.
pub fn origin_source(origin: &Origin, kubelet: &KubeletFacts) -> (Source, Option<String>) {
    let mode = kubelet.config.mode;
    match origin {
        Origin::LegacyDefault | Origin::Default => (
            Source::default_value(format!("{origin}; mode: {mode}")),
            None,
        ),
        Origin::ConfigFile { path, line } | Origin::DropIn { path, line } => {
            (Source::file(path.clone(), Some(*line)), None)
        }
        Origin::Flag { spelled, pid } => (
            Source::Flag {
                flag: spelled.clone(),
                pid: pid.unwrap_or(kubelet.pid),
            },
            None,
        ),
        Origin::Recovered { spelled, how } => (
            Source::Flag {
                flag: format!("{spelled} [{how}; not visible in /proc]"),
                pid: kubelet.pid,
            },
            Some(format!("recovered: {how}")),
        ),
        Origin::Redefaulted {
            path,
            line,
            written,
        } => (
            Source::file(path.clone(), Some(*line)),
            Some(format!(
                "{written} in a file is re-defaulted by the kubelet"
            )),
        ),
    }
}

/// Evidence for one field (or its absence).
pub fn field_evidence(
    kubelet: &KubeletFacts,
    subject: &str,
    field: Option<&Field>,
    expected: &str,
    pass: bool,
) -> Evidence {
    match field {
        Some(field) => {
            let (source, note) = origin_source(&field.origin, kubelet);
            let mut item = evidence(
                subject,
                Some(field.value.to_string()),
                expected,
                pass,
                source,
            );
            item.note = note;
            item
        }
        None => {
            let mut item = evidence(
                subject,
                None,
                expected,
                pass,
                Source::default_value(format!("not set; mode: {}", kubelet.config.mode)),
            );
            item.note = Some("not set".into());
            item
        }
    }
}

/// The message for a failing field: `authorization.mode is AlwaysAllow (kubelet flag default
/// (no --config)); expected not AlwaysAllow`.
pub fn failing_message(failing: &[&Evidence], expected: &str) -> String {
    let parts: Vec<String> = failing
        .iter()
        .map(|e| {
            format!(
                "{} is {} ({})",
                e.subject,
                e.observed.as_deref().unwrap_or("unset"),
                e.source
            )
        })
        .collect();
    format!("{}; expected {expected}", parts.join("; "))
}

/// Judges one field of the effective configuration.
pub fn judge_field(
    ctx: &Ctx<'_>,
    path: &str,
    expected: &str,
    pass: &dyn Fn(Option<&KValue>) -> bool,
) -> Verdict {
    let kubelet = match accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let field = kubelet.config.get(path);
    let ok = pass(field.map(|f| &f.value));
    let item = field_evidence(kubelet, path, field, expected, ok);
    let value = item.observed.clone().unwrap_or_else(|| "unset".into());
    Verdict::from_evidence(vec![item], format!("{path} is {value}"), |failing| {
        failing_message(failing, expected)
    })
}

/// A note for the evidence of k3s kubelets, whose arguments are partly recovered.
pub fn flavour_note(kubelet: &KubeletFacts) -> Option<String> {
    match &kubelet.flavour {
        Flavour::K3s { version: Some(v) } => Some(format!("kubelet embedded in k3s {v}")),
        Flavour::K3s { version: None } => {
            Some("kubelet embedded in k3s (version not found; arguments assumed from the drop-in layout)".into())
        }
        Flavour::Standalone => None,
    }
}

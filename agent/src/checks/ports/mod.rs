//! The ports area: 4 checks on the listening sockets of the host network namespace, each
//! with its owning process. (Pod namespaces are inventoried, not judged here: a pod serving
//! on its own IP is the workload's business.)

pub mod container_runtime_api;
pub mod insecure_apiserver;
pub mod kubelet_read_only;
pub mod unexpected_listener;

use super::{Verdict, evidence};
use crate::facts::Listener;
use nodecheck_report::{Evidence, Role};

pub const AREA: &str = "ports";
/// Processes named as a listener's holders; the rest are counted.
pub const MAX_OWNERS_NAMED: usize = 8;
pub const ROLES: &[Role] = &[Role::Worker, Role::ControlPlane, Role::Host];

/// Evidence that a listener should not be there.
pub fn offending(subject: &str, l: &Listener, expected: &str) -> Evidence {
    let mut owners: Vec<String> = l
        .owners
        .iter()
        .take(MAX_OWNERS_NAMED)
        .map(|(pid, name)| format!("{name} ({pid})"))
        .collect();
    if l.owners.len() > MAX_OWNERS_NAMED {
        owners.push(format!("and {} more", l.owners.len() - MAX_OWNERS_NAMED));
    }
    let mut item = evidence(
        subject,
        Some(format!("{}/{}", l.protocol, l.endpoint())),
        expected,
        false,
        l.source(),
    );
    item.note = Some(if owners.is_empty() {
        "no owning process found (kernel socket, or fds not readable)".into()
    } else {
        format!("held by {}", owners.join(", "))
    });
    item
}

/// Pass when nothing offends, else a failure naming the listeners.
pub fn verdict(items: Vec<Evidence>, pass: &str, expected: &str) -> Verdict {
    Verdict::from_evidence(items, pass, |failing| {
        let parts: Vec<String> = failing
            .iter()
            .take(4)
            .map(|e| {
                format!(
                    "{} {}",
                    e.observed.as_deref().unwrap_or("?"),
                    e.note
                        .as_deref()
                        .map(|n| format!("({n})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let more = if failing.len() > 4 {
            format!(" and {} more", failing.len() - 4)
        } else {
            String::new()
        };
        format!("{}{more}; expected {expected}", parts.join("; "))
    })
}

/// Whether a listener's owners include one of `programs`.
pub fn owned_by(l: &Listener, programs: &[&str]) -> bool {
    l.owners
        .iter()
        .any(|(_, name)| programs.contains(&name.as_str()))
}

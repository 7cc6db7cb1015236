//! The ports area: 4 checks on the listening sockets of the host network namespace, each
//! with its owning process. (Pod namespaces are inventoried, not judged here: a pod serving
//! on its own IP is the workload's business.)

pub mod container_runtime_api;
pub mod insecure_apiserver;
pub mod kubelet_read_only;
pub mod unexpected_listener;

use super::{Verdict, evidence};
use crate::facts::Listener;
use nodecheck_report::{Evidence, Role, Status};

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

/// Failing listeners a ports finding lists; the rest are counted.
const MAX_FAILING_ITEMS: usize = 150;
/// Passing listeners a ports finding lists; the rest are counted.
const MAX_PASSING_ITEMS: usize = 40;

/// The evidence of a ports check, bounded as it is gathered: a node with a hundred thousand
/// listeners lists its first offenders and counts the rest, and never holds them all.
#[derive(Debug, Default)]
pub struct Items {
    kept: Vec<Evidence>,
    kept_failing: usize,
    omitted_failing: usize,
    omitted_passing: usize,
}

impl Items {
    pub fn push(&mut self, item: Evidence) {
        let failing = item.status != Status::Pass && item.status != Status::NotApplicable;
        match (failing, self.kept_failing < MAX_FAILING_ITEMS) {
            (true, true) => {
                self.kept_failing += 1;
                self.kept.push(item);
            }
            (true, false) => self.omitted_failing += 1,
            (false, _) if self.kept.len() - self.kept_failing < MAX_PASSING_ITEMS => {
                self.kept.push(item)
            }
            (false, _) => self.omitted_passing += 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

impl FromIterator<Evidence> for Items {
    fn from_iter<I: IntoIterator<Item = Evidence>>(iter: I) -> Items {
        let mut items = Items::default();
        for item in iter {
            items.push(item);
        }
        items
    }
}

/// Pass when nothing offends, else a failure naming the listeners.
pub fn verdict(items: Items, pass: &str, expected: &str) -> Verdict {
    let Items {
        mut kept,
        omitted_failing,
        omitted_passing,
        ..
    } = items;
    if omitted_failing + omitted_passing > 0 {
        let mut summary = evidence(
            "more listeners",
            Some(format!(
                "{omitted_failing} more offending and {omitted_passing} more allowed, not listed"
            )),
            expected,
            omitted_failing == 0,
            nodecheck_report::Source::default_value("nodecheck's report limits"),
        );
        summary.note = None;
        kept.push(summary);
    }
    Verdict::from_evidence(kept, pass, |failing| {
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
        // The summary item stands for the omitted: count them, not it.
        let listed = failing.len() - usize::from(omitted_failing > 0);
        let more = if listed + omitted_failing > 4 {
            format!(" and {} more", listed + omitted_failing - 4)
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

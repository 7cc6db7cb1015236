//! The kube-apiserver area: 10 checks on the apiserver's flags (from its process, or its
//! static pod manifest when the process is not visible), the files they name, and its
//! listeners.

pub mod anonymous_auth;
pub mod audit_log;
pub mod authorization_mode;
pub mod encryption_at_rest;
pub mod etcd_tls;
pub mod file_permissions;
pub mod insecure_serving;
pub mod node_restriction;
pub mod profiling;
pub mod token_auth_file;

use super::{Ctx, Verdict};
use crate::facts::control_plane::{ApiServerFacts, ComponentArgs};
use nodecheck_report::{Evidence, Role, Source, Status};

pub const AREA: &str = "apiserver";
pub const ROLES: &[Role] = &[Role::ControlPlane];

/// The apiserver's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a ApiServerFacts, Verdict> {
    super::component_found(
        ctx.facts.apiserver.as_ref(),
        |apiserver| &apiserver.args,
        "kube-apiserver",
        "no kube-apiserver process or static pod manifest on this node",
    )
}

/// Evidence for one flag: its value and source, or its default.
pub fn flag_evidence(
    args: &ComponentArgs,
    name: &str,
    default: Option<&str>,
    expected: &str,
    pass: bool,
) -> Evidence {
    super::setting_evidence(args, name, default, "kube-apiserver", expected, pass)
}

/// `--name is value (source); expected …` for the failing items.
pub fn failing_message(failing: &[&Evidence], expected: &str) -> String {
    let parts: Vec<String> = failing
        .iter()
        .map(|e| match &e.observed {
            Some(v) => format!("{} is {v} ({})", e.subject, e.source),
            None => format!("{} is not set", e.subject),
        })
        .collect();
    format!("{}; expected {expected}", parts.join("; "))
}

/// Judges one flag against a predicate on its effective value (the default when unset).
pub fn judge_flag(
    ctx: &Ctx<'_>,
    name: &str,
    default: Option<&str>,
    expected: &str,
    pass: &dyn Fn(Option<&str>) -> bool,
) -> Verdict {
    let apiserver = match found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let value = apiserver.args.value(name).map(|(v, _)| v).or(default);
    let ok = pass(value);
    let item = flag_evidence(&apiserver.args, name, default, expected, ok);
    Verdict::from_evidence(
        vec![item],
        format!("--{name} is {}", value.unwrap_or("not set")),
        |failing| failing_message(failing, expected),
    )
}

/// Shared by the checks that need an item marked as an error.
pub fn error_item(subject: impl Into<String>, observed: String, source: Source) -> Evidence {
    Evidence {
        subject: subject.into(),
        observed: Some(observed),
        expected: "readable".into(),
        status: Status::Error,
        source,
        note: None,
    }
}

//! The etcd area: 12 checks on etcd's settings (command line, `ETCD_*` variables, its
//! `--config-file`, k3s's embedded etcd config, or the static pod manifest), its data
//! directory, keys and listeners.

pub mod auto_tls;
pub mod client_cert_auth;
pub mod client_tls;
pub mod data_dir_owner;
pub mod data_dir_permissions;
pub mod exposure;
pub mod key_permissions;
pub mod manifest_permissions;
pub mod peer_auto_tls;
pub mod peer_client_cert_auth;
pub mod peer_tls;
pub mod trusted_ca;

use super::{Ctx, Verdict};
use crate::facts::control_plane::{ComponentArgs, EtcdFacts};
use crate::parse::flags::parse_bool;
use nodecheck_report::{Evidence, Role};

pub const AREA: &str = "etcd";
pub const ROLES: &[Role] = &[Role::ControlPlane];

/// etcd's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a EtcdFacts, Verdict> {
    super::component_found(
        ctx.facts.etcd.as_ref(),
        |etcd| &etcd.args,
        "etcd",
        "no etcd process, embedded etcd or static pod manifest on this node",
    )
}

/// Evidence for one setting, or its etcd default.
pub fn setting_evidence(
    args: &ComponentArgs,
    name: &str,
    default: Option<&str>,
    expected: &str,
    pass: bool,
) -> Evidence {
    super::setting_evidence(args, name, default, "etcd", expected, pass)
}

/// Whether a boolean setting is true.
pub fn is_true(args: &ComponentArgs, name: &str) -> bool {
    args.value(name)
        .is_some_and(|(v, _)| parse_bool(v) == Some(true))
}

pub fn failing_message(failing: &[&Evidence], expected: &str) -> String {
    super::apiserver::failing_message(failing, expected)
}

/// Judges settings that must all be set (non-empty).
pub fn judge_set(ctx: &Ctx<'_>, names: &[&str], pass_message: &str) -> Verdict {
    let etcd = match found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let items = names
        .iter()
        .map(|name| {
            let set = etcd.args.value(name).is_some_and(|(v, _)| !v.is_empty());
            setting_evidence(&etcd.args, name, None, "set", set)
        })
        .collect();
    Verdict::from_evidence(items, pass_message, |failing| {
        failing_message(failing, "set")
    })
}

/// Client certificate authentication (`flag`) turned on, only when etcd already names the CA
/// (`ca_flag`) it would check certificates against: without one it would refuse every client.
pub fn cert_auth_fix(
    ctx: &Ctx<'_>,
    verdict: &Verdict,
    flag: &str,
    ca_flag: &str,
) -> Vec<crate::checks::Remedy> {
    let has_ca = found(ctx)
        .ok()
        .and_then(|etcd| etcd.args.value(ca_flag))
        .is_some_and(|(v, _)| !v.is_empty());
    if !has_ca {
        return vec![crate::checks::Remedy::NotHere {
            why: format!(
                "etcd names no --{ca_flag}: give it the etcd CA before turning on --{flag}"
            ),
        }];
    }
    crate::checks::fix::component_flag(
        verdict,
        "etcd",
        flag,
        crate::checks::FlagChange::Set("true".into()),
    )
}

/// Judges a boolean setting against the wanted value (etcd's defaults are all false).
pub fn judge_bool(ctx: &Ctx<'_>, name: &str, wanted: bool) -> Verdict {
    let etcd = match found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let value = is_true(&etcd.args, name);
    let expected = if wanted { "true" } else { "false or not set" };
    let item = setting_evidence(&etcd.args, name, Some("false"), expected, value == wanted);
    Verdict::from_evidence(vec![item], format!("--{name} is {value}"), |failing| {
        failing_message(failing, expected)
    })
}

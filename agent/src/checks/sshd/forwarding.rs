//! `sshd.forwarding`: no TCP, X11 or agent forwarding.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, ParamDefault, ParamSpec, Verdict, evidence};
use crate::parse::sshd::Setting;
use nodecheck_report::{Evidence, Severity};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.forwarding",
        title: "Forwarding is disabled",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "TCP forwarding turns a node into a pivot into the cluster network; agent forwarding lets a compromised node use the administrator's keys; X11 forwarding exposes the client's display. DisableForwarding yes turns all of them off at once.",
        remediation: "Set `DisableForwarding yes` in the sshd configuration, or `AllowTcpForwarding no`, `X11Forwarding no` and `AllowAgentForwarding no`; reload sshd. A bastion that serves ProxyJump keeps TCP forwarding (bastion profile).",
        references: &["CIS Linux 5.1.8"],
        params: &[ParamSpec {
            name: "allow_tcp_forwarding",
            default: ParamDefault::Bool(false),
            doc: "Accept TCP forwarding (a bastion's ProxyJump); X11 and agent forwarding must still be off.",
        }],
    },
    run,
};

const OPTIONS: [(&str, &str); 4] = [
    ("disableforwarding", "DisableForwarding"),
    ("allowtcpforwarding", "AllowTcpForwarding"),
    ("x11forwarding", "X11Forwarding"),
    ("allowagentforwarding", "AllowAgentForwarding"),
];

/// Judges one view (the global options, or a Match block's settings over them).
fn judge_view(
    view: &dyn Fn(&str) -> Option<Setting>,
    allow_tcp: bool,
    note: Option<String>,
    items: &mut Vec<Evidence>,
) {
    let disabled = view("disableforwarding").is_some_and(|s| s.value() == "yes");
    for (option, display) in OPTIONS {
        let Some(setting) = view(option) else {
            continue;
        };
        let (pass, expected) = match option {
            "disableforwarding" => (true, "yes turns every forwarding off"),
            "allowtcpforwarding" if allow_tcp => (true, "any (allow_tcp_forwarding)"),
            _ => (
                disabled || setting.value() == "no",
                "no (or DisableForwarding yes)",
            ),
        };
        let mut item = evidence(
            display,
            Some(setting.value().to_string()),
            expected,
            pass,
            super::place_source(setting.origin()),
        );
        item.note = note.clone();
        items.push(item);
    }
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let allow_tcp = ctx.params.bool("allow_tcp_forwarding");
    let mut items = Vec::new();
    judge_view(
        &|o| sshd.global.get(o).cloned(),
        allow_tcp,
        None,
        &mut items,
    );
    // Each Match block is judged as the options it sets over the global ones.
    let mut blocks: Vec<usize> = OPTIONS
        .iter()
        .flat_map(|(o, _)| sshd.config.block_settings(o))
        .map(|(b, _)| b)
        .collect();
    blocks.sort_unstable();
    blocks.dedup();
    for block in blocks {
        let own: Vec<(&str, Setting)> = OPTIONS
            .iter()
            .filter_map(|(o, _)| {
                sshd.config
                    .block_settings(o)
                    .into_iter()
                    .find(|(b, _)| *b == block)
                    .map(|(_, s)| (*o, s))
            })
            .collect();
        let view = |o: &str| {
            own.iter()
                .find(|(name, _)| *name == o)
                .map(|(_, s)| s.clone())
                .or_else(|| sshd.global.get(o).cloned())
        };
        let label = sshd.config.blocks.get(block).map(|b| b.label());
        judge_view(&view, allow_tcp, label, &mut items);
    }
    Verdict::from_evidence(items, "forwarding is disabled", |failing| {
        super::failing_message(failing, "no, or DisableForwarding yes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::{Role, Status};

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("DisableForwarding yes\n", Status::Pass),
                (
                    "AllowTcpForwarding no\nX11Forwarding no\nAllowAgentForwarding no\n",
                    Status::Pass,
                ),
                ("", Status::Fail),
                (
                    "AllowTcpForwarding no\nAllowAgentForwarding no\nX11Forwarding yes\n",
                    Status::Fail,
                ),
                (
                    "DisableForwarding yes\nMatch User x\nDisableForwarding no\nAllowTcpForwarding yes\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }

    #[test]
    fn bastions_may_forward_tcp_only() {
        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("allow_tcp_forwarding".into(), ParamValue::Bool(true));
        let ok = sshd_config("X11Forwarding no\nAllowAgentForwarding no\n");
        assert_eq!(
            judge_with(&CHECK, &ok, &[Role::Host], &params).status,
            Status::Pass
        );
        let agent = sshd_config("X11Forwarding no\n");
        assert_eq!(
            judge_with(&CHECK, &agent, &[Role::Host], &params).status,
            Status::Fail
        );
    }
}

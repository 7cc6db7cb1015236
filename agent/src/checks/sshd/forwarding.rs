//! `sshd.forwarding`: no TCP, Unix-socket, X11 or agent forwarding.

use super::View;
use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict, evidence,
};
use crate::parse::sshd::{OpenSshVersion, Setting};
use nodecheck_report::{Evidence, Severity, Source};

pub const ALLOW_TCP_FORWARDING: ParamSpec = ParamSpec {
    name: "allow_tcp_forwarding",
    default: ParamDefault::Bool(false),
    doc: "A bastion's ProxyJump: accept local TCP forwarding (to any destination; PermitOpen may narrow it). Remote forwarding (`AllowTcpForwarding yes` or `remote`) still fails unless PermitListen restricts it, and socket, X11 and agent forwarding must still be off.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.forwarding",
        title: "Forwarding is disabled",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "TCP and Unix-socket forwarding turn a node into a pivot into the cluster network (and into the container runtime's socket); agent forwarding lets a compromised node use the administrator's keys; X11 forwarding exposes the client's display. DisableForwarding yes turns TCP and socket forwarding off, but X11 and agent forwarding only from OpenSSH 10.0: before it, sshd ignored DisableForwarding for them although the manual said otherwise (upstream commit fc86875e6), so they are judged by their own settings there.",
        remediation: "Set `DisableForwarding yes` in the sshd configuration (and, before OpenSSH 10.0, `X11Forwarding no` and `AllowAgentForwarding no` too), or `AllowTcpForwarding no`, `AllowStreamLocalForwarding no`, `X11Forwarding no` and `AllowAgentForwarding no`; reload sshd. A bastion serving ProxyJump needs only `AllowTcpForwarding local` (bastion profile).",
        cis: &[],
        references: &[
            "CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.8",
            "https://man.openbsd.org/sshd_config#DisableForwarding",
            "https://github.com/openssh/openssh-portable/commit/fc86875e6acb36401dfc1dfb6b628a9d1460f367",
        ],
        params: &[ALLOW_TCP_FORWARDING],
    },
    run,
    fix: Fix::Settings(fix),
};

const OPTIONS: [(&str, &str); 7] = [
    ("disableforwarding", "DisableForwarding"),
    ("allowtcpforwarding", "AllowTcpForwarding"),
    ("allowstreamlocalforwarding", "AllowStreamLocalForwarding"),
    ("x11forwarding", "X11Forwarding"),
    ("allowagentforwarding", "AllowAgentForwarding"),
    ("permitopen", "PermitOpen"),
    ("permitlisten", "PermitListen"),
];

/// Judges one view (the global options, or a Match block's settings over them).
fn judge_view(
    view: &View,
    version: &OpenSshVersion,
    allow_tcp: bool,
    note: Option<String>,
    items: &mut Vec<Evidence>,
) {
    let value = |o: &str| view.get(o).map_or("", Setting::value);
    let disabled = value("disableforwarding") == "yes";
    let tcp = value("allowtcpforwarding");
    let tcp_on = !disabled && tcp != "no";
    let remote_on = tcp_on && (tcp == "yes" || tcp == "remote");
    for (option, display) in OPTIONS {
        let Some(setting) = view.get(option) else {
            // PermitOpen and PermitListen print `any` when unset.
            if allow_tcp && tcp_on && (option == "permitopen" || option == "permitlisten") {
                items.push(permit_item(
                    option,
                    display,
                    "any",
                    Source::None,
                    remote_on,
                    &note,
                ));
            }
            continue;
        };
        let covered = disabled && super::disable_forwarding_covers(option, version);
        let (pass, expected) = match option {
            "disableforwarding" => (true, "yes turns TCP and socket forwarding off".to_string()),
            "permitopen" | "permitlisten" => {
                if allow_tcp && tcp_on {
                    let source = super::place_source(setting.origin());
                    items.push(permit_item(
                        option,
                        display,
                        &setting.values.join(" "),
                        source,
                        remote_on,
                        &note,
                    ));
                }
                continue;
            }
            "allowtcpforwarding" if allow_tcp => (
                true,
                "local (allow_tcp_forwarding; remote forwarding judged by PermitListen)".into(),
            ),
            _ if disabled && !covered => (
                setting.value() == "no",
                format!("no (DisableForwarding does not cover it in {version})"),
            ),
            _ => (
                covered || setting.value() == "no",
                "no (or DisableForwarding yes)".into(),
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

/// PermitOpen and PermitListen on a bastion that forwards TCP: any destination is the point of
/// ProxyJump, but remote forwarding with `PermitListen any` lets a user publish a listener.
fn permit_item(
    option: &str,
    display: &str,
    value: &str,
    source: Source,
    remote_on: bool,
    scope: &Option<String>,
) -> Evidence {
    let (pass, expected, why) = if option == "permitopen" {
        (
            true,
            "any destination is accepted on a bastion",
            "ProxyJump opens connections to the cluster's nodes; `PermitOpen host:port …` narrows them",
        )
    } else {
        (
            !remote_on || !any_listener(value),
            "none or a list, while remote forwarding is on",
            "remote forwarding lets a user open a listener on the bastion; set `AllowTcpForwarding local` or `PermitListen none`",
        )
    };
    let mut item = evidence(display, Some(value.to_string()), expected, pass, source);
    item.note = Some(match scope {
        Some(scope) => format!("{scope}; {why}"),
        None => why.to_string(),
    });
    item
}

/// Whether a PermitListen value lets a user listen on any port: `any`, or an entry whose port
/// is `*` (a bare `*` is `*:*` to sshd).
fn any_listener(value: &str) -> bool {
    value.split_whitespace().any(|entry| {
        entry == "any"
            || !entry.contains(':') && entry == "*"
            || entry.rsplit(':').next() == Some("*")
    })
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let allow_tcp = ctx.params.flag(&ALLOW_TCP_FORWARDING);
    let options: Vec<&'static str> = OPTIONS.iter().map(|(o, _)| *o).collect();
    let mut items = Vec::new();
    for (label, view) in super::views(sshd, &options) {
        judge_view(&view, &sshd.config.version, allow_tcp, label, &mut items);
    }
    Verdict::from_evidence(items, "forwarding is disabled", |failing| {
        super::failing_message(failing, "no, or DisableForwarding yes")
    })
}

/// Each failing forwarding turned off, in the block that sets it.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(
        verdict,
        &[
            ("AllowTcpForwarding", "no"),
            ("AllowStreamLocalForwarding", "no"),
            ("X11Forwarding", "no"),
            ("AllowAgentForwarding", "no"),
            ("PermitListen", "none"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::{Role, Status};

    const ALL_OFF: &str = "AllowTcpForwarding no\nAllowStreamLocalForwarding no\nX11Forwarding no\nAllowAgentForwarding no\n";

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                (ALL_OFF, Status::Pass),
                (
                    "DisableForwarding yes\nX11Forwarding no\nAllowAgentForwarding no\n",
                    Status::Pass,
                ),
                ("", Status::Fail),
                (
                    "AllowTcpForwarding no\nAllowAgentForwarding no\nX11Forwarding yes\n",
                    Status::Fail,
                ),
                (
                    "DisableForwarding yes\nX11Forwarding no\nAllowAgentForwarding no\nMatch User x\nDisableForwarding no\nAllowTcpForwarding yes\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }

    /// Issue 13: the unix-socket forwarding CIS folds into DisableForwarding is judged too.
    #[test]
    fn stream_local_forwarding_is_forwarding() {
        let on = "AllowTcpForwarding no\nX11Forwarding no\nAllowAgentForwarding no\n";
        let verdict = judge(&CHECK, &sshd_config(on));
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict
                .message
                .contains("AllowStreamLocalForwarding is yes"),
            "{}",
            verdict.message
        );
    }

    /// Before OpenSSH 10.0 DisableForwarding left X11 and agent forwarding on (upstream
    /// fc86875e6); from 10.0 it covers them.
    #[test]
    fn disable_forwarding_covers_x11_and_agent_only_from_10_0() {
        let text = "DisableForwarding yes\nX11Forwarding yes\n";
        let verdict = judge(&CHECK, &sshd_config(text));
        assert_eq!(verdict.status, Status::Fail, "9.2: {verdict:#?}");
        assert!(
            verdict.evidence.iter().any(|e| e.status == Status::Fail
                && e.expected.contains("does not cover it in OpenSSH 9.2")),
            "{verdict:#?}"
        );
        let mut facts = sshd_facts_version(&[("/etc/ssh/sshd_config", text)], "OpenSSH_10.0p2");
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        loaded_mut(&mut facts).config.version =
            OpenSshVersion::parse("OpenSSH_9.9p1").expect("version");
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
    }

    /// Issue 13: an sshd of unknown version is judged with the oldest and the newest known
    /// defaults; where they disagree the check says so instead of guessing.
    #[test]
    fn an_unknown_version_is_judged_with_the_oldest_and_newest_defaults() {
        let unknown = |text: &str| sshd_facts_with(&[("/etc/ssh/sshd_config", text)], None);
        let verdict = judge(
            &CHECK,
            &unknown("DisableForwarding yes\nX11Forwarding yes\n"),
        );
        assert_eq!(verdict.status, Status::Error, "{verdict:#?}");
        assert!(
            verdict.message.contains("depends on the OpenSSH version")
                && verdict.message.contains("OpenSSH 9.2p1")
                && verdict.message.contains("OpenSSH 10.5p1"),
            "{}",
            verdict.message
        );
        let verdict = judge(&CHECK, &unknown(""));
        assert_eq!(verdict.status, Status::Fail);
        let version = verdict
            .evidence
            .iter()
            .find(|e| e.subject == "OpenSSH version")
            .expect("the evidence names the unknown version");
        assert!(
            version
                .note
                .as_deref()
                .is_some_and(|n| n.contains("same verdict")),
            "{version:#?}"
        );
        assert!(
            verdict.evidence.iter().any(|e| e
                .source
                .to_string()
                .contains("OpenSSH 9.2p1 (installed version unknown)")),
            "defaults are the oldest known: {verdict:#?}"
        );
    }

    /// Red-team finding: DisableForwarding turned off by one block and TCP forwarding turned on
    /// by another reach a connection that matches both.
    #[test]
    fn blocks_that_match_together_are_judged_together() {
        let text = format!(
            "DisableForwarding yes\n{ALL_OFF}Match User alice\n    AllowTcpForwarding yes\nMatch Group ops\n    DisableForwarding no\n"
        );
        let verdict = judge(&CHECK, &sshd_config(&text));
        assert_eq!(verdict.status, Status::Fail, "{verdict:#?}");
    }

    #[test]
    fn bastions_may_forward_tcp_locally_only() {
        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("allow_tcp_forwarding".into(), ParamValue::Bool(true));
        let bastion = |text: &str| judge_with(&CHECK, &sshd_config(text), &[Role::Host], &params);
        let rest = "AllowStreamLocalForwarding no\nX11Forwarding no\nAllowAgentForwarding no\n";
        let local = bastion(&format!("AllowTcpForwarding local\n{rest}"));
        assert_eq!(local.status, Status::Pass, "{local:#?}");
        assert!(
            local.evidence.iter().any(|e| e.subject == "PermitOpen"),
            "the bastion's open destinations are shown: {local:#?}"
        );
        let remote = bastion(rest);
        assert_eq!(
            remote.status,
            Status::Fail,
            "remote forwarding with PermitListen any"
        );
        assert!(
            remote.message.contains("PermitListen"),
            "{}",
            remote.message
        );
        let listen_none = bastion(&format!("PermitListen none\n{rest}"));
        assert_eq!(listen_none.status, Status::Pass);
        let one_port = bastion(&format!("PermitListen localhost:8080\n{rest}"));
        assert_eq!(one_port.status, Status::Pass);
        // `*` is `*:*` to sshd: any port, as `any`.
        for any in ["*", "*:*", "localhost:*"] {
            let verdict = bastion(&format!("PermitListen {any}\n{rest}"));
            assert_eq!(verdict.status, Status::Fail, "PermitListen {any}");
        }
        let agent =
            bastion("AllowTcpForwarding local\nAllowStreamLocalForwarding no\nX11Forwarding no\n");
        assert_eq!(agent.status, Status::Fail);
    }
}

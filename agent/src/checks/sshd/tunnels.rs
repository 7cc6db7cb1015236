//! `sshd.tunnels`: no tunnel devices and no forwarded ports open to the network.

use super::View;
use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict, evidence};
use crate::parse::sshd::{OpenSshVersion, Setting};
use nodecheck_report::{Evidence, Severity};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.tunnels",
        title: "No tunnel devices or gateway ports",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "PermitTunnel lets a user bring up a tun/tap device: a layer-3 or layer-2 VPN from their machine into the node's network, and from there the pod and service networks. GatewayPorts binds remote forwards to every address instead of loopback, so a port a user forwards is reachable by anyone who can reach the node. DisableForwarding does not cover tunnel devices before OpenSSH 10.4 (upstream 8dfe7ed6e); it does make GatewayPorts moot, as does turning remote forwarding off. These hold for a bastion too: ProxyJump needs neither.",
        remediation: "Set `PermitTunnel no` and `GatewayPorts no` (globally and in every Match block that sets them), then reload sshd.",
        cis: &[],
        references: &[
            "https://man.openbsd.org/sshd_config#PermitTunnel",
            "https://man.openbsd.org/sshd_config#GatewayPorts",
            "https://github.com/openssh/openssh-portable/commit/8dfe7ed6e2fd988de08df508355a196b956b2753",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const OPTIONS: [&str; 4] = [
    "permittunnel",
    "gatewayports",
    "disableforwarding",
    "allowtcpforwarding",
];

fn judge_view(
    view: &View,
    version: &OpenSshVersion,
    scope: Option<String>,
    items: &mut Vec<Evidence>,
) {
    let value = |o: &str| view.get(o).map_or("", Setting::value);
    let disabled = value("disableforwarding") == "yes";
    let remote_off = disabled || matches!(value("allowtcpforwarding"), "no" | "local");
    let push = |items: &mut Vec<Evidence>,
                display: &str,
                setting: &Setting,
                pass: bool,
                expected: &str,
                why: Option<String>| {
        let mut item = evidence(
            display,
            Some(setting.value().to_string()),
            expected,
            pass,
            super::place_source(setting.origin()),
        );
        item.note = match (&scope, why) {
            (Some(s), Some(w)) => Some(format!("{s}; {w}")),
            (Some(s), None) => Some(s.clone()),
            (None, w) => w,
        };
        items.push(item);
    };
    if let Some(tunnel) = view.get("permittunnel") {
        let covered = disabled && super::disable_forwarding_covers("permittunnel", version);
        let why = (disabled && !covered)
            .then(|| format!("DisableForwarding does not stop tunnel devices in {version}"));
        push(
            items,
            "PermitTunnel",
            tunnel,
            covered || tunnel.value() == "no",
            "no",
            why.or_else(|| covered.then(|| "moot: DisableForwarding yes".into())),
        );
    }
    if let Some(gateway) = view.get("gatewayports") {
        let why = (remote_off && gateway.value() != "no").then(|| {
            "moot: remote forwarding is off (DisableForwarding yes or AllowTcpForwarding no/local)"
                .to_string()
        });
        push(
            items,
            "GatewayPorts",
            gateway,
            remote_off || gateway.value() == "no",
            "no",
            why,
        );
    }
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let mut items = Vec::new();
    for (label, view) in super::views(sshd, &OPTIONS) {
        judge_view(&view, &sshd.config.version, label, &mut items);
    }
    Verdict::from_evidence(items, "no tunnel devices or gateway ports", |failing| {
        super::failing_message(failing, "no")
    })
}

/// Each failing value set to `no`, in the block that sets it.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("PermitTunnel", "no"), ("GatewayPorts", "no")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("", Status::Pass),
                ("PermitTunnel yes\n", Status::Fail),
                ("PermitTunnel point-to-point\n", Status::Fail),
                ("GatewayPorts yes\n", Status::Fail),
                ("GatewayPorts clientspecified\n", Status::Fail),
                ("GatewayPorts yes\nAllowTcpForwarding local\n", Status::Pass),
                ("Match User ops\nPermitTunnel ethernet\n", Status::Fail),
                // DisableForwarding makes gateway ports moot but leaves tunnels on in 9.2.
                ("DisableForwarding yes\nGatewayPorts yes\n", Status::Pass),
                ("DisableForwarding yes\nPermitTunnel yes\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }

    /// Red-team finding: a connection that matches two blocks gets both blocks' settings, so
    /// one block's remote forwarding and another's GatewayPorts combine.
    #[test]
    fn two_matching_blocks_combine() {
        let base = "AllowTcpForwarding local\nGatewayPorts no\n";
        let both = format!(
            "{base}Match Group ops\n    AllowTcpForwarding yes\nMatch User alice\n    GatewayPorts yes\n"
        );
        let verdict = judge(&CHECK, &sshd_config(&both));
        assert_eq!(verdict.status, Status::Fail, "{verdict:#?}");
        assert!(
            verdict.message.contains("with Match User alice"),
            "{}",
            verdict.message
        );
        // Two users cannot both be the one logging in.
        let apart = format!(
            "{base}Match User bob\n    AllowTcpForwarding yes\nMatch User alice,carol\n    GatewayPorts yes\n"
        );
        assert_eq!(judge(&CHECK, &sshd_config(&apart)).status, Status::Pass);
    }

    #[test]
    fn disable_forwarding_stops_tunnels_from_10_4() {
        let files = [(
            "/etc/ssh/sshd_config",
            "DisableForwarding yes\nPermitTunnel yes\n",
        )];
        assert_eq!(
            judge(&CHECK, &sshd_facts_version(&files, "OpenSSH_10.4p1")).status,
            Status::Pass
        );
        assert_eq!(
            judge(&CHECK, &sshd_facts_version(&files, "OpenSSH_10.3p1")).status,
            Status::Fail
        );
    }
}

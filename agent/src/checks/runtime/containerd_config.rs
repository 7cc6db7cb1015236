//! `runtime.containerd-config`: containerd's CRI configuration keeps containers confined.

use super::config_items::{ConfigItems, runtime_config};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::lsm::{LsmFacts, SeLinux};
use crate::facts::runtime::{RuntimeConfig, RuntimeKind};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "runtime.containerd-config",
        title: "containerd's CRI settings do not weaken container isolation",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "containerd applies the confinement Kubernetes asks for, and its CRI plugin can quietly drop it for every pod: `disable_apparmor` runs every container unconfined whatever its profile says; `enable_selinux = false` on an SELinux-enforcing node leaves containers in the runtime's own domain, without their container_t type and MCS categories; a `stream_server_address` off loopback exposes the exec/attach/port-forward server on the network; a `[grpc] tcp_address` without client certificates serves containerd's whole API over TCP; and a sandboxed runtime handler (Kata, gVisor) without `privileged_without_host_devices` hands every host device to a privileged pod's sandbox. The configuration is the running containerd's (`--config`), with its `imports` merged as that containerd version merges them. `enable_unprivileged_ports` and `enable_unprivileged_icmp` (true by default since containerd 2.0) are not judged: they set sysctls inside the pod's own network namespace that Kubernetes counts as safe (net.ipv4.ip_unprivileged_port_start since 1.22, net.ipv4.ping_group_range since 1.18).",
        remediation: "In the CRI runtime plugin (`plugins.\"io.containerd.cri.v1.runtime\"` in a version 3 config, `plugins.\"io.containerd.grpc.v1.cri\"` in version 2): remove `disable_apparmor = true`; set `enable_selinux = true` on SELinux nodes; keep `stream_server_address = \"127.0.0.1\"`; remove `[grpc] tcp_address` or set `tcp_tls_ca`; set `privileged_without_host_devices = true` on sandboxed runtime handlers. Restart containerd.",
        cis: &[],
        references: &[
            "https://github.com/containerd/containerd/blob/main/docs/cri/config.md",
            "https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md",
            "https://github.com/kata-containers/kata-containers/blob/main/docs/how-to/privileged.md",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

use nodecheck_report::Severity;

/// The plugin holding the CRI runtime settings, and the one holding the streaming server's,
/// by config version.
fn plugins(config: &RuntimeConfig) -> (&'static str, &'static str) {
    match config.version {
        v if v >= 3 => ("io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"),
        2 => ("io.containerd.grpc.v1.cri", "io.containerd.grpc.v1.cri"),
        _ => ("cri", "cri"),
    }
}

fn is_loopback(address: &str) -> bool {
    address == "localhost"
        || address == "::1"
        || address
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let (config, runtime) = match runtime_config(ctx, RuntimeKind::Containerd) {
        Ok(found) => found,
        Err(verdict) => return verdict,
    };
    let (runtime_plugin, server_plugin) = plugins(config);
    let mut items = ConfigItems::new(config, "containerd");
    let rt = |key: &str| {
        vec!["plugins", runtime_plugin, key]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    items.judge(
        &rt("disable_apparmor"),
        "false",
        "false (containerd default)",
        |v| v.as_bool() != Some(true),
    );
    let enforcing = matches!(
        &ctx.facts.lsm,
        LsmFacts::Known(k) if k.selinux == SeLinux::Enforcing
    );
    if enforcing {
        items.judge_with_default(
            &rt("enable_selinux"),
            "true (SELinux is enforcing on this node)",
            "false (containerd default)",
            false,
            |v| v.as_bool() == Some(true),
        );
    }
    let server: Vec<String> = ["plugins", server_plugin, "stream_server_address"]
        .into_iter()
        .map(String::from)
        .collect();
    items.judge(
        &server,
        "a loopback address",
        "\"127.0.0.1\" (containerd default)",
        |v| v.as_str().is_some_and(is_loopback),
    );
    let tcp = ["grpc", "tcp_address"].map(String::from).to_vec();
    // containerd reads tcp_tls_ca only when tcp_tls_cert is set: a CA alone leaves the
    // listener plain TCP, unauthenticated.
    let set = |key: &str| {
        config
            .get(&["grpc", key])
            .and_then(|s| s.str())
            .is_some_and(|s| !s.is_empty())
    };
    let mutual_tls = set("tcp_tls_cert") && set("tcp_tls_key") && set("tcp_tls_ca");
    items.judge(
        &tcp,
        "unset, or TLS with client certificates required (tcp_tls_cert, tcp_tls_key and tcp_tls_ca)",
        "\"\" (no TCP listener)",
        |v| v.as_str().is_none_or(str::is_empty) || mutual_tls,
    );
    items.sandboxed_handlers(
        &["plugins", runtime_plugin, "containerd", "runtimes"],
        "io.containerd.runc.v2",
        |t| !t.starts_with("io.containerd.runc."),
    );
    items.verdict(runtime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::runtime::testing::{containerd, with_runtime};
    use crate::checks::testing::judge;
    use nodecheck_report::Status;

    fn status(config: &str) -> Status {
        judge(
            &CHECK,
            &with_runtime(RuntimeKind::Containerd, Some(containerd(config)), None),
        )
        .status
    }

    #[test]
    fn verdicts() {
        assert_eq!(status(""), Status::Pass, "defaults");
        assert_eq!(
            status(
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\ndisable_apparmor = true\n"
            ),
            Status::Fail
        );
        // Version 3 reads the runtime plugin; the old key is not containerd 2's.
        assert_eq!(
            status(
                "version = 3\n[plugins.'io.containerd.cri.v1.runtime']\ndisable_apparmor = true\n"
            ),
            Status::Fail
        );
        assert_eq!(
            status(
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nstream_server_address = \"0.0.0.0\"\n"
            ),
            Status::Fail
        );
        assert_eq!(
            status(
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nstream_server_address = \"127.0.0.1\"\n"
            ),
            Status::Pass
        );
        assert_eq!(
            status("version = 2\n[grpc]\ntcp_address = \"0.0.0.0:8888\"\n"),
            Status::Fail
        );
        // containerd reads the CA only with a certificate: a CA alone is plain TCP.
        assert_eq!(
            status(
                "version = 2\n[grpc]\ntcp_address = \"0.0.0.0:8888\"\ntcp_tls_ca = \"/ca.pem\"\n"
            ),
            Status::Fail
        );
        assert_eq!(
            status(
                "version = 2\n[grpc]\ntcp_address = \"0.0.0.0:8888\"\ntcp_tls_ca = \"/ca.pem\"\ntcp_tls_cert = \"/c.pem\"\ntcp_tls_key = \"/k.pem\"\n"
            ),
            Status::Pass
        );
        let kata = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]\nruntime_type = \"io.containerd.kata.v2\"\n";
        assert_eq!(status(kata), Status::Fail);
        assert_eq!(
            status(&format!("{kata}privileged_without_host_devices = true\n")),
            Status::Pass
        );
        let runc = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\n";
        assert_eq!(status(runc), Status::Pass);
    }

    #[test]
    fn selinux_labelling_only_where_selinux_enforces() {
        let mut facts = with_runtime(RuntimeKind::Containerd, Some(containerd("")), None);
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        facts.lsm =
            crate::checks::lsm::testing::with_lsm(&["selinux"], &[], SeLinux::Enforcing).lsm;
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
        facts.runtime.as_mut().expect("runtime").containerd = Some(containerd(
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nenable_selinux = true\n",
        ));
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
    }

    #[test]
    fn another_runtime_or_none() {
        let crio = with_runtime(RuntimeKind::CriO, None, None);
        assert_eq!(judge(&CHECK, &crio).status, Status::NotApplicable);
        let none = crate::checks::testing::empty_facts();
        assert_eq!(judge(&CHECK, &none).status, Status::NotApplicable);
    }
}

//! The one list of every check nodecheck ships, in ID order.
//!
//! Adding a check means adding its file under `checks/<area>/` and one line here; the tests
//! below keep IDs unique, well formed and documented, and the snapshot of the ID list makes
//! any rename a visible diff (IDs are a public interface: profiles, waivers and dashboards
//! refer to them).

use crate::checks::{
    Check, apiserver, containers, controller_manager, etcd, kernel, kube_proxy, kubelet, lsm,
    ports, runtime, scheduler, sshd,
};

/// Every check, sorted by ID.
pub static CHECKS: &[Check] = &[
    apiserver::admin_kubeconfig_permissions::CHECK,
    apiserver::always_admit::CHECK,
    apiserver::always_pull_images::CHECK,
    apiserver::anonymous_auth::CHECK,
    apiserver::audit_log::CHECK,
    apiserver::audit_log_retention::CHECK,
    apiserver::authorization_mode::CHECK,
    apiserver::client_ca_file::CHECK,
    apiserver::default_admission_plugins::CHECK,
    apiserver::deny_external_ips::CHECK,
    apiserver::encryption_at_rest::CHECK,
    apiserver::etcd_tls::CHECK,
    apiserver::event_rate_limit::CHECK,
    apiserver::extend_token_expiration::CHECK,
    apiserver::file_permissions::CHECK,
    apiserver::insecure_serving::CHECK,
    apiserver::kubelet_certificate_authority::CHECK,
    apiserver::kubelet_client_cert::CHECK,
    apiserver::node_restriction::CHECK,
    apiserver::pki_permissions::CHECK,
    apiserver::profiling::CHECK,
    apiserver::service_account_key_file::CHECK,
    apiserver::service_account_lookup::CHECK,
    apiserver::tls_cert::CHECK,
    apiserver::tls_cipher_suites::CHECK,
    apiserver::token_auth_file::CHECK,
    containers::host_namespaces::CHECK,
    containers::lsm_confined::CHECK,
    containers::memory_limit::CHECK,
    containers::no_new_privs::CHECK,
    containers::package_manager::CHECK,
    containers::privileged::CHECK,
    containers::root_user::CHECK,
    containers::seccomp::CHECK,
    containers::shell_in_image::CHECK,
    controller_manager::bind_address::CHECK,
    controller_manager::kubeconfig_permissions::CHECK,
    controller_manager::manifest_permissions::CHECK,
    controller_manager::profiling::CHECK,
    controller_manager::root_ca_file::CHECK,
    controller_manager::server_cert_rotation::CHECK,
    controller_manager::service_account_credentials::CHECK,
    controller_manager::service_account_private_key::CHECK,
    controller_manager::terminated_pod_gc::CHECK,
    etcd::auto_tls::CHECK,
    etcd::client_cert_auth::CHECK,
    etcd::client_tls::CHECK,
    etcd::data_dir_owner::CHECK,
    etcd::data_dir_permissions::CHECK,
    etcd::exposure::CHECK,
    etcd::key_permissions::CHECK,
    etcd::manifest_permissions::CHECK,
    etcd::peer_auto_tls::CHECK,
    etcd::peer_client_cert_auth::CHECK,
    etcd::peer_tls::CHECK,
    etcd::trusted_ca::CHECK,
    kernel::aslr::CHECK,
    kernel::dmesg_restrict::CHECK,
    kernel::icmp_redirects::CHECK,
    kernel::ip_forward::CHECK,
    kernel::kptr_restrict::CHECK,
    kernel::kubelet_tunables::CHECK,
    kernel::link_protection::CHECK,
    kernel::log_martians::CHECK,
    kernel::ptrace_scope::CHECK,
    kernel::rp_filter::CHECK,
    kernel::source_route::CHECK,
    kernel::suid_dumpable::CHECK,
    kernel::swap::CHECK,
    kernel::tcp_syncookies::CHECK,
    kernel::unprivileged_bpf::CHECK,
    kernel::user_namespaces::CHECK,
    kube_proxy::kubeconfig_permissions::CHECK,
    kube_proxy::metrics_bind_address::CHECK,
    kubelet::anonymous_auth::CHECK,
    kubelet::authorization_mode::CHECK,
    kubelet::ca_file_permissions::CHECK,
    kubelet::client_ca_file::CHECK,
    kubelet::config_file_permissions::CHECK,
    kubelet::event_qps::CHECK,
    kubelet::hostname_override::CHECK,
    kubelet::iptables_util_chains::CHECK,
    kubelet::kubeconfig_permissions::CHECK,
    kubelet::pod_pids_limit::CHECK,
    kubelet::protect_kernel_defaults::CHECK,
    kubelet::read_only_port::CHECK,
    kubelet::rotate_certificates::CHECK,
    kubelet::seccomp_default::CHECK,
    kubelet::server_cert_rotation::CHECK,
    kubelet::service_file_permissions::CHECK,
    kubelet::streaming_idle_timeout::CHECK,
    kubelet::tls_cert::CHECK,
    kubelet::tls_cipher_suites::CHECK,
    lsm::apparmor_runtime_profile::CHECK,
    lsm::mandatory_access_control::CHECK,
    lsm::seccomp_available::CHECK,
    lsm::selinux_enforcing::CHECK,
    ports::container_runtime_api::CHECK,
    ports::insecure_apiserver::CHECK,
    ports::kubelet_read_only::CHECK,
    ports::unexpected_listener::CHECK,
    runtime::cni_file_permissions::CHECK,
    runtime::containerd_config::CHECK,
    runtime::crio_config::CHECK,
    runtime::escape_advisories::CHECK,
    runtime::socket_permissions::CHECK,
    scheduler::bind_address::CHECK,
    scheduler::kubeconfig_permissions::CHECK,
    scheduler::manifest_permissions::CHECK,
    scheduler::profiling::CHECK,
    sshd::access_restriction::CHECK,
    sshd::banner::CHECK,
    sshd::ciphers::CHECK,
    sshd::client_alive::CHECK,
    sshd::config_permissions::CHECK,
    sshd::exposure::CHECK,
    sshd::forwarding::CHECK,
    sshd::gssapi::CHECK,
    sshd::host_key_algorithms::CHECK,
    sshd::host_key_permissions::CHECK,
    sshd::host_keys::CHECK,
    sshd::hostbased_auth::CHECK,
    sshd::ignore_rhosts::CHECK,
    sshd::kex::CHECK,
    sshd::log_level::CHECK,
    sshd::login_grace_time::CHECK,
    sshd::macs::CHECK,
    sshd::max_auth_tries::CHECK,
    sshd::max_sessions::CHECK,
    sshd::max_startups::CHECK,
    sshd::password_authentication::CHECK,
    sshd::permit_empty_passwords::CHECK,
    sshd::permit_root_login::CHECK,
    sshd::permit_user_environment::CHECK,
    sshd::public_key_permissions::CHECK,
    sshd::tunnels::CHECK,
    sshd::use_pam::CHECK,
    sshd::x11_forwarding::CHECK,
];

/// Looks a check up by ID.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.meta.id == id)
}

/// All areas, in order of first appearance.
pub fn areas() -> Vec<&'static str> {
    let mut areas: Vec<&'static str> = Vec::new();
    for c in CHECKS {
        if !areas.contains(&c.meta.area) {
            areas.push(c.meta.area);
        }
    }
    areas
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The released IDs. Changing this list changes a public interface: never rename or
    /// reuse an ID without a redirect.
    const ID_SNAPSHOT: &str = "\
apiserver.admin-kubeconfig-permissions
apiserver.always-admit
apiserver.always-pull-images
apiserver.anonymous-auth
apiserver.audit-log
apiserver.audit-log-retention
apiserver.authorization-mode
apiserver.client-ca-file
apiserver.default-admission-plugins
apiserver.deny-external-ips
apiserver.encryption-at-rest
apiserver.etcd-tls
apiserver.event-rate-limit
apiserver.extend-token-expiration
apiserver.file-permissions
apiserver.insecure-serving
apiserver.kubelet-certificate-authority
apiserver.kubelet-client-cert
apiserver.node-restriction
apiserver.pki-permissions
apiserver.profiling
apiserver.service-account-key-file
apiserver.service-account-lookup
apiserver.tls-cert
apiserver.tls-cipher-suites
apiserver.token-auth-file
containers.host-namespaces
containers.lsm-confined
containers.memory-limit
containers.no-new-privs
containers.package-manager
containers.privileged
containers.root-user
containers.seccomp
containers.shell-in-image
controller-manager.bind-address
controller-manager.kubeconfig-permissions
controller-manager.manifest-permissions
controller-manager.profiling
controller-manager.root-ca-file
controller-manager.server-cert-rotation
controller-manager.service-account-credentials
controller-manager.service-account-private-key
controller-manager.terminated-pod-gc
etcd.auto-tls
etcd.client-cert-auth
etcd.client-tls
etcd.data-dir-owner
etcd.data-dir-permissions
etcd.exposure
etcd.key-permissions
etcd.manifest-permissions
etcd.peer-auto-tls
etcd.peer-client-cert-auth
etcd.peer-tls
etcd.trusted-ca
kernel.aslr
kernel.dmesg-restrict
kernel.icmp-redirects
kernel.ip-forward
kernel.kptr-restrict
kernel.kubelet-tunables
kernel.link-protection
kernel.log-martians
kernel.ptrace-scope
kernel.rp-filter
kernel.source-route
kernel.suid-dumpable
kernel.swap
kernel.tcp-syncookies
kernel.unprivileged-bpf
kernel.user-namespaces
kube-proxy.kubeconfig-permissions
kube-proxy.metrics-bind-address
kubelet.anonymous-auth
kubelet.authorization-mode
kubelet.ca-file-permissions
kubelet.client-ca-file
kubelet.config-file-permissions
kubelet.event-qps
kubelet.hostname-override
kubelet.iptables-util-chains
kubelet.kubeconfig-permissions
kubelet.pod-pids-limit
kubelet.protect-kernel-defaults
kubelet.read-only-port
kubelet.rotate-certificates
kubelet.seccomp-default
kubelet.server-cert-rotation
kubelet.service-file-permissions
kubelet.streaming-idle-timeout
kubelet.tls-cert
kubelet.tls-cipher-suites
lsm.apparmor-runtime-profile
lsm.mandatory-access-control
lsm.seccomp-available
lsm.selinux-enforcing
ports.container-runtime-api
ports.insecure-apiserver
ports.kubelet-read-only
ports.unexpected-listener
runtime.cni-file-permissions
runtime.containerd-config
runtime.crio-config
runtime.escape-advisories
runtime.socket-permissions
scheduler.bind-address
scheduler.kubeconfig-permissions
scheduler.manifest-permissions
scheduler.profiling
sshd.access-restriction
sshd.banner
sshd.ciphers
sshd.client-alive
sshd.config-permissions
sshd.exposure
sshd.forwarding
sshd.gssapi
sshd.host-key-algorithms
sshd.host-key-permissions
sshd.host-keys
sshd.hostbased-auth
sshd.ignore-rhosts
sshd.kex
sshd.log-level
sshd.login-grace-time
sshd.macs
sshd.max-auth-tries
sshd.max-sessions
sshd.max-startups
sshd.password-authentication
sshd.permit-empty-passwords
sshd.permit-root-login
sshd.permit-user-environment
sshd.public-key-permissions
sshd.tunnels
sshd.use-pam
sshd.x11-forwarding
";

    #[test]
    fn ids_are_sorted_unique_and_match_the_snapshot() {
        let ids: Vec<&str> = CHECKS.iter().map(|c| c.meta.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            ids, sorted,
            "the registry is in ID order without duplicates"
        );
        let listed: String = ids.iter().map(|id| format!("{id}\n")).collect();
        assert_eq!(listed, ID_SNAPSHOT);
    }

    #[test]
    fn ids_are_well_formed_and_docs_are_complete() {
        for check in CHECKS {
            let m = &check.meta;
            let (area, topic) = m.id.split_once('.').expect("area.topic");
            assert_eq!(area, m.area, "{}", m.id);
            let kebab = |s: &str| {
                !s.is_empty()
                    && !s.starts_with('-')
                    && !s.ends_with('-')
                    && !s.contains("--")
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            };
            assert!(
                kebab(area) && kebab(topic),
                "{} is lowercase kebab-case",
                m.id
            );
            assert!(!m.title.is_empty(), "{} has a title", m.id);
            assert!(m.rationale.len() > 40, "{} explains why", m.id);
            assert!(m.remediation.len() > 20, "{} says what to change", m.id);
            assert!(!m.citations().is_empty(), "{} has references", m.id);
            for reference in m.references {
                assert!(
                    is_citation(reference),
                    "{}: {reference:?} is not a URL, a CIS id with its benchmark and version, or a CVE/GHSA id",
                    m.id
                );
            }
            assert!(!m.roles.is_empty(), "{} has roles", m.id);
            for p in m.params {
                assert!(!p.doc.is_empty(), "{}.{} is documented", m.id, p.name);
            }
        }
    }

    /// A real, stable citation: an https URL, `CIS <benchmark> Benchmark v<version> <id>`,
    /// a CVE id or a GitHub advisory id. Placeholders and prose are refused.
    fn is_citation(reference: &str) -> bool {
        let numbers = |s: &str, min_parts: usize| {
            let parts: Vec<&str> = s.split('.').collect();
            parts.len() >= min_parts
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        if let Some(url) = reference.strip_prefix("https://") {
            return url.contains('.') && !url.contains(char::is_whitespace);
        }
        if let Some(rest) = reference.strip_prefix("CVE-") {
            return rest.split_once('-').is_some_and(|(year, n)| {
                year.len() == 4 && numbers(year, 1) && n.len() >= 4 && numbers(n, 1)
            });
        }
        if let Some(rest) = reference.strip_prefix("GHSA-") {
            let parts: Vec<&str> = rest.split('-').collect();
            return parts.len() == 3
                && parts.iter().all(|p| {
                    p.len() == 4
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                });
        }
        let Some(rest) = reference.strip_prefix("CIS ") else {
            return false;
        };
        let words: Vec<&str> = rest.split(' ').collect();
        let [name @ .., benchmark, version, id] = words.as_slice() else {
            return false;
        };
        !name.is_empty()
            && *benchmark == "Benchmark"
            && version.strip_prefix('v').is_some_and(|v| numbers(v, 2))
            && numbers(id, 1)
    }

    #[test]
    fn citations_are_recognised() {
        for good in [
            "CIS Kubernetes Benchmark v1.12 1.2.5",
            "CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.20",
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
            "CVE-2018-1002105",
            "GHSA-2v6x-frw8-7r7f",
        ] {
            assert!(is_citation(good), "{good}");
        }
        for bad in [
            "seed",
            "CIS K8s 1.2.5",
            "CIS Kubernetes Benchmark 1.2.5",
            "http://example.com",
            "https://exa mple.com",
            "CVE-18-1",
            "see the docs",
        ] {
            assert!(!is_citation(bad), "{bad}");
        }
    }

    /// Every file under `src/checks/<area>/` that declares a check is in [`CHECKS`]: a check
    /// written and not registered would never run.
    #[test]
    fn every_check_file_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let mut declared = Vec::new();
        for area in std::fs::read_dir(&root).expect("src/checks") {
            let area = area.expect("entry").path();
            if !area.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&area).expect("area dir") {
                let path = file.expect("entry").path();
                let text = std::fs::read_to_string(&path).expect("check source");
                if !text.contains("pub const CHECK: Check") {
                    continue;
                }
                let id = text
                    .split("id: \"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_else(|| panic!("{} declares a CHECK without an id", path.display()));
                declared.push((id.to_string(), path.display().to_string()));
            }
        }
        assert!(
            declared.len() >= CHECKS.len(),
            "every registered check has a file"
        );
        for (id, path) in &declared {
            assert!(
                find(id).is_some(),
                "{path} declares {id}, which is not in registry::CHECKS"
            );
        }
    }
}

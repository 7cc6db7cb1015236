//! The runtime area: the layer that runs containers beneath the kubelet — the runtime's
//! socket, its configuration, the versions of the runtime and runc against known container
//! escapes ([`crate::facts::runtime`]), and the CNI configuration the runtime reads.

pub mod advisories;
pub mod cni_file_permissions;
pub mod config_items;
pub mod containerd_config;
pub mod crio_config;
pub mod escape_advisories;
pub mod socket_permissions;

use nodecheck_report::Role;

pub const AREA: &str = "runtime";
pub const ROLES: &[Role] = &[Role::Worker, Role::ControlPlane];

#[cfg(test)]
pub mod testing {
    use crate::facts::Facts;
    use crate::facts::runtime::{Runtime, RuntimeConfig, RuntimeFacts, RuntimeKind};

    /// containerd's configuration from one file's text.
    pub fn containerd(text: &str) -> RuntimeConfig {
        crate::facts::runtime::config_from_text("/etc/containerd/config.toml", text, false)
    }

    /// CRI-O's configuration from one file's text.
    pub fn crio(text: &str) -> RuntimeConfig {
        crate::facts::runtime::config_from_text("/etc/crio/crio.conf", text, true)
    }

    /// Facts of a node whose kubelet uses `kind`, with these configurations.
    pub fn with_runtime(
        kind: RuntimeKind,
        containerd: Option<RuntimeConfig>,
        crio: Option<RuntimeConfig>,
    ) -> Facts {
        let mut facts = crate::checks::testing::empty_facts();
        facts.runtime = Some(RuntimeFacts {
            endpoint: None,
            runtime: Some(Runtime {
                kind,
                pid: 900,
                exe: Some("/usr/bin/containerd".into()),
            }),
            socket: None,
            containerd,
            crio,
            versions: Vec::new(),
            problems: Vec::new(),
        });
        facts
    }
}

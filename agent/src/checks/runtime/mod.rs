//! The runtime area: the layer that runs containers beneath the kubelet. For now the CNI
//! configuration the container runtime reads.

pub mod cni_file_permissions;

use nodecheck_report::Role;

pub const AREA: &str = "runtime";
pub const ROLES: &[Role] = &[Role::Worker, Role::ControlPlane];

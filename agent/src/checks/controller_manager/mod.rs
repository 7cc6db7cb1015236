//! The kube-controller-manager area: its flags (it has no configuration file), its static pod
//! manifest and kubeconfig, and the sockets it serves on.

pub mod bind_address;
pub mod kubeconfig_permissions;
pub mod manifest_permissions;
pub mod profiling;
pub mod root_ca_file;
pub mod server_cert_rotation;
pub mod service_account_credentials;
pub mod service_account_private_key;
pub mod terminated_pod_gc;

use super::{Ctx, Verdict};
use crate::facts::components::ComponentFacts;
use nodecheck_report::Role;

pub const AREA: &str = "controller-manager";
pub const ROLES: &[Role] = &[Role::ControlPlane];
pub const NAME: &str = "kube-controller-manager";

/// The controller manager's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a ComponentFacts, Verdict> {
    super::component::found(ctx.facts.controller_manager.as_ref(), NAME)
}

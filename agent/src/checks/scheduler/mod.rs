//! The kube-scheduler area: its flags and, with `--config`, its KubeSchedulerConfiguration
//! (which replaces the deprecated flags), its static pod manifest and kubeconfig, and the
//! sockets it serves on.

pub mod bind_address;
pub mod kubeconfig_permissions;
pub mod manifest_permissions;
pub mod profiling;

use super::{Ctx, Verdict};
use crate::facts::components::ComponentFacts;
use nodecheck_report::Role;

pub const AREA: &str = "scheduler";
pub const ROLES: &[Role] = &[Role::ControlPlane];
pub const NAME: &str = "kube-scheduler";

/// The scheduler's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a ComponentFacts, Verdict> {
    super::component::found(ctx.facts.scheduler.as_ref(), NAME)
}

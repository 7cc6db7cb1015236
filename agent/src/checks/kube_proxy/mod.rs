//! The kube-proxy area: its flags or, with `--config`, its KubeProxyConfiguration (which
//! replaces them), read inside its container when it runs in one; its kubeconfig; the metrics
//! socket it really owns.

pub mod kubeconfig_permissions;
pub mod metrics_bind_address;

use super::{Ctx, Verdict};
use crate::facts::components::ComponentFacts;
use nodecheck_report::Role;

pub const AREA: &str = "kube-proxy";
pub const ROLES: &[Role] = &[Role::Worker, Role::ControlPlane];
pub const NAME: &str = "kube-proxy";

/// kube-proxy's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a ComponentFacts, Verdict> {
    super::component::found(ctx.facts.kube_proxy.as_ref(), NAME)
}

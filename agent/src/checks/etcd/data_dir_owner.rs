//! `etcd.data-dir-owner`: the data directory belongs to the user etcd runs as.

use crate::checks::{Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict, evidence};
use nodecheck_report::{Severity, Source};

pub const REQUIRE_ETCD_USER: ParamSpec = ParamSpec {
    name: "require_etcd_user",
    default: ParamDefault::Bool(false),
    doc: "Demand owner etcd:etcd as CIS words it, whatever user etcd runs as.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.data-dir-owner",
        title: "The etcd data directory is owned by the user etcd runs as",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "A data directory owned by another account lets that account read or corrupt the store. kubeadm runs etcd as root with a root-owned directory, which is consistent; CIS asks for etcd:etcd, which no kubeadm node has (kubeadm #2931) — the cis profile demands it. Names come from the host's passwd and group files.",
        remediation: "chown the data directory to the user etcd runs as (`chown -R etcd:etcd /var/lib/etcd` when etcd runs as etcd).",
        cis: &["1.1.12"],
        references: &["https://github.com/kubernetes/kubeadm/issues/2931"],
        params: &[REQUIRE_ETCD_USER],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let etcd = match super::found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let (Some((dir, _)), Some(fact)) = (&etcd.data_dir, &etcd.data_dir_file) else {
        return Verdict::error("etcd's data directory is not known", Vec::new());
    };
    let Ok(meta) = &fact.meta else {
        return Verdict::error(
            format!(
                "cannot judge the etcd data directory {dir}: {}",
                fact.describe()
            ),
            Vec::new(),
        );
    };
    let owner = format!("{}:{}", fact.owner, fact.group);
    let (ok, expected, note) = if ctx.params.flag(&REQUIRE_ETCD_USER) {
        (
            fact.owner == "etcd" && fact.group == "etcd",
            "etcd:etcd".to_string(),
            None,
        )
    } else {
        match &etcd.run_as {
            Some((uid, name)) => (
                meta.uid == *uid,
                format!("owned by {name}, the user etcd runs as"),
                None,
            ),
            // A static pod runs etcd as root unless its securityContext says otherwise.
            None => (
                meta.uid == 0,
                "owned by root (etcd's static pod runs as root)".to_string(),
                Some("etcd process not visible".to_string()),
            ),
        }
    };
    let mut item = evidence(
        format!("{dir} owner"),
        Some(owner.clone()),
        expected.clone(),
        ok,
        Source::FileMetadata { path: dir.clone() },
    );
    item.note = note;
    Verdict::from_evidence(vec![item], format!("{dir} is owned by {owner}"), |_| {
        format!("{dir} is owned by {owner}; expected {expected}")
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
        let mut facts = etcd_facts(&[], &["--data-dir=/var/lib/etcd"]);
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.data_dir_file = Some(file("/var/lib/etcd", 0o700, "root", "root"));
        etcd.run_as = Some((0, "root".into()));
        assert_eq!(
            judge_control_plane(&CHECK, &facts).status,
            Status::Pass,
            "kubeadm: root runs etcd, root owns the dir"
        );
        let mut cis = Params::defaults(&CHECK.meta);
        cis.0
            .insert("require_etcd_user".into(), ParamValue::Bool(true));
        assert_eq!(
            judge_with(&CHECK, &facts, &[Role::ControlPlane], &cis).status,
            Status::Fail
        );
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.run_as = Some((997, "etcd".into()));
        assert_eq!(
            judge_control_plane(&CHECK, &facts).status,
            Status::Fail,
            "etcd runs as etcd, root owns the dir"
        );
    }
}

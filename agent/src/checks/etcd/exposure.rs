//! `etcd.exposure`: etcd is not reachable off the host without client certificates.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use nodecheck_report::{Role, Severity, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.exposure",
        title: "etcd listens off the host only with client certificate authentication",
        area: super::AREA,
        severity: Severity::Critical,
        roles: &[Role::Worker, Role::ControlPlane],
        rationale: "An etcd client port on a non-loopback address without client certificate authentication hands the whole cluster to anyone on the network. A worker has no business listening on 2379/2380 at all.",
        remediation: "Bind etcd's `--listen-client-urls` to loopback and the control-plane network only, with `--client-cert-auth=true`; on a worker, find and stop whatever listens on 2379/2380.",
        cis: &[],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const PORTS: [u16; 2] = [2379, 2380];

fn run(ctx: &Ctx<'_>) -> Verdict {
    let on_control_plane = ctx.has_role(Role::ControlPlane);
    let etcd_like = |l: &&crate::facts::Listener| {
        l.protocol == "tcp"
            && (PORTS.contains(&l.port) || l.owners.iter().any(|(_, name)| name == "etcd"))
    };
    if !on_control_plane {
        let items: Vec<_> = ctx
            .facts
            .listeners
            .iter()
            .filter(|l| l.is_host())
            .filter(etcd_like)
            .map(|l| {
                evidence(
                    "etcd port on a worker",
                    Some(l.endpoint()),
                    "nothing listening on 2379/2380",
                    false,
                    l.source(),
                )
            })
            .collect();
        return Verdict::from_evidence(
            items,
            "nothing listens on the etcd ports of this worker",
            |failing| {
                let endpoints: Vec<&str> = failing
                    .iter()
                    .filter_map(|e| e.observed.as_deref())
                    .collect();
                format!(
                    "{} listen(s) on an etcd port of a worker; expected nothing on 2379/2380",
                    endpoints.join(", ")
                )
            },
        );
    }
    let etcd = match super::found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let cert_auth = super::is_true(&etcd.args, "client-cert-auth");
    let mut items = Vec::new();
    for l in ctx
        .facts
        .listeners
        .iter()
        .filter(|l| l.is_host())
        .filter(etcd_like)
        .filter(|l| !l.is_loopback())
    {
        let mut item = evidence(
            "etcd listener",
            Some(l.endpoint()),
            "loopback, or client-cert-auth on",
            cert_auth,
            l.source(),
        );
        item.note = Some(format!("client-cert-auth is {cert_auth}"));
        items.push(item);
    }
    // Without listener facts (a manifest only), judge the configured client URLs.
    if items.is_empty()
        && let Some((urls, source)) = etcd.args.list("listen-client-urls")
    {
        for url in urls.iter().filter(|u| {
            !(u.contains("127.0.0.1") || u.contains("localhost") || u.contains("[::1]"))
        }) {
            items.push(evidence(
                "etcd --listen-client-urls",
                Some(url.clone()),
                "loopback, or client-cert-auth on",
                cert_auth,
                source.clone(),
            ));
        }
    }
    if items.is_empty() {
        return Verdict::new(Status::Pass, "etcd listens on loopback only", Vec::new());
    }
    Verdict::from_evidence(
        items,
        "etcd is reachable off the host only with client certificates",
        |failing| {
            let endpoints: Vec<&str> = failing
                .iter()
                .filter_map(|e| e.observed.as_deref())
                .collect();
            format!(
                "etcd listens on {} without client certificate authentication; expected --client-cert-auth=true or loopback only",
                endpoints.join(", ")
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;

    #[test]
    fn verdicts() {
        let open = etcd_facts(&[], &["--listen-client-urls=http://0.0.0.0:2379"]);
        assert_eq!(judge_control_plane(&CHECK, &open).status, Status::Fail);
        let locked = etcd_facts(
            &[],
            &[
                "--listen-client-urls=https://0.0.0.0:2379",
                "--client-cert-auth",
            ],
        );
        assert_eq!(judge_control_plane(&CHECK, &locked).status, Status::Pass);
        let local = etcd_facts(&[], &["--listen-client-urls=http://127.0.0.1:2379"]);
        assert_eq!(judge_control_plane(&CHECK, &local).status, Status::Pass);
        let mut live = etcd_facts(&[], &[]);
        listener(&mut live, "10.0.0.5:2379", 900, "etcd");
        assert_eq!(judge_control_plane(&CHECK, &live).status, Status::Fail);
        let mut worker = empty_facts();
        assert_eq!(
            judge_with(
                &CHECK,
                &worker,
                &[Role::Worker],
                &crate::checks::Params::default()
            )
            .status,
            Status::Pass
        );
        listener(&mut worker, "0.0.0.0:2379", 77, "etcd");
        assert_eq!(
            judge_with(
                &CHECK,
                &worker,
                &[Role::Worker],
                &crate::checks::Params::default()
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge_control_plane(&CHECK, &empty_facts()).status,
            Status::NotApplicable
        );
    }
}

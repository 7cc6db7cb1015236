//! `apiserver.etcd-tls`: the API server talks to etcd over authenticated TLS.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.etcd-tls",
        title: "The API server authenticates to etcd with TLS",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without a client certificate and a CA for etcd, the API server's traffic to the store of every secret is unauthenticated or unverified.",
        remediation: "Set `--etcd-certfile`, `--etcd-keyfile` and `--etcd-cafile` on the kube-apiserver (kubeadm: /etc/kubernetes/pki/apiserver-etcd-client.{crt,key} and etcd/ca.crt).",
        cis: &["1.2.23", "1.2.26"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    // k3s serves sqlite, PostgreSQL and MySQL to its in-process API server through kine on a
    // local socket: there is no network hop for TLS to protect. Every occurrence counts
    // (`--etcd-servers` is a string slice), and any other entry is the network.
    if let Some((servers, source)) = apiserver.args.list("etcd-servers") {
        if !servers.is_empty() && servers.iter().all(|s| s.starts_with("unix:")) {
            return Verdict::not_applicable(format!(
                "the API server reaches its datastore over a local socket (--etcd-servers={}), not the network",
                servers.join(",")
            ));
        }
        // etcd's client drops TLS for http:// endpoints, certificates or not.
        let plain: Vec<&String> = servers
            .iter()
            .filter(|s| s.to_ascii_lowercase().starts_with("http://"))
            .collect();
        if !plain.is_empty() {
            let plain: Vec<&str> = plain.iter().map(|s| s.as_str()).collect();
            return Verdict::new(
                nodecheck_report::Status::Fail,
                format!(
                    "--etcd-servers names {} ({source}): plain HTTP, whatever certificates are set; expected https:// endpoints with the etcd client certificate, key and CA",
                    plain.join(", ")
                ),
                vec![crate::checks::evidence(
                    "--etcd-servers",
                    Some(servers.join(",")),
                    "https:// or a local unix socket",
                    false,
                    source.clone(),
                )],
            );
        }
    }
    let items = ["etcd-certfile", "etcd-keyfile", "etcd-cafile"]
        .iter()
        .map(|flag| {
            let set = apiserver
                .args
                .value(flag)
                .is_some_and(|(v, _)| !v.is_empty());
            super::flag_evidence(&apiserver.args, flag, None, "set", set)
        })
        .collect();
    Verdict::from_evidence(
        items,
        "etcd client certificate, key and CA are set",
        |failing| super::failing_message(failing, "all three set"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (
                    &[
                        "--etcd-certfile=/c",
                        "--etcd-keyfile=/k",
                        "--etcd-cafile=/ca",
                    ],
                    Status::Pass,
                ),
                (&["--etcd-certfile=/c", "--etcd-keyfile=/k"], Status::Fail),
                (&[], Status::Fail),
                (&["--etcd-servers=unix://kine.sock"], Status::NotApplicable),
                // Every occurrence counts: a network endpoint before the socket is used too.
                (
                    &[
                        "--etcd-servers=http://10.0.0.5:2379",
                        "--etcd-servers=unix://kine.sock",
                    ],
                    Status::Fail,
                ),
                // Certificates do not protect an http:// endpoint.
                (
                    &[
                        "--etcd-servers=http://10.0.0.5:2379",
                        "--etcd-certfile=/c",
                        "--etcd-keyfile=/k",
                        "--etcd-cafile=/ca",
                    ],
                    Status::Fail,
                ),
                (
                    &["--etcd-servers=unix://kine.sock,https://10.0.0.1:2379"],
                    Status::Fail,
                ),
            ],
        );
    }
}

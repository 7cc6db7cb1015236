//! `apiserver.pki-permissions`: the cluster's PKI directory, certificates and keys.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, failing_entries, owned_entry_evidence};
use crate::facts::FileFact;
use crate::host::EntryKind;
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.pki-permissions",
        title: "The PKI directory is root's: certificates 0644, keys 0600",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The PKI directory holds the cluster CA's key, the ServiceAccount signing key and the API server's own: whoever reads one can mint any identity or token; whoever writes the directory or a certificate can swap a CA. The directory is the one the API server's flags name (kubeadm /etc/kubernetes/pki, k3s and rke2 …/server/tls), not a fixed path.",
        remediation: "`chown -R root:root` the PKI directory, `chmod 600` every private key (*.key) and `chmod 644` (or stricter) every certificate (*.crt).",
        cis: &["1.1.19", "1.1.20", "1.1.21"],
        references: &["https://kubernetes.io/docs/setup/best-practices/certificates/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

/// What a PKI entry is, by name: private keys (`*.key`, and `sa.key`), certificates
/// (`*.crt`, `*.pem` that are not keys), and anything else (directories, `sa.pub`, state files).
fn rule(entry: &FileFact) -> (u32, &'static str) {
    let name = entry.path.rsplit('/').next().unwrap_or_default();
    let is_dir = entry.meta.as_ref().is_ok_and(|m| m.kind == EntryKind::Dir);
    if is_dir {
        (0o755, "directory: root:root, writable by root only")
    } else if name.ends_with(".key") || name.ends_with("-key.pem") || name.ends_with("_key") {
        (0o600, "private key: 0600 or stricter, root:root")
    } else if name.ends_with(".crt") || name.ends_with(".pem") {
        (0o644, "certificate: 0644 or stricter, root:root")
    } else {
        (0o644, "0644 or stricter, root:root")
    }
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let Some(pki) = &apiserver.pki else {
        return Verdict::error(
            "the API server names no CA or serving certificate by an absolute path (--client-ca-file, --tls-cert-file), so its PKI directory is unknown",
            Vec::new(),
        );
    };
    if let Err(e) = &pki.entries[0].meta {
        return Verdict::error(
            format!(
                "cannot read the PKI directory {} (named by --{}, {}): {e}",
                pki.dir, pki.named_by.0, pki.named_by.1
            ),
            Vec::new(),
        );
    }
    let mut items: Vec<Evidence> = pki
        .entries
        .iter()
        .map(|entry| {
            let (max_mode, expected) = rule(entry);
            owned_entry_evidence(entry, max_mode, expected)
        })
        .collect();
    items.extend(pki.problems.iter().map(|p| Evidence {
        subject: pki.dir.clone(),
        observed: Some(p.clone()),
        expected: "every entry read".into(),
        status: Status::Error,
        source: Source::FileMetadata {
            path: pki.dir.clone(),
        },
        note: None,
    }));
    let count = pki.entries.len();
    Verdict::from_evidence(
        items,
        format!(
            "{} and its {} entries are root's, keys 0600, certificates 0644",
            pki.dir,
            count - 1
        ),
        |failing| {
            format!(
                "{} (PKI directory {} from --{})",
                failing_entries(failing),
                pki.dir,
                pki.named_by.0
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::facts::control_plane::PkiFacts;

    fn with_pki(entries: Vec<FileFact>) -> crate::facts::Facts {
        let mut facts = apiserver_facts(&[], &["--client-ca-file=/etc/kubernetes/pki/ca.crt"]);
        facts.apiserver.as_mut().expect("apiserver").pki = Some(PkiFacts {
            dir: "/etc/kubernetes/pki".into(),
            named_by: ("client-ca-file".into(), Source::default_value("test")),
            entries,
            problems: Vec::new(),
        });
        facts
    }

    fn dir(path: &str, mode: u32) -> FileFact {
        let mut f = file(path, mode, "root", "root");
        if let Ok(m) = &mut f.meta {
            m.kind = EntryKind::Dir;
        }
        f
    }

    #[test]
    fn keys_certificates_and_ownership() {
        let good = vec![
            dir("/etc/kubernetes/pki", 0o755),
            file("/etc/kubernetes/pki/ca.crt", 0o644, "root", "root"),
            file("/etc/kubernetes/pki/ca.key", 0o600, "root", "root"),
            dir("/etc/kubernetes/pki/etcd", 0o755),
            file("/etc/kubernetes/pki/etcd/ca.key", 0o600, "root", "root"),
            file("/etc/kubernetes/pki/sa.pub", 0o644, "root", "root"),
        ];
        assert_eq!(
            judge_control_plane(&CHECK, &with_pki(good.clone())).status,
            Status::Pass
        );
        // A key readable by all (1.1.21), a certificate writable by the group (1.1.20), an
        // entry owned by someone else (1.1.19), a world-writable subdirectory.
        for (index, bad) in [
            (2, file("/etc/kubernetes/pki/ca.key", 0o644, "root", "root")),
            (1, file("/etc/kubernetes/pki/ca.crt", 0o664, "root", "root")),
            (5, file("/etc/kubernetes/pki/sa.pub", 0o644, "kube", "root")),
            (3, dir("/etc/kubernetes/pki/etcd", 0o777)),
        ] {
            let mut entries = good.clone();
            entries[index] = bad.clone();
            let v = judge_control_plane(&CHECK, &with_pki(entries));
            assert_eq!(v.status, Status::Fail, "{}", bad.path);
            assert!(v.message.contains(&bad.path), "{}", v.message);
        }
    }

    #[test]
    fn the_directory_comes_from_the_flags() {
        let facts = apiserver_facts(
            &[
                ("var/lib/rancher/rke2/server/tls/client-ca.crt", "x"),
                ("var/lib/rancher/rke2/server/tls/client-ca.key", "x"),
                ("var/lib/rancher/rke2/server/tls/etcd/peer-ca.key", "x"),
            ],
            &["--client-ca-file=/var/lib/rancher/rke2/server/tls/client-ca.crt"],
        );
        let pki = facts
            .apiserver
            .as_ref()
            .and_then(|a| a.pki.as_ref())
            .expect("pki");
        assert_eq!(pki.dir, "/var/lib/rancher/rke2/server/tls");
        let paths: Vec<&str> = pki.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/var/lib/rancher/rke2/server/tls",
                "/var/lib/rancher/rke2/server/tls/client-ca.crt",
                "/var/lib/rancher/rke2/server/tls/client-ca.key",
                "/var/lib/rancher/rke2/server/tls/etcd",
                "/var/lib/rancher/rke2/server/tls/etcd/peer-ca.key",
            ]
        );
        // A key the API server names outside the directory is judged too.
        let facts_outside = apiserver_facts(
            &[
                ("etc/kubernetes/pki/ca.crt", "x"),
                ("srv/keys/apiserver.key", "x"),
            ],
            &[
                "--client-ca-file=/etc/kubernetes/pki/ca.crt",
                "--tls-private-key-file=/srv/keys/apiserver.key",
            ],
        );
        let outside = facts_outside
            .apiserver
            .as_ref()
            .and_then(|a| a.pki.as_ref())
            .expect("pki");
        assert!(
            outside
                .entries
                .iter()
                .any(|e| e.path == "/srv/keys/apiserver.key"),
            "{:?}",
            outside.entries
        );
        // The fixture writes files 0600 and directories as the test machine makes them; the
        // verdict is judged, not assumed.
        let v = judge_control_plane(&CHECK, &facts);
        assert_ne!(v.status, Status::NotApplicable);
        let none = apiserver_facts(&[], &[]);
        assert_eq!(judge_control_plane(&CHECK, &none).status, Status::Error);
    }
}

//! `sshd.host-key-algorithms`: sshd does not sign its key exchange with SHA-1 or DSA.
//!
//! What counts is what the daemon offers in its KEXINIT (`list_hostkey_types`): each loaded
//! host key's signature names, filtered by the effective `HostKeyAlgorithms`. So `+ssh-rsa`
//! fails only while an RSA host key is loaded, and the evidence says when a weak name is
//! allowed but not offered.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict, evidence,
};
use crate::facts::sshd::LoadedSshd;
use crate::parse::ssh_key::PublicKeyInfo;
use crate::parse::sshd::offered_host_key_algorithms;

use nodecheck_report::Severity;

/// Signature algorithms that fail: SHA-1 RSA and DSA, plain and as certificates.
pub const WEAK: &[&str] = &[
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
];

pub const WEAK_PARAM: ParamSpec = ParamSpec {
    name: "weak",
    default: ParamDefault::Strings(WEAK),
    doc: "Signature algorithm names (with `*` wildcards) that fail the check when offered.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.host-key-algorithms",
        title: "Host keys are not offered with SHA-1 or DSA signatures",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "`ssh-rsa` signs with SHA-1, for which chosen-prefix collisions are practical (SHA-1 is a Shambles, 2020); OpenSSH 8.8 turned it off by default and `+ssh-rsa` turns it back on. `ssh-dss` is DSA: 1024-bit keys and SHA-1. The check judges what sshd offers in its key exchange: the loaded host keys' signature names that HostKeyAlgorithms lets through.",
        remediation: concat!(
            "Remove `ssh-rsa` and `ssh-dss` (and their `-cert-v01@openssh.com` forms) from HostKeyAlgorithms, or drop the line to get the default; RSA keys keep working with rsa-sha2-512 and rsa-sha2-256. nodecheck's recommended line (docs/sshd-crypto-policy.md) is `",
            recommended_host_key_algorithms!(),
            "`. Reload sshd."
        ),
        cis: &[],
        references: &[
            "https://www.openssh.com/txt/release-8.8",
            "https://sha-mbles.github.io/",
            "https://man.openbsd.org/sshd_config#HostKeyAlgorithms",
        ],
        params: &[WEAK_PARAM],
    },
    run,
    fix: Fix::Settings(fix),
};

/// The host keys sshd offers, with their types, and those it offers but whose type nodecheck
/// cannot tell (no readable `.pub`, no conventional name).
fn loaded_keys(sshd: &LoadedSshd) -> (Vec<PublicKeyInfo>, Vec<String>) {
    let views = super::host_key_views(sshd);
    let mut keys = Vec::new();
    let mut untyped = Vec::new();
    for view in views.iter().filter(|v| v.state.offered()) {
        match &view.public {
            Some(info) => keys.push(info.clone()),
            None => untyped.push(view.path.clone()),
        }
    }
    keys.extend(
        super::host_certificate_views(sshd, &views)
            .into_iter()
            .filter_map(|(_, info)| info.ok()),
    );
    (keys, untyped)
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let weak = ctx.params.list(&WEAK_PARAM);
    let is_weak = |name: &str| weak.iter().any(|w| crate::host::fnmatch(w, name));
    let Some(setting) = sshd.global.get("hostkeyalgorithms") else {
        return Verdict::error("HostKeyAlgorithms has no value", Vec::new());
    };
    let (keys, untyped) = loaded_keys(sshd);
    if keys.is_empty() && untyped.is_empty() {
        return Verdict::not_applicable("no host key exists, so sshd offers none");
    }
    let offered = offered_host_key_algorithms(&keys, setting.value(), &sshd.config.version);
    let offered_weak: Vec<&str> = offered
        .iter()
        .map(String::as_str)
        .filter(|n| is_weak(n))
        .collect();
    let allowed_weak: Vec<&str> = setting
        .value()
        .split(',')
        .filter(|n| is_weak(n) && !offered_weak.contains(n))
        .collect();
    // A key of unknown type may be the one a weak name lets through.
    let weak_allowed: Vec<&String> = weak
        .iter()
        .filter(|w| !w.contains('*') && crate::parse::sshd::list_allows(setting.value(), w))
        .collect();
    let expected = format!("none of {}", weak.join(", "));
    let nothing = offered.is_empty() && untyped.is_empty();
    let mut item = evidence(
        "host key algorithms offered",
        Some(if nothing {
            "(nothing)".into()
        } else {
            offered.join(",")
        }),
        expected,
        offered_weak.is_empty() && !nothing,
        super::place_source(setting.origin()),
    );
    let mut notes = Vec::new();
    if !offered_weak.is_empty() {
        notes.push(format!("weak: {}", offered_weak.join(", ")));
    }
    if nothing {
        notes.push(
            "HostKeyAlgorithms lets no loaded key through: every client fails with \"no matching host key type found\"".into(),
        );
    }
    if !allowed_weak.is_empty() {
        notes.push(format!(
            "{} allowed by HostKeyAlgorithms but not offered: no host key of that type is loaded",
            allowed_weak.join(", ")
        ));
    }
    if !untyped.is_empty() {
        notes.push(format!(
            "type unknown (no public key read): {}",
            untyped.join(", ")
        ));
    }
    item.note = (!notes.is_empty()).then(|| notes.join("; "));
    if offered_weak.is_empty() && !untyped.is_empty() && !weak_allowed.is_empty() {
        item.status = nodecheck_report::Status::Error;
    }
    let mut items = vec![item];
    items.push(evidence(
        "HostKeyAlgorithms",
        Some(setting.value().to_string()),
        "the list the offer is filtered by",
        true,
        super::place_source(setting.origin()),
    ));
    let unknown = offered_weak.is_empty() && !nothing;
    Verdict::from_evidence(
        items,
        "no SHA-1 or DSA host key signature is offered",
        |_| {
            if unknown {
                format!(
                    "cannot tell whether sshd offers {}: the type of {} is unknown (no readable .pub beside it)",
                    weak_allowed
                        .iter()
                        .map(|w| w.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    untyped.join(", ")
                )
            } else if nothing {
                format!(
                    "HostKeyAlgorithms ({}) lets no loaded host key through: no client can connect",
                    setting.origin()
                )
            } else {
                format!(
                    "sshd offers {} host key signatures ({}); remove them from HostKeyAlgorithms",
                    offered_weak.join(", "),
                    setting.origin()
                )
            }
        },
    )
}

/// The effective list less its weak names: every loaded key keeps the names it is offered
/// with (an ECDSA-only host keeps ECDSA), and only the weak ones go.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    let Ok(sshd) = super::accepted(ctx) else {
        return Vec::new();
    };
    let weak = ctx.params.list(&WEAK_PARAM);
    let failing = crate::checks::fix::failing(verdict).any(|e| {
        e.subject == "host key algorithms offered" && e.observed.as_deref() != Some("(nothing)")
    });
    let Some(setting) = sshd.global.get("hostkeyalgorithms") else {
        return Vec::new();
    };
    let kept: Vec<&str> = setting
        .value()
        .split(',')
        .filter(|n| !n.is_empty() && !weak.iter().any(|w| crate::host::fnmatch(w, n)))
        .collect();
    if !failing || kept.is_empty() {
        return Vec::new();
    }
    vec![Remedy::Sshd {
        keyword: "HostKeyAlgorithms".into(),
        value: kept.join(","),
        scope: crate::checks::fix::SshdScope::Global,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn sha1_rsa_fails_only_while_an_rsa_key_is_loaded() {
        assert_eq!(judge(&CHECK, &sshd_config("")).status, Status::Pass);
        for text in [
            "HostKeyAlgorithms +ssh-rsa\n",
            "HostKeyAlgorithms ssh-rsa\n",
        ] {
            let verdict = judge(&CHECK, &sshd_config(text));
            assert_eq!(verdict.status, Status::Fail, "{text}");
            assert!(verdict.message.contains("ssh-rsa"), "{}", verdict.message);
        }
        let no_rsa =
            sshd_config("HostKey /etc/ssh/ssh_host_ed25519_key\nHostKeyAlgorithms +ssh-rsa\n");
        let verdict = judge(&CHECK, &no_rsa);
        assert_eq!(verdict.status, Status::Pass);
        assert!(note_contains(&verdict, 0, "not offered"), "{verdict:#?}");
    }

    /// Red-team findings: a key of unknown type may be what `+ssh-rsa` lets through (error,
    /// not pass); a certificate of no loaded key is not offered; an agent-held key is.
    #[test]
    fn unknown_keys_certificates_and_agents() {
        let mut custom = sshd_config("HostKey /etc/ssh/custom_key\nHostKeyAlgorithms +ssh-rsa\n");
        loaded_mut(&mut custom).host_key_types[0] = Err("not found".into());
        let verdict = judge(&CHECK, &custom);
        assert_eq!(verdict.status, Status::Error, "{verdict:#?}");
        assert!(
            verdict.message.contains("cannot tell"),
            "{}",
            verdict.message
        );

        let orphan = with_orphan_certificate(
            "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKeyAlgorithms +ssh-rsa-cert-v01@openssh.com\n",
        );
        assert_eq!(judge(&CHECK, &orphan).status, Status::Pass);

        let mut agent = sshd_config(
            "HostKey /etc/ssh/ssh_host_rsa_key\nHostKeyAgent /run/agent.sock\nHostKeyAlgorithms +ssh-rsa\n",
        );
        loaded_mut(&mut agent).host_keys[0] =
            crate::checks::testing::missing("/etc/ssh/ssh_host_rsa_key");
        assert_eq!(judge(&CHECK, &agent).status, Status::Fail);
    }

    #[test]
    fn dsa_and_an_empty_offer() {
        let dsa = sshd_config("HostKey /etc/ssh/ssh_host_dsa_key\nHostKeyAlgorithms +ssh-dss\n");
        assert_eq!(judge(&CHECK, &dsa).status, Status::Fail);
        let none =
            sshd_config("HostKey /etc/ssh/ssh_host_ed25519_key\nHostKeyAlgorithms rsa-sha2-512\n");
        let verdict = judge(&CHECK, &none);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.message.contains("no client can connect"),
            "{}",
            verdict.message
        );
        assert_sshd_na_and_error(&CHECK);
    }
}

//! `sshd.host-keys`: the host keys sshd loads are strong.
//!
//! Judged on metadata and public halves only: a key's type and size come from the `.pub`
//! beside it (a snapshot keeps only that type and size). A key without a readable `.pub` is
//! judged on what its conventional name says (`ssh_host_dsa_key`), and the evidence says so.

use super::KeyState;
use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict, evidence,
};
use crate::facts::sshd::LoadedSshd;
use crate::parse::ssh_key::{KeyFamily, PublicKeyInfo, named_key};
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const MIN_RSA_BITS: ParamSpec = ParamSpec {
    name: "min_rsa_bits",
    default: ParamDefault::Integer(3072),
    doc: "Smallest RSA host key that passes.",
};

pub const ALLOW_ECDSA: ParamSpec = ParamSpec {
    name: "allow_ecdsa",
    default: ParamDefault::Bool(true),
    doc: "Accept ECDSA (NIST P-256/384/521) host keys. ssh-audit fails them over doubts about the NIST curves; CIS and NIST accept them, so nodecheck does by default.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.host-keys",
        title: "Host keys are strong",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "A node proves itself to every SSH client with its host keys. An RSA key under 3072 bits falls short of 128-bit security (NIST SP 800-57), a DSA key is 1024 bits with SHA-1 signatures (OpenSSH stopped building DSA in 9.8 and removed it in 10.0), and a HostKey line naming a file that is not there leaves sshd logging an error at every start and running without the key the line promised.",
        remediation: "Replace weak keys: `rm /etc/ssh/ssh_host_dsa_key*`, `ssh-keygen -t rsa -b 4096 -f /etc/ssh/ssh_host_rsa_key -N ''` (or keep only Ed25519: `ssh-keygen -t ed25519 -f /etc/ssh/ssh_host_ed25519_key -N ''`), remove HostKey lines for keys that do not exist, reload sshd and update the clients' known_hosts.",
        cis: &[],
        references: &[
            "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final",
            "https://www.openssh.com/txt/release-10.0",
            "https://man.openbsd.org/sshd_config#HostKey",
        ],
        params: &[MIN_RSA_BITS, ALLOW_ECDSA],
    },
    run,
    fix: Fix::Manual,
};

/// How one key is judged: whether it passes, what was expected, and a note.
fn judge_key(
    info: &PublicKeyInfo,
    sshd: &LoadedSshd,
    min_rsa_bits: i64,
    allow_ecdsa: bool,
) -> (Status, String, Option<String>) {
    match info.family() {
        KeyFamily::Rsa => {
            let expected = format!("RSA of at least {min_rsa_bits} bits");
            let pass = i64::from(info.bits) >= min_rsa_bits;
            (status(pass), expected, None)
        }
        KeyFamily::Dsa if !crate::parse::sshd::defaults::supports_dsa(&sshd.config.version) => (
            Status::Pass,
            "no DSA key".into(),
            Some(format!(
                "not loaded: {} has no DSA support; remove the file",
                sshd.config.version
            )),
        ),
        KeyFamily::Dsa => (
            Status::Fail,
            "no DSA key (1024-bit, SHA-1 signatures)".into(),
            None,
        ),
        KeyFamily::Ecdsa => (
            status(allow_ecdsa),
            if allow_ecdsa {
                "any ECDSA curve (allow_ecdsa)".into()
            } else {
                "no ECDSA key (allow_ecdsa is off)".into()
            },
            None,
        ),
        KeyFamily::Ed25519 | KeyFamily::SecurityKey | KeyFamily::MlDsa | KeyFamily::Other => {
            (Status::Pass, "a strong key type".into(), None)
        }
    }
}

fn status(pass: bool) -> Status {
    if pass { Status::Pass } else { Status::Fail }
}

fn item(
    subject: &str,
    observed: Option<String>,
    verdict: (Status, String, Option<String>),
    source: Source,
) -> Evidence {
    let (status, expected, note) = verdict;
    let mut item = evidence(subject, observed, expected, status == Status::Pass, source);
    item.status = status;
    item.note = note;
    item
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let min_rsa_bits = ctx.params.int(&MIN_RSA_BITS);
    let allow_ecdsa = ctx.params.flag(&ALLOW_ECDSA);
    let keys = super::host_key_views(sshd);
    let mut items = Vec::new();
    for key in &keys {
        let public_source = Source::file(format!("{}.pub", key.path), None);
        match &key.state {
            KeyState::Missing if !key.configured => continue,
            KeyState::Missing => {
                items.push(item(
                    &key.path,
                    Some("missing".into()),
                    (
                        Status::Fail,
                        "the key a HostKey line names exists".into(),
                        Some("sshd logs \"Unable to load host key\" and runs without it".into()),
                    ),
                    key.source.clone(),
                ));
                continue;
            }
            KeyState::Unreadable(e) => {
                items.push(item(
                    &key.path,
                    Some(e.clone()),
                    (Status::Error, "a readable host key".into(), None),
                    Source::file(key.path.clone(), None),
                ));
                continue;
            }
            _ => {}
        }
        let mut evidence = match (&key.public, &key.by_name) {
            (Some(info), None) => item(
                &key.path,
                Some(info.to_string()),
                judge_key(info, sshd, min_rsa_bits, allow_ecdsa),
                public_source,
            ),
            (_, Some(why)) => judge_by_name(&key.path, why, sshd, min_rsa_bits, allow_ecdsa),
            (None, None) => continue,
        };
        let extra = match &key.state {
            KeyState::ViaAgent => {
                Some("no private key file: sshd signs with it through HostKeyAgent".to_string())
            }
            KeyState::TooSmall(required) => Some(format!(
                "below RequiredRSASize {required}: sshd refuses to load it"
            )),
            _ => None,
        };
        if let Some(extra) = extra {
            evidence.note = Some(match evidence.note.take() {
                Some(note) => format!("{note}; {extra}"),
                None => extra,
            });
        }
        items.push(evidence);
    }
    for (path, usable) in super::host_certificate_views(sshd, &keys) {
        match usable {
            Ok(info) => items.push(item(
                &path,
                Some(info.to_string()),
                judge_key(&info, sshd, min_rsa_bits, allow_ecdsa),
                Source::file(path.clone(), None),
            )),
            Err(why) => items.push(item(
                &path,
                Some(why),
                (
                    Status::Fail,
                    "a certificate of a loaded host key, as HostCertificate promises".into(),
                    Some("sshd logs an error and runs without it".into()),
                ),
                Source::file(path.clone(), None),
            )),
        }
    }
    if items.is_empty() {
        return Verdict::not_applicable(
            "no host key exists yet (sshd refuses to start until `ssh-keygen -A` makes them)",
        );
    }
    Verdict::from_evidence(items, "every host key is strong", |failing| {
        let parts: Vec<String> = failing
            .iter()
            .take(3)
            .map(|e| {
                format!(
                    "{} is {} (expected {})",
                    e.subject,
                    e.observed.as_deref().unwrap_or("unknown"),
                    e.expected
                )
            })
            .collect();
        let more = match failing.len() {
            n if n > 3 => format!(" and {} more", n - 3),
            _ => String::new(),
        };
        format!("{}{more}", parts.join("; "))
    })
}

/// A key whose public half cannot be read: its conventional name may still say its type.
fn judge_by_name(
    path: &str,
    why: &str,
    sshd: &LoadedSshd,
    min_rsa_bits: i64,
    allow_ecdsa: bool,
) -> Evidence {
    let note = format!("type from the file name; no public key read ({why})");
    let source = Source::file(path.to_string(), None);
    let named = |info: PublicKeyInfo| {
        let (status, expected, extra) = judge_key(&info, sshd, min_rsa_bits, allow_ecdsa);
        let note = extra.map_or(note.clone(), |e| format!("{note}; {e}"));
        item(
            path,
            Some(format!("{} key", info.family())),
            (status, expected, Some(note)),
            source.clone(),
        )
    };
    let family = KeyFamily::from_file_name(path);
    match named_key(path) {
        Some(info) => named(info),
        // Every curve is judged alike: the family is enough.
        None if family == Some(KeyFamily::Ecdsa) => named(PublicKeyInfo {
            algorithm: "ecdsa-sha2-nistp256".into(),
            bits: 256,
            certificate: false,
        }),
        // An RSA key's size is in the private key itself, which nodecheck never reads.
        None => item(
            path,
            Some(family.map_or("key of unknown type".into(), |f| format!("{f} key"))),
            (
                Status::Error,
                format!("RSA of at least {min_rsa_bits} bits, told by its .pub"),
                Some(format!(
                    "size unknown: no public key read ({why}); run `ssh-keygen -y -f {path} > {path}.pub`"
                )),
            ),
            source,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::Role;

    fn with_rsa(bits: u32) -> crate::facts::Facts {
        let mut facts = sshd_config("");
        loaded_mut(&mut facts).host_key_types[0] = Ok(PublicKeyInfo {
            algorithm: "ssh-rsa".into(),
            bits,
            certificate: false,
        });
        facts
    }

    #[test]
    fn rsa_size_dsa_and_ecdsa_policy() {
        assert_eq!(judge(&CHECK, &sshd_config("")).status, Status::Pass);
        let weak = judge(&CHECK, &with_rsa(1024));
        assert_eq!(weak.status, Status::Fail);
        assert!(
            weak.message.contains("ssh-rsa 1024 bits"),
            "{}",
            weak.message
        );
        assert_eq!(judge(&CHECK, &with_rsa(4096)).status, Status::Pass);

        let dsa = sshd_config("HostKey /etc/ssh/ssh_host_dsa_key\n");
        assert_eq!(judge(&CHECK, &dsa).status, Status::Fail);

        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("allow_ecdsa".into(), ParamValue::Bool(false));
        let verdict = judge_with(&CHECK, &sshd_config(""), &[Role::Host], &params);
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("ecdsa"), "{}", verdict.message);
    }

    /// Red-team findings: a stock 10.4+ host's ML-DSA key is a strong type; a certificate
    /// sshd drops is said to be dropped; a key served by HostKeyAgent is not missing; an RSA
    /// key under RequiredRSASize is not loaded.
    #[test]
    fn what_sshd_loads_is_judged() {
        let stock = sshd_facts_version(&[("/etc/ssh/sshd_config", "")], "OpenSSH_10.5p1");
        assert!(
            loaded_mut(&mut stock.clone())
                .host_keys
                .iter()
                .any(|k| k.path.ends_with("mldsa44_ed25519_key"))
        );
        assert_eq!(judge(&CHECK, &stock).status, Status::Pass);

        let orphan = with_orphan_certificate("HostKey /etc/ssh/ssh_host_ed25519_key\n");
        let verdict = judge(&CHECK, &orphan);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.message.contains("no loaded host key matches"),
            "{}",
            verdict.message
        );

        let mut agent =
            sshd_config("HostKey /etc/ssh/ssh_host_rsa_key\nHostKeyAgent /run/agent.sock\n");
        loaded_mut(&mut agent).host_keys[0] = missing("/etc/ssh/ssh_host_rsa_key");
        let verdict = judge(&CHECK, &agent);
        assert_eq!(verdict.status, Status::Pass, "{verdict:#?}");
        assert!(note_contains(&verdict, 0, "HostKeyAgent"));

        let small = with_rsa(768);
        let verdict = judge(&CHECK, &small);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            note_contains(&verdict, 0, "RequiredRSASize"),
            "{verdict:#?}"
        );
    }

    #[test]
    fn missing_keys_and_missing_public_halves() {
        // A default key that is not there is skipped by sshd quietly; a configured one is not.
        let mut facts = sshd_config("");
        loaded_mut(&mut facts).host_keys[1] = missing("/etc/ssh/ssh_host_ecdsa_key");
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        let mut facts = sshd_config(
            "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_gone_key\n",
        );
        loaded_mut(&mut facts).host_keys[1] = missing("/etc/ssh/ssh_host_gone_key");
        let verdict = judge(&CHECK, &facts);
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("missing"), "{}", verdict.message);
        assert_eq!(
            verdict.evidence[1].source,
            Source::file("/etc/ssh/sshd_config", Some(2))
        );

        // Without a .pub, an RSA key's size cannot be told: error, and the way to fix it.
        let mut facts = sshd_config("");
        loaded_mut(&mut facts).host_key_types[0] = Err("not found".into());
        let verdict = judge(&CHECK, &facts);
        assert_eq!(verdict.status, Status::Error);
        assert!(note_contains(&verdict, 0, "ssh-keygen -y"), "{verdict:#?}");
        // ... while a DSA key is weak by its name alone.
        let mut facts = sshd_config("HostKey /etc/ssh/ssh_host_dsa_key\n");
        loaded_mut(&mut facts).host_key_types[0] = Err("not found".into());
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);

        let mut facts = sshd_config("");
        let sshd = loaded_mut(&mut facts);
        sshd.host_keys = sshd.host_keys.iter().map(|k| missing(&k.path)).collect();
        assert_eq!(judge(&CHECK, &facts).status, Status::NotApplicable);
        assert_sshd_na_and_error(&CHECK);
    }
}

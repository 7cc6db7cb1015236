//! The sshd area: 28 checks on the effective sshd configuration, its host keys, its files and
//! its listeners.
//!
//! A check on an option fails when the global value fails, or when any `Match` block sets a
//! failing value; each is an evidence item naming its file, line and block. A configuration
//! sshd would refuse makes these checks `error`: what runs (or will run after the next
//! restart) is not what the file says.

// nodecheck's recommended crypto lines (docs/sshd-crypto-policy.md). Every name is known to
// OpenSSH 9.2 and later; together they pass every sshd check in every built-in profile and leave
// nothing ssh-audit 3.9 fails (tests/sshd_kexinit.rs). Macros, so that each check's
// remediation can quote its line in a constant.
macro_rules! recommended_kex {
    () => {
        "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256"
    };
}
macro_rules! recommended_ciphers {
    () => {
        "Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"
    };
}
macro_rules! recommended_macs {
    () => {
        "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com"
    };
}
macro_rules! recommended_host_key_algorithms {
    () => {
        "HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256"
    };
}

/// The four lines of nodecheck's recommended sshd crypto configuration, one per line.
pub const RECOMMENDED_CRYPTO: &str = concat!(
    recommended_kex!(),
    "\n",
    recommended_ciphers!(),
    "\n",
    recommended_macs!(),
    "\n",
    recommended_host_key_algorithms!(),
    "\n"
);

pub mod access_restriction;
pub mod banner;
pub mod ciphers;
pub mod client_alive;
pub mod config_permissions;
pub mod exposure;
pub mod forwarding;
pub mod gssapi;
pub mod host_key_algorithms;
pub mod host_key_permissions;
pub mod host_keys;
pub mod hostbased_auth;
pub mod ignore_rhosts;
pub mod kex;
pub mod log_level;
pub mod login_grace_time;
pub mod macs;
pub mod max_auth_tries;
pub mod max_sessions;
pub mod max_startups;
pub mod password_authentication;
pub mod permit_empty_passwords;
pub mod permit_root_login;
pub mod permit_user_environment;
pub mod public_key_permissions;
pub mod tunnels;
pub mod use_pam;
pub mod x11_forwarding;

use super::{Ctx, Verdict, evidence};
pub use super::{judge_files, strict_file_rule};
use crate::facts::SshdFacts;
use crate::facts::sshd::LoadedSshd;
use crate::parse::sshd::{Place, Setting};
use nodecheck_report::{Evidence, Source, Status};

pub const AREA: &str = "sshd";

/// The loaded configuration, or the verdict when there is none to judge.
pub fn loaded<'a>(ctx: &Ctx<'a>) -> Result<&'a LoadedSshd, Verdict> {
    match &ctx.facts.sshd {
        SshdFacts::NotInstalled { tried } => Err(Verdict::not_applicable(format!(
            "sshd is not installed (no configuration or binary at {})",
            tried.join(", ")
        ))),
        SshdFacts::Unreadable { path, error } => Err(Verdict::error(
            format!("cannot read the sshd configuration: {error}"),
            vec![Evidence {
                subject: path.clone(),
                observed: None,
                expected: "a readable sshd configuration".into(),
                status: Status::Error,
                source: Source::file(path.clone(), None),
                note: None,
            }],
        )),
        SshdFacts::Loaded(l) if ctx.newest_sshd => Ok(l.newest.as_deref().unwrap_or(l)),
        SshdFacts::Loaded(l) => Ok(l),
    }
}

/// Reconciles the two judgements of an sshd of unknown version: `oldest` with the defaults of
/// the oldest OpenSSH nodecheck knows, `newest` with the newest. The same status keeps the
/// oldest's verdict; different ones make the check `error`, since only the version decides.
/// Either way the evidence says the version is unknown.
pub fn across_versions(oldest: Verdict, newest: Verdict, sshd: &LoadedSshd) -> Verdict {
    let (old_version, new_version) = (
        sshd.config.version.to_string(),
        sshd.newest
            .as_ref()
            .map_or_else(String::new, |n| n.config.version.to_string()),
    );
    let agree = oldest.status == newest.status;
    let item = Evidence {
        subject: "OpenSSH version".into(),
        observed: Some(format!("unknown ({})", sshd.version_source)),
        expected: "a version found in the sshd binary or the package database".into(),
        status: if agree {
            Status::NotApplicable
        } else {
            Status::Error
        },
        source: Source::default_value("nodecheck's table of OpenSSH defaults"),
        note: Some(if agree {
            format!(
                "judged with the defaults of {old_version}, the oldest known; those of {new_version} give the same verdict"
            )
        } else {
            format!(
                "{old_version}'s defaults give {}, {new_version}'s give {}",
                oldest.status.as_str(),
                newest.status.as_str()
            )
        }),
    };
    if agree {
        let mut verdict = oldest;
        verdict.evidence.push(item);
        return verdict;
    }
    let mut evidence = oldest.evidence;
    evidence.push(item);
    Verdict::error(
        format!(
            "the verdict depends on the OpenSSH version, which is unknown: with {old_version}'s defaults {} ({}); with {new_version}'s {} ({})",
            oldest.status.as_str(),
            oldest.message,
            newest.status.as_str(),
            newest.message
        ),
        evidence,
    )
}

/// The loaded configuration when sshd would accept it; otherwise the `error` verdict naming
/// the first problem.
pub fn accepted<'a>(ctx: &Ctx<'a>) -> Result<&'a LoadedSshd, Verdict> {
    let sshd = loaded(ctx)?;
    if let Some(first) = sshd.config.fatal.first() {
        let more = match sshd.config.fatal.len() + sshd.config.fatal_unlisted {
            1 => String::new(),
            n => format!(" (and {} more problems)", n - 1),
        };
        let evidence = sshd
            .config
            .fatal
            .iter()
            .map(|p| Evidence {
                subject: "sshd configuration".into(),
                observed: Some(p.message.clone()),
                expected: "a configuration sshd accepts".into(),
                status: Status::Error,
                source: place_source(&p.place),
                note: None,
            })
            .chain((sshd.config.fatal_unlisted > 0).then(|| Evidence {
                subject: "sshd configuration".into(),
                observed: Some(format!(
                    "{} more problems, not listed",
                    sshd.config.fatal_unlisted
                )),
                expected: "a configuration sshd accepts".into(),
                status: Status::Error,
                source: Source::file(sshd.config.main_file.clone(), None),
                note: None,
            }))
            .collect();
        return Err(Verdict::error(
            format!("sshd would refuse its configuration: {first}{more}"),
            evidence,
        ));
    }
    Ok(sshd)
}

/// Runs `judge` on the loaded configuration, or returns the verdict that there is none.
pub fn with_loaded(ctx: &Ctx<'_>, judge: impl FnOnce(&LoadedSshd) -> Verdict) -> Verdict {
    loaded(ctx).map_or_else(|verdict| verdict, judge)
}

/// Runs `judge` on a configuration sshd would accept, or returns the verdict why not.
pub fn with_accepted(ctx: &Ctx<'_>, judge: impl FnOnce(&LoadedSshd) -> Verdict) -> Verdict {
    accepted(ctx).map_or_else(|verdict| verdict, judge)
}

/// Where a value came from, for the report.
pub fn place_source(place: &Place) -> Source {
    match place {
        Place::File { path, line } => Source::file(path.clone(), Some(*line)),
        Place::CommandLine { option, pid } => Source::Flag {
            flag: option.clone(),
            pid: pid.unwrap_or(0),
        },
        Place::Default { .. } => Source::default_value(place.to_string()),
    }
}

/// The scope of a setting: `global` or the Match block's label.
fn scope(sshd: &LoadedSshd, setting: &Setting) -> Option<String> {
    setting
        .block
        .and_then(|b| sshd.config.blocks.get(b))
        .map(|b| b.label())
}

/// Evidence for the global value and the value of every Match block that sets `option`.
pub fn option_evidence(
    sshd: &LoadedSshd,
    option: &str,
    display: &str,
    expected: &str,
    pass: &dyn Fn(&Setting) -> bool,
) -> Vec<Evidence> {
    let mut items = Vec::new();
    let as_item = |setting: &Setting| {
        let mut item = evidence(
            display,
            Some(setting.values.join(" ")),
            expected,
            pass(setting),
            place_source(setting.origin()),
        );
        item.note = scope(sshd, setting);
        item
    };
    match sshd.global.get(option) {
        Some(setting) => items.push(as_item(setting)),
        None => {
            let empty = Setting {
                values: Vec::new(),
                origins: vec![Place::Default {
                    version: sshd.config.version.to_string(),
                    known: sshd.config.version_known,
                }],
                block: None,
            };
            let mut item = as_item(&empty);
            item.observed = None;
            item.source = Source::None;
            item.note = Some("not set".into());
            items.push(item);
        }
    }
    for (_, setting) in sshd.config.block_settings(option) {
        items.push(as_item(&setting));
    }
    items
}

/// The options of one view: the global values, or a Match block's own settings over them.
pub type View = std::collections::BTreeMap<&'static str, Setting>;

/// The global view of `options`, one view per Match block that sets any of them (each block's
/// own settings over the global values), and one per pair of such blocks that a connection could
/// match together: sshd applies every matching block, the first value of each option winning,
/// so two blocks can combine settings (one turns remote forwarding on, another GatewayPorts)
/// that neither holds alone. Pairs whose blocks name disjoint literal users cannot combine and
/// are skipped; combinations of three or more blocks are not formed.
pub fn views(sshd: &LoadedSshd, options: &[&'static str]) -> Vec<(Option<String>, View)> {
    /// Blocks beyond this many are judged alone, not in pairs.
    const MAX_PAIRED: usize = 32;
    let global: View = options
        .iter()
        .filter_map(|o| sshd.global.get(o).map(|s| (*o, s.clone())))
        .collect();
    let mut own: std::collections::BTreeMap<usize, View> = Default::default();
    for option in options {
        for (block, setting) in sshd.config.block_settings(option) {
            own.entry(block).or_default().insert(option, setting);
        }
    }
    let label = |b: usize| {
        sshd.config
            .blocks
            .get(b)
            .map(|m| m.label())
            .unwrap_or_default()
    };
    let mut out = vec![(None, global.clone())];
    for (block, settings) in &own {
        let mut view = global.clone();
        view.extend(settings.iter().map(|(k, v)| (*k, v.clone())));
        out.push((Some(label(*block)), view));
    }
    let paired: Vec<usize> = own.keys().copied().take(MAX_PAIRED).collect();
    for (i, first) in paired.iter().enumerate() {
        for second in &paired[i + 1..] {
            if exclusive_users(sshd, *first, *second) {
                continue;
            }
            let mut view = global.clone();
            // The earlier block's value wins where both set an option.
            view.extend(own[second].iter().map(|(k, v)| (*k, v.clone())));
            view.extend(own[first].iter().map(|(k, v)| (*k, v.clone())));
            out.push((
                Some(format!("{} with {}", label(*first), label(*second))),
                view,
            ));
        }
    }
    out
}

/// Whether two blocks each match only users named literally, and no user in both.
fn exclusive_users(sshd: &LoadedSshd, a: usize, b: usize) -> bool {
    use crate::parse::sshd::Condition;
    let users = |block: usize| -> Option<Vec<String>> {
        let conditions = &sshd.config.blocks.get(block)?.conditions;
        let mut names = None;
        for condition in conditions {
            if let Condition::User(list) = condition {
                let literal: Vec<String> = list.split(',').map(str::to_string).collect();
                if literal
                    .iter()
                    .any(|u| u.is_empty() || u.contains(['*', '?', '!']))
                {
                    return None;
                }
                names = Some(literal);
            }
        }
        names
    };
    match (users(a), users(b)) {
        (Some(x), Some(y)) => !x.iter().any(|u| y.contains(u)),
        _ => false,
    }
}

/// Which forwarding options `DisableForwarding yes` really overrides in this version: TCP and
/// Unix-socket forwarding always; X11 and agent forwarding only from 10.0 (`fc86875e6`: it was
/// documented but not done); tunnel devices only from 10.4 (`8dfe7ed6e`).
pub fn disable_forwarding_covers(
    option: &str,
    version: &crate::parse::sshd::OpenSshVersion,
) -> bool {
    match option {
        "allowtcpforwarding" | "allowstreamlocalforwarding" | "gatewayports" => true,
        "x11forwarding" | "allowagentforwarding" => version.at_least(10, 0),
        "permittunnel" => version.at_least(10, 4),
        _ => false,
    }
}

/// A message naming the failing items: `PermitRootLogin is yes (/etc/ssh/sshd_config:3)`.
pub fn failing_message(failing: &[&Evidence], expected: &str) -> String {
    let parts: Vec<String> = failing
        .iter()
        .take(3)
        .map(|e| {
            let value = e.observed.as_deref().unwrap_or("unset");
            let scope = e
                .note
                .as_deref()
                .map(|n| format!(" in {n}"))
                .unwrap_or_default();
            format!("{} is {value} ({}){scope}", e.subject, e.source)
        })
        .collect();
    let more = if failing.len() > 3 {
        format!(" and {} more", failing.len() - 3)
    } else {
        String::new()
    };
    format!("{}{more}; expected {expected}", parts.join("; "))
}

/// The whole judgement of one option: not installed, refused, or each value judged.
pub fn judge_option(
    ctx: &Ctx<'_>,
    option: &str,
    display: &str,
    expected: &str,
    pass: &dyn Fn(&Setting) -> bool,
) -> Verdict {
    let sshd = match accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let items = option_evidence(sshd, option, display, expected, pass);
    let global_value = items
        .first()
        .and_then(|e| e.observed.clone())
        .unwrap_or_else(|| "unset".into());
    Verdict::from_evidence(items, format!("{display} is {global_value}"), |failing| {
        failing_message(failing, expected)
    })
}

/// Judges options whose value must be one of `allowed`.
pub fn judge_values(ctx: &Ctx<'_>, option: &str, display: &str, allowed: &[&str]) -> Verdict {
    let expected = allowed.join(" or ");
    judge_option(ctx, option, display, &expected, &|s| {
        allowed.contains(&s.value())
    })
}

/// What sshd makes of one configured (or default) host key at startup (`sshd.c`: the key
/// files in `HostKey` order).
#[derive(Debug, Clone)]
pub struct HostKeyView {
    pub path: String,
    /// Named by a `HostKey` line (sshd logs a missing one as an error), not a compiled default.
    pub configured: bool,
    /// Where the `HostKey` line is, or the compiled default.
    pub source: Source,
    /// The key's type: from its `.pub`, or from its conventional name (then `by_name` says
    /// why the `.pub` was not read).
    pub public: Option<crate::parse::ssh_key::PublicKeyInfo>,
    pub by_name: Option<String>,
    pub state: KeyState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// sshd loads it from the file.
    Loaded,
    /// No private key file, but a `.pub` and a `HostKeyAgent`: sshd signs through the agent.
    ViaAgent,
    /// Not there, and no agent to stand in.
    Missing,
    /// There but not readable to nodecheck.
    Unreadable(String),
    /// An RSA key under `RequiredRSASize`: sshd refuses to load it.
    TooSmall(u32),
}

impl KeyState {
    /// Whether sshd offers this key in its key exchange.
    pub fn offered(&self) -> bool {
        matches!(
            self,
            KeyState::Loaded | KeyState::ViaAgent | KeyState::Unreadable(_)
        )
    }
}

/// The host keys as sshd loads them.
pub fn host_key_views(sshd: &LoadedSshd) -> Vec<HostKeyView> {
    use crate::parse::ssh_key::{KeyFamily, named_key};
    let setting = sshd.global.get("hostkey");
    let origins = setting.map(|s| s.origins.clone()).unwrap_or_default();
    let agent = sshd
        .global
        .get("hostkeyagent")
        .map(Setting::value)
        .filter(|v| !v.eq_ignore_ascii_case("none"));
    let required_rsa = sshd
        .global
        .get("requiredrsasize")
        .and_then(|s| s.value().parse::<u32>().ok())
        .unwrap_or(1024);
    sshd.host_keys
        .iter()
        .enumerate()
        .map(|(index, private)| {
            let origin = origins.get(index);
            let configured = !matches!(origin, Some(Place::Default { .. }) | None);
            let (public, by_name) = match sshd.host_key_types.get(index) {
                Some(Ok(info)) => (Some(info.clone()), None),
                Some(Err(why)) => (named_key(&private.path), Some(why.clone())),
                None => (None, Some("not read".into())),
            };
            let state = match &private.meta {
                Err(crate::host::FileError::NotFound(_)) => {
                    if agent.is_some() && by_name.is_none() {
                        KeyState::ViaAgent
                    } else {
                        KeyState::Missing
                    }
                }
                Err(e) => KeyState::Unreadable(e.to_string()),
                Ok(_) => match &public {
                    Some(info) if info.family() == KeyFamily::Rsa && info.bits < required_rsa => {
                        KeyState::TooSmall(required_rsa)
                    }
                    _ => KeyState::Loaded,
                },
            };
            HostKeyView {
                path: private.path.clone(),
                configured,
                source: origin.map_or(Source::None, place_source),
                public,
                by_name,
                state,
            }
        })
        .collect()
}

/// The `HostCertificate` files sshd uses: a certificate whose key is among the offered host
/// keys (`sshd.c`: "No matching private key for certificate" otherwise); each with its type,
/// or why sshd drops it.
pub fn host_certificate_views(
    sshd: &LoadedSshd,
    keys: &[HostKeyView],
) -> Vec<(String, Result<crate::parse::ssh_key::PublicKeyInfo, String>)> {
    sshd.host_certificates
        .iter()
        .map(|(path, info)| {
            let usable = match info {
                Err(why) => Err(why.clone()),
                Ok(info) if !info.certificate => {
                    Err("not a certificate: sshd logs and ignores it".into())
                }
                Ok(info) => {
                    let matched = keys.iter().any(|k| {
                        k.state.offered()
                            && k.public.as_ref().is_some_and(|p| {
                                p.algorithm == info.algorithm && p.bits == info.bits
                            })
                    });
                    if matched {
                        Ok(info.clone())
                    } else {
                        Err(format!(
                            "certifies a {info} key that no loaded host key matches: sshd ignores it"
                        ))
                    }
                }
            };
            (path.clone(), usable)
        })
        .collect()
}

/// The evidence note of an algorithm list that resolved to nothing.
const NOTHING_OFFERED: &str = "nothing left to negotiate";

/// Judges a resolved algorithm list against weak-name patterns (`arcfour*`); a list that
/// resolved to nothing fails too.
pub fn judge_algorithms(ctx: &Ctx<'_>, option: &str, display: &str, weak: &[String]) -> Verdict {
    let expected = format!("none of {}", weak.join(", "));
    let is_weak = |name: &str| weak.iter().any(|w| crate::host::fnmatch(w, name));
    let sshd = match accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let mut items = option_evidence(sshd, option, display, &expected, &|s| {
        !s.value().is_empty() && !s.value().split(',').any(is_weak)
    });
    for item in &mut items {
        if item.status == Status::Fail && item.observed.as_deref().is_some_and(str::is_empty) {
            // `-*` (or a `-` list covering every default) leaves sshd running and offering
            // nothing: every client fails with "no matching … found".
            item.observed = Some("(nothing)".into());
            item.note = Some(NOTHING_OFFERED.into());
        } else if item.status == Status::Fail {
            let found: Vec<&str> = item
                .observed
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|n| is_weak(n))
                .collect();
            item.note = Some(format!("weak: {}", found.join(", ")));
        }
    }
    Verdict::from_evidence(
        items,
        format!("{display} has no weak algorithm"),
        |failing| {
            let notes: Vec<String> = failing
                .iter()
                .map(|e| match e.note.as_deref().unwrap_or_default() {
                    NOTHING_OFFERED => format!(
                        "{} leaves nothing to offer ({}): every client fails with \"no matching {} found\"",
                        e.subject, e.source, e.subject
                    ),
                    note => format!(
                        "{} allows {} ({})",
                        e.subject,
                        note.trim_start_matches("weak: "),
                        e.source
                    ),
                })
                .collect();
            if failing
                .iter()
                .all(|e| e.note.as_deref() == Some(NOTHING_OFFERED))
            {
                format!("{}; name the algorithms to offer", notes.join("; "))
            } else {
                format!("{}; remove them", notes.join("; "))
            }
        },
    )
}

/// The remedy of an algorithm list that offers something weak: `recommended` (a line of
/// [`RECOMMENDED_CRYPTO`]) less the names the profile calls weak and those this version does not
/// know; when nothing of it is left, the effective list less its weak names.
pub fn fix_algorithms(
    ctx: &Ctx<'_>,
    verdict: &Verdict,
    keyword: &str,
    recommended: &str,
    weak: &[String],
) -> Vec<crate::checks::Remedy> {
    let Ok(sshd) = accepted(ctx) else {
        return Vec::new();
    };
    let option = keyword.to_ascii_lowercase();
    let is_weak = |name: &str| weak.iter().any(|w| crate::host::fnmatch(w, name));
    let supported = crate::parse::sshd::defaults::AlgorithmClass::for_option(&option)
        .map(|class| class.supported(&sshd.config.version))
        .unwrap_or_default();
    let line = recommended
        .strip_prefix(keyword)
        .unwrap_or(recommended)
        .trim();
    let mut names: Vec<&str> = line
        .split(',')
        .filter(|n| !is_weak(n) && supported.contains(n))
        .collect();
    if names.is_empty() {
        names = sshd
            .global
            .value(&option)
            .split(',')
            .filter(|n| !n.is_empty() && !is_weak(n))
            .collect();
    }
    if names.is_empty() {
        return Vec::new();
    }
    crate::checks::fix::sshd_values(verdict, &[(keyword, &names.join(","))])
}

/// Judges an integer option against `ok`.
pub fn judge_integer(
    ctx: &Ctx<'_>,
    option: &str,
    display: &str,
    expected: &str,
    ok: &dyn Fn(i64) -> bool,
) -> Verdict {
    judge_option(ctx, option, display, expected, &|s| {
        s.value().parse::<i64>().is_ok_and(ok)
    })
}

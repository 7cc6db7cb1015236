//! What a `nodecheck.report/v1` report may hold: the length and character set of every field,
//! and how many findings, evidence items and inventory entries one report carries.
//!
//! The collector takes reports from every node of a fleet, and a node an attacker owns can
//! send anything its token allows. These limits are what an honest agent never comes near
//! (the scanner's own caps are below them) and what keeps one report from filling the
//! collector's tables, pages or metrics. They are published in the JSON Schema (the
//! `schemars` attributes on the types name these constants) and enforced by [`validate`],
//! whose refusal names the field and the limit.
//!
//! Names follow Kubernetes' own rules: node and cluster names are DNS-1123 subdomains (as
//! node names are), label keys and values are Kubernetes label keys and values. Being ASCII,
//! they cannot hold the bidi controls, zero-width characters or byte-order marks that make two
//! different names look alike. Short texts shown as they are (titles, the OS and kernel, the
//! profile name) refuse those characters and control characters too; long free texts
//! (messages, evidence) are bounded in length and may hold anything but NUL, since they quote
//! what was found on the node.

use crate::{Evidence, Finding, Report, Source};
use std::fmt;

/// `id`: letters, digits, `-` and `_`.
pub const ID_MAX: usize = 64;
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// `node.name`, `node.cluster`: a DNS-1123 subdomain, as Kubernetes names nodes.
pub const NAME_MAX: usize = 253;
pub const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Labels a node may carry.
pub const LABELS_MAX: usize = 128;
/// A label key: an optional DNS-1123 subdomain prefix and `/`, then a name of up to 63.
pub const LABEL_KEY_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$";
/// A label's name part and a label value.
pub const LABEL_NAME_MAX: usize = 63;
pub const LABEL_VALUE_PATTERN: &str = r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$";
/// `node.roles`.
pub const ROLES_MAX: usize = 8;
/// Short texts shown as they are: titles, OS and kernel, profile name.
pub const SHORT_TEXT_MAX: usize = 512;
/// Long free texts: messages, remediations, rationales, evidence values, waiver reasons.
pub const TEXT_MAX: usize = 8192;
/// `agent.version`.
pub const VERSION_MAX: usize = 64;
pub const VERSION_PATTERN: &str = r"^[0-9A-Za-z.+_~-]{1,64}$";
/// `agent.interval_s`: one second to one week.
pub const INTERVAL_S_MIN: u64 = 1;
pub const INTERVAL_S_MAX: u64 = 7 * 24 * 3600;
/// `profile.sha256`.
pub const SHA256_PATTERN: &str = "^[0-9a-f]{64}$";
/// `started_at`.
pub const TIMESTAMP_MAX: usize = 64;
/// Findings in one report (one per check).
pub const FINDINGS_MAX: usize = 2048;
/// A check id and an area: lowercase letters, digits, `.`, `-`, `_`.
pub const CHECK_ID_MAX: usize = 128;
pub const CHECK_ID_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,127}$";
/// Evidence items of one finding (the scanner keeps 200 and counts the rest in one more).
pub const EVIDENCE_MAX: usize = 256;
/// References of one finding, and the length of each.
pub const REFERENCES_MAX: usize = 32;
/// CIS control ids of one finding, the length of each, and their form (`1.2.5`).
pub const CIS_IDS_MAX: usize = 32;
pub const CIS_ID_MAX: usize = 16;
pub const CIS_ID_PATTERN: &str = "^[0-9]{1,3}(\\.[0-9]{1,3}){0,3}$";
/// Paths, addresses, flag names and descriptions in evidence sources and the inventory.
pub const PATH_MAX: usize = 4096;
/// Listeners in the inventory (the scanner lists 4,096 at most).
pub const LISTENERS_MAX: usize = 4096;
/// Processes named per listener (the scanner names 16 at most).
pub const LISTENER_PROCESSES_MAX: usize = 16;
/// Container processes in the inventory.
pub const CONTAINERS_MAX: usize = 16_384;
/// Capabilities and host namespaces of one container.
pub const CAPABILITIES_MAX: usize = 64;
/// A container's image reference: a registry host, path, tag and digest, in ASCII.
pub const IMAGE_MAX: usize = 512;
pub const IMAGE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,511}$";
/// Judged settings one report carries, the length of a key (`area:subject`) and of a value.
pub const SETTINGS_MAX: usize = 4096;
pub const SETTING_KEY_MAX: usize = 256;
pub const SETTING_VALUE_MAX: usize = 1024;

/// Why a report was refused: the field, as a path into the report, and the limit it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub limit: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.limit)
    }
}

impl std::error::Error for Invalid {}

/// A value from the report, quoted for a refusal: escaped, and cut at 40 characters so that a
/// refusal never repeats a megabyte back.
fn quote(value: &str) -> String {
    let shown: String = value.chars().take(40).collect();
    let more = if value.chars().count() > 40 {
        "…"
    } else {
        ""
    };
    format!("{:?}{more}", shown)
}

fn invalid(field: impl Into<String>, limit: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        limit: limit.into(),
    }
}

/// Characters that change how text around them reads without showing themselves: bidi
/// controls, zero-width characters, the byte-order mark and other format characters, and the
/// Unicode line and paragraph separators (a line break that is no control character).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// A DNS-1123 label: lowercase letters, digits and `-`, beginning and ending alphanumeric.
fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// A DNS-1123 subdomain of at most 253 characters (Kubernetes node names).
pub fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= NAME_MAX && name.split('.').all(is_dns_label)
}

/// A Kubernetes label name (the part after the prefix) or, when not empty, a label value.
fn is_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= LABEL_NAME_MAX
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// A Kubernetes label key: `[prefix/]name`.
pub fn is_label_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(key),
    }
}

/// A Kubernetes label value: empty, or like a label name.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_label_name(value)
}

/// A node or cluster name as Kubernetes would take it, or why not.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(format!("must be 1 to {NAME_MAX} characters"));
    }
    if !is_dns_subdomain(name) {
        return Err(
            "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', each part beginning and ending with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

fn check_id(field: impl FnOnce() -> String, id: &str) -> Result<(), Invalid> {
    let ok = !id.is_empty()
        && id.len() <= ID_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(()).ok_or_else(|| {
        invalid(
            field(),
            format!("must be 1 to {ID_MAX} letters, digits, '-' or '_'"),
        )
    })
}

/// A CIS control id: one to four dot-separated numbers of up to three digits.
fn check_cis_id(field: impl FnOnce() -> String, id: &str) -> Result<(), Invalid> {
    let parts: Vec<&str> = id.split('.').collect();
    let ok = id.len() <= CIS_ID_MAX
        && parts.len() <= 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then_some(()).ok_or_else(|| {
        invalid(
            field(),
            "must be a CIS control id: one to four dot-separated numbers (`1.2.5`)",
        )
    })
}

fn check_check_id(field: impl FnOnce() -> String, id: &str) -> Result<(), Invalid> {
    let bytes = id.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= CHECK_ID_MAX
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        });
    ok.then_some(()).ok_or_else(|| {
        invalid(field(),
            format!(
                "must be 1 to {CHECK_ID_MAX} lowercase letters, digits, '.', '-' or '_', beginning with a letter or digit"
            ),
        )
    })
}

/// A short text shown as it is: bounded, no control, invisible or direction-changing
/// character.
fn check_short(field: impl FnOnce() -> String, text: &str) -> Result<(), Invalid> {
    if text.chars().count() > SHORT_TEXT_MAX {
        return Err(invalid(
            field(),
            format!("is longer than {SHORT_TEXT_MAX} characters"),
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control() || is_invisible(*c)) {
        return Err(invalid(
            field(),
            format!(
                "must not hold control, invisible or direction-changing characters (U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// A long free text: bounded, no NUL.
fn check_text(field: impl FnOnce() -> String, text: &str, max: usize) -> Result<(), Invalid> {
    if text.chars().count() > max {
        return Err(invalid(field(), format!("is longer than {max} characters")));
    }
    if text.contains('\0') {
        return Err(invalid(field(), "must not hold a NUL character"));
    }
    Ok(())
}

fn check_count(field: impl FnOnce() -> String, count: usize, max: usize) -> Result<(), Invalid> {
    if count > max {
        return Err(invalid(
            field(),
            format!("has {count} entries; at most {max} are allowed"),
        ));
    }
    Ok(())
}

fn is_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= VERSION_MAX
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'~' | b'-'))
}

fn check_version(field: &str, version: &str) -> Result<(), Invalid> {
    is_version(version).then_some(()).ok_or_else(|| {
        invalid(
            field,
            format!("must be 1 to {VERSION_MAX} letters, digits, '.', '+', '_', '~' or '-'"),
        )
    })
}

/// An image reference as [`IMAGE_PATTERN`] says.
pub fn is_image(image: &str) -> bool {
    let bytes = image.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= IMAGE_MAX
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'@' | b'+' | b'-')
        })
}

/// A setting key: `area:subject`, bounded, shown as it is (no control or invisible character).
fn check_setting_key(key: &str) -> Result<(), Invalid> {
    let ok = !key.is_empty()
        && key.chars().count() <= SETTING_KEY_MAX
        && key.contains(':')
        && !key.chars().any(|c| c.is_control() || is_invisible(c));
    ok.then_some(()).ok_or_else(|| {
        invalid(
            "settings",
            format!(
                "key {} must be `area:subject`, 1 to {SETTING_KEY_MAX} characters without control or invisible characters",
                quote(key)
            ),
        )
    })
}

/// Checks `report` against every limit of the format; the first field over one is named.
pub fn validate(report: &Report) -> Result<(), Invalid> {
    check_id(|| "id".into(), &report.id)?;
    let node = &report.node;
    check_name(&node.name).map_err(|limit| invalid("node.name", limit))?;
    check_name(&node.cluster).map_err(|limit| invalid("node.cluster", limit))?;
    check_count(|| "node.roles".into(), node.roles.len(), ROLES_MAX)?;
    if let Some(os) = &node.os {
        check_short(|| "node.os".into(), os)?;
    }
    if let Some(kernel) = &node.kernel {
        check_short(|| "node.kernel".into(), kernel)?;
    }
    check_count(|| "node.labels".into(), node.labels.len(), LABELS_MAX)?;
    for (key, value) in &node.labels {
        if !is_label_key(key) {
            return Err(invalid(
                "node.labels",
                format!(
                    "key {} must be a Kubernetes label key: [DNS-1123 subdomain/]name, the name 1 to 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit",
                    quote(key)
                ),
            ));
        }
        if !is_label_value(value) {
            return Err(invalid(
                "node.labels",
                format!(
                    "value of {} must be a Kubernetes label value: empty, or 1 to 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit",
                    quote(key)
                ),
            ));
        }
    }
    check_version("agent.version", &report.agent.version)?;
    if let Some(version) = &node.kubelet_version {
        check_version("node.kubelet_version", version)?;
    }
    if let Some(interval) = report.agent.interval_s
        && !(INTERVAL_S_MIN..=INTERVAL_S_MAX).contains(&interval)
    {
        return Err(invalid(
            "agent.interval_s",
            format!("must be {INTERVAL_S_MIN} to {INTERVAL_S_MAX} seconds (one week)"),
        ));
    }
    check_short(|| "profile.name".into(), &report.profile.name)?;
    let sha = &report.profile.sha256;
    if sha.len() != 64
        || !sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(invalid(
            "profile.sha256",
            "must be 64 lowercase hexadecimal digits",
        ));
    }
    if report.started_at.len() > TIMESTAMP_MAX {
        return Err(invalid(
            "started_at",
            format!("is longer than {TIMESTAMP_MAX} characters"),
        ));
    }
    check_short(|| "started_at".into(), &report.started_at)?;
    if let Some(score) = report.score
        && score > 100
    {
        return Err(invalid("score", "must be 0 to 100"));
    }
    check_count(|| "findings".into(), report.findings.len(), FINDINGS_MAX)?;
    for (i, finding) in report.findings.iter().enumerate() {
        check_finding(FindingAt(i), finding)?;
    }
    let inventory = &report.inventory;
    check_count(
        || "inventory.listeners".into(),
        inventory.listeners.len(),
        LISTENERS_MAX,
    )?;
    for (i, listener) in inventory.listeners.iter().enumerate() {
        let at = format!("inventory.listeners[{i}]");
        check_short(|| format!("{at}.protocol"), &listener.protocol)?;
        check_text(|| format!("{at}.address"), &listener.address, PATH_MAX)?;
        check_short(|| format!("{at}.netns"), &listener.netns)?;
        check_count(
            || format!("{at}.processes"),
            listener.processes.len(),
            LISTENER_PROCESSES_MAX,
        )?;
        for (j, process) in listener.processes.iter().enumerate() {
            check_text(
                || format!("{at}.processes[{j}].name"),
                &process.name,
                PATH_MAX,
            )?;
        }
    }
    check_count(
        || "inventory.containers".into(),
        inventory.containers.len(),
        CONTAINERS_MAX,
    )?;
    for (i, container) in inventory.containers.iter().enumerate() {
        let at = format!("inventory.containers[{i}]");
        check_short(|| format!("{at}.id"), &container.id)?;
        check_short(|| format!("{at}.runtime"), &container.runtime)?;
        for (field, value) in [
            ("namespace", &container.namespace),
            ("pod", &container.pod),
            ("name", &container.name),
            ("shell", &container.shell),
            ("package_manager", &container.package_manager),
        ] {
            if let Some(value) = value {
                check_text(|| format!("{at}.{field}"), value, PATH_MAX)?;
            }
        }
        check_text(|| format!("{at}.program"), &container.program, PATH_MAX)?;
        if let Some(image) = &container.image
            && !is_image(image)
        {
            return Err(invalid(
                format!("{at}.image"),
                format!(
                    "must be an image reference: 1 to {IMAGE_MAX} letters, digits, '.', '_', ':', '/', '@', '+' or '-', beginning with a letter or digit"
                ),
            ));
        }
        for (field, list) in [
            ("capabilities", &container.capabilities),
            ("host_namespaces", &container.host_namespaces),
        ] {
            check_count(|| format!("{at}.{field}"), list.len(), CAPABILITIES_MAX)?;
            for (j, item) in list.iter().enumerate() {
                check_short(|| format!("{at}.{field}[{j}]"), item)?;
            }
        }
    }
    check_count(|| "settings".into(), report.settings.len(), SETTINGS_MAX)?;
    for (key, value) in &report.settings {
        check_setting_key(key)?;
        if let Some(value) = value {
            check_text(
                || format!("settings[{}]", quote(key)),
                value,
                SETTING_VALUE_MAX,
            )?;
        }
    }
    Ok(())
}

/// Where a finding is, written out only when a refusal names it: validation allocates
/// nothing for a report it accepts.
#[derive(Clone, Copy)]
struct FindingAt(usize);

impl fmt::Display for FindingAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "findings[{}]", self.0)
    }
}

#[derive(Clone, Copy)]
struct EvidenceAt(FindingAt, usize);

impl fmt::Display for EvidenceAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.evidence[{}]", self.0, self.1)
    }
}

fn check_finding(at: FindingAt, finding: &Finding) -> Result<(), Invalid> {
    check_check_id(|| format!("{at}.id"), &finding.id)?;
    check_check_id(|| format!("{at}.area"), &finding.area)?;
    check_short(|| format!("{at}.title"), &finding.title)?;
    check_text(|| format!("{at}.message"), &finding.message, TEXT_MAX)?;
    check_text(
        || format!("{at}.remediation"),
        &finding.remediation,
        TEXT_MAX,
    )?;
    check_text(|| format!("{at}.rationale"), &finding.rationale, TEXT_MAX)?;
    check_count(
        || format!("{at}.references"),
        finding.references.len(),
        REFERENCES_MAX,
    )?;
    for (i, reference) in finding.references.iter().enumerate() {
        check_short(|| format!("{at}.references[{i}]"), reference)?;
    }
    check_count(|| format!("{at}.cis"), finding.cis.len(), CIS_IDS_MAX)?;
    for (i, id) in finding.cis.iter().enumerate() {
        check_cis_id(|| format!("{at}.cis[{i}]"), id)?;
    }
    if let Some(waiver) = &finding.waiver {
        check_text(|| format!("{at}.waiver.reason"), &waiver.reason, TEXT_MAX)?;
        if let Some(expires) = &waiver.expires {
            check_short(|| format!("{at}.waiver.expires"), expires)?;
        }
    }
    check_count(
        || format!("{at}.evidence"),
        finding.evidence.len(),
        EVIDENCE_MAX,
    )?;
    for (i, evidence) in finding.evidence.iter().enumerate() {
        check_evidence(EvidenceAt(at, i), evidence)?;
    }
    Ok(())
}

fn check_evidence(at: EvidenceAt, evidence: &Evidence) -> Result<(), Invalid> {
    check_text(|| format!("{at}.subject"), &evidence.subject, TEXT_MAX)?;
    if let Some(observed) = &evidence.observed {
        check_text(|| format!("{at}.observed"), observed, TEXT_MAX)?;
    }
    check_text(|| format!("{at}.expected"), &evidence.expected, TEXT_MAX)?;
    if let Some(note) = &evidence.note {
        check_text(|| format!("{at}.note"), note, TEXT_MAX)?;
    }
    match &evidence.source {
        Source::File { path, .. } | Source::FileMetadata { path } => {
            check_text(|| format!("{at}.source.path"), path, PATH_MAX)
        }
        Source::Flag { flag, .. } => check_text(|| format!("{at}.source.flag"), flag, PATH_MAX),
        Source::Default { description } => {
            check_text(|| format!("{at}.source.description"), description, PATH_MAX)
        }
        Source::Listener { address, .. } => {
            check_text(|| format!("{at}.source.address"), address, PATH_MAX)
        }
        Source::Process { name, .. } => check_text(|| format!("{at}.source.name"), name, PATH_MAX),
        Source::None => Ok(()),
    }
}

/// Brings what a scan found within the limits where that can be done without changing a
/// verdict: texts quoted from the node cut to their length (ending in `…`), invisible and
/// control characters in short texts written as escapes (`\u{202e}`), lists cut to their count, labels that
/// Kubernetes would not take dropped. A process on the node (a container, say) controls some
/// of these texts; without this, it could make every report of its node refused. What cannot
/// be fixed (a node name that is no DNS name) is left for [`validate`] to name. Returns what
/// was changed, one line each.
pub fn clamp(report: &mut Report) -> Vec<String> {
    let mut changed = Vec::new();
    let node = &mut report.node;
    node.roles.truncate(ROLES_MAX);
    for (field, value) in [("node.os", &mut node.os), ("node.kernel", &mut node.kernel)] {
        if let Some(value) = value {
            fit_short(field, value, &mut changed);
        }
    }
    let before = node.labels.len();
    node.labels
        .retain(|key, value| is_label_key(key) && is_label_value(value));
    while node.labels.len() > LABELS_MAX {
        node.labels.pop_last();
    }
    if node.labels.len() != before {
        changed.push(format!(
            "node.labels: kept {} of {before} (Kubernetes label keys and values, {LABELS_MAX} at most)",
            node.labels.len()
        ));
    }
    fit_short("profile.name", &mut report.profile.name, &mut changed);
    fit_count("findings", &mut report.findings, FINDINGS_MAX, &mut changed);
    for (i, finding) in report.findings.iter_mut().enumerate() {
        let at = format!("findings[{i}]");
        fit_short(&format!("{at}.title"), &mut finding.title, &mut changed);
        for (field, text) in [
            ("message", &mut finding.message),
            ("remediation", &mut finding.remediation),
            ("rationale", &mut finding.rationale),
        ] {
            fit_text(&format!("{at}.{field}"), text, TEXT_MAX, &mut changed);
        }
        fit_count(
            &format!("{at}.references"),
            &mut finding.references,
            REFERENCES_MAX,
            &mut changed,
        );
        for reference in &mut finding.references {
            fit_short(&format!("{at}.references"), reference, &mut changed);
        }
        fit_count(
            &format!("{at}.cis"),
            &mut finding.cis,
            CIS_IDS_MAX,
            &mut changed,
        );
        if let Some(waiver) = &mut finding.waiver {
            fit_text(
                &format!("{at}.waiver.reason"),
                &mut waiver.reason,
                TEXT_MAX,
                &mut changed,
            );
            if let Some(expires) = &mut waiver.expires {
                fit_short(&format!("{at}.waiver.expires"), expires, &mut changed);
            }
        }
        fit_count(
            &format!("{at}.evidence"),
            &mut finding.evidence,
            EVIDENCE_MAX,
            &mut changed,
        );
        for (j, evidence) in finding.evidence.iter_mut().enumerate() {
            let at = format!("{at}.evidence[{j}]");
            fit_text(
                &format!("{at}.subject"),
                &mut evidence.subject,
                TEXT_MAX,
                &mut changed,
            );
            fit_text(
                &format!("{at}.expected"),
                &mut evidence.expected,
                TEXT_MAX,
                &mut changed,
            );
            for (field, text) in [
                ("observed", &mut evidence.observed),
                ("note", &mut evidence.note),
            ] {
                if let Some(text) = text {
                    fit_text(&format!("{at}.{field}"), text, TEXT_MAX, &mut changed);
                }
            }
            let source = match &mut evidence.source {
                Source::File { path, .. } | Source::FileMetadata { path } => Some(path),
                Source::Flag { flag, .. } => Some(flag),
                Source::Default { description } => Some(description),
                Source::Listener { address, .. } => Some(address),
                Source::Process { name, .. } => Some(name),
                Source::None => None,
            };
            if let Some(text) = source {
                fit_text(&format!("{at}.source"), text, PATH_MAX, &mut changed);
            }
        }
    }
    let inventory = &mut report.inventory;
    fit_count(
        "inventory.listeners",
        &mut inventory.listeners,
        LISTENERS_MAX,
        &mut changed,
    );
    for listener in &mut inventory.listeners {
        fit_short(
            "inventory.listeners.protocol",
            &mut listener.protocol,
            &mut changed,
        );
        fit_short(
            "inventory.listeners.netns",
            &mut listener.netns,
            &mut changed,
        );
        fit_text(
            "inventory.listeners.address",
            &mut listener.address,
            PATH_MAX,
            &mut changed,
        );
        listener.processes.truncate(LISTENER_PROCESSES_MAX);
        for process in &mut listener.processes {
            fit_text(
                "inventory.listeners.processes.name",
                &mut process.name,
                PATH_MAX,
                &mut changed,
            );
        }
    }
    fit_count(
        "inventory.containers",
        &mut inventory.containers,
        CONTAINERS_MAX,
        &mut changed,
    );
    for container in &mut inventory.containers {
        fit_short("inventory.containers.id", &mut container.id, &mut changed);
        fit_short(
            "inventory.containers.runtime",
            &mut container.runtime,
            &mut changed,
        );
        fit_text(
            "inventory.containers.program",
            &mut container.program,
            PATH_MAX,
            &mut changed,
        );
        for text in [
            &mut container.namespace,
            &mut container.pod,
            &mut container.name,
            &mut container.shell,
            &mut container.package_manager,
        ]
        .into_iter()
        .flatten()
        {
            fit_text("inventory.containers", text, PATH_MAX, &mut changed);
        }
        if container.image.as_deref().is_some_and(|i| !is_image(i)) {
            changed.push(format!(
                "inventory.containers.image: {} dropped (not an image reference)",
                quote(container.image.as_deref().unwrap_or_default())
            ));
            container.image = None;
        }
        for list in [&mut container.capabilities, &mut container.host_namespaces] {
            list.truncate(CAPABILITIES_MAX);
            for item in list {
                fit_short("inventory.containers", item, &mut changed);
            }
        }
    }
    if report
        .node
        .kubelet_version
        .as_deref()
        .is_some_and(|v| !is_version(v))
    {
        changed.push("node.kubelet_version: dropped (not a version)".into());
        report.node.kubelet_version = None;
    }
    // A setting that cannot be carried whole is left out rather than cut: a cut value would
    // compare equal on two nodes whose settings differ.
    let before = report.settings.len();
    report.settings.retain(|key, value| {
        check_setting_key(key).is_ok()
            && value
                .as_deref()
                .is_none_or(|v| v.chars().count() <= SETTING_VALUE_MAX && !v.contains('\0'))
    });
    while report.settings.len() > SETTINGS_MAX {
        report.settings.pop_last();
    }
    if report.settings.len() != before {
        changed.push(format!(
            "settings: kept {} of {before} (keys `area:subject` of {SETTING_KEY_MAX} characters, values of {SETTING_VALUE_MAX}, {SETTINGS_MAX} at most)",
            report.settings.len()
        ));
    }
    changed
}

/// Cuts `text` to `max` characters, the last one `…`.
fn cut(text: &mut String, max: usize) -> bool {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => {
            text.truncate(at);
            text.push('…');
            true
        }
        _ => false,
    }
}

fn fit_text(field: &str, text: &mut String, max: usize, changed: &mut Vec<String>) {
    let had_nul = text.contains('\0');
    if had_nul {
        *text = text.replace('\0', "\u{FFFD}");
    }
    if cut(text, max) || had_nul {
        changed.push(format!("{field}: cut to {max} characters, NUL replaced"));
    }
}

fn fit_short(field: &str, text: &mut String, changed: &mut Vec<String>) {
    let unsafe_char = |c: char| c.is_control() || is_invisible(c);
    let mut fixed = false;
    if text.chars().any(unsafe_char) {
        // Shown escaped (`\u{1b}`), so a reader still sees what the node had there.
        *text = text
            .chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        fixed = true;
    }
    if cut(text, SHORT_TEXT_MAX) || fixed {
        changed.push(format!(
            "{field}: cut to {SHORT_TEXT_MAX} characters, invisible and control characters escaped"
        ));
    }
}

fn fit_count<T>(field: &str, list: &mut Vec<T>, max: usize, changed: &mut Vec<String>) {
    if list.len() > max {
        changed.push(format!("{field}: kept {max} of {}", list.len()));
        list.truncate(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn report() -> Report {
        Report {
            schema: SCHEMA_V1.into(),
            id: "01HZX".into(),
            node: Node {
                name: "web-1.prod".into(),
                cluster: "prod".into(),
                roles: vec![Role::Worker],
                os: Some("Debian GNU/Linux 12 (bookworm)".into()),
                kernel: Some("6.1.0-18-amd64".into()),
                labels: [("kubernetes.io/os".to_string(), "linux".to_string())].into(),
                kubelet_version: None,
            },
            agent: Agent {
                version: "0.1.0".into(),
                interval_s: Some(600),
            },
            profile: ProfileRef {
                name: "default".into(),
                sha256: "0".repeat(64),
            },
            started_at: "2026-12-05T17:00:00Z".into(),
            duration_ms: 12,
            score: None,
            summary: Summary::default(),
            findings: vec![Finding {
                id: "sshd.permit-root-login".into(),
                title: "Root cannot log in over SSH".into(),
                area: "sshd".into(),
                severity: Severity::High,
                status: Status::Fail,
                message: "PermitRootLogin yes".into(),
                evidence: vec![],
                remediation: "Set PermitRootLogin no.".into(),
                rationale: String::new(),
                references: vec!["CIS Linux 5.1.20".into()],
                cis: Vec::new(),
                waiver: None,
            }],
            inventory: Inventory::default(),
            settings: Default::default(),
        }
    }

    #[test]
    fn an_honest_report_is_valid() {
        assert_eq!(validate(&report()), Ok(()));
    }

    #[test]
    fn each_refusal_names_its_field_and_limit() {
        type Change = Box<dyn Fn(&mut Report)>;
        let cases: Vec<(Change, &str, &str)> = vec![
            (Box::new(|r| r.id = "a/b".into()), "id", "letters, digits"),
            (
                Box::new(|r| r.node.name = "Web_1".into()),
                "node.name",
                "DNS-1123",
            ),
            (
                Box::new(|r| r.node.name = "web\u{202E}1".into()),
                "node.name",
                "DNS-1123",
            ),
            (
                Box::new(|r| r.node.name = "\u{FEFF}web".into()),
                "node.name",
                "DNS-1123",
            ),
            (
                Box::new(|r| r.node.name = "a".repeat(254)),
                "node.name",
                "1 to 253",
            ),
            (
                Box::new(|r| r.node.cluster = "prod.".into()),
                "node.cluster",
                "DNS-1123",
            ),
            (
                Box::new(|r| r.node.os = Some("Debian\u{200B}".into())),
                "node.os",
                "U+200B",
            ),
            (
                Box::new(|r| {
                    r.node.labels.insert("a/b/c".into(), "x".into());
                }),
                "node.labels",
                "key \"a/b/c\" must be a Kubernetes label key",
            ),
            (
                Box::new(|r| {
                    r.node.labels.insert("tier".into(), "-x".into());
                }),
                "node.labels",
                "value of \"tier\" must be",
            ),
            (
                Box::new(|r| r.agent.version = "1".repeat(65)),
                "agent.version",
                "1 to 64",
            ),
            (
                Box::new(|r| r.agent.interval_s = Some(INTERVAL_S_MAX + 1)),
                "agent.interval_s",
                "one week",
            ),
            (
                Box::new(|r| r.node.kubelet_version = Some("v1.31 <b>".into())),
                "node.kubelet_version",
                "1 to 64",
            ),
            (
                Box::new(|r| {
                    r.settings.insert("no area".into(), None);
                }),
                "settings",
                "must be `area:subject`",
            ),
            (
                Box::new(|r| {
                    r.settings
                        .insert("kubelet:x\u{202E}".into(), Some("1".into()));
                }),
                "settings",
                "without control or invisible characters",
            ),
            (
                Box::new(|r| {
                    r.settings
                        .insert("kubelet:x".into(), Some("1".repeat(SETTING_VALUE_MAX + 1)));
                }),
                "settings[\"kubelet:x\"]",
                "longer than 1024",
            ),
            (
                Box::new(|r| {
                    r.settings = (0..=SETTINGS_MAX)
                        .map(|i| (format!("kernel:{i}"), None))
                        .collect();
                }),
                "settings",
                "at most 4096",
            ),
            (
                Box::new(|r| r.agent.interval_s = Some(0)),
                "agent.interval_s",
                "1 to",
            ),
            (
                Box::new(|r| r.profile.sha256 = "A".repeat(64)),
                "profile.sha256",
                "hexadecimal",
            ),
            (Box::new(|r| r.score = Some(255)), "score", "0 to 100"),
            (
                Box::new(|r| {
                    let f = r.findings[0].clone();
                    r.findings = vec![f; FINDINGS_MAX + 1];
                }),
                "findings",
                "at most 2048",
            ),
            (
                Box::new(|r| r.findings[0].id = "Sshd.X".into()),
                "findings[0].id",
                "lowercase",
            ),
            (
                Box::new(|r| r.findings[0].message = "m".repeat(TEXT_MAX + 1)),
                "findings[0].message",
                "longer than 8192",
            ),
            (
                Box::new(|r| r.findings[0].title = "Fine\u{202E}enif".into()),
                "findings[0].title",
                "direction-changing",
            ),
            (
                Box::new(|r| r.findings[0].title = "one\u{2028}two".into()),
                "findings[0].title",
                "U+2028",
            ),
            (
                Box::new(|r| {
                    let e = Evidence {
                        subject: "s".into(),
                        observed: None,
                        expected: "e".into(),
                        status: Status::Fail,
                        source: Source::None,
                        note: None,
                    };
                    r.findings[0].evidence = vec![e; EVIDENCE_MAX + 1];
                }),
                "findings[0].evidence",
                "at most 256",
            ),
        ];
        for (change, field, limit) in cases {
            let mut r = report();
            change(&mut r);
            let refusal = validate(&r).expect_err(field);
            assert_eq!(refusal.field, field, "{refusal}");
            assert!(refusal.limit.contains(limit), "{refusal}");
        }
    }

    #[test]
    fn kubernetes_names_and_labels() {
        for good in ["a", "web-1", "ip-10-0-0-1.ec2.internal", "1.2.3"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a..b", ".a", "a_b", "a b", "ä"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        for good in [
            "app",
            "kubernetes.io/os",
            "node-role.kubernetes.io/control-plane",
            "A_b.c",
        ] {
            assert!(is_label_key(good), "{good}");
        }
        for bad in ["", "/a", "a/", "Example.com/a", "a/b/c", &"x".repeat(64)] {
            assert!(!is_label_key(bad), "{bad}");
        }
        assert!(is_label_value(""));
        assert!(!is_label_value("a b"));
    }

    #[test]
    fn clamping_fixes_what_the_node_controls_and_nothing_else() {
        let mut r = report();
        r.node.os = Some(format!("Evil\u{202E}OS{}", "x".repeat(1000)));
        r.node.labels.insert("bad key".into(), "v".into());
        r.findings[0].evidence = vec![
            Evidence {
                subject: "--flag".into(),
                observed: Some("v".repeat(100_000)),
                expected: "e".into(),
                status: Status::Fail,
                source: Source::Flag {
                    flag: "f\0".into(),
                    pid: 1,
                },
                note: None,
            };
            300
        ];
        let changed = clamp(&mut r);
        assert!(!changed.is_empty());
        assert_eq!(validate(&r), Ok(()));
        assert_eq!(r.findings[0].evidence.len(), EVIDENCE_MAX);
        let observed = r.findings[0].evidence[0].observed.as_deref().unwrap_or("");
        assert_eq!(observed.chars().count(), TEXT_MAX);
        assert!(observed.ends_with('…'));
        assert!(
            r.node
                .os
                .as_deref()
                .unwrap_or("")
                .starts_with("Evil\\u{202e}OS")
        );
        assert!(!r.node.labels.contains_key("bad key"));
        // Settings that cannot be carried whole are left out, not cut; an image that is no
        // image reference and a kubelet version that is no version are dropped.
        let mut r = report();
        r.settings
            .insert("kubelet:readOnlyPort".into(), Some("0".into()));
        r.settings.insert(
            "kubelet:long".into(),
            Some("x".repeat(SETTING_VALUE_MAX + 1)),
        );
        r.settings.insert("noarea".into(), None);
        r.node.kubelet_version = Some("v1.31.2\n".into());
        r.inventory.containers = vec![Container {
            pid: 1,
            id: "0".repeat(64),
            runtime: "containerd".into(),
            namespace: None,
            pod: None,
            name: None,
            program: "sh".into(),
            image: Some("evil\u{202E}image:1".into()),
            uid: 0,
            gid: 0,
            user_namespace_root: None,
            capabilities: Vec::new(),
            no_new_privs: None,
            seccomp: None,
            host_namespaces: Vec::new(),
            memory_limit: None,
            shell: None,
            package_manager: None,
        }];
        assert!(validate(&r).is_err());
        let changed = clamp(&mut r);
        assert_eq!(changed.len(), 3, "{changed:?}");
        assert_eq!(validate(&r), Ok(()));
        assert_eq!(
            r.settings.keys().collect::<Vec<_>>(),
            ["kubelet:readOnlyPort"]
        );
        assert_eq!(r.node.kubelet_version, None);
        assert_eq!(r.inventory.containers[0].image, None);
        // A report within the limits is left as it is.
        let mut honest = report();
        assert!(clamp(&mut honest).is_empty());
        assert_eq!(honest, report());
    }

    use crate::testing::Rng;

    /// A string of a length around the limits, from a palette of the characters that
    /// matter: name characters, uppercase, separators, controls, bidi, zero-width, BOM,
    /// non-ASCII, NUL.
    fn text(rng: &mut Rng) -> String {
        const PALETTE: &[char] = &[
            'a', 'z', '0', '9', '-', '.', '_', '/', 'A', 'Z', ' ', '~', '+', '\n', '\t', '\u{1b}',
            '\u{202E}', '\u{200B}', '\u{FEFF}', 'é', '中', '\0', '<', '"',
        ];
        let length = match rng.below(6) {
            0 => 0,
            1 => rng.below(8),
            2 => 60 + rng.below(8),
            3 => 250 + rng.below(8),
            4 => 505 + rng.below(10),
            _ => 8185 + rng.below(10),
        };
        // Half the texts are made of name characters only, so acceptance is exercised too.
        let palette = if rng.below(2) == 0 {
            &PALETTE[..6]
        } else {
            PALETTE
        };
        let mut text: String = (0..length)
            .map(|_| palette[rng.below(palette.len())])
            .collect();
        if rng.below(2) == 0 && !text.is_empty() {
            // Names begin and end with a letter or digit.
            text.remove(0);
            text.insert(0, 'a');
            text.pop();
            text.push('z');
        }
        text
    }

    /// The value at a refusal's field path (`findings[3].evidence[0].observed`,
    /// `node.labels["k"]`) exists in the report's JSON.
    fn resolves(json: &serde_json::Value, field: &str) -> bool {
        let mut at = json;
        for part in field.split('.') {
            let (name, index) = match part.split_once('[') {
                Some((name, rest)) => (name, Some(rest.trim_end_matches(']'))),
                None => (part, None),
            };
            let Some(next) = at.get(name) else {
                return false;
            };
            at = next;
            if let Some(index) = index {
                let found = match index.parse::<usize>() {
                    Ok(i) => at.get(i),
                    Err(_) => serde_json::from_str::<String>(index)
                        .ok()
                        .and_then(|key| at.get(key)),
                };
                match found {
                    Some(next) => at = next,
                    None => return false,
                }
            }
        }
        true
    }

    #[test]
    fn arbitrary_fields_are_accepted_whole_or_refused_by_name() {
        let seed = std::env::var("NODECHECK_LIMITS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x9E37_79B9_7F4A_7C15_u64);
        let mut rng = Rng(seed);
        let (mut accepted, mut refused) = (0, 0);
        for case in 0..2000 {
            let mut r = report();
            // Change one to three fields to arbitrary text.
            for _ in 0..1 + rng.below(2) {
                let text = text(&mut rng);
                match rng.below(14) {
                    0 => r.id = text,
                    1 => r.node.name = text,
                    2 => r.node.cluster = text,
                    3 => r.node.os = Some(text),
                    4 => {
                        r.node.labels.insert(text, "v".into());
                    }
                    5 => {
                        r.node.labels.insert("k".into(), text);
                    }
                    6 => r.agent.version = text,
                    7 => r.findings[0].title = text,
                    8 => r.findings[0].message = text,
                    9 => r.findings[0].id = text,
                    10 => r.profile.name = text,
                    11 => r.findings[0].references.push(text),
                    12 => r.agent.interval_s = Some(rng.next_u64() % (2 * INTERVAL_S_MAX)),
                    _ => {
                        let copies = rng.below(2 * EVIDENCE_MAX);
                        r.findings[0].evidence = vec![
                            Evidence {
                                subject: "s".into(),
                                observed: Some(text),
                                expected: "e".into(),
                                status: Status::Fail,
                                source: Source::None,
                                note: None,
                            };
                            copies
                        ];
                    }
                }
            }
            match validate(&r) {
                Ok(()) => {
                    accepted += 1;
                    let json = serde_json::to_string(&r).expect("serialize");
                    let back: Report = serde_json::from_str(&json).expect("parse");
                    assert!(back == r, "case {case} (seed {seed}) does not round-trip");
                    // And clamping an accepted report changes nothing.
                    let mut clamped = r.clone();
                    assert!(clamp(&mut clamped).is_empty(), "case {case} (seed {seed})");
                }
                Err(refusal) => {
                    refused += 1;
                    let json = serde_json::to_value(&r).expect("serialize");
                    assert!(
                        resolves(&json, &refusal.field),
                        "case {case} (seed {seed}): `{}` names no field of the report",
                        refusal.field
                    );
                    assert!(
                        refusal.to_string().chars().count() < 400,
                        "case {case} (seed {seed}): the refusal repeats the input"
                    );
                    assert!(!refusal.limit.is_empty());
                    // Clamping brings it within the limits unless a name or id is at fault.
                    let mut clamped = r.clone();
                    clamp(&mut clamped);
                    if let Err(still) = validate(&clamped) {
                        let fixed_by_hand = ["id", "node.name", "node.cluster", "agent.version"]
                            .contains(&still.field.as_str())
                            || still.field.ends_with(".id")
                            || still.field == "agent.interval_s";
                        assert!(
                            fixed_by_hand,
                            "case {case} (seed {seed}): clamped, still refused for `{}`",
                            still.field
                        );
                    }
                }
            }
        }
        // Both sides were exercised.
        assert!(
            accepted > 300 && refused > 300,
            "{accepted} accepted, {refused} refused"
        );
    }
}

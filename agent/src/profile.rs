//! Profiles: which checks run, how severe they are, their parameters, the node's role and
//! waivers. TOML, built in (`default`, `cis`, `bastion`) or from a file that `extends` one.
//!
//! Validation reports every problem of a file at once with its line and column, like
//! cargo-deny's config validation: unknown keys, unknown check IDs (with a did-you-mean),
//! wrong types, bad dates. A waiver whose `expires` date has passed is not an error: it no
//! longer applies and is named in a warning.

use crate::checks::{Check, ParamKind, ParamValue, Params};
use crate::registry;
use nodecheck_report::{Role, Severity};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The built-in profiles, compiled in.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../profiles/default.toml")),
    ("cis", include_str!("../../profiles/cis.toml")),
    ("bastion", include_str!("../../profiles/bastion.toml")),
];

const MAX_EXTENDS_DEPTH: usize = 8;

/// One problem in a profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ProfileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found in a profile (and the profiles it extends).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProfileError {
    pub problems: Vec<ProfileProblem>,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "invalid profile ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// A waiver: the check's failure is accepted on matching nodes until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverRule {
    pub check: String,
    /// Node-name globs; empty means every node.
    pub nodes: Vec<String>,
    pub reason: String,
    /// `YYYY-MM-DD`, the last day it applies.
    pub expires: Option<String>,
    /// `file:line`, for warnings.
    pub place: String,
}

impl WaiverRule {
    pub fn applies_to(&self, node: &str) -> bool {
        self.nodes.is_empty() || self.nodes.iter().any(|g| crate::host::fnmatch(g, node))
    }
}

/// A resolved profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub sha256: String,
    pub role: Option<Role>,
    pub disabled: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
    /// Parameters of every check, defaults filled in.
    pub params: BTreeMap<String, Params>,
    /// Waivers still in force.
    pub waivers: Vec<WaiverRule>,
    /// Expired waivers and other things worth saying.
    pub warnings: Vec<String>,
}

impl Profile {
    pub fn is_enabled(&self, check: &Check) -> bool {
        !self.disabled.contains(check.meta.id)
    }

    pub fn severity_of(&self, check: &Check) -> Severity {
        self.severity
            .get(check.meta.id)
            .copied()
            .unwrap_or(check.meta.severity)
    }

    pub fn params_of(&self, check: &Check) -> Params {
        self.params
            .get(check.meta.id)
            .cloned()
            .unwrap_or_else(|| Params::defaults(&check.meta))
    }

    /// The waiver in force for `check` on `node`, if any.
    pub fn waiver_for(&self, check: &str, node: &str) -> Option<&WaiverRule> {
        self.waivers
            .iter()
            .find(|w| w.check == check && w.applies_to(node))
    }
}

/// What one file says, before `extends` is resolved.
#[derive(Debug, Default)]
struct Layer {
    name: Option<String>,
    extends: Option<String>,
    role: Option<Role>,
    disable: Vec<String>,
    severity: BTreeMap<String, Severity>,
    params: BTreeMap<String, BTreeMap<String, ParamValue>>,
    waivers: Vec<WaiverRule>,
}

struct Validator<'a> {
    file: String,
    text: &'a str,
    problems: Vec<ProfileProblem>,
    today: (i32, u32, u32),
    warnings: Vec<String>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    v.type_str()
}

impl Validator<'_> {
    fn at(&mut self, span: std::ops::Range<usize>, message: String) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        self.problems.push(ProfileProblem {
            file: self.file.clone(),
            line,
            column,
            message,
        });
    }

    fn place(&self, span: &std::ops::Range<usize>) -> String {
        let line = self.text[..span.start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1;
        format!("{}:{line}", self.file)
    }

    fn string(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.at(
                    v.span(),
                    format!("`{key}` must be a string, found {}", type_name(v.get_ref())),
                );
                None
            }
        }
    }

    fn strings(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Vec<(String, std::ops::Range<usize>)> {
        let Some(array) = v.get_ref().as_array() else {
            self.at(
                v.span(),
                format!(
                    "`{key}` must be an array of strings, found {}",
                    type_name(v.get_ref())
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in array.iter() {
            if let Some(s) = self.string(key, item) {
                out.push((s, item.span()));
            }
        }
        out
    }

    fn check_id(&mut self, id: &str, span: std::ops::Range<usize>) -> Option<&'static Check> {
        if let Some(check) = registry::find(id) {
            return Some(check);
        }
        let hint = crate::text::closest(id, registry::CHECKS.iter().map(|c| c.meta.id))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        self.at(span, format!("unknown check `{id}`{hint}"));
        None
    }

    fn unknown_key(&mut self, key: &Spanned<std::borrow::Cow<'_, str>>, known: &[&str]) {
        let hint = crate::text::closest(key.get_ref(), known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        self.at(
            key.span(),
            format!(
                "unknown key `{}` (expected one of: {}){hint}",
                key.get_ref(),
                known.join(", ")
            ),
        );
    }

    fn param(
        &mut self,
        check: &Check,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<ParamValue> {
        let Some(spec) = check.meta.params.iter().find(|p| p.name == name.get_ref()) else {
            let names: Vec<&str> = check.meta.params.iter().map(|p| p.name).collect();
            let hint = crate::text::closest(name.get_ref(), names.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            let known = if names.is_empty() {
                "it takes none".to_string()
            } else {
                format!("it takes {}", names.join(", "))
            };
            self.at(
                name.span(),
                format!(
                    "`{}` has no parameter `{}` ({known}){hint}",
                    check.meta.id,
                    name.get_ref()
                ),
            );
            return None;
        };
        let value = v.get_ref();
        let parsed = match spec.kind() {
            ParamKind::Bool => value.as_bool().map(ParamValue::Bool),
            ParamKind::Integer => value
                .as_integer()
                .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok())
                .map(ParamValue::Integer),
            ParamKind::Strings => value.as_array().and_then(|a| {
                a.iter()
                    .map(|x| x.get_ref().as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>()
                    .map(ParamValue::Strings)
            }),
        };
        if parsed.is_none() {
            self.at(
                v.span(),
                format!(
                    "`{}.{}` must be {} {}, found {}",
                    check.meta.id,
                    spec.name,
                    if spec.kind() == ParamKind::Integer {
                        "an"
                    } else {
                        "a"
                    },
                    spec.kind(),
                    type_name(value)
                ),
            );
        }
        parsed
    }

    fn date(&mut self, v: &Spanned<DeValue<'_>>) -> Option<String> {
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            other => {
                self.at(
                    v.span(),
                    format!(
                        "`expires` must be a date (YYYY-MM-DD), found {}",
                        type_name(other)
                    ),
                );
                return None;
            }
        };
        match parse_date(&text) {
            Some(_) => Some(text),
            None => {
                self.at(
                    v.span(),
                    format!("`expires` must be a date (YYYY-MM-DD), found `{text}`"),
                );
                None
            }
        }
    }

    fn layer(&mut self) -> Layer {
        let mut layer = Layer::default();
        let (table, errors) = DeTable::parse_recoverable(self.text);
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            self.at(span, format!("TOML syntax: {}", e.message()));
        }
        const TOP: &[&str] = &[
            "name", "extends", "role", "disable", "severity", "params", "waivers",
        ];
        for (key, value) in table.get_ref().iter() {
            match key.get_ref().as_ref() {
                "name" => layer.name = self.string("name", value),
                "extends" => layer.extends = self.string("extends", value),
                "role" => {
                    if let Some(r) = self.string("role", value) {
                        match Role::parse(&r) {
                            Some(role) => layer.role = Some(role),
                            None => self.at(
                                value.span(),
                                format!(
                                    "unknown role `{r}` (expected worker, control-plane or host)"
                                ),
                            ),
                        }
                    }
                }
                "disable" => {
                    for (id, span) in self.strings("disable", value) {
                        let is_area = registry::areas().contains(&id.as_str());
                        if is_area || self.check_id(&id, span).is_some() {
                            layer.disable.push(id);
                        }
                    }
                }
                "severity" => self.severity(value, &mut layer),
                "params" => self.params(value, &mut layer),
                "waivers" => self.waivers(value, &mut layer),
                _ => self.unknown_key(key, TOP),
            }
        }
        layer
    }

    fn severity(&mut self, value: &Spanned<DeValue<'_>>, layer: &mut Layer) {
        let Some(table) = value.get_ref().as_table() else {
            self.at(
                value.span(),
                "`severity` must be a table of check ID = severity".into(),
            );
            return;
        };
        for (id, sev) in table.iter() {
            let check = self.check_id(id.get_ref(), id.span());
            let Some(text) = self.string(&format!("severity.\"{}\"", id.get_ref()), sev) else {
                continue;
            };
            match Severity::parse(&text) {
                Some(s) => {
                    if let Some(check) = check {
                        layer.severity.insert(check.meta.id.to_string(), s);
                    }
                }
                None => self.at(
                    sev.span(),
                    format!(
                        "unknown severity `{text}` (expected critical, high, medium, low or info)"
                    ),
                ),
            }
        }
    }

    fn params(&mut self, value: &Spanned<DeValue<'_>>, layer: &mut Layer) {
        let Some(table) = value.get_ref().as_table() else {
            self.at(
                value.span(),
                "`params` must be a table of check ID = { parameter = value }".into(),
            );
            return;
        };
        for (id, params) in table.iter() {
            let check = self.check_id(id.get_ref(), id.span());
            let Some(params) = params.get_ref().as_table() else {
                self.at(
                    params.span(),
                    format!("`params.\"{}\"` must be a table", id.get_ref()),
                );
                continue;
            };
            let Some(check) = check else { continue };
            for (name, v) in params.iter() {
                if let Some(value) = self.param(check, name, v) {
                    layer
                        .params
                        .entry(check.meta.id.to_string())
                        .or_default()
                        .insert(name.get_ref().to_string(), value);
                }
            }
        }
    }

    fn waivers(&mut self, value: &Spanned<DeValue<'_>>, layer: &mut Layer) {
        let Some(array) = value.get_ref().as_array() else {
            self.at(
                value.span(),
                "`waivers` must be an array of tables ([[waivers]])".into(),
            );
            return;
        };
        const KEYS: &[&str] = &["check", "nodes", "reason", "expires"];
        for item in array.iter() {
            let Some(table) = item.get_ref().as_table() else {
                self.at(item.span(), "each waiver must be a table".into());
                continue;
            };
            let mut check = None;
            let mut nodes = Vec::new();
            let mut reason = None;
            let mut expires = None;
            for (key, v) in table.iter() {
                match key.get_ref().as_ref() {
                    "check" => {
                        if let Some(id) = self.string("check", v) {
                            check = self.check_id(&id, v.span()).map(|c| c.meta.id.to_string());
                        }
                    }
                    "nodes" => {
                        nodes = self
                            .strings("nodes", v)
                            .into_iter()
                            .map(|(s, _)| s)
                            .collect()
                    }
                    "reason" => reason = self.string("reason", v).filter(|r| !r.trim().is_empty()),
                    "expires" => expires = self.date(v),
                    _ => self.unknown_key(key, KEYS),
                }
            }
            if reason.is_none() {
                self.at(item.span(), "a waiver needs a non-empty `reason`".into());
            }
            let has_check_key = table.iter().any(|(k, _)| k.get_ref() == "check");
            if !has_check_key {
                self.at(item.span(), "a waiver needs `check`".into());
            }
            let place = self.place(&item.span());
            if let (Some(check), Some(reason)) = (check, reason) {
                if let Some(date) = expires.as_deref().and_then(parse_date)
                    && date < self.today
                {
                    self.warnings.push(format!(
                        "waiver for {check} ({place}) expired on {}; it no longer applies",
                        expires.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
                layer.waivers.push(WaiverRule {
                    check,
                    nodes,
                    reason,
                    expires,
                    place,
                });
            }
        }
    }
}

/// `YYYY-MM-DD` → (year, month, day).
pub fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let mut parts = text.splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.get(..2)?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Today's date (UTC) from the system clock.
pub fn today() -> (i32, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::time::civil_from_days((secs / 86_400) as i64)
}

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Builtin(&'static str, &'static str),
    File(PathBuf),
}

fn locate(name_or_path: &str, relative_to: Option<&Path>) -> Origin {
    if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
        return Origin::Builtin(name, text);
    }
    let path = Path::new(name_or_path);
    match relative_to {
        Some(dir) if path.is_relative() => Origin::File(dir.join(path)),
        _ => Origin::File(path.to_path_buf()),
    }
}

fn problem(file: &str, message: String) -> ProfileError {
    ProfileError {
        problems: vec![ProfileProblem {
            file: file.to_string(),
            line: 1,
            column: 1,
            message,
        }],
    }
}

/// Loads a profile by built-in name or file path, resolving `extends`.
pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
    load_at(name_or_path, today())
}

/// [`load`] with a given "today", for tests of expiry.
pub fn load_at(name_or_path: &str, today: (i32, u32, u32)) -> Result<Profile, ProfileError> {
    let mut layers: Vec<(Layer, String)> = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut next = Some(locate(name_or_path, None));
    let mut seen = Vec::new();
    while let Some(origin) = next.take() {
        if seen.len() >= MAX_EXTENDS_DEPTH || seen.contains(&origin) {
            problems.push(ProfileProblem {
                file: name_or_path.to_string(),
                line: 1,
                column: 1,
                message: "`extends` forms a loop or is deeper than 8 profiles".into(),
            });
            break;
        }
        seen.push(origin.clone());
        let (file, text, dir) = match &origin {
            Origin::Builtin(name, text) => (format!("<builtin {name}>"), text.to_string(), None),
            Origin::File(path) => {
                let display = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| {
                    let hint = if path.components().count() == 1 && !path.exists() {
                        format!(
                            " (built-in profiles: {})",
                            BUILTIN
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    } else {
                        String::new()
                    };
                    problem(&display, format!("cannot read profile: {e}{hint}"))
                })?;
                (display, text, path.parent().map(Path::to_path_buf))
            }
        };
        let mut v = Validator {
            file: file.clone(),
            text: &text,
            problems: Vec::new(),
            today,
            warnings: Vec::new(),
        };
        let layer = v.layer();
        problems.extend(v.problems);
        warnings.extend(v.warnings);
        next = layer.extends.as_deref().map(|e| locate(e, dir.as_deref()));
        let fallback_name = match &origin {
            Origin::Builtin(name, _) => name.to_string(),
            Origin::File(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.clone()),
        };
        layers.push((layer, fallback_name));
    }
    if !problems.is_empty() {
        return Err(ProfileError { problems });
    }
    Ok(resolve(layers, warnings))
}

/// Merges layers, most general first: the child's settings win.
fn resolve(mut layers: Vec<(Layer, String)>, warnings: Vec<String>) -> Profile {
    let name = layers
        .first()
        .map(|(l, fallback)| l.name.clone().unwrap_or_else(|| fallback.clone()))
        .unwrap_or_else(|| "default".into());
    layers.reverse();
    let mut profile = Profile {
        name,
        sha256: String::new(),
        role: None,
        disabled: BTreeSet::new(),
        severity: BTreeMap::new(),
        params: registry::CHECKS
            .iter()
            .map(|c| (c.meta.id.to_string(), Params::defaults(&c.meta)))
            .collect(),
        waivers: Vec::new(),
        warnings,
    };
    for (layer, _) in layers {
        if layer.role.is_some() {
            profile.role = layer.role;
        }
        for id in layer.disable {
            if registry::areas().contains(&id.as_str()) {
                profile.disabled.extend(
                    registry::CHECKS
                        .iter()
                        .filter(|c| c.meta.area == id)
                        .map(|c| c.meta.id.to_string()),
                );
            } else {
                profile.disabled.insert(id);
            }
        }
        profile.severity.extend(layer.severity);
        for (id, params) in layer.params {
            profile.params.entry(id).or_default().0.extend(params);
        }
        profile.waivers.extend(layer.waivers);
    }
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        profile.role, profile.disabled, profile.severity, profile.params, profile.waivers
    ));
    profile.sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile file in a directory of its own, removed when dropped.
    struct ProfileFile(PathBuf);

    impl std::ops::Deref for ProfileFile {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for ProfileFile {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn write(name: &str, text: &str) -> ProfileFile {
        let dir =
            std::env::temp_dir().join(format!("nodecheck-profile-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        ProfileFile(path)
    }

    #[test]
    fn builtins_load_and_differ() {
        let default = load("default").expect("default");
        let bastion = load("bastion").expect("bastion");
        let cis = load("cis").expect("cis");
        assert_eq!(bastion.role, Some(Role::Host));
        assert!(bastion.disabled.contains("sshd.exposure"));
        assert_eq!(
            bastion.severity.get("sshd.password-authentication"),
            Some(&Severity::Critical)
        );
        assert!(
            cis.params["sshd.ciphers"]
                .flag(&crate::checks::sshd::ciphers::CHACHA20_BEFORE_TERRAPIN_FIX)
        );
        assert_ne!(default.sha256, cis.sha256);
        assert_eq!(default.sha256.len(), 64);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_lines() {
        let path = write(
            "bad.toml",
            r#"extends = "default"
colour = "blue"
disable = ["sshd.banenr", 3]
[severity]
"sshd.kex" = "urgent"
[params."sshd.max-auth-tries"]
max = "four"
maxx = 3
[[waivers]]
check = "sshd.banner"
expires = "soon"
"#,
        );
        let err = load(&path.display().to_string()).expect_err("invalid");
        let text = err.to_string();
        let lines: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
        assert!(text.contains("unknown key `colour`"), "{text}");
        assert!(
            text.contains("unknown check `sshd.banenr`; did you mean `sshd.banner`?"),
            "{text}"
        );
        assert!(text.contains("must be a string, found integer"), "{text}");
        assert!(text.contains("unknown severity `urgent`"), "{text}");
        assert!(
            text.contains("`sshd.max-auth-tries.max` must be an integer, found string"),
            "{text}"
        );
        assert!(text.contains("has no parameter `maxx`"), "{text}");
        assert!(text.contains("`expires` must be a date"), "{text}");
        assert!(text.contains("needs a non-empty `reason`"), "{text}");
        assert!(
            lines.contains(&2) && lines.contains(&3) && lines.contains(&7) && lines.contains(&8),
            "{lines:?}"
        );
        assert!(err.problems.len() >= 8, "{text}");
    }

    #[test]
    fn expired_waivers_are_dropped_with_a_warning_and_live_ones_apply() {
        let path = write(
            "waivers.toml",
            r#"extends = "bastion"
[[waivers]]
check = "sshd.banner"
nodes = ["bastion-*"]
reason = "legal text pending"
expires = "2030-01-01"
[[waivers]]
check = "sshd.kex"
reason = "old clients"
expires = 2020-01-01
"#,
        );
        let profile = load_at(&path.display().to_string(), (2026, 11, 27)).expect("valid");
        assert_eq!(profile.name, "waivers");
        assert_eq!(profile.role, Some(Role::Host), "inherited from bastion");
        assert!(profile.waiver_for("sshd.banner", "bastion-1").is_some());
        assert!(profile.waiver_for("sshd.banner", "worker-1").is_none());
        assert!(profile.waiver_for("sshd.kex", "bastion-1").is_none());
        assert_eq!(profile.warnings.len(), 1);
        assert!(
            profile.warnings[0].contains("sshd.kex") && profile.warnings[0].contains("expired")
        );
    }

    #[test]
    fn missing_profile_names_the_builtins() {
        let err = load("nosuchprofile").expect_err("missing");
        assert!(
            err.to_string()
                .contains("built-in profiles: default, cis, bastion"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let path = write("syntax.toml", "name = \"x\"\ndisable = [\n");
        let err = load(&path.display().to_string()).expect_err("invalid");
        assert!(err.problems[0].message.starts_with("TOML syntax"), "{err}");
    }
}

//! The kube-apiserver area: checks on the apiserver's flags (from its process, or its
//! static pod manifest when the process is not visible), the admission plugins they leave on,
//! the files they name (its PKI directory included), the administrators' kubeconfigs beside
//! it, and its listeners.

pub mod admin_kubeconfig_permissions;
pub mod always_admit;
pub mod always_pull_images;
pub mod anonymous_auth;
pub mod audit_log;
pub mod audit_log_retention;
pub mod authorization_mode;
pub mod client_ca_file;
pub mod default_admission_plugins;
pub mod deny_external_ips;
pub mod encryption_at_rest;
pub mod etcd_tls;
pub mod event_rate_limit;
pub mod extend_token_expiration;
pub mod file_permissions;
pub mod insecure_serving;
pub mod kubelet_certificate_authority;
pub mod kubelet_client_cert;
pub mod node_restriction;
pub mod pki_permissions;
pub mod profiling;
pub mod service_account_key_file;
pub mod service_account_lookup;
pub mod tls_cert;
pub mod tls_cipher_suites;
pub mod token_auth_file;

use super::{Ctx, FlagChange, Remedy, Verdict};
use crate::facts::control_plane::{ApiServerFacts, ComponentArgs};
use nodecheck_report::{Evidence, Role, Source, Status};

pub const AREA: &str = "apiserver";
/// The program, as remedies name the component.
pub const NAME: &str = "kube-apiserver";
pub const ROLES: &[Role] = &[Role::ControlPlane];

/// The apiserver's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(ctx: &Ctx<'a>) -> Result<&'a ApiServerFacts, Verdict> {
    super::component_found(
        ctx.facts.apiserver.as_ref(),
        |apiserver| &apiserver.args,
        "kube-apiserver",
        "no kube-apiserver process or static pod manifest on this node",
    )
}

/// Evidence for one flag: its value and source, or its default.
pub fn flag_evidence(
    args: &ComponentArgs,
    name: &str,
    default: Option<&str>,
    expected: &str,
    pass: bool,
) -> Evidence {
    super::setting_evidence(args, name, default, "kube-apiserver", expected, pass)
}

/// `--name is value (source); expected …` for the failing items.
pub fn failing_message(failing: &[&Evidence], expected: &str) -> String {
    let parts: Vec<String> = failing
        .iter()
        .map(|e| match &e.observed {
            Some(v) => format!("{} is {v} ({})", e.subject, e.source),
            None => format!("{} is not set", e.subject),
        })
        .collect();
    format!("{}; expected {expected}", parts.join("; "))
}

/// Judges one flag against a predicate on its effective value (the default when unset).
pub fn judge_flag(
    ctx: &Ctx<'_>,
    name: &str,
    default: Option<&str>,
    expected: &str,
    pass: &dyn Fn(Option<&str>) -> bool,
) -> Verdict {
    let apiserver = match found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let value = apiserver.args.value(name).map(|(v, _)| v).or(default);
    let ok = pass(value);
    let item = flag_evidence(&apiserver.args, name, default, expected, ok);
    Verdict::from_evidence(
        vec![item],
        format!("--{name} is {}", value.unwrap_or("not set")),
        |failing| failing_message(failing, expected),
    )
}

/// Shared by the checks that need an item marked as an error.
pub fn error_item(subject: impl Into<String>, observed: String, source: Source) -> Evidence {
    Evidence {
        subject: subject.into(),
        observed: Some(observed),
        expected: "readable".into(),
        status: Status::Error,
        source,
        note: None,
    }
}

/// Admission plugins the kube-apiserver enables when neither `--enable-admission-plugins` nor
/// `--admission-control` names them (`DefaultOnAdmissionPlugins`,
/// pkg/kubeapiserver/options/plugins.go). Of those the checks judge, NamespaceLifecycle and
/// ServiceAccount are on by default; AlwaysAdmit, AlwaysPullImages, EventRateLimit,
/// DenyServiceExternalIPs and NodeRestriction are not.
pub const DEFAULT_ON_ADMISSION_PLUGINS: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

/// Whether an admission plugin is on, the way the kube-apiserver decides it, with the
/// evidence: the deprecated `--admission-control` is the whole list when set; otherwise the
/// default-on plugins plus `--enable-admission-plugins`, less `--disable-admission-plugins`.
pub fn admission_plugin(
    args: &ComponentArgs,
    plugin: &str,
    want_on: bool,
) -> (bool, Vec<Evidence>) {
    let named = |flag: &str| {
        args.list(flag)
            .map(|(list, source)| (list.iter().any(|p| p == plugin), source.clone()))
    };
    let expected_on = if want_on {
        format!("{plugin} on")
    } else {
        format!("{plugin} off")
    };
    let item = |flag: &str, observed: String, source: Source, on: bool| Evidence {
        subject: format!("--{flag}"),
        observed: Some(observed),
        expected: expected_on.clone(),
        status: if on == want_on {
            Status::Pass
        } else {
            Status::Fail
        },
        source,
        note: None,
    };
    let value = |flag: &str| {
        args.value(flag)
            .map_or(String::new(), |(v, _)| v.to_string())
    };
    if let Some((listed, source)) = named("admission-control") {
        return (
            listed,
            vec![item(
                "admission-control",
                value("admission-control"),
                source,
                listed,
            )],
        );
    }
    let enabled = named("enable-admission-plugins");
    let disabled = named("disable-admission-plugins");
    let default_on = DEFAULT_ON_ADMISSION_PLUGINS.contains(&plugin);
    let on = match (&enabled, &disabled) {
        (_, Some((true, _))) => false,
        (Some((true, _)), _) => true,
        _ => default_on,
    };
    let mut items = Vec::new();
    match &enabled {
        Some((_, source)) => items.push(item(
            "enable-admission-plugins",
            value("enable-admission-plugins"),
            source.clone(),
            on,
        )),
        None => items.push(item(
            "enable-admission-plugins",
            String::new(),
            Source::default_value(format!(
                "not set: {plugin} is {} by default",
                if default_on { "on" } else { "off" }
            )),
            on,
        )),
    }
    if let Some((_, source)) = &disabled {
        items.push(item(
            "disable-admission-plugins",
            value("disable-admission-plugins"),
            source.clone(),
            on,
        ));
    }
    (on, items)
}

/// The flag changes that turn `plugin` on (`want_on`) or off, from the failing items of an
/// admission-plugin verdict: added to or removed from `--enable-admission-plugins`, removed
/// from `--disable-admission-plugins`. The deprecated `--admission-control` replaces both
/// lists; it is left to the operator, since moving to the newer flags changes every plugin.
pub fn admission_fix(verdict: &Verdict, plugin: &str, want_on: bool) -> Vec<Remedy> {
    admission_fix_items(crate::checks::fix::failing(verdict), plugin, want_on)
}

/// [`admission_fix`] of failing evidence items about `plugin`.
pub fn admission_fix_items<'a>(
    failing: impl Iterator<Item = &'a Evidence>,
    plugin: &str,
    want_on: bool,
) -> Vec<Remedy> {
    let mut out = Vec::new();
    for item in failing {
        let change = match (item.subject.as_str(), want_on) {
            ("--admission-control", _) => {
                return vec![Remedy::NotHere {
                    why: "the deprecated --admission-control sets the whole plugin list: replace it with --enable-admission-plugins".into(),
                }];
            }
            ("--enable-admission-plugins", true) => {
                if DEFAULT_ON_ADMISSION_PLUGINS.contains(&plugin) {
                    continue;
                }
                ("enable-admission-plugins", FlagChange::AddTo(plugin.into()))
            }
            ("--enable-admission-plugins", false) => (
                "enable-admission-plugins",
                FlagChange::RemoveFrom(plugin.into()),
            ),
            ("--disable-admission-plugins", true)
                if item
                    .observed
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .any(|p| p.trim() == plugin) =>
            {
                (
                    "disable-admission-plugins",
                    FlagChange::RemoveFrom(plugin.into()),
                )
            }
            _ => continue,
        };
        out.push(Remedy::ComponentFlag {
            component: NAME,
            flag: change.0.into(),
            change: change.1,
        });
    }
    out
}

/// Judges whether an admission plugin is on (`want_on`) or off.
pub fn judge_admission_plugin(ctx: &Ctx<'_>, plugin: &str, want_on: bool) -> Verdict {
    let apiserver = match found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let (on, items) = admission_plugin(&apiserver.args, plugin, want_on);
    let state = if on { "on" } else { "off" };
    let wanted = if want_on { "on" } else { "off" };
    Verdict::from_evidence(
        items,
        format!("the {plugin} admission plugin is {state}"),
        |failing| {
            let sources: Vec<String> = failing.iter().map(|e| e.source.to_string()).collect();
            format!(
                "the {plugin} admission plugin is {state} ({}); expected {wanted}",
                sources.join("; ")
            )
        },
    )
}

/// Judges that every flag of `names` is set to a non-empty value.
pub fn judge_set(ctx: &Ctx<'_>, names: &[&str], what: &str) -> Verdict {
    let apiserver = match found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let items: Vec<Evidence> = names
        .iter()
        .map(|name| {
            let set = apiserver
                .args
                .value(name)
                .is_some_and(|(v, _)| !v.is_empty());
            flag_evidence(&apiserver.args, name, None, "set", set)
        })
        .collect();
    Verdict::from_evidence(items, format!("{what} is configured"), |failing| {
        failing_message(
            failing,
            &format!(
                "{} set",
                names
                    .iter()
                    .map(|n| format!("--{n}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        )
    })
}

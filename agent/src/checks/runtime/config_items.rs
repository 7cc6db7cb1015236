//! What the runtime configuration checks share: finding the configuration of the runtime the
//! kubelet uses, and one evidence item per setting judged (its value and the file that set
//! it, or the runtime's default).

use crate::checks::{Ctx, Verdict, evidence};
use crate::facts::FileFact;
use crate::facts::runtime::{Runtime, RuntimeConfig, RuntimeKind};
use nodecheck_report::{Evidence, Source, Status};

/// The configuration of `kind`, when it is the node's runtime; else the verdict to give.
pub fn runtime_config<'a>(
    ctx: &Ctx<'a>,
    kind: RuntimeKind,
) -> Result<(&'a RuntimeConfig, &'a Runtime), Verdict> {
    let Some(facts) = &ctx.facts.runtime else {
        return Err(Verdict::not_applicable(
            "no kubelet and no container runtime on this node",
        ));
    };
    let Some(runtime) = &facts.runtime else {
        return Err(Verdict::not_applicable(
            "no verified container runtime process runs on this node",
        ));
    };
    if runtime.kind != kind {
        return Err(Verdict::not_applicable(format!(
            "the node's runtime is {} (pid {}), not {}",
            runtime.kind.name(),
            runtime.pid,
            kind.name()
        )));
    }
    let config = match kind {
        RuntimeKind::Containerd => facts.containerd.as_ref(),
        RuntimeKind::CriO => facts.crio.as_ref(),
        RuntimeKind::CriDockerd => None,
    };
    config.map(|c| (c, runtime)).ok_or_else(|| {
        Verdict::not_applicable(format!("{}'s configuration is not judged", kind.name()))
    })
}

/// Evidence that only root may write `file` (a runtime's configuration, its directory, a
/// binary it runs): whoever may write it decides what every container runs with.
pub fn root_only(file: &FileFact, what: &str) -> Evidence {
    let source = Source::FileMetadata {
        path: file.path.clone(),
    };
    match &file.meta {
        Ok(m) => evidence(
            format!("{what} {}", file.path),
            Some(file.describe()),
            "root's, writable by root only",
            m.uid == 0 && m.mode & 0o022 == 0,
            source,
        ),
        Err(e) => Evidence {
            subject: format!("{what} {}", file.path),
            observed: Some(e.to_string()),
            expected: "root's, writable by root only".into(),
            status: Status::Error,
            source,
            note: None,
        },
    }
}

/// Evidence items for the settings of one configuration.
#[derive(Debug)]
pub struct ConfigItems<'a> {
    config: &'a RuntimeConfig,
    name: &'static str,
    items: Vec<Evidence>,
}

impl<'a> ConfigItems<'a> {
    pub fn new(config: &'a RuntimeConfig, name: &'static str) -> ConfigItems<'a> {
        ConfigItems {
            config,
            name,
            items: Vec::new(),
        }
    }

    /// Judges the setting at `path` with `ok`; unset, it is the runtime's `default`, which
    /// passes.
    pub fn judge(
        &mut self,
        path: &[String],
        expected: &str,
        default: &str,
        ok: impl Fn(&toml::Value) -> bool,
    ) {
        self.judge_with_default(path, expected, default, true, ok);
    }

    /// Judges a setting whose default (`default`, judged `default_ok`) may itself be wrong
    /// for this node.
    pub fn judge_with_default(
        &mut self,
        path: &[String],
        expected: &str,
        default: &str,
        default_ok: bool,
        ok: impl Fn(&toml::Value) -> bool,
    ) {
        let subject = path.join(".");
        let item = match self.config.settings.get(path) {
            Some(setting) => evidence(
                subject,
                Some(setting.shown()),
                expected,
                ok(&setting.value),
                setting.source.clone(),
            ),
            None => evidence(
                subject,
                Some(default.to_string()),
                expected,
                default_ok,
                Source::default_value(format!("not set: {} default", self.name)),
            ),
        };
        self.items.push(item);
    }

    /// Judges every runtime handler under `handlers_at` whose `runtime_type` (unset:
    /// `type_default`) `sandboxed` accepts: a sandbox (Kata's VM, gVisor) handed every host
    /// device by a privileged pod is no sandbox, so `privileged_without_host_devices` must be
    /// true there (its default is false in both runtimes).
    pub fn sandboxed_handlers(
        &mut self,
        handlers_at: &[&str],
        type_default: &str,
        sandboxed: impl Fn(&str) -> bool,
    ) {
        for handler in self.config.tables_under(handlers_at) {
            let key = |k: &str| {
                let mut path: Vec<String> = handlers_at.iter().map(|s| s.to_string()).collect();
                path.extend([handler.clone(), k.to_string()]);
                path
            };
            let runtime_type = self
                .config
                .settings
                .get(&key("runtime_type"))
                .and_then(|s| s.str())
                .unwrap_or(type_default)
                .to_string();
            if !sandboxed(&runtime_type) {
                continue;
            }
            let default = format!("false ({} default)", self.name);
            self.judge_with_default(
                &key("privileged_without_host_devices"),
                &format!("true (handler {handler} runs {runtime_type})"),
                &default,
                false,
                |v| v.as_bool() == Some(true),
            );
        }
    }

    /// The verdict: every setting as judged, and the configuration's problems as errors.
    pub fn verdict(mut self, runtime: &Runtime) -> Verdict {
        let files = if self.config.files.is_empty() {
            "no configuration file (defaults)".to_string()
        } else {
            self.config.files.join(", ")
        };
        for file in &self.config.file_facts {
            self.items.push(root_only(file, "configuration"));
        }
        for problem in &self.config.problems {
            self.items.push(Evidence {
                subject: format!("{} configuration", self.name),
                observed: Some(problem.clone()),
                expected: "every file read".into(),
                status: Status::Error,
                source: Source::Process {
                    pid: runtime.pid,
                    name: self.name.to_string(),
                },
                note: None,
            });
        }
        if let Some(first) = self.items.first_mut() {
            first.note = Some(format!("read: {files}"));
        }
        let name = self.name;
        Verdict::from_evidence(
            self.items,
            format!("{name}'s settings keep containers confined ({files})"),
            |failing| {
                let what: Vec<String> = failing
                    .iter()
                    .map(|e| {
                        format!(
                            "{} = {} ({})",
                            e.subject,
                            e.observed.as_deref().unwrap_or("?"),
                            e.source
                        )
                    })
                    .collect();
                format!("{name} weakens isolation: {}", what.join("; "))
            },
        )
    }
}

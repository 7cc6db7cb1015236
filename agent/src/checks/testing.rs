//! In-memory facts for check tests: no host is read.

use super::{Check, Params, Verdict};
use crate::facts::sshd::LoadedSshd;
use crate::facts::{Facts, FileFact, HostInfo, Listener, SshdFacts};
use crate::host::{EntryKind, FileError, FileMeta, UserDb};
use crate::parse::ssh_key::{KeyFamily, PublicKeyInfo};
use crate::parse::sshd::testing::{MemSource, debian_9_2};
use crate::parse::sshd::{self, CommandLine, ConnSpec, OpenSshVersion};
use nodecheck_report::{Role, Status};

/// Facts with nothing in them (a host with no sshd).
pub fn empty_facts() -> Facts {
    Facts {
        host: HostInfo::default(),
        processes: Vec::new(),
        listeners: Vec::new(),
        sshd: SshdFacts::NotInstalled {
            tried: vec!["/etc/ssh/sshd_config".into()],
        },
        kubelet: None,
        apiserver: None,
        etcd: None,
        controller_manager: None,
        scheduler: None,
        kube_proxy: None,
        cni: None,
        runtime: None,
        containers: Vec::new(),
        kernel: crate::facts::kernel::KernelFacts::unread(),
        lsm: crate::facts::lsm::LsmFacts::Unknown("not read".into()),
        detected_roles: vec![Role::Host],
        warnings: Vec::new(),
        ignored: Default::default(),
        incomplete: Vec::new(),
    }
}

/// Metadata of a file that exists.
pub fn file(path: &str, mode: u32, owner: &str, group: &str) -> FileFact {
    let id = |name: &str| if name == "root" { 0 } else { 1000 };
    FileFact {
        path: path.into(),
        meta: Ok(FileMeta {
            path: path.into(),
            resolved: path.into(),
            is_symlink: false,
            kind: EntryKind::File,
            mode,
            uid: id(owner),
            gid: id(group),
            size: 1,
        }),
        owner: owner.into(),
        group: group.into(),
    }
}

/// Metadata of a file that is missing.
pub fn missing(path: &str) -> FileFact {
    FileFact {
        path: path.into(),
        meta: Err(FileError::NotFound(path.into())),
        owner: String::new(),
        group: String::new(),
    }
}

/// Facts with an sshd configuration made of `files` (the first is the main file), every file
/// and host key `0600 root:root`, public keys `0644 root:root`.
pub fn sshd_facts(files: &[(&str, &str)]) -> Facts {
    sshd_facts_with(files, Some(debian_9_2()))
}

/// The same for the OpenSSH whose banner is `version` (`OpenSSH_10.0p2`).
pub fn sshd_facts_version(files: &[(&str, &str)], version: &str) -> Facts {
    sshd_facts_with(
        files,
        Some(OpenSshVersion::parse(version).expect("a version banner")),
    )
}

/// The same for an OpenSSH whose version is `version`, or unknown.
pub fn sshd_facts_with(files: &[(&str, &str)], version: Option<OpenSshVersion>) -> Facts {
    let source = MemSource::new(files);
    let config =
        sshd::load(&source, files[0].0, &CommandLine::default(), version).expect("main file");
    let global = config.evaluate(&ConnSpec::default(), &UserDb::default());
    let keys: Vec<String> = global
        .get("hostkey")
        .map(|s| s.values.clone())
        .unwrap_or_default();
    let newest = (!config.version_known).then(|| {
        let config = sshd::load_as(
            &source,
            files[0].0,
            &CommandLine::default(),
            OpenSshVersion::newest_known(),
            false,
        )
        .expect("main file");
        let global = config.evaluate(&ConnSpec::default(), &UserDb::default());
        (config, global)
    });
    let mut loaded = LoadedSshd {
        config_files: config
            .files
            .iter()
            .map(|f| file(f, 0o600, "root", "root"))
            .collect(),
        host_keys: keys
            .iter()
            .map(|k| file(k, 0o600, "root", "root"))
            .collect(),
        public_keys: keys
            .iter()
            .map(|k| file(&format!("{k}.pub"), 0o644, "root", "root"))
            .collect(),
        host_key_types: keys.iter().map(|k| stock_key_type(k)).collect(),
        host_certificates: Vec::new(),
        config,
        global,
        process: None,
        version_source: "test".into(),
        newest: None,
    };
    if let Some((config, global)) = newest {
        loaded.newest = Some(Box::new(LoadedSshd {
            config,
            global,
            ..loaded.clone()
        }));
    }
    Facts {
        sshd: SshdFacts::Loaded(Box::new(loaded)),
        ..empty_facts()
    }
}

/// What `ssh-keygen -A` makes for a conventionally named host key (RSA 3072, ECDSA P-256,
/// Ed25519); any other name has no public half.
pub fn stock_key_type(path: &str) -> Result<PublicKeyInfo, String> {
    let (algorithm, bits) = match KeyFamily::from_file_name(path) {
        Some(KeyFamily::Rsa) => ("ssh-rsa", 3072),
        Some(KeyFamily::Ecdsa) => ("ecdsa-sha2-nistp256", 256),
        Some(KeyFamily::Ed25519) => ("ssh-ed25519", 256),
        Some(KeyFamily::Dsa) => ("ssh-dss", 1024),
        _ => return Err(format!("{path}.pub: not found")),
    };
    Ok(PublicKeyInfo {
        algorithm: algorithm.into(),
        bits,
        certificate: false,
    })
}

/// Facts with `config` whose `HostCertificate` is an RSA-2048 certificate of a key that no
/// host key of the configuration matches (sshd ignores it).
pub fn with_orphan_certificate(config: &str) -> Facts {
    let mut facts = sshd_config(config);
    loaded_mut(&mut facts).host_certificates = vec![(
        "/etc/ssh/orphan-cert.pub".into(),
        Ok(PublicKeyInfo {
            algorithm: "ssh-rsa".into(),
            bits: 2048,
            certificate: true,
        }),
    )];
    facts
}

/// Whether the verdict's evidence item `index` has a note containing `needle`.
pub fn note_contains(verdict: &Verdict, index: usize, needle: &str) -> bool {
    verdict
        .evidence
        .get(index)
        .and_then(|e| e.note.as_deref())
        .is_some_and(|n| n.contains(needle))
}

/// The same with one configuration text as `/etc/ssh/sshd_config`.
pub fn sshd_config(text: &str) -> Facts {
    sshd_facts(&[("/etc/ssh/sshd_config", text)])
}

/// Mutable access to the loaded sshd facts.
pub fn loaded_mut(facts: &mut Facts) -> &mut LoadedSshd {
    match &mut facts.sshd {
        SshdFacts::Loaded(l) => l,
        _ => panic!("no sshd loaded"),
    }
}

/// Adds a listener owned by one process.
pub fn listener(facts: &mut Facts, endpoint: &str, pid: u32, program: &str) {
    let (addr, port) = endpoint.rsplit_once(':').expect("addr:port");
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    facts.listeners.push(Listener {
        protocol: "tcp",
        address: addr.parse().expect("ip"),
        port: port.parse().expect("port"),
        inode: 1,
        owners: vec![(pid, program.into())].into(),
        netns: "host".into(),
    });
}

/// Runs a check with its default parameters on `facts` with `roles`.
pub fn judge_with(check: &Check, facts: &Facts, roles: &[Role], params: &Params) -> Verdict {
    super::run(check, facts, params, roles)
}

/// Runs a check with its default parameters as a plain host.
pub fn judge(check: &Check, facts: &Facts) -> Verdict {
    judge_with(check, facts, &[Role::Host], &Params::defaults(&check.meta))
}

/// Asserts the status of the check for each configuration text, and that every non-pass
/// verdict says something and carries evidence.
pub fn assert_cases(check: &Check, cases: &[(&str, Status)]) {
    for (text, expected) in cases {
        let verdict = judge(check, &sshd_config(text));
        assert_eq!(
            verdict.status, *expected,
            "{} on {text:?}: {verdict:#?}",
            check.meta.id
        );
        assert!(!verdict.message.is_empty());
        if verdict.status == Status::Fail {
            assert!(
                verdict.evidence.iter().any(|e| e.status == Status::Fail),
                "a failing verdict names the failing item: {verdict:#?}"
            );
        }
    }
}

/// The common not-applicable and error cases of every sshd check.
pub fn assert_sshd_na_and_error(check: &Check) {
    let na = judge(check, &empty_facts());
    assert_eq!(na.status, Status::NotApplicable, "{}", check.meta.id);
    let refused = judge(
        check,
        &sshd_config("PermitRootLogin no\nNoSuchKeyword yes\n"),
    );
    assert_eq!(
        refused.status,
        Status::Error,
        "{}: {refused:#?}",
        check.meta.id
    );
    assert!(
        refused.message.contains("NoSuchKeyword"),
        "{}",
        refused.message
    );
}

/// The head every kubelet config file needs.
pub const KUBELET_HEAD: &str =
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";

/// Facts of a worker whose kubelet runs with `args` on a fixture root holding `files`.
pub fn kubelet_facts(files: &[(&str, &str)], args: &[&str]) -> Facts {
    let root = crate::host::testing::TempRoot::new();
    for (path, text) in files {
        root.file(path, text, 0o600);
    }
    let mut argv = vec!["/usr/bin/kubelet".to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let process = crate::facts::Process {
        pid: 4242,
        comm: "kubelet".into(),
        exe: Some("/usr/bin/kubelet".into()),
        cwd: Some("/".into()),
        argv,
        ..crate::facts::Process::default()
    };
    let host = root.host();
    let kubelet = crate::facts::kubelet::gather(&host, &[process], "node-1", None);
    Facts {
        kubelet,
        detected_roles: vec![Role::Worker],
        ..empty_facts()
    }
}

/// A kubelet with `--config=/var/lib/kubelet/config.yaml` holding `config` (after the head),
/// plus `extra` flags.
pub fn kubelet_config(config: &str, extra: &[&str]) -> Facts {
    let text = format!("{KUBELET_HEAD}{config}");
    let mut args = vec!["--config=/var/lib/kubelet/config.yaml"];
    args.extend_from_slice(extra);
    kubelet_facts(&[("/var/lib/kubelet/config.yaml", text.as_str())], &args)
}

/// Runs a check as a worker.
pub fn judge_worker(check: &Check, facts: &Facts) -> Verdict {
    judge_with(
        check,
        facts,
        &[Role::Worker],
        &Params::defaults(&check.meta),
    )
}

/// Asserts the status for each (config, extra flags) case, and the common not-applicable
/// (no kubelet) and error (refused configuration) cases.
pub fn assert_kubelet_cases(check: &Check, cases: &[(&str, &[&str], Status)]) {
    for (config, extra, expected) in cases {
        let verdict = judge_worker(check, &kubelet_config(config, extra));
        assert_eq!(
            verdict.status, *expected,
            "{} on {config:?} {extra:?}: {verdict:#?}",
            check.meta.id
        );
        assert!(!verdict.message.is_empty());
    }
    let na = judge_worker(check, &empty_facts());
    assert_eq!(na.status, Status::NotApplicable, "{}", check.meta.id);
}

/// A kubelet whose config file the kubelet would refuse: configuration checks are `error`.
pub fn assert_kubelet_refused_is_error(check: &Check) {
    let refused = judge_worker(check, &kubelet_config("readOnlyPort: \"zero\"\n", &[]));
    assert_eq!(
        refused.status,
        Status::Error,
        "{}: {refused:#?}",
        check.meta.id
    );
    assert!(
        refused.message.contains("kubelet would not start"),
        "{}",
        refused.message
    );
}

/// Facts of a control-plane node whose kube-apiserver runs with `args` on a fixture root
/// holding `files` (path, text).
pub fn apiserver_facts(files: &[(&str, &str)], args: &[&str]) -> Facts {
    control_plane_facts(files, "kube-apiserver", args)
}

/// The same for etcd.
pub fn etcd_facts(files: &[(&str, &str)], args: &[&str]) -> Facts {
    control_plane_facts(files, "etcd", args)
}

fn control_plane_facts(files: &[(&str, &str)], program: &str, args: &[&str]) -> Facts {
    let root = crate::host::testing::TempRoot::new();
    root.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\netcd:x:997:997::/var/lib/etcd:/usr/sbin/nologin\n",
        0o644,
    )
    .file("etc/group", "root:x:0:\netcd:x:997:\n", 0o644);
    for (path, text) in files {
        root.file(path, text, 0o600);
    }
    let mut argv = vec![program.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let process = crate::facts::Process {
        pid: 900,
        comm: program.into(),
        exe: Some(format!("/usr/local/bin/{program}")),
        cwd: Some("/".into()),
        argv,
        ..crate::facts::Process::default()
    };
    let host = root.host();
    let processes = [process];
    let dirs = crate::facts::components::manifest_dirs(None);
    Facts {
        apiserver: crate::facts::control_plane::apiserver(&host, &processes, &dirs, None),
        etcd: crate::facts::control_plane::etcd(&host, &processes, &dirs),
        detected_roles: vec![Role::ControlPlane],
        ..empty_facts()
    }
}

/// Runs a check as a control-plane node.
pub fn judge_control_plane(check: &Check, facts: &Facts) -> Verdict {
    judge_with(
        check,
        facts,
        &[Role::ControlPlane],
        &Params::defaults(&check.meta),
    )
}

/// Asserts the status for each kube-apiserver command line, and not-applicable without one.
pub fn assert_apiserver_cases(check: &Check, cases: &[(&[&str], Status)]) {
    assert_component_cases(check, cases, |args| apiserver_facts(&[], args));
}

/// Asserts the status for each etcd command line, and not-applicable without etcd.
pub fn assert_etcd_cases(check: &Check, cases: &[(&[&str], Status)]) {
    assert_component_cases(check, cases, |args| etcd_facts(&[], args));
}

/// Facts of a node where `kind` (the controller manager, scheduler or kube-proxy) runs with
/// `args` on a fixture root holding `files` (path, text).
pub fn component_facts(
    files: &[(&str, &str)],
    kind: &crate::facts::components::Kind,
    args: &[&str],
) -> Facts {
    use crate::facts::components;
    let root = crate::host::testing::TempRoot::new();
    root.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)
        .file("etc/group", "root:x:0:\n", 0o644);
    for (path, text) in files {
        root.file(path, text, 0o600);
    }
    let mut argv = vec![kind.name.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let process = crate::facts::Process {
        pid: 910,
        comm: kind.name.chars().take(15).collect(),
        exe: Some(format!("/usr/local/bin/{}", kind.name)),
        cwd: Some("/".into()),
        argv,
        ..crate::facts::Process::default()
    };
    let host = root.host();
    let dirs = components::manifest_dirs(None);
    let found = components::gather(&host, &[process], kind, &dirs, None);
    let mut facts = Facts {
        detected_roles: vec![Role::ControlPlane, Role::Worker],
        ..empty_facts()
    };
    match kind.name {
        "kube-controller-manager" => facts.controller_manager = found,
        "kube-scheduler" => facts.scheduler = found,
        _ => facts.kube_proxy = found,
    }
    facts
}

/// Asserts the status for each command line of `kind`, and not-applicable without it.
pub fn assert_kind_cases(
    check: &Check,
    kind: &crate::facts::components::Kind,
    cases: &[(&[&str], Status)],
) {
    assert_component_cases(check, cases, |args| component_facts(&[], kind, args));
}

/// Asserts the status for each command line of a control-plane component, and
/// not-applicable when the component is absent.
pub fn assert_component_cases(
    check: &Check,
    cases: &[(&[&str], Status)],
    facts_for: impl Fn(&[&str]) -> Facts,
) {
    for (args, expected) in cases {
        let verdict = judge_control_plane(check, &facts_for(args));
        assert_eq!(
            verdict.status, *expected,
            "{} on {args:?}: {verdict:#?}",
            check.meta.id
        );
        assert!(!verdict.message.is_empty());
    }
    let na = judge_control_plane(check, &empty_facts());
    assert_eq!(na.status, Status::NotApplicable, "{}", check.meta.id);
}

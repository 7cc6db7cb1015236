//! The Kubernetes manifests in packaging/kubernetes: valid against the schemas of the
//! supported Kubernetes versions (kubernetes-validate, from PyPI, which scripts/test.sh
//! installs), and holding the security properties the operator guide promises, so that an
//! edit cannot quietly widen what the agent or the collector may do.
//!
//! Without kubernetes-validate the schema part says why and is skipped, unless
//! `NODECHECK_REQUIRE_TOOLS=1`; the security properties are always checked.

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

const NODECHECK: &str = env!("CARGO_BIN_EXE_nodecheck");
/// The Kubernetes versions the manifests are checked against (oldest supported first).
const VERSIONS: &[&str] = &["1.30.0", "1.32.0", "1.34.0", "1.35.0"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/kubernetes")
}

/// Every Kubernetes object (not kustomizations) under packaging/kubernetes, with its file.
fn manifests() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("packaging dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && path.file_name().is_some_and(|n| n != "kustomization.yaml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn objects() -> Vec<(PathBuf, Yaml)> {
    manifests()
        .into_iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            YamlLoader::load_from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .into_iter()
                .filter(|doc| !doc.is_null())
                .map(move |doc| (path.clone(), doc))
        })
        .collect()
}

fn kind(doc: &Yaml) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name(doc: &Yaml) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn strings(list: &Yaml) -> Vec<String> {
    list.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// kubernetes-validate, or None (said why) when it is not installed and need not be.
fn validator() -> Option<PathBuf> {
    let validator = std::env::var_os("NODECHECK_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "kubernetes-validate".into());
    if Command::new(&validator).arg("--version").output().is_err() {
        assert!(
            std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "NODECHECK_REQUIRE_TOOLS=1 but kubernetes-validate is not installed (scripts/test.sh installs it)"
        );
        eprintln!("skipped: kubernetes-validate not installed (pip install kubernetes-validate)");
        return None;
    }
    Some(validator)
}

/// Validates `files` (strict) against every supported Kubernetes version.
fn validate_files(validator: &Path, files: &[PathBuf], what: &str) {
    for version in VERSIONS {
        let out = Command::new(validator)
            .args(["--strict", "--quiet", "-k", version])
            .args(files)
            .output()
            .expect("run kubernetes-validate");
        assert!(
            out.status.success(),
            "{what}, Kubernetes {version}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn manifests_are_valid_for_every_supported_kubernetes_version() {
    let Some(validator) = validator() else { return };
    let files = manifests();
    assert!(files.len() >= 6, "{files:?}");
    validate_files(&validator, &files, "the manifests");
    // The validator does catch mistakes: a misspelt field fails.
    let broken = std::env::temp_dir().join(format!("nodecheck-broken-{}.yaml", std::process::id()));
    std::fs::write(
        &broken,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  prots: []\n",
    )
    .expect("write");
    let out = Command::new(&validator)
        .args(["--strict", "--quiet", "-k", VERSIONS[0]])
        .arg(&broken)
        .output()
        .expect("run kubernetes-validate");
    let _ = std::fs::remove_file(&broken);
    assert!(
        !out.status.success(),
        "a misspelt field must fail validation"
    );
}

#[test]
fn every_kustomization_lists_files_that_exist() {
    let mut stack = vec![dir()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.file_name().is_none_or(|n| n != "kustomization.yaml") {
                continue;
            }
            seen += 1;
            let text = std::fs::read_to_string(&path).expect("read");
            let doc = &YamlLoader::load_from_str(&text).expect("yaml")[0];
            let listed = strings(&doc["resources"])
                .into_iter()
                .chain(strings(&doc["components"]));
            for resource in listed {
                let target = path.parent().expect("parent").join(&resource);
                assert!(
                    target.is_file() || target.join("kustomization.yaml").is_file(),
                    "{} lists {resource}, which is not there",
                    path.display()
                );
            }
        }
    }
    assert_eq!(
        seen, 7,
        "root, base, sqlite, postgres, components/plain-http, components/cert-manager, components/selinux"
    );
}

fn daemonset() -> Yaml {
    objects()
        .into_iter()
        .map(|(_, doc)| doc)
        .find(|doc| kind(doc) == "DaemonSet")
        .expect("the agent DaemonSet")
}

#[test]
fn the_agent_reads_the_host_with_the_least_it_needs() {
    let ds = daemonset();
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"].as_bool(), Some(true), "sees every process");
    assert_ne!(
        pod["hostNetwork"].as_bool(),
        Some(true),
        "not the host network"
    );
    assert_ne!(pod["hostIPC"].as_bool(), Some(true));
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    // Every node, control-plane nodes too.
    let tolerations = pod["tolerations"].as_vec().expect("tolerations");
    assert!(
        tolerations
            .iter()
            .any(|t| t["operator"].as_str() == Some("Exists") && t["key"].is_badvalue())
    );

    let containers = pod["containers"].as_vec().expect("containers");
    assert_eq!(containers.len(), 1);
    let agent = &containers[0];
    let security = &agent["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_ne!(security["privileged"].as_bool(), Some(true));
    assert_eq!(
        security["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    let mut added = strings(&security["capabilities"]["add"]);
    added.sort();
    assert_eq!(
        added,
        ["DAC_READ_SEARCH", "SYS_PTRACE"],
        "exactly these, each explained"
    );
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                agent["resources"][kind][resource].as_str().is_some(),
                "{kind}.{resource}"
            );
        }
    }
    // Probes on the agent's own status endpoints.
    assert_eq!(
        agent["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        agent["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    // NODE_NAME from the downward API.
    let env = agent["env"].as_vec().expect("env");
    let node_name = env
        .iter()
        .find(|e| e["name"].as_str() == Some("NODE_NAME"))
        .expect("NODE_NAME");
    assert_eq!(
        node_name["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("spec.nodeName")
    );

    // Host paths: each with a type; read-only, except the spool.
    let volumes = pod["volumes"].as_vec().expect("volumes");
    let mounts = agent["volumeMounts"].as_vec().expect("mounts");
    let mut host_paths = 0;
    for volume in volumes {
        let volume_name = volume["name"].as_str().expect("name");
        let mount = mounts
            .iter()
            .find(|m| m["name"].as_str() == Some(volume_name))
            .unwrap_or_else(|| panic!("volume {volume_name} is mounted"));
        if volume["hostPath"].is_badvalue() {
            continue;
        }
        host_paths += 1;
        assert!(
            volume["hostPath"]["type"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{volume_name} has a type"
        );
        let path = volume["hostPath"]["path"].as_str().expect("path");
        if path == "/var/lib/nodecheck" {
            assert_eq!(mount["mountPath"].as_str(), Some("/var/lib/nodecheck"));
        } else {
            assert_eq!(
                mount["readOnly"].as_bool(),
                Some(true),
                "{volume_name} is read-only"
            );
            assert_eq!(
                mount["mountPath"].as_str(),
                Some(format!("/host{path}").as_str()),
                "{volume_name} appears under --root=/host at its host path"
            );
            assert!(path != "/", "never the whole host");
        }
    }
    assert!(host_paths >= 2);
    // The token: projected, for the collector alone.
    let token = volumes
        .iter()
        .find(|v| !v["projected"].is_badvalue())
        .expect("a projected token");
    let source = &token["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(source["audience"].as_str(), Some("nodecheck"));
    assert!(
        source["expirationSeconds"]
            .as_i64()
            .is_some_and(|s| s <= 3600)
    );
}

#[test]
fn the_agents_arguments_are_ones_nodecheck_takes() {
    let ds = daemonset();
    let args = strings(&ds["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert_eq!(args.first().map(String::as_str), Some("agent"));
    let help = Command::new(NODECHECK)
        .args(["agent", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap_or(arg);
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag} <")),
            "{flag} in `nodecheck agent --help`"
        );
    }
    for needed in ["--root=/host", "--proc=/proc", "--listen=0.0.0.0:9101"] {
        assert!(args.iter().any(|a| a == needed), "{needed}");
    }
}

#[test]
fn the_collector_runs_unprivileged_and_may_do_little() {
    let objects = objects();
    let deployments: Vec<&Yaml> = objects
        .iter()
        .map(|(_, doc)| doc)
        .filter(|doc| kind(doc) == "Deployment")
        .collect();
    assert_eq!(
        deployments.len(),
        2,
        "the SQLite and the PostgreSQL variants"
    );
    for deployment in deployments {
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
        assert!(
            pod["securityContext"]["runAsUser"]
                .as_i64()
                .is_some_and(|u| u > 0)
        );
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"].as_str(),
            Some("RuntimeDefault")
        );
        assert_ne!(pod["hostPID"].as_bool(), Some(true));
        assert_ne!(pod["hostNetwork"].as_bool(), Some(true));
        let container = &pod["containers"][0];
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
        assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
        assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
        assert!(security["capabilities"]["add"].is_badvalue());
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"].as_str(),
            Some("/readyz")
        );
        assert!(
            container["resources"]["limits"]["memory"]
                .as_str()
                .is_some()
        );
        // A database password never stands in the manifest.
        let args = strings(&container["args"]).join(" ");
        assert!(!args.contains("postgres://"), "{args}");
        // Agents are taken on the Kubernetes API's word, each for its own node.
        assert!(
            args.contains("--kubernetes-agents=nodecheck/nodecheck-agent"),
            "{args}"
        );
    }
    // RBAC: only these verbs on these resources, no wildcard.
    let allowed: &[(&str, &str)] = &[
        ("tokenreviews", "create"),
        ("nodes", "get"),
        ("nodes", "list"),
        ("pods", "get"),
    ];
    for (_, role) in objects
        .iter()
        .filter(|(_, d)| matches!(kind(d), "ClusterRole" | "Role"))
    {
        for rule in role["rules"].as_vec().expect("rules") {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    assert!(
                        allowed.contains(&(resource.as_str(), verb.as_str())),
                        "{} may {verb} {resource}",
                        name(role)
                    );
                }
            }
        }
    }
    // Only agents and viewers reach the collector.
    let policy = objects
        .iter()
        .map(|(_, d)| d)
        .find(|d| kind(d) == "NetworkPolicy" && name(d) == "nodecheck-collector")
        .expect("NetworkPolicy");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
        Some("nodecheck-collector")
    );
    assert_eq!(strings(&policy["spec"]["policyTypes"]), ["Ingress"]);
    let ingress = policy["spec"]["ingress"].as_vec().expect("ingress");
    assert_eq!(ingress.len(), 1);
    let from = ingress[0]["from"].as_vec().expect("from");
    assert_eq!(from.len(), 2);
    assert_eq!(
        from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
        Some("nodecheck-agent")
    );
    assert_eq!(
        from[1]["namespaceSelector"]["matchLabels"]["nodecheck.io/viewer"].as_str(),
        Some("true")
    );
}

/// A unit file's `Key=value` lines (the last value of each key).
fn unit(name: &str) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(dir().join("../systemd").join(name)).expect("unit");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_systemd_units_are_hardened() {
    for name in ["nodecheck-agent.service", "nodecheck-collector.service"] {
        let u = unit(name);
        for (key, value) in [
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("ProtectKernelModules", "yes"),
            ("ProtectKernelTunables", "yes"),
            ("RestrictSUIDSGID", "yes"),
            ("MemoryDenyWriteExecute", "yes"),
            ("SystemCallFilter", "@system-service"),
            ("AmbientCapabilities", ""),
        ] {
            assert_eq!(u.get(key).map(String::as_str), Some(value), "{name}: {key}");
        }
        assert!(
            u.contains_key("CapabilityBoundingSet"),
            "{name}: an explicit bounding set"
        );
        assert!(
            u.contains_key("StateDirectory"),
            "{name}: its one writable directory"
        );
    }
    let agent = unit("nodecheck-agent.service");
    let mut caps: Vec<&str> = agent["CapabilityBoundingSet"].split_whitespace().collect();
    caps.sort();
    assert_eq!(caps, ["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"]);
    assert!(
        agent["RestrictAddressFamilies"].contains("AF_NETLINK"),
        "sock_diag"
    );
    let collector = unit("nodecheck-collector.service");
    assert_eq!(
        collector["CapabilityBoundingSet"], "",
        "no capability at all"
    );
    assert_ne!(collector["User"], "root");
    // A descriptor per client: the default soft limit of 1,024 is too few for a fleet.
    let files: u64 = collector
        .get("LimitNOFILE")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(files >= 65_536, "the collector's LimitNOFILE is {files}");
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "NODECHECK_REQUIRE_TOOLS=1 but systemd-analyze is not installed"
        );
        eprintln!("skipped: systemd-analyze not installed");
        return;
    }
    // The units name the installed binaries; here they run the ones just built. The man
    // pages they point to come with the package, so that line is checked there.
    let agent = PathBuf::from(NODECHECK);
    let collector = agent.with_file_name("nodecheck-collector");
    let work = std::env::temp_dir().join(format!("nodecheck-units-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("dir");
    let mut files = Vec::new();
    for name in ["nodecheck-agent.service", "nodecheck-collector.service"] {
        let text = std::fs::read_to_string(dir().join("../systemd").join(name)).expect("unit");
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("Documentation="))
            .map(|l| {
                l.replace(
                    "/usr/bin/nodecheck-collector ",
                    &format!("{} ", collector.display()),
                )
                .replace("/usr/bin/nodecheck ", &format!("{} ", agent.display()))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let path = work.join(name);
        std::fs::write(&path, text).expect("write");
        files.push(path);
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&files)
        .output()
        .expect("systemd-analyze");
    let _ = std::fs::remove_dir_all(&work);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

/// The Dockerfiles' stages: (FROM line, instructions after it).
fn stages(name: &str) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(dir().join("../docker").join(name)).expect("Dockerfile");
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    // Continuation lines belong to the instruction before them.
    let mut instruction = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        instruction.push_str(line.trim_end_matches('\\'));
        if line.ends_with('\\') {
            continue;
        }
        let done = std::mem::take(&mut instruction);
        if done.trim().is_empty() {
            continue;
        }
        if done.starts_with("FROM ") {
            stages.push((done, Vec::new()));
        } else if let Some((_, body)) = stages.last_mut() {
            body.push(done);
        }
    }
    stages
}

/// No Docker engine runs here (and no registry is reachable), so the images are not built in
/// CI (packaging/docker/build-offline.sh builds the same root filesystem with buildah); what
/// can be checked without building them is checked.
#[test]
fn the_images_ship_no_shell_and_the_collector_no_root() {
    for (file, binary, nonroot) in [
        ("agent.Dockerfile", "nodecheck", false),
        ("collector.Dockerfile", "nodecheck-collector", true),
    ] {
        let stages = stages(file);
        assert_eq!(stages.len(), 2, "{file}: a build stage and the shipped one");
        let (build_from, build) = &stages[0];
        assert!(build_from.ends_with(" AS build"), "{file}: {build_from}");
        assert!(
            build.iter().any(|i| i.starts_with("RUN ")
                && i.contains(&format!(
                    "packaging/docker/rootfs.sh target/release/{binary} /rootfs"
                ))),
            "{file}: the root filesystem from rootfs.sh"
        );
        let (from, body) = &stages[1];
        assert_eq!(
            from, "FROM scratch",
            "{file}: nothing but what rootfs.sh puts there"
        );
        assert!(
            !body.iter().any(|i| i.starts_with("RUN ")),
            "{file}: nothing runs in the final stage (there is no shell)"
        );
        assert!(
            body.iter().any(|i| i.starts_with("ARG VERSION")),
            "{file}: version argument"
        );
        assert!(
            body.iter()
                .any(|i| i.contains("org.opencontainers.image.version=\"${VERSION}\"")),
            "{file}: the version in a label"
        );
        assert!(
            body.iter().any(|i| i == "COPY --from=build /rootfs /"),
            "{file}: the root filesystem from the build stage"
        );
        if nonroot {
            assert!(body.iter().any(|i| i == "USER 65532:65532"), "{file}");
        }
    }
    let ignore = std::fs::read_to_string(dir().join("../../.dockerignore")).expect(".dockerignore");
    for excluded in ["target/", ".git/"] {
        assert!(
            ignore.lines().any(|l| l == excluded),
            ".dockerignore: {excluded}"
        );
    }
}

/// Nothing reaches the agent pods but a scraper the operator names (a namespace labelled
/// `nodecheck.io/metrics-scraper=true`), on the status port; the kubelet's probes come from the
/// node, which a NetworkPolicy always lets through. The agents serve no /metrics unless told.
#[test]
fn only_a_named_scraper_reaches_the_agents() {
    let objects = objects();
    let policy = objects
        .iter()
        .map(|(_, d)| d)
        .find(|d| kind(d) == "NetworkPolicy" && name(d) == "nodecheck-agent")
        .expect("the agents' NetworkPolicy");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
        Some("nodecheck-agent")
    );
    assert_eq!(strings(&policy["spec"]["policyTypes"]), ["Ingress"]);
    let ingress = policy["spec"]["ingress"].as_vec().expect("ingress");
    assert_eq!(ingress.len(), 1);
    let from = ingress[0]["from"].as_vec().expect("from");
    assert_eq!(from.len(), 1);
    assert_eq!(
        from[0]["namespaceSelector"]["matchLabels"]["nodecheck.io/metrics-scraper"].as_str(),
        Some("true")
    );
    assert_eq!(ingress[0]["ports"][0]["port"].as_str(), Some("status"));
    let args = strings(&daemonset()["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert!(!args.iter().any(|a| a == "--metrics"), "{args:?}");
}

/// Every image the project builds on or ships is pinned: no `:latest`, no reference without a
/// tag or digest, and the Rust build image at a full release (x.y.z). (Issue 12: the agent's
/// Dockerfile built from a `latest` base, and the manifests referenced images by tag only;
/// packaging/kubernetes/pin-images.sh pins them to digests for a release.)
#[test]
fn no_image_reference_floats() {
    let mut references: Vec<(String, String)> = Vec::new();
    for file in ["agent.Dockerfile", "collector.Dockerfile"] {
        let text = std::fs::read_to_string(dir().join("../docker").join(file)).expect("Dockerfile");
        let rust_version = text
            .lines()
            .find_map(|l| l.strip_prefix("ARG RUST_VERSION="))
            .expect("ARG RUST_VERSION");
        assert_eq!(
            rust_version
                .split('.')
                .filter(|p| p.parse::<u32>().is_ok())
                .count(),
            3,
            "{file}: RUST_VERSION {rust_version} names a release"
        );
        for (from, _) in stages(file) {
            let image = from
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .replace("${RUST_VERSION}", rust_version);
            references.push((file.to_string(), image));
        }
    }
    for (path, doc) in objects() {
        let spec = &doc["spec"]["template"]["spec"];
        for list in ["containers", "initContainers"] {
            for container in spec[list].as_vec().into_iter().flatten() {
                if let Some(image) = container["image"].as_str() {
                    references.push((path.display().to_string(), image.to_string()));
                }
            }
        }
    }
    assert!(references.len() >= 4, "{references:?}");
    for (source, image) in references {
        if image == "scratch" {
            continue;
        }
        let name = image.rsplit('/').next().unwrap_or_default();
        let pinned = image.contains("@sha256:")
            || name
                .split_once(':')
                .is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest");
        assert!(pinned, "{source}: {image} is not pinned to a version");
    }
}

/// packaging/kubernetes/pin-images.sh pins every image of the manifests to the digest given
/// for it, and refuses a list that misses one, names another tag, or gives no sha256 digest.
/// No registry is reachable here: the digests are made up.
#[test]
fn release_images_are_pinned_to_digests() {
    let script = dir().join("pin-images.sh");
    let work = std::env::temp_dir().join(format!("nodecheck-pin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work");
    let digest = |n: u32| format!("sha256:{n:064x}");
    let run = |list: &str, out: &str| {
        let digests = work.join(format!("{out}.digests"));
        std::fs::write(&digests, list).expect("digests");
        std::process::Command::new("bash")
            .arg(&script)
            .arg(&digests)
            .arg(work.join(out))
            .output()
            .expect("run pin-images.sh")
    };
    let agent = "ghcr.io/nodecheck/nodecheck";
    let collector = "ghcr.io/nodecheck/nodecheck-collector";
    let good = format!(
        "{agent}:0.1.0 {}\n{collector}:0.1.0 {}\n",
        digest(1),
        digest(2)
    );
    let out = run(&good, "good");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(work.join("good/kustomization.yaml")).expect("written");
    let doc = &YamlLoader::load_from_str(&text).expect("yaml")[0];
    let resource = doc["resources"][0].as_str().expect("resource");
    assert!(
        work.join("good")
            .join(resource)
            .join("kustomization.yaml")
            .is_file(),
        "{resource} is the installation"
    );
    let pinned: Vec<(String, String)> = doc["images"]
        .as_vec()
        .expect("images")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or_default().to_string(),
                i["digest"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        pinned.contains(&(agent.to_string(), digest(1))),
        "{pinned:?}"
    );
    assert!(
        pinned.contains(&(collector.to_string(), digest(2))),
        "{pinned:?}"
    );
    for (list, message) in [
        (
            format!("{agent}:0.1.0 {}\n", digest(1)),
            "no digest for ghcr.io/nodecheck/nodecheck-collector:0.1.0",
        ),
        (
            format!(
                "{agent}:0.1.0 sha256:abc\n{collector}:0.1.0 {}\n",
                digest(2)
            ),
            "is not sha256:<64 hex digits>",
        ),
        (
            format!(
                "{agent}:0.2.0 {}\n{collector}:0.1.0 {}\n",
                digest(1),
                digest(2)
            ),
            "another tag than the manifests'",
        ),
    ] {
        let out = run(&list, "bad");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{list}");
        assert!(stderr.contains(message), "{message} in {stderr}");
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// The objects of one installation as kustomize builds it without components: base and the
/// collector variant (`sqlite` or `postgres`).
fn installation(variant: &str) -> Vec<Yaml> {
    let variant_dir = dir().join(variant);
    objects()
        .into_iter()
        .filter(|(path, _)| path.starts_with(dir().join("base")) || path.starts_with(&variant_dir))
        .map(|(_, doc)| doc)
        .collect()
}

fn find<'a>(objects: &'a [Yaml], wanted_kind: &str, wanted_name: &str) -> &'a Yaml {
    objects
        .iter()
        .find(|d| kind(d) == wanted_kind && name(d) == wanted_name)
        .unwrap_or_else(|| panic!("{wanted_kind} {wanted_name}"))
}

/// Where `path` inside `pod` is mounted from: the volume of the mount whose mountPath holds it.
fn volume_of<'a>(pod: &'a Yaml, container: &Yaml, path: &str) -> &'a Yaml {
    let mount = container["volumeMounts"]
        .as_vec()
        .expect("mounts")
        .iter()
        .find(|m| {
            m["mountPath"]
                .as_str()
                .is_some_and(|at| Path::new(path).parent() == Some(Path::new(at)))
        })
        .unwrap_or_else(|| panic!("{path} is on a mounted volume"));
    assert_eq!(mount["readOnly"].as_bool(), Some(true), "{path} read-only");
    pod["volumes"]
        .as_vec()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mount's volume")
}

fn arg<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .find_map(|a| a.strip_prefix(flag)?.strip_prefix('='))
}

/// Issue 12: in the cluster the agents' bearer tokens never cross the pod network in clear.
/// The default installation serves HTTPS from the Secret `nodecheck-collector cert
/// --kubernetes` (or cert-manager) makes, probes over HTTPS, and the agents trust only the CA
/// from a ConfigMap; no agent pod mounts the collector's Secret (its node's kubelet could then
/// read the serving key).
#[test]
fn the_cluster_speaks_https_by_default_and_agents_trust_only_the_collectors_ca() {
    for variant in ["sqlite", "postgres"] {
        let objects = installation(variant);
        let deployment = find(&objects, "Deployment", "nodecheck-collector");
        let pod = &deployment["spec"]["template"]["spec"];
        let collector = &pod["containers"][0];
        let args = strings(&collector["args"]);
        let (listen, cert, key) = (
            arg(&args, "--listen").expect("--listen"),
            arg(&args, "--tls-cert").expect("--tls-cert"),
            arg(&args, "--tls-key").expect("--tls-key"),
        );
        let port: i64 = listen.rsplit(':').next().expect("port").parse().expect("n");
        for file in [cert, key] {
            let volume = volume_of(pod, collector, file);
            assert_eq!(
                volume["secret"]["secretName"].as_str(),
                Some("nodecheck-collector-tls"),
                "{variant}: {file}"
            );
            // 0440 at most, readable through the pod's fsGroup.
            assert_eq!(volume["secret"]["defaultMode"].as_i64(), Some(0o440));
            assert!(pod["securityContext"]["fsGroup"].as_i64().is_some());
        }
        let ports = collector["ports"].as_vec().expect("ports");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0]["containerPort"].as_i64(), Some(port));
        let port_name = ports[0]["name"].as_str().expect("name");
        for probe in ["livenessProbe", "readinessProbe"] {
            let get = &collector[probe]["httpGet"];
            assert_eq!(get["scheme"].as_str(), Some("HTTPS"), "{variant} {probe}");
            assert_eq!(get["port"].as_str(), Some(port_name));
        }
        let service = find(&objects, "Service", "nodecheck-collector");
        assert_eq!(
            service["spec"]["ports"][0]["targetPort"].as_str(),
            Some(port_name)
        );
        let service_port = service["spec"]["ports"][0]["port"].as_i64().expect("port");
        let policy = find(&objects, "NetworkPolicy", "nodecheck-collector");
        assert_eq!(
            policy["spec"]["ingress"][0]["ports"][0]["port"].as_str(),
            Some(port_name)
        );

        let agent_set = find(&objects, "DaemonSet", "nodecheck-agent");
        let agent_pod = &agent_set["spec"]["template"]["spec"];
        let agent = &agent_pod["containers"][0];
        let agent_args = strings(&agent["args"]);
        assert_eq!(
            arg(&agent_args, "--collector"),
            Some(format!("https://nodecheck-collector.nodecheck.svc:{service_port}").as_str())
        );
        let ca = arg(&agent_args, "--ca").expect("--ca");
        assert_eq!(
            volume_of(agent_pod, agent, ca)["configMap"]["name"].as_str(),
            Some("nodecheck-collector-ca")
        );
        for volume in agent_pod["volumes"].as_vec().expect("volumes") {
            assert!(volume["secret"].is_badvalue(), "the agent mounts no Secret");
        }
    }
}

/// `nodecheck-collector cert --kubernetes` makes the very objects the manifests mount, valid
/// for every supported Kubernetes version, for the names the agents connect to.
#[test]
fn the_cert_command_makes_what_the_manifests_mount() {
    let collector = Path::new(NODECHECK).with_file_name("nodecheck-collector");
    let out = Command::new(&collector)
        .args(["cert", "--kubernetes"])
        .output()
        .expect("run nodecheck-collector cert (cargo test --workspace builds it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let docs = YamlLoader::load_from_str(&text).expect("YAML");
    let secret = docs.iter().find(|d| kind(d) == "Secret").expect("a Secret");
    assert_eq!(name(secret), "nodecheck-collector-tls");
    assert_eq!(secret["type"].as_str(), Some("kubernetes.io/tls"));
    let pem = secret["stringData"]["tls.crt"].as_str().expect("tls.crt");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        secret["stringData"]["tls.key"]
            .as_str()
            .is_some_and(|k| k.contains("PRIVATE KEY"))
    );
    let config_map = docs
        .iter()
        .find(|d| kind(d) == "ConfigMap")
        .expect("a ConfigMap");
    assert_eq!(name(config_map), "nodecheck-collector-ca");
    assert!(
        !text
            .split("kind: ConfigMap")
            .nth(1)
            .expect("after")
            .contains("PRIVATE KEY")
    );
    for doc in [secret, config_map] {
        assert_eq!(doc["metadata"]["namespace"].as_str(), Some("nodecheck"));
    }
    validate(&text, "cert --kubernetes");
}

/// kubernetes-validate on `text` for every supported version (skipped as the schema test is).
fn validate(text: &str, what: &str) {
    let Some(validator) = validator() else { return };
    let file = std::env::temp_dir().join(format!(
        "nodecheck-validate-{}-{}.yaml",
        std::process::id(),
        what.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    ));
    std::fs::write(&file, text).expect("write");
    validate_files(&validator, std::slice::from_ref(&file), what);
    let _ = std::fs::remove_file(&file);
}

/// One step of a JSON pointer (RFC 6901).
fn pointer(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn child<'a>(node: &'a mut Yaml, token: &str) -> Result<&'a mut Yaml, String> {
    match node {
        Yaml::Hash(map) => map
            .get_mut(&Yaml::String(token.to_string()))
            .ok_or_else(|| format!("no key {token}")),
        Yaml::Array(list) => token
            .parse::<usize>()
            .ok()
            .and_then(|i| list.get_mut(i))
            .ok_or_else(|| format!("no index {token}")),
        _ => Err(format!("{token}: not a map or a list")),
    }
}

/// A JSON patch (RFC 6902) applied to a YAML document, as kustomize applies a Component's
/// `patches`: the operations test, replace, remove and add.
fn json_patch(doc: &mut Yaml, operations: &Yaml) -> Result<(), String> {
    for operation in operations.as_vec().ok_or("a list of operations")? {
        let op = operation["op"].as_str().ok_or("an op")?;
        let path = operation["path"].as_str().ok_or("a path")?;
        let mut tokens = pointer(path);
        let last = tokens.pop().ok_or("an empty path")?;
        let mut parent = &mut *doc;
        for token in &tokens {
            parent = child(parent, token).map_err(|e| format!("{path}: {e}"))?;
        }
        let value = operation["value"].clone();
        match op {
            "test" => {
                let found = child(parent, &last).map_err(|e| format!("{path}: {e}"))?;
                if *found != value {
                    return Err(format!("{path}: test failed: {found:?} is not {value:?}"));
                }
            }
            "replace" => *child(parent, &last).map_err(|e| format!("{path}: {e}"))? = value,
            "remove" => match parent {
                Yaml::Hash(map) => {
                    map.remove(&Yaml::String(last.clone()))
                        .ok_or(format!("{path}: nothing to remove"))?;
                }
                Yaml::Array(list) => {
                    let i: usize = last.parse().map_err(|_| format!("{path}: an index"))?;
                    (i < list.len())
                        .then(|| list.remove(i))
                        .ok_or(format!("{path}: nothing to remove"))?;
                }
                _ => return Err(format!("{path}: not a map or a list")),
            },
            "add" => match parent {
                Yaml::Hash(map) => {
                    map.insert(Yaml::String(last), value);
                }
                Yaml::Array(list) if last == "-" => list.push(value),
                Yaml::Array(list) => {
                    let i: usize = last.parse().map_err(|_| format!("{path}: an index"))?;
                    (i <= list.len())
                        .then(|| list.insert(i, value))
                        .ok_or(format!("{path}: beyond the end"))?;
                }
                _ => return Err(format!("{path}: not a map or a list")),
            },
            other => return Err(format!("{path}: op {other} not supported here")),
        }
    }
    Ok(())
}

/// A Component's patches applied to an installation's objects, by target kind and name.
fn with_component(objects: &mut [Yaml], component: &str) {
    let path = dir()
        .join("components")
        .join(component)
        .join("kustomization.yaml");
    let text = std::fs::read_to_string(&path).expect("component");
    let doc = &YamlLoader::load_from_str(&text).expect("yaml")[0];
    assert_eq!(kind(doc), "Component");
    for patch in doc["patches"].as_vec().expect("patches") {
        let target = &patch["target"];
        let operations = &YamlLoader::load_from_str(patch["patch"].as_str().expect("patch"))
            .expect("patch yaml")[0];
        let wanted = (target["kind"].as_str(), target["name"].as_str());
        let matched: Vec<&mut Yaml> = objects
            .iter_mut()
            .filter(|d| (Some(kind(d)), Some(name(d))) == wanted)
            .collect();
        assert_eq!(matched.len(), 1, "{component}: target {wanted:?}");
        for object in matched {
            json_patch(object, operations).unwrap_or_else(|e| panic!("{component}: {e}"));
        }
    }
}

fn emit(objects: &[Yaml]) -> String {
    let mut text = String::new();
    for object in objects {
        let mut one = String::new();
        yaml_rust2::YamlEmitter::new(&mut one)
            .dump(object)
            .expect("emit");
        text.push_str(&one);
        text.push('\n');
    }
    text
}

/// Plain HTTP is had only by naming components/plain-http, and then wholly: every patch of it
/// applies to both variants (its tests pin the positions it edits), the result is valid, and
/// nothing of TLS is left half on.
#[test]
fn plain_http_is_a_component_asked_for_by_name_and_leaves_no_tls_behind() {
    for variant in ["sqlite", "postgres"] {
        let mut objects = installation(variant);
        with_component(&mut objects, "plain-http");
        let deployment = find(&objects, "Deployment", "nodecheck-collector");
        let pod = &deployment["spec"]["template"]["spec"];
        let collector = &pod["containers"][0];
        let args = strings(&collector["args"]);
        assert_eq!(arg(&args, "--listen"), Some("0.0.0.0:8080"));
        assert!(
            !args.iter().any(|a| a.contains("tls")),
            "{variant}: {args:?}"
        );
        assert_eq!(collector["ports"][0]["containerPort"].as_i64(), Some(8080));
        for probe in ["livenessProbe", "readinessProbe"] {
            assert!(collector[probe]["httpGet"]["scheme"].is_badvalue());
            assert_eq!(collector[probe]["httpGet"]["port"].as_str(), Some("http"));
        }
        let volumes = emit(std::slice::from_ref(pod));
        assert!(!volumes.contains("nodecheck-collector-tls"), "{variant}");
        let agent_set = find(&objects, "DaemonSet", "nodecheck-agent");
        let agent_args = strings(&agent_set["spec"]["template"]["spec"]["containers"][0]["args"]);
        assert_eq!(
            arg(&agent_args, "--collector"),
            Some("http://nodecheck-collector.nodecheck.svc:8080")
        );
        assert!(arg(&agent_args, "--ca").is_none());
        assert!(!emit(std::slice::from_ref(agent_set)).contains("collector-ca"));
        let service = find(&objects, "Service", "nodecheck-collector");
        assert_eq!(service["spec"]["ports"][0]["port"].as_i64(), Some(8080));
        assert_eq!(
            service["spec"]["ports"][0]["targetPort"].as_str(),
            Some("http")
        );
        let policy = find(&objects, "NetworkPolicy", "nodecheck-collector");
        assert_eq!(
            policy["spec"]["ingress"][0]["ports"][0]["port"].as_str(),
            Some("http")
        );
        validate(&emit(&objects), &format!("{variant} with plain-http"));
    }
    // The patch harness is not a rubber stamp: a test on a position that moved fails.
    let mut objects = installation("sqlite");
    let deployment = objects
        .iter_mut()
        .find(|d| kind(d) == "Deployment")
        .expect("deployment");
    let operations = &YamlLoader::load_from_str(
        "- op: test\n  path: /spec/template/spec/containers/0/args/2\n  value: --listen=0.0.0.0:8443\n",
    )
    .expect("yaml")[0];
    assert!(json_patch(deployment, operations).is_err());
}

/// components/selinux adds SELinux's filesystem, read-only at its host path under /host, and
/// nothing else; the result is valid.
#[test]
fn the_selinux_component_mounts_only_selinuxfs_read_only() {
    let mut objects = installation("sqlite");
    let before = find(&objects, "DaemonSet", "nodecheck-agent").clone();
    with_component(&mut objects, "selinux");
    let after = find(&objects, "DaemonSet", "nodecheck-agent");
    let pod = &after["spec"]["template"]["spec"];
    let mounts = pod["containers"][0]["volumeMounts"]
        .as_vec()
        .expect("mounts");
    let mount = mounts.last().expect("a mount");
    assert_eq!(mount["mountPath"].as_str(), Some("/host/sys/fs/selinux"));
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let volume = pod["volumes"]
        .as_vec()
        .and_then(|v| v.last())
        .expect("a volume");
    assert_eq!(volume["hostPath"]["path"].as_str(), Some("/sys/fs/selinux"));
    assert_eq!(volume["hostPath"]["type"].as_str(), Some("Directory"));
    let count = |d: &Yaml, key: &str| {
        d["spec"]["template"]["spec"]["containers"][0][key]
            .as_vec()
            .map_or(0, Vec::len)
    };
    assert_eq!(
        count(after, "volumeMounts"),
        count(&before, "volumeMounts") + 1
    );
    assert_eq!(count(after, "args"), count(&before, "args"));
    validate(&emit(&objects), "sqlite with selinux");
}

/// components/cert-manager issues the Secret the manifests mount, for the names the agents
/// use, from a CA of its own; its objects are the cert-manager.io/v1 kinds it names.
#[test]
fn the_cert_manager_component_issues_what_the_collector_mounts() {
    let path = dir().join("components/cert-manager/certificates.yaml");
    let text = std::fs::read_to_string(&path).expect("certificates");
    let docs = YamlLoader::load_from_str(&text).expect("yaml");
    for doc in &docs {
        assert_eq!(doc["apiVersion"].as_str(), Some("cert-manager.io/v1"));
        assert_eq!(doc["metadata"]["namespace"].as_str(), Some("nodecheck"));
    }
    let serving = docs
        .iter()
        .find(|d| kind(d) == "Certificate" && name(d) == "nodecheck-collector")
        .expect("the serving certificate");
    assert_eq!(
        serving["spec"]["secretName"].as_str(),
        Some("nodecheck-collector-tls")
    );
    assert_ne!(serving["spec"]["isCA"].as_bool(), Some(true));
    assert_eq!(
        strings(&serving["spec"]["usages"]),
        ["digital signature", "server auth"]
    );
    let names = strings(&serving["spec"]["dnsNames"]);
    assert!(
        names
            .iter()
            .any(|n| n == "nodecheck-collector.nodecheck.svc"),
        "{names:?}"
    );
    // The serving certificate's issuer is the namespace's own CA, not the self-signer.
    let issuer = serving["spec"]["issuerRef"]["name"]
        .as_str()
        .expect("issuer");
    let ca_issuer = docs
        .iter()
        .find(|d| kind(d) == "Issuer" && name(d) == issuer)
        .expect("its issuer");
    let ca_secret = ca_issuer["spec"]["ca"]["secretName"]
        .as_str()
        .expect("a CA issuer");
    let ca = docs
        .iter()
        .find(|d| kind(d) == "Certificate" && d["spec"]["secretName"].as_str() == Some(ca_secret))
        .expect("the CA certificate");
    assert_eq!(ca["spec"]["isCA"].as_bool(), Some(true));
    let component =
        std::fs::read_to_string(dir().join("components/cert-manager/kustomization.yaml"))
            .expect("component");
    assert!(
        component.contains("nodecheck-collector-ca"),
        "says how the agents get the CA"
    );
}

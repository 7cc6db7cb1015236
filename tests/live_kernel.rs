//! The running kernel, as nodecheck reads it and as the kernel's own tools report it.
//!
//! - Every sysctl a kernel check judges is compared with `sysctl -n` (procps).
//! - In a new network namespace (`unshare -n`, as a DaemonSet pod without hostNetwork sees it)
//!   the `net.*` checks are not applicable and say why, never reporting the namespace's values
//!   as the node's; in new network and pid namespaces too (pid 1 is then not the host's init).
//! - With securityfs mounted in a private mount namespace (`unshare -m`), the active security
//!   modules come from the kernel's own list, and equal it.
//!
//! Needs root, procps's sysctl and util-linux's unshare; without them the test says why and
//! passes, unless NODECHECK_REQUIRE_TOOLS=1.

use serde_json::Value;
use std::io::Write;
use std::process::Command;

fn skip(reason: &str) {
    assert!(
        std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "NODECHECK_REQUIRE_TOOLS=1 but the live kernel test cannot run: {reason}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED live kernel test: {reason}");
}

fn prerequisites() -> Result<(), String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("id: {e}"))?;
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        return Err("needs root (namespaces, securityfs)".into());
    }
    for tool in ["sysctl", "unshare"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!("{tool} is not installed"));
        }
    }
    Ok(())
}

/// Runs nodecheck (through `prefix`, a namespace wrapper) on this machine.
fn scan(prefix: &[&str], only: &str) -> Value {
    let bin = env!("CARGO_BIN_EXE_nodecheck");
    let mut args: Vec<&str> = prefix.to_vec();
    args.extend([bin, "--format", "json", "--only", only]);
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run nodecheck");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn sysctls_match_the_kernel_and_net_is_judged_only_in_the_host_namespace() {
    if let Err(reason) = prerequisites() {
        return skip(&reason);
    }
    let report = scan(&[], "kernel");
    let mut compared = 0;
    for finding in findings(&report) {
        for item in finding["evidence"].as_array().cloned().unwrap_or_default() {
            let path = item["source"]["path"].as_str().unwrap_or_default();
            let Some(key) = path.strip_prefix("/proc/sys/") else {
                continue;
            };
            let key = key.replace('/', ".");
            let observed = item["observed"].as_str().unwrap_or_default();
            let sysctl = Command::new("sysctl")
                .args(["-n", &key])
                .output()
                .expect("sysctl");
            if !sysctl.status.success() {
                // A key this kernel lacks: nodecheck must say so, not invent a value.
                assert!(
                    observed.contains("not in this kernel") || observed.starts_with("absent"),
                    "{key}: sysctl has no value, nodecheck says {observed:?}"
                );
                continue;
            }
            let value = String::from_utf8_lossy(&sysctl.stdout).trim().to_string();
            // The kubelet check shows "<now> now; <next boot>".
            let running = observed.split(" now;").next().unwrap_or(observed);
            assert_eq!(running, value, "{key} ({})", finding["id"]);
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} sysctls compared");

    // A network namespace of its own: /proc/sys/net would show the namespace's values.
    let pod = scan(&["unshare", "--net"], "kernel");
    let net_checks = [
        "kernel.icmp-redirects",
        "kernel.ip-forward",
        "kernel.log-martians",
        "kernel.rp-filter",
        "kernel.source-route",
        "kernel.tcp-syncookies",
    ];
    for finding in findings(&pod) {
        let id = finding["id"].as_str().unwrap_or_default();
        if net_checks.contains(&id) {
            assert_eq!(finding["status"], "not_applicable", "{finding}");
            assert!(
                finding["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("network namespace of its own"),
                "{finding}"
            );
        }
    }
    // A pid namespace of its own too (a pod without hostPID): pid 1 is not the host's init,
    // so its network namespace proves nothing.
    let isolated = scan(
        &["unshare", "--net", "--pid", "--fork", "--mount-proc"],
        "kernel.rp-filter",
    );
    let finding = &findings(&isolated)[0];
    assert_eq!(finding["status"], "not_applicable", "{finding}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("pid namespace of its own"),
        "{finding}"
    );
    // The rest is the same kernel, judged the same.
    let status = |r: &Value, id: &str| {
        findings(r)
            .into_iter()
            .find(|f| f["id"] == id)
            .map(|f| f["status"].clone())
    };
    for id in [
        "kernel.kptr-restrict",
        "kernel.aslr",
        "kernel.link-protection",
    ] {
        assert_eq!(status(&report, id), status(&pod, id), "{id}");
    }
}

#[test]
fn security_modules_come_from_the_kernels_list() {
    if let Err(reason) = prerequisites() {
        return skip(&reason);
    }
    let bin = env!("CARGO_BIN_EXE_nodecheck");
    // A private mount namespace: the mount is gone when the shell exits.
    let script = format!(
        "mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security || exit 3; \
         cat /sys/kernel/security/lsm; echo; {bin} --format json --only lsm"
    );
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .output()
        .expect("unshare");
    if out.status.code() == Some(3) {
        return skip("securityfs cannot be mounted here");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (list, json) = text.split_once('\n').expect("lsm list, then the report");
    let report: Value = serde_json::from_str(json).expect("json");
    let mac = findings(&report)
        .into_iter()
        .find(|f| f["id"] == "lsm.mandatory-access-control")
        .expect("finding");
    let item = &mac["evidence"][0];
    assert_eq!(item["source"]["path"], "/sys/kernel/security/lsm", "{mac}");
    let modules: Vec<&str> = list.trim().split(',').collect();
    let active = modules.contains(&"apparmor") || modules.contains(&"selinux");
    assert_eq!(mac["status"], if active { "pass" } else { "fail" }, "{mac}");
    if !active {
        assert!(
            mac["message"]
                .as_str()
                .unwrap_or_default()
                .contains(list.trim()),
            "{mac}"
        );
    }
}

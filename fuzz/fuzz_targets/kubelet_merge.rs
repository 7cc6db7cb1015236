//! Fuzzes the kubelet's effective configuration: flags, a config file and two drop-ins from
//! the input (NUL-separated), merged the way the kubelet merges them, must give a model or
//! the problems the kubelet would refuse, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodecheck::host::Host;
use nodecheck::parse::kubelet::{self, KubeletInvocation};

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o600);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        let _ = builder.append_data(&mut header, name, *data);
    }
    builder.into_inner().unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == 0);
    let flags = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let config = parts.next().unwrap_or_default();
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let bytes = tar(&[
        ("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        ("etc/kubelet/config.yaml", config),
        ("etc/kubelet/conf.d/10-a.conf", first),
        ("etc/kubelet/conf.d/sub/20-b.conf", second),
    ]);
    let Ok(host) = Host::from_tar_bytes(&bytes) else {
        return;
    };
    let mut args: Vec<String> = vec![
        "--config=/etc/kubelet/config.yaml".into(),
        "--config-dir=/etc/kubelet/conf.d".into(),
    ];
    args.extend(flags.split(' ').filter(|a| !a.is_empty()).map(str::to_string));
    let invocation = KubeletInvocation {
        pid: Some(1),
        args,
        recovered: Vec::new(),
        cwd: Some("/".into()),
    };
    let config = kubelet::effective(&host, &invocation);
    let _ = config.get("readOnlyPort");
    let _ = config.is_refused();
});

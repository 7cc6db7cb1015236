//! Criterion benchmarks of a scan: the sshd area and a full scan of the machine running the
//! benchmark (read through the same host layer as `nodecheck`), the kernel, lsm and runtime
//! areas' facts alone, and the sshd model alone on Debian 12's stock configuration held in
//! memory.
//!
//! `cd bench && cargo bench`. `scripts/bench-sshd.sh` times the binary next to `sshd -T`.

use criterion::{Criterion, criterion_group, criterion_main};
use nodecheck::host::{Host, UserDb};
use nodecheck::parse::sshd::{self, CommandLine, ConnSpec, MemorySource, OpenSshVersion};
use nodecheck::scan::{ScanOptions, scan};
use std::hint::black_box;
use std::path::Path;

const DEBIAN_STOCK: &str = "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem sftp /usr/lib/openssh/sftp-server\n";

fn benches(c: &mut Criterion) {
    let profile = nodecheck::profile::load("default").expect("default profile");
    let options = |only: &[&str]| ScanOptions {
        node_name: "bench".into(),
        cluster: "bench".into(),
        only: only.iter().map(|s| s.to_string()).collect(),
        ..ScanOptions::default()
    };
    let sshd_only = options(&["sshd"]);
    let everything = options(&[]);
    c.bench_function("scan this machine, --only sshd", |b| {
        b.iter(|| {
            let host = Host::open(Path::new("/"), None).expect("open /");
            let facts = nodecheck::facts::gather(&host);
            black_box(scan(&facts, &profile, &sshd_only, nodecheck::time::now()))
        })
    });
    c.bench_function("full scan of this machine", |b| {
        b.iter(|| {
            let host = Host::open(Path::new("/"), None).expect("open /");
            let facts = nodecheck::facts::gather(&host);
            black_box(scan(&facts, &profile, &everything, nodecheck::time::now()))
        })
    });
    // The three Kubernetes areas on the kubeadm control-plane fixture (tar snapshot in memory).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hosts/kubeadm-control-plane");
    let snapshot = std::env::temp_dir().join(format!("nodecheck-bench-{}.tar.gz", std::process::id()));
    nodecheck::host::fixture::build_snapshot(&fixture, &snapshot).expect("fixture snapshot");
    let control_plane = Host::open(&snapshot, None).expect("open snapshot");
    let k8s_only = options(&["kubelet", "apiserver", "etcd"]);
    c.bench_function("kubelet + apiserver + etcd on the kubeadm control-plane fixture", |b| {
        b.iter(|| {
            let facts = nodecheck::facts::gather(&control_plane);
            black_box(scan(&facts, &profile, &k8s_only, nodecheck::time::now()))
        })
    });
    let _ = std::fs::remove_file(&snapshot);
    // The areas beneath Kubernetes (issue 15), each alone: what they add to a full scan.
    let live = Host::open(Path::new("/"), None).expect("open /");
    c.bench_function("kernel + lsm facts of this machine", |b| {
        b.iter(|| {
            black_box(nodecheck::facts::kernel::gather(&live));
            black_box(nodecheck::facts::lsm::gather(&live))
        })
    });
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hosts/debian-12-worker");
    let snapshot = std::env::temp_dir().join(format!("nodecheck-bench-d12-{}.tar.gz", std::process::id()));
    nodecheck::host::fixture::build_snapshot(&fixture, &snapshot).expect("fixture snapshot");
    let worker = Host::open(&snapshot, None).expect("open snapshot");
    let facts = nodecheck::facts::gather(&worker);
    c.bench_function("runtime facts of the Debian 12 worker fixture", |b| {
        b.iter(|| {
            black_box(nodecheck::facts::runtime::gather(
                &worker,
                &facts.processes,
                &facts.processes,
                facts.kubelet.as_ref(),
            ))
        })
    });
    let _ = std::fs::remove_file(&snapshot);
    if let Ok(status) = std::fs::read_to_string("/var/lib/dpkg/status") {
        c.bench_function("this machine's dpkg status: the runtime's packages", |b| {
            b.iter(|| {
                black_box(nodecheck::parse::dpkg::installed(
                    &status,
                    &["runc", "containerd", "containerd.io", "cri-o"],
                ))
            })
        });
    }
    let source = MemorySource::new(&[
        ("/etc/ssh/sshd_config", DEBIAN_STOCK),
        ("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\n"),
    ]);
    let version = OpenSshVersion::parse("OpenSSH_9.2p1 Debian-2+deb12u6");
    let users = UserDb::default();
    c.bench_function("sshd model: load and evaluate Debian 12 stock config", |b| {
        b.iter(|| {
            let config = sshd::load(
                &source,
                "/etc/ssh/sshd_config",
                &CommandLine::default(),
                version.clone(),
            )
            .expect("load");
            black_box(config.evaluate(&ConnSpec::default(), &users))
        })
    });
}

criterion_group!(scan_benches, benches);
criterion_main!(scan_benches);

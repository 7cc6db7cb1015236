#!/usr/bin/env bash
# The big-node benchmark: turns this machine into a node with 2,000 extra processes and
# 10,000 listening sockets, then times, in one run:
#   - a full `nodecheck scan` (every check), averaged over several runs, with its peak RSS;
#   - the shell-out approach existing tools take: one `ps`, `stat` or `ss` command per check
#     (kube-bench's node checks run `ps -fC`/`stat -c`/`ss` for each check), one pass;
# and prints the figures and the ratio. Everything it starts is killed by pid at the end.
# Usage: scripts/bench-big-node.sh [PROCESSES] [SOCKETS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
procs=${1:-2000}
sockets=${2:-10000}
runs=${3:-10}
cargo build --release -q -p nodecheck
bin=$PWD/target/release/nodecheck

source scripts/lib-big-node.sh
big_node "$procs" "$sockets"

echo "node: $(ls /proc | grep -c '^[0-9]') processes, $(( $(wc -l < /proc/net/tcp) - 1 + $(wc -l < /proc/net/tcp6) - 1 )) TCP sockets"

# nodecheck: mean wall time and peak RSS over $runs full scans.
python3 - "$bin" "$runs" <<'PY'
import resource, subprocess, sys, time
binary, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run([binary, "--format", "json", "--fail-on", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times.append(time.perf_counter() - start)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
times.sort()
mean = sum(times) / len(times)
print(f"nodecheck full scan: mean {mean*1000:.1f} ms, median {times[len(times)//2]*1000:.1f} ms over {runs} runs; peak RSS {rss/1024:.1f} MiB")
open("/tmp/nodecheck-bench-mean", "w").write(str(mean))
PY

# The shell-out approach: one command per check, as the existing tools run them.
checks=$("$bin" checks | awk '{print $1}')
start=$(date +%s%N)
for id in $checks; do
  case "$id" in
    *permissions*|*owner*) stat -c '%a %U:%G' /etc/kubernetes/manifests/etcd.yaml /var/lib/kubelet/config.yaml /etc/ssh/sshd_config >/dev/null 2>&1 || true ;;
    ports.*|*exposure*|*read-only*) ss -ltnup >/dev/null 2>&1 || true ;;
    containers.*) ps -eo pid,user,args >/dev/null 2>&1 || true ;;
    *) ps -ef | grep -v grep | grep -E "kubelet|kube-apiserver|etcd|sshd" >/dev/null 2>&1 || true ;;
  esac
done
end=$(date +%s%N)
python3 - "$(( (end - start) / 1000 ))" "$(echo "$checks" | wc -l)" <<'PY'
import sys
shell_us, count = int(sys.argv[1]), int(sys.argv[2])
mean = float(open("/tmp/nodecheck-bench-mean").read())
print(f"shell-out approach: {shell_us/1000:.1f} ms for {count} checks (one ps/stat/ss each)")
print(f"ratio shell-out / nodecheck: {shell_us/1e6/mean:.1f}x")
PY

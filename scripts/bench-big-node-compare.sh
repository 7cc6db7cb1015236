#!/usr/bin/env bash
# Two nodecheck binaries side by side on the big node (this machine plus 2,000 processes and
# 10,000 listening sockets): each full scan timed in turn, alternating, so that the VM's drift
# falls on both alike; prints each mean and median and the ratio. What a change costs a scan,
# measured in one sitting. Everything it starts is killed by pid at the end.
# Usage: scripts/bench-big-node-compare.sh OLD_BINARY NEW_BINARY [PROCESSES] [SOCKETS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
procs=${3:-2000}
sockets=${4:-10000}
runs=${5:-20}

source scripts/lib-big-node.sh
big_node "$procs" "$sockets"
echo "node: $(ls /proc | grep -c '^[0-9]') processes, $(( $(wc -l < /proc/net/tcp) - 1 + $(wc -l < /proc/net/tcp6) - 1 )) TCP sockets"

python3 - "$old" "$new" "$runs" <<'PY'
import statistics, subprocess, sys, time
old, new, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = {old: [], new: []}
def scan(binary):
    start = time.perf_counter()
    subprocess.run([binary, "--format", "json", "--fail-on", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start
for binary in (old, new):
    scan(binary)  # warm the page cache for both
for _ in range(runs):
    for binary in (old, new):
        times[binary].append(scan(binary))
for label, binary in (("old", old), ("new", new)):
    t = times[binary]
    print(f"{label} {binary}: mean {statistics.mean(t)*1000:.1f} ms, median {statistics.median(t)*1000:.1f} ms over {runs} runs")
print(f"new / old (median): {statistics.median(times[new]) / statistics.median(times[old]):.3f}")
PY

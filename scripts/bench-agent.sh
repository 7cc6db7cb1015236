#!/usr/bin/env bash
# The agent's resource benchmark: on the big node of scripts/bench-big-node.sh (this machine
# plus 2,000 processes and 10,000 listening sockets), runs `nodecheck agent` against a local
# collector at a short interval for a while, sampling its memory, and prints:
#   - the daemon's idle RSS (between scans: the median of the samples taken away from any
#     scan) and its peak (VmHWM);
#   - the peak RSS of its scans (each runs in a child process; the largest child's maxrss)
#     and the two together, what the pod holds at its fullest;
#   - CPU per scan (daemon and scan children) and the average CPU at the default 10-minute
#     interval, in millicores.
# Everything it starts is killed by pid at the end.
# Usage: scripts/bench-agent.sh [SECONDS] [INTERVAL] [PROCESSES] [SOCKETS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
interval=${2:-5s}
procs=${3:-2000}
sockets=${4:-10000}
cargo build --release -q -p nodecheck -p nodecheck-collector
bin=$PWD/target/release

source scripts/lib-big-node.sh
big_node "$procs" "$sockets"

work=$(mktemp -d)
pids_cleanup() { rm -rf "$work"; }
trap 'cleanup; pids_cleanup' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/nodecheck-collector" serve --data-dir "$work/collector" --listen "127.0.0.1:$port" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/collector/agent.token" ] && break; sleep 0.1; done
"$bin/nodecheck" agent --collector "http://127.0.0.1:$port" --token-file "$work/collector/agent.token" \
  --interval "$interval" --spool "$work/spool" --node-name bench 2>"$work/agent.log" &
agent=$!
pids+=($agent)

echo "node: $(ls /proc | grep -c '^[0-9]') processes; agent pid $agent, interval $interval, ${seconds}s"
python3 - "$agent" "$seconds" "$work/agent.log" <<'PY'
import os, sys, time
pid, seconds, log = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
tick = os.sysconf("SC_CLK_TCK")
def status(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
def cpu_seconds():
    # utime, stime, and cutime, cstime: the scan children the daemon has waited for.
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / tick
def child_peaks():
    # While a scan runs: its VmHWM, and its anonymous and file-backed resident memory.
    peak = anon = files = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children = open(f"/proc/{pid}/task/{task}/children").read().split()
        except OSError:
            continue
        for child in children:
            try:
                for line in open(f"/proc/{child}/status"):
                    key, _, value = line.partition(":")
                    if key == "VmHWM":
                        peak = max(peak, int(value.split()[0]))
                    elif key == "RssAnon":
                        anon = max(anon, int(value.split()[0]))
                    elif key == "RssFile":
                        files = max(files, int(value.split()[0]))
            except OSError:
                pass
    return peak, anon, files
def scans():
    return sum(1 for l in open(log) if "scanned report" in l or " scanned " in l)
time.sleep(0.5)
start_cpu, start = cpu_seconds(), time.monotonic()
samples = []  # (rss kB, scans so far)
scan_peak = scan_anon = scan_files = 0
while time.monotonic() - start < seconds:
    samples.append((status("VmRSS"), scans()))
    p, a, f = child_peaks()
    scan_peak, scan_anon, scan_files = max(scan_peak, p), max(scan_anon, a), max(scan_files, f)
    time.sleep(0.01)
elapsed = time.monotonic() - start
used = cpu_seconds() - start_cpu
done = scans()
peak = status("VmHWM")
# Idle: samples at least one sample away from a change in the scan count.
idle = [rss for i, (rss, n) in enumerate(samples)
        if 0 < i < len(samples) - 1 and samples[i - 1][1] == n == samples[i + 1][1]]
idle.sort()
idle_rss = idle[len(idle) // 2] if idle else float("nan")
per_scan = used / max(done, 1)
print(f"scans: {done} in {elapsed:.0f} s; CPU {used:.2f} s in all, {per_scan*1000:.0f} ms per scan")
print(f"daemon RSS: idle (median between scans) {idle_rss/1024:.1f} MiB, peak (VmHWM) {peak/1024:.1f} MiB")
daemon_files = status("RssFile")
# The scan maps the same binary: its file pages are shared with the daemon's, and a pod's
# memory counts them once. Together: the daemon's peak, the scan's own (anonymous) memory,
# and the binary pages only the scan touched.
together = peak + scan_anon + max(scan_files - daemon_files, 0)
print(f"scan process peak RSS (largest seen): {scan_peak/1024:.1f} MiB ({scan_anon/1024:.1f} MiB its own, the rest the binary's pages)")
print(f"daemon + scan at their peaks, shared pages once: {together/1024:.1f} MiB (counted twice: {(peak + scan_peak)/1024:.1f} MiB)")
print(f"average CPU at a 10-minute interval: {per_scan/600*1000:.3f} millicores "
      f"(at this run's interval: {used/elapsed*1000:.1f} millicores)")
PY
grep -c "uploaded" "$work/agent.log" | xargs -I{} echo "reports acknowledged by the collector: {}"

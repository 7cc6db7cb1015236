#!/usr/bin/env bash
# Times nodecheck next to the tools it replaces, in one run, and prints the ratios:
#   - `nodecheck --only sshd` (the whole sshd judgement: process table, listeners, config,
#     includes, defaults, keys) against one `sshd -T` process (which only prints the config);
#   - a full `nodecheck` scan of this machine.
# Needs root and openssh-server (sshd -T loads the host keys). Usage: scripts/bench-sshd.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release -q -p nodecheck
bin=target/release/nodecheck
mkdir -p /run/sshd

time_runs() { # prints mean microseconds of running "$@" $runs times
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  echo $(( (end - start) / runs / 1000 ))
}

"$bin" --only sshd >/dev/null 2>&1 || true   # warm the page cache
sshd_t=$(time_runs /usr/sbin/sshd -T)
ours_sshd=$(time_runs "$bin" --only sshd --format json)
ours_full=$(time_runs "$bin" --format json)
echo "runs per command:              $runs"
echo "sshd -T:                       ${sshd_t} us"
echo "nodecheck --only sshd:         ${ours_sshd} us"
echo "nodecheck full scan:           ${ours_full} us"
awk -v a="$sshd_t" -v b="$ours_sshd" 'BEGIN { printf "ratio sshd -T / nodecheck sshd: %.2fx\n", a / b }'

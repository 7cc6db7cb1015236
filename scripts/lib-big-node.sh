# Shared by the benchmarks: turns this machine into a big node. `big_node PROCESSES SOCKETS`
# starts that many sleeping processes and a Python process holding that many listening
# sockets on loopback; everything started is in `pids` and killed by pid when the calling
# script exits (add to `pids` to have more killed).
# shellcheck shell=bash

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

big_node() {
  local procs=$1 sockets=$2 ready
  ulimit -n "$(( sockets + 1000 ))"
  ready=$(mktemp)
  python3 - "$sockets" "$ready" <<'PY' &
import socket, sys, time
count, ready = int(sys.argv[1]), sys.argv[2]
held = []
port = 20000
while len(held) < count:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        held.append(s)
    except OSError:
        s.close()
    port += 1
open(ready, "w").write("ready")
time.sleep(3600)
PY
  pids+=($!)
  for _ in $(seq "$procs"); do sleep 3600 & pids+=($!); done
  for _ in $(seq 600); do [ -s "$ready" ] && break; sleep 0.1; done
  [ -s "$ready" ] || { echo "sockets not ready" >&2; exit 1; }
  rm -f "$ready"
}

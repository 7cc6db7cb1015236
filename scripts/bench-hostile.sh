#!/usr/bin/env bash
# Time and peak memory of the scanner on each hostile root of tests/hostile.rs (the roots are
# written by its ignored `write_hostile_roots` test, so the benchmark judges exactly what the
# test suite asserts on). Prints one line per case and whether it stays under 2 s and 64 MiB
# on this machine; exits 1 when one does not.
# Usage: scripts/bench-hostile.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release -q -p nodecheck
bin=$PWD/target/release/nodecheck
dir=$(mktemp -d /tmp/nodecheck-bench-hostile.XXXXXX)
trap 'rm -rf "$dir"' EXIT
NODECHECK_HOSTILE_DIR="$dir" cargo test -q -p nodecheck --test hostile -- --ignored write_hostile_roots >/dev/null

printf '%-20s %10s %12s %6s  %s\n' case "time (s)" "peak RSS" exit verdict
status=0
while IFS=$'\t' read -r name root extra; do
    best_time=""
    best_rss=0
    code=0
    for _ in $(seq "$runs"); do
        # shellcheck disable=SC2086 # extra holds separate arguments
        /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" --root "$root" --format json $extra \
            >/dev/null 2>"$dir/stderr" && code=0 || code=$?
        # GNU time writes "Command exited with non-zero status N" first when it did.
        read -r seconds kib < <(tail -n 1 "$dir/time")
        if [ -z "$best_time" ] || awk "BEGIN { exit !($seconds < $best_time) }"; then
            best_time=$seconds
        fi
        [ "$kib" -gt "$best_rss" ] && best_rss=$kib
    done
    mib=$(awk "BEGIN { printf \"%.1f\", $best_rss / 1024 }")
    verdict=ok
    if awk "BEGIN { exit !($best_time >= 2 || $mib >= 64) }"; then
        verdict="OVER (2 s / 64 MiB)"
        status=1
    fi
    printf '%-20s %10s %9s MiB %6s  %s\n' "$name" "$best_time" "$mib" "$code" "$verdict"
done < "$dir/cases.tsv"
exit $status

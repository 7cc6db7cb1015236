#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Debian packages (and the PyPI tools)
# the tests need when they are missing, then runs every test with nothing skipped (NODECHECK_REQUIRE_TOOLS=1 turns a
# test's "real program not available" skip into a failure), plus formatting and lints.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
# patch(1) applies `nodecheck remediate --format diff` (tests/remediate.rs, remediate::diff).
[ -x /usr/bin/patch ] || need+=(patch)
[ -x /usr/bin/etcd ] || need+=(etcd-server)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# A real python3 binary (not a shim): tests copy it to stand in for impostor processes.
[ -x /usr/bin/python3.11 ] || need+=(python3.11)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v buildah >/dev/null || need+=(buildah)
# promtool and the Prometheus server check packaging/monitoring (tests/monitoring.rs).
{ command -v promtool && command -v prometheus; } >/dev/null || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing ${need[*]}; run as root or install them with apt-get" >&2
    exit 2
  fi
  echo "scripts/test.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting a real sshd or PostgreSQL on this machine
  # (the tests start their own, on loopback; only our policy-rc.d is removed afterwards).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# kubernetes-validate (PyPI) checks the Kubernetes manifests against each supported version's
# schemas; it lives in a virtualenv under target/, made once.
venv=target/ci-venv
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  echo "scripts/test.sh: installing kubernetes-validate into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'kubernetes-validate==1.37.0'
fi
export NODECHECK_KUBERNETES_VALIDATE="$PWD/$venv/bin/kubernetes-validate"
# ssh-audit (PyPI; Debian's is 2.5.0) is the second oracle of the sshd crypto policy
# (tests/sshd_kexinit.rs), in the same virtualenv.
if [ ! -x "$venv/bin/ssh-audit" ]; then
  echo "scripts/test.sh: installing ssh-audit into $venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check 'ssh-audit==3.9.0'
fi
export NODECHECK_SSH_AUDIT="$PWD/$venv/bin/ssh-audit"

export NODECHECK_REQUIRE_TOOLS=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The Debian package: built, installed on this machine, checked and purged; the container
# images: assembled with buildah and checked (both need root).
if [ "$(id -u)" -eq 0 ]; then
  packaging/debian/test-package.sh
  packaging/docker/build-offline.sh
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
  buildah --storage-driver vfs rmi "localhost/nodecheck:$version" "localhost/nodecheck-collector:$version" >/dev/null
else
  echo "scripts/test.sh: not root, so the Debian package is not installed and checked" >&2
  [ "${CI:-}" != "true" ] || exit 2
fi

# Fuzzing: every cargo-fuzz target of fuzz/ for NODECHECK_FUZZ_SECONDS (default 60) each,
# starting from its committed corpus. cargo-fuzz comes from crates.io; the fuzzers need a
# nightly compiler: the machine's nightly toolchain when it has one, else the stable one with
# RUSTC_BOOTSTRAP=1 (the same compiler features; no toolchain can be downloaded here).
fuzz_seconds=${NODECHECK_FUZZ_SECONDS:-60}
fuzz_skip() {
  if [ "${NODECHECK_REQUIRE_TOOLS:-}" = 1 ]; then
    echo "scripts/test.sh: cannot fuzz: $1" >&2
    exit 2
  fi
  echo "scripts/test.sh: SKIPPED fuzzing: $1" >&2
}
if ! command -v cargo-fuzz >/dev/null; then
  echo "scripts/test.sh: installing cargo-fuzz" >&2
  cargo install -q --locked cargo-fuzz@0.13.2 || true
fi
if ! command -v cargo-fuzz >/dev/null; then
  fuzz_skip "cargo-fuzz is not installed and could not be"
else
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
  else
    fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
  fi
  for target in $("${fuzz[@]}" list); do
    echo "scripts/test.sh: fuzzing $target for ${fuzz_seconds}s" >&2
    log=target/fuzz-$target.log
    mkdir -p target
    if ! "${fuzz[@]}" run "$target" -- -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
      tail -n 60 "$log" >&2
      echo "scripts/test.sh: fuzz target $target failed (crash input under fuzz/artifacts/$target)" >&2
      exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units)' "$log" >&2 || true
  done
fi


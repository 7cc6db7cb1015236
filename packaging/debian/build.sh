#!/usr/bin/env bash
# Builds the Debian package (both binaries, the systemd units, the built-in profiles, man
# pages) into target/debian/ with cargo-deb, installing cargo-deb first when missing.
# Usage: packaging/debian/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
cargo build --release --locked -p nodecheck -p nodecheck-collector
rm -rf target/release/man && mkdir -p target/release/man
target/release/nodecheck generate-man target/release/man 2>/dev/null
target/release/nodecheck-collector generate-man target/release/man
gzip -9n target/release/man/*.1
cargo deb --no-build --locked --strip -p nodecheck

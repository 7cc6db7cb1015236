#!/usr/bin/env bash
# Builds the Debian package, installs it on this machine, checks what it installed, and
# purges it again. Run as root (scripts/test.sh runs it in CI).
set -euo pipefail
cd "$(dirname "$0")/../.."
packaging/debian/build.sh
deb=$(ls -t target/debian/nodecheck_*.deb | head -1)
echo "packaging/debian/test-package.sh: installing $deb" >&2
dpkg-deb --info "$deb" >/dev/null
# apt resolves the package's dependencies (adduser) as a user's installation would.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null
trap 'dpkg --purge nodecheck >/dev/null 2>&1 || true' EXIT
fail() { echo "package check failed: $*" >&2; exit 1; }
nodecheck --version | grep -q '^nodecheck ' || fail "nodecheck --version"
nodecheck-collector --version | grep -q '^nodecheck-collector ' || fail "nodecheck-collector --version"
for unit in nodecheck-agent nodecheck-collector; do
  [ -f "/lib/systemd/system/$unit.service" ] || fail "$unit.service not installed"
  [ -f "/etc/default/$unit" ] || fail "/etc/default/$unit not installed"
done
# With the man pages installed, the units verify whole (Documentation= included).
systemd-analyze verify /lib/systemd/system/nodecheck-agent.service /lib/systemd/system/nodecheck-collector.service 2>&1 | tee /tmp/nodecheck-verify.$$ >&2
[ ! -s /tmp/nodecheck-verify.$$ ] || { rm -f /tmp/nodecheck-verify.$$; fail "systemd-analyze verify"; }
rm -f /tmp/nodecheck-verify.$$
for page in nodecheck nodecheck-agent nodecheck-push nodecheck-fleet nodecheck-collector nodecheck-collector-serve; do
  [ -f "/usr/share/man/man1/$page.1.gz" ] || fail "man page $page"
done
for profile in default cis bastion; do
  [ -f "/usr/share/nodecheck/profiles/$profile.toml" ] || fail "profile $profile"
  nodecheck --profile "/usr/share/nodecheck/profiles/$profile.toml" --fail-on none --only sshd >/dev/null || fail "profile $profile does not load"
done
getent passwd nodecheck-collector >/dev/null || fail "user nodecheck-collector"
# The installed binary scans this machine.
nodecheck --format json --fail-on none | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["schema"]=="nodecheck.report/v1"' || fail "scan"
dpkg -L nodecheck | grep -c . | xargs -I{} echo "packaging/debian/test-package.sh: nodecheck installed {} paths; all checks passed" >&2

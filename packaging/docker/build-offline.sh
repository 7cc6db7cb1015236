#!/usr/bin/env bash
# Builds the two images without a registry or a container engine: buildah assembles each from
# scratch out of the release binary and the few glibc files it links (packaging/docker/rootfs.sh,
# the same root filesystem the Dockerfiles ship), then checks what it built:
#   - no shell and no package manager in the image;
#   - the collector's user is 65532, the agent's is root (its capabilities are cut in the pod);
#   - the version in the OCI labels;
#   - the binary runs from the image's own root filesystem (chroot), so nothing is missing.
# Running the images with podman needs a runtime allowed to set rlimits, which this CI's
# sandbox refuses; chroot checks the same thing: the image is enough for its binary.
# Usage (root): packaging/docker/build-offline.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)}
export STORAGE_DRIVER=vfs
b() { buildah --storage-driver vfs "$@"; }
fail() { echo "image check failed: $*" >&2; exit 1; }
[ -x target/release/nodecheck ] && [ -x target/release/nodecheck-collector ] \
  || cargo build --release --locked -p nodecheck -p nodecheck-collector

build_image() {
  local name=$1 user=$2 description=$3
  shift 3
  local container mount
  container=$(b from scratch)
  mount=$(b mount "$container")
  packaging/docker/rootfs.sh "target/release/$name" "$mount"
  # Checks on the assembled root filesystem.
  for forbidden in bin/sh bin/bash usr/bin/sh usr/bin/apt usr/bin/apt-get usr/bin/dpkg usr/bin/rpm usr/bin/yum usr/bin/apk; do
    [ ! -e "$mount/$forbidden" ] || fail "$name image has /$forbidden"
  done
  chroot --userspec="$user" "$mount" "/usr/bin/$name" --version | grep -q "^$name $version" \
    || fail "$name does not run from its image as $user"
  b config --user "$user" \
    --entrypoint "[\"/usr/bin/$name\"]" \
    --label org.opencontainers.image.title="$name" \
    --label org.opencontainers.image.description="$description" \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    "$@" "$container"
  b umount "$container" >/dev/null
  b commit --quiet --rm "$container" "localhost/$name:$version" >/dev/null
  [ "$(b inspect --format '{{.OCIv1.Config.User}}' "localhost/$name:$version")" = "$user" ] \
    || fail "$name image user"
  [ "$(b inspect --format '{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}' "localhost/$name:$version")" = "$version" ] \
    || fail "$name image version label"
  echo "packaging/docker/build-offline.sh: localhost/$name:$version ($(b inspect --format '{{.OCIv1.Config.User}}' "localhost/$name:$version"), $(du -sh "target/release/$name" | cut -f1) binary before strip)" >&2
}

build_image nodecheck 0:0 "Kubernetes node hardening agent and scanner" --cmd '["agent"]'
build_image nodecheck-collector 65532:65532 "nodecheck's fleet collector" \
  --cmd '["serve","--listen=0.0.0.0:8080","--data-dir=/var/lib/nodecheck-collector"]' --port 8080

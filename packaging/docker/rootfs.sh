#!/bin/sh
# The root filesystem of a nodecheck image: the stripped binary, the shared objects it loads
# and nothing else (no shell, no package manager: what nodecheck flags in other containers),
# with /etc/passwd naming root and nonroot (65532) and a sticky /tmp. The Dockerfiles build it
# in their Rust stage and ship it FROM scratch; packaging/docker/build-offline.sh builds it
# into a buildah container, without a registry.
# Usage: packaging/docker/rootfs.sh BINARY DIR
set -eu
binary=$1
root=$2
name=$(basename "$binary")
mkdir -p "$root/usr/bin" "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
install -m 0755 "$binary" "$root/usr/bin/$name"
strip "$root/usr/bin/$name"
ldd "$binary" | grep -o '/[^ ]*' | while read -r library; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"

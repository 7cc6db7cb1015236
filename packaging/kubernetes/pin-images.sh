#!/usr/bin/env bash
# Pins the images of the manifests to digests for a release: writes a kustomization that takes
# an installation (default: packaging/kubernetes, the SQLite one) and replaces each image's
# tag with the digest the registry gave it, so what runs is what was built and tested, whatever
# the tag later points to.
#
# Usage: packaging/kubernetes/pin-images.sh DIGESTS OUT_DIR [BASE]
#   DIGESTS  lines "IMAGE:TAG sha256:<64 hex digits>", one per image the manifests use
#            (as `crane digest` or `docker buildx imagetools inspect` report them)
#   OUT_DIR  where kustomization.yaml is written (then: kubectl apply -k OUT_DIR)
#   BASE     the installation to pin, relative to OUT_DIR or absolute (default: the
#            packaging/kubernetes directory)
# Refused, with a message: an image of the manifests without a digest in DIGESTS, a digest that
# is not sha256 and 64 hex digits, a tag in DIGESTS other than the manifests' own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 DIGESTS OUT_DIR [BASE]" >&2; exit 2; }
digests=$1
out=$2
base=${3:-$here}
[ -r "$digests" ] || { echo "$0: cannot read $digests" >&2; exit 2; }

# The images the manifests reference (name:tag), each once.
mapfile -t images < <(grep -rhoE '^\s*image:\s*\S+' "$here" --include='*.yaml' \
  | sed -E 's/^\s*image:\s*//' | sort -u)
[ ${#images[@]} -gt 0 ] || { echo "$0: no image in the manifests" >&2; exit 2; }

entries=""
for image in "${images[@]}"; do
  name=${image%:*}
  line=$(awk -v want="$image" '$1 == want { print; exit }' "$digests")
  if [ -z "$line" ]; then
    if awk -v n="$name" 'index($1, n ":") == 1 { found = 1 } END { exit !found }' "$digests"; then
      echo "$0: $digests gives $name another tag than the manifests' $image" >&2
    else
      echo "$0: no digest for $image in $digests" >&2
    fi
    exit 1
  fi
  digest=$(echo "$line" | awk '{ print $2 }')
  if ! [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "$0: the digest of $image is not sha256:<64 hex digits>: $digest" >&2
    exit 1
  fi
  entries+="  - name: $name
    digest: $digest
"
done

mkdir -p "$out"
case $base in
  /*) resource=$(realpath --relative-to="$out" "$base") ;;
  *) resource=$base ;;
esac
cat > "$out/kustomization.yaml" <<YAML
# Written by packaging/kubernetes/pin-images.sh: the installation with every image pinned to
# the digest it was released as.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $resource
images:
$entries
YAML
echo "$0: pinned ${#images[@]} images in $out/kustomization.yaml" >&2

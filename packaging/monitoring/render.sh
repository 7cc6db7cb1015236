#!/usr/bin/env bash
# Prints prometheus-rules.yaml, the Prometheus Operator PrometheusRule, made from rules.yaml (the
# one source of the alerting rules): a fixed header, then rules.yaml from its `groups:` line on,
# indented under `spec:`. After editing rules.yaml:
#   packaging/monitoring/render.sh > packaging/monitoring/prometheus-rules.yaml
# tests/monitoring.rs fails when the committed file differs from this script's output.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
rules=$dir/rules.yaml
grep -q '^groups:$' "$rules" || { echo "render.sh: no top-level groups: in $rules" >&2; exit 1; }
cat <<'HEADER'
# Generated from rules.yaml by render.sh: edit rules.yaml, then run
#   packaging/monitoring/render.sh > packaging/monitoring/prometheus-rules.yaml
# The nodecheck alerting rules for the Prometheus Operator (monitoring.coreos.com/v1).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: nodecheck
  namespace: nodecheck
  labels:
    app.kubernetes.io/name: nodecheck
    app.kubernetes.io/part-of: nodecheck
spec:
HEADER
# From `groups:` to the end; every non-empty line two spaces deeper (empty lines stay empty, so
# no trailing whitespace and block scalars keep their content).
sed -n '/^groups:$/,$p' "$rules" | sed 's/^./  &/'

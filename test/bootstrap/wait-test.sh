#!/usr/bin/env bash
# The kind and k3s bootstraps' wait for convergence (wait_for_platform of
# platform/deployments/bootstrap-lib.sh) against the real local control plane, which has Argo CD's
# CRDs: Applications in a namespace of the test whose .status the test writes (Argo CD's
# Application CRD has no status subresource, so a plain patch sets it), as Argo CD would.
#   1. wave 0 Progressing, wave 10 OutOfSync; the test makes them Healthy one after the other:
#      the wait names each wave and app while it waits, and succeeds.
#   2. an app Degraded with a SyncError: the wait times out, names it, its condition and its
#      unhealthy resource, and fails.
#
# Usage: test/bootstrap/wait-test.sh CLUSTER_DIR   (the folder holding admin.kubeconfig)
set -euo pipefail

cluster_dir="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export KUBECONFIG="$cluster_dir/admin.kubeconfig"
kubectl="$("$root/scripts/local-cluster" bin)/kubectl"
test_ns="bootstrap-wait-$$"
work="$(mktemp -d)"
cleanup() {
  "$kubectl" delete namespace "$test_ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { printf 'FAIL: %s\n' "$*"; [[ -f "$work/out" ]] && printf 'output:\n%s\n' "$(cat "$work/out")"; exit 1; }

# application NAME WAVE: an Application of the platform (the label the wait selects by).
application() {
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $1
  namespace: $test_ns
  labels: {app.kubernetes.io/part-of: aphex}
  annotations: {argocd.argoproj.io/sync-wave: "$2"}
spec:
  project: default
  source: {repoURL: "https://git.example.org/platform.git", path: ".", targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: default}
YAML
}

# set_status NAME JSON: what Argo CD would write into the Application's status.
set_status() { "$kubectl" patch application "$1" -n "$test_ns" --type merge -p "{\"status\": $2}" >/dev/null; }

# wait_platform SECONDS: the bootstrap's wait on the test's namespace, polling every second.
wait_platform() {
  (
    export APPS_NAMESPACE="$test_ns" WAIT_POLL_SECONDS=1
    # shellcheck source=platform/deployments/bootstrap-lib.sh
    source "$root/platform/deployments/bootstrap-lib.sh"
    KUBECTL_CMD=("$kubectl")
    wait_for_platform "$1"
  )
}

expect() { grep -qF -- "$1" "$work/out" || fail "the wait's output does not say: $1"; }

"$kubectl" create namespace "$test_ns" >/dev/null
{ application "$test_ns-config" 0; echo ---; application "$test_ns-crds" 10; } | "$kubectl" apply -f - >/dev/null
set_status "$test_ns-config" '{"sync": {"status": "Synced"}, "health": {"status": "Progressing", "message": "Deployment argocd-repo-server: 0 of 1 updated"}}'
set_status "$test_ns-crds" '{"sync": {"status": "OutOfSync"}, "health": {"status": "Missing"}}'

echo "1. progressing, then healthy wave after wave"
wait_platform 60 >"$work/out" 2>&1 &
waiter=$!
sleep 3
set_status "$test_ns-config" '{"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}'
sleep 3
set_status "$test_ns-crds" '{"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}'
wait "$waiter" || fail "the wait failed although every Application became Synced and Healthy"
expect "0 of 2 Applications Synced and Healthy"
expect "wave 0: waiting on $test_ns-config: sync Synced, health Progressing: Deployment argocd-repo-server: 0 of 1 updated"
expect "wave 10: waiting on $test_ns-crds: sync OutOfSync, health Missing"
expect "every platform Application is Synced and Healthy"
grep -q "wave 10" <(grep "wave 0:" "$work/out") && fail "wave 10 was named while wave 0 was not ready"
[[ "$(grep -c "waiting on $test_ns-config" "$work/out")" == 1 ]] || fail "an unchanged state was printed more than once"

echo "2. a Degraded Application: the wait times out and says why"
application "$test_ns-auth" 30 | "$kubectl" apply -f - >/dev/null
set_status "$test_ns-auth" '{"sync": {"status": "Synced"}, "health": {"status": "Degraded"},
  "conditions": [{"type": "SyncError", "message": "Job auth-config-sync failed"}],
  "operationState": {"phase": "Failed", "message": "one or more objects failed to apply", "operation": {"sync": {}}, "startedAt": "2026-01-01T00:00:00Z"},
  "resources": [{"kind": "Job", "namespace": "auth-system", "name": "auth-config-sync", "status": "Synced",
                 "health": {"status": "Degraded", "message": "BackoffLimitExceeded"}}]}'
if wait_platform 3 >"$work/out" 2>&1; then fail "the wait succeeded although $test_ns-auth is Degraded"; fi
expect "wave 30: waiting on $test_ns-auth: sync Synced, health Degraded: operation Failed: one or more objects failed to apply; SyncError: Job auth-config-sync failed"
expect "the platform did not converge within 3s"
expect "Application $test_ns/$test_ns-auth: sync Synced, health Degraded"
expect "condition SyncError: Job auth-config-sync failed"
expect "resource Job auth-system/auth-config-sync: health Degraded: BackoffLimitExceeded"
grep -q "Application $test_ns/$test_ns-crds" "$work/out" && fail "a Synced and Healthy Application was reported as failing"
echo "PASS"

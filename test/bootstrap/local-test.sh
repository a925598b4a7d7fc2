#!/usr/bin/env bash
# ./bootstrap.sh --deployment local end to end, on a cluster of its own: it must bring the
# example Organization to Ready, a second run must change nothing (same controller process, same
# Organization resourceVersion), and --down must leave no process and no data behind.
#
# Usage: test/bootstrap/local-test.sh STATE_DIR CLUSTER_NAME
# Needs the aphex-controller of the default build (test.sh builds it before CTest runs).
set -euo pipefail

export APHEX_STATE_DIR="$1" APHEX_LOCAL_CLUSTER_NAME="$2"
# Away from the defaults (18080, 18081), which a developer's own local deployment uses.
export APHEX_CONTROLLER_METRICS_PORT="${APHEX_CONTROLLER_METRICS_PORT:-28080}"
export APHEX_CONTROLLER_PROBE_PORT="${APHEX_CONTROLLER_PROBE_PORT:-28081}"
# Without Tekton by default: only one local Tekton runs per machine (fixed ports), and CTest's
# `tekton` fixture runs one beside this test. APHEX_LOCAL_TEKTON=1 includes it when run alone.
export APHEX_LOCAL_TEKTON="${APHEX_LOCAL_TEKTON:-0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster_dir="$APHEX_STATE_DIR/clusters/$APHEX_LOCAL_CLUSTER_NAME"
cd "$root"

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
down() { ./bootstrap.sh --deployment local --down; }
trap 'down >/dev/null 2>&1 || true' EXIT

# The pids of everything the deployment started: the control plane's and the controller's.
pids() { cat "$cluster_dir"/*.pid 2>/dev/null || true; }

./bootstrap.sh --deployment local || fail "the first run failed"

kubectl=("$(scripts/local-cluster bin)/kubectl" --kubeconfig "$cluster_dir/admin.kubeconfig")
organization=("${kubectl[@]}" get organization acme -n platform-system)
ready="$("${organization[@]}" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')"
[[ "$ready" == True ]] || fail "Organization acme is not Ready (Ready=$ready)"
version="$("${organization[@]}" -o 'jsonpath={.metadata.resourceVersion}')"
controller_pid="$(cat "$cluster_dir/aphex-controller.pid")"

./bootstrap.sh --deployment local || fail "the second run failed"
[[ "$(cat "$cluster_dir/aphex-controller.pid")" == "$controller_pid" ]] \
  || fail "the second run restarted aphex-controller"
[[ "$("${organization[@]}" -o 'jsonpath={.metadata.resourceVersion}')" == "$version" ]] \
  || fail "the second run changed Organization acme"

started="$(pids)"
[[ -n "$started" ]] || fail "no pid files in $cluster_dir"
down || fail "--down failed"
for pid in $started; do
  ! kill -0 "$pid" 2>/dev/null || fail "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) still runs after --down"
done
[[ ! -e "$cluster_dir" ]] || fail "$cluster_dir is still there after --down"
echo "PASS: Organization acme was Ready, a second run changed nothing, --down left nothing behind"

#!/usr/bin/env bash
# The steps of the kind end-to-end workflow (.github/workflows/kind-e2e.yaml) around
# ./bootstrap.sh --deployment kind: the pinned tools, the bootstrap from the workflow's own
# commit, the example's onboarding, a signed push and the PipelineRun it starts. Every command
# takes --dry-run (each step printed, none run); test/CMakeLists.txt runs them so.
#
# Usage: test/bootstrap/kind-e2e.sh [--dry-run] COMMAND [ARGS]
#   tools BIN_DIR        kind (go install of sigs.k8s.io/kind at KIND_VERSION) and kubectl
#                        KUBERNETES_VERSION (dl.k8s.io, checked against its sha256) into BIN_DIR
#   bootstrap URL REV    ./bootstrap.sh --deployment kind from that repository and revision (it
#                        creates the cluster from KIND_NODE_IMAGE itself); the repository token
#                        in REPO_TOKEN, when set, goes to --repo-token-file on stdin
#   cli BIN_DIR          build kubectl-aphex (scripts/install-deps, scripts/install-cli --build)
#   onboard              apply platform/examples and wait until they are Ready
#   push                 a signed push to the example's EventListener (kubectl aphex webhook test,
#                        through a port-forward), then wait until its PipelineRun succeeds
#   diagnose             what the cluster says when a step failed
#
# Versions come from scripts/versions.env.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/versions.env
source "$ROOT/scripts/versions.env"
CONTEXT="kind-aphex"
KUBECTL=(kubectl --context "$CONTEXT")
EXAMPLES_NAMESPACE="platform-system"       # where platform/examples live
PUSH_TIMEOUT_SECONDS=180
RUN_TIMEOUT="15m"

dry_run=false
if [[ "${1:-}" == --dry-run ]]; then dry_run=true; shift; fi

die() { printf 'kind-e2e.sh: error: %s\n' "$*" >&2; exit 1; }
step() { printf '==> %s\n' "$*"; }
# run CMD...: runs it, or with --dry-run prints it.
run() { if $dry_run; then printf '    $ %s\n' "$*"; else "$@"; fi; }

cmd_tools() {
  local bin="${1:?tools needs BIN_DIR}" url="https://dl.k8s.io/release/v$KUBERNETES_VERSION/bin/linux/amd64/kubectl"
  step "kind $KIND_VERSION and kubectl v$KUBERNETES_VERSION into $bin"
  run mkdir -p "$bin"
  run env GOBIN="$bin" go install "sigs.k8s.io/kind@$KIND_VERSION"
  run curl -fsSLo "$bin/kubectl" "$url"
  if $dry_run; then
    # shellcheck disable=SC2016 # printed as it would be typed
    printf '    $ echo "$(curl -fsSL %s.sha256)  %s/kubectl" | sha256sum --check\n' "$url" "$bin"
  else
    echo "$(curl -fsSL "$url.sha256")  $bin/kubectl" | sha256sum --check --quiet || die "kubectl's sha256 does not match $url.sha256"
  fi
  run chmod +x "$bin/kubectl"
}

cmd_bootstrap() {
  local url="${1:?bootstrap needs URL}" revision="${2:?bootstrap needs REV}" args=()
  args=(--deployment kind --repo-url "$url" --revision "$revision" --timeout 40m)
  step "bootstrap from $url at $revision"
  if [[ -n "${REPO_TOKEN:-}" ]]; then
    if $dry_run; then
      # shellcheck disable=SC2016 # printed as it would be typed
      printf '    $ ./bootstrap.sh %s --repo-token-file - <<< "$REPO_TOKEN"\n' "${args[*]}"
    else
      printf '%s\n' "$REPO_TOKEN" | "$ROOT/bootstrap.sh" "${args[@]}" --repo-token-file -
    fi
  else
    run "$ROOT/bootstrap.sh" "${args[@]}"
  fi
}

cmd_cli() {
  local bin="${1:?cli needs BIN_DIR}"
  step "kubectl-aphex into $bin"
  run "$ROOT/scripts/install-deps"
  run "$ROOT/scripts/install-cli" --build --prefix "$(dirname "$bin")"
}

cmd_onboard() {
  step "the example Organization, RepoBinding and KnowledgeBase (platform/examples)"
  run "${KUBECTL[@]}" apply --server-side --field-manager aphex-e2e -k "$ROOT/platform/examples"
  local object
  for object in organization/acme repobinding/app1 knowledgebase/acme-docs; do
    run "${KUBECTL[@]}" wait --for=condition=Ready "$object" -n "$EXAMPLES_NAMESPACE" --timeout=300s
  done
}

# The example Organization has no public endpoint (exposure None): its webhook URL is the
# EventListener's in-cluster Service, http://SERVICE.NAMESPACE.svc...:PORT, reached through a
# port-forward.
cmd_push() {
  local webhook service namespace port forward out run_ref
  step "a signed push of acme/app1 to the example's EventListener"
  if $dry_run; then
    run "${KUBECTL[@]}" get organization acme -n "$EXAMPLES_NAMESPACE" -o 'jsonpath={.status.webhookURL}'
    run "${KUBECTL[@]}" port-forward -n NAMESPACE svc/SERVICE 18080:PORT
    run kubectl aphex --context "$CONTEXT" webhook test acme/app1 --url http://127.0.0.1:18080 --timeout "$PUSH_TIMEOUT_SECONDS"
    run "${KUBECTL[@]}" wait --for=condition=Succeeded pipelinerun/NAME -n app1 --timeout="$RUN_TIMEOUT"
    return
  fi
  webhook="$("${KUBECTL[@]}" get organization acme -n "$EXAMPLES_NAMESPACE" -o 'jsonpath={.status.webhookURL}')"
  [[ "$webhook" =~ ^https?://([^./]+)\.([^./]+)\.svc[^:/]*:([0-9]+) ]] \
    || die "organization acme's webhook URL is '$webhook', not an in-cluster Service URL"
  service="${BASH_REMATCH[1]}" namespace="${BASH_REMATCH[2]}" port="${BASH_REMATCH[3]}"
  "${KUBECTL[@]}" port-forward -n "$namespace" "svc/$service" "18080:$port" >/dev/null 2>&1 &
  forward=$!
  trap 'kill "$forward" 2>/dev/null || true' RETURN
  sleep 3
  out="$(kubectl aphex --context "$CONTEXT" webhook test acme/app1 --url http://127.0.0.1:18080 \
    --timeout "$PUSH_TIMEOUT_SECONDS")" || { printf '%s\n' "$out"; die "the signed push started no PipelineRun"; }
  printf '%s\n' "$out"
  run_ref="$(sed -n 's/^PipelineRun \([^ ]*\) started.*/\1/p' <<<"$out" | head -1)"
  [[ "$run_ref" == */* ]] || die "no PipelineRun named in the output above"
  "${KUBECTL[@]}" wait --for=condition=Succeeded "pipelinerun/${run_ref#*/}" -n "${run_ref%%/*}" --timeout="$RUN_TIMEOUT" \
    || { "${KUBECTL[@]}" get pipelinerun "${run_ref#*/}" -n "${run_ref%%/*}" -o yaml; die "PipelineRun $run_ref did not succeed"; }
}

cmd_diagnose() {
  step "what the cluster says"
  run "${KUBECTL[@]}" get applications -n argocd -o wide
  run "${KUBECTL[@]}" get organizations,repobindings,knowledgebases -A
  run "${KUBECTL[@]}" get pods -A --field-selector=status.phase!=Running,status.phase!=Succeeded
  run "${KUBECTL[@]}" get events -A --sort-by=.lastTimestamp
}

case "${1:-}" in
  tools|bootstrap|cli|onboard|push|diagnose) command="$1"; shift; "cmd_$command" "$@" ;;
  -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *) die "a command is needed: tools, bootstrap, cli, onboard, push or diagnose (see --help)" ;;
esac

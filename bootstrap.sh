#!/usr/bin/env bash
# Brings up Aphex. `--deployment local` runs everything as processes on this machine on a real
# local Kubernetes control plane; `kind` and `k3s` are the real-cluster paths.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCAL_CLUSTER_NAME="aphex"

usage() {
  cat <<'EOF'
Usage: ./bootstrap.sh --deployment local|kind|k3s [--down] [--dry-run]

  --deployment local  start a local Kubernetes control plane (etcd, kube-apiserver,
                      kube-controller-manager as processes), install the CRDs Aphex works with
  --deployment kind   install the platform into a kind cluster (Argo CD, then GitOps)
  --deployment k3s    install the platform into a k3s cluster (Argo CD, then GitOps)
  --down              stop and remove what --deployment local started
  --dry-run           print every step and command without running any
  -h, --help          this text
EOF
}

deployment=""
down=false
dry_run=false
while (($#)); do
  case "$1" in
    --deployment) deployment="${2:-}"; shift ;;
    --deployment=*) deployment="${1#*=}" ;;
    --down) down=true ;;
    --dry-run) dry_run=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bootstrap.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# run CMD...: runs a command, or with --dry-run prints it.
run() {
  if $dry_run; then
    printf '  $ %s\n' "$*"
  else
    "$@"
  fi
}
step() { printf '==> %s\n' "$*"; }

deploy_local() {
  local cluster=("$ROOT/scripts/local-cluster" --name "$LOCAL_CLUSTER_NAME")
  if $down; then
    step "stopping the local control plane"
    run "${cluster[@]}" down
    return
  fi
  step "installing missing build dependencies"
  run "$ROOT/scripts/install-deps"
  step "starting the local control plane (the first run builds it from the Kubernetes Go modules)"
  run "${cluster[@]}" up >/dev/null
  step "installing the Tekton, Argo CD, External Secrets and cert-manager CRDs"
  run "${cluster[@]}" crds
  step "done"
  if $dry_run; then return; fi
  cat <<EOF

The local control plane is running.
  kubeconfig:  $("${cluster[@]}" kubeconfig)
  kubectl:     $("${cluster[@]}" bin)/kubectl
  stop it:     ./bootstrap.sh --deployment local --down

The Aphex controller is not yet available in this version: the Organization and RepoBinding
examples cannot be reconciled until it is. See docs/roadmap.md.
EOF
}

case "$deployment" in
  local) deploy_local ;;
  kind|k3s)
    echo "bootstrap.sh: --deployment $deployment is not yet available in this version; see docs/roadmap.md" >&2
    exit 3 ;;
  "") usage >&2; exit 2 ;;
  *) echo "bootstrap.sh: --deployment must be local, kind or k3s, not '$deployment'" >&2; exit 2 ;;
esac

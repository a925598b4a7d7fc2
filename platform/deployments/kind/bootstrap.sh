#!/usr/bin/env bash
# The kind deployment: a kind cluster on this machine's Docker, the controller's image loaded
# into it, Argo CD, the Secrets the platform needs, and the root Application; from then on Argo
# CD installs the platform from Git. Run through ./bootstrap.sh --deployment kind.
set -euo pipefail

# shellcheck source=platform/deployments/bootstrap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bootstrap-lib.sh"

usage() {
  cat <<'EOF'
Usage: ./bootstrap.sh --deployment kind [OPTIONS]

Creates (or finds) a kind cluster, loads the aphex-controller image into it, installs Argo CD,
creates the namespaces and Secrets the platform needs and applies the root Application
aphex-root, which syncs platform/deployments/kind. Running it again changes nothing that
exists. Needs Docker, kind and kubectl, and internet access from the cluster.

Options:
  --cluster-name NAME     the kind cluster (default: aphex; its kubectl context is kind-NAME)
  --http-port PORT        host port of the cluster's HTTP ingress (default: 80)
  --https-port PORT       host port of the cluster's HTTPS ingress (default: 443)
  --node-image IMAGE      kind node image (default: kind's own for its version)
  --use-existing          install onto an existing cluster instead of creating a kind cluster:
                          the current kubectl context, or the one --context names
  --context NAME          with --use-existing: the kubectl context of that cluster
  --repo-url URL          Git repository Argo CD syncs the platform from (default: repoURL
                          of platform/base/argocd-apps/source.yaml); kept in the cluster
  --revision REV          branch, tag or commit of it (default: its targetRevision)
  --controller-image REF  use this published image instead of building one with Docker
  --rebuild-image         build (or pull) and load the controller's image even when the
                          cluster has it already
EOF
  printf '%s\n' "$COMMON_OPTIONS_HELP"
  cat <<'EOF'
  --down                  delete the kind cluster and everything in it (with --use-existing:
                          nothing is deleted)
  --dry-run               print every step and command without running any
  --show-secrets          print the Secrets' values and Argo CD's admin password
                          (by default only the commands that read them)
  -h, --help              this text

Environment:
  CLOUDFLARE_API_TOKEN    optional: stored as Secret platform-system/cloudflare-api-token for
                          Organizations with exposure CloudflareTunnel
EOF
}

cluster_name="aphex"
http_port=80
https_port=443
node_image=""
repo_url=""
revision=""
image_ref=""
rebuild_image=false
use_existing=false
context=""
down=false
while (($#)); do
  case "$1" in
    --repo-ssh-key-file|--repo-token-file|--repo-username|--timeout)
      (($# >= 2)) || die "$1 needs a value (see --help)"
      common_option "$1" "$2"
      shift ;;
    --no-wait) common_option "$1" ;;
    --use-existing) use_existing=true ;;
    --cluster-name|--http-port|--https-port|--node-image|--repo-url|--revision|--controller-image|--context)
      (($# >= 2)) || die "$1 needs a value (see --help)"
      case "$1" in
        --context) context="$2" ;;
        --cluster-name) cluster_name="$2" ;;
        --http-port) http_port="$2" ;;
        --https-port) https_port="$2" ;;
        --node-image) node_image="$2" ;;
        --repo-url) repo_url="$2" ;;
        --revision) revision="$2" ;;
        --controller-image) image_ref="$2" ;;
      esac
      shift ;;
    --rebuild-image) rebuild_image=true ;;
    --down) down=true ;;
    --dry-run) dry_run=true ;;
    --show-secrets) show_secrets=true ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' for --deployment kind (see --help)" ;;
  esac
  shift
done
[[ "$cluster_name" =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "--cluster-name must be a lowercase DNS label, not '$cluster_name'"
[[ "$http_port" =~ ^[0-9]+$ && "$https_port" =~ ^[0-9]+$ ]] || die "--http-port and --https-port must be port numbers"
validate_source_options
[[ -z "$context" ]] || $use_existing || die "--context only goes with --use-existing (a new kind cluster's context is kind-NAME)"

# The context every kubectl call names: the new cluster's, or with --use-existing the one given
# (default: the current one, read once here, so that a context switch meanwhile changes nothing).
if ! $use_existing; then
  CONTEXT="kind-$cluster_name"
elif [[ -n "$context" ]]; then
  CONTEXT="$context"
elif $dry_run; then
  CONTEXT="<the current context>"   # a dry run runs nothing, not even kubectl config
else
  CONTEXT="$(kubectl config current-context 2>/dev/null)" \
    || die "--use-existing: kubectl has no current context; name one with --context NAME"
fi
# A kind cluster's context is kind-NAME: the controller's image can be loaded into it.
if $use_existing && [[ "$CONTEXT" == kind-* ]]; then cluster_name="${CONTEXT#kind-}"; fi
KUBECTL_CMD=(kubectl --context "$CONTEXT")
NODE="$cluster_name-control-plane"
IMAGE="$(controller_image)"
DOMAIN="$(settings_value kind domain)"

# The cluster: one node that publishes ports 80 and 443 (on loopback only) for ingress-nginx,
# which runs on the node labelled ingress-ready.
cluster_config() {
  cat <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    labels:
      ingress-ready: "true"
    extraPortMappings:
      - containerPort: 80
        hostPort: $http_port
        listenAddress: 127.0.0.1
        protocol: TCP
      - containerPort: 443
        hostPort: $https_port
        listenAddress: 127.0.0.1
        protocol: TCP
EOF
}

docker_answers() {
  if ! $dry_run && ! docker info >/dev/null 2>&1; then
    die "docker is installed but its daemon does not answer (is it running, and may this user use it?)"
  fi
}

cluster_exists() { kind get clusters 2>/dev/null | grep -qx -- "$cluster_name"; }

create_cluster() {
  local create=(kind create cluster --name "$cluster_name" --wait 120s)
  [[ -z "$node_image" ]] || create+=(--image "$node_image")
  if $dry_run; then
    info "(only when 'kind get clusters' does not list $cluster_name; the configuration on stdin:)"
    cluster_config | indent
    run "${create[@]}" --config /dev/stdin
    return
  fi
  if cluster_exists; then
    info "kind cluster $cluster_name exists; left as it is"
  else
    cluster_config | "${create[@]}" --config /dev/stdin
  fi
}

# The controller's image in the node's containerd: pulled or built, then `kind load`ed. An image
# the node has already is kept unless --rebuild-image says otherwise.
load_controller_image() {
  local node_ref="docker.io/library/$IMAGE"
  if $dry_run; then
    info "(only when the node lacks $node_ref, or with --rebuild-image)"
    run docker exec "$NODE" crictl inspecti "$node_ref"
  elif ! $rebuild_image && docker exec "$NODE" crictl inspecti "$node_ref" >/dev/null 2>&1; then
    info "the node has $node_ref; left as it is (--rebuild-image replaces it)"
    return
  fi
  if [[ -n "$image_ref" ]]; then
    run docker pull "$image_ref"
    run docker tag "$image_ref" "$IMAGE"
  else
    info "(building with the Dockerfile: the same build as CI, a few minutes the first time)"
    run docker build -t "$IMAGE" .
  fi
  run kind load docker-image "$IMAGE" --name "$cluster_name"
}

deploy_down() {
  if $use_existing; then
    step "--use-existing: the cluster of context $CONTEXT is not deleted"
    info "it was there before the bootstrap; to remove the platform from it, delete the Application" \
      "$ARGOCD_NAMESPACE/$ROOT_APPLICATION and its children, then the namespace $ARGOCD_NAMESPACE"
    return
  fi
  require_tools kind
  step "deleting the kind cluster $cluster_name"
  if ! $dry_run && ! cluster_exists; then
    info "kind cluster $cluster_name does not exist"
  else
    run kind delete cluster --name "$cluster_name"
  fi
  step "done in $((SECONDS - START_SECONDS))s"
}

print_summary() {
  cat <<EOF

The platform is being installed by Argo CD from Git (a few minutes).
EOF
  print_argocd_access
  info "hosts: point argocd.$DOMAIN, auth.$DOMAIN and dex.$DOMAIN at 127.0.0.1"
  info "       (/etc/hosts, or a wildcard for *.$DOMAIN in a local DNS)"
  info "platform CA to trust: $(quote "${KUBECTL_CMD[@]}" get secret aphex-platform-ca -n cert-manager \
    -o 'jsonpath={.data.ca\.crt}') | base64 -d"
  if $use_existing; then
    info "the cluster of context $CONTEXT was there before; --down leaves it as it is"
  else
    info "delete it all: ./bootstrap.sh --deployment kind --cluster-name $cluster_name --down"
  fi
}

main() {
  cd "$ROOT"
  if $down; then deploy_down; return; fi

  read_repo_credentials "$(repository_url)"
  if $use_existing; then
    step "checking prerequisites (kubectl)"
    require_tools kubectl base64
    step "using the existing cluster of context $CONTEXT (--use-existing)"
    wait_for_api 30
  else
    step "checking prerequisites (Docker, kind, kubectl)"
    require_tools docker kind kubectl base64
    docker_answers
    step "creating the kind cluster $cluster_name (context $CONTEXT)"
    create_cluster
    wait_for_api 120
  fi

  step "loading the controller's image $IMAGE into the cluster"
  if ! $use_existing || { [[ "$CONTEXT" == kind-* ]] && { $dry_run || cluster_exists; }; }; then
    $use_existing && docker_answers
    load_controller_image
  else
    info "$CONTEXT is not a kind cluster: its nodes must be able to pull $IMAGE (--controller-image" \
      "only changes what kind loads); the controller's pods wait until they can"
  fi

  step "installing Argo CD $ARGOCD_VERSION"
  install_argocd

  step "applying Argo CD's settings (health checks that make the waves wait) before the root Application"
  apply_argocd_settings kind

  step "creating namespaces and the Secrets the platform needs (each only when missing)"
  ensure_namespace "$PLATFORM_NAMESPACE"
  if [[ -n "${CLOUDFLARE_API_TOKEN:-}" ]] || $dry_run; then
    $dry_run && info "(only when CLOUDFLARE_API_TOKEN is set)"
    ensure_secret "$PLATFORM_NAMESPACE" cloudflare-api-token token "${CLOUDFLARE_API_TOKEN:-<from CLOUDFLARE_API_TOKEN>}"
  else
    info "no CLOUDFLARE_API_TOKEN: Organizations use Ingress exposure (the kind default)"
  fi

  apply_repo_credentials

  step "applying the root Application $ROOT_APPLICATION (platform/deployments/kind)"
  apply_root_application kind "$repo_url" "$revision"
  wait_step

  step "done in $((SECONDS - START_SECONDS))s"
  print_summary
}

main

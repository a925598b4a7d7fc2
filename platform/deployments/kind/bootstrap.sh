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
  --node-image IMAGE      kind node image (default: KIND_NODE_IMAGE of scripts/versions.env,
                          with @KIND_NODE_DIGEST when that is set)
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
PUBLIC_DOMAIN="$(settings_value kind publicDomain)"
# The node image the pinned kind release goes with, unless --node-image names another.
[[ -n "$node_image" ]] || node_image="$KIND_NODE_IMAGE${KIND_NODE_DIGEST:+@$KIND_NODE_DIGEST}"
# This cluster's files on this machine; the API server's authentication folder is mounted into
# the node (cluster/apiserver-oidc.yaml), so it must be an absolute path outside the repository.
KIND_STATE_DIR="$(absolute_path "$STATE_DIR")/kind/$cluster_name"
AUTH_DIR="$KIND_STATE_DIR/apiserver-authentication"
CLUSTER_FILES="platform/deployments/kind/cluster"

# apiserver_oidc_part node|cluster: the lines of cluster/apiserver-oidc.yaml that go under the
# control-plane node (extraMounts) or at the Cluster's top level (kubeadmConfigPatches), with
# HOST_DIR replaced by AUTH_DIR (quoted for YAML; read from the environment, which awk leaves
# unescaped).
apiserver_oidc_part() {
  HOST_DIR_VALUE="$(yaml_string "$AUTH_DIR")" awk -v want="$1" '
    function host_dir(line, i) {
      i = index(line, "HOST_DIR")
      return i ? substr(line, 1, i - 1) ENVIRON["HOST_DIR_VALUE"] substr(line, i + 8) : line
    }
    /^[[:space:]]*#/ || /^[[:space:]]*$/ { next }
    /^[^ ]/ { top = $1; node = 0 }
    top == "nodes:" && /^  - / { node = ($0 ~ /^  - role: control-plane$/); next }
    want == "cluster" && top != "kind:" && top != "apiVersion:" && top != "nodes:" { print host_dir($0) }
    want == "node" && node { print host_dir($0) }
  ' "$ROOT/$CLUSTER_FILES/apiserver-oidc.yaml"
}

# The cluster: one node, labelled ingress-ready, that publishes ports 80 and 443 (on loopback
# only): Traefik, the front door (Application aphex-traefik in gateway-system), binds them as
# host ports there. The node mounts the API server's authentication folder, and kubeadm points
# the API server at it (cluster/apiserver-oidc.yaml).
cluster_config() {
  local node cluster
  node="$(apiserver_oidc_part node)"
  cluster="$(apiserver_oidc_part cluster)"
  [[ -n "$node" && -n "$cluster" ]] \
    || die "$CLUSTER_FILES/apiserver-oidc.yaml has no control-plane node's extraMounts or no kubeadmConfigPatches"
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
$node
$cluster
EOF
}

# check_kind_version: kind creates the cluster from the pinned node image, which each kind
# release lists for itself: another kind release may not start it.
check_kind_version() {
  if $dry_run; then
    info "(warns when 'kind version' is not $KIND_VERSION, the release scripts/versions.env pins)"
    return
  fi
  local have
  have="$(kind version 2>/dev/null | awk '{ print $2 }')"
  [[ "$have" == "$KIND_VERSION" ]] || warn "kind is ${have:-of an unknown version}, not $KIND_VERSION" \
    "(scripts/versions.env): it may not start the node image $node_image; install kind $KIND_VERSION"
}

# prepare_auth_dir: the folder the new cluster's node mounts, with the API server's initial
# authentication configuration (no issuer: the platform CA does not exist yet) and the kubeadm
# patches. Made anew with each new cluster.
prepare_auth_dir() {
  run rm -rf "$AUTH_DIR"
  run mkdir -p "$AUTH_DIR/kubeadm-patches"
  run cp "$CLUSTER_FILES/authentication-config.initial.yaml" "$AUTH_DIR/authentication-config.yaml"
  run cp "$CLUSTER_FILES"/kubeadm-patches/* "$AUTH_DIR/kubeadm-patches/"
}

docker_answers() {
  if ! $dry_run && ! docker info >/dev/null 2>&1; then
    die "docker is installed but its daemon does not answer (is it running, and may this user use it?)"
  fi
}

cluster_exists() { kind get clusters 2>/dev/null | grep -qx -- "$cluster_name"; }

create_cluster() {
  local create=(kind create cluster --name "$cluster_name" --image "$node_image" --wait 120s)
  check_kind_version
  if $dry_run; then
    info "(only when 'kind get clusters' does not list $cluster_name: the API server's authentication folder,"
    info " then the cluster, with its configuration on stdin:)"
    prepare_auth_dir
    cluster_config | indent
    run "${create[@]}" --config /dev/stdin
    return
  fi
  if cluster_exists; then
    info "kind cluster $cluster_name exists; left as it is"
  else
    prepare_auth_dir
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
  if $dry_run || [[ -e "$KIND_STATE_DIR" ]]; then run rm -rf "$KIND_STATE_DIR"; fi
  step "done in $((SECONDS - START_SECONDS))s"
}

# configure_apiserver_oidc: once cert-manager has made the platform CA, the API server's full
# authentication configuration replaces the initial one by a rename in the mounted folder; the
# API server watches the file and applies it without a restart (docs/auth.md, "kubectl").
configure_apiserver_oidc() {
  if $use_existing; then
    info "--use-existing: the API server of $CONTEXT is left as it is. For kubectl logins through Dex,"
    info "configure it as docs/auth.md (\"kubectl\") describes, with the configuration that"
    info "$(quote "$RENDER_AUTH_CONFIG" "$CLUSTER_FILES/authentication-config.yaml" "dex.$DOMAIN") CA_FILE prints"
    info "(CA_FILE: ca.crt of Secret cert-manager/aphex-platform-ca, once it exists)"
    return
  fi
  if ! $dry_run && [[ ! -f "$AUTH_DIR/authentication-config.yaml" ]]; then
    warn "kind cluster $cluster_name was created without the API server's authentication folder" \
      "($AUTH_DIR): kubectl cannot log in through Dex until the cluster is created anew (--down, then again)"
    return
  fi
  if ! $wait_converge && { $dry_run || ! exists secret aphex-platform-ca -n cert-manager; }; then
    info "not now (--no-wait): it needs the platform CA (Secret cert-manager/aphex-platform-ca), which the"
    info "platform makes as it converges. Run the bootstrap again then: it writes $AUTH_DIR/authentication-config.yaml"
    return
  fi
  wait_for_secret cert-manager aphex-platform-ca "$wait_timeout"
  write_authentication_config
}

# write_authentication_config: the platform CA's ca.crt, then the rendered configuration with
# it and dex.DOMAIN, into the mounted folder.
write_authentication_config() {
  local ca="$AUTH_DIR/platform-ca.crt" target="$AUTH_DIR/authentication-config.yaml"
  local read_ca=("${KUBECTL_CMD[@]}" get secret aphex-platform-ca -n cert-manager -o 'jsonpath={.data.ca\.crt}')
  local render=("$RENDER_AUTH_CONFIG" "$CLUSTER_FILES/authentication-config.yaml" "dex.$DOMAIN" "$ca")
  if $dry_run; then
    printf '    $ %s | base64 -d > %s\n' "$(quote "${read_ca[@]}")" "$(quote "$ca")"
    printf '    $ %s > %s\n' "$(quote "${render[@]}")" "$(quote "$target.new")"
  else
    "${read_ca[@]}" | base64 -d >"$ca" || die "cannot read ca.crt of Secret cert-manager/aphex-platform-ca"
    "${render[@]}" >"$target.new" || die "cannot render $CLUSTER_FILES/authentication-config.yaml (above)"
  fi
  replace_if_changed "$target"
  $dry_run || info "the API server applies a new file without a restart; kubectl with kubelogin logs in through https://dex.$DOMAIN"
}

print_summary() {
  cat <<EOF

The platform is being installed by Argo CD from Git (a few minutes).
EOF
  print_argocd_access
  info "hosts: point argocd.$DOMAIN, auth.$DOMAIN and dex.$DOMAIN at 127.0.0.1"
  info "       (/etc/hosts, or a wildcard for *.$DOMAIN in a local DNS)"
  info "webhooks: Organizations' hosts <organization>.$PUBLIC_DOMAIN (publicDomain), served on the same" \
    "ports; GitHub reaches them only through a forwarder of your own"
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

  check_domains kind
  read_repo_credentials "$(repository_url)"
  if $use_existing; then
    step "checking prerequisites (kubectl)"
    require_tools kubectl base64
    step "using the existing cluster of context $CONTEXT (--use-existing)"
    wait_for_api 30
  else
    step "checking prerequisites (Docker, kind, kubectl)"
    require_tools docker kind kubectl base64 awk
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

  step "the API server's OIDC issuer: Dex at dex.$DOMAIN, trusted through the platform CA"
  configure_apiserver_oidc

  step "done in $((SECONDS - START_SECONDS))s"
  print_summary
}

main

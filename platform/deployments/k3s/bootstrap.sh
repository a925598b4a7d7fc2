#!/usr/bin/env bash
# The k3s deployment: k3s on this machine (installed when missing), the controller's image in
# its containerd, Argo CD, the Secrets the platform needs (the Cloudflare API token among them)
# and the root Application; from then on Argo CD installs the platform from Git. Run as root
# through ./bootstrap.sh --deployment k3s.
set -euo pipefail

# shellcheck source=platform/deployments/bootstrap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bootstrap-lib.sh"

usage() {
  cat <<'EOF'
Usage: sudo ./bootstrap.sh --deployment k3s [OPTIONS]

Installs k3s on this machine unless it runs already, puts the aphex-controller image into its
containerd, installs Argo CD, creates the namespaces and Secrets the platform needs (the
Cloudflare API token for cert-manager, external-dns and the controller) and applies the root
Application aphex-root, which syncs platform/deployments/k3s. Running it again changes
nothing that exists. Needs root and curl (and Docker to build the image, unless
--controller-image names a published one), and internet access.

Set the domains (domain, publicDomain), Let's Encrypt and Cloudflare parameters in
platform/deployments/k3s/settings/settings.yaml and push them to the repository Argo CD reads
before the first run.

Options:
  --k3s-version VERSION   install this k3s release (e.g. v1.33.4+k3s1) instead of K3S_VERSION
                          of scripts/versions.env
  --repo-url URL          Git repository Argo CD syncs the platform from (default: repoURL
                          of platform/base/argocd-apps/source.yaml); kept in the cluster
  --revision REV          branch, tag or commit of it (default: its targetRevision)
  --controller-image REF  pull this published image (a full reference, registry/name:tag)
                          instead of building one with Docker
  --rebuild-image         build (or pull) and import the controller's image even when k3s has
                          it already
EOF
  printf '%s\n' "$COMMON_OPTIONS_HELP"
  cat <<'EOF'
  --down                  delete the Organizations (so that the controller removes their
                          tunnels and DNS records) and the platform's routes (so that
                          external-dns removes theirs), then uninstall k3s
  --dry-run               print every step and command without running any
  --show-secrets          print the Secrets' values and Argo CD's admin password (by default
                          only the commands that read them)
  -h, --help              this text

Environment:
  CLOUDFLARE_API_TOKEN    the Cloudflare API token, with the permissions Account > Cloudflare
                          Tunnel > Edit, Zone > Zone > Read and Zone > DNS > Edit; asked for
                          when unset and needed, never printed. Checked before anything is
                          installed, with one read-only API call per permission
  APHEX_CLOUDFLARE_API_URL  the Cloudflare API those checks call (default:
                          https://api.cloudflare.com/client/v4)
EOF
}

k3s_version=""
repo_url=""
revision=""
image_ref=""
rebuild_image=false
down=false
while (($#)); do
  case "$1" in
    --k3s-version|--repo-url|--revision|--controller-image)
      (($# >= 2)) || die "$1 needs a value (see --help)"
      case "$1" in
        --k3s-version) k3s_version="$2" ;;
        --repo-url) repo_url="$2" ;;
        --revision) revision="$2" ;;
        --controller-image) image_ref="$2" ;;
      esac
      shift ;;
    --repo-ssh-key-file|--repo-token-file|--repo-username|--timeout)
      (($# >= 2)) || die "$1 needs a value (see --help)"
      common_option "$1" "$2"
      shift ;;
    --no-wait) common_option "$1" ;;
    --rebuild-image) rebuild_image=true ;;
    --down) down=true ;;
    --dry-run) dry_run=true ;;
    --show-secrets) show_secrets=true ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' for --deployment k3s (see --help)" ;;
  esac
  shift
done
[[ -z "$k3s_version" || "$k3s_version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+\+k3s[0-9]+$ ]] \
  || die "--k3s-version must look like v1.33.4+k3s1, not '$k3s_version'"
validate_source_options

KUBECTL_CMD=(k3s kubectl)
CTR=(k3s ctr -n k8s.io)
IMAGE="$(controller_image)"
DOMAIN="$(settings_value k3s domain)"
PUBLIC_DOMAIN="$(settings_value k3s publicDomain)"
K3S_INSTALLER_URL="https://get.k3s.io"
CONTAINERD_CONFIG="/var/lib/rancher/k3s/agent/etc/containerd/config.toml"
# cert-manager's ClusterIssuer, external-dns and the controller each read the token from a
# Secret in their own namespace; the Secret's name and key are the same everywhere.
CLOUDFLARE_SECRET="cloudflare-api-token"
CLOUDFLARE_NAMESPACES=(cert-manager external-dns "$PLATFORM_NAMESPACE")

# The API server's OIDC configuration (docs/auth.md, "kubectl"): a configuration drop-in that
# names the authentication file, and that file rendered from the template with dex.DOMAIN.
OIDC_DROP_IN_SOURCE="platform/deployments/k3s/cluster/k3s-oidc.yaml"
OIDC_DROP_IN="/etc/rancher/k3s/config.yaml.d/aphex-oidc.yaml"
AUTH_CONFIG_TEMPLATE="platform/deployments/k3s/cluster/authentication-config.yaml"

# auth_config_path: the file the drop-in passes as --authentication-config.
auth_config_path() {
  local path
  path="$(sed -n 's/^ *- *authentication-config=//p' "$ROOT/$OIDC_DROP_IN_SOURCE" | head -1)"
  [[ "$path" == /* ]] || die "$OIDC_DROP_IN_SOURCE names no authentication-config=/path"
  echo "$path"
}

k3s_running() { command -v k3s >/dev/null 2>&1 && systemctl is-active --quiet k3s 2>/dev/null; }

check_prerequisites() {
  if ((EUID != 0)); then
    if $dry_run; then
      warn "not root (a real run stops here): run it as root, e.g. sudo ./bootstrap.sh --deployment k3s"
    else
      die "k3s is installed and run as root: run this as root, e.g. sudo ./bootstrap.sh --deployment k3s"
    fi
  fi
  if $dry_run || ! k3s_running; then
    require_tools curl base64 systemctl
  else
    require_tools k3s base64
  fi
  if [[ -z "$image_ref" ]] && ! command -v docker >/dev/null 2>&1; then
    info "no docker: the controller's image must come from --controller-image (unless k3s has it already)"
  fi
}

install_k3s() {
  local env=() installer
  env+=("INSTALL_K3S_VERSION=${k3s_version:-$K3S_VERSION}")
  if $dry_run; then
    info "(only when the k3s service is not running)"
    run curl -sfL -o /tmp/k3s-install.sh "$K3S_INSTALLER_URL"
    run env "${env[@]}" sh /tmp/k3s-install.sh
    return
  fi
  if k3s_running; then
    info "k3s runs ($(k3s --version | head -1)); left as it is"
    return
  fi
  installer="$(mktemp)"
  trap 'rm -f "$installer"' RETURN
  curl -sfL -o "$installer" "$K3S_INSTALLER_URL" || die "cannot download the k3s installer from $K3S_INSTALLER_URL"
  env "${env[@]}" sh "$installer" 2>&1 | indent
}

# k3s adds the `nvidia` runtime to its containerd when it finds the NVIDIA Container Toolkit at
# start; RuntimeClass gpu (platform/deployments/k3s/gpu) needs it.
check_gpu_runtime() {
  if $dry_run; then
    run grep -q nvidia "$CONTAINERD_CONFIG"
    return
  fi
  if grep -q nvidia "$CONTAINERD_CONFIG" 2>/dev/null; then
    info "k3s's containerd has the NVIDIA runtime: GPU workloads can use RuntimeClass gpu"
  elif command -v nvidia-container-runtime >/dev/null 2>&1; then
    warn "the NVIDIA Container Toolkit is installed but k3s has not picked it up: systemctl restart k3s"
  else
    info "no NVIDIA Container Toolkit on this node: pods of RuntimeClass gpu cannot start here"
  fi
}

# write_oidc_files: the drop-in and the authentication file, before k3s is installed, so that its
# API server starts with them. k3s reads drop-ins only when it starts: when it runs already and
# the drop-in is new or changed, the user restarts it (never done here, behind their back). A
# changed authentication file alone needs no restart: the API server watches it.
write_oidc_files() {
  local auth_file drop_in_changed=false
  auth_file="$(auth_config_path)"
  local render=("$RENDER_AUTH_CONFIG" "$AUTH_CONFIG_TEMPLATE" "dex.$DOMAIN")
  run mkdir -p "$(dirname "$OIDC_DROP_IN")" "$(dirname "$auth_file")"
  if $dry_run; then
    run cp "$OIDC_DROP_IN_SOURCE" "$OIDC_DROP_IN.new"
    printf '    $ %s > %s\n' "$(quote "${render[@]}")" "$(quote "$auth_file.new")"
  else
    cmp -s "$OIDC_DROP_IN_SOURCE" "$OIDC_DROP_IN" || drop_in_changed=true
    cp "$OIDC_DROP_IN_SOURCE" "$OIDC_DROP_IN.new"
    "${render[@]}" >"$auth_file.new" || die "cannot render $AUTH_CONFIG_TEMPLATE (above)"
    chmod 0600 "$OIDC_DROP_IN.new" "$auth_file.new"
  fi
  replace_if_changed "$auth_file"
  replace_if_changed "$OIDC_DROP_IN"
  if $dry_run; then
    info "(when k3s runs already and $OIDC_DROP_IN was new or changed: asks for 'systemctl restart k3s')"
  elif $drop_in_changed && k3s_running; then
    warn "k3s runs already and reads $OIDC_DROP_IN only when it starts: restart it (systemctl restart k3s)" \
      "when convenient, so that its API server accepts Dex's tokens"
  fi
}

import_controller_image() {
  local node_ref="docker.io/library/$IMAGE"
  if $dry_run; then
    info "(only when k3s lacks $node_ref, or with --rebuild-image)"
    run "${CTR[@]}" images ls -q "name==$node_ref"
  elif ! $rebuild_image && [[ -n "$("${CTR[@]}" images ls -q "name==$node_ref" 2>/dev/null)" ]]; then
    info "k3s has $node_ref; left as it is (--rebuild-image replaces it)"
    return
  fi
  if [[ -n "$image_ref" ]]; then
    run "${CTR[@]}" images pull "$image_ref"
    run "${CTR[@]}" images tag --force "$image_ref" "$node_ref"
    return
  fi
  if ! $dry_run && ! command -v docker >/dev/null 2>&1; then
    die "k3s has no $node_ref and docker is not installed to build it: give --controller-image REF (a published image)"
  fi
  info "(building with the Dockerfile: the same build as CI, a few minutes the first time)"
  run docker build -t "$IMAGE" .
  if $dry_run; then
    info "$ docker save $IMAGE | $(quote "${CTR[@]}") images import -"
  else
    docker save "$IMAGE" | "${CTR[@]}" images import - | indent
  fi
}

# The token only matters when one of its Secrets is missing: a re-run asks for nothing.
cloudflare_token() {
  local ns missing=false
  for ns in "${CLOUDFLARE_NAMESPACES[@]}"; do
    exists secret "$CLOUDFLARE_SECRET" -n "$ns" || missing=true
  done
  $missing || return 0
  if [[ -z "${CLOUDFLARE_API_TOKEN:-}" ]]; then
    [[ -t 0 ]] || die "CLOUDFLARE_API_TOKEN is not set (and there is no terminal to ask for it)"
    read -rsp "    Cloudflare API token (not shown): " CLOUDFLARE_API_TOKEN
    echo
    [[ -n "$CLOUDFLARE_API_TOKEN" ]] || die "no Cloudflare API token given"
  fi
}

# check_cloudflare: the token, and what it may do with the account and zone of the settings,
# before anything is installed. A re-run whose Secrets all exist has no token to check.
check_cloudflare() {
  if $dry_run; then
    info "(the token from CLOUDFLARE_API_TOKEN, or asked for on the terminal, only when a Secret is missing)"
  else
    cloudflare_token
    if [[ -z "${CLOUDFLARE_API_TOKEN:-}" ]]; then
      info "every $CLOUDFLARE_SECRET Secret exists and CLOUDFLARE_API_TOKEN is not set: nothing to check"
      return
    fi
  fi
  verify_cloudflare "$(settings_value k3s cloudflareAccountID)" "$(settings_value k3s cloudflareZoneID)" \
    platform/deployments/k3s/settings/settings.yaml
}

create_cloudflare_secrets() {
  local ns
  for ns in "${CLOUDFLARE_NAMESPACES[@]}"; do
    ensure_namespace "$ns"
    ensure_secret "$ns" "$CLOUDFLARE_SECRET" token "${CLOUDFLARE_API_TOKEN:-<token>}"
  done
}

deploy_down() {
  if ! $dry_run && ! k3s_running; then
    info "k3s is not running; nothing to clean up in it"
  else
    step "stopping Argo CD's application controller, so that nothing deleted below comes back"
    kube scale statefulset argocd-application-controller -n "$ARGOCD_NAMESPACE" --replicas=0
    step "deleting Organizations, so that aphex-controller removes their Cloudflare tunnels and DNS records"
    if $dry_run || exists crd organizations.aphex.io; then
      kube delete organizations --all -A --timeout=300s
    fi
    step "deleting the platform's HTTPRoutes, so that external-dns removes their DNS records"
    if $dry_run || exists crd httproutes.gateway.networking.k8s.io; then
      kube delete httproutes --all -A --timeout=120s
      info "(external-dns removes records on its next pass, within a minute: waiting 90 s)"
      run sleep 90
    fi
  fi
  step "uninstalling k3s"
  if $dry_run || [[ -x /usr/local/bin/k3s-uninstall.sh ]]; then
    run /usr/local/bin/k3s-uninstall.sh
  else
    info "k3s is not installed (no /usr/local/bin/k3s-uninstall.sh)"
  fi
  step "done in $((SECONDS - START_SECONDS))s"
}

print_summary() {
  cat <<EOF

Argo CD installs the platform from Git$($wait_converge && ! $dry_run && echo ': it has converged').
EOF
  print_argocd_access
  info "hosts: https://argocd.$DOMAIN, https://auth.$DOMAIN, https://dex.$DOMAIN: no public DNS record"
  info "       names them; point them at this node on your network (a local DNS wildcard for *.$DOMAIN or"
  info "       /etc/hosts), this node's own resolver included: its API server fetches Dex's keys from dex.$DOMAIN"
  info "webhooks: Organizations' hosts <organization>.$PUBLIC_DOMAIN (publicDomain), through Cloudflare tunnels"
  info "          whose DNS records the controller writes"
  info "kubeconfig: /etc/rancher/k3s/k3s.yaml (root only; copy it, with the server's address, to use it elsewhere)"
  info "remove it all: sudo ./bootstrap.sh --deployment k3s --down"
}

main() {
  cd "$ROOT"
  if $down; then
    check_prerequisites
    deploy_down
    return
  fi

  step "checking prerequisites (root, curl)"
  check_prerequisites
  check_domains k3s
  warn_placeholder_domains k3s

  read_repo_credentials "$(repository_url)"
  step "checking the Cloudflare API token's permissions (before anything is installed)"
  check_cloudflare

  step "the API server's OIDC configuration for Dex at dex.$DOMAIN (before k3s starts: no restart)"
  write_oidc_files

  step "installing k3s ${k3s_version:-$K3S_VERSION}"
  install_k3s
  wait_for_api 180
  check_gpu_runtime

  step "putting the controller's image $IMAGE into k3s's containerd"
  import_controller_image

  step "installing Argo CD $ARGOCD_VERSION"
  install_argocd

  step "applying Argo CD's settings (health checks that make the waves wait) before the root Application"
  apply_argocd_settings k3s

  step "creating namespaces and the Secrets the platform needs (each only when missing)"
  create_cloudflare_secrets

  apply_repo_credentials

  step "applying the root Application $ROOT_APPLICATION (platform/deployments/k3s)"
  apply_root_application k3s "$repo_url" "$revision"
  wait_step

  step "done in $((SECONDS - START_SECONDS))s"
  print_summary
}

main

# Shared by bootstrap.sh and the per-deployment scripts platform/deployments/*/bootstrap.sh;
# sourced, never run. What it defines prints every step, and with --dry-run every command
# instead of running it; secret values pass through it to the cluster, never to the output
# unless asked (--show-secrets).
# shellcheck shell=bash
# shellcheck disable=SC2034 # its variables are for the scripts that source it

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/versions.env
source "$ROOT/scripts/versions.env"

PLATFORM_NAMESPACE="platform-system"
ARGOCD_NAMESPACE="argocd"
FIELD_MANAGER="aphex-bootstrap"
ROOT_APPLICATION="aphex-root"
SOURCE_FILE="platform/base/argocd-apps/source.yaml"   # the ConfigMap aphex-platform-source
CONTROLLER_KUSTOMIZATION="platform/base/controller/kustomization.yaml"
ARGOCD_INSTALL_URL="https://raw.githubusercontent.com/argoproj/argo-cd/$ARGOCD_VERSION/manifests/install.yaml"

dry_run="${dry_run:-false}"
show_secrets="${show_secrets:-false}"
START_SECONDS=$SECONDS

# --- output and running -----------------------------------------------------------------------

# quote ARG...: the arguments as a shell would need them typed, for printing.
quote() {
  local arg out=() q="'"
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+=("$arg")
    else
      out+=("$q${arg//$q/$q\\$q$q}$q")
    fi
  done
  printf '%s' "${out[*]}"
}

# run CMD...: runs a command, or with --dry-run prints it.
run() {
  if $dry_run; then
    printf '    $ %s\n' "$(quote "$@")"
  else
    "$@"
  fi
}
step() { printf '==> [%3ds] %s\n' "$((SECONDS - START_SECONDS))" "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '    warning: %s\n' "$*" >&2; }
die() { printf 'bootstrap.sh: error: %s\n' "$*" >&2; exit 1; }
indent() { sed 's/^/    /'; }

# --- prerequisites ----------------------------------------------------------------------------

# How to get each tool a deployment may need.
tool_hint() {
  case "$1" in
    docker) echo "Docker Engine: https://docs.docker.com/engine/install/" ;;
    kind) echo "kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    kubectl) echo "kubectl: https://kubernetes.io/docs/tasks/tools/" ;;
    curl) echo "curl: apt-get install curl" ;;
    base64|sed|awk) echo "coreutils/sed/gawk from your distribution" ;;
    *) echo "install it from your distribution" ;;
  esac
}

# require_tools TOOL...: one line per missing tool, then stops; with --dry-run only warns, so
# that the plan can be read on any machine.
require_tools() {
  local tool missing=0
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 && continue
    missing=$((missing + 1))
    if $dry_run; then
      warn "$tool is not installed (a real run stops here). Install $(tool_hint "$tool")"
    else
      printf 'bootstrap.sh: %s is not installed. Install %s\n' "$tool" "$(tool_hint "$tool")" >&2
    fi
  done
  ((missing == 0)) || $dry_run || die "$missing required tool(s) missing (listed above)"
}

# --- reading the repository -------------------------------------------------------------------

# source_value KEY: a data key of the ConfigMap aphex-platform-source as the base ships it.
source_value() {
  sed -n "s/^  $1: *//p" "$ROOT/$SOURCE_FILE" | head -1 | tr -d "\"'"
}

# The tag the controller's manifests run (images: newTag in its kustomization).
controller_image() {
  local tag
  tag="$(sed -n 's/^ *newTag: *//p' "$ROOT/$CONTROLLER_KUSTOMIZATION" | head -1 | tr -d "\"'")"
  [[ -n "$tag" ]] || die "no image tag (newTag) in $CONTROLLER_KUSTOMIZATION"
  echo "aphex-controller:$tag"
}

# settings_value DEPLOYMENT KEY: a parameter of platform/deployments/DEPLOYMENT/settings.
settings_value() {
  sed -n "s/^  $2: *//p" "$ROOT/platform/deployments/$1/settings/settings.yaml" | head -1 | tr -d "\"'"
}

# --- Kubernetes -------------------------------------------------------------------------------

# KUBECTL_CMD is set by each deployment to the command that reaches its cluster (with an explicit
# context, never whatever is current).
KUBECTL_CMD=(kubectl)

kube() { run "${KUBECTL_CMD[@]}" "$@"; }
exists() { "${KUBECTL_CMD[@]}" get "$@" >/dev/null 2>&1; }

# apply_stdin: server-side apply of the manifest on stdin; an object that already matches stays
# untouched (not even its resourceVersion changes).
apply_stdin() {
  if $dry_run; then
    printf '    $ %s <<EOF\n' "$(quote "${KUBECTL_CMD[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -f -)"
    indent
    printf '    EOF\n'
  else
    "${KUBECTL_CMD[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -f - | indent
  fi
}

ensure_namespace() {
  local ns="$1"
  if $dry_run; then
    kube create namespace "$ns"
  elif exists namespace "$ns"; then
    info "namespace $ns exists"
  else
    "${KUBECTL_CMD[@]}" create namespace "$ns" | indent
  fi
}

# secret_manifest NAMESPACE NAME KEY VALUE [KEY VALUE]...: a Secret on stdout. Only shell
# builtins see the values (and base64 on its stdin), so no process lists them in its arguments.
secret_manifest() {
  local ns="$1" name="$2"
  shift 2
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' "$name" "$ns"
  printf '  labels:\n    app.kubernetes.io/part-of: aphex\n    app.kubernetes.io/created-by: %s\n' "$FIELD_MANAGER"
  printf 'type: Opaque\ndata:\n'
  while (($# >= 2)); do
    printf '  %s: %s\n' "$1" "$(printf '%s' "$2" | base64 -w0)"
    shift 2
  done
}

# print_secret_access NAMESPACE NAME KEY: how to read one key, or with --show-secrets its value.
print_secret_access() {
  local ns="$1" name="$2" key="$3" read_cmd
  read_cmd=("${KUBECTL_CMD[@]}" get secret "$name" -n "$ns" -o "jsonpath={.data.${key//./\\.}}")
  if $show_secrets && ! $dry_run; then
    info "$ns/$name $key = $("${read_cmd[@]}" | base64 -d)"
  else
    info "$ns/$name $key: $(quote "${read_cmd[@]}") | base64 -d"
  fi
}

# ensure_secret NAMESPACE NAME KEY VALUE...: creates the Secret only when it does not exist; an
# existing one is never changed (it may hold a value someone rotated on purpose).
ensure_secret() {
  local ns="$1" name="$2" i
  shift 2
  if $dry_run; then
    info "(Secret $ns/$name, only when it does not exist; values never printed)"
    printf '    $ %s < <Secret %s/%s with keys:' "$(quote "${KUBECTL_CMD[@]}" create -f -)" "$ns" "$name"
    for ((i = 1; i <= $#; i += 2)); do printf ' %s' "${!i}"; done
    printf '>\n'
    return
  fi
  if exists secret "$name" -n "$ns"; then
    info "secret $ns/$name exists; left as it is"
  else
    secret_manifest "$ns" "$name" "$@" | "${KUBECTL_CMD[@]}" create -f - | indent
  fi
  for ((i = 1; i <= $#; i += 2)); do print_secret_access "$ns" "$name" "${!i}"; done
}

# wait_for_api SECONDS: until the API server answers (a fresh cluster needs a moment).
wait_for_api() {
  local limit="$1" start=$SECONDS
  if $dry_run; then
    kube get --raw /readyz
    return
  fi
  until "${KUBECTL_CMD[@]}" get --raw /readyz >/dev/null 2>&1; do
    ((SECONDS - start < limit)) || die "the API server did not answer within ${limit}s"
    sleep 2
  done
  info "the API server answers"
}

# --- Argo CD and the root Application ----------------------------------------------------------

# Argo CD at the pinned release, unless it is installed already (a re-run, or an Argo CD that
# the platform has since taken over: aphex-argocd-config manages its settings).
install_argocd() {
  ensure_namespace "$ARGOCD_NAMESPACE"
  if $dry_run; then
    info "(only when deployment $ARGOCD_NAMESPACE/argocd-server does not exist yet)"
    kube apply --server-side --field-manager "$FIELD_MANAGER" -n "$ARGOCD_NAMESPACE" -f "$ARGOCD_INSTALL_URL"
  elif exists deployment argocd-server -n "$ARGOCD_NAMESPACE"; then
    info "Argo CD is installed ($("${KUBECTL_CMD[@]}" get deployment argocd-server -n "$ARGOCD_NAMESPACE" \
      -o 'jsonpath={.spec.template.spec.containers[0].image}')); left as it is"
  else
    info "installing Argo CD $ARGOCD_VERSION from $ARGOCD_INSTALL_URL"
    "${KUBECTL_CMD[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -n "$ARGOCD_NAMESPACE" \
      -f "$ARGOCD_INSTALL_URL" >/dev/null
  fi
  # TLS ends at the deployment's front door (Ingress or Gateway), which talks plain HTTP to
  # argocd-server. aphex-argocd-config sets the same from Git, but argocd-server reads it only
  # at start, so the first one must already start with it: set it and restart when it differs.
  if $dry_run; then
    info "(only when argocd-cmd-params-cm does not say server.insecure: \"true\" yet)"
    kube patch configmap argocd-cmd-params-cm -n "$ARGOCD_NAMESPACE" --type merge -p '{"data":{"server.insecure":"true"}}'
    kube rollout restart deployment/argocd-server -n "$ARGOCD_NAMESPACE"
  elif [[ "$("${KUBECTL_CMD[@]}" get configmap argocd-cmd-params-cm -n "$ARGOCD_NAMESPACE" \
          -o 'jsonpath={.data.server\.insecure}' 2>/dev/null)" != true ]]; then
    "${KUBECTL_CMD[@]}" patch configmap argocd-cmd-params-cm -n "$ARGOCD_NAMESPACE" --type merge \
      -p '{"data":{"server.insecure":"true"}}' | indent
    "${KUBECTL_CMD[@]}" rollout restart deployment/argocd-server -n "$ARGOCD_NAMESPACE" | indent
  fi
  local workload
  for workload in statefulset/argocd-application-controller deployment/argocd-repo-server \
      deployment/argocd-server deployment/argocd-redis deployment/argocd-applicationset-controller; do
    if $dry_run; then
      kube rollout status "$workload" -n "$ARGOCD_NAMESPACE" --timeout=300s
    else
      "${KUBECTL_CMD[@]}" rollout status "$workload" -n "$ARGOCD_NAMESPACE" --timeout=300s | indent
    fi
  done
}

# yaml_string VALUE: VALUE as a double-quoted YAML scalar.
yaml_string() {
  local v="${1//\\/\\\\}"
  printf '"%s"' "${v//\"/\\\"}"
}

# root_application DEPLOYMENT REPO_URL REVISION OVERRIDE: the root Application, as the overlay
# builds it (aphex-root in platform/base/argocd-apps/root.yaml), pointed at the deployment's
# overlay. With OVERRIDE=true it also carries the repository and revision as kustomize patches,
# so that Argo CD builds every Application, the AppProject and the source ConfigMap with them:
# the override holds although aphex-root syncs itself from Git (the overlay tells it to leave
# spec.source.kustomize alone).
root_application() {
  local deployment="$1" repo_url revision override="$4"
  repo_url="$(yaml_string "$2")"
  revision="$(yaml_string "$3")"
  cat <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $ROOT_APPLICATION
  namespace: $ARGOCD_NAMESPACE
  labels:
    app.kubernetes.io/part-of: aphex
spec:
  project: default
  source:
    repoURL: $repo_url
    targetRevision: $revision
    path: platform/deployments/$deployment
EOF
  if $override; then
    cat <<EOF
    kustomize:
      patches:
        - target:
            kind: ConfigMap
            name: aphex-platform-source
          patch: |-
            - op: replace
              path: /data/repoURL
              value: $repo_url
            - op: replace
              path: /data/targetRevision
              value: $revision
        - target:
            kind: Application
            labelSelector: aphex.io/source!=chart-repository
          patch: |-
            - op: replace
              path: /spec/source/repoURL
              value: $repo_url
            - op: replace
              path: /spec/source/targetRevision
              value: $revision
        - target:
            kind: AppProject
            name: aphex-platform
          patch: |-
            - op: replace
              path: /spec/sourceRepos/0
              value: $repo_url
EOF
  fi
  cat <<EOF
  destination:
    server: https://kubernetes.default.svc
    namespace: $ARGOCD_NAMESPACE
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - ServerSideApply=true
    retry:
      limit: 10
      backoff:
        duration: 10s
        factor: 2
        maxDuration: 5m
EOF
}

# apply_root_application DEPLOYMENT REPO_URL REVISION: REPO_URL and REVISION are what the
# options gave (empty: not given). An existing root Application is left as it is unless an
# option asks for a change; a new one gets the base's source unless the options say otherwise.
apply_root_application() {
  local deployment="$1" repo_url="$2" revision="$3" override=true
  if [[ -z "$repo_url" && -z "$revision" ]]; then
    if ! $dry_run && exists application "$ROOT_APPLICATION" -n "$ARGOCD_NAMESPACE"; then
      info "application $ARGOCD_NAMESPACE/$ROOT_APPLICATION exists ($("${KUBECTL_CMD[@]}" get application \
        "$ROOT_APPLICATION" -n "$ARGOCD_NAMESPACE" -o 'jsonpath={.spec.source.repoURL} at {.spec.source.targetRevision}'));" \
        "left as it is (--repo-url/--revision change it)"
      return
    fi
    override=false
  fi
  [[ -n "$repo_url" ]] || repo_url="$(source_value repoURL)"
  [[ -n "$revision" ]] || revision="$(source_value targetRevision)"
  [[ -n "$repo_url" && -n "$revision" ]] || die "no repoURL/targetRevision in $SOURCE_FILE; give --repo-url and --revision"
  if [[ "$repo_url" == *.invalid/* ]]; then
    local why="the repository is $repo_url, a placeholder Argo CD cannot read: give --repo-url"
    why+=" (a clone of this repository that the cluster can reach) or set repoURL in $SOURCE_FILE"
    if $dry_run; then warn "$why (a real run stops here)"; else die "$why"; fi
  fi
  info "Argo CD reads platform/deployments/$deployment from $repo_url at $revision"
  $dry_run && info "(only when it does not exist yet, or when --repo-url/--revision are given)"
  root_application "$deployment" "$repo_url" "$revision" "$override" | apply_stdin
}

# validate_source_options: what --repo-url and --revision may hold.
validate_source_options() {
  [[ -z "$repo_url" || "$repo_url" =~ ^(https://|http://|ssh://|git@)[^[:space:]\"\\]+$ ]] \
    || die "--repo-url must be an https://, ssh:// or git@ Git URL, not '$repo_url'"
  [[ -z "$revision" || "$revision" =~ ^[A-Za-z0-9._/-]+$ ]] \
    || die "--revision must be a branch, tag or commit, not '$revision'"
}

# print_argocd_access: how to reach Argo CD and read its first admin password.
print_argocd_access() {
  local password=("${KUBECTL_CMD[@]}" get secret argocd-initial-admin-secret -n "$ARGOCD_NAMESPACE"
                  -o 'jsonpath={.data.password}')
  if $show_secrets && ! $dry_run && exists secret argocd-initial-admin-secret -n "$ARGOCD_NAMESPACE"; then
    info "Argo CD admin password: $("${password[@]}" | base64 -d)"
  else
    info "Argo CD admin password: $(quote "${password[@]}") | base64 -d"
  fi
  info "Argo CD without DNS: $(quote "${KUBECTL_CMD[@]}" port-forward -n "$ARGOCD_NAMESPACE" \
    svc/argocd-server 8080:80), then http://localhost:8080"
  info "progress: $(quote "${KUBECTL_CMD[@]}" get applications -n "$ARGOCD_NAMESPACE")"
}

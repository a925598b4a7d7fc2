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
# Prints a deployment's API-server authentication configuration (docs/auth.md, "kubectl").
RENDER_AUTH_CONFIG="platform/deployments/common/auth/apiserver/render-authentication-config.sh"
ARGOCD_INSTALL_URL="https://raw.githubusercontent.com/argoproj/argo-cd/$ARGOCD_VERSION/manifests/install.yaml"

# Where the deployments keep files on this machine (the same folder as scripts/local-cluster):
# the local deployment's cluster, kind's API-server authentication folder. Never in the repository.
STATE_DIR="${APHEX_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/aphex}"

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

# check_domains DEPLOYMENT: domain and publicDomain of the deployment's settings must both be set
# and differ: platform hosts are on domain, Organizations' webhook hosts on publicDomain, and the
# front door and DNS keep the two apart. PLACEHOLDER_DOMAINS (example.com and its subdomains, as
# the k3s settings ship) only warn: a dry run reads the plan with them.
check_domains() {
  local settings="platform/deployments/$1/settings/settings.yaml" domain public
  domain="$(settings_value "$1" domain)"
  public="$(settings_value "$1" publicDomain)"
  [[ -n "$domain" ]] || die "domain is empty in $settings: set the private domain of the platform's hosts"
  [[ -n "$public" ]] || die "publicDomain is empty in $settings: set the domain of Organizations' webhook hosts"
  [[ "$domain" != "$public" ]] \
    || die "domain and publicDomain are both '$domain' in $settings: webhooks need a domain of their own (publicDomain), apart from the platform's hosts (domain)"
  [[ "$public" != *".$domain" ]] \
    || die "publicDomain '$public' lies under domain '$domain' in $settings: give webhooks a domain outside the platform's"
}

# warn_placeholder_domains DEPLOYMENT: the settings still name example.com (or a subdomain of it).
warn_placeholder_domains() {
  local settings="platform/deployments/$1/settings/settings.yaml" key value
  for key in domain publicDomain; do
    value="$(settings_value "$1" "$key")"
    if [[ "$value" == example.com || "$value" == *.example.com ]]; then
      warn "$settings still has the placeholder $key '$value': set yours and push it to the repository Argo CD reads"
    fi
  done
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
  printf 'type: Opaque\n'
  secret_data "$@"
}

# secret_data KEY VALUE...: a Secret's data, each value base64-encoded on base64's stdin.
secret_data() {
  printf 'data:\n'
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

# wait_for_secret NAMESPACE NAME SECONDS: until the Secret exists (made by something the platform
# installs), saying every 30 s how long it has waited.
wait_for_secret() {
  local ns="$1" name="$2" limit="$3" start=$SECONDS next=30
  if $dry_run; then
    info "(every ${WAIT_POLL_SECONDS}s, at most ${limit}s, until Secret $ns/$name exists)"
    kube get secret "$name" -n "$ns"
    return
  fi
  until exists secret "$name" -n "$ns"; do
    ((SECONDS - start < limit)) || die "Secret $ns/$name did not appear within ${limit}s" \
      "($(quote "${KUBECTL_CMD[@]}" get certificates,applications -A) shows what is missing)"
    if ((SECONDS - start >= next)); then
      info "[$((SECONDS - start))s] waiting for Secret $ns/$name"
      next=$((next + 30))
    fi
    sleep "$WAIT_POLL_SECONDS"
  done
  info "Secret $ns/$name exists (after $((SECONDS - start))s)"
}

# replace_if_changed FILE: FILE.new replaces FILE by a rename (a reader never sees half a file),
# unless both are the same; says which.
replace_if_changed() {
  if $dry_run; then
    run mv "$1.new" "$1"
  elif cmp -s "$1.new" "$1"; then
    rm -f "$1.new"
    info "$1 is up to date; left as it is"
  else
    mv "$1.new" "$1"
    info "wrote $1"
  fi
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
  set_argocd_start_params
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

# Keys of argocd-cmd-params-cm that Argo CD reads only at start, so the first Argo CD must already
# start with them (aphex-argocd-config sets the same from Git, too late for that):
# - server.insecure: TLS ends at the deployment's front door (Ingress or Gateway), which talks
#   plain HTTP to argocd-server;
# - application.namespaces: tenants' Applications live in their own namespaces; without it
#   argocd-server and the application controller ignore them until someone restarts both.
ARGOCD_START_PARAMS='{"data":{"server.insecure":"true","application.namespaces":"*"}}'
ARGOCD_START_PARAMS_READ='{.data.server\.insecure} {.data.application\.namespaces}'

# set_argocd_start_params: sets those keys and restarts what reads them, when they differ.
set_argocd_start_params() {
  local restart=(rollout restart deployment/argocd-server statefulset/argocd-application-controller
                 -n "$ARGOCD_NAMESPACE")
  if $dry_run; then
    info "(only when argocd-cmd-params-cm does not say server.insecure: \"true\" and application.namespaces: \"*\" yet)"
    kube patch configmap argocd-cmd-params-cm -n "$ARGOCD_NAMESPACE" --type merge -p "$ARGOCD_START_PARAMS"
    kube "${restart[@]}"
  elif [[ "$("${KUBECTL_CMD[@]}" get configmap argocd-cmd-params-cm -n "$ARGOCD_NAMESPACE" \
          -o "jsonpath=$ARGOCD_START_PARAMS_READ" 2>/dev/null)" != 'true *' ]]; then
    "${KUBECTL_CMD[@]}" patch configmap argocd-cmd-params-cm -n "$ARGOCD_NAMESPACE" --type merge \
      -p "$ARGOCD_START_PARAMS" | indent
    "${KUBECTL_CMD[@]}" "${restart[@]}" | indent
  else
    info "argocd-cmd-params-cm has server.insecure and application.namespaces; nothing restarted"
  fi
}

# apply_argocd_settings DEPLOYMENT: the deployment's Argo CD settings (health checks of child
# Applications and aphex.io kinds, OIDC, RBAC) before the root Application. Until argocd-cm has
# the health check for Applications, Argo CD counts a child Application Healthy on sight, and the
# first sync would run past the waves before aphex-argocd-config (wave 0) had set it. Applied
# server-side as Argo CD's own field manager (argocd-controller, what its server-side apply
# syncs use): when aphex-argocd-config syncs the same objects it owns these fields already, so
# nothing conflicts and a key later removed from Git is removed from the cluster too.
apply_argocd_settings() {
  local dir="platform/deployments/$1/argocd-config" manager="argocd-controller"
  local build=("${KUBECTL_CMD[@]}" kustomize "$dir")
  # --force-conflicts: Git's values win over a hand edit, as they will at Argo CD's next sync.
  local apply=("${KUBECTL_CMD[@]}" apply --server-side --field-manager "$manager" --force-conflicts -f -)
  if $dry_run; then
    printf '    $ %s | %s\n' "$(quote "${build[@]}")" "$(quote "${apply[@]}")"
    return
  fi
  local manifest
  manifest="$("${build[@]}")" || die "kubectl kustomize $dir failed (output above)"
  printf '%s\n' "$manifest" | "${apply[@]}" | indent
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

# --- options both real-cluster deployments take ------------------------------------------------

wait_converge=true          # --no-wait: return once the root Application is applied
wait_timeout=1800           # --timeout, in seconds
repo_ssh_key_file=""        # --repo-ssh-key-file
repo_token_file=""          # --repo-token-file (- is stdin)
repo_username="x-access-token"   # --repo-username; what GitHub expects with a token

COMMON_OPTIONS_HELP='  --repo-ssh-key-file FILE  an SSH private key (e.g. a read-only deploy key) with which Argo
                          CD reads a private repository (--repo-url ssh://... or git@...)
  --repo-token-file FILE  a file holding an access token with which Argo CD reads a private
                          repository over https (- reads it from stdin); never an argument
  --repo-username NAME    the user name that goes with the token (default: x-access-token,
                          as GitHub expects)
  --timeout DURATION      how long to wait for every Application to be Synced and Healthy
                          (90s, 30m, 1h; default: 30m)
  --no-wait               return once the root Application is applied'

# absolute_path FILE: FILE from where the bootstrap was started (the scripts cd to the
# repository's root later); - stays stdin.
absolute_path() { if [[ "$1" == - || "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

# common_option OPTION [VALUE]: sets one of those options; 1 when OPTION is not one of them.
common_option() {
  case "$1" in
    --repo-ssh-key-file) repo_ssh_key_file="$(absolute_path "$2")" ;;
    --repo-token-file) repo_token_file="$(absolute_path "$2")" ;;
    --repo-username) repo_username="$2" ;;
    --timeout) wait_timeout="$(duration_seconds --timeout "$2")" ;;
    --no-wait) wait_converge=false ;;
    *) return 1 ;;
  esac
}

# --- credentials for a private platform repository ----------------------------------------------

REPOSITORY_SECRET="aphex-platform-repository"
repo_credentials=()   # KEY VALUE pairs of the repository Secret, read once by read_repo_credentials

# readable_file FLAG FILE: stops unless FILE can be read.
readable_file() {
  [[ -e "$2" ]] || die "$1: $2 does not exist"
  [[ -f "$2" && -r "$2" ]] || die "$1: $2 is not a readable file"
}

# read_repo_credentials URL: the key or token the options name, checked against URL (the
# repository Argo CD reads), into repo_credentials. Values stay in shell variables.
read_repo_credentials() {
  local url="$1" value
  [[ -n "$repo_ssh_key_file" && -n "$repo_token_file" ]] \
    && die "--repo-ssh-key-file and --repo-token-file exclude each other: give one"
  if [[ -n "$repo_ssh_key_file" ]]; then
    readable_file --repo-ssh-key-file "$repo_ssh_key_file"
    value="$(<"$repo_ssh_key_file")"
    [[ "$value" == "-----BEGIN "*"PRIVATE KEY-----"* ]] \
      || die "--repo-ssh-key-file: $repo_ssh_key_file is not a private key (no '-----BEGIN ... PRIVATE KEY-----'; the .pub file is the public one)"
    [[ "$url" =~ ^(ssh://|git@) ]] \
      || die "--repo-ssh-key-file needs an SSH repository URL (ssh://... or git@host:owner/repo.git), not '$url': give --repo-url"
    repo_credentials=(type git url "$url" sshPrivateKey "$value"$'\n')
  elif [[ -n "$repo_token_file" ]]; then
    if [[ "$repo_token_file" == - ]]; then
      value="$(cat)"
    else
      readable_file --repo-token-file "$repo_token_file"
      value="$(<"$repo_token_file")"
    fi
    value="${value%$'\r'}"
    [[ -n "$value" && "$value" != *[[:space:]]* ]] \
      || die "--repo-token-file: $repo_token_file must hold one token on one line (it is empty or has spaces)"
    [[ "$url" == https://* ]] \
      || die "--repo-token-file needs an https:// repository URL, not '$url': give --repo-url"
    [[ "$repo_username" =~ ^[^[:space:]:]+$ ]] || die "--repo-username must be a user name without spaces or ':'"
    repo_credentials=(type git url "$url" username "$repo_username" password "$value")
  fi
}

# apply_repo_credentials: the repository Secret Argo CD finds by its label, created or updated
# by server-side apply from stdin. With --dry-run it is printed with the key or password redacted.
apply_repo_credentials() {
  ((${#repo_credentials[@]})) || return 0
  local manifest
  manifest="$(printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' \
    "$REPOSITORY_SECRET" "$ARGOCD_NAMESPACE"
    printf '  labels:\n    argocd.argoproj.io/secret-type: repository\n    app.kubernetes.io/part-of: aphex\n'
    printf 'type: Opaque\n')"
  if $dry_run; then
    # The key and the password are redacted; type, url and username are no secrets.
    { printf '%s\n' "$manifest"; secret_data "${repo_credentials[@]}" \
        | sed -E 's/^(  (sshPrivateKey|password)): .*/\1: <redacted>/'; } | apply_stdin
  else
    { printf '%s\n' "$manifest"; secret_data "${repo_credentials[@]}"; } | apply_stdin
    info "Argo CD reads ${repo_credentials[3]} with the credentials in Secret $ARGOCD_NAMESPACE/$REPOSITORY_SECRET"
  fi
}

# repository_url: the repository Argo CD reads (--repo-url, else the base's).
repository_url() { if [[ -n "$repo_url" ]]; then echo "$repo_url"; else source_value repoURL; fi; }

# wait_step: the wait for convergence, unless --no-wait.
wait_step() {
  if ! $wait_converge; then
    info "not waiting (--no-wait): $(quote "${KUBECTL_CMD[@]}" get applications -n "$ARGOCD_NAMESPACE") shows the progress"
    return
  fi
  step "waiting until every Application is Synced and Healthy (at most ${wait_timeout}s, --timeout)"
  wait_for_platform "$wait_timeout"
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

# --- waiting for the platform to converge -------------------------------------------------------

# duration_seconds FLAG VALUE: VALUE (90s, 30m, 1h30m or plain seconds) in seconds.
duration_seconds() {
  local flag="$1" value="$2" total=0 part
  [[ "$value" =~ ^[0-9]+$ ]] && { echo "$value"; return; }
  [[ "$value" =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ && -n "$value" ]] \
    || die "$flag must be a duration such as 90s, 30m or 1h30m, not '$value'"
  for part in "${BASH_REMATCH[@]:1}"; do
    case "$part" in
      *h) total=$((total + ${part%h} * 3600)) ;;
      *m) total=$((total + ${part%m} * 60)) ;;
      *s) total=$((total + ${part%s})) ;;
    esac
  done
  echo "$total"
}

# Which Applications are the platform's (every one the overlays write carries it), where they
# live, and how often to look. Tenants' Applications are not the platform's and are not waited on.
PLATFORM_APPS_SELECTOR="app.kubernetes.io/part-of=aphex"
APPS_NAMESPACE="${APPS_NAMESPACE:-$ARGOCD_NAMESPACE}"
WAIT_POLL_SECONDS="${WAIT_POLL_SECONDS:-5}"

# One record per Application: name, sync wave, sync status, health status and the most telling
# message (health, then an unfinished operation, then the first condition), fields separated by
# \x1f and records by \x1e, because messages may span lines. A go-template, so that nothing but
# kubectl is needed.
APPS_TEMPLATE='{{range .items}}{{.metadata.name}}{{"\x1f"}}'\
'{{with .metadata.annotations}}{{with index . "argocd.argoproj.io/sync-wave"}}{{.}}{{end}}{{end}}{{"\x1f"}}'\
'{{with .status}}{{with .sync}}{{.status}}{{end}}{{end}}{{"\x1f"}}'\
'{{with .status}}{{with .health}}{{.status}}{{end}}{{end}}{{"\x1f"}}'\
'{{with .status}}{{with .health}}{{with .message}}{{.}}; {{end}}{{end}}'\
'{{with .operationState}}{{if ne .phase "Succeeded"}}operation {{.phase}}: {{.message}}; {{end}}{{end}}'\
'{{range .conditions}}{{.type}}: {{.message}}; {{end}}{{end}}{{"\x1e"}}{{end}}'

# What a failing Application says about itself: conditions, its last operation and every
# resource that is not Healthy or not Synced.
# shellcheck disable=SC2016 # $r is the template's variable, not the shell's
APP_PROBLEMS_TEMPLATE='{{with .status}}{{range .conditions}}condition {{.type}}: {{.message}}{{"\n"}}{{end}}'\
'{{with .operationState}}operation {{.phase}}: {{.message}}{{"\n"}}{{end}}'\
'{{range .resources}}{{$r := .}}{{with .health}}{{if ne .status "Healthy"}}resource {{$r.kind}} '\
'{{with $r.namespace}}{{.}}/{{end}}{{$r.name}}: health {{.status}}{{with .message}}: {{.}}{{end}}{{"\n"}}{{end}}{{end}}'\
'{{with .status}}{{if ne . "Synced"}}resource {{$r.kind}} {{with $r.namespace}}{{.}}/{{end}}{{$r.name}}: {{.}}{{"\n"}}{{end}}{{end}}'\
'{{end}}{{end}}'

# platform_apps_report: the lines that describe where convergence stands, or nothing when every
# Application is Synced and Healthy. The first wave (lowest sync-wave annotation; none: after
# the waves) that has an Application not yet Synced and Healthy is the one Argo CD is working
# on; each of its Applications that is not ready gets a line. Fails when the list cannot be read.
platform_apps_report() {
  local records name wave sync health message total=0 ready=0 current="" lines=() key
  records="$("${KUBECTL_CMD[@]}" get applications.argoproj.io -n "$APPS_NAMESPACE" -l "$PLATFORM_APPS_SELECTOR" \
    -o "go-template=$APPS_TEMPLATE")" || return 1
  while IFS=$'\x1f' read -r -d $'\x1e' name wave sync health message; do
    total=$((total + 1))
    if [[ "$sync" == Synced && "$health" == Healthy ]]; then ready=$((ready + 1)); continue; fi
    key="${wave:-1000000000}"
    message="${message//$'\n'/ }"
    message="${message%; }"
    lines+=("$key"$'\t'"${wave:-(no wave)}"$'\t'"$name"$'\t'"sync ${sync:-Unknown}, health ${health:-Unknown}${message:+: $message}")
  done <<<"$records"
  if ((total == 0)); then
    echo "no Application labelled $PLATFORM_APPS_SELECTOR in $APPS_NAMESPACE yet"
    return
  fi
  ((ready == total)) && return
  current="$(printf '%s\n' "${lines[@]}" | sort -t $'\t' -k1,1n | head -1 | cut -f1)"
  printf '%s of %s Applications Synced and Healthy\n' "$ready" "$total"
  printf '%s\n' "${lines[@]}" | sort -t $'\t' -k1,1n -k3,3 | awk -F '\t' -v w="$current" \
    '$1 == w { printf "wave %s: waiting on %s: %s\n", $2, $3, $4 }'
}

# print_app_problems: for each platform Application not Synced and Healthy, what it says.
print_app_problems() {
  local name sync health
  while read -r name sync health; do
    [[ "$sync" == Synced && "$health" == Healthy ]] && continue
    printf 'Application %s/%s: sync %s, health %s\n' "$APPS_NAMESPACE" "$name" "$sync" "$health" >&2
    "${KUBECTL_CMD[@]}" get applications.argoproj.io "$name" -n "$APPS_NAMESPACE" \
      -o "go-template=$APP_PROBLEMS_TEMPLATE" 2>&1 | sed 's/^/    /' >&2
  done < <("${KUBECTL_CMD[@]}" get applications.argoproj.io -n "$APPS_NAMESPACE" -l "$PLATFORM_APPS_SELECTOR" \
    -o 'go-template={{range .items}}{{.metadata.name}} {{with .status}}{{with .sync}}{{.status}}{{end}}{{end}} {{with .status}}{{with .health}}{{.status}}{{end}}{{end}}{{"\n"}}{{end}}')
}

# wait_for_platform SECONDS: until every platform Application is Synced and Healthy, printing
# where it stands whenever that changes; after SECONDS, what each failing Application says, and
# a non-zero exit.
wait_for_platform() {
  local limit="$1" start=$SECONDS report previous=""
  if $dry_run; then
    info "(every ${WAIT_POLL_SECONDS}s, at most ${limit}s, until each Application labelled $PLATFORM_APPS_SELECTOR is Synced and Healthy)"
    kube get applications.argoproj.io -n "$APPS_NAMESPACE" -l "$PLATFORM_APPS_SELECTOR" -o go-template=...
    return
  fi
  while true; do
    if ! report="$(platform_apps_report 2>&1)"; then
      report="cannot list Applications: ${report//$'\n'/ }"
    elif [[ -z "$report" ]]; then
      info "every platform Application is Synced and Healthy (after $((SECONDS - start))s)"
      return 0
    fi
    if [[ "$report" != "$previous" ]]; then
      printf '%s\n' "$report" | sed "s/^/    [$((SECONDS - start))s] /"
      previous="$report"
    fi
    if ((SECONDS - start >= limit)); then
      printf 'bootstrap.sh: the platform did not converge within %ss; what the Applications say:\n' "$limit" >&2
      print_app_problems
      die "the platform did not converge within ${limit}s (Applications above; --timeout waits longer, $(quote "${KUBECTL_CMD[@]}" get applications -n "$APPS_NAMESPACE") shows them)"
    fi
    sleep "$WAIT_POLL_SECONDS"
  done
}

# --- Cloudflare: the token's permissions, checked before anything is installed -----------------

# The API's base URL; a test points it at a local stand-in.
CLOUDFLARE_API_URL="${APHEX_CLOUDFLARE_API_URL:-https://api.cloudflare.com/client/v4}"
CLOUDFLARE_TOKENS_PAGE="Cloudflare dashboard > My Profile > API Tokens > (the token) > Edit"

# cloudflare_get PATH: GET of one API path with the token in CLOUDFLARE_API_TOKEN; prints the
# HTTP status, a newline and the body. The token reaches curl in its configuration on stdin
# (-K -), never in its arguments.
cloudflare_get() {
  printf 'header = "Authorization: Bearer %s"\nurl = "%s%s"\n' "$CLOUDFLARE_API_TOKEN" "$CLOUDFLARE_API_URL" "$1" \
    | curl -sS --max-time 30 -K - -w '\n%{http_code}' 2>&1 | awk '{ lines[NR] = $0 } END {
        print lines[NR]; for (i = 1; i < NR; i++) print lines[i] }'
}

# cloudflare_errors BODY: Cloudflare's errors [{code, message}] of a response, as "code: message".
cloudflare_errors() {
  grep -o '"code": *[0-9]*, *"message": *"[^"]*"' <<<"$1" | sed 's/"code": *\([0-9]*\), *"message": *"\(.*\)"/\1: \2/' \
    | paste -sd ';' - | sed 's/;/; /g'
}

# cloudflare_check WHAT PATH PERMISSION WHY: one read-only call; stops with the permission to add
# when Cloudflare refuses it (HTTP 401/403: codes 9109, 10000, ...), with the settings to check
# when it does not know the ID (404, or code 7003 "could not route").
cloudflare_check() {
  local what="$1" path="$2" permission="$3" why="$4" answer status body errors
  answer="$(cloudflare_get "$path")"
  status="${answer%%$'\n'*}"
  body="${answer#*$'\n'}"
  errors="$(cloudflare_errors "$body")"
  if [[ "$status" == 200 ]] && grep -q '"success": *true' <<<"$body"; then
    if [[ "$path" != /user/tokens/verify ]] || grep -q '"status": *"active"' <<<"$body"; then
      info "Cloudflare: $what: ok"
      return
    fi
    die "the Cloudflare API token is not active (expired or disabled): create a new one in $CLOUDFLARE_TOKENS_PAGE"
  fi
  if [[ "$status" == 404 || "$errors" == *7003:* ]]; then
    die "Cloudflare finds nothing at $path (HTTP $status${errors:+, $errors}): check $CLOUDFLARE_SETTINGS_HINT"
  fi
  case "$status" in
    000) die "cannot reach the Cloudflare API at $CLOUDFLARE_API_URL (${body//$'\n'/ }; APHEX_CLOUDFLARE_API_URL overrides it)" ;;
    401|403)
      [[ "$path" == /user/tokens/verify ]] && die "Cloudflare refuses the API token (HTTP $status${errors:+, $errors}):" \
        "it is mistyped, expired or revoked; create one in Cloudflare dashboard > My Profile > API Tokens"
      die "the Cloudflare API token may not $what (HTTP $status${errors:+, $errors}): add the permission" \
        "$permission ($why) in $CLOUDFLARE_TOKENS_PAGE" ;;
    *) die "Cloudflare answered HTTP $status to '$what'${errors:+ ($errors)}" ;;
  esac
}

# verify_cloudflare ACCOUNT_ID ZONE_ID SETTINGS_FILE: the token (CLOUDFLARE_API_TOKEN) is active
# and may do what the platform does with it, one read-only call for each permission:
# - Account > Cloudflare Tunnel > Edit: the controller creates each Organization's tunnel;
# - Zone > Zone > Read: cert-manager's DNS-01 solver and external-dns look the zone up;
# - Zone > DNS > Edit: the same two and the controller write records.
verify_cloudflare() {
  local account="$1" zone="$2" settings="$3" problems=()
  CLOUDFLARE_SETTINGS_HINT="cloudflareAccountID and cloudflareZoneID in $settings"
  [[ -n "$account" ]] || problems+=("cloudflareAccountID is empty in $settings (Cloudflare dashboard > Account home > the account's menu > Copy account ID)")
  [[ -n "$zone" ]] || problems+=("cloudflareZoneID is empty in $settings (the zone's Overview page, API section: Zone ID)")
  [[ "$account$zone" =~ ^[A-Za-z0-9]*$ ]] || problems+=("cloudflareAccountID and cloudflareZoneID in $settings must be Cloudflare IDs (letters and digits)")
  if ((${#problems[@]})); then
    local why
    why="$(printf '%s; ' "${problems[@]}")"
    why="${why%; }"
    if $dry_run; then warn "$why (a real run stops here)"; else die "$why; set them, commit and push"; fi
  fi
  if $dry_run; then
    info "(read-only calls to $CLOUDFLARE_API_URL, the token in curl's configuration on stdin:)"
    local path
    for path in /user/tokens/verify "/accounts/${account:-ACCOUNT}/cfd_tunnel?per_page=1" "/zones/${zone:-ZONE}" \
        "/zones/${zone:-ZONE}/dns_records?per_page=1"; do
      printf '    $ curl -sS --max-time 30 -K - <<EOF\n    header = "Authorization: Bearer <token>"\n    url = "%s"\n    EOF\n' \
        "$CLOUDFLARE_API_URL$path"
    done
    return
  fi
  require_tools curl
  cloudflare_check "verify the token" /user/tokens/verify "" ""
  cloudflare_check "read Cloudflare Tunnels of account $account" "/accounts/$account/cfd_tunnel?per_page=1" \
    "Account > Cloudflare Tunnel > Edit" "the controller creates each Organization's tunnel"
  cloudflare_check "read zone $zone" "/zones/$zone" "Zone > Zone > Read" \
    "cert-manager's DNS-01 solver and external-dns look the zone up"
  cloudflare_check "list DNS records of zone $zone" "/zones/$zone/dns_records?per_page=1" "Zone > DNS > Edit" \
    "cert-manager, external-dns and the controller write records"
}

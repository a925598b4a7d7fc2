# shellcheck shell=bash
# Tekton beside the local control plane: `scripts/local-cluster tekton ...` (docs/local-cluster.md).
# Sourced by scripts/local-cluster, whose functions (start, stop, free_port, wait_for, cluster_dir,
# load_ports, binary, module_dir, with_progress) it uses.
#
# Three kinds of process, each built from Tekton's own module at the version scripts/versions.env
# pins and each running as its own ServiceAccount, never as admin:
#   tekton-controller    Pipelines' controller (cmd/controller): PipelineRuns -> TaskRuns -> Pods,
#                        as ServiceAccount tekton-pipelines/tekton-pipelines-controller
#   tekton-interceptors  Triggers' core interceptors (cmd/interceptors: github, cel, ...), as
#                        tekton-pipelines/tekton-triggers-core-interceptors
#   tekton-listener-*    one EventListener sink (cmd/eventlistenersink) per EventListener, as the
#                        listener's own ServiceAccount (an Organization's `eventlistener`)

TEKTON_MOD_DIR="$ROOT/tools/tekton"
TEKTON_NAMESPACE=tekton-pipelines
TEKTON_FIELD_MANAGER=aphex-local-tekton
INTERCEPTORS_SERVICE=tekton-triggers-core-interceptors
# Ports the programs do not let us choose: cmd/interceptors always listens on 8443, and the
# controller's shared main (knative) serves its health probes on 8080. One local Tekton per machine.
INTERCEPTORS_PORT=8443
CONTROLLER_FIXED_PORT=8080
# Where a pod finds its ServiceAccount; the sink reads it there and nowhere else.
POD_ACCOUNT_DIR=/var/run/secrets/kubernetes.io/serviceaccount
# How long the processes' ServiceAccount tokens (TokenRequest API) last; `tekton up` renews those
# older than half that in place, and the programs re-read their token files.
TEKTON_TOKEN_HOURS=24
# `tekton up --if-built` when Tekton cannot run here: what CTest counts as a skipped test.
EXIT_UNAVAILABLE=77

tekton_usage() {
  cat <<EOF
Usage: scripts/local-cluster [--name NAME] tekton COMMAND

Tekton Pipelines $TEKTON_PIPELINES_VERSION and Triggers $TEKTON_TRIGGERS_VERSION as local processes beside a running
local cluster, each under its own ServiceAccount's RBAC.

Commands:
  build                  build the controller, the EventListener sink and the core interceptors, or
                         reuse the cached ones
  up [--if-built]        install Tekton's configuration from its modules' config/ (namespace,
                         ServiceAccounts, RBAC, ConfigMaps, ClusterInterceptors), start the
                         controller and the interceptors; sinks are started by 'listener(s)'.
                         --if-built: exit $EXIT_UNAVAILABLE, doing nothing, when the binaries are not
                         built or the machine cannot run the sink (for tests that skip then)
  listener NS/NAME       start the sink of EventListener NAME in namespace NS (again, if it runs),
                         wait until it answers and print its URL
  listener-down NS/NAME  stop the sink of that EventListener
  push NS/NAME REPO [BRANCH]
                         send the sink of that EventListener a GitHub push of REPO (owner/name) to
                         BRANCH (default main), signed with the secret its github interceptor names,
                         as GitHub would; prints the delivery id (the secret is never printed)
  listeners              start a sink for every EventListener that has none; print "NS/NAME URL"
  down                   stop every Tekton process of this cluster
  status                 show the processes (exit code 0 when controller and interceptors run)

The sink needs a pod's in-cluster configuration: it runs in a private mount namespace (unshare;
as root, or with user namespaces) where its ServiceAccount's token, the cluster CA and its
namespace are at $POD_ACCOUNT_DIR.
EOF
}

# --- binaries ---------------------------------------------------------------------------------

TEKTON_COMMANDS=(github.com/tektoncd/pipeline/cmd/controller github.com/tektoncd/triggers/cmd/eventlistenersink
  github.com/tektoncd/triggers/cmd/interceptors)

tekton_build_key() { cat "$TEKTON_MOD_DIR/go.mod" "$TEKTON_MOD_DIR/go.sum" | sha256sum | cut -c1-16; }

tekton_bin_dir() {
  echo "$CACHE_DIR/tekton/pipeline-$TEKTON_PIPELINES_VERSION-triggers-$TEKTON_TRIGGERS_VERSION-$(tekton_build_key)/bin"
}

# tools/tekton/go.mod must require what scripts/versions.env pins: one place decides, one checks.
tekton_check_pins() {
  local module version
  for module in pipeline:"$TEKTON_PIPELINES_VERSION" triggers:"$TEKTON_TRIGGERS_VERSION"; do
    version="${module#*:}"; module="github.com/tektoncd/${module%%:*}"
    grep -Eq "^\s*$module $version(\s|$)" "$TEKTON_MOD_DIR/go.mod" ||
      die "tools/tekton/go.mod does not require $module $version (scripts/versions.env): run 'go get $module@$version && go mod tidy' in tools/tekton"
  done
}

tekton_built() {
  local bin cmd
  bin="$(tekton_bin_dir)"
  for cmd in "${TEKTON_COMMANDS[@]}"; do [[ -x "$bin/$(basename "$cmd")" ]] || return 1; done
}

tekton_build() {
  local bin
  tekton_check_pins
  bin="$(tekton_bin_dir)"
  if tekton_built; then
    log "Tekton: using cached binaries in $bin"
    return 0
  fi
  require_go
  mkdir -p "$bin.tmp"
  log "building Tekton's controller, EventListener sink and core interceptors from their Go modules"
  log "  (about 10 minutes on 2 cores the first time; later ones reuse $bin)"
  with_progress "building Tekton" "$CACHE_DIR/tekton/build.log" \
    env -C "$TEKTON_MOD_DIR" CGO_ENABLED=0 GOFLAGS=-mod=readonly \
    go build -trimpath -ldflags "-s -w" -o "$bin.tmp/" "${TEKTON_COMMANDS[@]}"
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
  log "built into $bin"
}

# --- configuration ----------------------------------------------------------------------------

kubectl_admin() { "$(binary kubectl)" --kubeconfig "$(cluster_dir)/admin.kubeconfig" "$@"; }

# What Tekton's release installs besides the workloads and the webhooks, from the modules' config/.
# No webhook configuration: Pipelines' webhook does not run here (docs/local-cluster.md), and a
# registered webhook nobody answers would refuse every write of its kinds.
tekton_config_files() {
  local pipelines triggers file
  pipelines="$(module_dir "github.com/tektoncd/pipeline@$TEKTON_PIPELINES_VERSION")"
  triggers="$(module_dir "github.com/tektoncd/triggers@$TEKTON_TRIGGERS_VERSION")"
  for file in "$pipelines"/config/100-namespace/*.yaml "$pipelines"/config/20[01]-*.yaml \
    "$pipelines"/config/config-*.yaml "$triggers"/config/20[01]-*.yaml "$triggers"/config/config-*.yaml \
    "$triggers"/config/interceptors/00-interceptor-secrets.yaml "$triggers"/config/interceptors/core-interceptors.yaml; do
    echo "$file"
  done
}

tekton_apply_config() {
  local file files=() name
  while read -r file; do files+=(-f "$file"); done < <(tekton_config_files)
  log "installing Tekton's namespace, ServiceAccounts, RBAC and configuration ($((${#files[@]} / 2)) files)"
  kubectl_admin apply --server-side --force-conflicts --field-manager "$TEKTON_FIELD_MANAGER" "${files[@]}" >/dev/null
  # As the platform's Tekton has it (platform/base/tekton/pipelines): the containers Tekton adds to
  # a TaskRun's Pod get the security context Pod Security `restricted` asks for (a team's own
  # steps must carry theirs: docs/pipeline-contract.md).
  kubectl_admin patch configmap feature-flags -n "$TEKTON_NAMESPACE" --type merge \
    -p '{"data":{"set-security-context":"true"}}' >/dev/null
  # The ClusterInterceptors by URL: the interceptors' certificate names their Service, and the
  # sink resolves that name to this machine (see tekton_start_listener). The interceptors fill in
  # the CA bundle themselves when they start.
  for name in $(kubectl_admin get clusterinterceptors -o name); do
    kubectl_admin patch "$name" --type merge -p "{\"spec\":{\"clientConfig\":{\"service\":null,\"url\":\"$(interceptor_url "${name#*/}")\"}}}" >/dev/null
  done
}

interceptor_host() { echo "$INTERCEPTORS_SERVICE.$TEKTON_NAMESPACE.svc"; }
interceptor_url() { echo "https://$(interceptor_host):$INTERCEPTORS_PORT/$1"; }

# write_token OUT ACCOUNT NAMESPACE: a fresh token of that ServiceAccount (TokenRequest API),
# replaced in place: the process gets exactly the account's rights and re-reads the file.
write_token() {
  local out="$1" token
  token="$(kubectl_admin create token "$2" -n "$3" --duration "${TEKTON_TOKEN_HOURS}h")"
  (umask 077 && printf '%s' "$token" >"$out.tmp") && mv "$out.tmp" "$out"
  echo "$2 $3" >"$out.account"
}

# write_token_kubeconfig OUT ACCOUNT NAMESPACE: a kubeconfig that reads that account's token from
# OUT.token.
write_token_kubeconfig() {
  local out="$1" account="$2" ns="$3"
  write_token "$out.token" "$account" "$ns"
  (
    umask 077
    cat >"$out" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$(cluster_dir)/pki/ca.crt")
users:
- name: $account
  user:
    tokenFile: $out.token
contexts:
- name: $account
  context: {cluster: local, user: $account, namespace: $ns}
current-context: $account
EOF
  )
}

# Renews every token of this Tekton older than half its lifetime.
tekton_renew_tokens() {
  local file account ns
  while read -r file; do
    read -r account ns <"$file"
    write_token "${file%.account}" "$account" "$ns"
    log "renewed the token of $ns/$account"
  done < <(find "$(tekton_dir)" -name '*.account' -mmin +$((TEKTON_TOKEN_HOURS * 30)) 2>/dev/null)
}

# --- processes --------------------------------------------------------------------------------

tekton_dir() { echo "$(cluster_dir)/tekton"; }

# The images the controller writes into every TaskRun pod (entrypoint, nop, ...): controller.yaml
# names them ko://<import path>, which a release replaces by its images; here they are named after
# the command at the pinned version, and never pulled (no node runs them). The shell images are
# taken as they are.
controller_image_flags() {
  local pipelines flag value
  pipelines="$(module_dir "github.com/tektoncd/pipeline@$TEKTON_PIPELINES_VERSION")"
  while read -r flag value; do
    [[ "$value" == ko://* ]] && value="ghcr.io/tektoncd/pipeline/cmd/$(basename "$value"):$TEKTON_PIPELINES_VERSION"
    printf '%s\n%s\n' "$flag" "$value"
  done < <(sed -n 's/^ *"\(-[a-z-]*-image[a-z-]*\)", *"\([^"]*\)",.*$/\1 \2/p' "$pipelines/config/controller.yaml")
}

start_tekton_controller() {
  local dir images=()
  dir="$(tekton_dir)"
  mapfile -t images < <(controller_image_flags)
  ((${#images[@]} >= 8)) || die "could not read the controller's image flags from Pipelines' config/controller.yaml"
  write_token_kubeconfig "$dir/controller.kubeconfig" tekton-pipelines-controller "$TEKTON_NAMESPACE"
  CONTROLLER_PROBES_PORT="$(free_port)"
  # The environment of config/controller.yaml; the ports it would have to itself in a pod are free
  # ones here, so that nothing else on the machine is disturbed.
  start tekton-controller "$(cluster_dir)/tekton-controller.log" env SYSTEM_NAMESPACE="$TEKTON_NAMESPACE" \
    CONFIG_DEFAULTS_NAME=config-defaults CONFIG_LOGGING_NAME=config-logging \
    CONFIG_OBSERVABILITY_NAME=config-observability CONFIG_FEATURE_FLAGS_NAME=feature-flags \
    CONFIG_LEADERELECTION_NAME=config-leader-election-controller CONFIG_SPIRE=config-spire \
    METRICS_DOMAIN=tekton.dev/pipeline PROBES_PORT="$CONTROLLER_PROBES_PORT" \
    PROFILING_PORT="$(free_port)" METRICS_PROMETHEUS_PORT="$(free_port)" \
    "$(tekton_bin_dir)/controller" --kubeconfig "$dir/controller.kubeconfig" "${images[@]}"
  echo "CONTROLLER_PROBES_PORT=$CONTROLLER_PROBES_PORT" >"$dir/tekton.env"
}

start_tekton_interceptors() {
  local dir
  dir="$(tekton_dir)"
  write_token_kubeconfig "$dir/interceptors.kubeconfig" tekton-triggers-core-interceptors "$TEKTON_NAMESPACE"
  # The environment of config/interceptors/core-interceptors-deployment.yaml.
  start tekton-interceptors "$(cluster_dir)/tekton-interceptors.log" env SYSTEM_NAMESPACE="$TEKTON_NAMESPACE" \
    CONFIG_LOGGING_NAME=config-logging-triggers CONFIG_OBSERVABILITY_NAME=config-observability-triggers \
    METRICS_DOMAIN=tekton.dev/triggers INTERCEPTOR_TLS_SVC_NAME="$INTERCEPTORS_SERVICE" \
    INTERCEPTOR_TLS_SECRET_NAME="$INTERCEPTORS_SERVICE-certs" PROFILING_PORT="$(free_port)" \
    "$(tekton_bin_dir)/interceptors" --kubeconfig "$dir/interceptors.kubeconfig" -logtostderr -stderrthreshold INFO
}

tekton_controller_ready() {
  # shellcheck disable=SC1091
  source "$(tekton_dir)/tekton.env"
  https_ok "http://127.0.0.1:$CONTROLLER_PROBES_PORT/readiness"
}

# Ready once they serve with the certificate they made and have put its CA into the
# ClusterInterceptors (which the sink needs to trust them).
tekton_interceptors_ready() {
  https_ok "https://127.0.0.1:$INTERCEPTORS_PORT/ready" -k || return 1
  [[ -n "$(kubectl_admin get clusterinterceptor github -o 'jsonpath={.spec.clientConfig.caBundle}' 2>/dev/null)" ]]
}

# Fails with the fix when a port the programs insist on is taken by something else.
tekton_require_fixed_ports() {
  local port
  for port in "$INTERCEPTORS_PORT" "$CONTROLLER_FIXED_PORT"; do
    port_in_use "$port" || continue
    die "port $port is taken; Tekton's interceptors (8443) and controller (8080) cannot use another one, so only one local Tekton runs per machine. Stop the other one ('scripts/local-cluster --name OTHER tekton down') or what else listens there."
  done
}

tekton_running() { alive tekton-controller && alive tekton-interceptors; }

tekton_up() {
  case "${1:-}" in
    --if-built)
      if ! tekton_built; then
        log "Tekton's binaries are not built ('scripts/local-cluster tekton build'): not starting Tekton"
        exit "$EXIT_UNAVAILABLE"
      fi
      if ! pod_mounts_possible; then
        log "this machine cannot give the EventListener sink a private mount namespace (root or user namespaces needed): not starting Tekton"
        exit "$EXIT_UNAVAILABLE"
      fi ;;
    "") ;;
    *) die "tekton up: unknown option '$1' (see 'tekton --help')" ;;
  esac
  load_ports && alive kube-apiserver && apiserver_ready ||
    die "cluster '$CLUSTER_NAME' is not running: start it with 'scripts/local-cluster --name $CLUSTER_NAME up' and 'crds'"
  kubectl_admin get crd pipelineruns.tekton.dev eventlisteners.triggers.tekton.dev >/dev/null 2>&1 ||
    die "Tekton's CRDs are not installed: run 'scripts/local-cluster --name $CLUSTER_NAME crds' first"
  if tekton_running; then
    log "Tekton already runs beside cluster '$CLUSTER_NAME'"
    tekton_renew_tokens
  else
    tekton_down_processes
    tekton_require_fixed_ports
    tekton_built || tekton_build
    mkdir -p "$(tekton_dir)/listeners" && chmod 700 "$(tekton_dir)"
    tekton_apply_config
    with_port_retries "Tekton" start_tekton_processes
    log "Tekton runs (logs: $(cluster_dir)/tekton-*.log); stop it with 'scripts/local-cluster --name $CLUSTER_NAME tekton down'"
  fi
}

start_tekton_processes() {
  log "starting Tekton's core interceptors and Pipelines controller"
  start_tekton_interceptors
  start_tekton_controller
  WAIT_FAILED=tekton_down_processes WAIT_FAILED_MESSAGE="Tekton did not start" \
    wait_for "Tekton's interceptors" tekton_interceptors_ready tekton-interceptors
  WAIT_FAILED=tekton_down_processes WAIT_FAILED_MESSAGE="Tekton did not start" \
    wait_for "Tekton's controller" tekton_controller_ready tekton-controller
}

# --- EventListener sinks ----------------------------------------------------------------------

listener_dir() { echo "$(tekton_dir)/listeners/$1.$2"; }
listener_process() { echo "tekton-listener-$1.$2"; }

# The sink's part of a pod: its ServiceAccount's token, the cluster CA and its namespace, and a
# hosts file that makes the interceptors' Service name this machine.
write_listener_files() {
  local dir="$1" ns="$2" account="$3"
  mkdir -p "$dir/account" && chmod 700 "$dir"
  write_token "$dir/account/token" "$account" "$ns"
  cp "$(cluster_dir)/pki/ca.crt" "$dir/account/ca.crt"
  printf '%s' "$ns" >"$dir/account/namespace"
  printf '127.0.0.1 localhost %s\n::1 localhost\n' "$(interceptor_host)" >"$dir/hosts"
}

# Sets POD_MOUNTS to a command prefix that runs what follows it in a private mount namespace in
# which DIR/account is the pod's ServiceAccount folder and DIR/hosts is /etc/hosts. Nothing outside
# the namespace changes. The account folder is entered before the tmpfs that makes room for the
# pod's path is mounted, so it stays reachable (as ".") even when it lies under /var/run itself.
pod_mounts_prefix() {
  local dir="$1" map_root=()
  ((EUID == 0)) || map_root=(--map-root-user)
  # shellcheck disable=SC2016  # expanded by the inner shell
  POD_MOUNTS=(unshare --mount --propagation private "${map_root[@]}" -- bash -c '
    set -e
    target="$1" dir="$2"; shift 2
    mount --bind "$dir/hosts" "$(readlink -f /etc/hosts)"
    cd "$dir/account"
    if [[ ! -d "$target" ]]; then
      base=/var/run/secrets; [[ -d "$base" ]] || base=/var/run
      mount -t tmpfs -o mode=755,size=1m aphex-pod "$(readlink -f "$base")"
      mkdir -p "$target"
    fi
    mount --bind . "$target"
    cd /
    exec "$@"' pod-mounts "$POD_ACCOUNT_DIR" "$dir")
}

# Can this machine give the sink its pod mounts? (unshare as root, or with user namespaces)
pod_mounts_possible() {
  local map_root=()
  ((EUID == 0)) || map_root=(--map-root-user)
  unshare --mount "${map_root[@]}" -- true 2>/dev/null
}

listener_ready() { https_ok "http://127.0.0.1:$LISTENER_PORT/live"; }

# tekton_start_listener NS NAME: (re)starts that EventListener's sink; prints its URL.
tekton_start_listener() { with_port_retries "the sink of $1/$2" start_listener_once "$1" "$2"; }

start_listener_once() {
  local ns="$1" name="$2" dir process account logging
  dir="$(listener_dir "$ns" "$name")"; process="$(listener_process "$ns" "$name")"
  account="$(kubectl_admin get eventlistener "$name" -n "$ns" -o 'jsonpath={.spec.serviceAccountName}')" ||
    die "EventListener $ns/$name not found"
  [[ -n "$account" ]] || die "EventListener $ns/$name names no serviceAccountName; its sink would run as 'default'"
  pod_mounts_possible ||
    die "the EventListener sink needs a private mount namespace (unshare --mount): run as root or enable user namespaces"
  stop_listener "$ns" "$name"
  write_listener_files "$dir" "$ns" "$account"
  LISTENER_PORT="$(free_port)"
  echo "$LISTENER_PORT" >"$dir/port"
  # The arguments and environment Triggers' controller gives the sink's container
  # (pkg/reconciler/eventlistener/resources), with in-cluster configuration pointing here.
  # Multi-namespace always: an Organization's listener gains namespaces as repositories are bound,
  # and its ClusterRole lets it read Triggers in all of them.
  pod_mounts_prefix "$dir"
  # Logging as config-logging-triggers says at the sink's start (`loglevel.eventlistener: debug`
  # shows why an interceptor refused a delivery), as the Triggers controller hands it to the pod.
  logging="$(kubectl_admin get configmap config-logging-triggers -n "$TEKTON_NAMESPACE" -o 'jsonpath={.data}')"
  start "$process" "$(cluster_dir)/$process.log" env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$API_PORT" \
    SYSTEM_NAMESPACE="$ns" NAMESPACE="$ns" NAME="$name" EL_EVENT=disable K_SINK_TIMEOUT=5 K_LOGGING_CONFIG="$logging" \
    PROFILING_PORT="$(free_port)" METRICS_PROMETHEUS_PORT="$(free_port)" \
    "${POD_MOUNTS[@]}" "$(tekton_bin_dir)/eventlistenersink" --el-name="$name" --el-namespace="$ns" \
    --port="$LISTENER_PORT" --is-multi-ns=true --payload-validation=true
  STARTING_LISTENER=("$ns" "$name")
  WAIT_FAILED=stop_starting_listener WAIT_FAILED_MESSAGE="the sink of EventListener $ns/$name did not start" \
    wait_for "the sink of $ns/$name" listener_ready "$process"
  echo "http://127.0.0.1:$LISTENER_PORT"
}

stop_starting_listener() { stop_listener "${STARTING_LISTENER[@]}"; }

# The sink stops on a second SIGTERM only (the first one starts a graceful drain that waits on
# nothing here).
stop_listener() {
  local process pid
  process="$(listener_process "$1" "$2")"
  pid="$(pid_of "$process")"
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && sleep 0.3 && kill -TERM "$pid" 2>/dev/null
  stop "$process"
}

listener_ref() {
  [[ "$1" =~ ^[a-z0-9-]+/[a-z0-9-]+$ ]] || die "$2 needs NAMESPACE/NAME of an EventListener, not '$1'"
}

tekton_listener() {
  listener_ref "${1:-}" "tekton listener"
  load_ports || die "cluster '$CLUSTER_NAME' is not running"
  tekton_running || die "Tekton does not run: start it with 'scripts/local-cluster --name $CLUSTER_NAME tekton up'"
  tekton_start_listener "${1%/*}" "${1#*/}"
}

tekton_listener_down() {
  listener_ref "${1:-}" "tekton listener-down"
  stop_listener "${1%/*}" "${1#*/}"
  rm -rf "$(listener_dir "${1%/*}" "${1#*/}")"
}

# Starts a sink for every EventListener that has none running; prints "NS/NAME URL" for each.
tekton_listeners() {
  local ns name url
  load_ports || die "cluster '$CLUSTER_NAME' is not running"
  while read -r ns name; do
    [[ -n "$ns" ]] || continue
    if alive "$(listener_process "$ns" "$name")"; then
      url="http://127.0.0.1:$(cat "$(listener_dir "$ns" "$name")/port")"
    else
      url="$(tekton_start_listener "$ns" "$name")"
    fi
    echo "$ns/$name $url"
  done < <(kubectl_admin get eventlisteners -A -o 'jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name}{"\n"}{end}')
}

# --- a signed test push ------------------------------------------------------------------------

# The webhook secret the listener's github interceptor checks: "<secretName> <secretKey>".
listener_secret_ref() {
  kubectl_admin get eventlistener "$2" -n "$1" -o 'jsonpath={range .spec.triggerGroups[*].interceptors[?(@.ref.name=="github")].params[?(@.name=="secretRef")]}{.value.secretName} {.value.secretKey}{"\n"}{end}' | head -n 1
}

tekton_push() {
  local ref="${1:-}" repo="${2:-}" branch="${3:-main}" ns name secret_name secret_key secret body signature delivery port
  listener_ref "$ref" "tekton push"
  [[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "tekton push needs the repository as owner/name, not '$repo'"
  [[ "$branch" =~ ^[A-Za-z0-9_./-]+$ ]] || die "tekton push: '$branch' is not a branch name"
  ns="${ref%/*}"; name="${ref#*/}"
  load_ports || die "cluster '$CLUSTER_NAME' is not running"
  alive "$(listener_process "$ns" "$name")" ||
    die "the sink of $ns/$name does not run: start it with 'scripts/local-cluster --name $CLUSTER_NAME tekton listener $ref'"
  read -r secret_name secret_key < <(listener_secret_ref "$ns" "$name")
  [[ -n "${secret_key:-}" ]] || die "EventListener $ns/$name has no github interceptor with a secretRef"
  secret="$(kubectl_admin get secret "$secret_name" -n "$ns" -o "jsonpath={.data.$secret_key}" | base64 -d)"
  [[ -n "$secret" ]] || die "Secret $ns/$secret_name has no key '$secret_key'"
  delivery="$(cat /proc/sys/kernel/random/uuid)"
  body="$(printf '{"ref":"refs/heads/%s","before":"%s","after":"%s","deleted":false,"repository":{"full_name":"%s","clone_url":"https://github.com/%s.git"},"head_commit":{"id":"%s","timestamp":"%s"}}' \
    "$branch" "$(printf '0%.0s' {1..40})" "$(openssl rand -hex 20)" "$repo" "$repo" "$(openssl rand -hex 20)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  # The secret reaches the HMAC through the environment (readable by this user only), never a
  # command line. Perl's Digest::SHA comes with the build tools (scripts/install-deps).
  signature="$(printf '%s' "$body" | WEBHOOK_SECRET="$secret" perl -MDigest::SHA=hmac_sha256_hex -e \
    'local $/; print hmac_sha256_hex(scalar <STDIN>, $ENV{WEBHOOK_SECRET})')"
  port="$(cat "$(listener_dir "$ns" "$name")/port")"
  curl -sS --fail-with-body --max-time 30 -o /dev/null -H 'Content-Type: application/json' \
    -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: $delivery" -H "X-Hub-Signature-256: sha256=$signature" \
    --data-binary "$body" "http://127.0.0.1:$port/" || die "the sink of $ns/$name did not accept the push"
  log "pushed $repo $branch to $ns/$name: delivery $delivery"
  echo "$delivery"
}

# --- stopping and status ----------------------------------------------------------------------

tekton_listener_refs() {
  local file base
  for file in "$(cluster_dir)"/tekton-listener-*.pid; do
    [[ -e "$file" ]] || continue
    base="$(basename "$file" .pid)"; base="${base#tekton-listener-}"
    echo "${base%%.*} ${base#*.}"
  done
}

tekton_down_processes() {
  local ns name
  while read -r ns name; do stop_listener "$ns" "$name"; done < <(tekton_listener_refs)
  stop tekton-controller
  stop tekton-interceptors
}

tekton_down() {
  [[ -d "$(cluster_dir)" ]] || { log "cluster '$CLUSTER_NAME' is not running"; return 0; }
  tekton_down_processes
  rm -rf "$(tekton_dir)"
  log "Tekton of cluster '$CLUSTER_NAME' stopped"
}

tekton_status() {
  local name ns state
  for name in tekton-controller tekton-interceptors; do
    state=stopped; alive "$name" && state="running (pid $(pid_of "$name"))"
    printf '  %-40s %s\n' "$name" "$state"
  done
  while read -r ns name; do
    state=stopped
    alive "$(listener_process "$ns" "$name")" &&
      state="running on http://127.0.0.1:$(cat "$(listener_dir "$ns" "$name")/port")"
    printf '  %-40s %s\n' "listener $ns/$name" "$state"
  done < <(tekton_listener_refs)
  tekton_running
}

cmd_tekton() {
  local command="${1:-}"
  [[ -n "$command" ]] || { tekton_usage >&2; exit 2; }
  shift
  case "$command" in
    build) tekton_build ;;
    up) tekton_up "$@" ;;
    listener) tekton_listener "$@" ;;
    listener-down) tekton_listener_down "$@" ;;
    listeners) tekton_listeners ;;
    push) tekton_push "$@" ;;
    down) tekton_down ;;
    status) tekton_status ;;
    -h|--help|help) tekton_usage ;;
    *) log "unknown tekton command '$command'"; tekton_usage >&2; exit 2 ;;
  esac
}

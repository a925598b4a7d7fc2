#!/usr/bin/env bash
# Brings up Aphex. `--deployment local` runs everything as processes on this machine on a real
# local Kubernetes control plane; `kind` and `k3s` are the real-cluster paths.
set -euo pipefail

# Output, dry runs and the cluster functions the deployments share (ROOT, PLATFORM_NAMESPACE,
# FIELD_MANAGER, quote, run, step, info, die, …).
# shellcheck source=platform/deployments/bootstrap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform/deployments/bootstrap-lib.sh"

LOCAL_CLUSTER_NAME="${APHEX_LOCAL_CLUSTER_NAME:-aphex}"
CONTROLLER="aphex-controller"            # the binary, its ServiceAccount and its RBAC objects
EXAMPLE_ORG="acme"                       # the names in platform/examples
EXAMPLE_BINDING="app1"
EXAMPLE_KNOWLEDGE_BASE="acme-docs"
CONTROLLER_BIN="build/default/src/cmd/aphex-controller"   # of the CMake preset 'default'
# STATE_DIR (bootstrap-lib.sh) is the same folder as scripts/local-cluster's; the controller's
# files go into the cluster's.
CLUSTER_DIR="$STATE_DIR/clusters/$LOCAL_CLUSTER_NAME"
CONTROLLER_READY_TIMEOUT="${APHEX_CONTROLLER_READY_TIMEOUT:-90}"
LOCAL_TEKTON="${APHEX_LOCAL_TEKTON:-1}"
TOKEN_DURATION_HOURS=24

usage() {
  cat <<'EOF'
Usage: ./bootstrap.sh --deployment local|kind|k3s [OPTIONS]

  --deployment local  build aphex-controller, start a local Kubernetes control plane (etcd,
                      kube-apiserver, kube-controller-manager as processes), install the CRDs,
                      run the controller under its ServiceAccount with the shipped RBAC, and
                      create the example Organization, RepoBinding and KnowledgeBase
                      (platform/examples), then run Tekton's controller, core interceptors
                      and the example's EventListener sink beside it (scripts/local-cluster
                      tekton) and print a command that sends it a signed test push.
                      Running it again starts only what is not running.
  --deployment kind   a kind cluster on this machine's Docker with Argo CD, which then
                      installs the platform from Git (platform/deployments/kind)
  --deployment k3s    k3s on this machine (as root) with Argo CD, which then installs the
                      platform from Git (platform/deployments/k3s)

Options of --deployment local:
  --down              stop the controller, Tekton and the control plane that --deployment
                      local started, and remove their data
  --dry-run           print every step and command without running any
  --show-secrets      also print the example Organization's webhook secret (by default only
                      the command that reads it)
  -h, --help          this text

Options of kind and k3s (all of them: ./bootstrap.sh --deployment kind|k3s --help):
  --repo-url URL, --revision REV   the Git source Argo CD syncs the platform from
  --repo-ssh-key-file FILE, --repo-token-file FILE|-, --repo-username NAME
                                   credentials for a private repository (never as arguments)
  --timeout DURATION, --no-wait    wait (default 30m) until every Application is Synced and
                                   Healthy, printing each sync wave's progress, or do not
  --controller-image REF           a published controller image instead of a local build
  --down, --dry-run, --show-secrets
  kind: --cluster-name NAME, --http-port PORT, --https-port PORT, --node-image IMAGE,
        --use-existing [--context NAME] (an existing cluster instead of a new kind cluster)
  k3s:  --k3s-version VERSION; the Cloudflare API token from CLOUDFLARE_API_TOKEN or a prompt,
        checked (one read-only call per permission) before anything is installed

Environment of --deployment local:
  APHEX_STATE_DIR                 where the cluster and the controller keep their state
                                  (default: ~/.local/state/aphex, as scripts/local-cluster)
  APHEX_LOCAL_CLUSTER_NAME        name of the local cluster (default: aphex)
  APHEX_CONTROLLER_METRICS_PORT   preferred loopback port of the controller's /metrics
                                  (default: 18080; a free one is picked when it is taken)
  APHEX_CONTROLLER_PROBE_PORT     preferred loopback port of /healthz and /readyz (default: 18081)
  APHEX_CONTROLLER_READY_TIMEOUT  seconds to wait for the controller's /readyz (default: 90)
  APHEX_LOCAL_TEKTON              0: do not build or start Tekton (default: 1). Only one local
                                  Tekton runs per machine (its programs insist on ports 8443 and
                                  8080), so a second deployment beside a first one needs this
  CMAKE_BUILD_PARALLEL_LEVEL      parallel jobs for building the controller
EOF
}

# --deployment picks the deployment; kind and k3s get every other argument (their scripts parse
# them), local's are parsed here.
deployment=""
args=()
while (($#)); do
  case "$1" in
    --deployment) (($# >= 2)) || die "--deployment needs a value: local, kind or k3s"; deployment="$2"; shift ;;
    --deployment=*) deployment="${1#*=}" ;;
    *) args+=("$1") ;;
  esac
  shift
done
case "$deployment" in
  kind|k3s) exec "$ROOT/platform/deployments/$deployment/bootstrap.sh" "${args[@]}" ;;
  local|"") ;;
  *) echo "bootstrap.sh: --deployment must be local, kind or k3s, not '$deployment'" >&2; exit 2 ;;
esac

down=false
dry_run=false
show_secrets=false
for arg in "${args[@]}"; do
  case "$arg" in
    --down) down=true ;;
    --dry-run) dry_run=true ;;
    --show-secrets) show_secrets=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bootstrap.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$deployment" ]] || { usage >&2; exit 2; }
[[ "$LOCAL_CLUSTER_NAME" =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] \
  || die "APHEX_LOCAL_CLUSTER_NAME must be a lowercase DNS label, not '$LOCAL_CLUSTER_NAME'"

# --- the controller process -------------------------------------------------------------------

CONTROLLER_PID_FILE="$CLUSTER_DIR/$CONTROLLER.pid"
CONTROLLER_LOG="$CLUSTER_DIR/$CONTROLLER.log"
CONTROLLER_ENV="$CLUSTER_DIR/$CONTROLLER.env"
CONTROLLER_KUBECONFIG="$CLUSTER_DIR/$CONTROLLER.kubeconfig"
CONTROLLER_TOKEN="$CLUSTER_DIR/$CONTROLLER.token"

# The pid of the controller this script started, if it still runs (and is still that program).
controller_pid() {
  local pid
  pid="$(cat "$CONTROLLER_PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--kubeconfig $CONTROLLER_KUBECONFIG " || return 1
  echo "$pid"
}

# Stops the controller: SIGTERM to its session, SIGKILL after 15 s. Safe when none runs.
stop_controller() {
  local pid i
  if ! pid="$(controller_pid)"; then
    info "$CONTROLLER is not running"
    rm -f "$CONTROLLER_PID_FILE"
    return 0
  fi
  info "stopping $CONTROLLER (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    info "$CONTROLLER did not stop within 15 s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$CONTROLLER_PID_FILE"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port PREFERRED [TAKEN]: PREFERRED if it is free, else a free one from a random start.
pick_port() {
  local port="$1" taken="${2:-}" tries=0
  if ! port_in_use "$port" && [[ "$port" != "$taken" ]]; then echo "$port"; return; fi
  port=$((20000 + RANDOM % 30000))
  while port_in_use "$port" || [[ "$port" == "$taken" ]]; do
    port=$((port + 1)); tries=$((tries + 1))
    ((tries < 500)) || die "no free loopback port found"
  done
  echo "$port"
}

controller_ready() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PROBE_PORT/readyz" 2>/dev/null)" == 200 ]]
}

wait_for_controller() {
  local start=$SECONDS last=$SECONDS
  while ! controller_ready; do
    if ! controller_pid >/dev/null; then
      printf 'bootstrap.sh: %s exited; the end of its log (%s):\n' "$CONTROLLER" "$CONTROLLER_LOG" >&2
      tail -n 30 "$CONTROLLER_LOG" >&2 || true
      die "$CONTROLLER did not start; its full log is $CONTROLLER_LOG"
    fi
    if ((SECONDS - start > CONTROLLER_READY_TIMEOUT)); then
      tail -n 30 "$CONTROLLER_LOG" >&2 || true
      die "$CONTROLLER is not ready after ${CONTROLLER_READY_TIMEOUT}s (http://127.0.0.1:$PROBE_PORT/readyz); it is still running (pid $(cat "$CONTROLLER_PID_FILE")); read its log: $CONTROLLER_LOG"
    fi
    if ((SECONDS - last >= 5)); then
      last=$SECONDS
      info "waiting for $CONTROLLER's /readyz ($((SECONDS - start))s)"
    fi
    sleep 0.5
  done
}

# Mints a token for the ServiceAccount into the token file (mode 0600, replaced atomically: the
# controller re-reads the file, so a running controller picks up a new one).
mint_token() {
  local tmp="$CONTROLLER_TOKEN.tmp"
  (umask 077 && "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" create token "$CONTROLLER" \
    -n "$PLATFORM_NAMESPACE" --duration="${TOKEN_DURATION_HOURS}h" >"$tmp")
  mv -f "$tmp" "$CONTROLLER_TOKEN"
}

# A kubeconfig with the cluster of the admin kubeconfig and the ServiceAccount's token file, so
# that the controller has exactly the shipped RBAC and nothing of the admin's.
write_controller_kubeconfig() {
  local server ca tmp="$CONTROLLER_KUBECONFIG.tmp"
  server="$("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" config view --raw --minify -o 'jsonpath={.clusters[0].cluster.server}')"
  ca="$("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" config view --raw --minify -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}')"
  [[ -n "$server" && -n "$ca" ]] || die "cannot read the API server's address and CA from $ADMIN_KUBECONFIG"
  (umask 077 && cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aphex-local-$LOCAL_CLUSTER_NAME
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: system:serviceaccount:$PLATFORM_NAMESPACE:$CONTROLLER
  user:
    tokenFile: $CONTROLLER_TOKEN
contexts:
- name: $CONTROLLER@aphex-local-$LOCAL_CLUSTER_NAME
  context:
    cluster: aphex-local-$LOCAL_CLUSTER_NAME
    user: system:serviceaccount:$PLATFORM_NAMESPACE:$CONTROLLER
    namespace: $PLATFORM_NAMESPACE
current-context: $CONTROLLER@aphex-local-$LOCAL_CLUSTER_NAME
EOF
  )
  mv -f "$tmp" "$CONTROLLER_KUBECONFIG"
}

start_controller() {
  METRICS_PORT="$(pick_port "${APHEX_CONTROLLER_METRICS_PORT:-18080}")"
  PROBE_PORT="$(pick_port "${APHEX_CONTROLLER_PROBE_PORT:-18081}" "$METRICS_PORT")"
  printf 'METRICS_PORT=%s\nPROBE_PORT=%s\n' "$METRICS_PORT" "$PROBE_PORT" >"$CONTROLLER_ENV"
  [[ -f "$CONTROLLER_LOG" ]] && mv -f "$CONTROLLER_LOG" "$CONTROLLER_LOG.previous"
  # Its own session, so that --down can stop it (and anything it starts) by the recorded pid.
  setsid "$ROOT/$CONTROLLER_BIN" --kubeconfig "$CONTROLLER_KUBECONFIG" --no-leader-elect \
    --platform-namespace "$PLATFORM_NAMESPACE" \
    --metrics-bind-address "127.0.0.1:$METRICS_PORT" --health-probe-bind-address "127.0.0.1:$PROBE_PORT" \
    --log-format text >"$CONTROLLER_LOG" 2>&1 </dev/null &
  echo $! >"$CONTROLLER_PID_FILE"
  info "started $CONTROLLER (pid $!), logging to $CONTROLLER_LOG"
}

# --- the steps --------------------------------------------------------------------------------

deploy_local_down() {
  local cluster=(scripts/local-cluster --name "$LOCAL_CLUSTER_NAME")
  step "stopping $CONTROLLER"
  if $dry_run; then
    info "(SIGTERM to the process group of the pid in $CONTROLLER_PID_FILE, SIGKILL after 15 s)"
  else
    stop_controller
  fi
  step "stopping Tekton's processes"
  run "${cluster[@]}" tekton down
  step "stopping the local control plane '$LOCAL_CLUSTER_NAME' and removing its data"
  run "${cluster[@]}" down
  step "done in $((SECONDS - START_SECONDS))s"
}

deploy_local() {
  cd "$ROOT"
  local cluster=(scripts/local-cluster --name "$LOCAL_CLUSTER_NAME") file pid
  if $down; then deploy_local_down; return; fi

  step "checking the Debian packages the build needs (scripts/install-deps installs only missing ones)"
  run scripts/install-deps

  step "building the local control plane (the first run builds it from the Kubernetes Go modules: 10-20 min)"
  run "${cluster[@]}" build

  if tekton_wanted; then
    step "building Tekton's controller, EventListener sink and core interceptors (the first run: about 10 min)"
    run "${cluster[@]}" tekton build
  fi

  step "building $CONTROLLER (CMake preset 'default')"
  if $dry_run; then
    scripts/build-controller --no-deps --dry-run
  else
    scripts/build-controller --no-deps
  fi

  step "starting the local control plane '$LOCAL_CLUSTER_NAME'"
  if $dry_run; then
    ADMIN_KUBECONFIG="$CLUSTER_DIR/admin.kubeconfig"
    KUBECTL="kubectl"
    info "(kubectl below is the one in the folder that '${cluster[*]} bin' prints)"
    info "(first stop $CONTROLLER if it runs while the control plane does not)"
    run "${cluster[@]}" up
  else
    if ! "${cluster[@]}" status >/dev/null 2>&1 && controller_pid >/dev/null; then
      info "the control plane is down but $CONTROLLER still runs: stopping it first"
      stop_controller
    fi
    ADMIN_KUBECONFIG="$("${cluster[@]}" up)"
    KUBECTL="$("${cluster[@]}" bin)/kubectl"
  fi
  local kubectl=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG")

  step "installing the CRDs: Tekton, Argo CD, External Secrets, cert-manager and Aphex's own (aphex.io)"
  run "${cluster[@]}" crds

  # argocd: where the RepoBindings' AppProjects go (no Argo CD runs locally; its CRDs do).
  step "creating namespaces $PLATFORM_NAMESPACE and $ARGOCD_NAMESPACE, ServiceAccount $CONTROLLER and the controller's RBAC"
  if $dry_run; then
    info "(each only when it does not exist yet)"
    run "${kubectl[@]}" create namespace "$PLATFORM_NAMESPACE"
    run "${kubectl[@]}" create namespace "$ARGOCD_NAMESPACE"
    run "${kubectl[@]}" create serviceaccount "$CONTROLLER" -n "$PLATFORM_NAMESPACE"
  else
    local ns
    for ns in "$PLATFORM_NAMESPACE" "$ARGOCD_NAMESPACE"; do
      if "${kubectl[@]}" get namespace "$ns" >/dev/null 2>&1; then
        info "namespace $ns exists"
      else
        "${kubectl[@]}" create namespace "$ns" | sed 's/^/    /'
      fi
    done
    if "${kubectl[@]}" get serviceaccount "$CONTROLLER" -n "$PLATFORM_NAMESPACE" >/dev/null 2>&1; then
      info "serviceaccount $PLATFORM_NAMESPACE/$CONTROLLER exists"
    else
      "${kubectl[@]}" create serviceaccount "$CONTROLLER" -n "$PLATFORM_NAMESPACE" | sed 's/^/    /'
    fi
  fi
  # Server-side apply of unchanged objects changes nothing (not even their resourceVersion).
  info "(server-side apply: objects that already match the file stay unchanged)"
  if $dry_run; then
    run "${kubectl[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -f platform/base/controller/rbac.yaml
  else
    "${kubectl[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -f platform/base/controller/rbac.yaml \
      | sed 's/^/    /'
  fi

  # The admission policies that confine tenants (docs/admission.md), before the controller makes
  # the first tenant namespace.
  step "installing the admission policies that confine tenants (platform/base/admission)"
  info "(server-side apply: objects that already match the files stay unchanged)"
  if $dry_run; then
    run "${kubectl[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -k platform/base/admission
  else
    "${kubectl[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -k platform/base/admission \
      | sed 's/^/    /'
  fi

  step "running $CONTROLLER as ServiceAccount $PLATFORM_NAMESPACE/$CONTROLLER (exactly the shipped RBAC)"
  if $dry_run; then
    info "(only when it does not run yet; a running one keeps running, and gets a fresh token once"
    info " the current one is older than $((TOKEN_DURATION_HOURS / 2))h)"
    run "${kubectl[@]}" create token "$CONTROLLER" -n "$PLATFORM_NAMESPACE" --duration="${TOKEN_DURATION_HOURS}h"
    info "(into $CONTROLLER_TOKEN, mode 0600; never printed)"
    info "(write $CONTROLLER_KUBECONFIG, mode 0600: the API server and CA of the admin kubeconfig, that token file)"
    run setsid "$CONTROLLER_BIN" --kubeconfig "$CONTROLLER_KUBECONFIG" --no-leader-elect \
      --platform-namespace "$PLATFORM_NAMESPACE" \
      --metrics-bind-address "127.0.0.1:<18080 or a free port>" \
      --health-probe-bind-address "127.0.0.1:<18081 or a free port>" --log-format text
    info "(in the background, logging to $CONTROLLER_LOG, pid in $CONTROLLER_PID_FILE)"
    METRICS_PORT="<metrics port>"; PROBE_PORT="<probe port>"
  elif pid="$(controller_pid)"; then
    METRICS_PORT=18080; PROBE_PORT=18081
    # shellcheck disable=SC1090
    [[ -f "$CONTROLLER_ENV" ]] && source "$CONTROLLER_ENV"
    info "$CONTROLLER already runs (pid $pid); leaving it running"
    if [[ -n "$(find "$CONTROLLER_TOKEN" -mmin +$((TOKEN_DURATION_HOURS * 60 / 2)) 2>/dev/null)" ]]; then
      mint_token
      info "its token was older than $((TOKEN_DURATION_HOURS / 2))h: minted a fresh one (it re-reads the file)"
    fi
    if (($(stat -c %Y "$CONTROLLER_BIN") > $(date +%s) - $(ps -o etimes= -p "$pid"))); then
      info "note: $CONTROLLER_BIN is newer than the running process; to run it: kill $pid, then run this again"
    fi
  else
    mint_token
    write_controller_kubeconfig
    info "minted a ${TOKEN_DURATION_HOURS}h token into $CONTROLLER_TOKEN and wrote $CONTROLLER_KUBECONFIG (mode 0600)"
    start_controller
  fi

  step "waiting for $CONTROLLER to be ready (its /readyz, at most ${CONTROLLER_READY_TIMEOUT}s)"
  if $dry_run; then
    run curl -s "http://127.0.0.1:$PROBE_PORT/readyz"
  else
    wait_for_controller
    info "ready: http://127.0.0.1:$PROBE_PORT/readyz"
  fi

  step "creating the examples from platform/examples (each only when it does not exist yet)"
  for file in platform/examples/organization.yaml platform/examples/repobinding.yaml platform/examples/knowledgebase.yaml; do
    if $dry_run; then
      run "${kubectl[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -f "$file"
    elif "${kubectl[@]}" get -f "$file" >/dev/null 2>&1; then
      info "$("${kubectl[@]}" get -f "$file" -o name) exists; left as it is"
    else
      "${kubectl[@]}" apply --server-side --field-manager "$FIELD_MANAGER" -f "$file" | sed 's/^/    /'
    fi
  done

  local example
  for example in "organization/$EXAMPLE_ORG" "repobinding/$EXAMPLE_BINDING" "knowledgebase/$EXAMPLE_KNOWLEDGE_BASE"; do
    wait_ready "$example"
  done
  start_tekton
  step "done in $((SECONDS - START_SECONDS))s"

  if $dry_run; then
    info "(then print the Organization's webhook URL, the command that reads its webhook secret,"
    info " the admin kubeconfig, the controller's log and metrics URL, how to stop everything,"
    info " and the kubectl aphex commands to run next: scripts/install-cli --build, kubectl aphex status)"
    return
  fi
  print_summary
}

tekton_wanted() {
  [[ "$LOCAL_TEKTON" == 1 ]] || { [[ "$LOCAL_TEKTON" == 0 ]] || die "APHEX_LOCAL_TEKTON must be 0 or 1, not '$LOCAL_TEKTON'"; false; }
}

# Tekton beside the controller: its controller, core interceptors and a sink for every
# EventListener (the example Organization's among them). Not fatal: Aphex itself runs without it.
TEKTON_RUNS=false
start_tekton() {
  tekton_wanted || return 0
  local cluster=(scripts/local-cluster --name "$LOCAL_CLUSTER_NAME")
  step "starting Tekton's controller, core interceptors and EventListener sinks, each as its own ServiceAccount"
  if $dry_run; then
    run "${cluster[@]}" tekton up
    run "${cluster[@]}" tekton listeners
  elif "${cluster[@]}" tekton up && "${cluster[@]}" tekton listeners | indent; then
    TEKTON_RUNS=true
  else
    warn "Tekton did not start (see above); everything else runs. Pushes start no PipelineRun until it does: '${cluster[*]} tekton up'"
  fi
}

# wait_ready KIND/NAME: waits for the example's Ready condition; on a timeout prints its
# conditions and stops.
wait_ready() {
  local kubectl=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG")
  step "waiting for ${1%%/*} ${1#*/} to be Ready"
  if $dry_run; then
    run "${kubectl[@]}" wait --for=condition=Ready "$1" -n "$PLATFORM_NAMESPACE" --timeout=120s
  elif ! "${kubectl[@]}" wait --for=condition=Ready "$1" -n "$PLATFORM_NAMESPACE" --timeout=120s >/dev/null; then
    "${kubectl[@]}" get "$1" -n "$PLATFORM_NAMESPACE" \
      -o 'jsonpath={range .status.conditions[*]}    {.type}={.status} {.reason}: {.message}{"\n"}{end}' >&2 || true
    die "$1 is not Ready after 120s; see its conditions above and the controller's log: $CONTROLLER_LOG"
  fi
}

print_summary() {
  # The environment that chose this cluster, for the command that stops it.
  local STOP_ENV=""
  [[ -n "${APHEX_STATE_DIR:-}" ]] && STOP_ENV+="APHEX_STATE_DIR=$(quote "$APHEX_STATE_DIR") "
  [[ "$LOCAL_CLUSTER_NAME" != aphex ]] && STOP_ENV+="APHEX_LOCAL_CLUSTER_NAME=$LOCAL_CLUSTER_NAME "
  local org=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get organization "$EXAMPLE_ORG" -n "$PLATFORM_NAMESPACE")
  local url org_ns secret_ns secret_name secret_key read_secret
  url="$("${org[@]}" -o 'jsonpath={.status.webhookURL}')"
  local binding=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get repobinding "$EXAMPLE_BINDING" -n "$PLATFORM_NAMESPACE")
  local binding_ns settings_url
  binding_ns="$("${binding[@]}" -o 'jsonpath={.status.pipelineNamespace}')"
  settings_url="$("${binding[@]}" -o 'jsonpath={.status.githubWebhookSettingsURL}')"
  local repo_name
  repo_name="$("${binding[@]}" -o 'jsonpath={.spec.repoOrg}/{.spec.repoName}')"
  org_ns="$("${org[@]}" -o 'jsonpath={.status.namespace}')"
  secret_ns="$("${org[@]}" -o 'jsonpath={.status.webhookSecretRef.namespace}')"
  secret_name="$("${org[@]}" -o 'jsonpath={.status.webhookSecretRef.name}')"
  secret_key="$("${org[@]}" -o 'jsonpath={.status.webhookSecretRef.key}')"
  read_secret=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get secret "$secret_name" -n "$secret_ns"
               -o "jsonpath={.data.$secret_key}")
  cat <<EOF

Aphex runs locally.
  Organization:    $PLATFORM_NAMESPACE/$EXAMPLE_ORG is Ready (namespace $org_ns)
  webhook URL:     $url
                   (in-cluster: exposure None has no public endpoint)
  webhook secret:  $(quote "${read_secret[@]}") | base64 -d
EOF
  if $show_secrets; then
    printf '                   = %s\n' "$("${read_secret[@]}" | base64 -d)"
  else
    printf '                   (not printed; add --show-secrets to print it)\n'
  fi
  cat <<EOF
  RepoBinding:     $PLATFORM_NAMESPACE/$EXAMPLE_BINDING is Ready: pipeline namespace $binding_ns
                   add the webhook on GitHub at $settings_url
  KnowledgeBase:   $PLATFORM_NAMESPACE/$EXAMPLE_KNOWLEDGE_BASE is Ready (ConfigMap $EXAMPLE_KNOWLEDGE_BASE-repos)
  admin:           export KUBECONFIG=$ADMIN_KUBECONFIG
  kubectl:         $KUBECTL
  controller:      pid $(cat "$CONTROLLER_PID_FILE"), log $CONTROLLER_LOG
  metrics:         http://127.0.0.1:$METRICS_PORT/metrics
  health:          http://127.0.0.1:$PROBE_PORT/healthz  http://127.0.0.1:$PROBE_PORT/readyz
  stop it all:     ${STOP_ENV}./bootstrap.sh --deployment local --down

Next, with the kubectl plugin (docs/cli.md):
  scripts/install-cli --build        # builds kubectl-aphex and puts it in ~/.local/bin
  export KUBECONFIG=$ADMIN_KUBECONFIG PATH="\$HOME/.local/bin:\$PATH"
  kubectl aphex status
  kubectl aphex org describe $EXAMPLE_ORG
  kubectl aphex org create team-b --admin you@example.com --wait
  kubectl aphex repo onboard OWNER/REPO --org team-b --pipeline pipeline.yaml --wait
  kubectl aphex webhook test $repo_name --url URL   # URL: the sink's, from scripts/local-cluster --name $LOCAL_CLUSTER_NAME tekton listeners
  kubectl aphex runs $repo_name
EOF
  local state_env=""
  [[ -n "${APHEX_STATE_DIR:-}" ]] && state_env="APHEX_STATE_DIR=$(quote "$APHEX_STATE_DIR") "
  if $TEKTON_RUNS; then print_tekton_summary "$org_ns" "$binding_ns" "$state_env"; fi
}

# How to send the example's listener a signed push, and watch the PipelineRun it starts.
print_tekton_summary() {
  local org_ns="$1" binding_ns="$2" env="$3" listener repo branch
  local binding=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get repobinding "$EXAMPLE_BINDING" -n "$PLATFORM_NAMESPACE")
  listener="$("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get eventlisteners -n "$org_ns" -o 'jsonpath={.items[0].metadata.name}')"
  repo="$("${binding[@]}" -o 'jsonpath={.spec.repoOrg}/{.spec.repoName}')"
  branch="$("${binding[@]}" -o 'jsonpath={.spec.branch}')"
  cat <<EOF
  Tekton:          controller, core interceptors and EventListener sinks run
                   (${env}scripts/local-cluster --name $LOCAL_CLUSTER_NAME tekton status)
  signed push:     ${env}scripts/local-cluster --name $LOCAL_CLUSTER_NAME tekton push $org_ns/$listener $repo ${branch:-main}
  watch the run:   $(quote "$KUBECTL") --kubeconfig $(quote "$ADMIN_KUBECONFIG") get pipelineruns,taskruns,pods -n $binding_ns -w
                   (Pods stay Pending: no node runs them here)
EOF
}

deploy_local

#!/bin/sh
# Finishes the SSO wiring after every sync of the auth stack, and fails loudly when it cannot:
#
#   1. Authentik publishes the OpenID provider of the application `dex` under the public host
#      Dex's connector names (so the blueprint was applied, with the right slug);
#   2. Dex publishes the issuer Argo CD and the API server are configured with;
#   3. Argo CD gets its Dex client secret in its own namespace, the only place it can read
#      Secrets from, and, where Dex's certificate comes from the platform's private CA (the CA
#      file is mounted, kind), that CA as `rootCA` beside it.
#
# The Secret dex-clients in auth-system is the one source of truth for the client secret: Dex
# reads it directly, and the copy written here is overwritten on every run. Writing uses
# server-side apply on exactly one named Secret, which is all the Role beside this Job allows.
set -eu
set -o pipefail

log() { printf 'auth-config-sync: %s\n' "$*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

: "${AUTH_HOST:?is not set (ConfigMap auth-hosts)}"
: "${DEX_HOST:?is not set (ConfigMap auth-hosts)}"
: "${KUBERNETES_SERVICE_HOST:?is not set: not running in a pod?}"
: "${KUBERNETES_SERVICE_PORT:?is not set: not running in a pod?}"

AUTHENTIK_URL="${AUTHENTIK_URL:-http://authentik.auth-system.svc:9000}"
DEX_URL="${DEX_URL:-http://dex.auth-system.svc:5556}"
SECRETS_DIR="${SECRETS_DIR:-/secrets}"
# ca.crt of Secret platform-ca-trust, where a deployment creates it (docs/auth.md).
PLATFORM_CA_FILE="${PLATFORM_CA_FILE:-/platform-ca/ca.crt}"
SERVICE_ACCOUNT_DIR="${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}"
WORK_DIR="${WORK_DIR:-/tmp}"
# Authentik applies its blueprint in the background after it starts: allow it ten minutes.
ATTEMPTS="${ATTEMPTS:-120}"
PAUSE_SECONDS="${PAUSE_SECONDS:-5}"

# Nothing written below is readable by anyone else; the directory is a memory-backed volume.
umask 077

# Runs "$@" until it succeeds, at most ATTEMPTS times.
retry() {
  what="$1"
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      fail "$what: gave up after $ATTEMPTS attempts, $PAUSE_SECONDS s apart (last error: $(cat "$WORK_DIR/curl.err" 2>/dev/null))"
    fi
    attempt=$((attempt + 1))
    sleep "$PAUSE_SECONDS"
  done
}

# The "issuer" member of an OpenID discovery document.
issuer_of() {
  sed -n 's/.*"issuer"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

fetch_authentik_discovery() {
  # Authentik names its issuer after the host a request was sent to: ask as the public host.
  curl -fsS --max-time 10 -o "$WORK_DIR/authentik.json" \
    -H "Host: $AUTH_HOST" -H 'X-Forwarded-Proto: https' \
    "$AUTHENTIK_URL/application/o/dex/.well-known/openid-configuration" 2>"$WORK_DIR/curl.err"
}

fetch_dex_discovery() {
  curl -fsS --max-time 10 -o "$WORK_DIR/dex.json" \
    "$DEX_URL/.well-known/openid-configuration" 2>"$WORK_DIR/curl.err"
}

check_authentik() {
  log "waiting for Authentik's provider for application 'dex' at $AUTHENTIK_URL"
  retry "Authentik's OpenID configuration of application 'dex' (is the blueprint applied? see the worker's log)" \
    fetch_authentik_discovery
  issuer="$(issuer_of "$WORK_DIR/authentik.json")"
  # The scheme depends on whether Authentik trusts this pod's X-Forwarded-Proto; the host and
  # the path are what Dex's connector must match.
  expected="$AUTH_HOST/application/o/dex/"
  [ "${issuer#*://}" = "$expected" ] ||
    fail "Authentik announces the issuer '$issuer' for application 'dex', but Dex's connector expects https://$expected"
  log "Authentik: issuer https://$expected"
}

check_dex() {
  log "waiting for Dex at $DEX_URL"
  retry "Dex's OpenID configuration" fetch_dex_discovery
  issuer="$(issuer_of "$WORK_DIR/dex.json")"
  [ "$issuer" = "https://$DEX_HOST" ] ||
    fail "Dex announces the issuer '$issuer', expected https://$DEX_HOST (ConfigMap auth-hosts, DEX_HOST)"
  log "Dex: issuer $issuer"
}

# The value of key $1 of the Secret dex-clients, mounted as a file.
client_secret() {
  file="$SECRETS_DIR/$1"
  [ -s "$file" ] || fail "$file is missing or empty: Secret auth-system/dex-clients has no key '$1' (is its ExternalSecret synced?)"
  tr -d '\r\n' <"$file"
}

base64_of() { printf '%s' "$1" | base64 | tr -d '\n'; }

# apply_secret NAMESPACE NAME PART_OF KEY VALUE [KEY VALUE]...
apply_secret() {
  namespace="$1" name="$2" part_of="$3"
  shift 3
  data=""
  while [ "$#" -ge 2 ]; do
    data="$data${data:+,}\"$1\":\"$(base64_of "$2")\""
    shift 2
  done
  api_host="$KUBERNETES_SERVICE_HOST"
  case "$api_host" in *:*) api_host="[$api_host]" ;; esac
  url="https://$api_host:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$namespace/secrets/$name?fieldManager=auth-config-sync&force=true"

  # The token and the body go through files, not the command line, where other processes of
  # the pod could read them.
  printf 'Authorization: Bearer %s\n' "$(cat "$SERVICE_ACCOUNT_DIR/token")" >"$WORK_DIR/auth-header"
  printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"%s","namespace":"%s","labels":{"app.kubernetes.io/part-of":"%s","app.kubernetes.io/managed-by":"auth-config-sync"}},"type":"Opaque","data":{%s}}' \
    "$name" "$namespace" "$part_of" "$data" >"$WORK_DIR/body.json"

  status="$(curl -sS --max-time 20 --cacert "$SERVICE_ACCOUNT_DIR/ca.crt" \
    -H @"$WORK_DIR/auth-header" -H 'Content-Type: application/apply-patch+yaml' \
    -X PATCH --data-binary @"$WORK_DIR/body.json" \
    -o "$WORK_DIR/response.json" -w '%{http_code}' "$url" 2>"$WORK_DIR/curl.err")" ||
    fail "writing Secret $namespace/$name: $(cat "$WORK_DIR/curl.err")"
  rm -f "$WORK_DIR/body.json" "$WORK_DIR/auth-header"
  case "$status" in
    200 | 201) ;;
    *)
      # A failed request answers with a Status object: its message names what was refused.
      message="$(sed -n 's/.*"message"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$WORK_DIR/response.json")"
      rm -f "$WORK_DIR/response.json"
      fail "writing Secret $namespace/$name: HTTP $status: ${message:-no message}"
      ;;
  esac
  # A successful answer echoes the Secret, values included.
  rm -f "$WORK_DIR/response.json"
  log "Secret $namespace/$name is up to date"
}

# Read first: a failure inside an argument's $(...) would not stop the script.
argocd_secret="$(client_secret argocd-client-secret)"
[ -r "$SERVICE_ACCOUNT_DIR/token" ] || fail "no service account token in $SERVICE_ACCOUNT_DIR"
root_ca=""
if [ -e "$PLATFORM_CA_FILE" ]; then
  grep -q -- '-----BEGIN CERTIFICATE-----' "$PLATFORM_CA_FILE" ||
    fail "$PLATFORM_CA_FILE holds no PEM certificate: is Certificate auth-system/platform-ca-trust Ready?"
  root_ca="$(cat "$PLATFORM_CA_FILE")"
fi

check_authentik
check_dex
if [ -n "$root_ca" ]; then
  # Argo CD's oidc.config names it as rootCA: $argocd-oidc:rootCA (kind's argocd-config).
  apply_secret argocd argocd-oidc argocd \
    clientID argocd clientSecret "$argocd_secret" rootCA "$root_ca"
else
  apply_secret argocd argocd-oidc argocd \
    clientID argocd clientSecret "$argocd_secret"
fi
log "done"

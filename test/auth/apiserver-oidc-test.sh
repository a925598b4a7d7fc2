#!/usr/bin/env bash
# The API server's acceptance of Dex's ID tokens, against a real kube-apiserver: the kind
# deployment's authentication configuration (platform/deployments/kind/cluster), rendered by the
# script bootstrap.sh uses, and the platform RBAC (platform/base/rbac).
#
# A second kube-apiserver runs on the etcd of the local control plane (CTest's `crds` fixture,
# $APHEX_TEST_CLUSTER_DIR), under a key prefix of its own, so nothing it stores is seen by other
# tests. It starts with authentication-config.initial.yaml (no issuer), as a kind cluster does,
# and must apply the full configuration without a restart. A local HTTPS server, with a
# certificate of a throw-away CA, stands in for Dex: it publishes an OpenID discovery document
# and a key set; the test signs tokens with the key itself (RS256, openssl).
#
# Checked: a person is named by the e-mail claim and carries the groups claim, unprefixed; a
# token with a system: group or an unverified address is refused; the platform groups get what
# docs/auth.md says (SelfSubjectAccessReviews with their own tokens).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER_DIR="${APHEX_TEST_CLUSTER_DIR:?set APHEX_TEST_CLUSTER_DIR to a local cluster folder (CTest does)}"
# shellcheck source=/dev/null
source "$CLUSTER_DIR/cluster.env"
BIN="$("$ROOT/scripts/local-cluster" bin)"
RENDER="$ROOT/platform/deployments/common/auth/apiserver/render-authentication-config.sh"
CLUSTER="$ROOT/platform/deployments/kind/cluster"

work="$(mktemp -d)"
pids=()
cleanup() {
  ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { printf 'FAIL  %s\n' "$*" >&2; failures=$((failures + 1)); }
pass() { printf 'ok    %s\n' "$*"; }
die() { printf 'apiserver-oidc-test: %s\n' "$*" >&2; exit 1; }

# A loopback port nothing listens on, from a random start.
free_port() {
  local port=$((20000 + RANDOM % 30000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# --- a stand-in issuer -------------------------------------------------------------------------
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj "/CN=test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout issuer.key -out issuer.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >san.cnf
openssl x509 -req -in issuer.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out issuer.crt -days 1 -extfile san.cnf 2>/dev/null
openssl genrsa -out signing.key 2048 2>/dev/null

issuer_port="$(free_port)"
issuer="127.0.0.1:$issuer_port"
# The key's modulus, from hexadecimal to bytes to base64url.
modulus="$(printf '%b' "$(openssl rsa -in signing.key -noout -modulus | cut -d= -f2 | sed 's/../\\x&/g')" | b64url)"
mkdir -p www/.well-known
printf '{"issuer":"https://%s","jwks_uri":"https://%s/keys","authorization_endpoint":"https://%s/auth","token_endpoint":"https://%s/token","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}' \
  "$issuer" "$issuer" "$issuer" "$issuer" >www/.well-known/openid-configuration
printf '{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"test","n":"%s","e":"AQAB"}]}' "$modulus" >www/keys
(cd www && exec openssl s_server -WWW -quiet -accept "$issuer_port" -cert ../issuer.crt -key ../issuer.key) >issuer.log 2>&1 &
pids+=($!)

# token CLAIMS_JSON: a signed ID token from the stand-in issuer for the audience `kubernetes`.
token() {
  local now header payload
  now="$(date +%s)"
  header="$(printf '{"alg":"RS256","kid":"test","typ":"JWT"}' | b64url)"
  payload="$(jq -cn --argjson c "$1" --arg iss "https://$issuer" --argjson now "$now" \
    '{iss: $iss, aud: "kubernetes", sub: "test", iat: $now, exp: ($now + 600)} + $c' | b64url)"
  printf '%s.%s.%s' "$header" "$payload" \
    "$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign signing.key | b64url)"
}

# --- a second API server on the fixture's etcd ------------------------------------------------
"$RENDER" "$CLUSTER/authentication-config.yaml" "$issuer" ca.crt >full.yaml || die "rendering failed"
cp "$CLUSTER/authentication-config.initial.yaml" authentication-config.yaml
api_port="$(free_port)"
"$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" --etcd-prefix "/apiserver-oidc-test-$api_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" --cert-dir "$work/certs" \
  --tls-cert-file "$CLUSTER_DIR/pki/apiserver.crt" --tls-private-key-file "$CLUSTER_DIR/pki/apiserver.key" \
  --client-ca-file "$CLUSTER_DIR/pki/ca.crt" --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$CLUSTER_DIR/pki/service-account.pub" \
  --service-account-signing-key-file "$CLUSTER_DIR/pki/service-account.key" \
  --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none \
  --authentication-config "$work/authentication-config.yaml" >apiserver.log 2>&1 &
pids+=($!)

admin=(--server "https://127.0.0.1:$api_port" --certificate-authority "$CLUSTER_DIR/pki/ca.crt"
  --client-certificate "$CLUSTER_DIR/pki/admin.crt" --client-key "$CLUSTER_DIR/pki/admin.key")
person=(--server "https://127.0.0.1:$api_port" --certificate-authority "$CLUSTER_DIR/pki/ca.crt")
for _ in $(seq 60); do
  "$BIN/kubectl" "${admin[@]}" get --raw /readyz >/dev/null 2>&1 && break
  sleep 1
done
"$BIN/kubectl" "${admin[@]}" get --raw /readyz >/dev/null 2>&1 || die "the API server did not start: $(tail -5 apiserver.log)"
pass "the API server starts with authentication-config.initial.yaml (no issuer)"
"$BIN/kubectl" "${admin[@]}" apply -k "$ROOT/platform/base/rbac" >/dev/null

# As bootstrap.sh does once the CA exists: replace the file; the API server reloads it.
cp full.yaml authentication-config.yaml.new
mv authentication-config.yaml.new authentication-config.yaml
for _ in $(seq 120); do
  grep -q 'reloaded authentication config' apiserver.log && break
  grep -q 'failed to load authentication config' apiserver.log && die "the API server refuses the configuration: $(grep 'failed to load authentication config' apiserver.log | tail -1)"
  sleep 1
done
grep -q 'reloaded authentication config' apiserver.log || die "the API server did not reload the configuration within 120 s"
pass "the API server applies authentication-config.yaml without a restart"

# whoami CLAIMS [ATTEMPTS]: "username groups..." as the API server sees the token's bearer, or
# "refused".
whoami() {
  local t
  t="$(token "$1")"
  for _ in $(seq "${2:-1}"); do
    if "$BIN/kubectl" "${person[@]}" --token "$t" auth whoami -o json >whoami.json 2>whoami.err; then
      jq -r '[.status.userInfo.username] + [.status.userInfo.groups[] | select(. != "system:authenticated")] | join(" ")' whoami.json
      return
    fi
    # The authenticator fetches the issuer's keys in the background after a reload.
    grep -q Unauthorized whoami.err || break
    sleep 1
  done
  echo refused
}
expect_whoami() {
  local want="$1" claims="$2" got
  got="$(whoami "$claims" "${3:-1}")"
  if [[ "$got" == "$want" ]]; then pass "$claims -> $want"; else fail "$claims: expected '$want', the API server says '$got'"; fi
}
# The first one waits (30 s at most) for the authenticator, which fetches the issuer's keys in the
# background after a reload; the others are answered at once.
expect_whoami "ops@example.com platform-operators" '{"email":"ops@example.com","email_verified":true,"groups":["platform-operators"]}' 30
expect_whoami refused '{"email":"x@example.com","email_verified":true,"groups":["platform-admins","system:masters"]}'
expect_whoami refused '{"email":"x@example.com","email_verified":false,"groups":["platform-admins"]}'
expect_whoami refused '{"email":"x@example.com","groups":["platform-admins"]}'

# can GROUP VERB GROUP/RESOURCE [NAMESPACE]: yes or no for a person of GROUP, by a
# SelfSubjectAccessReview with that person's own token.
can() {
  local t
  t="$(token "$(jq -cn --arg g "$1" '{email: "p@example.com", email_verified: true, groups: [$g]}')")"
  jq -n --arg verb "$2" --arg group "${3%/*}" --arg resource "${3#*/}" --arg ns "${4:-}" \
    '{apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview",
      spec: {resourceAttributes: {verb: $verb, group: $group, resource: $resource, namespace: $ns}}}' >ssar.json
  "$BIN/kubectl" "${person[@]}" --token "$t" create --validate=false -f ssar.json -o json | jq -r 'if .status.allowed then "yes" else "no" end'
}
expect_can() {
  local want="$1" got
  shift
  got="$(can "$@")"
  if [[ "$got" == "$want" ]]; then pass "$1 may $2 $3: $want"; else fail "$1 may $2 $3: expected $want, got $got"; fi
}
expect_can yes platform-admins delete /secrets team
expect_can yes platform-operators create tekton.dev/pipelineruns team
expect_can yes platform-operators patch aphex.io/repobindings team
expect_can yes platform-operators delete /pods team
expect_can no platform-operators get /secrets team
expect_can no platform-operators create rbac.authorization.k8s.io/rolebindings team
expect_can no platform-operators create argoproj.io/applications argocd
expect_can no platform-operators patch apps/deployments team
expect_can yes platform-engineering list tekton.dev/pipelineruns
expect_can yes platform-engineering list triggers.tekton.dev/eventlisteners
expect_can yes platform-engineering get aphex.io/organizations team
expect_can no platform-engineering create tekton.dev/pipelineruns team
expect_can no platform-engineering get /secrets team
expect_can no someone-else list tekton.dev/pipelineruns

((failures == 0)) || { echo "apiserver-oidc-test: $failures failures" >&2; exit 1; }
echo "apiserver-oidc-test: all passed"

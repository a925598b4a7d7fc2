#!/usr/bin/env bash
# The k3s bootstrap's Cloudflare checks (verify_cloudflare of platform/deployments/bootstrap-lib.sh)
# against a local stand-in of Cloudflare's API (test/bootstrap/cloudflare-stand-in.py), pointed at
# by APHEX_CLOUDFLARE_API_URL: a token with every permission passes; an unknown, an expired token
# and a token that lacks each permission, an unknown zone, empty IDs and an unreachable API each
# stop with their own message. curl is wrapped to record its arguments: the token is never
# among them.
#
# Usage: test/bootstrap/cloudflare-test.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
cf_account="0123456789abcdef0123456789abcdef"
cf_zone="fedcba9876543210fedcba9876543210"
python3 "$root/test/bootstrap/cloudflare-stand-in.py" "$work/port" "$cf_account" "$cf_zone" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || { echo "FAIL: the stand-in did not start"; exit 1; }
api="http://127.0.0.1:$(cat "$work/port")/client/v4"

mkdir "$work/bin"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/curl-args"\nexec %s "$@"\n' "$work" "$(command -v curl)" >"$work/bin/curl"
chmod +x "$work/bin/curl"

status=0
# check TOKEN ACCOUNT ZONE API EXPECT_STATUS EXPECTED...: verify_cloudflare's exit status and output.
check() {
  local token="$1" acct="$2" zn="$3" url="$4" want="$5" result got=0 expected
  shift 5
  result="$(
    export APHEX_CLOUDFLARE_API_URL="$url" CLOUDFLARE_API_TOKEN="$token" PATH="$work/bin:$PATH"
    # shellcheck source=platform/deployments/bootstrap-lib.sh
    source "$root/platform/deployments/bootstrap-lib.sh"
    verify_cloudflare "$acct" "$zn" platform/deployments/k3s/settings/settings.yaml 2>&1
  )" || got=$?
  if [[ "$want" == ok && "$got" != 0 || "$want" == fail && "$got" == 0 ]]; then
    printf 'FAIL: token %s: expected %s, exit status %s\n%s\n' "$token" "$want" "$got" "$result"
    status=1
  fi
  for expected in "$@"; do
    grep -qF -- "$expected" <<<"$result" || { printf 'FAIL: token %s: no "%s" in:\n%s\n' "$token" "$expected" "$result"; status=1; }
  done
  if grep -qF -- "$token" <<<"$result"; then printf 'FAIL: token %s was printed\n' "$token"; status=1; fi
}

check "full:tunnel,zone,dns" "$cf_account" "$cf_zone" "$api" ok \
  "Cloudflare: verify the token: ok" "Cloudflare: read Cloudflare Tunnels of account $cf_account: ok" \
  "Cloudflare: read zone $cf_zone: ok" "Cloudflare: list DNS records of zone $cf_zone: ok"
check "wrong-token" "$cf_account" "$cf_zone" "$api" fail "Cloudflare refuses the API token (HTTP 401, 1000: Invalid API Token)"
check "expired:*" "$cf_account" "$cf_zone" "$api" fail "the Cloudflare API token is not active"
check "notunnel:zone,dns" "$cf_account" "$cf_zone" "$api" fail \
  "may not read Cloudflare Tunnels of account $cf_account (HTTP 403, 9109: Unauthorized to access requested resource)" \
  "add the permission Account > Cloudflare Tunnel > Edit"
check "nozone:tunnel,dns" "$cf_account" "$cf_zone" "$api" fail \
  "may not read zone $cf_zone (HTTP 403, 9109" "add the permission Zone > Zone > Read (cert-manager's DNS-01 solver and external-dns"
check "nodns:tunnel,zone" "$cf_account" "$cf_zone" "$api" fail "may not list DNS records of zone $cf_zone" \
  "add the permission Zone > DNS > Edit"
check "full:tunnel,zone,dns" "$cf_account" "0000" "$api" fail "Cloudflare finds nothing at /zones/0000 (HTTP 404, 7003:" \
  "check cloudflareAccountID and cloudflareZoneID in platform/deployments/k3s/settings/settings.yaml"
check "full:tunnel,zone,dns" "" "$cf_zone" "$api" fail "cloudflareAccountID is empty in platform/deployments/k3s/settings/settings.yaml"
check "full:tunnel,zone,dns" "$cf_account" "" "$api" fail "cloudflareZoneID is empty"
check "full:tunnel,zone,dns" "$cf_account" "$cf_zone" "http://127.0.0.1:9/client/v4" fail "cannot reach the Cloudflare API at http://127.0.0.1:9/client/v4"

if grep -qF -- "tunnel,zone,dns" "$work/curl-args"; then echo "FAIL: a token was in curl's arguments"; status=1; fi
grep -q -- "-K -" "$work/curl-args" || { echo "FAIL: curl was not given its configuration on stdin"; status=1; }
((status == 0)) && echo PASS
exit "$status"

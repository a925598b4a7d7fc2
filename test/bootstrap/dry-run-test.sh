#!/usr/bin/env bash
# Runs ./bootstrap.sh --deployment DEPLOYMENT with --dry-run (also with --repo-url and
# --revision for kind and k3s, and with --down) and checks that the output names every EXPECTED
# step or command and that nothing ran: every tool a deployment calls is replaced by a stub
# that records its calls, and no state folder may appear.
#
# Usage: test/bootstrap/dry-run-test.sh DEPLOYMENT EXPECTED...
set -euo pipefail

deployment="$1"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/stubs"
for tool in kubectl kind docker k3s curl openssl systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 1\n' "$tool" "$work" >"$work/stubs/$tool"
  chmod +x "$work/stubs/$tool"
done
export PATH="$work/stubs:$PATH"
export APHEX_STATE_DIR="$work/state"
unset CLOUDFLARE_API_TOKEN

status=0
# dry_run ARGS...: the output of one dry run, ending in "<exit status N>" if it failed.
dry_run() {
  ./bootstrap.sh --deployment "$deployment" --dry-run "$@" 2>&1 || echo "<exit status $?>"
}

cd "$root"
out="$(dry_run)"
if [[ "$deployment" != local ]]; then
  out+=$'\n'"$(dry_run --repo-url https://git.example.org/platform/aphex.git --revision release-1)"
fi
out+=$'\n'"$(dry_run --down)"
if grep -q '^<exit status' <<<"$out"; then
  printf 'a dry run of --deployment %s failed\n' "$deployment"
  status=1
fi

for expected in "$@"; do
  if ! grep -qF -- "$expected" <<<"$out"; then
    printf 'the dry run of --deployment %s does not mention: %s\n' "$deployment" "$expected"
    status=1
  fi
done
if [[ -s "$work/calls" ]]; then
  printf 'the dry run ran commands:\n'
  cat "$work/calls"
  status=1
fi
if [[ -e "$APHEX_STATE_DIR" ]]; then
  printf 'the dry run created %s\n' "$APHEX_STATE_DIR"
  status=1
fi
((status == 0)) || printf '\nits output:\n%s\n' "$out"
exit "$status"

#!/usr/bin/env bash
# Runs ./bootstrap.sh --deployment DEPLOYMENT with --dry-run (also with --repo-url and
# --revision for kind and k3s, with a repository token and with an SSH key, for kind with
# --use-existing, and with --down) and checks that the output names every EXPECTED step or
# command and that nothing ran: every tool a deployment calls is replaced by a stub that records
# its calls, and no state folder may appear. The repository credentials' values must not appear.
# An EXPECTED of the form "FIRST >> SECOND" asserts that FIRST is printed before SECOND.
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
  printf 'token-value-never-printed\n' >"$work/token"
  printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nkey-value-never-printed\n-----END OPENSSH PRIVATE KEY-----\n' >"$work/key"
  out+=$'\n'"$(dry_run --repo-url https://git.example.org/platform/aphex.git --repo-token-file "$work/token" \
    --no-wait)"
  out+=$'\n'"$(dry_run --repo-url git@git.example.org:platform/aphex.git --repo-ssh-key-file "$work/key" \
    --timeout 45m)"
fi
if [[ "$deployment" == kind ]]; then
  out+=$'\n'"$(dry_run --use-existing --context test-context)"
  out+=$'\n'"$(dry_run --use-existing --context test-context --down)"
fi
out+=$'\n'"$(dry_run --down)"
if grep -q '^<exit status' <<<"$out"; then
  printf 'a dry run of --deployment %s failed\n' "$deployment"
  status=1
fi

# line_of TEXT: the number of the first output line that holds TEXT (0: none).
line_of() { grep -nF -- "$1" <<<"$out" | head -1 | cut -d: -f1 || true; }

for expected in "$@"; do
  if [[ "$expected" == *" >> "* ]]; then
    first="$(line_of "${expected%% >> *}")" second="$(line_of "${expected#* >> }")"
    if [[ -z "$first" || -z "$second" ]] || ((first >= second)); then
      printf 'the dry run of --deployment %s does not print, in this order: %s\n' "$deployment" "$expected"
      status=1
    fi
  elif ! grep -qF -- "$expected" <<<"$out"; then
    printf 'the dry run of --deployment %s does not mention: %s\n' "$deployment" "$expected"
    status=1
  fi
done
# refuses MESSAGE ARGS...: a dry run with ARGS must stop with MESSAGE (bad options are refused
# before anything would run).
refuses() {
  local message="$1" got
  shift
  if got="$(./bootstrap.sh --deployment "$deployment" --dry-run "$@" 2>&1)" || ! grep -qF -- "$message" <<<"$got"; then
    printf 'the dry run with %s does not stop with: %s\nits output:\n%s\n' "$*" "$message" "$got"
    status=1
  fi
}
if [[ "$deployment" != local ]]; then
  refuses "--repo-ssh-key-file: $work/none does not exist" --repo-url git@h:o/r.git --repo-ssh-key-file "$work/none"
  refuses "--repo-ssh-key-file: $work/token is not a private key" --repo-url git@h:o/r.git --repo-ssh-key-file "$work/token"
  refuses "--repo-ssh-key-file needs an SSH repository URL" --repo-url https://h/o/r.git --repo-ssh-key-file "$work/key"
  refuses "--repo-token-file needs an https:// repository URL" --repo-url git@h:o/r.git --repo-token-file "$work/token"
  refuses "--repo-token-file: - must hold one token" --repo-url https://h/o/r.git --repo-token-file - </dev/null
  refuses "--timeout must be a duration such as 90s, 30m or 1h30m, not 'soon'" --timeout soon
fi
if grep -q 'value-never-printed' <<<"$out"; then
  printf 'the dry run printed a repository credential\n'
  status=1
fi
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

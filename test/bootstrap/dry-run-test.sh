#!/usr/bin/env bash
# Runs ./bootstrap.sh --deployment DEPLOYMENT with --dry-run (also with --repo-url and
# --revision for kind and k3s, with a repository token and with an SSH key, for kind with
# --use-existing and with --node-image, for k3s with --k3s-version, and with --down) and checks
# that the output names every EXPECTED step or command and that nothing ran: every tool a
# deployment calls is replaced by a stub that records its calls, and no state folder may appear.
# The repository credentials' values must not appear. An EXPECTED of the form "FIRST >> SECOND"
# asserts that FIRST is printed before SECOND. For kind and k3s it also expects, on its own, the
# pins of scripts/versions.env and the API server's OIDC wiring (kind_expected, k3s_expected),
# and checks that settings whose domain and publicDomain clash are refused.
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
  out+=$'\n'"$(dry_run --node-image registry.example.org/kind-node:custom)"
  out+=$'\n'"$(dry_run --use-existing --context test-context)"
  out+=$'\n'"$(dry_run --use-existing --context test-context --down)"
fi
[[ "$deployment" != k3s ]] || out+=$'\n'"$(dry_run --k3s-version v1.36.1+k3s1)"
out+=$'\n'"$(dry_run --down)"
if grep -q '^<exit status' <<<"$out"; then
  printf 'a dry run of --deployment %s failed\n' "$deployment"
  status=1
fi

# line_of TEXT: the number of the first output line that holds TEXT (0: none).
line_of() { grep -nF -- "$1" <<<"$out" | head -1 | cut -d: -f1 || true; }

# shellcheck source=scripts/versions.env
source "$root/scripts/versions.env"
# kind_expected: the node image and kind release of versions.env; the API server's authentication
# folder in the state folder, made before the cluster; its mount and kubeadm patches in the
# printed configuration; after the wait, the platform CA's extraction and the rendered file
# renamed over the initial one.
kind_expected() {
  local auth="$APHEX_STATE_DIR/kind/aphex/apiserver-authentication"
  local template="platform/deployments/kind/cluster/authentication-config.yaml"
  expected+=(
    "kind create cluster --name aphex --image $KIND_NODE_IMAGE${KIND_NODE_DIGEST:+@$KIND_NODE_DIGEST} --wait"
    "--image registry.example.org/kind-node:custom --wait" "is not $KIND_VERSION"
    "mkdir -p $auth/kubeadm-patches >> kind create cluster"
    "cp platform/deployments/kind/cluster/authentication-config.initial.yaml $auth/authentication-config.yaml >> kind create cluster"
    "cp platform/deployments/kind/cluster/kubeadm-patches/kube-apiserver+strategic.yaml $auth/kubeadm-patches/ >> kind create cluster"
    "extraMounts: >> kind create cluster" "- hostPath: \"$auth\"" "containerPath: /etc/kubernetes/aphex-authentication"
    "kubeadmConfigPatches: >> kind create cluster" "name: authentication-config"
    "value: /etc/kubernetes/aphex-authentication/authentication-config.yaml"
    "directory: /etc/kubernetes/aphex-authentication/kubeadm-patches"
    "waiting until every Application is Synced and Healthy >> until Secret cert-manager/aphex-platform-ca exists"
    "until Secret cert-manager/aphex-platform-ca exists >> | base64 -d > $auth/platform-ca.crt"
    "base64 -d > $auth/platform-ca.crt >> render-authentication-config.sh $template dex."
    "$auth/platform-ca.crt > $auth/authentication-config.yaml.new >> mv $auth/authentication-config.yaml.new $auth/authentication-config.yaml"
    "not now (--no-wait): it needs the platform CA" "--use-existing: the API server of test-context is left as it is"
    "rm -rf $APHEX_STATE_DIR/kind/aphex" "webhooks: Organizations' hosts <organization>.")
}
# k3s_expected: the k3s release of versions.env (or --k3s-version), and the drop-in and the
# rendered authentication file in place before k3s is installed.
k3s_expected() {
  local drop_in="/etc/rancher/k3s/config.yaml.d/aphex-oidc.yaml" auth="/etc/rancher/k3s/aphex-authentication-config.yaml"
  expected+=(
    "env INSTALL_K3S_VERSION=$K3S_VERSION sh" "env INSTALL_K3S_VERSION=v1.36.1+k3s1 sh"
    "cp platform/deployments/k3s/cluster/k3s-oidc.yaml $drop_in.new"
    "render-authentication-config.sh platform/deployments/k3s/cluster/authentication-config.yaml dex."
    "> $auth.new >> mv $auth.new $auth" "mv $auth.new $auth >> INSTALL_K3S_VERSION="
    "mv $drop_in.new $drop_in >> INSTALL_K3S_VERSION=" "systemctl restart k3s"
    "still has the placeholder publicDomain" "webhooks: Organizations' hosts <organization>.")
}
expected=("$@")
case "$deployment" in
  kind) kind_expected ;;
  k3s) k3s_expected ;;
esac

for expected in "${expected[@]}"; do
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
# settings_refused MESSAGE DOMAIN PUBLIC_DOMAIN: check_domains (bootstrap-lib.sh), which both
# deployments run first, stops with MESSAGE on settings with these domains.
settings_refused() {
  local message="$1" got fake="$work/repo"
  mkdir -p "$fake/platform/deployments/$deployment/settings"
  printf 'data:\n  domain: %s\n  publicDomain: %s\n' "$2" "$3" >"$fake/platform/deployments/$deployment/settings/settings.yaml"
  # shellcheck disable=SC2016 # expanded by that bash
  if got="$(bash -c 'source "$1" && ROOT="$2" && check_domains "$3"' - "$root/platform/deployments/bootstrap-lib.sh" \
        "$fake" "$deployment" 2>&1)" || ! grep -qF -- "$message" <<<"$got"; then
    printf 'settings with domain %s and publicDomain %s are not refused with: %s\nthe output:\n%s\n' "$2" "$3" "$message" "$got"
    status=1
  fi
}
if [[ "$deployment" != local ]]; then
  settings_refused "domain and publicDomain are both 'same.example.org'" same.example.org same.example.org
  settings_refused "publicDomain is empty in platform/deployments/$deployment/settings/settings.yaml" private.example.org '""'
  settings_refused "domain is empty" "" public.example.org
  settings_refused "publicDomain 'hooks.private.example.org' lies under domain 'private.example.org'" \
    private.example.org hooks.private.example.org
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

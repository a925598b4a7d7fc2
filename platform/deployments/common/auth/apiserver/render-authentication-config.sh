#!/usr/bin/env bash
# Prints the API server's authentication configuration for a deployment: the template
# (platform/deployments/<deployment>/cluster/authentication-config.yaml) with DEX_HOST replaced by
# Dex's host and, where the template has a CA_PEM line, that line replaced by the CA's PEM, each
# line indented like CA_PEM (docs/auth.md, "kubectl"). bootstrap.sh writes the output where the
# API server reads it; the API server applies a changed file without a restart.
#
# Usage: render-authentication-config.sh TEMPLATE DEX_HOST [CA_FILE]
set -euo pipefail

die() { printf 'render-authentication-config: %s\n' "$*" >&2; exit 1; }

(($# == 2 || $# == 3)) || die "usage: $0 TEMPLATE DEX_HOST [CA_FILE]"
template="$1" dex_host="$2" ca_file="${3:-}"
[[ -r "$template" ]] || die "cannot read the template $template"
[[ "$dex_host" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$ ]] ||
  die "DEX_HOST '$dex_host' is not a host name (dex.<domain>, optionally :port)"

if grep -q '^[[:space:]]*CA_PEM[[:space:]]*$' "$template"; then
  [[ -n "$ca_file" ]] || die "$template needs a CA (its CA_PEM line): pass the platform CA's ca.crt as CA_FILE"
  [[ -r "$ca_file" ]] || die "cannot read the CA file $ca_file"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_file" || die "$ca_file holds no PEM certificate"
else
  [[ -z "$ca_file" ]] || die "$template has no CA_PEM line: it trusts the host's roots, so pass no CA_FILE"
fi

awk -v host="$dex_host" -v ca_file="$ca_file" '
  /^[[:space:]]*CA_PEM[[:space:]]*$/ {
    indent = substr($0, 1, index($0, "CA_PEM") - 1)
    while ((getline line < ca_file) > 0) if (line != "") print indent line
    next
  }
  /^[[:space:]]*#/ { print; next }
  { gsub(/DEX_HOST/, host); print }
' "$template"

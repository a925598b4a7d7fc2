#!/usr/bin/env bash
# Waits until the API server can call cert-manager's webhook: its Service has a ready endpoint
# and cainjector has put a CA bundle into every webhook of both admission configurations. Until
# then every Certificate and Issuer is refused ("x509: certificate signed by unknown authority"
# or a timeout), so the layers after cert-manager must not start. Runs as an Argo CD PostSync
# hook: exiting non-zero fails the sync, after printing what was still missing and the state of
# cert-manager's objects, and Argo CD retries the sync.
#
# Environment: NAMESPACE (cert-manager's), SERVICE (the webhook's Service and both admission
# configurations), TIMEOUT_SECONDS, INTERVAL_SECONDS.
set -euo pipefail

namespace="${NAMESPACE:?}"
service="${SERVICE:-cert-manager-webhook}"
timeout_seconds="${TIMEOUT_SECONDS:-300}"
interval_seconds="${INTERVAL_SECONDS:-5}"

# Prints one line per thing that is not ready yet; prints nothing once the webhook is usable.
missing() {
  local slices ready kind config
  if ! slices="$(kubectl get endpointslices -n "$namespace" -l "kubernetes.io/service-name=$service" -o json 2>&1)"; then
    echo "cannot read the EndpointSlices of service $namespace/$service: $slices"
  else
    ready="$(jq '[.items[].endpoints[]? | select(.conditions.ready == true)] | length' <<<"$slices")"
    ((ready > 0)) || echo "service $namespace/$service has no ready endpoint"
  fi
  for kind in validatingwebhookconfiguration mutatingwebhookconfiguration; do
    if ! config="$(kubectl get "$kind" "$service" -o json 2>&1)"; then
      echo "cannot read $kind $service: $config"
      continue
    fi
    jq -r --arg kind "$kind" '
      .metadata.name as $config
      | if ((.webhooks // []) | length) == 0 then "\($kind) \($config) has no webhooks"
        else .webhooks[] | select((.clientConfig.caBundle // "") == "")
          | "\($kind) \($config): webhook \(.name) has no CA bundle yet"
        end' <<<"$config"
  done
}

diagnose() {
  echo "--- cert-manager workloads"
  kubectl get deployments,pods -n "$namespace" -o wide || true
  echo "--- EndpointSlices of service $namespace/$service"
  kubectl get endpointslices -n "$namespace" -l "kubernetes.io/service-name=$service" -o yaml || true
  echo "--- admission configurations"
  kubectl get validatingwebhookconfiguration,mutatingwebhookconfiguration "$service" -o yaml || true
  echo "--- recent events in $namespace"
  kubectl get events -n "$namespace" --sort-by=.lastTimestamp 2>/dev/null | tail -n 40 || true
}

deadline=$((SECONDS + timeout_seconds))
previous=""
while true; do
  problems="$(missing 2>&1)" || true
  mapfile -t lines <<<"$problems"
  if [[ -z "$problems" ]]; then
    echo "cert-manager's webhook is ready: service $namespace/$service has ready endpoints and both admission configurations carry a CA bundle"
    exit 0
  fi
  if [[ "$problems" != "$previous" ]]; then
    echo "waiting (up to ${timeout_seconds}s in all) for:"
    printf '  %s\n' "${lines[@]}"
    previous="$problems"
  fi
  if ((SECONDS >= deadline)); then
    echo "cert-manager's webhook is not ready after ${timeout_seconds}s; still missing:" >&2
    printf '  %s\n' "${lines[@]}" >&2
    diagnose >&2
    exit 1
  fi
  sleep "$interval_seconds"
done

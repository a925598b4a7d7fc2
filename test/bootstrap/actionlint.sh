#!/usr/bin/env bash
# actionlint, the linter of GitHub Actions workflows, built from its Go module at the version
# tools/actionlint/go.mod pins and cached under ~/.cache/aphex/actionlint (like the control
# plane's binaries: only the Go module proxy is needed), then run on .github/workflows. It runs
# the workflows' `run:` scripts through shellcheck when that is installed (scripts/install-deps
# installs it).
#
# Usage: test/bootstrap/actionlint.sh build     build (once) and print the binary's path
#        test/bootstrap/actionlint.sh [lint]    build if needed, then lint every workflow
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GOMOD_DIR="$ROOT/tools/actionlint"
CACHE_DIR="${APHEX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aphex}"

die() { printf 'actionlint.sh: error: %s\n' "$*" >&2; exit 1; }

# The cache key covers what decides the build: the module's pins.
binary() {
  local key
  key="$(cat "$GOMOD_DIR/go.mod" "$GOMOD_DIR/go.sum" | sha256sum | cut -c1-16)"
  echo "$CACHE_DIR/actionlint/$key/actionlint"
}

build() {
  local bin
  bin="$(binary)"
  if [[ ! -x "$bin" ]]; then
    command -v go >/dev/null 2>&1 || die "Go is not installed; actionlint is built from its Go module. Install Go 1.26 or newer."
    printf 'actionlint.sh: building actionlint from tools/actionlint/go.mod into %s\n' "$(dirname "$bin")" >&2
    mkdir -p "$(dirname "$bin")"
    env -C "$GOMOD_DIR" CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -o "$bin.tmp" github.com/rhysd/actionlint/cmd/actionlint
    mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

case "${1:-lint}" in
  build) build ;;
  lint)
    bin="$(build)"
    cd "$ROOT"
    command -v shellcheck >/dev/null 2>&1 || printf 'actionlint.sh: no shellcheck: run: scripts are not checked\n' >&2
    "$bin" -no-color .github/workflows/*.yaml
    echo "actionlint: .github/workflows/*.yaml pass" ;;
  -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (build or lint)" ;;
esac

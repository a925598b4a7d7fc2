#!/usr/bin/env bash
# Builds everything, starts the local control plane the integration tests need, and runs every
# test through CTest: unit tests under AddressSanitizer+UBSan and the fuzz targets first, then all
# labels (unit, integration, lint) in the default build. The control plane is stopped at the end, pass or fail.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

usage() {
  cat <<'EOF_USAGE'
Usage: ./test.sh [--unit-only] [--no-sanitizers] [-- CTEST_ARGS...]

Builds Aphex and runs its tests. Installs missing Debian packages first (scripts/install-deps)
and builds the local Kubernetes control plane once (cached under ~/.cache/aphex).

Options:
  --unit-only      run only the unit tests (no control plane needed)
  --no-sanitizers  skip the AddressSanitizer/UBSan build of the unit tests and the fuzz targets
  -- ARGS          extra arguments for the final ctest run, e.g. -- -R Client
  -h, --help       this text
EOF_USAGE
}

unit_only=false
sanitizers=true
ctest_args=()
while (($#)); do
  case "$1" in
    --unit-only) unit_only=true ;;
    --no-sanitizers) sanitizers=false ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n== %s\n' "$*"; }
jobs="$(nproc)"

# The integration tests' cluster is a CTest fixture; this stops it even if ctest is interrupted.
cleanup() {
  local name
  for name in ctest ctest-restart ctest-chaos; do
    APHEX_STATE_DIR="$ROOT/build/default/local-cluster" scripts/local-cluster --name "$name" down >/dev/null 2>&1 || true
  done
  # The bootstrap test's own deployment (controller and cluster), see test/CMakeLists.txt.
  APHEX_STATE_DIR="$ROOT/build/default/test/bootstrap-local-state" APHEX_LOCAL_CLUSTER_NAME=ctest-bootstrap \
    ./bootstrap.sh --deployment local --down >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "dependencies"
scripts/install-deps --with-fuzz
if ! $unit_only; then
  step "local control plane binaries"
  scripts/local-cluster build
  # Tekton's controller, EventListener sink and core interceptors, for the pipeline-path tests
  # (test/integration/tekton); they skip when these are not built.
  step "Tekton binaries"
  scripts/local-cluster tekton build
  # actionlint for the lint test of .github/workflows (built from its Go module, cached).
  step "actionlint"
  test/bootstrap/actionlint.sh build >/dev/null
fi

if $sanitizers; then
  step "unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  cmake --preset asan >/dev/null
  # Only what runs under the sanitizers: the integration tests and benchmarks run in the default build.
  cmake --build --preset asan -j "$jobs" --target aphex_unit_tests kubectl_aphex_unit_tests
  ctest --preset asan-unit -j "$jobs"
fi

if $sanitizers; then
  step "fuzz targets (libFuzzer with clang, 20 s each)"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  ctest --preset fuzz -j "$jobs"
fi

step "build (warnings are errors)"
cmake --preset default >/dev/null
# aphex-controller first, by the script the container image and bootstrap.sh build it with: CI
# proves that path, at no extra cost (the full build below would build the same target).
CMAKE_BUILD_PARALLEL_LEVEL="$jobs" scripts/build-controller --no-deps
cmake --build --preset default -j "$jobs"

step "tests"
label_args=()
$unit_only && label_args=(-L unit)
ctest --preset default -j "$jobs" "${label_args[@]}" "${ctest_args[@]}"

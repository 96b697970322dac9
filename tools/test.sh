#!/usr/bin/env bash
# test.sh - builds a Debug tree (ASan + UBSan) in build/ and runs every test.
#
# Installs nothing (tools/demo.sh or .ci/run do that). Unit tests need nothing
# else; integration tests start their own throwaway PostgreSQL 15
# (tests/integration/pg.sh), daemons and TLS, so no database service need run.
# Extra arguments go to ctest, e.g. `tools/test.sh -L unit` or `-R e2e`.
# The exit status is ctest's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PC_BUILD_DIR:-$root/build}
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" -j"$jobs"

# Sanitizer reports name the line; a failing check stops the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cd "$build"
set +e
ctest --output-on-failure -j2 "$@"
rc=$?
set -e
exit $rc

#!/usr/bin/env bash
# Fresh machine -> every test: installs what is missing; builds Debug with AddressSanitizer
# and UndefinedBehaviorSanitizer, and Release with the tests (compiled, not run: GCC warns
# differently at -O3); runs the whole suite with ctest on the first (unit, component,
# end-to-end tests that start the real server binary on free loopback ports, and browser
# tests of /demo and /dashboard in headless chromium; screenshots in $build/artifacts);
# then runs every fuzz target for 30 s (scripts/fuzz.sh). Both builds are unity builds
# (CMAKE_UNITY_BUILD, 16 sources per translation unit): half the time on a fresh machine.
# Each step's time is printed; docs/TESTING.md has the budget (30 minutes on a fresh 2-core
# machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
# The browser tests' one npm package (playwright-core; it drives Debian's chromium and
# downloads no browser), installed from the lockfile when missing or out of date (the
# lockfile it was installed from is kept next to it).
if ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.installed-from-lock; then
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund &&
    cp package-lock.json node_modules/.installed-from-lock)
fi
export TANDEM_BROWSER_TESTS_REQUIRED=1  # here a missing chromium fails instead of skipping
build=${TANDEM_TEST_BUILD_DIR:-build-test}
unity=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON "${unity[@]}" >/dev/null
step() { echo "test.sh: $1 took $((SECONDS - started)) s"; started=$SECONDS; }
started=$SECONDS
cmake --build "$build"
step "the ASan+UBSan build"
release=${TANDEM_RELEASE_BUILD_DIR:-build-release}
cmake -S . -B "$release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_BENCH=OFF "${unity[@]}" \
  >/dev/null
cmake --build "$release"
step "the Release build with the tests"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300
step "the suite"
scripts/fuzz.sh
step "fuzzing"

#!/usr/bin/env bash
# Fresh machine -> every test: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs the whole suite with ctest (unit, component,
# end-to-end tests that start the real server binary on free loopback ports, and browser
# tests of /demo and /dashboard in headless chromium; screenshots in $build/artifacts).
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
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON >/dev/null
cmake --build "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300

#!/usr/bin/env bash
# Fresh machine -> running server: installs what is missing, builds (Release), and starts
# tandem-server in its embedded standalone mode on :4001. Extra arguments go to the server
# (e.g. scripts/run.sh --port 8080); environment variables configure it too (README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_TESTS=OFF >/dev/null
cmake --build build --target tandem-server
exec ./build/tandem-server "$@"

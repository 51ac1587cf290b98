#!/usr/bin/env bash
# The issue's yardstick measured here: runs bench/run-standalone.sh scenarios against the
# plain Node.js `ws` server in this directory instead of tandem-server (same pinning, same
# generator, same windows), so the two can be compared on the same machine in the same hour.
#
#   bench/reference/run.sh fanout-10x10 fanout relay-sat   # results in $RESULTS (default /tmp/reference)
#
# Only the scenarios the reference speaks: ping, fanout*, relay*, connect (no churn: it has
# no /metrics and no LEAVE semantics beyond the basics). Installs ws from the npm registry
# (pinned in package-lock.json) on first use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ ! -d "$here/node_modules/ws" ]]; then
  npm ci --prefix "$here" --no-audit --no-fund >&2
fi
cd "$here/../.."
RESULTS=${RESULTS:-/tmp/reference} SERVER_BIN="$here/server.mjs" exec bench/run-standalone.sh "$@"

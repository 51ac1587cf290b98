# shellcheck shell=bash
# Shared by run-standalone.sh, profile.sh and run-cluster.sh (sourced, not run): start and
# stop one tandem-server on a free loopback port, pinned to $SERVER_CORE, and always stop it
# by PID; free ports; the descriptor limit. Expects BUILD, RESULTS, SERVER_CORE; sets
# server_pid and port. Installs an EXIT trap (cleanup); a script with its own must call it.

SERVER_BIN=${SERVER_BIN:-$BUILD/tandem-server}  # bench/reference/run.sh swaps in the Node.js yardstick
BENCH_BIN="$BUILD/bench/load/tandem-bench"
MICRO_BIN="$BUILD/bench/micro/tandem-microbench"
DATA_DIR=$(mktemp -d /tmp/tandem-bench-data.XXXXXX)
server_pid=""
port=""

stop_server() {
  if [[ -n "$server_pid" ]]; then
    if kill -0 "$server_pid" 2>/dev/null; then
      kill -TERM "$server_pid" 2>/dev/null || true
      for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

cleanup() {
  stop_server
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# raise_fd_limit: as many descriptors as allowed (1048576 wanted; a container without
# CAP_SYS_RESOURCE keeps its hard limit). Prints the limit in effect.
raise_fd_limit() {
  ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  ulimit -n
}

# start_server NAME [VAR=value ...] [-- WRAPPER...]: a fresh server on a free loopback port.
# A wrapper (valgrind ...) runs the server under it; health is then awaited longer.
start_server() {
  local name=$1
  shift
  local env=() wrapper=()
  while (($#)) && [[ "$1" != "--" ]]; do env+=("$1"); shift; done
  if (($#)); then shift; wrapper=("$@"); fi
  port=$(free_port)
  env PORT="$port" HOST=127.0.0.1 NODE_ID=bench LOG_LEVEL=warn DATA_DIR="$DATA_DIR/$name" \
    RATE_LIMIT_PER_SEC=1000000 RATE_LIMIT_BURST=1000000 \
    RELAY_BYTES_PER_SEC=10000000000 RELAY_BYTES_BURST=10000000000 \
    MAX_CONNECTIONS_PER_IP=250000 ROOM_MAX_NEW_PER_ADDRESS=1000000 \
    MAX_CONNECTIONS=250000 MAX_HTTP_CONNECTIONS=8192 DRAIN_TIMEOUT_MS=2000 "${env[@]}" \
    nice -n "${NICE:-0}" taskset -c "$SERVER_CORE" "${wrapper[@]}" "$SERVER_BIN" \
    >"$RESULTS/$name.server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "the server did not start; its log:" >&2
  cat "$RESULTS/$name.server.log" >&2
  exit 1
}

# metric NAME_WITH_LABELS: one value from GET /metrics (0 if absent).
metric() {
  curl -fsS "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }'
}

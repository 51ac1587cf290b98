#!/usr/bin/env bash
# Cluster benchmark run: a redis-server and NODES (3) tandem-server nodes joined through it,
# all pinned to SERVER_CORE (0), and tandem-bench pinned to BENCH_CORE (1), spreading each
# room's members across the nodes round-robin (so most deliveries cross nodes). CPU and RSS
# are the sum over the nodes and Redis. Results as JSON under $RESULTS.
#
#   bench/run-cluster.sh                  # fanout, fanout-max, relay, connect
#   bench/run-cluster.sh fanout           # only these
#   QUICK=1 bench/run-cluster.sh          # shorter windows
#
# Environment: BUILD (build-bench), RESULTS ($BUILD/results-cluster), NODES (3),
# SERVER_CORE (0: a list, e.g. 0-3, gives the nodes and Redis more cores), BENCH_CORE (1),
# BENCH_THREADS (1), QUICK (0). Every process it starts is stopped by PID on
# exit (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-bench}
SERVER_CORE=${SERVER_CORE:-0}
BENCH_CORE=${BENCH_CORE:-1}
QUICK=${QUICK:-0}
NODES=${NODES:-3}
RESULTS=${RESULTS:-$BUILD/results-cluster}
ALL="fanout-10x10 fanout fanout-max relay connect"
SCENARIOS=${*:-$ALL}

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target tandem-server tandem-bench
mkdir -p "$RESULTS"

# shellcheck source=bench/lib.sh
source bench/lib.sh  # SERVER_BIN, BENCH_BIN, DATA_DIR (removed on exit), free_port, raise_fd_limit
raise_fd_limit >/dev/null
WORK=$DATA_DIR
pids=()

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap 'stop_all; cleanup' EXIT

# start_cluster NAME: Redis (no persistence) and $NODES nodes; sets ports and all_pids.
start_cluster() {
  local name=$1
  local redis_port
  redis_port=$(free_port)
  mkdir -p "$WORK/$name"
  taskset -c "$SERVER_CORE" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$WORK/$name" >"$RESULTS/$name.redis.log" 2>&1 &
  pids+=($!)
  local redis_pid=$!
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  ports=""
  all_pids="$redis_pid"
  for i in $(seq 0 $((NODES - 1))); do
    local port
    port=$(free_port)
    env PORT="$port" HOST=127.0.0.1 NODE_ID="node-$i" LOG_LEVEL=warn \
      DATA_DIR="$WORK/$name/node-$i" REDIS_URL="redis://127.0.0.1:$redis_port" \
      RATE_LIMIT_PER_SEC=1000000 RATE_LIMIT_BURST=1000000 MAX_CONNECTIONS=250000 \
      RELAY_BYTES_PER_SEC=10000000000 RELAY_BYTES_BURST=10000000000 MAX_CONNECTIONS_PER_IP=250000 \
      ROOM_MAX_NEW_PER_ADDRESS=1000000 \
      DRAIN_TIMEOUT_MS=2000 taskset -c "$SERVER_CORE" "$SERVER_BIN" \
      >"$RESULTS/$name.node-$i.log" 2>&1 &
    pids+=($!)
    all_pids="$all_pids,$!"
    ports="${ports:+$ports,}$port"
    for _ in $(seq 300); do
      curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
}

run() {
  local name=$1
  shift
  start_cluster "$name"
  echo "== $name: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  local status=0
  taskset -c "$BENCH_CORE" "$BENCH_BIN" "$@" --port "$ports" --server-pid "$all_pids" \
    --threads "${BENCH_THREADS:-1}" \
    --label "cluster-$name" >"$RESULTS/$name.json" 2>"$RESULTS/$name.log" || status=$?
  cat "$RESULTS/$name.log" >&2
  if ((status != 0)); then echo "run-cluster: $name exited with $status" >&2; fi
  local i=0
  for port in ${ports//,/ }; do  # each node's counters after the run
    curl -fsS "http://127.0.0.1:$port/metrics" >"$RESULTS/$name.node-$i.metrics.txt" 2>/dev/null || true
    i=$((i + 1))
  done
  stop_all
}

if ((QUICK)); then D=3; STEP=2; N=2000; else D=10; STEP=3; N=10000; fi
MAXOPTS=(--max --p99-limit-ms 5 --step-factor 1.25 --step-duration "$STEP" --warmup 1 --drain 1)
echo "machine: $(nproc) cores; Redis + $NODES nodes on core $SERVER_CORE, generator on core $BENCH_CORE" >&2

for scenario in $SCENARIOS; do
  case "$scenario" in
    fanout-10x10) run fanout-10x10 fanout --rooms 10 --room-size 10 --rate 25000 --duration "$D" ;;
    fanout) run fanout fanout --rooms 100 --room-size 10 --rate 100000 --duration "$D" ;;
    fanout-max) run fanout-max fanout --rooms 100 --room-size 10 --rate 10000 "${MAXOPTS[@]}" ;;
    relay) run relay relay --pairs 100 --rate 5000 --duration "$D" ;;
    connect) run connect connect --connections "$N" --room-size 10 --concurrency 256 --duration 60 ;;
    *) echo "run-cluster: unknown scenario $scenario (known: $ALL)" >&2; exit 2 ;;
  esac
done
echo "results: $RESULTS" >&2

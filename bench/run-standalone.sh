#!/usr/bin/env bash
# Standalone benchmark run: builds Release in a separate build directory (tests off), then
# for each scenario starts a fresh tandem-server pinned to one core and runs tandem-bench
# pinned to the other, and writes each result as JSON under $BUILD/results/.
#
#   bench/run-standalone.sh                 # every scenario (about 6 minutes)
#   bench/run-standalone.sh ping fanout     # only these (names: ALL below)
#   QUICK=1 bench/run-standalone.sh         # shorter windows, smaller counts (a smoke run)
#
# Environment: BUILD (build-bench), RESULTS ($BUILD/results), SERVER_CORE (0), BENCH_CORE
# (1; a taskset list such as 1-7 on a larger machine), BENCH_THREADS (1: the generator's
# threads, one per core of BENCH_CORE is the sensible choice), QUICK (0), NICE (0: a
# negative value, e.g. -10, gives the server and the generator priority over other work on
# a shared machine; it reduces, not removes, their interference).
# Raises `ulimit -n` to 1048576 for the server and the generator (100,000 connections take
# 100,000 descriptors on each side); where the hard limit is lower and cannot be raised (a
# container without CAP_SYS_RESOURCE), it uses the hard limit and caps the connection counts
# to fit, and says so.
# Every process it starts is stopped by PID on exit (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-bench}
SERVER_CORE=${SERVER_CORE:-0}
BENCH_CORE=${BENCH_CORE:-1}
QUICK=${QUICK:-0}
RESULTS=${RESULTS:-$BUILD/results}
ALL="micro floor ping connect connect-100k fanout-10x10 fanout fanout-heartbeat fanout-slow fanout-max fanout-max50 fanout-heartbeat-max relay relay-sat relay-max relay-max50 relay-idle-sat relay-idle-max churn churn-50"
SCENARIOS=${*:-$ALL}

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target tandem-server tandem-bench tandem-microbench tandem-loopback-floor
mkdir -p "$RESULTS"

# shellcheck source=bench/lib.sh
source bench/lib.sh
raise_fd_limit >/dev/null
FD_LIMIT=$(ulimit -n)

# bench NAME SCENARIO [options]: runs the generator against the running server.
bench() {
  local name=$1
  shift
  echo "== $name: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  local status=0
  nice -n "${NICE:-0}" taskset -c "$BENCH_CORE" "$BENCH_BIN" "$@" --port "$port" \
    --server-pid "$server_pid" --threads "${BENCH_THREADS:-1}" \
    --label "$name" >"$RESULTS/$name.json" 2>"$RESULTS/$name.log" || status=$?
  cat "$RESULTS/$name.log" >&2
  if ((status != 0)); then echo "run-standalone: $name exited with $status" >&2; fi
}

# run NAME [server VAR=value ...] -- SCENARIO [bench options]
run() {
  local name=$1
  shift
  local env=()
  while (($#)) && [[ "$1" != "--" ]]; do env+=("$1"); shift; done
  shift
  start_server "$name" "${env[@]}"
  bench "$name" "$@"
  # The server's counters after the run (e.g. frames per write: tandem_ws_frames_out_total /
  # tandem_ws_writes_total).
  curl -fsS "http://127.0.0.1:$port/metrics" >"$RESULTS/$name.metrics.txt" 2>/dev/null || true
  stop_server
}

if ((QUICK)); then
  D=3; N10K=2000; N100K=10000; STEP=2
else
  D=10; N10K=10000; N100K=100000; STEP=3
fi
# One descriptor per connection on each side; tandem-bench keeps 1,024 spare for itself.
FD_ROOM=$((FD_LIMIT - 1100))
if ((N100K > FD_ROOM)); then
  echo "note: ulimit -n is $FD_LIMIT (hard limit); connect-100k capped at $FD_ROOM connections" >&2
  N100K=$FD_ROOM
fi
if ((N10K > FD_ROOM)); then N10K=$FD_ROOM; fi
MAXOPTS=(--max --p99-limit-ms 10 --step-factor 1.25 --step-duration "$STEP" --warmup 1 --drain 1)

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)" >&2
echo "server on core $SERVER_CORE, generator on core $BENCH_CORE; results in $RESULTS" >&2

for scenario in $SCENARIOS; do
  case "$scenario" in
    micro)
      echo "== micro: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      taskset -c "$SERVER_CORE" "$MICRO_BIN" --benchmark_min_time=0.5 \
        --benchmark_out="$RESULTS/micro.json" --benchmark_out_format=json >&2
      ;;
    floor)
      echo "== floor: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      for conns in 10 100 1000; do
        "$BUILD/bench/floor/tandem-loopback-floor" "$conns" 300000 150 "$SERVER_CORE" \
          "$BENCH_CORE" | tee "$RESULTS/floor-$conns.json" >&2
      done
      ;;
    ping)
      run ping -- ping --connections 10 --rate 200 --duration "$D" ;;
    connect)
      run connect -- connect --connections "$N10K" --room-size 10 --concurrency 256 \
        --duration 60 --source-ips 4 ;;
    connect-100k)
      run connect-100k -- connect --connections "$N100K" --room-size 10 --concurrency 512 \
        --duration 110 --source-ips 8 --hold 2 ;;
    fanout-10x10)
      run fanout-10x10 -- fanout --rooms 10 --room-size 10 --rate 25000 --duration "$D" ;;
    fanout)
      run fanout -- fanout --rooms 100 --room-size 10 --rate 100000 --duration "$D" ;;
    fanout-heartbeat)
      run fanout-heartbeat -- fanout --rooms 100 --room-size 10 --rate 100000 \
        --message HOST_HEARTBEAT --duration "$D" ;;
    fanout-slow)
      # One member of one of 2 rooms (each member gets 1,000 messages/s) stops reading: the
      # server should close it (1008) once its queue passes SEND_QUEUE_MAX_BYTES/MESSAGES,
      # and the other members should not notice.
      run fanout-slow -- fanout --rooms 2 --room-size 10 --rate 20000 --slow 1 \
        --duration $((D * 2)) --drain 3 ;;
    fanout-max)
      run fanout-max -- fanout --rooms 100 --room-size 10 --rate 10000 "${MAXOPTS[@]}" ;;
    fanout-max50)
      # The same with p99 <= 50 ms: where throughput bends when the machine is shared.
      run fanout-max50 -- fanout --rooms 100 --room-size 10 --rate 10000 "${MAXOPTS[@]}" \
        --p99-limit-ms 50 ;;
    fanout-heartbeat-max)
      run fanout-heartbeat-max -- fanout --rooms 100 --room-size 10 --rate 10000 \
        --message HOST_HEARTBEAT "${MAXOPTS[@]}" ;;
    relay)
      run relay -- relay --pairs 100 --rate 5000 --duration "$D" ;;
    relay-sat)
      # Offered far beyond capacity: the most the server relays, and its CPU per message.
      run relay-sat -- relay --pairs 100 --rate 50000 --duration "$D" ;;
    relay-max)
      run relay-max -- relay --pairs 100 --rate 2000 "${MAXOPTS[@]}" ;;
    relay-max50)
      run relay-max50 -- relay --pairs 100 --rate 2000 "${MAXOPTS[@]}" --p99-limit-ms 50 ;;
    relay-idle-sat)
      # relay-sat with 10,000 more joined connections that send nothing.
      run relay-idle-sat -- relay --pairs 100 --idle "$N10K" --rate 50000 --source-ips 4 \
        --duration "$D" ;;
    relay-idle-max)
      run relay-idle-max -- relay --pairs 100 --idle "$N10K" --rate 2000 --source-ips 4 \
        "${MAXOPTS[@]}" ;;
    churn)
      run churn -- churn --workers 200 --rooms 20 --abrupt 0.5 --duration "$D" ;;
    churn-50)
      run churn-50 -- churn --workers 50 --rooms 10 --abrupt 0.5 --duration "$D" ;;
    *)
      echo "run-standalone: unknown scenario $scenario (known: $ALL)" >&2
      exit 2 ;;
  esac
done
echo "results: $RESULTS" >&2

#!/usr/bin/env bash
# Profiles tandem-server under a short, bounded tandem-bench load (server pinned to
# $SERVER_CORE, generator to $BENCH_CORE), over the measured window only:
#
#   bench/profile.sh perf      [SCENARIO options...]  # perf record -e cpu-clock of the server
#                                                     # (PERF_CALLGRAPH=dwarf adds call graphs)
#   bench/profile.sh callgrind [SCENARIO options...]  # valgrind --tool=callgrind, instrumented
#                                                     # only during the window
#
# connect is not supported (it has no steady window): profile joins with churn.
# Default load: fanout, 100 rooms of 10, PLAY_PAUSE at 20,000 deliveries/s (perf) or 2,000
# (callgrind: the server runs ~50x slower under it). Prints the messages the server sent
# during the window (from /metrics), the cost per message sent (server CPU µs from /proc for
# perf, instructions for callgrind) and the top symbols. Files: $BUILD/results/profile-*.
# Expects a built $BUILD (bench/run-standalone.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-bench}
SERVER_CORE=${SERVER_CORE:-0}
BENCH_CORE=${BENCH_CORE:-1}
RESULTS=${RESULTS:-$BUILD/results}
WINDOW=${WINDOW:-5}
mkdir -p "$RESULTS"

tool=${1:-}
if [[ "$tool" != perf && "$tool" != callgrind ]]; then
  echo "usage: bench/profile.sh perf|callgrind [SCENARIO tandem-bench options...]" >&2
  exit 2
fi
shift
load=("$@")
if ((${#load[@]} == 0)); then
  rate=20000
  [[ "$tool" == callgrind ]] && rate=2000
  load=(fanout --rooms 100 --room-size 10 --rate "$rate")
fi

# shellcheck source=bench/lib.sh
source bench/lib.sh
raise_fd_limit >/dev/null

name="profile-$tool-${load[0]}"
wrapper=()
if [[ "$tool" == callgrind ]]; then
  wrapper=(-- valgrind --tool=callgrind --instr-atstart=no
           "--callgrind-out-file=$RESULTS/$name.callgrind.%p")
  rm -f "$RESULTS/$name".callgrind.*
fi
start_server "$name" "${wrapper[@]}"

sent_total() {
  curl -fsS "http://127.0.0.1:$port/metrics" |
    awk '$1 ~ /^tandem_messages_out_total/ { n += $2 } END { printf "%d\n", n }'
}

# The generator's window starts after setup + warm-up; profile inside it.
warmup=2
taskset -c "$BENCH_CORE" "$BENCH_BIN" "${load[@]}" --port "$port" --server-pid "$server_pid" \
  --warmup "$warmup" --duration $((WINDOW + 3)) --drain 1 --label "$name" \
  >"$RESULTS/$name.json" 2>"$RESULTS/$name.log" &
bench_pid=$!
# fanout, relay and ping log "joined" when their connections are set up; churn starts at once.
if [[ "${load[0]}" != churn ]]; then
  for _ in $(seq 600); do
    grep -q "joined" "$RESULTS/$name.log" 2>/dev/null && break
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.1
  done
fi
sleep $((warmup + 1))

before=$(sent_total)
joins_before=$(metric 'tandem_messages_in_total{type="JOIN"}')
read -r cpu0 < <(awk '{ print $14 + $15 }' "/proc/$server_pid/stat")
if [[ "$tool" == perf ]]; then
  perf record -e cpu-clock -F 2999 ${PERF_CALLGRAPH:+--call-graph "$PERF_CALLGRAPH"} -p "$server_pid" -o "$RESULTS/$name.data" -- sleep "$WINDOW" \
    >/dev/null 2>&1
else
  # vgdb names its pipes after $HOST, which the server's environment sets: match it.
  HOST=127.0.0.1 callgrind_control -i on "$server_pid" >/dev/null
  sleep "$WINDOW"
  HOST=127.0.0.1 callgrind_control -i off "$server_pid" >/dev/null
fi
read -r cpu1 < <(awk '{ print $14 + $15 }' "/proc/$server_pid/stat")
after=$(sent_total)
joins_after=$(metric 'tandem_messages_in_total{type="JOIN"}')
wait "$bench_pid" || true
cat "$RESULTS/$name.log" >&2

messages=$((after - before))
echo "== $name: ${load[*]}; load $(cut -d' ' -f1-3 /proc/loadavg)"
joins=$((joins_after - joins_before))
echo "messages sent by the server in the ${WINDOW}s window: $messages (JOINs received: $joins)"
if [[ "$tool" == perf ]]; then
  ticks=$((cpu1 - cpu0))
  hz=$(getconf CLK_TCK)
  awk -v t="$ticks" -v hz="$hz" -v m="$messages" 'BEGIN {
    printf "server CPU in the window: %.2f s = %.2f us per message sent\n", t / hz, m ? t / hz * 1e6 / m : 0 }'
  if ((joins > 0)); then
    awk -v t="$ticks" -v hz="$hz" -v j="$joins" 'BEGIN { printf "= %.1f us per JOIN received\n", t / hz * 1e6 / j }'
  fi
  perf report -i "$RESULTS/$name.data" --stdio --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' |
    head -8 | tee "$RESULTS/$name.dso.txt"
  perf report -i "$RESULTS/$name.data" --stdio --sort dso,sym 2>/dev/null | grep -v '^#' |
    grep -v '^$' | cut -c1-160 | head -45 | tee "$RESULTS/$name.top.txt"
else
  HOST=127.0.0.1 callgrind_control -d "$server_pid" >/dev/null || true
  stop_server
  file=$(ls -t "$RESULTS/$name".callgrind.*.* | head -1)  # the dump, not the exit file
  total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
  awk -v ir="$total" -v m="$messages" 'BEGIN {
    printf "instructions in the window: %d = %.0f per message sent (user space only)\n", ir, m ? ir / m : 0 }'
  if ((joins > 0)); then
    awk -v ir="$total" -v j="$joins" 'BEGIN { printf "= %.0f instructions per JOIN received\n", ir / j }'
  fi
  callgrind_annotate --inclusive=no "$file" 2>/dev/null | sed -n '/^Ir/,$p' | cut -c1-160 | head -40 |
    tee "$RESULTS/$name.top.txt"
fi

#!/usr/bin/env bash
# The fuzzing tier (docs/TESTING.md): builds the libFuzzer targets of tests/fuzz with
# clang-15, ASan and UBSan in their own build directory, then runs each one for
# FUZZ_SECONDS (default 30) from its seed corpus (tests/fuzz/corpus/<name>) with its
# dictionary, FUZZ_JOBS (default: the number of cores) targets at a time. New inputs go to
# $build/corpus/<name>, never into the repository; a crash, leak, timeout or failed check
# fails the script, with the input saved in $build/crashes and the log's tail printed.
#   scripts/fuzz.sh                    every target, 30 s each (what scripts/test.sh runs)
#   FUZZ_SECONDS=600 FUZZ_JOBS=1 scripts/fuzz.sh room_machine   one target, longer
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TANDEM_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-$(nproc)}
targets=("$@")
((${#targets[@]})) || targets=(command_parser cluster_message entry_codec spill_file redis_reply
                               http_request room_machine)
declare -A dict=([command_parser]=json [cluster_message]=codec [entry_codec]=codec
                 [spill_file]=codec [http_request]=http [redis_reply]=resp)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++-15 "${launcher[@]}" >/dev/null
cmake --build "$build" --target fuzzers

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/crashes"
run() {  # one target; its log in $build/<name>.log
  local name=$1 work="$build/corpus/$1"
  mkdir -p "$work"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$build/crashes/$name-")
  [[ -z ${dict[$name]:-} ]] || args+=(-dict="tests/fuzz/dict/${dict[$name]}.dict")
  if "$build/tests/fuzz/${name}_fuzz" "${args[@]}" "$work" "tests/fuzz/corpus/$name" \
       >"$build/$name.log" 2>&1; then
    echo "fuzz: $name: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$build/$name.log" | tail -n 1)"
  else
    echo "fuzz: $name FAILED (input in $build/crashes/):"
    tail -n 60 "$build/$name.log"
    return 1
  fi
}
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
failed=0
for name in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || failed=1; done
  run "$name" &
done
while (($(jobs -rp | wc -l) > 0)); do wait -n || failed=1; done
exit "$failed"

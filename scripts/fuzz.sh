#!/usr/bin/env bash
# The fuzzing tier (docs/TESTING.md): builds the libFuzzer targets of tests/fuzz with
# clang-15, ASan and UBSan in their own build directory, then runs each one for
# FUZZ_SECONDS (default 30) from its seed corpus (tests/fuzz/corpus/<name>) with its
# dictionary. New inputs go to $build/corpus/<name>, never into the repository; a crash,
# leak, timeout or failed check stops the script with the input saved in $build/crashes.
#   scripts/fuzz.sh                    every target, 30 s each (what CI runs)
#   FUZZ_SECONDS=600 scripts/fuzz.sh room_machine   one target, longer
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TANDEM_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
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
for name in "${targets[@]}"; do
  work="$build/corpus/$name"
  mkdir -p "$work"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build/crashes/$name-")
  [[ -n ${dict[$name]:-} ]] && args+=(-dict="tests/fuzz/dict/${dict[$name]}.dict")
  echo "fuzz: $name for ${seconds}s"
  "$build/tests/fuzz/${name}_fuzz" "${args[@]}" "$work" "tests/fuzz/corpus/$name" \
    >"$build/$name.log" 2>&1 || { tail -n 60 "$build/$name.log"; exit 1; }
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|cov: ' "$build/$name.log" | tail -n 3
done

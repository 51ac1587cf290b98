#!/usr/bin/env bash
# A/B comparison on a shared machine: runs the same bench/run-standalone.sh scenarios in two
# source trees alternately, back to back, so both sides see the same hour of the machine.
#
#   git worktree add /tmp/base <commit>          # the baseline, once
#   bench/ab.sh /tmp/base 3 fanout-10x10 fanout  # 3 rounds, baseline first in each
#
# Each tree builds its own Release binaries (BUILD, default build-bench, in that tree).
# Results: $AB_RESULTS/{base,this}-ROUND/ (default /tmp/ab); the summary lines go to stdout.
set -euo pipefail

if (($# < 3)); then
  echo "usage: bench/ab.sh BASELINE_TREE ROUNDS SCENARIO..." >&2
  exit 2
fi
base_tree=$(cd "$1" && pwd)
rounds=$2
shift 2
this_tree=$(cd "$(dirname "$0")/.." && pwd)
results=${AB_RESULTS:-/tmp/ab}

for ((round = 1; round <= rounds; round++)); do
  for side in base this; do
    tree=$base_tree
    [[ $side == this ]] && tree=$this_tree
    (cd "$tree" && RESULTS="$results/$side-$round" bench/run-standalone.sh "$@" 2>&1) |
      grep -E 'offered|connect:|churn:|--max' | sed "s/^/$side $round: /"
  done
done

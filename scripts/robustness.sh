#!/usr/bin/env bash
# Do the claims hold on a differently loaded or shaped machine? Runs an experiment K times in one condition and
# prints each run's verdict counts from claims.csv (and the claims that did not pass, with their measured value),
# then the totals. Conditions: quiet (nothing else), pinned (taskset -c 0: a one-core machine), loaded (beside
# one busy process).
# A run whose claims did not all pass is kept (its directory is printed) for a look at its rows; the others are removed.
# usage: scripts/robustness.sh <experiment> <quiet|pinned|loaded> <runs> [exp options...]
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; condition=$2; runs=$3; shift 3
out=$(mktemp -d /tmp/robustness-XXXX)
lscpu | grep -E '^Model name' | sed 's/  */ /g'
echo "flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
busy=
if [ "$condition" = loaded ]; then node -e 'for (;;);' & busy=$!; fi
trap '[ -n "$busy" ] && kill $busy 2>/dev/null || true' EXIT
prefix=()
[ "$condition" = pinned ] && prefix=(taskset -c 0)
declare -A total=()
for i in $(seq 1 "$runs"); do
  t0=$SECONDS
  "${prefix[@]}" npx tsx src/cli.ts "$name" "$@" --out "$out" > "$out/last.txt" 2>&1 || true
  dir=$(ls -d "$out/$name"/2* | sort | tail -1)
  counts=$(tail -n +2 "$dir/claims.csv" | cut -d, -f2 | sort | uniq -c | awk '{printf "%s %s  ", $1, $2}')
  for s in $(tail -n +2 "$dir/claims.csv" | cut -d, -f2); do total[$s]=$(( ${total[$s]:-0} + 1 )); done
  echo "$condition run $i: $counts in $((SECONDS - t0)) s"
  grep -E '^ *(FAIL|INCONCLUSIVE|ERROR) ' "$out/last.txt" | cut -c1-220 | sed 's/^/    /' || true
  if tail -n +2 "$dir/claims.csv" | cut -d, -f2 | grep -qv '^pass$'; then
    mkdir -p /tmp/robustness-kept && cp -r "$dir" /tmp/robustness-kept/ && echo "    kept: /tmp/robustness-kept/$(basename "$dir")"
  fi
done
echo "$condition, $runs runs: $(for s in "${!total[@]}"; do echo -n "$s ${total[$s]}  "; done)"
rm -rf "$out"

#!/usr/bin/env bash
# How often does `compare` call a change between identical runs? Runs an experiment PAIRS+1 times back to back
# (identical configuration), compares each run with the one before it, then runs it once more beside two busy loops
# and compares that with the last quiet run. Prints one line of verdict counts per comparison and the totals.
# usage: scripts/false-verdicts.sh <experiment> <pairs> [exp options...]   e.g. scripts/false-verdicts.sh scaling 5 --quick
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; pairs=$2; shift 2
out=$(mktemp -d /tmp/false-verdicts-XXXX)
# KEEP=1 keeps the runs (their folder is printed) so that compare can be studied on them afterwards.
[ -n "${KEEP:-}" ] && echo "runs kept in $out"
lscpu | grep -E '^Model name' | sed 's/  */ /g'
echo "flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
# Each run prints its claims line, any warning and its wall time on stderr; its run id on stdout.
run() {
  local t0=$SECONDS
  npx tsx src/cli.ts "$name" "$@" --out "$out" > "$out/last.txt" 2>&1 || true
  echo -e "  run: $(grep -E "^$name: .*claims" "$out/last.txt" | head -1) in $((SECONDS - t0)) s$(grep -E '^ *(FAIL|ERROR) |^warning' "$out/last.txt" | sed 's/^/\n    /' | tr -d '\n')" >&2
  ls "$out/$name" | grep -v latest | sort | tail -1
}
verdicts() { npx tsx src/cli.ts compare "$name@$1" "$name@$2" --out "$out" 2>/dev/null | grep '^timing: '; }
prev=$(run "$@")
false=0; total=0
for i in $(seq 1 "$pairs"); do
  cur=$(run "$@")
  line=$(verdicts "$prev" "$cur"); echo "identical pair $i: $line"
  n=$(echo "$line" | sed -E 's/^timing: ([0-9]+) points.*/\1/')
  s=$(echo "$line" | grep -oE '[0-9]+ slower' | grep -oE '[0-9]+' || echo 0)
  f=$(echo "$line" | grep -oE '[0-9]+ faster' | grep -oE '[0-9]+' || echo 0)
  false=$((false + s + f)); total=$((total + n)); prev=$cur
done
echo "identical reruns: $false false verdicts of $total points ($(awk "BEGIN{printf \"%.1f\", 100*$false/$total}")%)"
node -e 'const end = Date.now() + 600000; while (Date.now() < end);' & b1=$!
node -e 'const end = Date.now() + 600000; while (Date.now() < end);' & b2=$!
loaded=$(run "$@"); kill $b1 $b2
echo "beside two busy processes: $(verdicts "$prev" "$loaded")"
[ -n "${KEEP:-}" ] || rm -rf "$out"

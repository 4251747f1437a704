#!/usr/bin/env bash
# Run one experiment as N shards with GNU parallel, then merge them into one run and report.
#
#   scripts/parallel-shards.sh 4 qk-variance                        # 4 shards on this machine
#   scripts/parallel-shards.sh 8 scaling -- --sshloginfile nodes    # 8 shards over ssh (GNU parallel options after --)
#   scripts/parallel-shards.sh 4 qk-variance --quick --seed 3       # options after the name go to every shard
#
# Shard I of N writes to $ATTNLAB_SHARDS/<name>/shard-I-of-N/ (default ATTNLAB_SHARDS=shards), the merged
# run to $ATTNLAB_RESULTS/<name>/ (default ATTNLAB_RESULTS=results); relative paths are taken from the
# repository root. Each
# shard gets one worker thread (--jobs 1) so N shards use N cores; rerunning the script resumes
# unfinished shards and redoes nothing that finished. With --sshloginfile the repository must sit at the
# same path on a shared file system. Timing experiments (scaling, mha-vs-mqa) should not share a machine
# between shards that measure at once: give `-- -j1`, or spread the shards over machines.
set -euo pipefail

usage='usage: scripts/parallel-shards.sh <shards> <experiment> [exp options] [-- GNU parallel options]'
count=${1:?$usage}
name=${2:?$usage}
shift 2
exp_args=()
while [[ $# -gt 0 && $1 != -- ]]; do exp_args+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
command -v parallel >/dev/null || { echo "GNU parallel is not installed (Debian: apt-get install parallel)" >&2; exit 2; }

root=${ATTNLAB_SHARDS:-shards}
cd "$(dirname "$0")/.."
seq 1 "$count" | parallel -q --will-cite --halt now,fail=1 --line-buffer --tagstring 'shard {}' "$@" \
  npm run --silent exp -- "$name" --shard "{}/$count" --jobs 1 --out "$root/$name/shard-{}-of-$count" "${exp_args[@]}"
npm run --silent exp -- merge "$name" "$root/$name" --out "${ATTNLAB_RESULTS:-results}"

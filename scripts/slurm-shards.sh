#!/usr/bin/env bash
# Run one experiment as a Slurm job array, one shard per array task, then merge.
#
#   sbatch --array=1-8 scripts/slurm-shards.sh scaling              # 8 shards, each on its own node
#   sbatch --array=1-8 scripts/slurm-shards.sh qk-variance --seed 7 # options after the name go to every shard
#   npm run exp -- merge scaling shards/scaling                     # when all tasks are done (or see below)
#
# To merge automatically once every task has finished:
#   jid=$(sbatch --parsable --array=1-8 scripts/slurm-shards.sh scaling)
#   sbatch --dependency=afterok:$jid --wrap 'npm run exp -- merge scaling shards/scaling'
#
# To rerun some tasks of an array alone (a task that was cancelled, or failed), give the shard count
# and name the shards as array ids; the rerun resumes where the task stopped:
#   ATTNLAB_SHARD_COUNT=8 sbatch --array=3,5 scripts/slurm-shards.sh scaling
#
# Each task runs `npm run exp -- <name> --shard I/N` with I counted from 1 whatever the array's range,
# writes to $ATTNLAB_SHARDS/<name>/shard-I-of-N/ (default ATTNLAB_SHARDS=shards) and uses the task's
# CPUs as worker threads. A task that is preempted or times out resumes where it stopped when
# requeued or resubmitted: finished points are kept in its points.jsonl. Run from the repository
# root after `npm ci` on a shared file system.
#SBATCH --job-name=attnlab
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%x-%A_%a.out
set -euo pipefail

name=${1:?usage: sbatch --array=1-N scripts/slurm-shards.sh <experiment> [exp options]}
shift
: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=1-N (SLURM_ARRAY_TASK_ID is not set)}"
if [[ -n ${ATTNLAB_SHARD_COUNT:-} ]]; then
  count=$ATTNLAB_SHARD_COUNT index=$SLURM_ARRAY_TASK_ID
else
  count=${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT is not set}
  index=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1))
fi
out=${ATTNLAB_SHARDS:-shards}/$name/shard-$index-of-$count

# node itself (not npm, which starts two more processes) so that Slurm's SIGTERM on scancel, preemption or
# requeue reaches the run: the current point finishes, what is done is written, and a rerun resumes.
exec node --import tsx src/cli.ts "$name" --shard "$index/$count" --jobs "${SLURM_CPUS_PER_TASK:-1}" --out "$out" "$@"

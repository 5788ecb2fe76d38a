#!/bin/bash
# Strong and weak scaling of joint sampling and data-parallel training over 1..N ranks.
# Prints one JSON line per run; three interleaved repetitions. See docs/performance.md "Scaling".
# Usage: tests/benchmarks/scaling.sh [build-dir] [max-ranks]   (run from the repository root)
set -euo pipefail
build=$(realpath "${1:-build}")
max_ranks=${2:-3}
repo=$(pwd)
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# run NAME RANKS SIZE COMMAND...: one timed run, one JSON line.
run() {
  local name=$1 ranks=$2 size=$3; shift 3
  local load out stage cpu
  load=$(cut -d' ' -f1 /proc/loadavg)
  out=$( { /usr/bin/time -f "CPU %U %S" mpirun -n "$ranks" --oversubscribe --bind-to none "$@"; } 2>&1 )
  stage=$(grep -oE '[0-9.e+-]+ s -> ' <<<"$out" | tail -1 | cut -d' ' -f1)
  cpu=$(awk '/^CPU/ {print $2 + $3}' <<<"$out")
  echo "{\"bench\": \"scaling\", \"work\": \"$name\", \"ranks\": $ranks, \"size\": $size, \"stage_s\": $stage, \"cpu_s\": $cpu, \"load_before\": $load}"
}

sample() { # sample NAME RANKS GROUPS
  run "$1" "$2" "$3" "$build/jointflow" sample --config "$repo/configs/table1/base.ini" \
    --sampler.objective dpp --sampler.sr hard --sampler.groups "$3" --run.output s.h5
}
train() { # train NAME RANKS BATCH
  rm -f f.ckpt
  run "$1" "$2" "$3" "$build/jointflow" train-flow --config "$repo/jobs/learned_gmm8d.ini" \
    --data.examples 65536 --train.steps 200 --train.warmup_steps 0 --train.checkpoint_every 0 \
    --run.threads 1 --train.batch_size "$3" --model.path f.ckpt --run.output f.h5
}

for repetition in 1 2 3; do
  for ((ranks = 1; ranks <= max_ranks; ranks++)); do
    sample sample_strong "$ranks" 4096
    sample sample_weak "$ranks" $((2048 * ranks))
    train train_strong "$ranks" 1024
    train train_weak "$ranks" $((512 * ranks))
  done
done

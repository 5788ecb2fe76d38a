#!/usr/bin/env bash
# Honest error bars (MATH §5.1, §6): `estimate` on gmm2d (K = 10 or --group-size, f = one-hot of
# the nearest mean, exact value = the mixture's mode probabilities) repeated over --seed-count
# seeds, then analysis/error_bars.py counts how often the exact value lies within ±2 standard
# errors (about 95 % when the estimator is unbiased and its standard error is right). Per seed:
#   iid.h5    IID sets (λ = 0), equal weights: unbiased up to the sampler's Euler error;
#   joint.h5  harmonic DPP + soft SR (λ = 1.5) with trajectory weights of a residual trained once:
#             unbiased only as far as the learned q̂_1 matches the sampler's q_1.
# Seeds whose joint.h5 exists are skipped, so an interrupted job continues.
#
# Options besides --jointflow PATH (default build/jointflow), --out DIR (default out/error_bars),
# --analyse-only and --help:
#   --residual PATH     use this residual checkpoint; without it, the job samples --train-sets
#                       training samples (seed 2) and trains <out>/residual.ckpt first
#   --group-size K      sampler.group_size (default 10)
#   --seed-count N      seeds 1 .. N (default 100)
#   --sets N            sets per seed (default 50)
#   --train-sets N      training samples for the residual (default 50000)
#   --threads N         run.threads (default 0: the node's cores)
#   -- OPTIONS...       extra jointflow options for every command
#
# Sample runs:
#   jobs/error_bars.sh                                    # out/error_bars, trains the residual
#   jobs/error_bars.sh --residual out/tables23/k10/residual.ckpt --threads 1   # reuse K = 10's
#   jobs/error_bars.sh --group-size 50 --residual out/tables23/k50/residual.ckpt --out out/error_bars50
#   jobs/error_bars.sh --analyse-only --out out/error_bars50
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$root/out/error_bars"
residual=""
k=10
seed_count=100
sets=50
train_sets=50000
threads=0
extra=()

job_option() {  # option value: the options of this script alone
  case "$1" in
    --residual) residual="$2" ;;
    --group-size) require_count "$@"; k="$2" ;;
    --seed-count) require_count "$@"; seed_count="$2" ;;
    --sets) require_count "$@"; sets="$2" ;;
    --train-sets) require_count "$@"; train_sets="$2" ;;
    --threads) threads="$2" ;;
  esac
}
parse_options "--residual --group-size --seed-count --sets --train-sets --threads --" "$@"

# jointflow with the arguments, then the extra options after `--`.
run() { "$jointflow" "$@" ${extra[@]+"${extra[@]}"}; }

if ! $analyse_only; then
  prepare_run
  common=(--config "$root/configs/tables23/base.ini" --sampler.group_size "$k"
          --residual.checkpoint "${residual:-$out/residual.ckpt}" --run.threads "$threads"
          --estimate.per_sample false)
  start=$(date +%s)
  if [[ -z "$residual" ]]; then
    run sample "${common[@]}" --run.seed 2 --sampler.groups $((train_sets / k)) \
      --output.trajectories true --run.output "$out/train.h5"
    run train-residual "${common[@]}" --residual.data "$out/train.h5" --run.output "$out/training.h5"
  fi
  for seed in $(seq 1 "$seed_count"); do
    [[ -f "$out/seed$seed/joint.h5" ]] && continue  # done by an earlier, interrupted run
    mkdir -p "$out/seed$seed"
    run estimate "${common[@]}" --run.seed "$seed" --sampler.groups "$sets" \
      --sampler.objective iid --estimate.weights none --run.output "$out/seed$seed/iid.h5" >/dev/null
    run estimate "${common[@]}" --run.seed "$seed" --sampler.groups "$sets" \
      --run.output "$out/seed$seed/joint.h5" >/dev/null
  done
  echo "$job: $(( $(date +%s) - start )) s"
fi

exec /usr/bin/python3 "$root/analysis/error_bars.py" "$out"

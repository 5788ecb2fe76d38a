#!/usr/bin/env bash
# Honest error bars (MATH §5.1, §6): `estimate` on gmm2d (K = 10 or K, f = one-hot of the nearest
# mean, exact value = the mixture's mode probabilities) repeated over SEEDS seeds, then
# analysis/error_bars.py counts how often the exact value lies within ±2 standard errors
# (about 95 % when the estimator is unbiased and its standard error is right). Per seed:
#   iid.h5    IID sets (λ = 0), equal weights: unbiased up to the sampler's Euler error;
#   joint.h5  harmonic DPP + soft SR (λ = 1.5) with trajectory weights of a residual trained once:
#             unbiased only as far as the learned q̂_1 matches the sampler's q_1.
#
#   jobs/error_bars.sh                                    # out/error_bars, trains the residual
#   RESIDUAL=out/tables23/k10/residual.ckpt jobs/error_bars.sh   # reuse a K = 10 residual
#   K=50 RESIDUAL=out/tables23/k50/residual.ckpt OUT=out/error_bars50 jobs/error_bars.sh
# Environment: JOINTFLOW (default build/jointflow), OUT, THREADS (run.threads, default 0), K (set
# size, default 10), SEEDS (default 100), SETS (sets per seed, default 50), TRAIN_SETS (training
# samples, 50000).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jointflow=${JOINTFLOW:-$root/build/jointflow}
out=${OUT:-$root/out/error_bars}
k=${K:-10}
mkdir -p "$out"
residual=${RESIDUAL:-$out/residual.ckpt}
common=(--config "$root/configs/tables23/base.ini" --sampler.group_size $k
        --residual.checkpoint "$residual" --run.threads "${THREADS:-0}" --estimate.per_sample false)
start=$(date +%s)
if [ -z "${RESIDUAL:-}" ]; then
  "$jointflow" sample "${common[@]}" --run.seed 2 --sampler.groups $((${TRAIN_SETS:-50000} / k)) \
    --output.trajectories true --run.output "$out/train.h5"
  "$jointflow" train-residual "${common[@]}" --residual.data "$out/train.h5" --run.output "$out/training.h5"
fi
for seed in $(seq 1 "${SEEDS:-100}"); do
  [ -f "$out/seed$seed/joint.h5" ] && continue  # done by an earlier, interrupted run
  mkdir -p "$out/seed$seed"
  "$jointflow" estimate "${common[@]}" --run.seed "$seed" --sampler.groups "${SETS:-50}" \
    --sampler.objective iid --estimate.weights none --run.output "$out/seed$seed/iid.h5" > /dev/null
  "$jointflow" estimate "${common[@]}" --run.seed "$seed" --sampler.groups "${SETS:-50}" \
    --run.output "$out/seed$seed/joint.h5" > /dev/null
done
echo "error_bars: $(( $(date +%s) - start )) s"
/usr/bin/python3 "$root/analysis/error_bars.py" "$out"

#!/usr/bin/env bash
# Weight calibration at λ = 0 (the joint sampler reduced to IID) on gmm2d, K = 50: train the
# residual r_φ on λ = 0 samples, then estimate with trajectory weights at λ = 0. The samples
# come from p_1 while the weights divide by the learned q̂_1 (the density of v + r_φ), so the
# mean weight is E_p[p/q̂] = 1 + χ²(p‖q̂) ≥ 1: its excess over 1 measures how far the learned
# residual is from zero (MATH §5.1, §5.2). The exact calibration — samples drawn from the
# proposal the weights use — is the ctest LogWeights.CalibratedWhenTheSamplesComeFromTheWeightsProposal.
#
#   jobs/paper_a_calibration.sh                       # out/calibration
# Environment: JOINTFLOW (default build/jointflow), OUT, THREADS (run.threads, default 0),
# TRAIN_SETS (training samples, default 50000), EVAL_SETS (evaluated samples, default 20000).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jointflow=${JOINTFLOW:-$root/build/jointflow}
out=${OUT:-$root/out/calibration}
k=50
mkdir -p "$out"
common=(--config "$root/configs/tables23/base.ini" --sampler.group_size $k --sampler.lambda 0
        --residual.checkpoint "$out/residual.ckpt" --run.threads "${THREADS:-0}")
start=$(date +%s)
"$jointflow" sample "${common[@]}" --run.seed 2 --sampler.groups $((${TRAIN_SETS:-50000} / k)) \
  --output.trajectories true --run.output "$out/train.h5"
"$jointflow" train-residual "${common[@]}" --residual.data "$out/train.h5" --run.output "$out/training.h5"
"$jointflow" estimate "${common[@]}" --estimate.per_sample false \
  --sampler.groups $((${EVAL_SETS:-20000} / k)) --run.output "$out/estimate.h5"
echo "paper_a_calibration: $(( $(date +%s) - start )) s"

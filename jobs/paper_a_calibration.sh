#!/usr/bin/env bash
# Weight calibration at λ = 0 (the joint sampler reduced to IID) on gmm2d, K = 50: train the
# residual r_φ on λ = 0 samples, then estimate with trajectory weights at λ = 0. The samples
# come from p_1 while the weights divide by the learned q̂_1 (the density of v + r_φ), so the
# mean weight is E_p[p/q̂] = 1 + χ²(p‖q̂) ≥ 1: its excess over 1 measures how far the learned
# residual is from zero (MATH §5.1, §5.2). analysis/calibration.py prints the mean weight and the
# per-set ESS. The exact calibration — samples drawn from the proposal the weights use — is the
# ctest LogWeights.CalibratedWhenTheSamplesComeFromTheWeightsProposal.
#
# Options besides --jointflow PATH (default build/jointflow), --out DIR (default out/calibration),
# --analyse-only and --help:
#   --train-sets N      training samples for the residual (default 50000)
#   --eval-sets N       evaluated samples (default 20000)
#   --threads N         run.threads (default 0: the node's cores)
#   -- OPTIONS...       extra jointflow options for every command
#
# Sample runs:
#   jobs/paper_a_calibration.sh --threads 2           # out/calibration
#   jobs/paper_a_calibration.sh --out /tmp/calibration --train-sets 5000 --eval-sets 2000
#   jobs/paper_a_calibration.sh --analyse-only --out /tmp/calibration
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$root/out/calibration"
train_sets=50000
eval_sets=20000
threads=0
k=50
extra=()

job_option() {  # option value: the options of this script alone
  case "$1" in
    --train-sets) require_count "$@"; train_sets="$2" ;;
    --eval-sets) require_count "$@"; eval_sets="$2" ;;
    --threads) threads="$2" ;;
  esac
}
parse_options "--train-sets --eval-sets --threads --" "$@"

# jointflow with the arguments, then the extra options after `--`.
run() { "$jointflow" "$@" ${extra[@]+"${extra[@]}"}; }

if ! $analyse_only; then
  prepare_run
  common=(--config "$root/configs/tables23/base.ini" --sampler.group_size "$k" --sampler.lambda 0
          --residual.checkpoint "$out/residual.ckpt" --run.threads "$threads")
  start=$(date +%s)
  run sample "${common[@]}" --run.seed 2 --sampler.groups $((train_sets / k)) \
    --output.trajectories true --run.output "$out/train.h5"
  run train-residual "${common[@]}" --residual.data "$out/train.h5" --run.output "$out/training.h5"
  run estimate "${common[@]}" --estimate.per_sample false \
    --sampler.groups $((eval_sets / k)) --run.output "$out/estimate.h5"
  echo "$job: $(( $(date +%s) - start )) s"
fi

exec /usr/bin/python3 "$root/analysis/calibration.py" "$out"

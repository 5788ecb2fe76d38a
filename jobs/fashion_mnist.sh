#!/usr/bin/env bash
# Fashion-MNIST with a learned UNet flow, an analogue of paper A Table 4: train-flow fits a small
# UNet on 16×16 Fashion-MNIST (jobs/fashion_mnist.ini, rectified-flow loss, MATH §1); `sample`
# then draws M reference IID images and, per row, G joint sets of K = 10 — IID, DPP and
# DPP + SR-hard with spatial-mean features (MATH §3, λ = 1.5, endpoint gradients).
# Each row's `sample` reports the coverage radius (MATH §6, paper A Eq. 26:
# R = max_m min_i ‖spatial_mean(z_m) − spatial_mean(x_i)‖, eval.reference = the reference file)
# over its G repetitions; analysis/fashion_mnist.py recomputes it per set, checks the two agree,
# checks IID > DPP ≥ DPP + SR, and draws the PNG grids into docs/.
#
# Training resumes from its checkpoint when one exists (train.resume), so a killed job continues.
#
# Sample runs:
#   jobs/fashion_mnist.sh                                   # build/jointflow -> fashion-mnist/
#   jobs/fashion_mnist.sh --jointflow build-flow/jointflow --out /tmp/fm --ranks 2
#   jobs/fashion_mnist.sh --out /tmp/fm --train-steps 300 --groups 10 --reference 100  # a look
#   jobs/fashion_mnist.sh --out /tmp/fm --sample-steps 25    # coarser Euler grid for all rows
#   jobs/fashion_mnist.sh --analyse-only --out /tmp/fm
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="fashion-mnist"
ranks=1
reference=1000
train_options=()
sample_options=()
reference_options=()
analysis_options=()

job_option() {  # option value: the options of this script alone
  case "$1" in
    --reference) reference="$2" ;;
    --sample-steps) sample_options+=(--sampler.steps "$2"); reference_options+=(--sampler.steps "$2") ;;
    --figures) analysis_options+=(--figures "$2") ;;
  esac
}
parse_options "--ranks --train-steps --groups --reference --sample-steps --figures" "$@"

config="$root/jobs/fashion_mnist.ini"
checkpoint="$out/fashion-mnist.ckpt"
set_launch "$ranks"

sample() {  # name options...
  local name="$1"
  shift
  ${launch[@]+"${launch[@]}"} "$jointflow" sample --config "$config" --model.path "$checkpoint" \
    --run.output "$out/$name.h5" "$@" >"$out/$name.log" 2>&1 ||
    { echo "fashion_mnist.sh: $name failed; see $out/$name.log" >&2; return 1; }
}

if ! $analyse_only; then
  prepare_run
  echo "fashion_mnist.sh: training on $ranks rank(s), $(load_average)"
  train_flow "$config" "$checkpoint" ${train_options[@]+"${train_options[@]}"}
  start=$(date +%s)
  # Reference images z_m: M IID samples from another seed than the rows'.
  sample reference --run.seed 101 --sampler.groups $(( (reference + 9) / 10 )) \
    --sampler.objective iid ${reference_options[@]+"${reference_options[@]}"}
  rows=(--eval.reference "$out/reference.h5" ${sample_options[@]+"${sample_options[@]}"})
  sample iid --sampler.objective iid "${rows[@]}"
  sample dpp --sampler.objective dpp --sampler.sr none "${rows[@]}"
  sample dpp-hard --sampler.objective dpp --sampler.sr hard "${rows[@]}"
  echo "$(( $(date +%s) - start ))" >"$out/sample_seconds.txt"
fi

exec /usr/bin/python3 "$root/analysis/fashion_mnist.py" "$out" \
  ${analysis_options[@]+"${analysis_options[@]}"}

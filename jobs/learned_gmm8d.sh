#!/usr/bin/env bash
# A learned gmm8d flow in paper A's Table 1 setting (§4.1.1): train-flow fits an MLP velocity to
# 10^6 draws of gmm8d (rectified-flow loss, MATH §1; jobs/learned_gmm8d.ini), then rows IID, DPP
# and DPP + SR-hard (K = 10, 100 Euler steps, λ = 1.5, endpoint gradients) are sampled on the
# learned flow and on the analytic flow (MATH §2), all scored against the true mixture (MATH §6).
# analysis/learned_gmm8d.py prints the table and checks that the learned IID row has coverage
# within 2 % of 6.51 and log p within 1 nat of 20.31 (exit status 1 otherwise).
#
# Training resumes from the checkpoint when one exists (train.resume), so a killed job continues.
#
# Sample runs:
#   jobs/learned_gmm8d.sh                                  # build/jointflow -> learned-gmm8d/
#   jobs/learned_gmm8d.sh --jointflow build-flow/jointflow --out /tmp/lg8 --ranks 2
#   jobs/learned_gmm8d.sh --out /tmp/lg8 --train-steps 2000 --groups 1000   # a quick look
#   jobs/learned_gmm8d.sh --analyse-only --out /tmp/lg8
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="learned-gmm8d"
ranks=1
parallel="$(nproc 2>/dev/null || echo 2)"
train_options=()
sample_options=()
parse_options "--ranks --parallel --train-steps --groups" "$@"

config="$root/jobs/learned_gmm8d.ini"
checkpoint="$out/learned-gmm8d.ckpt"

# name kind objective sr: the learned flow (float32, as trained) and the analytic one (float64).
rows=(
  "learned-dpp-hard mlp dpp hard" "learned-dpp-none mlp dpp none" "learned-iid mlp iid none"
  "analytic-dpp-hard gmm dpp hard" "analytic-dpp-none gmm dpp none" "analytic-iid gmm iid none"
)

run_row() {  # name kind objective sr
  local dtype=float32
  [[ "$2" == gmm ]] && dtype=float64
  "$jointflow" sample --config "$config" --model.kind "$2" --model.path "$checkpoint" \
    --run.dtype "$dtype" --run.threads 1 --sampler.objective "$3" --sampler.sr "$4" \
    --run.output "$out/$1.h5" ${sample_options[@]+"${sample_options[@]}"} >"$out/$1.log" 2>&1 ||
    { echo "learned_gmm8d.sh: row $1 failed; see $out/$1.log" >&2; return 1; }
}

if ! $analyse_only; then
  prepare_run
  echo "learned_gmm8d.sh: training on $ranks rank(s), $(load_average)"
  set_launch "$ranks"
  train_flow "$config" "$checkpoint" ${train_options[@]+"${train_options[@]}"}
  start=$(date +%s)
  failed=0
  run_rows run_row "$parallel" "${rows[@]}" || failed=1
  echo "$(( $(date +%s) - start ))" >"$out/sample_seconds.txt"
  (( failed == 0 )) || exit 1
fi

exec /usr/bin/python3 "$root/analysis/learned_gmm8d.py" "$out"

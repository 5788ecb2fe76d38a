#!/usr/bin/env bash
# Paper A App. I on gmm2d3: the paths of --sets joint sets of K = 4 for IID, DPP, DPP + SR and
# DPP + SR + IW (the DPP + SR paths with their trajectory weights, MATH §5.3), then
# analysis/appendix_i.py draws them into docs/appendix-i.png (--figure).
#   1. sample IID, DPP and DPP + SR with their whole paths (output.paths, seed 1)
#   2. sample DPP + SR training sets (seed 2) and train the residual r_φ on them
#   3. estimate DPP + SR with trajectory weights (seed 1: the same sets as step 1)
#
# Options besides --jointflow PATH (default build/jointflow), --out DIR (default out/appendix_i),
# --analyse-only and --help:
#   --figure PNG        the figure to write (default docs/appendix-i.png)
#   --sets N            sets drawn (default 1)
#   --train-sets N      training samples for the residual (default 20000)
#   --threads N         run.threads (default 0: the node's cores)
#   -- OPTIONS...       extra jointflow options for every command
#
# Sample runs:
#   jobs/paper_a_appendix_i.sh --threads 1                # out/appendix_i -> docs/appendix-i.png
#   jobs/paper_a_appendix_i.sh --out /tmp/appendix_i --figure /tmp/appendix-i.png
#   jobs/paper_a_appendix_i.sh --analyse-only --out /tmp/appendix_i --figure /tmp/appendix-i.png
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$root/out/appendix_i"
figure="$root/docs/appendix-i.png"
sets=1
train_sets=20000
threads=0
k=4  # sampler.group_size of configs/tables23/appendix_i.ini
extra=()

job_option() {  # option value: the options of this script alone
  case "$1" in
    --sets) require_count "$@"; sets="$2" ;;
    --train-sets) require_count "$@"; train_sets="$2" ;;
    --threads) threads="$2" ;;
  esac
}
parse_options "--figure --sets --train-sets --threads --" "$@"

# jointflow with the arguments, then the extra options after `--`.
run() { "$jointflow" "$@" ${extra[@]+"${extra[@]}"}; }

if ! $analyse_only; then
  prepare_run
  common=(--config "$root/configs/tables23/appendix_i.ini" --residual.checkpoint "$out/residual.ckpt"
          --run.threads "$threads")
  start=$(date +%s)
  paths=(--sampler.groups "$sets" --output.paths "$sets" --output.samples true)
  run sample "${common[@]}" "${paths[@]}" --sampler.objective iid --run.output "$out/iid.h5"
  run sample "${common[@]}" "${paths[@]}" --sampler.sr none --run.output "$out/dpp.h5"
  run sample "${common[@]}" "${paths[@]}" --run.output "$out/dpp_sr.h5"
  run sample "${common[@]}" --run.seed 2 --sampler.groups $((train_sets / k)) \
    --output.trajectories true --run.output "$out/train.h5"
  run train-residual "${common[@]}" --residual.data "$out/train.h5" --run.output "$out/training.h5"
  run estimate "${common[@]}" --sampler.groups "$sets" --run.output "$out/dpp_sr_iw.h5"
  echo "$job: $(( $(date +%s) - start )) s"
fi

exec /usr/bin/python3 "$root/analysis/appendix_i.py" "$out" "$figure"

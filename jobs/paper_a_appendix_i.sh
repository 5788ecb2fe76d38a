#!/usr/bin/env bash
# Paper A App. I on gmm2d3: the paths of SETS joint sets of K = 4 for IID, DPP, DPP + SR and
# DPP + SR + IW (the DPP + SR paths with their trajectory weights, MATH §5.3), then
# analysis/appendix_i.py draws them into docs/appendix-i.png.
#   1. sample IID, DPP and DPP + SR with their whole paths (output.paths, seed 1)
#   2. sample DPP + SR training sets (seed 2) and train the residual r_φ on them
#   3. estimate DPP + SR with trajectory weights (seed 1: the same sets as step 1)
#
#   jobs/paper_a_appendix_i.sh                  # out/appendix_i → docs/appendix-i.png
# Environment: JOINTFLOW (default build/jointflow), OUT, THREADS (run.threads, default 0),
# SETS (sets drawn, default 1), TRAIN_SETS (training samples, default 20000), PNG.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jointflow=${JOINTFLOW:-$root/build/jointflow}
out=${OUT:-$root/out/appendix_i}
sets=${SETS:-1}
k=4
mkdir -p "$out"
common=(--config "$root/configs/tables23/appendix_i.ini" --residual.checkpoint "$out/residual.ckpt"
        --run.threads "${THREADS:-0}")
start=$(date +%s)
paths=(--sampler.groups "$sets" --output.paths "$sets" --output.samples true)
"$jointflow" sample "${common[@]}" "${paths[@]}" --sampler.objective iid --run.output "$out/iid.h5"
"$jointflow" sample "${common[@]}" "${paths[@]}" --sampler.sr none --run.output "$out/dpp.h5"
"$jointflow" sample "${common[@]}" "${paths[@]}" --run.output "$out/dpp_sr.h5"
"$jointflow" sample "${common[@]}" --run.seed 2 --sampler.groups $((${TRAIN_SETS:-20000} / k)) \
  --output.trajectories true --run.output "$out/train.h5"
"$jointflow" train-residual "${common[@]}" --residual.data "$out/train.h5" --run.output "$out/training.h5"
"$jointflow" estimate "${common[@]}" --sampler.groups "$sets" --run.output "$out/dpp_sr_iw.h5"
echo "paper_a_appendix_i: $(( $(date +%s) - start )) s"
/usr/bin/python3 "$root/analysis/appendix_i.py" "$out" "${PNG:-$root/docs/appendix-i.png}"

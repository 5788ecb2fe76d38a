#!/usr/bin/env bash
# Paper A §4.2, Tables 2 and 3 on gmm2d (harmonic DPP + soft SR), at K = 10 and K = 50 (the
# paper's set sizes were lost): for each K
#   1. sample training sets with their trajectories (seed 2)   → train.h5
#   2. train the residual r_φ on their final states            → residual.ckpt
#   3. estimate with trajectory weights, per-sample output     → estimate.h5
#   4. estimate with IID sets, per-sample output (seed 5)      → iid.h5
#   5. sample a pool of 10⁶ joint samples (seed 3)             → pool.h5
#   6. evaluate: ground truth by local likelihood, fixed-position weights, baselines → evaluate.h5
# then analysis/tables23.py prints both tables next to the paper's numbers.
#
# Sample runs:
#   jobs/paper_a_tables23.sh                        # out/tables23, 1 process
#   RANKS=2 OUT=/tmp/t23 jobs/paper_a_tables23.sh   # 2 MPI ranks
#   KS="50" jobs/paper_a_tables23.sh                # one set size
# Environment: JOINTFLOW (binary, default build/jointflow), OUT, RANKS, KS, TRAIN_SETS (training
# samples per K, default 400000), EVAL_SETS (evaluated samples, default 10000), POOL (default 1000000),
# THREADS (run.threads per rank, default 0: the node's cores shared among the ranks).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jointflow=${JOINTFLOW:-$root/build/jointflow}
out=${OUT:-$root/out/tables23}
ranks=${RANKS:-1}
train_samples=${TRAIN_SETS:-400000}
eval_samples=${EVAL_SETS:-10000}
pool_samples=${POOL:-1000000}
config=$root/configs/tables23/base.ini
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ "$ranks" -gt 1 ] && export OMP_NUM_THREADS=1
run() { mpirun -n "$ranks" --oversubscribe "$jointflow" "$@"; }

start=$(date +%s)
for k in ${KS:-10 50}; do
  dir=$out/k$k
  mkdir -p "$dir"
  common=(--config "$config" --sampler.group_size "$k" --residual.checkpoint "$dir/residual.ckpt"
          --run.threads "${THREADS:-0}")
  run sample "${common[@]}" --run.seed 2 --sampler.groups $((train_samples / k)) \
    --output.trajectories true --run.output "$dir/train.h5"
  run train-residual "${common[@]}" --residual.data "$dir/train.h5" --run.output "$dir/training.h5"
  run estimate "${common[@]}" --sampler.groups $((eval_samples / k)) --run.output "$dir/estimate.h5"
  run estimate "${common[@]}" --run.seed 5 --sampler.objective iid --estimate.weights none \
    --sampler.groups $((eval_samples / k)) --run.output "$dir/iid.h5"
  run sample "${common[@]}" --run.seed 3 --sampler.groups $((pool_samples / k)) \
    --output.samples true --run.output "$dir/pool.h5"
  run evaluate "${common[@]}" --evaluate.samples "$dir/estimate.h5" --evaluate.pool "$dir/pool.h5" \
    --evaluate.iid "$dir/iid.h5" --run.output "$dir/evaluate.h5"
done
echo "paper_a_tables23: $(( $(date +%s) - start )) s on $ranks rank(s)"
/usr/bin/python3 "$root/analysis/tables23.py" "$out"

#!/usr/bin/env bash
# Paper A §4.2, Tables 2 and 3 on gmm2d (harmonic DPP + soft SR), at K = 10 and K = 50 (the
# paper's set sizes were lost): for each K, into <out>/k<K>/,
#   1. sample training sets with their trajectories (seed 2)   → train.h5
#   2. train the residual r_φ on their final states            → residual.ckpt
#   3. estimate with trajectory weights, per-sample output     → estimate.h5
#   4. estimate with IID sets, per-sample output (seed 5)      → iid.h5
#   5. sample a pool of 10⁶ joint samples (seed 3)             → pool.h5
#   6. evaluate: ground truth by local likelihood, fixed-position weights, baselines → evaluate.h5
# then analysis/tables23.py prints both tables next to the paper's numbers.
#
# Options besides --jointflow PATH (default build/jointflow), --out DIR (default out/tables23),
# --analyse-only and --help:
#   --ranks N           MPI ranks of every command (default 1; above 1, one thread per rank)
#   --threads N         run.threads per rank (default 0: the node's cores shared among the ranks)
#   --group-sizes "K ..."  the set sizes K (default "10 50")
#   --train-sets N      training samples per K (default 400000)
#   --eval-sets N       evaluated samples per K (default 10000)
#   --pool N            pool samples per K (default 1000000)
#   -- OPTIONS...       extra jointflow options for every command
#
# Sample runs:
#   jobs/paper_a_tables23.sh --threads 1            # out/tables23, 1 process
#   jobs/paper_a_tables23.sh --ranks 2 --out /tmp/t23
#   jobs/paper_a_tables23.sh --group-sizes 50       # one set size
#   jobs/paper_a_tables23.sh --analyse-only --out /tmp/t23
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$root/out/tables23"
ranks=1
threads=0
group_sizes="10 50"
train_samples=400000
eval_samples=10000
pool_samples=1000000
extra=()

job_option() {  # option value: the options of this script alone
  case "$1" in
    --threads) threads="$2" ;;
    --group-sizes) group_sizes="$2" ;;
    --train-sets) require_count "$@"; train_samples="$2" ;;
    --eval-sets) require_count "$@"; eval_samples="$2" ;;
    --pool) require_count "$@"; pool_samples="$2" ;;
  esac
}
parse_options "--ranks --threads --group-sizes --train-sets --eval-sets --pool --" "$@"
require_count --ranks "$ranks"
for k in $group_sizes; do
  require_count --group-sizes "$k"
done

set_launch "$ranks"
if (( ranks > 1 )); then export OMP_NUM_THREADS=1; fi

# jointflow on $ranks ranks with the arguments, then the extra options after `--`.
run() { ${launch[@]+"${launch[@]}"} "$jointflow" "$@" ${extra[@]+"${extra[@]}"}; }

if ! $analyse_only; then
  prepare_run
  config="$root/configs/tables23/base.ini"
  start=$(date +%s)
  for k in $group_sizes; do
    dir="$out/k$k"
    mkdir -p "$dir"
    common=(--config "$config" --sampler.group_size "$k" --residual.checkpoint "$dir/residual.ckpt"
            --run.threads "$threads")
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
  echo "$job: $(( $(date +%s) - start )) s on $ranks rank(s)"
fi

exec /usr/bin/python3 "$root/analysis/tables23.py" "$out"

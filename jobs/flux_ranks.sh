#!/usr/bin/env bash
# Data-parallel Flux Matching at 1 and 3 ranks with the same global batch (DESIGN §3, MATH §7.1
# point 2): the ring of configs/flux/ring.ini trained once by `mpiexec -np 1` and once by
# `mpiexec -np 3` (global batch 512: local batches 171, 171, 170, each rank with its own KDE, σ
# draw and horizon, as the reference code's per-GPU batches), and a control run on one rank with
# batch 171, whose KDE has the size of each rank's at 3 ranks. The runs are not identical — a
# KDE of 171 examples is not one of 512, and every rank draws its own horizon — so
# analysis/flux_ranks.py compares them statistically: the mean objective of 3 ranks against the
# control's, and the samples' radius and W2 to the noised data at 1 and 3 ranks. All runs: 3 000
# steps with an EMA of 0.998.
#
# Sample runs:
#   jobs/flux_ranks.sh                                   # build/jointflow -> flux-ranks-results/
#   jobs/flux_ranks.sh --jointflow build-flux/jointflow --out /tmp/ranks
#   jobs/flux_ranks.sh --analyse-only --out /tmp/ranks
#   jobs/flux_ranks.sh --out /tmp/ranks-few -- --flux.samples 500   # extra options for every run
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="flux-ranks-results"
extra=()
parse_options "--" "$@"

if ! $analyse_only; then
  prepare_run
  # name, ranks, then the options that make the run.
  # Batch 512 and one Rademacher probe, the reference's setting, which this comparison was run at.
  for run in "np1 1 --train.batch_size 512" "np3 3 --train.batch_size 512" \
    "np1-b171 1 --train.batch_size 171"; do
    # shellcheck disable=SC2086  # run is "name ranks options..."
    set -- $run
    name="$1" ranks="$2"
    shift 2
    echo "flux_ranks.sh: $name, $(load_average)"
    mpiexec --oversubscribe -np "$ranks" "$jointflow" train-flux \
      --config "$root/configs/flux/ring.ini" --train.steps 3000 --train.ema_decay 0.998 \
      --flux.divergence hutchinson "$@" \
      --model.path "$out/$name.ckpt" --run.output "$out/$name.h5" \
      ${extra[@]+"${extra[@]}"} >"$out/$name.log" 2>&1 ||
      { echo "flux_ranks.sh: run $name failed; see $out/$name.log" >&2; exit 1; }
  done
fi

exec /usr/bin/python3 "$root/analysis/flux_ranks.py" "$out"

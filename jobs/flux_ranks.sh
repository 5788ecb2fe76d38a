#!/usr/bin/env bash
# Data-parallel Flux Matching at 1 and 3 ranks with the same global batch (DESIGN §3, MATH §7.1
# point 2): the ring of configs/flux/ring.ini trained by `mpiexec -np 1` and by `mpiexec -np 3`
# at global batch 513 in KDE batches of 171 (flux.kde_batch). At 3 ranks that is the reference
# code's per-GPU convention: each rank one KDE of its local batch, its own σ and horizon. At 1
# rank the one process holds the same three KDE batches, each with the randomness of its global
# position, so both runs take the same steps up to the order of the gradient sums, and
# analysis/flux_ranks.py compares their loss curves step by step and statistically, and their
# samples' radius and W2 to the noised data. A third run, one rank with one KDE of all 513
# (flux.kde_batch = 0), shows what the KDE size alone changes. All runs: 3 000 steps, one
# Rademacher probe, an EMA of 0.998.
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
  for run in "np1 1 --flux.kde_batch 171" "np3 3 --flux.kde_batch 171" \
    "np1-kde513 1 --flux.kde_batch 0"; do
    # shellcheck disable=SC2086  # run is "name ranks options..."
    set -- $run
    name="$1" ranks="$2"
    shift 2
    echo "flux_ranks.sh: $name, $(load_average)"
    mpiexec --oversubscribe -np "$ranks" "$jointflow" train-flux \
      --config "$root/configs/flux/ring.ini" --train.steps 3000 --train.ema_decay 0.998 \
      --train.batch_size 513 --flux.divergence hutchinson "$@" \
      --model.path "$out/$name.ckpt" --run.output "$out/$name.h5" \
      ${extra[@]+"${extra[@]}"} >"$out/$name.log" 2>&1 ||
      { echo "flux_ranks.sh: run $name failed; see $out/$name.log" >&2; exit 1; }
  done
fi

exec /usr/bin/python3 "$root/analysis/flux_ranks.py" "$out"

#!/usr/bin/env bash
# Paper B's 2-D ring (MATH §7.1): Flux Matching against the DSM baseline on the same MLP, noise
# level σ² = 0.05 and schedule (configs/flux/ring.ini), plus Flux Matching with the spiral
# application loss (a non-conservative field that keeps the ring). Each run trains, draws 2 000
# Langevin samples and writes <out>/<run>.h5; analysis/flux_ring.py then prints radius, W2 and
# MMD² to the noised data and the mean |curl| on the grid, checks W2(Flux) ≤ 1.5·W2(DSM), and
# draws docs/flux-ring.png (--figure). Runs go --parallel at a time, one thread each.
#
# Sample runs:
#   jobs/flux_ring.sh                                    # build/jointflow -> flux-ring-results/
#   jobs/flux_ring.sh --jointflow build-flux/jointflow --out /tmp/ring --figure docs/flux-ring.png
#   jobs/flux_ring.sh --analyse-only --out /tmp/ring
#   jobs/flux_ring.sh --out /tmp/ring-short -- --train.steps 1000    # extra options for every run
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="flux-ring-results"
parallel=2
figure=""
extra=()
parse_options "--parallel --figure --" "$@"

# name, then the options that make the run.
runs=(
  "flux --flux.loss flux"
  "dsm --flux.loss dsm"
  "spiral --flux.loss flux --flux.spiral 1.0"
)

run_one() {  # name options...
  local name="$1"
  shift
  "$jointflow" train-flux --config "$root/configs/flux/ring.ini" "$@" \
    --model.path "$out/$name.ckpt" --run.output "$out/$name.h5" ${extra[@]+"${extra[@]}"} \
    >"$out/$name.log" 2>&1 ||
    { echo "flux_ring.sh: run $name failed; see $out/$name.log" >&2; return 1; }
}

if ! $analyse_only; then
  prepare_run
  echo "flux_ring.sh: ${#runs[@]} runs, $parallel at a time, $(load_average)"
  run_rows run_one "$parallel" "${runs[@]}" || exit 1
fi

exec /usr/bin/python3 "$root/analysis/flux_ring.py" "$out" ${figure:+--figure "$figure"}

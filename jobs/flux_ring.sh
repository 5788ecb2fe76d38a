#!/usr/bin/env bash
# Paper B's 2-D ring (MATH §7.1): Flux Matching against the DSM baseline on the same MLP, noise
# level σ² = 0.05 and schedule (configs/flux/ring.ini), plus Flux Matching with the spiral
# application loss (a non-conservative field that keeps the ring), and both losses with the odd
# field network (field.symmetry = odd, whose samples cannot have the dipole of
# docs/flux-matching.md). Each run trains, draws 2 000 Langevin samples and writes
# <out>/<run>.h5 (flux, dsm, spiral, odd, dsm-odd); analysis/flux_ring.py then prints radius, W2
# and MMD² to the noised data and the mean |curl| on the grid, checks every run's
# W2 ≤ 1.5·W2(DSM), and draws docs/flux-ring.png (--figure). Runs go --parallel at a time, one
# thread each.
# With --seeds "S ...", the five runs are made at each run.seed S into <out>/seed-S/, and the
# analysis prints one row per seed and checks every seed and the mean W2s.
#
# Sample runs:
#   jobs/flux_ring.sh                                    # build/jointflow -> flux-ring-results/
#   jobs/flux_ring.sh --jointflow build-flux/jointflow --out /tmp/ring --figure docs/flux-ring.png
#   jobs/flux_ring.sh --analyse-only --out /tmp/ring
#   jobs/flux_ring.sh --out /tmp/ring-seeds --seeds "0 1 2 3 4 5 6 7"
#   jobs/flux_ring.sh --out /tmp/ring-short -- --train.steps 1000    # extra options for every run
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="flux-ring-results"
parallel=2
figure=""
seeds=""
extra=()
job_option() { seeds="$2"; }  # --seeds, the only option of this script's own
parse_options "--parallel --figure --seeds --" "$@"

# The directory of a seed's runs: <out> without --seeds, <out>/seed-S with it.
seed_directory() { [[ "$1" == - ]] && echo "$out" || echo "$out/seed-$1"; }

# seed ("-": the configuration's), name, then the options that make the run.
runs=()
directories=()
for seed in ${seeds:--}; do
  [[ "$seed" == - || "$seed" =~ ^[0-9]+$ ]] ||
    { echo "$job: --seeds takes non-negative integers, not '$seed'" >&2; exit 2; }
  runs+=("$seed flux --flux.loss flux" "$seed dsm --flux.loss dsm"
         "$seed spiral --flux.loss flux --flux.spiral 1.0"
         "$seed odd --flux.loss flux --field.symmetry odd"
         "$seed dsm-odd --flux.loss dsm --field.symmetry odd")
  directories+=("$(seed_directory "$seed")")
done

run_one() {  # seed name options...
  local seed="$1" name="$2" directory
  shift 2
  directory="$(seed_directory "$seed")"
  [[ "$seed" == - ]] || set -- "$@" --run.seed "$seed"
  mkdir -p "$directory"
  "$jointflow" train-flux --config "$root/configs/flux/ring.ini" "$@" \
    --model.path "$directory/$name.ckpt" --run.output "$directory/$name.h5" \
    ${extra[@]+"${extra[@]}"} >"$directory/$name.log" 2>&1 ||
    { echo "flux_ring.sh: run $name failed; see $directory/$name.log" >&2; return 1; }
}

if ! $analyse_only; then
  prepare_run
  echo "flux_ring.sh: ${#runs[@]} runs, $parallel at a time, $(load_average)"
  run_rows run_one "$parallel" "${runs[@]}" || exit 1
fi

exec /usr/bin/python3 "$root/analysis/flux_ring.py" "${directories[@]}" ${figure:+--figure "$figure"}

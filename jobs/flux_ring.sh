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

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jointflow="$root/build/jointflow"
out="flux-ring-results"
parallel=2
figure=""
analyse_only=false
extra=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jointflow) jointflow="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --figure) figure="$2"; shift 2 ;;
    --analyse-only) analyse_only=true; shift ;;
    --help|-h) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "flux_ring.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

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
  [[ -x "$jointflow" ]] || { echo "flux_ring.sh: no executable at $jointflow (--jointflow PATH)" >&2; exit 2; }
  mkdir -p "$out"
  echo "flux_ring.sh: ${#runs[@]} runs, $parallel at a time, $(uptime | sed 's/.*load/load/')"
  failed=0
  running=0
  for run in "${runs[@]}"; do
    if (( running >= parallel )); then
      wait -n || failed=1
      running=$((running - 1))
    fi
    # shellcheck disable=SC2086  # run is "name options..."
    run_one $run &
    running=$((running + 1))
  done
  while (( running > 0 )); do
    wait -n || failed=1
    running=$((running - 1))
  done
  (( failed == 0 )) || exit 1
fi

exec /usr/bin/python3 "$root/analysis/flux_ring.py" "$out" ${figure:+--figure "$figure"}

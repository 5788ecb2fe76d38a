#!/usr/bin/env bash
# Noise-annealed Flux Matching against DSM on scikit-learn's 8×8 digits (configs/flux/digits.ini,
# MATH §7.1 "Images"), or on 16×16 Fashion-MNIST with --config configs/flux/fashion.ini: the same
# UNet, EDM preconditioning, ln σ ~ N(−1.2, 1.2²), batch and optimizer for both losses. Each run
# trains, draws samples by the probability-flow ODE, computes NLL in bits/dim on training images
# and writes <out>/<run>.h5; analysis/flux_digits.py then trains its own small classifier of the
# data set the runs name and prints the Fréchet distance of the samples in its features
# (FD-digits or FD-fashion, no download), and draws the sample grids (--figure). One run at a time.
#
# Sample runs:
#   jobs/flux_digits.sh                                  # build/jointflow -> flux-digits-results/
#   jobs/flux_digits.sh --jointflow build-flux/jointflow --out /tmp/digits --figure docs/flux-digits.png
#   jobs/flux_digits.sh --analyse-only --out /tmp/digits
#   jobs/flux_digits.sh --config configs/flux/fashion.ini --out /tmp/fashion --figure docs/flux-fashion.png
#   jobs/flux_digits.sh --out /tmp/digits-short -- --train.steps 300   # extra options for both runs
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="flux-digits-results"
config="$root/configs/flux/digits.ini"
figure=""
extra=()
job_option() { config="$2"; }  # --config, the only option of this script's own
parse_options "--figure --config --" "$@"

if ! $analyse_only; then
  prepare_run
  for loss in dsm flux; do
    echo "flux_digits.sh: $loss, $(load_average)"
    "$jointflow" train-flux --config "$config" --flux.loss "$loss" \
      --model.path "$out/$loss.ckpt" --run.output "$out/$loss.h5" ${extra[@]+"${extra[@]}"} \
      >"$out/$loss.log" 2>&1 ||
      { echo "flux_digits.sh: run $loss failed; see $out/$loss.log" >&2; exit 1; }
  done
fi

exec /usr/bin/python3 "$root/analysis/flux_digits.py" "$out" ${figure:+--figure "$figure"}

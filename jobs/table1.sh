#!/usr/bin/env bash
# Paper A Table 1 (§4.1.1): mode coverage (joint, marginal), log p and RMSE of 10 000 joint sets
# of K = 10 on the analytic gmm8d flow, 100 Euler steps, λ = 1.5, grad_through = endpoint
# (MATH §3, §4, §6), for 17 rows: IID; PG, Chebyshev, reciprocal, log-barrier and DPP, each with
# sr = none, soft and hard; and "DPP + DF" (objective df, MATH §3.1). One HDF5 file per row goes
# to the output directory; analysis/table1.py then prints the table beside the paper's numbers
# and checks the acceptance criteria (exit status 1 when one fails; see docs/reproduction.md for
# the rows MATH §3 and §3.1 already expect to miss).
#
# Rows run as separate single-rank processes, --parallel at a time with one thread each (float64).
#
# Sample runs:
#   jobs/table1.sh                                   # build/jointflow -> table1-results/
#   jobs/table1.sh --jointflow build-t1/jointflow --out /tmp/table1
#   jobs/table1.sh --parallel 1                      # one row at a time
#   jobs/table1.sh --analyse-only --out /tmp/table1  # re-print the table from existing files
#   jobs/table1.sh --out /tmp/t1-small -- --sampler.groups 1000   # extra options for every row
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="table1-results"
parallel="$(nproc 2>/dev/null || echo 2)"
extra=()
parse_options "--parallel --" "$@"

# name objective sr; the slowest rows first, so that the last ones to start are short.
rows=(
  "chebyshev-none chebyshev none" "chebyshev-soft chebyshev soft" "chebyshev-hard chebyshev hard"
  "dpp-df df none"
  "dpp-none dpp none" "dpp-soft dpp soft" "dpp-hard dpp hard"
  "reciprocal-none reciprocal none" "reciprocal-soft reciprocal soft"
  "reciprocal-hard reciprocal hard"
  "logbarrier-none logbarrier none" "logbarrier-soft logbarrier soft"
  "logbarrier-hard logbarrier hard"
  "pg-none pg none" "pg-soft pg soft" "pg-hard pg hard"
  "iid iid none"
)

# glibc hands freed memory back to the kernel after nearly every Euler step of a small batch and
# pays page faults for it on the next one; keeping it (up to 256 MiB) makes the rows ~15 % faster.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-268435456}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-268435456}"

run_row() {  # name objective sr
  "$jointflow" sample --config "$root/configs/table1/base.ini" --sampler.objective "$2" \
    --sampler.sr "$3" --run.output "$out/$1.h5" ${extra[@]+"${extra[@]}"} >"$out/$1.log" 2>&1 ||
    { echo "table1.sh: row $1 failed; see $out/$1.log" >&2; return 1; }
}

if ! $analyse_only; then
  prepare_run
  echo "table1.sh: ${#rows[@]} rows, $parallel at a time, $(load_average)"
  start=$(date +%s.%N)
  failed=0
  run_rows run_row "$parallel" "${rows[@]}" || failed=1
  wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  echo "table1.sh: sampling wall time ${wall} s"
  echo "$wall" >"$out/wall_seconds.txt"
  (( failed == 0 )) || exit 1
fi

exec /usr/bin/python3 "$root/analysis/table1.py" "$out"

# shellcheck shell=bash disable=SC2034  # the variables set here are the sourcing script's
# What the job scripts in jobs/ share: their --help text, the options they have in common, the
# checks before a run and the runner of rows in the background. A script sources this file right
# after `set -euo pipefail`, sets its own defaults, then calls parse_options.

script="${BASH_SOURCE[1]}"
job="${script##*/}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jointflow="$root/build/jointflow"
analyse_only=false

# Prints the script's header comment, from line 2 to `set -euo pipefail`, as its --help text.
usage() { sed -n '2,/^set -euo/p' "$script" | sed '$d; s/^# \{0,1\}//'; }

# Whether WORD is one of the space-separated words of LIST.
is_one_of() {  # WORD LIST
  local word
  for word in $2; do
    [[ "$word" == "$1" ]] && return 0
  done
  return 1
}

# Reads the command line: --jointflow, --out, --analyse-only and --help for every script; of
# --parallel, --figure, --ranks, --train-steps (to train_options), --groups (to sample_options)
# and `--` (the rest to extra), those in OPTIONS; any other option in OPTIONS takes a value and
# goes to the script's job_option OPTION VALUE.
parse_options() {  # "OPTIONS" ARGS...
  local options="--jointflow --out --analyse-only --help -h $1"
  shift
  while [[ $# -gt 0 ]]; do
    is_one_of "$1" "$options" || { echo "$job: unknown option '$1' (see --help)" >&2; exit 2; }
    is_one_of "$1" "--analyse-only --help -h --" || [[ $# -ge 2 ]] ||
      { echo "$job: $1 needs a value (see --help)" >&2; exit 2; }
    case "$1" in
      --jointflow) jointflow="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      --parallel) parallel="$2"; shift 2 ;;
      --figure) figure="$2"; shift 2 ;;
      --ranks) ranks="$2"; shift 2 ;;
      --train-steps) train_options+=(--train.steps "$2"); shift 2 ;;
      --groups) sample_options+=(--sampler.groups "$2"); shift 2 ;;
      --analyse-only) analyse_only=true; shift ;;
      --help|-h) usage; exit 0 ;;
      --) shift; extra=("$@"); break ;;
      *) job_option "$1" "$2"; shift 2 ;;
    esac
  done
}

# Stops with exit status 2 unless VALUE is a positive whole number: for the counts and sizes an
# option sets.
require_count() {  # OPTION VALUE
  [[ "$2" =~ ^[1-9][0-9]*$ ]] ||
    { echo "$job: $1 takes a positive whole number, not '$2'" >&2; exit 2; }
}

# Stops with exit status 2 unless $jointflow is an executable, then makes the output directory.
prepare_run() {
  [[ -x "$jointflow" ]] || { echo "$job: no executable at $jointflow (--jointflow PATH)" >&2; exit 2; }
  mkdir -p "$out"
}

# The load average, for the progress lines.
load_average() { uptime | sed 's/.*load/load/'; }

# Calls FUNCTION once per row, with the row's words as arguments, in background processes PARALLEL
# at a time; fails, once all have ended, when one of them failed.
run_rows() {  # FUNCTION PARALLEL ROW...
  local run="$1" at_once="$2" row failed=0 running=0
  shift 2
  for row in "$@"; do
    if (( running >= at_once )); then
      wait -n || failed=1
      running=$((running - 1))
    fi
    # shellcheck disable=SC2086  # a row is the function's arguments
    "$run" $row &
    running=$((running + 1))
  done
  while (( running > 0 )); do
    wait -n || failed=1
    running=$((running - 1))
  done
  (( failed == 0 ))
}

# Sets launch to the command that starts jointflow on RANKS ranks: mpiexec above one rank (allowed
# as root), nothing at one.
set_launch() {  # RANKS
  launch=()
  if (( $1 > 1 )); then
    [[ "$(id -u)" == 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    launch=(mpiexec -n "$1" --oversubscribe)
  fi
}

# Trains the flow of CONFIG into CHECKPOINT with ${launch[@]}, resuming from the checkpoint when
# it exists, with the log appended to $out/train.log; writes the time taken to
# $out/train_seconds.txt unless there was nothing left to train.
train_flow() {  # CONFIG CHECKPOINT TRAIN-OPTIONS...
  local config="$1" checkpoint="$2" start
  shift 2
  start=$(date +%s)
  ${launch[@]+"${launch[@]}"} "$jointflow" train-flow --config "$config" \
    --model.path "$checkpoint" --run.output "$out/train.h5" --train.resume true "$@" 2>&1 |
    tee -a "$out/train.log"
  # A resumed run with nothing left to train keeps the timing of the run that trained.
  tail -n 1 "$out/train.log" | grep -q "already at step" ||
    echo "$(( $(date +%s) - start ))" >"$out/train_seconds.txt"
}

#!/usr/bin/env bash
# Submits the whole pipeline as SLURM jobs chained with --dependency=afterok, and prints one line
# per job: "<stage> <job id>". Each stage starts only when the one before succeeded; a failed
# stage cancels the rest (on clusters with DependencyParameters=kill_invalid_depend) or leaves
# them pending with reason DependencyNeverSatisfied (scancel them).
#
#   train-flow      train-gpus.sbatch      a learned flow (model.kind = mlp | unet) -> flow.ckpt
#   sample          jointflow.sbatch       training sets for the residual -> trajectories.h5
#   train-residual  train-gpus.sbatch      the residual velocity r_φ -> residual.ckpt
#   estimate        estimate-array.sbatch  a job array of --parts tasks -> parts/part-<i>-of-<N>.h5
#   merge           merge.sbatch           the partial files -> estimate.h5
#
# With the analytic flow (model.kind = gmm; --flow analytic, or --flow auto when the config's
# model is gmm or this jointflow has no train-flow) the train-flow stage is left out. The stage
# list is the `stages` array below (or --stages); edit it to add or drop stages.
#
# Sample runs:
#   slurm/pipeline.sh --config jobs/learned_gmm8d.ini --out /scratch/$USER/lg8 --parts 64
#   slurm/pipeline.sh --config configs/quickstart.ini --out qs --flow analytic --parts 16
#   slurm/pipeline.sh --config run.ini --out run1 --stages train-residual,estimate,merge
#   slurm/pipeline.sh --config run.ini --out run1 --nodes 4 --ranks 8 --sbatch "--partition=gpu" \
#       --set train-flow "--train.steps 50000" --sbatch-for estimate "--time=00:20:00"
#   slurm/pipeline.sh --config run.ini --out cpu-run --cpu --nodes 1 --ranks 2 --dry-run
#
# Options:
#   --config FILE           the INI file of every stage (required)
#   --out DIR               where every file and the job logs (DIR/logs) go (default: pipeline)
#   --flow auto|learned|analytic
#   --stages LIST           comma-separated stages (default: all five; see `stages`)
#   --parts N               tasks of the estimate array (default 8)
#   --nodes N               nodes of the training stages (default: the template's)
#   --ranks N               ranks per node of training and sample = GPUs per node
#   --cpu                   run on CPUs: run.device = cpu, run.comm = mpi, no GPUs requested
#   --sbatch "OPTS"         extra sbatch options for every job (e.g. --partition, --account)
#   --sbatch-for STAGE "OPTS"  extra sbatch options for one stage (repeatable)
#   --set STAGE "OPTS"      extra jointflow options for one stage (repeatable)
#   --jointflow PATH        the executable (default: build/jointflow of this checkout)
#   --dry-run               print the sbatch commands instead of submitting them
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
stages=(train-flow sample train-residual estimate merge)

die() { echo "pipeline.sh: error: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
absolute() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
# ini_value FILE SECTION KEY: the value in the INI file, empty when absent.
ini_value() {
  awk -v section="[$2]" -v key="$3" '
    /^[ \t]*\[/ { gsub(/[ \t]/, ""); current = $0; next }
    current == section && $0 ~ "^[ \t]*" key "[ \t]*=" {
      sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]*(#.*)?$/, ""); value = $0 }
    END { print value }' "$1"
}

config="" out=pipeline flow=auto parts=8 nodes="" ranks="" cpu=false dry_run=false
jointflow="$root/build/jointflow"
common_sbatch=()
declare -A stage_sbatch=() stage_options=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config) config="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --flow) flow="$2"; shift 2 ;;
    --stages) IFS=, read -r -a stages <<<"$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --ranks) ranks="$2"; shift 2 ;;
    --cpu) cpu=true; shift ;;
    --sbatch) read -r -a extra <<<"$2"; common_sbatch+=("${extra[@]}"); shift 2 ;;
    --sbatch-for) stage_sbatch[$2]+=" $3"; shift 3 ;;
    --set) stage_options[$2]+=" $3"; shift 3 ;;
    --jointflow) jointflow="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --help | -h) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[[ -n $config ]] || die "give the INI file of the stages: --config FILE"
[[ -f $config ]] || die "no config file '$config'"
[[ -x $jointflow ]] || die "no jointflow executable at '$jointflow'; build it or pass --jointflow"
[[ $parts =~ ^[1-9][0-9]*$ ]] || die "--parts $parts must be a positive integer"
config=$(absolute "$config")
out=$(absolute "$out")
jointflow=$(absolute "$jointflow")
for stage in "${stages[@]}" "${!stage_sbatch[@]}" "${!stage_options[@]}"; do
  case "$stage" in
    train-flow | sample | train-residual | estimate | merge) ;;
    *) die "unknown stage '$stage' (train-flow, sample, train-residual, estimate, merge)" ;;
  esac
done

# The flow: learned (train-flow writes out/flow.ckpt, every later stage reads it) or analytic.
kind=$(ini_value "$config" model kind)
if [[ $flow == auto ]]; then
  if [[ ${kind:-gmm} == gmm ]]; then
    flow=analytic
  elif "$jointflow" --help | grep -q '^  train-flow '; then
    flow=learned
  else
    echo "pipeline.sh: this jointflow has no train-flow: using the analytic flow (model.kind = gmm)"
    flow=analytic
  fi
fi
case "$flow" in
  learned) model=(--model.path "$out/flow.ckpt") ;;
  analytic)
    model=(--model.kind gmm)
    kept=()
    for stage in "${stages[@]}"; do [[ $stage == train-flow ]] || kept+=("$stage"); done
    stages=("${kept[@]}")
    ;;
  *) die "--flow $flow must be auto, learned or analytic" ;;
esac

# Training sets of the residual: independent of the estimate's sets (seed + 1), residual.groups
# of them when the config says so, as `jointflow run` does.
seed=$(ini_value "$config" run seed)
training_groups=$(ini_value "$config" residual groups)
sample_options=(--run.seed $((${seed:-0} + 1)) --output.trajectories true)
[[ -n $training_groups ]] && sample_options+=(--sampler.groups "$training_groups")

resources=()
[[ -n $nodes ]] && resources+=(--nodes="$nodes")
if [[ -n $ranks ]]; then
  resources+=(--ntasks-per-node="$ranks")
  $cpu || resources+=(--gpus-per-node="$ranks")
fi
export JF_BINARY=$jointflow
if $cpu; then
  export JF_DEVICE=cpu
  common_sbatch=(--gpus-per-node=0 "${common_sbatch[@]+"${common_sbatch[@]}"}")
fi

mkdir -p "$out/logs" "$out/parts"
previous=""
submitted=()
for stage in "${stages[@]}"; do
  sbatch_options=(--parsable --job-name="jf-$stage" --output="$out/logs/$stage-%j.out")
  case "$stage" in
    train-flow)
      script=train-gpus.sbatch
      sbatch_options+=("${resources[@]+"${resources[@]}"}")
      args=(train-flow --config "$config" --model.path "$out/flow.ckpt"
            --run.output "$out/train-flow.h5")
      ;;
    sample)
      script=jointflow.sbatch
      [[ -n $ranks ]] && sbatch_options+=(--ntasks-per-node="$ranks")
      [[ -n $ranks ]] && ! $cpu && sbatch_options+=(--gpus-per-node="$ranks")
      args=(sample --config "$config" "${model[@]}" "${sample_options[@]}"
            --run.output "$out/trajectories.h5")
      ;;
    train-residual)
      script=train-gpus.sbatch
      sbatch_options+=("${resources[@]+"${resources[@]}"}")
      args=(train-residual --config "$config" "${model[@]}"
            --residual.data "$out/trajectories.h5" --residual.checkpoint "$out/residual.ckpt"
            --run.output "$out/train-residual.h5")
      ;;
    estimate)
      script=estimate-array.sbatch
      sbatch_options=(--parsable --job-name="jf-$stage" --array="0-$((parts - 1))"
                      --output="$out/logs/$stage-%A_%a.out")
      args=(estimate --config "$config" "${model[@]}" --residual.checkpoint "$out/residual.ckpt")
      ;;
    merge)
      script=merge.sbatch
      args=(--merge.inputs "$out/parts/part-*-of-$parts.h5" --run.output "$out/estimate.h5")
      ;;
  esac
  for option in "${common_sbatch[@]+"${common_sbatch[@]}"}"; do
    # merge requests no GPUs: --gpus-per-node=0 would only be noise there.
    [[ $stage == merge && $option == --gpus-per-node=* ]] || sbatch_options+=("$option")
  done
  read -r -a extra <<<"${stage_sbatch[$stage]:-}"
  sbatch_options+=("${extra[@]+"${extra[@]}"}")
  [[ -n $previous ]] && sbatch_options+=(--dependency="afterok:$previous" --kill-on-invalid-dep=yes)
  read -r -a extra <<<"${stage_options[$stage]:-}"
  args+=("${extra[@]+"${extra[@]}"}")

  if $dry_run; then
    previous="<$stage>"
    printf '%s\n' "JF_OUT=$out/parts sbatch ${sbatch_options[*]} $here/$script ${args[*]}"
    continue
  fi
  reply=$(JF_OUT="$out/parts" sbatch "${sbatch_options[@]}" "$here/$script" "${args[@]}") ||
    die "sbatch refused the $stage job (jobs submitted so far: ${submitted[*]:-none})"
  previous=${reply%%;*}
  submitted+=("$previous")
  echo "$stage $previous"
done
$dry_run || echo "pipeline.sh: ${#submitted[@]} job(s) submitted; results -> $out/estimate.h5," \
  "logs in $out/logs"

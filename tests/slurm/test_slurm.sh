#!/usr/bin/env bash
# The sbatch templates of slurm/ on a real one-node SLURM cluster on localhost (docs/slurm.md):
#   1. installs slurm-wlm and munge when missing (apt-get, as root) and starts a private cluster:
#      munged, slurmctld and slurmd with their own socket, ports, state and logs in a temporary
#      directory, the node line from `slurmd -C`;
#   2. submits slurm/pipeline.sh scaled down (train-flow -> sample -> train-residual -> estimate
#      as a job array of 3 tasks -> merge, chained with --dependency=afterok, on CPUs) and a
#      preemptible estimate (slurm/preemptible.sbatch) that is told to stop with SIGUSR1 once its
#      first checkpoint exists, as the time limit's --signal=B:USR1 does, and must requeue itself
#      and resume;
#   3. waits for every job (time limit JF_SLURM_TIMEOUT, default 420 s), then checks that the
#      merged file and the preempted estimate hold /metrics and equal single runs over the same
#      sets to 1e-12 (tests/faults/compare_results.py);
#   4. kills one rank of a two-rank job with SIGKILL and checks that the whole job ends FAILED
#      within 60 s;
#   5. stops the jobs and the daemons by their PIDs on exit, failed or not.
# It prints the SLURM version and each job's queue wait and run time.
#
# Exit status 0 on success, 1 on failure, 77 (skipped) when not root, when apt-get cannot
# install the packages, or when no cgroup file system is mounted (slurmd cannot start).
# Environment: JF_BINARY (jointflow), JF_SOURCE_DIR (the checkout); JF_SLURM_KEEP=1 keeps the
# cluster's directory for a look afterwards.
#
# Sample runs:
#   JF_BINARY=build/jointflow JF_SOURCE_DIR=$PWD bash tests/slurm/test_slurm.sh
#   ctest --test-dir build -L slurm --output-on-failure
set -euo pipefail

name=test_slurm.sh
say() { echo "$name: $*"; }
skip() { echo "$name: SKIP: $*"; exit 77; }
fail() { echo "$name: FAIL: $*" >&2; exit 1; }

binary=${JF_BINARY:?set JF_BINARY to the jointflow executable}
source_dir=${JF_SOURCE_DIR:?set JF_SOURCE_DIR to the checkout}
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
timeout=${JF_SLURM_TIMEOUT:-420}
[[ -x $binary ]] || fail "no jointflow executable at $binary"

# ---- 1. packages -----------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || skip "needs root to install slurm-wlm and munge and to start their daemons"
missing() {
  local program
  for program in slurmctld slurmd munged sbatch scontrol; do
    command -v "$program" >/dev/null || [[ -x /usr/sbin/$program ]] || return 0
  done
  return 1
}
if missing; then
  say "installing slurm-wlm and munge"
  apt_log=$(mktemp)
  apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
      slurm-wlm munge >"$apt_log" 2>&1
  }
  if ! apt_install; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update >>"$apt_log" 2>&1 || true
    apt_install || skip "apt-get cannot install slurm-wlm and munge: $(grep -E '^E:' "$apt_log" | head -1)"
  fi
  rm -f "$apt_log"
fi
export PATH=$PATH:/usr/sbin
version=$(slurmd -V)
say "$version"

# ---- the cluster -----------------------------------------------------------------------------
work=$(mktemp -d /tmp/jointflow-slurm.XXXXXX)
chmod 755 "$work"
mkdir -p "$work"/{state,spool,run,log,munge,jobs}
export SLURM_CONF=$work/slurm.conf

stop_pid_file() {  # pid-file: TERM, then KILL after 10 s
  local pid
  [[ -s $1 ]] || return 0
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  set +e
  if [[ -s $work/run/slurmctld.pid ]]; then
    scancel --quiet --full --user=root 2>/dev/null
    # Job steps outlive slurmd: end this node's job processes by their PIDs.
    for _ in $(seq 50); do [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break; sleep 0.2; done
    mapfile -t pids < <(scontrol listpids 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}')
    (( ${#pids[@]} )) && kill -KILL "${pids[@]}" 2>/dev/null
  fi
  stop_pid_file "$work/run/slurmd.pid"
  stop_pid_file "$work/run/slurmctld.pid"
  stop_pid_file "$work/munge/munged.pid"
  if (( status != 0 && status != 77 )); then
    for log in "$work"/log/*.log; do
      [[ -f $log ]] && { echo "---- $log (last 15 lines)"; tail -n 15 "$log"; }
    done
  fi
  if [[ ${JF_SLURM_KEEP:-0} == 1 ]]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A private munged (own socket, key copy, pid and seed files), so that a munged or a cluster that
# already runs on this machine is left alone.
[[ -f /etc/munge/munge.key ]] || { mungekey --create >/dev/null 2>&1 || /usr/sbin/create-munge-key -f; }
chown munge:munge "$work/munge"
chmod 755 "$work/munge"
install -o munge -g munge -m 400 /etc/munge/munge.key "$work/munge/munge.key"
runuser -u munge -- munged --socket="$work/munge/socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/seed" \
  --log-file="$work/munge/munged.log" ||
  fail "munged did not start: $(tail -n 3 "$work/munge/munged.log" 2>&1)"

free_port() {  # a TCP port in [20000, 40000) that nothing listens on (bash's /dev/tcp)
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
# slurmd initializes its cgroup plugin even with proctrack/linuxproc and task/none.
mountpoint -q /sys/fs/cgroup ||
  skip "slurmd needs a cgroup file system at /sys/fs/cgroup, and none is mounted here"
host=$(hostname -s)
node=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
node=$(sed "s/RealMemory=[0-9]*/RealMemory=$((memory * 95 / 100))/" <<<"$node")
ctld_port=$(free_port)
slurmd_port=$(free_port)
[[ $slurmd_port != "$ctld_port" ]] || slurmd_port=$((ctld_port + 1))
cat >"$SLURM_CONF" <<EOF
ClusterName=jfci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket,cred_expire=10
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
DependencyParameters=kill_invalid_depend
ReturnToService=2
MailProg=/bin/true
MinJobAge=300
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
${node/NodeName=$host/NodeName=$host NodeAddr=127.0.0.1} State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
started=$(date +%s%N)
slurmctld -c || fail "slurmctld did not start (see the log below)"
slurmd || fail "slurmd did not start (see the log below)"
for _ in $(seq 150); do
  [[ $(sinfo -h -o %T 2>/dev/null) == idle ]] && break
  sleep 0.2
done
[[ $(sinfo -h -o %T 2>/dev/null) == idle ]] ||
  fail "the node is not idle after 30 s: $(sinfo -h -o '%T %E' 2>&1)"
say "cluster up in $(( ($(date +%s%N) - started) / 1000000 )) ms: $(sinfo -h -o '%N %c CPUs %m MB %T')"

# ---- 2. jobs ---------------------------------------------------------------------------------
# Scaled down: a few sets of K = 4 in 8-D, 10 Euler steps, 20 training steps. The learned flow
# when this jointflow has train-flow, the analytic one otherwise.
flow=analytic
if "$binary" --help | grep -q '^  train-flow '; then flow=learned; fi
config=$work/jobs/run.ini
cat >"$config" <<EOF
[run]
seed = 3
progress = off

[model]
kind = $([[ $flow == learned ]] && echo mlp || echo gmm)
mixture = gmm8d
sample_shape = 8
ema = false

[flow]
hidden = 32,32
frequencies = 2

[data]
kind = mixture
mixture = gmm8d
examples = 4096

[eval]
mixture = gmm8d

[sampler]
steps = 10
group_size = 4
groups = 30
batch_groups = 4
objective = dpp
sr = hard

[residual]
hidden = 16,16
groups = 32

[train]
optimizer = adamw
lr = 1e-3
batch_size = 64
steps = 20

[estimate]
function = nearest_mean
weights = trajectory
EOF
[[ $flow == learned ]] || sed -i '/^sample_shape/d; /^ema =/d; /^\[flow\]/,/^$/d; /^\[data\]/,/^$/d' "$config"

pipeline=$work/jobs/pipeline
submit_log=$work/jobs/pipeline-submit.txt
bash "$source_dir/slurm/pipeline.sh" --config "$config" --out "$pipeline" --flow "$flow" \
  --parts 3 --cpu --nodes 1 --ranks 2 --jointflow "$binary" \
  --sbatch "--cpus-per-task=1 --time=00:10:00" >"$submit_log" 2>&1 ||
  { cat "$submit_log"; fail "slurm/pipeline.sh could not submit the pipeline"; }
cat "$submit_log"
declare -A job=()
while read -r stage id; do
  [[ $id =~ ^[0-9]+$ ]] && job[$stage]=$id
done <"$submit_log"
for stage in sample train-residual estimate merge; do
  [[ -n ${job[$stage]:-} ]] || fail "pipeline.sh printed no job id for $stage"
done
[[ $flow == analytic || -n ${job[train-flow]:-} ]] || fail "pipeline.sh printed no train-flow job"

# The preemptible estimate: enough batches that it is still running when told to stop.
preempt_out=$work/jobs/preempted.h5
preempt_options=(estimate --config "$config" --residual.checkpoint "$pipeline/residual.ckpt"
                 --sampler.groups 240 --sampler.steps 40 --run.output "$preempt_out")
[[ $flow == learned ]] && preempt_options+=(--model.path "$pipeline/flow.ckpt")
job[preempted]=$(JF_BINARY=$binary JF_DEVICE=cpu JF_CHECKPOINT_EVERY=1 sbatch --parsable \
  --job-name=jf-preempted --gpus-per-node=0 --ntasks-per-node=1 --cpus-per-task=1 \
  --time=00:10:00 --output="$work/jobs/preempted-%j.out" \
  --dependency="afterok:${job[train-residual]}" --kill-on-invalid-dep=yes \
  "$source_dir/slurm/preemptible.sbatch" "${preempt_options[@]}")
say "preempted ${job[preempted]}"

# ---- 3. wait and check -----------------------------------------------------------------------
field() {  # field JOB KEY: KEY=value of `scontrol show job` (first task of an array)
  scontrol -o show job "$1" 2>/dev/null | head -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
deadline=$(($(date +%s) + timeout))
signalled=false
all_ids=$(IFS=,; echo "${job[*]}")
while [[ -n $(squeue -h -j "$all_ids" -o %i 2>/dev/null) ]]; do
  (( $(date +%s) < deadline )) || {
    squeue -j "$all_ids" -o '%.12i %.16j %.10T %.20R'
    fail "the jobs did not finish within $timeout s (JF_SLURM_TIMEOUT)"
  }
  if ! $signalled && [[ -f $preempt_out.checkpoint && $(field "${job[preempted]}" JobState) == RUNNING ]]; then
    # What --signal=B:USR1@<s> does before the time limit, now.
    scancel --batch --signal=USR1 "${job[preempted]}"
    signalled=true
    say "sent SIGUSR1 to the batch script of ${job[preempted]} at its first checkpoint"
  fi
  sleep 1
done

report() {  # report LABEL JOB: state, exit code, queue wait and run time of every task
  scontrol -o show job "$2" | while read -r line; do
    local state exit_code submit start end id
    id=$(sed -n 's/^JobId=\([0-9]*\).*/\1/p' <<<"$line")
    [[ $line == *" ArrayTaskId="* ]] &&
      id=$(sed -n 's/.* ArrayJobId=\([0-9]*\) ArrayTaskId=\([0-9]*\).*/\1_\2/p' <<<"$line")
    state=$(sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
    exit_code=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
    submit=$(date -d "$(sed -n 's/.* SubmitTime=\([^ ]*\).*/\1/p' <<<"$line")" +%s)
    start=$(date -d "$(sed -n 's/.* StartTime=\([^ ]*\).*/\1/p' <<<"$line")" +%s)
    end=$(date -d "$(sed -n 's/.* EndTime=\([^ ]*\).*/\1/p' <<<"$line")" +%s)
    printf '%s:   %-15s job %-5s %-10s exit %-5s waited %4d s  ran %4d s  restarts %s\n' \
      "$name" "$1" "$id" "$state" "$exit_code" $((start - submit)) $((end - start)) \
      "$(sed -n 's/.* Restarts=\([0-9]*\).*/\1/p' <<<"$line")"
    [[ $state == COMPLETED ]] || echo "FAILED $1 $id"
  done
}
say "jobs (SubmitTime -> StartTime -> EndTime; a requeued job's times are those of its last start):"
summary=$(for stage in train-flow sample train-residual estimate merge preempted; do
  [[ -n ${job[$stage]:-} ]] && report "$stage" "${job[$stage]}"; done)
grep -v '^FAILED' <<<"$summary" || true
if grep -q '^FAILED' <<<"$summary"; then
  for out in "$pipeline"/logs/*.out "$work"/jobs/*.out; do
    [[ -f $out ]] && { echo "---- $out"; tail -n 20 "$out"; }
  done
  fail "job(s) did not complete: $(grep '^FAILED' <<<"$summary" | cut -d' ' -f2- | tr '\n' ' ')"
fi
first=${job[train-flow]:-${job[sample]}}
say "pipeline turnaround (first submit to the merge's end): $((
  $(date -d "$(field "${job[merge]}" EndTime)" +%s) - $(date -d "$(field "$first" SubmitTime)" +%s) )) s"

$signalled || fail "the preemptible estimate finished before its first checkpoint could be seen"
restarts=$(field "${job[preempted]}" Restarts)
(( restarts >= 1 )) || fail "the preemptible estimate was not requeued (Restarts=$restarts)"
grep -q "stopped with its checkpoint written; requeueing" "$work"/jobs/preempted-*.out ||
  fail "the preemptible estimate's log does not show the requeue"
grep -q "resuming at set" "$work"/jobs/preempted-*.out ||
  fail "the restarted estimate did not resume from its checkpoint"
[[ ! -e $preempt_out.checkpoint ]] || fail "the finished estimate left its checkpoint behind"

# A rank killed with SIGKILL inside a job (srun --kill-on-bad-exit=1 in the templates): the
# whole job must end, FAILED, within 60 s instead of waiting in a collective.
killed_out=$work/jobs/killed.h5
job[killed]=$(JF_BINARY=$binary JF_DEVICE=cpu sbatch --parsable --job-name=jf-killed \
  --gpus-per-node=0 --ntasks-per-node=2 --cpus-per-task=1 --time=00:10:00 \
  --output="$work/jobs/killed-%j.out" "$source_dir/slurm/jointflow.sbatch" estimate \
  --config "$config" --residual.checkpoint "$pipeline/residual.ckpt" --sampler.groups 100000 \
  --run.checkpoint_every 1 --run.output "$killed_out" \
  $([[ $flow == learned ]] && echo "--model.path $pipeline/flow.ckpt"))
rank_pid() {  # rank_pid JOB RANK: the PID of that rank's jointflow process, empty until it runs
  local pid
  for pid in $(scontrol listpids "$1" 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}'); do
    [[ /proc/$pid/exe -ef $binary ]] &&
      tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "SLURM_PROCID=$2" &&
      { echo "$pid"; return; }
  done
}
deadline=$(($(date +%s) + 120))
until [[ -f $killed_out.checkpoint && -n $(rank_pid "${job[killed]}" 1) ]]; do
  (( $(date +%s) < deadline )) || fail "job ${job[killed]} did not reach its first checkpoint in 120 s"
  sleep 0.2
done
kill -KILL "$(rank_pid "${job[killed]}" 1)"
killed_at=$(date +%s)
while [[ -n $(squeue -h -j "${job[killed]}" -o %i 2>/dev/null) ]]; do
  (( $(date +%s) - killed_at < 60 )) || fail "job ${job[killed]} still ran 60 s after rank 1 was killed"
  sleep 0.2
done
state=$(field "${job[killed]}" JobState)
say "rank 1 of job ${job[killed]} killed with SIGKILL: the job ended $state," \
  "exit $(field "${job[killed]}" ExitCode), $(( $(date +%s) - killed_at )) s later"
[[ $state == FAILED ]] || fail "the job with a killed rank ended $state, not FAILED"
[[ ! -e $killed_out ]] || fail "the job with a killed rank left $killed_out"

# Single runs over the same sets, outside SLURM, on one rank.
reference_options=(--config "$config" --residual.checkpoint "$pipeline/residual.ckpt" --run.threads 1)
[[ $flow == learned ]] && reference_options+=(--model.path "$pipeline/flow.ckpt")
"$binary" estimate "${reference_options[@]}" --run.output "$work/jobs/reference.h5" \
  >"$work/jobs/reference.log" 2>&1 || { cat "$work/jobs/reference.log"; fail "the reference estimate failed"; }
"$binary" estimate "${reference_options[@]}" --sampler.groups 240 --sampler.steps 40 \
  --run.output "$work/jobs/reference-preempted.h5" >>"$work/jobs/reference.log" 2>&1 ||
  { cat "$work/jobs/reference.log"; fail "the reference estimate failed"; }
compare=$source_dir/tests/faults/compare_results.py
/usr/bin/python3 "$compare" "$pipeline/estimate.h5" "$work/jobs/reference.h5" --require /metrics \
  --require /estimate || fail "the merged estimate differs from a single run"
/usr/bin/python3 "$compare" "$preempt_out" "$work/jobs/reference-preempted.h5" --require /metrics \
  --require /estimate || fail "the preempted and requeued estimate differs from an uninterrupted run"
say "PASS"

#!/usr/bin/env bash
# The prepared check for a GPU machine (docs/gpu.md), sized to finish in under 8 minutes on one
# H200 with 16 cores. Two steps:
#   here, once:     bash scripts/gpu-check.sh --fetch-deps
#                   downloads Debian's Boost.Program_options 1.74 (about 10 MB, which the GPU
#                   machine lacks) into .gpu-deps/ (git-ignored);
#   on the GPU:     bash scripts/gpu-check.sh [OUTPUT_DIR]
#                   unpacks .gpu-deps/, configures against the Python torch package's LibTorch
#                   (CUDA, NCCL), builds only what it runs into build-gpu/ with all cores, runs
#                   `ctest -L gpu`, then the GPU benchmarks, and writes every log and the JSON
#                   lines (bench.jsonl) to OUTPUT_DIR (default: $OUT when set, else gpu-check-out).
# Each stage has its own time limit and prints its wall time; a failed stage is reported and the
# next one still runs; the exit status is that of the first failed stage.
# Environment: JF_CMAKE_ARGS (extra cmake arguments), JF_GPU_QUICK=1 (the benchmarks at 10⁴
# sets only).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ "${1:-}" = --fetch-deps ]; then
  set -e
  mkdir -p .gpu-deps
  cd .gpu-deps
  ls libboost-program-options1.74-dev_*.deb >/dev/null 2>&1 ||
    apt-get download libboost-program-options1.74.0 libboost-program-options1.74-dev \
      libboost1.74-dev
  ls -la
  exit 0
fi

out=${1:-${OUT:-gpu-check-out}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
status=0
say() { echo "gpu-check: $*" | tee -a "$out/summary.txt"; }

# stage NAME LIMIT_S COMMAND...: runs COMMAND under a time limit, its output to NAME.log.
stage() {
  local name=$1 limit=$2 start rc
  shift 2
  start=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  rc=$?
  say "$name: exit $rc after $(($(date +%s) - start)) s (log: $name.log)"
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$out/$name.log"
    [ "$status" -ne 0 ] || status=$rc
  fi
  return "$rc"
}

deps=/tmp/jointflow-gpu-deps
if [ ! -d "$deps/usr" ]; then
  ls .gpu-deps/*.deb >/dev/null 2>&1 ||
    { say "no .gpu-deps/*.deb: run 'bash scripts/gpu-check.sh --fetch-deps' first, carry .gpu-deps"; exit 1; }
  for deb in .gpu-deps/*.deb; do dpkg -x "$deb" "$deps"; done
fi
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt" 2>&1 || true
say "machine: $(head -n 2 "$out/gpu.txt" | tail -n 1), $(nproc) cores"

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
read -r -a extra_cmake_args <<<"${JF_CMAKE_ARGS:-}"
stage configure 240 cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix" -DJF_WITH_CUDA=ON -DJF_WITH_NCCL=ON \
  -DBoost_DIR="$deps/usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0" "${extra_cmake_args[@]}" ||
  exit "$status"
targets=(jointflow test_gpu_mpi_cuda test_gpu_nccl test_gpu_models test_cuda_pipeline
  bench_sampler bench_flux)
stage build 300 cmake --build build-gpu -j "$(nproc)" --target "${targets[@]}" || exit "$status"
build-gpu/jointflow --version | tee -a "$out/summary.txt"

stage ctest-gpu 180 ctest --test-dir build-gpu -L gpu --output-on-failure --timeout 120

# Benchmarks: JSON lines into bench.jsonl (docs/performance.md, "GPU").
bench=build-gpu/tests/benchmarks
sets=(10000)
[ -n "${JF_GPU_QUICK:-}" ] || sets+=(100000)
for n in "${sets[@]}"; do
  stage "sampler-$n" 150 "$bench/bench_sampler" --device cuda --dtype float32 --sets "$n" \
    --batch-groups "$n" --objectives dpp --repetitions 3 --threads 16 &&
    grep '^{' "$out/sampler-$n.log" >>"$out/bench.jsonl"
done
stage flux-unet 150 "$bench/bench_flux" --device cuda --network unet --shape 1,28,28 --batch 32 \
  --channels 32 --steps 5 --repetitions 3 &&
  grep '^{' "$out/flux-unet.log" >>"$out/bench.jsonl"
say "done: exit $status; results in $out"
exit "$status"

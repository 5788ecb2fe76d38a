#!/usr/bin/env bash
# Builds and tests jointflow against Debian trixie's toolchain, in a trixie root made with
# debootstrap and kept between runs (as root, on a Debian machine that reaches Debian's archive):
#   libtorch2 — LibTorch 2.6 (CPU), g++ 14, Open MPI 5, HDF5 1.14, Boost 1.83, GTest 1.15: every
#               target, then the whole test suite but the SLURM test;
#   cuda      — LibTorch 2.6 with CUDA 12.4, NCCL 2.22, the CUDA 12.4 toolkit, JF_WITH_CUDA=ON and
#               JF_WITH_NCCL=ON: every target, then the same tests on the CPU; the GPU tests report
#               skipped (no GPU here).
# Each stage prints its wall time ("check-toolchain: <stage> took N s"); logs of the quiet stages
# go beside the roots. `scripts/check-toolchain.sh VARIANT prepare` stops after the root and its
# packages are ready (no build).
#
# Environment: JF_TOOLCHAIN_ROOTS (where the roots live, default /var/cache/jointflow/toolchains),
# JF_DEBIAN_MIRROR (default: the first Debian archive in this machine's apt sources), JOBS
# (default: all cores), JF_CTEST_ARGS (extra ctest arguments, e.g. "-R cli").
set -euo pipefail

usage() { echo "usage: scripts/check-toolchain.sh libtorch2|cuda [prepare]" >&2; exit 2; }
say() { echo "check-toolchain: $*"; }
die() { echo "check-toolchain: error: $*" >&2; exit 1; }

stage_start=$(date +%s)
stage_done() {  # stage_done NAME: prints the wall time since the previous stage
  local now
  now=$(date +%s)
  say "$1 took $((now - stage_start)) s"
  stage_start=$now
}

debian_mirror() {
  if [ -n "${JF_DEBIAN_MIRROR:-}" ]; then
    echo "$JF_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources \
    2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || die "no Debian archive in /etc/apt/sources*; set JF_DEBIAN_MIRROR"
  echo "$uri"
}

mounts=()
unmount_all() {
  local index
  for ((index = ${#mounts[@]} - 1; index >= 0; index--)); do
    umount -R "${mounts[index]}" 2>/dev/null || umount -l "${mounts[index]}" 2>/dev/null || true
  done
}
mount_into() {  # mount_into <path inside the root> <mount arguments...>
  local target=$root$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounts+=("$target")
}
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

make_root() {
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
      --no-install-recommends debootstrap
  rm -rf "$root.partial"
  say "creating the trixie root $root"
  debootstrap --variant=minbase --components=main,contrib,non-free trixie "$root.partial" \
    "$(debian_mirror)" >"$roots/debootstrap-$variant.log" 2>&1 ||
    die "debootstrap failed; see $roots/debootstrap-$variant.log"
  touch "$root.partial/.jointflow-root"
  mv "$root.partial" "$root"
  stage_done "root creation"
}

install_packages() {
  local packages=(
    g++ cmake ninja-build ccache pkg-config git
    libopenblas0-openmp libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
    libboost-program-options-dev libgtest-dev zlib1g-dev
    python3-h5py python3-numpy python3-matplotlib python3-sklearn dataset-fashion-mnist
  )
  if [ "$variant" = libtorch2 ]; then
    packages+=(libtorch-dev python3-torch)
  else
    packages+=(libtorch-cuda-dev python3-torch-cuda libnccl-dev nvidia-cuda-toolkit
      nvidia-cuda-dev libcuda1)
  fi
  local stamp=$root/.jointflow-packages log=$roots/install-$variant.log
  if [ "$(cat "$stamp" 2>/dev/null)" = "${packages[*]}" ]; then return 0; fi
  local apt_get=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -q -y)
  in_root "${apt_get[@]}" update >"$log" 2>&1
  if ! in_root "${apt_get[@]}" install --no-install-recommends "${packages[@]}" >>"$log" 2>&1; then
    # nvidia-cudnn is an installer: its postinst downloads cuDNN from outside Debian, which fails
    # offline and leaves LibTorch unconfigured. jointflow uses no cuDNN: skip the download.
    local postinst=$root/var/lib/dpkg/info/nvidia-cudnn.postinst
    [ -e "$postinst" ] || die "package installation failed; see $log"
    say "nvidia-cudnn's postinst downloads cuDNN from outside Debian: skipped"
    printf '#!/bin/sh\nexit 0\n' >"$postinst"
    in_root dpkg --configure -a >>"$log" 2>&1
    in_root "${apt_get[@]}" install --no-install-recommends "${packages[@]}" >>"$log" 2>&1 ||
      die "package installation failed; see $log"
  fi
  echo "${packages[*]}" >"$stamp"
  stage_done "package installation"
}

build_and_test() {
  local build=/build/$variant log=$roots/configure-$variant.log status=0
  local cmake_args=(-S /src/jointflow -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release)
  [ "$variant" = libtorch2 ] || cmake_args+=(-DJF_WITH_CUDA=ON -DJF_WITH_NCCL=ON)
  local build_env=(CCACHE_DIR=/var/cache/ccache CCACHE_SLOPPINESS=pch_defines,time_macros)
  in_root "${build_env[@]}" cmake "${cmake_args[@]}" >"$log" 2>&1 ||
    { tail -n 30 "$log"; die "configure failed (log: $log)"; }
  grep -E "jointflow: Torch" "$log" || true
  in_root "${build_env[@]}" cmake --build "$build" -j "$jobs"
  stage_done "build"
  in_root "$build/jointflow" --version

  # The SLURM test starts daemons on the host's network; it is the bookworm suite's.
  local extra_ctest_args
  read -r -a extra_ctest_args <<<"${JF_CTEST_ARGS:-}"
  in_root OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    ctest --test-dir "$build" -j "$jobs" -LE slurm --output-on-failure --timeout 1500 \
    "${extra_ctest_args[@]}" || status=$?
  bash "$source_dir/scripts/ctest-skips.sh" "$root$build"
  stage_done "tests"
  return "$status"
}

# The whole run is one function, parsed before it starts: editing this file while a check runs
# cannot change the running check.
main() {
  variant=${1:-}
  case "$variant" in libtorch2 | cuda) ;; *) usage ;; esac
  case "${2:-}" in "" | prepare) ;; *) usage ;; esac
  [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mounts); run it as root"
  source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  roots=${JF_TOOLCHAIN_ROOTS:-/var/cache/jointflow/toolchains}
  root=$roots/trixie-$variant
  jobs=${JOBS:-$(nproc)}
  mkdir -p "$roots"
  exec 9>"$root.lock"
  flock 9  # one run per root at a time: a second waits for the first

  if [ ! -e "$root/.jointflow-root" ]; then make_root; fi
  trap unmount_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mount_into /proc -t proc proc
  mount_into /sys --rbind /sys
  mount_into /dev --rbind /dev
  mount_into /src/jointflow --bind "$source_dir"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

  install_packages
  if [ "$variant" = cuda ]; then bash "$source_dir/scripts/cudnn-placeholder.sh" "$root"; fi
  if [ "${2:-}" = prepare ]; then
    say "root $root is ready"
    return 0
  fi
  build_and_test
}

main "$@"

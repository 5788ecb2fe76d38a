#!/usr/bin/env bash
# Checks that every tracked C++ file is formatted by the repository's .clang-format (Debian
# bookworm's clang-format 14; installed when missing). Lists the files that differ and exits 1;
# `scripts/check-format.sh --fix` formats them in place instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v clang-format >/dev/null || bash scripts/install-deps.sh clang-format >/dev/null

mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  echo "check-format: formatted ${#files[@]} files"
  exit 0
fi
differing=()
for file in "${files[@]}"; do
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || differing+=("$file")
done
if [ ${#differing[@]} -gt 0 ]; then
  printf 'check-format: %s\n' "${differing[@]}" >&2
  echo "check-format: ${#differing[@]} of ${#files[@]} C++ files differ from .clang-format;" \
    "run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: all ${#files[@]} C++ files match .clang-format"

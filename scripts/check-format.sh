#!/usr/bin/env bash
# Fails when any C++ file of the project differs from what clang-format makes of it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
mapfile -t files < <(git ls-files '*.h' '*.cpp' 2>/dev/null || find models platform sw tests bench -name '*.h' -o -name '*.cpp')
if ((${#files[@]} == 0)); then
  echo "format: no C++ files found" >&2
  exit 1
fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"

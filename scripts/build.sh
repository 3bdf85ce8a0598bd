#!/usr/bin/env bash
# Configures and builds one flavour of vbsim: `release` (default) or `sanitize`
# (AddressSanitizer + UndefinedBehaviorSanitizer), every target or only those named.
# Usage: scripts/build.sh [flavour [target...]]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
flavour="${1:-release}"
shift $(( $# > 0 ? 1 : 0 ))
targets=()
for target in "$@"; do
  targets+=(--target "${target}")
done
build_dir="${root}/build/${flavour}"

case "${flavour}" in
  release) options=(-DCMAKE_BUILD_TYPE=Release) ;;
  sanitize) options=(-DCMAKE_BUILD_TYPE=Debug -DVBSIM_SANITIZE=ON) ;;
  *) echo "scripts/build.sh: unknown flavour '${flavour}' (release or sanitize)" >&2; exit 2 ;;
esac

cmake -S "${root}" -B "${build_dir}" "${options[@]}" >/dev/null
cmake --build "${build_dir}" --parallel "$(nproc)" "${targets[@]}"

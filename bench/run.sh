#!/usr/bin/env bash
# Prints the benchmark table of bench/RESULTS.md: every case in its own process, several runs,
# medians. Build first with `scripts/build.sh release` (or point VBSIM_BUILD_DIR at a build).
# Usage: bash bench/run.sh [--runs N] [--smoke]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${VBSIM_BUILD_DIR:-${root}/build/release}"
bench="${build_dir}/bench/vbsim_bench"
vbsim="${build_dir}/platform/vbsim"
if [[ ! -x "${bench}" || ! -x "${vbsim}" ]]; then
  echo "bench/run.sh: ${bench} or ${vbsim} missing: run scripts/build.sh release first" >&2
  exit 2
fi
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
exec "${bench}" suite "$@" --vbsim "${vbsim}" "${root}"/configs/*.yaml

#!/usr/bin/env bash
# The README's first command: install what is missing, build, run the default scenario.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"${root}/scripts/install-deps.sh"
# Only the simulator: the tests and the benchmark are the test command's to build.
"${root}/scripts/build.sh" release vbsim
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
exec "${root}/build/release/platform/vbsim" run "${root}/configs/default.yaml" "$@"

#!/usr/bin/env bash
# The README's first command: install what is missing, build, run the default scenario.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"${root}/scripts/install-deps.sh"
"${root}/scripts/build.sh" release
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
exec "${root}/build/release/platform/vbsim" run "${root}/configs/default.yaml" "$@"

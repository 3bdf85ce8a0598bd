#!/usr/bin/env bash
# Runs every scenario in configs/ and lists the SHA-256 of each output file, so that a
# refactoring can prove it moved nothing, and a change that is meant to alter results
# says exactly which outputs moved. The committed list is tests/scenarios/output-checksums.txt.
#   scripts/output-checksums.sh            print the list for the current build
#   scripts/output-checksums.sh --diff     compare with the committed list (exit 1 when outputs moved)
#   scripts/output-checksums.sh --update   rewrite the committed list
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vbsim="${VBSIM:-${root}/build/release/platform/vbsim}"
list="${root}/tests/scenarios/output-checksums.txt"
mode="${1:-print}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1

for scenario in "${root}"/configs/*.yaml; do
  name="$(basename "${scenario}" .yaml)"
  # A failed check (exit 1) still writes outputs; anything else is a broken run.
  status=0
  "${vbsim}" run "${scenario}" --quiet --out "${work}/${name}" >/dev/null 2>&1 || status=$?
  if [ "${status}" -gt 1 ]; then
    echo "output-checksums: ${name} exited with ${status}" >&2
    exit 2
  fi
done
current="${work}/checksums.txt"
(cd "${work}" && find . -type f ! -name checksums.txt | sed 's|^\./||' | LC_ALL=C sort |
  xargs sha256sum) >"${current}"

case "${mode}" in
  print) cat "${current}" ;;
  --update) cp "${current}" "${list}" && echo "updated ${list#"${root}"/}" ;;
  --diff)
    if diff -u "${list}" "${current}"; then echo "no output moved"; else exit 1; fi ;;
  *) echo "usage: scripts/output-checksums.sh [--diff|--update]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The cost of a large local sweep: 1,000 variants (a seeds list) of a 200 ms one-guest scenario,
# run with --jobs N; prints the wall time, the sweep process's peak memory and the wall time per
# variant, next to one `vbsim run` of the same scenario. Usage: bash bench/sweep-overhead.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vbsim="${VBSIM_BUILD_DIR:-${root}/build/release}/platform/vbsim"
jobs="${1:-$(nproc)}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
cat >"${work}/base.yaml" <<'YAML'
name: base
duration: 200ms
guests:
  - {name: vm0, ram: 64MiB}
host:
  ram: 128MiB
  policy:
    kind: timeline
    timeline:
      - {at: 10ms, guest: vm0, balloon: 16MiB}
output:
  sample_interval: 10ms
  files: [summary.json]
YAML
{
  echo "name: thousand"
  echo "base: base.yaml"
  printf 'seeds: ['; seq -s ', ' 1 1000 | tr -d '\n'; echo ']'
} >"${work}/sweep.yaml"
one="$( { /usr/bin/time -f '%e' "${vbsim}" run "${work}/base.yaml" --out "${work}/one" --quiet; } 2>&1 )"
/usr/bin/time -f '%e %M' -o "${work}/time" \
  "${vbsim}" sweep run "${work}/sweep.yaml" --out "${work}/out" --jobs "${jobs}" --quiet
read -r wall rss_kb <"${work}/time"
echo "1000 variants, --jobs ${jobs}: ${wall} s wall, sweep process peak ${rss_kb} KB;" \
  "$(awk -v w="${wall}" -v j="${jobs}" 'BEGIN{printf "%.1f ms", 1000*w*j/1000}') per variant per job;" \
  "one vbsim run alone: ${one} s"

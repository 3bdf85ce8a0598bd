#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan/UBSan) and fuzzes each for the given number
# of seconds (default 60): the virtio-mmio balloon (random register traffic and guest memory)
# and the scenario loader with --set overrides (seeded with configs/).
# Usage: scripts/fuzz.sh [seconds per target]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build_dir="${root}/build/fuzz"
cmake -S "${root}" -B "${build_dir}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVBSIM_FUZZ=ON -DVBSIM_SANITIZE=ON -DVBSIM_BUILD_TESTS=OFF >/dev/null
cmake --build "${build_dir}" --target virtio_balloon_fuzzer scenario_loader_fuzzer \
  --parallel "$(nproc)"
# Leaks are checked by the unit tests; the fuzzers keep one elaboration alive on purpose.
export ASAN_OPTIONS=detect_leaks=0
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
cd "${build_dir}"

fuzz() {
  local target="$1" corpus="$2"
  shift 2
  mkdir -p "${corpus}"
  "${build_dir}/tests/fuzz/${target}" -max_total_time="${seconds}" -rss_limit_mb=4096 \
    -print_final_stats=1 "$@" "${corpus}" 2>&1 | grep -v '^#[0-9]' | tail -n 20
  echo "fuzz: ${target}: ${seconds} s without a crash"
}

fuzz virtio_balloon_fuzzer "${build_dir}/corpus"
# The shipped scenarios are the seeds; libFuzzer mutates them (and appends overrides).
loader_corpus="${build_dir}/corpus-loader"
mkdir -p "${loader_corpus}"
cp "${root}"/configs/*.yaml "${loader_corpus}/"
fuzz scenario_loader_fuzzer "${loader_corpus}" -max_len=16384 -timeout=10

#!/usr/bin/env bash
# Builds the libFuzzer target with clang (+ASan/UBSan) and fuzzes the virtio-mmio
# balloon for the given number of seconds (default 60). Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build_dir="${root}/build/fuzz"
cmake -S "${root}" -B "${build_dir}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVBSIM_FUZZ=ON -DVBSIM_SANITIZE=ON -DVBSIM_BUILD_TESTS=OFF >/dev/null
cmake --build "${build_dir}" --target virtio_balloon_fuzzer --parallel "$(nproc)"
corpus="${build_dir}/corpus"
mkdir -p "${corpus}"
# Leaks are checked by the unit tests; the fuzzer keeps one elaboration alive on purpose.
export ASAN_OPTIONS=detect_leaks=0
cd "${build_dir}"
"${build_dir}/tests/fuzz/virtio_balloon_fuzzer" -max_total_time="${seconds}" -rss_limit_mb=4096 \
  -print_final_stats=1 "${corpus}" 2>&1 | grep -v '^#[0-9]' | tail -n 20
echo "fuzz: ${seconds} s without a crash"

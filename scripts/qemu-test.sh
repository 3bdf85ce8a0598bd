#!/usr/bin/env bash
# The sw/ balloon driver on a device nobody here wrote: builds firmware/riscv-virt (the same
# sw/ sources, bare-metal riscv64) and runs tests/qemu/qemu_balloon_test.py against
# qemu-system-riscv64's virtio-balloon, legacy and modern transport, then again with
# free-page-reporting=on (the guest's reports must show in QEMU's trace), then the poison
# firmware (vbsim-firmware-poison.elf, a guest that poisons its free pages) with page-poison=on
# (QEMU must keep the reported pages). Extra arguments go to the test script (e.g. --mode
# legacy --keep-logs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${root}/build/riscv-virt"
"${root}/scripts/install-deps.sh"

cmake -S "${root}/firmware/riscv-virt" -B "${build_dir}" \
  -DCMAKE_TOOLCHAIN_FILE="${root}/firmware/riscv-virt/toolchain-riscv64.cmake" >/dev/null
cmake --build "${build_dir}" --parallel "$(nproc)"
python3 "${root}/tests/qemu/qemu_balloon_test.py" --firmware "${build_dir}/vbsim-firmware.elf" \
  --json "${build_dir}/qemu-balloon-results.json" "$@"
# Free page reporting against QEMU's reporting_vq (free-page-reporting=on), both transports;
# then with free-page-hint=on too, which moves reporting_vq from queue 3 to queue 4.
python3 "${root}/tests/qemu/qemu_balloon_test.py" --firmware "${build_dir}/vbsim-firmware.elf" \
  --json "${build_dir}/qemu-balloon-reporting-results.json" --reporting "$@"
python3 "${root}/tests/qemu/qemu_balloon_test.py" --firmware "${build_dir}/vbsim-firmware.elf" \
  --json "${build_dir}/qemu-balloon-reporting-hint-results.json" --reporting --hint "$@"
# Page poisoning: the poison firmware negotiates PAGE_POISON and writes poison_val =
# 0xaaaaaaaa; its reports must arrive and QEMU must discard none of them (both transports).
python3 "${root}/tests/qemu/qemu_balloon_test.py" \
  --firmware "${build_dir}/vbsim-firmware-poison.elf" \
  --json "${build_dir}/qemu-balloon-poison-results.json" --poison "$@"

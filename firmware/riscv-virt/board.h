#pragma once

// Addresses of QEMU's `virt` machine (hw/riscv/virt.c, QEMU 7.2) that the firmware uses.
// Run with `-M virt -bios none -m 128M`: RAM must match kRamBytes and linker.ld.

#include <stdint.h>

namespace vbsim::fw::board {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamBytes = uint64_t{128} << 20;  // -m 128M
constexpr uint64_t kRamEnd = kRamBase + kRamBytes;

constexpr uint64_t kSifiveTest = 0x00100000;  // write 0x5555 = pass, (code << 16) | 0x3333 = fail
constexpr uint64_t kClintMtime = 0x0200BFF8;  // 64-bit free-running counter
constexpr uint64_t kMtimeHz = 10'000'000;     // the virt machine's timebase
constexpr uint64_t kUart0 = 0x10000000;       // NS16550A, byte registers
constexpr uint64_t kVirtioMmioBase = 0x10001000;
constexpr uint64_t kVirtioMmioStride = 0x1000;
constexpr unsigned kVirtioMmioSlots = 8;

}  // namespace vbsim::fw::board

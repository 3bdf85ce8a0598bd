#pragma once

// Ending the run: the firmware stops QEMU through the virt machine's SiFive test device, so
// the host sees the guest's verdict as QEMU's exit status.

#include <stdint.h>

namespace vbsim::fw {

// 0 = pass (QEMU exits 0); anything else = fail, QEMU exits with `code` (1..0xffff).
[[noreturn]] void exit_qemu(unsigned code);
// Prints "firmware: PANIC <why>" and fails with `code`.
[[noreturn]] void panic(const char* why, unsigned code);

}  // namespace vbsim::fw

extern "C" {
// crt0: main returned `code`.
[[noreturn]] void fw_exit(int code);
// crt0: an exception (or an interrupt nobody enabled) reached the trap vector.
[[noreturn]] void fw_trap(uint64_t mcause, uint64_t mepc, uint64_t mtval);
}

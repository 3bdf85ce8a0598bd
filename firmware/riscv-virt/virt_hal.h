#pragma once

// sw::hal::Hal on QEMU's virt machine, machine mode, no MMU: device registers are plain
// volatile 32-bit or 8-bit accesses, RAM is identity-mapped (ram_read/ram_write are memcpy), the
// barrier is `fence iorw, iorw`, time is the CLINT's mtime (10 MHz) in nanoseconds.
//
// No interrupts are used. arm_timer()/cancel_timer() only record the deadline: the main
// loop polls, and guest::Kernel::run_once() fires due timers by comparing now_ns() itself.
// Likewise the virtio interrupt is polled: the main loop reads the device's
// InterruptStatus and calls Kernel::interrupt(line) while it is non-zero.

#include <stddef.h>
#include <stdint.h>

#include "sw/hal/hal.h"

namespace vbsim::fw {

class VirtHal final : public sw::hal::Hal {
  public:
    uint32_t mmio_read32(uint64_t physical_address) override;
    void mmio_write32(uint64_t physical_address, uint32_t value) override;
    uint8_t mmio_read8(uint64_t physical_address) override;
    void mmio_write8(uint64_t physical_address, uint8_t value) override;
    void ram_read(uint64_t physical_address, void* destination, size_t length) override;
    void ram_write(uint64_t physical_address, const void* source, size_t length) override;
    // The guest's first write to fresh pages: zero them (only sw::guest::Workload calls it,
    // and the firmware runs no workload).
    void touch_memory(uint64_t physical_address, uint64_t length) override;
    void memory_barrier() override;
    uint64_t now_ns() override;
    void arm_timer(uint64_t deadline_ns) override { deadline_ns_ = deadline_ns; }
    void cancel_timer() override { deadline_ns_ = UINT64_MAX; }
    void cpu_cost(uint64_t /*nanoseconds*/) override {}

    // The deadline the kernel last asked for (UINT64_MAX: none); informational.
    uint64_t timer_deadline_ns() const { return deadline_ns_; }
    uint64_t mmio_reads() const { return mmio_reads_; }
    uint64_t mmio_writes() const { return mmio_writes_; }

    // Records the driver's writes to the 4-byte register at `physical_address` (one 32-bit
    // write, or bytes on a legacy config space), merged into one le32 value: what the driver
    // wrote, as the device saw it. The poison build watches poison_val.
    void watch_register(uint64_t physical_address) {
        watching_ = true;
        watch_address_ = physical_address;
        watch_value_ = 0;
        watch_writes_ = 0;
    }
    uint32_t watched_value() const { return watch_value_; }
    uint64_t watched_writes() const { return watch_writes_; }

  private:
    uint64_t deadline_ns_ = UINT64_MAX;
    bool watching_ = false;
    uint64_t watch_address_ = 0;
    uint32_t watch_value_ = 0;
    uint64_t watch_writes_ = 0;
    uint64_t mmio_reads_ = 0;
    uint64_t mmio_writes_ = 0;
};

}  // namespace vbsim::fw

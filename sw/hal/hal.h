#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vbsim::sw::hal {

// The only door from guest software to hardware. On a real board each call is a
// volatile access or a timer register; under SystemC, platform::GuestCpu binds it
// to TLM transactions and simulated time.
class Hal {
  public:
    // Device registers: 32-bit accesses at a physical address.
    virtual uint32_t mmio_read32(uint64_t physical_address) = 0;
    virtual void mmio_write32(uint64_t physical_address, uint32_t value) = 0;
    // 8-bit accesses: the legacy (Version 1) config space is read and written a byte at a
    // time, as Linux does.
    virtual uint8_t mmio_read8(uint64_t physical_address) = 0;
    virtual void mmio_write8(uint64_t physical_address, uint8_t value) = 0;

    // Guest RAM (rings, PFN and stats buffers) at a physical address.
    virtual void ram_read(uint64_t physical_address, void* destination, size_t length) = 0;
    virtual void ram_write(uint64_t physical_address, const void* source, size_t length) = 0;

    // First use of fresh pages by guest software (the workload): on hardware the guest
    // writes them; under SystemC the platform marks them resident in the host without
    // storing bytes nobody reads back.
    virtual void touch_memory(uint64_t physical_address, uint64_t length) = 0;
    // Guest software using `bytes` of the memory it already holds, pages unspecified (a
    // workload's touch phase). Nothing to do on hardware; a simulated host that swapped some
    // of the guest's memory out reads a share of it back here (that time passes in the call).
    virtual void touch_held_memory(uint64_t bytes) { (void)bytes; }

    // Orders RAM writes before the MMIO write that publishes them.
    virtual void memory_barrier() = 0;

    // Nanoseconds since boot.
    virtual uint64_t now_ns() = 0;
    // Arms the single one-shot timer; a later call replaces the deadline.
    virtual void arm_timer(uint64_t deadline_ns) = 0;
    virtual void cancel_timer() = 0;

    // Accounts `nanoseconds` of guest CPU work; a no-op on real hardware.
    virtual void cpu_cost(uint64_t nanoseconds) = 0;

  protected:
    ~Hal() = default;
};

}  // namespace vbsim::sw::hal

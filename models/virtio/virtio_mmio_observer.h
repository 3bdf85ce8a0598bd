#pragma once

#include <cstddef>
#include <cstdint>

#include <systemc>

namespace vbsim::models {

// What a VirtioMmio transport reports, as it happens, to an optional observer (the platform's
// register and transaction trace). `at` is the access's own time: the simulation time plus the
// initiator's annotated delay. Without an observer the transport pays one pointer test per
// event.
class VirtioMmioObserver {
  public:
    // A register or config-space access that completed (value as read or written).
    virtual void register_access(bool write, uint32_t offset, unsigned int width_bytes,
                                 uint32_t value, const sc_core::sc_time& at) = 0;
    // QueueNotify for `queue`.
    virtual void queue_notified(uint32_t queue, const sc_core::sc_time& at) = 0;
    // InterruptStatus bits (spec::mmio::kInterruptUsedBuffer, kInterruptConfigChange) that
    // became set, and those the driver acknowledged.
    virtual void interrupt_raised(uint32_t bits, const sc_core::sc_time& at) = 0;
    virtual void interrupt_acked(uint32_t bits, const sc_core::sc_time& at) = 0;
    // One device DMA transfer into or out of guest memory (a burst or a DMI copy).
    virtual void dma(bool write, uint64_t address, size_t bytes, const sc_core::sc_time& at) = 0;

  protected:
    ~VirtioMmioObserver() = default;
};

}  // namespace vbsim::models

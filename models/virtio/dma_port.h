#pragma once

#include <cstddef>
#include <cstdint>

#include <systemc>

namespace vbsim::models {

// How a device reaches guest memory. The virtio-mmio transport implements it over
// its TLM initiator socket (DMI when granted); tests implement it over a buffer.
// Each call adds the access time to `delay` and returns false when the access
// failed (address outside guest RAM: a TLM error response), having touched nothing
// of `data` beyond what was transferred.
class DmaPort {
  public:
    virtual bool dma_read(uint64_t address, void* data, size_t length, sc_core::sc_time& delay) = 0;
    virtual bool dma_write(uint64_t address, const void* data, size_t length,
                           sc_core::sc_time& delay) = 0;

  protected:
    ~DmaPort() = default;
};

}  // namespace vbsim::models

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>

#include "models/virtio/dma_port.h"

namespace vbsim::models {

// Where the driver put a queue's three parts, and what was negotiated for it.
struct VirtqueueLayout {
    uint32_t size = 0;  // entries; a power of two, 1..32768
    uint64_t descriptor_table = 0;
    uint64_t avail_ring = 0;
    uint64_t used_ring = 0;
    bool event_idx = false;  // RING_EVENT_IDX negotiated
    bool indirect = false;   // RING_INDIRECT_DESC negotiated
};

// One guest buffer of a descriptor chain.
struct VirtqueueBuffer {
    uint64_t address = 0;
    uint32_t length = 0;
    bool device_writable = false;
};

// A descriptor chain the driver made available, flattened (indirect tables expanded),
// in chain order: all device-readable buffers come before device-writable ones.
struct DescriptorChain {
    uint16_t head = 0;
    std::vector<VirtqueueBuffer> buffers;

    uint64_t readable_bytes() const;
    uint64_t writable_bytes() const;
};

// The device side of a split virtqueue: reads the avail ring and descriptor chains
// through a DmaPort and writes used elements. It never trusts the driver: anything
// malformed makes the queue `broken()` with a reason, after which it does nothing.
class SplitVirtqueue {
  public:
    enum class Fetch { kEmpty, kChain, kBroken };

    SplitVirtqueue(DmaPort& dma, const VirtqueueLayout& layout);

    const VirtqueueLayout& layout() const { return layout_; }

    // Takes the next available chain. kEmpty when the driver has published nothing
    // new; kBroken (see broken_reason()) when the ring or chain is malformed: a
    // descriptor index >= size, a chain longer than the queue (a loop), a
    // zero-length buffer, a readable buffer after a writable one, a bad indirect
    // table (not negotiated, nested, with NEXT, length not a multiple of 16, more
    // entries than the queue size), an
    // avail index that ran more than `size` ahead, or a DMA error.
    Fetch next_chain(DescriptorChain& chain, sc_core::sc_time& delay);

    // Copies up to `length` bytes of the chain's device-readable part, from `offset`,
    // into `data`. Returns the bytes copied, or -1 (and breaks the queue) on DMA error;
    // -1 without any access once the queue is broken.
    int64_t read_chain(const DescriptorChain& chain, uint64_t offset, void* data, uint64_t length,
                       sc_core::sc_time& delay);
    // Copies into the chain's device-writable part; same conventions.
    int64_t write_chain(const DescriptorChain& chain, uint64_t offset, const void* data,
                        uint64_t length, sc_core::sc_time& delay);

    // Returns a chain to the driver: writes the used element {head, written} and then
    // the used index. False (and broken) on DMA error.
    bool push_used(uint16_t head, uint32_t written, sc_core::sc_time& delay);

    // Whether the driver wants an interrupt for the used elements pushed since the
    // last call (avail flags NO_INTERRUPT, or used_event with EVENT_IDX).
    bool should_interrupt(sc_core::sc_time& delay);

    // Chains taken but not yet returned.
    uint32_t in_flight() const { return in_flight_; }
    uint16_t last_avail_index() const { return last_avail_; }
    uint16_t used_index() const { return used_index_; }

    bool broken() const { return broken_; }
    const std::string& broken_reason() const { return broken_reason_; }

  private:
    bool fail(const std::string& reason);
    // Reads one descriptor (le64 addr, le32 len, le16 flags, le16 next) at `address`.
    bool read_descriptor(uint64_t address, uint64_t& buffer_address, uint32_t& length,
                         uint16_t& flags, uint16_t& next, sc_core::sc_time& delay);
    bool append_indirect(uint64_t table, uint32_t table_bytes, DescriptorChain& chain,
                         bool& seen_writable, sc_core::sc_time& delay);
    // EVENT_IDX: tells the driver which avail index to notify for (used->avail_event).
    bool write_avail_event(uint16_t value, sc_core::sc_time& delay);
    // read_chain (`writable` false, into `read_into`) and write_chain (`writable` true,
    // from `write_from`).
    int64_t copy_chain(const DescriptorChain& chain, bool writable, uint64_t offset,
                       uint8_t* read_into, const uint8_t* write_from, uint64_t length,
                       sc_core::sc_time& delay);

    DmaPort& dma_;
    VirtqueueLayout layout_;
    uint16_t last_avail_ = 0;
    uint16_t used_index_ = 0;
    uint16_t last_signalled_used_ = 0;
    uint32_t in_flight_ = 0;
    bool broken_ = false;
    std::string broken_reason_;
    DescriptorChain scratch_;  // next_chain() builds here
};

}  // namespace vbsim::models

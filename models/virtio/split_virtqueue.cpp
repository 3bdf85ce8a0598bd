#include "models/virtio/split_virtqueue.h"

#include <limits>
#include <sstream>
#include <utility>

#include "spec/little_endian.h"
#include "spec/virtio.h"

namespace vbsim::models {

namespace vring = spec::vring;
using spec::load_le16;
using spec::load_le32;
using spec::load_le64;
using spec::store_le16;
using spec::store_le32;

namespace {

std::string hex(uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

// True when [address, address + length) does not wrap past the top of the address space,
// so that address arithmetic inside the range never lands in low memory.
bool fits(uint64_t address, uint64_t length) {
    return length == 0 || length - 1 <= std::numeric_limits<uint64_t>::max() - address;
}

bool is_valid_size(uint32_t size) {
    return size >= 1 && size <= vring::kMaxSize && (size & (size - 1)) == 0;
}

// Checks that apply to every buffer descriptor, direct or inside an indirect table.
// Returns an empty string when the buffer is acceptable.
std::string check_buffer(uint64_t address, uint32_t length, bool writable, bool seen_writable) {
    if (length == 0) {
        return "zero-length buffer";
    }
    if (!fits(address, length)) {
        return "buffer at " + hex(address) + " wraps past the end of the address space";
    }
    if (!writable && seen_writable) {
        return "device-readable buffer after a device-writable one";
    }
    return {};
}

}  // namespace

uint64_t DescriptorChain::readable_bytes() const {
    uint64_t total = 0;
    for (const VirtqueueBuffer& buffer : buffers) {
        if (!buffer.device_writable) {
            total += buffer.length;
        }
    }
    return total;
}

uint64_t DescriptorChain::writable_bytes() const {
    uint64_t total = 0;
    for (const VirtqueueBuffer& buffer : buffers) {
        if (buffer.device_writable) {
            total += buffer.length;
        }
    }
    return total;
}

SplitVirtqueue::SplitVirtqueue(DmaPort& dma, const VirtqueueLayout& layout)
    : dma_(dma), layout_(layout) {
    if (!is_valid_size(layout_.size)) {
        fail("queue size " + std::to_string(layout_.size) + " is not a power of two in 1.." +
             std::to_string(vring::kMaxSize));
        return;
    }
    // A ring that wraps past 2^64 would make index arithmetic land in unrelated memory.
    if (!fits(layout_.descriptor_table, vring::descriptor_table_bytes(layout_.size))) {
        fail("descriptor table at " + hex(layout_.descriptor_table) +
             " wraps past the end of the address space");
    } else if (!fits(layout_.avail_ring, vring::avail_ring_bytes(layout_.size))) {
        fail("avail ring at " + hex(layout_.avail_ring) +
             " wraps past the end of the address space");
    } else if (!fits(layout_.used_ring, vring::used_ring_bytes(layout_.size))) {
        fail("used ring at " + hex(layout_.used_ring) + " wraps past the end of the address space");
    }
}

bool SplitVirtqueue::fail(const std::string& reason) {
    // Keep the first reason: later failures are usually consequences of it.
    if (!broken_) {
        broken_ = true;
        broken_reason_ = reason;
    }
    return false;
}

bool SplitVirtqueue::read_descriptor(uint64_t address, uint64_t& buffer_address, uint32_t& length,
                                     uint16_t& flags, uint16_t& next, sc_core::sc_time& delay) {
    uint8_t bytes[vring::kDescriptorSize];
    if (!dma_.dma_read(address, bytes, sizeof(bytes), delay)) {
        return fail("DMA error reading a descriptor at " + hex(address));
    }
    buffer_address = load_le64(bytes);
    length = load_le32(bytes + 8);
    flags = load_le16(bytes + 12);
    next = load_le16(bytes + 14);
    return true;
}

bool SplitVirtqueue::append_indirect(uint64_t table, uint32_t table_bytes, DescriptorChain& chain,
                                     bool& seen_writable, sc_core::sc_time& delay) {
    if (!layout_.indirect) {
        return fail("indirect descriptor without RING_INDIRECT_DESC negotiated");
    }
    if (table_bytes % vring::kDescriptorSize != 0) {
        return fail("indirect table length " + std::to_string(table_bytes) +
                    " is not a multiple of " + std::to_string(vring::kDescriptorSize));
    }
    if (!fits(table, table_bytes)) {
        return fail("indirect table at " + hex(table) + " wraps past the end of the address space");
    }
    const uint32_t entries = table_bytes / vring::kDescriptorSize;
    if (entries > layout_.size) {
        // A chain may not be longer than the queue, indirect or not (spec, split virtqueues).
        return fail("indirect table at " + hex(table) + " has " + std::to_string(entries) +
                    " descriptors, more than the queue size " + std::to_string(layout_.size));
    }
    uint32_t index = 0;
    // Each entry may be visited once; one more means the `next` links form a loop.
    for (uint32_t visited = 1;; ++visited) {
        if (visited > entries) {
            return fail("indirect table at " + hex(table) + " loops (more than " +
                        std::to_string(entries) + " entries)");
        }
        const uint64_t entry_address = table + uint64_t{index} * vring::kDescriptorSize;
        uint64_t address = 0;
        uint32_t length = 0;
        uint16_t flags = 0;
        uint16_t next = 0;
        if (!read_descriptor(entry_address, address, length, flags, next, delay)) {
            return false;
        }
        if ((flags & vring::kDescFlagIndirect) != 0) {
            return fail("nested indirect descriptor in the table at " + hex(table));
        }
        const bool writable = (flags & vring::kDescFlagWrite) != 0;
        const std::string problem = check_buffer(address, length, writable, seen_writable);
        if (!problem.empty()) {
            return fail(problem + " in indirect entry " + std::to_string(index) +
                        " of the table at " + hex(table));
        }
        seen_writable = seen_writable || writable;
        chain.buffers.push_back(VirtqueueBuffer{address, length, writable});
        if ((flags & vring::kDescFlagNext) == 0) {
            return true;
        }
        if (next >= entries) {
            return fail("indirect entry " + std::to_string(index) + " links to entry " +
                        std::to_string(next) + " of a table of " + std::to_string(entries));
        }
        index = next;
    }
}

SplitVirtqueue::Fetch SplitVirtqueue::next_chain(DescriptorChain& chain, sc_core::sc_time& delay) {
    chain.head = 0;
    chain.buffers.clear();
    // Built aside so that a malformed chain never reaches the caller half-filled; in a member
    // that trades storage with the caller's chain, so a caller that keeps its chain across
    // calls allocates nothing.
    DescriptorChain& taken = scratch_;
    taken.head = 0;
    taken.buffers.clear();
    if (broken_) {
        return Fetch::kBroken;
    }
    const uint32_t size = layout_.size;

    uint8_t word[2];
    const uint64_t avail_idx_address = layout_.avail_ring + vring::kAvailIdxOffset;
    if (!dma_.dma_read(avail_idx_address, word, sizeof(word), delay)) {
        fail("DMA error reading avail idx at " + hex(avail_idx_address));
        return Fetch::kBroken;
    }
    const uint16_t avail_idx = load_le16(word);
    if (avail_idx == last_avail_) {
        // Ask for a notification when the driver publishes the next buffer.
        if (layout_.event_idx && !write_avail_event(last_avail_, delay)) {
            return Fetch::kBroken;
        }
        return Fetch::kEmpty;
    }
    const uint16_t pending = static_cast<uint16_t>(avail_idx - last_avail_);
    if (pending > size) {
        fail("avail index ran " + std::to_string(pending) + " ahead of a queue of size " +
             std::to_string(size));
        return Fetch::kBroken;
    }

    const uint64_t slot_address =
        layout_.avail_ring + vring::kAvailRingOffset + uint64_t{2} * (last_avail_ & (size - 1));
    if (!dma_.dma_read(slot_address, word, sizeof(word), delay)) {
        fail("DMA error reading avail ring entry at " + hex(slot_address));
        return Fetch::kBroken;
    }
    const uint16_t head = load_le16(word);
    if (head >= size) {
        fail("avail ring entry " + std::to_string(last_avail_ & (size - 1)) + " names descriptor " +
             std::to_string(head) + " of a queue of size " + std::to_string(size));
        return Fetch::kBroken;
    }

    taken.head = head;
    bool seen_writable = false;
    uint16_t index = head;
    // A well-formed chain uses each descriptor at most once, so `size` bounds its length.
    for (uint32_t visited = 1;; ++visited) {
        if (visited > size) {
            fail("descriptor chain from head " + std::to_string(head) +
                 " loops (longer than the queue size " + std::to_string(size) + ")");
            return Fetch::kBroken;
        }
        const uint64_t descriptor_address =
            layout_.descriptor_table + uint64_t{index} * vring::kDescriptorSize;
        uint64_t address = 0;
        uint32_t length = 0;
        uint16_t flags = 0;
        uint16_t next = 0;
        if (!read_descriptor(descriptor_address, address, length, flags, next, delay)) {
            return Fetch::kBroken;
        }
        if ((flags & vring::kDescFlagIndirect) != 0) {
            if (length == 0) {
                fail("zero-length indirect table in descriptor " + std::to_string(index));
                return Fetch::kBroken;
            }
            if ((flags & vring::kDescFlagNext) != 0) {
                fail("descriptor " + std::to_string(index) + " sets both INDIRECT and NEXT");
                return Fetch::kBroken;
            }
            // The WRITE flag of the descriptor naming the table is ignored (spec).
            if (!append_indirect(address, length, taken, seen_writable, delay)) {
                return Fetch::kBroken;
            }
            break;
        }
        const bool writable = (flags & vring::kDescFlagWrite) != 0;
        const std::string problem = check_buffer(address, length, writable, seen_writable);
        if (!problem.empty()) {
            fail(problem + " in descriptor " + std::to_string(index));
            return Fetch::kBroken;
        }
        seen_writable = seen_writable || writable;
        taken.buffers.push_back(VirtqueueBuffer{address, length, writable});
        if ((flags & vring::kDescFlagNext) == 0) {
            break;
        }
        if (next >= size) {
            fail("descriptor " + std::to_string(index) + " links to descriptor " +
                 std::to_string(next) + " of a queue of size " + std::to_string(size));
            return Fetch::kBroken;
        }
        index = next;
    }

    const uint16_t new_last_avail = static_cast<uint16_t>(last_avail_ + 1);
    if (layout_.event_idx && !write_avail_event(new_last_avail, delay)) {
        return Fetch::kBroken;
    }
    last_avail_ = new_last_avail;
    ++in_flight_;
    chain.head = taken.head;
    chain.buffers.swap(taken.buffers);
    return Fetch::kChain;
}

bool SplitVirtqueue::write_avail_event(uint16_t value, sc_core::sc_time& delay) {
    uint8_t word[2];
    store_le16(word, value);
    const uint64_t address = layout_.used_ring + vring::used_avail_event_offset(layout_.size);
    if (!dma_.dma_write(address, word, sizeof(word), delay)) {
        return fail("DMA error writing avail_event at " + hex(address));
    }
    return true;
}

int64_t SplitVirtqueue::copy_chain(const DescriptorChain& chain, bool writable, uint64_t offset,
                                   uint8_t* read_into, const uint8_t* write_from, uint64_t length,
                                   sc_core::sc_time& delay) {
    if (broken_) {
        return -1;
    }
    uint64_t copied = 0;
    for (const VirtqueueBuffer& buffer : chain.buffers) {
        if (copied == length) {
            break;
        }
        if (buffer.device_writable != writable) {
            continue;
        }
        if (offset >= buffer.length) {
            offset -= buffer.length;
            continue;
        }
        const uint64_t available = buffer.length - offset;
        const uint64_t chunk = available < length - copied ? available : length - copied;
        const uint64_t address = buffer.address + offset;
        // The device writes exactly the device-writable buffers and reads the others.
        const bool ok = writable ? dma_.dma_write(address, write_from + copied, chunk, delay)
                                 : dma_.dma_read(address, read_into + copied, chunk, delay);
        if (!ok) {
            fail(std::string("DMA error ") + (writable ? "writing" : "reading") + " " +
                 std::to_string(chunk) + " bytes of a buffer at " + hex(address) + " (chain head " +
                 std::to_string(chain.head) + ")");
            return -1;
        }
        copied += chunk;
        offset = 0;
    }
    return static_cast<int64_t>(copied);
}

int64_t SplitVirtqueue::read_chain(const DescriptorChain& chain, uint64_t offset, void* data,
                                   uint64_t length, sc_core::sc_time& delay) {
    return copy_chain(chain, false, offset, static_cast<uint8_t*>(data), nullptr, length, delay);
}

int64_t SplitVirtqueue::write_chain(const DescriptorChain& chain, uint64_t offset, const void* data,
                                    uint64_t length, sc_core::sc_time& delay) {
    return copy_chain(chain, true, offset, nullptr, static_cast<const uint8_t*>(data), length,
                      delay);
}

bool SplitVirtqueue::push_used(uint16_t head, uint32_t written, sc_core::sc_time& delay) {
    if (broken_) {
        return false;
    }
    uint8_t element[vring::kUsedElementSize];
    store_le32(element, head);
    store_le32(element + 4, written);
    const uint64_t element_address =
        layout_.used_ring + vring::kUsedRingOffset +
        uint64_t{vring::kUsedElementSize} * (used_index_ & (layout_.size - 1));
    if (!dma_.dma_write(element_address, element, sizeof(element), delay)) {
        return fail("DMA error writing used element at " + hex(element_address));
    }
    // The index goes second: once the driver sees it, the element must already be there.
    const uint16_t new_used_index = static_cast<uint16_t>(used_index_ + 1);
    uint8_t word[2];
    store_le16(word, new_used_index);
    const uint64_t idx_address = layout_.used_ring + vring::kUsedIdxOffset;
    if (!dma_.dma_write(idx_address, word, sizeof(word), delay)) {
        return fail("DMA error writing used idx at " + hex(idx_address));
    }
    used_index_ = new_used_index;
    if (in_flight_ > 0) {
        --in_flight_;
    }
    return true;
}

bool SplitVirtqueue::should_interrupt(sc_core::sc_time& delay) {
    if (broken_ || used_index_ == last_signalled_used_) {
        return false;
    }
    const uint16_t old_used = last_signalled_used_;
    last_signalled_used_ = used_index_;

    uint8_t word[2];
    if (layout_.event_idx) {
        // With EVENT_IDX the avail flags are ignored; used_event alone decides.
        const uint64_t address = layout_.avail_ring + vring::avail_used_event_offset(layout_.size);
        if (!dma_.dma_read(address, word, sizeof(word), delay)) {
            return fail("DMA error reading used_event at " + hex(address));
        }
        return vring::need_event(load_le16(word), used_index_, old_used);
    }
    const uint64_t address = layout_.avail_ring;
    if (!dma_.dma_read(address, word, sizeof(word), delay)) {
        return fail("DMA error reading avail flags at " + hex(address));
    }
    return (load_le16(word) & vring::kAvailFlagNoInterrupt) == 0;
}

}  // namespace vbsim::models

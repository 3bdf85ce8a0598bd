#include "sw/virtio/virtqueue.h"

#include "spec/little_endian.h"

namespace vbsim::sw::virtio {

namespace vring = spec::vring;

namespace {

uint16_t read_le16(hal::Hal& hal, uint64_t address) {
    uint8_t bytes[2];
    hal.ram_read(address, bytes, sizeof bytes);
    return spec::load_le16(bytes);
}
void write_le16(hal::Hal& hal, uint64_t address, uint16_t value) {
    uint8_t bytes[2];
    spec::store_le16(bytes, value);
    hal.ram_write(address, bytes, sizeof bytes);
}

}  // namespace

Result Virtqueue::setup(VirtioMmioDevice& device, uint16_t index, uint32_t requested_size,
                        uint64_t ring_base, uint64_t ring_length, Slot* slots, size_t slot_count) {
    if (slots == nullptr || slot_count == 0 || requested_size == 0) {
        return Result::kBadArgument;
    }
    // Never more entries than there are slots to track them.
    const uint32_t limit =
        slot_count < requested_size ? static_cast<uint32_t>(slot_count) : requested_size;
    QueueLayout layout;
    if (const Result result = device.setup_queue(index, limit, ring_base, ring_length, &layout);
        result != Result::kOk) {
        return result;
    }

    device_ = &device;
    layout_ = layout;
    slots_ = slots;
    event_idx_ = device.has_feature(spec::feature::kRingEventIdx);
    interrupts_enabled_ = true;
    error_ = Error::kNone;
    // Free list 0 -> 1 -> ... -> size-1; the last link (size) is never followed because
    // num_free_ bounds every walk.
    for (uint32_t i = 0; i < layout_.size; ++i) {
        slots_[i] = Slot{0, static_cast<uint16_t>(i + 1), 0};
    }
    free_head_ = 0;
    num_free_ = layout_.size;
    in_flight_ = 0;
    avail_idx_ = 0;
    last_used_ = 0;
    added_since_kick_ = 0;
    return Result::kOk;
}

Result Virtqueue::teardown() {
    if (!ready()) {
        return Result::kBadState;
    }
    const Result result = device_->teardown_queue(layout_.index);
    device_ = nullptr;
    slots_ = nullptr;
    num_free_ = 0;
    in_flight_ = 0;
    return result;
}

bool Virtqueue::add_buffer(const Buffer* buffers, uint32_t readable, uint32_t writable,
                           uint64_t token) {
    if (!ready() || broken() || buffers == nullptr) {
        return false;
    }
    const uint64_t count = uint64_t{readable} + writable;
    if (count == 0 || count > num_free_) {
        return false;
    }
    for (uint32_t i = 0; i < count; ++i) {
        if (buffers[i].length == 0) {
            return false;  // devices may reject zero-length descriptors
        }
    }

    // Descriptors are taken from the front of the free list in order, so each one's free-list
    // link is also its chain link.
    const uint16_t head = free_head_;
    uint16_t descriptor = head;
    for (uint32_t i = 0; i < count; ++i) {
        const bool last = i + 1 == count;
        uint16_t flags = last ? 0 : vring::kDescFlagNext;
        if (i >= readable) {
            flags |= vring::kDescFlagWrite;
        }
        uint8_t bytes[vring::kDescriptorSize];
        spec::store_le64(bytes, buffers[i].address);
        spec::store_le32(bytes + 8, buffers[i].length);
        spec::store_le16(bytes + 12, flags);
        spec::store_le16(bytes + 14, last ? 0 : slots_[descriptor].next);
        hal().ram_write(layout_.descriptor_table + uint64_t{descriptor} * vring::kDescriptorSize,
                        bytes, sizeof bytes);
        descriptor = slots_[descriptor].next;
    }
    free_head_ = descriptor;
    num_free_ -= static_cast<uint32_t>(count);
    ++in_flight_;
    slots_[head].token = token;
    slots_[head].chain_length = static_cast<uint16_t>(count);

    const uint16_t position = avail_idx_ & (layout_.size - 1);
    write_le16(hal(), layout_.avail_ring + vring::kAvailRingOffset + uint64_t{2} * position, head);
    // The descriptors and the ring entry must be visible before the index that publishes them.
    hal().memory_barrier();
    ++avail_idx_;
    write_le16(hal(), layout_.avail_ring + vring::kAvailIdxOffset, avail_idx_);
    ++added_since_kick_;
    return true;
}

bool Virtqueue::kick_needed() {
    if (!ready()) {
        return false;
    }
    // Our avail idx store must be visible before we read the device's suppression state, or
    // both sides could decide the other one will act.
    hal().memory_barrier();
    const uint32_t added = added_since_kick_;
    added_since_kick_ = 0;
    if (added == 0) {
        return false;
    }
    if (event_idx_) {
        // After 2^16 additions the 16-bit window cannot tell whether avail_event was passed.
        if (added > 0xffff) {
            return true;
        }
        const uint16_t old_idx = static_cast<uint16_t>(avail_idx_ - added);
        const uint16_t avail_event =
            read_le16(hal(), layout_.used_ring + vring::used_avail_event_offset(layout_.size));
        return vring::need_event(avail_event, avail_idx_, old_idx);
    }
    return (read_le16(hal(), layout_.used_ring) & vring::kUsedFlagNoNotify) == 0;
}

bool Virtqueue::kick() {
    if (!kick_needed()) {
        return false;
    }
    device_->notify(layout_.index);
    return true;
}

uint16_t Virtqueue::read_used_idx() {
    return read_le16(hal(), layout_.used_ring + vring::kUsedIdxOffset);
}

bool Virtqueue::has_used() {
    return ready() && !broken() && read_used_idx() != last_used_;
}

bool Virtqueue::fail(Error error) {
    error_ = error;
    return false;
}

bool Virtqueue::get_used(uint64_t* token, uint32_t* length) {
    if (!ready() || broken()) {
        return false;
    }
    const uint16_t used_idx = read_used_idx();
    if (used_idx == last_used_) {
        return false;
    }
    if (static_cast<uint16_t>(used_idx - last_used_) > in_flight_) {
        return fail(Error::kUsedIndexAhead);
    }
    // The element must not be read before the index that says it is there.
    hal().memory_barrier();
    const uint16_t position = last_used_ & (layout_.size - 1);
    uint8_t element[vring::kUsedElementSize];
    hal().ram_read(
        layout_.used_ring + vring::kUsedRingOffset + uint64_t{vring::kUsedElementSize} * position,
        element, sizeof element);
    const uint32_t id = spec::load_le32(element);
    if (id >= layout_.size) {
        return fail(Error::kUsedIdOutOfRange);
    }
    if (slots_[id].chain_length == 0) {
        return fail(Error::kUsedIdNotInFlight);
    }
    if (token != nullptr) {
        *token = slots_[id].token;
    }
    if (length != nullptr) {
        *length = spec::load_le32(element + 4);
    }
    free_chain(static_cast<uint16_t>(id));
    ++last_used_;
    if (event_idx_ && interrupts_enabled_) {
        // Interrupt us for the next element; the barrier orders this store before any
        // following read of used idx.
        write_used_event(last_used_);
        hal().memory_barrier();
    }
    return true;
}

void Virtqueue::free_chain(uint16_t head) {
    const uint16_t count = slots_[head].chain_length;
    uint16_t last = head;
    for (uint16_t i = 1; i < count; ++i) {
        last = slots_[last].next;
    }
    slots_[last].next = free_head_;
    free_head_ = head;
    num_free_ += count;
    --in_flight_;
    slots_[head].chain_length = 0;
    slots_[head].token = 0;
}

void Virtqueue::write_avail_flags(uint16_t flags) {
    write_le16(hal(), layout_.avail_ring, flags);
}

void Virtqueue::write_used_event(uint16_t value) {
    write_le16(hal(), layout_.avail_ring + vring::avail_used_event_offset(layout_.size), value);
}

void Virtqueue::disable_interrupts() {
    if (!ready() || !interrupts_enabled_) {
        return;
    }
    interrupts_enabled_ = false;
    if (event_idx_) {
        // With EVENT_IDX the avail flags must stay 0; an event index just behind the device
        // keeps it quiet until the 16-bit index wraps.
        write_used_event(static_cast<uint16_t>(last_used_ - 1));
    } else {
        write_avail_flags(vring::kAvailFlagNoInterrupt);
    }
}

bool Virtqueue::enable_interrupts() {
    if (!ready()) {
        return false;
    }
    interrupts_enabled_ = true;
    if (event_idx_) {
        write_used_event(last_used_);
    } else {
        write_avail_flags(0);
    }
    // The device may have added used elements before it saw the store above; they would
    // raise no interrupt, so look for them.
    hal().memory_barrier();
    return has_used();
}

bool Virtqueue::detach_unused(uint64_t* token) {
    if (!ready()) {
        return false;
    }
    for (uint32_t i = 0; i < layout_.size; ++i) {
        if (slots_[i].chain_length != 0) {
            if (token != nullptr) {
                *token = slots_[i].token;
            }
            free_chain(static_cast<uint16_t>(i));
            return true;
        }
    }
    return false;
}

}  // namespace vbsim::sw::virtio

#pragma once

// Driver side of a split virtqueue (virtio 1.2 "Split Virtqueues"). The rings live in guest
// RAM, reached through hal::Hal; the host-side bookkeeping lives in caller-provided slots.
// Bare-metal: no allocation, no exceptions, no standard library.

#include <stddef.h>
#include <stdint.h>

#include "sw/virtio/virtio_mmio_device.h"

namespace vbsim::sw::virtio {

class Virtqueue {
  public:
    // One guest-physical buffer of a chain.
    struct Buffer {
        uint64_t address = 0;
        uint32_t length = 0;
    };

    // Host-side state of one descriptor. Callers only provide storage for slots_for(size)
    // of them; the fields are the queue's business.
    struct Slot {
        uint64_t token;         // at a head in flight: the caller's token
        uint16_t next;          // next descriptor of the chain, or of the free list
        uint16_t chain_length;  // at a head in flight: descriptors in its chain; else 0
    };

    // Why the queue stopped trusting the device (then it hands out nothing more).
    enum class Error : uint8_t {
        kNone,
        kUsedIdOutOfRange,   // a used element's id >= size
        kUsedIdNotInFlight,  // a used element names a descriptor that is not a head in flight
        kUsedIndexAhead,     // used idx moved further than the chains in flight
    };

    static constexpr size_t slots_for(uint32_t size) { return size; }

    Virtqueue() = default;
    Virtqueue(const Virtqueue&) = delete;
    Virtqueue& operator=(const Virtqueue&) = delete;

    // Sets up queue `index` on `device` (VirtioMmioDevice::setup_queue: between begin_init()
    // and driver_ok()) and binds this object to it. The size is the largest power of two
    // <= min(requested_size, QueueNumMax, slot_count). Uses EVENT_IDX if it was negotiated.
    Result setup(VirtioMmioDevice& device, uint16_t index, uint32_t requested_size,
                 uint64_t ring_base, uint64_t ring_length, Slot* slots, size_t slot_count);
    // Tells the device to drop the queue and unbinds this object. Buffers still in flight are
    // forgotten: call detach_unused() first (after a device reset) to get their tokens back.
    Result teardown();
    bool ready() const { return device_ != nullptr; }

    // Makes a chain of `readable` device-readable then `writable` device-writable buffers
    // available and remembers `token` for it. False when the chain is empty, a buffer has
    // length 0, there are not enough free descriptors, or the queue is broken or not set up.
    // The device is not notified: see kick().
    bool add_buffer(const Buffer* buffers, uint32_t readable, uint32_t writable, uint64_t token);

    // Whether the device wants a notification for the buffers added since the last call
    // (without EVENT_IDX: used flags lack NO_NOTIFY; with it: avail_event was passed). Call once
    // per batch: it starts a new batch.
    bool kick_needed();
    // kick_needed() and, if so, QueueNotify. Returns whether it notified.
    bool kick();

    // Takes the next used chain: true with its token and the length the device wrote, and
    // its descriptors back on the free list. False when there is none, or when the device
    // returned something impossible (then broken() and error() say what).
    bool get_used(uint64_t* token, uint32_t* length);
    // Whether the device has returned chains not yet taken with get_used().
    bool has_used();

    // Asks the device not to interrupt for used buffers (a hint: it may still do so).
    void disable_interrupts();
    // Asks for interrupts again. Returns true when used chains are already pending, which the
    // caller must drain since no interrupt will announce them.
    bool enable_interrupts();

    // After a device reset (freeze, remove): returns the token of one chain still in flight
    // and frees it; false when none is left.
    bool detach_unused(uint64_t* token);

    uint32_t size() const { return layout_.size; }
    uint16_t index() const { return layout_.index; }
    const QueueLayout& layout() const { return layout_; }
    uint32_t num_free() const { return num_free_; }
    uint32_t in_flight() const { return in_flight_; }
    bool event_idx() const { return event_idx_; }
    bool broken() const { return error_ != Error::kNone; }
    Error error() const { return error_; }

  private:
    hal::Hal& hal() const { return device_->hal(); }
    uint16_t read_used_idx();
    void write_avail_flags(uint16_t flags);
    void write_used_event(uint16_t value);
    void free_chain(uint16_t head);
    bool fail(Error error);

    VirtioMmioDevice* device_ = nullptr;
    QueueLayout layout_;
    Slot* slots_ = nullptr;
    bool event_idx_ = false;
    bool interrupts_enabled_ = true;
    Error error_ = Error::kNone;
    uint16_t free_head_ = 0;
    uint32_t num_free_ = 0;
    uint32_t in_flight_ = 0;  // chains
    uint16_t avail_idx_ = 0;  // our copy of avail->idx
    uint16_t last_used_ = 0;  // next used element to take
    uint32_t added_since_kick_ = 0;
};

}  // namespace vbsim::sw::virtio

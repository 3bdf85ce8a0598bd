#pragma once

// The driver's view of one virtio-mmio register window (virtio 1.2 "Virtio Over MMIO"),
// modern (Version 2) and legacy (Version 1). Bare-metal: <stdint.h>/<stddef.h> only, no
// exceptions, no allocation; every access goes through hal::Hal.

#include <stddef.h>
#include <stdint.h>

#include "spec/virtio.h"
#include "sw/hal/hal.h"

namespace vbsim::sw::virtio {

// Outcome of a transport operation (no exceptions in sw/).
enum class Result : uint8_t {
    kOk,
    kBadMagic,         // MagicValue is not "virt"
    kBadVersion,       // Version is neither 1 nor 2
    kNoDevice,         // DeviceID 0: a window with nothing behind it
    kWrongDeviceId,    // a device, but not the one the driver handles
    kBadState,         // called out of order (e.g. queue set-up before feature negotiation)
    kResetTimeout,     // Version 2: Status did not read back 0 after the reset write
    kVersion1Missing,  // Version 2 device that does not offer VERSION_1
    kFeaturesRefused,  // FEATURES_OK did not stick: the device rejected the feature subset
    kQueueAbsent,      // QueueNumMax reads 0
    kQueueBusy,        // QueueReady / QueuePFN already set: the queue is in use
    kBadArgument,      // a size or count of 0, a null pointer
    kBadRegion,        // ring region too small, misaligned or not addressable
    kConfigUnstable,   // ConfigGeneration kept changing while reading the config space
};

const char* result_name(Result result);

// Where set-up placed one split virtqueue in guest-physical memory.
struct QueueLayout {
    uint16_t index = 0;
    uint32_t size = 0;  // entries, a power of two
    uint64_t descriptor_table = 0;
    uint64_t avail_ring = 0;  // "driver area"
    uint64_t used_ring = 0;   // "device area"
};

class VirtioMmioDevice {
  public:
    // Legacy devices address queues in pages of GuestPageSize; we use 4 KiB pages and align
    // the used ring to the same boundary (QueueAlign), as Linux does.
    static constexpr uint32_t kGuestPageSize = 4096;
    static constexpr uint32_t kLegacyQueueAlign = spec::vring::kLegacyDefaultAlign;
    // Bounds on the loops that wait for the device; a real device needs one iteration.
    static constexpr uint32_t kResetPollLimit = 1000;
    static constexpr uint32_t kConfigGenerationRetries = 16;

    VirtioMmioDevice(hal::Hal& hal, uint64_t base) : hal_(hal), base_(base) {}

    // Checks MagicValue, Version (1 or 2) and DeviceID (0 = no device) and reads VendorID.
    // With `expected_device_id` != 0, any other id is kWrongDeviceId. Version 1: then writes
    // GuestPageSize, as Linux's virtio_mmio_probe does (once, before the first reset).
    Result probe(uint32_t expected_device_id);
    uint32_t version() const { return version_; }
    bool legacy() const { return version_ == spec::mmio::kVersionLegacy; }
    uint32_t device_id() const { return device_id_; }
    uint32_t vendor_id() const { return vendor_id_; }
    // What the transport redoes on resume before the driver's init (Linux's
    // virtio_mmio_restore): Version 1 writes GuestPageSize again; Version 2 has nothing.
    void restore_transport();

    // First half of initialisation, in Linux 6.1's order: reset, ACKNOWLEDGE, DRIVER, device
    // features (high word, then low), driver features, and (Version 2) FEATURES_OK. Every
    // status bit is set by reading Status, then writing it (virtio_add_status).
    // `known_features` is everything the driver knows (its feature table, plus the ring bits
    // RING_EVENT_IDX, RING_INDIRECT_DESC, ACCESS_PLATFORM it recognises): known ∩ device is
    // written first. `used_features` is what it keeps of those after validation (ring bits:
    // only RING_EVENT_IDX and RING_INDIRECT_DESC); when that set differs it is written again,
    // as Linux's virtio_dev_probe does after drv->validate, and it is what gets negotiated.
    // VERSION_1 is added for Version 2 and withheld for Version 1. On failure FAILED is set.
    // Queue set-up follows, then driver_ok().
    Result begin_init(uint64_t known_features, uint64_t used_features);
    // The same, with the driver's validate step (Linux's drv->validate): `validate` gets the
    // features that would be negotiated and returns what the driver keeps of them.
    using FeatureValidator = uint64_t (*)(void* context, uint64_t features);
    Result begin_init(uint64_t known_features, uint64_t used_features, FeatureValidator validate,
                      void* context);
    // One feature set, written once (Linux's restore path writes the finalised set once).
    Result begin_init(uint64_t driver_features) {
        return begin_init(driver_features, driver_features);
    }
    // Second half: DRIVER_OK, after the queues are set up.
    Result driver_ok();
    // Sets FAILED: the driver gives up on the device (e.g. queue set-up failed).
    void fail();
    // Writes 0 to Status and (Version 2) waits until it reads back 0, as the spec requires
    // before the driver reuses the rings. For remove and freeze; begin_init() resets too.
    Result reset();

    uint64_t device_features() const { return device_features_; }
    uint64_t negotiated_features() const { return negotiated_features_; }
    bool has_feature(unsigned feature_bit) const {
        return feature_bit < 64 && (negotiated_features_ & spec::feature::bit(feature_bit)) != 0;
    }

    // The Status register as the device reports it.
    uint32_t read_status();
    bool needs_reset();

    // Bytes a queue of `size` entries needs in guest RAM for `version`'s layout, and the
    // alignment of its base (Version 1: a page, since QueuePFN names a page).
    static uint64_t ring_bytes(uint32_t size, uint32_t version);
    static uint64_t ring_alignment(uint32_t version);
    // The layout set-up uses for a queue of `size` entries at `ring_base`.
    static QueueLayout layout_for(uint16_t index, uint32_t size, uint64_t ring_base,
                                  uint32_t version);

    // Sets up queue `index` (the one function for probe and restore): size = the largest
    // power of two <= min(requested_size, QueueNumMax); rings placed at `ring_base` (aligned to
    // ring_alignment()), which must have room for ring_bytes(size, version()); the ring memory
    // is zeroed; then the device is told where they are. Only between begin_init() and
    // driver_ok().
    Result setup_queue(uint16_t index, uint32_t requested_size, uint64_t ring_base,
                       uint64_t ring_length, QueueLayout* layout);
    // Version 2: QueueReady = 0; Version 1: QueuePFN = 0.
    Result teardown_queue(uint16_t index);

    // QueueNotify: the driver made buffers available on `queue_index`.
    void notify(uint16_t queue_index);

    // Reads InterruptStatus and acknowledges exactly those bits; returns them
    // (spec::mmio::kInterruptUsedBuffer, kInterruptConfigChange).
    uint32_t ack_interrupt();

    // A le32 field of the device-specific config space, `offset` relative to 0x100 and 4-byte
    // aligned (every balloon field is le32). As Linux does: Version 2, one 32-bit access;
    // Version 1, four 8-bit accesses, lowest byte first.
    uint32_t config_read32(uint32_t offset);
    void config_write32(uint32_t offset, uint32_t value);
    // Reads `count` consecutive le32 fields from `offset` as one consistent snapshot: on
    // Version 2 it retries while ConfigGeneration changes across the reads (bounded; then
    // kConfigUnstable). Version 1 has no generation counter: a single pass.
    Result config_read(uint32_t offset, uint32_t* values, uint32_t count);

    hal::Hal& hal() const { return hal_; }
    uint64_t base() const { return base_; }

  private:
    enum class State : uint8_t { kUnprobed, kProbed, kFeaturesOk, kDriverOk, kFailed };

    uint32_t read(uint32_t offset) { return hal_.mmio_read32(base_ + offset); }
    void write(uint32_t offset, uint32_t value) { hal_.mmio_write32(base_ + offset, value); }
    // Sets `bits` on top of the bits the driver has set so far. Keeping our own copy (rather
    // than echoing what Status reads) never writes device-owned bits like DEVICE_NEEDS_RESET.
    void set_status(uint32_t bits);
    // Status read, then set_status(), as Linux's virtio_add_status.
    void add_status(uint32_t bits);
    // Reads Status until it is 0 (bounded by kResetPollLimit).
    Result await_reset();
    Result reset_device();
    void write_driver_features(uint64_t features);
    // `features` as written to the device: device-type bits, the `transport_features` asked
    // for, VERSION_1 on Version 2, one word on Version 1; intersected with the device's.
    uint64_t offer(uint64_t features, uint64_t transport_features) const;
    Result failed(Result why);

    hal::Hal& hal_;
    uint64_t base_;
    State state_ = State::kUnprobed;
    uint32_t version_ = 0;
    uint32_t device_id_ = 0;
    uint32_t vendor_id_ = 0;
    uint32_t driver_status_ = 0;
    uint64_t device_features_ = 0;
    uint64_t negotiated_features_ = 0;
};

}  // namespace vbsim::sw::virtio

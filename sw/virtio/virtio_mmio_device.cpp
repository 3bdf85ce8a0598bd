#include "sw/virtio/virtio_mmio_device.h"

#include "spec/little_endian.h"
#include "sw/bits/bits.h"

namespace vbsim::sw::virtio {

namespace mmio = spec::mmio;
namespace status = spec::status;
namespace feature = spec::feature;
namespace vring = spec::vring;

namespace {

// Bits 24..41 belong to the transport and queue mechanisms: the driver offers only the ones
// this code implements, whatever the device-type driver put in its table.
constexpr uint64_t kTransportFeatureMask = ((uint64_t{1} << 42) - 1) & ~((uint64_t{1} << 24) - 1);
// What the driver can use of them when asked for, and what it knows of them: Linux's ring
// also accepts ACCESS_PLATFORM, which the balloon driver drops again (virtballoon_validate).
constexpr uint64_t kUsableTransportFeatures =
    feature::bit(feature::kRingEventIdx) | feature::bit(feature::kRingIndirectDesc);
constexpr uint64_t kKnownTransportFeatures =
    kUsableTransportFeatures | feature::bit(feature::kAccessPlatform);

uint32_t low32(uint64_t value) {
    return static_cast<uint32_t>(value);
}
uint32_t high32(uint64_t value) {
    return static_cast<uint32_t>(value >> 32);
}

}  // namespace

const char* result_name(Result result) {
    switch (result) {
        case Result::kOk:
            return "ok";
        case Result::kBadMagic:
            return "bad magic value";
        case Result::kBadVersion:
            return "unsupported version";
        case Result::kNoDevice:
            return "no device";
        case Result::kWrongDeviceId:
            return "wrong device id";
        case Result::kBadState:
            return "called out of order";
        case Result::kResetTimeout:
            return "reset did not complete";
        case Result::kVersion1Missing:
            return "version 2 device without VERSION_1";
        case Result::kFeaturesRefused:
            return "device refused FEATURES_OK";
        case Result::kQueueAbsent:
            return "queue not available";
        case Result::kQueueBusy:
            return "queue already in use";
        case Result::kBadArgument:
            return "bad argument";
        case Result::kBadRegion:
            return "bad ring region";
        case Result::kConfigUnstable:
            return "config generation kept changing";
    }
    return "unknown";
}

Result VirtioMmioDevice::probe(uint32_t expected_device_id) {
    state_ = State::kUnprobed;
    if (read(mmio::kMagicValue) != mmio::kMagic) {
        return Result::kBadMagic;
    }
    const uint32_t version = read(mmio::kVersion);
    if (version != mmio::kVersionLegacy && version != mmio::kVersionModern) {
        return Result::kBadVersion;
    }
    const uint32_t device_id = read(mmio::kDeviceId);
    if (device_id == 0) {
        return Result::kNoDevice;
    }
    if (expected_device_id != 0 && device_id != expected_device_id) {
        return Result::kWrongDeviceId;
    }
    version_ = version;
    device_id_ = device_id;
    vendor_id_ = read(mmio::kVendorId);
    state_ = State::kProbed;
    // Linux's virtio_mmio_probe writes it here, once, before the first reset; the device
    // keeps it across resets.
    restore_transport();
    return Result::kOk;
}

void VirtioMmioDevice::restore_transport() {
    if (state_ != State::kUnprobed && legacy()) {
        write(mmio::kGuestPageSize, kGuestPageSize);
    }
}

void VirtioMmioDevice::set_status(uint32_t bits) {
    driver_status_ |= bits;
    write(mmio::kStatus, driver_status_);
}

void VirtioMmioDevice::add_status(uint32_t bits) {
    // Read, then write, as Linux's virtio_add_status does; the value written is our own copy
    // of the driver's bits, so device-owned bits like DEVICE_NEEDS_RESET are never echoed.
    read(mmio::kStatus);
    set_status(bits);
}

Result VirtioMmioDevice::failed(Result why) {
    fail();
    return why;
}

void VirtioMmioDevice::fail() {
    add_status(status::kFailed);
    if (state_ != State::kUnprobed) {
        state_ = State::kFailed;
    }
}

Result VirtioMmioDevice::await_reset() {
    uint32_t polls = 0;
    while (read(mmio::kStatus) != 0) {
        if (++polls >= kResetPollLimit) {
            return Result::kResetTimeout;
        }
    }
    return Result::kOk;
}

Result VirtioMmioDevice::reset_device() {
    write(mmio::kStatus, 0);
    driver_status_ = 0;
    negotiated_features_ = 0;
    // A modern device may finish the reset later; the rings must not be reused before.
    // Legacy devices reset synchronously (and Linux does not poll them).
    return legacy() ? Result::kOk : await_reset();
}

Result VirtioMmioDevice::reset() {
    if (state_ == State::kUnprobed) {
        return Result::kBadState;
    }
    const Result result = reset_device();
    state_ = result == Result::kOk ? State::kProbed : State::kFailed;
    return result;
}

void VirtioMmioDevice::write_driver_features(uint64_t features) {
    // High word first, as Linux's vm_finalize_features. Legacy devices have a single feature
    // word (VERSION_1 is withheld, so the high word is 0); QEMU logs a write with
    // DriverFeaturesSel > 0 as a guest error, so only word 0 is written there.
    if (!legacy()) {
        write(mmio::kDriverFeaturesSel, 1);
        write(mmio::kDriverFeatures, high32(features));
    }
    write(mmio::kDriverFeaturesSel, 0);
    write(mmio::kDriverFeatures, low32(features));
}

uint64_t VirtioMmioDevice::offer(uint64_t features, uint64_t transport_features) const {
    uint64_t offered = (features & ~kTransportFeatureMask) | (features & transport_features);
    if (legacy()) {
        offered &= 0xffffffff;  // one feature word
    } else {
        offered |= feature::bit(feature::kVersion1);
    }
    return offered & device_features_;
}

Result VirtioMmioDevice::begin_init(uint64_t known_features, uint64_t used_features) {
    return begin_init(known_features, used_features, nullptr, nullptr);
}

Result VirtioMmioDevice::begin_init(uint64_t known_features, uint64_t used_features,
                                    FeatureValidator validate, void* context) {
    if (state_ == State::kUnprobed) {
        return Result::kBadState;
    }
    // Linux's register_virtio_device: reset, then virtio_add_status(ACKNOWLEDGE), whose
    // Status read also tells when a modern device finished the reset.
    write(mmio::kStatus, 0);
    driver_status_ = 0;
    negotiated_features_ = 0;
    if (legacy()) {
        read(mmio::kStatus);
    } else if (const Result result = await_reset(); result != Result::kOk) {
        state_ = State::kFailed;
        return result;
    }
    state_ = State::kProbed;
    set_status(status::kAcknowledge);
    // virtio_dev_probe: DRIVER, the device's features (high word first), the driver's.
    add_status(status::kDriver);

    write(mmio::kDeviceFeaturesSel, 1);
    uint64_t device_features = uint64_t{read(mmio::kDeviceFeatures)} << 32;
    write(mmio::kDeviceFeaturesSel, 0);
    device_features |= read(mmio::kDeviceFeatures);
    device_features_ = device_features;
    if (!legacy() && (device_features & feature::bit(feature::kVersion1)) == 0) {
        return failed(Result::kVersion1Missing);
    }

    // Linux writes everything it knows of the offered set, then, when validation dropped
    // something, the finalised set again; the device takes the last write.
    const uint64_t first = offer(known_features, kKnownTransportFeatures);
    uint64_t negotiated = offer(used_features & known_features, kUsableTransportFeatures);
    if (validate != nullptr) {
        negotiated &= validate(context, negotiated);
    }
    write_driver_features(first);
    if (negotiated != first) {
        write_driver_features(negotiated);
    }

    if (!legacy()) {
        add_status(status::kFeaturesOk);
        if ((read(mmio::kStatus) & status::kFeaturesOk) == 0) {
            // The device did not take FEATURES_OK: the FAILED write must not offer it again
            // (Linux ORs FAILED into the status it reads back).
            driver_status_ &= ~status::kFeaturesOk;
            return failed(Result::kFeaturesRefused);
        }
    }
    negotiated_features_ = negotiated;
    state_ = State::kFeaturesOk;
    return Result::kOk;
}

Result VirtioMmioDevice::driver_ok() {
    if (state_ != State::kFeaturesOk) {
        return Result::kBadState;
    }
    add_status(status::kDriverOk);  // virtio_device_ready: Status read, then written
    state_ = State::kDriverOk;
    return Result::kOk;
}

uint32_t VirtioMmioDevice::read_status() {
    return read(mmio::kStatus);
}

bool VirtioMmioDevice::needs_reset() {
    return (read_status() & status::kDeviceNeedsReset) != 0;
}

uint64_t VirtioMmioDevice::ring_bytes(uint32_t size, uint32_t version) {
    if (version == mmio::kVersionLegacy) {
        return vring::legacy_total_bytes(size, kLegacyQueueAlign);
    }
    return layout_for(0, size, 0, version).used_ring + vring::used_ring_bytes(size);
}

uint64_t VirtioMmioDevice::ring_alignment(uint32_t version) {
    return version == mmio::kVersionLegacy ? kGuestPageSize : vring::kDescriptorAlign;
}

QueueLayout VirtioMmioDevice::layout_for(uint16_t index, uint32_t size, uint64_t ring_base,
                                         uint32_t version) {
    QueueLayout layout;
    layout.index = index;
    layout.size = size;
    layout.descriptor_table = ring_base;
    layout.avail_ring = ring_base + vring::descriptor_table_bytes(size);
    // Modern devices take three addresses, so the used ring only needs its own alignment;
    // legacy devices derive it from QueuePFN and QueueAlign.
    layout.used_ring =
        version == mmio::kVersionLegacy
            ? ring_base + vring::legacy_used_offset(size, kLegacyQueueAlign)
            : spec::align_up(layout.avail_ring + vring::avail_ring_bytes(size), vring::kUsedAlign);
    return layout;
}

Result VirtioMmioDevice::setup_queue(uint16_t index, uint32_t requested_size, uint64_t ring_base,
                                     uint64_t ring_length, QueueLayout* layout) {
    if (state_ != State::kFeaturesOk) {
        return Result::kBadState;
    }
    if (requested_size == 0 || layout == nullptr) {
        return Result::kBadArgument;
    }
    write(mmio::kQueueSel, index);
    if (read(legacy() ? mmio::kQueuePfn : mmio::kQueueReady) != 0) {
        return Result::kQueueBusy;
    }
    const uint32_t num_max = read(mmio::kQueueNumMax);
    if (num_max == 0) {
        return Result::kQueueAbsent;
    }
    uint32_t size = requested_size < num_max ? requested_size : num_max;
    size = size < vring::kMaxSize ? size : vring::kMaxSize;
    size = bits::round_down_to_power_of_two(size);

    const uint64_t bytes = ring_bytes(size, version_);
    if (ring_base % ring_alignment(version_) != 0 || ring_length < bytes ||
        ring_base > UINT64_MAX - bytes) {
        return Result::kBadRegion;
    }
    if (legacy() && (ring_base / kGuestPageSize) > UINT32_MAX) {
        return Result::kBadRegion;  // QueuePFN is 32 bits wide
    }

    // The device must start from zeroed rings: idx 0, flags 0, event words 0.
    static constexpr uint8_t kZeros[64] = {};
    for (uint64_t done = 0; done < bytes;) {
        const uint64_t chunk = bytes - done < sizeof kZeros ? bytes - done : sizeof kZeros;
        hal_.ram_write(ring_base + done, kZeros, static_cast<size_t>(chunk));
        done += chunk;
    }
    // The zeroed rings must be visible before the device may look at them.
    hal_.memory_barrier();

    *layout = layout_for(index, size, ring_base, version_);
    write(mmio::kQueueNum, size);
    if (legacy()) {
        write(mmio::kQueueAlign, kLegacyQueueAlign);
        write(mmio::kQueuePfn, static_cast<uint32_t>(ring_base / kGuestPageSize));
    } else {
        write(mmio::kQueueDescLow, low32(layout->descriptor_table));
        write(mmio::kQueueDescHigh, high32(layout->descriptor_table));
        write(mmio::kQueueDriverLow, low32(layout->avail_ring));
        write(mmio::kQueueDriverHigh, high32(layout->avail_ring));
        write(mmio::kQueueDeviceLow, low32(layout->used_ring));
        write(mmio::kQueueDeviceHigh, high32(layout->used_ring));
        // Last: the device may use the queue as soon as it is ready.
        write(mmio::kQueueReady, 1);
    }
    return Result::kOk;
}

Result VirtioMmioDevice::teardown_queue(uint16_t index) {
    if (state_ == State::kUnprobed) {
        return Result::kBadState;
    }
    write(mmio::kQueueSel, index);
    if (legacy()) {
        write(mmio::kQueuePfn, 0);
    } else {
        write(mmio::kQueueReady, 0);
    }
    return Result::kOk;
}

void VirtioMmioDevice::notify(uint16_t queue_index) {
    write(mmio::kQueueNotify, queue_index);
}

uint32_t VirtioMmioDevice::ack_interrupt() {
    const uint32_t pending = read(mmio::kInterruptStatus);
    // Acknowledge only what was seen: a bit raised after the read stays pending. Nothing to
    // write on a spurious (shared-line) interrupt.
    if (pending != 0) {
        write(mmio::kInterruptAck, pending);
    }
    return pending;
}

uint32_t VirtioMmioDevice::config_read32(uint32_t offset) {
    const uint64_t address = base_ + mmio::kConfig + offset;
    if (!legacy()) {
        return hal_.mmio_read32(address);
    }
    // Legacy config space is read a byte at a time, lowest first (Linux's vm_get).
    uint8_t bytes[4];
    for (uint32_t i = 0; i < 4; ++i) {
        bytes[i] = hal_.mmio_read8(address + i);
    }
    return spec::load_le32(bytes);
}

void VirtioMmioDevice::config_write32(uint32_t offset, uint32_t value) {
    const uint64_t address = base_ + mmio::kConfig + offset;
    if (!legacy()) {
        hal_.mmio_write32(address, value);
        return;
    }
    // Legacy: a byte at a time, lowest first (Linux's vm_set); the device takes the field
    // as written when its last byte arrives.
    uint8_t bytes[4];
    spec::store_le32(bytes, value);
    for (uint32_t i = 0; i < 4; ++i) {
        hal_.mmio_write8(address + i, bytes[i]);
    }
}

Result VirtioMmioDevice::config_read(uint32_t offset, uint32_t* values, uint32_t count) {
    if (values == nullptr || count == 0) {
        return Result::kBadArgument;
    }
    if (legacy()) {
        for (uint32_t i = 0; i < count; ++i) {
            values[i] = config_read32(offset + 4 * i);
        }
        return Result::kOk;
    }
    for (uint32_t attempt = 0; attempt < kConfigGenerationRetries; ++attempt) {
        const uint32_t before = read(mmio::kConfigGeneration);
        for (uint32_t i = 0; i < count; ++i) {
            values[i] = config_read32(offset + 4 * i);
        }
        if (read(mmio::kConfigGeneration) == before) {
            return Result::kOk;
        }
    }
    return Result::kConfigUnstable;
}

}  // namespace vbsim::sw::virtio

#pragma once

// The device side of one virtio-mmio register window (virtio 1.2 "Virtio Over MMIO", modern
// and legacy), for the tests of the driver in sw/: what the driver under test reads and
// writes through hal::Hal's MMIO calls. One register file for every sw/ test; each test's
// device derives from it and adds what it plays beyond the registers (guest RAM, the device
// side of the rings, logs), overriding the hooks below and calling them for the rest.

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "spec/virtio.h"
#include "sw/hal/hal.h"
#include "sw/virtio/virtio_mmio_device.h"

namespace vbsim::test {

// One 32-bit register write, for comparing sequences.
struct MmioWrite {
    uint32_t offset;
    uint32_t value;
    bool operator==(const MmioWrite& other) const {
        return offset == other.offset && value == other.value;
    }
};
inline std::ostream& operator<<(std::ostream& out, const MmioWrite& write) {
    return out << "{0x" << std::hex << write.offset << ", 0x" << write.value << std::dec << "}";
}

class FakeVirtioMmio : public sw::hal::Hal {
  public:
    // One queue's registers as the driver programmed them.
    struct Queue {
        uint32_t num_max = 0;  // QueueNumMax: 0 when the queue does not exist
        uint32_t num = 0;
        uint32_t align = 0;  // legacy
        uint32_t pfn = 0;    // legacy
        uint32_t ready = 0;  // modern
        uint64_t desc = 0;   // modern: QueueDesc, QueueDriver, QueueDevice
        uint64_t driver = 0;
        uint64_t device = 0;
    };

    // A window at `base` with `queue_count` queues (QueueSel beyond them is refused) and
    // `config_words` le32 fields of device-specific config space.
    FakeVirtioMmio(uint64_t base, size_t queue_count, size_t config_words)
        : queues(queue_count), config(config_words), base_(base) {}

    // ---- the device, as a test sets it up ----
    uint32_t magic = spec::mmio::kMagic;
    uint32_t version = spec::mmio::kVersionModern;
    uint32_t device_id = 0;
    uint32_t vendor_id = 0x554d4551;  // "QEMU"
    uint64_t device_features = 0;
    bool refuse_features_ok = false;  // FEATURES_OK never sticks

    // ---- the registers, as the driver left them ----
    uint32_t status = 0;
    uint32_t interrupt_status = 0;
    uint32_t device_features_sel = 0;
    uint32_t driver_features_sel = 0;
    uint64_t driver_features = 0;
    uint32_t guest_page_size = 0;  // legacy
    uint32_t queue_sel = 0;
    std::vector<Queue> queues;
    std::vector<uint32_t> config;  // le32 fields from offset 0x100
    // Accesses a device would not accept, in words a failed test can print.
    std::vector<std::string> complaints;

    bool legacy() const { return version == spec::mmio::kVersionLegacy; }
    // Where the driver put queue `index`'s rings: legacy from QueuePFN and GuestPageSize,
    // modern from the address registers.
    sw::virtio::QueueLayout layout(uint16_t index) const {
        const Queue& queue = queues.at(index);
        if (legacy()) {
            return sw::virtio::VirtioMmioDevice::layout_for(
                index, queue.num, uint64_t{queue.pfn} * guest_page_size, version);
        }
        sw::virtio::QueueLayout result;
        result.index = index;
        result.size = queue.num;
        result.descriptor_table = queue.desc;
        result.avail_ring = queue.driver;
        result.used_ring = queue.device;
        return result;
    }
    // Set up and enabled (legacy: a QueuePFN; modern: QueueReady).
    bool queue_live(uint16_t index) const {
        const Queue& queue = queues.at(index);
        return queue.num != 0 && (legacy() ? queue.pfn != 0 : queue.ready != 0);
    }

    // ---- hal::Hal: MMIO reaches the register file ----
    uint32_t mmio_read32(uint64_t address) final { return read32(offset_of(address)); }
    void mmio_write32(uint64_t address, uint32_t value) final {
        write32(offset_of(address), value);
    }
    uint8_t mmio_read8(uint64_t address) final { return read8(offset_of(address)); }
    void mmio_write8(uint64_t address, uint8_t value) final { write8(offset_of(address), value); }

  protected:
    ~FakeVirtioMmio() = default;

    // ---- hooks: the register file, overridden for what a test's device does differently ----

    // A 32-bit access at `offset` in the window.
    virtual uint32_t read32(uint32_t offset) {
        namespace mmio = spec::mmio;
        switch (offset) {
            case mmio::kMagicValue:
                return magic;
            case mmio::kVersion:
                return version;
            case mmio::kDeviceId:
                return device_id;
            case mmio::kVendorId:
                return vendor_id;
            case mmio::kDeviceFeatures:
                return device_features_word(device_features_sel);
            case mmio::kQueueNumMax:
                return selected().num_max;
            case mmio::kQueuePfn:
                return selected().pfn;
            case mmio::kQueueReady:
                return selected().ready;
            case mmio::kInterruptStatus:
                return interrupt_status;
            case mmio::kStatus:
                return status;
            case mmio::kConfigGeneration:
                return config_generation();
            default:
                break;
        }
        if (in_config(offset, 4)) {
            return config.at((offset - mmio::kConfig) / 4);
        }
        complain("read of register", offset);
        return 0;
    }

    virtual void write32(uint32_t offset, uint32_t value) {
        namespace mmio = spec::mmio;
        switch (offset) {
            case mmio::kDeviceFeaturesSel:
                device_features_sel = value;
                return;
            case mmio::kDriverFeaturesSel:
                driver_features_sel = value;
                return;
            case mmio::kDriverFeatures:
                set_word(driver_features, driver_features_sel != 0, value);
                return;
            case mmio::kGuestPageSize:
                guest_page_size = value;
                return;
            case mmio::kQueueSel:
                if (value >= queues.size()) {
                    complain("QueueSel out of range:", value);
                    return;
                }
                queue_sel = value;
                return;
            case mmio::kQueueNum:
                selected().num = value;
                return;
            case mmio::kQueueAlign:
                selected().align = value;
                return;
            case mmio::kQueuePfn:
                if (value != 0 && guest_page_size == 0) {
                    complaints.push_back("QueuePFN before GuestPageSize");
                }
                selected().pfn = value;
                return;
            case mmio::kQueueReady:
                selected().ready = value;
                return;
            case mmio::kQueueDescLow:
            case mmio::kQueueDescHigh:
                set_word(selected().desc, offset == mmio::kQueueDescHigh, value);
                return;
            case mmio::kQueueDriverLow:
            case mmio::kQueueDriverHigh:
                set_word(selected().driver, offset == mmio::kQueueDriverHigh, value);
                return;
            case mmio::kQueueDeviceLow:
            case mmio::kQueueDeviceHigh:
                set_word(selected().device, offset == mmio::kQueueDeviceHigh, value);
                return;
            case mmio::kQueueNotify:
                notified(value);
                return;
            case mmio::kInterruptAck:
                interrupt_status &= ~value;
                return;
            case mmio::kStatus:
                write_status(value);
                return;
            default:
                break;
        }
        if (in_config(offset, 4)) {
            config.at((offset - mmio::kConfig) / 4) = value;
            return;
        }
        complain("write of register", offset);
    }

    // An 8-bit access: the legacy config space, little-endian, a byte at a time.
    virtual uint8_t read8(uint32_t offset) {
        if (!in_config(offset, 1)) {
            complain("byte read outside the config space at", offset);
            return 0;
        }
        const uint32_t at = offset - spec::mmio::kConfig;
        return static_cast<uint8_t>(config.at(at / 4) >> (8 * (at % 4)));
    }
    virtual void write8(uint32_t offset, uint8_t value) {
        if (!in_config(offset, 1)) {
            complain("byte write outside the config space at", offset);
            return;
        }
        const uint32_t at = offset - spec::mmio::kConfig;
        uint32_t& field = config.at(at / 4);
        const uint32_t shift = 8 * (at % 4);
        field = (field & ~(uint32_t{0xff} << shift)) | (uint32_t{value} << shift);
    }

    // A Status write: 0 resets the device; otherwise the bits, less FEATURES_OK when the
    // device refuses the features (accepted_status()).
    virtual void write_status(uint32_t value) {
        if (value == 0) {
            reset();
            return;
        }
        status = accepted_status(value);
    }
    // What a reset forgets: Status, the negotiated features and the queues (QueueNumMax is the
    // device's and stays). GuestPageSize stays too: Linux writes it once, before its first
    // reset, as QEMU expects.
    virtual void reset() {
        status = 0;
        driver_features = 0;
        for (Queue& queue : queues) {
            Queue fresh;
            fresh.num_max = queue.num_max;
            queue = fresh;
        }
    }
    // DeviceFeatures for DeviceFeaturesSel `select`: two words, 0 beyond.
    virtual uint32_t device_features_word(uint32_t select) {
        return select > 1 ? 0 : static_cast<uint32_t>(device_features >> (32 * select));
    }
    virtual uint32_t config_generation() { return 0; }
    // QueueNotify of `queue`.
    virtual void notified(uint32_t queue) { static_cast<void>(queue); }

    // ---- for the hooks ----

    // `value` as Status takes it: FEATURES_OK, newly set, sticks only when the device accepts
    // the driver's features (all of them offered, and not refuse_features_ok).
    uint32_t accepted_status(uint32_t value) const {
        const uint32_t ok = spec::status::kFeaturesOk;
        if ((value & ok) != 0 && (status & ok) == 0 &&
            (refuse_features_ok || (driver_features & ~device_features) != 0)) {
            value &= ~ok;
        }
        return value;
    }
    // The queue QueueSel names.
    Queue& selected() { return queues.at(queue_sel); }
    bool in_config(uint32_t offset, uint32_t width) const {
        return offset >= spec::mmio::kConfig &&
               offset - spec::mmio::kConfig + width <= 4 * config.size();
    }
    void complain(const char* what, uint64_t value) {
        std::ostringstream text;
        text << what << " 0x" << std::hex << value;
        complaints.push_back(text.str());
    }

  private:
    uint32_t offset_of(uint64_t address) const { return static_cast<uint32_t>(address - base_); }
    static void set_word(uint64_t& field, bool high, uint32_t value) {
        field = high ? (field & 0xffffffff) | (uint64_t{value} << 32)
                     : (field & ~uint64_t{0xffffffff}) | value;
    }

    uint64_t base_;
};

}  // namespace vbsim::test

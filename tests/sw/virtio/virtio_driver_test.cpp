// Driver side of virtio-mmio and the split virtqueue, against a fake HAL: guest RAM is a
// vector, and a small fake virtio-mmio register file plays the device.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/virtio.h"
#include "sw/hal/hal.h"
#include "sw/virtio/virtio_mmio_device.h"
#include "sw/virtio/virtqueue.h"
#include "tests/sw/support/fake_virtio_mmio.h"

namespace {

namespace mmio = vbsim::spec::mmio;
namespace status = vbsim::spec::status;
namespace feature = vbsim::spec::feature;
namespace vring = vbsim::spec::vring;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using vbsim::sw::virtio::QueueLayout;
using vbsim::sw::virtio::Result;
using vbsim::sw::virtio::VirtioMmioDevice;
using vbsim::sw::virtio::Virtqueue;
using vbsim::test::FakeVirtioMmio;
using vbsim::test::MmioWrite;

constexpr uint64_t kMmioBase = 0x10001000;
constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kRingBase = kRamBase + 0x10000;
constexpr uint64_t kRingLength = 0x20000;

// Everything the driver did, in order, so tests can check ordering against barriers.
struct Event {
    enum Kind { kMmioWrite, kRamWrite, kBarrier } kind;
    uint64_t address;
    uint64_t value;  // MMIO value, or RAM write length
};

// The shared register file, plus: scripted Status and ConfigGeneration reads, counts and logs
// of what the driver did, and guest RAM.
class FakeHal final : public FakeVirtioMmio {
  public:
    FakeHal() : FakeVirtioMmio(kMmioBase, 4, 4) {
        device_id = 5;
        device_features = feature::bit(feature::kVersion1);
    }

    // ---- the fake device ----
    uint32_t reset_busy_reads = 0;              // Status reads still non-zero after a reset write
    std::deque<uint32_t> scripted_generations;  // ConfigGeneration values, then `generation`
    bool generation_runs_away = false;          // every read returns a new value
    uint32_t generation = 0;

    uint32_t busy_reads_left = 0;
    uint32_t config_reads = 0;
    std::vector<uint32_t> byte_reads;    // offsets of 8-bit reads
    std::vector<MmioWrite> byte_writes;  // 8-bit writes
    uint32_t status_reads = 0;
    std::vector<uint32_t> notifications;

    // ---- guest RAM and the log ----
    std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize);
    std::vector<Event> events;

    uint32_t read32(uint32_t offset) override {
        if (offset == mmio::kStatus) {
            ++status_reads;
            if (busy_reads_left > 0) {
                --busy_reads_left;
                return status::kAcknowledge;
            }
        }
        if (in_config(offset, 4)) {
            ++config_reads;
        }
        return FakeVirtioMmio::read32(offset);
    }
    void write32(uint32_t offset, uint32_t value) override {
        events.push_back({Event::kMmioWrite, offset, value});
        FakeVirtioMmio::write32(offset, value);
    }
    uint8_t read8(uint32_t offset) override {
        byte_reads.push_back(offset);
        if (in_config(offset, 1)) {
            ++config_reads;
        }
        return FakeVirtioMmio::read8(offset);
    }
    void write8(uint32_t offset, uint8_t value) override {
        byte_writes.push_back({offset, value});
        FakeVirtioMmio::write8(offset, value);
    }
    uint32_t config_generation() override {
        if (generation_runs_away) {
            return generation++;
        }
        if (!scripted_generations.empty()) {
            generation = scripted_generations.front();
            scripted_generations.pop_front();
        }
        return generation;
    }
    void notified(uint32_t queue) override { notifications.push_back(queue); }
    void reset() override {
        FakeVirtioMmio::reset();
        busy_reads_left = reset_busy_reads;
    }

    void ram_read(uint64_t address, void* destination, size_t length) override {
        ASSERT_GE(address, kRamBase);
        ASSERT_LE(address - kRamBase + length, ram.size());
        std::memcpy(destination, ram.data() + (address - kRamBase), length);
    }
    void ram_write(uint64_t address, const void* source, size_t length) override {
        events.push_back({Event::kRamWrite, address, length});
        ASSERT_GE(address, kRamBase);
        ASSERT_LE(address - kRamBase + length, ram.size());
        std::memcpy(ram.data() + (address - kRamBase), source, length);
    }
    void memory_barrier() override { events.push_back({Event::kBarrier, 0, 0}); }
    uint64_t now_ns() override { return 0; }
    void arm_timer(uint64_t) override {}
    void cancel_timer() override {}
    void cpu_cost(uint64_t) override {}
    void touch_memory(uint64_t, uint64_t) override {}

    // ---- helpers for the tests ----
    std::vector<MmioWrite> mmio_writes() const {
        std::vector<MmioWrite> writes;
        for (const Event& event : events) {
            if (event.kind == Event::kMmioWrite) {
                writes.push_back(
                    {static_cast<uint32_t>(event.address), static_cast<uint32_t>(event.value)});
            }
        }
        return writes;
    }
    uint64_t read_le(uint64_t address, unsigned bytes) const {
        uint64_t value = 0;
        for (unsigned i = 0; i < bytes; ++i) {
            value |= uint64_t{ram.at(address - kRamBase + i)} << (8 * i);
        }
        return value;
    }
    void write_le(uint64_t address, uint64_t value, unsigned bytes) {
        for (unsigned i = 0; i < bytes; ++i) {
            ram.at(address - kRamBase + i) = static_cast<uint8_t>(value >> (8 * i));
        }
    }
    uint16_t ram16(uint64_t address) const { return static_cast<uint16_t>(read_le(address, 2)); }
    uint32_t ram32(uint64_t address) const { return static_cast<uint32_t>(read_le(address, 4)); }
    uint64_t ram64(uint64_t address) const { return read_le(address, 8); }

    // Device side: returns chain `id` having written `length` bytes, as used element number
    // `used_idx` (the used idx becomes used_idx + 1).
    void complete(const QueueLayout& layout, uint16_t used_idx, uint32_t id, uint32_t length) {
        const uint64_t element =
            layout.used_ring + vring::kUsedRingOffset + 8 * (used_idx & (layout.size - 1));
        write_le(element, id, 4);
        write_le(element + 4, length, 4);
        write_le(layout.used_ring + vring::kUsedIdxOffset, static_cast<uint16_t>(used_idx + 1), 2);
    }
};

class VirtioMmioDeviceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        for (FakeVirtioMmio::Queue& queue : hal.queues) {
            queue.num_max = 1024;
        }
    }
    // probe + begin_init with the device's current settings.
    void init(uint64_t driver_features) {
        ASSERT_EQ(device.probe(5), Result::kOk);
        ASSERT_EQ(device.begin_init(driver_features), Result::kOk);
    }

    FakeHal hal;
    VirtioMmioDevice device{hal, kMmioBase};
};

// ---------------------------------------------------------------------------------------
// probe

TEST_F(VirtioMmioDeviceTest, ProbeRejectsBadMagic) {
    hal.magic = 0x12345678;
    EXPECT_EQ(device.probe(5), Result::kBadMagic);
    EXPECT_EQ(device.begin_init(0), Result::kBadState);
}

TEST_F(VirtioMmioDeviceTest, ProbeRejectsUnknownVersions) {
    for (uint32_t version : {0u, 3u, 0xffffffffu}) {
        hal.version = version;
        EXPECT_EQ(device.probe(5), Result::kBadVersion) << version;
    }
}

TEST_F(VirtioMmioDeviceTest, ProbeReportsNoDeviceForIdZero) {
    hal.device_id = 0;
    EXPECT_EQ(device.probe(0), Result::kNoDevice);
    EXPECT_EQ(device.probe(5), Result::kNoDevice);
}

TEST_F(VirtioMmioDeviceTest, ProbeReportsWrongDeviceId) {
    hal.device_id = 2;  // a block device
    EXPECT_EQ(device.probe(5), Result::kWrongDeviceId);
    EXPECT_EQ(device.probe(0), Result::kOk);  // 0: any device
    EXPECT_EQ(device.device_id(), 2u);
}

TEST_F(VirtioMmioDeviceTest, ProbeAcceptsBothVersionsAndWritesOnlyTheLegacyPageSize) {
    ASSERT_EQ(device.probe(5), Result::kOk);
    EXPECT_EQ(device.version(), 2u);
    EXPECT_FALSE(device.legacy());
    EXPECT_EQ(device.vendor_id(), 0x554d4551u);
    EXPECT_TRUE(hal.mmio_writes().empty());
    // Version 1: GuestPageSize at probe, before any reset (Linux's virtio_mmio_probe).
    hal.version = 1;
    ASSERT_EQ(device.probe(5), Result::kOk);
    EXPECT_TRUE(device.legacy());
    EXPECT_THAT(hal.mmio_writes(), ElementsAre(MmioWrite{mmio::kGuestPageSize, 4096}));
    EXPECT_EQ(hal.status_reads, 0u);
}

// ---------------------------------------------------------------------------------------
// the status handshake

TEST_F(VirtioMmioDeviceTest, ModernInitWritesTheSpecSequence) {
    hal.device_features = feature::bit(feature::kVersion1) | 0b011;
    init(0b101);
    QueueLayout layout;
    ASSERT_EQ(device.setup_queue(0, 128, kRingBase, kRingLength, &layout), Result::kOk);
    ASSERT_EQ(device.driver_ok(), Result::kOk);

    const uint32_t avail = static_cast<uint32_t>(kRingBase + 16 * 128);
    const uint32_t used = static_cast<uint32_t>(kRingBase + 16 * 128 + 6 + 2 * 128 + 2);
    // Linux 6.1's order: feature words high first; one driver-feature write when nothing is
    // dropped after the first.
    EXPECT_THAT(hal.mmio_writes(), ElementsAreArray(std::vector<MmioWrite>{
                                       {mmio::kStatus, 0},
                                       {mmio::kStatus, status::kAcknowledge},
                                       {mmio::kStatus, status::kAcknowledge | status::kDriver},
                                       {mmio::kDeviceFeaturesSel, 1},
                                       {mmio::kDeviceFeaturesSel, 0},
                                       {mmio::kDriverFeaturesSel, 1},
                                       {mmio::kDriverFeatures, 1},  // VERSION_1 = bit 32
                                       {mmio::kDriverFeaturesSel, 0},
                                       {mmio::kDriverFeatures, 0b001},
                                       {mmio::kStatus, 1 | 2 | 8},
                                       {mmio::kQueueSel, 0},
                                       {mmio::kQueueNum, 128},
                                       {mmio::kQueueDescLow, static_cast<uint32_t>(kRingBase)},
                                       {mmio::kQueueDescHigh, 0},
                                       {mmio::kQueueDriverLow, avail},
                                       {mmio::kQueueDriverHigh, 0},
                                       {mmio::kQueueDeviceLow, used},
                                       {mmio::kQueueDeviceHigh, 0},
                                       {mmio::kQueueReady, 1},
                                       {mmio::kStatus, 1 | 2 | 8 | 4},
                                   }));
    EXPECT_EQ(hal.status, 15u);
    // After the reset (also the poll), before DRIVER, FEATURES_OK, its check, DRIVER_OK.
    EXPECT_EQ(hal.status_reads, 5u);
    EXPECT_EQ(hal.queues[0].ready, 1u);
    EXPECT_TRUE(hal.complaints.empty());
    EXPECT_EQ(layout.size, 128u);
    EXPECT_EQ(layout.avail_ring, avail);
    EXPECT_EQ(layout.used_ring, used);
    EXPECT_EQ(layout.used_ring % vring::kUsedAlign, 0u);
}

TEST_F(VirtioMmioDeviceTest, LegacyInitWritesGuestPageSizeBeforeQueuePfn) {
    hal.version = 1;
    hal.device_features = 0b011;
    init(0b001);
    QueueLayout layout;
    ASSERT_EQ(device.setup_queue(0, 128, kRingBase, kRingLength, &layout), Result::kOk);
    ASSERT_EQ(device.driver_ok(), Result::kOk);

    EXPECT_THAT(hal.mmio_writes(),
                ElementsAreArray(std::vector<MmioWrite>{
                    {mmio::kGuestPageSize, 4096},  // at probe, before the reset
                    {mmio::kStatus, 0},
                    {mmio::kStatus, 1},
                    {mmio::kStatus, 1 | 2},
                    {mmio::kDeviceFeaturesSel, 1},
                    {mmio::kDeviceFeaturesSel, 0},
                    {mmio::kDriverFeaturesSel, 0},  // one word only: see write_driver_features
                    {mmio::kDriverFeatures, 0b001},
                    {mmio::kQueueSel, 0},
                    {mmio::kQueueNum, 128},
                    {mmio::kQueueAlign, 4096},
                    {mmio::kQueuePfn, static_cast<uint32_t>(kRingBase >> 12)},
                    {mmio::kStatus, 1 | 2 | 4},  // no FEATURES_OK on legacy devices
                }));
    EXPECT_TRUE(hal.complaints.empty());
}

TEST_F(VirtioMmioDeviceTest, NegotiatesTheIntersectionOfBothHalves) {
    // Device-type bits live in 0..23 and 50..63 as well; transport bits are handled apart.
    hal.device_features = 0b1011 | (uint64_t{1} << 20) | feature::bit(feature::kVersion1) |
                          (uint64_t{1} << 50) | (uint64_t{1} << 55);
    const uint64_t driver =
        0b0110 | (uint64_t{1} << 20) | (uint64_t{1} << 50) | (uint64_t{1} << 60);
    init(driver);
    const uint64_t expected =
        0b0010 | (uint64_t{1} << 20) | (uint64_t{1} << 50) | feature::bit(feature::kVersion1);
    EXPECT_EQ(device.device_features(), hal.device_features);
    EXPECT_EQ(device.negotiated_features(), expected);
    EXPECT_EQ(hal.driver_features, expected);
    EXPECT_TRUE(device.has_feature(1));
    EXPECT_TRUE(device.has_feature(50));
    EXPECT_FALSE(device.has_feature(0));
    EXPECT_FALSE(device.has_feature(55));
    EXPECT_FALSE(device.has_feature(64));
}

TEST_F(VirtioMmioDeviceTest, TransportBitsOnlyWhenAskedAndNeverAccessPlatform) {
    hal.device_features = feature::bit(feature::kVersion1) | feature::bit(feature::kRingEventIdx) |
                          feature::bit(feature::kRingIndirectDesc) |
                          feature::bit(feature::kAccessPlatform) |
                          feature::bit(feature::kRingPacked) | feature::bit(feature::kInOrder);
    init(0);
    EXPECT_EQ(hal.driver_features, feature::bit(feature::kVersion1));

    // Asking for everything still gets only what this driver implements.
    init(~uint64_t{0} & ~(uint64_t{0xffffff}));
    EXPECT_EQ(hal.driver_features, feature::bit(feature::kVersion1) |
                                       feature::bit(feature::kRingEventIdx) |
                                       feature::bit(feature::kRingIndirectDesc));
    EXPECT_FALSE(device.has_feature(feature::kAccessPlatform));
}

TEST_F(VirtioMmioDeviceTest, LegacyNeverOffersVersion1) {
    hal.version = 1;
    hal.device_features = 0b1 | feature::bit(feature::kVersion1);
    init(0b1 | feature::bit(feature::kVersion1));
    EXPECT_EQ(hal.driver_features, 0b1u);
    EXPECT_FALSE(device.has_feature(feature::kVersion1));
}

TEST_F(VirtioMmioDeviceTest, ModernDeviceWithoutVersion1Fails) {
    hal.device_features = 0b1;
    ASSERT_EQ(device.probe(5), Result::kOk);
    EXPECT_EQ(device.begin_init(0b1), Result::kVersion1Missing);
    EXPECT_NE(hal.status & status::kFailed, 0u);
    QueueLayout layout;
    EXPECT_EQ(device.setup_queue(0, 128, kRingBase, kRingLength, &layout), Result::kBadState);
}

TEST_F(VirtioMmioDeviceTest, FeaturesOkRefusalSetsFailed) {
    hal.device_features = feature::bit(feature::kVersion1) | 0b1;
    hal.refuse_features_ok = true;
    ASSERT_EQ(device.probe(5), Result::kOk);
    EXPECT_EQ(device.begin_init(0b1), Result::kFeaturesRefused);
    // FAILED on top of what the device accepted: FEATURES_OK is not written a second time.
    EXPECT_EQ(hal.mmio_writes().back(), (MmioWrite{mmio::kStatus, 1 | 2 | status::kFailed}));
    EXPECT_EQ(hal.status & status::kFeaturesOk, 0u);
    EXPECT_NE(hal.status & status::kFailed, 0u);
    EXPECT_EQ(device.negotiated_features(), 0u);
    EXPECT_EQ(device.driver_ok(), Result::kBadState);

    // A fresh attempt starts with a reset and can succeed.
    hal.refuse_features_ok = false;
    EXPECT_EQ(device.begin_init(0b1), Result::kOk);
    EXPECT_TRUE(device.has_feature(0));
}

TEST_F(VirtioMmioDeviceTest, ResetWaitsForStatusToReadZero) {
    hal.reset_busy_reads = 5;
    init(0);
    EXPECT_EQ(hal.busy_reads_left, 0u);
    hal.reset_busy_reads = 3;
    EXPECT_EQ(device.reset(), Result::kOk);
    EXPECT_EQ(hal.busy_reads_left, 0u);
    EXPECT_EQ(hal.status, 0u);
}

TEST_F(VirtioMmioDeviceTest, ResetTimesOutWhenStatusStaysNonZero) {
    hal.reset_busy_reads = 0xffffffff;
    ASSERT_EQ(device.probe(5), Result::kOk);
    EXPECT_EQ(device.begin_init(0), Result::kResetTimeout);
    EXPECT_EQ(hal.busy_reads_left, 0xffffffff - VirtioMmioDevice::kResetPollLimit);
    // No handshake was attempted on a device that did not reset.
    EXPECT_THAT(hal.mmio_writes(), ElementsAre(MmioWrite{mmio::kStatus, 0}));
}

TEST_F(VirtioMmioDeviceTest, LegacyResetDoesNotPoll) {
    hal.version = 1;
    hal.reset_busy_reads = 0xffffffff;
    // begin_init reads Status before ACKNOWLEDGE and before DRIVER (as Linux), whatever it
    // says: two reads, no polling.
    init(0);
    EXPECT_EQ(hal.busy_reads_left, 0xfffffffdu);
    // A reset alone (remove, freeze) only writes.
    EXPECT_EQ(device.reset(), Result::kOk);
    EXPECT_EQ(hal.busy_reads_left, 0xffffffffu);
}

// ---------------------------------------------------------------------------------------
// queue set-up

TEST_F(VirtioMmioDeviceTest, QueueSizeClampedToQueueNumMaxAndPowerOfTwo) {
    struct Case {
        uint32_t num_max, requested, expected;
    };
    for (const Case& c :
         {Case{1024, 128, 128}, Case{1024, 100, 64}, Case{100, 256, 64}, Case{128, 128, 128},
          Case{1, 128, 1}, Case{65535, 65535, 32768}, Case{3, 2, 2}}) {
        hal.queues[0].num_max = c.num_max;
        init(0);
        QueueLayout layout;
        ASSERT_EQ(device.setup_queue(0, c.requested, kRingBase, 0xf0000, &layout), Result::kOk)
            << c.num_max << " " << c.requested;
        EXPECT_EQ(layout.size, c.expected) << c.num_max << " " << c.requested;
        EXPECT_EQ(hal.queues[0].num, c.expected);
    }
}

TEST_F(VirtioMmioDeviceTest, QueueAbsentWhenQueueNumMaxIsZero) {
    hal.queues[2].num_max = 0;
    init(0);
    QueueLayout layout;
    EXPECT_EQ(device.setup_queue(2, 128, kRingBase, kRingLength, &layout), Result::kQueueAbsent);
    EXPECT_EQ(hal.queues[2].ready, 0u);
    EXPECT_EQ(device.setup_queue(1, 0, kRingBase, kRingLength, &layout), Result::kBadArgument);
    EXPECT_EQ(device.setup_queue(1, 8, kRingBase, kRingLength, nullptr), Result::kBadArgument);
}

TEST_F(VirtioMmioDeviceTest, QueueBusyWhenAlreadyInUse) {
    init(0);
    QueueLayout layout;
    ASSERT_EQ(device.setup_queue(0, 16, kRingBase, kRingLength, &layout), Result::kOk);
    EXPECT_EQ(device.setup_queue(0, 16, kRingBase + 0x4000, kRingLength, &layout),
              Result::kQueueBusy);

    hal.version = 1;
    init(0);
    ASSERT_EQ(device.setup_queue(0, 16, kRingBase, kRingLength, &layout), Result::kOk);
    EXPECT_EQ(device.setup_queue(0, 16, kRingBase + 0x4000, kRingLength, &layout),
              Result::kQueueBusy);
}

TEST_F(VirtioMmioDeviceTest, RingRegionIsChecked) {
    init(0);
    QueueLayout layout;
    const uint64_t needed = VirtioMmioDevice::ring_bytes(64, 2);
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase, needed - 1, &layout), Result::kBadRegion);
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase + 8, needed, &layout), Result::kBadRegion);
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase + 16, needed, &layout), Result::kOk);

    hal.version = 1;
    init(0);
    const uint64_t legacy_needed = VirtioMmioDevice::ring_bytes(64, 1);
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase + 16, legacy_needed, &layout),
              Result::kBadRegion);  // QueuePFN can only name a page
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase, legacy_needed - 1, &layout), Result::kBadRegion);
    EXPECT_EQ(device.setup_queue(0, 64, uint64_t{1} << 44, legacy_needed, &layout),
              Result::kBadRegion);  // PFN wider than 32 bits
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase, legacy_needed, &layout), Result::kOk);
    EXPECT_TRUE(hal.complaints.empty());
}

TEST_F(VirtioMmioDeviceTest, SetupZeroesTheRingsBeforeTheDeviceSeesThem) {
    std::fill(hal.ram.begin(), hal.ram.end(), 0xa5);
    init(0);
    QueueLayout layout;
    ASSERT_EQ(device.setup_queue(0, 64, kRingBase, kRingLength, &layout), Result::kOk);
    const uint64_t bytes = VirtioMmioDevice::ring_bytes(64, 2);
    for (uint64_t i = 0; i < bytes; ++i) {
        ASSERT_EQ(hal.ram.at(kRingBase - kRamBase + i), 0) << i;
    }
    EXPECT_EQ(hal.ram.at(kRingBase - kRamBase + bytes), 0xa5);  // not a byte more
    EXPECT_EQ(hal.ram.at(kRingBase - kRamBase - 1), 0xa5);

    // The zeroing and a barrier come before QueueReady.
    size_t barrier = 0, ready = 0, last_ram_write = 0;
    for (size_t i = 0; i < hal.events.size(); ++i) {
        const Event& event = hal.events[i];
        if (event.kind == Event::kRamWrite) {
            last_ram_write = i;
        } else if (event.kind == Event::kBarrier) {
            barrier = i;
        } else if (event.address == mmio::kQueueReady) {
            ready = i;
        }
    }
    EXPECT_LT(last_ram_write, barrier);
    EXPECT_LT(barrier, ready);
}

TEST_F(VirtioMmioDeviceTest, SetupOnlyBetweenFeaturesAndDriverOk) {
    QueueLayout layout;
    ASSERT_EQ(device.probe(5), Result::kOk);
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase, kRingLength, &layout), Result::kBadState);
    ASSERT_EQ(device.begin_init(0), Result::kOk);
    ASSERT_EQ(device.driver_ok(), Result::kOk);
    EXPECT_EQ(device.setup_queue(0, 64, kRingBase, kRingLength, &layout), Result::kBadState);
    EXPECT_EQ(device.driver_ok(), Result::kBadState);
}

TEST_F(VirtioMmioDeviceTest, RingBytesForBothLayouts) {
    // Modern: 16 N descriptors, 6 + 2 N avail, padding to 4, 6 + 8 N used.
    EXPECT_EQ(VirtioMmioDevice::ring_bytes(1, 2), 16u + 6 + 2 + 6 + 8);
    EXPECT_EQ(VirtioMmioDevice::ring_bytes(128, 2), 2048u + 262 + 2 + 1030);
    // Legacy: the used ring starts on the next 4096 boundary, total rounded to 4096.
    EXPECT_EQ(VirtioMmioDevice::ring_bytes(128, 1), 4096u + 4096);
    EXPECT_EQ(VirtioMmioDevice::ring_bytes(256, 1), 8192u + 4096);
    EXPECT_EQ(VirtioMmioDevice::ring_alignment(1), 4096u);
    EXPECT_EQ(VirtioMmioDevice::ring_alignment(2), 16u);
}

TEST_F(VirtioMmioDeviceTest, LegacyLayoutPutsUsedRingAtAlignedOffset) {
    hal.version = 1;
    init(0);
    QueueLayout layout;
    ASSERT_EQ(device.setup_queue(0, 256, kRingBase, kRingLength, &layout), Result::kOk);
    EXPECT_EQ(layout.descriptor_table, kRingBase);
    EXPECT_EQ(layout.avail_ring, kRingBase + 4096);
    // 4096 + 6 + 512 bytes of descriptors and avail ring, padded to QueueAlign.
    EXPECT_EQ(layout.used_ring, kRingBase + 8192);
    EXPECT_EQ(layout.used_ring, kRingBase + vring::legacy_used_offset(256, 4096));
    // What the device computes from QueuePFN and QueueAlign agrees.
    EXPECT_EQ(uint64_t{hal.queues[0].pfn} * hal.guest_page_size, kRingBase);
    EXPECT_EQ(hal.queues[0].align, 4096u);
}

TEST_F(VirtioMmioDeviceTest, TeardownClearsQueueReadyOrQueuePfn) {
    init(0);
    QueueLayout layout;
    ASSERT_EQ(device.setup_queue(1, 64, kRingBase, kRingLength, &layout), Result::kOk);
    ASSERT_EQ(hal.queues[1].ready, 1u);
    EXPECT_EQ(device.teardown_queue(1), Result::kOk);
    EXPECT_EQ(hal.queues[1].ready, 0u);
    EXPECT_EQ(hal.mmio_writes().back(), (MmioWrite{mmio::kQueueReady, 0}));

    hal.version = 1;
    init(0);
    ASSERT_EQ(device.setup_queue(1, 64, kRingBase, kRingLength, &layout), Result::kOk);
    ASSERT_NE(hal.queues[1].pfn, 0u);
    EXPECT_EQ(device.teardown_queue(1), Result::kOk);
    EXPECT_EQ(hal.queues[1].pfn, 0u);
    EXPECT_EQ(hal.mmio_writes().back(), (MmioWrite{mmio::kQueuePfn, 0}));
}

// ---------------------------------------------------------------------------------------
// interrupts, notifications, status, config

TEST_F(VirtioMmioDeviceTest, InterruptAckWritesExactlyTheBitsRead) {
    init(0);
    hal.events.clear();
    hal.interrupt_status = mmio::kInterruptUsedBuffer | mmio::kInterruptConfigChange;
    EXPECT_EQ(device.ack_interrupt(), 3u);
    EXPECT_THAT(hal.mmio_writes(), ElementsAre(MmioWrite{mmio::kInterruptAck, 3}));
    EXPECT_EQ(hal.interrupt_status, 0u);

    hal.events.clear();
    hal.interrupt_status = mmio::kInterruptConfigChange;
    EXPECT_EQ(device.ack_interrupt(), mmio::kInterruptConfigChange);
    EXPECT_THAT(hal.mmio_writes(), ElementsAre(MmioWrite{mmio::kInterruptAck, 2}));
}

TEST_F(VirtioMmioDeviceTest, SpuriousInterruptWritesNothing) {
    init(0);
    hal.events.clear();
    EXPECT_EQ(device.ack_interrupt(), 0u);
    EXPECT_TRUE(hal.mmio_writes().empty());
}

TEST_F(VirtioMmioDeviceTest, NotifyWritesQueueIndex) {
    init(0);
    device.notify(3);
    EXPECT_THAT(hal.notifications, ElementsAre(3u));
}

TEST_F(VirtioMmioDeviceTest, NeedsResetReadsTheStatusBit) {
    init(0);
    EXPECT_FALSE(device.needs_reset());
    hal.status |= status::kDeviceNeedsReset;
    EXPECT_TRUE(device.needs_reset());
    EXPECT_EQ(device.read_status() & status::kDeviceNeedsReset, status::kDeviceNeedsReset);
    // The driver never echoes the device's bit back.
    ASSERT_EQ(device.driver_ok(), Result::kOk);
    EXPECT_EQ(hal.mmio_writes().back(), (MmioWrite{mmio::kStatus, 1 | 2 | 8 | 4}));
    // reset() clears everything and leaves the device ready for a new begin_init().
    EXPECT_EQ(device.reset(), Result::kOk);
    EXPECT_EQ(hal.status, 0u);
    EXPECT_EQ(device.negotiated_features(), 0u);
    EXPECT_EQ(device.begin_init(0), Result::kOk);
}

TEST_F(VirtioMmioDeviceTest, ModernConfigAccessesAre32BitFromOffset0x100) {
    init(0);
    hal.config = {1000, 20, 7, 0xaa};
    EXPECT_EQ(device.config_read32(vbsim::spec::balloon::kConfigNumPages), 1000u);
    EXPECT_EQ(device.config_read32(vbsim::spec::balloon::kConfigPoisonVal), 0xaau);
    hal.events.clear();
    device.config_write32(vbsim::spec::balloon::kConfigActual, 640);
    EXPECT_THAT(hal.mmio_writes(), ElementsAre(MmioWrite{0x104, 640}));
    EXPECT_EQ(hal.config[1], 640u);
    EXPECT_TRUE(hal.byte_reads.empty());
    EXPECT_TRUE(hal.byte_writes.empty());
}

TEST_F(VirtioMmioDeviceTest, LegacyConfigAccessesAreFourBytesLowestFirst) {
    hal.version = 1;
    init(0);
    hal.config = {0x12345678, 0, 0, 0xaa};
    const uint32_t config_reads_before = hal.config_reads;
    EXPECT_EQ(device.config_read32(vbsim::spec::balloon::kConfigNumPages), 0x12345678u);
    EXPECT_THAT(hal.byte_reads, ElementsAre(0x100u, 0x101u, 0x102u, 0x103u));
    EXPECT_EQ(device.config_read32(vbsim::spec::balloon::kConfigPoisonVal), 0xaau);
    EXPECT_EQ(hal.config_reads - config_reads_before, 8u);
    hal.events.clear();
    device.config_write32(vbsim::spec::balloon::kConfigActual, 0x01020304);
    EXPECT_THAT(hal.byte_writes, ElementsAreArray(std::vector<MmioWrite>{
                                     {0x104, 0x04}, {0x105, 0x03}, {0x106, 0x02}, {0x107, 0x01}}));
    EXPECT_TRUE(hal.mmio_writes().empty());  // no 32-bit access to the config space
    EXPECT_EQ(hal.config[1], 0x01020304u);
    EXPECT_TRUE(hal.complaints.empty());
}

TEST_F(VirtioMmioDeviceTest, FeaturesAreWrittenTwiceWhenValidationDropsSome) {
    // As Linux 6.1 on QEMU: offered STATS_VQ, PAGE_POISON, INDIRECT_DESC, EVENT_IDX, VERSION_1
    // and RING_RESET; known: STATS_VQ, PAGE_POISON, the ring bits; used: STATS_VQ, EVENT_IDX.
    const uint64_t stats = 1u << 1;
    const uint64_t poison = 1u << 4;
    const uint64_t event_idx = feature::bit(feature::kRingEventIdx);
    const uint64_t indirect = feature::bit(feature::kRingIndirectDesc);
    const uint64_t ring_reset = uint64_t{1} << 40;
    hal.device_features =
        stats | poison | indirect | event_idx | feature::bit(feature::kVersion1) | ring_reset;
    ASSERT_EQ(device.probe(5), Result::kOk);
    const uint64_t known =
        stats | poison | indirect | event_idx | ring_reset | feature::bit(feature::kAccessPlatform);
    ASSERT_EQ(device.begin_init(known, stats | event_idx), Result::kOk);
    EXPECT_THAT(hal.mmio_writes(),
                ElementsAreArray(std::vector<MmioWrite>{
                    {mmio::kStatus, 0},
                    {mmio::kStatus, 1},
                    {mmio::kStatus, 1 | 2},
                    {mmio::kDeviceFeaturesSel, 1},
                    {mmio::kDeviceFeaturesSel, 0},
                    {mmio::kDriverFeaturesSel, 1},
                    {mmio::kDriverFeatures, 1},  // RING_RESET is not a ring bit we know
                    {mmio::kDriverFeaturesSel, 0},
                    {mmio::kDriverFeatures, 0x30000012},
                    {mmio::kDriverFeaturesSel, 1},
                    {mmio::kDriverFeatures, 1},
                    {mmio::kDriverFeaturesSel, 0},
                    {mmio::kDriverFeatures, 0x20000002},
                    {mmio::kStatus, 1 | 2 | 8},
                }));
    EXPECT_EQ(device.negotiated_features(), stats | event_idx | feature::bit(feature::kVersion1));
    EXPECT_EQ(hal.driver_features, device.negotiated_features());

    // Legacy: the same, one word each time.
    hal.version = 1;
    hal.device_features = stats | poison | indirect | event_idx;
    ASSERT_EQ(device.probe(5), Result::kOk);
    hal.events.clear();
    ASSERT_EQ(device.begin_init(known, stats | event_idx), Result::kOk);
    EXPECT_THAT(hal.mmio_writes(), ElementsAreArray(std::vector<MmioWrite>{
                                       {mmio::kStatus, 0},
                                       {mmio::kStatus, 1},
                                       {mmio::kStatus, 1 | 2},
                                       {mmio::kDeviceFeaturesSel, 1},
                                       {mmio::kDeviceFeaturesSel, 0},
                                       {mmio::kDriverFeaturesSel, 0},
                                       {mmio::kDriverFeatures, 0x30000012},
                                       {mmio::kDriverFeaturesSel, 0},
                                       {mmio::kDriverFeatures, 0x20000002},
                                   }));
    EXPECT_EQ(device.negotiated_features(), stats | event_idx);
}

TEST_F(VirtioMmioDeviceTest, RestoreTransportRewritesTheLegacyPageSizeOnly) {
    ASSERT_EQ(device.probe(5), Result::kOk);
    device.restore_transport();
    EXPECT_TRUE(hal.mmio_writes().empty());
    hal.version = 1;
    ASSERT_EQ(device.probe(5), Result::kOk);
    hal.guest_page_size = 0;  // as if the device lost it
    device.restore_transport();
    EXPECT_EQ(hal.guest_page_size, 4096u);
    EXPECT_EQ(hal.mmio_writes().size(), 2u);
}

TEST_F(VirtioMmioDeviceTest, ConfigReadRetriesWhileGenerationChanges) {
    init(0);
    hal.config = {1000, 20, 7, 0};
    hal.scripted_generations = {4, 5, 5, 5};
    uint32_t values[2] = {};
    EXPECT_EQ(device.config_read(0, values, 2), Result::kOk);
    EXPECT_EQ(values[0], 1000u);
    EXPECT_EQ(values[1], 20u);
    EXPECT_EQ(hal.config_reads, 4u);  // two passes
    EXPECT_EQ(device.config_read(0, nullptr, 2), Result::kBadArgument);
    EXPECT_EQ(device.config_read(0, values, 0), Result::kBadArgument);
}

TEST_F(VirtioMmioDeviceTest, ConfigReadGivesUpWhenGenerationNeverSettles) {
    init(0);
    hal.generation_runs_away = true;
    uint32_t value = 0;
    EXPECT_EQ(device.config_read(0, &value, 1), Result::kConfigUnstable);
    EXPECT_EQ(hal.config_reads, VirtioMmioDevice::kConfigGenerationRetries);
}

TEST_F(VirtioMmioDeviceTest, LegacyConfigReadHasNoGeneration) {
    hal.version = 1;
    init(0);
    hal.generation_runs_away = true;  // never read on legacy devices
    hal.config = {1, 2, 3, 4};
    uint32_t values[4] = {};
    EXPECT_EQ(device.config_read(0, values, 4), Result::kOk);
    EXPECT_THAT(values, ElementsAre(1u, 2u, 3u, 4u));
    EXPECT_EQ(hal.generation, 0u);
}

TEST_F(VirtioMmioDeviceTest, ResultNamesAreDistinct) {
    EXPECT_STREQ(vbsim::sw::virtio::result_name(Result::kOk), "ok");
    EXPECT_STRNE(vbsim::sw::virtio::result_name(Result::kFeaturesRefused),
                 vbsim::sw::virtio::result_name(Result::kQueueAbsent));
}

// ---------------------------------------------------------------------------------------
// Virtqueue

class VirtqueueTest : public VirtioMmioDeviceTest {
  protected:
    // A live queue 0 of `size` entries on a device of `version`.
    void start(uint32_t size, bool event_idx, uint32_t dev_version = 2) {
        hal.version = dev_version;
        hal.device_features = feature::bit(feature::kRingEventIdx) |
                              (dev_version == 2 ? feature::bit(feature::kVersion1) : 0);
        init(event_idx ? feature::bit(feature::kRingEventIdx) : 0);
        ASSERT_EQ(queue.setup(device, 0, size, kRingBase, kRingLength, slots.data(), slots.size()),
                  Result::kOk);
        ASSERT_EQ(device.driver_ok(), Result::kOk);
        ASSERT_EQ(queue.event_idx(), event_idx);
        layout = queue.layout();
    }
    uint64_t desc(uint32_t index) const { return layout.descriptor_table + 16 * uint64_t{index}; }
    uint16_t avail_idx() const { return hal.ram16(layout.avail_ring + 2); }
    uint16_t avail_entry(uint32_t position) const {
        return hal.ram16(layout.avail_ring + 4 + 2 * uint64_t{position});
    }
    uint16_t used_event() const { return hal.ram16(layout.avail_ring + 4 + 2 * layout.size); }
    void set_avail_event(uint16_t value) {
        hal.write_le(layout.used_ring + 4 + 8 * uint64_t{layout.size}, value, 2);
    }
    bool add_one(uint64_t token, uint64_t address = kRamBase + 0x1000, uint32_t length = 64) {
        const Virtqueue::Buffer buffer{address, length};
        return queue.add_buffer(&buffer, 1, 0, token);
    }

    std::array<Virtqueue::Slot, 256> slots{};
    Virtqueue queue;
    QueueLayout layout;
};

TEST_F(VirtqueueTest, AddBufferWritesDescriptorAndAvailRing) {
    start(8, false);
    EXPECT_EQ(queue.size(), 8u);
    EXPECT_EQ(queue.num_free(), 8u);
    const Virtqueue::Buffer buffer{0x123456789abcdef0, 0x200};
    ASSERT_TRUE(queue.add_buffer(&buffer, 1, 0, 77));

    // Descriptor 0: le64 addr, le32 len, le16 flags, le16 next - byte for byte.
    const uint8_t* bytes = hal.ram.data() + (desc(0) - kRamBase);
    const std::vector<uint8_t> expected = {0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12,
                                           0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 16), expected);
    EXPECT_EQ(avail_entry(0), 0u);
    EXPECT_EQ(avail_idx(), 1u);
    EXPECT_EQ(hal.ram16(layout.avail_ring), 0u);  // flags: interrupts wanted
    EXPECT_EQ(queue.num_free(), 7u);
    EXPECT_EQ(queue.in_flight(), 1u);

    // A writable buffer carries WRITE, and goes in the next avail slot.
    const Virtqueue::Buffer in{kRamBase + 0x2000, 16};
    ASSERT_TRUE(queue.add_buffer(&in, 0, 1, 78));
    EXPECT_EQ(hal.ram16(desc(1) + 12), vring::kDescFlagWrite);
    EXPECT_EQ(avail_entry(1), 1u);
    EXPECT_EQ(avail_idx(), 2u);
}

TEST_F(VirtqueueTest, PublishesAvailIdxOnlyAfterABarrier) {
    start(8, false);
    hal.events.clear();
    ASSERT_TRUE(add_one(1));
    ASSERT_EQ(hal.events.size(), 4u);  // descriptor, ring entry, barrier, idx
    EXPECT_EQ(hal.events[0].address, desc(0));
    EXPECT_EQ(hal.events[1].address, layout.avail_ring + 4);
    EXPECT_EQ(hal.events[2].kind, Event::kBarrier);
    EXPECT_EQ(hal.events[3].address, layout.avail_ring + 2);
}

TEST_F(VirtqueueTest, GetUsedReturnsTokenAndFreesDescriptors) {
    start(8, false);
    uint64_t token = 0;
    uint32_t length = 0;
    EXPECT_FALSE(queue.get_used(&token, &length));  // nothing used yet
    ASSERT_TRUE(add_one(0xdead));
    ASSERT_TRUE(add_one(0xbeef));
    EXPECT_EQ(queue.num_free(), 6u);

    hal.complete(layout, 0, 1, 12);  // the device finishes the second one first
    EXPECT_TRUE(queue.has_used());
    ASSERT_TRUE(queue.get_used(&token, &length));
    EXPECT_EQ(token, 0xbeefu);
    EXPECT_EQ(length, 12u);
    EXPECT_EQ(queue.num_free(), 7u);
    EXPECT_FALSE(queue.get_used(&token, &length));

    hal.complete(layout, 1, 0, 0);
    ASSERT_TRUE(queue.get_used(&token, &length));
    EXPECT_EQ(token, 0xdeadu);
    EXPECT_EQ(queue.num_free(), 8u);
    EXPECT_EQ(queue.in_flight(), 0u);
    EXPECT_FALSE(queue.broken());
}

TEST_F(VirtqueueTest, BarrierBetweenUsedIdxAndElement) {
    start(8, false);
    ASSERT_TRUE(add_one(1));
    hal.complete(layout, 0, 0, 4);
    hal.events.clear();
    ASSERT_TRUE(queue.get_used(nullptr, nullptr));
    ASSERT_FALSE(hal.events.empty());
    EXPECT_EQ(hal.events[0].kind, Event::kBarrier);
}

TEST_F(VirtqueueTest, ChainOfThreeDescriptors) {
    start(8, false);
    ASSERT_TRUE(add_one(1));  // descriptor 0 stays busy
    const Virtqueue::Buffer chain[3] = {
        {kRamBase + 0x3000, 10}, {kRamBase + 0x4000, 20}, {kRamBase + 0x5000, 30}};
    ASSERT_TRUE(queue.add_buffer(chain, 2, 1, 42));
    EXPECT_EQ(queue.num_free(), 4u);
    EXPECT_EQ(avail_entry(1), 1u);  // head

    const uint16_t d1 = 1;
    const uint16_t d2 = hal.ram16(desc(d1) + 14);
    const uint16_t d3 = hal.ram16(desc(d2) + 14);
    EXPECT_EQ(hal.ram64(desc(d1)), kRamBase + 0x3000);
    EXPECT_EQ(hal.ram32(desc(d1) + 8), 10u);
    EXPECT_EQ(hal.ram16(desc(d1) + 12), vring::kDescFlagNext);
    EXPECT_EQ(hal.ram64(desc(d2)), kRamBase + 0x4000);
    EXPECT_EQ(hal.ram16(desc(d2) + 12), vring::kDescFlagNext);
    EXPECT_EQ(hal.ram64(desc(d3)), kRamBase + 0x5000);
    EXPECT_EQ(hal.ram32(desc(d3) + 8), 30u);
    EXPECT_EQ(hal.ram16(desc(d3) + 12), vring::kDescFlagWrite);
    EXPECT_NE(d1, d2);
    EXPECT_NE(d2, d3);
    EXPECT_LT(d3, 8u);

    hal.complete(layout, 0, 1, 30);
    uint64_t token = 0;
    ASSERT_TRUE(queue.get_used(&token, nullptr));
    EXPECT_EQ(token, 42u);
    EXPECT_EQ(queue.num_free(), 7u);

    // The freed descriptors serve a new chain of 7: everything but descriptor 0.
    std::vector<Virtqueue::Buffer> seven(7, Virtqueue::Buffer{kRamBase + 0x6000, 8});
    ASSERT_TRUE(queue.add_buffer(seven.data(), 7, 0, 43));
    EXPECT_EQ(queue.num_free(), 0u);
    std::vector<bool> seen(8, false);
    uint16_t d = avail_entry(2);
    for (int i = 0; i < 7; ++i) {
        ASSERT_LT(d, 8u);
        EXPECT_FALSE(seen[d]);
        seen[d] = true;
        EXPECT_EQ(hal.ram16(desc(d) + 12), i < 6 ? vring::kDescFlagNext : 0);
        d = hal.ram16(desc(d) + 14);
    }
    EXPECT_FALSE(seen[0]);
}

TEST_F(VirtqueueTest, RingFullRejectsAdd) {
    start(4, false);
    for (uint64_t token = 0; token < 3; ++token) {
        ASSERT_TRUE(add_one(token));
    }
    const Virtqueue::Buffer two[2] = {{kRamBase, 8}, {kRamBase + 8, 8}};
    EXPECT_FALSE(queue.add_buffer(two, 1, 1, 9));  // one descriptor left
    EXPECT_EQ(queue.num_free(), 1u);
    EXPECT_EQ(avail_idx(), 3u);
    ASSERT_TRUE(add_one(3));
    EXPECT_FALSE(add_one(4));
    EXPECT_EQ(queue.num_free(), 0u);
    EXPECT_EQ(avail_idx(), 4u);
    EXPECT_FALSE(queue.broken());
}

TEST_F(VirtqueueTest, RejectsEmptyChainsAndZeroLengthBuffers) {
    start(4, false);
    const Virtqueue::Buffer buffers[2] = {{kRamBase, 8}, {kRamBase + 8, 0}};
    EXPECT_FALSE(queue.add_buffer(buffers, 0, 0, 1));
    EXPECT_FALSE(queue.add_buffer(buffers, 2, 0, 1));
    EXPECT_FALSE(queue.add_buffer(nullptr, 1, 0, 1));
    EXPECT_EQ(queue.num_free(), 4u);
    EXPECT_EQ(avail_idx(), 0u);
}

TEST_F(VirtqueueTest, KickHonoursNoNotify) {
    start(8, false);
    EXPECT_FALSE(queue.kick());  // nothing added
    ASSERT_TRUE(add_one(1));
    EXPECT_TRUE(queue.kick());
    EXPECT_THAT(hal.notifications, ElementsAre(0u));

    hal.write_le(layout.used_ring, vring::kUsedFlagNoNotify, 2);
    ASSERT_TRUE(add_one(2));
    EXPECT_FALSE(queue.kick_needed());
    EXPECT_EQ(hal.notifications.size(), 1u);

    hal.write_le(layout.used_ring, 0, 2);
    ASSERT_TRUE(add_one(3));
    EXPECT_TRUE(queue.kick_needed());
}

TEST_F(VirtqueueTest, EventIdxKickDecisions) {
    start(16, true);
    // The device ignores used flags with EVENT_IDX negotiated.
    hal.write_le(layout.used_ring, vring::kUsedFlagNoNotify, 2);
    for (uint64_t token = 0; token < 3; ++token) {
        ASSERT_TRUE(add_one(token));  // avail idx 0 -> 3
    }
    set_avail_event(0);  // the device wants to hear once entry 0 is there
    EXPECT_TRUE(queue.kick());
    EXPECT_THAT(hal.notifications, ElementsAre(0u));

    ASSERT_TRUE(add_one(3));  // 3 -> 4
    set_avail_event(2);       // already passed before this batch
    EXPECT_FALSE(queue.kick_needed());

    ASSERT_TRUE(add_one(4));  // 4 -> 5
    set_avail_event(7);       // not reached yet
    EXPECT_FALSE(queue.kick_needed());

    ASSERT_TRUE(add_one(5));  // 5 -> 6
    ASSERT_TRUE(add_one(6));  // 6 -> 7
    set_avail_event(5);       // crossed by this batch (idx 5 -> 7)
    EXPECT_TRUE(queue.kick_needed());

    ASSERT_TRUE(add_one(7));  // 7 -> 8
    set_avail_event(7);       // exactly the entry just added
    EXPECT_TRUE(queue.kick_needed());
}

TEST_F(VirtqueueTest, EventIdxWritesUsedEventAfterGetUsed) {
    start(8, true);
    EXPECT_EQ(used_event(), 0u);
    for (uint64_t token = 0; token < 3; ++token) {
        ASSERT_TRUE(add_one(token));
    }
    hal.complete(layout, 0, 0, 0);
    hal.complete(layout, 1, 1, 0);
    uint64_t token = 0;
    ASSERT_TRUE(queue.get_used(&token, nullptr));
    EXPECT_EQ(used_event(), 1u);
    ASSERT_TRUE(queue.get_used(&token, nullptr));
    EXPECT_EQ(used_event(), 2u);  // interrupt when used idx passes 2
    EXPECT_FALSE(queue.get_used(&token, nullptr));
    EXPECT_EQ(hal.ram16(layout.avail_ring), 0u);  // flags stay 0 with EVENT_IDX
    // A barrier follows the used_event store.
    EXPECT_EQ(hal.events.back().kind, Event::kBarrier);
}

TEST_F(VirtqueueTest, EventIdxSuppressionUsesUsedEvent) {
    start(8, true);
    ASSERT_TRUE(add_one(1));
    queue.disable_interrupts();
    EXPECT_EQ(hal.ram16(layout.avail_ring), 0u);
    const uint16_t suppressed = used_event();
    EXPECT_FALSE(vring::need_event(suppressed, 1, 0));  // the device would not interrupt

    hal.complete(layout, 0, 0, 0);
    ASSERT_TRUE(queue.get_used(nullptr, nullptr));
    EXPECT_EQ(used_event(), suppressed);  // not re-armed while disabled

    EXPECT_FALSE(queue.enable_interrupts());
    EXPECT_EQ(used_event(), 1u);
}

TEST_F(VirtqueueTest, WithoutEventIdxFlagsControlInterrupts) {
    start(8, false);
    ASSERT_TRUE(add_one(1));
    hal.complete(layout, 0, 0, 0);
    ASSERT_TRUE(queue.get_used(nullptr, nullptr));
    EXPECT_EQ(hal.ram16(layout.avail_ring), 0u);  // interrupts wanted
    EXPECT_EQ(used_event(), 0u);                  // untouched without EVENT_IDX

    queue.disable_interrupts();
    EXPECT_EQ(hal.ram16(layout.avail_ring), vring::kAvailFlagNoInterrupt);
    ASSERT_TRUE(add_one(2));
    hal.complete(layout, 1, 0, 0);
    // Re-enabling reports what arrived meanwhile.
    EXPECT_TRUE(queue.enable_interrupts());
    EXPECT_EQ(hal.ram16(layout.avail_ring), 0u);
    ASSERT_TRUE(queue.get_used(nullptr, nullptr));
    EXPECT_FALSE(queue.enable_interrupts());
}

TEST_F(VirtqueueTest, LegacyQueueUsesTheAlignedUsedRing) {
    start(256, false, 1);
    EXPECT_EQ(layout.used_ring, kRingBase + 8192);
    ASSERT_TRUE(add_one(5));
    EXPECT_EQ(hal.ram16(kRingBase + 4096 + 2), 1u);  // avail idx right after the descriptors
    // The device writes the used ring where QueuePFN and QueueAlign put it.
    const uint64_t used = uint64_t{hal.queues[0].pfn} * 4096 +
                          vbsim::spec::align_up(16 * 256 + 6 + 2 * 256, hal.queues[0].align);
    hal.write_le(used + 4, 0, 4);
    hal.write_le(used + 8, 99, 4);
    hal.write_le(used + 2, 1, 2);
    uint64_t token = 0;
    uint32_t length = 0;
    ASSERT_TRUE(queue.get_used(&token, &length));
    EXPECT_EQ(token, 5u);
    EXPECT_EQ(length, 99u);
}

TEST_F(VirtqueueTest, BogusUsedIdOutOfRangeBreaksTheQueue) {
    start(8, false);
    ASSERT_TRUE(add_one(1));
    hal.complete(layout, 0, 8, 0);
    uint64_t token = 123;
    EXPECT_FALSE(queue.get_used(&token, nullptr));
    EXPECT_TRUE(queue.broken());
    EXPECT_EQ(queue.error(), Virtqueue::Error::kUsedIdOutOfRange);
    EXPECT_EQ(token, 123u);
    hal.complete(layout, 0, 0xffffffff, 0);
    EXPECT_FALSE(queue.get_used(&token, nullptr));
    EXPECT_FALSE(add_one(2));  // a broken queue takes nothing more
    EXPECT_FALSE(queue.has_used());
}

TEST_F(VirtqueueTest, BogusUsedIdNotInFlightBreaksTheQueue) {
    start(8, false);
    const Virtqueue::Buffer chain[2] = {{kRamBase, 8}, {kRamBase + 8, 8}};
    ASSERT_TRUE(queue.add_buffer(chain, 2, 0, 1));  // descriptors 0 -> 1
    ASSERT_TRUE(add_one(2));                        // descriptor 2
    hal.complete(layout, 0, 1, 0);                  // middle of a chain, not a head
    EXPECT_FALSE(queue.get_used(nullptr, nullptr));
    EXPECT_EQ(queue.error(), Virtqueue::Error::kUsedIdNotInFlight);
}

TEST_F(VirtqueueTest, DoubleCompletionBreaksTheQueue) {
    start(8, false);
    ASSERT_TRUE(add_one(1));
    ASSERT_TRUE(add_one(2));
    hal.complete(layout, 0, 0, 0);
    ASSERT_TRUE(queue.get_used(nullptr, nullptr));
    hal.complete(layout, 1, 0, 0);  // the same head again
    EXPECT_FALSE(queue.get_used(nullptr, nullptr));
    EXPECT_EQ(queue.error(), Virtqueue::Error::kUsedIdNotInFlight);
    EXPECT_EQ(queue.num_free(), 7u);  // nothing freed twice
}

TEST_F(VirtqueueTest, UsedIdxRunningAheadBreaksTheQueue) {
    start(8, false);
    ASSERT_TRUE(add_one(1));
    hal.write_le(layout.used_ring + 2, 5, 2);  // five used, one in flight
    EXPECT_FALSE(queue.get_used(nullptr, nullptr));
    EXPECT_EQ(queue.error(), Virtqueue::Error::kUsedIndexAhead);
}

TEST_F(VirtqueueTest, IndicesWrapAt65536) {
    start(4, true);
    uint16_t used_idx = 0;
    for (uint32_t i = 0; i < 70000; ++i) {
        ASSERT_TRUE(add_one(i));
        set_avail_event(static_cast<uint16_t>(i));  // the device wants to hear of each one
        ASSERT_TRUE(queue.kick_needed()) << i;
        hal.complete(layout, used_idx++, hal.ram16(layout.avail_ring + 4 + 2 * (i % 4)), 1);
        uint64_t token = 0;
        ASSERT_TRUE(queue.get_used(&token, nullptr)) << i;
        ASSERT_EQ(token, i);
        ASSERT_EQ(used_event(), used_idx);
    }
    EXPECT_EQ(avail_idx(), static_cast<uint16_t>(70000));
    EXPECT_EQ(queue.num_free(), 4u);
    EXPECT_FALSE(queue.broken());
}

TEST_F(VirtqueueTest, SizeIsLimitedByTheSlots) {
    hal.device_features = feature::bit(feature::kVersion1);
    init(0);
    std::array<Virtqueue::Slot, 24> few{};
    ASSERT_EQ(queue.setup(device, 0, 128, kRingBase, kRingLength, few.data(), few.size()),
              Result::kOk);
    EXPECT_EQ(queue.size(), 16u);
    EXPECT_EQ(Virtqueue::slots_for(128), 128u);
    Virtqueue other;
    EXPECT_EQ(other.setup(device, 1, 128, kRingBase, kRingLength, nullptr, 4),
              Result::kBadArgument);
    EXPECT_FALSE(other.ready());
    EXPECT_FALSE(other.add_buffer(nullptr, 1, 0, 0));
    EXPECT_FALSE(other.kick());
    EXPECT_FALSE(other.get_used(nullptr, nullptr));
}

TEST_F(VirtqueueTest, DetachUnusedAndSetupAgain) {
    start(8, false);
    ASSERT_TRUE(add_one(10));
    ASSERT_TRUE(add_one(11));
    ASSERT_EQ(device.reset(), Result::kOk);
    std::vector<uint64_t> tokens;
    uint64_t token = 0;
    while (queue.detach_unused(&token)) {
        tokens.push_back(token);
    }
    EXPECT_THAT(tokens, ::testing::UnorderedElementsAre(10u, 11u));
    EXPECT_EQ(queue.num_free(), 8u);
    EXPECT_EQ(queue.teardown(), Result::kOk);
    EXPECT_FALSE(queue.ready());

    // Restore: the same set-up path again, from a clean ring.
    start(8, false);
    EXPECT_EQ(avail_idx(), 0u);
    ASSERT_TRUE(add_one(12));
    EXPECT_EQ(avail_entry(0), 0u);
}

}  // namespace

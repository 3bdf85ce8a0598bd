// Register-level tests of the virtio-mmio transport, driven by a test initiator
// and hand-built rings (no driver code). The balloon is the device behind it.

#include <gtest/gtest.h>

#include <vector>

#include "models/balloon/balloon_device.h"
#include "tests/support/virtio_bench.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::VirtioBench;
namespace reg = spec::mmio;
namespace st = spec::status;
using spec::feature::bit;

constexpr uint64_t kBalloonFeatures = bit(spec::balloon::kFeatureMustTellHost) |
                                      bit(spec::balloon::kFeatureStatsVq) |
                                      bit(spec::balloon::kFeatureDeflateOnOom);
constexpr uint64_t kModernDriverFeatures = kBalloonFeatures | bit(spec::feature::kVersion1);

BalloonDeviceParams balloon_params() {
    return test::bench_balloon_params();
}
VirtioMmioParams mmio_params(uint32_t version) {
    return test::bench_mmio_params(version);
}

VirtioMmioParams offering_ring_reset(VirtioMmioParams params) {
    params.offer_ring_reset = true;
    return params;
}

struct Bench {
    explicit Bench(uint32_t version, BalloonDeviceParams params = balloon_params(),
                   bool ring_reset = false)
        : balloon("balloon", params),
          bench(balloon,
                ring_reset ? offering_ring_reset(mmio_params(version)) : mmio_params(version)) {
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
    }
    BalloonDevice balloon;
    VirtioBench bench;
};

TEST(VirtioMmio, IdentifiesAsAVirtioBalloonInBothVersions) {
    Bench modern(2);
    EXPECT_EQ(modern.bench.read(reg::kMagicValue), 0x74726976u);
    EXPECT_EQ(modern.bench.read(reg::kVersion), 2u);
    EXPECT_EQ(modern.bench.read(reg::kDeviceId), 5u);
    EXPECT_EQ(modern.bench.read(reg::kVendorId), 0x4d534256u);
}

TEST(VirtioMmio, LegacyReportsVersionOneAndNoVersion1Feature) {
    Bench legacy(1);
    EXPECT_EQ(legacy.bench.read(reg::kVersion), 1u);
    legacy.bench.write(reg::kDeviceFeaturesSel, 1);
    EXPECT_EQ(legacy.bench.read(reg::kDeviceFeatures), 0u);
    legacy.bench.write(reg::kDeviceFeaturesSel, 0);
    EXPECT_EQ(legacy.bench.read(reg::kDeviceFeatures), 0x30000007u);
}

TEST(VirtioMmio, ModernOffersBalloonRingAndVersionBitsOverBothHalves) {
    Bench modern(2);
    modern.bench.write(reg::kDeviceFeaturesSel, 0);
    EXPECT_EQ(modern.bench.read(reg::kDeviceFeatures), 0x30000007u);  // bits 0-2, 28, 29
    modern.bench.write(reg::kDeviceFeaturesSel, 1);
    EXPECT_EQ(modern.bench.read(reg::kDeviceFeatures), 0x1u);  // VERSION_1 (bit 32)
    modern.bench.write(reg::kDeviceFeaturesSel, 2);
    EXPECT_EQ(modern.bench.read(reg::kDeviceFeatures), 0u);
}

TEST(VirtioMmio, ModernInitSequenceReachesDriverOk) {
    Bench modern(2);
    VirtioBench& bench = modern.bench;
    EXPECT_EQ(bench.negotiate(kModernDriverFeatures),
              st::kAcknowledge | st::kDriver | st::kFeaturesOk);
    EXPECT_EQ(modern.bench.mmio.negotiated_features(), kModernDriverFeatures);
    for (unsigned int queue = 0; queue < 3; ++queue) {
        bench.write(reg::kQueueSel, queue);
        EXPECT_EQ(bench.read(reg::kQueueNumMax), 128u);
        EXPECT_TRUE(bench.setup_queue(queue, 128)) << "queue " << queue;
    }
    bench.driver_ok();
    EXPECT_EQ(bench.read(reg::kStatus),
              st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
    EXPECT_NE(bench.mmio.queue(2), nullptr);
    EXPECT_EQ(bench.mmio.queue(2)->layout().used_ring, bench.used_addr(2));
}

TEST(VirtioMmio, LegacyInitSequenceUsesGuestPageSizeAndQueuePfn) {
    Bench legacy(1);
    VirtioBench& bench = legacy.bench;
    EXPECT_EQ(bench.negotiate(kBalloonFeatures), st::kAcknowledge | st::kDriver);
    EXPECT_TRUE(bench.setup_queue(0, 128));
    EXPECT_EQ(bench.read(reg::kQueuePfn), bench.ring_base(0) / 4096);
    bench.driver_ok();
    EXPECT_EQ(bench.read(reg::kStatus), st::kAcknowledge | st::kDriver | st::kDriverOk);
    const SplitVirtqueue* queue = bench.mmio.queue(0);
    ASSERT_NE(queue, nullptr);
    EXPECT_EQ(queue->layout().avail_ring, bench.ring_base(0) + 16 * 128);
    EXPECT_EQ(queue->layout().used_ring, bench.ring_base(0) + 4096);
    // Modern-only registers do not exist in the legacy layout.
    EXPECT_EQ(bench.status_of_read(reg::kQueueReady), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(bench.status_of_read(reg::kConfigGeneration), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

TEST(VirtioMmio, LegacyIgnoresTheSecondDriverFeaturesWord) {
    Bench legacy(1);
    legacy.bench.write(reg::kDriverFeaturesSel, 0);
    legacy.bench.write(reg::kDriverFeatures, 0x3);
    legacy.bench.write(reg::kDriverFeaturesSel, 1);
    legacy.bench.write(reg::kDriverFeatures, 0x1);
    legacy.bench.write(reg::kDriverFeatures, 0x0);  // Linux 6.1 writes word 1 as 0
    EXPECT_EQ(legacy.bench.mmio.negotiated_features(), 0x3u);
    EXPECT_EQ(legacy.bench.mmio.counters().guest_errors, 2u);  // as QEMU logs them
    EXPECT_EQ(legacy.bench.mmio.counters().ignored_writes, 0u);
}

TEST(VirtioMmio, LegacyQueuePfnBeforeGuestPageSizeLeavesTheQueueOff) {
    Bench legacy(1);
    VirtioBench& bench = legacy.bench;
    bench.write(reg::kStatus, st::kAcknowledge | st::kDriver);
    bench.write(reg::kQueueSel, 0);
    bench.write(reg::kQueueNum, 128);
    bench.write(reg::kQueuePfn, static_cast<uint32_t>(bench.ring_base(0) / 4096));
    EXPECT_EQ(bench.read(reg::kQueuePfn), 0u);
    EXPECT_EQ(bench.mmio.queue(0), nullptr);
}

TEST(VirtioMmio, RefusesFeaturesOkForUnofferedFeatures) {
    Bench modern(2);
    const uint32_t status =
        modern.bench.negotiate(kModernDriverFeatures | bit(spec::balloon::kFeatureFreePageHint));
    EXPECT_EQ(status & st::kFeaturesOk, 0u);
}

TEST(VirtioMmio, RefusesFeaturesOkWithoutVersion1) {
    Bench modern(2);
    EXPECT_EQ(modern.bench.negotiate(kBalloonFeatures) & st::kFeaturesOk, 0u);
}

TEST(VirtioMmio, BalloonRefusesFeaturesOkWithoutMustTellHost) {
    Bench modern(2);
    const uint64_t without = kModernDriverFeatures & ~bit(spec::balloon::kFeatureMustTellHost);
    EXPECT_EQ(modern.bench.negotiate(without) & st::kFeaturesOk, 0u);
    // A driver that accepted nothing optional but MUST_TELL_HOST is fine.
    EXPECT_NE(modern.bench.negotiate(bit(spec::balloon::kFeatureMustTellHost) |
                                     bit(spec::feature::kVersion1)) &
                  st::kFeaturesOk,
              0u);
}

TEST(VirtioMmio, DriverOkWithoutFeaturesOkIsIgnoredOnModern) {
    Bench modern(2);
    modern.bench.write(reg::kStatus, st::kAcknowledge | st::kDriver);
    modern.bench.write(reg::kStatus, st::kAcknowledge | st::kDriver | st::kDriverOk);
    EXPECT_EQ(modern.bench.read(reg::kStatus), st::kAcknowledge | st::kDriver);
}

TEST(VirtioMmio, StatsQueueExistsOnlyWhenStatsVqIsNegotiated) {
    Bench modern(2);
    const uint64_t without = kModernDriverFeatures & ~bit(spec::balloon::kFeatureStatsVq);
    modern.bench.negotiate(without);
    modern.bench.write(reg::kQueueSel, 2);
    EXPECT_EQ(modern.bench.read(reg::kQueueNumMax), 0u);
    EXPECT_FALSE(modern.bench.setup_queue(2, 128));
    modern.bench.negotiate(kModernDriverFeatures);
    modern.bench.write(reg::kQueueSel, 2);
    EXPECT_EQ(modern.bench.read(reg::kQueueNumMax), 128u);
    modern.bench.write(reg::kQueueSel, 3);
    EXPECT_EQ(modern.bench.read(reg::kQueueNumMax), 0u);
}

// Linux (and our driver) tear the queues down after the reset that ends freeze and remove:
// QueueSel + QueueReady = 0 (legacy: QueuePFN = 0) for every queue, statsq included, which no
// longer exists once the reset cleared STATS_VQ. A no-op, served quietly as QEMU does.
void expect_quiet_teardown_after_reset(uint32_t version) {
    Bench bench_of(version);
    VirtioBench& bench = bench_of.bench;
    bench.negotiate(version == 2 ? kModernDriverFeatures : kBalloonFeatures);
    for (uint32_t index = 0; index < 3; ++index) {
        ASSERT_TRUE(bench.setup_queue(index, 64));
    }
    bench.driver_ok();
    bench.write(reg::kStatus, 0);
    const uint32_t deactivate = version == 2 ? reg::kQueueReady : reg::kQueuePfn;
    for (uint32_t index = 0; index < 3; ++index) {
        bench.write(reg::kQueueSel, index);
        bench.write(deactivate, 0);
        EXPECT_EQ(bench.read(deactivate), 0u);
    }
    EXPECT_EQ(bench.mmio.counters().ignored_writes, 0u);
    EXPECT_EQ(sc_core::sc_report_handler::get_count("vbsim/virtio-mmio"), 0);
    // Activating a queue that does not exist is still refused.
    bench.write(reg::kQueueSel, 2);
    bench.write(deactivate, 1);
    EXPECT_EQ(bench.mmio.counters().ignored_writes, 1u);
}

TEST(VirtioMmio, ModernTeardownOfQueuesAfterAResetIsQuiet) {
    expect_quiet_teardown_after_reset(2);
}

TEST(VirtioMmio, LegacyTeardownOfQueuesAfterAResetIsQuiet) {
    expect_quiet_teardown_after_reset(1);
}

TEST(VirtioMmio, RejectsQueueSizesThatAreNotPowersOfTwoOrTooLarge) {
    Bench modern(2);
    modern.bench.negotiate(kModernDriverFeatures);
    EXPECT_FALSE(modern.bench.setup_queue(0, 100));
    EXPECT_FALSE(modern.bench.setup_queue(0, 256));
    EXPECT_FALSE(modern.bench.setup_queue(0, 0));
    EXPECT_TRUE(modern.bench.setup_queue(0, 64));
}

TEST(VirtioMmio, RejectsMisalignedRingAddresses) {
    Bench modern(2);
    VirtioBench& bench = modern.bench;
    bench.negotiate(kModernDriverFeatures);
    bench.write(reg::kQueueSel, 0);
    bench.write(reg::kQueueNum, 16);
    bench.write(reg::kQueueDescLow, static_cast<uint32_t>(test::kRamBase + 8));  // not 16-aligned
    bench.write(reg::kQueueDriverLow, static_cast<uint32_t>(test::kRamBase + 0x1000));
    bench.write(reg::kQueueDeviceLow, static_cast<uint32_t>(test::kRamBase + 0x2000));
    bench.write(reg::kQueueReady, 1);
    EXPECT_EQ(bench.read(reg::kQueueReady), 0u);
}

TEST(VirtioMmio, QueueRegistersAreFrozenWhileTheQueueIsReady) {
    Bench modern(2);
    modern.bench.negotiate(kModernDriverFeatures);
    ASSERT_TRUE(modern.bench.setup_queue(0, 64));
    const uint64_t before = modern.bench.mmio.counters().ignored_writes;
    modern.bench.write(reg::kQueueNum, 32);
    EXPECT_EQ(modern.bench.mmio.counters().ignored_writes, before + 1);
    EXPECT_EQ(modern.bench.mmio.queue(0)->layout().size, 64u);
}

TEST(VirtioMmio, SharedMemoryRegistersAnswerNone) {
    Bench modern(2);
    modern.bench.write(reg::kShmSel, 0);
    EXPECT_EQ(modern.bench.read(reg::kShmLenLow), 0xffffffffu);
    EXPECT_EQ(modern.bench.read(reg::kShmLenHigh), 0xffffffffu);
}

TEST(VirtioMmio, QueueResetForgetsTheQueueAndReportsDone) {
    Bench modern(2, balloon_params(), true);
    EXPECT_EQ(modern.bench.mmio.offered_features() & bit(spec::feature::kRingReset),
              bit(spec::feature::kRingReset));
    ASSERT_EQ(modern.bench.negotiate(kModernDriverFeatures | bit(spec::feature::kRingReset)) &
                  st::kFeaturesOk,
              st::kFeaturesOk);
    ASSERT_TRUE(modern.bench.setup_queue(1, 64));
    modern.bench.write(reg::kQueueReset, 1);
    EXPECT_EQ(modern.bench.read(reg::kQueueReset), 1u);
    EXPECT_EQ(modern.bench.read(reg::kQueueReady), 0u);
    EXPECT_EQ(modern.bench.mmio.queue(1), nullptr);
    ASSERT_TRUE(modern.bench.setup_queue(1, 32));
    EXPECT_EQ(modern.bench.read(reg::kQueueReset), 0u);
}

TEST(VirtioMmio, QueueResetWithoutRingResetIsIgnoredAsAGuestError) {
    Bench modern(2, balloon_params(), true);  // offered, but the driver did not take it
    modern.bench.negotiate(kModernDriverFeatures);
    ASSERT_TRUE(modern.bench.setup_queue(1, 64));
    EXPECT_EQ(modern.bench.write(reg::kQueueReset, 1), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.bench.read(reg::kQueueReset), 0u);
    EXPECT_EQ(modern.bench.read(reg::kQueueReady), 1u);
    EXPECT_NE(modern.bench.mmio.queue(1), nullptr);
    EXPECT_EQ(modern.bench.mmio.counters().guest_errors, 1u);
    EXPECT_EQ(modern.bench.read(reg::kStatus) & st::kDeviceNeedsReset, 0u);
}

TEST(VirtioMmio, RingResetIsNeverOfferedOnLegacy) {
    Bench legacy(1, balloon_params(), true);
    EXPECT_EQ(legacy.bench.mmio.offered_features() & bit(spec::feature::kRingReset), 0u);
}

TEST(VirtioMmio, ControlRegistersTakeOnlyAligned32BitAccesses) {
    Bench modern(2);
    uint16_t half = 0;
    EXPECT_EQ(modern.bench.cpu
                  .transport(tlm::TLM_READ_COMMAND, test::kMmioBase + reg::kMagicValue, &half, 2)
                  .status,
              tlm::TLM_GENERIC_ERROR_RESPONSE);
    uint32_t word = 0;
    EXPECT_EQ(modern.bench.cpu.read(test::kMmioBase + 2, &word, 4).status,
              tlm::TLM_GENERIC_ERROR_RESPONSE);
    uint64_t wide = 0;
    EXPECT_EQ(modern.bench.cpu.read(test::kMmioBase + reg::kStatus, &wide, 8).status,
              tlm::TLM_GENERIC_ERROR_RESPONSE);
    // A rejected write changes nothing.
    uint8_t byte = st::kAcknowledge;
    EXPECT_EQ(modern.bench.cpu.write(test::kMmioBase + reg::kStatus, &byte, 1).status,
              tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_EQ(modern.bench.read(reg::kStatus), 0u);
    EXPECT_EQ(modern.bench.mmio.counters().bad_accesses, 4u);
}

TEST(VirtioMmio, RejectsPartialByteEnablesAndUnknownOffsets) {
    Bench modern(2);
    uint32_t word = 0;
    const unsigned char enables[4] = {0xff, 0xff, 0x00, 0x00};
    EXPECT_EQ(
        modern.bench.cpu
            .transport(tlm::TLM_WRITE_COMMAND, test::kMmioBase + reg::kStatus, &word, 4, enables, 4)
            .status,
        tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    EXPECT_EQ(modern.bench.status_of_read(0x0d0), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

TEST(VirtioMmio, WritesToReadOnlyRegistersAreIgnored) {
    Bench modern(2);
    EXPECT_EQ(modern.bench.write(reg::kMagicValue, 0), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.bench.write(reg::kDeviceId, 9), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.bench.read(reg::kMagicValue), 0x74726976u);
    EXPECT_EQ(modern.bench.read(reg::kDeviceId), 5u);
    EXPECT_EQ(modern.bench.mmio.counters().ignored_writes, 2u);
}

// Config-space access of `width` bytes at config offset `offset`; returns the TLM status.
tlm::tlm_response_status config_read(Bench& bench, uint32_t offset, unsigned int width,
                                     uint32_t& value) {
    value = 0;
    return bench.bench.cpu.read(test::kMmioBase + reg::kConfig + offset, &value, width).status;
}
tlm::tlm_response_status config_write(Bench& bench, uint32_t offset, unsigned int width,
                                      uint32_t value) {
    return bench.bench.cpu.write(test::kMmioBase + reg::kConfig + offset, &value, width).status;
}

unsigned int warnings_of(const char* type) {
    return static_cast<unsigned int>(sc_core::sc_report_handler::get_count(type));
}

// Records what the host side is told about `actual`.
struct ActualLog : BalloonObserver {
    std::vector<uint32_t> values;
    void actual_changed(uint32_t pages, const sc_core::sc_time&) override {
        values.push_back(pages);
    }
};

// The config image: num_pages, actual, free_page_hint_cmd_id, poison_val (le32 each).
uint8_t config_byte(uint32_t num_pages, uint32_t actual, uint32_t offset) {
    const uint32_t field = offset / 4 == 0 ? num_pages : offset / 4 == 1 ? actual : 0;
    return static_cast<uint8_t>(field >> (8 * (offset % 4)));
}

TEST(VirtioMmio, LegacyConfigServesEveryWidthAtEveryAlignedOffset) {
    Bench legacy(1);
    legacy.balloon.set_target_pages(0x04030201);
    ASSERT_EQ(config_write(legacy, 4, 4, 0x0c0b0a09), tlm::TLM_OK_RESPONSE);
    unsigned int accesses = 0;
    for (unsigned int width : {1u, 2u, 4u}) {
        for (uint32_t offset = 0; offset + width <= 16; offset += width) {
            uint32_t expected = 0;
            for (unsigned int i = 0; i < width; ++i) {
                expected |= uint32_t{config_byte(0x04030201, 0x0c0b0a09, offset + i)} << (8 * i);
            }
            uint32_t value = 0;
            ASSERT_EQ(config_read(legacy, offset, width, value), tlm::TLM_OK_RESPONSE)
                << width << " bytes at " << offset;
            EXPECT_EQ(value, expected) << width << " bytes at " << offset;
            ++accesses;
        }
    }
    EXPECT_EQ(accesses, 16u + 8u + 4u);
    EXPECT_EQ(legacy.bench.mmio.counters().guest_errors, 0u);
    EXPECT_EQ(legacy.bench.mmio.counters().bad_accesses, 0u);
}

TEST(VirtioMmio, ModernConfigServesNarrowAccessesAsGuestErrorsReportedOnce) {
    Bench modern(2);
    modern.balloon.set_target_pages(0x04030201);
    const unsigned int warnings_before = warnings_of("vbsim/virtio-mmio");
    uint32_t value = 0;
    EXPECT_EQ(config_read(modern, 0, 4, value), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(value, 0x04030201u);
    EXPECT_EQ(modern.bench.mmio.counters().guest_errors, 0u);  // the field's own width
    EXPECT_EQ(config_read(modern, 1, 1, value), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(value, 0x02u);
    EXPECT_EQ(config_read(modern, 2, 2, value), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(value, 0x0403u);
    EXPECT_EQ(config_write(modern, 4, 2, 0x1234), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(config_write(modern, 6, 2, 0x0001), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.balloon.actual_pages(), 0x00011234u);
    EXPECT_EQ(modern.bench.mmio.counters().guest_errors, 4u);
    EXPECT_EQ(warnings_of("vbsim/virtio-mmio") - warnings_before, 1u);  // reported once
    EXPECT_EQ(modern.bench.mmio.counters().bad_accesses, 0u);
    EXPECT_EQ(modern.bench.read(reg::kStatus) & st::kDeviceNeedsReset, 0u);
}

class ConfigBounds : public ::testing::TestWithParam<uint32_t> {};

TEST_P(ConfigBounds, AccessesOutsideTheConfigOrMisalignedAreErrors) {
    Bench bench(GetParam());
    uint32_t value = 0;
    EXPECT_EQ(config_read(bench, 14, 2, value), tlm::TLM_OK_RESPONSE);  // the last field
    EXPECT_EQ(config_read(bench, 0x10, 1, value), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(config_read(bench, 0x10, 4, value), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(config_write(bench, 0xfe, 2, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(config_read(bench, 1, 2, value), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_EQ(config_write(bench, 6, 4, 1), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_EQ(bench.bench.mmio.counters().bad_accesses, 5u);
    EXPECT_EQ(bench.balloon.actual_pages(), 0u);
}

INSTANTIATE_TEST_SUITE_P(BothTransports, ConfigBounds, ::testing::Values(1u, 2u));

TEST(VirtioMmio, LegacyActualWrittenByteWiseReachesTheHostOnlyWhenComplete) {
    Bench legacy(1);
    ActualLog log;
    legacy.balloon.add_observer(log);
    auto write_bytes = [&legacy](uint32_t value) {
        for (uint32_t i = 0; i < 4; ++i) {  // lowest byte first, as Linux 6.1 does
            config_write(legacy, spec::balloon::kConfigActual + i, 1, (value >> (8 * i)) & 0xff);
        }
    };
    write_bytes(0x0000ff00);
    EXPECT_EQ(legacy.balloon.actual_pages(), 0xff00u);
    // 0xff00 -> 0x10000: after the second byte the field holds 0 (torn), never reported.
    config_write(legacy, spec::balloon::kConfigActual + 0, 1, 0x00);
    config_write(legacy, spec::balloon::kConfigActual + 1, 1, 0x00);
    uint32_t value = 0;
    config_read(legacy, spec::balloon::kConfigActual, 4, value);
    EXPECT_EQ(value, 0u);  // the register holds the bytes written so far
    EXPECT_EQ(legacy.balloon.actual_pages(), 0xff00u);
    config_write(legacy, spec::balloon::kConfigActual + 2, 1, 0x01);
    EXPECT_EQ(legacy.balloon.actual_pages(), 0xff00u);
    config_write(legacy, spec::balloon::kConfigActual + 3, 1, 0x00);
    EXPECT_EQ(legacy.balloon.actual_pages(), 0x10000u);
    // Rewriting the same value completes without a change to report.
    write_bytes(0x10000);
    EXPECT_EQ(log.values, (std::vector<uint32_t>{0xff00, 0x10000}));
    EXPECT_EQ(legacy.bench.mmio.counters().guest_errors, 0u);
}

TEST(VirtioMmio, DriverWritesToReadOnlyConfigFieldsAreIgnoredGuestErrors) {
    Bench modern(2);
    modern.balloon.set_target_pages(0x01020304);
    EXPECT_EQ(modern.bench.write(reg::kConfig + spec::balloon::kConfigNumPages, 5),
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.bench.write(reg::kConfig + spec::balloon::kConfigPoisonVal, 5),
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.balloon.target_pages(), 0x01020304u);
    EXPECT_EQ(modern.bench.read(reg::kConfig + spec::balloon::kConfigPoisonVal), 0u);
    EXPECT_EQ(modern.bench.mmio.counters().guest_errors, 2u);
    EXPECT_EQ(modern.bench.write(reg::kConfig + spec::balloon::kConfigActual, 77),
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(modern.balloon.actual_pages(), 77u);
    EXPECT_EQ(modern.bench.mmio.counters().guest_errors, 2u);
}

TEST(VirtioMmio, ConfigChangeBumpsGenerationAndInterruptsOnlyAfterDriverOk) {
    Bench modern(2);
    VirtioBench& bench = modern.bench;
    const uint32_t generation = bench.read(reg::kConfigGeneration);
    modern.balloon.set_target_pages(100);
    EXPECT_EQ(bench.read(reg::kConfigGeneration), generation + 1);
    EXPECT_EQ(bench.read(reg::kInterruptStatus), 0u);

    bench.negotiate(kModernDriverFeatures);
    bench.setup_queue(0, 64);
    bench.driver_ok();
    modern.balloon.set_target_pages(200);
    EXPECT_EQ(bench.read(reg::kConfigGeneration), generation + 2);
    EXPECT_EQ(bench.read(reg::kInterruptStatus), reg::kInterruptConfigChange);
}

TEST(VirtioMmio, InterruptLineFollowsInterruptStatusAfterTheLatency) {
    Bench modern(2);
    VirtioBench& bench = modern.bench;
    bench.negotiate(kModernDriverFeatures);
    bench.setup_queue(0, 64);
    bench.driver_ok();
    modern.balloon.set_target_pages(1);
    bench.run(sc_time(499, SC_NS));
    EXPECT_FALSE(bench.irq.read());
    bench.run(sc_time(2, SC_NS));
    EXPECT_TRUE(bench.irq.read());
    // ACK of another bit leaves it high; ACK of the pending bit drops it.
    bench.write(reg::kInterruptAck, reg::kInterruptUsedBuffer);
    bench.run(sc_time(1, SC_NS));
    EXPECT_TRUE(bench.irq.read());
    bench.write(reg::kInterruptAck, reg::kInterruptConfigChange);
    bench.run(sc_time(1, SC_NS));
    EXPECT_FALSE(bench.irq.read());
    EXPECT_EQ(bench.read(reg::kInterruptStatus), 0u);
    EXPECT_EQ(bench.mmio.counters().interrupts_raised, 1u);
}

// The waveform's line drops at the ACK's own (annotated) time, after SystemC's; a cause raised
// before that drop rises on the line only after its interrupt latency, as any raise does.
TEST(VirtioMmio, ACauseRaisedBeforeTheTracedDropOfAnAckRisesAfterItsLatency) {
    Bench modern(2);
    VirtioBench& bench = modern.bench;
    bench.negotiate(kModernDriverFeatures);
    bench.setup_queue(0, 64);
    bench.driver_ok();
    modern.balloon.set_target_pages(1);
    bench.run(sc_time(501, SC_NS));
    ASSERT_TRUE(bench.irq.read());
    const sc_time acked = sc_core::sc_time_stamp();
    ASSERT_EQ(bench.write(reg::kInterruptAck, reg::kInterruptConfigChange), tlm::TLM_OK_RESPONSE);
    bench.run(sc_time(1, SC_NS));
    EXPECT_FALSE(bench.irq.read());
    const ScheduledLevel& traced = bench.mmio.irq_for_trace();
    EXPECT_FALSE(traced.value());
    EXPECT_GT(traced.at(), acked + sc_time(1, SC_NS));  // the access's annotation (bus hop)
    const sc_time raised = sc_core::sc_time_stamp();
    modern.balloon.set_target_pages(2);  // before the traced drop
    bench.run(sc_time(499, SC_NS));
    EXPECT_FALSE(bench.irq.read());  // not at the traced drop: 500 ns after the raise
    EXPECT_FALSE(traced.value());
    bench.run(sc_time(2, SC_NS));
    EXPECT_TRUE(bench.irq.read());
    EXPECT_TRUE(traced.value());
    EXPECT_EQ(traced.at(), raised + sc_time(500, SC_NS));
    EXPECT_EQ(bench.mmio.counters().interrupts_raised, 2u);
}

// Linux 6.1 kicks the stats queue before DRIVER_OK on both transports: the kick is
// remembered and served at DRIVER_OK, never fatal.
class EarlyNotify : public ::testing::TestWithParam<uint32_t> {};

TEST_P(EarlyNotify, NotifyBeforeDriverOkIsDeliveredAtDriverOk) {
    const uint32_t version = GetParam();
    Bench device(version);
    VirtioBench& bench = device.bench;
    bench.negotiate(version == 2 ? kModernDriverFeatures : kBalloonFeatures);
    ASSERT_TRUE(bench.setup_queue(0, 16));
    bench.write_pfns(test::kBufferArea, {static_cast<uint32_t>(test::kRamBase >> 12) + 512});
    bench.post(0, 0, {{test::kBufferArea, 4, false}});
    bench.notify(0);
    bench.run(sc_time(100, SC_US));
    EXPECT_EQ(device.balloon.ballooned_pages(), 0u);  // not consumed before DRIVER_OK
    EXPECT_EQ(bench.mmio.counters().early_notifies, 1u);
    bench.driver_ok();
    bench.run(sc_time(100, SC_US));
    EXPECT_EQ(device.balloon.ballooned_pages(), 1u);
    EXPECT_EQ(bench.read(reg::kStatus) & st::kDeviceNeedsReset, 0u);
}

TEST_P(EarlyNotify, ResetForgetsAnEarlyNotify) {
    const uint32_t version = GetParam();
    Bench device(version);
    VirtioBench& bench = device.bench;
    const uint64_t features = version == 2 ? kModernDriverFeatures : kBalloonFeatures;
    bench.negotiate(features);
    ASSERT_TRUE(bench.setup_queue(0, 16));
    bench.notify(0);
    bench.write(reg::kStatus, 0);
    bench.negotiate(features);
    ASSERT_TRUE(bench.setup_queue(0, 16));
    bench.write_pfns(test::kBufferArea, {static_cast<uint32_t>(test::kRamBase >> 12) + 512});
    bench.post(0, 0, {{test::kBufferArea, 4, false}});
    bench.driver_ok();
    bench.run(sc_time(100, SC_US));
    EXPECT_EQ(device.balloon.ballooned_pages(), 0u);  // posted, never kicked after the reset
}

INSTANTIATE_TEST_SUITE_P(BothTransports, EarlyNotify, ::testing::Values(1u, 2u));

TEST(VirtioMmio, LegacyGuestPageSizeSurvivesADeviceReset) {
    // Legacy Linux writes GuestPageSize once, before its reset, and never again.
    Bench legacy(1);
    VirtioBench& bench = legacy.bench;
    bench.write(reg::kGuestPageSize, 4096);
    bench.write(reg::kStatus, 0);
    bench.write(reg::kStatus, st::kAcknowledge | st::kDriver);
    bench.write(reg::kQueueSel, 0);
    bench.write(reg::kQueueNum, 128);
    bench.write(reg::kQueuePfn, static_cast<uint32_t>(bench.ring_base(0) / 4096));
    EXPECT_EQ(bench.read(reg::kQueuePfn), bench.ring_base(0) / 4096);
    ASSERT_NE(bench.mmio.queue(0), nullptr);
    EXPECT_EQ(bench.mmio.queue(0)->layout().descriptor_table, bench.ring_base(0));
}

TEST(VirtioMmio, StatusZeroResetsQueuesFeaturesAndInterrupts) {
    Bench modern(2);
    VirtioBench& bench = modern.bench;
    bench.negotiate(kModernDriverFeatures);
    bench.setup_queue(0, 64);
    bench.driver_ok();
    modern.balloon.set_target_pages(5);
    ASSERT_NE(bench.read(reg::kInterruptStatus), 0u);
    bench.write(reg::kStatus, 0);
    EXPECT_EQ(bench.read(reg::kStatus), 0u);
    EXPECT_EQ(bench.read(reg::kInterruptStatus), 0u);
    EXPECT_EQ(bench.read(reg::kQueueReady), 0u);
    EXPECT_EQ(bench.mmio.queue(0), nullptr);
    EXPECT_EQ(bench.mmio.negotiated_features(), 0u);
    EXPECT_EQ(bench.mmio.counters().device_resets, 2u);  // negotiate() also resets first
}

TEST(VirtioMmio, DebugReadsOfRegistersHaveNoEffectAndWritesAreRefused) {
    Bench modern(2);
    uint32_t value = 0;
    EXPECT_EQ(modern.bench.cpu.debug(tlm::TLM_READ_COMMAND, test::kMmioBase + reg::kMagicValue,
                                     &value, 4),
              4u);
    EXPECT_EQ(value, 0x74726976u);
    value = st::kAcknowledge;
    EXPECT_EQ(
        modern.bench.cpu.debug(tlm::TLM_WRITE_COMMAND, test::kMmioBase + reg::kStatus, &value, 4),
        0u);
    EXPECT_EQ(modern.bench.read(reg::kStatus), 0u);
    EXPECT_EQ(modern.bench.mmio.counters().register_reads, 1u);
}

TEST(VirtioMmio, DebugReadsReachTheConfigSpace) {
    Bench modern(2);
    modern.balloon.set_target_pages(4321);
    uint32_t value = 0;
    EXPECT_EQ(
        modern.bench.cpu.debug(tlm::TLM_READ_COMMAND, test::kMmioBase + reg::kConfig, &value, 4),
        4u);
    EXPECT_EQ(value, 4321u);
    EXPECT_EQ(modern.bench.cpu.debug(tlm::TLM_READ_COMMAND, test::kMmioBase + reg::kConfig + 0x10,
                                     &value, 4),
              0u);
}

TEST(VirtioMmio, AnnotatesTheRegisterLatency) {
    Bench modern(2);
    uint32_t value = 0;
    // 2 ns bus hop + 40 ns register access.
    EXPECT_EQ(modern.bench.cpu.read(test::kMmioBase + reg::kVersion, &value, 4).delay,
              sc_time(42, SC_NS));
}

}  // namespace
}  // namespace vbsim::models

// The balloon's newer queues through the virtio-mmio transport at register level, with
// hand-built rings: free page reporting (reporting_vq), free page hinting (free_page_vq and
// free_page_hint_cmd_id), page poisoning (poison_val), queue numbering, malformed input.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/balloon/balloon_device.h"
#include "models/host/balloon_host_link.h"
#include "models/host/host_memory.h"
#include "tests/support/virtio_bench.h"

namespace vbsim::models {
namespace {

using sc_core::SC_MS;
using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::VirtioBench;
namespace reg = spec::mmio;
namespace st = spec::status;
namespace sb = spec::balloon;
using spec::feature::bit;

constexpr uint64_t kAllFeatures = bit(sb::kFeatureMustTellHost) | bit(sb::kFeatureStatsVq) |
                                  bit(sb::kFeatureDeflateOnOom) | bit(sb::kFeatureFreePageHint) |
                                  bit(sb::kFeaturePagePoison) | bit(sb::kFeaturePageReporting);
constexpr uint32_t kRamPages = test::kRamSize >> 12;
constexpr uint64_t k2MiB = uint64_t{2} << 20;
constexpr uint64_t k1MiB = uint64_t{1} << 20;
// Reported / hinted blocks from the fourth MiB of the 16 MiB bench RAM, clear of the rings and
// the buffer area.
constexpr uint64_t kBlockA = test::kRamBase + (uint64_t{4} << 20);
constexpr uint64_t kBlockB = test::kRamBase + (uint64_t{8} << 20);

BalloonDeviceParams params_offering(uint64_t features) {
    BalloonDeviceParams params = test::bench_balloon_params();
    params.offered_features = features;
    // Round numbers: 1 µs per buffer, 100 ns per page on both new queues.
    params.report_costs = params.inflate_costs;
    params.hint_costs = params.inflate_costs;
    return params;
}

// A live modern balloon with the queues of `driver_features` set up, wired to a host pool in
// which the whole guest has been touched.
struct Balloon {
    explicit Balloon(uint64_t driver_features, uint64_t offered = kAllFeatures)
        : device("balloon", params_offering(offered)),
          bench(device, test::bench_mmio_params(2)),
          host(HostMemoryParams{uint64_t{64} << 20, 0}),
          guest(host.add_guest("vm0", test::kRamBase, test::kRamSize)),
          link(host, guest) {
        device.add_observer(link);
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
        host.touch(guest, 0, kRamPages);
        negotiated_status = bench.negotiate(driver_features | bit(spec::feature::kVersion1));
        for (unsigned int queue = 0; queue < sb::kMaxQueues; ++queue) {
            if (sb::queue_index(static_cast<sb::Queue>(queue), driver_features) >= 0) {
                bench.setup_queue(static_cast<unsigned int>(sb::queue_index(
                                      static_cast<sb::Queue>(queue), driver_features)),
                                  64);
            }
        }
        bench.driver_ok();
    }

    uint32_t status() { return bench.read(reg::kStatus); }
    uint32_t config(uint32_t offset) { return bench.read(reg::kConfig + offset); }

    BalloonDevice device;
    VirtioBench bench;
    HostMemory host;
    GuestId guest;
    BalloonHostLink link;
    uint32_t negotiated_status = 0;
};

uint32_t queue_num_max(Balloon& balloon, unsigned int index) {
    balloon.bench.write(reg::kQueueSel, index);
    return balloon.bench.read(reg::kQueueNumMax);
}

// ---- queue numbering -------------------------------------------------------------------

TEST(BalloonQueues, AreNumberedFromTheNegotiatedFeatures) {
    EXPECT_EQ(sb::queue_index(sb::Queue::kReporting, bit(sb::kFeaturePageReporting)), 2);
    EXPECT_EQ(sb::queue_index(sb::Queue::kReporting,
                              bit(sb::kFeaturePageReporting) | bit(sb::kFeatureStatsVq)),
              3);
    EXPECT_EQ(sb::queue_index(sb::Queue::kReporting, kAllFeatures), 4);
    EXPECT_EQ(sb::queue_index(sb::Queue::kFreePage, kAllFeatures), 3);
    EXPECT_EQ(sb::queue_index(sb::Queue::kFreePage, bit(sb::kFeatureFreePageHint)), 2);
    EXPECT_EQ(sb::queue_index(sb::Queue::kFreePage, bit(sb::kFeaturePageReporting)), -1);
    EXPECT_EQ(sb::queue_index(sb::Queue::kStats, bit(sb::kFeaturePageReporting)), -1);
}

TEST(BalloonQueues, ReportingWithoutStatsIsQueueTwoAndNothingFollows) {
    Balloon balloon(bit(sb::kFeatureMustTellHost) | bit(sb::kFeaturePageReporting));
    EXPECT_EQ(balloon.device.reporting_queue(), 2);
    EXPECT_EQ(balloon.device.stats_queue(), -1);
    EXPECT_EQ(balloon.device.free_page_queue(), -1);
    EXPECT_EQ(queue_num_max(balloon, 2), 128u);
    EXPECT_EQ(queue_num_max(balloon, 3), 0u);
}

TEST(BalloonQueues, AllFiveWithEveryFeature) {
    Balloon balloon(kAllFeatures);
    EXPECT_EQ(balloon.device.stats_queue(), 2);
    EXPECT_EQ(balloon.device.free_page_queue(), 3);
    EXPECT_EQ(balloon.device.reporting_queue(), 4);
    EXPECT_EQ(queue_num_max(balloon, 4), 128u);
    EXPECT_EQ(queue_num_max(balloon, 5), 0u);
}

// ---- free page reporting ---------------------------------------------------------------

constexpr uint64_t kReporting =
    bit(sb::kFeatureMustTellHost) | bit(sb::kFeatureStatsVq) | bit(sb::kFeaturePageReporting);
constexpr unsigned int kReportingQueue = 3;  // after inflateq, deflateq, statsq

TEST(BalloonReporting, DiscardsReportedBlocksWithoutBallooningThem) {
    Balloon balloon(kReporting);
    const int64_t host_free_before = balloon.host.host_free_bytes();
    balloon.bench.post(kReportingQueue, 0,
                       {{kBlockA, static_cast<uint32_t>(k2MiB), true},
                        {kBlockB, static_cast<uint32_t>(k2MiB), true}});
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));

    const BalloonCounters& counters = balloon.device.counters();
    EXPECT_EQ(counters.report_buffers, 1u);
    EXPECT_EQ(counters.report_blocks, 2u);
    EXPECT_EQ(counters.pages_reported, 1024u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 0u);
    EXPECT_EQ(counters.pages_inflated, 0u);
    EXPECT_EQ(balloon.link.pages_freed_by_reporting(), 1024u);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 1024u);
    EXPECT_EQ(balloon.host.host_free_bytes(), host_free_before + 1024 * 4096);
    EXPECT_EQ(balloon.bench.used_idx(kReportingQueue), 1u);
    EXPECT_EQ(balloon.bench.used_id(kReportingQueue, 0), 0u);
    EXPECT_NE(balloon.bench.read(reg::kInterruptStatus) & reg::kInterruptUsedBuffer, 0u);
    EXPECT_EQ(balloon.status() & st::kDeviceNeedsReset, 0u);

    // The guest reuses part of a reported block: the host faults those pages back in.
    balloon.host.touch_address_range(balloon.guest, kBlockA, 100 * 4096);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 924u);
    // Reporting it again frees only what is resident again.
    balloon.bench.post(kReportingQueue, 2, {{kBlockA, static_cast<uint32_t>(k2MiB), true}});
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().pages_reported, 1536u);
    EXPECT_EQ(balloon.link.pages_freed_by_reporting(), 1124u);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 1024u);
}

TEST(BalloonReporting, HostWorkTakesPerBufferAndPerPageTime) {
    Balloon balloon(kReporting);
    balloon.bench.post(kReportingQueue, 0, {{kBlockA, static_cast<uint32_t>(k2MiB), true}});
    balloon.bench.notify(kReportingQueue);
    // 1 µs per buffer + 512 pages × 100 ns = 52.2 µs, plus a few register and ring accesses.
    balloon.bench.run(sc_time(52, SC_US));
    EXPECT_EQ(balloon.device.counters().pages_reported, 0u);
    balloon.bench.run(sc_time(2, SC_US));
    EXPECT_EQ(balloon.device.counters().pages_reported, 512u);
}

TEST(BalloonReporting, IgnoresBlocksThatAreNotWholePagesOfRam) {
    Balloon balloon(kReporting);
    balloon.bench.post(
        kReportingQueue, 0,
        {{kBlockA + 512, static_cast<uint32_t>(k2MiB), true},
         {test::kRamBase + test::kRamSize - k1MiB, static_cast<uint32_t>(k2MiB), true},
         {kBlockB, static_cast<uint32_t>(k1MiB), true}});
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().report_entries_rejected, 2u);
    EXPECT_EQ(balloon.device.counters().pages_reported, 256u);
    EXPECT_EQ(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_EQ(balloon.bench.used_idx(kReportingQueue), 1u);
    EXPECT_GE(balloon.bench.mmio.counters().guest_errors, 2u);
}

TEST(BalloonReporting, DescriptorIndexOutOfRangeNeedsReset) {
    Balloon balloon(kReporting);
    balloon.bench.publish(kReportingQueue, 64);
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_NE(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_NE(balloon.bench.mmio.needs_reset_reason().find("reporting_vq"), std::string::npos)
        << balloon.bench.mmio.needs_reset_reason();
    EXPECT_EQ(balloon.device.counters().pages_reported, 0u);
}

TEST(BalloonReporting, DescriptorLoopNeedsReset) {
    Balloon balloon(kReporting);
    balloon.bench.write_descriptor(kReportingQueue, 0, kBlockA, 4096,
                                   spec::vring::kDescFlagNext | spec::vring::kDescFlagWrite, 1);
    balloon.bench.write_descriptor(kReportingQueue, 1, kBlockB, 4096,
                                   spec::vring::kDescFlagNext | spec::vring::kDescFlagWrite, 0);
    balloon.bench.publish(kReportingQueue, 0);
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_NE(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_NE(balloon.bench.mmio.needs_reset_reason().find("loops"), std::string::npos)
        << balloon.bench.mmio.needs_reset_reason();
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages);
}

// ---- page poisoning --------------------------------------------------------------------

TEST(BalloonPoison, AReportWhileAPoisonValueIsSetDiscardsNothing) {
    Balloon balloon(kReporting | bit(sb::kFeaturePagePoison));
    balloon.bench.write(reg::kConfig + sb::kConfigPoisonVal, 0xaaaaaaaa);
    EXPECT_EQ(balloon.device.poison_val(), 0xaaaaaaaau);
    EXPECT_EQ(balloon.config(sb::kConfigPoisonVal), 0xaaaaaaaau);
    balloon.bench.post(kReportingQueue, 0, {{kBlockA, static_cast<uint32_t>(k2MiB), true}});
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().pages_kept_for_poison, 512u);
    EXPECT_EQ(balloon.device.counters().pages_reported, 0u);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages);
    EXPECT_EQ(balloon.bench.used_idx(kReportingQueue), 1u);
}

TEST(BalloonPoison, AZeroPoisonValueStillDiscards) {
    Balloon balloon(kReporting | bit(sb::kFeaturePagePoison));
    balloon.bench.write(reg::kConfig + sb::kConfigPoisonVal, 0);
    balloon.bench.post(kReportingQueue, 0, {{kBlockA, static_cast<uint32_t>(k2MiB), true}});
    balloon.bench.notify(kReportingQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().pages_reported, 512u);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 512u);
}

TEST(BalloonPoison, TheValueIsReadOnlyWithoutPagePoison) {
    Balloon balloon(kReporting);
    const uint64_t errors = balloon.bench.mmio.counters().guest_errors;
    balloon.bench.write(reg::kConfig + sb::kConfigPoisonVal, 0xaaaaaaaa);
    EXPECT_EQ(balloon.device.poison_val(), 0u);
    EXPECT_EQ(balloon.config(sb::kConfigPoisonVal), 0u);
    EXPECT_EQ(balloon.bench.mmio.counters().guest_errors, errors + 1);
}

// ---- free page hinting -----------------------------------------------------------------

constexpr uint64_t kHinting =
    bit(sb::kFeatureMustTellHost) | bit(sb::kFeatureStatsVq) | bit(sb::kFeatureFreePageHint);
constexpr unsigned int kFreePageQueue = 3;
constexpr uint64_t kCmdIdBuffer = test::kBufferArea;
constexpr uint64_t kStopIdBuffer = test::kBufferArea + 16;

void send_cmd_id(Balloon& balloon, uint16_t descriptor, uint64_t at, uint32_t id) {
    balloon.bench.poke_le<uint32_t>(at, id);
    balloon.bench.post(kFreePageQueue, descriptor, {{at, 4, false}});
    balloon.bench.notify(kFreePageQueue);
}

void send_hint(Balloon& balloon, uint16_t descriptor, uint64_t address, uint32_t bytes) {
    balloon.bench.post(kFreePageQueue, descriptor, {{address, bytes, true}});
    balloon.bench.notify(kFreePageQueue);
}

TEST(BalloonHinting, ARoundCountsTheHintsBetweenItsIdAndTheStop) {
    Balloon balloon(kHinting);
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), 0u);
    // A hint before any round is served but not counted in one.
    send_hint(balloon, 0, kBlockA, static_cast<uint32_t>(k1MiB));
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().hint_pages_outside_round, 256u);

    balloon.bench.write(reg::kInterruptAck, balloon.bench.read(reg::kInterruptStatus));
    ASSERT_TRUE(balloon.device.start_free_page_hint());
    balloon.bench.run(sc_time(10, SC_US));
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), 2u);
    EXPECT_NE(balloon.bench.read(reg::kInterruptStatus) & reg::kInterruptConfigChange, 0u);
    ASSERT_EQ(balloon.device.hint_rounds().size(), 1u);
    EXPECT_FALSE(balloon.device.hint_rounds()[0].started);

    send_cmd_id(balloon, 1, kCmdIdBuffer, 2);
    send_hint(balloon, 2, kBlockA, static_cast<uint32_t>(k2MiB));
    send_hint(balloon, 3, kBlockB, static_cast<uint32_t>(k1MiB));
    send_cmd_id(balloon, 4, kStopIdBuffer, sb::kHintCmdIdStop);
    balloon.bench.run(sc_time(1, SC_MS));
    // After the guest's stop, hints count outside the round again.
    send_hint(balloon, 5, kBlockB + k1MiB, 4096);
    balloon.bench.run(sc_time(1, SC_MS));

    const FreePageHintRound& round = balloon.device.hint_rounds()[0];
    EXPECT_EQ(round.cmd_id, 2u);
    EXPECT_TRUE(round.started);
    EXPECT_TRUE(round.stopped);
    EXPECT_EQ(round.hint_buffers, 2u);
    EXPECT_EQ(round.hinted_pages, 768u);
    EXPECT_EQ(balloon.device.counters().hinted_pages, 768u);
    EXPECT_EQ(balloon.device.counters().hint_pages_outside_round, 257u);
    EXPECT_EQ(balloon.device.counters().hint_buffers, 4u);
    EXPECT_EQ(balloon.bench.used_idx(kFreePageQueue), 6u);
    // Hints discard nothing: the host only skips those pages when migrating.
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages);

    ASSERT_TRUE(balloon.device.finish_free_page_hint());
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), sb::kHintCmdIdDone);
    ASSERT_TRUE(balloon.device.start_free_page_hint());
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), 3u);
    ASSERT_TRUE(balloon.device.stop_free_page_hint());
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), sb::kHintCmdIdStop);
    EXPECT_EQ(balloon.device.hint_rounds().size(), 2u);
    EXPECT_FALSE(balloon.device.hint_rounds()[1].started);
}

TEST(BalloonHinting, AStaleIdDoesNotStartTheRound) {
    Balloon balloon(kHinting);
    ASSERT_TRUE(balloon.device.start_free_page_hint());
    send_cmd_id(balloon, 0, kCmdIdBuffer, 7);
    send_hint(balloon, 1, kBlockA, static_cast<uint32_t>(k1MiB));
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_FALSE(balloon.device.hint_rounds()[0].started);
    EXPECT_EQ(balloon.device.counters().hinted_pages, 0u);
    EXPECT_EQ(balloon.device.counters().hint_pages_outside_round, 256u);
}

TEST(BalloonHinting, WithoutTheFeatureTheHostCannotStartARound) {
    Balloon balloon(kReporting);
    EXPECT_FALSE(balloon.device.start_free_page_hint());
    EXPECT_TRUE(balloon.device.hint_rounds().empty());
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), 0u);
}

TEST(BalloonHinting, ACommandIdOfTheWrongSizeNeedsReset) {
    Balloon balloon(kHinting);
    ASSERT_TRUE(balloon.device.start_free_page_hint());
    balloon.bench.post(kFreePageQueue, 0, {{kCmdIdBuffer, 8, false}});
    balloon.bench.notify(kFreePageQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_NE(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_NE(balloon.bench.mmio.needs_reset_reason().find("command id buffer of 8 bytes"),
              std::string::npos)
        << balloon.bench.mmio.needs_reset_reason();
    EXPECT_EQ(balloon.bench.used_idx(kFreePageQueue), 0u);
}

TEST(BalloonHinting, DescriptorIndexOutOfRangeNeedsReset) {
    Balloon balloon(kHinting);
    balloon.bench.publish(kFreePageQueue, 64);
    balloon.bench.notify(kFreePageQueue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_NE(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_NE(balloon.bench.mmio.needs_reset_reason().find("free_page_vq"), std::string::npos)
        << balloon.bench.mmio.needs_reset_reason();
}

TEST(BalloonHinting, ResetClearsTheCommandId) {
    Balloon balloon(kHinting);
    ASSERT_TRUE(balloon.device.start_free_page_hint());
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), 2u);
    balloon.bench.write(reg::kStatus, 0);
    EXPECT_EQ(balloon.config(sb::kConfigFreePageHintCmdId), 0u);
}

}  // namespace
}  // namespace vbsim::models

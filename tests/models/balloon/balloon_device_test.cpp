// The balloon device through its virtio-mmio transport, driven at register level
// with hand-built rings: inflate, deflate, stats, host accounting, malformed input.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/balloon/balloon_device.h"
#include "models/host/balloon_host_link.h"
#include "models/host/host_memory.h"
#include "models/timing/initiator_time.h"
#include "tests/support/virtio_bench.h"

namespace vbsim::models {
namespace {

using sc_core::SC_MS;
using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::VirtioBench;
namespace reg = spec::mmio;
namespace st = spec::status;
using spec::feature::bit;

constexpr uint64_t kBalloonFeatures = bit(spec::balloon::kFeatureMustTellHost) |
                                      bit(spec::balloon::kFeatureStatsVq) |
                                      bit(spec::balloon::kFeatureDeflateOnOom);
constexpr uint32_t kFirstPfn = test::kRamBase >> 12;
constexpr uint32_t kRamPages = test::kRamSize >> 12;
// Buffers hold PFNs from the second MiB on, well clear of the rings.
constexpr uint32_t kVictimPfn = kFirstPfn + 1024;

BalloonDeviceParams balloon_params() {
    return test::bench_balloon_params();
}
VirtioMmioParams mmio_params(uint32_t version) {
    return test::bench_mmio_params(version);
}

std::vector<uint32_t> consecutive_pfns(uint32_t first, uint32_t count) {
    std::vector<uint32_t> pfns(count);
    for (uint32_t i = 0; i < count; ++i) {
        pfns[i] = first + i;
    }
    return pfns;
}

// A live balloon (modern unless asked) with inflateq, deflateq and statsq set up,
// wired to a host pool in which the whole guest has been touched.
struct Balloon {
    explicit Balloon(uint32_t version = 2, BalloonDeviceParams params = balloon_params(),
                     uint64_t driver_features = kBalloonFeatures)
        : device("balloon", params),
          bench(device, mmio_params(version)),
          host(HostMemoryParams{uint64_t{64} << 20, 0}),
          guest(host.add_guest("vm0", test::kRamBase, test::kRamSize)),
          link(host, guest) {
        device.add_observer(link);
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
        host.touch(guest, 0, kRamPages);
        if (version == 2) {
            driver_features |= bit(spec::feature::kVersion1);
        }
        bench.negotiate(driver_features);
        for (unsigned int queue = 0; queue < 3; ++queue) {
            bench.setup_queue(queue, 64);
        }
        bench.driver_ok();
    }

    // Posts one buffer of PFNs on `queue` (0 inflate, 1 deflate) and kicks it.
    void send(unsigned int queue, uint16_t descriptor, uint64_t buffer,
              const std::vector<uint32_t>& pfns) {
        bench.write_pfns(buffer, pfns);
        bench.post(queue, descriptor, {{buffer, static_cast<uint32_t>(pfns.size() * 4), false}});
        bench.notify(queue);
    }

    uint32_t status() { return bench.read(reg::kStatus); }

    BalloonDevice device;
    VirtioBench bench;
    HostMemory host;
    GuestId guest;
    BalloonHostLink link;
};

TEST(BalloonDevice, InflatesA256PfnBufferIntoTheDeviceAndTheHostPool) {
    Balloon balloon;
    const int64_t host_free_before = balloon.host.host_free_bytes();
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 256));
    balloon.bench.run(sc_time(1, SC_MS));

    EXPECT_EQ(balloon.device.ballooned_pages(), 256u);
    EXPECT_TRUE(balloon.device.is_ballooned(kVictimPfn));
    EXPECT_TRUE(balloon.device.is_ballooned(kVictimPfn + 255));
    EXPECT_FALSE(balloon.device.is_ballooned(kVictimPfn + 256));
    EXPECT_EQ(balloon.device.counters().inflate_buffers, 1u);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 256u);
    EXPECT_EQ(balloon.host.host_free_bytes(), host_free_before + 256 * 4096);
    // The buffer came back on the used ring with length 0 and an interrupt.
    EXPECT_EQ(balloon.bench.used_idx(0), 1u);
    EXPECT_EQ(balloon.bench.used_id(0, 0), 0u);
    EXPECT_NE(balloon.bench.read(reg::kInterruptStatus) & reg::kInterruptUsedBuffer, 0u);
    EXPECT_TRUE(balloon.bench.irq.read());
}

// Buffers are counted by their size, per queue, whatever order the sizes come in.
TEST(BalloonDevice, CountsBuffersPerSizeWhenSizesAlternate) {
    Balloon balloon;
    const uint32_t sizes[] = {256, 256, 3, 256, 3, 17};
    uint32_t next = kVictimPfn;
    for (uint16_t i = 0; i < 6; ++i) {
        balloon.send(0, i, test::kBufferArea + i * 0x1000u, consecutive_pfns(next, sizes[i]));
        balloon.bench.run(sc_time(1, SC_MS));
        next += sizes[i];
    }
    balloon.send(1, 0, test::kBufferArea + 0x8000u, consecutive_pfns(kVictimPfn, 17));
    balloon.bench.run(sc_time(1, SC_MS));
    balloon.send(1, 1, test::kBufferArea + 0x9000u, consecutive_pfns(kVictimPfn + 17, 256));
    balloon.bench.run(sc_time(1, SC_MS));
    const BalloonCounters& counters = balloon.device.counters();
    EXPECT_EQ(counters.inflate_pfns_per_buffer,
              (std::map<uint64_t, uint64_t>{{3, 2}, {17, 1}, {256, 3}}));
    EXPECT_EQ(counters.deflate_pfns_per_buffer, (std::map<uint64_t, uint64_t>{{17, 1}, {256, 1}}));
    EXPECT_EQ(counters.inflate_buffers, 6u);
    EXPECT_EQ(counters.deflate_buffers, 2u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 791u - 273u);
}

TEST(BalloonDevice, HostWorkTakesPerPageAndPerBufferTime) {
    Balloon balloon;
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 100));
    // 1 µs per buffer + 100 × 100 ns per page = 11 µs plus a few DMA accesses.
    balloon.bench.run(sc_time(10900, SC_NS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 0u);
    balloon.bench.run(sc_time(1, SC_US));
    EXPECT_EQ(balloon.device.ballooned_pages(), 100u);
}

TEST(BalloonDevice, DeflateGivesPagesBackAndTheyCostAgainWhenTouched) {
    Balloon balloon;
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 256));
    balloon.bench.run(sc_time(1, SC_MS));
    balloon.send(1, 0, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn, 100));
    balloon.bench.run(sc_time(1, SC_MS));

    EXPECT_EQ(balloon.device.ballooned_pages(), 156u);
    EXPECT_FALSE(balloon.device.is_ballooned(kVictimPfn + 99));
    EXPECT_TRUE(balloon.device.is_ballooned(kVictimPfn + 100));
    EXPECT_EQ(balloon.device.counters().pages_deflated, 100u);
    EXPECT_EQ(balloon.bench.used_idx(1), 1u);
    // Deflated pages are not resident until the guest touches them.
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 256u);
    balloon.host.touch(balloon.guest, 1024, 100);
    EXPECT_EQ(balloon.host.guest_resident_pages(balloon.guest), kRamPages - 156u);
}

TEST(BalloonDevice, CountsInvalidPfnsWithoutFailing) {
    Balloon balloon;
    balloon.send(0, 0, test::kBufferArea,
                 {kVictimPfn, kVictimPfn, kFirstPfn - 1, kFirstPfn + kRamPages, 0xffffffff});
    balloon.bench.run(sc_time(1, SC_MS));
    balloon.send(1, 0, test::kBufferArea + 0x1000, {kVictimPfn + 1});
    balloon.bench.run(sc_time(1, SC_MS));

    const BalloonCounters& counters = balloon.device.counters();
    EXPECT_EQ(balloon.device.ballooned_pages(), 1u);
    EXPECT_EQ(counters.pfns_already_ballooned, 1u);
    EXPECT_EQ(counters.pfns_out_of_range, 3u);
    EXPECT_EQ(counters.pfns_not_ballooned, 1u);
    EXPECT_EQ(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_EQ(balloon.bench.used_idx(0), 1u);
    EXPECT_EQ(balloon.bench.used_idx(1), 1u);
}

TEST(BalloonDevice, ActualIsWhatTheDriverWroteAndMayDifferFromWhatTheHostHolds) {
    Balloon balloon;
    balloon.device.set_target_pages(300);
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 256));
    balloon.bench.run(sc_time(1, SC_MS));
    balloon.bench.write(reg::kConfig + spec::balloon::kConfigActual, 200);
    EXPECT_EQ(balloon.device.target_pages(), 300u);
    EXPECT_EQ(balloon.device.actual_pages(), 200u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 256u);
}

// Stats entries: packed {le16 tag, le64 value}.
std::vector<uint8_t> stats_buffer(const std::vector<std::pair<uint16_t, uint64_t>>& entries) {
    std::vector<uint8_t> bytes;
    for (const auto& [tag, value] : entries) {
        for (int i = 0; i < 2; ++i) {
            bytes.push_back(static_cast<uint8_t>(tag >> (8 * i)));
        }
        for (int i = 0; i < 8; ++i) {
            bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
        }
    }
    return bytes;
}

TEST(BalloonDevice, StatsRoundTripKeepsEveryTagAndItsTime) {
    Balloon balloon;
    const std::vector<uint8_t> first = stats_buffer({{spec::balloon::kStatMemFree, 123456789},
                                                     {spec::balloon::kStatMemTotal, 1ull << 30},
                                                     {99, 7}});
    balloon.bench.poke(test::kBufferArea, first.data(), first.size());
    balloon.bench.post(2, 0, {{test::kBufferArea, static_cast<uint32_t>(first.size()), false}});
    balloon.bench.run(sc_time(10, SC_US));
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(10, SC_US));

    const BalloonStats& stats = balloon.device.last_stats();
    ASSERT_TRUE(stats.valid);
    ASSERT_EQ(stats.entries.size(), 3u);
    EXPECT_EQ(stats.value(spec::balloon::kStatMemFree), 123456789u);
    EXPECT_EQ(stats.value(spec::balloon::kStatMemTotal), 1ull << 30);
    EXPECT_EQ(stats.value(99), 7u);  // unknown tags are kept
    EXPECT_GE(stats.timestamp, sc_time(10, SC_US));
    // The device holds the buffer until it wants fresh stats.
    EXPECT_EQ(balloon.bench.used_idx(2), 0u);
    balloon.device.request_stats();
    EXPECT_EQ(balloon.bench.used_idx(2), 1u);
    EXPECT_EQ(balloon.device.counters().stats_requests, 1u);

    // The driver refills the same buffer and posts it again.
    const std::vector<uint8_t> second = stats_buffer({{spec::balloon::kStatMemFree, 42}});
    balloon.bench.poke(test::kBufferArea, second.data(), second.size());
    balloon.bench.post(2, 0, {{test::kBufferArea, static_cast<uint32_t>(second.size()), false}});
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(10, SC_US));
    EXPECT_EQ(balloon.device.last_stats().value(spec::balloon::kStatMemFree), 42u);
    EXPECT_EQ(balloon.device.counters().stats_buffers, 2u);
}

TEST(BalloonDevice, PollingReturnsTheStatsBufferEveryInterval) {
    BalloonDeviceParams params = balloon_params();
    params.stats_poll_interval = sc_time(1, SC_MS);
    Balloon balloon(2, params);
    const std::vector<uint8_t> entry = stats_buffer({{spec::balloon::kStatMemFree, 1}});
    balloon.bench.poke(test::kBufferArea, entry.data(), entry.size());
    balloon.bench.post(2, 0, {{test::kBufferArea, 10, false}});
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(1100, SC_US));
    EXPECT_EQ(balloon.bench.used_idx(2), 1u);
    // Not re-posted: nothing more to return at the next tick.
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.bench.used_idx(2), 1u);
    balloon.bench.post(2, 0, {{test::kBufferArea, 10, false}});
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.bench.used_idx(2), 2u);
}

TEST(BalloonDevice, LegacyIgnoresTheFirstStatsBuffer) {
    Balloon balloon(1);
    const std::vector<uint8_t> entry = stats_buffer({{spec::balloon::kStatMemFree, 5}});
    balloon.bench.poke(test::kBufferArea, entry.data(), entry.size());
    balloon.bench.post(2, 0, {{test::kBufferArea, 10, false}});
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(10, SC_US));
    EXPECT_FALSE(balloon.device.last_stats().valid);
    balloon.device.request_stats();
    balloon.bench.post(2, 0, {{test::kBufferArea, 10, false}});
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(10, SC_US));
    EXPECT_TRUE(balloon.device.last_stats().valid);
    EXPECT_EQ(balloon.device.last_stats().value(spec::balloon::kStatMemFree), 5u);
}

TEST(BalloonDevice, ASecondStatsBufferReturnsTheFirst) {
    Balloon balloon;
    const std::vector<uint8_t> entry = stats_buffer({{spec::balloon::kStatMemFree, 5}});
    balloon.bench.poke(test::kBufferArea, entry.data(), entry.size());
    balloon.bench.post(2, 0, {{test::kBufferArea, 10, false}});
    balloon.bench.post(2, 1, {{test::kBufferArea, 10, false}});
    balloon.bench.notify(2);
    balloon.bench.run(sc_time(10, SC_US));
    EXPECT_EQ(balloon.device.counters().extra_stats_buffers, 1u);
    EXPECT_EQ(balloon.bench.used_idx(2), 1u);
    EXPECT_EQ(balloon.bench.used_id(2, 0), 0u);
}

// Every malformed ring ends in DEVICE_NEEDS_RESET plus a config interrupt, and the
// simulation keeps running.
void expect_needs_reset(Balloon& balloon, unsigned int queue, const std::string& reason) {
    balloon.bench.notify(queue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_NE(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_NE(balloon.bench.mmio.needs_reset_reason().find(reason), std::string::npos)
        << balloon.bench.mmio.needs_reset_reason();
    EXPECT_NE(balloon.bench.read(reg::kInterruptStatus) & reg::kInterruptConfigChange, 0u);
    EXPECT_EQ(balloon.bench.mmio.counters().needs_reset_events, 1u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 0u);
    // Further kicks do nothing, and time still advances.
    balloon.bench.notify(queue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.bench.mmio.counters().needs_reset_events, 1u);
    EXPECT_EQ(balloon.bench.used_idx(queue), 0u);
}

TEST(BalloonDevice, DescriptorIndexOutOfRangeNeedsReset) {
    Balloon balloon;
    balloon.bench.publish(0, 64);
    expect_needs_reset(balloon, 0, "names descriptor 64 of a queue of size 64");
}

TEST(BalloonDevice, DescriptorLoopNeedsReset) {
    Balloon balloon;
    balloon.bench.write_descriptor(0, 0, test::kBufferArea, 4, spec::vring::kDescFlagNext, 1);
    balloon.bench.write_descriptor(0, 1, test::kBufferArea, 4, spec::vring::kDescFlagNext, 0);
    balloon.bench.publish(0, 0);
    expect_needs_reset(balloon, 0, "loops");
}

TEST(BalloonDevice, BufferOutsideGuestRamNeedsReset) {
    Balloon balloon;
    balloon.bench.post(0, 0, {{test::kRamBase + test::kRamSize - 8, 64, false}});
    expect_needs_reset(balloon, 0, "DMA error reading");
    EXPECT_GE(balloon.bench.mmio.counters().dma_errors, 1u);
}

TEST(BalloonDevice, DeviceWritableBufferOnInflateqNeedsReset) {
    Balloon balloon;
    balloon.bench.post(0, 0, {{test::kBufferArea, 64, true}});
    expect_needs_reset(balloon, 0, "device-writable");
}

TEST(BalloonDevice, ZeroLengthBufferNeedsReset) {
    Balloon balloon;
    balloon.bench.post(1, 0, {{test::kBufferArea, 0, false}});
    expect_needs_reset(balloon, 1, "zero-length buffer");
}

TEST(BalloonDevice, ResetInTheMiddleOfAnInflateDropsTheBuffer) {
    Balloon balloon;
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn + 2048, 8));
    balloon.bench.run(sc_time(1, SC_MS));
    ASSERT_EQ(balloon.device.ballooned_pages(), 8u);
    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn, 2048));
    // 1 µs + 2048 pages × 100 ns: the buffer would land at ~206 µs; none of it before.
    balloon.bench.run(sc_time(150, SC_US));
    EXPECT_EQ(balloon.device.ballooned_pages(), 8u);
    balloon.bench.write(reg::kStatus, 0);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 0u);
    EXPECT_EQ(balloon.device.counters().pages_inflated, 8u);
    EXPECT_EQ(balloon.device.actual_pages(), 0u);
    EXPECT_EQ(balloon.bench.used_idx(0), 1u);
    // The host got the pages of the first buffer back (they cost again once touched).
    EXPECT_EQ(balloon.host.guest_counters(balloon.guest).pages_reclaimed, 8u);
    // The device can be brought up again and used.
    balloon.bench.negotiate(kBalloonFeatures | bit(spec::feature::kVersion1));
    balloon.bench.setup_queue(0, 64);
    balloon.bench.driver_ok();
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 8));
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 8u);
}

// Records every page the host side is told about.
struct PageLog : BalloonObserver {
    uint64_t inflated = 0;
    uint64_t deflated = 0;
    void pages_inflated(const uint32_t*, size_t count, const sc_core::sc_time&) override {
        inflated += count;
    }
    void pages_deflated(const uint32_t*, size_t count, const sc_core::sc_time&) override {
        deflated += count;
    }
};

// Records the pages the host side is told about, in order.
struct AppliedPages : BalloonObserver {
    std::vector<uint32_t> inflated;
    std::vector<uint32_t> deflated;
    void pages_inflated(const uint32_t* pfns, size_t count, const sc_core::sc_time&) override {
        inflated.insert(inflated.end(), pfns, pfns + count);
    }
    void pages_deflated(const uint32_t* pfns, size_t count, const sc_core::sc_time&) override {
        deflated.insert(deflated.end(), pfns, pfns + count);
    }
};

// Page by page, as the device must apply a buffer: the PFNs that change state, in order.
std::vector<uint32_t> expected_applied(std::set<uint32_t>& ballooned,
                                       const std::vector<uint32_t>& pfns, bool inflate,
                                       uint64_t& out_of_range, uint64_t& unchanged) {
    std::vector<uint32_t> applied;
    for (const uint32_t pfn : pfns) {
        if (pfn < kFirstPfn || pfn - kFirstPfn >= kRamPages) {
            ++out_of_range;
        } else if ((ballooned.count(pfn) == 0) == inflate) {
            applied.push_back(pfn);
            if (inflate) {
                ballooned.insert(pfn);
            } else {
                ballooned.erase(pfn);
            }
        } else {
            ++unchanged;
        }
    }
    return applied;
}

void append(std::vector<uint32_t>& pfns, const std::vector<uint32_t>& more) {
    pfns.insert(pfns.end(), more.begin(), more.end());
}

// Runs across bitmap words, a run over RAM's end, PFNs below RAM and wrapping, repeats,
// descending PFNs, and pages already in the wanted state: each page that changes is applied
// once, in the buffer's order, and the rest are counted, for inflate and then deflate.
TEST(BalloonDevice, AppliesEveryKindOfPfnListPageByPageInItsOrder) {
    Balloon balloon;
    AppliedPages log;
    balloon.device.add_observer(log);
    std::vector<uint32_t> inflate = consecutive_pfns(kVictimPfn + 60, 70);
    append(inflate, {kVictimPfn + 65, kFirstPfn - 1, 0xffffffff, 0});
    append(inflate, consecutive_pfns(kFirstPfn + kRamPages - 3, 6));
    for (uint32_t pfn = kVictimPfn + 200; pfn >= kVictimPfn + 190; --pfn) {
        inflate.push_back(pfn);
    }
    append(inflate, consecutive_pfns(kVictimPfn + 120, 20));  // half of it already in
    std::set<uint32_t> model;
    uint64_t out_of_range = 0;
    uint64_t already = 0;
    const std::vector<uint32_t> inflated =
        expected_applied(model, inflate, true, out_of_range, already);
    balloon.send(0, 0, test::kBufferArea, inflate);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(log.inflated, inflated);
    EXPECT_EQ(balloon.device.ballooned_pages(), model.size());
    EXPECT_EQ(balloon.device.counters().pfns_out_of_range, out_of_range);
    EXPECT_EQ(balloon.device.counters().pfns_already_ballooned, already);
    EXPECT_EQ(out_of_range, 6u);
    EXPECT_EQ(already, 11u);

    std::vector<uint32_t> deflate = consecutive_pfns(kVictimPfn + 50, 100);
    append(deflate, {kVictimPfn + 195, kVictimPfn + 195});
    uint64_t not_ballooned = 0;
    const std::vector<uint32_t> deflated =
        expected_applied(model, deflate, false, out_of_range, not_ballooned);
    balloon.bench.write(reg::kInterruptAck, reg::kInterruptUsedBuffer);
    balloon.send(1, 0, test::kBufferArea + 0x2000, deflate);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(log.deflated, deflated);
    EXPECT_EQ(balloon.device.ballooned_pages(), model.size());
    EXPECT_EQ(balloon.device.counters().pfns_not_ballooned, not_ballooned);
    EXPECT_EQ(not_ballooned, 20u + 1u);
    for (const uint32_t pfn : model) {
        EXPECT_TRUE(balloon.device.is_ballooned(pfn)) << pfn;
    }
}

TEST(BalloonDevice, ABufferIsAppliedWholeAcrossDescriptors) {
    Balloon balloon;
    PageLog log;
    balloon.device.add_observer(log);
    balloon.bench.write_pfns(test::kBufferArea, consecutive_pfns(kVictimPfn, 1536));
    balloon.bench.write_pfns(test::kBufferArea + 0x2000, consecutive_pfns(kVictimPfn + 1536, 512));
    balloon.bench.post(
        0, 0, {{test::kBufferArea, 1536 * 4, false}, {test::kBufferArea + 0x2000, 512 * 4, false}});
    balloon.bench.notify(0);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 2048u);
    EXPECT_EQ(log.inflated, 2048u);
    EXPECT_EQ(balloon.bench.used_idx(0), 1u);
    EXPECT_EQ(balloon.device.counters().inflate_pfns_per_buffer,
              (std::map<uint64_t, uint64_t>{{2048, 1}}));
}

// A DMA error part-way through a buffer: nothing of it is applied, as QEMU maps a whole
// buffer before it handles a PFN.
class DmaErrorPartWay : public ::testing::TestWithParam<unsigned int> {};

TEST_P(DmaErrorPartWay, AppliesNothingOfTheBuffer) {
    const unsigned int queue = GetParam();
    Balloon balloon;
    PageLog log;
    balloon.device.add_observer(log);
    if (queue == 1) {  // something to deflate
        balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 1536));
        balloon.bench.run(sc_time(1, SC_MS));
        ASSERT_EQ(balloon.device.ballooned_pages(), 1536u);
    }
    const uint64_t ballooned = balloon.device.ballooned_pages();
    // 1536 good PFNs, then a descriptor whose buffer runs out of guest RAM.
    balloon.bench.write_pfns(test::kBufferArea, consecutive_pfns(kVictimPfn, 1536));
    balloon.bench.post(
        queue, 4,
        {{test::kBufferArea, 1536 * 4, false}, {test::kRamBase + test::kRamSize - 8, 64, false}});
    balloon.bench.notify(queue);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_NE(balloon.status() & st::kDeviceNeedsReset, 0u);
    EXPECT_NE(balloon.bench.mmio.needs_reset_reason().find("DMA error reading"), std::string::npos)
        << balloon.bench.mmio.needs_reset_reason();
    EXPECT_EQ(balloon.device.ballooned_pages(), ballooned);
    EXPECT_EQ(log.inflated, ballooned);
    EXPECT_EQ(log.deflated, 0u);
    EXPECT_EQ(balloon.device.counters().pages_deflated, 0u);
    EXPECT_EQ(balloon.bench.used_idx(1), 0u);
}

INSTANTIATE_TEST_SUITE_P(InflateAndDeflate, DmaErrorPartWay, ::testing::Values(0u, 1u));

TEST(BalloonDevice, ABufferOfMoreThanAMillionPfnsNeedsReset) {
    Balloon balloon;
    balloon.bench.post(0, 0, {{test::kBufferArea, (uint32_t{1} << 20) * 4 + 4, false}});
    expect_needs_reset(balloon, 0, "buffer of 1048577 PFNs, more than the 1048576");
}

TEST(BalloonDevice, EventIdxSuppressesInterruptsTheDriverDidNotAskFor) {
    Balloon balloon(2, balloon_params(), kBalloonFeatures | bit(spec::feature::kRingEventIdx));
    // used_event = 5: the driver wants an interrupt only after the 6th used buffer.
    balloon.bench.poke_le<uint16_t>(balloon.bench.avail_addr(0) + 4 + 2 * 64, 5);
    balloon.send(0, 0, test::kBufferArea, {kVictimPfn});
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.bench.used_idx(0), 1u);
    EXPECT_EQ(balloon.bench.read(reg::kInterruptStatus) & reg::kInterruptUsedBuffer, 0u);
}

TEST(BalloonDevice, RejectsOfferingFeaturesItDoesNotModel) {
    BalloonDeviceParams params = balloon_params();
    params.offered_features |= bit(6);  // no balloon feature bit 6 exists
    try {
        BalloonDevice device("bad", params);
        FAIL() << "constructed";
    } catch (const sc_core::sc_report& report) {
        EXPECT_NE(std::string(report.get_msg()).find("not modelled"), std::string::npos);
    }
}

// ---- working ahead for a guest that sleeps (BalloonDevice::work_ahead) ---------------------

// When each step of a page buffer's round trip happened.
struct RoundTrip : BalloonObserver, VirtioMmioObserver {
    sc_time kicked, taken, applied, returned, raised;
    void pages_inflated(const uint32_t*, size_t, const sc_time& at) override { applied = at; }
    void buffer_handled(unsigned int, uint64_t, const sc_time& taken_at,
                        const sc_time& returned_at) override {
        taken = taken_at;
        returned = returned_at;
    }
    void register_access(bool, uint32_t, unsigned int, uint32_t, const sc_time&) override {}
    void queue_notified(uint32_t, const sc_time& at) override { kicked = at; }
    void interrupt_raised(uint32_t, const sc_time& at) override { raised = at; }
    void interrupt_acked(uint32_t, const sc_time&) override {}
    void dma(bool, uint64_t, size_t, const sc_time&) override {}
    // Each step's time from the kick.
    std::vector<sc_time> steps() const {
        return {taken - kicked, applied - kicked, returned - kicked, raised - kicked};
    }
};

// A balloon whose round trips are logged.
struct ObservedBalloon {
    ObservedBalloon() {
        balloon.device.add_observer(log);
        balloon.bench.mmio.set_observer(&log);
    }
    Balloon balloon;
    RoundTrip log;
};

// One 256-PFN inflate by the worker, acknowledged: the reference for the same work ahead.
std::vector<sc_time> worker_round_trip(Balloon& balloon, RoundTrip& log) {
    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 256));
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 256u);
    balloon.bench.write(reg::kInterruptAck, reg::kInterruptUsedBuffer);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_FALSE(balloon.bench.irq.read());
    return log.steps();
}

TEST(BalloonDeviceWorkAhead, HandlesAKickedBufferNowAtTheTimesItsWorkerWould) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    RoundTrip& log = observed.log;
    const std::vector<sc_time> by_worker = worker_round_trip(balloon, log);
    const int64_t host_free = balloon.host.host_free_bytes();

    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
    const sc_time now = sc_core::sc_time_stamp();
    ASSERT_GT(log.kicked, now);  // the kick's own time, after the register access
    EXPECT_TRUE(balloon.device.work_ahead(now + sc_time(1, SC_MS)));
    // All done before SystemC moved on: pages, host pool, used ring, interrupt cause...
    EXPECT_EQ(sc_core::sc_time_stamp(), now);
    EXPECT_EQ(balloon.device.counters().work_ahead_runs, 1u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 512u);
    EXPECT_EQ(balloon.host.host_free_bytes(), host_free + 256 * 4096);
    EXPECT_EQ(balloon.bench.used_idx(0), 2u);
    EXPECT_FALSE(balloon.device.busy());
    // ...each at the time the worker took for the first buffer.
    EXPECT_EQ(log.steps(), by_worker);
    // The line rises at its time, in SystemC: the interrupt latency after the cause.
    const sc_time rises = log.raised + sc_time(500, SC_NS);
    balloon.bench.run(rises - now - sc_time(1, SC_NS));
    EXPECT_FALSE(balloon.bench.irq.read());
    balloon.bench.run(sc_time(2, SC_NS));  // sc_start stops before its end time's events
    EXPECT_TRUE(balloon.bench.irq.read());
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().inflate_buffers, 2u);  // the worker did not redo it
}

// A guest's CPU that releases held work whenever it goes back to SystemC also gives the kick's
// wake-up of the worker to SystemC then: a kick the device works ahead never reaches SystemC's
// timed-event queue (cancelled, it would stay there until its time).
TEST(BalloonDeviceWorkAhead, AKickWorkedAheadWakesNoWorkerWhenItsOwnerNotifiesInStep) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    const std::vector<sc_time> by_worker = worker_round_trip(balloon, observed.log);
    EXPECT_EQ(balloon.device.counters().worker_notifications, 1u);  // that round trip's kick
    balloon.device.notify_kicks_before_in_step();

    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
    EXPECT_EQ(balloon.device.counters().worker_notifications, 1u);
    EXPECT_TRUE(balloon.device.work_ahead(sc_core::sc_time_stamp() + sc_time(1, SC_MS)));
    balloon.device.release_held_work();  // the guest goes back to SystemC: nothing owed
    EXPECT_EQ(balloon.device.counters().worker_notifications, 1u);
    EXPECT_EQ(observed.log.steps(), by_worker);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().inflate_buffers, 2u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 512u);
}

TEST(BalloonDeviceWorkAhead, WithoutItAKickNotifiesTheWorkerAtOnce) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    worker_round_trip(balloon, observed.log);
    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
    EXPECT_EQ(balloon.device.counters().worker_notifications, 2u);
    EXPECT_TRUE(balloon.device.work_ahead(sc_core::sc_time_stamp() + sc_time(1, SC_MS)));
    EXPECT_EQ(balloon.device.counters().worker_notifications, 2u);  // given, then cancelled
}

// A kick the device cannot work ahead (here: the guest acts again before it is due) is owed to
// the worker until the guest goes back to SystemC, and then handled at the worker's times.
TEST(BalloonDeviceWorkAhead, AKickLeftToTheWorkerIsNotifiedWhenItsOwnerGoesBackInStep) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    RoundTrip& log = observed.log;
    const std::vector<sc_time> by_worker = worker_round_trip(balloon, log);
    balloon.device.notify_kicks_before_in_step();

    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
    EXPECT_FALSE(balloon.device.work_ahead(log.kicked));  // the guest acts at the kick's time
    EXPECT_EQ(balloon.device.counters().worker_notifications, 1u);
    balloon.device.release_held_work();
    EXPECT_EQ(balloon.device.counters().worker_notifications, 2u);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.counters().inflate_buffers, 2u);
    EXPECT_EQ(balloon.device.counters().work_ahead_runs, 0u);
    EXPECT_EQ(log.steps(), by_worker);
}

TEST(BalloonDeviceWorkAhead, LeavesABufferWhoseHostWorkEndsAtTheLimitToTheWorker) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    RoundTrip& log = observed.log;
    const std::vector<sc_time> by_worker = worker_round_trip(balloon, log);
    const sc_time ends = by_worker[1];  // kick to applied

    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
    EXPECT_TRUE(balloon.device.work_ahead(log.kicked + ends));  // taken, not finished
    EXPECT_TRUE(balloon.device.busy());
    EXPECT_EQ(balloon.device.ballooned_pages(), 256u);
    balloon.bench.run(log.kicked + ends - sc_core::sc_time_stamp() - sc_time(1, SC_NS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 256u);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 512u);
    EXPECT_FALSE(balloon.device.busy());
    EXPECT_EQ(log.steps(), by_worker);
    EXPECT_EQ(balloon.bench.used_idx(0), 2u);
    EXPECT_EQ(balloon.device.counters().inflate_buffers, 2u);
}

// After one inflate round trip by the worker (the reference times), a second 256-PFN inflate
// kicked: `ends` is when the host's work on it ends, were the worker to do it.
struct SecondInflate {
    SecondInflate() : by_worker(worker_round_trip(observed.balloon, observed.log)) {
        balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
        ends = log.kicked + by_worker[1];  // kick to applied
    }
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    const RoundTrip& log = observed.log;
    const std::vector<sc_time> by_worker;
    sc_time ends;
};

// The guest has a timer before the buffer ends: the device holds the buffer (taken, not
// finished, SystemC's time not moving), and finishes it at the worker's times when the guest
// next idles with a limit past its end.
TEST(BalloonDeviceWorkAhead, HoldsABufferEndingAfterTheLimitUntilALaterLimitPassesItsEnd) {
    SecondInflate second;
    BalloonDevice& device = second.balloon.device;
    const sc_time now = sc_core::sc_time_stamp();
    EXPECT_TRUE(device.work_ahead(second.ends - sc_time(1, SC_NS)));
    EXPECT_TRUE(device.busy());
    EXPECT_EQ(device.held_until(), second.ends);
    EXPECT_EQ(device.ballooned_pages(), 256u);
    EXPECT_EQ(second.balloon.bench.used_idx(0), 1u);
    // The guest's next stop is still before the end: it stays held.
    EXPECT_FALSE(device.work_ahead(second.ends - sc_time(1, SC_PS)));
    EXPECT_EQ(device.held_until(), second.ends);
    EXPECT_EQ(device.ballooned_pages(), 256u);

    EXPECT_TRUE(device.work_ahead(second.ends + sc_time(1, SC_MS)));
    EXPECT_EQ(sc_core::sc_time_stamp(), now);
    EXPECT_FALSE(device.busy());
    EXPECT_EQ(device.held_until(), sc_core::sc_max_time());
    EXPECT_EQ(device.ballooned_pages(), 512u);
    EXPECT_EQ(second.balloon.bench.used_idx(0), 2u);
    EXPECT_EQ(second.log.steps(), second.by_worker);
    EXPECT_EQ(device.counters().work_ahead_runs, 1u);  // one kick
    second.balloon.bench.run(sc_time(2, SC_MS));
    EXPECT_EQ(device.counters().inflate_buffers, 2u);  // the worker did not redo it
}

// The guest goes back to SystemC with a buffer held: released, the worker finishes it at its
// end, as if it had been the worker's from the kick.
TEST(BalloonDeviceWorkAhead, AHeldBufferReleasedIsFinishedByTheWorkerAtItsEnd) {
    SecondInflate second;
    BalloonDevice& device = second.balloon.device;
    ASSERT_TRUE(device.work_ahead(second.ends - sc_time(1, SC_NS)));
    device.release_held_work();
    EXPECT_TRUE(device.busy());
    EXPECT_EQ(device.held_until(), sc_core::sc_max_time());  // the worker's now
    device.release_held_work();                              // nothing more to give
    second.balloon.bench.run(second.ends - sc_core::sc_time_stamp() - sc_time(1, SC_NS));
    EXPECT_EQ(device.ballooned_pages(), 256u);
    second.balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(device.ballooned_pages(), 512u);
    EXPECT_FALSE(device.busy());
    EXPECT_EQ(second.log.steps(), second.by_worker);
    EXPECT_EQ(device.counters().inflate_buffers, 2u);
}

// A held buffer that ends exactly at the guest's next stop goes to the worker (SystemC then
// orders the two at that instant as it would without lookahead).
TEST(BalloonDeviceWorkAhead, AHeldBufferEndingAtTheNewLimitGoesToTheWorker) {
    SecondInflate second;
    BalloonDevice& device = second.balloon.device;
    ASSERT_TRUE(device.work_ahead(second.ends - sc_time(1, SC_NS)));
    EXPECT_FALSE(device.work_ahead(second.ends));
    EXPECT_EQ(device.held_until(), sc_core::sc_max_time());
    EXPECT_TRUE(device.busy());
    EXPECT_EQ(device.ballooned_pages(), 256u);
    second.balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(device.ballooned_pages(), 512u);
    EXPECT_EQ(second.log.steps(), second.by_worker);
}

// A device reset while a buffer is held: the buffer is dropped, not applied after the reset,
// and the device is idle again once its time has passed.
TEST(BalloonDeviceWorkAhead, AResetDropsAHeldBuffer) {
    SecondInflate second;
    BalloonDevice& device = second.balloon.device;
    ASSERT_TRUE(device.work_ahead(second.ends - sc_time(1, SC_NS)));
    second.balloon.bench.mmio.hardware_reset();
    EXPECT_EQ(device.held_until(), sc_core::sc_max_time());
    EXPECT_EQ(device.ballooned_pages(), 0u);  // the reset deflated the first buffer's pages
    second.balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_FALSE(device.busy());
    EXPECT_EQ(device.ballooned_pages(), 0u);
    EXPECT_EQ(device.counters().inflate_buffers, 1u);
}

// A config interrupt acknowledged just before (its line drop still a delta away), then a
// buffer handled ahead: the line drops, then rises for the buffer at its time, not at once.
TEST(BalloonDeviceWorkAhead, ItsInterruptRisesAtItsTimeEvenWithADropPending) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    const RoundTrip& log = observed.log;
    balloon.device.set_target_pages(300);
    balloon.bench.run(sc_time(10, SC_US));
    ASSERT_TRUE(balloon.bench.irq.read());
    balloon.bench.write(reg::kInterruptAck, reg::kInterruptConfigChange);
    EXPECT_EQ(balloon.bench.mmio.interrupt_rise_due(), sc_core::sc_max_time());

    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 256));
    const sc_time now = sc_core::sc_time_stamp();
    ASSERT_TRUE(balloon.device.work_ahead(now + sc_time(1, SC_MS)));
    const sc_time rises = log.raised + sc_time(500, SC_NS);
    EXPECT_EQ(balloon.bench.mmio.interrupt_rise_due(), rises);
    balloon.bench.run(sc_time(1, SC_NS));
    EXPECT_FALSE(balloon.bench.irq.read());  // dropped for the ACK, not kept up by the buffer
    balloon.bench.run(rises - sc_core::sc_time_stamp() - sc_time(1, SC_NS));
    EXPECT_FALSE(balloon.bench.irq.read());
    balloon.bench.run(sc_time(2, SC_NS));
    EXPECT_TRUE(balloon.bench.irq.read());
    EXPECT_EQ(balloon.bench.mmio.interrupt_rise_due(), sc_core::sc_max_time());
}

// The guest's ACK of a used-buffer interrupt, made from ahead: its own time `at` in the
// annotation and an InitiatorTime extension, as GuestCpu sends it.
void acknowledge_from_ahead(VirtioBench& bench, const sc_time& at) {
    uint32_t value = reg::kInterruptUsedBuffer;
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_WRITE_COMMAND);
    trans.set_address(test::kMmioBase + reg::kInterruptAck);
    trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    trans.set_data_length(4);
    trans.set_streaming_width(4);
    InitiatorTime ahead;
    ahead.kernel_time = at;
    trans.set_extension(&ahead);
    sc_time delay = at - sc_core::sc_time_stamp();
    bench.cpu.socket->b_transport(trans, delay);
    trans.clear_extension(&ahead);
    ASSERT_EQ(trans.get_response_status(), tlm::TLM_OK_RESPONSE);
}

// After a round trip by the worker, a second inflate worked ahead and its interrupt
// acknowledged from ahead, 1 us after the line would rise: what the line and its trace do.
struct PulseTakenAhead {
    explicit PulseTakenAhead(bool fold) {
        Balloon& balloon = observed.balloon;
        worker_round_trip(balloon, observed.log);
        if (fold) {
            balloon.bench.mmio.keep_pulses_seen_ahead_off_the_line();
        }
        balloon.bench.mmio.irq_for_trace().watch(
            [this](bool value, const sc_time& at, const sc_time&) {
                traced.emplace_back(value, at);
            });
        balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
        const sc_time now = sc_core::sc_time_stamp();
        EXPECT_TRUE(balloon.device.work_ahead(now + sc_time(1, SC_MS)));
        rises = observed.log.raised + sc_time(500, SC_NS);
        acknowledged = rises + sc_time(1, SC_US);
        acknowledge_from_ahead(balloon.bench, acknowledged);
        balloon.bench.run(rises - now + sc_time(1, SC_NS));
        high_after_rise = balloon.bench.irq.read();
        balloon.bench.run(sc_time(1, SC_MS));
    }
    ObservedBalloon observed;
    std::vector<std::pair<bool, sc_time>> traced;
    sc_time rises;
    sc_time acknowledged;
    bool high_after_rise = false;
};

// The trace either way: the rise at its time, the drop at the ACK's annotated time.
void expect_pulse_traced(const PulseTakenAhead& pulse) {
    ASSERT_EQ(pulse.traced.size(), 2u);
    EXPECT_EQ(pulse.traced[0], std::make_pair(true, pulse.rises));
    EXPECT_FALSE(pulse.traced[1].first);
    EXPECT_GE(pulse.traced[1].second, pulse.acknowledged);
    EXPECT_LT(pulse.traced[1].second, pulse.acknowledged + sc_time(1, SC_US));
}

TEST(BalloonDeviceWorkAhead, APulseTheGuestTookAheadGoesToTheTraceOnlyWhenFolded) {
    const PulseTakenAhead pulse(true);
    EXPECT_FALSE(pulse.high_after_rise);
    EXPECT_FALSE(pulse.observed.balloon.bench.irq.read());
    EXPECT_EQ(pulse.observed.balloon.bench.mmio.counters().pulses_folded, 1u);
    EXPECT_EQ(pulse.observed.balloon.bench.mmio.counters().interrupts_raised, 2u);
    expect_pulse_traced(pulse);
}

TEST(BalloonDeviceWorkAhead, WithoutFoldingThePulseTheGuestTookAheadIsOnTheLine) {
    const PulseTakenAhead pulse(false);
    EXPECT_TRUE(pulse.high_after_rise);
    EXPECT_FALSE(pulse.observed.balloon.bench.irq.read());
    EXPECT_EQ(pulse.observed.balloon.bench.mmio.counters().pulses_folded, 0u);
    expect_pulse_traced(pulse);
}

TEST(BalloonDeviceWorkAhead, DoesNothingUnlessThePageKickIsStillAheadAndBeforeTheLimit) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    const RoundTrip& log = observed.log;
    EXPECT_FALSE(balloon.device.work_ahead(sc_time(1, SC_MS)));  // nothing kicked

    balloon.send(0, 0, test::kBufferArea, consecutive_pfns(kVictimPfn, 16));
    EXPECT_FALSE(balloon.device.work_ahead(log.kicked));  // the limit is the kick's time
    balloon.bench.run(log.kicked - sc_core::sc_time_stamp());
    // The worker is due now: too late to take its work.
    EXPECT_FALSE(balloon.device.work_ahead(sc_core::sc_time_stamp() + sc_time(1, SC_MS)));
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 16u);

    // statsq kicked too: the worker's (its buffer is held, not a page buffer).
    balloon.bench.write(reg::kInterruptAck, reg::kInterruptUsedBuffer);
    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 16, 16));
    balloon.bench.post(2, 0, {{test::kBufferArea + 0x2000, 10, false}});
    balloon.bench.notify(2);
    EXPECT_FALSE(balloon.device.work_ahead(sc_core::sc_time_stamp() + sc_time(1, SC_MS)));
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.device.ballooned_pages(), 32u);
    EXPECT_EQ(balloon.device.counters().work_ahead_runs, 0u);
}

// What a guest's lookahead may rely on: idle, the device is quiet for good; a kick leaves it
// quiet up to and including the worker's wake-up (the worker yields a delta cycle there); at
// that instant, and while the worker works, no longer; a held buffer, until its host work ends.
TEST(BalloonDeviceWorkAhead, IsQuietUntilItsWorkerWakesOrAHeldBufferEnds) {
    ObservedBalloon observed;
    Balloon& balloon = observed.balloon;
    BalloonDevice& device = balloon.device;
    const std::vector<sc_time> by_worker = worker_round_trip(balloon, observed.log);
    EXPECT_EQ(device.quiet_until(), sc_core::sc_max_time());
    device.notify_kicks_before_in_step();

    balloon.send(0, 1, test::kBufferArea + 0x1000, consecutive_pfns(kVictimPfn + 256, 256));
    const sc_time kicked = observed.log.kicked;
    ASSERT_GT(kicked, sc_core::sc_time_stamp());
    EXPECT_EQ(device.quiet_until(), kicked + sc_core::sc_get_time_resolution());
    device.release_held_work();  // the wake-up given to SystemC: still due at the kick
    EXPECT_EQ(device.quiet_until(), kicked + sc_core::sc_get_time_resolution());
    balloon.bench.run(kicked - sc_core::sc_time_stamp());  // stops before the kick's events
    EXPECT_EQ(sc_core::sc_time_stamp(), kicked);
    EXPECT_EQ(device.quiet_until(), kicked);  // its wake-up is due now
    balloon.bench.run(sc_time(1, SC_NS));     // the worker took the buffer: its host work runs
    EXPECT_TRUE(device.busy());
    EXPECT_EQ(device.quiet_until(), sc_core::sc_time_stamp());
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(device.ballooned_pages(), 512u);
    EXPECT_EQ(device.quiet_until(), sc_core::sc_max_time());
    EXPECT_EQ(observed.log.steps(), by_worker);
}

TEST(BalloonDeviceWorkAhead, IsQuietWhileItHoldsABufferUntilTheBufferEnds) {
    SecondInflate second;
    BalloonDevice& device = second.balloon.device;
    ASSERT_TRUE(device.work_ahead(second.ends - sc_time(1, SC_NS)));
    EXPECT_EQ(device.quiet_until(), second.ends);
    device.release_held_work();  // the worker's now: it finishes the buffer in SystemC
    EXPECT_EQ(device.quiet_until(), sc_core::sc_time_stamp());
}

}  // namespace
}  // namespace vbsim::models

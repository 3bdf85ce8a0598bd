// Guest RAM in several banks: PFNs in any bank are honoured, PFNs outside every bank are a
// guest error reported once per buffer, and the buffer is still returned.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/balloon/balloon_device.h"
#include "tests/support/virtio_bench.h"

namespace vbsim::models {
namespace {

using sc_core::SC_MS;
using sc_core::sc_time;
using spec::feature::bit;
namespace reg = spec::mmio;

// A second bank above 4 GiB, as platforms put RAM beyond a 32-bit hole.
constexpr uint64_t kBank2Base = 0x100000000;
constexpr uint64_t kBank2Bytes = 1 << 20;
constexpr uint32_t kBank1FirstPfn = test::kRamBase >> 12;
constexpr uint32_t kBank1Pages = test::kRamSize >> 12;
constexpr uint32_t kBank2FirstPfn = kBank2Base >> 12;
constexpr uint32_t kBank2Pages = kBank2Bytes >> 12;

BalloonDeviceParams two_bank_params() {
    BalloonDeviceParams params = test::bench_balloon_params();
    // Listed out of order: the device sorts them.
    params.guest_ram_ranges = {{kBank2Base, kBank2Bytes}, {test::kRamBase, test::kRamSize}};
    return params;
}

struct DeflatedPfns : BalloonObserver {
    std::vector<uint32_t> pfns;
    void pages_deflated(const uint32_t* deflated, size_t count, const sc_core::sc_time&) override {
        pfns.insert(pfns.end(), deflated, deflated + count);
    }
};

struct TwoBankBalloon {
    TwoBankBalloon()
        : device("balloon", two_bank_params()), bench(device, test::bench_mmio_params(2)) {
        device.add_observer(deflated);
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
        bench.negotiate(bit(spec::balloon::kFeatureMustTellHost) | bit(spec::feature::kVersion1));
        bench.setup_queue(0, 64);
        bench.setup_queue(1, 64);
        bench.driver_ok();
    }
    void send(unsigned int queue, uint16_t descriptor, uint64_t buffer,
              const std::vector<uint32_t>& pfns) {
        bench.write_pfns(buffer, pfns);
        bench.post(queue, descriptor, {{buffer, static_cast<uint32_t>(pfns.size() * 4), false}});
        bench.notify(queue);
        bench.run(sc_time(1, SC_MS));
    }

    DeflatedPfns deflated;
    BalloonDevice device;
    test::VirtioBench bench;
};

TEST(BalloonRamRanges, PfnsInTheSecondBankAreHonoured) {
    TwoBankBalloon balloon;
    EXPECT_EQ(balloon.device.guest_ram_total_bytes(), test::kRamSize + kBank2Bytes);
    balloon.send(0, 0, test::kBufferArea,
                 {kBank2FirstPfn, kBank2FirstPfn + kBank2Pages - 1, kBank1FirstPfn + 1024});
    EXPECT_EQ(balloon.device.ballooned_pages(), 3u);
    EXPECT_TRUE(balloon.device.is_ballooned(kBank2FirstPfn));
    EXPECT_TRUE(balloon.device.is_ballooned(kBank2FirstPfn + kBank2Pages - 1));
    EXPECT_TRUE(balloon.device.is_ballooned(kBank1FirstPfn + 1024));
    EXPECT_FALSE(balloon.device.is_ballooned(kBank2FirstPfn + 1));
    EXPECT_EQ(balloon.device.counters().pfns_out_of_range, 0u);
    EXPECT_EQ(balloon.bench.mmio.counters().guest_errors, 0u);

    balloon.send(1, 0, test::kBufferArea + 0x1000, {kBank2FirstPfn + kBank2Pages - 1});
    EXPECT_EQ(balloon.device.ballooned_pages(), 2u);
    EXPECT_FALSE(balloon.device.is_ballooned(kBank2FirstPfn + kBank2Pages - 1));

    // A reset gives back every page held, in address order, from both banks.
    balloon.bench.write(reg::kStatus, 0);
    balloon.bench.run(sc_time(1, SC_MS));
    EXPECT_EQ(balloon.deflated.pfns,
              (std::vector<uint32_t>{kBank2FirstPfn + kBank2Pages - 1, kBank1FirstPfn + 1024,
                                     kBank2FirstPfn}));
    EXPECT_EQ(balloon.device.ballooned_pages(), 0u);
}

// The PFNs applied are handed on in the buffer's order with strays and repeats left out,
// across banks (the device writes them over the buffer it read: a skipped entry must not
// shift or clobber a later one).
TEST(BalloonRamRanges, PagesAppliedAcrossBanksKeepTheBuffersOrderWithoutStraysOrRepeats) {
    TwoBankBalloon balloon;
    balloon.send(0, 0, test::kBufferArea,
                 {kBank2FirstPfn + 7, kBank1FirstPfn + 3, kBank2FirstPfn + 8, kBank1FirstPfn + 4});
    ASSERT_EQ(balloon.device.ballooned_pages(), 4u);
    balloon.bench.write(reg::kInterruptAck, reg::kInterruptUsedBuffer);
    balloon.send(
        1, 0, test::kBufferArea + 0x1000,
        {kBank2FirstPfn - 1, kBank1FirstPfn + 4, kBank1FirstPfn + 4, kBank2FirstPfn + 8,
         kBank1FirstPfn + 9, kBank2FirstPfn + kBank2Pages, kBank2FirstPfn + 7, kBank1FirstPfn + 3});
    EXPECT_EQ(balloon.deflated.pfns,
              (std::vector<uint32_t>{kBank1FirstPfn + 4, kBank2FirstPfn + 8, kBank2FirstPfn + 7,
                                     kBank1FirstPfn + 3}));
    EXPECT_EQ(balloon.device.ballooned_pages(), 0u);
    EXPECT_EQ(balloon.device.counters().pfns_out_of_range, 2u);
    EXPECT_EQ(balloon.device.counters().pfns_not_ballooned, 2u);
}

TEST(BalloonRamRanges, APfnOutsideEveryBankIsAGuestErrorOncePerBufferAndTheBufferReturns) {
    TwoBankBalloon balloon;
    // Just past bank 1, just below and just past bank 2: three strays in one buffer.
    balloon.send(0, 0, test::kBufferArea,
                 {kBank1FirstPfn + kBank1Pages, kBank2FirstPfn - 1, kBank2FirstPfn,
                  kBank2FirstPfn + kBank2Pages});
    EXPECT_EQ(balloon.device.ballooned_pages(), 1u);
    EXPECT_EQ(balloon.device.counters().pfns_out_of_range, 3u);
    EXPECT_EQ(balloon.device.counters().buffers_out_of_range, 1u);
    EXPECT_EQ(balloon.bench.mmio.counters().guest_errors, 1u);
    EXPECT_EQ(balloon.bench.used_idx(0), 1u);
    EXPECT_EQ(balloon.bench.read(reg::kStatus) & spec::status::kDeviceNeedsReset, 0u);

    balloon.send(1, 0, test::kBufferArea + 0x1000, {0xffffffff});
    EXPECT_EQ(balloon.device.counters().buffers_out_of_range, 2u);
    EXPECT_EQ(balloon.bench.mmio.counters().guest_errors, 2u);
    EXPECT_EQ(balloon.bench.used_idx(1), 1u);
    EXPECT_EQ(balloon.device.ballooned_pages(), 1u);
}

TEST(BalloonRamRanges, OverlappingOrUnalignedRangesAreRefused) {
    BalloonDeviceParams params = two_bank_params();
    params.guest_ram_ranges.push_back({test::kRamBase + test::kRamSize - 0x1000, 0x2000});
    try {
        BalloonDevice device("overlap", params);
        FAIL() << "constructed";
    } catch (const sc_core::sc_report& report) {
        EXPECT_NE(std::string(report.get_msg()).find("overlaps another range"), std::string::npos)
            << report.get_msg();
    }
    params = two_bank_params();
    params.guest_ram_ranges[0].bytes = 0x1800;
    try {
        BalloonDevice device("unaligned", params);
        FAIL() << "constructed";
    } catch (const sc_core::sc_report& report) {
        EXPECT_NE(std::string(report.get_msg()).find("multiples of 4 KiB"), std::string::npos)
            << report.get_msg();
    }
}

}  // namespace
}  // namespace vbsim::models

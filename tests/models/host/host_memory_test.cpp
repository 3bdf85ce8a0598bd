#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "models/host/host_memory.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

HostMemoryParams host_of(uint64_t ram, uint64_t reserved = 0) {
    HostMemoryParams params;
    params.host_ram_bytes = ram;
    params.host_reserved_bytes = reserved;
    return params;
}

// Runs `action` and returns the message of the sc_report it throws, or "" if none.
template <typename Action>
std::string error_of(Action action) {
    try {
        action();
    } catch (const sc_core::sc_report& report) {
        return report.get_msg();
    }
    return "";
}

TEST(HostMemory, TwoGuestsTouchReleaseReclaimAndTouchAgain) {
    // 1 GiB host with 64 MiB for itself: 1006632960 bytes left for guests.
    HostMemory host(host_of(kGiB, 64 * kMiB));
    const GuestId a = host.add_guest("vm-a", 0x40000000, 256 * kMiB);
    const GuestId b = host.add_guest("vm-b", 0x80000000, 512 * kMiB);
    EXPECT_NE(a, b);
    EXPECT_EQ(host.guest_pages(a), 65536u);
    EXPECT_EQ(host.guest_pages(b), 131072u);
    EXPECT_EQ(host.host_used_bytes(), 64 * kMiB);
    EXPECT_EQ(host.host_free_bytes(), 1006632960);

    // Step 1: a touches PFNs 0..999, b touches 100..3099.
    EXPECT_EQ(host.touch(a, 0, 1000).changed, 1000u);
    EXPECT_EQ(host.touch(b, 100, 3000).changed, 3000u);
    EXPECT_EQ(host.guest_resident_pages(a), 1000u);
    EXPECT_EQ(host.guest_resident_pages(b), 3000u);
    EXPECT_EQ(host.total_resident_pages(), 4000u);
    EXPECT_EQ(host.host_free_bytes(), 990248960);  // 1006632960 - 4000 pages

    // Step 2: inflate 500..699 of a (all resident) and 0..149 of b (only 100..149 resident).
    EXPECT_EQ(host.release(a, 500, 200).changed, 200u);
    EXPECT_EQ(host.release(b, 0, 150).changed, 50u);
    EXPECT_EQ(host.guest_resident_pages(a), 800u);
    EXPECT_EQ(host.guest_resident_pages(b), 2950u);
    EXPECT_EQ(host.guest_resident_bytes(b), 2950 * kPage);
    EXPECT_EQ(host.host_free_bytes(), 991272960);  // 1006632960 - 3750 pages
    EXPECT_FALSE(host.is_resident(a, 500));
    EXPECT_FALSE(host.is_resident(a, 699));
    EXPECT_TRUE(host.is_resident(a, 700));

    // Step 3: deflate a's pages back: counted, but nothing is resident until touched.
    const PageRangeResult deflated = host.reclaim(a, 500, 200);
    EXPECT_EQ(deflated.changed, 0u);
    EXPECT_TRUE(deflated.ok());
    EXPECT_EQ(host.guest_resident_pages(a), 800u);
    EXPECT_EQ(host.host_free_bytes(), 991272960);
    EXPECT_FALSE(host.is_resident(a, 600));

    // Step 4: a touches 0..999 again; only the 200 deflated pages cost anew.
    EXPECT_EQ(host.touch(a, 0, 1000).changed, 200u);
    EXPECT_EQ(host.guest_resident_pages(a), 1000u);
    EXPECT_EQ(host.host_free_bytes(), 990453760);  // 1006632960 - 3950 pages
    EXPECT_EQ(host.host_used_bytes(), 64 * kMiB + 3950 * kPage);

    const HostGuestCounters& ca = host.guest_counters(a);
    EXPECT_EQ(ca.pages_touched, 1200u);
    EXPECT_EQ(ca.pages_released, 200u);
    EXPECT_EQ(ca.pages_freed, 200u);
    EXPECT_EQ(ca.pages_reclaimed, 200u);
    EXPECT_EQ(ca.invalid_pages, 0u);
    const HostGuestCounters& cb = host.guest_counters(b);
    EXPECT_EQ(cb.pages_released, 150u);
    EXPECT_EQ(cb.pages_freed, 50u);
    EXPECT_EQ(host.overcommit_shortfall_bytes(), 0u);
}

TEST(HostMemory, ReleasingUntouchedPagesFreesNothing) {
    HostMemory host(host_of(kGiB));
    const GuestId a = host.add_guest("vm", 0, 64 * kMiB);
    host.touch(a, 0, 10);
    const int64_t free_before = host.host_free_bytes();

    EXPECT_EQ(host.release(a, 100, 100).changed, 0u);
    EXPECT_TRUE(host.release(a, 5000));
    EXPECT_EQ(host.guest_resident_pages(a), 10u);
    EXPECT_EQ(host.host_free_bytes(), free_before);
    EXPECT_EQ(host.guest_counters(a).pages_released, 101u);
    EXPECT_EQ(host.guest_counters(a).pages_freed, 0u);

    // A second release of the same resident page frees it only once.
    EXPECT_EQ(host.release(a, 3, 1).changed, 1u);
    EXPECT_EQ(host.release(a, 3, 1).changed, 0u);
    EXPECT_EQ(host.guest_resident_pages(a), 9u);
    EXPECT_EQ(host.host_free_bytes(), free_before + static_cast<int64_t>(kPage));
}

TEST(HostMemory, TouchingTheSamePageTwiceCountsOnce) {
    HostMemory host(host_of(kGiB));
    const GuestId a = host.add_guest("vm", 0, 64 * kMiB);
    EXPECT_TRUE(host.touch(a, 7));
    EXPECT_TRUE(host.touch(a, 7));
    EXPECT_EQ(host.guest_resident_pages(a), 1u);
    EXPECT_EQ(host.touch(a, 0, 16).changed, 15u);
    EXPECT_EQ(host.touch(a, 0, 16).changed, 0u);
    EXPECT_EQ(host.guest_resident_pages(a), 16u);
    EXPECT_EQ(host.guest_counters(a).pages_touched, 16u);
    EXPECT_EQ(host.host_used_bytes(), 16 * kPage);
}

TEST(HostMemory, RangesAcrossWordBoundariesAreExact) {
    HostMemory host(host_of(kGiB));
    const GuestId a = host.add_guest("vm", 0, kMiB);  // 256 pages: four bitmap words

    EXPECT_EQ(host.touch(a, 60, 141).changed, 141u);  // PFNs 60..200
    EXPECT_EQ(host.guest_resident_pages(a), 141u);
    EXPECT_FALSE(host.is_resident(a, 59));
    for (uint64_t pfn : {60, 63, 64, 127, 128, 191, 192, 200}) {
        EXPECT_TRUE(host.is_resident(a, pfn)) << pfn;
    }
    EXPECT_FALSE(host.is_resident(a, 201));

    // Exactly one whole word.
    EXPECT_EQ(host.release(a, 64, 64).changed, 64u);
    EXPECT_EQ(host.guest_resident_pages(a), 77u);
    EXPECT_TRUE(host.is_resident(a, 63));
    EXPECT_FALSE(host.is_resident(a, 64));
    EXPECT_FALSE(host.is_resident(a, 127));
    EXPECT_TRUE(host.is_resident(a, 128));

    // The whole guest, then everything but the first and last page.
    EXPECT_EQ(host.touch(a, 0, 256).changed, 179u);
    EXPECT_EQ(host.release(a, 1, 254).changed, 254u);
    EXPECT_EQ(host.guest_resident_pages(a), 2u);
    EXPECT_TRUE(host.is_resident(a, 0));
    EXPECT_TRUE(host.is_resident(a, 255));
    EXPECT_FALSE(host.is_resident(a, 1));
    EXPECT_FALSE(host.is_resident(a, 254));

    // Within a single word, not starting at its first bit.
    EXPECT_EQ(host.touch(a, 130, 3).changed, 3u);
    EXPECT_EQ(host.guest_resident_pages(a), 5u);
    EXPECT_FALSE(host.is_resident(a, 129));
    EXPECT_FALSE(host.is_resident(a, 133));
}

TEST(HostMemory, OutOfRangePfnsAreCountedInvalidAndChangeNothing) {
    HostMemory host(host_of(kGiB));
    const GuestId a = host.add_guest("vm-a", 0, kMiB);  // PFNs 0..255
    const GuestId b = host.add_guest("vm-b", kMiB, kMiB);
    int notifications = 0;
    host.on_change([&notifications](const HostMemory&) { ++notifications; });

    EXPECT_FALSE(host.touch(a, 256));
    EXPECT_FALSE(host.release(a, 1000));
    EXPECT_FALSE(host.reclaim(a, kMax));
    EXPECT_FALSE(host.is_resident(a, 256));
    EXPECT_EQ(notifications, 0);
    EXPECT_EQ(host.guest_resident_pages(a), 0u);

    // The valid part of a straddling range still applies.
    const PageRangeResult straddling = host.touch(a, 250, 10);
    EXPECT_EQ(straddling.changed, 6u);
    EXPECT_EQ(straddling.invalid, 4u);
    EXPECT_FALSE(straddling.ok());
    // first + count would overflow: all invalid, no wrap to PFN 0.
    EXPECT_EQ(host.touch(a, kMax - 1, 5).invalid, 5u);
    EXPECT_FALSE(host.is_resident(a, 0));

    EXPECT_EQ(host.guest_counters(a).invalid_pages, 12u);
    EXPECT_EQ(host.guest_resident_pages(a), 6u);
    EXPECT_EQ(host.guest_resident_pages(b), 0u);
    EXPECT_EQ(host.guest_counters(b).invalid_pages, 0u);
    EXPECT_EQ(notifications, 1);
}

TEST(HostMemory, AddressRangesAreRelativeToTheGuestRamBase) {
    constexpr uint64_t kBase = 0x80000000;
    HostMemory host(host_of(kGiB));
    const GuestId a = host.add_guest("vm", kBase, kMiB);
    EXPECT_EQ(host.guest_ram_base(a), kBase);

    // 4 KiB starting mid-page overlaps PFNs 1 and 2.
    EXPECT_EQ(host.touch_address_range(a, kBase + 0x1800, 0x1000).changed, 2u);
    EXPECT_FALSE(host.is_resident(a, 0));
    EXPECT_TRUE(host.is_resident(a, 1));
    EXPECT_TRUE(host.is_resident(a, 2));

    // Two pages below the base are invalid, the third is PFN 0.
    const PageRangeResult below = host.touch_address_range(a, kBase - 0x2000, 0x3000);
    EXPECT_EQ(below.changed, 1u);
    EXPECT_EQ(below.invalid, 2u);
    EXPECT_TRUE(host.is_resident(a, 0));

    // Two bytes across the end of RAM: PFN 255 and one invalid page.
    const PageRangeResult above = host.touch_address_range(a, kBase + kMiB - 1, 2);
    EXPECT_EQ(above.changed, 1u);
    EXPECT_EQ(above.invalid, 1u);
    EXPECT_TRUE(host.is_resident(a, 255));

    EXPECT_EQ(host.touch_address_range(a, kBase, 0).changed, 0u);
    EXPECT_EQ(host.touch_address_range(a, kMax - 10, 100).invalid, 1u);
    EXPECT_EQ(host.guest_resident_pages(a), 4u);

    EXPECT_EQ(host.release_address_range(a, kBase + 0x1000, 0x2000).changed, 2u);
    EXPECT_EQ(host.reclaim_address_range(a, kBase + 0x1000, 0x2000).changed, 0u);
    EXPECT_EQ(host.guest_resident_pages(a), 2u);
    EXPECT_EQ(host.guest_counters(a).pages_reclaimed, 2u);
    EXPECT_EQ(host.guest_counters(a).invalid_pages, 4u);
}

TEST(HostMemory, LowWaterMarkRecordsTheMinimumFreeAndWhenItHappened) {
    HostMemory host(host_of(100 * kMiB));
    const GuestId a = host.add_guest("vm", 0, 200 * kMiB);
    EXPECT_EQ(host.min_host_free_bytes(), 104857600);
    EXPECT_EQ(host.min_host_free_time(), sc_core::SC_ZERO_TIME);

    sc_core::sc_start(sc_time(10, SC_NS));
    host.touch(a, 0, 5000);
    EXPECT_EQ(host.host_free_bytes(), 84377600);
    EXPECT_EQ(host.min_host_free_bytes(), 84377600);
    EXPECT_EQ(host.min_host_free_time(), sc_time(10, SC_NS));

    sc_core::sc_start(sc_time(10, SC_NS));
    host.release(a, 0, 3000);
    EXPECT_EQ(host.host_free_bytes(), 96665600);
    EXPECT_EQ(host.min_host_free_bytes(), 84377600);
    EXPECT_EQ(host.min_host_free_time(), sc_time(10, SC_NS));

    // Touching more than the host has: free goes negative instead of wrapping.
    sc_core::sc_start(sc_time(10, SC_NS));
    EXPECT_EQ(host.touch(a, 0, 40000).changed, 38000u);
    EXPECT_EQ(host.host_free_bytes(), -58982400);
    EXPECT_EQ(host.overcommit_shortfall_bytes(), 58982400u);
    EXPECT_EQ(host.min_host_free_bytes(), -58982400);
    EXPECT_EQ(host.min_host_free_time(), sc_time(30, SC_NS));

    sc_core::sc_start(sc_time(10, SC_NS));
    host.release(a, 0, 51200);
    EXPECT_EQ(host.host_free_bytes(), 104857600);
    EXPECT_EQ(host.overcommit_shortfall_bytes(), 0u);
    EXPECT_EQ(host.min_host_free_bytes(), -58982400);
    EXPECT_EQ(host.min_host_free_time(), sc_time(30, SC_NS));

    // Reaching the same low again keeps the time it was first reached.
    sc_core::sc_start(sc_time(10, SC_NS));
    host.touch(a, 0, 40000);
    EXPECT_EQ(host.host_free_bytes(), -58982400);
    EXPECT_EQ(host.min_host_free_time(), sc_time(30, SC_NS));
}

TEST(HostMemory, LowWaterMarkIsTakenAtTheEndOfAnInstantWhateverTheOrderWithinIt) {
    HostMemory host(host_of(100 * kMiB));
    const GuestId a = host.add_guest("a", 0, 200 * kMiB);
    const GuestId b = host.add_guest("b", 0, 200 * kMiB);
    host.touch(a, 0, 1000);  // 0 ns ends with 100,761,600 free
    sc_core::sc_start(sc_time(10, SC_NS));
    // At 10 ns, b's touch happens to run before a's and b's releases: the host dips to
    // 92,569,600 free between them, but the instant ends at 100,761,600 again.
    host.touch(b, 0, 2000);
    EXPECT_EQ(host.host_free_bytes(), 92569600);
    host.release(a, 0, 1000);
    host.release(b, 0, 1000);
    sc_core::sc_start(sc_time(10, SC_NS));
    EXPECT_EQ(host.host_free_bytes(), 100761600);
    EXPECT_EQ(host.min_host_free_bytes(), 100761600);
    EXPECT_EQ(host.min_host_free_time(), sc_core::SC_ZERO_TIME);  // first reached

    host.touch(b, 2000, 500);  // at 20 ns: b holds 1,500 pages
    EXPECT_EQ(host.min_host_free_bytes(), 98713600);
    EXPECT_EQ(host.min_host_free_time(), sc_time(20, SC_NS));
}

TEST(HostMemory, ChangesMadeAheadOfTimeCountOnceSettledInTimeOrder) {
    HostMemory host(host_of(100 * kMiB));
    const GuestId a = host.add_guest("a", 0, 200 * kMiB);
    const GuestId b = host.add_guest("b", 0, 200 * kMiB);
    sc_core::sc_start(sc_time(10, SC_NS));
    // Guest a ran ahead of SystemC to 40 ns: 1,000 pages touched at 30 ns, released at 40 ns.
    host.touch(a, 0, 1000, sc_time(30, SC_NS));
    host.release(a, 0, 1000, sc_time(40, SC_NS));
    // Then guest b, in step with SystemC at 10 ns, touches 500 pages.
    host.touch(b, 0, 500);
    EXPECT_EQ(host.host_free_bytes(), 102809600);
    // Nothing is settled yet: the mark is still the start's.
    EXPECT_EQ(host.min_host_free_bytes(), 104857600);
    EXPECT_EQ(host.min_host_free_time(), sc_core::SC_ZERO_TIME);

    host.settle(sc_time(40, SC_NS));
    // In time order: 500 pages at 10 ns, 1,500 at 30 ns (the lowest), 500 at 40 ns.
    EXPECT_EQ(host.min_host_free_bytes(), 98713600);
    EXPECT_EQ(host.min_host_free_time(), sc_time(30, SC_NS));
    EXPECT_EQ(host.host_free_bytes(), 102809600);
}

TEST(HostMemory, SettleLeavesChangesLaterThanItsTimeForLater) {
    HostMemory host(host_of(100 * kMiB));
    const GuestId a = host.add_guest("a", 0, 200 * kMiB);
    const sc_time ahead = sc_core::sc_time_stamp() + sc_time(50, SC_NS);
    host.touch(a, 0, 1000, ahead);
    host.settle(ahead - sc_time(1, SC_NS));
    EXPECT_EQ(host.min_host_free_bytes(), 104857600);  // not yet
    host.settle(ahead);
    EXPECT_EQ(host.min_host_free_bytes(), 100761600);
    EXPECT_EQ(host.min_host_free_time(), ahead);
}

// A 100 MiB host without swap whose guest `a` ran ahead and touched 80 MiB at 50 ns; guest
// `b` is in step and has touched nothing yet.
struct TouchedAhead {
    HostMemory host{swap_or_kill(host_of(100 * kMiB))};
    GuestId a = host.add_guest("a", 0, 200 * kMiB);
    GuestId b = host.add_guest("b", 0, 200 * kMiB);
    TouchedAhead() { host.touch(a, 0, 20480, sc_time(50, SC_NS)); }
    static HostMemoryParams swap_or_kill(HostMemoryParams params) {
        params.overcommit = HostOvercommit::kSwapOrKill;
        return params;
    }
};

TEST(HostMemory, ReclaimWithPagesTouchedAheadOfTimeIsAnError) {
    TouchedAhead setup;
    // b needs 40 MiB at 0 ns: in step, that fitted, so no reclaim may weigh a's pages.
    EXPECT_EQ(error_of([&] { setup.host.touch(setup.b, 0, 10240); }),
              "host reclaim while a guest has run ahead of SystemC time (turn cpu.lookahead off)");
}

TEST(HostMemory, ReclaimInStepAfterChangesAheadHaveComeDueIsFine) {
    TouchedAhead setup;
    sc_core::sc_start(sc_time(50, SC_NS));
    EXPECT_EQ(error_of([&] { setup.host.touch(setup.b, 0, 10240); }), "");
    EXPECT_EQ(setup.host.host_oom_kills(), 1u);  // no swap: the largest guest goes
}

TEST(HostMemory, ReservedHostMemoryCountsAsUsedFromTheStart) {
    HostMemory host(host_of(kGiB, 256 * kMiB));
    EXPECT_EQ(host.host_used_bytes(), 256 * kMiB);
    EXPECT_EQ(host.host_free_bytes(), static_cast<int64_t>(768 * kMiB));
    EXPECT_EQ(host.min_host_free_bytes(), static_cast<int64_t>(768 * kMiB));
}

TEST(HostMemory, TwoSixGibGuestsOnAnEightGibHostAreOvercommittedOneAndAHalfTimes) {
    HostMemory host(host_of(8 * kGiB));
    EXPECT_EQ(host.overcommit_ratio(), 0.0);
    const GuestId a = host.add_guest("vm-a", 0, 6 * kGiB);
    EXPECT_DOUBLE_EQ(host.overcommit_ratio(), 0.75);
    const GuestId b = host.add_guest("vm-b", 0, 6 * kGiB);
    EXPECT_DOUBLE_EQ(host.overcommit_ratio(), 1.5);
    EXPECT_EQ(host.committed_bytes(), 12 * kGiB);
    EXPECT_EQ(host.guest_count(), 2u);
    EXPECT_EQ(host.guest_name(a), "vm-a");
    EXPECT_EQ(host.guest_name(b), "vm-b");
    EXPECT_EQ(host.guest_ram_bytes(b), 6 * kGiB);
    // Registration alone costs nothing: only touched pages do.
    EXPECT_EQ(host.host_free_bytes(), static_cast<int64_t>(8 * kGiB));
}

TEST(HostMemory, ATebibyteGuestCanBeRegisteredAndHalfTouched) {
    HostMemory host(host_of(64 * kGiB));
    const GuestId big = host.add_guest("vm-big", 0, kTiB);
    constexpr uint64_t kHalf = uint64_t{1} << 27;  // pages in 512 GiB
    EXPECT_EQ(host.guest_pages(big), 2 * kHalf);

    EXPECT_EQ(host.touch(big, 0, kHalf).changed, kHalf);
    EXPECT_EQ(host.guest_resident_bytes(big), kTiB / 2);
    EXPECT_TRUE(host.is_resident(big, kHalf - 1));
    EXPECT_FALSE(host.is_resident(big, kHalf));
    EXPECT_EQ(host.host_free_bytes(), -static_cast<int64_t>(448 * kGiB));
    EXPECT_EQ(host.overcommit_shortfall_bytes(), 448 * kGiB);
    EXPECT_DOUBLE_EQ(host.overcommit_ratio(), 16.0);

    // Inflating a quarter of the guest, offset by one page so no range is word-aligned.
    EXPECT_EQ(host.release_address_range(big, kTiB / 4 + kPage, kTiB / 4).changed, kHalf / 2 - 1);
    EXPECT_EQ(host.guest_resident_pages(big), kHalf / 2 + 1);
}

TEST(HostMemory, ChangeListenersRunOncePerChangingOperation) {
    HostMemory host(host_of(kGiB));
    std::vector<int64_t> samples;
    host.on_change([&samples](const HostMemory& h) { samples.push_back(h.host_free_bytes()); });

    const GuestId a = host.add_guest("vm", 0, 64 * kMiB);
    host.touch(a, 0, 1000);
    host.release(a, 2000, 10);  // untouched: no change
    host.reclaim(a, 2000, 10);  // counted only: no change
    host.touch(a, 0, 1000);     // already resident: no change
    host.release(a, 0, 100);

    const int64_t gib = static_cast<int64_t>(kGiB);
    const std::vector<int64_t> expected{gib, gib - 1000 * 4096, gib - 900 * 4096};
    EXPECT_EQ(samples, expected);
}

TEST(HostMemory, RejectsBadRegistrationNamingTheGuest) {
    HostMemory host(host_of(kGiB));
    std::string message = error_of([&host] { host.add_guest("vm-zero", 0, 0); });
    EXPECT_NE(message.find("'vm-zero'"), std::string::npos) << message;
    EXPECT_NE(message.find("4 KiB"), std::string::npos) << message;

    message = error_of([&host] { host.add_guest("vm-odd", 0, kMiB + 1); });
    EXPECT_NE(message.find("'vm-odd'"), std::string::npos) << message;
    EXPECT_NE(message.find("1048577"), std::string::npos) << message;

    message = error_of([&host] { host.add_guest("vm-unaligned", 0x800, kMiB); });
    EXPECT_NE(message.find("'vm-unaligned'"), std::string::npos) << message;
    EXPECT_NE(message.find("aligned"), std::string::npos) << message;

    message = error_of([&host] { host.add_guest("vm-wrap", kMax - kPage + 1, 2 * kPage); });
    EXPECT_NE(message.find("'vm-wrap'"), std::string::npos) << message;
    EXPECT_NE(message.find("past the end"), std::string::npos) << message;

    EXPECT_EQ(host.guest_count(), 0u);
    EXPECT_EQ(host.committed_bytes(), 0u);
}

TEST(HostMemory, RejectsUnknownGuestsAndImpossibleHosts) {
    HostMemory host(host_of(kGiB));
    host.add_guest("vm", 0, kMiB);
    std::string message = error_of([&host] { host.touch(GuestId{1}, 0, 1); });
    EXPECT_NE(message.find("unknown guest id 1"), std::string::npos) << message;
    EXPECT_FALSE(host.has_guest(kNoGuest));

    message = error_of([] { HostMemory bad(host_of(kGiB, 2 * kGiB)); });
    EXPECT_NE(message.find("reserved"), std::string::npos) << message;
    message = error_of([] { HostMemory bad(host_of(0)); });
    EXPECT_NE(message.find("zero"), std::string::npos) << message;
}

// ---- host swap and host OOM (kSwapOrKill) ---------------------------------------------

// A 16-page host with `swap_pages` of swap; 1 page per millisecond each way plus 100 us a batch.
HostMemoryParams swapping_host(uint64_t swap_pages) {
    HostMemoryParams params = host_of(16 * kPage);
    params.overcommit = HostOvercommit::kSwapOrKill;
    params.swap_bytes = swap_pages * kPage;
    params.swap_in_bytes_per_s = kPage * 1000.0;
    params.swap_out_bytes_per_s = kPage * 1000.0;
    params.swap_in_latency = sc_time(100, sc_core::SC_US);
    params.swap_out_latency = sc_time(100, sc_core::SC_US);
    return params;
}

TEST(HostSwap, OvercommitSwapsOutTheLargestGuestsHighestPagesAndATouchSwapsThemBackIn) {
    HostMemory host(swapping_host(8));
    const GuestId g0 = host.add_guest("g0", 0, 32 * kPage);
    const GuestId g1 = host.add_guest("g1", 0, 32 * kPage);
    EXPECT_EQ(host.touch(g0, 0, 10).stall, sc_time(0, SC_NS));
    // 20 pages on a 16-page host: 4 go to swap, from g0 (tied at 10, the first) top down;
    // g1 waits for the write: 100 us + 4 ms.
    const PageRangeResult second = host.touch(g1, 0, 10);
    EXPECT_EQ(second.changed, 10u);
    EXPECT_EQ(second.stall, sc_time(4100, sc_core::SC_US));
    EXPECT_EQ(host.host_free_bytes(), 0);
    EXPECT_EQ(host.swap_used_bytes(), 4 * kPage);
    EXPECT_EQ(host.guest_resident_pages(g0), 6u);
    EXPECT_FALSE(host.is_resident(g0, 6));
    EXPECT_TRUE(host.is_resident(g0, 5));
    EXPECT_EQ(host.guest_counters(g0).pages_swapped_out, 4u);
    EXPECT_EQ(host.guest_counters(g1).swap_stall, sc_time(4100, sc_core::SC_US));
    // g0 touches one of its swapped pages: read back (100 us + 1 ms), and one page of g1,
    // the largest now, goes out (100 us + 1 ms).
    const PageRangeResult back = host.touch(g0, 9, 1);
    EXPECT_EQ(back.stall, sc_time(2200, sc_core::SC_US));
    EXPECT_EQ(host.guest_counters(g0).pages_swapped_in, 1u);
    EXPECT_EQ(host.guest_counters(g1).pages_swapped_out, 1u);
    EXPECT_FALSE(host.is_resident(g1, 9));
    EXPECT_EQ(host.swap_used_bytes(), 4 * kPage);
    EXPECT_EQ(host.max_swap_used_bytes(), 4 * kPage);
    // The balloon taking swapped pages frees their swap slots.
    host.release(g0, 6, 3);
    EXPECT_EQ(host.swap_used_bytes(), 1 * kPage);
    EXPECT_EQ(host.host_oom_kills(), 0u);
}

TEST(HostSwap, UsingHeldMemoryReadsBackTheSameShareOfWhatWasSwappedOut) {
    HostMemory host(swapping_host(8));
    const GuestId g0 = host.add_guest("g0", 0, 32 * kPage);
    const GuestId g1 = host.add_guest("g1", 0, 32 * kPage);
    host.touch(g0, 0, 12);
    host.touch(g1, 0, 8);  // 20 pages: g0's 4 highest (8..11) go to swap
    ASSERT_EQ(host.guest_counters(g0).pages_swapped_out, 4u);
    // g0 uses 6 of its 12 backed pages: half of its 4 swapped pages come back, lowest first
    // (100 us + 2 ms), and 2 of g0's, the largest guest, go out to make room (100 us + 2 ms).
    const PageRangeResult half = host.touch_held_share(g0, 6);
    EXPECT_EQ(half.changed, 2u);
    EXPECT_EQ(half.stall, sc_time(4200, sc_core::SC_US));
    EXPECT_EQ(host.guest_counters(g0).pages_swapped_in, 2u);
    // ...which are its highest: the two it just read back.
    EXPECT_EQ(host.guest_resident_pages(g0), 8u);
    EXPECT_FALSE(host.is_resident(g0, 8));
    EXPECT_EQ(host.guest_counters(g0).pages_swapped_out, 6u);
    EXPECT_EQ(host.swap_used_bytes(), 4 * kPage);
    EXPECT_EQ(host.guest_counters(g0).swap_stall, sc_time(4200, sc_core::SC_US));
    // Too little to bring one page back: nothing happens, no wait.
    EXPECT_EQ(host.touch_held_share(g0, 2).stall, sc_time(0, SC_NS));
    // A guest with nothing swapped, or a use of nothing, costs nothing.
    EXPECT_EQ(host.touch_held_share(g1, 8).stall, sc_time(0, SC_NS));
    EXPECT_EQ(host.touch_held_share(g0, 0).changed, 0u);
    // Using more than it holds brings everything back.
    host.touch_held_share(g0, 100);
    EXPECT_EQ(host.guest_counters(g0).pages_swapped_in, 6u);
}

TEST(HostSwap, WithoutSwapTheHostOomKillerKillsTheGuestWithTheMostResidentMemory) {
    HostMemory host(swapping_host(0));
    const GuestId g0 = host.add_guest("g0", 0, 32 * kPage);
    const GuestId g1 = host.add_guest("g1", 0, 32 * kPage);
    std::vector<uint32_t> killed;
    host.on_guest_killed([&](GuestId id) { killed.push_back(id.index); });
    host.touch(g0, 0, 12);
    host.touch(g1, 0, 5);  // 17 pages: g0 (12) dies, all of it freed
    EXPECT_EQ(killed, std::vector<uint32_t>{0});
    EXPECT_EQ(host.host_oom_kills(), 1u);
    EXPECT_TRUE(host.guest_counters(g0).killed);
    EXPECT_EQ(host.guest_resident_pages(g0), 0u);
    EXPECT_EQ(host.guest_resident_pages(g1), 5u);
    EXPECT_EQ(host.host_free_bytes(), static_cast<int64_t>(11 * kPage));
    // A killed guest touches nothing any more.
    EXPECT_EQ(host.touch(g0, 0, 4).changed, 0u);
    EXPECT_EQ(host.guest_resident_pages(g0), 0u);
}

TEST(HostSwap, AFullSwapEndsInAHostOomKillAndFreesTheVictimsSwapToo) {
    HostMemory host(swapping_host(2));
    const GuestId g0 = host.add_guest("g0", 0, 32 * kPage);
    const GuestId g1 = host.add_guest("g1", 0, 32 * kPage);
    host.touch(g0, 0, 14);
    host.touch(g1, 0, 4);  // 18: 2 of g0's go to swap, swap full
    EXPECT_EQ(host.swap_used_bytes(), 2 * kPage);
    EXPECT_EQ(host.host_oom_kills(), 0u);
    host.touch(g1, 4, 1);  // 17 with no swap left: g0 (12) is killed
    EXPECT_EQ(host.host_oom_kills(), 1u);
    EXPECT_TRUE(host.guest_counters(g0).killed);
    EXPECT_EQ(host.swap_used_bytes(), 0u);
    EXPECT_EQ(host.guest_resident_pages(g1), 5u);
}

TEST(HostSwap, TheDefaultOnlyCountsAnOvercommittedHost) {
    HostMemory host(host_of(16 * kPage));
    const GuestId g0 = host.add_guest("g0", 0, 32 * kPage);
    EXPECT_EQ(host.touch(g0, 0, 20).stall, sc_time(0, SC_NS));
    EXPECT_EQ(host.host_free_bytes(), -static_cast<int64_t>(4 * kPage));
    EXPECT_EQ(host.swap_used_bytes(), 0u);
    EXPECT_EQ(host.host_oom_kills(), 0u);
}

}  // namespace
}  // namespace vbsim::models

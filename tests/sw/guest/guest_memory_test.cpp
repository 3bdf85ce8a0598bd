#include "sw/guest/guest_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace vbsim::sw::guest {
namespace {

namespace balloon = spec::balloon;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint64_t kTiB = 1024 * kGiB;
constexpr uint64_t kRamBase = 0x4000'0000;

GuestMemoryParams params_for(uint64_t ram_bytes, uint32_t page_size = 4096,
                             uint64_t ram_base = kRamBase) {
    GuestMemoryParams params;
    params.ram_base = ram_base;
    params.ram_bytes = ram_bytes;
    params.page_size = page_size;
    return params;
}

// Storage sized with storage_words_for(), as a platform would do it.
struct Guest {
    explicit Guest(const GuestMemoryParams& params)
        : storage(GuestMemory::storage_words_for(params.ram_bytes / params.page_size)),
          memory(params, storage.data(), storage.size()) {}
    std::vector<uint64_t> storage;
    GuestMemory memory;
};

std::unique_ptr<Guest> make_guest(const GuestMemoryParams& params) {
    auto guest = std::make_unique<Guest>(params);
    EXPECT_TRUE(guest->memory.valid());
    return guest;
}

// ---- helpers' arithmetic ----------------------------------------------------------

TEST(GuestMemory, IntSqrtIsTheFloorOfTheRoot) {
    EXPECT_EQ(GuestMemory::int_sqrt(0), 0u);
    EXPECT_EQ(GuestMemory::int_sqrt(1), 1u);
    EXPECT_EQ(GuestMemory::int_sqrt(3), 1u);
    EXPECT_EQ(GuestMemory::int_sqrt(4), 2u);
    EXPECT_EQ(GuestMemory::int_sqrt(8191), 90u);
    EXPECT_EQ(GuestMemory::int_sqrt(16 * 1048576), 4096u);
    EXPECT_EQ(GuestMemory::int_sqrt(4096u * 4096u - 1), 4095u);
    EXPECT_EQ(GuestMemory::int_sqrt(UINT64_MAX), 0xffff'ffffu);
    EXPECT_EQ(GuestMemory::int_sqrt(uint64_t{0xffff'ffff} * 0xffff'ffff), 0xffff'ffffu);
}

TEST(GuestMemory, HierarchicalBitmapFindsTheFirstClearWordThroughItsLevels) {
    EXPECT_EQ(HierarchicalBitmap::words_for(0), 0u);
    EXPECT_EQ(HierarchicalBitmap::words_for(1), 1u);
    EXPECT_EQ(HierarchicalBitmap::words_for(64), 1u);
    EXPECT_EQ(HierarchicalBitmap::words_for(65), 3u);         // 2 + 1
    EXPECT_EQ(HierarchicalBitmap::words_for(4096), 65u);      // 64 + 1
    EXPECT_EQ(HierarchicalBitmap::words_for(4097), 68u);      // 65 + 2 + 1
    EXPECT_EQ(HierarchicalBitmap::words_for(262145), 4165u);  // 4097 + 65 + 2 + 1

    const uint64_t bits = 64 * 64 * 64 + 5;  // four levels, a ragged last word
    std::vector<uint64_t> storage(HierarchicalBitmap::words_for(bits));
    HierarchicalBitmap bitmap;
    EXPECT_FALSE(bitmap.init(bits, storage.data(), storage.size() - 1, false));
    ASSERT_TRUE(bitmap.init(bits, storage.data(), storage.size(), false));

    uint64_t word = 99;
    ASSERT_TRUE(bitmap.find_first_clear_word(word));
    EXPECT_EQ(word, 0u);
    for (uint64_t bit = 0; bit < bits; ++bit) {
        bitmap.set(bit);
    }
    EXPECT_FALSE(bitmap.find_first_clear_word(word));
    bitmap.clear(bits - 1);
    ASSERT_TRUE(bitmap.find_first_clear_word(word));
    EXPECT_EQ(word, (bits - 1) / 64);
    bitmap.clear(70000);
    ASSERT_TRUE(bitmap.find_first_clear_word(word));
    EXPECT_EQ(word, 70000u / 64);
    bitmap.set(70000);
    bitmap.set(bits - 1);
    EXPECT_FALSE(bitmap.find_first_clear_word(word));
    EXPECT_TRUE(bitmap.test(bits - 1));

    HierarchicalBitmap full;
    ASSERT_TRUE(full.init(bits, storage.data(), storage.size(), true));
    EXPECT_FALSE(full.find_first_clear_word(word));
}

// ---- watermarks -----------------------------------------------------------------------

TEST(GuestMemory, WatermarksForOneGiB) {
    auto guest = make_guest(params_for(kGiB));
    EXPECT_EQ(guest->memory.min_free_kbytes(), 4096u);
    EXPECT_EQ(guest->memory.watermarks().min_pages, 1024u);
    // gap = max(1024 / 4, 262144 * 10 / 10000 = 262)
    EXPECT_EQ(guest->memory.watermarks().low_pages, 1286u);
    EXPECT_EQ(guest->memory.watermarks().high_pages, 1548u);
}

TEST(GuestMemory, WatermarksForFourGiBMatchTheFactsNote) {
    auto guest = make_guest(params_for(4 * kGiB));
    EXPECT_EQ(guest->memory.total_pages(), 1048576u);
    EXPECT_EQ(guest->memory.min_free_kbytes(), 8192u);
    EXPECT_EQ(guest->memory.watermarks().min_pages, 2048u);
    EXPECT_EQ(guest->memory.watermarks().low_pages, 3096u);
    EXPECT_EQ(guest->memory.watermarks().high_pages, 4144u);
}

TEST(GuestMemory, WatermarksForSixteenGiB) {
    const Watermarks marks = GuestMemory::derive_watermarks(params_for(16 * kGiB));
    EXPECT_EQ(GuestMemory::derive_min_free_kbytes(16 * kGiB), 16384u);
    EXPECT_EQ(marks.min_pages, 4096u);
    // gap = max(1024, 4194304 * 10 / 10000 = 4194)
    EXPECT_EQ(marks.low_pages, 8290u);
    EXPECT_EQ(marks.high_pages, 12484u);
}

TEST(GuestMemory, WatermarksClampForTinyRam) {
    // int_sqrt(512 * 16) = 90 KiB, raised to the 128 KiB floor.
    EXPECT_EQ(GuestMemory::derive_min_free_kbytes(512 * kKiB), 128u);
    auto guest = make_guest(params_for(256 * kKiB));
    EXPECT_EQ(guest->memory.total_pages(), 64u);
    EXPECT_EQ(guest->memory.min_free_kbytes(), 128u);
    EXPECT_EQ(guest->memory.watermarks().min_pages, 32u);
    EXPECT_EQ(guest->memory.watermarks().low_pages, 40u);  // gap = 32 / 4
    EXPECT_EQ(guest->memory.watermarks().high_pages, 48u);
}

TEST(GuestMemory, WatermarksClampForHugeRam) {
    // 4 TiB sits exactly on the 256 MiB ceiling; 8 TiB would ask for 362 MiB.
    EXPECT_EQ(GuestMemory::derive_min_free_kbytes(4 * kTiB), 262144u);
    EXPECT_EQ(GuestMemory::derive_min_free_kbytes(8 * kTiB), 262144u);
    const Watermarks marks = GuestMemory::derive_watermarks(params_for(8 * kTiB));
    EXPECT_EQ(marks.min_pages, 65536u);
    // The scale factor dominates: 2^31 pages * 10 / 10000.
    EXPECT_EQ(marks.low_pages, 65536u + 2147483u);
    EXPECT_EQ(marks.high_pages, 65536u + 2 * 2147483u);
}

TEST(GuestMemory, WatermarksForSixtyFourKiBPages) {
    auto guest = make_guest(params_for(kGiB, 65536));
    EXPECT_EQ(guest->memory.total_pages(), 16384u);
    EXPECT_EQ(guest->memory.watermarks().min_pages, 64u);  // 4096 KiB / 64 KiB
    EXPECT_EQ(guest->memory.watermarks().low_pages, 80u);
    EXPECT_EQ(guest->memory.watermarks().high_pages, 96u);
}

TEST(GuestMemory, WatermarkOverrides) {
    GuestMemoryParams params = params_for(kGiB);
    params.min_free_kbytes = 16384;
    Watermarks marks = GuestMemory::derive_watermarks(params);
    EXPECT_EQ(marks.min_pages, 4096u);
    EXPECT_EQ(marks.low_pages, 5120u);
    EXPECT_EQ(marks.high_pages, 6144u);

    params = params_for(kGiB);
    params.watermark_scale_factor = 100;  // 1 %
    marks = GuestMemory::derive_watermarks(params);
    EXPECT_EQ(marks.low_pages, 1024u + 2621u);
    EXPECT_EQ(marks.high_pages, 1024u + 2 * 2621u);

    params = params_for(kGiB);
    params.min_pages = 100;
    params.low_pages = 300;
    marks = GuestMemory::derive_watermarks(params);
    EXPECT_EQ(marks.min_pages, 100u);
    EXPECT_EQ(marks.low_pages, 300u);
    EXPECT_EQ(marks.high_pages, 300u + 262u);

    params.high_pages = 200;
    Guest guest(params);
    EXPECT_EQ(guest.memory.init_result(), GuestMemory::InitResult::kBadWatermarks);
}

// ---- configuration ---------------------------------------------------------------------

TEST(GuestMemory, RejectsBadConfigurationsAndThenDoesNothingHarmful) {
    std::vector<uint64_t> storage(GuestMemory::storage_words_for(262144));
    auto result_for = [&](const GuestMemoryParams& params, size_t words) {
        return GuestMemory(params, storage.data(), words).init_result();
    };
    using R = GuestMemory::InitResult;
    EXPECT_EQ(result_for(params_for(kGiB), storage.size()), R::kOk);
    EXPECT_EQ(result_for(params_for(kGiB, 8192), storage.size()), R::kBadPageSize);
    EXPECT_EQ(result_for(params_for(kGiB, 16384), storage.size()), R::kOk);
    EXPECT_EQ(result_for(params_for(0), storage.size()), R::kBadRange);
    EXPECT_EQ(result_for(params_for(kGiB + 512), storage.size()), R::kBadRange);
    EXPECT_EQ(result_for(params_for(kGiB, 4096, kRamBase + 0x800), storage.size()), R::kBadRange);
    EXPECT_EQ(result_for(params_for(kGiB, 65536, kRamBase + 0x1000), storage.size()), R::kBadRange);
    // Ending exactly at 2^64 is fine; one page higher wraps.
    EXPECT_EQ(result_for(params_for(kGiB, 4096, uint64_t{0} - kGiB), storage.size()), R::kOk);
    EXPECT_EQ(result_for(params_for(kGiB, 4096, uint64_t{0} - kGiB + 4096), storage.size()),
              R::kBadRange);
    EXPECT_EQ(result_for(params_for(kGiB), storage.size() - 1), R::kStorageTooSmall);
    EXPECT_EQ(GuestMemory(params_for(kGiB), nullptr, storage.size()).init_result(),
              R::kStorageTooSmall);

    GuestMemory invalid(params_for(kGiB), storage.data(), 1);
    EXPECT_FALSE(invalid.valid());
    EXPECT_EQ(invalid.total_pages(), 0u);
    EXPECT_EQ(invalid.free_pages(), 0u);
    uint64_t address = 0;
    EXPECT_FALSE(invalid.allocate(AllocationClass::kWorkload, address));
    EXPECT_EQ(invalid.allocate_many(AllocationClass::kBalloon, 10), 0u);
    EXPECT_FALSE(invalid.free_page(kRamBase));
    EXPECT_EQ(invalid.free_many(10), 0u);
    EXPECT_EQ(invalid.grow_cache(10), 0u);
    EXPECT_FALSE(invalid.mark_ballooned(kRamBase));
    EXPECT_EQ(invalid.counters().invalid_frees, 1u);
    EXPECT_EQ(invalid.counters().oom_events, 0u);
}

// ---- allocation classes -------------------------------------------------------------------

TEST(GuestMemory, BalloonStopsExactlyAtLowWhileTheWorkloadGoesOnToMinThenOoms) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    const uint64_t total = memory.total_pages();
    const Watermarks marks = memory.watermarks();

    std::vector<uint64_t> addresses(total);
    EXPECT_EQ(memory.allocate_many(AllocationClass::kBalloon, total, addresses.data()),
              total - marks.low_pages);
    EXPECT_EQ(memory.free_pages(), marks.low_pages);
    EXPECT_EQ(memory.balloon_class_pages(), total - marks.low_pages);
    EXPECT_EQ(memory.counters().balloon_alloc_failures, 1u);
    EXPECT_EQ(addresses[0], kRamBase);
    EXPECT_EQ(addresses[total - marks.low_pages - 1],
              kRamBase + (total - marks.low_pages - 1) * 4096);

    uint64_t address = 0;
    EXPECT_FALSE(memory.allocate(AllocationClass::kBalloon, address));
    EXPECT_EQ(memory.counters().balloon_alloc_failures, 2u);
    EXPECT_EQ(memory.free_pages(), marks.low_pages);
    EXPECT_EQ(memory.counters().oom_events, 0u);
    EXPECT_EQ(memory.counters().alloc_stalls, 0u);

    // The workload dips into the reserve: one stall per page, then one OOM for the call.
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, total),
              marks.low_pages - marks.min_pages);
    EXPECT_EQ(memory.free_pages(), marks.min_pages);
    EXPECT_EQ(memory.counters().alloc_stalls, marks.low_pages - marks.min_pages);
    EXPECT_EQ(memory.counters().oom_events, 1u);
    EXPECT_EQ(memory.counters().oom_kills, 1u);

    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(memory.allocate(AllocationClass::kWorkload, address));
    }
    EXPECT_EQ(memory.counters().oom_events, 4u);
    EXPECT_EQ(memory.counters().oom_kills, 4u);
    EXPECT_EQ(memory.stat(balloon::kStatOomKills), 4u);
    EXPECT_EQ(memory.stat(balloon::kStatAllocStalls), 262u);
    EXPECT_EQ(memory.free_pages(), marks.min_pages);
    EXPECT_EQ(memory.counters().balloon_alloc_failures, 2u);  // the workload never adds here
}

TEST(GuestMemory, AllocStallsCountOnlyAllocationsBelowLow) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    const Watermarks marks = memory.watermarks();
    const uint64_t above_low = memory.total_pages() - marks.low_pages;

    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, above_low), above_low);
    EXPECT_EQ(memory.free_pages(), marks.low_pages);
    EXPECT_EQ(memory.counters().alloc_stalls, 0u);
    EXPECT_EQ(memory.counters().kswapd_wakeups, 0u);

    uint64_t address = 0;
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, address));
    }
    EXPECT_EQ(memory.counters().alloc_stalls, 10u);
    EXPECT_EQ(memory.counters().kswapd_wakeups, 10u);
    EXPECT_EQ(memory.free_pages(), marks.low_pages - 10);
    EXPECT_EQ(memory.counters().oom_events, 0u);

    // Back above LOW: no more stalls.
    EXPECT_EQ(memory.free_many(100), 100u);
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, address));
    EXPECT_EQ(memory.counters().alloc_stalls, 10u);
    EXPECT_EQ(memory.counters().minor_faults, above_low + 11);
}

TEST(GuestMemory, FreedPagesAreReusedLowestFirst) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, a));
    ASSERT_TRUE(memory.allocate(AllocationClass::kBalloon, b));
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, c));
    EXPECT_EQ(a, kRamBase);
    EXPECT_EQ(b, kRamBase + 4096);
    EXPECT_EQ(c, kRamBase + 8192);
    EXPECT_EQ(memory.allocated_pages(), 3u);
    EXPECT_EQ(memory.workload_pages(), 2u);
    EXPECT_EQ(memory.balloon_class_pages(), 1u);
    EXPECT_TRUE(memory.is_workload_page(a));
    EXPECT_FALSE(memory.is_workload_page(b));

    EXPECT_TRUE(memory.free_page(b));
    EXPECT_FALSE(memory.is_allocated(b));
    EXPECT_EQ(memory.free_pages(), memory.total_pages() - 2);
    uint64_t again = 0;
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, again));
    EXPECT_EQ(again, b);
    EXPECT_TRUE(memory.is_workload_page(b));
    EXPECT_EQ(memory.workload_pages(), 3u);
    EXPECT_EQ(memory.balloon_class_pages(), 0u);
    EXPECT_EQ(memory.counters().invalid_frees, 0u);
}

TEST(GuestMemory, DoubleFreesAndStrayAddressesAreCountedAndIgnored) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    uint64_t page = 0;
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, page));
    ASSERT_TRUE(memory.free_page(page));
    EXPECT_FALSE(memory.free_page(page));
    EXPECT_EQ(memory.counters().invalid_frees, 1u);

    EXPECT_FALSE(memory.free_page(kRamBase - 4096));         // below RAM
    EXPECT_FALSE(memory.free_page(kRamBase + kGiB));         // past the end
    EXPECT_FALSE(memory.free_page(kRamBase + 100));          // unaligned
    EXPECT_FALSE(memory.free_page(kRamBase + kGiB - 4096));  // never allocated
    EXPECT_EQ(memory.counters().invalid_frees, 5u);
    EXPECT_EQ(memory.free_pages(), memory.total_pages());
    EXPECT_EQ(memory.allocated_pages(), 0u);
    EXPECT_EQ(memory.workload_pages(), 0u);

    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, page));
    EXPECT_EQ(page, kRamBase);
}

TEST(GuestMemory, SixtyFourKiBPagesAreAlignedAndSpanSixteenPfns) {
    auto guest = make_guest(params_for(kGiB, 65536, 0x8000'0000));
    GuestMemory& memory = guest->memory;
    EXPECT_EQ(memory.page_size(), 65536u);
    EXPECT_EQ(memory.pfns_per_page(), 16u);

    std::vector<uint64_t> addresses(5);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 5, addresses.data()), 5u);
    for (size_t i = 0; i < addresses.size(); ++i) {
        EXPECT_EQ(addresses[i] % 65536, 0u);
        EXPECT_EQ(addresses[i], 0x8000'0000u + i * 65536);
        EXPECT_EQ(GuestMemory::pfn_of(addresses[i]), addresses[i] >> 12);
    }
    EXPECT_EQ(GuestMemory::pfn_of(addresses[0]), 0x80000u);
    EXPECT_EQ(GuestMemory::pfn_of(addresses[1]), 0x80010u);
    EXPECT_FALSE(memory.free_page(addresses[1] + 4096));  // a 4 KiB frame inside a page
    EXPECT_TRUE(memory.free_page(addresses[1]));
    EXPECT_EQ(memory.stat(balloon::kStatMemFree), (16384u - 4) * 65536);
}

// ---- balloon accounting ------------------------------------------------------------------

std::vector<uint64_t> inflate(GuestMemory& memory, uint64_t pages) {
    std::vector<uint64_t> addresses(pages);
    EXPECT_EQ(memory.allocate_many(AllocationClass::kBalloon, pages, addresses.data()), pages);
    for (uint64_t address : addresses) {
        EXPECT_TRUE(memory.mark_ballooned(address));
    }
    return addresses;
}

TEST(GuestMemory, WithoutDeflateOnOomBallooningLowersMemTotal) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    EXPECT_EQ(memory.stat(balloon::kStatMemTotal), kGiB);
    std::vector<uint64_t> ballooned = inflate(memory, 1000);

    EXPECT_EQ(memory.ballooned_pages(), 1000u);
    EXPECT_EQ(memory.managed_pages(), 262144u - 1000);
    EXPECT_EQ(memory.stat(balloon::kStatMemTotal), (262144u - 1000) * 4096);
    EXPECT_EQ(memory.stat(balloon::kStatMemFree), (262144u - 1000) * 4096);
    EXPECT_EQ(memory.watermarks().low_pages, 1286u);  // never recomputed

    for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(memory.unmark_ballooned(ballooned.back()));
        ASSERT_TRUE(memory.free_page(ballooned.back()));
        ballooned.pop_back();
    }
    EXPECT_EQ(memory.stat(balloon::kStatMemTotal), (262144u - 800) * 4096);
    EXPECT_EQ(memory.stat(balloon::kStatMemFree), (262144u - 800) * 4096);
    EXPECT_EQ(memory.counters().balloon_accounting_errors, 0u);
}

TEST(GuestMemory, WithDeflateOnOomBallooningKeepsMemTotalAndCountsPagesAsUsed) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    memory.set_deflate_on_oom_accounting(true);
    inflate(memory, 1000);

    EXPECT_EQ(memory.managed_pages(), 262144u);
    EXPECT_EQ(memory.stat(balloon::kStatMemTotal), kGiB);
    EXPECT_EQ(memory.stat(balloon::kStatMemFree), (262144u - 1000) * 4096);
    // The same guest without the feature.
    memory.set_deflate_on_oom_accounting(false);
    EXPECT_EQ(memory.stat(balloon::kStatMemTotal), kGiB - 1000 * 4096);
}

TEST(GuestMemory, BalloonAccountingMistakesAreCountedAndRefused) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    uint64_t workload = 0;
    uint64_t held = 0;
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, workload));
    ASSERT_TRUE(memory.allocate(AllocationClass::kBalloon, held));

    EXPECT_FALSE(memory.mark_ballooned(workload));            // not the balloon's page
    EXPECT_FALSE(memory.mark_ballooned(kRamBase + 0x10000));  // a free page
    EXPECT_FALSE(memory.unmark_ballooned(held));              // nothing ballooned yet
    EXPECT_EQ(memory.counters().balloon_accounting_errors, 3u);
    EXPECT_TRUE(memory.mark_ballooned(held));
    EXPECT_FALSE(memory.mark_ballooned(held));  // more ballooned than held
    EXPECT_EQ(memory.counters().balloon_accounting_errors, 4u);
    EXPECT_EQ(memory.ballooned_pages(), 1u);

    // Freeing a ballooned page without unmarking it: freed, reported, counts consistent.
    EXPECT_TRUE(memory.free_page(held));
    EXPECT_EQ(memory.counters().balloon_accounting_errors, 5u);
    EXPECT_EQ(memory.ballooned_pages(), 0u);
    EXPECT_EQ(memory.managed_pages(), memory.total_pages());
}

TEST(GuestMemory, OomNotifierThatDeflatesRescuesTheWorkload) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    memory.set_deflate_on_oom_accounting(true);
    const Watermarks marks = memory.watermarks();
    std::vector<uint64_t> ballooned = inflate(memory, memory.total_pages() - marks.low_pages);
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, 1000),
              marks.low_pages - marks.min_pages);
    EXPECT_EQ(memory.counters().oom_kills, 1u);

    // Like virtio_balloon's notifier: give back a batch of ballooned pages.
    struct Deflater {
        GuestMemory* memory;
        std::vector<uint64_t>* pages;
        uint64_t batch;
        int calls;
    } deflater{&memory, &ballooned, 16, 0};
    memory.set_oom_notifier(
        [](void* context) {
            auto& self = *static_cast<Deflater*>(context);
            ++self.calls;
            for (uint64_t i = 0; i < self.batch && !self.pages->empty(); ++i) {
                self.memory->unmark_ballooned(self.pages->back());
                self.memory->free_page(self.pages->back());
                self.pages->pop_back();
            }
            return uint64_t{0};  // synchronous: nothing left in flight
        },
        &deflater);

    uint64_t address = 0;
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, address));
    EXPECT_EQ(deflater.calls, 1);
    EXPECT_EQ(memory.counters().oom_events, 2u);
    EXPECT_EQ(memory.counters().oom_kills, 1u);  // no kill this time
    EXPECT_EQ(memory.free_pages(), marks.min_pages + 15);
    EXPECT_EQ(memory.ballooned_pages(), memory.total_pages() - marks.low_pages - 16);
    EXPECT_EQ(memory.counters().alloc_stalls, marks.low_pages - marks.min_pages + 1);

    // A notifier that frees nothing: the reserve goes, then the allocation fails.
    deflater.batch = 0;
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, 100), 15u);
    EXPECT_EQ(deflater.calls, 2);
    EXPECT_EQ(memory.counters().oom_events, 3u);
    EXPECT_EQ(memory.counters().oom_kills, 2u);
    EXPECT_EQ(memory.counters().oom_deferred, 0u);
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kOomKill);
    EXPECT_FALSE(memory.oom_rescue_pending());
    memory.set_oom_notifier(nullptr, nullptr);
}

TEST(GuestMemory, LastAllocationFailureSaysWhyTheLatestCallCameBackShort) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    const Watermarks marks = memory.watermarks();
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kNone);
    inflate(memory, memory.total_pages() - marks.low_pages);
    uint64_t address = 0;
    EXPECT_FALSE(memory.allocate(AllocationClass::kBalloon, address));
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kRefused);
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, address));  // into the reserve
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kNone);
    memory.allocate_many(AllocationClass::kWorkload, marks.low_pages);
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kOomKill);
    EXPECT_TRUE(memory.free_page(address));
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, address));
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kNone);

    std::vector<uint64_t> storage(4);
    GuestMemory invalid(params_for(kGiB, 1000), storage.data(), storage.size());
    EXPECT_EQ(invalid.allocate_many(AllocationClass::kWorkload, 5), 0u);
    EXPECT_EQ(invalid.last_allocation_failure(), AllocationFailure::kRefused);
}

// A DEFLATE_ON_OOM driver that must wait for the host: it promises pages now and frees them
// once the (simulated) ack arrives.
struct AsyncDeflater {
    GuestMemory* memory;
    std::vector<uint64_t>* ballooned;
    uint64_t batch = 256;
    uint64_t sync_batch = 0;  // pages freed at once by the next call, as well
    uint64_t in_flight = 0;
    int calls = 0;
    static uint64_t notify(void* context) {
        auto& self = *static_cast<AsyncDeflater*>(context);
        ++self.calls;
        self.release(self.sync_batch);
        self.sync_batch = 0;
        if (self.in_flight == 0) {
            self.in_flight =
                self.batch < self.ballooned->size() ? self.batch : self.ballooned->size();
        }
        return self.in_flight;
    }
    void release(uint64_t count) {
        for (uint64_t i = 0; i < count && !ballooned->empty(); ++i) {
            memory->unmark_ballooned(ballooned->back());
            memory->free_page(ballooned->back());
            ballooned->pop_back();
        }
    }
    void host_acked() {
        release(in_flight);
        in_flight = 0;
    }
};

TEST(GuestMemory, OomNotifierThatPromisesPagesDefersTheFailureInsteadOfKilling) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    memory.set_deflate_on_oom_accounting(true);
    const Watermarks marks = memory.watermarks();
    std::vector<uint64_t> ballooned = inflate(memory, memory.total_pages() - marks.low_pages);
    AsyncDeflater deflater{&memory, &ballooned};
    memory.set_oom_notifier(&AsyncDeflater::notify, &deflater);

    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, 1000),
              marks.low_pages - marks.min_pages);
    EXPECT_EQ(deflater.calls, 1);
    EXPECT_EQ(memory.counters().oom_events, 1u);
    EXPECT_EQ(memory.counters().oom_deferred, 1u);
    EXPECT_EQ(memory.counters().oom_kills, 0u);
    EXPECT_EQ(memory.stat(balloon::kStatOomKills), 0u);
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kOomDeferred);
    EXPECT_TRUE(memory.oom_rescue_pending());

    // Still waiting for the host: the release in flight counts again, no kill.
    uint64_t address = 0;
    EXPECT_FALSE(memory.allocate(AllocationClass::kWorkload, address));
    EXPECT_EQ(memory.counters().oom_deferred, 2u);
    EXPECT_EQ(memory.counters().oom_kills, 0u);

    // The ack arrives: 256 pages are back and the retry succeeds without the OOM path.
    deflater.host_acked();
    EXPECT_EQ(memory.free_pages(), marks.min_pages + 256);
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, 256), 256u);
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kNone);
    EXPECT_FALSE(memory.oom_rescue_pending());
    EXPECT_EQ(memory.counters().oom_events, 2u);

    // A notifier that frees some pages at once and promises more: the synchronous pages are
    // used first (retry while free rose), then the failure is deferred.
    deflater.sync_batch = 8;
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, 100), 8u);
    EXPECT_EQ(deflater.calls, 4);
    EXPECT_EQ(memory.counters().oom_events, 4u);
    EXPECT_EQ(memory.counters().oom_deferred, 3u);
    EXPECT_TRUE(memory.oom_rescue_pending());

    // Balloon empty: nothing to promise, so it is a kill.
    ballooned.clear();
    deflater.in_flight = 0;
    deflater.sync_batch = 0;
    EXPECT_FALSE(memory.allocate(AllocationClass::kWorkload, address));
    EXPECT_EQ(memory.counters().oom_kills, 1u);
    EXPECT_EQ(memory.counters().oom_deferred, 3u);
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kOomKill);
    memory.set_oom_notifier(nullptr, nullptr);
}

// ---- page cache -------------------------------------------------------------------------

TEST(GuestMemory, MemAvailableFollowsTheLinuxFormula) {
    auto guest = make_guest(params_for(kGiB));  // MIN 1024, LOW 1286, HIGH 1548
    GuestMemory& memory = guest->memory;
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 100000), 100000u);
    ASSERT_EQ(memory.grow_cache(50000), 50000u);
    EXPECT_EQ(memory.free_pages(), 112144u);
    EXPECT_EQ(memory.cache_pages(), 50000u);
    EXPECT_EQ(memory.anon_pages(), 100000u);
    // 112144 free - 1548 reserve + 50000 file - min(25000, 1286 LOW)
    EXPECT_EQ(memory.available_pages(), 159310u);
    EXPECT_EQ(memory.stat(balloon::kStatAvailable), 159310u * 4096);
    EXPECT_EQ(memory.stat(balloon::kStatCaches), 50000u * 4096);

    // A small cache: half of it stays out of reach.
    EXPECT_EQ(memory.set_cache_pages(2000), 2000u);
    EXPECT_EQ(memory.free_pages(), 160144u);
    EXPECT_EQ(memory.available_pages(), 160144u - 1548 + 2000 - 1000);

    // Free below the reserve and no cache: clamped at 0.
    auto tight = make_guest(params_for(kGiB));
    ASSERT_EQ(tight->memory.allocate_many(AllocationClass::kWorkload, 262144 - 1300),
              262144u - 1300);
    EXPECT_EQ(tight->memory.free_pages(), 1300u);
    EXPECT_EQ(tight->memory.available_pages(), 0u);
    EXPECT_EQ(tight->memory.stat(balloon::kStatAvailable), 0u);
}

TEST(GuestMemory, CacheGrowsOnlyDownToLowAndFreeManyLeavesIt) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 100), 100u);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 50), 50u);
    EXPECT_EQ(memory.grow_cache(1'000'000), 262144u - 150 - 1286);
    EXPECT_EQ(memory.free_pages(), 1286u);

    EXPECT_EQ(memory.free_many(1000), 100u);  // anonymous pages only
    EXPECT_EQ(memory.anon_pages(), 0u);
    EXPECT_EQ(memory.cache_pages(), 262144u - 150 - 1286);
    EXPECT_EQ(memory.balloon_class_pages(), 50u);
    EXPECT_EQ(memory.shrink_cache(1'000'000), 262144u - 150 - 1286);
    EXPECT_EQ(memory.allocated_pages(), 50u);

    // With no anonymous page left, a workload page freed by address was a cache page.
    ASSERT_EQ(memory.grow_cache(3), 3u);
    ASSERT_TRUE(memory.is_workload_page(memory.page_address(0)));
    EXPECT_TRUE(memory.free_page(memory.page_address(0)));
    EXPECT_EQ(memory.cache_pages(), 2u);
    EXPECT_EQ(memory.anon_pages(), 0u);
}

TEST(GuestMemory, GrowCacheReportsTheNewPagesAddresses) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 2), 2u);
    std::vector<uint64_t> addresses(100, 0);
    ASSERT_EQ(memory.grow_cache(100, addresses.data()), 100u);
    for (uint64_t i = 0; i < 100; ++i) {
        EXPECT_EQ(addresses[i], memory.page_address(i + 2));
        EXPECT_TRUE(memory.is_workload_page(addresses[i]));
    }
    // Stopped at LOW: only the pages taken are written.
    const uint64_t room = memory.free_pages() - memory.watermarks().low_pages;
    std::vector<uint64_t> rest(room + 10, 0);
    EXPECT_EQ(memory.grow_cache(room + 10, rest.data()), room);
    EXPECT_EQ(rest[room - 1], memory.page_address(room + 101));
    EXPECT_EQ(rest[room], 0u);
}

// The pages of chunk entries, expanded in entry order, bits ascending.
std::vector<uint64_t> pages_of(const GuestMemory& memory, const std::vector<PageWord>& chunks,
                               size_t count) {
    std::vector<uint64_t> addresses;
    for (size_t i = 0; i < count; ++i) {
        for (unsigned bit = 0; bit < 64; ++bit) {
            if ((chunks[i].mask >> bit & 1) != 0) {
                addresses.push_back(memory.page_address(chunks[i].word * 64 + bit));
            }
        }
    }
    return addresses;
}

// Two guests with the same holes (pages freed after a first allocation).
struct TwinGuests {
    TwinGuests() {
        for (GuestMemory* memory : {&by_address->memory, &by_chunk->memory}) {
            EXPECT_EQ(memory->allocate_many(AllocationClass::kWorkload, 300), 300u);
            for (const uint64_t page : {3, 5, 6, 70, 131}) {
                EXPECT_TRUE(memory->free_page(memory->page_address(page)));
            }
        }
    }
    std::unique_ptr<Guest> by_address = make_guest(params_for(kGiB));
    std::unique_ptr<Guest> by_chunk = make_guest(params_for(kGiB));
};

// allocate_chunks() reports what allocate_many() would, take by take: expanded in order, the
// same pages in the same order, holes and all. Below LOW pages come one per take; a word then
// appears once per take, not merged, so the order stays the allocator's.
TEST(GuestMemory, AllocateChunksGivesAllocateManysPagesInItsOrder) {
    TwinGuests twins;
    GuestMemory& memory = twins.by_chunk->memory;
    const uint64_t count = memory.free_pages() - memory.watermarks().low_pages + 40;
    std::vector<uint64_t> addresses(count);
    ASSERT_EQ(
        twins.by_address->memory.allocate_many(AllocationClass::kWorkload, count, addresses.data()),
        count);
    std::vector<PageWord> chunks(count);
    size_t chunk_count = 0;
    ASSERT_EQ(memory.allocate_chunks(AllocationClass::kWorkload, count, chunks.data(), chunk_count),
              count);
    EXPECT_EQ(pages_of(memory, chunks, chunk_count), addresses);
    EXPECT_LT(chunk_count, count / 32);  // whole words above LOW
    bool word_repeated = false;
    for (size_t i = 1; i < chunk_count; ++i) {
        word_repeated = word_repeated || chunks[i].word == chunks[i - 1].word;
    }
    EXPECT_TRUE(word_repeated);
    EXPECT_EQ(memory.counters().alloc_stalls, 40u);
}

TEST(GuestMemory, GrowCacheChunksGivesGrowCachesPagesInItsOrder) {
    TwinGuests twins;
    GuestMemory& memory = twins.by_chunk->memory;
    const uint64_t room = memory.free_pages() - memory.watermarks().low_pages;
    std::vector<uint64_t> addresses(room + 10);
    ASSERT_EQ(twins.by_address->memory.grow_cache(room + 10, addresses.data()), room);
    addresses.resize(room);
    std::vector<PageWord> chunks(room + 10);
    size_t chunk_count = 0;
    ASSERT_EQ(memory.grow_cache_chunks(room + 10, chunks.data(), chunk_count), room);
    EXPECT_EQ(pages_of(memory, chunks, chunk_count), addresses);
    EXPECT_EQ(memory.cache_pages(), room);
}

TEST(GuestMemory, FreeManyNeverTouchesBalloonPagesInBetween) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    std::vector<uint64_t> workload_a(10);
    std::vector<uint64_t> held(10);
    std::vector<uint64_t> workload_b(10);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 10, workload_a.data()), 10u);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 10, held.data()), 10u);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 10, workload_b.data()), 10u);

    EXPECT_EQ(memory.free_many(15), 15u);
    for (uint64_t address : held) {
        EXPECT_TRUE(memory.is_allocated(address));
    }
    EXPECT_EQ(memory.workload_pages(), 5u);
    EXPECT_EQ(memory.allocated_pages(), 15u);
    EXPECT_EQ(memory.free_many(15), 5u);
    EXPECT_EQ(memory.allocated_pages(), 10u);
    EXPECT_EQ(memory.counters().invalid_frees, 0u);
}

TEST(GuestMemory, KswapdReclaimsCacheSoTheBalloonCanInflate) {
    auto guest = make_guest(params_for(kGiB));  // LOW 1286, HIGH 1548: kswapd frees 262 a wake
    GuestMemory& memory = guest->memory;
    const uint64_t cache = memory.grow_cache(memory.total_pages());
    ASSERT_EQ(cache, 262144u - 1286);

    EXPECT_EQ(memory.allocate_many(AllocationClass::kBalloon, 10000), 10000u);
    EXPECT_EQ(memory.counters().balloon_alloc_failures, 0u);
    EXPECT_EQ(memory.counters().kswapd_wakeups, 39u);  // ceil(10000 / 262)
    EXPECT_EQ(memory.counters().async_reclaim_pages, 39u * 262);
    EXPECT_EQ(memory.cache_pages(), cache - 39 * 262);
    EXPECT_EQ(memory.free_pages(), 1286u + 39 * 262 - 10000);
    EXPECT_EQ(memory.stat(balloon::kStatAsyncReclaims), 39u * 262 * 4096);
    EXPECT_EQ(memory.stat(balloon::kStatAsyncScans), 39u * 262 * 4096);
    EXPECT_EQ(memory.counters().alloc_stalls, 0u);

    // With kswapd's reclaim off the cache is pinned and the balloon stops at LOW.
    GuestMemoryParams params = params_for(kGiB);
    params.kswapd_reclaims_cache = false;
    auto pinned = make_guest(params);
    pinned->memory.grow_cache(262144);
    EXPECT_EQ(pinned->memory.allocate_many(AllocationClass::kBalloon, 10), 0u);
    EXPECT_EQ(pinned->memory.counters().balloon_alloc_failures, 1u);
    EXPECT_EQ(pinned->memory.counters().kswapd_wakeups, 1u);
}

// ---- stats -----------------------------------------------------------------------------

TEST(GuestMemory, FillStatsReportsTagsInOrderWithByteValues) {
    auto guest = make_guest(params_for(kGiB));
    GuestMemory& memory = guest->memory;
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 1000), 1000u);
    memory.record_faults(7, 5);
    memory.record_swap(3, 4);

    std::vector<StatEntry> legacy(6);
    ASSERT_EQ(memory.fill_stats(legacy.data(), legacy.size()), 6u);
    EXPECT_EQ(legacy[0].tag, balloon::kStatSwapIn);
    EXPECT_EQ(legacy[0].value, 3u * 4096);
    EXPECT_EQ(legacy[1].value, 4u * 4096);
    EXPECT_EQ(legacy[2].value, 7u);
    EXPECT_EQ(legacy[3].value, 1005u);
    EXPECT_EQ(legacy[4].tag, balloon::kStatMemFree);
    EXPECT_EQ(legacy[4].value, (262144u - 1000) * 4096);
    EXPECT_EQ(legacy[5].tag, balloon::kStatMemTotal);
    EXPECT_EQ(legacy[5].value, kGiB);

    // Linux 6.12+: the event counters, then hugetlb, then the memory sizes.
    std::vector<StatEntry> all(32);
    ASSERT_EQ(memory.fill_stats(all.data(), all.size()), 16u);
    const uint16_t linux_order[] = {0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 8, 9, 4, 5, 6, 7};
    for (size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(all[i].tag, linux_order[i]) << i;
        EXPECT_EQ(all[i].value, memory.stat(static_cast<balloon::StatTag>(all[i].tag)));
    }
    EXPECT_EQ(all[10].value, 0u);  // HTLB_PGALLOC: no hugetlbfs in the model
    EXPECT_EQ(all[11].value, 0u);
    // Linux 4.x-6.1 (ten tags): hugetlb between the faults and the memory sizes.
    std::vector<StatEntry> ten(10);
    ASSERT_EQ(memory.fill_stats(ten.data(), ten.size()), 10u);
    const uint16_t linux_6_1_order[] = {0, 1, 2, 3, 8, 9, 4, 5, 6, 7};
    for (size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(ten[i].tag, linux_6_1_order[i]) << i;
    }
    EXPECT_EQ(memory.fill_stats(nullptr, 6), 0u);
    EXPECT_EQ(memory.stat(balloon::kStatTagCount), 0u);
}

// ---- scale ---------------------------------------------------------------------------------

TEST(GuestMemory, FourGiBAllocateAllFreeAllAllocateAll) {
    auto guest = make_guest(params_for(4 * kGiB));
    GuestMemory& memory = guest->memory;
    const uint64_t total = memory.total_pages();
    const uint64_t usable = total - memory.watermarks().min_pages;

    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, total), usable);
    EXPECT_EQ(memory.allocated_pages(), usable);
    EXPECT_TRUE(memory.is_allocated(memory.page_address(usable - 1)));
    EXPECT_FALSE(memory.is_allocated(memory.page_address(usable)));
    EXPECT_EQ(memory.free_many(total), usable);
    EXPECT_EQ(memory.free_pages(), total);

    // One by one: lowest address first, so each page follows the previous one.
    uint64_t address = 0;
    uint64_t count = 0;
    while (memory.allocate(AllocationClass::kWorkload, address)) {
        if (address != memory.page_address(count)) {
            FAIL() << "page " << count << " at " << address;
        }
        ++count;
    }
    EXPECT_EQ(count, usable);
    EXPECT_EQ(memory.counters().oom_kills, 2u);
    for (uint64_t i = usable; i-- > 0;) {
        if (!memory.free_page(memory.page_address(i))) {
            FAIL() << "free of page " << i;
        }
    }
    EXPECT_EQ(memory.allocated_pages(), 0u);
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, total), usable);
    EXPECT_EQ(memory.workload_pages(), usable);
    EXPECT_EQ(memory.free_pages(), memory.watermarks().min_pages);
    EXPECT_EQ(memory.counters().invalid_frees, 0u);
}

TEST(GuestMemory, OneTiBGuestStorageMath) {
    const uint64_t pages = uint64_t{1} << 28;
    // Per bitmap 2^22 + 2^16 + 2^10 + 16 + 1 words, two bitmaps.
    const size_t words = GuestMemory::storage_words_for(pages);
    EXPECT_EQ(words, 2u * (4194304 + 65536 + 1024 + 16 + 1));
    std::vector<uint64_t> storage(words);
    const GuestMemoryParams params = params_for(kTiB, 4096, 0x1'0000'0000);
    EXPECT_EQ(GuestMemory(params, storage.data(), words - 1).init_result(),
              GuestMemory::InitResult::kStorageTooSmall);

    GuestMemory memory(params, storage.data(), words);
    ASSERT_TRUE(memory.valid());
    EXPECT_EQ(memory.total_pages(), pages);
    EXPECT_EQ(memory.min_free_kbytes(), 131072u);
    EXPECT_EQ(memory.watermarks().min_pages, 32768u);
    EXPECT_EQ(memory.watermarks().low_pages, 32768u + 268435u);

    std::vector<uint64_t> held(3);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 3, held.data()), 3u);
    EXPECT_EQ(held[2], 0x1'0000'0000u + 2 * 4096);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 1000), 1000u);
    EXPECT_TRUE(memory.free_page(held[1]));
    EXPECT_EQ(memory.free_many(10), 10u);
    EXPECT_EQ(memory.allocated_pages(), 992u);

    const uint64_t last = memory.page_address(pages - 1);
    uint64_t index = 0;
    ASSERT_TRUE(memory.page_index_of(last, index));
    EXPECT_EQ(index, pages - 1);
    EXPECT_EQ(GuestMemory::pfn_of(last), (0x1'0000'0000u + kTiB) / 4096 - 1);
    EXPECT_FALSE(memory.page_index_of(last + 4096, index));
    EXPECT_FALSE(memory.free_page(last));
    EXPECT_EQ(memory.counters().invalid_frees, 1u);
    EXPECT_EQ(memory.stat(balloon::kStatMemTotal), kTiB);
}

// ---- free blocks: page reporting and free page hinting -------------------------------

// 64 MiB of 4 KiB pages: 32 blocks of order 9 (2 MiB), 16 of order 10 (4 MiB). LOW is 320
// pages, MIN 256.
struct ReportingGuest {
    ReportingGuest() : guest(make_guest(params_for(64 * kMiB))) {
        storage.assign(GuestMemory::reporting_storage_words_for(16384, 9), 0);
        enabled = guest->memory.enable_page_reporting(9, storage.data(), storage.size(),
                                                      &ReportingGuest::notified, this);
    }
    static void notified(void* context) { ++static_cast<ReportingGuest*>(context)->requests; }
    std::unique_ptr<Guest> guest;
    std::vector<uint64_t> storage;
    bool enabled = false;
    int requests = 0;
};

TEST(GuestMemoryBlocks, ReportedBlocksAreFreeUntilAnAllocationTakesThemBack) {
    ReportingGuest g;
    GuestMemory& memory = g.guest->memory;
    ASSERT_TRUE(g.enabled);
    EXPECT_EQ(memory.block_count(9), 32u);
    EXPECT_EQ(memory.free_block_count(9), 32u);
    ASSERT_TRUE(memory.take_free_block(9, 3, BlockUse::kReporting));
    EXPECT_EQ(memory.isolated_pages(), 512u);
    EXPECT_EQ(memory.free_pages(), 16384u - 512);
    EXPECT_EQ(memory.balloon_class_pages(), 0u);
    EXPECT_FALSE(memory.is_free_block(9, 3));
    memory.give_back_block(9, 3, BlockUse::kReporting, true);
    EXPECT_TRUE(memory.is_reported(3));
    EXPECT_EQ(memory.reported_pages(), 512u);
    EXPECT_EQ(memory.free_pages(), 16384u);
    uint64_t found = 0;
    ASSERT_TRUE(memory.find_free_block(9, 3, true, found));
    EXPECT_EQ(found, 4u);  // block 3 is skipped: already reported
    ASSERT_TRUE(memory.find_free_block(9, 3, false, found));
    EXPECT_EQ(found, 3u);
    // Allocations take the lowest pages: fill blocks 0..2, then one page of block 3.
    EXPECT_EQ(memory.allocate_many(AllocationClass::kWorkload, 3 * 512), 3u * 512);
    EXPECT_TRUE(memory.is_reported(3));
    uint64_t page = 0;
    ASSERT_TRUE(memory.allocate(AllocationClass::kWorkload, page));
    EXPECT_EQ(page, kRamBase + 3 * 2 * kMiB);
    EXPECT_FALSE(memory.is_reported(3));
    EXPECT_EQ(memory.reported_pages(), 0u);
    EXPECT_EQ(memory.counters().reported_blocks_reused, 1u);
    EXPECT_EQ(memory.counters().reported_pages_reused, 512u);
    // Freeing it again completes block 3: one request for a reporting pass.
    EXPECT_EQ(g.requests, 0);
    ASSERT_TRUE(memory.free_page(page));
    EXPECT_EQ(g.requests, 1);
    // A free that leaves its block partly used asks for nothing.
    EXPECT_EQ(memory.free_many(1), 1u);
    EXPECT_EQ(g.requests, 1);
}

TEST(GuestMemoryBlocks, IsolationForReportingStopsAboveMinPlusABlock) {
    ReportingGuest g;
    GuestMemory& memory = g.guest->memory;
    ASSERT_EQ(memory.watermarks().min_pages, 256u);
    // Leave MIN + two blocks free (blocks 30 and 31): the first may go (free 1280 > MIN + a
    // block), the second not (768 is not above 768).
    const uint64_t keep = 256 + 512 + 512;
    ASSERT_EQ(memory.allocate_many(AllocationClass::kWorkload, 16384 - keep), 16384 - keep);
    uint64_t block = 0;
    ASSERT_TRUE(memory.find_free_block(9, 0, true, block));
    EXPECT_TRUE(memory.take_free_block(9, block, BlockUse::kReporting));
    ASSERT_TRUE(memory.find_free_block(9, block + 1, true, block));
    EXPECT_FALSE(memory.take_free_block(9, block, BlockUse::kReporting));
    EXPECT_EQ(memory.isolated_pages(), 512u);
}

TEST(GuestMemoryBlocks, HintBlocksNeverGoBelowLowAndTakeReportedBlocksBack) {
    ReportingGuest g;
    GuestMemory& memory = g.guest->memory;
    ASSERT_EQ(memory.watermarks().low_pages, 320u);
    ASSERT_TRUE(memory.take_free_block(9, 1, BlockUse::kReporting));
    memory.give_back_block(9, 1, BlockUse::kReporting, true);
    ASSERT_EQ(memory.reported_pages(), 512u);
    // The 4 MiB block 0 holds reported 2 MiB block 1: hinting takes it back.
    ASSERT_TRUE(memory.take_free_block(10, 0, BlockUse::kHint));
    EXPECT_EQ(memory.reported_pages(), 0u);
    EXPECT_EQ(memory.hinted_pages(), 1024u);
    EXPECT_EQ(memory.balloon_class_pages(), 0u);
    uint64_t taken = 1;
    for (uint64_t block = 1; block < 16; ++block) {
        taken += memory.take_free_block(10, block, BlockUse::kHint) ? 1 : 0;
    }
    // 15 blocks leave 1024 free pages; a 16th would leave 0 < LOW.
    EXPECT_EQ(taken, 15u);
    EXPECT_EQ(memory.free_pages(), 1024u);
    EXPECT_FALSE(memory.take_free_block(10, 15, BlockUse::kHint));
    memory.give_back_block(10, 0, BlockUse::kHint, false);
    EXPECT_EQ(memory.hinted_pages(), 14u * 1024);
    EXPECT_EQ(memory.free_pages(), 2048u);
}

TEST(GuestMemoryBlocks, RejectsBadOrdersAndTooLittleStorage) {
    auto guest = make_guest(params_for(64 * kMiB));
    std::vector<uint64_t> storage(GuestMemory::reporting_storage_words_for(16384, 9));
    EXPECT_FALSE(
        guest->memory.enable_page_reporting(5, storage.data(), storage.size(), nullptr, nullptr));
    EXPECT_FALSE(guest->memory.enable_page_reporting(9, storage.data(), 0, nullptr, nullptr));
    EXPECT_FALSE(guest->memory.page_reporting_enabled());
    EXPECT_EQ(guest->memory.block_count(5), 0u);
    EXPECT_FALSE(guest->memory.is_free_block(9, 32));
    EXPECT_FALSE(guest->memory.take_free_block(9, 32, BlockUse::kHint));
}

}  // namespace
}  // namespace vbsim::sw::guest

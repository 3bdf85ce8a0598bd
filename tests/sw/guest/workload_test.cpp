#include "sw/guest/workload.h"

#include "sw/guest/oom_killer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace vbsim::sw::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kRamBase = 0x8000'0000;
constexpr uint64_t kPages = 4096;  // 16 MiB guest
constexpr uint64_t kMin = 64;
constexpr uint64_t kLow = 96;
constexpr uint64_t kHigh = 128;

// Bytes per second for `pages_per_ms` 4 KiB pages each millisecond.
constexpr uint64_t pages_per_ms(uint64_t pages) {
    return pages * kPage * 1000;
}

class FakeHal final : public hal::Hal {
  public:
    uint32_t mmio_read32(uint64_t) override { return 0; }
    void mmio_write32(uint64_t, uint32_t) override {}
    uint8_t mmio_read8(uint64_t) override { return 0; }
    void mmio_write8(uint64_t, uint8_t) override {}
    void ram_read(uint64_t, void*, size_t) override {}
    void ram_write(uint64_t, const void*, size_t) override {}
    void touch_memory(uint64_t address, uint64_t length) override {
        touches.emplace_back(address, length);
    }
    void memory_barrier() override {}
    uint64_t now_ns() override { return now; }
    void arm_timer(uint64_t) override {}
    void cancel_timer() override {}
    void cpu_cost(uint64_t nanoseconds) override { costs.push_back(nanoseconds); }

    uint64_t now = 0;
    std::vector<std::pair<uint64_t, uint64_t>> touches;
    std::vector<uint64_t> costs;
};

GuestMemoryParams small_guest() {
    GuestMemoryParams params;
    params.ram_base = kRamBase;
    params.ram_bytes = kPages * kPage;
    params.min_pages = kMin;
    params.low_pages = kLow;
    params.high_pages = kHigh;
    return params;
}

class WorkloadTest : public ::testing::Test {
  protected:
    explicit WorkloadTest(const GuestMemoryParams& params = small_guest())
        : storage_(GuestMemory::storage_words_for(params.ram_bytes / params.page_size)),
          memory(params, storage_.data(), storage_.size()) {}

    void SetUp() override { ASSERT_TRUE(memory.valid()); }

    // Runs the kernel through every deadline up to `time_ns`, like the platform's loop.
    void run_until(uint64_t time_ns) {
        while (kernel.next_deadline_ns() <= time_ns) {
            hal.now = kernel.next_deadline_ns();
            kernel.run_once();
        }
        hal.now = time_ns;
        kernel.run_once();
    }
    void run_ms(uint64_t ms) { run_until(ms * kMs); }

    FakeHal hal;
    Kernel kernel{hal};

  private:
    std::vector<uint64_t> storage_;

  protected:
    GuestMemory memory;
};

TEST_F(WorkloadTest, AllocatePhaseFollowsTheRateExactlyUntilTheLevel) {
    // 2.5 pages per millisecond, 100 pages (and one byte: rounded up to a page).
    const Phase phases[] = {{PhaseKind::kAllocate, 100 * kPage + 1, 2'500 * kPage, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    EXPECT_FALSE(workload.running());
    workload.start();
    EXPECT_TRUE(workload.running());
    EXPECT_EQ(workload.phase_index(), 0u);
    EXPECT_EQ(workload.demand_bytes(), 101 * kPage);
    EXPECT_EQ(kernel.next_deadline_ns(), kMs);

    run_ms(1);
    EXPECT_EQ(workload.anon_pages(), 2u);
    run_ms(2);
    EXPECT_EQ(workload.anon_pages(), 5u);
    run_ms(3);
    EXPECT_EQ(workload.anon_pages(), 7u);
    run_ms(40);
    EXPECT_EQ(workload.anon_pages(), 100u);
    EXPECT_FALSE(workload.finished());
    run_ms(41);
    EXPECT_EQ(workload.anon_pages(), 101u);
    EXPECT_EQ(memory.anon_pages(), 101u);
    EXPECT_EQ(workload.counters().pages_allocated, 101u);
    EXPECT_EQ(workload.counters().ticks, 41u);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(workload.phase_index(), 1u);
    EXPECT_EQ(workload.demand_bytes(), 101 * kPage);
    EXPECT_EQ(workload.anon_bytes(), 101 * kPage);
    // Done: no more ticks.
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    EXPECT_EQ(workload.counters().failed_allocations, 0u);
}

TEST_F(WorkloadTest, AHoldSleepsUntilItsEndOnTheSameTickGrid) {
    // 10 pages at once, hold 2.5 s, then free 1 page per ms: the hold costs one wake-up, and
    // the free phase starts on the 1 ms grid (at 2501 ms) exactly as with a tick every 1 ms.
    const Phase phases[] = {{PhaseKind::kAllocate, 10 * kPage, 0, 0},
                            {PhaseKind::kHold, 0, 0, 2'500 * kMs},
                            {PhaseKind::kFree, 0, 1'000 * kPage, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 3);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.anon_pages(), 10u);
    EXPECT_EQ(workload.phase_index(), 1u);
    EXPECT_EQ(kernel.next_deadline_ns(), 2'501 * kMs);
    run_ms(2'500);
    EXPECT_EQ(workload.counters().ticks, 1u);
    EXPECT_EQ(workload.anon_pages(), 10u);
    run_ms(2'501);
    EXPECT_EQ(workload.phase_index(), 2u);
    run_ms(2'502);
    EXPECT_EQ(workload.anon_pages(), 9u);
    run_ms(2'511);
    EXPECT_EQ(workload.anon_pages(), 0u);
    EXPECT_EQ(workload.counters().ticks, 12u);
}

TEST_F(WorkloadTest, FractionalRatesDoNotDriftOverManyTicks) {
    // 64 MiB/s is 16.384 pages a millisecond.
    const Phase phases[] = {{PhaseKind::kAllocate, 4000 * kPage, 64 * 1024 * 1024, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.anon_pages(), 16u);
    run_ms(125);
    EXPECT_EQ(workload.anon_pages(), 2048u);
    run_ms(200);
    EXPECT_EQ(workload.anon_pages(), 3276u);  // floor(200 * 16.384)
}

TEST_F(WorkloadTest, FreePhaseShrinksAtItsRateDownToTheLevel) {
    const Phase phases[] = {
        {PhaseKind::kAllocate, 100 * kPage, 0, 0},           // all at once
        {PhaseKind::kFree, 40 * kPage, pages_per_ms(1), 0},  // one page a millisecond
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 2);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.anon_pages(), 100u);
    EXPECT_EQ(workload.phase_index(), 1u);  // level reached: the free phase began at 1 ms
    EXPECT_EQ(workload.demand_bytes(), 40 * kPage);
    run_ms(2);
    EXPECT_EQ(workload.anon_pages(), 99u);
    run_ms(31);
    EXPECT_EQ(workload.anon_pages(), 70u);
    run_ms(100);
    EXPECT_EQ(workload.anon_pages(), 40u);
    EXPECT_EQ(memory.anon_pages(), 40u);
    EXPECT_EQ(workload.counters().pages_freed, 60u);
    EXPECT_TRUE(workload.finished());
}

TEST_F(WorkloadTest, HoldLastsItsDurationAndTheNextPhaseCountsFromItsExactEnd) {
    const Phase phases[] = {
        {PhaseKind::kAllocate, 10 * kPage, 0, 0},
        {PhaseKind::kHold, 0, 0, 5 * kMs + kMs / 2},  // ends at 6.5 ms
        {PhaseKind::kAllocate, 20 * kPage, pages_per_ms(1), 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 3);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.phase_index(), 1u);
    EXPECT_EQ(workload.demand_bytes(), 10 * kPage);
    run_ms(6);
    EXPECT_EQ(workload.phase_index(), 1u);
    EXPECT_EQ(workload.anon_pages(), 10u);
    run_ms(7);  // 0.5 ms into the allocation: nothing yet
    EXPECT_EQ(workload.phase_index(), 2u);
    EXPECT_EQ(workload.demand_bytes(), 20 * kPage);
    EXPECT_EQ(workload.anon_pages(), 10u);
    run_ms(8);
    EXPECT_EQ(workload.anon_pages(), 11u);
    run_ms(17);
    EXPECT_EQ(workload.anon_pages(), 20u);
    EXPECT_TRUE(workload.finished());
}

TEST_F(WorkloadTest, TimedAllocatePhaseHoldsAtItsLevelUntilItsEnd) {
    const Phase phases[] = {
        {PhaseKind::kAllocate, 5 * kPage, pages_per_ms(1), 10 * kMs},
        {PhaseKind::kAllocate, 8 * kPage, pages_per_ms(1), 2 * kMs},  // cut short by time
        {PhaseKind::kFree, 0, 0, 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 3);
    workload.start();
    run_ms(5);
    EXPECT_EQ(workload.anon_pages(), 5u);
    run_ms(9);
    EXPECT_EQ(workload.phase_index(), 0u);
    run_ms(10);
    EXPECT_EQ(workload.phase_index(), 1u);
    EXPECT_EQ(workload.demand_bytes(), 8 * kPage);
    run_ms(11);
    EXPECT_EQ(workload.anon_pages(), 6u);
    run_ms(12);
    EXPECT_EQ(workload.counters().pages_allocated, 7u);  // 5, then 2 in 2 ms
    // The free phase starts at 12 ms and frees everything at once in the same tick.
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(workload.anon_pages(), 0u);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 0u);  // rate-limited, not refused
}

TEST_F(WorkloadTest, CachePhaseGrowsAndShrinksThePageCache) {
    const Phase phases[] = {
        {PhaseKind::kCache, 200 * kPage, pages_per_ms(100), 0},
        {PhaseKind::kCache, 50 * kPage, pages_per_ms(150), 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 2);
    workload.start();
    run_ms(1);
    EXPECT_EQ(memory.cache_pages(), 100u);
    EXPECT_EQ(workload.anon_pages(), 0u);
    EXPECT_EQ(workload.demand_bytes(), 0u);  // demand is anonymous memory
    run_ms(2);
    EXPECT_EQ(memory.cache_pages(), 200u);
    EXPECT_EQ(workload.phase_index(), 1u);
    run_ms(3);
    EXPECT_EQ(memory.cache_pages(), 50u);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(workload.counters().cache_pages_grown, 200u);
    EXPECT_EQ(workload.counters().cache_pages_shrunk, 150u);
    // Fresh cache pages are reported like anonymous ones: pages 0..99, then 100..199.
    EXPECT_THAT(hal.touches, ElementsAre(Pair(kRamBase, 100 * kPage),
                                         Pair(kRamBase + 100 * kPage, 100 * kPage)));
}

TEST_F(WorkloadTest, UntimedCachePhaseEndsWhenTheCacheStopsAtLow) {
    const Phase phases[] = {
        {PhaseKind::kAllocate, 1000 * kPage, 0, 0},
        {PhaseKind::kCache, kPages * kPage, 0, 0},  // more than there is
        {PhaseKind::kAllocate, 1001 * kPage, 0, 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 3);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.counters().cache_pages_grown, kPages - 1000 - kLow);
    // The last allocation found free at LOW and woke kswapd, which reclaimed cache to HIGH.
    EXPECT_EQ(memory.counters().async_reclaim_pages, kHigh - kLow);
    EXPECT_EQ(memory.cache_pages(), kPages - 1000 - kHigh);
    EXPECT_EQ(memory.free_pages(), kHigh - 1);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(workload.anon_pages(), 1001u);
}

TEST_F(WorkloadTest, TouchCallsCoalesceContiguousPagesAcrossChunks) {
    // A hole at page 5 in front of balloon pages: 1 page there, then a long run.
    std::vector<uint64_t> held(10);
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 10, held.data()), 10u);
    ASSERT_TRUE(memory.free_page(held[5]));
    const Phase phases[] = {{PhaseKind::kAllocate, 2000 * kPage, 0, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.anon_pages(), 2000u);
    // 2000 pages in four allocation calls of up to 512 pages, reported as two runs.
    EXPECT_THAT(hal.touches, ElementsAre(Pair(kRamBase + 5 * kPage, kPage),
                                         Pair(kRamBase + 10 * kPage, 1999 * kPage)));
    EXPECT_EQ(workload.counters().touch_calls, 2u);
    EXPECT_EQ(workload.counters().touched_bytes, 2000 * kPage);
}

TEST_F(WorkloadTest, CpuCostIsChargedPerPageEachTick) {
    WorkloadParams params;
    params.cost_per_page_ns = 300;
    const Phase phases[] = {
        {PhaseKind::kAllocate, 20 * kPage, pages_per_ms(10), 0},
        {PhaseKind::kTouch, 0, 0, 0},  // one pass over the 20 pages held
        {PhaseKind::kHold, 0, 0, 2 * kMs},
    };
    Workload workload(kernel, memory, params);
    workload.set_phases(phases, 3);
    workload.start();
    run_ms(1);
    run_ms(2);  // reaches 20, and the touch pass runs in the same tick
    run_ms(4);
    EXPECT_THAT(hal.costs, ElementsAre(10 * 300, (10 + 20) * 300));
    EXPECT_EQ(workload.counters().cpu_cost_ns, 40u * 300);
    EXPECT_EQ(workload.counters().pages_touched, 20u);
    // Re-touching is minor faults only: 20 from the allocations, 20 from the touch pass.
    EXPECT_EQ(memory.counters().minor_faults, 40u);
    EXPECT_EQ(workload.counters().touched_bytes, 20 * kPage);  // no new touch_memory()
    EXPECT_TRUE(workload.finished());
}

TEST_F(WorkloadTest, TouchPhaseRunsAtItsRateForItsDuration) {
    WorkloadParams params;
    params.cost_per_page_ns = 0;  // no cost: no cpu_cost() calls
    const Phase phases[] = {{PhaseKind::kTouch, 1000 * kPage, pages_per_ms(3), 10 * kMs}};
    Workload workload(kernel, memory, params);
    workload.set_phases(phases, 1);
    workload.start();
    run_ms(4);
    EXPECT_EQ(workload.counters().pages_touched, 12u);
    run_ms(20);
    EXPECT_EQ(workload.counters().pages_touched, 30u);
    EXPECT_TRUE(workload.finished());
    EXPECT_TRUE(hal.costs.empty());
}

TEST_F(WorkloadTest, RepeatStartsOverAndRunsEachPhaseAtMostOncePerTick) {
    const Phase phases[] = {
        {PhaseKind::kAllocate, 10 * kPage, 0, 0},
        {PhaseKind::kFree, 0, 0, 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 2, true);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.counters().pages_allocated, 10u);
    EXPECT_EQ(workload.counters().pages_freed, 10u);
    EXPECT_EQ(workload.cycles_completed(), 1u);
    EXPECT_EQ(workload.phase_index(), 0u);
    EXPECT_FALSE(workload.finished());
    run_ms(3);
    EXPECT_EQ(workload.counters().pages_allocated, 30u);
    EXPECT_EQ(workload.cycles_completed(), 3u);
}

TEST_F(WorkloadTest, OomKillDropsTheTicksUnmetDemand) {
    // 500 pages a millisecond towards 5000 pages; the workload can have 4096 - 64.
    const Phase phases[] = {{PhaseKind::kAllocate, 5000 * kPage, pages_per_ms(500), 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    workload.start();
    run_ms(8);
    EXPECT_EQ(workload.anon_pages(), 4000u);
    run_ms(9);
    EXPECT_EQ(workload.anon_pages(), kPages - kMin);
    EXPECT_EQ(workload.counters().oom_kills_seen, 1u);
    EXPECT_EQ(workload.counters().failed_allocations, 1u);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 500u - 32);
    EXPECT_EQ(workload.demand_bytes(), 5000 * kPage);  // still wanted
    EXPECT_FALSE(workload.stalled());
    EXPECT_EQ(memory.counters().oom_kills, 1u);
    run_ms(10);
    EXPECT_EQ(workload.counters().oom_kills_seen, 2u);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 968u);
    EXPECT_EQ(workload.counters().stalled_ticks, 0u);
    EXPECT_EQ(memory.counters().oom_kills, 2u);
    // Every page was either obtained or dropped: the phase is over.
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(workload.anon_pages(), kPages - kMin);
}

// A DEFLATE_ON_OOM balloon that must wait for the host: the notifier promises a batch and a
// kernel timer (the host's ack) frees it half a millisecond later.
struct SlowDeflater {
    Kernel* kernel;
    GuestMemory* memory;
    std::vector<uint64_t> ballooned;
    uint64_t in_flight = 0;
    int calls = 0;
    Timer ack{&SlowDeflater::on_ack, this};

    static uint64_t notify(void* context) {
        auto& self = *static_cast<SlowDeflater*>(context);
        ++self.calls;
        if (self.in_flight == 0 && !self.ballooned.empty()) {
            self.in_flight = self.ballooned.size() < 256 ? self.ballooned.size() : 256;
            self.kernel->arm(self.ack, 500'000);
        }
        return self.in_flight;
    }
    static void on_ack(void* context) {
        auto& self = *static_cast<SlowDeflater*>(context);
        for (; self.in_flight > 0; --self.in_flight) {
            self.memory->unmark_ballooned(self.ballooned.back());
            self.memory->free_page(self.ballooned.back());
            self.ballooned.pop_back();
        }
    }
};

TEST_F(WorkloadTest, DeferredOomStallsAndSucceedsOnceTheBalloonGavePagesBack) {
    memory.set_deflate_on_oom_accounting(true);
    SlowDeflater deflater{&kernel, &memory, std::vector<uint64_t>(1000)};
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 1000, deflater.ballooned.data()),
              1000u);
    for (uint64_t address : deflater.ballooned) {
        ASSERT_TRUE(memory.mark_ballooned(address));
    }
    memory.set_oom_notifier(&SlowDeflater::notify, &deflater);

    // 3032 pages are within reach; the workload wants 3500 at 1000 a millisecond.
    const Phase phases[] = {{PhaseKind::kAllocate, 3500 * kPage, pages_per_ms(1000), 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    workload.start();
    run_ms(3);
    EXPECT_EQ(workload.anon_pages(), 3000u);
    run_ms(4);
    EXPECT_EQ(workload.anon_pages(), 3032u);
    EXPECT_TRUE(workload.stalled());
    EXPECT_EQ(workload.owed_pages(), 468u);
    EXPECT_EQ(workload.counters().stalled_ticks, 1u);
    EXPECT_EQ(workload.counters().failed_allocations, 1u);
    EXPECT_EQ(workload.counters().oom_kills_seen, 0u);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 0u);
    EXPECT_EQ(memory.counters().oom_deferred, 1u);
    EXPECT_EQ(memory.counters().oom_kills, 0u);
    EXPECT_EQ(workload.demand_bytes(), 3500 * kPage);

    // 4.5 ms: the ack frees 256 pages; 5 ms: the tick takes them and defers again.
    run_ms(5);
    EXPECT_EQ(workload.anon_pages(), 3032u + 256);
    EXPECT_EQ(workload.owed_pages(), 212u);
    EXPECT_EQ(workload.counters().stalled_ticks, 2u);
    EXPECT_EQ(memory.counters().oom_deferred, 2u);
    run_ms(6);
    EXPECT_EQ(workload.anon_pages(), 3500u);
    EXPECT_FALSE(workload.stalled());
    EXPECT_EQ(workload.owed_pages(), 0u);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(deflater.calls, 2);
    EXPECT_EQ(deflater.ballooned.size(), 1000u - 512);
    EXPECT_EQ(memory.counters().oom_kills, 0u);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 0u);
    EXPECT_EQ(workload.counters().pages_allocated, 3500u);
    memory.set_oom_notifier(nullptr, nullptr);
}

TEST_F(WorkloadTest, OwedPagesOfATimedPhaseThatEndsAreUnmetDemand) {
    // A notifier that always promises but never delivers.
    memory.set_oom_notifier([](void*) -> uint64_t { return 1; }, nullptr);
    const Phase phases[] = {
        {PhaseKind::kAllocate, kPages * kPage, pages_per_ms(5000), 2 * kMs},
        {PhaseKind::kHold, 0, 0, 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 2);
    workload.start();
    run_ms(1);
    EXPECT_EQ(workload.anon_pages(), kPages - kMin);
    EXPECT_EQ(workload.owed_pages(), kMin);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 0u);
    run_ms(2);  // still stalled when the phase's time is up: the owed pages are dropped
    EXPECT_EQ(workload.counters().stalled_ticks, 2u);
    EXPECT_EQ(workload.counters().unmet_demand_pages, kMin);
    EXPECT_EQ(memory.counters().oom_deferred, 2u);
    EXPECT_EQ(workload.counters().oom_kills_seen, 0u);
    EXPECT_TRUE(workload.finished());
    memory.set_oom_notifier(nullptr, nullptr);
}

TEST_F(WorkloadTest, SetPhasesMidRunReplacesTheWorkloadAtOnce) {
    const Phase grow[] = {{PhaseKind::kAllocate, 100 * kPage, pages_per_ms(1), 0}};
    const Phase shrink[] = {
        {PhaseKind::kFree, 4 * kPage, pages_per_ms(2), 0},
        {PhaseKind::kHold, 0, 0, 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(grow, 1);
    workload.start();
    run_ms(10);
    EXPECT_EQ(workload.anon_pages(), 10u);
    hal.now = 10 * kMs + kMs / 2;
    workload.set_phases(shrink, 2);
    EXPECT_EQ(workload.phase_index(), 0u);
    EXPECT_EQ(workload.phase_count(), 2u);
    EXPECT_EQ(workload.demand_bytes(), 4 * kPage);
    run_ms(11);  // the tick keeps its period; 0.5 ms into the free phase: 1 page
    EXPECT_EQ(workload.anon_pages(), 9u);
    run_ms(13);
    EXPECT_EQ(workload.anon_pages(), 5u);
    run_ms(14);
    EXPECT_EQ(workload.anon_pages(), 4u);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);

    // Replaced after it finished: it runs again.
    workload.set_phases(grow, 1);
    EXPECT_FALSE(workload.finished());
    EXPECT_EQ(kernel.next_deadline_ns(), 15 * kMs);
    // And an empty list idles.
    workload.set_phases(nullptr, 0);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
}

TEST_F(WorkloadTest, StopHaltsTheTickAndStartResumesWithoutCountingTheStoppedTime) {
    const Phase phases[] = {{PhaseKind::kAllocate, 100 * kPage, pages_per_ms(1), 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    workload.start();
    workload.start();  // already running: nothing
    run_ms(5);
    workload.stop();
    EXPECT_FALSE(workload.running());
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    run_ms(50);
    EXPECT_EQ(workload.anon_pages(), 5u);
    EXPECT_EQ(memory.anon_pages(), 5u);
    workload.start();  // resumes: 45 ms frozen, so 3 ms later it has 3 more pages
    EXPECT_EQ(workload.demand_bytes(), 100 * kPage);
    EXPECT_EQ(workload.phase_index(), 0u);
    run_ms(53);
    EXPECT_EQ(workload.anon_pages(), 8u);
}

TEST_F(WorkloadTest, ResumedTimedPhaseKeepsItsRemainingDurationAndAFinishedOneStaysIdle) {
    const Phase phases[] = {
        {PhaseKind::kHold, 0, 0, 10 * kMs},
        {PhaseKind::kAllocate, 3 * kPage, 0, 0},
    };
    Workload workload(kernel, memory);
    workload.set_phases(phases, 2);
    workload.start();
    run_ms(4);
    workload.stop();
    run_ms(100);
    workload.start();
    run_ms(105);
    EXPECT_EQ(workload.phase_index(), 0u);  // 9 ms of the 10 held
    run_ms(106);
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(workload.anon_pages(), 3u);
    // Freezing and restoring an idle workload does not replay it.
    workload.stop();
    workload.start();
    EXPECT_TRUE(workload.finished());
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    run_ms(200);
    EXPECT_EQ(workload.counters().pages_allocated, 3u);
}

TEST_F(WorkloadTest, PhasesReplacedWhileStoppedBeginOnStart) {
    const Phase first[] = {{PhaseKind::kAllocate, 10 * kPage, pages_per_ms(1), 0}};
    const Phase second[] = {{PhaseKind::kFree, 0, 0, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(first, 1);
    workload.start();
    run_ms(4);
    workload.stop();
    workload.set_phases(second, 1);
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    workload.start();
    EXPECT_EQ(workload.demand_bytes(), 0u);
    run_ms(5);
    EXPECT_EQ(workload.anon_pages(), 0u);
    EXPECT_TRUE(workload.finished());
}

TEST_F(WorkloadTest, DestroyingARunningWorkloadDisarmsItsTimer) {
    const Phase phases[] = {{PhaseKind::kHold, 0, 0, 10 * kMs}};
    {
        Workload workload(kernel, memory);
        workload.set_phases(phases, 1);
        workload.start();
        EXPECT_EQ(kernel.next_deadline_ns(), kMs);
    }
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    run_ms(5);
}

TEST_F(WorkloadTest, HugeRatesAndLongTicksDoNotOverflow) {
    // 1 TiB/s over a 200 s tick: the rate * ns product would overflow 64 bits.
    WorkloadParams params;
    params.tick_ns = 200'000 * kMs;
    const Phase phases[] = {{PhaseKind::kAllocate, 50 * kPage, uint64_t{1} << 40, 0}};
    Workload workload(kernel, memory, params);
    workload.set_phases(phases, 1);
    workload.start();
    run_ms(200'000);
    EXPECT_EQ(workload.anon_pages(), 50u);

    // A zero tick would never let time pass: the default is used.
    params.tick_ns = 0;
    Workload defaulted(kernel, memory, params);
    EXPECT_EQ(defaulted.params().tick_ns, kMs);
}

// ---- the OOM killer: one victim, its memory back --------------------------------------

struct KillLog {
    std::vector<std::pair<size_t, uint64_t>> kills;  // process, pages freed
    static void observe(void* context, size_t process, uint64_t pages, uint64_t) {
        static_cast<KillLog*>(context)->kills.emplace_back(process, pages);
    }
};

TEST_F(WorkloadTest, OomKillerKillsTheLargestProcessAndTheAllocatingOneGoesOn) {
    // "big" takes 3000 pages at once; "small" then wants 2000 of the 1096 left.
    const Phase big_phases[] = {{PhaseKind::kAllocate, 3000 * kPage, 0, 0}};
    const Phase small_phases[] = {{PhaseKind::kAllocate, 2000 * kPage, 0, 0}};
    Workload big(kernel, memory);
    Workload small(kernel, memory);
    big.set_phases(big_phases, 1);
    small.set_phases(small_phases, 1);
    Workload* const processes[] = {&big, &small};
    OomKiller killer(kernel, memory, processes, 2);
    KillLog log;
    killer.set_observer(&KillLog::observe, &log);
    big.start();
    small.start();
    run_ms(1);
    // small got 1032 pages down to MIN, the OOM path killed big (3000 > 1032) and freed its
    // 3000 pages, and small's allocation went on to its 2000.
    EXPECT_THAT(log.kills, ElementsAre(Pair(0u, 3000u)));
    EXPECT_EQ(killer.kills(), 1u);
    EXPECT_EQ(memory.counters().oom_kills, 1u);
    EXPECT_EQ(memory.counters().oom_events, 1u);
    EXPECT_TRUE(big.killed());
    EXPECT_FALSE(big.running());
    EXPECT_EQ(big.anon_pages(), 0u);
    EXPECT_EQ(big.demand_bytes(), 0u);
    EXPECT_EQ(big.counters().oom_killed, 1u);
    EXPECT_EQ(big.counters().oom_freed_pages, 3000u);
    EXPECT_FALSE(small.killed());
    EXPECT_EQ(small.anon_pages(), 2000u);
    EXPECT_EQ(small.counters().failed_allocations, 0u);
    EXPECT_EQ(small.counters().unmet_demand_pages, 0u);
    EXPECT_EQ(memory.anon_pages(), 2000u);
    EXPECT_EQ(memory.free_pages(), kPages - 2000);
    // Dead stays dead (no restart delay): no tick of big's, no second kill.
    run_ms(50);
    EXPECT_EQ(killer.kills(), 1u);
    EXPECT_EQ(big.counters().ticks, 1u);
    EXPECT_EQ(big.counters().restarts, 0u);
    EXPECT_EQ(memory.stat(spec::balloon::kStatOomKills), 1u);
}

TEST_F(WorkloadTest, OomKillerKillsTheAllocatingProcessWhenItIsTheLargestAndRestartsItLater) {
    WorkloadParams params;
    params.restart_delay_ns = 10 * kMs;
    const Phase phases[] = {{PhaseKind::kAllocate, 5000 * kPage, 0, 0}};
    Workload greedy(kernel, memory, params);
    greedy.set_phases(phases, 1);
    Workload* const processes[] = {&greedy};
    OomKiller killer(kernel, memory, processes, 1);
    greedy.start();
    run_ms(1);
    // It got every page down to MIN, then died with all of them.
    EXPECT_EQ(killer.kills(), 1u);
    EXPECT_TRUE(greedy.killed());
    EXPECT_EQ(greedy.counters().oom_freed_pages, kPages - kMin);
    EXPECT_EQ(greedy.counters().oom_kills_seen, 1u);
    EXPECT_EQ(memory.anon_pages(), 0u);
    EXPECT_EQ(memory.free_pages(), kPages);
    run_ms(10);
    EXPECT_TRUE(greedy.killed());
    EXPECT_EQ(greedy.counters().restarts, 0u);
    run_ms(11);  // the restart: its phases begin again, first tick a millisecond later
    EXPECT_FALSE(greedy.killed());
    EXPECT_EQ(greedy.counters().restarts, 1u);
    EXPECT_EQ(greedy.anon_pages(), 0u);
    run_ms(12);
    EXPECT_EQ(killer.kills(), 2u);
    EXPECT_EQ(greedy.counters().oom_killed, 2u);
    EXPECT_EQ(greedy.counters().oom_freed_pages, 2 * (kPages - kMin));
    EXPECT_EQ(memory.counters().oom_kills, 2u);
}

TEST_F(WorkloadTest, OomKillerWaitsForAFrozenProcessToBeStartedBeforeRestartingIt) {
    WorkloadParams params;
    params.restart_delay_ns = 2 * kMs;
    const Phase phases[] = {{PhaseKind::kAllocate, 5000 * kPage, 0, 0}};
    Workload greedy(kernel, memory, params);
    greedy.set_phases(phases, 1);
    Workload* const processes[] = {&greedy};
    OomKiller killer(kernel, memory, processes, 1);
    greedy.start();
    run_ms(1);
    ASSERT_TRUE(greedy.killed());
    greedy.stop();  // the guest freezes
    run_ms(5);
    EXPECT_FALSE(greedy.killed());
    EXPECT_FALSE(greedy.running());
    EXPECT_EQ(killer.kills(), 1u);
    greedy.start();  // thawed at 5 ms: it begins again
    run_ms(6);
    EXPECT_EQ(killer.kills(), 2u);
}

TEST_F(WorkloadTest, DeflateOnOomReleasesComeBeforeTheOomKiller) {
    memory.set_deflate_on_oom_accounting(true);
    SlowDeflater deflater{&kernel, &memory, std::vector<uint64_t>(1000)};
    ASSERT_EQ(memory.allocate_many(AllocationClass::kBalloon, 1000, deflater.ballooned.data()),
              1000u);
    for (const uint64_t page : deflater.ballooned) {
        ASSERT_TRUE(memory.mark_ballooned(page));
    }
    memory.set_oom_notifier(&SlowDeflater::notify, &deflater);
    const Phase phases[] = {{PhaseKind::kAllocate, 3500 * kPage, 0, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    Workload* const processes[] = {&workload};
    OomKiller killer(kernel, memory, processes, 1);
    workload.start();
    run_ms(1);
    // 3096 - 64 = 3032 pages, then the balloon promised 256: a stall, not a kill.
    EXPECT_EQ(workload.anon_pages(), 3032u);
    EXPECT_TRUE(workload.stalled());
    EXPECT_EQ(killer.kills(), 0u);
    EXPECT_EQ(memory.counters().oom_deferred, 1u);
    run_ms(3);
    EXPECT_EQ(workload.anon_pages(), 3500u);
    EXPECT_EQ(killer.kills(), 0u);
    EXPECT_FALSE(workload.killed());
}

TEST_F(WorkloadTest, OomWithNothingToKillFailsTheAllocationWithoutCountingAKill) {
    const Phase phases[] = {{PhaseKind::kAllocate, 5000 * kPage, 0, 0}};
    Workload workload(kernel, memory);
    workload.set_phases(phases, 1);
    // The workload is not in the killer's list (a kernel allocation, say): no victim.
    OomKiller killer(kernel, memory, nullptr, 0);
    workload.start();
    run_ms(1);
    EXPECT_EQ(killer.kills(), 0u);
    EXPECT_EQ(memory.counters().oom_kills, 0u);
    EXPECT_EQ(memory.counters().oom_no_victim, 1u);
    EXPECT_EQ(memory.last_allocation_failure(), AllocationFailure::kOomNoVictim);
    EXPECT_EQ(workload.anon_pages(), kPages - kMin);
    EXPECT_EQ(workload.counters().unmet_demand_pages, 5000 - (kPages - kMin));
    EXPECT_FALSE(workload.killed());
}

TEST_F(WorkloadTest, OomKillerBreaksTiesForTheFirstProcessAndSkipsTheDead) {
    const Phase phases[] = {{PhaseKind::kAllocate, 1800 * kPage, 0, 0}};
    const Phase late[] = {{PhaseKind::kHold, 0, 0, 3 * kMs / 2},
                          {PhaseKind::kAllocate, 600 * kPage, 0, 0}};
    Workload first(kernel, memory);
    Workload second(kernel, memory);
    Workload third(kernel, memory);
    first.set_phases(phases, 1);
    second.set_phases(phases, 1);
    third.set_phases(late, 2);
    Workload* const processes[] = {&first, &second, &third};
    OomKiller killer(kernel, memory, processes, 3);
    KillLog log;
    killer.set_observer(&KillLog::observe, &log);
    first.start();
    second.start();
    third.start();
    run_ms(1);
    ASSERT_EQ(memory.anon_pages(), 3600u);
    // third wants 600 of 496 free: at MIN (432 taken) first and second tie at 1800 and the
    // first of them dies; third gets its last 168.
    run_ms(2);
    EXPECT_THAT(log.kills, ElementsAre(Pair(0u, 1800u)));
    EXPECT_EQ(third.anon_pages(), 600u);
    EXPECT_EQ(second.anon_pages(), 1800u);
    EXPECT_EQ(memory.anon_pages(), 2400u);
    // second ends (killed too); third then takes everything and is the only one left to kill.
    EXPECT_EQ(second.kill(), 1800u);
    EXPECT_EQ(second.kill(), 0u);  // already dead
    const Phase everything[] = {{PhaseKind::kAllocate, 5000 * kPage, 0, 0}};
    third.set_phases(everything, 1);
    run_ms(3);
    EXPECT_THAT(log.kills, ElementsAre(Pair(0u, 1800u), Pair(2u, kPages - kMin)));
    // Everyone listed is dead: an allocation outside the list finds no victim.
    Workload unlisted(kernel, memory);
    unlisted.set_phases(everything, 1);
    unlisted.start();
    run_ms(4);
    EXPECT_EQ(killer.kills(), 2u);
    EXPECT_EQ(memory.counters().oom_no_victim, 1u);
    EXPECT_EQ(unlisted.anon_pages(), kPages - kMin);
}

}  // namespace
}  // namespace vbsim::sw::guest

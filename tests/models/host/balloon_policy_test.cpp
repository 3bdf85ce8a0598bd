// Host balloon policies: the timeline at exact simulated times, and the MOM-style auto
// policy against fake guests and a fake host, with expected targets worked out by hand.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/balloon/balloon_device.h"
#include "models/host/balloon_policy.h"
#include "models/host/host_memory.h"
#include "spec/virtio.h"

namespace vbsim::models {
namespace {

using sc_core::SC_MS;
using sc_core::SC_NS;
using sc_core::SC_SEC;
using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

constexpr uint64_t kPage = 4096;
// 1000 MiB: 5 % of it is 12800 pages and 0.25 % is 640 pages, so the expected numbers
// below are whole pages.
constexpr uint32_t kRamPages = 256000;
constexpr uint64_t kRam = uint64_t{kRamPages} * kPage;

uint64_t pages(uint64_t count) {
    return count * kPage;
}

// A guest as the policy sees it; actual stays where the test puts it unless `follow`
// is set, in which case the driver is taken to reach every target at once and the
// guest's free memory is what its fixed use leaves of the visible memory.
class FakeGuest : public PolicyGuest {
  public:
    FakeGuest(std::string name, uint64_t ram_bytes) : name_(std::move(name)), ram_(ram_bytes) {}

    const std::string& name() const override { return name_; }
    uint64_t ram_bytes() const override { return ram_; }
    uint32_t target_pages() const override { return target_; }
    uint32_t actual_pages() const override { return actual_; }
    const BalloonStats& stats() const override { return stats_; }
    void set_target_pages(uint32_t value) override {
        target_ = value;
        sets.emplace_back(sc_time_stamp(), value);
        if (follow_used_pages_ != 0) {
            actual_ = value;
            set_free_pages(kRamPages - actual_ - follow_used_pages_);
        }
    }

    void set_balloon(uint32_t value) { target_ = actual_ = value; }
    void set_free_pages(uint64_t free_pages, uint64_t available_pages = 0) {
        stats_.valid = true;
        stats_.entries = {{spec::balloon::kStatMemTotal, ram_},
                          {spec::balloon::kStatMemFree, pages(free_pages)},
                          {spec::balloon::kStatAvailable, pages(available_pages)}};
    }
    void follow(uint32_t used_pages) {
        follow_used_pages_ = used_pages;
        set_free_pages(kRamPages - actual_ - used_pages);
    }
    BalloonStats& mutable_stats() { return stats_; }

    std::vector<std::pair<sc_time, uint32_t>> sets;

  private:
    std::string name_;
    uint64_t ram_;
    uint32_t target_ = 0;
    uint32_t actual_ = 0;
    uint32_t follow_used_pages_ = 0;
    BalloonStats stats_;
};

// The host free fraction the policy sees is whatever the test puts here.
struct FakeHost {
    int64_t free_bytes = 0;
    uint64_t ram_bytes = 1000000;
    HostFreeSource source() {
        return {[this] { return free_bytes; }, ram_bytes};
    }
    void set_fraction(double fraction) {
        free_bytes = static_cast<int64_t>(fraction * static_cast<double>(ram_bytes));
    }
};

template <typename Action>
std::string error_of(Action action) {
    try {
        action();
    } catch (const sc_core::sc_report& report) {
        return report.get_msg();
    }
    return "";
}

std::vector<std::string> decided_guests(const BalloonPolicy& policy) {
    std::vector<std::string> names;
    for (const PolicyDecision& decision : policy.decisions()) {
        names.push_back(decision.guest);
    }
    return names;
}

// ---- timeline ---------------------------------------------------------------------------

TEST(TimelinePolicy, AppliesTargetsToRealDevicesAtExactTimes) {
    BalloonDeviceParams params;
    params.guest_ram_bytes = kRam;
    BalloonDevice device_a("a_dev", params);
    BalloonDevice device_b("b_dev", params);
    BalloonDeviceGuest a("a", device_a);
    BalloonDeviceGuest b("b", device_b);
    TimelinePolicy policy("timeline", {&a, &b},
                          {{sc_time(5, SC_MS), "a", 100},
                           {sc_time(2, SC_MS), "b", 50},
                           {SC_ZERO_TIME, "a", 10},
                           {sc_time(7, SC_MS), "b", 0}});
    ASSERT_EQ(policy.timeline().size(), 4u);
    EXPECT_EQ(policy.timeline()[0].at, SC_ZERO_TIME);
    EXPECT_EQ(policy.timeline()[3].at, sc_time(7, SC_MS));

    sc_core::sc_start(SC_ZERO_TIME);
    EXPECT_EQ(device_a.target_pages(), 10u);
    EXPECT_EQ(device_b.target_pages(), 0u);

    sc_core::sc_start(sc_time(2, SC_MS) - sc_time(1, SC_NS));
    EXPECT_EQ(device_b.target_pages(), 0u);
    sc_core::sc_start(sc_time(2, SC_NS));  // now 2 ms + 1 ns
    EXPECT_EQ(device_b.target_pages(), 50u);
    EXPECT_EQ(device_a.target_pages(), 10u);

    sc_core::sc_start(sc_time(3, SC_MS) - sc_time(2, SC_NS));  // 5 ms - 1 ns
    EXPECT_EQ(device_a.target_pages(), 10u);
    sc_core::sc_start(sc_time(2, SC_NS));
    EXPECT_EQ(device_a.target_pages(), 100u);

    sc_core::sc_start(sc_time(10, SC_MS));
    EXPECT_EQ(device_b.target_pages(), 0u);
    EXPECT_EQ(policy.applied_count(), 4u);

    ASSERT_EQ(policy.decisions().size(), 4u);
    const std::vector<sc_time> times = {SC_ZERO_TIME, sc_time(2, SC_MS), sc_time(5, SC_MS),
                                        sc_time(7, SC_MS)};
    const std::vector<uint32_t> old_targets = {0, 0, 10, 50};
    const std::vector<uint32_t> new_targets = {10, 50, 100, 0};
    for (size_t i = 0; i < 4; ++i) {
        const PolicyDecision& decision = policy.decisions()[i];
        EXPECT_EQ(decision.time, times[i]) << i;
        EXPECT_EQ(decision.old_target_pages, old_targets[i]) << i;
        EXPECT_EQ(decision.new_target_pages, new_targets[i]) << i;
        EXPECT_EQ(decision.action, PolicyAction::kTimeline);
        EXPECT_EQ(decision.reason, "timeline");
        EXPECT_FALSE(decision.host_free_fraction.has_value());
    }
    EXPECT_EQ(decided_guests(policy), (std::vector<std::string>{"a", "b", "a", "b"}));
}

TEST(TimelinePolicy, EqualTimesApplyInFileOrder) {
    FakeGuest a("a", kRam);
    FakeGuest b("b", kRam);
    TimelinePolicy policy("timeline", {&a, &b},
                          {{sc_time(3, SC_MS), "a", 1},
                           {sc_time(9, SC_MS), "b", 99},
                           {sc_time(3, SC_MS), "b", 7},
                           {sc_time(3, SC_MS), "a", 2},
                           {sc_time(1, SC_MS), "a", 5},
                           {sc_time(3, SC_MS), "a", 3}});
    sc_core::sc_start(sc_time(4, SC_MS));
    const sc_time t1(1, SC_MS);
    const sc_time t3(3, SC_MS);
    EXPECT_EQ(a.sets,
              (std::vector<std::pair<sc_time, uint32_t>>{{t1, 5}, {t3, 1}, {t3, 2}, {t3, 3}}));
    EXPECT_EQ(b.sets, (std::vector<std::pair<sc_time, uint32_t>>{{t3, 7}}));
    EXPECT_EQ(a.target_pages(), 3u);
    EXPECT_EQ(decided_guests(policy), (std::vector<std::string>{"a", "a", "b", "a", "a"}));
    EXPECT_EQ(policy.decisions()[3].old_target_pages, 1u);
    EXPECT_EQ(policy.decisions()[3].new_target_pages, 2u);
}

TEST(TimelinePolicy, UnknownGuestIsAnError) {
    FakeGuest a("a", kRam);
    const std::string message = error_of([&] {
        TimelinePolicy policy("timeline", {&a}, {{SC_ZERO_TIME, "nobody", 1}});
    });
    EXPECT_NE(message.find("unknown guest 'nobody'"), std::string::npos) << message;
}

// ---- auto policy: one round ----------------------------------------------------------------

TEST(AutoBalloonPolicy, PressureShrinksByTheMomFormulaMostFreeFirst) {
    FakeHost host;
    FakeGuest a("a", kRam);  // visible 256000, free 128000: used 128000
    a.set_free_pages(128000);
    FakeGuest b("b", kRam);  // visible 216000, free 30000: used 186000
    b.set_balloon(40000);
    b.set_free_pages(30000);
    FakeGuest c("c", kRam);  // free 60000: used 196000
    c.set_free_pages(60000);
    FakeGuest d("d", kRam);  // free 51800: used 204200
    d.set_free_pages(51800);
    FakeGuest e("e", kRam);  // free 51841: used 204159
    e.set_free_pages(51841);
    FakeGuest f("f", kRam);  // no stats yet
    f.set_balloon(1234);
    FakeGuest g("g", kRam);  // stats without MemFree
    g.mutable_stats().valid = true;
    g.mutable_stats().entries = {{spec::balloon::kStatMemTotal, kRam}};

    AutoBalloonPolicy policy("auto", AutoBalloonPolicyParams{}, host.source(),
                             {&c, &f, &d, &e, &a, &b, &g});
    policy.evaluate(0.15);

    // a: max(256000·0.95, 128000 + 0.2·256000) = max(243200, 179200) = 243200 visible.
    EXPECT_EQ(a.target_pages(), 12800u);
    // b: floor 186000 + 43200 = 229200 is above its 216000 visible: MOM leaves it alone.
    EXPECT_EQ(b.target_pages(), 40000u);
    // c: max(243200, 196000 + 51200 = 247200) = 247200 visible.
    EXPECT_EQ(c.target_pages(), 8800u);
    // d: 204200 + 51200 = 255400, a change of 600 pages, not above 0.25 % (640).
    EXPECT_EQ(d.target_pages(), 0u);
    EXPECT_TRUE(d.sets.empty());
    // e: 204159 + 51200 = 255359, a change of 641 pages.
    EXPECT_EQ(e.target_pages(), 641u);
    // f and g: nothing to go on.
    EXPECT_EQ(f.target_pages(), 1234u);
    EXPECT_TRUE(f.sets.empty());
    EXPECT_TRUE(g.sets.empty());

    // Most free first: a (128000), c (60000), e (51841).
    EXPECT_EQ(decided_guests(policy), (std::vector<std::string>{"a", "c", "e"}));
    const AutoBalloonCounters& counters = policy.counters();
    EXPECT_EQ(counters.rounds, 1u);
    EXPECT_EQ(counters.pressure_rounds, 1u);
    EXPECT_EQ(counters.targets_changed, 3u);
    EXPECT_EQ(counters.skipped_no_stats, 2u);
    EXPECT_EQ(counters.skipped_small_change, 1u);
    EXPECT_EQ(counters.skipped_no_room, 1u);
    EXPECT_DOUBLE_EQ(policy.last_host_free_fraction().value(), 0.15);

    const PolicyDecision& first = policy.decisions()[0];
    EXPECT_EQ(first.time, SC_ZERO_TIME);
    EXPECT_EQ(first.guest, "a");
    EXPECT_EQ(first.old_target_pages, 0u);
    EXPECT_EQ(first.new_target_pages, 12800u);
    EXPECT_EQ(first.action, PolicyAction::kShrink);
    EXPECT_STREQ(to_string(first.action), "shrink");
    EXPECT_EQ(first.reason, "host free 15.00% < 20.00%: shrink by 5.00%");
    EXPECT_DOUBLE_EQ(first.host_free_fraction.value(), 0.15);
    EXPECT_EQ(first.visible_bytes, pages(256000));
    EXPECT_EQ(first.used_bytes, pages(128000));
    EXPECT_EQ(first.new_visible_bytes, pages(243200));

    const PolicyDecision& second = policy.decisions()[1];
    EXPECT_EQ(second.reason, "host free 15.00% < 20.00%: shrink to used + 20.00% free");
    EXPECT_EQ(second.used_bytes, pages(196000));
    EXPECT_EQ(second.new_visible_bytes, pages(247200));
}

TEST(AutoBalloonPolicy, NoPressureGrowsBackLeastFreeFirstCappedAtRam) {
    FakeHost host;
    FakeGuest a("a", kRam);  // visible 243200, free 100000: used 143200
    a.set_balloon(12800);
    a.set_free_pages(100000);
    FakeGuest h("h", kRam);  // visible 246000
    h.set_balloon(10000);
    h.set_free_pages(200000);
    FakeGuest k("k", kRam);  // visible 156000, free 10000: used 146000
    k.set_balloon(100000);
    k.set_free_pages(10000);
    FakeGuest full("full", kRam);  // nothing ballooned: nothing to give back
    full.set_free_pages(5000);

    AutoBalloonPolicy policy("auto", AutoBalloonPolicyParams{}, host.source(), {&a, &h, &full, &k});
    // Exactly at the threshold is not pressure (MOM: free < threshold).
    policy.evaluate(0.20);

    // a: max(243200·1.05 = 255360, 143200 + 48640) = 255360 visible.
    EXPECT_EQ(a.target_pages(), 640u);
    // h: 246000·1.05 = 258300 is more than its RAM.
    EXPECT_EQ(h.target_pages(), 0u);
    // k: max(163800, 146000 + 31200 = 177200) = 177200 visible.
    EXPECT_EQ(k.target_pages(), 78800u);
    EXPECT_TRUE(full.sets.empty());
    EXPECT_EQ(decided_guests(policy), (std::vector<std::string>{"k", "a", "h"}));
    EXPECT_EQ(policy.counters().pressure_rounds, 0u);
    EXPECT_EQ(policy.counters().skipped_small_change, 1u);

    EXPECT_EQ(policy.decisions()[0].reason,
              "host free 20.00% >= 20.00%: grow to used + 20.00% free");
    EXPECT_EQ(policy.decisions()[1].reason, "host free 20.00% >= 20.00%: grow by 5.00%");
    EXPECT_EQ(policy.decisions()[2].reason, "host free 20.00% >= 20.00%: grow to full RAM");
    EXPECT_EQ(policy.decisions()[2].action, PolicyAction::kGrow);
    EXPECT_EQ(policy.decisions()[2].old_target_pages, 10000u);
    EXPECT_EQ(policy.decisions()[2].new_visible_bytes, kRam);
}

TEST(AutoBalloonPolicy, AvailableStatCanStandForFreeMemory) {
    FakeHost host;
    FakeGuest a("a", kRam);
    a.set_free_pages(10000, 128000);  // little free, much reclaimable cache
    AutoBalloonPolicyParams params;
    params.guest_free_stat = GuestFreeStat::kAvailable;
    AutoBalloonPolicy policy("auto", params, host.source(), {&a});
    policy.evaluate(0.10);
    EXPECT_EQ(a.target_pages(), 12800u);  // same as free 128000 under MemFree
}

TEST(AutoBalloonPolicy, ReclaimOnlyDeficitAsksTheMostFreeGuestsOnly) {
    FakeHost host;
    host.ram_bytes = pages(200000);  // deficit at 15 % free: 5 % of it = 10000 pages
    FakeGuest c("c", kRam);
    c.set_free_pages(60000);  // would shrink 8800 pages
    FakeGuest a("a", kRam);
    a.set_free_pages(128000);  // shrinks 12800 pages: covers the deficit alone
    AutoBalloonPolicyParams params;
    params.reclaim_only_deficit = true;
    AutoBalloonPolicy policy("auto", params, host.source(), {&c, &a});
    policy.evaluate(0.15);
    EXPECT_EQ(a.target_pages(), 12800u);
    EXPECT_EQ(c.target_pages(), 0u);
    EXPECT_EQ(policy.counters().skipped_relieved, 1u);

    // A deficit of 5 % of 500000 pages = 25000 needs both, and then some.
    host.ram_bytes = pages(500000);
    FakeGuest c2("c2", kRam);
    c2.set_free_pages(60000);
    FakeGuest a2("a2", kRam);
    a2.set_free_pages(128000);
    AutoBalloonPolicy wide("wide", params, host.source(), {&c2, &a2});
    wide.evaluate(0.15);
    EXPECT_EQ(a2.target_pages(), 12800u);
    EXPECT_EQ(c2.target_pages(), 8800u);
    EXPECT_EQ(decided_guests(wide), (std::vector<std::string>{"a2", "c2"}));
}

// ---- auto policy: over many rounds ---------------------------------------------------------

TEST(AutoBalloonPolicy, ShrinksNoFurtherThanUsedPlusFreeThenGrowsBackToFullRam) {
    FakeHost host;
    FakeGuest a("a", kRam);
    constexpr uint32_t kUsed = 100000;
    a.follow(kUsed);
    AutoBalloonPolicy policy("auto", AutoBalloonPolicyParams{}, host.source(), {&a});
    size_t listener_count = 0;
    policy.on_decision([&listener_count](const PolicyDecision&) { ++listener_count; });

    for (int round = 0; round < 100; ++round) {
        const double visible_before = kRamPages - a.actual_pages();
        policy.evaluate(0.05);
        const double visible = kRamPages - a.actual_pages();
        EXPECT_LE(visible, visible_before);
        EXPECT_GE(visible, kUsed + 0.2 * visible_before) << round;
    }
    // Settles where 0.8·visible − used is within 0.25 % of visible.
    const double settled = kRamPages - a.actual_pages();
    EXPECT_GE(settled, kUsed / 0.8);
    EXPECT_LE(settled, kUsed / 0.7975 + 1);
    const size_t shrinks = policy.decisions().size();
    EXPECT_GT(shrinks, 10u);

    for (int round = 0; round < 30; ++round) {
        policy.evaluate(0.5);
        EXPECT_LE(a.target_pages(), kRamPages);
    }
    EXPECT_EQ(a.target_pages(), 0u);
    // 125000..125392 pages · 1.05^14 < 256000 < · 1.05^15: fifteen 5 % steps.
    EXPECT_EQ(policy.decisions().size() - shrinks, 15u);
    EXPECT_EQ(policy.decisions().back().reason, "host free 50.00% >= 20.00%: grow to full RAM");
    EXPECT_EQ(listener_count, policy.decisions().size());
}

// ---- auto policy: sampling and timing ------------------------------------------------------

TEST(AutoBalloonPolicy, DecidesEveryIntervalOnTheMeanOfItsSamples) {
    FakeHost host;
    FakeGuest a("a", kRam);  // visible 243200, used 143200
    a.set_balloon(12800);
    a.set_free_pages(100000);
    AutoBalloonPolicy policy("auto", AutoBalloonPolicyParams{}, host.source(), {&a});

    host.set_fraction(0.10);
    sc_core::sc_start(sc_time(7, SC_SEC));  // sample at 5 s: 10 %
    EXPECT_EQ(policy.counters().rounds, 0u);
    host.set_fraction(0.40);
    sc_core::sc_start(sc_time(5, SC_SEC));  // sample at 10 s: 40 %; round: 25 %
    EXPECT_EQ(policy.counters().rounds, 1u);
    EXPECT_DOUBLE_EQ(policy.last_host_free_fraction().value(), 0.25);
    ASSERT_EQ(a.sets.size(), 1u);
    EXPECT_EQ(a.sets[0], std::make_pair(sc_time(10, SC_SEC), uint32_t{640}));

    // The 40 % sample has left the two-sample window by the next round.
    host.set_fraction(0.05);
    sc_core::sc_start(sc_time(10, SC_SEC));  // 15 s and 20 s: 5 %
    EXPECT_EQ(policy.counters().rounds, 2u);
    EXPECT_DOUBLE_EQ(policy.last_host_free_fraction().value(), 0.05);
    ASSERT_EQ(a.sets.size(), 2u);
    // actual is still 12800: max(243200·0.95 = 231040, 191840) visible.
    EXPECT_EQ(a.sets[1], std::make_pair(sc_time(20, SC_SEC), uint32_t{24960}));
    EXPECT_EQ(policy.decisions()[1].action, PolicyAction::kShrink);
    EXPECT_EQ(policy.decisions()[1].time, sc_time(20, SC_SEC));
}

TEST(AutoBalloonPolicy, ReadsHostMemory) {
    HostMemoryParams params;
    params.host_ram_bytes = uint64_t{1} << 30;
    params.host_reserved_bytes = uint64_t{900} << 20;
    HostMemory memory(params);
    const GuestId guest = memory.add_guest("g", 0x80000000, uint64_t{512} << 20);
    memory.touch(guest, 0, 65536);  // 256 MiB: the host is 132 MiB short
    const HostFreeSource source = HostFreeSource::of(memory);
    EXPECT_EQ(source.ram_bytes, uint64_t{1} << 30);
    EXPECT_EQ(source.free_bytes(), -(int64_t{132} << 20));
}

TEST(AutoBalloonPolicy, RejectsZeroInterval) {
    FakeHost host;
    AutoBalloonPolicyParams params;
    params.interval = SC_ZERO_TIME;
    const std::string message =
        error_of([&] { AutoBalloonPolicy policy("auto", params, host.source(), {}); });
    EXPECT_NE(message.find("interval"), std::string::npos) << message;
}

// ---- balance_available (ChromeOS) ------------------------------------------------------

TEST(BalanceAvailablePolicy, MovesHalfTheDifferenceAboveCriticalAndLetsLaterGuestsSeeIt) {
    // Host: 1000 MiB RAM, 5 % critical = 50 MiB; 150 MiB free, so 100 MiB above critical.
    FakeHost host;
    host.ram_bytes = 1000 * (uint64_t{1} << 20);
    host.free_bytes = 150 << 20;
    // a: 900 MiB available, 500 above its 400 MiB critical: (500 - 100) / 2 = 200 MiB in.
    FakeGuest a("a", kRam);
    a.set_free_pages(0, 900 * 256);
    // b sees the host 200 MiB better off (300 above critical): (50 - 300) / 2 = -125 MiB,
    // out of its 200 MiB balloon.
    FakeGuest b("b", kRam);
    b.set_balloon(200 * 256);
    b.set_free_pages(0, 450 * 256);
    // c: no stats yet. d: a 5 MiB move, within the 10 MiB margin.
    FakeGuest c("c", kRam);
    FakeGuest d("d", kRam);
    d.set_free_pages(0, (400 + 170) * 256);  // (170 - 175) / 2 MiB after b: within the margin
    BalanceAvailablePolicy policy("balance", BalanceAvailablePolicyParams{}, host.source(),
                                  {&a, &b, &c, &d});
    policy.evaluate();
    EXPECT_EQ(a.target_pages(), 200u * 256);
    EXPECT_EQ(b.target_pages(), 75u * 256);
    EXPECT_EQ(c.target_pages(), 0u);
    EXPECT_EQ(d.target_pages(), 0u);
    EXPECT_EQ(policy.counters().targets_changed, 2u);
    EXPECT_EQ(policy.counters().skipped_no_stats, 1u);
    EXPECT_EQ(policy.counters().skipped_small_change, 1u);
    ASSERT_EQ(policy.decisions().size(), 2u);
    EXPECT_EQ(policy.decisions()[0].action, PolicyAction::kShrink);
    EXPECT_EQ(policy.decisions()[0].reason,
              "guest available above critical 500 MiB, host free above critical 100 MiB: "
              "inflate 200 MiB");
    EXPECT_EQ(policy.decisions()[1].action, PolicyAction::kGrow);
}

TEST(BalanceAvailablePolicy, TheBalloonStaysWithinThreeQuartersOfTheGuest) {
    FakeHost host;
    host.ram_bytes = 1000 * (uint64_t{1} << 20);
    host.free_bytes = -(int64_t{2000} << 20);  // deeply overcommitted
    FakeGuest a("a", kRam);                    // 1000 MiB guest, all of it available
    a.set_free_pages(0, kRamPages);
    BalanceAvailablePolicy policy("balance", BalanceAvailablePolicyParams{}, host.source(), {&a});
    policy.evaluate();
    EXPECT_EQ(a.target_pages(), kRamPages / 4 * 3);  // not (600 + 2050) / 2 MiB
}

}  // namespace
}  // namespace vbsim::models

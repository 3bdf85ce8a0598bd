// Whole scenarios from YAML text, run in-process: what each check kind measures, both the
// passing and the failing side, and the summary's derived figures.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "platform/check_evaluation.h"
#include "platform/scenario_loader.h"
#include "platform/scenario_run.h"

namespace vbsim::platform {
namespace {

// One 64 MiB guest (16384 pages) on a 256 MiB host; the host asks for 4096 pages at 10 ms.
const std::string kSmallGuest =
    "guests:\n"
    "  - name: vm0\n"
    "    ram: 64MiB\n"
    "    resident_at_start: 100%\n"
    "host:\n"
    "  ram: 256MiB\n"
    "  policy:\n"
    "    kind: timeline\n"
    "    timeline:\n"
    "      - {at: 10ms, guest: vm0, balloon_pages: 4096}\n";

RunSummary run_scenario(const std::string& yaml) {
    ScenarioConfig config;
    std::vector<LoadError> errors;
    const bool loaded = ScenarioLoader::load_string(yaml, "t.yaml", {}, config, errors);
    for (const LoadError& error : errors) {
        ADD_FAILURE() << error.to_string();
    }
    EXPECT_TRUE(loaded);
    config.output.trace_vcd = false;
    ScenarioRun run("scenario", config);
    run.run(false);
    RunSummary summary = run.summarize();
    summary.checks = evaluate_checks(config.checks, summary, run.recording());
    return summary;
}

const CheckResult& check_named(const RunSummary& summary, const std::string& name) {
    for (const CheckResult& check : summary.checks) {
        if (check.name == name) {
            return check;
        }
    }
    ADD_FAILURE() << "no check named " << name;
    static const CheckResult none;
    return none;
}

TEST(ScenarioChecks, ActualReachesTargetByHoldsAtItsTimeNotEver) {
    // Freeze at 300 ms leaks the balloon and nothing restores it: reached at first, gone later.
    const RunSummary summary = run_scenario(
        "duration: 600ms\n" + kSmallGuest +
        "events:\n"
        "  - {at: 300ms, kind: freeze, guest: vm0}\n"
        "checks:\n"
        "  - {name: before, kind: actual_reaches_target_by, guest: vm0, at: 250ms}\n"
        "  - {name: after, kind: actual_reaches_target_by, guest: vm0, at: 500ms}\n"
        "  - {name: end, kind: actual_reaches_target_by, guest: vm0}\n"
        "  - {name: too early, kind: actual_reaches_target_by, guest: vm0, at: 10100us}\n"
        "  - {name: no target yet, kind: actual_reaches_target_by, guest: vm0, at: 5ms}\n");
    ASSERT_EQ(summary.guests.size(), 1u);
    EXPECT_EQ(summary.guests[0].final_actual_pages, 0u);
    EXPECT_EQ(summary.guests[0].driver_state, "frozen");

    const CheckResult& before = check_named(summary, "before");
    EXPECT_TRUE(before.passed);
    EXPECT_EQ(before.measured, "actual 4096 pages at 0.25 s, target 4096 pages set at 0.01 s");
    EXPECT_EQ(before.bound, "actual == target at 0.25 s");

    const CheckResult& after = check_named(summary, "after");
    EXPECT_FALSE(after.passed);
    EXPECT_EQ(after.measured, "actual 0 pages at 0.5 s, target 4096 pages set at 0.01 s");
    EXPECT_FALSE(check_named(summary, "end").passed);

    // 0.1 ms after the target was set the first round has not been acknowledged yet.
    const CheckResult& early = check_named(summary, "too early");
    EXPECT_FALSE(early.passed);
    EXPECT_EQ(early.measured, "actual 0 pages at 0.0101 s, target 4096 pages set at 0.01 s");

    const CheckResult& none = check_named(summary, "no target yet");
    EXPECT_FALSE(none.passed);
    EXPECT_EQ(none.measured, "no target set by 0.005 s");
}

TEST(ScenarioChecks, ActualReachesTargetByComparesWholeGuestPages) {
    // 64 KiB pages: a target of 4097 PFNs is reached at 4112 (257 guest pages).
    std::string guest = kSmallGuest;
    guest.replace(guest.find("balloon_pages: 4096"), 19, "balloon_pages: 4097");
    guest.insert(guest.find("    resident_at_start"), "    page_size: 64KiB\n");
    const RunSummary summary =
        run_scenario("duration: 300ms\n" + guest +
                     "checks:\n  - {name: reached, kind: actual_reaches_target_by, guest: vm0}\n");
    const CheckResult& reached = check_named(summary, "reached");
    EXPECT_TRUE(reached.passed);
    EXPECT_EQ(reached.measured,
              "actual 4112 pages at 0.3 s, target 4097 pages (4112 in whole guest pages) set at "
              "0.01 s");
}

TEST(ScenarioChecks, ActualReachesTargetByFailsWithoutAnyTarget) {
    std::string guest = kSmallGuest;
    guest.erase(guest.find("  policy:"));
    const RunSummary summary =
        run_scenario("duration: 50ms\n" + guest +
                     "checks:\n  - {name: reached, kind: actual_reaches_target_by, guest: vm0}\n"
                     "  - {name: fast, kind: time_to_target_below, guest: vm0, bound: 1s}\n");
    EXPECT_FALSE(check_named(summary, "reached").passed);
    EXPECT_EQ(check_named(summary, "reached").measured, "no target set by 0.05 s");
    EXPECT_FALSE(check_named(summary, "fast").passed);
    EXPECT_EQ(check_named(summary, "fast").measured, "no target set");
}

TEST(ScenarioChecks, TimeToTargetBelowBothSides) {
    // 4096 pages take 16 rounds of ≈ 0.57 ms: about 9.2 ms.
    const RunSummary summary = run_scenario(
        "duration: 300ms\n" + kSmallGuest +
        "checks:\n"
        "  - {name: within 12ms, kind: time_to_target_below, guest: vm0, bound: 12ms}\n"
        "  - {name: within 8ms, kind: time_to_target_below, guest: vm0, bound: 8ms}\n");
    ASSERT_EQ(summary.guests[0].episodes.size(), 1u);
    const TargetEpisode& episode = summary.guests[0].episodes[0];
    ASSERT_TRUE(episode.reached);
    const double seconds = (episode.reached_at - episode.set_at).to_seconds();
    EXPECT_GT(seconds, 0.008);
    EXPECT_LT(seconds, 0.012);
    EXPECT_TRUE(check_named(summary, "within 12ms").passed);
    const CheckResult& slow = check_named(summary, "within 8ms");
    EXPECT_FALSE(slow.passed);
    char slowest[32];
    std::snprintf(slowest, sizeof slowest, "slowest %.6g s", seconds);
    EXPECT_EQ(slow.measured, slowest);
    EXPECT_EQ(slow.bound, "< 0.008 s");
}

TEST(ScenarioChecks, TimeToTargetAboveBothSides) {
    const RunSummary summary = run_scenario(
        "duration: 300ms\n" + kSmallGuest +
        "checks:\n"
        "  - {name: over 5ms, kind: time_to_target_above, guest: vm0, bound: 5ms}\n"
        "  - {name: over 20ms, kind: time_to_target_above, guest: vm0, bound: 20ms}\n");
    ASSERT_EQ(summary.guests[0].episodes.size(), 1u);
    const TargetEpisode& episode = summary.guests[0].episodes[0];
    ASSERT_TRUE(episode.reached);
    const double seconds = (episode.reached_at - episode.set_at).to_seconds();
    EXPECT_GT(seconds, 0.005);
    EXPECT_LT(seconds, 0.020);
    EXPECT_TRUE(check_named(summary, "over 5ms").passed);
    const CheckResult& fast = check_named(summary, "over 20ms");
    EXPECT_FALSE(fast.passed);
    char fastest[32];
    std::snprintf(fastest, sizeof fastest, "fastest %.6g s", seconds);
    EXPECT_EQ(fast.measured, fastest);
    EXPECT_EQ(fast.bound, ">= 0.02 s");
}

TEST(ScenarioChecks, TimeToTargetAboveFailsWithoutAReachedTarget) {
    std::string guest = kSmallGuest;
    guest.replace(guest.find("balloon_pages: 4096"), 19, "balloon_pages: 16384");
    const RunSummary summary = run_scenario(
        "duration: 300ms\n" + guest +
        "checks:\n  - {name: slow, kind: time_to_target_above, guest: vm0, bound: 1ms}\n");
    const CheckResult& slow = check_named(summary, "slow");
    EXPECT_FALSE(slow.passed);
    EXPECT_EQ(slow.measured, "no target reached");
}

TEST(ScenarioChecks, TimeToTargetBelowFailsForATargetNeverReached) {
    // More than the guest can give: it stops at its LOW watermark and never gets there.
    std::string guest = kSmallGuest;
    guest.replace(guest.find("balloon_pages: 4096"), 19, "balloon_pages: 16384");
    const RunSummary summary = run_scenario(
        "duration: 300ms\n" + guest +
        "checks:\n  - {name: fast, kind: time_to_target_below, guest: vm0, bound: 10s}\n");
    EXPECT_LT(summary.guests[0].final_actual_pages, 16384u);
    const CheckResult& fast = check_named(summary, "fast");
    EXPECT_FALSE(fast.passed);
    EXPECT_EQ(fast.measured, "target 16384 pages set at 0.01 s was not reached");
}

TEST(ScenarioChecks, TimeToTargetBelowExcusesATargetReplacedBeforeItsBound) {
    // 4096 pages asked at 10 ms, replaced by 0 at 11 ms: the first had 1 ms to settle.
    std::string guest = kSmallGuest;
    guest += "      - {at: 11ms, guest: vm0, balloon_pages: 0}\n";
    const RunSummary summary =
        run_scenario("duration: 300ms\n" + guest +
                     "checks:\n"
                     "  - {name: excused, kind: time_to_target_below, guest: vm0, bound: 2ms}\n"
                     "  - {name: missed, kind: time_to_target_below, guest: vm0, bound: 500us}\n");
    ASSERT_EQ(summary.guests[0].episodes.size(), 2u);
    EXPECT_FALSE(summary.guests[0].episodes[0].reached);
    EXPECT_TRUE(summary.guests[0].episodes[1].reached);
    const sc_core::sc_time second =
        summary.guests[0].episodes[1].reached_at - summary.guests[0].episodes[1].set_at;
    // The inflate round on its way at 11 ms finishes, then its pages come back out in one
    // deflate round: about 0.4 ms.
    EXPECT_GT(second, sc_core::sc_time(300, sc_core::SC_US));
    EXPECT_LT(second, sc_core::sc_time(1, sc_core::SC_MS));
    EXPECT_EQ(check_named(summary, "excused").passed, true);
    // With a 0.5 ms bound, the first target stayed unreached for 1 ms: a miss.
    EXPECT_FALSE(check_named(summary, "missed").passed);
    EXPECT_EQ(check_named(summary, "missed").measured,
              "target 4096 pages set at 0.01 s was not reached");
}

TEST(ScenarioChecks, OomAndHostAndCounterChecksBothSides) {
    // Without DEFLATE_ON_OOM a workload that outgrows what the balloon left is OOM-killed.
    const RunSummary summary = run_scenario(
        "duration: 1s\n"
        "platform:\n"
        "  balloon:\n"
        "    offered_features: [must_tell_host, stats_vq]\n"
        "guests:\n"
        "  - name: vm0\n"
        "    ram: 64MiB\n"
        "    resident_at_start: 100%\n"
        "    workload:\n"
        "      phases:\n"
        "        - {kind: hold, duration: 100ms}\n"
        "        - {kind: allocate, rate: 200MiB/s, level: 48MiB}\n"
        "host:\n"
        "  ram: 256MiB\n"
        "  policy:\n"
        "    kind: timeline\n"
        "    timeline:\n"
        "      - {at: 10ms, guest: vm0, balloon: 32MiB}\n"
        "checks:\n"
        "  - {name: none, kind: no_oom_kills, guest: vm0}\n"
        "  - {name: max0, kind: max_oom_kills, guest: vm0, bound: 0}\n"
        "  - {name: max1000, kind: max_oom_kills, guest: vm0, bound: 1000}\n"
        "  - {name: host above 1GiB, kind: host_free_never_below, bound: 1GiB}\n"
        "  - {name: host above 0, kind: host_free_never_below, bound: 0}\n"
        "  - {name: ballooned right, kind: ballooned, guest: vm0, at: 90ms, bound: 8192}\n"
        "  - {name: ballooned wrong, kind: ballooned, guest: vm0, at: 90ms, bound: 8191}\n"
        "  - {name: least ok, kind: counter_at_least, guest: vm0, counter: oom_kills, bound: 1}\n"
        "  - {name: least bad, kind: counter_at_least, guest: vm0, counter: inflate_buffers,"
        " bound: 33}\n"
        "  - {name: most ok, kind: counter_at_most, guest: vm0, counter: inflate_buffers,"
        " bound: 32}\n"
        "  - {name: most bad, kind: counter_at_most, guest: vm0, counter: pages_inflated,"
        " bound: 8191}\n");
    const GuestSummary& guest = summary.guests[0];
    ASSERT_GE(guest.oom_kills, 1u);
    EXPECT_EQ(guest.inflate_buffers, 32u);
    EXPECT_EQ(guest.pages_inflated, 8192u);
    const std::string kills = std::to_string(guest.oom_kills) + " OOM kills";

    EXPECT_FALSE(check_named(summary, "none").passed);
    EXPECT_EQ(check_named(summary, "none").measured, kills);
    EXPECT_FALSE(check_named(summary, "max0").passed);
    EXPECT_EQ(check_named(summary, "max0").bound, "<= 0");
    EXPECT_TRUE(check_named(summary, "max1000").passed);
    EXPECT_EQ(check_named(summary, "max1000").bound, "<= 1000");

    EXPECT_FALSE(check_named(summary, "host above 1GiB").passed);
    EXPECT_EQ(check_named(summary, "host above 1GiB").bound, ">= 1073741824 bytes");
    EXPECT_TRUE(check_named(summary, "host above 0").passed);

    EXPECT_TRUE(check_named(summary, "ballooned right").passed);
    EXPECT_EQ(check_named(summary, "ballooned right").measured, "8192 pages at 0.09 s");
    EXPECT_FALSE(check_named(summary, "ballooned wrong").passed);
    EXPECT_EQ(check_named(summary, "ballooned wrong").bound, "== 8191");

    EXPECT_TRUE(check_named(summary, "least ok").passed);
    EXPECT_FALSE(check_named(summary, "least bad").passed);
    EXPECT_EQ(check_named(summary, "least bad").measured, "inflate_buffers = 32");
    EXPECT_EQ(check_named(summary, "least bad").bound, ">= 33");
    EXPECT_TRUE(check_named(summary, "most ok").passed);
    EXPECT_FALSE(check_named(summary, "most bad").passed);
    EXPECT_EQ(check_named(summary, "most bad").measured, "pages_inflated = 8192");
    EXPECT_EQ(check_named(summary, "most bad").bound, "<= 8191");
}

TEST(ScenarioChecks, InflateRateAboveBothSides) {
    // ≈ 0.57 ms per 256-page round: about 450,000 pages per simulated second.
    const RunSummary summary =
        run_scenario("duration: 300ms\n" + kSmallGuest +
                     "checks:\n"
                     "  - {name: fast enough, kind: inflate_rate_above, guest: vm0, bound: 4e5}\n"
                     "  - {name: too fast, kind: inflate_rate_above, guest: vm0, bound: 5e5}\n");
    const double rate = summary.guests[0].inflate_rate_pages_per_s;
    EXPECT_GT(rate, 4e5);
    EXPECT_LT(rate, 5e5);
    EXPECT_TRUE(check_named(summary, "fast enough").passed);
    const CheckResult& too_fast = check_named(summary, "too fast");
    EXPECT_FALSE(too_fast.passed);
    EXPECT_EQ(too_fast.bound, "> 500000 pages/s");
}

// Inflate 4096 pages at 10 ms, deflate them all at 100 ms; deflate over inflate pages/s.
double deflate_over_inflate_rate(const std::string& platform) {
    const RunSummary summary = run_scenario("duration: 200ms\n" + platform + kSmallGuest +
                                            "      - {at: 100ms, guest: vm0, balloon_pages: 0}\n");
    const GuestSummary& guest = summary.guests[0];
    EXPECT_EQ(guest.final_actual_pages, 0u);
    EXPECT_GT(guest.inflate_rate_pages_per_s, 0.0);
    return guest.deflate_rate_pages_per_s / guest.inflate_rate_pages_per_s;
}

TEST(ScenarioTiming, DefaultDeflateIsThreeToTenTimesFasterThanInflate) {
    // The recorded Linux 6.1 + QEMU 7.2 runs deflate 3-10x faster (docs/timing-defaults.md).
    const double ratio = deflate_over_inflate_rate("");
    EXPECT_GE(ratio, 3.0);
    EXPECT_LE(ratio, 10.0);
}

TEST(ScenarioTiming, DeflateCostsSetLikeInflateBringTheRatioBelowThree) {
    // The failing side: host and guest deflate costs equal to inflate's leave deflate at
    // about the inflate rate.
    const double ratio = deflate_over_inflate_rate(
        "platform:\n"
        "  balloon:\n"
        "    deflate: {transport_cost: 385us, host_per_page_cost: 430ns}\n");
    EXPECT_LT(ratio, 3.0);
    EXPECT_GT(ratio, 1.0);
}

TEST(ScenarioSummary, ARefusedNegotiationNegotiatedNothingAndIsReportedOnce) {
    // The device offers MUST_TELL_HOST; a driver that does not accept it is refused.
    std::string guest = kSmallGuest;
    guest.insert(guest.find("host:"), "    driver:\n      features: [stats_vq]\n");
    const RunSummary summary = run_scenario("duration: 50ms\n" + guest);
    EXPECT_EQ(summary.guests[0].driver_state, "failed");
    EXPECT_EQ(summary.guests[0].negotiated_features, "");
    EXPECT_EQ(sc_core::sc_report_handler::get_count("vbsim/virtio-mmio"), 1);
}

TEST(ScenarioSummary, AcceptedFeaturesAreListed) {
    const RunSummary summary = run_scenario("duration: 50ms\n" + kSmallGuest);
    EXPECT_EQ(summary.guests[0].driver_state, "running");
    EXPECT_EQ(summary.guests[0].negotiated_features,
              "MUST_TELL_HOST STATS_VQ DEFLATE_ON_OOM RING_EVENT_IDX VERSION_1");
    EXPECT_EQ(sc_core::sc_report_handler::get_count("vbsim/virtio-mmio"), 0);
}

TEST(ScenarioRates, AHugeTargetThatIsNeverReachedStillHasAnInflateRate) {
    // More than the guest can give: it inflates to LOW, then retries every 200 ms.
    std::string guest = kSmallGuest;
    guest.replace(guest.find("balloon_pages: 4096"), 19,
                  "balloon_pages: 4294967295, allow_above_ram: true");
    const RunSummary summary = run_scenario("duration: 700ms\n" + guest);
    const GuestSummary& vm = summary.guests[0];
    EXPECT_GT(vm.pages_inflated, 10000u);
    EXPECT_GE(vm.retries, 2u);
    // ≈ 0.57 ms per 256-page round, the retry waits left out.
    EXPECT_GT(vm.inflate_rate_pages_per_s, 4e5);
    EXPECT_LT(vm.inflate_rate_pages_per_s, 5e5);
    EXPECT_EQ(vm.deflate_rate_pages_per_s, 0.0);
}

TEST(ScenarioRates, PagesDrainedForFreezeHaveADeflateRate) {
    const RunSummary summary = run_scenario("duration: 600ms\n" + kSmallGuest +
                                            "events:\n  - {at: 300ms, kind: freeze, guest: vm0}\n");
    const GuestSummary& vm = summary.guests[0];
    EXPECT_EQ(vm.pages_deflated, 4096u);
    EXPECT_GT(vm.inflate_rate_pages_per_s, 4e5);
    // A deflate round costs ≈ 0.13 ms (docs/timing-defaults.md): about 1.9 million pages/s.
    EXPECT_GT(vm.deflate_rate_pages_per_s, 1.5e6);
    EXPECT_LT(vm.deflate_rate_pages_per_s, 2.5e6);
}

TEST(ScenarioRates, PagesReleasedForTheOomPathHaveADeflateRate) {
    // DEFLATE_ON_OOM: the workload's allocations make the balloon give pages back, although
    // the host's target never goes down.
    const RunSummary summary = run_scenario(
        "duration: 1s\n"
        "guests:\n"
        "  - name: vm0\n"
        "    ram: 64MiB\n"
        "    resident_at_start: 100%\n"
        "    workload:\n"
        "      phases:\n"
        "        - {kind: hold, duration: 100ms}\n"
        "        - {kind: allocate, rate: 200MiB/s, level: 48MiB}\n"
        "host:\n"
        "  ram: 256MiB\n"
        "  policy:\n"
        "    kind: timeline\n"
        "    timeline:\n"
        "      - {at: 10ms, guest: vm0, balloon: 32MiB}\n");
    const GuestSummary& vm = summary.guests[0];
    ASSERT_GE(vm.oom_deflations, 1u);
    EXPECT_GT(vm.pages_deflated, 0u);
    EXPECT_EQ(vm.episodes.size(), 1u);  // no deflating target change
    EXPECT_GT(vm.deflate_rate_pages_per_s, 1e5);
}

}  // namespace
}  // namespace vbsim::platform

// Whole scenarios from YAML text, run in-process: what each check kind measures, both the
// passing and the failing side, and the summary's derived figures.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "platform/config/scenario_loader.h"
#include "platform/evaluate/check_evaluation.h"
#include "platform/run/scenario_run.h"

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

// The scenario in `yaml`, loaded (a load error fails the test), without a VCD trace.
ScenarioConfig load_scenario(const std::string& yaml) {
    ScenarioConfig config;
    std::vector<LoadError> errors;
    const bool loaded = ScenarioLoader::load_string(yaml, "t.yaml", {}, config, errors);
    for (const LoadError& error : errors) {
        ADD_FAILURE() << error.to_string();
    }
    EXPECT_TRUE(loaded);
    config.output.trace_vcd = false;
    return config;
}

RunSummary run_scenario(const std::string& yaml) {
    const ScenarioConfig config = load_scenario(yaml);
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

// The guest's OOM killer end to end: three processes in a 64 MiB guest whose balloon holds
// 32 MiB and cannot give it back. About 31 MiB are usable (MIN is 1 MiB): a (20 MiB) and b
// (4 MiB) fit; c's 16 MiB from 300 ms do not. At about 370 ms (7 MiB of c's at 100 MiB/s)
// the killer ends a, the largest, and c goes on. a restarts 100 ms later, grows again from
// 570 ms at 200 MiB/s and at about 625 ms (11 MiB) c (16 MiB) is the largest: c dies.
TEST(ScenarioOomKiller, KillsTheLargestProcessOnceFreesItAllAndRestartsIt) {
    const std::string yaml =
        "duration: 800ms\n"
        "guests:\n"
        "  - name: vm0\n"
        "    ram: 64MiB\n"
        "    resident_at_start: 100%\n"
        "    driver: {features: [must_tell_host, stats_vq]}\n"
        "    workload:\n"
        "      processes:\n"
        "        - name: a\n"
        "          restart_after: 100ms\n"
        "          phases:\n"
        "            - {kind: hold, duration: 100ms}\n"
        "            - {kind: allocate, rate: 200MiB/s, level: 20MiB}\n"
        "        - name: b\n"
        "          phases:\n"
        "            - {kind: allocate, level: 4MiB}\n"
        "        - name: c\n"
        "          phases:\n"
        "            - {kind: hold, duration: 300ms}\n"
        "            - {kind: allocate, rate: 100MiB/s, level: 16MiB}\n"
        "host:\n"
        "  ram: 256MiB\n"
        "  policy:\n"
        "    kind: timeline\n"
        "    timeline:\n"
        "      - {at: 10ms, guest: vm0, balloon: 32MiB}\n";
    ScenarioRun run("scenario", load_scenario(yaml));
    run.run(false);
    const RunSummary summary = run.summarize();
    const GuestSummary& guest = summary.guests[0];

    EXPECT_EQ(guest.oom_kills, 2u);  // two victims, not one count per failed tick
    EXPECT_EQ(guest.oom_deferred, 0u);
    EXPECT_EQ(guest.final_ballooned_pages, 8192u);
    ASSERT_EQ(guest.processes.size(), 3u);
    const ProcessSummary& a = guest.processes[0];
    const ProcessSummary& b = guest.processes[1];
    const ProcessSummary& c = guest.processes[2];
    EXPECT_EQ(a.name, "a");
    EXPECT_EQ(a.oom_killed, 1u);
    EXPECT_EQ(a.freed_bytes, 20u << 20);  // all of it
    EXPECT_EQ(a.restarts, 1u);
    EXPECT_TRUE(a.alive);
    EXPECT_EQ(a.final_bytes, 20u << 20);  // grown back after the restart
    EXPECT_EQ(b.oom_killed, 0u);
    EXPECT_EQ(b.final_bytes, 4u << 20);
    EXPECT_EQ(c.oom_killed, 1u);
    EXPECT_EQ(c.freed_bytes, 16u << 20);  // it had reached its level before a came back
    EXPECT_FALSE(c.alive);
    EXPECT_EQ(c.restarts, 0u);  // no restart_after: stays dead
    EXPECT_EQ(c.final_bytes, 0u);
    // The memory came back: what the guest's processes hold is all the workload has.
    EXPECT_EQ(run.recording().samples.back().guests[0].workload_bytes, 24u << 20);

    std::vector<const EventRecord*> kills;
    for (const EventRecord& event : run.recording().events) {
        if (event.what.rfind("OOM kill", 0) == 0) {
            kills.push_back(&event);
        }
    }
    ASSERT_EQ(kills.size(), 2u);
    EXPECT_EQ(kills[0]->guest, "vm0");
    EXPECT_EQ(kills[0]->what, "OOM kill: process 'a', 20MiB freed");
    EXPECT_GT(kills[0]->time, sc_core::sc_time(365, sc_core::SC_MS));
    EXPECT_LT(kills[0]->time, sc_core::sc_time(375, sc_core::SC_MS));
    EXPECT_EQ(kills[1]->what, "OOM kill: process 'c', 16MiB freed");
    EXPECT_GT(kills[1]->time, sc_core::sc_time(620, sc_core::SC_MS));
    EXPECT_LT(kills[1]->time, sc_core::sc_time(630, sc_core::SC_MS));
    // The event list stays in time order with the kills merged in.
    for (size_t i = 1; i < run.recording().events.size(); ++i) {
        EXPECT_LE(run.recording().events[i - 1].time, run.recording().events[i].time);
    }
}

// ---- where the time goes -------------------------------------------------------------

// The calibration scenario's one episode, with `overrides` (--set style) applied.
TargetEpisode calibration_episode(const std::vector<std::string>& overrides) {
    ScenarioConfig config;
    std::vector<LoadError> errors;
    EXPECT_TRUE(ScenarioLoader::load_file(VBSIM_CONFIGS_DIR "/calibration-kvm.yaml", overrides,
                                          config, errors));
    config.output.trace_vcd = false;
    ScenarioRun run("scenario", config);
    run.run(false);
    const RunSummary summary = run.summarize();
    EXPECT_EQ(summary.guests[0].episodes.size(), 1u);
    return summary.guests[0].episodes.empty() ? TargetEpisode{} : summary.guests[0].episodes[0];
}

double percent(const sc_core::sc_time& part, const sc_core::sc_time& whole) {
    return 100.0 * part.to_seconds() / whole.to_seconds();
}

TEST(ScenarioTimeSplit, CalibrationSplitIsTheKvmAnchorsWithinFivePoints) {
    const TargetEpisode episode = calibration_episode({});
    ASSERT_TRUE(episode.reached);
    const sc_core::sc_time took = episode.reached_at - episode.set_at;
    const TimeSplit& split = episode.split;
    EXPECT_EQ(split.total(), took);  // every picosecond is somewhere
    // The anchor (docs/timing-defaults.md): 6.5 % allocation, 68 % sending, 6 % translation,
    // 19 % host madvise.
    EXPECT_NEAR(percent(split.allocation, took), 6.5, 5.0);
    EXPECT_NEAR(percent(split.sending, took), 68.0, 5.0);
    EXPECT_NEAR(percent(split.translation, took), 6.0, 5.0);
    EXPECT_NEAR(percent(split.host_work, took), 19.0, 5.0);
    // Exactly the costs of 1,835,008 pages in 7168 buffers.
    EXPECT_EQ(split.allocation, sc_core::sc_time(145, sc_core::SC_NS) * 1835008.0);
    EXPECT_EQ(split.translation, sc_core::sc_time(133, sc_core::SC_NS) * 1835008.0);
    EXPECT_EQ(split.sending, sc_core::sc_time(385, sc_core::SC_US) * 7168.0);
    EXPECT_EQ(split.host_work, sc_core::sc_time(430, sc_core::SC_NS) * 1835008.0);
    EXPECT_EQ(split.retry_wait, sc_core::SC_ZERO_TIME);
    EXPECT_LT(percent(split.other, took), 1.0);
}

TEST(ScenarioTimeSplit, AHostWithoutMadviseCostMovesTheSplitOutOfTheAnchorsRange) {
    // The failing side: no host per-page work, so the host share is 0 and sending grows
    // beyond 73 % of the shorter episode.
    const TargetEpisode episode =
        calibration_episode({"platform.balloon.inflate.host_per_page_cost=0ns"});
    ASSERT_TRUE(episode.reached);
    const sc_core::sc_time took = episode.reached_at - episode.set_at;
    EXPECT_EQ(episode.split.host_work, sc_core::SC_ZERO_TIME);
    EXPECT_GT(percent(episode.split.sending, took), 73.0);
}

TEST(ScenarioTimeSplit, AnEpisodeNeverReachedCountsItsAllocationRetries) {
    // More than the guest can give: it inflates to LOW, then retries every 200 ms; the open
    // episode is split up to the end of the run.
    std::string guest = kSmallGuest;
    guest.replace(guest.find("balloon_pages: 4096"), 19,
                  "balloon_pages: 4294967295, allow_above_ram: true");
    const RunSummary summary = run_scenario("duration: 700ms\n" + guest);
    const GuestSummary& g = summary.guests[0];
    ASSERT_EQ(g.episodes.size(), 1u);
    EXPECT_FALSE(g.episodes[0].reached);
    ASSERT_EQ(g.retries, 3u);  // at 200, 400 and 600 ms after the first failure
    EXPECT_EQ(g.episodes[0].split.retry_wait, sc_core::sc_time(600, sc_core::SC_MS));
    EXPECT_EQ(g.episodes[0].split.total(), sc_core::sc_time(690, sc_core::SC_MS));
}

// ---- host swap and host OOM --------------------------------------------------------------

struct HostSwapRun {
    RunSummary summary;
    Recording recording;
};

// configs/host-swap.yaml: vm0 (768 MiB, all touched) and vm1 growing to 400 MiB on a 1 GiB
// host with 512 MiB of swap; vm0 grows to 700 MiB from 2 s.
HostSwapRun run_host_swap(const std::vector<std::string>& overrides) {
    ScenarioConfig config;
    std::vector<LoadError> errors;
    EXPECT_TRUE(
        ScenarioLoader::load_file(VBSIM_CONFIGS_DIR "/host-swap.yaml", overrides, config, errors));
    config.output.trace_vcd = false;
    ScenarioRun run("scenario", config);
    run.run(false);
    return {run.summarize(), run.recording()};
}

// The first sample at which guest `index` holds `bytes` of workload memory.
sc_core::sc_time reached_workload(const Recording& recording, size_t index, uint64_t bytes) {
    for (const Sample& sample : recording.samples) {
        if (sample.guests[index].workload_bytes >= bytes) {
            return sample.time;
        }
    }
    return sc_core::SC_ZERO_TIME;
}

constexpr uint64_t kTestMiB = uint64_t{1} << 20;

// vm1 (640 MiB) fills 500 MiB on a 640 MiB host where vm0 holds 256 MiB: the host swaps out
// 116 MiB of vm1, the largest. At 1 s the balloon takes 200 MiB of vm0, which makes room; at
// about 2.3 s (1.5 s after it finished) vm1 touches everything it holds, so all 116 MiB come back
// in one swap-in.
const char* const kTouchAfterSwap = R"(
duration: 3s
guests:
  - {name: vm0, ram: 256MiB, resident_at_start: 100%}
  - name: vm1
    ram: 640MiB
    workload:
      phases:
        - {kind: allocate, rate: 1GiB/s, level: 500MiB}
        - {kind: hold, duration: 1500ms}
        - {kind: touch, rate: 1TiB/s, level: 1GiB}
host:
  ram: 640MiB
  swap: {size: 512MiB}
  policy: {kind: timeline, timeline: [{at: 1s, guest: vm0, balloon: 200MiB}]}
)";

TEST(ScenarioHostSwap, ATouchPhaseReadsBackWhatTheHostSwappedOutAndTheGuestWaitsForIt) {
    ScenarioRun run("scenario", load_scenario(kTouchAfterSwap));
    run.run(false);
    const RunSummary summary = run.summarize();
    const GuestSummary& vm1 = summary.guests[1];
    constexpr uint64_t kSwapped = (500 + 256 - 640) * kTestMiB;
    EXPECT_EQ(summary.host_swap_max_used_bytes, kSwapped);
    EXPECT_EQ(vm1.host_swap_out_bytes, kSwapped);
    EXPECT_EQ(vm1.host_swap_in_bytes, kSwapped);
    EXPECT_EQ(summary.guests[0].host_swap_in_bytes, 0u);
    // Before the touch phase nothing came back; the touch costs one swap-in: 100 us latency
    // and 116 MiB at 500 MB/s.
    const Sample* before = nullptr;
    for (const Sample& sample : run.recording().samples) {
        if (sample.time <= sc_core::sc_time(2, sc_core::SC_SEC)) {
            before = &sample;
        }
    }
    ASSERT_NE(before, nullptr);
    EXPECT_EQ(before->guests[1].swap_in_bytes, 0u);
    const uint64_t touch_stall_ns =
        static_cast<uint64_t>(vm1.host_swap_stall.to_seconds() * 1e9 + 0.5) -
        before->guests[1].swap_stall_ns;
    EXPECT_EQ(touch_stall_ns, 100'000 + kSwapped * 2);  // 2 ns a byte at 500 MB/s
    EXPECT_EQ(run.recording().samples.back().host_swap_used_bytes, 0u);
}

TEST(ScenarioHostSwap, TheHostSwapsTheLargestGuestAndTheGuestsLoseTheStallTime) {
    const HostSwapRun run = run_host_swap({});
    const RunSummary& summary = run.summary;
    const GuestSummary& vm0 = summary.guests[0];
    const GuestSummary& vm1 = summary.guests[1];
    EXPECT_EQ(summary.host_oom_kills, 0u);
    // Everything touched above the host's RAM: 768 + 400 - 1024 MiB, all of it vm0's.
    EXPECT_EQ(summary.host_swap_max_used_bytes, 144 * kTestMiB);
    EXPECT_EQ(vm1.host_swap_in_bytes, 0u);
    EXPECT_EQ(vm1.host_swap_out_bytes, 0u);
    EXPECT_GT(vm0.host_swap_in_bytes, 0u);  // its growth climbs into the swapped pages
    // The host stays full: every page vm0 reads back pushes one of its own out.
    EXPECT_EQ(vm0.host_swap_out_bytes, 144 * kTestMiB + vm0.host_swap_in_bytes);
    EXPECT_EQ(vm0.host_killed, 0u);
    // vm1 waited for 144 MiB written at 500 MB/s plus 100 us per batch.
    const double written_s = 144.0 * kTestMiB / 500e6;
    EXPECT_GT(vm1.host_swap_stall.to_seconds(), written_s);
    EXPECT_LT(vm1.host_swap_stall.to_seconds(), written_s + 0.2);
    // Lost progress: 400 MiB at 200 MiB/s would take 2 s; the stall comes on top (one 1 ms
    // tick of slack each way).
    const double vm1_done = reached_workload(run.recording, 1, 400 * kTestMiB).to_seconds();
    EXPECT_NEAR(vm1_done, 2.0 + vm1.host_swap_stall.to_seconds(), 0.002);
    const double vm0_done = reached_workload(run.recording, 0, 700 * kTestMiB).to_seconds();
    EXPECT_NEAR(vm0_done, 4.0 + vm0.host_swap_stall.to_seconds(), 0.002);
    // Over time: swap used in the samples never above its maximum, at it at the end.
    EXPECT_EQ(run.recording.samples.back().host_swap_used_bytes, 144 * kTestMiB);
    EXPECT_TRUE(run.recording.host_swap);
}

TEST(ScenarioHostSwap, WithoutSwapTheHostOomKillerKillsTheGuestWithTheMostResidentMemory) {
    const HostSwapRun run = run_host_swap({"host.swap.size=0"});
    const RunSummary& summary = run.summary;
    const GuestSummary& vm0 = summary.guests[0];
    const GuestSummary& vm1 = summary.guests[1];
    EXPECT_EQ(summary.host_oom_kills, 1u);
    EXPECT_EQ(vm0.host_killed, 1u);  // 768 MiB resident against vm1's 256 MiB
    EXPECT_EQ(vm1.host_killed, 0u);
    EXPECT_EQ(summary.host_swap_max_used_bytes, 0u);
    EXPECT_EQ(vm1.host_swap_stall, sc_core::SC_ZERO_TIME);
    // vm0's memory is freed and stays so (its CPU is halted: it never grows at 2 s).
    EXPECT_EQ(run.recording.samples.back().guests[0].resident_bytes, 0u);
    // vm1 goes on undisturbed: 400 MiB at 2 s.
    EXPECT_NEAR(reached_workload(run.recording, 1, 400 * kTestMiB).to_seconds(), 2.0, 0.002);
    size_t kills = 0;
    for (const EventRecord& event : run.recording.events) {
        if (event.what.rfind("host OOM kill", 0) == 0) {
            ++kills;
            EXPECT_EQ(event.guest, "vm0");
            // vm1 passes 1024 - 768 = 256 MiB at 200 MiB/s: 1.28 s.
            EXPECT_NEAR(event.time.to_seconds(), 1.28, 0.002);
        }
    }
    EXPECT_EQ(kills, 1u);
}

// Guest activity is event-driven: a guest with nothing to do is not woken at all, and one
// whose host asks for statistics every second wakes for those requests only. vm0 is idle
// (stats off, a workload that only holds); vm1 answers a stats request every second.
TEST(ScenarioWakeUps, AnIdleGuestIsNotWokenAndStatsWakeItOncePerRequest) {
    const std::string yaml =
        "name: idle\nduration: 60s\n"
        "guests:\n"
        "  - name: vm0\n    ram: 64MiB\n    balloon: {stats_poll_interval: 0s}\n"
        "    workload: {repeat: true, phases: [{kind: hold, duration: 10s}]}\n"
        "  - name: vm1\n    ram: 64MiB\n    balloon: {stats_poll_interval: 1s}\n"
        "host:\n  ram: 256MiB\n";
    ScenarioRun run("scenario", load_scenario(yaml));
    run.run(false);
    const GuestCpuCounters& idle = run.guest(0).cpu().counters();
    const GuestCpuCounters& polled = run.guest(1).cpu().counters();
    // vm0: the wait after boot, then one wake at the end of each 10 s hold (60 s / 10 s).
    EXPECT_EQ(idle.interrupts_taken, 0u);
    EXPECT_EQ(idle.idle_waits, 1u + 60 / 10);
    // vm1: a stats request at 1 s, 2 s ... 59 s, each one interrupt and one wake.
    EXPECT_EQ(polled.interrupts_taken, 59u);
    EXPECT_EQ(polled.idle_waits, 1u + 59);
}

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Four guests allocating 200 MiB at 100 MiB/s (1 ms ticks), sampled every 100 ms.
std::string allocating_guests(const std::string& host_ram, const std::string& extra) {
    std::string yaml = "name: ahead\nduration: 3s\nguests:\n";
    for (int i = 0; i < 4; ++i) {
        yaml += "  - name: vm" + std::to_string(i) +
                "\n    ram: 512MiB\n    resident_at_start: 64MiB\n" + extra +
                "    workload: {phases: [{kind: allocate, rate: 100MiB/s, level: 200MiB}]}\n";
    }
    return yaml + "host:\n  ram: " + host_ram + "\noutput: {sample_interval: 100ms}\n";
}

TEST(ScenarioLookahead, GuestsRunAheadBetweenObservationsWhenTheHostHasRoom) {
    ScenarioRun run("scenario", load_scenario(allocating_guests("4GiB", "")));
    run.run(false);
    // Each guest ticks about 1,400 times while allocating its 136 MiB; the waits before the
    // ticks (and the synchronisations after them) were skipped, apart from the few at a sample.
    for (size_t i = 0; i < run.guest_count(); ++i) {
        const uint64_t ticks = run.guest(i).process(0).counters().ticks;
        EXPECT_GT(ticks, 1300u) << "vm" << i;
        EXPECT_GT(run.guest(i).cpu().counters().run_ahead_steps, ticks) << "vm" << i;
        EXPECT_EQ(run.guest(i).workload_bytes(), 200 * kMiB) << "vm" << i;
    }
    EXPECT_GT(run.lookahead_gate().windows_opened(), 0u);
    EXPECT_EQ(run.lookahead_gate().windows_closed(), 0u);
}

// The sampler does not stop guests running ahead: each records itself as it passes a sample
// time, and the sample shows that record, not where the guest has got to since.
TEST(ScenarioLookahead, GuestsPassSamplesRecordingThemselvesThere) {
    ScenarioRun run("scenario", load_scenario(allocating_guests("4GiB", "")));
    run.run(false);
    for (size_t i = 0; i < run.guest_count(); ++i) {
        // 30 samples (0 to 2.9 s); while the guests allocate (20 samples), only their stats
        // requests every second bound them, so most of those find them ahead.
        EXPECT_GE(run.guest(i).cpu().counters().observations_passed, 15u) << "vm" << i;
    }
    const Recording& recording = run.recording();
    ASSERT_EQ(recording.samples.size(), 30u);
    // 100 MiB/s from 0 to 2 s in 1 ms ticks of 100 KiB: at each sample until then the
    // workload holds 100 MiB/s times its time, give or take two ticks.
    for (const Sample& sample : recording.samples) {
        const double seconds = sample.time.to_seconds();
        if (seconds > 1.9) {
            break;
        }
        const double expected = 100.0 * static_cast<double>(kMiB) * seconds;
        for (size_t i = 0; i < sample.guests.size(); ++i) {
            const double held = static_cast<double>(sample.guests[i].workload_bytes);
            EXPECT_NEAR(held, expected, 2 * 100 * 1024) << "vm" << i << " at " << seconds << " s";
        }
    }
}

TEST(ScenarioLookahead, TurnedOffEveryGuestStaysInStep) {
    ScenarioRun run("scenario",
                    load_scenario(allocating_guests("4GiB", "    cpu: {lookahead: false}\n")));
    run.run(false);
    for (size_t i = 0; i < run.guest_count(); ++i) {
        EXPECT_EQ(run.guest(i).cpu().counters().run_ahead_steps, 0u) << "vm" << i;
        EXPECT_EQ(run.guest(i).workload_bytes(), 200 * kMiB) << "vm" << i;
    }
}

TEST(ScenarioLookahead, AHostThatCouldRunOutKeepsTheGuestsInStep) {
    // 4 x 64 MiB resident on a 300 MiB host: the first windows have room for what four guests
    // can touch in 100 ms (about 10 MiB each), later ones do not, and the host then runs out.
    ScenarioRun run("scenario", load_scenario(allocating_guests("300MiB", "")));
    run.run(false);
    EXPECT_GT(run.lookahead_gate().windows_closed(), 0u);
    // The host ran out: it killed guests, all in step (no error).
    EXPECT_GT(run.host().host_oom_kills(), 0u);
}

// 64 MiB inflated at 10 ms (64 buffers of 256 PFNs), nothing else until the sample at 100 ms.
std::string ballooning_guest(const std::string& cpu) {
    return "name: ahead\nduration: 300ms\nguests:\n"
           "  - {name: vm0, ram: 256MiB, resident_at_start: 100%" +
           cpu +
           "}\n"
           "host:\n  ram: 1GiB\n  policy:\n    kind: timeline\n    timeline:\n"
           "      - {at: 10ms, guest: vm0, balloon: 64MiB}\n"
           "output: {sample_interval: 100ms, files: [summary.json]}\n";
}

// The guest's and its device's counters after a run of ballooning_guest(cpu).
struct BalloonRoundTrips {
    models::BalloonCounters device;
    GuestCpuCounters cpu;
    models::VirtioMmioCounters transport;
};

BalloonRoundTrips run_ballooning_guest(const std::string& cpu) {
    ScenarioRun run("scenario", load_scenario(ballooning_guest(cpu)));
    run.run(false);
    return {run.guest(0).balloon().counters(), run.guest(0).cpu().counters(),
            run.guest(0).transport().counters()};
}

TEST(ScenarioLookahead, TheBalloonsRoundTripsRunAheadWithTheGuest) {
    const BalloonRoundTrips counted = run_ballooning_guest("");
    EXPECT_EQ(counted.device.inflate_buffers, 64u);
    EXPECT_EQ(counted.device.pages_inflated, 16384u);
    // The first kick comes from the config interrupt's handler, in step; the others are
    // handled in the guest's run-ahead as it goes to sleep, and it wakes from their interrupts
    // there too: no SystemC sleep per buffer.
    EXPECT_GE(counted.device.work_ahead_runs, 60u);
    EXPECT_GE(counted.cpu.run_ahead_steps, 60u);
    EXPECT_LE(counted.cpu.idle_waits, 10u);
    // Its RAM and its device's registers it reaches from ahead (about 15 accesses a buffer).
    EXPECT_GE(counted.cpu.ahead_accesses, 64u * 10);
    // Their interrupts it acknowledged there too: no pulse of the line in SystemC, only in the
    // trace; and the device's worker was never woken for those kicks.
    EXPECT_EQ(counted.transport.interrupts_raised, 65u);  // the config change and 64 buffers
    EXPECT_GE(counted.transport.pulses_folded, 50u);
    EXPECT_GE(counted.transport.line_wakeups_deferred, 100u);  // a rise and a drop per pulse
    EXPECT_LE(counted.device.worker_notifications, 4u);
}

TEST(ScenarioLookahead, WithoutLookaheadTheDevicesWorkerDoesEveryBuffer) {
    const BalloonRoundTrips counted = run_ballooning_guest(", cpu: {lookahead: false}");
    EXPECT_EQ(counted.device.inflate_buffers, 64u);
    EXPECT_EQ(counted.device.work_ahead_runs, 0u);
    EXPECT_GE(counted.cpu.idle_waits, 64u);  // a sleep per round trip
    EXPECT_EQ(counted.cpu.ahead_accesses, 0u);
    EXPECT_EQ(counted.transport.interrupts_raised, 65u);
    EXPECT_EQ(counted.transport.pulses_folded, 0u);
    EXPECT_EQ(counted.transport.line_wakeups_deferred, 0u);
    EXPECT_EQ(counted.device.worker_notifications, 65u);  // a kick per buffer, and statsq's
}

}  // namespace
}  // namespace vbsim::platform

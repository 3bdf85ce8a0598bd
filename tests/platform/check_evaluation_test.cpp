// The evaluate stage without a simulation: checks measured against hand-built summaries and
// recordings, each kind on its passing and its failing side.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "platform/config/check_schema.h"
#include "platform/evaluate/check_evaluation.h"

namespace vbsim::platform {
namespace {

sc_core::sc_time ms(double value) {
    return sc_core::sc_time(value, sc_core::SC_MS);
}

GuestSummary guest_named(const std::string& name) {
    GuestSummary guest;
    guest.name = name;
    return guest;
}

// One guest, 1 s simulated.
RunSummary one_guest(const GuestSummary& guest) {
    RunSummary summary;
    summary.simulated_time = ms(1000);
    summary.guests.push_back(guest);
    return summary;
}

TargetEpisode episode(double set_ms, uint64_t to_pages, bool reached, double reached_ms = 0) {
    TargetEpisode result;
    result.set_at = ms(set_ms);
    result.to_pages = to_pages;
    result.aligned_to_pages = to_pages;
    result.reached = reached;
    result.reached_at = reached ? ms(reached_ms) : ms(set_ms);
    return result;
}

CheckConfig check_of(CheckKind kind) {
    CheckConfig check;
    check.kind = kind;
    return check;
}

CheckResult evaluate_one(const CheckConfig& check, const RunSummary& summary,
                         const Recording& recording = {}) {
    const std::vector<CheckResult> results = evaluate_checks({check}, summary, recording);
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? CheckResult{} : results[0];
}

TEST(CheckSchema, CounterNamesRoundTrip) {
    ASSERT_EQ(summary_counter_names().size(), kSummaryCounterCount);
    EXPECT_EQ(summary_counter_names().front(), "pages_inflated");
    EXPECT_EQ(summary_counter_names().back(), "host_killed");
    SummaryCounter counter = SummaryCounter::kPagesInflated;
    EXPECT_TRUE(find_summary_counter("oom_deflations", counter));
    EXPECT_EQ(counter, SummaryCounter::kOomDeflations);
    EXPECT_FALSE(find_summary_counter("oom_deflation", counter));
    EXPECT_EQ(counter, SummaryCounter::kOomDeflations);  // untouched
    EXPECT_STREQ(check_kind_name(CheckKind::kTimeToTargetBelow), "time_to_target_below");
}

TEST(CheckEvaluation, EveryCounterReadsItsOwnSummaryField) {
    GuestSummary guest;
    const struct {
        const char* name;
        uint64_t GuestSummary::*field;
    } kFields[] = {
        {"pages_inflated", &GuestSummary::pages_inflated},
        {"pages_deflated", &GuestSummary::pages_deflated},
        {"inflate_buffers", &GuestSummary::inflate_buffers},
        {"deflate_buffers", &GuestSummary::deflate_buffers},
        {"notifies", &GuestSummary::notifies},
        {"interrupts", &GuestSummary::interrupts},
        {"config_changes", &GuestSummary::config_changes},
        {"bus_transactions", &GuestSummary::bus_transactions},
        {"dma_bytes", &GuestSummary::dma_bytes},
        {"oom_kills", &GuestSummary::oom_kills},
        {"oom_deferred", &GuestSummary::oom_deferred},
        {"oom_deflations", &GuestSummary::oom_deflations},
        {"alloc_stalls", &GuestSummary::alloc_stalls},
        {"balloon_alloc_failures", &GuestSummary::balloon_alloc_failures},
        {"retries", &GuestSummary::retries},
        {"stats_updates", &GuestSummary::stats_updates},
        {"actual_writes", &GuestSummary::actual_writes},
        {"rounds", &GuestSummary::rounds},
        {"invalid_pfns", &GuestSummary::invalid_pfns},
        {"needs_reset_events", &GuestSummary::needs_reset_events},
        {"final_target_pages", &GuestSummary::final_target_pages},
        {"final_actual_pages", &GuestSummary::final_actual_pages},
        {"final_ballooned_pages", &GuestSummary::final_ballooned_pages},
        {"report_buffers", &GuestSummary::report_buffers},
        {"pages_reported", &GuestSummary::pages_reported},
        {"pages_kept_for_poison", &GuestSummary::pages_kept_for_poison},
        {"reported_pages_final", &GuestSummary::reported_pages_final},
        {"reported_blocks_reused", &GuestSummary::reported_blocks_reused},
        {"hint_rounds", &GuestSummary::hint_rounds},
        {"hinted_pages", &GuestSummary::hinted_pages},
        {"host_pages_freed_by_reporting", &GuestSummary::host_pages_freed_by_reporting},
        {"host_pages_freed_by_balloon", &GuestSummary::host_pages_freed_by_balloon},
        {"host_swap_in_bytes", &GuestSummary::host_swap_in_bytes},
        {"host_swap_out_bytes", &GuestSummary::host_swap_out_bytes},
        {"host_killed", &GuestSummary::host_killed},
    };
    ASSERT_EQ(std::size(kFields), kSummaryCounterCount);
    uint64_t value = 1000;
    for (const auto& field : kFields) {
        guest.*field.field = ++value;
    }
    value = 1000;
    for (const auto& field : kFields) {
        SummaryCounter counter = SummaryCounter::kPagesInflated;
        ASSERT_TRUE(find_summary_counter(field.name, counter)) << field.name;
        EXPECT_EQ(summary_counter_value(guest, counter), ++value) << field.name;
    }
}

TEST(CheckEvaluation, ActualReachesTargetByLooksAtActualThenNotAtTheEnd) {
    GuestSummary guest = guest_named("vm0");
    guest.episodes = {episode(10, 4096, true, 40)};
    guest.actual_changes = {{ms(20), 2048}, {ms(40), 4096}, {ms(300), 0}};
    CheckConfig check = check_of(CheckKind::kActualReachesTargetBy);
    check.guest = "vm0";

    check.at = ms(100);
    CheckResult result = evaluate_one(check, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.name, "actual_reaches_target_by");
    EXPECT_EQ(result.measured, "actual 4096 pages at 0.1 s, target 4096 pages set at 0.01 s");
    EXPECT_EQ(result.bound, "actual == target at 0.1 s");

    check.at = ms(30);  // halfway there
    result = evaluate_one(check, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "actual 2048 pages at 0.03 s, target 4096 pages set at 0.01 s");

    check.at = sc_core::SC_ZERO_TIME;  // the end of the run: the balloon leaked at 300 ms
    result = evaluate_one(check, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "actual 0 pages at 1 s, target 4096 pages set at 0.01 s");

    check.at = ms(5);
    result = evaluate_one(check, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "no target set by 0.005 s");
}

TEST(CheckEvaluation, ActualReachesTargetInWholeGuestPages) {
    GuestSummary guest = guest_named("vm0");
    guest.page_size = 16384;
    guest.episodes = {episode(10, 1001, true, 20)};
    guest.episodes[0].aligned_to_pages = 1004;
    guest.actual_changes = {{ms(20), 1004}};
    CheckConfig check = check_of(CheckKind::kActualReachesTargetBy);
    CheckResult result = evaluate_one(check, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.name, "actual_reaches_target_by [vm0]");
    EXPECT_EQ(result.measured,
              "actual 1004 pages at 1 s, target 1001 pages (1004 in whole guest pages) set at "
              "0.01 s");

    guest.actual_changes = {{ms(20), 1001}};
    EXPECT_FALSE(evaluate_one(check, one_guest(guest)).passed);
}

TEST(CheckEvaluation, OomKillChecks) {
    GuestSummary guest = guest_named("vm0");
    CheckConfig none = check_of(CheckKind::kNoOomKills);
    CheckConfig at_most_two = check_of(CheckKind::kMaxOomKills);
    at_most_two.bound = 2;

    EXPECT_TRUE(evaluate_one(none, one_guest(guest)).passed);
    guest.oom_kills = 2;
    CheckResult result = evaluate_one(none, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "2 OOM kills");
    EXPECT_EQ(result.bound, "0");

    result = evaluate_one(at_most_two, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.bound, "<= 2");
    guest.oom_kills = 3;
    EXPECT_FALSE(evaluate_one(at_most_two, one_guest(guest)).passed);
}

TEST(CheckEvaluation, TimeToTargetBelowTakesTheSlowestAndExcusesOnlyReplacedTargets) {
    GuestSummary guest = guest_named("vm0");
    CheckConfig check = check_of(CheckKind::kTimeToTargetBelow);
    check.bound_time = ms(50);

    CheckResult result = evaluate_one(check, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "no target set");

    guest.episodes = {episode(10, 4096, true, 40), episode(100, 0, true, 149)};
    result = evaluate_one(check, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.measured, "slowest 0.049 s");
    EXPECT_EQ(result.bound, "< 0.05 s");

    guest.episodes[1].reached_at = ms(150);  // exactly the bound: not below it
    EXPECT_FALSE(evaluate_one(check, one_guest(guest)).passed);

    // Replaced 20 ms after being set, before the bound ran out: excused.
    guest.episodes = {episode(10, 4096, false), episode(30, 0, true, 40)};
    EXPECT_TRUE(evaluate_one(check, one_guest(guest)).passed);
    // Replaced only after the bound ran out: missed.
    guest.episodes = {episode(10, 4096, false), episode(60, 0, true, 70)};
    result = evaluate_one(check, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "target 4096 pages set at 0.01 s was not reached");
    // The last one never reached: missed, however young.
    guest.episodes = {episode(990, 4096, false)};
    EXPECT_FALSE(evaluate_one(check, one_guest(guest)).passed);
}

TEST(CheckEvaluation, TimeToTargetAboveTakesTheFastest) {
    GuestSummary guest = guest_named("vm0");
    CheckConfig check = check_of(CheckKind::kTimeToTargetAbove);
    check.bound_time = ms(20);

    guest.episodes = {episode(10, 4096, false)};
    CheckResult result = evaluate_one(check, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "no target reached");

    guest.episodes = {episode(10, 4096, true, 40), episode(100, 0, true, 120)};
    result = evaluate_one(check, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.measured, "fastest 0.02 s");
    EXPECT_EQ(result.bound, ">= 0.02 s");

    guest.episodes[1].reached_at = ms(119);
    EXPECT_FALSE(evaluate_one(check, one_guest(guest)).passed);
}

TEST(CheckEvaluation, HostFreeNeverBelowIsOneResultForTheHost) {
    RunSummary summary = one_guest(guest_named("vm0"));
    summary.guests.push_back(guest_named("vm1"));
    summary.host_free_min_bytes = 1048576;
    summary.host_free_min_at = ms(250);
    CheckConfig check = check_of(CheckKind::kHostFreeNeverBelow);
    check.bound = 1048576;

    const std::vector<CheckResult> results = evaluate_checks({check}, summary, {});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].passed);
    EXPECT_EQ(results[0].name, "host_free_never_below");
    EXPECT_EQ(results[0].measured, "minimum 1048576 bytes at 0.25 s");
    EXPECT_EQ(results[0].bound, ">= 1048576 bytes");

    summary.host_free_min_bytes = -4096;  // overcommitted and short
    EXPECT_FALSE(evaluate_one(check, summary).passed);
}

TEST(CheckEvaluation, InflateRateAboveIsStrict) {
    GuestSummary guest = guest_named("vm0");
    guest.inflate_rate_pages_per_s = 250000.4;
    CheckConfig check = check_of(CheckKind::kInflateRateAbove);
    check.bound = 250000;
    CheckResult result = evaluate_one(check, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.measured, "250000 pages/s");
    EXPECT_EQ(result.bound, "> 250000 pages/s");

    guest.inflate_rate_pages_per_s = 250000;
    EXPECT_FALSE(evaluate_one(check, one_guest(guest)).passed);
}

TEST(CheckEvaluation, BalloonedAtATimeReadsTheLastSampleBeforeIt) {
    GuestSummary guest = guest_named("vm0");
    guest.final_ballooned_pages = 0;
    Recording recording;
    for (const auto& [at, pages] : {std::pair{0.0, 0}, {100.0, 1024}, {200.0, 4096}}) {
        Sample sample;
        sample.time = ms(at);
        sample.guests.resize(1);
        sample.guests[0].ballooned_pages = static_cast<uint64_t>(pages);
        recording.samples.push_back(sample);
    }
    CheckConfig check = check_of(CheckKind::kBallooned);
    check.bound = 1024;
    check.at = ms(150);
    CheckResult result = evaluate_one(check, one_guest(guest), recording);
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.measured, "1024 pages at 0.1 s");
    EXPECT_EQ(result.bound, "== 1024");

    check.at = ms(200);
    EXPECT_FALSE(evaluate_one(check, one_guest(guest), recording).passed);
    check.at = sc_core::SC_ZERO_TIME;  // the summary's final value
    check.bound = 0;
    result = evaluate_one(check, one_guest(guest), recording);
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.measured, "0 pages at 1 s");
}

TEST(CheckEvaluation, CountersCompareExactlyBeyondTheDoublesIntegers) {
    GuestSummary guest = guest_named("vm0");
    guest.dma_bytes = (uint64_t{1} << 53) + 1;  // not a double
    CheckConfig at_most = check_of(CheckKind::kCounterAtMost);
    at_most.counter = "dma_bytes";
    at_most.bound = static_cast<double>(uint64_t{1} << 53);
    CheckResult result = evaluate_one(at_most, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "dma_bytes = 9007199254740993");
    EXPECT_EQ(result.bound, "<= 9007199254740992");

    CheckConfig at_least = at_most;
    at_least.kind = CheckKind::kCounterAtLeast;
    EXPECT_TRUE(evaluate_one(at_least, one_guest(guest)).passed);

    guest.dma_bytes = 3;
    at_least.bound = 2.5;  // not whole: compared as reals
    result = evaluate_one(at_least, one_guest(guest));
    EXPECT_TRUE(result.passed);
    EXPECT_EQ(result.bound, ">= 2.5");
    at_least.bound = 3.5;
    EXPECT_FALSE(evaluate_one(at_least, one_guest(guest)).passed);

    at_most.bound = -1;  // nothing is at most -1; everything is at least -1
    EXPECT_FALSE(evaluate_one(at_most, one_guest(guest)).passed);
    at_least.bound = -1;
    EXPECT_TRUE(evaluate_one(at_least, one_guest(guest)).passed);

    at_most.counter = "no_such_counter";
    result = evaluate_one(at_most, one_guest(guest));
    EXPECT_FALSE(result.passed);
    EXPECT_EQ(result.measured, "no counter 'no_such_counter'");
}

TEST(CheckEvaluation, AGuestlessCheckAppliesToEachGuestANamedOneToItsGuest) {
    RunSummary summary = one_guest(guest_named("vm0"));
    summary.guests.push_back(guest_named("vm1"));
    summary.guests[1].oom_kills = 1;
    CheckConfig every = check_of(CheckKind::kNoOomKills);
    CheckConfig only_vm1 = every;
    only_vm1.guest = "vm1";
    only_vm1.name = "vm1 keeps its processes";

    const std::vector<CheckResult> results = evaluate_checks({every, only_vm1}, summary, {});
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].name, "no_oom_kills [vm0]");
    EXPECT_TRUE(results[0].passed);
    EXPECT_EQ(results[1].name, "no_oom_kills [vm1]");
    EXPECT_FALSE(results[1].passed);
    EXPECT_EQ(results[2].name, "vm1 keeps its processes");
    EXPECT_FALSE(results[2].passed);
}

}  // namespace
}  // namespace vbsim::platform

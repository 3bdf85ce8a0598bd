#include "platform/evaluate/check_evaluation.h"

#include "platform/text/quantity_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>

namespace vbsim::platform {

namespace {

// A rate, in whole units per second.
std::string format_rate(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
}

// What the driver had written into `actual` at `time` (0 before its first write).
uint64_t actual_at(const GuestSummary& guest, const sc_core::sc_time& time) {
    const auto after = std::upper_bound(
        guest.actual_changes.begin(), guest.actual_changes.end(), time,
        [](const sc_core::sc_time& t, const ActualChange& change) { return t < change.at; });
    return after == guest.actual_changes.begin() ? 0 : std::prev(after)->pages;
}

}  // namespace

uint64_t summary_counter_value(const GuestSummary& guest, SummaryCounter counter) {
    switch (counter) {
        case SummaryCounter::kPagesInflated:
            return guest.pages_inflated;
        case SummaryCounter::kPagesDeflated:
            return guest.pages_deflated;
        case SummaryCounter::kInflateBuffers:
            return guest.inflate_buffers;
        case SummaryCounter::kDeflateBuffers:
            return guest.deflate_buffers;
        case SummaryCounter::kNotifies:
            return guest.notifies;
        case SummaryCounter::kInterrupts:
            return guest.interrupts;
        case SummaryCounter::kConfigChanges:
            return guest.config_changes;
        case SummaryCounter::kBusTransactions:
            return guest.bus_transactions;
        case SummaryCounter::kDmaBytes:
            return guest.dma_bytes;
        case SummaryCounter::kOomKills:
            return guest.oom_kills;
        case SummaryCounter::kOomDeferred:
            return guest.oom_deferred;
        case SummaryCounter::kOomDeflations:
            return guest.oom_deflations;
        case SummaryCounter::kAllocStalls:
            return guest.alloc_stalls;
        case SummaryCounter::kBalloonAllocFailures:
            return guest.balloon_alloc_failures;
        case SummaryCounter::kRetries:
            return guest.retries;
        case SummaryCounter::kStatsUpdates:
            return guest.stats_updates;
        case SummaryCounter::kActualWrites:
            return guest.actual_writes;
        case SummaryCounter::kRounds:
            return guest.rounds;
        case SummaryCounter::kInvalidPfns:
            return guest.invalid_pfns;
        case SummaryCounter::kNeedsResetEvents:
            return guest.needs_reset_events;
        case SummaryCounter::kFinalTargetPages:
            return guest.final_target_pages;
        case SummaryCounter::kFinalActualPages:
            return guest.final_actual_pages;
        case SummaryCounter::kFinalBalloonedPages:
            return guest.final_ballooned_pages;
        case SummaryCounter::kReportBuffers:
            return guest.report_buffers;
        case SummaryCounter::kPagesReported:
            return guest.pages_reported;
        case SummaryCounter::kPagesKeptForPoison:
            return guest.pages_kept_for_poison;
        case SummaryCounter::kReportedPagesFinal:
            return guest.reported_pages_final;
        case SummaryCounter::kReportedBlocksReused:
            return guest.reported_blocks_reused;
        case SummaryCounter::kHintRounds:
            return guest.hint_rounds;
        case SummaryCounter::kHintedPages:
            return guest.hinted_pages;
        case SummaryCounter::kHostPagesFreedByReporting:
            return guest.host_pages_freed_by_reporting;
        case SummaryCounter::kHostPagesFreedByBalloon:
            return guest.host_pages_freed_by_balloon;
        case SummaryCounter::kHostSwapInBytes:
            return guest.host_swap_in_bytes;
        case SummaryCounter::kHostSwapOutBytes:
            return guest.host_swap_out_bytes;
        case SummaryCounter::kHostKilled:
            return guest.host_killed;
    }
    return 0;
}

std::vector<CheckResult> evaluate_checks(const std::vector<CheckConfig>& checks,
                                         const RunSummary& summary, const Recording& recording) {
    std::vector<CheckResult> results;
    for (const CheckConfig& check : checks) {
        // A check without a guest applies to each guest in turn.
        std::vector<size_t> targets;
        for (size_t i = 0; i < summary.guests.size(); ++i) {
            if (check.guest.empty() || summary.guests[i].name == check.guest) {
                targets.push_back(i);
            }
        }
        if (check.kind == CheckKind::kHostFreeNeverBelow) {
            targets = {0};
        }
        for (const size_t index : targets) {
            const GuestSummary& guest = summary.guests[index];
            CheckResult result;
            result.name = check.name.empty() ? check_kind_name(check.kind) : check.name;
            if (check.kind != CheckKind::kHostFreeNeverBelow && check.guest.empty()) {
                result.name += " [" + guest.name + "]";
            }
            switch (check.kind) {
                case CheckKind::kActualReachesTargetBy: {
                    // Holds at `at`: the target in force then, and `actual` equal to it then.
                    const sc_core::sc_time by =
                        check.at == sc_core::SC_ZERO_TIME ? summary.simulated_time : check.at;
                    const TargetEpisode* last = nullptr;
                    for (const TargetEpisode& episode : guest.episodes) {
                        if (episode.set_at <= by) {
                            last = &episode;
                        }
                    }
                    result.bound = "actual == target at " + format_seconds_brief(by);
                    if (last == nullptr) {
                        result.measured = "no target set by " + format_seconds_brief(by);
                        break;
                    }
                    const uint64_t actual = actual_at(guest, by);
                    const uint64_t wanted = last->aligned_to_pages;
                    result.passed = actual == wanted;
                    result.measured = "actual " + std::to_string(actual) + " pages at " +
                                      format_seconds_brief(by) + ", target " +
                                      std::to_string(last->to_pages) + " pages";
                    if (wanted != last->to_pages) {
                        result.measured += " (" + std::to_string(wanted) + " in whole guest pages)";
                    }
                    result.measured += " set at " + format_seconds_brief(last->set_at);
                    break;
                }
                case CheckKind::kNoOomKills:
                    result.passed = guest.oom_kills == 0;
                    result.measured = std::to_string(guest.oom_kills) + " OOM kills";
                    result.bound = "0";
                    break;
                case CheckKind::kMaxOomKills:
                    result.passed = static_cast<double>(guest.oom_kills) <= check.bound;
                    result.measured = std::to_string(guest.oom_kills) + " OOM kills";
                    result.bound = "<= " + format_exact_number(check.bound);
                    break;
                case CheckKind::kTimeToTargetBelow: {
                    // Every target is reached within the bound of being set. One replaced by
                    // the next before the bound ran out is excused; the last must be reached.
                    result.bound = "< " + format_seconds_brief(check.bound_time);
                    if (guest.episodes.empty()) {
                        result.measured = "no target set";
                        break;
                    }
                    sc_core::sc_time worst = sc_core::SC_ZERO_TIME;
                    const TargetEpisode* missed = nullptr;
                    for (size_t e = 0; e < guest.episodes.size(); ++e) {
                        const TargetEpisode& episode = guest.episodes[e];
                        if (episode.reached) {
                            worst = std::max(worst, episode.reached_at - episode.set_at);
                            continue;
                        }
                        const bool last_one = e + 1 == guest.episodes.size();
                        const sc_core::sc_time open_for =
                            (last_one ? summary.simulated_time : guest.episodes[e + 1].set_at) -
                            episode.set_at;
                        if ((last_one || open_for >= check.bound_time) && missed == nullptr) {
                            missed = &episode;
                        }
                    }
                    if (missed != nullptr) {
                        result.measured = "target " + std::to_string(missed->to_pages) +
                                          " pages set at " + format_seconds_brief(missed->set_at) +
                                          " was not reached";
                    } else {
                        result.passed = worst < check.bound_time;
                        result.measured = "slowest " + format_seconds_brief(worst);
                    }
                    break;
                }
                case CheckKind::kTimeToTargetAbove: {
                    // A lower bound, for calibration: no target reached sooner than the bound.
                    // Targets never reached are time_to_target_below's business.
                    result.bound = ">= " + format_seconds_brief(check.bound_time);
                    const TargetEpisode* fastest = nullptr;
                    for (const TargetEpisode& episode : guest.episodes) {
                        if (episode.reached &&
                            (fastest == nullptr || episode.reached_at - episode.set_at <
                                                       fastest->reached_at - fastest->set_at)) {
                            fastest = &episode;
                        }
                    }
                    if (fastest == nullptr) {
                        result.measured = "no target reached";
                        break;
                    }
                    const sc_core::sc_time took = fastest->reached_at - fastest->set_at;
                    result.passed = took >= check.bound_time;
                    result.measured = "fastest " + format_seconds_brief(took);
                    break;
                }
                case CheckKind::kHostFreeNeverBelow:
                    result.passed = static_cast<double>(summary.host_free_min_bytes) >= check.bound;
                    result.measured = "minimum " + std::to_string(summary.host_free_min_bytes) +
                                      " bytes at " + format_seconds_brief(summary.host_free_min_at);
                    result.bound = ">= " + format_exact_number(check.bound) + " bytes";
                    break;
                case CheckKind::kInflateRateAbove:
                    result.passed = guest.inflate_rate_pages_per_s > check.bound;
                    result.measured = format_rate(guest.inflate_rate_pages_per_s) + " pages/s";
                    result.bound = "> " + format_exact_number(check.bound) + " pages/s";
                    break;
                case CheckKind::kBallooned: {
                    uint64_t ballooned = guest.final_ballooned_pages;
                    sc_core::sc_time when = summary.simulated_time;
                    if (check.at != sc_core::SC_ZERO_TIME) {
                        for (const Sample& sample : recording.samples) {
                            if (sample.time <= check.at) {
                                ballooned = sample.guests[index].ballooned_pages;
                                when = sample.time;
                            }
                        }
                    }
                    result.passed = static_cast<uint64_t>(check.bound) == ballooned;
                    result.measured =
                        std::to_string(ballooned) + " pages at " + format_seconds_brief(when);
                    result.bound = "== " + format_exact_number(check.bound);
                    break;
                }
                case CheckKind::kCounterAtLeast:
                case CheckKind::kCounterAtMost: {
                    SummaryCounter counter = SummaryCounter::kPagesInflated;
                    if (!find_summary_counter(check.counter, counter)) {
                        result.measured = "no counter '" + check.counter + "'";
                        break;
                    }
                    const uint64_t value = summary_counter_value(guest, counter);
                    // Counters are exact integers: compare them as such where the bound is
                    // whole (a double holds integers exactly only up to 2^53).
                    const bool at_least = check.kind == CheckKind::kCounterAtLeast;
                    const bool whole = std::nearbyint(check.bound) == check.bound &&
                                       check.bound >= 0 && check.bound < 1.8e19;
                    if (check.bound < 0) {
                        result.passed = at_least;
                    } else if (whole) {
                        const auto bound = static_cast<uint64_t>(check.bound);
                        result.passed = at_least ? value >= bound : value <= bound;
                    } else {
                        const auto real = static_cast<double>(value);
                        result.passed = at_least ? real >= check.bound : real <= check.bound;
                    }
                    result.measured = check.counter + " = " + std::to_string(value);
                    result.bound = (at_least ? ">= " : "<= ") + format_exact_number(check.bound);
                    break;
                }
            }
            results.push_back(result);
        }
    }
    return results;
}

}  // namespace vbsim::platform

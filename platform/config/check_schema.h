#pragma once

// Config stage: the names a scenario's checks are written with. The loader validates
// against them; the evaluate stage (platform/evaluate/check_evaluation.h) measures by them.

#include <cstddef>
#include <string>
#include <vector>

#include "platform/config/scenario.h"

namespace vbsim::platform {

// Scenario name of a check kind ("actual_reaches_target_by", ...).
const char* check_kind_name(CheckKind kind);

// The summary counters a counter_at_least / counter_at_most check may name.
enum class SummaryCounter {
    kPagesInflated,
    kPagesDeflated,
    kInflateBuffers,
    kDeflateBuffers,
    kNotifies,
    kInterrupts,
    kConfigChanges,
    kBusTransactions,
    kDmaBytes,
    kOomKills,
    kOomDeferred,
    kOomDeflations,
    kAllocStalls,
    kBalloonAllocFailures,
    kRetries,
    kStatsUpdates,
    kActualWrites,
    kRounds,
    kInvalidPfns,
    kNeedsResetEvents,
    kFinalTargetPages,
    kFinalActualPages,
    kFinalBalloonedPages,
    // FREE_PAGE_HINT / PAGE_POISON / PAGE_REPORTING (0 unless the device offers one).
    kReportBuffers,
    kPagesReported,
    kPagesKeptForPoison,
    kReportedPagesFinal,
    kReportedBlocksReused,
    kHintRounds,
    kHintedPages,
    kHostPagesFreedByReporting,
    kHostPagesFreedByBalloon,
    kHostSwapInBytes,
    kHostSwapOutBytes,
    kHostKilled,
};
inline constexpr size_t kSummaryCounterCount = static_cast<size_t>(SummaryCounter::kHostKilled) + 1;

// Scenario name of a counter ("pages_inflated", ...).
const char* summary_counter_name(SummaryCounter counter);
// The counter called `name`; false when there is none.
bool find_summary_counter(const std::string& name, SummaryCounter& counter);
// Every counter's name, in the order of SummaryCounter.
const std::vector<std::string>& summary_counter_names();

}  // namespace vbsim::platform
